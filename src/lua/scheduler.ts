// Runs Lua code in coroutines and lets JS API functions suspend them. A JS function that must wait
// (ngx.sleep, a cosocket read) calls `suspend(L)` and returns its value; the event loop later calls
// `resume(task, n)` with n results pushed on the task's coroutine. Yields inside user coroutines are
// forwarded outward by the coroutine wrappers in lua/tsresty/coroutine.lua, using YIELD_MARK.
import { lua, lauxlib } from './fengari.js';
import { S, bytesToString, luaErrorWhere, type LuaState } from './bridge.js';

/** Why a task stopped running. */
export const enum TaskEnd {
  Ok = 0,
  Error = 1,
  Exit = 2, // ngx.exit / ngx.exec / ngx.redirect: the entry thread is finished on purpose
}

export interface TaskHost {
  /** Called once when the task's coroutine ends (returned, raised, or was exited). */
  taskDone(task: LuaTask, end: TaskEnd, err: string | null): void;
}

/** A running coroutine: a request phase handler, a timer, a light thread. */
export class LuaTask {
  co: LuaState = null;
  coRef = 0;
  /** Set while the coroutine is suspended waiting for JS to resume it. */
  waiting = false;
  done = false;
  /** Instructions left before the runaway guard fires; reset on every resume. */
  budget = 0;
  /** Light threads (ngx.thread.spawn): the entry task of the group, the spawner, live count. */
  root: LuaTask = this;
  spawner: LuaTask | null = null;
  liveThreads = 0;
  /** user threads of this root still running */
  threads: Set<LuaTask> | null = null;
  /** the root's own end, held back until its light threads are done */
  deferredEnd: { end: TaskEnd; err: string | null } | null = null;
  /** set when a light thread called ngx.exit: the whole group must stop */
  groupExit = false;
  /** set by ngx.exit & co (exitTask) until the yield it causes is settled */
  exitRequested = false;
  /** the coroutine may go back to the thread pool when it returns (nobody reads its results) */
  recycle = false;
  /** cosockets to release when this task group ends (ngx/socket-common.ts) */
  cosockets: unknown = null;
  /** Free-form per-kind data, e.g. the request this task belongs to. */
  constructor(
    readonly host: TaskHost,
    readonly kind: string,
    readonly req: any,
  ) {}
}

let current: LuaTask | null = null;

export function currentTask(): LuaTask | null {
  return current;
}

let MAIN: LuaState = null;
let YIELD_MARK_KEY: Uint8Array;
let yieldMarkRef = 0;
let instructionBudget = 0;
const HOOK_STEP = 10000;

/** Prepare the state: the yield marker and the runaway-script hook (inherited by new threads). */
export function initScheduler(L: LuaState, budget: number): void {
  MAIN = L;
  instructionBudget = budget;
  YIELD_MARK_KEY = S('tsresty.yield_mark');
  // The marker is a unique table kept in the registry; Lua wrappers compare against it.
  lua.lua_newtable(L);
  lua.lua_pushvalue(L, -1);
  yieldMarkRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX); // pushed by reference: no key lookup
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, YIELD_MARK_KEY);
  lua.lua_pushcfunction(L, coRunning);
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, S('tsresty.running'));
  if (budget > 0) lua.lua_sethook(L, budgetHook, lua.LUA_MASKCOUNT, HOOK_STEP);
}

export class BudgetExceededError extends Error {
  readonly code = 'TSRESTY_LUA_BUDGET';
}

function budgetHook(L: LuaState): void {
  const t = current;
  if (t === null) return;
  t.budget -= HOOK_STEP;
  if (t.budget <= 0) {
    t.budget = HOOK_STEP; // keep firing on every step so a pcall cannot swallow it for long
    luaErrorWhere(L, `instruction budget exceeded (lua_instruction_budget ${instructionBudget}): runaway Lua code aborted`);
  }
}

// ---- thread pool ------------------------------------------------------------------------------
// A request's entry coroutine that returned normally is reused by a later task: a fresh thread per
// request (its lua_State, stack slots and CallInfos) was a fifth of a request's garbage. Only
// threads Lua code never held as a value are reused - coroutine.running (the one way to get the
// running thread; see lua/tsresty/coroutine.lua) marks a thread as seen - and only while they run
// the state's own hook (debug.sethook on the thread rules it out).
const threadPool: LuaState[] = [];
const THREAD_POOL_MAX = 256;
/** a pooled thread whose stack grew past this many slots is dropped instead */
const THREAD_STACK_MAX = 4096;
const seenThreads = new WeakSet<object>();

function takeThread(): LuaState {
  const co = threadPool.pop();
  if (co !== undefined) return co;
  const fresh = lua.lua_newthread(MAIN);
  // No registry anchor: fengari objects live as long as JS references them (task.co), and
  // luaL_ref/unref per request cost ~9% of a hello-world request's CPU.
  lua.lua_pop(MAIN, 1);
  return fresh;
}

function recycleThread(co: LuaState): void {
  if (threadPool.length >= THREAD_POOL_MAX || seenThreads.has(co)) return;
  if (lua.lua_gethook(co) !== lua.lua_gethook(MAIN) || lua.lua_gethookmask(co) !== lua.lua_gethookmask(MAIN) || lua.lua_gethookcount(co) !== lua.lua_gethookcount(MAIN)) return;
  const stack = (co as { stack: ({ type: number; value: unknown } | undefined)[] }).stack;
  if (stack.length > THREAD_STACK_MAX) return;
  lua.lua_settop(co, 0);
  // drop what the dead slots still point to (a large body string must not outlive its request)
  for (let i = 1; i < stack.length; i++) {
    const o = stack[i];
    if (o !== undefined && o.value !== null) {
      o.type = lua.LUA_TNIL;
      o.value = null;
    }
  }
  threadPool.push(co);
}

/** coroutine.running(): the running thread and whether it is the main one; the thread is marked
 *  as seen by Lua code, so it is never reused for another task. */
function coRunning(L: LuaState): number {
  const isMain = lua.lua_pushthread(L);
  if (!isMain) seenThreads.add(L);
  lua.lua_pushboolean(L, isMain);
  return 2;
}

/** Push the yield marker (for the coroutine wrappers to recognise API yields). */
export function pushYieldMark(L: LuaState): void {
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, yieldMarkRef);
}

/** Called by a JS API function that must wait: `return suspend(L)`. */
export function suspend(L: LuaState): number {
  return suspendThen(L, null, null);
}

/** suspend(), continuing in `k` when resumed: the resume values are then the top of L's stack
 *  and k returns how many values from the top are the call's results (lua_yieldk). */
export function suspendThen<C>(L: LuaState, ctx: C, k: ((L: LuaState, status: number, ctx: C) => number) | null): number {
  const t = current;
  if (t === null) luaErrorWhere(L, 'no request context to yield');
  t.waiting = true;
  pushYieldMark(L);
  return lua.lua_yieldk(L, 1, ctx, k);
}

/** Create the task's coroutine with the function at the top of MAIN's stack moved onto it. */
export function startTask(task: LuaTask, fnRef: number, nargs: number, pushArgs?: (co: LuaState) => void): void {
  const co = takeThread();
  task.co = co;
  lua.lua_rawgeti(co, lua.LUA_REGISTRYINDEX, fnRef);
  if (pushArgs) pushArgs(co);
  run(task, nargs);
}

/** Start a task on a function already on top of `from`'s stack (light threads, timers). */
export function startTaskWithFunction(task: LuaTask, from: LuaState, nargs: number): void {
  const co = lua.lua_newthread(MAIN);
  lua.lua_pop(MAIN, 1); // kept alive by task.co, see startTask
  task.co = co;
  lua.lua_xmove(from, co, nargs + 1);
  run(task, nargs);
}

/** Resume a suspended task with `nargs` values already pushed onto task.co. */
export function resume(task: LuaTask, nargs: number): void {
  if (task.done) return;
  task.waiting = false;
  run(task, nargs);
}

/** Stop a task from JS (ngx.exit, a killed light thread, a request torn down). */
export function finishTask(task: LuaTask, end: TaskEnd, err: string | null): void {
  if (task.done) return;
  task.done = true;
  task.waiting = false;
  if (task.coRef) {
    lauxlib.luaL_unref(MAIN, lua.LUA_REGISTRYINDEX, task.coRef);
    task.coRef = 0;
  }
  if (task.root === task && task.threads !== null && task.threads.size > 0) {
    if (end === TaskEnd.Ok) {
      // lua-nginx-module: the entry thread's phase ends only when its light threads have ended
      task.deferredEnd = { end, err };
      return;
    }
    killThreads(task);
  }
  task.host.taskDone(task, end, err);
  if (task.root !== task) threadEnded(task, end);
}

/** Abort every light thread of a group (ngx.exit, errors, the request going away). */
export function killThreads(root: LuaTask): void {
  const threads = root.threads;
  if (threads === null) return;
  root.threads = null;
  for (const t of threads) {
    t.done = true;
    t.waiting = false;
    if (t.coRef) {
      lauxlib.luaL_unref(MAIN, lua.LUA_REGISTRYINDEX, t.coRef);
      t.coRef = 0;
    }
  }
}

function threadEnded(t: LuaTask, end: TaskEnd): void {
  const root = t.root;
  if (root.threads !== null) root.threads.delete(t);
  if (end === TaskEnd.Exit) {
    // ngx.exit in a light thread ends the whole request
    if (!root.done) {
      root.groupExit = true;
      if (root.waiting && root !== current) exitRequestedAbort(root);
      return;
    }
    if (root.deferredEnd !== null) {
      killThreads(root);
      root.deferredEnd = null;
      root.host.taskDone(root, TaskEnd.Exit, null);
      return;
    }
  }
  if (root.done && root.deferredEnd !== null && (root.threads === null || root.threads.size === 0)) {
    const d = root.deferredEnd;
    root.deferredEnd = null;
    root.host.taskDone(root, d.end, d.err);
  }
}

/** ngx.thread.kill: stop a light thread without running it again; it does not end the group. */
export function killThread(t: LuaTask): void {
  if (t.done) return;
  t.done = true;
  t.waiting = false;
  if (t.coRef) {
    lauxlib.luaL_unref(MAIN, lua.LUA_REGISTRYINDEX, t.coRef);
    t.coRef = 0;
  }
  threadEnded(t, TaskEnd.Ok);
}

function exitRequestedAbort(root: LuaTask): void {
  killThreads(root);
  root.done = false;
  finishTask(root, TaskEnd.Exit, null);
}

/** Register a light thread spawned by the running task and start it (it runs until its first
 *  yield before spawn returns). The function and its nargs arguments are on co's stack. */
export function startThread(t: LuaTask, co: LuaState, coRef: number, nargs: number, spawnedBy: LuaTask | null = null): void {
  const spawner = spawnedBy ?? current!;
  t.co = co;
  t.coRef = coRef;
  t.spawner = spawner;
  t.root = spawner.root;
  (t.root.threads ??= new Set()).add(t);
  run(t, nargs);
}

/** Marks the running task as exited (ngx.exit & co) and yields out of it. */
export function exitTask(L: LuaState): number {
  const t = current;
  if (t === null) luaErrorWhere(L, 'no request context');
  t.exitRequested = true;
  t.waiting = true;
  pushYieldMark(L);
  return lua.lua_yield(L, 1);
}

/** Tasks to resume once the outermost resume returns (lua-nginx-module's posted threads). */
const posted: { task: LuaTask; push: ((co: LuaState) => number) | null }[] = [];

/** Park the running task and resume it after the current scheduler turn (e.g. a light thread
 *  that spawned another one). `push` supplies the values its pending call returns. */
export function postCurrent(L: LuaState, push: (co: LuaState) => number): number {
  const t = current!;
  t.waiting = true;
  posted.push({ task: t, push });
  pushYieldMark(L);
  return lua.lua_yield(L, 1);
}

/** Post a task (lua-nginx-module's ngx_http_lua_post_thread) without yielding it yet: ngx.thread.spawn
 *  posts the spawner before running the new thread, then yields it with `yieldPosted`. */
export function postTask(t: LuaTask, push: ((co: LuaState) => number) | null): void {
  posted.push({ task: t, push });
}

/** Yield the running task, which was posted already (see postTask). */
export function yieldPosted(L: LuaState): number {
  current!.waiting = true;
  pushYieldMark(L);
  return lua.lua_yield(L, 1);
}

function drainPosted(): void {
  while (posted.length > 0) {
    const p = posted.shift()!;
    const t = p.task;
    if (t.done) continue;
    t.waiting = false;
    run(t, p.push ? p.push(t.co) : 0);
  }
}

function run(task: LuaTask, nargs: number): void {
  const prev = current;
  current = task;
  task.budget = instructionBudget;
  let st: number;
  try {
    st = lua.lua_resume(task.co, MAIN, nargs);
  } finally {
    current = prev;
  }
  settle(task, st);
  if (prev === null && posted.length > 0) drainPosted();
}

function settle(task: LuaTask, st: number): void {
  if (task.done) return; // killed while running (a light thread's ngx.exit ended the group)
  if (st === lua.LUA_YIELD) {
    if (task.groupExit) {
      task.exitRequested = false;
      task.groupExit = false;
      finishTask(task, TaskEnd.Exit, null);
      return;
    }
    if (task.exitRequested) {
      task.exitRequested = false;
      finishTask(task, TaskEnd.Exit, null);
      return;
    }
    if (task.waiting) return; // a JS API function will resume it
    task.waiting = true;
    if (task.root !== task) {
      // a bare coroutine.yield() in a light thread posts it behind the threads already posted
      lua.lua_settop(task.co, 0);
      posted.push({ task, push: null });
      return;
    }
    // A bare coroutine.yield() in the entry thread: OpenResty treats it like ngx.sleep(0).
    lua.lua_settop(task.co, 0);
    setImmediate(resume, task, 0);
    return;
  }
  if (st === lua.LUA_OK) {
    finishTask(task, TaskEnd.Ok, null);
    if (task.recycle) recycleThread(task.co);
    return;
  }
  finishTask(task, TaskEnd.Error, traceback(task.co));
}

/** "msg\nstack traceback:\n..." in lua-nginx-module's shape ([C] for native frames). */
function traceback(co: LuaState): string {
  const L = MAIN;
  const errv = lua.lua_type(co, -1) === lua.LUA_TSTRING || lua.lua_type(co, -1) === lua.LUA_TNUMBER
    ? bytesToString(lua.lua_tolstring(co, -1))
    : describeNonString(co);
  lauxlib.luaL_traceback(L, co, null, 0);
  const tb = bytesToString(lua.lua_tolstring(L, -1)).replace(/\[JS\]/g, '[C]');
  lua.lua_pop(L, 1);
  return `${errv}\n${tb.replace('stack traceback:', 'stack traceback:\ncoroutine 0:')}`;
}

/** An error value that is not a string: a table's __tostring, else lua-nginx-module's
 *  "unknown reason" (error(nil), error(false), a plain table). */
function describeNonString(co: LuaState): string {
  const t = lua.lua_type(co, -1);
  if (t === lua.LUA_TTABLE || t === lua.LUA_TUSERDATA) {
    // __tostring runs on the main state: the dead coroutine has no stack room left to call it
    const L = MAIN;
    const top = lua.lua_gettop(L);
    if (!lua.lua_checkstack(co, 1)) return 'unknown reason';
    lua.lua_pushvalue(co, -1);
    lua.lua_xmove(co, L, 1);
    let text: string | null = null;
    try {
      if (lauxlib.luaL_callmeta(L, -1, S('__tostring')) && lua.lua_type(L, -1) === lua.LUA_TSTRING) text = bytesToString(lua.lua_tolstring(L, -1));
    } catch {
      text = null; // __tostring itself failed: no better description than nginx's
    }
    lua.lua_settop(L, top);
    if (text !== null) return text;
  }
  return 'unknown reason';
}
