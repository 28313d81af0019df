#!/usr/bin/env node
// Cosocket benchmark (not a test): a handler doing one Redis INCR through resty.redis with a
// keep-alive pool, against a bare node:http server doing the same INCR with ioredis (a well-kept
// Node client), side by side, same load generator (wrk when installed, else a Node keep-alive
// client), same redis-server on loopback. Goal: tsresty >= 0.7 of the Node server.
//
//   node bench/redis.mjs [--seconds 5] [--connections 50] [--rounds 3]
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitPort, makeLoad, measure, startRedis, startTsresty } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes('--' + n) ? Number(args[args.indexOf('--' + n) + 1]) : d);
const SECONDS = opt('seconds', 5);
const CONNS = opt('connections', 50);
const ROUNDS = opt('rounds', 3);
const load = makeLoad({ connections: CONNS, seconds: SECONDS, path: '/incr' });

const redis = await startRedis();
const redisPort = redis.port;

const startIncr = (port) => startTsresty(port, `
        location = /incr {
            content_by_lua_block {
                local redis = require "resty.redis"
                local r = redis:new()
                r:set_timeout(1000)
                local ok, err = r:connect("127.0.0.1", ${redisPort})
                if not ok then ngx.status = 500 ngx.say(err) return end
                local n = r:incr("bench")
                r:set_keepalive(10000, 100)
                ngx.say(n)
            }
        }`);

async function startNode(port) {
  const src = `
const http = require('node:http');
const Redis = require(${JSON.stringify(path.join(root, 'node_modules/ioredis'))});
const r = new Redis(${redisPort}, '127.0.0.1');
http.createServer(async (q, s) => {
  const n = await r.incr('bench');
  s.setHeader('Content-Type', 'text/plain');
  s.end(n + '\\n');
}).listen(${port}, '127.0.0.1');`;
  const child = spawn(process.execPath, ['-e', src], { stdio: 'inherit' });
  await waitPort(port);
  return { child, cleanup: () => {} };
}

console.log(`load generator: ${load.describe}; ${ROUNDS} rounds alternating between the servers, medians`);
const [node, ts] = await measure([startNode, startIncr], load, ROUNDS);
redis.kill();
console.log(`node:http + ioredis INCR         ${node.rps.toFixed(0).padStart(8)} req/s  ${node.cpuPerReq.toFixed(1)} CPU-µs/req`);
console.log(`tsresty resty.redis INCR         ${ts.rps.toFixed(0).padStart(8)} req/s  ${ts.cpuPerReq.toFixed(1)} CPU-µs/req`);
console.log(`ratio tsresty/node: ${(ts.rps / node.rps).toFixed(2)} by req/s, ${(node.cpuPerReq / ts.cpuPerReq).toFixed(2)} by CPU per request (goal >= 0.7)`);
