// The HTTP/1.x transport: listening sockets, one Connection per client socket, llhttp parsing
// (./parser.ts), nginx's limits and timeouts, response framing. For every request head it calls
// `onRequest(exchange)`; the core answers through the exchange and reads the body when it wants.
import * as net from 'node:net';
import type { RequestHead } from './parser.js';
import { Connection, type Listener } from './transport/connection.js';
import { LiveList } from './transport/live-list.js';

export { RequestHead } from './parser.js';
export { errorPageHtml, errorClosesConnection, statusLine, statusText } from './transport/errors.js';
export { httpDate } from './transport/checks.js';
export { loopNow } from './transport/clock.js';

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
  /** no body goes out (nginx's header_only): the core's method is HEAD, which ngx.req.set_method may
   *  have changed from the request line's; default: the request line's method is HEAD */
  headOnly?: boolean;
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
  /** client_body_timeout for this request's body, set before reading it (-1: the listener's;
   *  checked at the listener's timer granularity) */
  bodyTimeout: number;
  /** the parsed request head; head.rawHeader has the exact bytes (ngx.req.raw_header) */
  readonly head: RequestHead;
  /** 1-based number of this request on its connection ($connection_requests) */
  readonly connectionRequests: number;
  /** ms (Date.now() read once per event-loop turn, see loopNow) when the request's first byte
   *  arrived: the $request_time origin */
  readonly startTime: number;
  /** the client socket, read-only use (for ngx.req.socket later: see detach) */
  readonly socket: net.Socket;
  /** head + body bytes received so far ($request_length) */
  readonly requestLength: number;
  /** Read the whole body (maxSize 0 = unlimited). cb may run synchronously. Errors: 'too_large'
   *  (→ 413), 'timeout' (client_body_timeout: the transport closes the connection, nginx logs 408 and
   *  sends nothing), 'aborted' (client went away), 'invalid' (bad chunked body: the transport
   *  answered 400 and closes). Reading twice returns the same chunks. `limit` >= 0 (a Content-Length
   *  the handler lowered): only that many bytes are the body; the rest is dropped and the
   *  connection closes after the response. */
  readBody(maxSize: number, cb: (err: BodyError | null, chunks: Buffer[] | null) => void, limit?: number): void;
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
  /** offset of the bad byte from the start of the request, -1 when unknown (or in the body) */
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

/** How long a stopping transport keeps idle keep-alive connections open (see closeIfIdle). */
const IDLE_GRACE_MS = 300;

export function createTransport(opts: TransportOptions): Transport {
  return new TransportImpl(opts);
}

class TransportImpl implements Transport {
  readonly ready: Promise<void>;
  private readonly conns = new LiveList<Connection>();
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
    // idle keep-alive connections get a short grace for a request already on the wire (a reload
    // must not reset clients); a forced close (forceAfterMs 0) drops them at once
    for (const c of this.conns.snapshot()) c.closeIfIdle(forceAfterMs === 0 ? 0 : IDLE_GRACE_MS);
    const force = forceAfterMs === undefined ? null : setTimeout(() => {
      for (const c of this.conns.snapshot()) c.destroy();
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
    this.conns.forEach((c) => c.checkTimers(now));
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
