// Native helpers of lua/resty/redis.lua: encode one command as a RESP array of bulk strings in a
// single call (building "*N\r\n$len\r\narg\r\n..." with Lua concatenation is the slowest part of
// a request on fengari), and classify a reply line in one call. require "tsresty.redis".
//
//   gen_req(cmd, arg1, ...) -> "*<n>\r\n$<len>\r\n<cmd>\r\n$<len>\r\n<arg1>\r\n..."
// Arguments are converted like lua-resty-redis does (tostring for non-strings; numbers with
// LuaJIT's %.14g through the patched lua_tolstring).
import { lua, lauxlib } from '../lua/fengari.js';
import { S, ByteSink, type LuaState } from '../lua/bridge.js';
import { definePreload } from './registry.js';

const out = new ByteSink(4096);

/** Append the decimal digits of a non-negative integer. */
function putInt(n: number): void {
  if (n < 10) out.pushByte(48 + n);
  else out.ascii(String(n));
}

const CRLF = S('\r\n');
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

function genReq(L: LuaState): number {
  const n = lua.lua_gettop(L);
  out.len = 0;
  out.pushByte(42); // *
  putInt(n);
  out.push(CRLF);
  for (let i = 1; i <= n; i++) {
    const b = argBytes(L, i);
    out.pushByte(36); // $
    putInt(b.length);
    out.push(CRLF);
    out.push(b);
    out.push(CRLF);
  }
  lua.lua_pushlstring(L, out.buf, out.len);
  return 1;
}

/** Decimal integer (optionally negative) in b[from..]; NaN when malformed. */
function parseIntBytes(b: Uint8Array, from: number): number {
  let i = from;
  let neg = false;
  if (b[i] === 45) {
    neg = true;
    i++;
  }
  if (i >= b.length) return NaN;
  let v = 0;
  for (; i < b.length; i++) {
    const c = b[i] - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return neg ? -v : v;
}

/** parse_line(line) -> kind, value for one reply line (CRLF already stripped):
 *  1 status (string), 2 error (string), 3 integer (number), 4 bulk size, 5 multi-bulk count,
 *  0 unknown (the prefix byte). One call instead of byte + sub + tonumber in Lua. */
function parseLine(L: LuaState): number {
  const b: Uint8Array = lauxlib.luaL_checklstring(L, 1);
  const p = b.length > 0 ? b[0] : 0;
  switch (p) {
    case 43: // +
      lua.lua_pushinteger(L, 1);
      lua.lua_pushlstring(L, b.subarray(1), b.length - 1);
      return 2;
    case 45: // -
      lua.lua_pushinteger(L, 2);
      lua.lua_pushlstring(L, b.subarray(1), b.length - 1);
      return 2;
    case 58: // :
    case 36: // $
    case 42: {
      // *
      const n = parseIntBytes(b, 1);
      if (Number.isNaN(n)) break;
      lua.lua_pushinteger(L, p === 58 ? 3 : p === 36 ? 4 : 5);
      lua.lua_pushnumber(L, n);
      return 2;
    }
  }
  lua.lua_pushinteger(L, 0);
  lua.lua_pushinteger(L, p);
  return 2;
}

definePreload('tsresty.redis', (L) => {
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushcfunction(L, genReq);
  lua.lua_setfield(L, -2, S('gen_req'));
  lua.lua_pushcfunction(L, parseLine);
  lua.lua_setfield(L, -2, S('parse_line'));
  return 1;
});
