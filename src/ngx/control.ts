// Request control flow: ngx.exit, ngx.exec, ngx.redirect, ngx.sleep, ngx.get_phase.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, luaError, luaErrorWhere, bytesToLatin1, pushString, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { getRequest, checkContext, currentKind, Ctx, YIELDABLE } from './context.js';
import { exitTask, suspend, resume, currentTask, type LuaTask } from '../lua/scheduler.js';
import { encodeArgsAt } from './args.js';
import { logError, Level } from '../log/errorlog.js';

const EXIT_CTX = Ctx.rewrite | Ctx.server_rewrite | Ctx.access | Ctx.content | Ctx.header_filter | Ctx.timer | Ctx.balancer;
const EXEC_CTX = Ctx.rewrite | Ctx.server_rewrite | Ctx.access | Ctx.content;

function ngxExit(L: LuaState): number {
  checkContext(L, EXIT_CTX);
  const status = lauxlib.luaL_checkinteger(L, 1);
  if (status === -2 || status === -4) luaError(L, "bad argument to 'ngx.exit': does not accept NGX_AGAIN or NGX_DONE");
  const kind = currentKind();
  if (kind === 'timer') return exitTask(L);
  const req = getRequest(L);
  if (kind === 'header_filter') {
    // the response becomes this status (an error page for >= 300) once the filters are done
    req.ext.filterStatus = status;
    return exitTask(L);
  }
  if (req.ext.noAbort > 0 && status !== -1 && status !== 444 && status !== 408 && status !== 499) {
    luaErrorWhere(L, 'attempt to abort with pending subrequests');
  }
  let code = status;
  if (req.headerSent && code >= 300 && code !== 408 && code !== 499 && code !== 444) {
    // too late for an error status: the response goes on as it started (ngx_http_lua_ffi_exit)
    if (code !== req.status) logError(Level.Err, `attempt to set status ${code} via ngx.exit after sending out the response status ${req.status}`, req);
    code = 200;
  }
  req.exitCode = code;
  return exitTask(L);
}

function ngxExec(L: LuaState): number {
  checkContext(L, EXEC_CTX);
  const req = getRequest(L);
  const n = lua.lua_gettop(L);
  if (n !== 1 && n !== 2) luaError(L, `expecting one or two arguments, but got ${n}`);
  let uri = bytesToLatin1(lauxlib.luaL_checklstring(L, 1));
  if (uri.length === 0) luaError(L, 'The uri argument is empty');
  let args: string | null = null;
  if (n === 2 && !lua.lua_isnil(L, 2)) {
    if (lua.lua_type(L, 2) === lua.LUA_TTABLE) args = encodeArgsAt(L, 2);
    else args = bytesToLatin1(lauxlib.luaL_checklstring(L, 2));
  }
  const q = uri.indexOf('?');
  if (q >= 0) {
    const own = uri.slice(q + 1);
    uri = uri.slice(0, q);
    args = args === null || args === '' ? own : own + '&' + args;
  }
  if (unsafeUri(uri)) {
    logError(Level.Err, `unsafe URI "${uri}" was detected`, req);
    luaErrorWhere(L, 'unsafe uri');
  }
  if (req.ext.noAbort > 0) luaErrorWhere(L, 'attempt to abort with pending subrequests');
  if (req.headerSent) luaError(L, 'attempt to call ngx.exec after sending out response headers');
  req.pendingExec = { uri, args };
  return exitTask(L);
}

/** ngx_http_parse_unsafe_uri: "." / ".." path segments (and a NUL) may not reach ngx.exec. */
function unsafeUri(uri: string): boolean {
  if (uri.length === 0 || uri[0] === '.' || uri.indexOf('\0') >= 0) return true;
  const segs = uri.split('/');
  for (let i = 1; i < segs.length; i++) if (segs[i] === '.' || segs[i] === '..') return true;
  return false;
}

/** ngx_http_lua_escape_log: control bytes, '"', '\\' and bytes >= 0x7f as \xHH. */
function escapeLog(s: string): string {
  return s.replace(/[\x00-\x1f"\\\x7f-\xff]/g, (c) => '\\x' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

function ngxRedirect(L: LuaState): number {
  checkContext(L, EXEC_CTX);
  const req = getRequest(L);
  const n = lua.lua_gettop(L);
  if (n !== 1 && n !== 2) luaError(L, `expecting one or two arguments, but got ${n}`);
  const uri = bytesToLatin1(lauxlib.luaL_checklstring(L, 1));
  let status = 302;
  if (n === 2) {
    status = lauxlib.luaL_checkinteger(L, 2);
    if (!REDIRECT_CODES.has(status)) {
      luaError(L, 'only ngx.HTTP_MOVED_TEMPORARILY, ngx.HTTP_MOVED_PERMANENTLY, ngx.HTTP_PERMANENT_REDIRECT, ngx.HTTP_SEE_OTHER, and ngx.HTTP_TEMPORARY_REDIRECT are allowed');
    }
  }
  if (req.ext.noAbort > 0) luaErrorWhere(L, 'attempt to abort with pending subrequests');
  if (req.headerSent) luaError(L, 'attempt to call ngx.redirect after sending out the headers');
  const bad = /[\x00-\x08\x0a-\x1f\x7f]/.exec(uri);
  if (bad !== null) {
    // ngx_http_lua_check_unsafe_uri_bytes: control bytes could split the Location header
    luaErrorWhere(L, `unsafe byte "0x${bad[0].charCodeAt(0).toString(16).padStart(2, '0')}" in redirect uri "${escapeLog(uri)}"`);
  }
  req.headersOut.set('Location', uri);
  req.exitCode = status;
  return exitTask(L);
}

function wakeSleeper(task: LuaTask): void {
  if (task.done) return;
  resume(task, 0);
}

function ngxSleep(L: LuaState): number {
  checkContext(L, YIELDABLE);
  const sec = lauxlib.luaL_checknumber(L, 1);
  if (sec < 0) luaError(L, `invalid sleep duration "${sec}"`);
  const task = currentTask()!;
  const ms = sec * 1000;
  if (ms === 0) setImmediate(wakeSleeper, task);
  else setTimeout(wakeSleeper, ms, task);
  lua.lua_settop(L, 0);
  return suspend(L);
}

function ngxGetPhase(L: LuaState): number {
  pushString(L, currentKind());
  return 1;
}

defineNgxApi('control', (L) => {
  const fns: Record<string, (L: LuaState) => number> = {
    exit: ngxExit, exec: ngxExec, redirect: ngxRedirect, sleep: ngxSleep, get_phase: ngxGetPhase,
  };
  for (const k of Object.keys(fns)) {
    lua.lua_pushcfunction(L, fns[k]);
    lua.lua_setfield(L, -2, S(k));
  }
});
