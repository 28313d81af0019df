// The HTTP/1.x transport: listening sockets, one Connection per client socket, llhttp parsing
// (./parser.ts), nginx's limits and timeouts, response framing. For every request head it calls
// `onRequest(exchange)`; the core answers through the exchange and reads the body when it wants.
import * as net from 'node:net';
import { FAILED, HEAD, HEAD_DONE, NEED_MORE, RequestHead, RequestParser, type ParserLimits } from './parser.js';
import { Http1Exchange, type ExchangeHost } from './transport/exchange.js';
import { errorPageHtml, statusLine } from './transport/errors.js';

export { RequestHead } from './parser.js';
export { errorPageHtml, errorClosesConnection, statusLine, statusText } from './transport/errors.js';

/** Per listening socket limits, in ms unless said otherwise; defaults are nginx's. */
export interface ListenerOptions {
  clientHeaderTimeout: number; // client_header_timeout 60s
  clientBodyTimeout: number; // client_body_timeout 60s (between two reads)
  sendTimeout: number; // send_timeout 60s (between two successful writes)
  keepaliveTimeout: number; // keepalive_timeout 75s; 0 turns keep-alive off
  keepaliveHeader: number; // keepalive_timeout's 2nd arg, seconds: "Keep-Alive: timeout=N"; 0 = none
  keepaliveRequests: number; // keepalive_requests 1000
  keepaliveTime: number; // keepalive_time 1h
  largeHeaderBufferSize: number; // large_client_header_buffers 4 8k: size
  largeHeaderBuffers: number; // ... and number
  lingeringClose: 'on' | 'off' | 'always'; // lingering_close on
  lingeringTime: number; // lingering_time 30s
  lingeringTimeout: number; // lingering_timeout 5s
  postponeOutput: number; // postpone_output 1460 bytes
  /** Server header value and error page tail: "nginx" (server_tokens off) or "openresty/1.27.1.2" */
  serverTokens: string;
}

export const DEFAULT_LISTENER_OPTIONS: Readonly<ListenerOptions> = Object.freeze({
  clientHeaderTimeout: 60000,
  clientBodyTimeout: 60000,
  sendTimeout: 60000,
  keepaliveTimeout: 75000,
  keepaliveHeader: 0,
  keepaliveRequests: 1000,
  keepaliveTime: 3600000,
  largeHeaderBufferSize: 8192,
  largeHeaderBuffers: 4,
  lingeringClose: 'on',
  lingeringTime: 30000,
  lingeringTimeout: 5000,
  postponeOutput: 1460,
  serverTokens: 'nginx',
});

export interface ListenerSpec {
  /** an existing server (listening or not); otherwise one is created */
  server?: net.Server;
  /** passed to server.listen(): {port, host}, {path}, {fd}... omit when `server` already listens */
  listen?: net.ListenOptions;
  options?: Partial<ListenerOptions>;
}

export interface TransportOptions {
  listeners: ListenerSpec[];
  /** one call per request head; answer through the exchange */
  onRequest(exchange: Exchange): void;
  /** a request the transport answered (or dropped) itself: bad input, header timeout... for the logs */
  onClientError?(info: ClientErrorInfo): void;
  /** onRequest threw; the transport answers 500 (or closes when headers were sent) */
  onInternalError?(err: unknown, exchange: Exchange): void;
  /** connection serial numbers (nginx's "*N"); default: a per-thread counter from 1 */
  connectionId?(): number;
}

/** too_large → 413; timeout → client_body_timeout (connection closed, nothing sent, log 408);
 *  aborted → the client went away; invalid → malformed chunked body (the transport answered 400). */
export type BodyError = 'too_large' | 'timeout' | 'aborted' | 'invalid';

export interface ResponseFraming {
  /** body length: sent as Content-Length (omitted for 204) */
  contentLength?: number;
  /** chunked_transfer_encoding (default true): without a length, HTTP/1.1 gets chunked, else close */
  chunked?: boolean;
  /** close the connection after this response (Connection: close) */
  close?: boolean;
  /** index in `headers` (even) where Content-Length goes; default: after all headers */
  lengthAt?: number;
  /** index in `headers` (even) for Transfer-Encoding/Connection/Keep-Alive; default: after all */
  connectionAt?: number;
}

export interface ConnectionInfo {
  readonly remoteAddress: string; // "127.0.0.1" (IPv4-mapped IPv6 unwrapped), "unix:" for unix sockets
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** connection serial number (nginx's `*N` in log lines, $connection) */
  readonly connectionId: number;
}

export interface Exchange extends ConnectionInfo {
  /** the parsed request head; head.rawHeader has the exact bytes (ngx.req.raw_header) */
  readonly head: RequestHead;
  /** 1-based number of this request on its connection ($connection_requests) */
  readonly connectionRequests: number;
  /** Date.now() when the request's first byte arrived ($request_time origin) */
  readonly startTime: number;
  /** the client socket, read-only use (for ngx.req.socket later: see detach) */
  readonly socket: net.Socket;
  /** head + body bytes received so far ($request_length) */
  readonly requestLength: number;
  /** Read the whole body (maxSize 0 = unlimited). cb may run synchronously. Errors: 'too_large'
   *  (→ 413), 'timeout' (client_body_timeout: the transport closes the connection, nginx logs 408 and
   *  sends nothing), 'aborted' (client went away). Reading twice returns the same chunks. */
  readBody(maxSize: number, cb: (err: BodyError | null, chunks: Buffer[] | null) => void): void;
  /** Drop the body (it is dropped anyway once the response ends). */
  discardBody(cb?: (err: BodyError | null) => void): void;
  /** Body chunks as they arrive (chunk buffers are not copied: do not modify them), then onEnd. */
  streamBody(onChunk: (chunk: Buffer) => void, onEnd: (err: BodyError | null) => void, maxSize?: number): void;
  /** Status line + headers (flat name, value list, sent as given) + the framing headers. Strings
   *  are byte strings (latin1). Nothing is sent until there is body, a flush or the end. */
  writeHead(status: number, reason: string | null, headers: string[], framing?: ResponseFraming): void;
  /** Body bytes (chunk-encoded when chunked; ignored for HEAD/204/304). Strings are latin1. */
  write(data: Uint8Array | string): void;
  /** Finish the response; the connection goes on with the next request or closes. */
  end(data?: Uint8Array | string): void;
  /** Send what is pending now; cb once the socket has taken all of it (ngx.flush(true)). */
  flush(cb?: (err: Error | null) => void): void;
  readonly headersSent: boolean;
  readonly finished: boolean;
  /** the client closed (or half-closed) the connection before the response ended */
  readonly aborted: boolean;
  readonly status: number;
  /** response bytes including headers ($bytes_sent) and body only ($body_bytes_sent) */
  readonly bytesSent: number;
  readonly bodyBytesSent: number;
  /** client disconnect (FIN or reset) before the end of the response */
  onAbort(cb: () => void): void;
  /** hard close of the connection */
  close(): void;
  /** Take the socket over (101 responses, ngx.req.socket(true)): the transport forgets it and returns
   *  the bytes it had received but not parsed. */
  detach(): { socket: net.Socket; buffered: Buffer | null };
}

export interface ClientErrorInfo extends ConnectionInfo {
  /** 400, 405, 408, 414, 494 (sent as 400), 501, 505 */
  status: number;
  /** false when the connection was closed without a response (timeouts, EOF) */
  responded: boolean;
  /** llhttp errno name (HPE_INVALID_METHOD...), HPE_HEADER_OVERFLOW, or 'timeout', 'eof', 'host'... */
  code: string;
  /** error log text, close to nginx's ("client sent invalid method", "client timed out"...) */
  reason: string;
  /** offset of the bad byte in the request head, -1 when unknown */
  pos: number;
  /** the request line as received (possibly partial), for $request */
  requestLine: string;
  /** the parsed head when the error was found after it */
  head: RequestHead | null;
  bytesSent: number;
  requests: number;
}

export interface Transport {
  /** resolves when every listener listens */
  readonly ready: Promise<void>;
  addresses(): (net.AddressInfo | string | null)[];
  readonly connectionCount: number;
  /** Stop accepting; idle connections close now, busy ones after their response (Connection: close);
   *  those still open after forceAfterMs (nginx's worker_shutdown_timeout) are closed hard. */
  close(forceAfterMs?: number): Promise<void>;
}

let connectionCounter = 0;

export function createTransport(opts: TransportOptions): Transport {
  return new TransportImpl(opts);
}

interface Listener {
  server: net.Server;
  opts: ListenerOptions;
  limits: ParserLimits;
}

class TransportImpl implements Transport {
  readonly ready: Promise<void>;
  readonly conns = new Set<Connection>();
  exiting = false;
  private listeners: Listener[] = [];
  private sweep: NodeJS.Timeout | null = null;
  private closeWaiters: (() => void)[] = [];

  constructor(readonly opts: TransportOptions) {
    let tick = 1000;
    const started: Promise<void>[] = [];
    for (const spec of opts.listeners) {
      const o: ListenerOptions = { ...DEFAULT_LISTENER_OPTIONS, ...spec.options };
      const size = o.largeHeaderBufferSize;
      const l: Listener = {
        server: spec.server ?? net.createServer({ allowHalfOpen: true }),
        opts: o,
        limits: { maxRequestLine: size, maxHeaderLine: size, maxHeaderTotal: size * o.largeHeaderBuffers },
      };
      tick = Math.min(tick, sweepTick(o));
      l.server.on('connection', (s: net.Socket) => this.accept(l, s));
      this.listeners.push(l);
      started.push(startListening(l.server, spec.listen));
    }
    this.ready = Promise.all(started).then(() => undefined);
    this.ready.catch(() => undefined);
    this.sweep = setInterval(() => this.checkTimers(), tick);
    this.sweep.unref();
  }

  get connectionCount(): number {
    return this.conns.size;
  }

  addresses(): (net.AddressInfo | string | null)[] {
    return this.listeners.map((l) => l.server.address());
  }

  close(forceAfterMs?: number): Promise<void> {
    this.exiting = true;
    for (const l of this.listeners) if (l.server.listening) l.server.close();
    for (const c of this.conns) c.closeIfIdle();
    const force = forceAfterMs === undefined ? null : setTimeout(() => {
      for (const c of this.conns) c.destroy();
    }, forceAfterMs);
    return new Promise((resolve) => {
      this.closeWaiters.push(() => {
        if (force) clearTimeout(force);
        resolve();
      });
      this.maybeClosed();
    });
  }

  forget(c: Connection): void {
    this.conns.delete(c);
    if (this.exiting) this.maybeClosed();
  }

  private maybeClosed(): void {
    if (this.conns.size !== 0) return;
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    const w = this.closeWaiters;
    this.closeWaiters = [];
    for (const r of w) r();
  }

  private accept(l: Listener, socket: net.Socket): void {
    if (this.exiting) {
      socket.destroy();
      return;
    }
    const id = this.opts.connectionId ? this.opts.connectionId() : ++connectionCounter;
    this.conns.add(new Connection(this, l, socket, id));
  }

  private checkTimers(): void {
    const now = Date.now();
    for (const c of this.conns) c.checkTimers(now);
  }
}

/** Timer sweep period: a fraction of the smallest timeout, between 5 ms and 1 s. */
function sweepTick(o: ListenerOptions): number {
  const t = Math.min(o.clientHeaderTimeout, o.clientBodyTimeout, o.sendTimeout, o.lingeringTimeout,
    o.keepaliveTimeout > 0 ? o.keepaliveTimeout : Infinity);
  return Math.max(5, Math.min(1000, Math.floor(t / 4)));
}

function startListening(server: net.Server, listen: net.ListenOptions | undefined): Promise<void> {
  if (server.listening || !listen) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(listen, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

// connection states
const C_IDLE = 0; // waiting for a request, nothing received (keep-alive or fresh)
const C_HEAD = 1; // request head bytes arriving
const C_REQUEST = 2; // head handed to the core, response not finished (or body being dropped)
const C_CLOSING = 3; // response sent, lingering close
const C_GONE = 4;

const INPUT_HIGH_WATER = 256 * 1024;

class Connection implements ExchangeHost {
  readonly opts: ListenerOptions;
  private readonly parser: RequestParser;
  private state = C_IDLE;
  private ex: Http1Exchange | null = null;
  private requests = 0;
  private readonly startTime = Date.now();
  private reqStart = 0;
  private input: Buffer[] = [];
  private inputOff = 0;
  private inputBytes = 0;
  private driving = false;
  private clientEnded = false;
  /** read-side deadline (header, keep-alive, body, discard, lingering), 0 = none */
  private readDeadline: number;
  private lingerEnd = 0;
  private writeDeadline = 0;
  private writePending = 0;
  private waitDrain = false;
  private readonly addr: { ra: string; rp: number; la: string; lp: number };

  constructor(
    private readonly t: TransportImpl,
    private readonly l: Listener,
    readonly socket: net.Socket,
    readonly connectionId: number,
  ) {
    this.opts = l.opts;
    const unix = typeof l.server.address() === 'string';
    this.addr = {
      ra: unix ? 'unix:' : unmap(socket.remoteAddress ?? ''),
      rp: socket.remotePort ?? 0,
      la: unix ? 'unix:' : unmap(socket.localAddress ?? ''),
      lp: socket.localPort ?? 0,
    };
    this.parser = new RequestParser(l.limits, (chunk) => this.ex?.sinkBody(chunk));
    // nginx keeps answering after a client half-close (shutdown(SHUT_WR))
    socket.allowHalfOpen = true;
    socket.setNoDelay(true);
    // the first request gets client_header_timeout from accept (nginx's post_accept_timeout)
    this.readDeadline = this.startTime + this.opts.clientHeaderTimeout;
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('end', () => this.onEnd());
    socket.on('close', () => this.onClose());
    socket.on('error', noop); // 'close' follows
    socket.on('drain', () => this.onDrain());
  }

  // ---- ConnectionInfo: read at accept, the log phase may run after the socket is gone ----
  get remoteAddress(): string { return this.addr.ra; }
  get remotePort(): number { return this.addr.rp; }
  get localAddress(): string { return this.addr.la; }
  get localPort(): number { return this.addr.lp; }

  // ---- input ----

  private onData(chunk: Buffer): void {
    const now = Date.now();
    switch (this.state) {
      case C_IDLE:
        this.state = C_HEAD;
        this.reqStart = now;
        this.readDeadline = now + this.opts.clientHeaderTimeout;
        break;
      case C_CLOSING: // lingering: read and drop
        this.readDeadline = Math.min(now + this.opts.lingeringTimeout, this.lingerEnd);
        return;
      case C_REQUEST:
        if (this.ex && this.ex.wantsBody()) this.refreshBodyDeadline(now);
        break;
      case C_GONE:
        return;
    }
    this.input.push(chunk);
    this.inputBytes += chunk.length;
    if (this.inputBytes > INPUT_HIGH_WATER && !this.canParse()) this.socket.pause();
    this.drive();
  }

  private refreshBodyDeadline(now: number): void {
    if (this.ex!.finished) this.readDeadline = Math.min(now + this.opts.lingeringTimeout, this.lingerEnd);
    else this.readDeadline = now + this.opts.clientBodyTimeout;
  }

  private canParse(): boolean {
    const s = this.state;
    // a client that pipelines without reading the answers: wait for them to drain (as nginx,
    // which does not read the next request while it cannot write)
    if (s === C_IDLE || s === C_HEAD) return !this.waitDrain;
    return s === C_REQUEST && this.ex !== null && this.ex.wantsBody();
  }

  /** Parse queued input while the state allows it. Never re-entered: callbacks only change state. */
  private drive(): void {
    if (this.driving) return;
    this.driving = true;
    try {
      while (this.input.length !== 0 && this.canParse()) {
        if (!this.step()) break;
      }
      if (this.input.length === 0 && this.state === C_IDLE && this.clientEnded) this.destroy();
      else if (this.socket.isPaused() && this.inputBytes <= INPUT_HIGH_WATER && this.state !== C_GONE) this.socket.resume();
    } finally {
      this.driving = false;
    }
  }

  /** One parser run over the first queued buffer; false to stop driving. */
  private step(): boolean {
    const buf = this.input[0];
    const start = this.inputOff;
    if (this.state === C_IDLE) {
      this.state = C_HEAD;
      this.reqStart = Date.now();
      this.readDeadline = this.reqStart + this.opts.clientHeaderTimeout;
    }
    const p = this.parser;
    const r = p.execute(buf, start);
    if (r === FAILED) {
      this.parseFailed(buf);
      return false;
    }
    const pos = r === NEED_MORE ? buf.length : p.consumed;
    this.inputBytes -= pos - start;
    if (pos >= buf.length) {
      this.input.shift();
      this.inputOff = 0;
    } else this.inputOff = pos;
    if (r === HEAD || r === HEAD_DONE) this.dispatch(p.head!, r === HEAD_DONE);
    else if (this.state === C_REQUEST && this.ex) this.bodyProgress(r !== NEED_MORE);
    return true;
  }

  private bodyProgress(done: boolean): void {
    const ex = this.ex!;
    ex.afterBodyParse(done);
    if (done) {
      this.readDeadline = 0;
      if (ex.finished) this.nextRequest();
    } else if (!ex.wantsBody() && ex.finished) this.closeAfterResponse(true);
  }

  // ---- requests ----

  private dispatch(head: RequestHead, messageDone: boolean): void {
    this.state = C_REQUEST;
    this.readDeadline = 0;
    this.requests++;
    const ex = new Http1Exchange(head, this, this.requests, this.reqStart, messageDone);
    this.ex = ex;
    const bad = checkHead(head, ex);
    if (bad) {
      this.reject(bad[0], bad[1], bad[2], head, -1, head.rawHeader);
      return;
    }
    try {
      this.t.opts.onRequest(ex);
    } catch (err) {
      this.internalError(err, ex);
    }
  }

  private internalError(err: unknown, ex: Http1Exchange): void {
    if (this.t.opts.onInternalError) this.t.opts.onInternalError(err, ex);
    else console.error('tsresty transport: onRequest threw', err);
    if (ex.finished || this.state === C_GONE) return;
    if (ex.headersSent) return this.destroy();
    ex.forceClose = true;
    const body = errorPageHtml(500, this.opts.serverTokens);
    ex.writeHead(500, null, this.errorHeaders(), { contentLength: body.length, close: true });
    ex.end(body);
  }

  keepAliveAllowed(): boolean {
    const o = this.opts;
    return o.keepaliveTimeout > 0 && !this.t.exiting && !this.clientEnded && this.requests < o.keepaliveRequests &&
      Date.now() - this.startTime < o.keepaliveTime;
  }

  wantBody(ex: Http1Exchange): void {
    if (ex !== this.ex || this.state !== C_REQUEST) return;
    if (this.clientEnded && this.input.length === 0) {
      ex.bodyFailed('aborted');
      return;
    }
    this.refreshBodyDeadline(Date.now());
    this.drive();
  }

  responseDone(ex: Http1Exchange): void {
    if (ex !== this.ex || this.state !== C_REQUEST) return;
    if (!ex.keepAlive) return this.closeAfterResponse(!ex.messageDone || this.input.length !== 0);
    if (ex.messageDone) return this.nextRequest();
    // keep-alive with the body not (fully) read: drop it, then go on (nginx's discard_request_body,
    // bounded by lingering_timeout per read and lingering_time in all)
    const now = Date.now();
    this.lingerEnd = now + this.opts.lingeringTime;
    if (!ex.wantsBody()) ex.discardBody();
    this.refreshBodyDeadline(now);
    this.drive();
  }

  private nextRequest(): void {
    this.ex = null;
    this.state = C_IDLE;
    this.waitDrain = this.socket.writableNeedDrain;
    this.readDeadline = Date.now() + this.opts.keepaliveTimeout;
    if (this.input.length) this.drive();
    else if (this.clientEnded) this.destroy();
  }

  private onDrain(): void {
    this.writeDeadline = 0;
    if (this.waitDrain) {
      this.waitDrain = false;
      this.drive();
    }
  }

  outputBlocked(): void {
    if (this.writeDeadline === 0) {
      this.writeDeadline = Date.now() + this.opts.sendTimeout;
      this.writePending = this.socket.writableLength;
    }
  }

  // ---- errors answered by the transport ----

  private parseFailed(buf: Buffer): void {
    const p = this.parser;
    const head = p.head;
    const bytes = p.headBytes(buf, Math.min(buf.length, p.errorPos + 1));
    let status = p.limitStatus || 400;
    let reason = p.limitStatus ? p.errorReason : 'client sent invalid request: ' + p.errorReason;
    if (p.errorName === 'HPE_INVALID_METHOD') reason = 'client sent invalid method';
    if (this.state === C_REQUEST && this.ex) {
      // bad chunked body: nginx answers 400 unless a response is already under way
      this.ex.terminated = true;
      this.ex.bodyFailed('invalid');
      if (this.ex.headersSent) return this.destroy();
      status = 400;
    }
    this.reject(status, p.errorName, reason, head && this.state === C_REQUEST ? head : null, p.errorPos, bytes);
  }

  /** Answer with nginx's error page and close (these errors leave keep-alive off in nginx). */
  private reject(status: number, code: string, reason: string, head: RequestHead | null, pos: number, raw: Buffer): void {
    const body = errorPageHtml(status, this.opts.serverTokens);
    const headOnly = head !== null && head.method === 'HEAD';
    const s = statusLine(status) + this.errorHeaders().map((v, i, a) => (i & 1 ? '' : v + ': ' + a[i + 1] + '\r\n')).join('') +
      'Content-Length: ' + body.length + '\r\nConnection: close\r\n\r\n' + (headOnly ? '' : body);
    this.state = C_REQUEST; // no more parsing
    if (!this.socket.destroyed) this.socket.write(s, 'latin1');
    this.report(status, true, code, reason, pos, raw, head, s.length);
    this.closeAfterResponse(true);
  }

  private errorHeaders(): string[] {
    return ['Server', this.opts.serverTokens, 'Date', httpDate(), 'Content-Type', 'text/html'];
  }

  private report(status: number, responded: boolean, code: string, reason: string, pos: number, raw: Buffer,
    head: RequestHead | null, bytesSent: number): void {
    const cb = this.t.opts.onClientError;
    if (!cb) return;
    const info: ClientErrorInfo = {
      status, responded, code, reason, pos, head, bytesSent,
      requestLine: firstLine(raw, this.opts.largeHeaderBufferSize),
      requests: this.requests,
      connectionId: this.connectionId,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      localAddress: this.localAddress,
      localPort: this.localPort,
    };
    try {
      cb(info);
    } catch (err) {
      console.error('tsresty transport: onClientError threw', err);
    }
  }

  // ---- timers (checked by the transport's sweep) ----

  checkTimers(now: number): void {
    if (this.writeDeadline !== 0 && now >= this.writeDeadline) this.writeTimedOut(now);
    if (this.readDeadline !== 0 && now >= this.readDeadline) this.readTimedOut();
  }

  private writeTimedOut(now: number): void {
    const left = this.socket.writableLength;
    if (left === 0) this.writeDeadline = 0;
    else if (left < this.writePending) {
      // progress since the timer was set: send_timeout is between two successive writes
      this.writePending = left;
      this.writeDeadline = now + this.opts.sendTimeout;
    } else this.destroy(); // nginx: "client timed out" while sending, connection closed
  }

  private readTimedOut(): void {
    this.readDeadline = 0;
    const ex = this.ex;
    switch (this.state) {
      case C_HEAD: {
        // nginx closes without a response and logs 408 (ngx_http_close_request(r, 408))
        const bytes = this.input.length ? Buffer.concat(this.input).subarray(this.inputOff) : Buffer.alloc(0);
        this.report(408, false, 'timeout', 'client timed out', -1, this.parser.headBytes(bytes, bytes.length), null, 0);
        return this.destroy();
      }
      case C_REQUEST:
        if (ex && ex.wantsBody() && !ex.finished) {
          // client_body_timeout: nginx terminates the request (408 in the log, nothing sent)
          ex.terminated = true;
          ex.bodyFailed('timeout');
        }
        return this.destroy();
      default: // keep-alive idle, fresh connection, lingering close
        return this.destroy();
    }
  }

  // ---- closing ----

  /** After the last response: half-close, then linger reading (and dropping) what the client still
   *  sends so that it gets our response rather than a reset (nginx's lingering_close). */
  private closeAfterResponse(unread: boolean): void {
    if (this.state === C_GONE || this.state === C_CLOSING) return;
    this.state = C_CLOSING;
    this.input = [];
    this.inputBytes = 0;
    this.ex = null;
    const o = this.opts;
    const linger = o.lingeringClose === 'always' || (o.lingeringClose === 'on' && unread);
    const s = this.socket;
    if (s.isPaused()) s.resume();
    if (!linger || this.clientEnded) {
      s.end(() => this.destroy());
      this.readDeadline = Date.now() + o.lingeringTimeout; // in case the close never completes
      return;
    }
    const now = Date.now();
    this.lingerEnd = now + o.lingeringTime;
    this.readDeadline = now + o.lingeringTimeout;
    s.end();
  }

  closeIfIdle(): void {
    if (this.state === C_IDLE) this.destroy();
  }

  private onEnd(): void {
    this.clientEnded = true;
    switch (this.state) {
      case C_IDLE:
        if (this.input.length === 0) this.destroy();
        return;
      case C_HEAD: {
        // nginx: "client prematurely closed connection" while reading the head, 400 in the log
        const bytes = this.input.length ? Buffer.concat(this.input).subarray(this.inputOff) : Buffer.alloc(0);
        this.report(400, false, 'eof', 'client prematurely closed connection', -1,
          this.parser.headBytes(bytes, bytes.length), null, 0);
        return this.destroy();
      }
      case C_REQUEST:
        if (this.ex && !this.ex.finished) {
          if (this.input.length === 0) this.ex.bodyFailed('aborted');
          this.ex.abort();
        } else if (this.input.length === 0) this.destroy(); // was dropping the body
        return;
      case C_CLOSING:
        return this.destroy();
    }
  }

  private onClose(): void {
    const wasGone = this.state === C_GONE;
    this.state = C_GONE;
    this.readDeadline = this.writeDeadline = 0;
    const ex = this.ex;
    this.ex = null;
    if (ex && !ex.finished) ex.abort();
    if (!wasGone) this.release();
  }

  private release(): void {
    this.parser.destroy();
    this.input = [];
    this.t.forget(this);
  }

  destroy(): void {
    if (this.state !== C_GONE) {
      this.state = C_GONE;
      this.readDeadline = this.writeDeadline = 0;
      const ex = this.ex;
      this.ex = null;
      if (ex && !ex.finished) ex.abort();
      this.release();
    }
    this.socket.destroy();
  }

  detach(): { socket: net.Socket; buffered: Buffer | null } {
    const s = this.socket;
    const buffered = this.input.length ? Buffer.concat(this.input).subarray(this.inputOff) : null;
    this.state = C_GONE;
    this.readDeadline = this.writeDeadline = 0;
    this.ex = null;
    s.removeAllListeners('data');
    s.removeAllListeners('end');
    s.removeAllListeners('close');
    s.removeAllListeners('drain');
    this.release();
    return { socket: s, buffered };
  }
}

/**
 * nginx's checks on a complete head (ngx_http_process_request_header and friends):
 * [status, code, reason] when the request must be refused.
 */
function checkHead(h: RequestHead, ex: Http1Exchange): [number, string, string] | null {
  if (h.httpMajor !== 1) {
    return h.httpMajor > 1 ? [505, 'version', 'client sent invalid request'] : [400, 'version', 'client sent invalid request'];
  }
  let host = -1;
  let te = -1;
  const hs = h.headers;
  for (let i = 0; i < hs.length; i += 2) {
    const n = hs[i];
    switch (n.length) {
      case 4:
        if (!lowerEq(n, 'host')) break;
        if (host >= 0) return [400, 'host', 'client sent duplicate host header'];
        host = i + 1;
        if (!validHost(hs[i + 1])) return [400, 'host', 'client sent invalid host header'];
        break;
      case 6:
        if (lowerEq(n, 'expect') && lowerEq(hs[i + 1], '100-continue')) ex.expectContinue = true;
        break;
      case 17:
        if (!lowerEq(n, 'transfer-encoding')) break;
        if (te >= 0) return [400, 'duplicate', 'client sent duplicate header line: "' + n + ': ' + hs[i + 1] + '"'];
        te = i + 1;
        break;
    }
  }
  if (host < 0 && h.httpMinor >= 1) return [400, 'host', 'client sent HTTP/1.1 request without "Host" header'];
  if (te >= 0) {
    if (h.httpMinor < 1) return [400, 'te', 'client sent HTTP/1.0 request with "Transfer-Encoding" header'];
    if (!lowerEq(hs[te], 'chunked')) return [501, 'te', 'client sent unknown "Transfer-Encoding": "' + hs[te] + '"'];
  }
  if (h.method === 'CONNECT') return [405, 'method', 'client sent CONNECT method'];
  if (h.method === 'TRACE') return [405, 'method', 'client sent TRACE method'];
  return null;
}

/** ASCII case-insensitive equality with a lower-case constant, without allocating. */
function lowerEq(s: string, lc: string): boolean {
  if (s.length !== lc.length) return false;
  for (let i = 0; i < s.length; i++) if ((s.charCodeAt(i) | 0x20) !== lc.charCodeAt(i)) return false;
  return true;
}

/** ngx_http_validate_host: no "..", no '/', no controls or spaces, not empty. */
function validHost(h: string): boolean {
  let dot = -2;
  let len = h.length;
  let state = 0; // 0 usual, 1 IPv6 literal, 2 after the host (port)
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (c === 0x2e) {
      if (dot === i - 1) return false;
      dot = i;
    } else if (c === 0x3a) {
      if (state === 0) {
        len = i;
        state = 2;
      }
    } else if (c === 0x5b) {
      if (i === 0) state = 1;
    } else if (c === 0x5d) {
      if (state === 1) {
        len = i + 1;
        state = 2;
      }
    } else if (c === 0x2f || c <= 0x20 || c === 0x7f) return false;
  }
  if (dot === len - 1) len--;
  return len > 0;
}

function unmap(a: string): string {
  return a.startsWith('::ffff:') && a.indexOf('.') > 0 ? a.slice(7) : a;
}

function firstLine(raw: Buffer, max: number): string {
  let i = 0;
  while (i < raw.length && (raw[i] === 13 || raw[i] === 10)) i++;
  let end = raw.indexOf(10, i);
  if (end < 0) end = raw.length;
  if (end > i && raw[end - 1] === 13) end--;
  return raw.toString('latin1', i, Math.min(end, i + max));
}

let dateSec = -1;
let dateStr = '';

/** The Date header value, cached per second. */
export function httpDate(now = Date.now()): string {
  const sec = Math.floor(now / 1000);
  if (sec !== dateSec) {
    dateSec = sec;
    dateStr = new Date(sec * 1000).toUTCString();
  }
  return dateStr;
}

function noop(): void {}
