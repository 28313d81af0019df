// Native half of the lua-resty-core modules in lua/ngx/ and lua/resty/core/ that need facts from
// the worker: ngx.process (process type, master pid), ngx.errlog (lua_capture_error_log buffer,
// raw_log, filter level), resty.core.time (monotonic clock), resty.signal. require "tsresty.core".
// Its installer also loads resty.core into each VM and adds a package searcher that replaces
// FFI-based copies of the modules tsresty ships.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, pushBytes, pushString, luaError, type LuaState } from '../lua/bridge.js';
import { defineNgxApi, definePreload } from './registry.js';
import { currentKind } from './context.js';
import { errorLog, Level } from '../log/errorlog.js';
import { runtimeDir, expandPrefix } from '../lua/vm.js';
import * as fs from 'node:fs';
import * as path from 'node:path';

let worker: any = null;

// ---- ngx.process -------------------------------------------------------------------------------

function processType(L: LuaState): number {
  const master = worker ? Boolean(worker.conf?.masterProcess) : false;
  if (!master) pushString(L, 'single');
  else pushString(L, currentKind() === 'init' ? 'master' : 'worker');
  return 1;
}

function masterPid(L: LuaState): number {
  lua.lua_pushnumber(L, process.pid);
  return 1;
}

// ---- resty.core.time ---------------------------------------------------------------------------

function monotonicMsec(L: LuaState): number {
  lua.lua_pushnumber(L, Math.floor(performance.now() + performance.timeOrigin - START));
  return 1;
}
function monotonicTime(L: LuaState): number {
  lua.lua_pushnumber(L, Math.floor(performance.now() + performance.timeOrigin - START) / 1000);
  return 1;
}
// monotonic values count from an arbitrary origin; start near "uptime" like CLOCK_MONOTONIC does
const START = performance.timeOrigin - Math.floor(process.uptime() * 1000);

// ---- ngx.errlog ----------------------------------------------------------------------------------

interface Entry {
  level: number;
  time: number;
  msg: Uint8Array;
}

/** lua_capture_error_log SIZE: a byte-bounded ring of log lines, oldest dropped first. */
class Capture {
  entries: Entry[] = [];
  head = 0;
  bytes = 0;
  filter = Level.Debug;
  constructor(readonly size: number) {}
  add(level: number, line: string): void {
    if (level > this.filter) return;
    const end = line.endsWith('\n') ? line.length - 1 : line.length;
    const msg = Buffer.from(line.slice(0, end), 'latin1');
    const cost = msg.length + 32;
    if (cost > this.size) return;
    this.entries.push({ level, time: Date.now() / 1000, msg });
    this.bytes += cost;
    while (this.bytes > this.size) {
      const old = this.entries[this.head++];
      this.bytes -= old.msg.length + 32;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

let capture: Capture | null = null;

function parseSize(s: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(s);
  if (!m) return 0;
  const mul = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mul;
}

function setupCapture(w: any): void {
  const dirs: { name: string; args: string[] }[] = w?.conf?.unimplemented ?? [];
  const d = dirs.find((x) => x.name === 'lua_capture_error_log');
  if (!d) return;
  const size = parseSize(d.args[0] ?? '');
  if (size <= 0) return;
  capture = new Capture(size);
  const c = capture;
  errorLog.taps.push((level, line) => c.add(level, line));
}

function notSet(L: LuaState): number {
  return luaError(L, 'directive "lua_capture_error_log" is not set');
}

/** get_logs(max?, res?) -> res (flat: level, time, msg, level, time, msg...) */
function getLogs(L: LuaState): number {
  const c = capture;
  if (c === null) return notSet(L);
  let max = c.entries.length - c.head;
  if (!lua.lua_isnoneornil(L, 1)) {
    const m = lauxlib.luaL_checknumber(L, 1);
    if (m > 0 && m < max) max = Math.floor(m);
  }
  if (lua.lua_type(L, 2) === lua.LUA_TTABLE) lua.lua_pushvalue(L, 2);
  else lua.lua_createtable(L, max * 3, 0);
  let n = 0;
  for (let i = 0; i < max; i++) {
    const e = c.entries[c.head + i];
    c.bytes -= e.msg.length + 32;
    lua.lua_pushnumber(L, e.level);
    lua.lua_rawseti(L, -2, ++n);
    lua.lua_pushnumber(L, e.time);
    lua.lua_rawseti(L, -2, ++n);
    pushBytes(L, e.msg);
    lua.lua_rawseti(L, -2, ++n);
  }
  // a user-fed table gets a trailing hole so #res is right
  lua.lua_pushnil(L);
  lua.lua_rawseti(L, -2, n + 1);
  c.head += max;
  if (c.head === c.entries.length) {
    c.entries = [];
    c.head = 0;
    c.bytes = 0;
  }
  return 1;
}

function checkLevel(L: LuaState, idx: number): number {
  if (lua.lua_type(L, idx) !== lua.LUA_TNUMBER) luaError(L, 'bad log level');
  const lv = lua.lua_tonumber(L, idx);
  if (lv < Level.Stderr || lv > Level.Debug || lv !== Math.floor(lv)) luaError(L, 'bad log level');
  return lv;
}

function setFilterLevel(L: LuaState): number {
  const lv = checkLevel(L, 1);
  if (capture === null) return notSet(L);
  capture.filter = lv;
  lua.lua_pushboolean(L, true);
  return 1;
}

function sysFilterLevel(L: LuaState): number {
  lua.lua_pushnumber(L, errorLog.level);
  return 1;
}

function rawLog(L: LuaState): number {
  const lv = checkLevel(L, 1);
  if (lua.lua_type(L, 2) !== lua.LUA_TSTRING) luaError(L, 'bad argument #2 to \'raw_log\' (must be a string)');
  const msg = Buffer.from(lua.lua_tolstring(L, 2)).toString('latin1');
  errorLog.write(lv, msg, null);
  return 0;
}

// ---- resty.signal -----------------------------------------------------------------------------

const ERRNO_TEXT: Record<string, string> = {
  ESRCH: 'No such process',
  EPERM: 'Operation not permitted',
  EINVAL: 'Invalid argument',
};

/** signal_kill(pid, signum) -> true | nil, strerror text */
function signalKill(L: LuaState): number {
  const pid = lauxlib.luaL_checknumber(L, 1);
  const sig = lauxlib.luaL_checknumber(L, 2);
  try {
    process.kill(pid, sig);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    lua.lua_pushnil(L);
    pushString(L, ERRNO_TEXT[code] ?? (e as Error).message);
    return 2;
  }
  lua.lua_pushboolean(L, true);
  return 1;
}

const FNS: Record<string, (L: LuaState) => number> = {
  signal_kill: signalKill,
  process_type: processType,
  master_pid: masterPid,
  monotonic_msec: monotonicMsec,
  monotonic_time: monotonicTime,
  errlog_get_logs: getLogs,
  errlog_set_filter_level: setFilterLevel,
  errlog_sys_filter_level: sysFilterLevel,
  errlog_raw_log: rawLog,
};

/** lua-nginx-module 0.10.16+ loads resty.core into every VM before any user code (honouring
 *  lua_package_path); a failure aborts start-up with its alert. */
function loadRestyCore(L: LuaState, w: any): void {
  const top = lua.lua_gettop(L);
  // tsresty always appends its own lua/ dir to package.path; OpenResty finds resty.core only
  // through the default path, so a lua_package_path without ";;" must provide it itself
  const configured: string | null | undefined = w?.http?.luaPackagePath;
  const code = configured != null && !configured.includes(';;')
    ? `local path = ...
       if not package.searchpath("resty.core", path) and not package.preload["resty.core"] then
         local _, err = package.searchpath("resty.core", path)
         error("module 'resty.core' not found:\\n\\tno field package.preload['resty.core']" .. err, 0)
       end
       require "resty.core"`
    : 'require "resty.core"';
  const b = Buffer.from(code);
  let st = lauxlib.luaL_loadbuffer(L, b, b.length, S('=resty.core loader'));
  if (st === lua.LUA_OK) {
    pushString(L, expandPrefix(configured ?? '', String(w?.conf?.prefix ?? '')));
    st = lua.lua_pcall(L, 1, 0, 0);
  }
  if (st !== lua.LUA_OK) {
    const reason = Buffer.from(lua.lua_tolstring(L, -1) ?? S('?')).toString('latin1');
    lua.lua_settop(L, top);
    const msg = `failed to load the 'resty.core' module (https://github.com/openresty/lua-resty-core); ensure you are using an OpenResty release from https://openresty.org/en/download.html (reason: ${reason})`;
    errorLog.write(Level.Alert, msg, null);
    throw new Error(msg);
  }
  lua.lua_settop(L, top);
}

// ---- FFI-based copies of the libraries tsresty ships ----------------------------------------------
// A lua_package_path copied from an OpenResty install (/usr/local/openresty/lualib/?.lua...) finds
// the originals of resty.core, resty.lrucache, resty.string... first; they need LuaJIT's FFI and
// cannot load here. This searcher, placed before the Lua file searcher, serves tsresty's own
// version of a module when the file the path finds requires "ffi" (a user's own non-FFI module
// of the same name still wins).

let shipped: Map<string, string> | null = null;

/** Module name -> file of every Lua module under lua/resty and lua/ngx. */
function shippedModules(): Map<string, string> {
  if (shipped !== null) return shipped;
  const found = new Map<string, string>();
  const walk = (dir: string, prefix: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full, `${prefix}${e.name}.`);
      else if (e.name.endsWith('.lua')) found.set(prefix + e.name.slice(0, -4), full);
    }
  };
  const root = runtimeDir();
  walk(path.join(root, 'resty'), 'resty.');
  walk(path.join(root, 'ngx'), 'ngx.');
  shipped = found;
  return found;
}

const FFI_RE = /require\s*\(?\s*["']ffi["']/;
const warnedFfi = new Set<string>();

function ffiSearcher(L: LuaState): number {
  const name = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  const ours = shippedModules().get(name);
  if (ours === undefined) return 0;
  lua.lua_getglobal(L, S('package'));
  lua.lua_getfield(L, -1, S('searchpath'));
  lua.lua_pushvalue(L, 1);
  lua.lua_getfield(L, -3, S('path'));
  lua.lua_call(L, 2, 1);
  const hit = lua.lua_type(L, -1) === lua.LUA_TSTRING ? Buffer.from(lua.lua_tolstring(L, -1)).toString('latin1') : null;
  lua.lua_settop(L, 1);
  if (hit === null || path.resolve(hit) === ours) return 0;
  let code: string;
  try {
    code = fs.readFileSync(hit, 'latin1');
  } catch {
    return 0;
  }
  if (!FFI_RE.test(code)) return 0;
  if (!warnedFfi.has(name)) {
    warnedFfi.add(name);
    errorLog.write(Level.Warn, `"${hit}" needs LuaJIT's FFI: using tsresty's own "${name}" (${ours}) instead`, null);
  }
  const src = fs.readFileSync(ours);
  if (lauxlib.luaL_loadbuffer(L, src, src.length, S('@' + ours)) !== lua.LUA_OK) return lua.lua_error(L);
  pushString(L, ours);
  return 2;
}

/** Put ffiSearcher right after the preload searcher. */
function installFfiSearcher(L: LuaState): void {
  lua.lua_getglobal(L, S('package'));
  lua.lua_getfield(L, -1, S('searchers'));
  const n = lua.lua_rawlen(L, -1);
  for (let i = n; i >= 2; i--) {
    lua.lua_rawgeti(L, -1, i);
    lua.lua_rawseti(L, -2, i + 1);
  }
  lua.lua_pushcfunction(L, ffiSearcher);
  lua.lua_rawseti(L, -2, 2);
  lua.lua_pop(L, 2);
}

// resty/core.lua requires nothing, so the installer order does not matter.
defineNgxApi('resty-core', (L, env) => {
  worker = env.worker;
  if (capture === null) setupCapture(worker);
  installFfiSearcher(L);
  loadRestyCore(L, worker);
});

definePreload('tsresty.core', (L) => {
  lua.lua_createtable(L, 0, Object.keys(FNS).length);
  for (const k of Object.keys(FNS)) {
    lua.lua_pushcfunction(L, FNS[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  return 1;
});
