// The TCP cosocket object (lua-nginx-module's ngx_http_lua_socket_tcp_upstream_t): connection
// state, the read loop over a paused Node socket, writes, timeouts and finalisation. The Lua-facing
// methods are in socket-tcp-api.ts, pooling in socket-pool.ts, ngx.req.socket in socket-req.ts.
//
// Reading follows nginx: bytes reach the cosocket's buffer only while a receive call runs (unread
// peer data waits outside it, like in the kernel's buffer: in srcChunks, filled by onData for plain
// upstream sockets and by the transport for request sockets, or in Node's Readable for TLS ones),
// a call that the buffered bytes satisfy returns without yielding, and a waiting call is resumed
// when more arrives.
import type * as net from 'node:net';
import { Socket as NetSocket } from 'node:net';
import { lua } from '../lua/fengari.js';
import { pushString, type LuaState } from '../lua/bridge.js';
import { resume, type LuaTask } from '../lua/scheduler.js';
import { logError, Level, type LogContext } from '../log/errorlog.js';
import type { LocSettings } from '../config/model.js';
import {
  InBuf, OutBuf, Filter, runFilter, OK, ERROR, AGAIN, FT_ERROR, FT_TIMEOUT, FT_CLOSED, FT_BUFTOOSMALL,
  FT_NOMEM, FT_CLIENTABORT, type ReadState, type UntilPattern, type MessageReader,
} from './socket-buffer.js';
import { own, disown, debug, debugOn, newPtr, errText, type OwnedResource } from './socket-common.js';
import type { Pool } from './socket-pool.js';
import { unsentBytes, writeBytes } from '../http/transport/direct-write.js';

export const enum Kind {
  Upstream = 0,
  /** ngx.req.socket(): the request body */
  Body = 1,
  /** ngx.req.socket(true): the whole client connection */
  Raw = 2,
}

/** Something that receives a Node socket's events (a live cosocket or an idle pool entry). */
export interface SocketHolder {
  /** bytes read by an upstream socket created with `upstreamSocket` (a view of a shared buffer,
   *  valid during the call); false stops reading until `resumeReading` */
  onData(data: Buffer): boolean;
  onReadable(): void;
  onEnd(): void;
  onError(err: NodeJS.ErrnoException): void;
  onClose(): void;
  onDrain(): void;
  onConnect?(): void;
}

const HOLDER = Symbol('tsresty.cosocket');
const READ_TIMER = Symbol('tsresty.readTimer');
/** set on sockets that read through onHolderRead: their Readable buffer stays empty */
const ONREAD = Symbol('tsresty.onread');
type HeldSocket = net.Socket & { [HOLDER]?: SocketHolder | null; [READ_TIMER]?: SocketReadTimer; [ONREAD]?: true };

/** An upstream socket's read timer, kept for every cosocket that uses the connection (a pooled one
 *  serves a request after another): setTimeout + clearTimeout per read cost about a microsecond.
 *  It is refreshed when a read starts; a firing with no read waiting is ignored. It never keeps the
 *  event loop alive: the socket does while a cosocket uses it (the pool unrefs a parked connection
 *  and refs it again when it hands it out), so ref()/unref() around every read were two native
 *  calls for nothing. */
interface SocketReadTimer {
  timer: NodeJS.Timeout;
  ms: number;
}

function socketReadTimer(s: HeldSocket, ms: number): NodeJS.Timeout {
  const rt = s[READ_TIMER];
  if (rt !== undefined) {
    if (rt.ms === ms) return rt.timer.refresh();
    clearTimeout(rt.timer);
  }
  const timer = setTimeout(socketReadTimedOut, ms, s);
  timer.unref();
  s[READ_TIMER] = { timer, ms };
  return timer;
}

function socketReadTimedOut(s: HeldSocket): void {
  const h = s[HOLDER];
  if (h instanceof TcpSock && h.conn === s) h.readTimeoutFired();
}

function evReadable(this: HeldSocket): void {
  const h = this[HOLDER];
  if (h) h.onReadable();
}
function evEnd(this: HeldSocket): void {
  const h = this[HOLDER];
  if (h) h.onEnd();
}
function evError(this: HeldSocket, err: NodeJS.ErrnoException): void {
  const h = this[HOLDER];
  if (h) h.onError(err);
}
function evClose(this: HeldSocket): void {
  const h = this[HOLDER];
  if (h) h.onClose();
}
function evDrain(this: HeldSocket): void {
  const h = this[HOLDER];
  if (h) h.onDrain();
}
function evConnect(this: HeldSocket): void {
  const h = this[HOLDER];
  if (h && h.onConnect) h.onConnect();
}

// Upstream sockets read into one shared buffer (net.Socket's `onread`) and hand the bytes to their
// holder right away: no Readable stream buffering, no 'readable' tick, no fresh 64 KB read buffer
// per read from Node. The holder copies what it keeps.
const READ_BUF = Buffer.allocUnsafe(65536);
/** bytes a cosocket queues before its socket stops reading (Node's Readable stopped at 16 KB) */
const IN_MAX = 65536;

/** net.Socket `onread` callback handing the bytes to the socket's holder (upstream sockets, and a
 *  client connection taken over by ngx.req.socket(true)). */
export function onHolderRead(this: HeldSocket, n: number, buf: Buffer): boolean {
  const h = this[HOLDER];
  return h ? h.onData(buf.subarray(0, n)) : true;
}

/** A new upstream TCP socket reading through `onData`. */
export function upstreamSocket(): net.Socket {
  // (Node takes `onread` in the constructor too; @types/node only lists it for connect())
  const s: HeldSocket = new NetSocket({ allowHalfOpen: true, onread: { buffer: READ_BUF, callback: onHolderRead } } as net.SocketConstructorOpts);
  s[ONREAD] = true;
  return s;
}

/** Read again after onData returned false (read(0) restarts a stopped handle; Node skips it when
 *  the handle still reads). */
export function resumeReading(s: net.Socket): void {
  if (!s.destroyed) s.read(0);
}

/** Install the event dispatchers once per Node socket; `setHolder` then routes its events. */
export function adoptSocket(s: net.Socket, h: SocketHolder): void {
  const hs = s as HeldSocket;
  if (!(HOLDER in hs)) {
    s.on('readable', evReadable);
    s.on('end', evEnd);
    s.on('error', evError);
    s.on('close', evClose);
    s.on('drain', evDrain);
    // a TLS socket wraps a connected one: only its handshake completion counts
    s.on((s as { encrypted?: boolean }).encrypted ? 'secureConnect' : 'connect', evConnect);
  }
  hs[HOLDER] = h;
}

export function setHolder(s: net.Socket, h: SocketHolder | null): void {
  (s as HeldSocket)[HOLDER] = h;
}

export function releaseSocket(s: net.Socket): void {
  const hs = s as HeldSocket;
  hs[HOLDER] = null;
  s.off('readable', evReadable);
  s.off('end', evEnd);
  s.off('error', evError);
  s.off('close', evClose);
  s.off('drain', evDrain);
  s.off('connect', evConnect);
  s.off('secureConnect', evConnect);
  delete hs[HOLDER];
  const rt = hs[READ_TIMER];
  if (rt !== undefined) {
    clearTimeout(rt.timer);
    delete hs[READ_TIMER];
  }
  // an error after we let go must not become an uncaught exception
  s.on('error', noop);
}

function noop(): void {}

/** The request that took the client connection over ended: close it like nginx's lingering
 *  close (FIN after pending output, then drop whatever the client still sends). */
export function closeRawConnection(s: net.Socket): void {
  releaseSocket(s);
  if (s.destroyed) return;
  s.end();
  s.resume();
  s.once('end', () => s.destroy());
  const t = setTimeout(() => s.destroy(), 5000);
  t.unref();
  s.once('close', () => clearTimeout(t));
}

/** The peer sent FIN and everything before it was read out of Node's buffer. */
export function sourceEnded(s: net.Socket): boolean {
  const st = (s as unknown as { _readableState?: { ended: boolean } })._readableState;
  return (st !== undefined && st.ended && s.readableLength === 0) || s.readableEnded;
}

/** A pending resumption: which task waits and since when the timer runs. */
function clear(t: NodeJS.Timeout | null): null {
  if (t !== null) clearTimeout(t);
  return null;
}

export class TcpSock implements ReadState, OwnedResource, SocketHolder {
  kind = Kind.Upstream;
  // ---- kept in the Lua object between connects (socket table slots in lua-nginx-module)
  /** settimeout/settimeouts values; 0 = use the location's lua_socket_*_timeout */
  tConnect = 0;
  tSend = 0;
  tRead = 0;
  bindAddr: string | null = null;
  /** pool key: "host:port", "unix:/path" or the `pool` option */
  key: string | null = null;
  // ---- the upstream (zeroed by connect)
  hasU = false;
  owner: object | null = null;
  conf!: LocSettings;
  log: LogContext | null = null;
  connectTimeout = 60000;
  sendTimeout = 60000;
  readTimeout = 60000;
  conn: net.Socket | null = null;
  readClosed = false;
  writeClosed = false;
  connClosed = false;
  eof = false;
  sockErr: NodeJS.ErrnoException | null = null;
  pool: Pool | null = null;
  reused = 0;
  registered = false;
  noClose = false;
  nodelay = false;
  /** setoption values (index: lua-resty-core's option number) */
  options: number[] | null = null;
  private ptrText = '';
  /** host and port as given to connect (log lines, the connect queue) */
  peerName = '';
  peerPort = 0;
  // ReadState
  filter = Filter.Line;
  length = 0;
  rest = 0;
  ft = 0;
  until: UntilPattern | null = null;
  inb = new InBuf();
  out = new OutBuf();
  reader: MessageReader | null = null;
  msgStart = 0;
  msgEnd = 0;
  // waiting operations (u->conn_waiting, read_waiting, write_waiting and their coroutines)
  connWaiting = false;
  readWaiting = false;
  writeWaiting = false;
  connTask: LuaTask | null = null;
  readTask: LuaTask | null = null;
  writeTask: LuaTask | null = null;
  connTimer: NodeJS.Timeout | null = null;
  readTimer: NodeJS.Timeout | null = null;
  readTimerMs = 0;
  writeTimer: NodeJS.Timeout | null = null;
  writeLen = 0;
  /** a queued connect (backlog) or a pending resolution: cancelled when the owner ends */
  pendingCancel: (() => void) | null = null;
  /** what to do when the socket reports 'connect' / 'secureConnect', or fails before that */
  onConnected: ((u: TcpSock) => void) | null = null;
  onConnFailed: ((u: TcpSock, err: NodeJS.ErrnoException) => void) | null = null;
  // downstream (ngx.req.socket)
  bodyRest = 0;
  srcChunks: Buffer[] | null = null;
  srcEnded = false;
  srcError: string | null = null;
  tls = false;
  /** ngx.req.socket(true): the taken-over client connection, closed when the request ends */
  rawConn: net.Socket | null = null;
  /** bytes onData queued in srcChunks */
  srcBytes = 0;
  /** onData stopped the socket's reads: srcChunks holds IN_MAX bytes */
  paused = false;

  /** Reset the upstream part for a new connect (ngx_memzero(u) in lua-nginx-module). */
  resetUpstream(owner: object, conf: LocSettings, log: LogContext | null): void {
    this.hasU = true;
    this.owner = owner;
    this.conf = conf;
    this.log = log;
    this.conn = null;
    this.readClosed = this.writeClosed = this.connClosed = false;
    this.eof = false;
    this.sockErr = null;
    this.pool = null;
    this.reused = 0;
    this.noClose = false;
    this.nodelay = false;
    this.options = null;
    this.ft = 0;
    this.inb.clear();
    this.out.clear();
    this.srcChunks = null;
    this.srcBytes = 0;
    this.paused = false;
    this.connWaiting = this.readWaiting = this.writeWaiting = false;
    this.connTask = this.readTask = this.writeTask = null;
    this.connectTimeout = this.tConnect > 0 ? this.tConnect : conf.luaSocketConnectTimeout;
    this.sendTimeout = this.tSend > 0 ? this.tSend : conf.luaSocketSendTimeout;
    this.readTimeout = this.tRead > 0 ? this.tRead : conf.luaSocketReadTimeout;
    this.tls = false;
  }

  /** "%p" of this upstream in log lines (made on first use). */
  get ptr(): string {
    if (this.ptrText === '') this.ptrText = newPtr();
    return this.ptrText;
  }

  /** The request's cleanup handler is registered once per upstream (u->cleanup). */
  register(): void {
    if (this.registered || this.owner === null) return;
    this.registered = true;
    own(this.owner, this);
  }

  ownerEnded(): void {
    this.registered = false;
    if (debugOn()) debug(`cleanup lua tcp socket request: "${this.peerName}"`, this.log);
    if (this.pendingCancel !== null) {
      const c = this.pendingCancel;
      this.pendingCancel = null;
      c();
    }
    this.connTask = this.readTask = this.writeTask = null;
    this.finalize();
    const raw = this.rawConn;
    if (raw !== null) {
      this.rawConn = null;
      closeRawConnection(raw);
    }
  }

  // ---- events ---------------------------------------------------------------------------------

  onData(data: Buffer): boolean {
    // queued like data still in the kernel: a receive pulls it into inb (setkeepalive tells
    // "unread data in buffer" from "connection in dubious state" by that, as nginx does)
    (this.srcChunks ??= []).push(Buffer.from(data));
    this.srcBytes += data.length;
    if (this.readWaiting) this.readMore();
    this.paused = this.srcBytes >= IN_MAX;
    return !this.paused;
  }

  onReadable(): void {
    if (this.readWaiting) this.readMore();
  }

  onEnd(): void {
    if (this.readWaiting) this.readMore();
  }

  onError(err: NodeJS.ErrnoException): void {
    if (this.sockErr === null) this.sockErr = err;
    if (this.connWaiting && this.onConnFailed !== null) {
      const f = this.onConnFailed;
      this.onConnFailed = this.onConnected = null;
      f(this, err);
      return;
    }
    if (this.readWaiting) this.readMore();
    if (this.writeWaiting) this.finishWrite(ERROR, FT_ERROR);
  }

  onClose(): void {
    if (this.connWaiting && this.onConnFailed !== null) {
      const f = this.onConnFailed;
      this.onConnFailed = this.onConnected = null;
      f(this, this.sockErr ?? Object.assign(new Error('closed'), { code: 'ECONNRESET' }));
      return;
    }
    if (this.readWaiting) this.readMore();
    if (this.writeWaiting) this.finishWrite(ERROR, FT_ERROR);
  }

  /** connect / TLS handshake finished (the pending step decides what that means) */
  onConnect(): void {
    const f = this.onConnected;
    if (f !== null && this.connWaiting) {
      this.onConnected = this.onConnFailed = null;
      f(this);
    }
  }

  onDrain(): void {
    if (this.writeWaiting && this.conn !== null && unsentBytes(this.conn) === 0) this.finishWrite(OK, 0);
  }

  // ---- connect completion ---------------------------------------------------------------------

  /** Wait for a connect/handshake step started by `start`; `done` pushes the results. */
  waitConnect(task: LuaTask, timeoutMs: number, onTimeout: (u: TcpSock) => void): void {
    this.connWaiting = true;
    this.connTask = task;
    this.connTimer = timeoutMs > 0 ? setTimeout(onTimeout, timeoutMs, this) : null;
  }

  /** The connect/handshake wait ended: push results with `push` and resume the coroutine. */
  finishConnect(push: (L: LuaState, u: TcpSock) => number): void {
    this.connTimer = clear(this.connTimer);
    this.connWaiting = false;
    this.onConnected = this.onConnFailed = null;
    const t = this.connTask;
    this.connTask = null;
    if (t === null || t.done) return;
    const n = push(t.co, this);
    resume(t, n);
  }

  // ---- reading --------------------------------------------------------------------------------

  /** Take whatever the source holds right now (never waits). */
  private pull(): Buffer | null {
    if (this.kind === Kind.Body) {
      const q = this.srcChunks;
      if (q === null || q.length === 0) return null;
      const c = q.shift()!;
      if (c.length > this.bodyRest) {
        const extra = c.subarray(this.bodyRest);
        this.bodyRest = 0;
        q.unshift(extra);
        return c.subarray(0, c.length - extra.length);
      }
      this.bodyRest -= c.length;
      return c;
    }
    if (this.srcChunks !== null && this.srcChunks.length > 0) {
      const c = this.srcChunks.shift()!;
      this.srcBytes -= c.length;
      return c;
    }
    const s = this.conn as HeldSocket | null;
    // a plain upstream socket's bytes all came through onData; only TLS ones buffer in Readable
    if (s === null || s[ONREAD] === true) return null;
    return s.read() as Buffer | null;
  }

  private ended(): boolean {
    if (this.kind === Kind.Body) return this.bodyRest === 0 || this.srcEnded;
    const s = this.conn;
    return s === null || sourceEnded(s) || s.destroyed;
  }

  /** ngx_http_lua_socket_tcp_read: run the input filter until it is satisfied or data runs out. */
  read(): number {
    const inb = this.inb;
    for (;;) {
      if (inb.size > 0 || this.eof) {
        const rc = runFilter(this);
        if (rc === OK) return OK;
        if (rc === ERROR) {
          this.ft |= FT_ERROR;
          return ERROR;
        }
        // AGAIN: the filter took what it could (a message filter leaves a partial message)
      }
      const chunk = this.pull();
      if (chunk !== null) {
        if (chunk.length) inb.append(chunk);
        continue;
      }
      if (this.paused) {
        // the queue is drained: let the socket read again (its next bytes come through onData)
        this.paused = false;
        if (this.conn !== null) resumeReading(this.conn);
      }
      if (this.sockErr !== null && (this.kind !== Kind.Upstream || this.sockErr.code !== 'EPIPE')) {
        this.ft |= FT_ERROR;
        return ERROR;
      }
      if (this.kind === Kind.Body && this.srcError !== null && this.bodyRest > 0) {
        this.ft |= FT_CLIENTABORT;
        return ERROR;
      }
      if (this.ended()) {
        if (this.kind === Kind.Body && this.bodyRest > 0) {
          this.ft |= FT_CLIENTABORT;
          return ERROR;
        }
        this.eof = true;
        continue;
      }
      return AGAIN;
    }
  }

  /** Start waiting for more data (the caller then suspends the task). */
  waitRead(task: LuaTask): void {
    this.readWaiting = true;
    this.readTask = task;
    this.armReadTimer();
    if (this.kind !== Kind.Upstream) (this.owner as { ext: Record<string, unknown> }).ext.reqSocketReading = true;
  }

  /** (Re)start the read timer with the current read timeout, as nginx re-adds it after every
   *  read event (settimeout() from another light thread applies to a pending read). */
  private armReadTimer(): void {
    const ms = this.readTimeout;
    if (this.kind === Kind.Upstream && this.conn !== null) {
      this.readTimer = socketReadTimer(this.conn, ms);
      return;
    }
    if (this.readTimer !== null) {
      if (this.readTimerMs === ms) {
        this.readTimer.refresh();
        return;
      }
      clearTimeout(this.readTimer);
    }
    this.readTimerMs = ms;
    this.readTimer = setTimeout(readTimedOut, ms, this);
  }

  /** New data (or EOF/error) while a receive waits. */
  readMore(): void {
    const rc = this.read();
    if (rc === AGAIN) {
      this.armReadTimer();
      return;
    }
    this.finishRead();
  }

  readTimeoutFired(): void {
    this.readTimer = null;
    if (!this.readWaiting) return;
    if (this.conf.luaSocketLogErrors) logError(Level.Err, 'lua tcp socket read timed out', this.log);
    this.ft |= FT_TIMEOUT;
    this.finishRead();
  }

  /** The read (or the read side) ended: stop its timer. */
  stopReadTimer(): void {
    const t = this.readTimer;
    if (t === null) return;
    this.readTimer = null;
    const c = this.conn as HeldSocket | null;
    // the connection's timer stays (see socketReadTimer): a firing with no read waiting is ignored
    if (c === null || c[READ_TIMER]?.timer !== t) clearTimeout(t);
  }

  private finishRead(): void {
    this.stopReadTimer();
    this.readWaiting = false;
    if (this.kind !== Kind.Upstream) (this.owner as { ext: Record<string, unknown> }).ext.reqSocketReading = false;
    const t = this.readTask;
    this.readTask = null;
    if (t === null || t.done) return;
    const n = this.receiveRetvals(t.co);
    resume(t, n);
  }

  /** ngx_http_lua_socket_tcp_receive_retval_handler: data, or nil, err, partial. */
  receiveRetvals(L: LuaState): number {
    const ft = this.ft;
    if (ft !== 0) {
      if (ft & FT_TIMEOUT) this.noClose = true;
      lua.lua_pushnil(L);
      pushString(L, this.errorString(ft));
      this.ft = 0;
      if (this.filter === Filter.Message) {
        // nil, err as the protocol library returns them (a partial message stays buffered)
        if (!this.noClose) this.finalizeReadPart();
        else if (this.reader!.closeOnTimeout) this.finalize();
        this.noClose = false;
        return 2;
      }
      this.out.push(L);
      if (this.noClose) this.noClose = false;
      else this.finalizeReadPart();
      return 3;
    }
    if (this.filter === Filter.Message) return this.reader!.push(L, this.inb.buf, this.msgStart, this.msgEnd);
    this.out.push(L);
    return 1;
  }

  /** ngx_http_lua_socket_prepare_error_retvals's message for failure bits `ft`. */
  errorString(ft: number): string {
    if (ft & FT_TIMEOUT) return 'timeout';
    if (ft & FT_CLOSED) return 'closed';
    if (ft & FT_BUFTOOSMALL) return 'buffer too small';
    if (ft & FT_NOMEM) return 'no memory';
    if (ft & FT_CLIENTABORT) return 'client aborted';
    return errText(this.sockErr);
  }

  // ---- writing --------------------------------------------------------------------------------

  /** Hand bytes to the socket; OK when Node took them without backpressure, AGAIN to wait. */
  write(data: Uint8Array): number {
    const s = this.conn;
    if (s === null || s.destroyed || !s.writable || (this.sockErr !== null && this.kind === Kind.Upstream)) {
      if (this.sockErr === null) this.sockErr = Object.assign(new Error('EPIPE'), { code: 'EPIPE' });
      this.ft |= FT_ERROR;
      return ERROR;
    }
    this.writeLen = data.length;
    if (writeBytes(s, data)) return OK;
    return AGAIN;
  }

  waitWrite(task: LuaTask): void {
    this.writeWaiting = true;
    this.writeTask = task;
    this.writeTimer = setTimeout(writeTimedOut, this.sendTimeout, this);
  }

  writeTimeoutFired(): void {
    this.writeTimer = null;
    if (!this.writeWaiting) return;
    if (this.conf.luaSocketLogErrors) logError(Level.Err, 'lua tcp socket write timed out', this.log);
    this.finishWrite(ERROR, FT_TIMEOUT);
  }

  finishWrite(rc: number, ft: number): void {
    this.writeTimer = clear(this.writeTimer);
    this.writeWaiting = false;
    this.ft |= ft;
    const t = this.writeTask;
    this.writeTask = null;
    if (t === null || t.done) return;
    const n = this.sendRetvals(t.co, rc);
    resume(t, n);
  }

  /** bytes sent, or nil, err (the write half is closed after an error). */
  sendRetvals(L: LuaState, rc: number): number {
    if (rc === ERROR || this.ft !== 0) {
      const ft = this.ft;
      this.ft = 0;
      this.finalizeWritePart();
      lua.lua_pushnil(L);
      pushString(L, this.errorString(ft));
      return 2;
    }
    lua.lua_pushnumber(L, this.writeLen);
    return 1;
  }

  // ---- closing --------------------------------------------------------------------------------

  finalizeReadPart(): void {
    if (this.readClosed) return;
    this.readClosed = true;
    this.inb.clear();
    this.out.clear();
    this.stopReadTimer();
    if (this.kind === Kind.Body) this.srcChunks = null; // the rest of the body is not wanted
  }

  finalizeWritePart(): void {
    if (this.writeClosed) return;
    this.writeClosed = true;
    this.writeTimer = clear(this.writeTimer);
  }

  /** ngx_http_lua_socket_tcp_finalize: close the connection (the pool loses one member). */
  finalize(): void {
    debug('lua finalize socket', this.log);
    if (this.registered && this.kind !== Kind.Raw) {
      disown(this.owner, this);
      this.registered = false;
    }
    this.finalizeReadPart();
    this.finalizeWritePart();
    this.connTimer = clear(this.connTimer);
    this.connWaiting = false;
    this.onConnected = this.onConnFailed = null;
    if (this.kind !== Kind.Upstream) {
      // the client connection stays the request's; a raw one is closed when the request ends
      if (this.conn !== null) this.rawConn = this.conn;
      this.conn = null;
      return;
    }
    if (this.pendingCancel !== null) {
      const c = this.pendingCancel;
      this.pendingCancel = null;
      c();
    }
    const c = this.conn;
    if (c !== null) {
      debug('lua close socket connection', this.log);
      releaseSocket(c);
      c.destroy();
      this.conn = null;
      this.connClosed = true;
      const pool = this.pool;
      if (pool !== null) pool.connectionGone();
    }
  }
}

function readTimedOut(u: TcpSock): void {
  u.readTimeoutFired();
}

function writeTimedOut(u: TcpSock): void {
  u.writeTimeoutFired();
}

