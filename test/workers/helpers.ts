// Multi-worker integration tests: like test/support/server.ts (whose request helpers are reused),
// but the test writes the main context itself (worker_processes, master_process...) and can signal
// the master (HUP, QUIT, TERM) and wait for log lines.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, request, canConnect, sleep, type Response } from '../support/server.js';

export { sleep };

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/cli.js');

export interface MultiServer {
  port: number;
  prefix: string;
  proc: ChildProcess;
  get(pathAndQuery: string, timeoutMs?: number): Promise<Response>;
  errorLog(): string;
  /** resolves once the error log matches `re` (polls), or rejects after timeoutMs */
  waitLog(re: RegExp, timeoutMs?: number): Promise<string>;
  signal(sig: NodeJS.Signals): void;
  /** resolves with the exit code once the master exited */
  exited(timeoutMs?: number): Promise<number | null>;
  stop(): Promise<void>;
}

export interface MultiOptions {
  /** main-context directives (default: none, i.e. worker_processes 1, master_process on) */
  main?: string;
  /** http-context directives before the server block */
  http?: string;
  /** written to PREFIX/html */
  files?: Record<string, string>;
}

export async function startMulti(serverConfig: string, opts: MultiOptions = {}): Promise<MultiServer> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-workers-'));
  for (const d of ['conf', 'logs', 'html']) fs.mkdirSync(path.join(prefix, d));
  for (const [p, c] of Object.entries(opts.files ?? {})) fs.writeFileSync(path.join(prefix, 'html', p), c);
  const port = await freePort();
  const conf = `${opts.main ?? ''}
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    default_type text/plain;
${opts.http ?? ''}
    server {
        listen 127.0.0.1:${port};
${serverConfig}
    }
}
`;
  fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), conf);
  const proc = spawn(process.execPath, [CLI, '-p', prefix, '-c', 'conf/nginx.conf'], { cwd: prefix, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  let exitCode: number | null | undefined;
  const exitWaiters: (() => void)[] = [];
  proc.on('exit', (code) => {
    exitCode = code;
    for (const w of exitWaiters) w();
  });
  const logPath = path.join(prefix, 'logs/error.log');
  const errorLog = (): string => {
    try {
      return fs.readFileSync(logPath, 'latin1');
    } catch {
      return '';
    }
  };
  const deadline = Date.now() + 30000;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`server exited (${exitCode}) before listening:\n${stderr}\n${errorLog()}`);
    if (errorLog().includes('started, pid') && (await canConnect(port))) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`server did not start:\n${stderr}\n${errorLog()}`);
    }
    await sleep(30);
  }
  const exited = (timeoutMs = 15000): Promise<number | null> =>
    new Promise((resolve, reject) => {
      if (exitCode !== undefined) return resolve(exitCode);
      const t = setTimeout(() => reject(new Error(`server still running after ${timeoutMs} ms:\n${errorLog()}`)), timeoutMs);
      exitWaiters.push(() => {
        clearTimeout(t);
        resolve(exitCode!);
      });
    });
  return {
    port,
    prefix,
    proc,
    get: (p, timeoutMs) => request(port, p, { timeoutMs: timeoutMs ?? 15000 }),
    errorLog,
    async waitLog(re, timeoutMs = 15000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const log = errorLog();
        if (re.test(log)) return log;
        if (Date.now() > end) throw new Error(`no log line matching ${re} within ${timeoutMs} ms:\n${log}`);
        await sleep(30);
      }
    },
    signal: (sig) => {
      proc.kill(sig);
    },
    exited,
    async stop() {
      if (exitCode === undefined) {
        proc.kill('SIGQUIT');
        try {
          await exited(10000);
        } catch {
          proc.kill('SIGKILL');
          await exited(5000).catch(() => undefined);
        }
      }
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}


/** Requests until `pred` holds for the body (or the time runs out). */
export async function pollBody(srv: MultiServer, p: string, pred: (body: string) => boolean, timeoutMs = 15000): Promise<string> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await srv.get(p);
    if (pred(r.body)) return r.body;
    if (Date.now() > end) throw new Error(`${p}: last body ${JSON.stringify(r.body)}`);
    await sleep(50);
  }
}
