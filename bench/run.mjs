#!/usr/bin/env node
// npm run bench: tsresty serving `content_by_lua_block { ngx.say("hello, world") }` against a bare
// node:http hello server, side by side in one run, same load generator (wrk -t1 -cN when installed,
// else a keep-alive Node client in a child process), alternating rounds. Prints req/s, server
// CPU-µs per request (from /proc: steadier than req/s on a shared machine) and the ratios.
//
//   node bench/run.mjs [--seconds 5] [--connections 50] [--rounds 3]
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SECONDS = opt('seconds', 5);
const CONNS = opt('connections', 50);
const ROUNDS = opt('rounds', 3);

function hasWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return e.status === 1; // wrk --version exits 1 after printing its version
  }
}
const WRK = hasWrk();

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never opened`);
}

/** utime + stime of a process in µs (Linux /proc). */
function cpuMicros(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(parts[11]) + Number(parts[12]);
  return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

async function startTsresty(port) {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-bench-'));
  fs.mkdirSync(path.join(prefix, 'conf'));
  fs.mkdirSync(path.join(prefix, 'logs'));
  fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), `
worker_processes 1;
daemon off;
master_process off;
error_log logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    server {
        listen 127.0.0.1:${port};
        location = /hello {
            content_by_lua_block { ngx.say("hello, world") }
        }
    }
}
`);
  const child = spawn(process.execPath, [path.join(root, 'dist/cli.js'), '-p', prefix, '-c', 'conf/nginx.conf'], { stdio: 'inherit' });
  await waitPort(port);
  return { child, cleanup: () => fs.rmSync(prefix, { recursive: true, force: true }) };
}

async function startNodeHttp(port) {
  const src = `require('node:http').createServer((q, s) => { s.setHeader('Content-Type', 'text/plain'); s.end('hello, world\\n'); }).listen(${port}, '127.0.0.1');`;
  const child = spawn(process.execPath, ['-e', src], { stdio: 'inherit' });
  await waitPort(port);
  return { child, cleanup: () => {} };
}

const JS_LOADGEN = `
const net = require('node:net');
const [port, conns, secs] = process.argv.slice(1).map(Number);
const REQ = Buffer.from('GET /hello HTTP/1.1\\r\\nHost: bench\\r\\n\\r\\n');
let done = 0; const end = Date.now() + secs * 1000;
for (let i = 0; i < conns; i++) {
  const s = net.connect(port, '127.0.0.1'); s.setNoDelay(true);
  let buf = '';
  s.on('connect', () => s.write(REQ));
  s.on('data', (d) => {
    buf += d.toString('latin1');
    for (;;) {
      const h = buf.indexOf('\\r\\n\\r\\n'); if (h < 0) return;
      const head = buf.slice(0, h);
      let len = 0, bodyEnd;
      const m = /content-length: *(\\d+)/i.exec(head);
      if (m) { len = Number(m[1]); bodyEnd = h + 4 + len; if (buf.length < bodyEnd) return; }
      else { const z = buf.indexOf('\\r\\n0\\r\\n\\r\\n', h); if (z < 0) return; bodyEnd = z + 7; }
      buf = buf.slice(bodyEnd); done++;
      if (Date.now() < end) s.write(REQ); else { s.destroy(); }
    }
  });
  s.on('error', () => {});
}
setTimeout(() => { console.log('REQS ' + done); process.exit(0); }, secs * 1000 + 200);
`;

function load(port) {
  return new Promise((resolve, reject) => {
    const child = WRK
      ? spawn('wrk', ['-t1', `-c${CONNS}`, `-d${SECONDS}s`, `http://127.0.0.1:${port}/hello`])
      : spawn(process.execPath, ['-e', JS_LOADGEN, String(port), String(CONNS), String(SECONDS)]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', () => {
      const m = WRK ? /(\d+) requests in/.exec(out) : /REQS (\d+)/.exec(out);
      resolve(m ? Number(m[1]) : 0);
    });
  });
}

async function measure(server) {
  const port = await freePort();
  const s = await server(port);
  await load(port); // warm-up round (JIT, connection setup)
  const results = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = cpuMicros(s.child.pid);
    const t0 = Date.now();
    const n = await load(port);
    const secs = (Date.now() - t0) / 1000;
    const cpu = cpuMicros(s.child.pid) - c0;
    results.push({ rps: n / secs, cpuPerReq: cpu / Math.max(1, n) });
  }
  s.child.kill('SIGTERM');
  s.cleanup();
  const med = (k) => results.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(results.length / 2)];
  return { rps: med('rps'), cpuPerReq: med('cpuPerReq') };
}

if (!fs.existsSync(path.join(root, 'dist/cli.js'))) {
  console.error('dist/cli.js missing: run npm run build');
  process.exit(1);
}
console.log(`load generator: ${WRK ? `wrk -t1 -c${CONNS} -d${SECONDS}s` : `node keep-alive client, ${CONNS} connections, ${SECONDS}s`}; ${ROUNDS} rounds each, medians`);
const node = await measure(startNodeHttp);
const ts = await measure(startTsresty);
const f = (x) => x.toFixed(0).padStart(8);
console.log(`bare node:http hello        ${f(node.rps)} req/s   ${node.cpuPerReq.toFixed(1)} CPU-µs/req`);
console.log(`tsresty content_by_lua hello ${f(ts.rps)} req/s   ${ts.cpuPerReq.toFixed(1)} CPU-µs/req`);
console.log(`ratio tsresty/node:http: ${(ts.rps / node.rps).toFixed(2)} by req/s, ${(node.cpuPerReq / ts.cpuPerReq).toFixed(2)} by CPU per request (goal >= 1.0)`);
