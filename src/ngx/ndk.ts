// The global `ndk` table (and require "ndk"): ndk.set_var.DIRECTIVE(arg) runs a set-misc filter
// from Lua, as lua-resty-core's resty/core/ndk.lua does: the argument is tostring()ed, the result
// is a string, a failing filter raises "calling directive NAME failed with code -1", an unknown
// name raises 'ndk.set_var: directive "NAME" not found or does not use ndk_set_var_value' and
// assigning to ndk.set_var raises "not allowed".
//
// Extension: the multi-value filters (set_hmac_sha1, set_hmac_sha256, set_random, set_if_empty)
// are callable too, with one Lua argument per directive value; OpenResty refuses them.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, pushBytes, luaErrorWhere, setLoaded, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { SET_MISC, SINGLE_VALUE, type SetMiscOptions } from './setmisc.js';
import { maybeRequest } from './context.js';

/** Where the config layer plugs in per-location set-misc options (set_base32_padding, ...). */
export let setMiscOptionsFor: (req: unknown) => SetMiscOptions | undefined = () => undefined;

export function setSetMiscOptionsProvider(fn: (req: unknown) => SetMiscOptions | undefined): void {
  setMiscOptionsFor = fn;
}

function argString(L: LuaState, idx: number): string {
  const t = lua.lua_type(L, idx);
  let b: Uint8Array;
  if (t === lua.LUA_TSTRING) b = lua.lua_tolstring(L, idx);
  else {
    b = lauxlib.luaL_tolstring(L, idx);
    lua.lua_pop(L, 1);
  }
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');
}

function runDirective(L: LuaState): number {
  const name = Buffer.from(lua.lua_tolstring(L, lua.lua_upvalueindex(1))).toString('latin1');
  const filter = SET_MISC[name];
  const args: string[] = [];
  if (SINGLE_VALUE.has(name)) args.push(argString(L, 1));
  else {
    const n = Math.max(1, lua.lua_gettop(L));
    for (let i = 1; i <= n; i++) args.push(argString(L, i));
  }
  const r = filter(args, setMiscOptionsFor(maybeRequest()));
  if (r === null) luaErrorWhere(L, `calling directive ${name} failed with code -1`);
  pushBytes(L, Buffer.from(r, 'latin1'));
  return 1;
}

function setVarIndex(L: LuaState): number {
  let key: Uint8Array;
  if (lua.lua_type(L, 2) === lua.LUA_TSTRING) key = lua.lua_tolstring(L, 2);
  else {
    key = lauxlib.luaL_tolstring(L, 2);
    lua.lua_pop(L, 1);
  }
  const name = Buffer.from(key).toString('latin1');
  if (!Object.prototype.hasOwnProperty.call(SET_MISC, name)) {
    luaErrorWhere(L, `ndk.set_var: directive "${name}" not found or does not use ndk_set_var_value`);
  }
  pushBytes(L, key);
  lua.lua_pushcclosure(L, runDirective, 1);
  // cache the closure in the table, as lua-nginx-module does
  lua.lua_pushvalue(L, 2);
  lua.lua_pushvalue(L, -2);
  lua.lua_rawset(L, 1);
  return 1;
}

function setVarNewindex(L: LuaState): number {
  luaErrorWhere(L, 'not allowed');
}

defineNgxApi('ndk', (L) => {
  lua.lua_createtable(L, 0, 1); // ndk
  lua.lua_newtable(L); // ndk.set_var
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushcfunction(L, setVarIndex);
  lua.lua_setfield(L, -2, S('__index'));
  lua.lua_pushcfunction(L, setVarNewindex);
  lua.lua_setfield(L, -2, S('__newindex'));
  lua.lua_setmetatable(L, -2);
  lua.lua_setfield(L, -2, S('set_var'));
  setLoaded(L, 'ndk');
  lua.lua_setglobal(L, S('ndk'));
});
