// The Lua methods of TCP cosocket objects other than connect/setkeepalive/sslhandshake:
// receive, receiveany, receiveuntil (and its iterator), send, close, settimeout(s),
// getreusedtimes, setoption/getoption and bind (ngx_http_lua_socket_tcp.c, lua-resty-core's
// socket.lua for the options).
import * as net from 'node:net';
import { lua, lauxlib } from '../lua/fengari.js';
import { ByteSink, S, luaErrorWhere, bytesToLatin1, type LuaState } from '../lua/bridge.js';
import { currentTask, suspend, suspendThen } from '../lua/scheduler.js';
import { logError, Level } from '../log/errorlog.js';
import { TcpSock, Kind } from './socket-tcp.js';
import { Filter, UntilPattern, OK, ERROR, AGAIN, type MessageReader } from './socket-buffer.js';
import {
  currentOwner, currentSettings, checkCosocketContext, debug, debugOn, logCtx, selfObject, argError, typeNameAt,
} from './socket-common.js';
import { busyError, closed, fail } from './socket-pool.js';

const ZERO_PTR = '0000000000000000';

function isOpen(u: TcpSock | null): u is TcpSock {
  return u !== null && u.hasU && (u.conn !== null || (u.kind === Kind.Body && !u.readClosed));
}

function ownerCheck(L: LuaState, u: TcpSock): void {
  const owner = currentOwner();
  if (owner === null) luaErrorWhere(L, 'no request found');
  if (u.owner !== owner) luaErrorWhere(L, 'bad request');
}

function closedSocketLog(u: TcpSock | null, what: string): void {
  const conf = u !== null && u.hasU ? u.conf : currentSettings();
  if (!conf.luaSocketLogErrors) return;
  const up = u !== null && u.hasU ? u.ptr : ZERO_PTR;
  const c = u !== null && u.conn !== null ? u.ptr : ZERO_PTR;
  const ft = u !== null ? u.ft : 0;
  const eof = u !== null && u.eof ? 1 : 0;
  logError(Level.Err, `attempt to ${what} data on a closed socket: u:${up}, c:${c}, ft:${ft} eof:${eof}`, u?.log ?? null);
}

// ---- receive ----------------------------------------------------------------------------------

/** The checks a receive, a send or a one-message exchange starts with (`read`/`write`: the
 *  directions the call uses, which must be open and not busy; a call that writes is refused on a
 *  closed write side, one that only reads on a closed read side): the object's TcpSock, or null
 *  with the failure results (nil, err) pushed. */
function usable(L: LuaState, read: boolean, write: boolean): TcpSock | null {
  if (currentOwner() === null) luaErrorWhere(L, 'no request found');
  const u = selfObject(L, TcpSock);
  if (!isOpen(u) || (write ? u.writeClosed : u.readClosed)) {
    closedSocketLog(u, write ? 'send' : 'receive');
    closed(L);
    return null;
  }
  ownerCheck(L, u);
  const busy = busyError(u, true, read, write);
  if (busy !== null) {
    fail(L, busy);
    return null;
  }
  return u;
}

export function tcpReceive(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 1 && n !== 2) luaErrorWhere(L, `expecting 1 or 2 arguments (including the object), but got ${n}`);
  const u = usable(L, true, false);
  if (u === null) return 2;
  if (debugOn()) {
    debug('lua tcp socket calling receive() method', u.log);
    debug(`lua tcp socket read timeout: ${u.readTimeout}`, u.log);
  }
  if (n > 1) {
    if (lua.lua_isnumber(L, 2)) {
      const bytes = Math.trunc(lua.lua_tonumber(L, 2));
      if (bytes < 0) argError(L, 2, 'bad pattern argument');
      if (bytes === 0) {
        lua.lua_pushlstring(L, EMPTY, 0);
        return 1;
      }
      u.filter = Filter.Chunk;
      u.length = u.rest = bytes;
    } else if (lua.lua_type(L, 2) === lua.LUA_TSTRING) {
      const pat = lua.lua_tolstring(L, 2) as Uint8Array;
      if (pat.length !== 2 || pat[0] !== 42) argError(L, 2, `bad pattern argument: ${bytesToLatin1(pat)}`);
      if (pat[1] === 108) u.filter = Filter.Line;
      else if (pat[1] === 97) u.filter = Filter.All;
      else argError(L, 2, 'bad pattern argument');
      u.length = u.rest = 0;
    } else {
      argError(L, 2, 'bad pattern argument');
    }
  } else {
    u.filter = Filter.Line;
    u.length = u.rest = 0;
  }
  return receiveHelper(L, u);
}
const EMPTY = new Uint8Array(0);

function receiveHelper(L: LuaState, u: TcpSock): number {
  u.readWaiting = false;
  u.readTask = null;
  if (u.filter === Filter.Any) debug('lua tcp socket read any', u.log);
  const rc = u.read();
  if (rc !== AGAIN) {
    debug('lua tcp socket receive done in a single run', u.log);
    return u.receiveRetvals(L);
  }
  u.waitRead(currentTask()!);
  lua.lua_settop(L, 0);
  return suspend(L);
}

export function tcpReceiveAny(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 2) luaErrorWhere(L, `expecting 2 arguments (including the object), but got ${n}`);
  const u = usable(L, true, false);
  if (u === null) return 2;
  if (!lua.lua_isnumber(L, 2)) argError(L, 2, 'bad max argument');
  const bytes = Math.trunc(lua.lua_tonumber(L, 2));
  if (bytes <= 0) argError(L, 2, 'bad max argument');
  u.filter = Filter.Any;
  u.length = u.rest = bytes;
  debug(`lua tcp socket calling receiveany() method to read at most ${bytes} bytes`, u.log);
  return receiveHelper(L, u);
}

export function tcpReceiveUntil(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 2 && n !== 3) luaErrorWhere(L, `expecting 2 or 3 arguments (including the object), but got ${n}`);
  let inclusive = false;
  if (n === 3) {
    lauxlib.luaL_checktype(L, 3, lua.LUA_TTABLE);
    lua.lua_getfield(L, 3, S('inclusive'));
    const t = lua.lua_type(L, -1);
    if (t === lua.LUA_TBOOLEAN) inclusive = lua.lua_toboolean(L, -1);
    else if (t !== lua.LUA_TNIL) luaErrorWhere(L, `bad "inclusive" option value type: ${typeNameAt(L, -1)}`);
    lua.lua_pop(L, 1);
  }
  if (currentOwner() === null) luaErrorWhere(L, 'no request found');
  debug('lua tcp socket calling receiveuntil() method', null);
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  const pat = lauxlib.luaL_checklstring(L, 2) as Uint8Array;
  if (pat.length === 0) return fail(L, 'pattern is empty');
  const cp = new UntilPattern(Uint8Array.from(pat), inclusive);
  lua.lua_pushvalue(L, 1);
  lua.lua_pushvalue(L, 2);
  lua.lua_pushlightuserdata(L, cp);
  lua.lua_pushcclosure(L, untilIterator, 3);
  return 1;
}

function untilIterator(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n > 1) luaErrorWhere(L, `expecting 0 or 1 arguments, but seen ${n}`);
  let bytes = 0;
  if (n >= 1) {
    bytes = Math.trunc(lauxlib.luaL_checknumber(L, 1));
    if (bytes < 0) bytes = 0;
  }
  lua.lua_rawgeti(L, lua.lua_upvalueindex(1), 1);
  const ud = lua.lua_type(L, -1) === lua.LUA_TLIGHTUSERDATA ? lua.lua_touserdata(L, -1) : null;
  lua.lua_pop(L, 1);
  const u = ud instanceof TcpSock ? ud : null;
  if (!isOpen(u) || u.readClosed) return closed(L);
  ownerCheck(L, u);
  const busy = busyError(u, true, true, false);
  if (busy !== null) return fail(L, busy);
  if (debugOn()) {
    debug('lua tcp socket receiveuntil iterator', u.log);
    debug(`lua tcp socket read timeout: ${u.readTimeout}`, u.log);
  }
  const cp = lua.lua_touserdata(L, lua.lua_upvalueindex(3)) as UntilPattern;
  u.filter = Filter.Until;
  if (cp.state === -1) {
    cp.state = 0;
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    return 3;
  }
  u.until = cp;
  u.length = u.rest = bytes;
  return receiveHelper(L, u);
}

// ---- send -------------------------------------------------------------------------------------

const sink = new ByteSink(1024);
const T_NIL = S('nil');
const T_TRUE = S('true');
const T_FALSE = S('false');

export function tcpSend(L: LuaState): number {
  if (lua.lua_gettop(L) !== 2) luaErrorWhere(L, `expecting 2 arguments (including the object), but got ${lua.lua_gettop(L)}`);
  const u = usable(L, false, true);
  if (u === null) return 2;
  if (u.kind === Kind.Body) luaErrorWhere(L, 'attempt to write to request sockets');
  if (debugOn()) debug(`lua tcp socket send timeout: ${u.sendTimeout}`, u.log);
  const data = sendData(L, 2);
  if (data.length === 0) {
    lua.lua_pushnumber(L, 0);
    return 1;
  }
  if (!u.nodelay) {
    u.nodelay = true;
    debug('lua socket tcp_nodelay', u.log);
  }
  u.writeWaiting = false;
  u.writeTask = null;
  const rc = u.write(data);
  if (rc === OK) {
    debug('lua tcp socket sent all the data', u.log);
    lua.lua_pushnumber(L, data.length);
    return 1;
  }
  if (rc === ERROR) return u.sendRetvals(L, ERROR);
  u.waitWrite(currentTask()!);
  lua.lua_settop(L, 0);
  return suspend(L);
}

// ---- one-message exchanges (tsresty's native protocol helpers) ------------------------------

/**
 * send() and a receive of one `reader`-delimited message in a single call, for native protocol
 * helpers (tsresty.redis): the cosocket object is argument 1; `data` is not touched after the
 * call. Results are `reader.push`'s, or send()'s / receive()'s failures (nil, err).
 */
export function sendMessage(L: LuaState, data: Uint8Array, reader: MessageReader): number {
  const u = usable(L, true, true);
  if (u === null) return 2;
  if (u.kind !== Kind.Upstream) luaErrorWhere(L, 'attempt to write to request sockets');
  if (!u.nodelay) {
    u.nodelay = true;
    debug('lua socket tcp_nodelay', u.log);
  }
  u.writeWaiting = false;
  u.writeTask = null;
  u.reader = reader;
  const rc = u.write(data);
  if (rc === OK) return readMessage(L, u);
  if (rc === ERROR) return u.sendRetvals(L, ERROR);
  u.waitWrite(currentTask()!);
  lua.lua_settop(L, 0);
  return suspendThen(L, u, afterMessageSent);
}

/** The send half waited: on success (send()'s result is the byte count) go on reading. */
function afterMessageSent(L: LuaState, _status: number, u: TcpSock): number {
  if (lua.lua_type(L, -1) !== lua.LUA_TNUMBER) return 2; // nil, err
  return readMessage(L, u);
}

/** Receive one `reader`-delimited message on the cosocket at argument 1 (see sendMessage). */
export function receiveMessage(L: LuaState, reader: MessageReader): number {
  const u = usable(L, true, false);
  if (u === null) return 2;
  u.reader = reader;
  return readMessage(L, u);
}

function readMessage(L: LuaState, u: TcpSock): number {
  if (u.readClosed) {
    closedSocketLog(u, 'receive');
    return closed(L);
  }
  u.filter = Filter.Message;
  u.length = u.rest = 0;
  return receiveHelper(L, u);
}

/** The bytes of send()'s argument: string, number, boolean, nil, or a (nested) array table of
 *  strings and numbers (ngx_http_lua_calc_strlen_in_table in strict mode). */
export function sendData(L: LuaState, idx: number): Uint8Array {
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TSTRING:
    case lua.LUA_TNUMBER:
      return lua.lua_tolstring(L, idx);
    case lua.LUA_TNIL:
      return T_NIL;
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, idx) ? T_TRUE : T_FALSE;
    case lua.LUA_TTABLE:
      sink.len = 0;
      appendTable(L, lua.lua_absindex(L, idx), idx);
      return sink.take();
    default:
      return argError(L, idx, `string, number, boolean, nil, or array table expected, got ${typeNameAt(L, idx)}`);
  }
}

function appendTable(L: LuaState, t: number, arg: number): void {
  let max = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, t) !== 0) {
    lua.lua_pop(L, 1);
    const k = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : NaN;
    if (!(k >= 1 && Math.floor(k) === k)) {
      lua.lua_pop(L, 1);
      sink.len = 0;
      argError(L, arg, 'non-array table found');
    }
    if (k > max) max = k;
  }
  for (let i = 1; i <= max; i++) {
    lua.lua_rawgeti(L, t, i);
    const ty = lua.lua_type(L, -1);
    if (ty === lua.LUA_TSTRING || ty === lua.LUA_TNUMBER) sink.push(lua.lua_tolstring(L, -1));
    else if (ty === lua.LUA_TTABLE) appendTable(L, lua.lua_absindex(L, -1), arg);
    else {
      sink.len = 0;
      const name = ty === lua.LUA_TLIGHTUSERDATA ? 'userdata' : typeNameAt(L, -1);
      argError(L, arg, `bad data type ${name} found`);
    }
    lua.lua_pop(L, 1);
  }
}

// ---- close, timeouts, misc --------------------------------------------------------------------

export function tcpClose(L: LuaState): number {
  if (lua.lua_gettop(L) !== 1) luaErrorWhere(L, `expecting 1 argument (including the object) but seen ${lua.lua_gettop(L)}`);
  if (currentOwner() === null) luaErrorWhere(L, 'no request found');
  const u = selfObject(L, TcpSock);
  if (!isOpen(u) || (u.readClosed && u.writeClosed)) return closed(L);
  ownerCheck(L, u);
  const busy = busyError(u, true, true, true);
  if (busy !== null) return fail(L, busy);
  if (u.kind !== Kind.Upstream) return fail(L, 'attempt to close a request socket');
  u.finalize();
  lua.lua_pushnumber(L, 1);
  return 1;
}

function timeoutArg(L: LuaState, idx: number): number {
  const t = Math.trunc(lua.lua_tonumber(L, idx));
  if (t < 0 || t >= 2147483648) luaErrorWhere(L, 'bad timeout value');
  return t;
}

export function tcpSetTimeout(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 2) luaErrorWhere(L, `ngx.socket settimeout: expecting 2 arguments (including the object) but seen ${n}`);
  const t = timeoutArg(L, 2);
  const u = selfObject(L, TcpSock);
  storeTimeouts(L, t, t, t);
  if (u === null) return 0;
  u.tConnect = u.tSend = u.tRead = t;
  if (u.hasU) {
    const c = u.conf;
    u.connectTimeout = t > 0 ? t : c.luaSocketConnectTimeout;
    u.sendTimeout = t > 0 ? t : c.luaSocketSendTimeout;
    u.readTimeout = t > 0 ? t : c.luaSocketReadTimeout;
  }
  return 0;
}

export function tcpSetTimeouts(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 4) luaErrorWhere(L, `ngx.socket settimeout: expecting 4 arguments (including the object) but seen ${n}`);
  const ct = timeoutArg(L, 2);
  const st = timeoutArg(L, 3);
  const rt = timeoutArg(L, 4);
  const u = selfObject(L, TcpSock);
  storeTimeouts(L, ct, st, rt);
  if (u === null) return 0;
  u.tConnect = ct;
  u.tSend = st;
  u.tRead = rt;
  if (u.hasU) {
    const c = u.conf;
    u.connectTimeout = ct > 0 ? ct : c.luaSocketConnectTimeout;
    u.sendTimeout = st > 0 ? st : c.luaSocketSendTimeout;
    u.readTimeout = rt > 0 ? rt : c.luaSocketReadTimeout;
  }
  return 0;
}

/** lua-nginx-module keeps the timeouts in the object's slots 2 (connect), 4 (send) and 5 (read);
 *  code that counts the object's entries sees them. */
function storeTimeouts(L: LuaState, ct: number, st: number, rt: number): void {
  lua.lua_pushnumber(L, ct);
  lua.lua_rawseti(L, 1, 2);
  lua.lua_pushnumber(L, st);
  lua.lua_rawseti(L, 1, 4);
  lua.lua_pushnumber(L, rt);
  lua.lua_rawseti(L, 1, 5);
}

export function tcpGetReusedTimes(L: LuaState): number {
  if (lua.lua_gettop(L) !== 1) luaErrorWhere(L, `expecting 1 argument (including the object), but got ${lua.lua_gettop(L)}`);
  const u = selfObject(L, TcpSock);
  if (!isOpen(u) || (u.readClosed && u.writeClosed)) return closed(L);
  lua.lua_pushnumber(L, u.reused);
  return 1;
}

const OPTIONS: Record<string, number> = { keepalive: 1, reuseaddr: 2, 'tcp-nodelay': 3, sndbuf: 4, rcvbuf: 5 };

/** lua-resty-core's tcpsock:setoption(option, value). Node exposes SO_KEEPALIVE and
 *  TCP_NODELAY; reuseaddr/sndbuf/rcvbuf are remembered (and reported by getoption) only. */
export function tcpSetOption(L: LuaState): number {
  if (lua.lua_gettop(L) < 1 || lua.lua_isnoneornil(L, 1)) luaErrorWhere(L, 'ngx.socket setoption: expecting the cosocket object, but seen none');
  if (lua.lua_isnoneornil(L, 2)) return fail(L, 'missing the "option" argument');
  if (lua.lua_isnoneornil(L, 3)) return fail(L, 'missing the "value" argument');
  const u = selfObject(L, TcpSock);
  const name = bytesToLatin1(lauxlib.luaL_tolstring(L, 2));
  lua.lua_pop(L, 1);
  const opt = OPTIONS[name];
  if (opt === undefined) return fail(L, `unsupported option ${name}`);
  if (u === null || u.conn === null) return fail(L, 'closed');
  const v = lua.lua_type(L, 3) === lua.LUA_TBOOLEAN ? (lua.lua_toboolean(L, 3) ? 1 : 0) : Math.trunc(lua.lua_tonumber(L, 3));
  const s = u.conn;
  if (opt === 1 && s instanceof net.Socket) s.setKeepAlive(v !== 0);
  else if (opt === 3 && s instanceof net.Socket) s.setNoDelay(v !== 0);
  (u.options ??= [])[opt] = v;
  lua.lua_pushboolean(L, true);
  return 1;
}

export function tcpGetOption(L: LuaState): number {
  if (lua.lua_gettop(L) < 1 || lua.lua_isnoneornil(L, 1)) luaErrorWhere(L, 'ngx.socket getoption: expecting the cosocket object, but seen none');
  if (lua.lua_isnoneornil(L, 2)) return fail(L, 'missing the "option" argument');
  const u = selfObject(L, TcpSock);
  const name = bytesToLatin1(lauxlib.luaL_tolstring(L, 2));
  lua.lua_pop(L, 1);
  const opt = OPTIONS[name];
  if (opt === undefined) return fail(L, `unsupported option ${name}`);
  if (u === null || u.conn === null) return fail(L, 'closed');
  const v = u.options === null ? undefined : u.options[opt];
  lua.lua_pushnumber(L, v !== undefined ? v : opt === 3 ? 1 : opt === 4 ? 16384 : opt === 5 ? 131072 : 0);
  return 1;
}

/** tcpsock:bind(ip): the local address for the next connect. */
export function tcpBind(L: LuaState): number {
  if (currentOwner() === null) luaErrorWhere(L, 'no request found');
  checkCosocketContext(L);
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  const ip = bytesToLatin1(lauxlib.luaL_checklstring(L, 2));
  let a = ip;
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  if (!net.isIP(a)) return fail(L, 'bad address');
  const u = selfObject(L, TcpSock);
  if (u !== null) u.bindAddr = a;
  debug(`lua tcp socket bind ip: ${ip}`, logCtx());
  lua.lua_pushboolean(L, true);
  return 1;
}

