// The Lua handlers that plug into nginx's machinery: the content handler, set_by_lua's function,
// the header/body filters and the log phase.
import { lua } from '../lua/fengari.js';
import type { ContentHandler, LuaCode } from '../config/model.js';
import type { Request } from './request.js';
import { runLuaPhase, runLuaSync } from './lua-phase.js';
import { addHeaderFilter, addBodyFilter, FilterOrder } from './filters.js';
import { pushLatin1, bytesToLatin1 } from '../lua/bridge.js';
import { closeRequest, NGX_ERROR } from './output.js';

export function luaContentHandler(code: LuaCode): ContentHandler {
  return {
    kind: 'lua',
    run(req: Request): void {
      runLuaPhase(req, code, 'content');
    },
  };
}

/** set_by_lua $var 'code' args...: the chunk's first return value, as a string (nil -> ""). */
export function luaSetFunction(code: LuaCode): (req: Request, args: string[]) => string | null | undefined {
  return (req, args) => {
    req.ext.setArgs = args;
    const task = runLuaSync(req, code, 'set', args.length, (co) => {
      for (const a of args) pushLatin1(co, a);
    });
    req.ext.setArgs = null;
    if (task === null) return undefined; // failed: the rewrite script ends with a 500
    const co = task.co;
    const n = lua.lua_gettop(co);
    if (n === 0 || lua.lua_isnil(co, 1)) return '';
    const b = lua.lua_tolstring(co, 1);
    return b === null ? '' : bytesToLatin1(b);
  };
}

/** header_filter_by_lua: runs once when the header is about to be sent. */
function luaHeaderFilter(req: Request): void {
  const code = req.loc.s.luaHandlers.header_filter;
  if (!code) return;
  req.headerFilterRunning = true;
  const task = runLuaSync(req, code, 'header_filter', 0);
  req.headerFilterRunning = false;
  if (task === null) req.ext.filterFailed = true;
}

/** body_filter_by_lua: each buffer passes through the chunk as ngx.arg[1] (data), ngx.arg[2] (eof). */
function luaBodyFilter(req: Request, data: Uint8Array | null, last: boolean): boolean | { data: Uint8Array | null; last: boolean } {
  const code = req.loc.s.luaHandlers.body_filter;
  if (!code) return true;
  const arg = { data: data ?? EMPTY, last };
  req.ext.bodyArg = arg;
  const task = runLuaSync(req, code, 'body_filter', 0);
  req.ext.bodyArg = null;
  if (task === null) {
    req.ext.filterFailed = true;
    return { data: null, last: true };
  }
  const co = task.co;
  if (lua.lua_gettop(co) > 0 && lua.lua_type(co, 1) === lua.LUA_TNUMBER && lua.lua_tonumber(co, 1) === NGX_ERROR) {
    // `return ngx.ERROR`: the filter chain fails, nginx terminates the (main) request and its
    // connection without a response
    req.ext.filterFailed = true;
    closeRequest(req.main);
    return false;
  }
  return arg;
}
const EMPTY = new Uint8Array(0);

/** log_by_lua: after the response, in the log phase. */
export function runLuaLog(req: Request): void {
  const code = req.loc?.s.luaHandlers.log;
  if (!code) return;
  runLuaSync(req, code, 'log', 0);
}

addHeaderFilter(FilterOrder.lua, luaHeaderFilter);
addBodyFilter(FilterOrder.lua, luaBodyFilter);
