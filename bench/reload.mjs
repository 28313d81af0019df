#!/usr/bin/env node
// Reload benchmark (not a test): under steady keep-alive load, 20 reloads alternating Lua module
// edits and config edits in --watch mode. Prints failed/reset requests (goal: 0), the median time
// from a file write to the first response served by the new code (goal: < 100 ms), and the
// throughput dip around reloads.
//
//   node bench/reload.mjs [--reloads 20] [--connections 20] [--gap 700]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes('--' + n) ? Number(args[args.indexOf('--' + n) + 1]) : d);
const RELOADS = opt('reloads', 20);
const CONNS = opt('connections', 20);
const GAP = opt('gap', 700);

const port = await new Promise((r) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => r(p));
  });
});
const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-reload-'));
for (const d of ['conf', 'logs', 'lua']) fs.mkdirSync(path.join(prefix, d));
const conf = (cv) => `worker_processes 1;
daemon off;
master_process off;
error_log logs/error.log notice;
events { worker_connections 1024; }
http {
    access_log off;
    lua_package_path "$prefix/lua/?.lua;;";
    server {
        listen 127.0.0.1:${port};
        location / {
            set $cv "${cv}";
            content_by_lua_block { ngx.say(require("ver").v, " ", ngx.var.cv) }
        }
    }
}
`;
const mod = (v) => `return { v = "${v}" }\n`;
fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), conf('c0'));
fs.writeFileSync(path.join(prefix, 'lua/ver.lua'), mod('m0'));

const server = spawn(process.execPath, [path.join(root, 'dist/cli.js'), '-p', prefix, '--watch'], { stdio: 'inherit' });
for (let i = 0; ; i++) {
  const ok = await new Promise((r) => {
    const c = net.connect(port, '127.0.0.1', () => {
      c.destroy();
      r(true);
    });
    c.on('error', () => r(false));
  });
  if (ok) break;
  if (i > 200) throw new Error('server did not start');
  await new Promise((r) => setTimeout(r, 50));
}

// ---- load: CONNS keep-alive connections, one request in flight each ----
let ok = 0;
let failed = 0;
let latest = '';
let waitingFor = null; // { marker, t0, resolve }
const buckets = [];
const t0 = Date.now();
let running = true;

function client() {
  const s = net.connect(port, '127.0.0.1');
  s.setNoDelay(true);
  let buf = '';
  let inflight = false;
  let closing = false;
  const send = () => {
    if (!running || closing) return;
    inflight = true;
    s.write('GET / HTTP/1.1\r\nHost: bench\r\n\r\n');
  };
  s.on('connect', send);
  s.on('data', (d) => {
    buf += d.toString('latin1');
    for (;;) {
      const h = buf.indexOf('\r\n\r\n');
      if (h < 0) return;
      const z = buf.indexOf('\r\n0\r\n\r\n', h);
      if (z < 0) return;
      const resp = buf.slice(0, z + 7);
      buf = buf.slice(z + 7);
      inflight = false;
      // a server going away answers with "Connection: close": a well-behaved client reconnects
      if (/\r\nConnection: close\r\n/i.test(resp.slice(0, h + 2))) closing = true;
      if (resp.startsWith('HTTP/1.1 200')) {
        ok++;
        const b = Math.floor((Date.now() - t0) / 100);
        buckets[b] = (buckets[b] ?? 0) + 1;
        latest = resp;
        if (waitingFor && resp.includes(waitingFor.marker)) {
          const w = waitingFor;
          waitingFor = null;
          w.resolve(performance.now() - w.t0);
        }
      } else failed++;
      send();
    }
  });
  s.on('error', () => {});
  s.on('close', () => {
    // only a request that was sent and never answered counts as failed (reset or dropped)
    if (inflight) failed++;
    if (running) client();
  });
}
for (let i = 0; i < CONNS; i++) client();
await new Promise((r) => setTimeout(r, 1000));

const latencies = [];
for (let i = 1; i <= RELOADS; i++) {
  const isConfig = i % 2 === 0;
  const marker = isConfig ? `c${i}` : `m${i}`;
  const seen = new Promise((resolve) => (waitingFor = { marker, t0: performance.now(), resolve }));
  if (isConfig) fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), conf(marker));
  else fs.writeFileSync(path.join(prefix, 'lua/ver.lua'), mod(marker));
  const ms = await Promise.race([seen, new Promise((r) => setTimeout(() => r(-1), 10000))]);
  latencies.push({ kind: isConfig ? 'config' : 'lua', ms });
  await new Promise((r) => setTimeout(r, GAP));
}
running = false;
server.kill('SIGQUIT');
await new Promise((r) => server.on('exit', r));
fs.rmSync(prefix, { recursive: true, force: true });

const med = (xs) => {
  const s = xs.filter((x) => x >= 0).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const lua = latencies.filter((l) => l.kind === 'lua').map((l) => l.ms);
const cfg = latencies.filter((l) => l.kind === 'config').map((l) => l.ms);
const full = buckets.slice(5, -2).filter((x) => x !== undefined);
const steady = med(full) * 10;
const worst = Math.min(...full) * 10;
console.log(`${RELOADS} reloads (${lua.length} Lua edits, ${cfg.length} config edits), ${CONNS} keep-alive connections`);
console.log(`requests ok: ${ok}, failed or reset: ${failed}${failed === 0 ? ' (goal met)' : ''}`);
console.log(`file write -> first response with new code, median: Lua ${med(lua).toFixed(1)} ms, config ${med(cfg).toFixed(1)} ms (goal < 100 ms); missed: ${latencies.filter((l) => l.ms < 0).length}`);
console.log(`throughput: median ${steady.toFixed(0)} req/s, worst 100 ms window ${worst.toFixed(0)} req/s (dip ${(100 - (worst / steady) * 100).toFixed(0)}%)`);
console.log(`last response: ${JSON.stringify(latest.split('\r\n\r\n')[1] ?? '')}`);
