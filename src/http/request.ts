// The per-request state shared by the phase engine, the output pipeline and the ngx.* API.
import type { LocationConf, ServerConf } from '../config/model.js';
import type { LuaTask } from '../lua/scheduler.js';
import type { LogContext } from '../log/errorlog.js';
import { ResponseHeaders } from './headers-out.js';
import type { Worker } from '../workers/worker.js';

/** Where a request's response goes: the client connection, or a parent's capture buffer. */
export interface OutputSink {
  /** req.status / req.headersOut are final (header filters ran); the sink serialises them. */
  sendHeader(req: Request, framing: Framing): void;
  write(req: Request, data: Uint8Array): void;
  end(req: Request): void;
  flush(req: Request, cb: ((err?: Error) => void) | null): void;
  /** hard close (ngx.exit(ngx.ERROR), 444, errors after headers were sent) */
  abort(req: Request): void;
}

export const enum Framing {
  Length = 0,
  Chunked = 1,
  Close = 2,
  NoBody = 3,
}

/** The client connection as the request sees it; the transport's Exchange satisfies it directly,
 *  so no per-request object is built for it. */
export interface ConnInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** nginx's connection serial number ("*N" in log lines, $connection) */
  readonly connectionId: number;
  /** $connection_requests */
  readonly connectionRequests: number;
}

let requestSerial = 0;

export class Request implements LogContext {
  readonly id = ++requestSerial;
  main: Request = this;
  parent: Request | null = null;
  // request line
  method = 'GET';
  protocol = 'HTTP/1.1';
  httpVersion = 1.1;
  requestLine = '';
  unparsedUri = '/';
  uri = '/';
  args = '';
  hasArgs = false;
  headersIn: string[] = [];
  private rawHeaderText: string | null = null;
  /** request line + headers exactly as received (built on first use: most requests never ask) */
  get rawHeader(): string {
    let t = this.rawHeaderText;
    if (t === null) this.rawHeaderText = t = this.transport ? (this.transport.head.rawHeader as Buffer).toString('latin1') : '';
    return t;
  }
  set rawHeader(v: string) {
    this.rawHeaderText = v;
  }
  requestLength = 0;
  startTime = Date.now();
  // routing
  server!: ServerConf;
  loc!: LocationConf;
  internal = false;
  uriChanged = false;
  uriChanges = 11; // nginx NGX_HTTP_MAX_URI_CHANGES + 1
  phase = 0;
  step = 0;
  captures: (string | undefined)[] | null = null;
  /** location matching chose a proxied "/name/" for the URI "/name": answer 301 (auto_redirect) */
  autoRedirect = false;
  vars = new Map<string, string | null>();
  // body
  body: Buffer | null = null;
  /** the whole body whatever its storage (proxying, subrequests); `body` is null when it is in a file */
  bodyRaw: Buffer | null = null;
  bodyRead = false;
  bodyFile: string | null = null;
  // response
  status = 0;
  /** nginx's r->err_status: set by error_page, it wins over whatever the error page's handler sets */
  errStatus = 0;
  statusLine: string | null = null;
  headersOut = new ResponseHeaders();
  headerSent = false;
  finished = false;
  finalized = false;
  framing = Framing.Length;
  bodyBytesSent = 0;
  bytesSent = 0;
  limitRate = 0;
  sink!: OutputSink;
  // lua
  task: LuaTask | null = null;
  ctxRef = 0;
  /** ngx.ctx table owned by someone else (capture's ctx option): never released here */
  ctxShared = false;
  exitCode: number | null = null;
  /** cosockets to release when the request ends: one, several, or none (ngx/socket-common.ts) */
  cosockets: unknown = null;
  /** set by ngx.exec / ngx.redirect before exiting the entry thread */
  pendingExec: { uri: string; args: string | null } | null = null;
  errorPageRedirected = false;
  headerFilterRunning = false;
  // subrequests
  /** output slots waiting behind inline subrequests (see http/subrequest.ts) */
  postponed: unknown[] | null = null;
  captureBody: Uint8Array[] | null = null;
  /** called once when this subrequest is finalised (survives internal redirects, unlike ext) */
  onSubrequestDone: ((sr: Request) => void) | null = null;
  /** nginx's connection log action ("connecting to upstream"...), kept on the main request:
   *  error log lines read " while ACTION" before ", client: " */
  logAction: string | null = null;
  /** ", upstream: ..." of error log lines once a proxy picked a peer (schema + peer + URI) */
  logUpstream: string | null = null;
  /** module-private state (echo, proxy, ...) */
  ext: Record<string, any> = Object.create(null);

  constructor(
    readonly worker: Worker,
    readonly conn: ConnInfo,
    readonly transport: any,
  ) {}

  connSerial(): number {
    return this.conn.connectionId;
  }

  /** ", client: 127.0.0.1, server: localhost, request: "GET /t HTTP/1.1", host: "localhost"" */
  logSuffix(): string {
    const action = this.main.logAction;
    let s = `${action !== null ? ' while ' + action : ''}, client: ${this.conn.remoteAddress}, server: ${this.server ? this.server.primaryName : ''}, request: "${this.main.requestLine}"`;
    if (this !== this.main) s += `, subrequest: "${this.uri}"`;
    if (this.logUpstream !== null) s += `, upstream: "${this.logUpstream}"`;
    const host = this.main.headerIn('host');
    if (host !== null) s += `, host: "${host}"`;
    return s;
  }

  headerIn(lc: string): string | null {
    const h = this.headersIn;
    for (let i = 0; i < h.length; i += 2) if (h[i].length === lc.length && h[i].toLowerCase() === lc) return h[i + 1];
    return null;
  }

  /** $host: Host header without port, else the server name (nginx lower-cases it). */
  hostVar(): string {
    const h = this.headerIn('host');
    if (h) {
      const colon = h.lastIndexOf(':');
      const host = colon > 0 && h.indexOf(']') < colon ? h.slice(0, colon) : h;
      return host.toLowerCase();
    }
    return this.server.primaryName;
  }

  requestBodyString(): string | null {
    return this.body ? this.body.toString('latin1') : null;
  }

  requestId(): string {
    const v = this.ext.requestId as string | undefined;
    if (v) return v;
    const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
    this.ext.requestId = id;
    return id;
  }

  mapUriToPath(uri: string): string {
    const s = this.loc.s;
    if (s.rootIsAlias) {
      const locName = this.loc.match === 'regex' ? '' : this.loc.name;
      return s.root + uri.slice(locName.length);
    }
    return s.root + uri;
  }

  /** Parse "path?args" into uri/args; the path is percent-decoded and normalised like nginx. */
  setUriAndArgs(rawTarget: string): boolean {
    const q = rawTarget.indexOf('?');
    const path = q < 0 ? rawTarget : rawTarget.slice(0, q);
    this.args = q < 0 ? '' : rawTarget.slice(q + 1);
    this.hasArgs = q >= 0;
    const norm = normalizeUri(path, this.server ? this.server.mergeSlashes : true);
    if (norm === null) return false;
    this.uri = norm;
    return true;
  }
}

/** nginx's ngx_http_parse_complex_uri: percent-decode, resolve "." and "..", merge slashes.
 *  Returns null for a path escaping the root (nginx answers 400). */
export function normalizeUri(path: string, mergeSlashes: boolean): string | null {
  let decoded = path;
  if (path.indexOf('%') >= 0) decoded = percentDecode(path);
  if (decoded.indexOf('/.') < 0 && (!mergeSlashes || decoded.indexOf('//') < 0)) return decoded;
  const segs = decoded.split('/');
  const out: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    if (seg === '.') {
      if (i === segs.length - 1) out.push('');
      continue;
    }
    if (seg === '..') {
      if (out.length <= 1) return null;
      out.pop();
      if (i === segs.length - 1) out.push('');
      continue;
    }
    if (seg === '' && mergeSlashes && i > 0 && i < segs.length - 1) continue;
    out.push(seg);
  }
  const r = out.join('/');
  return r.startsWith('/') ? r : '/' + r;
}

export function percentDecode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 && i + 2 < s.length + 0 && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      out += String.fromCharCode(parseInt(s.substr(i + 1, 2), 16));
      i += 2;
    } else out += s[i];
  }
  return out;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
