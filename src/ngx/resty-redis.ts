// Native helper of lua/resty/redis.lua: encodes one command as a RESP array of bulk strings in a
// single call, since building "*N\r\n$len\r\narg\r\n..." with Lua concatenation is the slowest
// part of a request on fengari. require "tsresty.redis".
//
//   gen_req(cmd, arg1, ...) -> "*<n>\r\n$<len>\r\n<cmd>\r\n$<len>\r\n<arg1>\r\n..."
// Arguments are converted like lua-resty-redis does (tostring for non-strings; numbers with
// LuaJIT's %.14g through the patched lua_tolstring).
import { lua, lauxlib } from 'fengari';
import { S, type LuaState } from '../lua/bridge.js';
import { definePreload } from './registry.js';

let out = new Uint8Array(4096);

function ensure(len: number, need: number): void {
  if (len + need <= out.length) return;
  let size = out.length * 2;
  while (size < len + need) size *= 2;
  const next = new Uint8Array(size);
  next.set(out.subarray(0, len));
  out = next;
}

/** Write the decimal digits of a non-negative integer at `pos`; returns the new position. */
function writeInt(pos: number, n: number): number {
  if (n < 10) {
    out[pos] = 48 + n;
    return pos + 1;
  }
  const s = String(n);
  for (let i = 0; i < s.length; i++) out[pos + i] = s.charCodeAt(i);
  return pos + s.length;
}

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
  ensure(0, 16);
  out[0] = 42; // *
  let pos = writeInt(1, n);
  out[pos++] = 13;
  out[pos++] = 10;
  for (let i = 1; i <= n; i++) {
    const b = argBytes(L, i);
    ensure(pos, b.length + 24);
    out[pos++] = 36; // $
    pos = writeInt(pos, b.length);
    out[pos++] = 13;
    out[pos++] = 10;
    out.set(b, pos);
    pos += b.length;
    out[pos++] = 13;
    out[pos++] = 10;
  }
  lua.lua_pushlstring(L, out.subarray(0, pos), pos);
  return 1;
}

definePreload('tsresty.redis', (L) => {
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushcfunction(L, genReq);
  lua.lua_setfield(L, -2, S('gen_req'));
  return 1;
});
