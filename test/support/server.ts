// Integration-test helper: run the built server (dist/cli.js) on a generated nginx.conf in a
// temporary prefix, talk to it over real sockets, and read its error log. Generic on purpose:
// any test that needs a whole server (modules, phases, proxy...) can use it.
//
//   const srv = await startServer(`location /t { echo hello; }`);
//   const r = await srv.request('/t');          // or a raw request string
//   expect(r.body).toBe('hello\n');
//   await srv.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/cli.js');

export interface ServerOptions {
  /** text placed inside http { } before the server block ("\${PORT}" = the test server's port) */
  http?: string;
  /** text placed at the top level (main context) */
  main?: string;
  /** error_log level (default debug) */
  logLevel?: string;
  /** files to create under PREFIX/html (path -> content) */
  files?: Record<string, string | Buffer>;
  /** how long to wait for the port (ms) */
  startupTimeoutMs?: number;
  /** extra command-line arguments (e.g. --watch) */
  args?: string[];
  /** whether `location / { root html; index index.html; }` is added (default true) */
  rootLocation?: boolean;
  /** the server script to run (default dist/cli.js of this checkout), e.g. another build's cli.js */
  cli?: string;
}

export interface Response {
  /** the raw bytes received, as latin1 */
  raw: string;
  status: number;
  statusLine: string;
  /** header names lower-cased; repeated headers keep every value */
  headers: Record<string, string[]>;
  /** first value of a header (case-insensitive) or undefined */
  header(name: string): string | undefined;
  /** the body with chunked encoding removed (latin1) */
  body: string;
  /** the connection was closed by the server before the timeout */
  closed: boolean;
}

export interface TestServer {
  port: number;
  prefix: string;
  /** a path ("/t?a=1") becomes a GET with Host and Connection: close; otherwise raw bytes are sent */
  request(rawOrPath: string | Buffer, opts?: { timeoutMs?: number; until?: (data: string) => boolean }): Promise<Response>;
  /** the current content of logs/error.log */
  errorLog(): string;
  /** stop the server (SIGQUIT, then SIGKILL) and remove the prefix unless keep is set */
  stop(opts?: { keep?: boolean }): Promise<void>;
}

/** Find a free TCP port on 127.0.0.1 (bind to 0 and release). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Write the config into a fresh prefix and start the server; resolves once it accepts connections. */
export async function startServer(serverConfig: string, opts: ServerOptions = {}): Promise<TestServer> {
  const cli = opts.cli ?? CLI;
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" first`);
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-test-'));
  for (const d of ['conf', 'logs', 'html']) fs.mkdirSync(path.join(prefix, d));
  fs.writeFileSync(path.join(prefix, 'html/index.html'), 'It works!\n');
  for (const [p, content] of Object.entries(opts.files ?? {})) {
    const full = path.join(prefix, 'html', p);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
  const port = await freePort();
  const conf = `worker_processes 1;
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
${opts.rootLocation === false ? '' : '        location / { root html; index index.html; }\n'}
${serverConfig}
    }
}
`;
  // "\${PORT}" in any part of the config stands for the server's port (extra server blocks)
  fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), conf.replaceAll('${PORT}', String(port)));
  const child = spawn(process.execPath, [cli, '-p', prefix, '-c', 'conf/nginx.conf', ...(opts.args ?? [])], {
    cwd: prefix,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout!.on('data', () => {});
  child.stderr!.on('data', (d) => {
    stderr += d.toString();
  });
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  const deadline = Date.now() + (opts.startupTimeoutMs ?? 10000);
  for (;;) {
    if (exited !== null) {
      const log = readIf(path.join(prefix, 'logs/error.log'));
      throw new Error(`server exited with ${exited} before listening:\n${stderr}\n${log}`);
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not listen on ${port}:\n${stderr}`);
    }
    await sleep(25);
  }
  return {
    port,
    prefix,
    request: (r, o) => request(port, r, o),
    errorLog: () => readIf(path.join(prefix, 'logs/error.log')),
    stop: (o) => stop(child, prefix, o?.keep ?? false),
  };
}

function readIf(p: string): string {
  try {
    return fs.readFileSync(p, 'latin1');
  } catch {
    return '';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function stop(child: ChildProcess, prefix: string, keep: boolean): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGQUIT');
    const t = setTimeout(() => child.kill('SIGKILL'), 2000);
    await done;
    clearTimeout(t);
  }
  if (!keep) fs.rmSync(prefix, { recursive: true, force: true });
}

/** Send one request (or raw bytes) and read until the server closes or the timeout passes. */
export function request(port: number, rawOrPath: string | Buffer, opts: { timeoutMs?: number; until?: (data: string) => boolean } = {}): Promise<Response> {
  const data = typeof rawOrPath === 'string' && rawOrPath.startsWith('/')
    ? `GET ${rawOrPath} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`
    : rawOrPath;
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve(parseResponse(buf, closed));
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 5000);
    s.on('connect', () => s.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data));
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (opts.until && opts.until(buf)) finish(false);
    });
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('error', (e) => {
      if (!settled && buf === '') {
        settled = true;
        clearTimeout(timer);
        reject(e);
      } else finish(true);
    });
  });
}

/** Parse one HTTP/1.x response out of raw bytes (body de-chunked when Transfer-Encoding: chunked). */
export function parseResponse(raw: string, closed = true): Response {
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const rest = end < 0 ? '' : raw.slice(end + 4);
  const lines = head.split('\r\n');
  const statusLine = lines[0] ?? '';
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(statusLine);
  const headers: Record<string, string[]> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c <= 0) continue;
    const k = l.slice(0, c).toLowerCase();
    (headers[k] ??= []).push(l.slice(c + 1).trim());
  }
  let body = rest;
  if ((headers['transfer-encoding'] ?? []).some((v) => v.toLowerCase() === 'chunked')) body = dechunk(rest);
  else if (headers['content-length']) body = rest.slice(0, Number(headers['content-length'][0]));
  return {
    raw,
    status: m ? Number(m[1]) : 0,
    statusLine,
    headers,
    header: (n) => headers[n.toLowerCase()]?.[0],
    body,
    closed,
  };
}

function dechunk(s: string): string {
  let out = '';
  let i = 0;
  for (;;) {
    const nl = s.indexOf('\r\n', i);
    if (nl < 0) return out;
    const size = parseInt(s.slice(i, nl), 16);
    if (!(size > 0)) return out;
    out += s.slice(nl + 2, nl + 2 + size);
    i = nl + 2 + size + 2;
  }
}
