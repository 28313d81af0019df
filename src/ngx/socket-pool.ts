// Cosocket connection pools (per worker, keyed by "host:port", "unix:/path" or the `pool` option):
// setkeepalive, reuse on connect, idle timeouts, peers closing idle connections, and the
// pool_size/backlog connect queue of lua-nginx-module (ngx_http_lua_socket_tcp.c).
import type * as net from 'node:net';
import { lua, lauxlib } from '../lua/fengari.js';
import { pushString, luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { currentTask, resume, type LuaTask } from '../lua/scheduler.js';
import { logError, Level, type LogContext } from '../log/errorlog.js';
import { TcpSock, Kind, adoptSocket, setHolder, sourceEnded, releaseSocket, type SocketHolder } from './socket-tcp.js';
import { currentOwner, currentSettings, debug, debugOn, env, newPtr, selfObject, argError } from './socket-common.js';
import { connectHelper, PENDING } from './socket-connect.js';

export class Pool {
  /** live connections counted by this pool (in use, idle in the cache, connecting or queued) */
  connections = 0;
  /** idle connections, most recently parked first */
  readonly cache: PoolItem[] = [];
  /** connect operations waiting for a slot (backlog) */
  readonly waiting: ConnOp[] = [];
  readonly ptr = newPtr();

  constructor(
    readonly key: string,
    readonly size: number,
    readonly backlog: number,
  ) {}

  /** A counted connection closed (ngx_http_lua_socket_tcp_finalize's pool bookkeeping). */
  connectionGone(log: LogContext | null = null): void {
    this.connections--;
    if (this.connections <= 0) freePool(this, log);
    else resumeConnOp(this);
  }
}

/** The pools of this worker. */
export const pools = new Map<string, Pool>();

export function createPool(key: string, size: number, backlog: number, log: LogContext | null): Pool {
  debug(`lua tcp socket connection pool size: ${size}, backlog: ${backlog}`, log);
  const p = new Pool(key, size, backlog);
  debug(`lua tcp socket keepalive create connection pool for key "${key}"`, log);
  pools.set(key, p);
  return p;
}

function freePool(p: Pool, log: LogContext | null): void {
  debug(`lua tcp socket keepalive: free connection pool for "${p.key}"`, log);
  if (pools.get(p.key) === p) pools.delete(p.key);
}

/** A connection's keepalive idle timer. It stays with the Node socket across parkings: parking it
 *  again re-arms it (refresh), taking it from the pool only detaches the item (a timer firing while
 *  the connection is in use does nothing), so a request that reuses a connection creates and
 *  cancels no timer. */
interface IdleTimer {
  timer: NodeJS.Timeout | null;
  ms: number;
  item: PoolItem | null;
}
const IDLE = Symbol('tsresty.keepalive-idle');
type IdleSocket = net.Socket & { [IDLE]?: IdleTimer };

function idleFired(it: IdleTimer): void {
  const item = it.item;
  if (item === null) return;
  it.item = null;
  item.idleTimeout();
}

/** Start the idle timeout of `item` (0: none). */
function armIdle(item: PoolItem, ms: number): void {
  const s = item.conn as IdleSocket;
  let it = s[IDLE];
  if (it === undefined) {
    it = { timer: null, ms: 0, item: null };
    s[IDLE] = it;
  }
  item.idle = it;
  if (ms === 0) {
    if (it.timer !== null) clearTimeout(it.timer);
    it.timer = null;
    it.item = null;
    return;
  }
  it.item = item;
  if (it.timer !== null && it.ms === ms) {
    it.timer.refresh();
    return;
  }
  if (it.timer !== null) clearTimeout(it.timer);
  it.ms = ms;
  it.timer = setTimeout(idleFired, ms, it);
  it.timer.unref();
}

/** The item leaves the pool: taken (`keepTimer`, the connection lives on) or closed. */
function disarmIdle(item: PoolItem, keepTimer: boolean): void {
  const it = item.idle;
  if (it === null) return;
  item.idle = null;
  it.item = null;
  if (!keepTimer && it.timer !== null) {
    clearTimeout(it.timer);
    it.timer = null;
  }
}

/** An idle connection in a pool; it watches the socket so a peer close or stray data drops it. */
class PoolItem implements SocketHolder {
  idle: IdleTimer | null = null;

  constructor(
    readonly pool: Pool,
    readonly conn: net.Socket,
    readonly reused: number,
    readonly tls: boolean,
  ) {}

  /** bytes on an idle connection: nginx's keepalive close handler drops it */
  onData(): boolean {
    this.close();
    return false;
  }
  onReadable(): void {
    this.check();
  }
  onEnd(): void {
    this.check();
  }
  onError(): void {
    this.close();
  }
  onClose(): void {
    this.close();
  }
  onDrain(): void {}

  /** ngx_http_lua_socket_keepalive_close_handler: close unless the event was stale. Returns
   *  true when the connection is still usable. */
  check(): boolean {
    debug('lua tcp socket keepalive close handler check stale events', null);
    const c = this.conn;
    if (!c.destroyed && c.readableLength === 0 && !sourceEnded(c)) return true;
    this.close();
    return false;
  }

  idleTimeout(): void {
    debug('lua tcp socket keepalive max idle timeout', null);
    this.close();
  }

  close(): void {
    const p = this.pool;
    const i = p.cache.indexOf(this);
    if (i < 0) return;
    debug('lua tcp socket keepalive close handler: fd:-1', null);
    disarmIdle(this, false);
    p.cache.splice(i, 1);
    releaseSocket(this.conn);
    this.conn.destroy();
    p.connectionGone();
  }
}

/** ngx_http_lua_get_keepalive_peer: take the most recently parked connection, if any. */
export function getKeepalivePeer(u: TcpSock): boolean {
  const p = u.pool!;
  if (p.cache.length === 0) {
    debug('lua tcp socket keepalive: connection pool empty', u.log);
    return false;
  }
  const item = p.cache.shift()!;
  disarmIdle(item, true);
  const c = item.conn;
  if (debugOn()) debug(`lua tcp socket get keepalive peer: using connection ${u.ptr}, fd:-1`, u.log);
  c.ref();
  setHolder(c, u);
  u.conn = c;
  u.tls = item.tls;
  u.reused = item.reused + 1;
  u.register();
  return true;
}

// ---- setkeepalive ------------------------------------------------------------------------------

export function tcpSetKeepalive(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n < 1 || n > 3) luaErrorWhere(L, `expecting 1 to 3 arguments (including the object), but got ${n}`);
  const u = selfObject(L, TcpSock);
  if (u === null || !u.hasU) return closed(L);
  const c = u.conn;
  if (c === null || u.readClosed || u.writeClosed) return closed(L);
  const owner = currentOwner();
  if (owner === null) luaErrorWhere(L, 'no request found');
  if (u.owner !== owner) luaErrorWhere(L, 'bad request');
  const busy = busyError(u, true, true, true);
  if (busy !== null) return fail(L, busy);
  if (u.kind !== Kind.Upstream) return fail(L, 'unread data in buffer');
  if (u.inb.size > 0) return fail(L, 'unread data in buffer');
  if (u.eof || u.sockErr !== null || c.destroyed) return fail(L, 'invalid connection');
  if (env.worker !== null && env.worker.exiting) {
    debug('lua tcp socket set keepalive while process exiting, closing connection', u.log);
    u.finalize();
    lua.lua_pushnumber(L, 1);
    return 1;
  }
  if (debugOn()) debug(`lua tcp socket set keepalive: saving connection ${u.ptr}`, u.log);
  const key = u.key;
  if (key === null) return fail(L, 'key not found');
  const conf = currentSettings();
  let spool = pools.get(key) ?? null;
  if (spool === null) {
    let size: number;
    if (n >= 3 && !lua.lua_isnil(L, 3)) size = lauxlib.luaL_checkinteger(L, 3);
    else size = conf.luaSocketPoolSize;
    if (size <= 0) argError(L, n, `bad "pool_size" option value: ${size}`);
    spool = createPool(key, size, -1, u.log);
  }
  let timeout: number;
  if (n >= 2 && !lua.lua_isnil(L, 2)) timeout = lauxlib.luaL_checkinteger(L, 2);
  else timeout = conf.luaSocketKeepaliveTimeout;
  if (spool.cache.length >= spool.size) {
    // evict the least recently parked connection
    const old = spool.cache.pop()!;
    disarmIdle(old, false);
    releaseSocket(old.conn);
    old.conn.destroy();
    if (u.pool !== null) u.pool.connections--;
  } else if (u.pool === null) {
    spool.connections++;
  }
  const item = new PoolItem(spool, c, u.reused, u.tls);
  spool.cache.unshift(item);
  debug('lua tcp socket clear current socket connection', u.log);
  u.stopReadTimer(); // while u.conn is set: the connection keeps its timer
  u.conn = null;
  u.writeTimer = u.writeTimer === null ? null : (clearTimeout(u.writeTimer), null);
  if (timeout === 0) debug('lua tcp socket keepalive timeout: unlimited', u.log);
  else if (debugOn()) debug(`lua tcp socket keepalive timeout: ${timeout} ms`, u.log);
  armIdle(item, timeout);
  adoptSocket(c, item);
  c.unref();
  let dubious = false;
  if (u.srcChunks !== null && u.srcChunks.length > 0) {
    // the peer sent more than was read: nginx finds the idle connection readable and drops it
    item.close();
    dubious = true;
  } else if (c.readableLength > 0 || sourceEnded(c) || c.destroyed) dubious = !item.check();
  u.finalize();
  resumeConnOp(spool);
  if (dubious) return fail(L, 'connection in dubious state');
  lua.lua_pushnumber(L, 1);
  return 1;
}

// ---- connect queue (pool_size + backlog) --------------------------------------------------------

export interface ConnOp {
  u: TcpSock;
  task: LuaTask;
  host: string;
  port: number;
  timer: NodeJS.Timeout | null;
  pool: Pool;
}

/** Park a connect until the pool has room (the caller suspends the task). */
export function queueConnect(u: TcpSock, host: string, port: number): void {
  const p = u.pool!;
  debug(`lua tcp socket queue connect operation for connection pool "${p.key}", connections: ${p.connections}`, u.log);
  const op: ConnOp = { u, task: currentTask()!, host, port, timer: null, pool: p };
  op.timer = setTimeout(queuedTimedOut, u.connectTimeout, op);
  p.waiting.push(op);
  debug(`lua tcp socket queued connect operation for ${u.connectTimeout}(ms), u: ${u.ptr}, ctx: ${newPtr()}`, u.log);
  u.pendingCancel = () => abortQueued(op);
}

function queuedTimedOut(op: ConnOp): void {
  op.timer = null;
  const p = op.pool;
  const i = p.waiting.indexOf(op);
  if (i < 0) return;
  p.waiting.splice(i, 1);
  const u = op.u;
  u.pendingCancel = null;
  if (u.conf.luaSocketLogErrors) {
    logError(Level.Err, `lua tcp socket queued connect timed out, when trying to connect to ${op.host}:${op.port}`, u.log);
  }
  p.connections--;
  const t = op.task;
  if (t.done) return;
  lua.lua_pushnil(t.co);
  pushString(t.co, 'timeout');
  resume(t, 2);
}

/** The waiting coroutine went away (request ended): leave the queue. */
function abortQueued(op: ConnOp): void {
  const p = op.pool;
  const i = p.waiting.indexOf(op);
  if (i < 0) return;
  debug(`lua tcp socket abort queueing, conn_op_ctx: ${newPtr()}, u: ${op.u.ptr}`, op.u.log);
  p.waiting.splice(i, 1);
  if (op.timer !== null) clearTimeout(op.timer);
  op.timer = null;
  p.connections--;
  resumeConnOp(p);
}

/** A slot may have freed up: let the first queued connect run (from the event loop, as nginx
 *  posts an event). */
export function resumeConnOp(p: Pool): void {
  if (p.connections < 0) {
    logError(Level.Err, `lua tcp socket connections count mismatched for connection pool "${p.key}", connections: ${p.connections}, size: ${p.size}`);
    p.connections = 0;
  }
  if (p.waiting.length === 0) return;
  const op = p.waiting[0];
  debug(`lua tcp socket post connect operation resumption u: ${op.u.ptr}, ctx: ${newPtr()} for connection pool "${p.key}", connections: ${p.connections}`, op.u.log);
  if (op.timer !== null) clearTimeout(op.timer);
  op.timer = null;
  setImmediate(runQueuedConnect, p);
}

function runQueuedConnect(p: Pool): void {
  const op = p.waiting.shift();
  if (op === undefined) return;
  const u = op.u;
  u.pendingCancel = null;
  const t = op.task;
  if (t.done) {
    // the waiting light thread was killed (lua-nginx-module cleans the queue entry up then)
    debug(`lua tcp socket abort queueing, conn_op_ctx: ${newPtr()}, u: ${u.ptr}`, u.log);
    p.connections--;
    resumeConnOp(p);
    return;
  }
  p.connections--;
  const n = connectHelper(t.co, u, op.host, op.port, true, t);
  if (n !== PENDING) resume(t, n);
}

// ---- helpers ------------------------------------------------------------------------------------

export function closed(L: LuaState): number {
  lua.lua_pushnil(L);
  pushString(L, 'closed');
  return 2;
}

export function fail(L: LuaState, msg: string): number {
  lua.lua_pushnil(L);
  pushString(L, msg);
  return 2;
}

/** lua-nginx-module's "socket busy ..." checks, in its order. */
export function busyError(u: TcpSock, conn: boolean, read: boolean, write: boolean): string | null {
  if (conn && u.connWaiting) return 'socket busy connecting';
  if (read && u.readWaiting) return 'socket busy reading';
  if (write && u.writeWaiting) return 'socket busy writing';
  return null;
}

