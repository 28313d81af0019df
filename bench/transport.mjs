#!/usr/bin/env node
// Hello world over keep-alive connections: tsresty's HTTP transport (src/http/transport.ts) against
// bare node:http, same load generator, side by side. The server runs in a child process built with
// esbuild; the load generator is wrk (`wrk -t1 -cN`) when installed, else a small keep-alive client
// in another child process (N connections, one request in flight on each).
//
//   node bench/transport.mjs [--seconds 5] [--connections 50] [--rounds 3] [--js] [--no-raw]
//
// Prints req/s and server CPU-µs per request (process.cpuUsage of the server) for each, the median
// over the rounds, and the ratio. "raw" is the ceiling: node:net writing a canned response per
// request without parsing anything. CPU-µs/req is the steadier figure on a shared machine.
import { build } from 'esbuild';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf('--' + name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SECONDS = opt('seconds', 5);
const CONNS = opt('connections', 50);
const ROUNDS = opt('rounds', 3);
const useWrk = !args.includes('--js') && hasWrk();

function hasWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return e.status === 1; // wrk --version exits 1 after printing
  }
}

// ---- the server (bundled) ----
const serverSrc = `
import * as http from 'node:http';
import * as net from 'node:net';
import { createTransport, httpDate } from ${JSON.stringify(join(root, 'src/http/transport.ts'))};
const mode = process.argv[2];
const BODY = Buffer.from('hello, world\\n');
function ready(port) { process.stdout.write('PORT ' + port + '\\n'); }
if (mode === 'raw') {
  // the ceiling: node:net answering every request-ending CRLFCRLF with a fixed response, no parsing
  const RESP = Buffer.from('HTTP/1.1 200 OK\\r\\nServer: openresty\\r\\nContent-Type: text/plain\\r\\nContent-Length: 13\\r\\nConnection: keep-alive\\r\\n\\r\\nhello, world\\n');
  const srv = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (d) => {
      let n = 0;
      for (let i = d.indexOf('\\r\\n\\r\\n'); i >= 0; i = d.indexOf('\\r\\n\\r\\n', i + 4)) n++;
      s.write(n === 1 ? RESP : Buffer.concat(Array(n).fill(RESP)));
    });
    s.on('error', () => {});
  });
  srv.listen(0, '127.0.0.1', () => ready(srv.address().port));
} else if (mode === 'node') {
  const srv = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': BODY.length });
    res.end(BODY);
  });
  srv.keepAliveTimeout = 75000;
  srv.listen(0, '127.0.0.1', () => ready(srv.address().port));
} else {
  const t = createTransport({
    listeners: [{ listen: { port: 0, host: '127.0.0.1' } }],
    onRequest(ex) {
      // what nginx sends for content_by_lua_block { ngx.say("hello, world") } minus chunking
      ex.writeHead(200, null, ['Server', 'openresty', 'Date', httpDate(), 'Content-Type', 'text/plain'],
        { contentLength: BODY.length });
      ex.end(BODY);
    },
  });
  t.ready.then(() => ready(t.addresses()[0].port));
}
process.stdin.on('data', () => {
  const u = process.cpuUsage();
  process.stdout.write('CPU ' + (u.user + u.system) + '\\n');
});
`;

// ---- the JS load generator (used without wrk) ----
const loadgenSrc = `
import * as net from 'node:net';
const [port, conns, seconds] = process.argv.slice(2).map(Number);
const REQ = Buffer.from('GET / HTTP/1.1\\r\\nHost: localhost\\r\\n\\r\\n');
let done = 0, stop = false;
function client() {
  const s = net.connect(port, '127.0.0.1');
  s.setNoDelay(true);
  let buf = '';
  s.on('connect', () => s.write(REQ));
  s.on('data', (d) => {
    buf += d.toString('latin1');
    for (;;) {
      const he = buf.indexOf('\\r\\n\\r\\n');
      if (he < 0) return;
      const m = /content-length: *(\\d+)/i.exec(buf.slice(0, he));
      const end = he + 4 + (m ? Number(m[1]) : 0);
      if (buf.length < end) return;
      buf = buf.slice(end);
      done++;
      if (stop) return s.destroy();
      s.write(REQ);
    }
  });
  s.on('error', () => {});
}
for (let i = 0; i < conns; i++) client();
setTimeout(() => { stop = true; process.stdout.write('REQS ' + done + '\\n'); setTimeout(() => process.exit(0), 50); }, seconds * 1000);
`;

const dir = mkdtempSync(join(tmpdir(), 'tsresty-bench-'));
const serverJs = join(dir, 'server.cjs');
const loadgenJs = join(dir, 'loadgen.mjs');
await build({
  stdin: { contents: serverSrc, resolveDir: root, loader: 'ts' },
  bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: serverJs, logLevel: 'warning',
});
writeFileSync(loadgenJs, loadgenSrc);

function lines(child, onLine) {
  let buf = '';
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}

async function startServer(mode) {
  const child = spawn(process.execPath, [serverJs, mode], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  lines(child, (l) => waiting.shift()?.(l));
  const next = () => new Promise((r) => waiting.push(r));
  const port = Number((await next()).split(' ')[1]);
  const cpu = async () => {
    child.stdin.write('\n');
    return Number((await next()).split(' ')[1]);
  };
  return { port, cpu, stop: () => child.kill() };
}

async function load(port, seconds) {
  if (useWrk) {
    const w = spawn('wrk', ['-t1', '-c' + CONNS, '-d' + seconds + 's', `http://127.0.0.1:${port}/`]);
    let out = '';
    w.stdout.on('data', (d) => (out += d));
    await once(w, 'close');
    const m = /(\d+) requests in/.exec(out);
    if (!m) throw new Error('wrk output: ' + out);
    return Number(m[1]);
  }
  const g = spawn(process.execPath, [loadgenJs, String(port), String(CONNS), String(seconds)]);
  let reqs = 0;
  lines(g, (l) => l.startsWith('REQS') && (reqs = Number(l.split(' ')[1])));
  await once(g, 'close');
  return reqs;
}

async function measure(mode) {
  const srv = await startServer(mode);
  try {
    await load(srv.port, 1); // warm-up (JIT, connections)
    const cpu0 = await srv.cpu();
    const reqs = await load(srv.port, SECONDS);
    const cpu1 = await srv.cpu();
    return { rps: reqs / SECONDS, cpuPerReq: (cpu1 - cpu0) / reqs };
  } finally {
    srv.stop();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const MODES = args.includes('--no-raw') ? ['node', 'tsresty'] : ['raw', 'node', 'tsresty'];
const results = { raw: [], node: [], tsresty: [] };
console.log(`hello world, ${CONNS} keep-alive connections, ${SECONDS}s x ${ROUNDS} rounds, load: ${useWrk ? 'wrk -t1' : 'js client'}`);
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of MODES) {
    const m = await measure(mode);
    results[mode].push(m);
    console.log(`  round ${r + 1} ${mode.padEnd(8)} ${Math.round(m.rps).toString().padStart(7)} req/s  ${m.cpuPerReq.toFixed(2)} CPU-µs/req`);
  }
}
const sum = {};
for (const mode of MODES) {
  const cpus = results[mode].map((m) => m.cpuPerReq);
  sum[mode] = { rps: median(results[mode].map((m) => m.rps)), cpu: median(cpus) };
  console.log(`${mode.padEnd(8)} median ${Math.round(sum[mode].rps).toString().padStart(7)} req/s  ${sum[mode].cpu.toFixed(2)} CPU-µs/req` +
    ` (best ${Math.min(...cpus).toFixed(2)})`);
}
console.log(`ratio tsresty/node: ${(sum.tsresty.rps / sum.node.rps).toFixed(2)}x req/s, ${(sum.tsresty.cpu / sum.node.cpu).toFixed(2)}x CPU per request`);
rmSync(dir, { recursive: true, force: true });
