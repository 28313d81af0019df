// Running *_by_lua handlers for a request: the entry thread of rewrite/access/content (which may
// yield and resume later) and the synchronous ones (set, header_filter, body_filter, log).
import { lua } from '../lua/fengari.js';
import type { LuaCode } from '../config/model.js';
import type { Request } from './request.js';
import { LuaTask, TaskEnd, startTask, finishTask, type TaskHost } from '../lua/scheduler.js';
import { finalize, finishResponse, NGX_OK, NGX_ERROR, NGX_DECLINED } from './output.js';
import { resumePhases, internalRedirect, namedRedirect, NEXT, AGAIN, DONE } from './phases.js';
import { logError, Level } from '../log/errorlog.js';
import { LuaCompileError } from '../lua/vm.js';
import { noteAccessDenied } from './access.js';
import type { LuaState } from '../lua/bridge.js';

/** A request's Lua task, with the bookkeeping the phase engine needs. */
export class RequestTask extends LuaTask {
  syncStart = true;
  /** the phase outcome, once the entry thread and its light threads have all ended */
  reported = false;
  result: number = NEXT;
}

/** Compile a configured chunk in this worker's VM (files are re-read when lua_code_cache is off). */
export function ensureCompiled(req: Request, code: LuaCode): number {
  if (code.kind === 'file') {
    const path = req.worker.resolveLuaFile(req, code);
    return req.worker.vm.compileFile(path, !req.loc.s.luaCodeCache);
  }
  if (code.ref === 0) code.ref = req.worker.vm.compile(code.code, code.chunkName);
  return code.ref;
}

/** the status a failed load finalises with: 404 for a missing *_by_lua_file (LUA_ERRFILE), else 500 */
let loadFailStatus = 500;

const ERRNO_TEXT: Record<string, string> = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory' };

function compileOrFail(req: Request, code: LuaCode, phase: string): number {
  loadFailStatus = 500;
  try {
    return ensureCompiled(req, code);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    let detail = (e as Error).message;
    if (!(e instanceof LuaCompileError) && errno !== undefined && (e as NodeJS.ErrnoException).syscall === 'open') {
      // luaL_loadfile's "cannot open FILE: strerror"; ngx_http_lua_cache_loadfile answers 404
      detail = `cannot open ${(e as NodeJS.ErrnoException).path}: ${ERRNO_TEXT[errno] ?? errno}`;
      if (errno === 'ENOENT') loadFailStatus = 404;
    }
    const msg = e instanceof LuaCompileError ? `failed to load inlined Lua code: ${e.message}` : `failed to load external Lua file "${code.path}": ${detail}`;
    logError(Level.Err, msg, req);
    if (req.worker.devMode) req.ext.devError = msg;
    void phase;
    return 0;
  }
}

/** lua_code_cache off: modules load afresh for every request and subrequest (OpenResty gives each
 *  one a new VM), whichever handler runs first: set_by_lua, a phase handler, a filter. */
function freshModules(req: Request): void {
  if (req.loc.s.luaCodeCache || req.ext.modulesDropped || !req.worker.devMode) return;
  req.ext.modulesDropped = true;
  req.worker.devMode.reloader.dropAllModules();
}

/** Run the entry thread of rewrite/access/content/server_rewrite; returns a phase step result. */
export function runLuaPhase(req: Request, code: LuaCode, phase: string): number {
  if (req.loc.s.luaNeedRequestBody && !req.bodyRead && req.main === req) {
    // lua_need_request_body: read the whole body before the handler runs
    let sync = true;
    let done = false;
    req.worker.hooks.readBody(req, (status: number) => {
      done = true;
      if (status !== 0 || req.finalized) return;
      if (!sync) {
        const r = runLuaPhase(req, code, phase);
        if (r !== AGAIN) resumePhases(req, r as 0 | 1 | 2);
      }
    });
    sync = false;
    if (!done) return AGAIN;
    if (req.finalized) return DONE;
  }
  freshModules(req);
  const ref = compileOrFail(req, code, phase);
  if (ref === 0) {
    finalize(req, loadFailStatus);
    return DONE;
  }
  const task = new RequestTask(entryHost, phase, req);
  task.recycle = true;
  req.task = task;
  if (req.loc.s.luaCheckClientAbort) req.worker.hooks.watchClientAbort(req);
  req.exitCode = null;
  startTask(task, ref, 0);
  task.syncStart = false;
  return task.reported ? task.result : AGAIN;
}

const entryHost: TaskHost = {
  taskDone(t: LuaTask, end: TaskEnd, err: string | null): void {
    const task = t as RequestTask;
    const req = task.req as Request;
    req.worker.hooks.taskEnded(req, task);
    const r = entryResult(req, task.kind, end, err);
    task.reported = true;
    if (task.syncStart) task.result = r;
    // a handler that ran first in its phase (*_by_lua_no_postpone) hands over to the phase's other
    // handlers: re-enter the phase at its next step instead of moving to the next phase
    else if (r === NEXT && ranFirstInPhase(req, task.kind)) resumePhases(req, AGAIN);
    else if (r !== AGAIN) resumePhases(req, r as 0 | 1 | 2);
  },
};

function ranFirstInPhase(req: Request, phase: string): boolean {
  return (phase === 'rewrite' && req.loc.s.luaRewriteNoPostpone) || (phase === 'access' && req.loc.s.luaAccessNoPostpone);
}

function entryResult(req: Request, phase: string, end: TaskEnd, err: string | null): number {
  if (req.finalized) return DONE;
  if (end === TaskEnd.Error) {
    logError(Level.Err, `lua entry thread aborted: runtime error: ${err}`, req);
    if (req.worker.devMode) req.ext.devError = err;
    finalize(req, req.headerSent ? NGX_ERROR : 500);
    return DONE;
  }
  const exec = req.pendingExec;
  if (exec !== null) {
    req.pendingExec = null;
    if (exec.uri.startsWith('@')) namedRedirect(req, exec.uri);
    else internalRedirect(req, exec.uri, exec.args);
    return AGAIN;
  }
  const code = end === TaskEnd.Exit ? req.exitCode ?? NGX_OK : null;
  if (phase === 'content') {
    if (code === null || code === NGX_OK) {
      finishResponse(req);
      return DONE;
    }
    return exitWith(req, code);
  }
  // rewrite / access / server_rewrite
  if (phase === 'access' && req.loc.s.satisfyAny && !req.headerSent) {
    // satisfy any: OK grants access, 401/403 is remembered for post_access, DECLINED passes
    if (code === null || code === NGX_OK) req.ext.accessCode = 0;
    else if (code === 401 || code === 403) {
      noteAccessDenied(req, code);
      return NEXT;
    }
  }
  if (code === null || code === NGX_OK || code === NGX_DECLINED) {
    // output already started here: later phases must not produce another response
    // (ngx_http_lua_rewrite_by_chunk sends the last buffer and finishes the request)
    if (req.headerSent) {
      finishResponse(req);
      return DONE;
    }
    return NEXT;
  }
  return exitWith(req, code);
}

/** ngx.exit(code) with code != OK (ngx_http_lua_handle_exit). */
function exitWith(req: Request, code: number): number {
  if (code === NGX_ERROR || code < 0) {
    finalize(req, NGX_ERROR);
    return DONE;
  }
  if (code >= 200 && code < 300 && code !== 204) {
    if (!req.headerSent) req.status = req.status || code;
    finishResponse(req);
    return DONE;
  }
  finalize(req, code);
  return DONE;
}

// ---- synchronous handlers ----------------------------------------------------------------------

export interface SyncRun {
  ok: boolean;
  co: LuaState;
  task: LuaTask | null;
}

const syncHost: TaskHost = {
  taskDone(t: LuaTask, end: TaskEnd, err: string | null): void {
    const req = t.req as Request;
    (t as SyncTask).end = end;
    if (end === TaskEnd.Error) (t as SyncTask).err = err;
    void req;
  },
};

class SyncTask extends LuaTask {
  end: TaskEnd = TaskEnd.Ok;
  err: string | null = null;
}

/** Run a handler that may not yield (set_by_lua, header/body filters, log). `pushArgs` pushes
 *  arguments onto the new coroutine; on success the results stay on task.co for the caller,
 *  who must call `releaseSync`. Errors are logged with the phase's message and reported false. */
export function runLuaSync(req: Request, code: LuaCode, kind: string, nargs: number, pushArgs?: (co: LuaState) => void): SyncTask | null {
  freshModules(req);
  const ref = compileOrFail(req, code, kind);
  if (ref === 0) return null;
  const task = new SyncTask(syncHost, kind, req);
  const prevTask = req.task;
  req.task = task;
  startTask(task, ref, nargs, pushArgs);
  req.task = prevTask;
  if (!task.done) {
    // it yielded: only an API that forgot its context check can get here
    finishTask(task, TaskEnd.Error, 'attempt to yield across C-call boundary');
  }
  if (task.end === TaskEnd.Error) {
    logError(Level.Err, `failed to run ${kind}_by_lua*: ${task.err}`, req);
    return null;
  }
  return task;
}

export { lua };
