// ngx.timer.at / every / running_count / pending_count (ngx_http_lua_timer.c). Each expiry runs the
// callback in its own coroutine (kind "timer", no request); at worker exit pending timers fire
// at once with premature = true.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, luaError, pushString, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { checkContext, ALL, Ctx } from './context.js';
import { LuaTask, TaskEnd, startTaskWithFunction, type TaskHost } from '../lua/scheduler.js';
import { logError, Level, type LogContext } from '../log/errorlog.js';

interface TimerEntry {
  ref: number; // registry ref of { fn, arg1, ..., n = count }
  nargs: number;
  every: number; // ms, 0 for one-shot
  handle: NodeJS.Timeout | null;
  fired: boolean;
}

let connSerialBase = 1_000_000;

/** Log context of timer code: nginx prints "context: ngx.timer" on such lines. */
class TimerLog implements LogContext {
  readonly serial = ++connSerialBase;
  connSerial(): number {
    return this.serial;
  }
  logSuffix(): string {
    return ', context: ngx.timer';
  }
}

export class TimerTask extends LuaTask {
  readonly log = new TimerLog();
}

class Timers {
  L: LuaState = null;
  pending = new Set<TimerEntry>();
  running = 0;
  maxPending = 1024;
  maxRunning = 256;
  exiting = false;

  add(L: LuaState, every: boolean): number {
    const delay = lauxlib.luaL_checknumber(L, 1);
    if (delay < 0) luaError(L, "bad argument #1 to 'at' (delay must be >= 0)");
    if (every && delay <= 0) luaError(L, "bad argument #1 to 'every' (delay must be > 0)");
    lauxlib.luaL_checktype(L, 2, lua.LUA_TFUNCTION);
    if (this.exiting) {
      lua.lua_pushnil(L);
      pushString(L, 'process exiting');
      return 2;
    }
    if (this.pending.size >= this.maxPending) {
      lua.lua_pushnil(L);
      pushString(L, 'too many pending timers');
      return 2;
    }
    const n = lua.lua_gettop(L);
    lua.lua_createtable(L, n - 1, 0);
    for (let i = 2; i <= n; i++) {
      lua.lua_pushvalue(L, i);
      lua.lua_rawseti(L, -2, i - 1);
    }
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    const t: TimerEntry = { ref, nargs: n - 2, every: every ? delay * 1000 : 0, handle: null, fired: false };
    this.schedule(t, delay * 1000);
    lua.lua_pushnumber(L, 1);
    return 1;
  }

  private schedule(t: TimerEntry, ms: number): void {
    this.pending.add(t);
    t.handle = setTimeout(() => this.fire(t, false), ms);
  }

  fire(t: TimerEntry, premature: boolean): void {
    this.pending.delete(t);
    t.handle = null;
    if (this.running >= this.maxRunning) {
      logError(Level.Alert, `${this.maxRunning} lua_max_running_timers are not enough`);
      this.release(t);
      return;
    }
    const L = this.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, t.ref);
    const tbl = lua.lua_gettop(L);
    lua.lua_rawgeti(L, tbl, 1);
    lua.lua_pushboolean(L, premature);
    for (let i = 1; i <= t.nargs; i++) lua.lua_rawgeti(L, tbl, i + 1);
    lua.lua_remove(L, tbl);
    const task = new TimerTask(timerHost, 'timer', null);
    (task as unknown as { entry: TimerEntry }).entry = t;
    this.running++;
    if (t.every && !premature && !this.exiting) this.schedule(t, t.every);
    startTaskWithFunction(task, L, t.nargs + 1);
  }

  release(t: TimerEntry): void {
    if (!this.pending.has(t) && t.ref) {
      lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, t.ref);
      t.ref = 0;
    }
  }

  /** Worker exit: every pending timer runs now with premature = true. */
  expireAll(): void {
    this.exiting = true;
    for (const t of [...this.pending]) {
      if (t.handle) clearTimeout(t.handle);
      this.fire(t, true);
    }
  }
}

export const timers = new Timers();

const timerHost: TaskHost = {
  taskDone(task: LuaTask, end: TaskEnd, err: string | null): void {
    timers.running--;
    const t = (task as unknown as { entry: TimerEntry }).entry;
    if (!t.every || timers.exiting) timers.release(t);
    if (end === TaskEnd.Error) logError(Level.Err, `lua entry thread aborted: runtime error: ${err}`, (task as TimerTask).log);
  },
};

// lua-nginx-module refuses timers in init_by_lua and exit_worker_by_lua (no event loop to run them)
const TIMER_CTX = ALL & ~(Ctx.init | Ctx.exit_worker);

defineNgxApi('timer', (L, env) => {
  timers.L = L;
  const http = env.worker?.http;
  if (http) {
    timers.maxPending = http.luaMaxPendingTimers;
    timers.maxRunning = http.luaMaxRunningTimers;
  }
  lua.lua_createtable(L, 0, 4);
  const fns: Record<string, (L: LuaState) => number> = {
    at: (L) => {
      checkContext(L, TIMER_CTX);
      return timers.add(L, false);
    },
    every: (L) => {
      checkContext(L, TIMER_CTX);
      return timers.add(L, true);
    },
    running_count: (L) => {
      lua.lua_pushnumber(L, timers.running);
      return 1;
    },
    pending_count: (L) => {
      lua.lua_pushnumber(L, timers.pending.size);
      return 1;
    },
  };
  for (const k of Object.keys(fns)) {
    lua.lua_pushcfunction(L, fns[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  lua.lua_setfield(L, -2, S('timer'));
});
