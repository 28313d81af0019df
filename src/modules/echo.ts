// echo-nginx-module (0.63): the `echo*` content-handler commands, run one by one per request
// (some of them asynchronous: echo_sleep, echo_location, echo_subrequest, echo_read_request_body),
// plus its $echo_* variables. The echo_before_body / echo_after_body filter is in echo-filter.ts.
//
// Like the C module, the commands of a location form one ordered list; the first command in a
// location installs the echo content handler (replacing any earlier one, as clcf->handler = ...
// does), and nothing is inherited between nested locations or `if` blocks.
import * as fs from 'node:fs';
import type { Directive } from '../config/ast.js';
import { defineDirectives, fail, own, settings, type BuildCtx } from '../config/build.js';
import type { ContentHandler, LocSettings, LocationConf } from '../config/model.js';
import { compileComplex, evalComplex, type Complex } from '../http/complex.js';
import { Framing, type Request } from '../http/request.js';
import { sendHeader, output, flush, finalize, endRequest, closeRequest, NGX_ERROR } from '../http/output.js';
import { internalRedirect, namedRedirect } from '../http/phases.js';
import { contentTypeFor } from '../http/static.js';
import { defineVariable } from '../http/variables.js';
import { startSubrequest } from '../http/subrequest.js';
import { logError, Level } from '../log/errorlog.js';
import './echo-filter.js';

// ---- compiled commands ----------------------------------------------------------------------

export interface EchoArg {
  raw: string;
  value: Complex;
  /** no variables in it: a candidate for an option ("-n", "--") */
  constant: boolean;
}

export interface EchoCmd {
  op: string;
  args: EchoArg[];
}

function compileCmd(d: Directive, op: string): EchoCmd {
  return {
    op,
    args: d.args.map((raw) => {
      const value = compileComplex(raw);
      return { raw, value, constant: value.constant !== null };
    }),
  };
}

/** ngx_http_echo_eval_cmd_args: leading constant "-x" arguments are options ("--" ends them). */
export function evalArgs(req: Request, cmd: EchoCmd): { args: string[]; opts: string[] } {
  const args: string[] = [];
  const opts: string[] = [];
  let expectingOpts = true;
  for (const a of cmd.args) {
    if (a.constant && a.raw.length > 0) {
      if (expectingOpts) {
        if (a.raw.length === 1 || a.raw[0] !== '-') expectingOpts = false;
        else if (a.raw[1] === '-') {
          expectingOpts = false;
          continue;
        } else {
          opts.push(a.raw.slice(1));
          continue;
        }
      }
    } else expectingOpts = false;
    args.push(a.constant ? a.raw : evalComplex(req, a.value));
  }
  return { args, opts };
}

/** The bytes of `echo a b c`: arguments joined by spaces, a newline unless the first option is -n. */
export function echoText(args: string[], opts: string[]): string | null {
  let s = '';
  let any = false;
  for (let i = 0; i < args.length; i++) {
    if (i > 0) {
      s += ' ';
      any = true;
    }
    if (args[i].length > 0) {
      s += args[i];
      any = true;
    }
  }
  // with -n, a chain starting with an empty argument is dropped whole (ngx_http_echo_exec_echo
  // only skips that empty first link when it appends the newline)
  if (opts.length > 0 && opts[0] === 'n') return any && args[0] !== '' ? s : null;
  return s + '\n';
}

// ---- per-location configuration --------------------------------------------------------------

interface EchoHandler extends ContentHandler {
  kind: 'echo';
  cmds: EchoCmd[];
}

const handlers = new WeakMap<LocationConf, EchoHandler>();

function extOf(s: LocSettings): Record<string, unknown> {
  return own(s, 'ext', (p) => Object.create(p ?? null));
}

function locOf(c: BuildCtx, d: Directive): LocationConf {
  if (!c.loc || (c.context !== 'location' && c.context !== 'if')) fail(d, `"${d.name}" directive is not allowed here`);
  return c.loc;
}

function handlerCmd(op: string): (c: BuildCtx, d: Directive) => void {
  return (c, d) => {
    const loc = locOf(c, d);
    let h = handlers.get(loc);
    if (!h) {
      h = { kind: 'echo', cmds: [], run: (req: Request) => runEcho(req, h!) };
      handlers.set(loc, h);
      loc.content = h;
    }
    h.cmds.push(compileCmd(d, op));
  };
}

/** echo_before_body / echo_after_body commands: per location settings object, not inherited. */
export interface EchoFilterConf {
  owner: LocSettings;
  before: EchoCmd[] | null;
  after: EchoCmd[] | null;
}

function filterCmd(which: 'before' | 'after'): (c: BuildCtx, d: Directive) => void {
  return (c, d) => {
    locOf(c, d);
    const s = settings(c);
    const ext = extOf(s);
    let f = Object.prototype.hasOwnProperty.call(ext, 'echoFilter') ? (ext.echoFilter as EchoFilterConf) : null;
    if (!f) {
      f = { owner: s, before: null, after: null };
      ext.echoFilter = f;
    }
    (f[which] ??= []).push(compileCmd(d, which === 'before' ? 'echo_before_body' : 'echo_after_body'));
  };
}

export function echoFilterConf(req: Request): EchoFilterConf | null {
  const s = req.loc?.s;
  if (!s) return null;
  const f = s.ext.echoFilter as EchoFilterConf | undefined;
  return f && f.owner === s ? f : null;
}

// ---- per-request state (the module ctx; cleared by internal redirects like nginx's) ----------

interface Foreach {
  cmdIndex: number;
  choices: string[];
  next: number;
}

export interface EchoCtx {
  pc: number;
  foreach: Foreach | null;
  timerBegin: number;
  counter: number;
  /** the command list ran to its end (the response's last buffer was sent) */
  done: boolean;
  /** echo_location_async / echo_subrequest_async children still running */
  pendingSubs: number;
  sleepTimer: NodeJS.Timeout | null;
}

export function echoCtx(req: Request): EchoCtx {
  let ctx = req.ext.echo as EchoCtx | undefined;
  if (!ctx) {
    ctx = { pc: 0, foreach: null, timerBegin: 0, counter: 0, done: false, pendingSubs: 0, sleepTimer: null };
    req.ext.echo = ctx;
  }
  return ctx;
}

// ---- the content handler -----------------------------------------------------------------------

const OK = 0;
/** the command went asynchronous; it resumes the list itself */
const AGAIN = -2;
/** the request was handed elsewhere (echo_exec) or already finalised */
const DONE = -4;

function runEcho(req: Request, h: EchoHandler): void {
  const ctx = echoCtx(req);
  ctx.pc = 0;
  runCmds(req, h, ctx);
}

/** Execute commands from ctx.pc on until one goes asynchronous or the list ends. */
function runCmds(req: Request, h: EchoHandler, ctx: EchoCtx): void {
  const cmds = h.cmds;
  while (ctx.pc < cmds.length) {
    if (req.finalized) return;
    const cmd = cmds[ctx.pc];
    let rc: number;
    try {
      rc = execCmd(req, h, ctx, cmd);
    } catch (e) {
      req.worker.internalFailure(req, e);
      return;
    }
    if (rc === AGAIN || rc === DONE) return;
    if (rc !== OK) {
      fail500(req, rc);
      return;
    }
    ctx.pc++;
  }
  if (req.finalized) return;
  // ngx_http_echo_send_chain_link(r, ctx, NULL): the header if needed, then the last buffer
  const rc = sendHeaderIfNeeded(req);
  if (rc !== OK) {
    fail500(req, rc);
    return;
  }
  output(req, null, true);
  ctx.done = true;
  maybeEnd(req, ctx);
}

/** The request ends once its commands are done and no async subrequest is still running
 *  (nginx keeps r->main->count up for those). */
function maybeEnd(req: Request, ctx: EchoCtx): void {
  if (ctx.done && ctx.pendingSubs === 0 && !req.finalized) endRequest(req);
}

/** A command failed with an HTTP status or NGX_ERROR (which closes the connection, as it does
 *  in nginx; so does a status once the header is out). */
function fail500(req: Request, rc: number): void {
  if (req.finalized) return;
  if (rc === NGX_ERROR || rc < 0 || req.headerSent) {
    closeRequest(req);
    return;
  }
  finalize(req, rc);
}

/** Resume after an asynchronous command finished. */
function resume(req: Request, h: EchoHandler, ctx: EchoCtx): void {
  if (req.finalized || req.ext.echo !== ctx) return;
  ctx.pc++;
  try {
    runCmds(req, h, ctx);
  } catch (e) {
    req.worker.internalFailure(req, e);
  }
}

/** ngx_http_echo_send_header_if_needed: echo_status, default type, no Content-Length. */
export function sendHeaderIfNeeded(req: Request): number {
  if (req.headerSent) return OK;
  // an error page keeps the error's status (nginx's r->err_status wins in ngx_http_send_header)
  if (!(req.errorPageRedirected && req.status !== 0)) {
    req.status = (req.loc.s.ext.echoStatus as number | undefined) ?? 200;
    req.statusLine = null;
  }
  const h = req.headersOut;
  if (h.contentType === null) h.contentType = contentTypeFor(req, req.uri);
  h.contentLength = -1;
  h.remove('accept-ranges');
  sendHeader(req);
  return OK;
}

function headerOnly(req: Request): boolean {
  return req === req.main && req.headerSent && req.framing === Framing.NoBody;
}

function send(req: Request, data: string): number {
  const rc = sendHeaderIfNeeded(req);
  if (rc !== OK || headerOnly(req)) return rc;
  output(req, Buffer.from(data, 'latin1'), false);
  return OK;
}

function execCmd(req: Request, h: EchoHandler, ctx: EchoCtx, cmd: EchoCmd): number {
  const { args, opts } = evalArgs(req, cmd);
  switch (cmd.op) {
    case 'echo': {
      const text = echoText(args, opts);
      if (text === null) return OK;
      return send(req, text);
    }
    case 'echo_duplicate': {
      const count = atosz(args[0] ?? '');
      if (count < 0) {
        logError(Level.Err, `invalid size specified: "${args[0] ?? ''}"`, req);
        return 500;
      }
      const str = args[1] ?? '';
      if (count === 0 || str.length === 0) return sendHeaderIfNeeded(req);
      return send(req, str.repeat(count));
    }
    case 'echo_flush': {
      const rc = sendHeaderIfNeeded(req);
      if (rc !== OK) return rc;
      flush(req, false, null);
      return OK;
    }
    case 'echo_request_body': {
      const body = requestBody(req);
      if (body === null || body.length === 0) return OK;
      const rc = sendHeaderIfNeeded(req);
      if (rc !== OK || headerOnly(req)) return rc;
      output(req, body, false);
      return OK;
    }
    case 'echo_sleep': {
      const ms = atofp(args[0] ?? '', 3);
      if (ms < 0) {
        logError(Level.Err, `invalid sleep duration "${args[0] ?? ''}"`, req);
        return 400;
      }
      ctx.sleepTimer = setTimeout(() => {
        ctx.sleepTimer = null;
        resume(req, h, ctx);
      }, ms);
      return AGAIN;
    }
    case 'echo_blocking_sleep': {
      const ms = atofp(args[0] ?? '', 3);
      if (ms < 0) {
        logError(Level.Err, `invalid sleep duration "${args[0] ?? ''}"`, req);
        return 400;
      }
      blockingSleep(ms);
      return OK;
    }
    case 'echo_reset_timer':
      ctx.timerBegin = Date.now();
      return OK;
    case 'echo_read_request_body':
      return readBody(req, () => resume(req, h, ctx));
    case 'echo_foreach_split':
      return foreachSplit(req, h, ctx, args);
    case 'echo_end': {
      const fe = ctx.foreach;
      if (fe === null) {
        logError(Level.Err, 'Found a echo_end that has no corresponding echo_foreach before it.', req);
        return NGX_ERROR;
      }
      fe.next++;
      if (fe.next >= fe.choices.length) {
        ctx.foreach = null;
        return OK;
      }
      ctx.pc = fe.cmdIndex; // the loop's pc++ moves to the first command of the body
      return OK;
    }
    case 'echo_exec':
      return echoExec(req, args);
    case 'echo_location':
    case 'echo_location_async': {
      if (needBody(req)) return readBodyThenRerun(req, h, ctx);
      const async = cmd.op === 'echo_location_async';
      if (!args[0]) return NGX_ERROR;
      const target = splitTarget(req, args[0], cmd.op);
      if (target === null) return NGX_ERROR;
      const urlArgs = args.length > 1 ? args[1] : target.args;
      return subrequest(req, h, ctx, async, 'GET', target.uri, urlArgs, null);
    }
    case 'echo_subrequest':
    case 'echo_subrequest_async':
      if (needBody(req)) return readBodyThenRerun(req, h, ctx);
      return echoSubrequest(req, h, ctx, cmd.op === 'echo_subrequest_async', args);
    case 'echo_abort_parent':
      return OK; // a no-op in echo-nginx-module too ("extremely evil and not working yet")
    default:
      logError(Level.Err, `unknown opcode: ${cmd.op}`, req);
      return 500;
  }
}

/** Subrequest commands read the client body first so the subrequests can see it (ngx_echo
 *  re-runs the command after ngx_http_read_client_request_body). */
function needBody(req: Request): boolean {
  return req === req.main && !req.bodyRead;
}

/** ngx_http_read_client_request_body: OK when the body is there (or this is a subrequest), AGAIN
 *  when `then` will be called once it has been read. */
function readBody(req: Request, then: () => void): number {
  if (req !== req.main || req.bodyRead) return OK;
  let sync = true;
  let syncDone = false;
  req.worker.hooks.readBody(req, (status: number) => {
    if (status !== 0) return; // the hook finalised the request (413, 408, 499...)
    if (sync) syncDone = true;
    else then();
  });
  sync = false;
  return syncDone ? OK : AGAIN;
}

function readBodyThenRerun(req: Request, h: EchoHandler, ctx: EchoCtx): number {
  const rc = readBody(req, () => {
    ctx.pc--; // resume() moves on by one: run the same command again
    resume(req, h, ctx);
  });
  if (rc !== OK) return rc;
  return execCmd(req, h, ctx, h.cmds[ctx.pc]);
}

function requestBody(req: Request): Buffer | null {
  if (req.body !== null) return req.body;
  if (req.bodyFile !== null) {
    try {
      return fs.readFileSync(req.bodyFile);
    } catch {
      return null;
    }
  }
  return null;
}

/** ngx_http_echo_atosz: digits with "_" ignored; -1 for anything else. */
function atosz(s: string): number {
  if (s.length === 0) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 95) continue;
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** nginx's ngx_atofp: a fixed-point number with at most `point` decimals, scaled by 10^point
 *  ("0.5" -> 500 for point 3); -1 for anything else. */
function atofp(s: string, point: number): number {
  if (s.length === 0) return -1;
  let value = 0;
  let dot = false;
  for (let i = 0; i < s.length; i++) {
    if (point === 0) return -1;
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (dot) return -1;
      dot = true;
      continue;
    }
    if (c < 48 || c > 57) return -1;
    value = value * 10 + (c - 48);
    if (dot) point--;
  }
  while (point-- > 0) value *= 10;
  return value > Number.MAX_SAFE_INTEGER ? -1 : value;
}

let sleepCell: Int32Array | null = null;
function blockingSleep(ms: number): void {
  sleepCell ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleepCell, 0, 0, ms);
}

function foreachSplit(req: Request, h: EchoHandler, ctx: EchoCtx, args: string[]): number {
  if (ctx.foreach !== null) {
    logError(Level.Err, 'Nested echo_foreach not supported yet.', req);
    return 500;
  }
  if (args.length < 2) {
    logError(Level.Err, 'echo_foreach should take at least two arguments. (if your delimiter starts with "-", preceding it with a "--".)', req);
    return 500;
  }
  const [delim, compound] = args;
  const choices: string[] = [];
  if (delim.length === 0) {
    if (compound.length > 0) choices.push(compound);
  } else {
    let pos = 0;
    for (;;) {
      const at = compound.indexOf(delim, pos);
      if (at < 0) break;
      if (at > pos) choices.push(compound.slice(pos, at));
      pos = at + delim.length;
    }
    if (pos < compound.length) choices.push(compound.slice(pos));
  }
  ctx.foreach = { cmdIndex: ctx.pc, choices, next: 0 };
  if (choices.length === 0) {
    // skip the body: stop right before the matching echo_end, which then closes the loop
    const cmds = h.cmds;
    while (ctx.pc + 1 < cmds.length && cmds[ctx.pc + 1].op !== 'echo_end') ctx.pc++;
  }
  return OK;
}

/** ngx_http_parse_unsafe_uri: split off "?args", refuse paths that could escape the root. */
function splitTarget(req: Request, target: string, op: string): { uri: string; args: string | null } | null {
  if (target.length === 0) return null;
  const q = target.indexOf('?');
  const uri = q < 0 ? target : target.slice(0, q);
  const args = q < 0 ? null : target.slice(q + 1);
  if (unsafeUri(uri)) {
    logError(Level.Debug, `${op} sees unsafe uri: "${target}"`, req);
    return null;
  }
  return { uri, args: args === '' ? null : args };
}

function unsafeUri(uri: string): boolean {
  if (uri.indexOf('\0') >= 0) return true;
  const segs = uri.split('/');
  if (uri[0] === '/') return segs.some((s) => s === '..');
  return segs[0] === '..' || segs.some((s) => s === '..');
}

function echoExec(req: Request, args: string[]): number {
  const raw = args[0] ?? '';
  if (raw.length === 0) return 400;
  const target = splitTarget(req, raw, 'echo_exec');
  if (target === null) return NGX_ERROR;
  const userArgs = args.length > 1 ? args[1] : target.args;
  if (target.uri[0] === '@') {
    if (userArgs) logError(Level.Warn, `querystring ${userArgs} ignored when exec'ing named location ${target.uri}`, req);
    namedRedirect(req, target.uri);
    return DONE;
  }
  internalRedirect(req, target.uri, userArgs ?? null);
  return DONE;
}

function echoSubrequest(req: Request, h: EchoHandler, ctx: EchoCtx, async: boolean, args: string[]): number {
  const method = args[0] ?? 'GET';
  const location = args[1] ?? '';
  if (location.length === 0) return NGX_ERROR;
  let query: string | null = null;
  let body: string | null = null;
  let file: string | null = null;
  for (let i = 2; i < args.length; i++) {
    const a = args[i];
    if ((a === '-q' || a === '-b' || a === '-f') && i + 1 < args.length) {
      const v = args[++i];
      if (a === '-q') query = v;
      else if (a === '-b') body = v;
      else file = v;
      continue;
    }
    if (a === '-q' || a === '-b' || a === '-f') {
      // an option with no value: echo-nginx-module leaves it pending and ignores it
      break;
    }
    logError(Level.Err, `unknown option for echo_subrequest*: ${a}`, req);
    return NGX_ERROR;
  }
  let bodyBuf: Buffer | null = null;
  if (body !== null && body.length > 0) bodyBuf = Buffer.from(body, 'latin1');
  else if (file !== null && file.length > 0) {
    const p = file[0] === '/' ? file : req.worker.conf.prefix.replace(/\/?$/, '/') + file;
    try {
      bodyBuf = fs.readFileSync(p);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      logError(Level.Err, `open() "${p}" failed (${errnoOf(err)}: ${errMessage(err)})`, req);
      return NGX_ERROR;
    }
  }
  const target = splitTarget(req, location, async ? 'echo_subrequest_async' : 'echo_subrequest');
  if (target === null) return NGX_ERROR;
  if (query === null) query = target.args;
  return subrequest(req, h, ctx, async, method, target.uri, query, bodyBuf);
}

function errnoOf(e: NodeJS.ErrnoException): number {
  return e.code === 'ENOENT' ? 2 : e.code === 'EACCES' ? 13 : e.code === 'EISDIR' ? 21 : 5;
}

function errMessage(e: NodeJS.ErrnoException): string {
  return e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'EACCES' ? 'Permission denied' : e.code === 'EISDIR' ? 'Is a directory' : e.message;
}

function subrequest(
  req: Request, h: EchoHandler, ctx: EchoCtx, async: boolean, method: string, uri: string,
  args: string | null, body: Buffer | null,
): number {
  const rc = sendHeaderIfNeeded(req);
  if (rc !== OK) return rc;
  if (headerOnly(req)) return async ? OK : DONE_OK(req);
  ctx.pendingSubs++;
  const sr = startSubrequest(req, uri, { method, args, body, vars: 'fresh', inline: true }, () => {
    ctx.pendingSubs--;
    if (req.finalized || req.ext.echo !== ctx) return;
    if (!async) resume(req, h, ctx);
    else maybeEnd(req, ctx);
  });
  if (sr === null) {
    ctx.pendingSubs--;
    return NGX_ERROR;
  }
  if (body !== null) {
    // ngx_http_echo_set_content_length_header: Content-Length first, then the parent's others
    const hs = ['Content-Length', String(body.length)];
    const ph = req.headersIn;
    for (let i = 0; i < ph.length; i += 2) if (ph[i].toLowerCase() !== 'content-length') hs.push(ph[i], ph[i + 1]);
    sr.headersIn = hs;
  }
  return async ? OK : AGAIN;
}

/** A HEAD request stops at echo_location: the header is all there is to send. */
function DONE_OK(req: Request): number {
  output(req, null, true);
  endRequest(req);
  return DONE;
}

// ---- variables -------------------------------------------------------------------------------

defineVariable('echo_request_method', { get: (r: Request) => r.method });
defineVariable('echo_client_request_method', { get: (r: Request) => r.main.method });
defineVariable('echo_request_body', {
  get: (r: Request) => (r.body !== null && r.bodyFile === null ? r.body.toString('latin1') : null),
});
defineVariable('echo_client_request_headers', { get: (r: Request) => (r.main.rawHeader ? r.main.rawHeader : null) });
defineVariable('echo_request_uri', { get: (r: Request) => (r.uri ? r.uri : null) });
defineVariable('echo_cacheable_request_uri', { get: (r: Request) => (r.uri ? r.uri : null) });
defineVariable('echo_response_status', { get: (r: Request) => (r.status ? String(r.status) : null) });
defineVariable('echo_timer_elapsed', {
  get: (r: Request) => {
    const ctx = echoCtx(r);
    if (ctx.timerBegin === 0) ctx.timerBegin = r.startTime;
    const ms = Math.max(0, Date.now() - ctx.timerBegin);
    return `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}`;
  },
});
defineVariable('echo_it', {
  get: (r: Request) => {
    const fe = (r.ext.echo as EchoCtx | undefined)?.foreach;
    if (!fe) return null;
    return fe.next < fe.choices.length ? fe.choices[fe.next] : null;
  },
});
defineVariable('echo_incr', {
  get: (r: Request) => {
    const ctx = echoCtx(r.main);
    ctx.counter++;
    return String(ctx.counter);
  },
});

// ---- directives ------------------------------------------------------------------------------

defineDirectives({
  echo: handlerCmd('echo'),
  echo_request_body: handlerCmd('echo_request_body'),
  echo_sleep: handlerCmd('echo_sleep'),
  echo_flush: handlerCmd('echo_flush'),
  echo_blocking_sleep: handlerCmd('echo_blocking_sleep'),
  echo_reset_timer: handlerCmd('echo_reset_timer'),
  echo_location_async: handlerCmd('echo_location_async'),
  echo_location: handlerCmd('echo_location'),
  echo_subrequest_async: handlerCmd('echo_subrequest_async'),
  echo_subrequest: handlerCmd('echo_subrequest'),
  echo_duplicate: handlerCmd('echo_duplicate'),
  echo_read_request_body: handlerCmd('echo_read_request_body'),
  echo_foreach_split: handlerCmd('echo_foreach_split'),
  echo_end: handlerCmd('echo_end'),
  echo_abort_parent: handlerCmd('echo_abort_parent'),
  echo_exec: handlerCmd('echo_exec'),
  echo_before_body: filterCmd('before'),
  echo_after_body: filterCmd('after'),
  echo_status: (c, d) => {
    locOf(c, d);
    const n = Number(d.args[0]);
    if (!/^\d+$/.test(d.args[0]) || n < 100 || n > 999) fail(d, `invalid status code "${d.args[0]}"`);
    extOf(settings(c)).echoStatus = n;
  },
});
