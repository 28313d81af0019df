// The `bit` library (LuaJIT BitOp) and LuaJIT/OpenResty's table extensions: table.new/clear/nkeys/
// isempty/isarray/clone, and table.insert/remove with LuaJIT's rules. Registers the require()-able
// modules (`bit`, `table.new`, ...) at import; src/ngx/misc.ts installs the globals in each VM.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, pushBytes, luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { asciiBytes, num2int, tobit } from '../lua/luajit-number.js';
import { definePreload } from './registry.js';

// ---------------------------------------------------------------------------------------------
// bit (LuaJIT BitOp: 32-bit signed results; numbers normalised like lj_num2bit)

function bitArg(L: LuaState, i: number): number {
  if (lua.lua_type(L, i) === lua.LUA_TNUMBER) return tobit(lua.lua_tonumber(L, i));
  return tobit(lauxlib.luaL_checknumber(L, i));
}

function pushBit(L: LuaState, n: number): number {
  lua.lua_pushnumber(L, n);
  return 1;
}

const bitlib: Record<string, (L: LuaState) => number> = {
  tobit: (L) => pushBit(L, bitArg(L, 1)),
  bnot: (L) => pushBit(L, ~bitArg(L, 1)),
  band: (L) => {
    let r = bitArg(L, 1);
    for (let i = lua.lua_gettop(L); i > 1; i--) r &= bitArg(L, i);
    return pushBit(L, r);
  },
  bor: (L) => {
    let r = bitArg(L, 1);
    for (let i = lua.lua_gettop(L); i > 1; i--) r |= bitArg(L, i);
    return pushBit(L, r);
  },
  bxor: (L) => {
    let r = bitArg(L, 1);
    for (let i = lua.lua_gettop(L); i > 1; i--) r ^= bitArg(L, i);
    return pushBit(L, r);
  },
  lshift: (L) => pushBit(L, bitArg(L, 1) << (bitArg(L, 2) & 31)),
  rshift: (L) => pushBit(L, (bitArg(L, 1) >>> (bitArg(L, 2) & 31)) | 0),
  arshift: (L) => pushBit(L, bitArg(L, 1) >> (bitArg(L, 2) & 31)),
  rol: (L) => {
    const x = bitArg(L, 1);
    const n = bitArg(L, 2) & 31;
    return pushBit(L, (x << n) | (x >>> ((32 - n) & 31)) | 0);
  },
  ror: (L) => {
    const x = bitArg(L, 1);
    const n = bitArg(L, 2) & 31;
    return pushBit(L, (x >>> n) | (x << ((32 - n) & 31)) | 0);
  },
  bswap: (L) => {
    const x = bitArg(L, 1);
    return pushBit(L, ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x & 0xff00) << 8) | (x << 24)) | 0);
  },
  tohex: (L) => {
    const v = lauxlib.luaL_checknumber(L, 1);
    let n = lua.lua_type(L, 2) <= 0 ? 8 : num2int(lauxlib.luaL_checknumber(L, 2));
    let upper = false;
    if (n < 0) {
      n = -n;
      upper = true;
    }
    if (n > 16) n = 16;
    // plain numbers are normalised like every bit operand, then zero-extended
    let b = tobit(v) >>> 0;
    if (n < 8) b = b % 2 ** (4 * n);
    const s = n === 0 ? '' : b.toString(16).padStart(n, '0');
    pushBytes(L, asciiBytes(upper ? s.toUpperCase() : s));
    return 1;
  },
};

export function openBit(L: LuaState): number {
  lua.lua_createtable(L, 0, 12);
  for (const k of Object.keys(bitlib)) {
    lua.lua_pushcfunction(L, bitlib[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------
// table.new / clear / nkeys / isempty / isarray / clone

export function tableNew(L: LuaState): number {
  const narr = num2int(lauxlib.luaL_checknumber(L, 1));
  const nrec = num2int(lauxlib.luaL_checknumber(L, 2));
  lua.lua_createtable(L, narr > 0 ? narr : 0, nrec > 0 ? nrec : 0);
  return 1;
}

export function tableClear(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_settop(L, 1);
  for (;;) {
    lua.lua_pushnil(L);
    if (lua.lua_next(L, 1) === 0) break;
    lua.lua_pop(L, 1);
    // remove this key and all keys that follow it in one traversal
    lua.lua_pushvalue(L, -1);
    lua.lua_pushnil(L);
    lua.lua_rawset(L, 1);
    while (lua.lua_next(L, 1) !== 0) {
      lua.lua_pop(L, 1);
      lua.lua_pushvalue(L, -1);
      lua.lua_pushnil(L);
      lua.lua_rawset(L, 1);
    }
  }
  return 0;
}

function tableSize(L: LuaState): number {
  const h: any = lua.lua_topointer(L, 1);
  if (h && h.strong instanceof Map) return h.strong.size;
  let n = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, 1) !== 0) {
    lua.lua_pop(L, 1);
    n++;
  }
  return n;
}

export function tableNkeys(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_pushnumber(L, tableSize(L));
  return 1;
}

export function tableIsempty(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_pushboolean(L, tableSize(L) === 0 ? 1 : 0);
  return 1;
}

/** OpenResty's table.isarray: every key is a positive integer (empty tables count as arrays). */
export function tableIsarray(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_settop(L, 1);
  lua.lua_pushnil(L);
  while (lua.lua_next(L, 1) !== 0) {
    lua.lua_pop(L, 1);
    if (lua.lua_type(L, -1) !== lua.LUA_TNUMBER) {
      lua.lua_pushboolean(L, 0);
      return 1;
    }
    const k = lua.lua_tonumber(L, -1);
    if (k < 1 || Math.floor(k) !== k) {
      lua.lua_pushboolean(L, 0);
      return 1;
    }
  }
  lua.lua_pushboolean(L, 1);
  return 1;
}

export function tableClone(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_settop(L, 1);
  lua.lua_createtable(L, 0, 0);
  lua.lua_pushnil(L);
  while (lua.lua_next(L, 1) !== 0) {
    lua.lua_pushvalue(L, -2);
    lua.lua_insert(L, -2);
    lua.lua_rawset(L, 2);
  }
  return 1;
}

/** LuaJIT's table.insert: raw accesses and no position bounds check (t[#t + 5] = v works). */
export function tableInsert(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  const nargs = lua.lua_gettop(L);
  let i = lua.lua_rawlen(L, 1) + 1;
  if (nargs !== 2) {
    if (nargs !== 3) luaErrorWhere(L, "wrong number of arguments to 'insert'");
    const n = num2int(lauxlib.luaL_checknumber(L, 2));
    for (; i > n; i--) {
      lua.lua_rawgeti(L, 1, i - 1);
      lua.lua_rawseti(L, 1, i);
    }
    i = n;
  }
  lua.lua_pushvalue(L, nargs);
  lua.lua_rawseti(L, 1, i);
  return 0;
}

/** LuaJIT's table.remove (lib_table.lua): nothing is returned for an empty table or a position
 *  outside 1..#t. */
export function tableRemove(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  const len = lua.lua_rawlen(L, 1);
  if (lua.lua_type(L, 2) <= lua.LUA_TNIL) {
    if (len === 0) return 0;
    lua.lua_geti(L, 1, len);
    lua.lua_pushnil(L);
    lua.lua_seti(L, 1, len);
    return 1;
  }
  const pos = num2int(lauxlib.luaL_checknumber(L, 2));
  if (pos < 1 || pos > len) return 0;
  lua.lua_geti(L, 1, pos);
  for (let i = pos + 1; i <= len; i++) {
    lua.lua_geti(L, 1, i);
    lua.lua_seti(L, 1, i - 1);
  }
  lua.lua_pushnil(L);
  lua.lua_seti(L, 1, len);
  return 1;
}

function preloadFn(fn: (L: LuaState) => number): (L: LuaState) => number {
  return (L) => {
    lua.lua_pushcfunction(L, fn);
    return 1;
  };
}

definePreload('bit', openBit);
definePreload('table.new', preloadFn(tableNew));
definePreload('table.clear', preloadFn(tableClear));
definePreload('table.nkeys', preloadFn(tableNkeys));
definePreload('table.isempty', preloadFn(tableIsempty));
definePreload('table.isarray', preloadFn(tableIsarray));
definePreload('table.clone', preloadFn(tableClone));
