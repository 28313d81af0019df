#!/usr/bin/env node
// npm run bench: tsresty serving `content_by_lua_block { ngx.say("hello, world") }` against a bare
// node:http hello server, side by side in one run, same load generator (wrk -t1 -cN when installed,
// else a keep-alive Node client in a child process), alternating rounds. Prints req/s, server
// CPU-µs per request (from /proc: steadier than req/s on a shared machine) and the ratios.
//
//   node bench/run.mjs [--seconds 5] [--connections 50] [--rounds 3]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitPort, makeLoad, measure, startTsresty } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SECONDS = opt('seconds', 5);
const CONNS = opt('connections', 50);
const ROUNDS = opt('rounds', 3);
const load = makeLoad({ connections: CONNS, seconds: SECONDS, path: '/hello' });

const startHello = (port) => startTsresty(port, `
        location = /hello {
            content_by_lua_block { ngx.say("hello, world") }
        }`);

async function startNodeHttp(port) {
  const src = `require('node:http').createServer((q, s) => { s.setHeader('Content-Type', 'text/plain'); s.end('hello, world\\n'); }).listen(${port}, '127.0.0.1');`;
  const child = spawn(process.execPath, ['-e', src], { stdio: 'inherit' });
  await waitPort(port);
  return { child, cleanup: () => {} };
}

if (!fs.existsSync(path.join(root, 'dist/cli.js'))) {
  console.error('dist/cli.js missing: run npm run build');
  process.exit(1);
}
console.log(`load generator: ${load.describe}; ${ROUNDS} rounds alternating between the servers, medians`);
const [node, ts] = await measure([startNodeHttp, startHello], load, ROUNDS);
const f = (x) => x.toFixed(0).padStart(8);
console.log(`bare node:http hello        ${f(node.rps)} req/s   ${node.cpuPerReq.toFixed(1)} CPU-µs/req`);
console.log(`tsresty content_by_lua hello ${f(ts.rps)} req/s   ${ts.cpuPerReq.toFixed(1)} CPU-µs/req`);
console.log(`ratio tsresty/node:http: ${(ts.rps / node.rps).toFixed(2)} by req/s, ${(node.cpuPerReq / ts.cpuPerReq).toFixed(2)} by CPU per request (goal >= 1.0)`);
