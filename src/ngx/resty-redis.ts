// Native helpers of lua/resty/redis.lua (require "tsresty.redis"): RESP encoding, and whole
// replies read in one call through the cosocket's one-message reads (building "*N\r\n$len..."
// with Lua concatenation, then a receive() and a parse per reply line, was most of a command's
// cost on fengari).
//
//   gen_req(cmd, arg1, ...)     -> the command as a RESP array of bulk strings (pipelines, pub/sub)
//   call(sock, cmd, arg1, ...)  -> sends the command and reads its reply; a read timeout closes
//                                  the connection (a late reply must not reach its next user)
//   read_reply(sock, close_on_timeout) -> the next reply
// Arguments are converted like lua-resty-redis does (tostring for non-strings; numbers with
// LuaJIT's %.14g through the patched lua_tolstring). Replies are lua-resty-redis's: status ->
// string, integer -> number, bulk -> string (nil bulk -> ngx.null), multi-bulk -> table (nil one
// -> ngx.null, error elements -> {false, err}), error -> false, err; connection failures give
// nil, err and bytes that are no reply nil, 'unknown prefix: "<byte>"'.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, pushString, setFuncs, type LuaState } from '../lua/bridge.js';
import { definePreload } from './registry.js';
import { NULL_SENTINEL } from './constants.js';
import { sendMessage, receiveMessage, tcpSetTimeout, tcpSetTimeouts, tcpGetReusedTimes } from './socket-tcp-api.js';
import { tcpSetKeepalive, fail } from './socket-pool.js';
import { tcpConnect } from './socket-connect.js';
import { tcpNew } from './socket.js';
import type { MessageReader } from './socket-buffer.js';

const T_TRUE = S('true');
const T_FALSE = S('false');
const T_NIL = S('nil');

function argBytes(L: LuaState, i: number): Uint8Array {
  switch (lua.lua_type(L, i)) {
    case lua.LUA_TSTRING:
    case lua.LUA_TNUMBER:
      return lua.lua_tolstring(L, i);
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, i) ? T_TRUE : T_FALSE;
    case lua.LUA_TNIL:
      return T_NIL;
    default: {
      const b = lauxlib.luaL_tolstring(L, i);
      lua.lua_pop(L, 1);
      return b;
    }
  }
}

// ---- requests ---------------------------------------------------------------------------------

/** the arguments of the command being encoded (kept across calls: no array per command) */
const args: Uint8Array[] = [];
const NO_BYTES = new Uint8Array(0);
let encoding = false;

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : String(n).length;
}

function putCount(out: Buffer, p: number, prefix: number, n: number): number {
  out[p++] = prefix;
  if (n < 10) out[p++] = 48 + n;
  else p += out.write(String(n), p, 'latin1');
  out[p++] = 13;
  out[p++] = 10;
  return p;
}

/** The arguments from `from` to the top as a RESP array of bulk strings, in a Buffer of its own
 *  (a socket write may hold on to it). */
function encode(L: LuaState, from: number, first: Uint8Array | null = null): Buffer {
  // an argument's __tostring is Lua code that may encode a command too: that one gets its own list
  const list = encoding ? [] : args;
  encoding = true;
  let n = 0;
  try {
    let total = 0;
    if (first !== null) {
      list[n++] = first;
      total += 5 + digits(first.length) + first.length;
    }
    for (let i = from, top = lua.lua_gettop(L); i <= top; i++) {
      const b = argBytes(L, i);
      list[n++] = b;
      total += 5 + digits(b.length) + b.length;
    }
    total += 3 + digits(n);
    const out = Buffer.allocUnsafe(total);
    let p = putCount(out, 0, 42, n); // *
    for (let i = 0; i < n; i++) {
      const b = list[i];
      p = putCount(out, p, 36, b.length); // $
      out.set(b, p);
      p += b.length;
      out[p++] = 13;
      out[p++] = 10;
    }
    return out;
  } finally {
    if (list === args) {
      encoding = false;
      for (let i = 0; i < n; i++) args[i] = NO_BYTES; // no Lua string outlives its command here
    }
  }
}

function genReq(L: LuaState): number {
  const b = encode(L, 1);
  lua.lua_pushlstring(L, b, b.length);
  return 1;
}

// ---- replies ----------------------------------------------------------------------------------

/** Decimal integer in b[from..end); every "\r" is skipped, as lua-resty-redis reads reply lines
 *  with receive("*l"), which drops them. NaN when malformed. */
function lineInt(b: Buffer, from: number, end: number): number {
  let neg = false;
  let any = false;
  let v = 0;
  for (let i = from; i < end; i++) {
    const c = b[i];
    if (c === 13) continue;
    if (c === 45 && !any && !neg) {
      neg = true;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return NaN;
    v = v * 10 + d;
    any = true;
  }
  if (!any) return NaN;
  return neg ? -v : v;
}

/** Where a line's text starts: its first byte other than "\r" (nl if none). */
function lineStart(b: Buffer, pos: number, nl: number): number {
  while (pos < nl && b[pos] === 13) pos++;
  return pos;
}

/** End offset of the complete reply starting at b[pos], or -1 if more bytes are needed. Counts
 *  the elements still to come instead of recursing: a server's nesting depth costs no JS stack. */
function scanReply(b: Buffer, pos: number): number {
  let pending = 1;
  let p = pos;
  while (pending > 0) {
    if (p >= b.length) return -1;
    const nl = b.indexOf(10, p);
    if (nl < 0) return -1;
    const s = lineStart(b, p, nl);
    const t = s < nl ? b[s] : -1;
    pending--;
    p = nl + 1;
    if (t !== 36 && t !== 42) continue; // one line: status, error, integer or garbage
    const n = lineInt(b, s + 1, nl);
    if (!(n >= 0)) continue; // nil bulk / nil multi-bulk / malformed
    if (t === 42) pending += n;
    else if ((p += n + 2) > b.length) return -1;
  }
  return p;
}

/** A status or error line's text: the line without its prefix and "\r"s. */
function pushLine(L: LuaState, b: Buffer, from: number, nl: number): void {
  let end = nl;
  if (end > from && b[end - 1] === 13) end--;
  let cr = -1;
  for (let i = from; i < end; i++) {
    if (b[i] === 13) {
      cr = i;
      break;
    }
  }
  if (cr < 0) {
    lua.lua_pushlstring(L, b.subarray(from, end), end - from);
    return;
  }
  const kept: number[] = [];
  for (let i = from; i < end; i++) if (b[i] !== 13) kept.push(b[i]);
  lua.lua_pushlstring(L, new Uint8Array(kept), kept.length);
}

const V_VALUE = 0; // one value pushed
const V_ERROR = 1; // an error reply: its message pushed
const V_BAD = 2; // no reply: the error message pushed

let cursor = 0;

/** multi-bulk replies nest a few levels deep; deeper is refused (bounded JS and Lua stacks) */
const MAX_DEPTH = 100;

/** Push the reply at b[cursor] (scanReply found it complete) and move the cursor past it. */
function pushValue(L: LuaState, b: Buffer, depth: number): number {
  const nl = b.indexOf(10, cursor);
  const pos = lineStart(b, cursor, nl);
  cursor = nl + 1;
  const t = pos < nl ? b[pos] : -1;
  switch (t) {
    case 43: // +
      pushLine(L, b, pos + 1, nl);
      return V_VALUE;
    case 45: // -
      pushLine(L, b, pos + 1, nl);
      return V_ERROR;
    case 58: {
      // :
      const n = lineInt(b, pos + 1, nl);
      if (n !== n) break;
      lua.lua_pushnumber(L, n);
      return V_VALUE;
    }
    case 36: {
      // $
      const n = lineInt(b, pos + 1, nl);
      if (n !== n) break;
      if (n < 0) lua.lua_pushlightuserdata(L, NULL_SENTINEL);
      else {
        lua.lua_pushlstring(L, b.subarray(cursor, cursor + n), n);
        cursor += n + 2;
      }
      return V_VALUE;
    }
    case 42: {
      // *
      const n = lineInt(b, pos + 1, nl);
      if (n !== n) break;
      if (n < 0) {
        lua.lua_pushlightuserdata(L, NULL_SENTINEL);
        return V_VALUE;
      }
      if (depth >= MAX_DEPTH) {
        pushString(L, 'reply nested too deeply');
        return V_BAD;
      }
      lauxlib.luaL_checkstack(L, 3, S('reply nested too deeply'));
      lua.lua_createtable(L, n, 0);
      for (let i = 1; i <= n; i++) {
        const k = pushValue(L, b, depth + 1);
        if (k === V_ERROR) {
          // { false, err }
          lua.lua_createtable(L, 2, 0);
          lua.lua_insert(L, -2);
          lua.lua_rawseti(L, -2, 2);
          lua.lua_pushboolean(L, false);
          lua.lua_rawseti(L, -2, 1);
        } else if (k === V_BAD) {
          lua.lua_remove(L, -2); // the whole reply fails
          return V_BAD;
        }
        lua.lua_rawseti(L, -2, i);
      }
      return V_VALUE;
    }
  }
  pushString(L, `unknown prefix: "${t < 0 ? 'nil' : t}"`);
  return V_BAD;
}

function pushReply(L: LuaState, b: Buffer, start: number): number {
  cursor = start;
  const k = pushValue(L, b, 0);
  if (k === V_VALUE) return 1;
  if (k === V_ERROR) lua.lua_pushboolean(L, false);
  else lua.lua_pushnil(L);
  lua.lua_insert(L, -2);
  return 2;
}

const REPLY: MessageReader = { scan: scanReply, push: pushReply, closeOnTimeout: true };
const REPLY_KEEP: MessageReader = { scan: scanReply, push: pushReply, closeOnTimeout: false };

function call(L: LuaState): number {
  return sendMessage(L, encode(L, 2), REPLY);
}

/** A command method, red:<cmd>(...) (upvalues: the command's name, and do_cmd for objects in
 *  pub/sub, pipeline, transaction or module-prefix state). */
function command(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  if (!flag(L, K_SLOW)) {
    lua.lua_getfield(L, 1, K_SOCK);
    if (!lua.lua_isnil(L, -1)) {
      lua.lua_replace(L, 1);
      return sendMessage(L, encode(L, 2, lua.lua_tolstring(L, lua.lua_upvalueindex(1))), REPLY);
    }
    lua.lua_pop(L, 1);
  }
  const n = lua.lua_gettop(L);
  lua.lua_pushvalue(L, lua.lua_upvalueindex(1));
  lua.lua_insert(L, 2);
  lua.lua_pushvalue(L, lua.lua_upvalueindex(2));
  lua.lua_insert(L, 1);
  lua.lua_callk(L, n + 1, lua.LUA_MULTRET, 0, allResults);
  return lua.lua_gettop(L);
}

/** command(name, do_cmd) -> the method for that command */
function makeCommand(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TSTRING);
  lua.lua_settop(L, 2);
  lua.lua_pushcclosure(L, command, 2);
  return 1;
}

function readReply(L: LuaState): number {
  const reader = lua.lua_toboolean(L, 2) ? REPLY : REPLY_KEEP;
  lua.lua_settop(L, 1);
  return receiveMessage(L, reader);
}

// ---- object methods that pass on to the cosocket ---------------------------------------------
// The Lua versions were a call, a field read or two and a method call each: a few microseconds of
// fengari per request for new + set_timeout + connect + set_keepalive.

// field names as JS strings: fengari finds the key's Lua string by a Map lookup (a byte array key
// costs a WeakMap lookup and a byte compare)
const K_SOCK = '_sock';
/** set (by lua/resty/redis.lua) whenever any of the state below is: one lookup in the common case */
const K_SLOW = '_slow';
const K_IN_TX = '_in_tx';
const K_SUBSCRIBED = '_subscribed';

/** Replace `self` (argument 1) by self._sock; false (nothing pushed) when there is none. */
function selfToSock(L: LuaState): boolean {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_getfield(L, 1, K_SOCK);
  if (lua.lua_isnil(L, -1)) {
    lua.lua_pop(L, 1);
    return false;
  }
  lua.lua_replace(L, 1);
  return true;
}

function notInitialized(L: LuaState): number {
  return fail(L, 'not initialized');
}

/** red:new(): { _sock = ngx.socket.tcp() } with the class metatable (upvalue 1). */
function newObject(L: LuaState): number {
  lua.lua_settop(L, 0);
  tcpNew(L);
  lua.lua_createtable(L, 0, 1);
  lua.lua_insert(L, 1);
  lua.lua_setfield(L, 1, K_SOCK);
  lua.lua_pushvalue(L, lua.lua_upvalueindex(1));
  lua.lua_setmetatable(L, 1);
  return 1;
}

function setTimeout(L: LuaState): number {
  lua.lua_settop(L, 2);
  if (!selfToSock(L)) lauxlib.luaL_error(L, S('not initialized'));
  tcpSetTimeout(L);
  return 0;
}

function setTimeouts(L: LuaState): number {
  lua.lua_settop(L, 4);
  if (!selfToSock(L)) lauxlib.luaL_error(L, S('not initialized'));
  tcpSetTimeouts(L);
  return 0;
}

function getReusedTimes(L: LuaState): number {
  lua.lua_settop(L, 1);
  return selfToSock(L) ? tcpGetReusedTimes(L) : notInitialized(L);
}

/** A field of self that is true in Lua terms (through the class's defaults). */
function flag(L: LuaState, k: string): boolean {
  lua.lua_getfield(L, 1, k);
  const on = lua.lua_toboolean(L, -1);
  lua.lua_pop(L, 1);
  return on;
}

function setKeepalive(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  if (flag(L, K_SLOW)) {
    if (flag(L, K_SUBSCRIBED)) return fail(L, 'subscribed state');
    if (flag(L, K_IN_TX)) return fail(L, 'in transaction');
  }
  if (!selfToSock(L)) return notInitialized(L);
  return tcpSetKeepalive(L);
}

const UNIX = S('unix:');

/** red:connect(host, port) / connect("unix:/path"): without options, a cosocket connect (after
 *  leaving pub/sub, pipeline and transaction state behind); with options, the Lua implementation
 *  (upvalue 1: TLS, auth, select, pools). */
function connect(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if ((n >= 4 && !lua.lua_isnil(L, 4)) || lua.lua_type(L, 3) === lua.LUA_TTABLE) {
    lua.lua_pushvalue(L, lua.lua_upvalueindex(1));
    lua.lua_insert(L, 1);
    lua.lua_callk(L, n, lua.LUA_MULTRET, 0, allResults);
    return lua.lua_gettop(L);
  }
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  if (flag(L, K_SLOW)) resetState(L);
  lua.lua_settop(L, 3);
  if (!selfToSock(L)) return notInitialized(L);
  const host = lua.lua_type(L, 2) === lua.LUA_TSTRING ? lua.lua_tolstring(L, 2) : null;
  if (host !== null && startsWith(host, UNIX)) lua.lua_settop(L, 2); // a port is ignored
  return tcpConnect(L);
}

function allResults(L: LuaState): number {
  return lua.lua_gettop(L);
}

const RESET: [Uint8Array, boolean | number][] = [
  [S('_subscribed'), false], [S('_nchan'), 0], [S('_npat'), 0], [S('_in_tx'), false],
  [S('_reqs'), false], [S('_module_prefix'), false], [S('_slow'), false],
];

/** A reused object leaves pub/sub, pipeline and transaction state behind. */
function resetState(L: LuaState): void {
  for (const [k, v] of RESET) {
    if (typeof v === 'number') lua.lua_pushnumber(L, v);
    else lua.lua_pushboolean(L, v);
    lua.lua_setfield(L, 1, k);
  }
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  if (b.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (b[i] !== prefix[i]) return false;
  return true;
}

/** methods(class_mt, connect_with_options) -> the natively implemented methods */
function methods(L: LuaState): number {
  lua.lua_createtable(L, 0, 6);
  lua.lua_pushvalue(L, 1);
  lua.lua_pushcclosure(L, newObject, 1);
  lua.lua_setfield(L, -2, S('new'));
  lua.lua_pushvalue(L, 2);
  lua.lua_pushcclosure(L, connect, 1);
  lua.lua_setfield(L, -2, S('connect'));
  setFuncs(L, { set_timeout: setTimeout, set_timeouts: setTimeouts, set_keepalive: setKeepalive, get_reused_times: getReusedTimes });
  return 1;
}

definePreload('tsresty.redis', (L) => {
  lua.lua_createtable(L, 0, 5);
  setFuncs(L, { gen_req: genReq, call, read_reply: readReply, methods, command: makeCommand });
  return 1;
});
