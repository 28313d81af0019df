// ngx_http_proxy_module + ngx_http_upstream as a content handler: pick a peer (round robin or
// balancer_by_lua), connect (or reuse a keepalive connection), send the request, parse the
// response head with nginx's rules, then pass the response through the normal output path
// (sendHeader/output, so header and body filters and subrequest capture work), buffered or not.
// Failures follow ngx_http_upstream_next(): retries per proxy_next_upstream, then 502/504 with
// nginx's error log lines.
import type * as net from 'node:net';
import type { ContentHandler } from '../config/model.js';
import type { Request } from './request.js';
import { proxyConf } from './proxy-conf.js';
import {
  FT_ERROR, FT_TIMEOUT, FT_INVALID_HEADER, FT_HTTP_403, FT_HTTP_404, FT_NON_IDEMPOTENT, FT_NOLIVE, IGN_XA_REDIRECT,
  IGN_XA_BUFFERING, IGN_XA_LIMIT_RATE, STATUS_FT, FT_STATUS,
} from './proxy-conf.js';
import { HeadParser, HeadResult, ChunkedDecoder, ResponseHead } from './proxy-parse.js';
import { RoundRobin, takeIdle, putIdle, type PeerGroup } from './proxy-peers.js';
import { resolveTarget, requestUri, requestBody, internalBodyLength, buildHead } from './proxy-request.js';
import { copyHeaders } from './proxy-headers.js';
import { upInfo, newState, separate } from './proxy-vars.js';
import { runBalancer, NGX_ERROR, NGX_BUSY, NGX_DECLINED } from './proxy-balancer.js';
import { ProxyBase, ACT_CONNECT, ACT_SEND, ACT_HEADER, ACT_BODY, ACT_CLIENT } from './proxy-base.js';
import { sendHeader, output, flush, finalize, finishResponse, closeRequest, endRequest } from './output.js';
import { tunnel } from './proxy-tunnel.js';
import { internalRedirect, namedRedirect } from './phases.js';
import { evalComplex } from './complex.js';
import { logError, Level, errorLog } from '../log/errorlog.js';
import { errnoOf } from '../ngx/socket-common.js';
import { resolveNow, resolveLater } from '../ngx/socket-resolve.js';

export const proxyHandler: ContentHandler = {
  kind: 'proxy',
  run(req: Request): void {
    const conf = proxyConf(req.loc.s);
    if (conf.pass === null) {
      finalize(req, 500);
      return;
    }
    new ProxyRun(req, conf, conf.pass).start();
  },
};

const enum Body {
  None,
  Length,
  Chunked,
  Close,
}

const HIGH_WATER = 256 * 1024;

class ProxyRun extends ProxyBase {
  private method = 'GET';
  private head = '';
  private body: Buffer | null = null;
  private headOnly = false;
  private rr!: RoundRobin;
  private startTime = Date.now();
  private usesBalancer = false;
  private cached = false;
  private requests = 0;
  private requestSent = false;
  private parser: HeadParser | null = null;
  private resp: ResponseHead | null = null;
  private bodyMode = Body.None;
  private remaining = 0;
  private chunked: ChunkedDecoder | null = null;
  private keepalive = false;
  private buffering = true;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private paused = false;
  private headerSent = false;

  // ---- start ------------------------------------------------------------------------------------
  start(): void {
    const req = this.req;
    const t = resolveTarget(req, this.pass);
    if (typeof t === 'string') {
      logError(Level.Err, t, req);
      finalize(req, 500);
      return;
    }
    this.target = t;
    this.hostHeader = t.url.hostHeader;
    this.portText = t.url.portText;
    const info = upInfo(req);
    separate(req);
    info.run = this;
    this.method = this.conf.method !== null ? evalComplex(req, this.conf.method) : req.method;
    this.headOnly = this.method === 'HEAD';
    this.uri = requestUri(req, this.pass, t);
    if (!req.bodyRead) {
      req.worker.hooks.readBody(req, (status: number) => {
        if (status === 0 && !req.finalized) this.guard(() => this.withBody());
      });
      return;
    }
    this.withBody();
  }

  private withBody(): void {
    requestBody(this.req, this.conf, (body) => this.guard(() => this.withBodyData(body)));
  }

  private withBodyData(body: Buffer | null): void {
    const req = this.req;
    if (req.finalized) return;
    this.body = body !== null && body.length > 0 ? body : null;
    this.internalBodyLength = internalBodyLength(req, this.conf, body);
    this.head = buildHead(req, this.conf, this.method, this.uri);
    const g = this.target.group;
    this.rr = new RoundRobin(g);
    this.usesBalancer = g.ups !== null && g.ups.balancerLua !== null;
    this.triesLeft = g.tries;
    const max = this.conf.nextUpstreamTries;
    if (max > 0 && this.triesLeft > max) this.triesLeft = max;
    this.startTime = Date.now();
    if (this.x !== null) this.x.onAbort(() => this.guard(() => this.clientAborted()));
    this.connect();
  }

  private clientAborted(): void {
    if (this.done || this.conf.ignoreClientAbort) return;
    this.log(Level.Info, `client prematurely closed connection, so upstream connection is closed too`);
    this.finish(499);
  }

  // ---- peers ------------------------------------------------------------------------------------
  /** ngx_event_connect_peer's peer.get: 0 ok, else NGX_ERROR / NGX_BUSY / NGX_DECLINED. */
  private getPeer(): number {
    const g = this.target.group;
    if (this.usesBalancer) {
      const rc = runBalancer(this, g.ups!.balancerLua!, this.triesLeft);
      if (this.req.finalized) return NGX_ERROR;
      if (rc !== 0) return rc;
      if (this.data.recreate) {
        this.data.recreate = false;
        this.head = buildHead(this.req, this.conf, this.method, this.uri);
      }
      const p = this.data.peer;
      if (p !== null) {
        this.rr.unsingle();
        this.triesLeft += this.data.moreTries;
        const unix = p.host.startsWith('unix:') ? p.host.slice(5) : null;
        this.pick = { peer: null, host: p.host, port: p.port, unix, name: p.name };
        this.logPeer(p.name);
        return 0;
      }
    }
    const peer = this.rr.get();
    if (peer === null) {
      this.pick = null;
      return NGX_BUSY;
    }
    this.pick = { peer, host: peer.host, port: peer.port, unix: peer.unix, name: peer.name };
    this.logPeer(peer.name);
    return 0;
  }

  /** peer.free: the try is over (state 4 = failed, 2 = next, 0 = fine). */
  private freePeer(state: number): void {
    if (this.pick === null) return;
    if (this.pick.peer === null) {
      this.data.lastPeerState = state;
      if (this.triesLeft > 0) this.triesLeft--;
    } else {
      const r = this.rr.free(this.triesLeft, state === 4);
      this.triesLeft = r.tries;
      if (r.disabled) this.log(Level.Warn, 'upstream server temporarily disabled');
    }
  }

  // ---- connect ----------------------------------------------------------------------------------
  private connect(): void {
    const req = this.req;
    if (this.state !== null && this.state.responseTime < 0) this.state.responseTime = Date.now() - this.state.start;
    this.state = newState(req);
    this.action = ACT_CONNECT;
    this.resetAttempt();
    const rc = this.getPeer();
    if (req.finalized || this.done) return;
    if (rc === NGX_ERROR) {
      this.finish(500);
      return;
    }
    if (rc === NGX_BUSY) {
      this.state.addr = this.target.group.name;
      this.logPeer(this.target.group.name);
      this.log(Level.Err, 'no live upstreams');
      this.next(FT_NOLIVE);
      return;
    }
    if (rc === NGX_DECLINED) {
      this.next(FT_ERROR);
      return;
    }
    const pick = this.pick!;
    this.state.addr = pick.name;
    const g = this.target.group;
    if (g.keepalive > 0) {
      const idle = takeIdle(g, pick.name);
      if (idle !== null) {
        this.cached = true;
        this.requests = idle.requests;
        this.attach(idle.sock);
        idle.sock.ref();
        this.state.connectTime = 0;
        this.send();
        return;
      }
    }
    this.cached = false;
    this.requests = 0;
    if (pick.unix !== null) {
      this.open({ path: pick.unix });
      return;
    }
    const addr = resolveNow(pick.host);
    if (addr !== null && isZeroNet(addr)) {
      // 0.0.0.0/8 is no destination (Linux connect() fails with EINVAL, nginx logs it at crit)
      this.log(Level.Crit, `connect() to ${pick.name} failed (22: Invalid argument)`);
      this.next(FT_ERROR);
      return;
    }
    if (addr !== null) {
      this.open({ host: addr, port: pick.port });
      return;
    }
    const attempt = this.state;
    resolveLater(pick.host, (err, a) => this.guard(() => {
      if (this.done || this.state !== attempt) return;
      if (err !== null || a === null) {
        this.log(Level.Err, `${err ?? `${pick.host} could not be resolved`}`);
        this.next(FT_ERROR);
        return;
      }
      this.open({ host: a, port: pick.port });
    }));
  }

  protected timedOut(): void {
    this.timer = null;
    if (this.done) return;
    if (this.resp === null) {
      this.next(FT_TIMEOUT);
      return;
    }
    // after the header: buffered data not yet sent is lost (ngx_http_upstream_process_upstream)
    this.log(Level.Err, `upstream timed out (110: Connection timed out)`);
    if (this.buffering) {
      this.held = [];
      this.heldBytes = 0;
    }
    this.finish(504);
  }

  protected connected(sock: net.Socket): void {
    if (sock !== this.sock || this.done) return;
    sock.setNoDelay(true);
    this.state!.connectTime = Date.now() - this.state!.start;
    this.send();
  }

  // ---- send -------------------------------------------------------------------------------------
  protected send(): void {
    const sock = this.sock!;
    this.action = ACT_SEND;
    this.requestSent = false;
    const head = Buffer.from(this.head, 'latin1');
    const data = this.body !== null ? Buffer.concat([head, this.body]) : head;
    this.state!.bytesSent += data.length;
    if (errorLog.enabled(Level.Debug)) this.log(Level.Debug, `http proxy header:\n"${this.head}"`);
    this.arm(this.data.sendTimeout || this.conf.sendTimeout);
    const attempt = this.state;
    sock.write(data, (err) => this.guard(() => {
      if (err || this.done || this.state !== attempt || this.sock !== sock) return;
      this.requestSent = true;
      if (this.resp === null) {
        this.action = ACT_HEADER;
        this.arm(this.data.readTimeout || this.conf.readTimeout);
      }
    }));
  }

  // ---- receive ----------------------------------------------------------------------------------
  protected onData(sock: net.Socket, d: Buffer): void {
    if (sock !== this.sock || this.done) return;
    this.state!.bytesReceived += d.length;
    if (this.resp !== null) {
      if (this.timer !== null) this.timer.refresh();
      this.feedBody(d, 0);
      return;
    }
    if (this.parser === null) this.parser = new HeadParser(this.conf.bufferSize);
    const r = this.parser.feed(d);
    if (r === HeadResult.Again) {
      if (this.requestSent && this.timer !== null) this.timer.refresh();
      return;
    }
    if (r === HeadResult.TooBig) {
      this.action = ACT_HEADER;
      this.log(Level.Err, `upstream sent too big header`);
      this.next(FT_INVALID_HEADER);
      return;
    }
    if (r === HeadResult.Invalid) {
      this.action = ACT_HEADER;
      this.log(Level.Err, `upstream sent invalid header`);
      this.next(FT_INVALID_HEADER);
      return;
    }
    if (r === HeadResult.NoStatusLine) {
      // HTTP/0.9: everything is body, delimited by the connection close
      this.action = ACT_HEADER;
      this.log(Level.Err, `upstream sent no valid HTTP/1.0 header`);
      const h = new ResponseHead();
      h.status = 200;
      h.statusLine = '200 OK';
      h.reason = 'OK';
      h.connectionClose = true;
      const all = this.parser.received();
      this.processHeader(h, all, 0);
      return;
    }
    this.processHeader(this.parser.head, d, this.parser.bodyStart);
  }

  protected onEnd(sock: net.Socket): void {
    if (sock !== this.sock || this.done) return;
    if (this.resp === null) {
      if (this.cached && !this.requestSent && this.state!.bytesReceived === 0) {
        this.next(FT_ERROR);
        return;
      }
      this.action = ACT_HEADER;
      this.log(Level.Err, `upstream prematurely closed connection`);
      this.next(FT_ERROR);
      return;
    }
    if (this.bodyMode === Body.Close) {
      this.keepalive = false;
      this.complete();
      return;
    }
    this.flushHeld();
    this.log(Level.Err, `upstream prematurely closed connection`);
    this.finish(502);
  }

  protected onError(sock: net.Socket, e: NodeJS.ErrnoException): void {
    if (sock !== this.sock || this.done) return;
    const [no, text] = errnoOf(e);
    if (e.syscall === 'bind') {
      // ngx_event_connect_peer: a failed bind() is NGX_ERROR, the request gets 500
      this.log(Level.Crit, `bind(${this.bindName}) failed (${no}: ${text})`);
      this.finish(500);
      return;
    }
    if (this.action === ACT_CONNECT) {
      if (e.code === 'ECONNREFUSED') this.log(Level.Err, `connect() failed (${no}: ${text})`);
      else {
        const level = e.code === 'ENETUNREACH' || e.code === 'EHOSTUNREACH' || e.code === 'ENETDOWN' || e.code === 'EHOSTDOWN' || e.code === 'ECONNRESET' ? Level.Err : Level.Crit;
        this.log(level, `connect() to ${this.pick ? this.pick.name : ''} failed (${no}: ${text})`);
      }
      this.next(FT_ERROR);
      return;
    }
    if (this.resp === null) {
      const op = this.action === ACT_SEND ? 'writev()' : 'recv()';
      if (this.cached && this.state!.bytesReceived === 0) {
        this.next(FT_ERROR);
        return;
      }
      if (op === 'recv()') this.action = ACT_HEADER;
      this.log(Level.Err, `${op} failed (${no}: ${text})`);
      this.next(FT_ERROR);
      return;
    }
    this.flushHeld();
    this.log(Level.Err, `recv() failed (${no}: ${text})`);
    this.finish(502);
  }

  // ---- the response head ------------------------------------------------------------------------
  private processHeader(h: ResponseHead, chunk: Buffer, bodyStart: number): void {
    const req = this.req;
    const st = this.state!;
    this.resp = h;
    st.headerTime = Date.now() - st.start;
    st.status = h.status;
    upInfo(req).headers = h.headers;
    if (errorLog.enabled(Level.Debug)) this.log(Level.Debug, `http proxy status ${h.status} "${h.statusLine}"`);
    const status = h.status;
    if (status >= 300) {
      const ft = STATUS_FT[status];
      if (ft !== undefined) {
        let mask = ft;
        if (this.requestSent && (req.method === 'POST' || req.method === 'LOCK' || req.method === 'PATCH')) mask |= FT_NON_IDEMPOTENT;
        const to = this.conf.nextUpstreamTimeout;
        if (this.triesLeft > 1 && (this.conf.nextUpstream & mask) === mask && !(to && Date.now() - this.startTime >= to)) {
          this.next(ft);
          return;
        }
      }
      if (this.conf.interceptErrors && req.loc.s.errorPages.has(status)) {
        if (status === 401) {
          for (let i = 0; i < h.headers.length; i += 2) {
            if (h.headers[i].toLowerCase() === 'www-authenticate') req.headersOut.list.push(h.headers[i], h.headers[i + 1]);
          }
        }
        this.finish(status);
        return;
      }
    }
    const ign = this.conf.ignoreHeaders;
    let xaRedirect: string | null = null;
    this.buffering = this.conf.buffering;
    for (let i = 0; i < h.headers.length; i += 2) {
      const lc = h.headers[i].toLowerCase();
      if (lc.length < 9 || lc.charCodeAt(0) !== 120 || !lc.startsWith('x-accel-')) continue;
      const v = h.headers[i + 1];
      if (lc === 'x-accel-redirect' && !(ign & IGN_XA_REDIRECT)) xaRedirect = v;
      else if (lc === 'x-accel-buffering' && !(ign & IGN_XA_BUFFERING)) {
        if (v.toLowerCase() === 'yes') this.buffering = true;
        else if (v.toLowerCase() === 'no') this.buffering = false;
      } else if (lc === 'x-accel-limit-rate' && !(ign & IGN_XA_LIMIT_RATE)) {
        const n = Number(v);
        if (Number.isFinite(n)) req.limitRate = n;
      }
    }
    if (xaRedirect !== null && xaRedirect.length > 0) {
      this.accelRedirect(h, xaRedirect);
      return;
    }
    copyHeaders(req, this.conf, this.pass, h, false);
    req.status = status;
    req.statusLine = h.reason.length > 0 ? h.reason : null;
    // the body's framing
    if (this.headOnly || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      this.bodyMode = Body.None;
    } else if (h.chunked) {
      this.bodyMode = Body.Chunked;
      this.chunked = new ChunkedDecoder();
    } else if (h.contentLength >= 0) {
      this.bodyMode = h.contentLength === 0 ? Body.None : Body.Length;
      this.remaining = h.contentLength;
    } else {
      this.bodyMode = Body.Close;
    }
    this.headerSent = true;
    this.action = ACT_BODY;
    this.arm(this.data.readTimeout || this.conf.readTimeout);
    sendHeader(req);
    if (req.finalized) {
      this.finishQuiet();
      return;
    }
    if (status === 101 && this.x !== null && req === req.main && req.headerIn('upgrade') !== null) {
      this.upgrade(chunk.subarray(bodyStart));
      return;
    }
    if (this.bodyMode === Body.None) {
      this.keepalive = !h.connectionClose;
      this.complete();
      return;
    }
    if (req.method === 'HEAD' && !this.headOnly) {
      // the client wants no body: nginx closes the upstream (r->header_only)
      this.keepalive = false;
      this.complete();
      return;
    }
    if (bodyStart < chunk.length) this.feedBody(chunk, bodyStart);
  }

  /** 101 to a client that asked for it: join the two connections (u->upgrade). */
  private upgrade(rest: Buffer): void {
    const req = this.req;
    this.done = true;
    this.disarm();
    const up = this.detachSock()!;
    const st = this.state!;
    this.action = 'proxying upgraded connection';
    tunnel(this.x!, up, rest, this.conf.readTimeout, () => {
      this.log(Level.Err, 'upstream timed out (110: Connection timed out)');
    }, () => {
      st.responseTime = Date.now() - st.start;
      req.finished = true;
      endRequest(req);
    });
  }

  /** X-Accel-Redirect: an internal redirect instead of the upstream's body. */
  private accelRedirect(h: ResponseHead, target: string): void {
    const req = this.req;
    copyHeaders(req, this.conf, this.pass, h, true);
    this.keepalive = false;
    this.done = true;
    this.release();
    if (req.method !== 'HEAD') req.method = 'GET';
    if (target.startsWith('@')) {
      namedRedirect(req, target);
      return;
    }
    const q = target.indexOf('?');
    internalRedirect(req, q < 0 ? target : target.slice(0, q), q < 0 ? null : target.slice(q + 1));
  }

  // ---- the response body ------------------------------------------------------------------------
  private feedBody(d: Buffer, start: number): void {
    if (this.bodyMode === Body.Length) {
      const avail = d.length - start;
      const take = Math.min(avail, this.remaining);
      if (take > 0) this.deliver(start === 0 && take === d.length ? d : d.subarray(start, start + take));
      this.remaining -= take;
      if (take < avail) {
        this.log(Level.Warn, `upstream sent more data than specified in "Content-Length" header`);
      }
      if (this.remaining === 0 && !this.done) {
        this.keepalive = !this.resp!.connectionClose && take === avail;
        this.complete();
      }
      return;
    }
    if (this.bodyMode === Body.Chunked) {
      const dec = this.chunked!;
      if (!dec.decode(d, start, (b) => this.deliver(b))) {
        this.flushHeld();
        this.log(Level.Err, `upstream sent invalid chunked response`);
        this.finish(502);
        return;
      }
      if (dec.done && !this.done) {
        this.keepalive = !this.resp!.connectionClose && dec.extra === 0;
        this.complete();
      }
      return;
    }
    if (this.bodyMode === Body.Close) this.deliver(start === 0 ? d : d.subarray(start));
  }

  private deliver(b: Buffer): void {
    if (this.done || b.length === 0) return;
    this.state!.responseLength += b.length;
    if (this.buffering) {
      this.held.push(b);
      this.heldBytes += b.length;
      // a filled proxy_buffers buffer goes on to the client; a partial one waits
      if (this.heldBytes >= this.conf.buffers.size) this.flushHeld();
      return;
    }
    output(this.req, b, false);
    // non-buffered output is marked flush (ngx_http_upstream_process_non_buffered_request)
    if (!this.req.finished) flush(this.req, false, null);
    this.backpressure();
  }

  private flushHeld(): void {
    if (this.held.length === 0) return;
    const l = this.held;
    this.held = [];
    this.heldBytes = 0;
    const req = this.req;
    for (let i = 0; i < l.length && !req.finished; i++) output(req, l[i], false);
    this.backpressure();
  }

  /** Stop reading the upstream while the client connection has too much unsent data. */
  private backpressure(): void {
    const x = this.x;
    if (x === null || this.paused || this.req !== this.req.main || this.sock === null) return;
    const cs = x.socket;
    if (cs.destroyed || cs.writableLength < HIGH_WATER) return;
    this.paused = true;
    const up = this.sock;
    up.pause();
    this.disarm();
    cs.once('drain', () => this.guard(() => {
      this.paused = false;
      if (this.done || this.sock !== up) return;
      up.resume();
      this.arm(this.data.readTimeout || this.conf.readTimeout);
    }));
  }

  // ---- the end ----------------------------------------------------------------------------------
  /** ngx_http_upstream_next */
  private next(ft: number): void {
    if (this.done) return;
    if (errorLog.enabled(Level.Debug)) this.log(Level.Debug, `http next upstream, ${ft.toString(16)}`);
    this.disarm();
    if (this.pick !== null) {
      this.freePeer(ft === FT_HTTP_403 || ft === FT_HTTP_404 ? 2 : 4);
    }
    if (ft === FT_TIMEOUT) this.log(Level.Err, `upstream timed out (110: Connection timed out)`);
    if (this.cached && ft === FT_ERROR) this.triesLeft++;
    const status = FT_STATUS[ft] ?? 502;
    if (this.x !== null && this.x.aborted && !this.conf.ignoreClientAbort) {
      this.finish(499);
      return;
    }
    this.state!.status = status;
    let mask = ft;
    if (this.requestSent && (this.req.method === 'POST' || this.req.method === 'LOCK' || this.req.method === 'PATCH')) mask |= FT_NON_IDEMPOTENT;
    const to = this.conf.nextUpstreamTimeout;
    if (this.triesLeft === 0 || (this.conf.nextUpstream & mask) !== mask || (to && Date.now() - this.startTime >= to)) {
      this.finish(status);
      return;
    }
    this.destroyConn();
    this.pick = null;
    this.connect();
  }

  private resetAttempt(): void {
    this.destroyConn();
    this.parser = null;
    this.resp = null;
    this.requestSent = false;
    this.bodyMode = Body.None;
    this.chunked = null;
    this.keepalive = false;
    this.held = [];
    this.heldBytes = 0;
  }

  /** The response ended as framed: keep the connection if allowed, then end the request. */
  private complete(): void {
    if (this.done) return;
    if (this.pick !== null) this.freePeer(0);
    this.done = true;
    this.release();
    this.flushHeld();
    const req = this.req;
    if (!req.finalized) finishResponse(req);
  }

  /** Close or cache the connection, stop the timers, record the response time. */
  private release(): void {
    this.disarm();
    this.action = ACT_CLIENT;
    const st = this.state;
    if (st !== null && st.responseTime < 0) st.responseTime = Date.now() - st.start;
    const s = this.detachSock();
    if (s === null) return;
    const g: PeerGroup = this.target.group;
    if (this.keepalive && (this.requestSent || s.writableLength === 0) && this.pick !== null && g.keepalive > 0 && !this.req.worker.exiting) {
      if (putIdle(g, s, this.pick.name, this.requests + 1)) return;
    }
    s.destroy();
  }

  /** ngx_http_upstream_finalize_request with an error (or 0) code. */
  private finish(rc: number): void {
    if (this.done) return;
    this.done = true;
    this.keepalive = false;
    this.release();
    const req = this.req;
    if (req.finalized) return;
    if (!this.headerSent || rc === 499 || rc === 408) {
      finalize(req, rc);
      return;
    }
    if (rc >= 300 || rc < 0) {
      // headers went out already: the response is cut short (a capture reports it truncated)
      flush(req, false, null);
      closeRequest(req);
      return;
    }
    finishResponse(req);
  }

  /** The request was finalised from elsewhere (a header filter): just let go of the upstream. */
  private finishQuiet(): void {
    this.done = true;
    this.keepalive = false;
    this.release();
  }
}


function isZeroNet(a: string): boolean {
  return a.length > 2 && a.charCodeAt(0) === 48 && a.charCodeAt(1) === 46 && a !== '0.0.0.0';
}

export { ProxyRun };
