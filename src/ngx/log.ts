// ngx.log(level, ...) and the global print(...) (= ngx.log(ngx.NOTICE, ...)), with
// lua-nginx-module's "[lua] chunk:line: func(): message" prefix.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, luaError, bytesToLatin1, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { currentLogContext } from './context.js';
import { errorLog, Level } from '../log/errorlog.js';
import { NULL_SENTINEL } from './constants.js';

function argText(L: LuaState, i: number): string {
  switch (lua.lua_type(L, i)) {
    case lua.LUA_TSTRING:
    case lua.LUA_TNUMBER:
      return bytesToLatin1(lua.lua_tolstring(L, i));
    case lua.LUA_TNIL:
      return 'nil';
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, i) ? 'true' : 'false';
    case lua.LUA_TLIGHTUSERDATA:
      if (lua.lua_touserdata(L, i) === NULL_SENTINEL) return 'null';
      break;
    case lua.LUA_TTABLE:
      if (lauxlib.luaL_callmeta(L, i, S('__tostring'))) {
        const s = lua.lua_tolstring(L, -1);
        lua.lua_pop(L, 1);
        if (s !== null) return bytesToLatin1(s);
      }
      break;
  }
  const tn = Buffer.from(lua.lua_typename(L, lua.lua_type(L, i))).toString();
  luaError(L, `bad argument #${i} to 'log' (string, number, boolean, or nil expected, got ${tn})`);
}

/** "[lua] content_by_lua(nginx.conf:40):3: " (plus "fname(): " inside named functions). */
function callerPrefix(L: LuaState): string {
  const ar = new lua.lua_Debug();
  if (!lua.lua_getstack(L, 1, ar)) return '[lua] ';
  lua.lua_getinfo(L, S('Sln'), ar);
  const src = ar.short_src ? Buffer.from(ar.short_src).toString('latin1') : '?';
  const name = ar.name ? Buffer.from(ar.name).toString('latin1') : null;
  return name ? `[lua] ${src}:${ar.currentline}: ${name}(): ` : `[lua] ${src}:${ar.currentline}: `;
}

export function logFromLua(L: LuaState, level: number, first: number): void {
  if (!errorLog.enabled(level)) return;
  const n = lua.lua_gettop(L);
  let msg = '';
  for (let i = first; i <= n; i++) msg += argText(L, i);
  errorLog.write(level, callerPrefix(L) + msg, currentLogContext());
}

function ngxLog(L: LuaState): number {
  const level = lauxlib.luaL_checkinteger(L, 1);
  if (level < Level.Stderr || level > Level.Debug) luaError(L, `bad log level: ${level}`);
  logFromLua(L, level, 2);
  return 0;
}

function luaPrint(L: LuaState): number {
  logFromLua(L, Level.Notice, 1);
  return 0;
}

defineNgxApi('log', (L) => {
  lua.lua_pushcfunction(L, ngxLog);
  lua.lua_setfield(L, -2, S('log'));
  lua.lua_pushcfunction(L, luaPrint);
  lua.lua_setglobal(L, S('print'));
});
