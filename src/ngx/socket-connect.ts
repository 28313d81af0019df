// tcpsock:connect(host, port, opts?) / connect("unix:/path", opts?) and the connect helper that
// the pool's connect queue re-enters (ngx_http_lua_socket_tcp_connect{,_helper} and
// ngx_http_lua_socket_resolve_retval_handler).
import type * as net from 'node:net';
import { lua, lauxlib } from '../lua/fengari.js';
import { pushString, pushLatin1, luaErrorWhere, bytesToLatin1, type LuaState } from '../lua/bridge.js';
import { currentTask, suspend, resume, type LuaTask } from '../lua/scheduler.js';
import { logError, Level } from '../log/errorlog.js';
import { TcpSock, Kind, adoptSocket, upstreamSocket } from './socket-tcp.js';
import {
  currentOwner, currentSettings, checkCosocketContext, debug, debugOn, logCtx, selfObject, argError, typeNameAt, errnoOf, errText,
} from './socket-common.js';
import { pools, createPool, getKeepalivePeer, queueConnect, resumeConnOp, busyError, fail } from './socket-pool.js';
import { resolveNow, resolveLater } from './socket-resolve.js';

// The same few hosts and ports are connected to on every request: their JS text and pool keys
// (with the key's bytes, for the object's slot 3) are kept instead of being converted each time.
interface PoolKey {
  text: string;
  bytes: Buffer;
}
const hostTexts = new WeakMap<Uint8Array, string>();
const poolKeys = new Map<string, Map<number, PoolKey>>();

/** The host argument as text (Lua string constants keep their byte array across calls). */
function hostText(b: Uint8Array): string {
  let t = hostTexts.get(b);
  if (t === undefined) {
    t = bytesToLatin1(b);
    hostTexts.set(b, t);
  }
  return t;
}

/** "host:port", lua-nginx-module's default pool name for an integral port. */
function poolKey(host: string, port: number): PoolKey {
  let ports = poolKeys.get(host);
  if (ports === undefined) {
    if (poolKeys.size >= 1024) poolKeys.clear();
    ports = new Map();
    poolKeys.set(host, ports);
  }
  let key = ports.get(port);
  if (key === undefined) {
    const text = `${host}:${port}`;
    key = { text, bytes: Buffer.from(text, 'latin1') };
    ports.set(port, key);
  }
  return key;
}

/** connectHelper's "the task will be resumed later" result. */
export const PENDING = -1;

export function tcpConnect(L: LuaState): number {
  let n = lua.lua_gettop(L);
  if (n !== 2 && n !== 3 && n !== 4) {
    luaErrorWhere(L, `ngx.socket connect: expecting 2, 3, or 4 arguments (including the object), but seen ${n}`);
  }
  const owner = currentOwner();
  if (owner === null) luaErrorWhere(L, 'no request found');
  checkCosocketContext(L);
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  const host = hostText(lauxlib.luaL_checklstring(L, 2));
  const conf = currentSettings();
  let backlog = -1;
  let poolSize = 0;
  let customKey: string | null = null;
  if (lua.lua_type(L, n) === lua.LUA_TTABLE) {
    lua.lua_getfield(L, n, 'pool_size');
    if (lua.lua_isnumber(L, -1)) {
      poolSize = Math.trunc(lua.lua_tonumber(L, -1));
      if (poolSize <= 0) argError(L, n, `bad "pool_size" option value: ${poolSize}`);
    } else if (!lua.lua_isnil(L, -1)) {
      argError(L, n, `bad "pool_size" option type: ${typeNameAt(L, -1)}`);
    }
    lua.lua_pop(L, 1);
    lua.lua_getfield(L, n, 'backlog');
    if (lua.lua_isnumber(L, -1)) {
      backlog = Math.trunc(lua.lua_tonumber(L, -1));
      if (backlog < 0) argError(L, n, `bad "backlog" option value: ${backlog}`);
      if (poolSize === 0) poolSize = conf.luaSocketPoolSize;
    }
    lua.lua_pop(L, 1);
    lua.lua_getfield(L, n, 'pool');
    const pt = lua.lua_type(L, -1);
    if (pt === lua.LUA_TNUMBER || pt === lua.LUA_TSTRING) customKey = bytesToLatin1(lua.lua_tolstring(L, -1));
    else if (pt !== lua.LUA_TNIL) argError(L, n, `bad "pool" option type: ${typeNameAt(L, -1)}`);
    lua.lua_pop(L, 1);
    n--;
  }
  if (n === 4) n--;
  let port: number;
  let key: string;
  let keyBytes: Buffer | null = null;
  if (n === 3 && lua.lua_isnumber(L, 3)) {
    port = Math.trunc(lua.lua_tonumber(L, 3));
    if (port < 0 || port > 65535) return fail(L, `bad port number: ${port}`);
    // numbers are LuaJIT-style floats: an integral one prints as its digits, like String(port)
    const plain = lua.lua_type(L, 3) === lua.LUA_TNUMBER && port === lua.lua_tonumber(L, 3);
    if (customKey !== null) key = customKey;
    else if (plain) {
      const k = poolKey(host, port);
      key = k.text;
      keyBytes = k.bytes;
    } else key = `${host}:${bytesToLatin1(lua.lua_tolstring(L, 3))}`;
  } else if (host.length >= 5 && host.slice(0, 5).toLowerCase() === 'unix:') {
    port = 0;
    key = customKey ?? host;
  } else {
    return fail(L, 'missing the port number');
  }
  const u = selfObject(L, TcpSock);
  if (u === null) luaErrorWhere(L, 'bad socket object');
  u.key = key;
  // the pool key lives in slot 3 of the object, as in lua-nginx-module
  if (keyBytes !== null) lua.lua_pushlstring(L, keyBytes, keyBytes.length);
  else pushLatin1(L, key);
  lua.lua_rawseti(L, 1, 3);
  const log = logCtx();
  if (u.hasU) {
    if (u.owner !== null && u.owner !== owner) luaErrorWhere(L, 'bad request');
    const busy = busyError(u, true, true, true);
    if (busy !== null) return fail(L, busy);
    if (u.kind !== Kind.Upstream) luaErrorWhere(L, 'attempt to re-connect a request socket');
    if (u.conn !== null) {
      debug('lua tcp socket reconnect without shutting down', log);
      u.finalize();
    }
    debug('lua reuse socket upstream ctx', log);
  }
  u.resetUpstream(owner, conf, log);
  let spool = pools.get(key) ?? null;
  if (spool === null && poolSize > 0) spool = createPool(key, poolSize, backlog, log);
  u.pool = spool;
  const rc = connectHelper(L, u, host, port, false, currentTask()!);
  if (rc === PENDING) {
    return suspend(L);
  }
  return rc;
}

/** ngx_http_lua_socket_tcp_connect_helper: reuse a pooled connection, queue behind the pool's
 *  backlog, or resolve and connect. Pushes results on L and returns their count, or PENDING when
 *  `task` will be resumed with them later. */
export function connectHelper(L: LuaState, u: TcpSock, host: string, port: number, resuming: boolean, task: LuaTask): number {
  const p = u.pool;
  if (p !== null) {
    if (getKeepalivePeer(u)) {
      lua.lua_pushnumber(L, 1);
      return 1;
    }
    p.connections++;
    if (p.backlog >= 0 && !resuming) {
      if (p.connections > p.size + p.backlog) {
        p.connections--;
        return fail(L, 'too many waiting connect operations');
      }
      if (p.connections > p.size) {
        queueConnect(u, host, port);
        return PENDING;
      }
    }
  }
  u.peerName = host;
  u.peerPort = port;
  let target: net.NetConnectOpts;
  let display: string;
  if (host.length >= 5 && host.slice(0, 5).toLowerCase() === 'unix:') {
    const path = host.slice(5);
    if (path.length === 0) return failed(L, u, `failed to parse host name "${host}": no path in the unix domain socket`);
    target = { path, allowHalfOpen: true };
    display = host;
  } else {
    let h = host;
    if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
    if (h.length === 0) return failed(L, u, `failed to parse host name "${host}": no host`);
    if (debugOn()) debug(`lua tcp socket connect timeout: ${u.connectTimeout}`, u.log);
    const addr = resolveNow(h);
    if (addr === null) {
      // resolve first; the connection starts from the resolver's callback
      u.connWaiting = true;
      u.connTask = task;
      let cancelled = false;
      u.pendingCancel = () => {
        cancelled = true;
        u.connWaiting = false;
        if (p !== null) {
          p.connections--;
          resumeConnOp(p);
        }
      };
      resolveLater(h, (err, a) => {
        if (cancelled) return;
        u.pendingCancel = null;
        u.connWaiting = false;
        if (err !== null || a === null) {
          debug(`lua tcp socket resolver error: ${err}`, u.log);
          const t = u.connTask;
          u.connTask = null;
          if (p !== null) {
            p.connections--;
            resumeConnOp(p);
          }
          if (t === null || t.done) return;
          lua.lua_pushnil(t.co);
          pushString(t.co, err ?? 'resolver not working');
          resume(t, 2);
          return;
        }
        debug(`name was resolved to ${a}`, u.log);
        const t = u.connTask!;
        u.connTask = null;
        if (t.done) {
          if (p !== null) {
            p.connections--;
            resumeConnOp(p);
          }
          return;
        }
        const rc = startConnect(t.co, u, { host: a, port, allowHalfOpen: true }, `${a}`, port, t);
        if (rc !== PENDING) resume(t, rc);
      });
      return PENDING;
    }
    debug('lua tcp socket network address given directly', u.log);
    target = { host: addr, port, allowHalfOpen: true };
    display = addr;
  }
  return startConnect(L, u, target, display, port, task);
}

/** A failure before any connection exists ("failed:" in the C helper). */
function failed(L: LuaState, u: TcpSock, msg: string): number {
  const p = u.pool;
  if (p !== null) {
    p.connections--;
    resumeConnOp(p);
  }
  return fail(L, msg);
}

/** ngx_event_connect_peer + the connected/timeout handlers. */
function startConnect(L: LuaState, u: TcpSock, target: net.NetConnectOpts, display: string, port: number, task: LuaTask): number {
  if (u.bindAddr !== null && !('path' in target)) (target as net.TcpNetConnectOpts).localAddress = u.bindAddr;
  const s = upstreamSocket();
  adoptSocket(s, u);
  u.conn = s;
  u.register();
  u.onConnected = connected;
  u.onConnFailed = connectFailed;
  u.peerName = display;
  u.peerPort = port;
  u.waitConnect(task, u.connectTimeout, connectTimedOut);
  try {
    s.connect(target);
  } catch (e) {
    u.connWaiting = false;
    u.connTask = null;
    u.onConnected = u.onConnFailed = null;
    if (u.connTimer !== null) clearTimeout(u.connTimer);
    u.connTimer = null;
    u.sockErr = e as NodeJS.ErrnoException;
    u.finalize();
    return fail(L, errText(u.sockErr));
  }
  return PENDING;
}

function connected(u: TcpSock): void {
  debug('lua tcp socket connected', u.log);
  const s = u.conn;
  if (s !== null) s.setNoDelay(true);
  u.finishConnect(pushOne);
}

function pushOne(L: LuaState): number {
  lua.lua_pushnumber(L, 1);
  return 1;
}

function connectFailed(u: TcpSock, err: NodeJS.ErrnoException): void {
  const [no, text] = errnoOf(err);
  const syscall = err.syscall ?? 'connect';
  const isUnix = u.peerName.slice(0, 5).toLowerCase() === 'unix:';
  if (syscall === 'bind') {
    logError(Level.Crit, `bind(${u.bindAddr}) failed (${no}: ${text})`, u.log);
  } else if (isUnix) {
    // unix sockets fail inside connect(2) itself: ngx_event_connect_peer logs them unconditionally
    const soft = err.code === 'ECONNREFUSED' || err.code === 'EAGAIN' || err.code === 'ECONNRESET';
    logError(soft ? Level.Err : Level.Crit, `connect() to ${u.peerName} failed (${no}: ${text})`, u.log);
  } else if (u.conf.luaSocketLogErrors) {
    logError(Level.Err, `connect() failed (${no}: ${text})`, u.log);
  }
  u.sockErr = err;
  u.finalize();
  u.finishConnect(pushConnError);
}

function pushConnError(L: LuaState, u: TcpSock): number {
  lua.lua_pushnil(L);
  pushString(L, errText(u.sockErr));
  return 2;
}

function connectTimedOut(u: TcpSock): void {
  u.connTimer = null;
  if (!u.connWaiting) return;
  if (u.conf.luaSocketLogErrors) {
    logError(Level.Err, `lua tcp socket connect timed out, when connecting to ${u.peerName}:${u.peerPort}`, u.log);
  }
  u.finalize();
  u.finishConnect(pushTimeout);
}

function pushTimeout(L: LuaState): number {
  lua.lua_pushnil(L);
  pushString(L, 'timeout');
  return 2;
}
