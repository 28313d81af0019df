// Shared pieces of the lua-libs integration tests: a real redis-server per test file, and the
// tsresty server from test/support/server.ts.
//
// TSRESTY_CLI=/path/to/cli.js runs the servers from another build (e.g. one bundling work in
// progress); the integration suites run when the cosocket API is part of the build.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, freePort, request, type ServerOptions, type TestServer } from '../support/server.js';

const ROOT = path.resolve(__dirname, '../..');

/** Whether the build under test has ngx.socket (the cosocket API is imported by src/ngx/index.ts). */
export function cosocketsAvailable(): boolean {
  if (process.env.TSRESTY_CLI) return true;
  const index = fs.readFileSync(path.join(ROOT, 'src/ngx/index.ts'), 'utf8');
  return /import '\.\/socket(\.js)?'/.test(index);
}

/** Whether the build has ngx.shared (lua_shared_dict), imported by src/ngx/index.ts. */
export function sharedDictAvailable(): boolean {
  const index = fs.readFileSync(path.join(ROOT, 'src/ngx/index.ts'), 'utf8');
  return /import '\.\/shdict(\.js)?'/.test(index);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** startServer from test/support/server.ts, or the same from the TSRESTY_CLI build. */
export async function startTsresty(serverConfig: string, opts: ServerOptions = {}): Promise<TestServer> {
  const cli = process.env.TSRESTY_CLI;
  if (!cli) return startServer(serverConfig, opts);
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-libs-'));
  for (const d of ['conf', 'logs', 'html']) fs.mkdirSync(path.join(prefix, d));
  for (const [p, content] of Object.entries(opts.files ?? {})) {
    const full = path.join(prefix, 'html', p);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
  const port = await freePort();
  fs.writeFileSync(
    path.join(prefix, 'conf/nginx.conf'),
    `worker_processes 1;
daemon off;
master_process off;
error_log logs/error.log ${opts.logLevel ?? 'debug'};
pid logs/nginx.pid;
${opts.main ?? ''}
events { worker_connections 64; }
http {
    access_log off;
    default_type text/plain;
    keepalive_timeout 68;
${opts.http ?? ''}
    server {
        listen 127.0.0.1:${port};
        server_name localhost;
        client_max_body_size 30M;
${serverConfig}
    }
}
`,
  );
  const child = spawn(process.execPath, [cli, '-p', prefix, '-c', 'conf/nginx.conf'], { cwd: prefix, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d.toString()));
  const deadline = Date.now() + (opts.startupTimeoutMs ?? 15000);
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not start:\n${stderr}`);
    }
    await sleep(25);
  }
  const log = () => {
    try {
      return fs.readFileSync(path.join(prefix, 'logs/error.log'), 'latin1');
    } catch {
      return '';
    }
  };
  return {
    port,
    prefix,
    request: (r, o) => request(port, r, o),
    errorLog: log,
    stop: async (o) => {
      if (child.exitCode === null && child.signalCode === null) {
        const done = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGQUIT');
        const t = setTimeout(() => child.kill('SIGKILL'), 2000);
        await done;
        clearTimeout(t);
      }
      if (!o?.keep) fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

export interface Redis {
  port: number;
  proc: ChildProcess;
  /** redis-cli-like command over a fresh connection; resolves with the raw reply text */
  command(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Start a throwaway redis-server on a free loopback port (no persistence). Fails, never skips,
 *  when redis-server is missing: CI installs it (.ci/run). */
export async function startRedis(extraArgs: string[] = []): Promise<Redis> {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error('redis-server is not installed (apt-get install -y redis-server)');
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d.toString()));
  const deadline = Date.now() + 10000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`redis-server did not start: ${stderr}`);
    }
    await sleep(20);
  }
  const command = (...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      let buf = '';
      s.on('connect', () => s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
      s.on('data', (d) => {
        buf += d.toString('latin1');
        if (buf.endsWith('\r\n')) {
          s.destroy();
          resolve(buf);
        }
      });
      s.on('error', reject);
    });
  return {
    port,
    proc,
    command,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGKILL');
        await done;
      }
    },
  };
}

export interface Memcached {
  port: number;
  stop(): Promise<void>;
}

/** Start a throwaway memcached on a free loopback port (TCP only). */
export async function startMemcached(): Promise<Memcached> {
  const which = spawnSync('sh', ['-c', 'command -v memcached'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error('memcached is not installed (apt-get install -y memcached)');
  const port = await freePort();
  const args = ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-m', '16'];
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const proc = spawn('memcached', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d.toString()));
  const deadline = Date.now() + 10000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`memcached did not start: ${stderr}`);
    }
    await sleep(20);
  }
  return {
    port,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGKILL');
        await done;
      }
    },
  };
}

/** A free UDP port on 127.0.0.1 that is also free for TCP (bind both, release). */
export async function freePortUdp(): Promise<number> {
  const dgram = await import('node:dgram');
  for (;;) {
    const port = await freePort();
    const ok = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}
