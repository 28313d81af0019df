// require "ngx.semaphore" (lua-resty-core's ngx/semaphore.lua over ngx_http_lua_semaphore.c):
// per-worker counting semaphores for light threads, requests and timers of one worker.
//
//   local sema = require("ngx.semaphore").new(n?)   -- n resources (default 0)
//   sema:post(n?)        -> true          (any context)
//   sema:wait(timeout?)  -> true | nil, "timeout" | nil, "busy" (timeout 0, the default)
//   sema:count()         -> resources - waiters (negative while threads wait)
//
// Semantics kept from the C implementation: waiters are served in FIFO order, and a waiter is
// never overtaken (wait() only takes a resource at once when nobody is queued); post() never
// resumes a waiter synchronously but posts an event that hands resources to the head of the queue,
// so the posting code keeps running first. wait() is allowed where the request can yield (rewrite,
// access, content, timer) and returns nil, "API disabled in the context of ..." elsewhere.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, pushString, luaError, type LuaState } from '../lua/bridge.js';
import { currentTask, suspend, resume, type LuaTask } from '../lua/scheduler.js';
import { definePreload } from './registry.js';
import { Ctx, YIELDABLE, contextLabel, currentKind } from './context.js';

interface Waiter {
  task: LuaTask;
  timer: NodeJS.Timeout | null;
  /** served or timed out: no longer in the queue */
  done: boolean;
}

class Sema {
  resources = 0;
  queue: Waiter[] = [];
  /** queue[head..] are live entries; the array is compacted when it drains */
  head = 0;
  posted = false;
  constructor(n: number) {
    this.resources = n;
  }

  /** Waiters still queued whose task is alive (killed light threads drop out). */
  waiting(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) {
      const w = this.queue[i];
      if (!w.done && !w.task.done) n++;
    }
    return n;
  }

  /** Drop dead entries at the head (served, timed out, killed). */
  prune(): void {
    const q = this.queue;
    while (this.head < q.length) {
      const w = q[this.head];
      if (!w.done && !w.task.done) break;
      if (!w.done) retire(w);
      this.head++;
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    }
  }
}

function retire(w: Waiter): void {
  w.done = true;
  if (w.timer !== null) {
    clearTimeout(w.timer);
    w.timer = null;
  }
}

const YIELD_OK = YIELDABLE;
const SEMA_KEY = S('sem');
const MT_KEY = S('tsresty.semaphore.mt');

function semaAt(L: LuaState): Sema {
  if (lua.lua_type(L, 1) === lua.LUA_TTABLE) {
    lua.lua_getfield(L, 1, SEMA_KEY);
    const s = lua.lua_touserdata(L, -1);
    lua.lua_pop(L, 1);
    if (s instanceof Sema) return s;
  }
  return luaError(L, 'not a semaphore instance');
}

function semaNew(L: LuaState): number {
  let n = 0;
  if (!lua.lua_isnoneornil(L, 1)) {
    n = lauxlib.luaL_checknumber(L, 1);
    if (n < 0) luaError(L, 'no negative number');
    n = Math.floor(n);
  }
  if (currentKind() === 'init') {
    lua.lua_pushnil(L);
    pushString(L, 'API disabled in the context of init_by_lua*');
    return 2;
  }
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushlightuserdata(L, new Sema(n));
  lua.lua_setfield(L, -2, SEMA_KEY);
  lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, MT_KEY);
  lua.lua_setmetatable(L, -2);
  return 1;
}

function semaPost(L: LuaState): number {
  const s = semaAt(L);
  let n = 1;
  if (!lua.lua_isnoneornil(L, 2)) n = Math.floor(lauxlib.luaL_checknumber(L, 2));
  s.resources += n;
  s.prune();
  if (s.head < s.queue.length && !s.posted) {
    s.posted = true;
    setImmediate(serve, s);
  }
  lua.lua_pushboolean(L, true);
  return 1;
}

/** The posted event: hand resources to queued waiters in FIFO order. */
function serve(s: Sema): void {
  s.posted = false;
  while (s.resources > 0) {
    s.prune();
    if (s.head >= s.queue.length) break;
    const w = s.queue[s.head++];
    retire(w);
    s.resources--;
    lua.lua_pushboolean(w.task.co, true);
    resume(w.task, 1);
  }
  s.prune();
}

function timedOut(s: Sema, w: Waiter): void {
  w.timer = null;
  if (w.done) return;
  w.done = true;
  s.prune();
  if (w.task.done) return;
  const co = w.task.co;
  lua.lua_pushnil(co);
  pushString(co, 'timeout');
  resume(w.task, 2);
}

function semaWait(L: LuaState): number {
  const s = semaAt(L);
  let timeout = 0;
  if (!lua.lua_isnoneornil(L, 2)) {
    timeout = lauxlib.luaL_checknumber(L, 2);
    if (timeout < 0) luaError(L, 'bad argument #1 to \'wait\' (timeout must not be negative)');
  }
  const kind = currentKind();
  const bit = (Ctx as Record<string, number>)[kind] ?? 0;
  if ((bit & YIELD_OK) === 0) {
    lua.lua_pushnil(L);
    pushString(L, `API disabled in the context of ${contextLabel(kind)}`);
    return 2;
  }
  s.prune();
  if (s.head === s.queue.length && s.resources > 0) {
    s.resources--;
    lua.lua_pushboolean(L, true);
    return 1;
  }
  if (timeout === 0) {
    lua.lua_pushnil(L);
    pushString(L, 'busy');
    return 2;
  }
  const task = currentTask()!;
  const w: Waiter = { task, timer: null, done: false };
  w.timer = setTimeout(timedOut, timeout * 1000, s, w);
  s.queue.push(w);
  lua.lua_settop(L, 0);
  return suspend(L);
}

function semaCount(L: LuaState): number {
  const s = semaAt(L);
  s.prune();
  lua.lua_pushnumber(L, s.resources - s.waiting());
  return 1;
}

function ensureMetatable(L: LuaState): void {
  lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, MT_KEY);
  const have = lua.lua_type(L, -1) === lua.LUA_TTABLE;
  lua.lua_pop(L, 1);
  if (have) return;
  lua.lua_createtable(L, 0, 2); // metatable
  lua.lua_createtable(L, 0, 3); // methods
  lua.lua_pushcfunction(L, semaPost);
  lua.lua_setfield(L, -2, S('post'));
  lua.lua_pushcfunction(L, semaWait);
  lua.lua_setfield(L, -2, S('wait'));
  lua.lua_pushcfunction(L, semaCount);
  lua.lua_setfield(L, -2, S('count'));
  lua.lua_setfield(L, -2, S('__index'));
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, MT_KEY);
}

definePreload('ngx.semaphore', (L) => {
  ensureMetatable(L);
  lua.lua_createtable(L, 0, 5);
  lua.lua_pushcfunction(L, semaNew);
  lua.lua_setfield(L, -2, S('new'));
  lua.lua_pushcfunction(L, semaPost);
  lua.lua_setfield(L, -2, S('post'));
  lua.lua_pushcfunction(L, semaWait);
  lua.lua_setfield(L, -2, S('wait'));
  lua.lua_pushcfunction(L, semaCount);
  lua.lua_setfield(L, -2, S('count'));
  pushString(L, '0.1.25');
  lua.lua_setfield(L, -2, S('version'));
  return 1;
});
