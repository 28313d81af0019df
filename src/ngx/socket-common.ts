// Shared pieces of the cosocket implementation (socket-*.ts): who owns a socket (its request, or
// the timer / init_worker task group), cleanup when the owner ends, the context check, nginx-style
// log lines, errno texts, and the light-userdata plumbing between Lua socket tables and JS objects.
import { lua, lauxlib } from '../lua/fengari.js';
import { luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { currentTask, type LuaTask, type TaskHost, type TaskEnd } from '../lua/scheduler.js';
import { Ctx, YIELDABLE, contextLabel, currentLogContext } from './context.js';
import { errorLog, logError, Level, type LogContext } from '../log/errorlog.js';
import type { Request } from '../http/request.js';
import type { HttpConf, LocSettings } from '../config/model.js';

/** The worker this module runs in (set by the installer). */
export const env: { worker: any; http: HttpConf | null } = { worker: null, http: null };

// ---- ownership ------------------------------------------------------------------------------

/** Anything that must be released when its owner (request or task group) ends. */
export interface OwnedResource {
  /** the owner is gone: close, drop waiters, never resume Lua again */
  ownerEnded(): void;
}

/** The "request" a cosocket belongs to, as lua-nginx-module's u->request: the Request of request
 *  phases (subrequests are distinct), else the root task of a timer / init_worker group (nginx's
 *  fake request: light threads spawned by a timer share it). */
export function currentOwner(): object | null {
  const t = currentTask();
  if (t === null) return null;
  return (t.req as object | null) ?? t.root ?? t;
}

/** An owner (Request or task root) keeps what it owns in its `cosockets` field: nothing, one
 *  resource, or a Set of them (most requests hold one cosocket at a time). */
type Owner = { cosockets: OwnedResource | Set<OwnedResource> | null };
const hooked = new WeakSet<object>();

/** Register `r` to be released when `owner` ends (the socket's ngx_http_cleanup_t). */
export function own(o: object, r: OwnedResource): void {
  const owner = cleanupOwner(o) as Owner;
  const cur = owner.cosockets;
  if (cur === null || cur === undefined) {
    owner.cosockets = r;
    if (!isRequest(owner) && !hooked.has(owner)) {
      hooked.add(owner);
      watchOwnerEnd(owner);
    }
    if (debugOn() && (freedCleanups.get(owner) ?? 0) > 0) {
      // lua-nginx-module recycles the cleanup slot a finalized socket gave back
      freedCleanups.set(owner, freedCleanups.get(owner)! - 1);
      debug('lua http cleanup reuse', currentLogContext());
    }
  } else if (cur instanceof Set) {
    cur.add(r);
  } else if (cur !== r) {
    owner.cosockets = new Set([cur, r]);
  }
}

const freedCleanups = new WeakMap<object, number>();

export function disown(owner: object | null, r: OwnedResource): void {
  if (owner === null) return;
  const o = cleanupOwner(owner) as Owner;
  const cur = o.cosockets;
  let removed = false;
  if (cur === r) {
    o.cosockets = null;
    removed = true;
  } else if (cur instanceof Set) {
    removed = cur.delete(r);
  }
  if (removed && debugOn()) freedCleanups.set(o, (freedCleanups.get(o) ?? 0) + 1);
}

/** Cleanups of a subrequest run with its main request's (nginx runs request cleanups when the
 *  main request is freed), so a subrequest's socket outlives it and a later subrequest using it
 *  gets "bad request" rather than "closed". */
function cleanupOwner(o: object): object {
  return isRequest(o) ? (o as Request).main : o;
}

function isRequest(o: object): boolean {
  return (o as Request).transport !== undefined && (o as Request).main != null;
}

/** The owner ended: release everything it still holds. */
export function ownerEnded(owner: object): void {
  const o = owner as Owner;
  const cur = o.cosockets;
  if (cur === null || cur === undefined) return;
  o.cosockets = null;
  if (cur instanceof Set) for (const r of cur) release(r);
  else release(cur);
}

function release(r: OwnedResource): void {
  try {
    r.ownerEnded();
  } catch (e) {
    logError(Level.Alert, `cosocket cleanup failed: ${(e as Error)?.stack ?? e}`);
  }
}

let workerHooked: any = null;

/** Requests end in the worker's `cleanup` hook (after the log phase, like nginx's request pool
 *  cleanups); task groups end when their root task's host hears of it. We wrap both once instead
 *  of editing the worker/scheduler (owned by other modules). */
function watchOwnerEnd(owner: object): void {
  const task = owner as LuaTask;
  if (typeof (task as any).host !== 'object') return;
  const host: TaskHost = task.host;
  const wrapped: TaskHost = {
    taskDone(t: LuaTask, end: TaskEnd, err: string | null): void {
      try {
        host.taskDone(t, end, err);
      } finally {
        if (t === owner) ownerEnded(owner);
      }
    },
  };
  (task as { host: TaskHost }).host = wrapped;
}

export function hookWorker(w: any): void {
  if (workerHooked === w || !w || typeof w.cleanup !== 'function') return;
  workerHooked = w;
  const orig = w.cleanup;
  w.cleanup = function cleanupWithCosockets(this: unknown, req: Request): unknown {
    const r = orig.call(w, req);
    if (req.main === req) ownerEnded(req);
    return r;
  };
}

// ---- context ----------------------------------------------------------------------------------

/** Cosockets run where the running Lua code can wait: rewrite/access/content/timer. With
 *  `lua_allow_cosocket_everywhere on` (tsresty extension) also init_worker, set, header/body
 *  filters and log, but only when the running task can really yield: init_worker_by_lua runs as an
 *  ordinary task (the worker keeps starting while it waits, so its results may land after the first
 *  requests), while the synchronous handlers (set_by_lua, filters, log) are run to completion by
 *  the phase engine and cannot be suspended unless it marks their task `canYield`. Waiting there
 *  would stall the response (filters) or the next request on the connection (log), which is why
 *  OpenResty forbids it; the opt-in trades that latency for convenience. */
export function checkCosocketContext(L: LuaState): void {
  const t = currentTask();
  const kind = t === null ? 'init' : t.kind;
  const bit = (Ctx as Record<string, number>)[kind] ?? 0;
  if ((bit & YIELDABLE) !== 0) return;
  const http = env.http;
  if (t !== null && http !== null && http.luaAllowCosocketEverywhere) {
    if (kind === 'init_worker' || (t as { canYield?: boolean }).canYield === true) return;
  }
  luaErrorWhere(L, `API disabled in the context of ${contextLabel(kind)}`);
}

/** luaL_error("no request found") unless running Lua code with a request or task group. */
export function ownerOrError(L: LuaState): object {
  const o = currentOwner();
  if (o === null) luaErrorWhere(L, 'no request found');
  return o;
}

/** The location settings of the running code (a timer uses the http{} level defaults). */
export function currentSettings(): LocSettings {
  const t = currentTask();
  const req = t === null ? null : (t.req as Request | null);
  if (req != null && req.loc) return req.loc.s;
  return defaultSettings();
}

let defaults: LocSettings | null = null;
function defaultSettings(): LocSettings {
  if (defaults !== null) return defaults;
  const http = env.http;
  const s = http && http.servers.length ? http.servers[0].root.s : null;
  defaults = s ?? ({
    luaSocketConnectTimeout: 60000, luaSocketSendTimeout: 60000, luaSocketReadTimeout: 60000,
    luaSocketBufferSize: 4096, luaSocketPoolSize: 30, luaSocketKeepaliveTimeout: 60000, luaSocketLogErrors: true,
  } as LocSettings);
  return defaults;
}

export function resetDefaults(): void {
  defaults = null;
}

// ---- logging ----------------------------------------------------------------------------------

export function logCtx(): LogContext | null {
  return currentLogContext();
}

export function debugOn(): boolean {
  return errorLog.enabled(Level.Debug);
}

export function debug(msg: string, ctx: LogContext | null): void {
  if (errorLog.enabled(Level.Debug)) logError(Level.Debug, msg, ctx);
}

let fakePtr = 0x55d0c0a01000;
/** A stable pseudo pointer for "%p" in log lines (nginx prints 16 upper-case hex digits). */
export function newPtr(): string {
  fakePtr += 0x1a0;
  return fakePtr.toString(16).toUpperCase().padStart(16, '0');
}

// ---- errno ------------------------------------------------------------------------------------

const ERRNO: Record<string, [number, string]> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  EINTR: [4, 'Interrupted system call'],
  EIO: [5, 'Input/output error'],
  EBADF: [9, 'Bad file descriptor'],
  EAGAIN: [11, 'Resource temporarily unavailable'],
  ENOMEM: [12, 'Cannot allocate memory'],
  EACCES: [13, 'Permission denied'],
  EINVAL: [22, 'Invalid argument'],
  EMFILE: [24, 'Too many open files'],
  EPIPE: [32, 'Broken pipe'],
  ENOTSOCK: [88, 'Socket operation on non-socket'],
  EMSGSIZE: [90, 'Message too long'],
  EPROTOTYPE: [91, 'Protocol wrong type for socket'],
  EAFNOSUPPORT: [97, 'Address family not supported by protocol'],
  EADDRINUSE: [98, 'Address already in use'],
  EADDRNOTAVAIL: [99, 'Cannot assign requested address'],
  ENETDOWN: [100, 'Network is down'],
  ENETUNREACH: [101, 'Network is unreachable'],
  ECONNABORTED: [103, 'Software caused connection abort'],
  ECONNRESET: [104, 'Connection reset by peer'],
  ENOBUFS: [105, 'No buffer space available'],
  EISCONN: [106, 'Transport endpoint is already connected'],
  ENOTCONN: [107, 'Transport endpoint is not connected'],
  ETIMEDOUT: [110, 'Connection timed out'],
  ECONNREFUSED: [111, 'Connection refused'],
  EHOSTDOWN: [112, 'Host is down'],
  EHOSTUNREACH: [113, 'No route to host'],
  EALREADY: [114, 'Operation already in progress'],
  EINPROGRESS: [115, 'Operation now in progress'],
};

/** [errno, strerror] of a Node system error ("ECONNREFUSED" → [111, "Connection refused"]). */
export function errnoOf(err: NodeJS.ErrnoException | null | undefined): [number, string] {
  if (!err) return [0, 'Unknown error'];
  const code = err.code ?? '';
  const e = ERRNO[code];
  if (e) return e;
  const n = typeof err.errno === 'number' ? Math.abs(err.errno) : 0;
  if (code === 'EPIPE' || code === 'ERR_STREAM_WRITE_AFTER_END' || code === 'ERR_STREAM_DESTROYED') return ERRNO.EPIPE;
  return [n, err.message.replace(/^[A-Z_]+: ?/, '') || 'Unknown error'];
}

/** LuaSocket-compatible error string: the lower-cased strerror ("connection refused"). */
export function errText(err: NodeJS.ErrnoException | null | undefined): string {
  if (!err) return 'error';
  return errnoOf(err)[1].toLowerCase();
}

// ---- Lua objects ------------------------------------------------------------------------------

/** The JS object behind a socket table: slot [1] holds it as a light userdata. */
export function selfObject<T>(L: LuaState, cls: abstract new (...a: any[]) => T): T | null {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_rawgeti(L, 1, 1);
  const u = lua.lua_type(L, -1) === lua.LUA_TLIGHTUSERDATA ? lua.lua_touserdata(L, -1) : null;
  lua.lua_pop(L, 1);
  return u instanceof cls ? u : null;
}

/** luaL_argerror with lua-nginx-module's message (method calls count `self` out, as Lua does). */
export function argError(L: LuaState, arg: number, msg: string): never {
  lauxlib.luaL_argerror(L, arg, msg);
  throw new Error('unreachable');
}

/** lua_typename of the value at idx, as JS text. */
export function typeNameAt(L: LuaState, idx: number): string {
  return Buffer.from(lauxlib.luaL_typename(L, idx)).toString('latin1');
}
