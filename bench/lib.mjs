// Shared pieces of the benchmarks: ports, processes, the load generator and CPU accounting.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

export async function waitPort(port) {
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

export function hasWrk() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return e.status === 1; // wrk --version exits 1 after printing its version
  }
}

/** utime + stime of a process in µs (Linux /proc; USER_HZ is 100). */
export function cpuMicros(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return ((Number(parts[11]) + Number(parts[12])) * 1e6) / 100;
}

const JS_LOADGEN = `
const net = require('node:net');
const [port, conns, secs, path] = process.argv.slice(1);
const REQ = Buffer.from('GET ' + path + ' HTTP/1.1\\r\\nHost: bench\\r\\n\\r\\n');
let done = 0; const end = Date.now() + Number(secs) * 1000;
for (let i = 0; i < Number(conns); i++) {
  const s = net.connect(Number(port), '127.0.0.1'); s.setNoDelay(true); let buf = '';
  s.on('connect', () => s.write(REQ));
  s.on('data', (d) => { buf += d.toString('latin1');
    for (;;) { const h = buf.indexOf('\\r\\n\\r\\n'); if (h < 0) return;
      const m = /content-length: *(\\d+)/i.exec(buf.slice(0, h)); let e;
      if (m) { e = h + 4 + Number(m[1]); if (buf.length < e) return; }
      else { const z = buf.indexOf('\\r\\n0\\r\\n\\r\\n', h); if (z < 0) return; e = z + 7; }
      buf = buf.slice(e); done++; if (Date.now() < end) s.write(REQ); else s.destroy(); } });
  s.on('error', () => {});
}
setTimeout(() => { console.log('REQS ' + done); process.exit(0); }, Number(secs) * 1000 + 200);`;

/** A load generator: wrk -t1 when installed, else a keep-alive Node client in a child process. */
export function makeLoad({ connections, seconds, path }) {
  const wrk = hasWrk();
  const describe = wrk ? `wrk -t1 -c${connections} -d${seconds}s` : `node keep-alive client, ${connections} connections, ${seconds}s`;
  const run = (port) => new Promise((resolve, reject) => {
    const child = wrk
      ? spawn('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `http://127.0.0.1:${port}${path}`])
      : spawn(process.execPath, ['-e', JS_LOADGEN, String(port), String(connections), String(seconds), path]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', () => {
      const m = wrk ? /(\d+) requests in/.exec(out) : /REQS (\d+)/.exec(out);
      resolve(m ? Number(m[1]) : 0);
    });
  });
  return { describe, run };
}

/** Run `rounds` measured load rounds (after one warm-up each) against every server `starts`
 *  starts, alternating server by server within each round, so a shared machine getting slower or
 *  faster during the run affects all sides alike; medians per server. */
export async function measure(starts, load, rounds) {
  const servers = [];
  for (const start of starts) {
    const port = await freePort();
    const s = await start(port);
    await load.run(port);
    servers.push({ port, s, results: [] });
  }
  for (let r = 0; r < rounds; r++) {
    for (const srv of servers) {
      const c0 = cpuMicros(srv.s.child.pid);
      const t0 = Date.now();
      const n = await load.run(srv.port);
      const secs = (Date.now() - t0) / 1000;
      srv.results.push({ rps: n / secs, cpuPerReq: (cpuMicros(srv.s.child.pid) - c0) / Math.max(1, n) });
    }
  }
  for (const srv of servers) {
    srv.s.child.kill('SIGTERM');
    srv.s.cleanup();
  }
  return servers.map(({ results }) => {
    const med = (k) => results.map((x) => x[k]).sort((a, b) => a - b)[Math.floor(results.length / 2)];
    return { rps: med('rps'), cpuPerReq: med('cpuPerReq') };
  });
}

/** A throwaway redis-server on a free loopback port (no persistence); exits the benchmark with a
 *  hint when redis-server is not installed. */
export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  child.on('error', () => {
    console.error('redis-server is not installed (apt-get install -y redis-server)');
    process.exit(1);
  });
  await waitPort(port);
  return { port, kill: () => child.kill() };
}

/** Start dist/cli.js (one worker, in-process) serving `locations` on 127.0.0.1:port in a fresh
 *  prefix; resolves once it listens. `nodeArgs` go to node (e.g. V8 flags), `stdio` to spawn. */
export async function startTsresty(port, locations, { nodeArgs = [], stdio = 'inherit' } = {}) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
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
${locations}
    }
}
`);
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'dist/cli.js'), '-p', prefix, '-c', 'conf/nginx.conf'], { stdio });
  await waitPort(port);
  return { child, cleanup: () => fs.rmSync(prefix, { recursive: true, force: true }) };
}
