// Base-library globals with LuaJIT's behaviour, installed by src/ngx/misc.ts: tonumber (LuaJIT's
// bases and overflow rules), collectgarbage (fengari has no collector API and throws; here it never
// does), gcinfo and newproxy from Lua 5.1.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, type LuaState } from '../lua/bridge.js';
import { num2int } from '../lua/luajit-number.js';

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

export function luaTonumber(L: LuaState): number {
  const base = lua.lua_type(L, 2) <= 0 ? 10 : num2int(lauxlib.luaL_checknumber(L, 2));
  if (base === 10) {
    const t = lua.lua_type(L, 1);
    if (t === lua.LUA_TNUMBER) {
      lua.lua_settop(L, 1);
      return 1;
    }
    lauxlib.luaL_checkany(L, 1);
    if (t === lua.LUA_TSTRING) {
      const s: Uint8Array = lua.lua_tolstring(L, 1);
      if (lua.lua_stringtonumber(L, s) === s.length + 1) return 1;
    }
    lua.lua_pushnil(L);
    return 1;
  }
  const s: Uint8Array = lauxlib.luaL_checklstring(L, 1);
  if (base < 2 || base > 36) lauxlib.luaL_argerror(L, 2, S('base out of range'));
  let i = 0;
  while (i < s.length && isSpace(s[i])) i++;
  let neg = false;
  if (s[i] === 45) {
    neg = true;
    i++;
  } else if (s[i] === 43) i++;
  // strtoul: optional 0x prefix for base 16
  if (base === 16 && s[i] === 48 && (s[i + 1] | 32) === 120) i += 2;
  const start = i;
  let v = 0;
  let big: bigint | null = null;
  for (; i < s.length; i++) {
    const c = s[i];
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if ((c | 32) >= 97 && (c | 32) <= 122) d = (c | 32) - 87;
    else break;
    if (d >= base) break;
    if (big === null) {
      v = v * base + d;
      if (v > 9007199254740991) big = BigInt(Math.floor((v - d) / base)) * BigInt(base) + BigInt(d);
    } else big = big * BigInt(base) + BigInt(d);
  }
  if (i === start) {
    lua.lua_pushnil(L);
    return 1;
  }
  while (i < s.length && isSpace(s[i])) i++;
  if (i !== s.length) {
    lua.lua_pushnil(L);
    return 1;
  }
  if (big !== null) v = big >= 18446744073709551615n ? 18446744073709551615 : Number(big);
  lua.lua_pushnumber(L, neg ? -v : v);
  return 1;
}

let gcPause = 200;
let gcStepmul = 200;
const GC_OPTS = ['collect', 'stop', 'restart', 'count', 'step', 'setpause', 'setstepmul', 'isrunning'];

function heapKb(): number {
  return process.memoryUsage().heapUsed / 1024;
}

/** collectgarbage with LuaJIT's answers; fengari has no collector API (it throws). */
export function collectGarbage(L: LuaState): number {
  const opt = lua.lua_type(L, 1) <= 0 ? 'collect' : Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  if (!GC_OPTS.includes(opt)) lauxlib.luaL_argerror(L, 1, S(`invalid option '${opt}'`));
  switch (opt) {
    case 'count':
      lua.lua_pushnumber(L, heapKb());
      return 1;
    case 'step':
      lua.lua_pushboolean(L, 0);
      return 1;
    case 'isrunning':
      lua.lua_pushboolean(L, 1);
      return 1;
    case 'setpause': {
      const prev = gcPause;
      gcPause = lua.lua_type(L, 2) <= 0 ? 0 : lauxlib.luaL_checknumber(L, 2);
      lua.lua_pushnumber(L, prev);
      return 1;
    }
    case 'setstepmul': {
      const prev = gcStepmul;
      gcStepmul = lua.lua_type(L, 2) <= 0 ? 0 : lauxlib.luaL_checknumber(L, 2);
      lua.lua_pushnumber(L, prev);
      return 1;
    }
    default:
      lua.lua_pushnumber(L, 0);
      return 1;
  }
}

export function gcinfo(L: LuaState): number {
  lua.lua_pushnumber(L, Math.floor(heapKb()));
  return 1;
}

/** newproxy([bool|proxy]) from Lua 5.1/LuaJIT: an empty userdata, optionally with a metatable. */
export function newproxy(L: LuaState): number {
  lua.lua_settop(L, 1);
  lua.lua_newuserdata(L, 0);
  if (!lua.lua_toboolean(L, 1)) return 1;
  if (lua.lua_type(L, 1) === lua.LUA_TBOOLEAN) {
    lua.lua_newtable(L);
  } else {
    if (lua.lua_type(L, 1) !== lua.LUA_TUSERDATA || !lua.lua_getmetatable(L, 1)) {
      lauxlib.luaL_argerror(L, 1, S('boolean or proxy expected'));
    }
  }
  lua.lua_setmetatable(L, 2);
  return 1;
}
