// One request/response on an HTTP/1.x connection: lazy request body reading and the response
// writer (framing, chunked encoding, output coalescing). See `Exchange` in ../transport.ts.
import type * as net from 'node:net';
import type { RequestHead } from '../parser.js';
import type { BodyError, Exchange, ListenerOptions, ResponseFraming } from '../transport.js';
import { statusLine } from './errors.js';
import { needsDrain, unsentBytes, writeBytes, writeLatin1 } from './direct-write.js';

interface FastBuffer extends Buffer {
  latin1Write(s: string, offset: number, length?: number): number;
}

/** What an exchange needs from its connection (implemented by Connection in ../transport.ts). */
export interface ExchangeHost {
  readonly socket: net.Socket;
  readonly opts: ListenerOptions;
  readonly connectionId: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** listener/transport allow another request on this connection */
  keepAliveAllowed(): boolean;
  /** the body is wanted (read, stream or discard): parse it */
  wantBody(ex: Http1Exchange): void;
  responseDone(ex: Http1Exchange): void;
  /** socket.write returned false: start send_timeout */
  outputBlocked(): void;
  detach(): { socket: net.Socket; buffered: Buffer | null };
  destroy(): void;
}

// body states
const B_UNREAD = 0;
const B_READING = 1; // collecting for readBody
const B_STREAMING = 2;
const B_DISCARDING = 3;
const B_DONE = 4; // complete (chunks kept when read)
const B_FAILED = 5;

const EMPTY = Buffer.alloc(0);
const SMALL_COPY = 64; // pieces up to this size are copied with a loop (cheaper than set() for a few bytes)
const COALESCE_MAX = 16384; // below this, one pending response piece set is copied into one write
const FLUSH_NOW = 65536; // pending body bytes that force a write right away

type BodyCb = (err: BodyError | null, chunks: Buffer[] | null) => void;

/** Request body reading state, created when the body is first wanted. */
class BodyState {
  max = 0;
  len = 0;
  chunks: Buffer[] = [];
  cb: BodyCb | null = null;
  discardCb: ((err: BodyError | null) => void) | null = null;
  chunkCb: ((chunk: Buffer) => void) | null = null;
  endCb: ((err: BodyError | null) => void) | null = null;
  queue: Buffer[] | null = null;
  overflow = false;
  /** body bytes wanted by readBody (-1: all of them) */
  limit = -1;
}

export class Http1Exchange implements Exchange {
  // ---- request ----
  requestLength: number;
  expectContinue = false;
  private continueSent = false;
  private bodyState = B_UNREAD;
  /** the chunks in `b` are the body (false after a discard) */
  private bodyChunksKept = false;
  private bodyError: BodyError | null = null;
  private b: BodyState | null = null;
  /** the whole message (head and body) has been parsed */
  messageDone: boolean;
  // ---- response ----
  headersSent = false;
  finished = false;
  aborted = false;
  status = 0;
  bytesSent = 0;
  bodyBytesSent = 0;
  /** the connection stays open for another request after this response */
  keepAlive = false;
  /** the connection must close after this response (body left unread, error...) */
  forceClose = false;
  /** client_body_timeout of the location reading the body (-1: the listener's) */
  bodyTimeout = -1;
  /** the transport ended the exchange itself (timeout reported through a body callback) */
  terminated = false;
  private headOnly = false;
  private chunked = false;
  private outHead: string | null = null;
  // pending body pieces: the first one apart (most responses have one), the others in outMore
  private out0: Uint8Array | string | null = null;
  private outMore: (Uint8Array | string)[] | null = null;
  private outLen = 0;
  private flushQueued = false;
  private abortCbs: (() => void)[] | null = null;

  constructor(
    readonly head: RequestHead,
    private readonly host: ExchangeHost,
    readonly connectionRequests: number,
    readonly startTime: number,
    messageDone: boolean,
  ) {
    this.messageDone = messageDone;
    this.requestLength = head.headerLength;
    if (messageDone) this.bodyState = B_DONE;
  }

  get socket(): net.Socket { return this.host.socket; }
  get connectionId(): number { return this.host.connectionId; }
  get remoteAddress(): string { return this.host.remoteAddress; }
  get remotePort(): number { return this.host.remotePort; }
  get localAddress(): string { return this.host.localAddress; }
  get localPort(): number { return this.host.localPort; }

  // ---------------------------------------------------------------- request body

  readBody(maxSize: number, cb: BodyCb, limit = -1): void {
    if (this.bodyState === B_DONE) return cb(null, this.b && this.bodyChunksKept ? this.b.chunks : []);
    if (this.bodyState === B_FAILED) return cb(this.bodyError, null);
    if (this.bodyState === B_DISCARDING) return cb(null, []); // nginx: a discarded body reads empty
    if (this.bodyState !== B_UNREAD) throw new Error('request body is already being consumed');
    const cl = this.head.contentLength;
    if (maxSize > 0 && cl > maxSize) {
      // nginx checks Content-Length against client_max_body_size before reading anything
      // ("client intended to send too large body"); 413 turns keep-alive off.
      return this.failBody('too_large', cb);
    }
    this.sendContinue();
    const b = (this.b = new BodyState());
    b.max = maxSize;
    b.cb = cb;
    if (limit >= 0 && cl >= 0 && limit < cl) b.limit = limit; // a chunked body ignores Content-Length
    this.bodyChunksKept = true;
    this.bodyState = B_READING;
    if (b.limit === 0) return this.bodyLimitReached(b);
    this.host.wantBody(this);
  }

  discardBody(cb?: (err: BodyError | null) => void): void {
    if (this.bodyState === B_DONE || this.bodyState === B_FAILED) {
      if (cb) cb(this.bodyState === B_FAILED ? this.bodyError : null);
      return;
    }
    if (this.bodyState !== B_UNREAD) throw new Error('request body is already being consumed');
    if (!this.headersSent) this.sendContinue(); // nginx's discard_request_body tests Expect too
    const b = (this.b = new BodyState());
    b.discardCb = cb ?? null;
    this.bodyState = B_DISCARDING;
    this.host.wantBody(this);
  }

  streamBody(onChunk: (chunk: Buffer) => void, onEnd: (err: BodyError | null) => void, maxSize = 0): void {
    if (this.bodyState === B_DONE) {
      if (this.b && this.bodyChunksKept) for (const c of this.b.chunks) onChunk(c);
      return onEnd(null);
    }
    if (this.bodyState === B_FAILED) return onEnd(this.bodyError);
    if (this.bodyState !== B_UNREAD) throw new Error('request body is already being consumed');
    if (maxSize > 0 && this.head.contentLength > maxSize) return this.failBody('too_large', null, onEnd);
    this.sendContinue();
    const b = (this.b = new BodyState());
    b.max = maxSize;
    b.chunkCb = onChunk;
    b.endCb = onEnd;
    b.queue = [];
    this.bodyState = B_STREAMING;
    this.host.wantBody(this);
  }

  /** @internal the connection parses body bytes only while this is true */
  wantsBody(): boolean {
    const s = this.bodyState;
    return s === B_READING || s === B_STREAMING || s === B_DISCARDING;
  }

  /** @internal body bytes from the parser (called inside llhttp: only store, never call out) */
  sinkBody(chunk: Buffer): void {
    this.requestLength += chunk.length;
    const b = this.b;
    if (b === null || b.overflow) return;
    b.len += chunk.length;
    if (b.max > 0 && b.len > b.max) {
      b.overflow = true; // chunked body over client_max_body_size
      return;
    }
    if (this.bodyState === B_READING) {
      if (b.limit >= 0) {
        const kept = b.len - chunk.length;
        if (kept >= b.limit) return;
        if (b.len > b.limit) chunk = chunk.subarray(0, b.limit - kept);
      }
      b.chunks.push(chunk);
    } else if (this.bodyState === B_STREAMING) b.queue!.push(chunk);
  }

  /** The lowered Content-Length is read: answer readBody, drop the rest, close afterwards. */
  private bodyLimitReached(b: BodyState): void {
    this.forceClose = true;
    const cb = b.cb;
    b.cb = null;
    b.limit = -1;
    this.bodyState = B_DISCARDING;
    if (cb) cb(null, b.chunks);
    this.host.wantBody(this);
  }

  /** @internal after each parser run over body bytes; `done` when the message is complete */
  afterBodyParse(done: boolean): void {
    const b = this.b!;
    if (b.overflow && (this.bodyState === B_READING || this.bodyState === B_STREAMING)) {
      // nginx: "client intended to send too large chunked body" → 413, connection closes after
      this.failBody('too_large', b.cb, b.endCb);
      return;
    }
    if (this.bodyState === B_STREAMING) this.deliverStream(b);
    if (b.limit >= 0 && b.len >= b.limit && this.bodyState === B_READING) {
      if (!done) return this.bodyLimitReached(b);
      // the client's message boundary is not the handler's: no keep-alive after this one
      this.forceClose = true;
      b.limit = -1;
    }
    if (!done) return;
    this.messageDone = true;
    const state = this.bodyState;
    this.bodyState = B_DONE;
    const cb = b.cb;
    const end = b.endCb ?? b.discardCb;
    b.cb = b.chunkCb = b.endCb = b.discardCb = null;
    if (state === B_DISCARDING) this.bodyChunksKept = false;
    if (cb) cb(null, b.chunks);
    if (end) end(null);
  }

  /** @internal client_body_timeout fired or the client went away while the body was wanted */
  bodyFailed(err: BodyError): void {
    if (!this.wantsBody()) return;
    const b = this.b!;
    this.failBody(err, b.cb, b.endCb ?? b.discardCb);
  }

  private deliverStream(b: BodyState): void {
    const q = b.queue!;
    if (q.length === 0) return;
    b.queue = [];
    for (const c of q) b.chunkCb!(c);
  }

  private failBody(err: BodyError, cb: BodyCb | null, end?: ((err: BodyError | null) => void) | null): void {
    this.bodyState = B_FAILED;
    this.bodyError = err;
    const b = this.b;
    if (b) {
      b.chunks = [];
      b.cb = b.chunkCb = b.endCb = b.discardCb = null;
    }
    this.forceClose = true; // the rest of the body is never parsed
    if (cb) cb(err, null);
    if (end) end(err);
  }

  /** nginx's ngx_http_test_expect: "HTTP/1.1 100 Continue" once, when the body is first wanted. */
  private sendContinue(): void {
    if (!this.expectContinue || this.continueSent || this.head.httpMinor < 1) return;
    this.continueSent = true;
    const s = this.host.socket;
    if (!s.destroyed) s.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
  }

  /** A client with "Expect: 100-continue" may never send the body we did not ask for. */
  bodyNeverAsked(): boolean {
    return this.expectContinue && !this.continueSent && !this.messageDone;
  }

  // ---------------------------------------------------------------- response

  writeHead(status: number, reason: string | null, headers: string[], framing: ResponseFraming = {}): void {
    if (this.headersSent) throw new Error('response headers already sent');
    this.headersSent = true;
    this.status = status;
    const h = this.head;
    // nginx: HEAD, 204 and 304 never carry a body (header_only); nor do 1xx
    this.headOnly = (framing.headOnly ?? h.method === 'HEAD') || status === 204 || status === 304 || status < 200;
    let keep = h.keepAlive && !framing.close && !this.forceClose && this.host.keepAliveAllowed() &&
      !this.bodyNeverAsked();
    let length = framing.contentLength ?? -1;
    if (status === 204) length = -1; // nginx clears Content-Length on 204
    if (length < 0 && !this.headOnly) {
      // ngx_http_chunked_filter: chunked for HTTP/1.1 unless disabled, else the close delimits
      if (h.httpMinor >= 1 && framing.chunked !== false) this.chunked = true;
      else keep = false;
    }
    this.keepAlive = keep;
    this.outHead = this.buildHead(status, reason, headers, framing, length, keep);
  }

  private buildHead(status: number, reason: string | null, headers: string[], framing: ResponseFraming,
    length: number, keep: boolean): string {
    let s = statusLine(status, reason);
    const n = headers.length & ~1;
    const lengthAt = Math.min((framing.lengthAt ?? n) & ~1, n);
    const connAt = Math.min((framing.connectionAt ?? n) & ~1, n);
    for (let i = 0; i <= n; i += 2) {
      if (i === lengthAt && length >= 0) s += 'Content-Length: ' + length + '\r\n';
      if (i === connAt) s += this.framingLines(status, keep);
      if (i < n) s += headers[i] + ': ' + headers[i + 1] + '\r\n';
    }
    return s + '\r\n';
  }

  /** ngx_http_header_filter: Transfer-Encoding, then Connection (+ Keep-Alive: timeout=N). */
  private framingLines(status: number, keep: boolean): string {
    let s = this.chunked ? 'Transfer-Encoding: chunked\r\n' : '';
    if (status === 101) return s + 'Connection: upgrade\r\n';
    if (!keep) return s + 'Connection: close\r\n';
    s += 'Connection: keep-alive\r\n';
    const kh = this.host.opts.keepaliveHeader;
    return kh > 0 ? s + 'Keep-Alive: timeout=' + kh + '\r\n' : s;
  }

  write(data: Uint8Array | string): void {
    if (!this.headersSent) throw new Error('write() before writeHead()');
    if (this.finished || this.headOnly || data.length === 0) return;
    if (this.out0 === null) this.out0 = data;
    else (this.outMore ??= []).push(data);
    this.outLen += data.length;
    this.bodyBytesSent += data.length;
    if (this.outLen >= FLUSH_NOW) this.flushOut(false);
    else if (this.outLen >= this.host.opts.postponeOutput && !this.flushQueued) {
      // nginx holds output under postpone_output (1460) until more comes, a flush or the end
      this.flushQueued = true;
      process.nextTick(flushTick, this);
    }
  }

  end(data?: Uint8Array | string): void {
    if (this.finished) return;
    if (!this.headersSent) throw new Error('end() before writeHead()');
    if (data !== undefined) this.write(data);
    this.finished = true;
    this.flushOut(true);
    this.host.responseDone(this);
  }

  flush(cb?: (err: Error | null) => void): void {
    if (this.outHead !== null || this.outLen > 0) this.flushOut(false);
    if (!cb) return;
    const s = this.host.socket;
    if (s.destroyed || !s.writable) process.nextTick(cb, new Error('socket closed'));
    else if (unsentBytes(s) === 0) process.nextTick(cb, null);
    else s.write(EMPTY, (err) => cb(err ?? null)); // called once everything before it is written
  }

  /** @internal */
  flushQueuedOutput(): void {
    this.flushQueued = false;
    if (!this.finished && this.outLen > 0) this.flushOut(false);
  }

  /** Write the pending header and body pieces with as few socket writes as possible. */
  private flushOut(last: boolean): void {
    let pre = this.outHead ?? '';
    this.outHead = null;
    let post = '';
    const n = this.outLen;
    if (this.chunked) {
      if (n > 0) {
        pre += n.toString(16) + '\r\n';
        post = '\r\n';
      }
      if (last) post += '0\r\n\r\n';
    }
    const first = this.out0;
    const more = this.outMore;
    this.out0 = null;
    this.outMore = null;
    const total = pre.length + n + post.length;
    this.outLen = 0;
    if (total === 0) return;
    this.bytesSent += total;
    const s = this.host.socket;
    if (s.destroyed || !s.writable) return;
    let ok: boolean;
    if (first === null) ok = writeLatin1(s, pre + post);
    else if (total <= COALESCE_MAX) ok = writeBytes(s, concatPieces(pre, first, more, post, total));
    else {
      s.cork();
      if (pre) s.write(pre, 'latin1');
      writePiece(s, first);
      if (more) for (const p of more) writePiece(s, p);
      ok = post ? s.write(post, 'latin1') : true;
      s.uncork();
      ok = ok && !needsDrain(s);
    }
    if (!ok) this.host.outputBlocked();
  }

  onAbort(cb: () => void): void {
    if (this.aborted) {
      process.nextTick(cb);
      return;
    }
    (this.abortCbs ??= []).push(cb);
  }

  /** @internal the client closed the connection (or half-closed it) before the response ended */
  abort(): void {
    if (this.aborted || this.finished || this.terminated) return;
    this.aborted = true;
    this.bodyFailed('aborted');
    const cbs = this.abortCbs;
    this.abortCbs = null;
    if (cbs) for (const cb of cbs) cb();
  }

  close(): void {
    this.terminated = true;
    this.finished = true;
    this.host.destroy();
  }

  detach(): { socket: net.Socket; buffered: Buffer | null } {
    this.flush();
    this.terminated = true;
    this.finished = true;
    return this.host.detach();
  }
}

function flushTick(ex: Http1Exchange): void {
  ex.flushQueuedOutput();
}

function writePiece(s: net.Socket, p: Uint8Array | string): void {
  if (typeof p === 'string') s.write(p, 'latin1');
  else s.write(p);
}

/** Header, body pieces and chunk trailer in one buffer: one socket write. */
function concatPieces(pre: string, first: Uint8Array | string, more: (Uint8Array | string)[] | null, post: string,
  total: number): Buffer {
  const buf = Buffer.allocUnsafe(total) as FastBuffer;
  let off = pre.length ? buf.latin1Write(pre, 0) : 0;
  off = copyPiece(buf, first, off);
  if (more) for (const p of more) off = copyPiece(buf, p, off);
  if (post.length) buf.latin1Write(post, off);
  return buf;
}

function copyPiece(buf: FastBuffer, p: Uint8Array | string, off: number): number {
  if (typeof p === 'string') return off + buf.latin1Write(p, off);
  const n = p.length;
  if (n <= SMALL_COPY) for (let i = 0; i < n; i++) buf[off + i] = p[i];
  else buf.set(p, off);
  return off + n;
}
