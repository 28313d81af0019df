// ngx.time, ngx.now, ngx.update_time, ngx.today, ngx.localtime, ngx.utctime, ngx.http_time,
// ngx.cookie_time, ngx.parse_http_time (lua-resty-core's resty/core/time.lua semantics).
//
// Like nginx, the clock is cached: it is read once per event-loop turn, so every call made while
// one handler runs without yielding sees the same time. ngx.update_time() re-reads it. Numbers are
// pushed as floats (timestamps exceed fengari's 32-bit integers).
import { lua, lauxlib } from '../lua/fengari.js';
import { S, pushBytes, luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { httpTimeString, cookieTimeString, localTimeString, todayString, parseHttpTime } from './timefmt.js';
import { asciiBytes } from './misc.js';

let cachedMs = -1;
let invalidateScheduled = false;

function invalidate(): void {
  cachedMs = -1;
  invalidateScheduled = false;
}

/** The cached wall-clock time in whole milliseconds (nginx's ngx_timeofday()). */
export function cachedNowMs(): number {
  if (cachedMs < 0) {
    cachedMs = Date.now();
    if (!invalidateScheduled) {
      invalidateScheduled = true;
      setImmediate(invalidate);
    }
  }
  return cachedMs;
}

/** ngx.update_time(): refresh the cached clock now. */
export function updateTime(): void {
  cachedMs = Date.now();
  if (!invalidateScheduled) {
    invalidateScheduled = true;
    setImmediate(invalidate);
  }
}

function ngxNow(L: LuaState): number {
  lua.lua_pushnumber(L, cachedNowMs() / 1000);
  return 1;
}

function ngxTime(L: LuaState): number {
  lua.lua_pushnumber(L, Math.floor(cachedNowMs() / 1000));
  return 1;
}

function ngxUpdateTime(_L: LuaState): number {
  updateTime();
  return 0;
}

function ngxToday(L: LuaState): number {
  pushBytes(L, asciiBytes(todayString(Math.floor(cachedNowMs() / 1000) * 1000)));
  return 1;
}

function ngxLocaltime(L: LuaState): number {
  pushBytes(L, asciiBytes(localTimeString(Math.floor(cachedNowMs() / 1000) * 1000, false)));
  return 1;
}

function ngxUtctime(L: LuaState): number {
  pushBytes(L, asciiBytes(localTimeString(Math.floor(cachedNowMs() / 1000) * 1000, true)));
  return 1;
}

/** resty.core: `if type(sec) ~= "number" then error("number argument only", 2) end`; the C side
 *  takes a long, so fractions are truncated. */
function secArg(L: LuaState): number {
  if (lua.lua_type(L, 1) !== lua.LUA_TNUMBER) luaErrorWhere(L, 'number argument only');
  return Math.trunc(lua.lua_tonumber(L, 1));
}

function ngxHttpTime(L: LuaState): number {
  pushBytes(L, asciiBytes(httpTimeString(secArg(L) * 1000)));
  return 1;
}

function ngxCookieTime(L: LuaState): number {
  pushBytes(L, asciiBytes(cookieTimeString(secArg(L) * 1000)));
  return 1;
}

function ngxParseHttpTime(L: LuaState): number {
  if (lua.lua_type(L, 1) !== lua.LUA_TSTRING) luaErrorWhere(L, 'string argument only');
  const s = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  const t = parseHttpTime(s);
  if (t === null) lua.lua_pushnil(L);
  else lua.lua_pushnumber(L, t);
  return 1;
}

const FNS: Record<string, (L: LuaState) => number> = {
  now: ngxNow,
  time: ngxTime,
  update_time: ngxUpdateTime,
  today: ngxToday,
  localtime: ngxLocaltime,
  utctime: ngxUtctime,
  http_time: ngxHttpTime,
  cookie_time: ngxCookieTime,
  parse_http_time: ngxParseHttpTime,
};

defineNgxApi('time', (L) => {
  for (const k of Object.keys(FNS)) {
    lua.lua_pushcfunction(L, FNS[k]);
    lua.lua_setfield(L, -2, S(k));
  }
});
