// ngx.re arguments read from the Lua stack: the subject (tostring semantics), the options, the
// compiled regex (or its error pushed as results), and the ctx table's `pos` field.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, type LuaState } from '../lua/bridge.js';
import { EMPTY_OPTS, parseOpts, type Opts } from './re-options.js';
import { lookup, type Compiled } from './re-compile.js';
import { tstr, pushTStr, type TStr } from './re-lua-strings.js';

export let K_POS: TStr = null as unknown as TStr;

/** Make the "pos" key once (at ngx.re install time). */
export function initPosKey(): void {
  if (K_POS === null) K_POS = tstr(Uint8Array.from(S('pos')));
}

/** Argument as bytes with tostring() semantics (lua-resty-core does `subj = tostring(subj)`). */
export function subjectArg(L: LuaState, idx: number): Uint8Array {
  if (lua.lua_type(L, idx) === lua.LUA_TSTRING) return lua.lua_tolstring(L, idx);
  lauxlib.luaL_tolstring(L, idx);
  lua.lua_replace(L, idx);
  return lua.lua_tolstring(L, idx);
}

export function optsArg(L: LuaState, idx: number): Opts {
  if (lua.lua_isnoneornil(L, idx)) return EMPTY_OPTS;
  return parseOpts(L, lauxlib.luaL_checklstring(L, idx));
}

/** ctx.pos as a 0-based byte offset (lua-resty-core: absent or <= 0 -> 0, else pos - 1). */
export function ctxStart(L: LuaState, idx: number): number {
  pushTStr(L, K_POS);
  lua.lua_gettable(L, idx);
  const p = lua.lua_tonumberx(L, -1, null);
  lua.lua_pop(L, 1);
  if (p === false || p === null || !(p > 0)) return 0;
  return Math.trunc(p) - 1;
}

export function setCtxPos(L: LuaState, idx: number, v: number): void {
  pushTStr(L, K_POS);
  lua.lua_pushnumber(L, v);
  lua.lua_settable(L, idx);
}

export function isTable(L: LuaState, idx: number): boolean {
  return lua.lua_type(L, idx) === lua.LUA_TTABLE;
}

/** Compile the regex argument; on error push `nil` results and the message, return null. */
export function compiledArg(L: LuaState, regexIdx: number, o: Opts, nils: number): Compiled | null {
  const pat = lauxlib.luaL_checklstring(L, regexIdx);
  const e = lookup(pat, o);
  if (e instanceof Uint8Array) {
    for (let k = 0; k < nils; k++) lua.lua_pushnil(L);
    lua.lua_pushlstring(L, e, e.length);
    return null;
  }
  return e;
}
