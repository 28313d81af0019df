// Light threads: ngx.thread.spawn / wait / kill (ngx_http_lua_uthread.c). A light thread is a
// coroutine scheduled like the entry thread; the entry's phase ends only when all have ended.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, luaError, pushString, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { checkContext, YIELDABLE, currentLogContext } from './context.js';
import { LuaTask, TaskEnd, currentTask, startThread, suspend, resume, exitTask, killThread, postTask, yieldPosted, type TaskHost } from '../lua/scheduler.js';
import { logError, Level } from '../log/errorlog.js';

class UserThread extends LuaTask {
  end: TaskEnd | null = null;
  err: string | null = null;
  /** results were handed out by wait() or the thread was killed */
  reaped = false;
  /** the task blocked in wait() on this thread */
  waiter: LuaTask | null = null;
  log = currentLogContext();
}

/** Threads by their coroutine object, to map Lua thread values back to tasks. */
const byCo = new WeakMap<object, UserThread>();
/** wait() calls in progress: the waiting task and the threads it waits on */
const waiting = new WeakMap<LuaTask, UserThread[]>();

const userHost: TaskHost = {
  taskDone(task: LuaTask, end: TaskEnd, err: string | null): void {
    const t = task as UserThread;
    t.end = end;
    t.err = err;
    if (end === TaskEnd.Error) logError(Level.Err, `lua user thread aborted: runtime error: ${err}`, t.log);
    const w = t.waiter;
    if (w !== null && !w.done) {
      for (const other of waiting.get(w) ?? []) other.waiter = null;
      waiting.delete(w);
      const n = pushResults(w.co, t);
      resume(w, n);
    }
  },
};

/** Push wait()'s results for a finished thread onto L: true, ... or false, err. */
function pushResults(L: LuaState, t: UserThread): number {
  t.reaped = true;
  if (t.end === TaskEnd.Ok) {
    const n = lua.lua_gettop(t.co);
    lua.lua_pushboolean(L, true);
    lua.lua_xmove(t.co, L, n);
    return n + 1;
  }
  lua.lua_pushboolean(L, false);
  // wait() reports the bare error value, without the "chunk:line: " position error() added
  const msg = (t.err ?? 'unknown error').split('\nstack traceback:')[0].replace(/^.*?:\d+: /, '');
  pushString(L, t.end === TaskEnd.Exit ? 'exited' : msg);
  return 2;
}

/** Start the function at the top of `from`'s stack as a light thread of `root` (ngx.on_abort). */
export function spawnFromJs(root: LuaTask, from: LuaState): void {
  const co = lua.lua_newthread(from);
  const ref = lauxlib.luaL_ref(from, lua.LUA_REGISTRYINDEX);
  lua.lua_xmove(from, co, 1);
  const t = new UserThread(userHost, root.kind, root.req);
  byCo.set(co, t);
  startThread(t, co, ref, 0, root);
}

function spawn(L: LuaState): number {
  checkContext(L, YIELDABLE);
  lauxlib.luaL_checktype(L, 1, lua.LUA_TFUNCTION);
  const parent = currentTask()!;
  const n = lua.lua_gettop(L);
  const co = lua.lua_newthread(L);
  lua.lua_insert(L, 1);
  lua.lua_xmove(L, co, n);
  lua.lua_pushvalue(L, 1);
  const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  const t = new UserThread(userHost, parent.kind, parent.req);
  byCo.set(co, t);
  // ngx_http_lua_uthread_spawn posts the spawner before the new thread runs: it continues from the
  // posted queue, behind threads posted earlier (light threads that yielded) and before this one
  // if it yields in turn
  lua.lua_pushvalue(L, 1);
  const keep = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX); // spawn's result, even once co is dead
  postTask(parent, (pco) => {
    lua.lua_rawgeti(pco, lua.LUA_REGISTRYINDEX, keep);
    lauxlib.luaL_unref(pco, lua.LUA_REGISTRYINDEX, keep);
    return 1;
  });
  startThread(t, co, ref, n - 1);
  if (parent.root.groupExit) return exitTask(L);
  lua.lua_settop(L, 0);
  return yieldPosted(L);
}

function threadArg(L: LuaState, i: number): UserThread {
  const co = lua.lua_tothread(L, i);
  const t = co ? byCo.get(co) : undefined;
  if (!t) luaError(L, `bad argument #${i} to 'wait' (not a user thread)`);
  return t;
}

function wait(L: LuaState): number {
  checkContext(L, YIELDABLE);
  const self = currentTask()!;
  const n = lua.lua_gettop(L);
  if (n === 0) luaError(L, 'at least one coroutine should be specified');
  const list: UserThread[] = [];
  for (let i = 1; i <= n; i++) {
    const t = threadArg(L, i);
    if (t.spawner !== self) luaError(L, 'only the parent coroutine can wait on the thread');
    if (t.reaped) {
      if (n === 1) {
        lua.lua_pushboolean(L, false);
        pushString(L, 'already waited or killed');
        return 2;
      }
      continue;
    }
    if (t.done) {
      lua.lua_settop(L, 0);
      return pushResults(L, t);
    }
    list.push(t);
  }
  if (list.length === 0) {
    lua.lua_pushboolean(L, false);
    pushString(L, 'already waited or killed');
    return 2;
  }
  for (const t of list) t.waiter = self;
  waiting.set(self, list);
  lua.lua_settop(L, 0);
  return suspend(L);
}

function kill(L: LuaState): number {
  checkContext(L, YIELDABLE);
  const self = currentTask()!;
  const co = lua.lua_tothread(L, 1);
  const t = co ? byCo.get(co) : undefined;
  if (!t) {
    lua.lua_pushnil(L);
    pushString(L, 'not user thread');
    return 2;
  }
  if (t.spawner !== self) {
    lua.lua_pushnil(L);
    pushString(L, 'killer not parent');
    return 2;
  }
  if (t.done || t.reaped) {
    lua.lua_pushnil(L);
    pushString(L, t.reaped ? 'already waited or killed' : 'already terminated');
    return 2;
  }
  t.reaped = true;
  killThread(t);
  lua.lua_pushnumber(L, 1);
  return 1;
}

/** coroutine.status for light threads as OpenResty reports them: "running" while parked in the
 *  scheduler, "zombie" once finished but not yet waited for. Returns 0 for other coroutines. */
function threadStatus(L: LuaState): number {
  const co = lua.lua_tothread(L, 1);
  const t = co ? byCo.get(co) : undefined;
  if (!t || co === L) return 0;
  if (t.done) pushString(L, t.reaped ? 'dead' : 'zombie');
  else if (t.waiting) pushString(L, 'running');
  else return 0;
  return 1;
}

defineNgxApi('thread', (L) => {
  lua.lua_pushcfunction(L, threadStatus);
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, S('tsresty.thread_status'));
  lua.lua_createtable(L, 0, 3);
  lua.lua_pushcfunction(L, spawn);
  lua.lua_setfield(L, -2, S('spawn'));
  lua.lua_pushcfunction(L, wait);
  lua.lua_setfield(L, -2, S('wait'));
  lua.lua_pushcfunction(L, kill);
  lua.lua_setfield(L, -2, S('kill'));
  lua.lua_setfield(L, -2, S('thread'));
});
