// Client aborts: lua_check_client_abort and ngx.on_abort (ngx_http_lua_ngx_on_abort). When the
// client closes the connection while Lua code runs, nginx logs "client prematurely closed
// connection"; a registered on_abort callback then runs as a light thread, otherwise the request
// is aborted (499) and its log phase runs.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, pushString, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { getRequest, checkContext, Ctx } from './context.js';
import { currentTask, killThreads, finishTask, TaskEnd, type LuaTask } from '../lua/scheduler.js';
import { spawnFromJs } from './thread.js';
import { finalize } from '../http/output.js';
import { logError, Level } from '../log/errorlog.js';
import type { Request } from '../http/request.js';

const ON_ABORT_CTX = Ctx.rewrite | Ctx.access | Ctx.content;

/** Watch the client connection of a request whose location has lua_check_client_abort on. */
export function watchClientAbort(req: Request): void {
  const x = req.main.transport;
  if (x === null || req.ext.abortWatched) return;
  req.ext.abortWatched = true;
  x.onAbort(() => clientAborted(req));
}

function clientAborted(req: Request): void {
  if (req.finalized) return;
  logError(Level.Info, 'client prematurely closed connection', req);
  const task = req.task as LuaTask | null;
  const ref = req.ext.onAbortRef as number | undefined;
  // the entry thread may have returned already while its light threads still run
  const alive = task !== null && (!task.root.done || task.root.deferredEnd !== null);
  if (ref && alive) {
    req.ext.onAbortRef = 0;
    const L = req.worker.vm.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, ref);
    lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, ref);
    spawnFromJs(task.root, L);
    return;
  }
  if (alive) {
    killThreads(task.root);
    task.root.done = false;
    task.root.deferredEnd = null;
    req.exitCode = 499;
    finishTask(task.root, TaskEnd.Exit, null);
    return;
  }
  finalize(req, 499);
}

function onAbort(L: LuaState): number {
  checkContext(L, ON_ABORT_CTX);
  const req = getRequest(L);
  lauxlib.luaL_checktype(L, 1, lua.LUA_TFUNCTION);
  if (req.ext.onAbortRef !== undefined) {
    lua.lua_pushnil(L);
    pushString(L, 'duplicate call');
    return 2;
  }
  if (!req.loc.s.luaCheckClientAbort) {
    lua.lua_pushnil(L);
    pushString(L, 'lua_check_client_abort is off');
    return 2;
  }
  lua.lua_pushvalue(L, 1);
  req.ext.onAbortRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  watchClientAbort(req);
  void currentTask;
  lua.lua_pushnumber(L, 1);
  return 1;
}

defineNgxApi('abort', (L) => {
  lua.lua_pushcfunction(L, onAbort);
  lua.lua_setfield(L, -2, S('on_abort'));
});
