#!/usr/bin/env node
// Cosocket benchmark (not a test): a handler doing one Redis INCR through resty.redis with a
// keep-alive pool, against a bare node:http server doing the same INCR with ioredis (a well-kept
// Node client), side by side, same load generator (wrk when installed, else a Node keep-alive
// client), same redis-server on loopback. Goal: tsresty >= 0.7 of the Node server.
//
//   node bench/redis.mjs [--seconds 5] [--connections 50] [--rounds 3]
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes('--' + n) ? Number(args[args.indexOf('--' + n) + 1]) : d);
const SECONDS = opt('seconds', 5);
const CONNS = opt('connections', 50);
const ROUNDS = opt('rounds', 3);

const freePort = () => new Promise((r) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});
async function waitPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), r(true)));
      c.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never opened`);
}
function hasWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return e.status === 1;
  }
}
const WRK = hasWrk();
const cpuMicros = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const p = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(p[11]) + Number(p[12])) * 1e6) / 100;
};

const redisPort = await freePort();
const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
redis.on('error', () => {
  console.error('redis-server is not installed (apt-get install -y redis-server)');
  process.exit(1);
});
await waitPort(redisPort);

async function startTsresty(port) {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-bench-redis-'));
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
        }
    }
}
`);
  const child = spawn(process.execPath, [path.join(root, 'dist/cli.js'), '-p', prefix], { stdio: 'inherit' });
  await waitPort(port);
  return { child, cleanup: () => fs.rmSync(prefix, { recursive: true, force: true }) };
}

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

const JS_LOADGEN = `
const net = require('node:net');
const [port, conns, secs] = process.argv.slice(1).map(Number);
const REQ = Buffer.from('GET /incr HTTP/1.1\\r\\nHost: bench\\r\\n\\r\\n');
let done = 0; const end = Date.now() + secs * 1000;
for (let i = 0; i < conns; i++) {
  const s = net.connect(port, '127.0.0.1'); let buf = '';
  s.on('connect', () => s.write(REQ));
  s.on('data', (d) => { buf += d.toString('latin1');
    for (;;) { const h = buf.indexOf('\\r\\n\\r\\n'); if (h < 0) return;
      const m = /content-length: *(\\d+)/i.exec(buf.slice(0, h)); let e;
      if (m) { e = h + 4 + Number(m[1]); if (buf.length < e) return; } else { const z = buf.indexOf('\\r\\n0\\r\\n\\r\\n', h); if (z < 0) return; e = z + 7; }
      buf = buf.slice(e); done++; if (Date.now() < end) s.write(REQ); else s.destroy(); } });
  s.on('error', () => {});
}
setTimeout(() => { console.log('REQS ' + done); process.exit(0); }, secs * 1000 + 200);`;

function load(port) {
  return new Promise((resolve) => {
    const c = WRK ? spawn('wrk', ['-t1', `-c${CONNS}`, `-d${SECONDS}s`, `http://127.0.0.1:${port}/incr`])
      : spawn(process.execPath, ['-e', JS_LOADGEN, String(port), String(CONNS), String(SECONDS)]);
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', () => {
      const m = WRK ? /(\d+) requests in/.exec(out) : /REQS (\d+)/.exec(out);
      resolve(m ? Number(m[1]) : 0);
    });
  });
}

async function measure(start) {
  const port = await freePort();
  const s = await start(port);
  await load(port);
  const res = [];
  for (let i = 0; i < ROUNDS; i++) {
    const c0 = cpuMicros(s.child.pid);
    const t0 = Date.now();
    const n = await load(port);
    res.push({ rps: n / ((Date.now() - t0) / 1000), cpu: (cpuMicros(s.child.pid) - c0) / Math.max(1, n) });
  }
  s.child.kill('SIGTERM');
  s.cleanup();
  const med = (k) => res.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(res.length / 2)];
  return { rps: med('rps'), cpu: med('cpu') };
}

console.log(`load generator: ${WRK ? `wrk -t1 -c${CONNS} -d${SECONDS}s` : `node keep-alive client, ${CONNS} connections`}; ${ROUNDS} rounds, medians`);
const node = await measure(startNode);
const ts = await measure(startTsresty);
redis.kill();
console.log(`node:http + ioredis INCR         ${node.rps.toFixed(0).padStart(8)} req/s  ${node.cpu.toFixed(1)} CPU-µs/req`);
console.log(`tsresty resty.redis INCR         ${ts.rps.toFixed(0).padStart(8)} req/s  ${ts.cpu.toFixed(1)} CPU-µs/req`);
console.log(`ratio tsresty/node: ${(ts.rps / node.rps).toFixed(2)} by req/s, ${(node.cpu / ts.cpu).toFixed(2)} by CPU per request (goal >= 0.7)`);
