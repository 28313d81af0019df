// ngx.var.NAME: nginx variables read and written from Lua (ngx_http_lua_variable.c).
import { lua } from '../lua/fengari.js';
import { S, luaError, bytesToLatin1, pushLatin1, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { getRequest, checkContext, REQUEST_PHASES } from './context.js';
import { getVariable, setVariable } from '../http/variables.js';

/** Lower-cased variable names by their key bytes, so repeated lookups do not re-decode. */
const nameCache = new Map<string, string>();

function keyName(L: LuaState): string {
  if (lua.lua_type(L, 2) === lua.LUA_TNUMBER) return String(lua.lua_tointeger(L, 2));
  const raw = bytesToLatin1(lua.lua_tolstring(L, 2) ?? luaError(L, 'bad variable name'));
  let n = nameCache.get(raw);
  if (n === undefined) {
    n = raw.toLowerCase();
    if (nameCache.size < 4096) nameCache.set(raw, n);
  }
  return n;
}

function varIndex(L: LuaState): number {
  checkContext(L, REQUEST_PHASES);
  const req = getRequest(L);
  const name = keyName(L);
  const v = getVariable(req, name);
  if (v === null) lua.lua_pushnil(L);
  else pushLatin1(L, v);
  return 1;
}

function varNewIndex(L: LuaState): number {
  checkContext(L, REQUEST_PHASES);
  const req = getRequest(L);
  const name = keyName(L);
  let value: string | null;
  const t = lua.lua_type(L, 3);
  if (t === lua.LUA_TNIL) value = null;
  else if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) value = bytesToLatin1(lua.lua_tolstring(L, 3));
  else luaError(L, `bad variable value: string, number, or nil expected but got ${Buffer.from(lua.lua_typename(L, t)).toString()}`);
  const r = setVariable(req, name, value, req.worker.declaredVars);
  if (r === 'not_changeable') luaError(L, `variable "${name}" not changeable`);
  if (r === 'not_found') {
    luaError(L, `variable "${name}" not found for writing; maybe it is a built-in variable that is not changeable or you forgot to use "set $${name} '';" in the config file to define it first`);
  }
  return 0;
}

defineNgxApi('var', (L) => {
  lua.lua_createtable(L, 0, 0);
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushcfunction(L, varIndex);
  lua.lua_setfield(L, -2, S('__index'));
  lua.lua_pushcfunction(L, varNewIndex);
  lua.lua_setfield(L, -2, S('__newindex'));
  lua.lua_setmetatable(L, -2);
  lua.lua_setfield(L, -2, S('var'));
});
