// Shared pieces of the lua-libs integration tests: a real redis-server per test file, and the
// tsresty server from test/support/server.ts.
//
// TSRESTY_CLI=/path/to/cli.js runs the servers from another build (e.g. one bundling work in
// progress); the integration suites run when the cosocket API is part of the build.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { startServer, freePort, canConnect, type ServerOptions, type TestServer } from '../support/server.js';

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

/** startServer from test/support/server.ts, run from the TSRESTY_CLI build when that is set. */
export function startTsresty(serverConfig: string, opts: ServerOptions = {}): Promise<TestServer> {
  const cli = process.env.TSRESTY_CLI;
  if (!cli) return startServer(serverConfig, opts);
  return startServer(serverConfig, { ...opts, cli, startupTimeoutMs: opts.startupTimeoutMs ?? 15000 });
}

/** Spawn a backend (redis-server, memcached) and wait up to 10 s until it accepts on port. */
async function spawnListening(cmd: string, args: string[], port: number): Promise<ChildProcess> {
  const which = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error(`${cmd} is not installed (apt-get install -y ${cmd})`);
  const proc = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d.toString()));
  const deadline = Date.now() + 10000;
  while (!(await canConnect(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${cmd} did not start: ${stderr}`);
    }
    await sleep(20);
  }
  return proc;
}

/** Kill a backend started by spawnListening and wait for it to exit. */
async function killBackend(proc: ChildProcess): Promise<void> {
  if (proc.exitCode === null && proc.signalCode === null) {
    const done = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGKILL');
    await done;
  }
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
  const port = await freePort();
  const proc = await spawnListening('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], port);
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
    stop: () => killBackend(proc),
  };
}

export interface Memcached {
  port: number;
  stop(): Promise<void>;
}

/** Start a throwaway memcached on a free loopback port (TCP only). */
export async function startMemcached(): Promise<Memcached> {
  const port = await freePort();
  const args = ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-m', '16'];
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const proc = await spawnListening('memcached', args, port);
  return { port, stop: () => killBackend(proc) };
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
