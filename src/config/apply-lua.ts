// Appliers for lua-nginx-module directives: handlers in every phase and the lua_* settings.
import * as path from 'node:path';
import type { Directive } from './ast.js';
import { defineDirectives, fail, own, settings, parseSize, parseTime, parseFlag, fullPath, type BuildCtx } from './build.js';
import type { LuaCode, LuaPhase } from './model.js';
import { compileComplex } from '../http/complex.js';
import { directiveChunkName } from './chunkname.js';
import { luaContentHandler, luaSetFunction } from '../http/lua-handlers.js';

/** Chunk names as lua-nginx-module makes them: "=content_by_lua(nginx.conf:12)". */
function luaCode(c: BuildCtx, d: Directive, phase: string, codeArg: string): LuaCode {
  const isFile = d.name.endsWith('_file');
  const base = `${phase}_by_lua`;
  if (isFile) {
    const p = codeArg;
    const hasVars = compileComplex(p).constant === null;
    const abs = hasVars ? p : fullPath(c, p);
    return { kind: 'file', code: new Uint8Array(), path: abs, chunkName: '@' + abs, directive: d.name, file: d.file, line: d.line, ref: 0 };
  }
  const chunkName = directiveChunkName(d, path.dirname(c.main.file) + '/');
  void base;
  return { kind: 'inline', code: Buffer.from(codeArg, 'latin1'), path: null, chunkName, directive: d.name, file: d.file, line: d.line, ref: 0 };
}

function phaseHandler(phase: LuaPhase): (c: BuildCtx, d: Directive) => void {
  return (c, d) => {
    const st = settings(c);
    const handlers = own(st, 'luaHandlers', (h) => Object.create(h));
    if (Object.prototype.hasOwnProperty.call(handlers, phase)) fail(d, 'is duplicate');
    const code = luaCode(c, d, phase, d.args[0]);
    if (phase === 'content') {
      if (!c.loc) fail(d, `"${d.name}" directive is not allowed here`);
      if (c.loc.content) fail(d, 'content handler already set');
      c.loc.content = luaContentHandler(code);
      return;
    }
    if (phase === 'balancer') {
      if (c.upstream) c.upstream.balancerLua = code;
      return;
    }
    handlers[phase] = code;
  };
}

function forms(base: string, fn: (c: BuildCtx, d: Directive) => void): Record<string, (c: BuildCtx, d: Directive) => void> {
  return { [base]: fn, [`${base}_block`]: fn, [`${base}_file`]: fn };
}

function httpLevel(c: BuildCtx, d: Directive) {
  if (!c.http) fail(d, `"${d.name}" directive is not allowed here`);
  return c.http;
}

function setByLua(c: BuildCtx, d: Directive): void {
  const [varName, codeArg, ...args] = d.args;
  if (!varName.startsWith('$')) fail(d, `invalid variable name "${varName}"`);
  const name = varName.slice(1).toLowerCase();
  c.declaredVars.add(name);
  const code = luaCode(c, d, 'set', codeArg);
  const ops = c.loc ? c.loc.script : c.server!.root.script;
  ops.push({ op: 'fn', name, args: args.map((a) => compileComplex(a)), fn: luaSetFunction(code), lua: code });
}

defineDirectives({
  ...forms('init_by_lua', (c, d) => { httpLevel(c, d).initByLua = luaCode(c, d, 'init', d.args[0]); }),
  ...forms('init_worker_by_lua', (c, d) => { httpLevel(c, d).initWorkerByLua = luaCode(c, d, 'init_worker', d.args[0]); }),
  ...forms('exit_worker_by_lua', (c, d) => { httpLevel(c, d).exitWorkerByLua = luaCode(c, d, 'exit_worker', d.args[0]); }),
  ...forms('set_by_lua', setByLua),
  ...forms('server_rewrite_by_lua', phaseHandler('server_rewrite')),
  ...forms('rewrite_by_lua', phaseHandler('rewrite')),
  ...forms('access_by_lua', phaseHandler('access')),
  ...forms('content_by_lua', phaseHandler('content')),
  ...forms('header_filter_by_lua', phaseHandler('header_filter')),
  ...forms('body_filter_by_lua', phaseHandler('body_filter')),
  ...forms('log_by_lua', phaseHandler('log')),
  ...forms('balancer_by_lua', phaseHandler('balancer')),
  rewrite_by_lua_no_postpone: (c, d) => { settings(c).luaRewriteNoPostpone = parseFlag(d); },
  access_by_lua_no_postpone: (c, d) => { settings(c).luaAccessNoPostpone = parseFlag(d); },
  lua_package_path: (c, d) => { httpLevel(c, d).luaPackagePath = d.args[0]; },
  lua_package_cpath: (c, d) => { httpLevel(c, d).luaPackageCPath = d.args[0]; },
  lua_shared_dict: (c, d) => {
    const size = parseSize(d, d.args[1]);
    if (size < 8192) fail(d, `invalid lua shared dict size "${d.args[1]}"`);
    httpLevel(c, d).sharedDicts.push({ name: d.args[0], size, file: d.file, line: d.line });
  },
  lua_code_cache: (c, d) => {
    settings(c).luaCodeCache = parseFlag(d);
    if (d.args[0] === 'off') c.main.startupAlerts.push(`lua_code_cache is off; this will hurt performance in ${d.file}:${d.line}`);
  },
  lua_need_request_body: (c, d) => { settings(c).luaNeedRequestBody = parseFlag(d); },
  lua_use_default_type: (c, d) => { settings(c).luaUseDefaultType = parseFlag(d); },
  lua_check_client_abort: (c, d) => { settings(c).luaCheckClientAbort = parseFlag(d); },
  lua_transform_underscores_in_response_headers: (c, d) => { settings(c).luaTransformUnderscores = parseFlag(d); },
  lua_socket_connect_timeout: (c, d) => { settings(c).luaSocketConnectTimeout = parseTime(d, d.args[0]); },
  lua_socket_send_timeout: (c, d) => { settings(c).luaSocketSendTimeout = parseTime(d, d.args[0]); },
  lua_socket_read_timeout: (c, d) => { settings(c).luaSocketReadTimeout = parseTime(d, d.args[0]); },
  lua_socket_buffer_size: (c, d) => { settings(c).luaSocketBufferSize = parseSize(d, d.args[0]); },
  lua_socket_pool_size: (c, d) => { settings(c).luaSocketPoolSize = Number(d.args[0]); },
  lua_socket_keepalive_timeout: (c, d) => { settings(c).luaSocketKeepaliveTimeout = parseTime(d, d.args[0]); },
  lua_socket_log_errors: (c, d) => { settings(c).luaSocketLogErrors = parseFlag(d); },
  lua_max_pending_timers: (c, d) => { httpLevel(c, d).luaMaxPendingTimers = Number(d.args[0]); },
  lua_max_running_timers: (c, d) => { httpLevel(c, d).luaMaxRunningTimers = Number(d.args[0]); },
  lua_regex_cache_max_entries: (c, d) => { httpLevel(c, d).luaRegexCacheMaxEntries = Number(d.args[0]); },
  lua_regex_match_limit: (c, d) => { httpLevel(c, d).luaRegexMatchLimit = Number(d.args[0]); },
  lua_instruction_budget: (c, d) => { httpLevel(c, d).luaInstructionBudget = Number(d.args[0]); },
  lua_allow_cosocket_everywhere: (c, d) => { httpLevel(c, d).luaAllowCosocketEverywhere = parseFlag(d); },
  // accepted with no effect in a JS runtime (documented in the README)
  lua_load_resty_core: () => {},
  lua_malloc_trim: () => {},
  lua_sa_restart: () => {},
  lua_http10_buffering: (c, d) => { settings(c).luaHttp10Buffering = parseFlag(d); },
  lua_thread_cache_max_entries: () => {},
});
