// One client connection: feeds the parser, hands request heads to the core one at a time, applies
// nginx's timeouts and closes the way nginx does (keep-alive, lingering close).
import type * as net from 'node:net';
import { FAILED, HEAD, HEAD_DONE, NEED_MORE, RequestParser, type ParserLimits, type RequestHead } from '../parser.js';
import type { ClientErrorInfo, ListenerOptions, TransportOptions } from '../transport.js';
import { checkHead, firstLine, httpDate, noop, unmap } from './checks.js';
import { loopNow } from './clock.js';
import { readThroughSharedBuffer } from './shared-read.js';
import { errorPageHtml, statusLine } from './errors.js';
import { Http1Exchange, type ExchangeHost } from './exchange.js';
import type { ListMember } from './live-list.js';
import { needsDrain, unsentBytes } from './direct-write.js';

/** What a connection needs from its transport and listener. */
export interface ConnectionOwner {
  readonly opts: TransportOptions;
  readonly exiting: boolean;
  forget(c: Connection): void;
}

export interface Listener {
  server: net.Server;
  opts: ListenerOptions;
  limits: ParserLimits;
}

// connection states
const C_IDLE = 0; // waiting for a request, nothing received (keep-alive or fresh)
const C_HEAD = 1; // request head bytes arriving
const C_REQUEST = 2; // head handed to the core, response not finished (or body being dropped)
const C_CLOSING = 3; // response sent, lingering close
const C_GONE = 4;

const INPUT_HIGH_WATER = 256 * 1024;

export class Connection implements ExchangeHost, ListMember {
  listIndex = -1;
  readonly opts: ListenerOptions;
  private readonly parser: RequestParser;
  private state = C_IDLE;
  private ex: Http1Exchange | null = null;
  private requests = 0;
  private readonly startTime = loopNow();
  private reqStart = 0;
  private input: Buffer[] = [];
  private inputOff = 0;
  private inputBytes = 0;
  private driving = false;
  /** responses to pipelined requests answered inside one parse loop are corked: one writev */
  private corked = false;
  private clientEnded = false;
  /** read-side deadline (header, keep-alive, body, discard, lingering), 0 = none */
  private readDeadline: number;
  private lingerEnd = 0;
  private writeDeadline = 0;
  private writePending = 0;
  private waitDrain = false;
  private readonly addr: { ra: string; rp: number; la: string; lp: number };

  constructor(
    private readonly t: ConnectionOwner,
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
    readThroughSharedBuffer(socket);
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
    const now = loopNow();
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
    else this.readDeadline = now + (this.ex!.bodyTimeout >= 0 ? this.ex!.bodyTimeout : this.opts.clientBodyTimeout);
  }

  private canParse(): boolean {
    const s = this.state;
    // a client that pipelines without reading the answers: wait for them to drain (as nginx,
    // which does not read the next request while it cannot write)
    if (s === C_IDLE || s === C_HEAD) return !this.waitDrain;
    return s === C_REQUEST && this.ex !== null && this.ex.wantsBody();
  }

  /** Parse queued input while the state allows it. Never re-entered: callbacks only change state. */
  drive(): void {
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
      if (this.corked) {
        this.corked = false;
        this.socket.uncork();
      }
    }
  }

  /** One parser run over the first queued buffer; false to stop driving. */
  private step(): boolean {
    const buf = this.input[0];
    const start = this.inputOff;
    if (this.state === C_IDLE) {
      this.state = C_HEAD;
      this.reqStart = loopNow();
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
      this.reqStart - this.startTime < o.keepaliveTime;
  }

  wantBody(ex: Http1Exchange): void {
    if (ex !== this.ex || this.state !== C_REQUEST) return;
    if (this.clientEnded && this.input.length === 0) {
      ex.bodyFailed('aborted');
      return;
    }
    this.refreshBodyDeadline(loopNow());
    // a finished exchange only drops its body, then the next request starts: not inside end()
    if (ex.finished) {
      if (!this.driving) process.nextTick(driveLater, this);
    } else this.drive();
  }

  responseDone(ex: Http1Exchange): void {
    if (ex !== this.ex || this.state !== C_REQUEST) return;
    if (!ex.keepAlive) return this.closeAfterResponse(!ex.messageDone || this.input.length !== 0);
    if (ex.messageDone) return this.nextRequest();
    // keep-alive with the body not (fully) read: drop it, then go on (nginx's discard_request_body,
    // bounded by lingering_timeout per read and lingering_time in all)
    const now = loopNow();
    this.lingerEnd = now + this.opts.lingeringTime;
    if (!ex.wantsBody()) ex.discardBody();
    this.refreshBodyDeadline(now);
    if (!this.driving) process.nextTick(driveLater, this); // not inside end(): see nextRequest
  }

  private nextRequest(): void {
    this.ex = null;
    this.state = C_IDLE;
    this.waitDrain = needsDrain(this.socket);
    this.readDeadline = loopNow() + this.opts.keepaliveTimeout;
    if (this.input.length) {
      // pipelined: inside the parse loop (the handler answered synchronously) the loop goes on,
      // with the answers gathered into one write when the loop ends; otherwise start the next
      // request once the caller of end() has returned, not inside it
      if (!this.driving) process.nextTick(driveLater, this);
      else if (!this.corked) {
        this.corked = true;
        this.socket.cork();
      }
    } else if (this.clientEnded) this.destroy();
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
      this.writeDeadline = loopNow() + this.opts.sendTimeout;
      this.writePending = unsentBytes(this.socket);
    }
  }

  // ---- errors answered by the transport ----

  private parseFailed(buf: Buffer): void {
    const p = this.parser;
    const head = p.head;
    const bytes = this.state === C_REQUEST && head ? head.rawHeader : p.headBytes(buf, buf.length);
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
    this.reject(status, p.errorName, reason, head && this.state === C_REQUEST ? head : null, p.errorOffset, bytes);
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
    const left = unsentBytes(this.socket);
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
      this.readDeadline = loopNow() + o.lingeringTimeout; // in case the close never completes
      return;
    }
    const now = loopNow();
    this.lingerEnd = now + o.lingeringTime;
    this.readDeadline = now + o.lingeringTimeout;
    s.end();
  }

  /** Graceful shutdown: an idle keep-alive connection is closed after `graceMs` unless a request
   *  arrives first (it is answered with "Connection: close"), so a client that sent its next
   *  request just as the server began to stop is answered instead of reset. */
  closeIfIdle(graceMs = 0): void {
    if (this.state !== C_IDLE) return;
    if (graceMs <= 0) {
      this.destroy();
      return;
    }
    setTimeout(() => {
      if (this.state === C_IDLE) this.destroy();
    }, graceMs).unref();
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
      case C_REQUEST: {
        // a local: bodyFailed() may finish the request synchronously and clear this.ex
        const ex = this.ex;
        if (ex && !ex.finished) {
          if (this.input.length === 0) ex.bodyFailed('aborted');
          ex.abort();
        } else if (this.input.length === 0) this.destroy(); // was dropping the body
        return;
      }
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

function driveLater(c: Connection): void {
  c.drive();
}
