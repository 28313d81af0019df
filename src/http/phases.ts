// nginx's request phases, declared once as data and driven by one generic runner.
//
//   server_rewrite -> find_config -> rewrite -> post_rewrite -> access -> try_files -> content
//        ^                ^  |____________________________|  (uri changed: find the location again)
//        |________________|__ internal redirect (ngx.exec, rewrite ... last, error_page, try_files)
//
// A step returns NEXT (go on), AGAIN (it went asynchronous and will call resumePhases), or DONE
// (the request was finalised). Steps keep their position in req.step so they can be re-entered.
import type { Request } from './request.js';
import { findLocation } from './location.js';
import { runScript, ScriptResult } from './script.js';
import { finalize, NGX_DECLINED, NGX_OK } from './output.js';
import { runLuaPhase } from './lua-phase.js';
import { checkAccessRules, noteAccessDenied, postAccess } from './access.js';
import { tryFiles } from './try-files.js';
import { serveStatic } from './static.js';
import { logError, Level } from '../log/errorlog.js';
import { startSubrequest } from './subrequest.js';
import { escapeUriString } from '../ngx/codec.js';

export const NEXT = 0;
export const AGAIN = 1;
export const DONE = 2;
type StepResult = number;

interface Phase {
  name: string;
  run(req: Request): StepResult;
}

export const PHASES: Phase[] = [
  { name: 'server_rewrite', run: serverRewrite },
  { name: 'find_config', run: findConfig },
  { name: 'rewrite', run: rewrite },
  { name: 'post_rewrite', run: postRewrite },
  { name: 'access', run: access },
  { name: 'try_files', run: tryFilesPhase },
  { name: 'content', run: content },
];

export const PHASE_SERVER_REWRITE = 0;
export const PHASE_FIND_CONFIG = 1;
export const PHASE_REWRITE = 2;
export const PHASE_ACCESS = 4;
export const PHASE_CONTENT = 6;

/** Drive the phases from req.phase/req.step until one goes asynchronous or the request ends. */
export function runPhases(req: Request): void {
  while (!req.finalized) {
    const p = PHASES[req.phase];
    const r = p.run(req);
    if (r === NEXT) {
      req.phase++;
      req.step = 0;
      continue;
    }
    return;
  }
}

/** Continue after an asynchronous step finished with a phase result. */
export function resumePhases(req: Request, r: StepResult): void {
  if (r === NEXT) {
    req.phase++;
    req.step = 0;
  }
  if (r !== DONE) runPhases(req);
}

/** Restart processing at a new URI (ngx_http_internal_redirect). */
export function internalRedirect(req: Request, uri: string, args: string | null): void {
  if (--req.uriChanges === 0) {
    logError(Level.Err, `rewrite or internal redirection cycle while internally redirecting to "${uri}"`, req);
    req.phase = PHASES.length; // stop
    finalize(req, 500);
    return;
  }
  req.setUriAndArgs(args === null ? uri : `${uri}?${args}`);
  if (args === null && uri.indexOf('?') < 0) {
    req.args = '';
    req.hasArgs = false;
  }
  req.internal = true;
  req.worker.hooks.resetForRedirect(req);
  req.phase = PHASE_SERVER_REWRITE;
  req.step = 0;
  runPhases(req);
}

/** Jump to a named location ("@name"): starts at the rewrite phase (ngx_http_named_location). */
export function namedRedirect(req: Request, name: string): boolean {
  const loc = req.server.named.get(name);
  if (!loc) {
    logError(Level.Err, `could not find named location "${name}"`, req);
    finalize(req, 500);
    return false;
  }
  if (--req.uriChanges === 0) {
    logError(Level.Err, `rewrite or internal redirection cycle while redirect to named location "${name}"`, req);
    finalize(req, 500);
    return false;
  }
  req.internal = true;
  req.loc = loc;
  req.worker.hooks.resetForRedirect(req);
  req.phase = PHASE_REWRITE;
  req.step = 0;
  runPhases(req);
  return true;
}

function serverRewrite(req: Request): StepResult {
  if (req.step === 0) {
    req.step = 1;
    const root = req.server.root;
    if (root.script.length > 0) {
      const r = runScript(req, root.script);
      if (r === ScriptResult.Done) return DONE;
    }
  }
  if (req.step === 1) {
    req.step = 2;
    const code = req.server.root.s.luaHandlers.server_rewrite;
    if (code && req.main === req) return runLuaPhase(req, code, 'server_rewrite');
  }
  return NEXT;
}

function findConfig(req: Request): StepResult {
  // no location matched: nginx keeps the server's own configuration (static files from its root)
  req.autoRedirect = false;
  const loc = findLocation(req) ?? req.server.root;
  req.loc = loc;
  if (req.autoRedirect) {
    // ngx_http_core_find_config_phase: Location is the location's (escaped) name plus the args
    req.headersOut.setRedirect(`${escapeUriString(loc.name)}${req.args ? '?' + req.args : ''}`);
    finalize(req, 301);
    return DONE;
  }
  if (loc.s.internal && !req.internal) {
    finalize(req, 404);
    return DONE;
  }
  const max = loc.s.clientMaxBodySize;
  if (max > 0 && !req.bodyRead) {
    const cl = req.transport?.head?.contentLength ?? -1;
    if (cl > max) {
      logError(Level.Err, `client intended to send too large body: ${cl} bytes`, req);
      req.worker.hooks.discardBody(req);
      finalize(req, 413);
      return DONE;
    }
  }
  return NEXT;
}

/** Module handlers run at the end of the rewrite phase, after the rewrite module's script and
 *  before rewrite_by_lua (headers-more's more_set_input_headers postpones itself there). */
export const rewriteTail: ((req: Request) => void)[] = [];

// rewrite_by_lua runs last in the rewrite phase, after the rewrite module's script and other
// modules' handlers, unless rewrite_by_lua_no_postpone puts it first (lua-nginx-module moves its
// handler to the front of the phase's handler list).
function rewrite(req: Request): StepResult {
  const first = req.loc.s.luaRewriteNoPostpone;
  if (req.step === 0) {
    req.step = 1;
    req.uriChanged = false;
    const code = req.loc.s.luaHandlers.rewrite;
    if (first && code) {
      const r = runLuaPhase(req, code, 'rewrite');
      if (r !== NEXT) return r; // finished synchronously: go on with the phase
    }
  }
  if (req.step === 1) {
    req.step = 2;
    if (req.loc.script.length > 0) {
      const r = runScript(req, req.loc.script);
      if (r === ScriptResult.Done) return DONE;
    }
    for (let i = 0; i < rewriteTail.length; i++) rewriteTail[i](req);
    if (req.finalized) return DONE;
  }
  if (req.step === 2) {
    req.step = 3;
    const code = req.loc.s.luaHandlers.rewrite;
    if (!first && code && !req.uriChanged) return runLuaPhase(req, code, 'rewrite');
  }
  return NEXT;
}

function postRewrite(req: Request): StepResult {
  if (!req.uriChanged) return NEXT;
  req.uriChanged = false;
  req.internal = true; // ngx_http_core_post_rewrite_phase: a rewritten request is internal
  if (--req.uriChanges === 0) {
    logError(Level.Err, `rewrite or internal redirection cycle while processing "${req.uri}"`, req);
    finalize(req, 500);
    return DONE;
  }
  req.phase = PHASE_FIND_CONFIG;
  req.step = 0;
  return AGAIN_NOW(req);
}

/** Re-enter the runner at the phase just set (synchronous jump). */
function AGAIN_NOW(req: Request): StepResult {
  runPhases(req);
  return AGAIN;
}

function access(req: Request): StepResult {
  if (req.main !== req) {
    // subrequests skip the access phase in nginx (ngx_http_core_access_phase: r != r->main)
    return NEXT;
  }
  const first = req.loc.s.luaAccessNoPostpone;
  if (req.step === 0) {
    // access_by_lua_no_postpone: access_by_lua before allow/deny and auth_request
    req.step = 1;
    req.ext.accessCode = 0;
    const code = req.loc.s.luaHandlers.access;
    if (first && code) {
      const r = runLuaPhase(req, code, 'access');
      if (r !== NEXT) return r;
    }
  }
  if (req.step === 1) {
    req.step = 2;
    const rc = checkAccessRules(req);
    if (req.loc.s.satisfyAny) {
      // satisfy any: one handler granting access is enough, a denial only counts at the end
      if (rc === 0) return NEXT;
      if (rc > 0) noteAccessDenied(req, rc);
    } else if (rc > 0) {
      finalize(req, rc);
      return DONE;
    }
  }
  if (req.step === 2) {
    req.step = 3;
    const uri = req.loc.s.ext.authRequest as string | null | undefined;
    if (uri) return authRequest(req, uri);
  }
  if (req.step === 3) {
    req.step = 4;
    const code = req.loc.s.luaHandlers.access;
    if (!first && code) return runLuaPhase(req, code, 'access');
  }
  return NEXT;
}

/** auth_request URI (ngx_http_auth_request_module): a subrequest decides; 2xx goes on, 401/403
 *  become the response (401 keeps the subrequest's WWW-Authenticate), anything else is a 500. */
function authRequest(req: Request, uri: string): StepResult {
  const sr = startSubrequest(req, uri, { inline: false, vars: 'share', inheritBody: false }, (done) => {
    if (req.finalized) return;
    const st = done.status || 200;
    if (st >= 200 && st < 300) {
      resumePhases(req, AGAIN); // the rest of the access phase (access_by_lua)
      return;
    }
    if (st === 401 || st === 403) {
      if (st === 401) for (const v of done.headersOut.getAll('www-authenticate')) req.headersOut.add('WWW-Authenticate', v);
      finalize(req, st);
      return;
    }
    logError(Level.Err, `auth request unexpected status: ${st}`, req);
    finalize(req, 500);
  });
  if (sr === null) {
    finalize(req, 500);
    return DONE;
  }
  return AGAIN;
}

function tryFilesPhase(req: Request): StepResult {
  if (req.step === 0 && req.ext.accessCode) {
    // post_access (runs before try_files): satisfy any with every access handler denying
    const code = postAccess(req);
    finalize(req, code);
    return DONE;
  }
  const tf = req.loc.s.tryFiles;
  if (tf === null || req.step !== 0) return NEXT;
  req.step = 1;
  return tryFiles(req, tf) ? NEXT : AGAIN;
}

function content(req: Request): StepResult {
  const loc = req.loc;
  let h = loc.content;
  // an `if` block without a content handler keeps its location's (nginx's r->content_handler)
  for (let l: typeof loc | null = loc; h === null && l.match === 'if' && l.parent !== null; ) {
    l = l.parent;
    h = l.content;
  }
  req.step = 2;
  if (h !== null) {
    h.run(req);
    return AGAIN;
  }
  serveStatic(req);
  return AGAIN;
}

export { NGX_OK, NGX_DECLINED };
