// require "ngx.pipe" (lua-resty-core's ngx/pipe.lua over ngx_http_lua_pipe.c): spawn processes
// and talk to their stdin/stdout/stderr without blocking the worker. Reads, writes and wait()
// suspend the calling light thread (scheduler suspend/resume) until node:child_process delivers.
//
//   local proc, err = require("ngx.pipe").spawn({"sh", "-c", "echo hi"}, opts?)  -- or a shell string
//   proc:stdout_read_line() / _all() / _bytes(n) / _any(max), stderr_* likewise -> data, err, partial
//   proc:write(data) -> bytes | nil, err;  proc:shutdown("stdin"|"stdout"|"stderr")
//   proc:wait() -> ok, "exit"|"signal", status;  proc:kill(signum);  proc:pid();  proc:set_timeouts(...)
// Error strings follow the upstream documentation ("closed", "timeout", "aborted", "exited",
// "pipe busy reading/writing/waiting", "merged to stdout"). Each process gets its own process
// group and kill() signals the group, so a shell string's children go too. Processes are not
// killed by a garbage collector here (fengari has none): one left running outlives the request.
import { lua, lauxlib } from '../lua/fengari.js';
import { spawn as cpSpawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { S, pushBytes, pushString, luaError, type LuaState } from '../lua/bridge.js';
import { currentTask, suspend, resume, type LuaTask } from '../lua/scheduler.js';
import { definePreload } from './registry.js';
import { checkContext, currentKind, YIELDABLE } from './context.js';

const enum Kind {
  Line,
  All,
  Bytes,
  Any,
}

interface Reader {
  task: LuaTask;
  kind: Kind;
  n: number;
  timer: NodeJS.Timeout | null;
}

interface Pending {
  task: LuaTask;
  timer: NodeJS.Timeout | null;
}

class Stream {
  chunks: Buffer[] = [];
  size = 0;
  eof = false;
  /** shut down by the Lua side: reads fail with "closed" */
  shut = false;
  reader: Reader | null = null;
  constructor(readonly proc: Proc) {}

  push(b: Buffer): void {
    this.chunks.push(b);
    this.size += b.length;
    this.serve();
  }

  end(): void {
    this.eof = true;
    this.serve();
  }

  /** Remove and return the first n buffered bytes (copying only the chunks involved). */
  take(n: number): Buffer {
    const chunks = this.chunks;
    if (n === 0) return Buffer.alloc(0);
    const first = chunks[0];
    if (first.length >= n) {
      if (first.length === n) chunks.shift();
      else chunks[0] = first.subarray(n);
      this.size -= n;
      return first.subarray(0, n);
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const c = chunks[0];
      if (c.length <= need) {
        parts.push(c);
        chunks.shift();
        need -= c.length;
      } else {
        parts.push(c.subarray(0, need));
        chunks[0] = c.subarray(need);
        need = 0;
      }
    }
    this.size -= n;
    return Buffer.concat(parts, n);
  }

  /** Offset of the first LF in the buffered data, or -1. */
  indexOfLF(): number {
    let base = 0;
    for (const c of this.chunks) {
      const i = c.indexOf(10);
      if (i >= 0) return base + i;
      base += c.length;
    }
    return -1;
  }

  /** Try to complete the pending read; true when it was completed. */
  serve(): boolean {
    const r = this.reader;
    if (r === null || r.task.done) {
      this.reader = null;
      return false;
    }
    const co = r.task.co;
    const n = tryRead(this, r.kind, r.n, co);
    if (n < 0) return false;
    this.finish(n);
    return true;
  }

  finish(nret: number): void {
    const r = this.reader!;
    this.reader = null;
    if (r.timer !== null) clearTimeout(r.timer);
    resume(r.task, nret);
  }
}

/** Attempt a read on `s` pushing results onto L; -1 when it must wait. */
function tryRead(s: Stream, kind: Kind, n: number, L: LuaState): number {
  switch (kind) {
    case Kind.Line: {
      const nl = s.indexOfLF();
      if (nl >= 0) {
        const line = s.take(nl + 1);
        let end = nl;
        if (end > 0 && line[end - 1] === 13) end--;
        pushBytes(L, line.subarray(0, end));
        return 1;
      }
      if (s.eof) return closedWithPartial(s, L);
      return -1;
    }
    case Kind.All:
      if (s.eof) {
        pushBytes(L, s.take(s.size));
        return 1;
      }
      return -1;
    case Kind.Bytes:
      if (s.size >= n) {
        pushBytes(L, s.take(n));
        return 1;
      }
      if (s.eof) return closedWithPartial(s, L);
      return -1;
    case Kind.Any:
      if (s.size > 0) {
        pushBytes(L, s.take(Math.min(n, s.size)));
        return 1;
      }
      if (s.eof) {
        lua.lua_pushnil(L);
        pushString(L, 'closed');
        return 2;
      }
      return -1;
  }
  return -1;
}

function closedWithPartial(s: Stream, L: LuaState): number {
  lua.lua_pushnil(L);
  pushString(L, 'closed');
  pushBytes(L, s.take(s.size));
  return 3;
}

class Proc {
  child: ChildProcess;
  stdout: Stream;
  stderr: Stream;
  merged: boolean;
  exited = false;
  exitCode: number | null = null;
  exitSignal: number | null = null;
  waited = false;
  stdinClosed = false;
  writer: Pending | null = null;
  waiter: Pending | null = null;
  writeTimeout = 10000;
  stdoutTimeout = 10000;
  stderrTimeout = 10000;
  waitTimeout = 10000;

  constructor(child: ChildProcess, merged: boolean) {
    this.child = child;
    this.merged = merged;
    this.stdout = new Stream(this);
    this.stderr = new Stream(this);
    child.stdout!.on('data', (d: Buffer) => this.stdout.push(d));
    child.stderr!.on('data', (d: Buffer) => (merged ? this.stdout : this.stderr).push(d));
    let open = merged ? 2 : 1;
    const outEnd = (): void => {
      if (--open === 0) this.stdout.end();
    };
    child.stdout!.on('end', outEnd);
    child.stdout!.on('error', outEnd);
    if (merged) {
      child.stderr!.on('end', outEnd);
      child.stderr!.on('error', outEnd);
    } else {
      child.stderr!.on('end', () => this.stderr.end());
      child.stderr!.on('error', () => this.stderr.end());
    }
    child.stdin!.on('error', () => {
      this.stdinClosed = true;
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitCode = code;
      this.exitSignal = signal ? (os.constants.signals as Record<string, number>)[signal] ?? 0 : null;
      const w = this.waiter;
      if (w !== null) {
        this.waiter = null;
        if (w.timer !== null) clearTimeout(w.timer);
        if (!w.task.done) resume(w.task, pushExit(this, w.task.co));
      }
    });
  }
}

function pushExit(p: Proc, L: LuaState): number {
  p.waited = true;
  if (p.exitSignal !== null) {
    lua.lua_pushboolean(L, false);
    pushString(L, 'signal');
    lua.lua_pushnumber(L, p.exitSignal);
  } else {
    lua.lua_pushboolean(L, p.exitCode === 0);
    pushString(L, 'exit');
    lua.lua_pushnumber(L, p.exitCode ?? 0);
  }
  return 3;
}

const MT_KEY = S('tsresty.pipe.mt');
const P_KEY = S('_p');

function procAt(L: LuaState): Proc {
  if (lua.lua_type(L, 1) === lua.LUA_TTABLE) {
    lua.lua_getfield(L, 1, P_KEY);
    const p = lua.lua_touserdata(L, -1);
    lua.lua_pop(L, 1);
    if (p instanceof Proc) return p;
  }
  return luaError(L, 'not a process instance');
}

function fail(L: LuaState, msg: string): number {
  lua.lua_pushnil(L);
  pushString(L, msg);
  return 2;
}

/** execvp's PATH search, done up front so a missing program fails spawn() like upstream. */
function findProgram(file: string, env: NodeJS.ProcessEnv): string | null {
  const ok = (p: string): boolean => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (file.includes('/')) return ok(file) ? file : null;
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const p = path.join(dir || '.', file);
    if (ok(p)) return p;
  }
  return null;
}

function pipeSpawn(L: LuaState): number {
  if (currentKind() === 'init') return fail(L, 'API disabled in the context of init_by_lua*');
  let file: string;
  let args: string[];
  if (lua.lua_type(L, 1) === lua.LUA_TSTRING) {
    file = '/bin/sh';
    args = ['-c', Buffer.from(lua.lua_tolstring(L, 1)).toString('latin1')];
  } else if (lua.lua_type(L, 1) === lua.LUA_TTABLE) {
    const n = lua.lua_rawlen(L, 1);
    if (n === 0) luaError(L, 'bad args arg: args should not be empty');
    const all: string[] = [];
    for (let i = 1; i <= n; i++) {
      lua.lua_rawgeti(L, 1, i);
      if (lua.lua_type(L, -1) !== lua.LUA_TSTRING) luaError(L, 'bad args arg: expected string at index ' + i);
      all.push(Buffer.from(lua.lua_tolstring(L, -1)).toString('latin1'));
      lua.lua_pop(L, 1);
    }
    file = all[0];
    args = all.slice(1);
  } else {
    return luaError(L, 'bad args arg: table expected, got ' + Buffer.from(lua.lua_typename(L, lua.lua_type(L, 1))).toString());
  }
  let merged = false;
  let env: NodeJS.ProcessEnv = process.env;
  const timeouts: (number | null)[] = [null, null, null, null];
  if (lua.lua_type(L, 2) === lua.LUA_TTABLE) {
    lua.lua_getfield(L, 2, S('merge_stderr'));
    merged = lua.lua_toboolean(L, -1);
    lua.lua_pop(L, 1);
    lua.lua_getfield(L, 2, S('environ'));
    if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
      env = {};
      const n = lua.lua_rawlen(L, -1);
      for (let i = 1; i <= n; i++) {
        lua.lua_rawgeti(L, -1, i);
        const kv = Buffer.from(lua.lua_tolstring(L, -1) ?? S('')).toString('latin1');
        lua.lua_pop(L, 1);
        const eq = kv.indexOf('=');
        if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
    }
    lua.lua_pop(L, 1);
    ['write_timeout', 'stdout_read_timeout', 'stderr_read_timeout', 'wait_timeout'].forEach((k, i) => {
      lua.lua_getfield(L, 2, S(k));
      if (lua.lua_type(L, -1) === lua.LUA_TNUMBER) timeouts[i] = lua.lua_tonumber(L, -1);
      lua.lua_pop(L, 1);
    });
  }
  const program = findProgram(file, env === process.env ? process.env : { ...env, PATH: env.PATH ?? process.env.PATH });
  if (program === null) return fail(L, 'execvp failed: No such file or directory');
  let child: ChildProcess;
  try {
    // its own process group, so kill() also reaches what a shell command started
    child = cpSpawn(program, args, { env, stdio: ['pipe', 'pipe', 'pipe'], argv0: file, detached: true });
  } catch (e) {
    return fail(L, `spawn failed: ${(e as Error).message}`);
  }
  const p = new Proc(child, merged);
  child.on('error', () => {
    p.stdout.end();
    p.stderr.end();
  });
  if (timeouts[0] !== null) p.writeTimeout = timeouts[0];
  if (timeouts[1] !== null) p.stdoutTimeout = timeouts[1];
  if (timeouts[2] !== null) p.stderrTimeout = timeouts[2];
  if (timeouts[3] !== null) p.waitTimeout = timeouts[3];
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushlightuserdata(L, p);
  lua.lua_setfield(L, -2, P_KEY);
  lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, MT_KEY);
  lua.lua_setmetatable(L, -2);
  return 1;
}

function read(L: LuaState, err: boolean, kind: Kind): number {
  const p = procAt(L);
  let n = 0;
  if (kind === Kind.Bytes || kind === Kind.Any) {
    n = lauxlib.luaL_checknumber(L, 2);
    if (kind === Kind.Bytes && n < 0) luaError(L, 'bad len argument');
    if (kind === Kind.Any && n <= 0) luaError(L, 'bad max argument');
    n = Math.floor(n);
  }
  checkContext(L, YIELDABLE);
  if (err && p.merged) return fail(L, 'merged to stdout');
  const s = err ? p.stderr : p.stdout;
  if (s.reader !== null && !s.reader.task.done) return fail(L, 'pipe busy reading');
  if (s.shut) return fail(L, 'closed');
  if (kind === Kind.Bytes && n === 0) {
    pushBytes(L, Buffer.alloc(0));
    return 1;
  }
  lua.lua_settop(L, 0);
  const done = tryRead(s, kind, n, L);
  if (done >= 0) return done;
  const task = currentTask()!;
  const r: Reader = { task, kind, n, timer: null };
  const timeout = err ? p.stderrTimeout : p.stdoutTimeout;
  if (timeout > 0) {
    r.timer = setTimeout(() => {
      if (s.reader !== r) return;
      s.reader = null;
      if (task.done) return;
      const co = task.co;
      lua.lua_pushnil(co);
      pushString(co, 'timeout');
      if (kind === Kind.Any) {
        resume(task, 2);
        return;
      }
      pushBytes(co, s.take(s.size));
      resume(task, 3);
    }, timeout);
  }
  s.reader = r;
  return suspend(L);
}

function pipeWrite(L: LuaState): number {
  const p = procAt(L);
  let data: Buffer;
  if (lua.lua_type(L, 2) === lua.LUA_TTABLE) {
    const parts: Buffer[] = [];
    const n = lua.lua_rawlen(L, 2);
    for (let i = 1; i <= n; i++) {
      lua.lua_rawgeti(L, 2, i);
      const b = lua.lua_tolstring(L, -1);
      if (b === null) luaError(L, `bad data arg: string expected at index ${i}`);
      parts.push(Buffer.from(b));
      lua.lua_pop(L, 1);
    }
    data = Buffer.concat(parts);
  } else {
    const b = lua.lua_tolstring(L, 2);
    if (b === null) luaError(L, 'bad data arg: string or table expected');
    data = Buffer.from(b);
  }
  checkContext(L, YIELDABLE);
  if (p.writer !== null && !p.writer.task.done) return fail(L, 'pipe busy writing');
  if (p.stdinClosed || p.exited) return fail(L, 'closed');
  const task = currentTask()!;
  const w: Pending = { task, timer: null };
  p.writer = w;
  const finish = (push: (co: LuaState) => number): void => {
    if (p.writer !== w) return;
    p.writer = null;
    if (w.timer !== null) clearTimeout(w.timer);
    if (!task.done) resume(task, push(task.co));
  };
  if (p.writeTimeout > 0) {
    w.timer = setTimeout(() => finish((co) => fail(co, 'timeout')), p.writeTimeout);
  }
  p.child.stdin!.write(data, (e) => {
    if (e) finish((co) => fail(co, 'closed'));
    else
      finish((co) => {
        lua.lua_pushnumber(co, data.length);
        return 1;
      });
  });
  lua.lua_settop(L, 0);
  return suspend(L);
}

function pipeShutdown(L: LuaState): number {
  const p = procAt(L);
  const dir = Buffer.from(lauxlib.luaL_checklstring(L, 2)).toString('latin1');
  if (dir === 'stdin') {
    if (p.stdinClosed && p.writer === null) {
      lua.lua_pushboolean(L, true);
      return 1;
    }
    p.stdinClosed = true;
    const w = p.writer;
    if (w !== null) {
      p.writer = null;
      if (w.timer !== null) clearTimeout(w.timer);
      if (!w.task.done) {
        const co = w.task.co;
        lua.lua_pushnil(co);
        pushString(co, 'aborted');
        setImmediate(resume, w.task, 2);
      }
    }
    p.child.stdin!.end();
  } else if (dir === 'stdout' || dir === 'stderr') {
    if (dir === 'stderr' && p.merged) return fail(L, 'merged to stdout');
    const s = dir === 'stdout' ? p.stdout : p.stderr;
    s.shut = true;
    s.chunks = [];
    s.size = 0;
    const r = s.reader;
    if (r !== null) {
      s.reader = null;
      if (r.timer !== null) clearTimeout(r.timer);
      if (!r.task.done) {
        const co = r.task.co;
        lua.lua_pushnil(co);
        pushString(co, 'aborted');
        setImmediate(resume, r.task, 2);
      }
    }
    (dir === 'stdout' ? p.child.stdout : p.child.stderr)!.destroy();
  } else {
    return luaError(L, 'bad shutdown arg: ' + dir);
  }
  lua.lua_pushboolean(L, true);
  return 1;
}

function pipeWait(L: LuaState): number {
  const p = procAt(L);
  checkContext(L, YIELDABLE);
  if (p.waiter !== null && !p.waiter.task.done) return fail(L, 'pipe busy waiting');
  if (p.exited) {
    if (p.waited) return fail(L, 'exited');
    lua.lua_settop(L, 0);
    return pushExit(p, L);
  }
  const task = currentTask()!;
  const w: Pending = { task, timer: null };
  p.waiter = w;
  if (p.waitTimeout > 0) {
    w.timer = setTimeout(() => {
      if (p.waiter !== w) return;
      p.waiter = null;
      if (!task.done) resume(task, fail(task.co, 'timeout'));
    }, p.waitTimeout);
  }
  lua.lua_settop(L, 0);
  return suspend(L);
}

function pipePid(L: LuaState): number {
  const p = procAt(L);
  lua.lua_pushnumber(L, p.child.pid ?? 0);
  return 1;
}

function pipeKill(L: LuaState): number {
  const p = procAt(L);
  if (lua.lua_type(L, 2) !== lua.LUA_TNUMBER) luaError(L, 'bad signal arg: number expected');
  const sig = lua.lua_tonumber(L, 2);
  if (p.exited) return fail(L, 'exited');
  try {
    try {
      process.kill(-p.child.pid!, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      process.kill(p.child.pid!, sig);
    }
  } catch {
    return fail(L, 'invalid signal');
  }
  lua.lua_pushboolean(L, true);
  return 1;
}

function pipeSetTimeouts(L: LuaState): number {
  const p = procAt(L);
  const opt = (i: number): number | null => (lua.lua_isnoneornil(L, i) ? null : lauxlib.luaL_checknumber(L, i));
  const w = opt(2);
  const so = opt(3);
  const se = opt(4);
  const wt = opt(5);
  if (w !== null) p.writeTimeout = w;
  if (so !== null) p.stdoutTimeout = so;
  if (se !== null) p.stderrTimeout = se;
  if (wt !== null) p.waitTimeout = wt;
  return 0;
}

const METHODS: Record<string, (L: LuaState) => number> = {
  stdout_read_line: (L) => read(L, false, Kind.Line),
  stdout_read_all: (L) => read(L, false, Kind.All),
  stdout_read_bytes: (L) => read(L, false, Kind.Bytes),
  stdout_read_any: (L) => read(L, false, Kind.Any),
  stderr_read_line: (L) => read(L, true, Kind.Line),
  stderr_read_all: (L) => read(L, true, Kind.All),
  stderr_read_bytes: (L) => read(L, true, Kind.Bytes),
  stderr_read_any: (L) => read(L, true, Kind.Any),
  write: pipeWrite,
  shutdown: pipeShutdown,
  wait: pipeWait,
  pid: pipePid,
  kill: pipeKill,
  set_timeouts: pipeSetTimeouts,
};

definePreload('ngx.pipe', (L) => {
  lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, MT_KEY);
  const have = lua.lua_type(L, -1) === lua.LUA_TTABLE;
  lua.lua_pop(L, 1);
  if (!have) {
    lua.lua_createtable(L, 0, 1);
    lua.lua_createtable(L, 0, Object.keys(METHODS).length);
    for (const k of Object.keys(METHODS)) {
      lua.lua_pushcfunction(L, METHODS[k]);
      lua.lua_setfield(L, -2, S(k));
    }
    lua.lua_setfield(L, -2, S('__index'));
    lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, MT_KEY);
  }
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushcfunction(L, pipeSpawn);
  lua.lua_setfield(L, -2, S('spawn'));
  pushString(L, '0.1.25');
  lua.lua_setfield(L, -2, S('version'));
  return 1;
});
