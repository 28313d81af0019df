// Appliers for nginx core directives (main, events, http, server, location, rewrite module).
import * as path from 'node:path';
import type { Directive } from './ast.js';
import {
  defineDirectives, applyBlock, fail, own, settings, parseSize, parseTime, parseFlag, fullPath, bin,
  defaultSettings, newLocation, type BuildCtx, type ServerHeaderSettings,
} from './build.js';
import type { LocationConf, ServerConf } from './model.js';
import { compileComplex } from '../http/complex.js';
import { compileConfigRegex } from './regex.js';
import type { Cond, ScriptOp } from '../http/script.js';
import { parseValidReferers } from '../http/referer.js';
import * as os from 'node:os';

function script(c: BuildCtx): ScriptOp[] {
  if (c.loc) return c.loc.script;
  if (c.server) return c.server.root.script;
  fail({ name: '', args: [], file: c.main.file, line: 0 }, 'rewrite directives are not allowed here');
}

function newServer(c: BuildCtx, d: Directive): ServerConf {
  const http = c.http!;
  const s = Object.create(c.httpSettings!);
  const root = newLocation('', 'prefix', null, s, d);
  // the header settings come from the http{} level through the prototype unless set here
  const server: ServerConf = Object.create(c.serverDefaults!);
  return Object.assign(server, {
    index: http.servers.length,
    listens: [],
    names: { exact: [], wildcardsHead: [], wildcardsTail: [], regexes: [] },
    primaryName: '',
    root,
    named: new Map(),
  });
}

function defaultServerSettings(): ServerHeaderSettings {
  return {
    clientHeaderTimeout: 60000,
    clientHeaderBufferSize: 1024,
    largeHeaderBuffers: { num: 4, size: 8192 },
    underscoresInHeaders: false,
    ignoreInvalidHeaders: true,
    mergeSlashes: true,
  };
}

/** A server-level setting in server{}, or for every server in http{}. */
function serverLevel(c: BuildCtx): ServerHeaderSettings {
  return c.server ?? c.serverDefaults!;
}

function addLocation(c: BuildCtx, d: Directive): void {
  const server = c.server!;
  const parent = c.loc ?? server.root;
  let [mod, name] = d.args.length === 2 ? d.args : ['', d.args[0]];
  let match: LocationConf['match'] = 'prefix';
  let regex: RegExp | null = null;
  if (d.args.length === 1 && (name.startsWith('=') || name.startsWith('~')) && name.length > 1 && mod === '') {
    // "location =/x" and "location ~^/x" without a space
    const m = /^(=|\^~|~\*|~)(.*)$/.exec(name)!;
    mod = m[1];
    name = m[2];
  }
  switch (mod) {
    case '=': match = 'exact'; break;
    case '^~': match = 'noregex'; break;
    case '~': match = 'regex'; regex = compileConfigRegex(d, name, false); break;
    case '~*': match = 'regex'; regex = compileConfigRegex(d, name, true); break;
    case '': match = name.startsWith('@') ? 'named' : 'prefix'; break;
    default: fail(d, `invalid location modifier "${mod}"`);
  }
  if (match === 'named' && c.loc) fail(d, `location "${name}" cannot be inside the named location "${c.loc.name}"`);
  const loc = newLocation(bin(name), match, parent === server.root ? null : parent, Object.create(parent.s), d);
  loc.regex = regex;
  own(loc.s, 'luaHandlers', (h) => Object.create(h));
  if (match === 'named') server.named.set(name, loc);
  else parent.children.push(loc);
  applyBlock({ ...c, loc, context: 'location' }, d.block);
}

function parseCond(d: Directive, args: string[]): Cond {
  const a = args.slice();
  if (a.length === 1) {
    if (/^[!]?-[fdex]$/.test(a[0])) fail(d, `invalid condition "${a[0]}"`);
    return { kind: 'var', value: compileComplex(bin(a[0])) };
  }
  if (a.length === 2 && /^!?-[fdex]$/.test(a[0])) {
    const neg = a[0].startsWith('!');
    return { kind: 'file', neg, test: a[0].slice(neg ? 2 : 1) as 'f', value: compileComplex(bin(a[1])) };
  }
  if (a.length === 3) {
    const [lhs, op, rhs] = a;
    if (op === '=' || op === '!=') return { kind: 'cmp', value: compileComplex(bin(lhs)), neg: op === '!=', rhs: compileComplex(bin(rhs)) };
    if (op === '~' || op === '~*' || op === '!~' || op === '!~*') {
      return { kind: 'regex', value: compileComplex(bin(lhs)), neg: op.startsWith('!'), re: compileConfigRegex(d, rhs, op.endsWith('*')) };
    }
  }
  fail(d, `invalid condition "${args.join(' ')}"`);
}

/** nginx's `if (...)` arguments arrive split by the lexer, parentheses attached to words. */
function ifArgs(d: Directive): string[] {
  const a = d.args.slice();
  if (a.length === 0) fail(d, 'invalid number of arguments in "if" directive');
  a[0] = a[0].replace(/^\(/, '');
  a[a.length - 1] = a[a.length - 1].replace(/\)$/, '');
  return a.filter((x, i) => !(x === '' && (i === 0 || i === a.length - 1)));
}

function addIf(c: BuildCtx, d: Directive): void {
  const cond = parseCond(d, ifArgs(d));
  const server = c.server!;
  const parent = c.loc ?? server.root;
  const ifLoc = newLocation(parent.name, 'if', parent, Object.create(parent.s), d);
  ifLoc.regex = parent.regex;
  ifLoc.children = parent.children;
  ifLoc.content = parent.content;
  own(ifLoc.s, 'luaHandlers', (h) => Object.create(h));
  script(c).push({ op: 'if', cond, loc: ifLoc });
  applyBlock({ ...c, loc: ifLoc, context: 'if' }, d.block);
  if (ifLoc.content === parent.content) ifLoc.content = null; // resolved at runtime from the parent
}

function listen(c: BuildCtx, d: Directive): void {
  const a = d.args[0];
  let host: string | null = null;
  let port = 80;
  let unix: string | null = null;
  if (a.startsWith('unix:')) unix = a.slice(5);
  else if (/^\d+$/.test(a)) port = Number(a);
  else {
    const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(a);
    if (!m) fail(d, `invalid port in "${a}" of the "listen" directive`);
    host = m[1].replace(/^\[|\]$/g, '');
    if (m[2]) port = Number(m[2]);
    if (host === '*') host = null;
  }
  if (port < 1 || port > 65535) fail(d, `invalid port in "${a}" of the "listen" directive`);
  c.server!.listens.push({ host, port, unix, defaultServer: d.args.includes('default_server') || d.args.includes('default') });
}

function serverName(c: BuildCtx, d: Directive): void {
  const s = c.server!;
  for (const n of d.args) {
    if (n === '' || n === '_') continue;
    if (!s.primaryName) s.primaryName = n;
    if (n.startsWith('~')) s.names.regexes.push(compileConfigRegex(d, n.slice(1), true));
    else if (n.startsWith('*.') || n.startsWith('.')) s.names.wildcardsHead.push(n.startsWith('*') ? n.slice(1) : n);
    else if (n.endsWith('.*')) s.names.wildcardsTail.push(n.slice(0, -1));
    else s.names.exact.push(n.toLowerCase());
  }
}

function errorPage(c: BuildCtx, d: Directive): void {
  const s = settings(c);
  const pages = own(s, 'errorPages', () => new Map());
  const args = d.args.slice();
  const uri = args.pop()!;
  let overwrite: number | null = null;
  const last = args[args.length - 1];
  if (last && last.startsWith('=')) {
    args.pop();
    overwrite = last.length > 1 ? Number(last.slice(1)) : -1;
  }
  for (const code of args) {
    const n = Number(code);
    if (!(n >= 300 && n <= 599)) fail(d, `value "${code}" must be between 300 and 599`);
    pages.set(n, { uri: bin(uri), overwrite });
  }
}

function rewriteOp(c: BuildCtx, d: Directive): void {
  const [pattern, replacement, flag] = d.args;
  if (flag !== undefined && !['last', 'break', 'redirect', 'permanent'].includes(flag)) fail(d, `invalid parameter "${flag}"`);
  const redirect = flag === 'redirect' || flag === 'permanent' || /^(https?:\/\/|\$scheme)/.test(replacement);
  const noArgs = replacement.endsWith('?');
  script(c).push({
    op: 'rewrite', re: compileConfigRegex(d, pattern, false), replacement: compileComplex(bin(noArgs ? replacement.slice(0, -1) : replacement)),
    flag: (flag ?? null) as 'last' | null, redirect, noArgs,
  });
}

function returnOp(c: BuildCtx, d: Directive): void {
  let code: number;
  let text: string | null = null;
  if (/^\d+$/.test(d.args[0])) {
    code = Number(d.args[0]);
    text = d.args[1] ?? null;
    if (code > 999) fail(d, `invalid return code "${d.args[0]}"`);
  } else {
    code = 302;
    text = d.args[0];
    if (!/^(https?:\/\/|\$scheme)/.test(text)) fail(d, `invalid return code "${text}"`);
  }
  script(c).push({ op: 'return', code, text: text === null ? null : compileComplex(bin(text)) });
}

const s = settings;

defineDirectives({
  // main
  worker_processes: (c, d) => { c.main.workerProcesses = d.args[0] === 'auto' ? os.availableParallelism() : Number(d.args[0]); },
  daemon: (c, d) => { c.main.daemon = parseFlag(d); },
  master_process: (c, d) => { c.main.masterProcess = parseFlag(d); },
  error_log: (c, d) => { if (c.context === 'main') c.main.errorLog = { path: d.args[0] === 'stderr' ? 'stderr' : fullPath(c, d.args[0]), level: d.args[1] ?? 'error' }; },
  pid: (c, d) => { c.main.pid = fullPath(c, d.args[0]); },
  env: (c, d) => { const [k, v] = d.args[0].split(/=(.*)/s); c.main.env.set(k, v ?? null); },
  worker_shutdown_timeout: (c, d) => { c.main.workerShutdownTimeout = parseTime(d, d.args[0]); },
  events: (c, d) => applyBlock({ ...c, context: 'events' }, d.block),
  worker_connections: (c, d) => { c.main.workerConnections = Number(d.args[0]); },
  // http
  http: (c, d) => {
    c.main.http = {
      servers: [], upstreams: new Map(), logFormats: new Map(), resolver: null, resolverTimeout: 30000, sharedDicts: [],
      luaPackagePath: null, luaPackageCPath: null, initByLua: null, initWorkerByLua: null, exitWorkerByLua: null,
      luaMaxPendingTimers: 1024, luaMaxRunningTimers: 256, luaRegexCacheMaxEntries: 1024, luaRegexMatchLimit: 0,
      luaInstructionBudget: 200_000_000, luaAllowCosocketEverywhere: false, lazyLoadInitFromHttp: false,
    };
    const hs = defaultSettings(c.main.prefix);
    applyBlock({ ...c, http: c.main.http, httpSettings: hs, serverDefaults: defaultServerSettings(), context: 'http' }, d.block);
  },
  server: (c, d) => {
    if (c.context === 'upstream') {
      const [hp, ...opts] = d.args;
      const m = /^(.*?)(?::(\d+))?$/.exec(hp)!;
      const opt = (k: string): string | undefined => opts.find((o) => o.startsWith(k + '='))?.slice(k.length + 1);
      const w = opt('weight');
      const mf = opt('max_fails');
      const ft = opt('fail_timeout');
      c.upstream!.servers.push({
        host: m[1], port: m[2] ? Number(m[2]) : 80, weight: w ? Number(w) || 1 : 1, backup: opts.includes('backup'), down: opts.includes('down'),
        maxFails: mf !== undefined ? Number(mf) : undefined, failTimeout: ft !== undefined ? parseTime(d, ft) : undefined,
      });
      return;
    }
    const srv = newServer(c, d);
    c.http!.servers.push(srv);
    applyBlock({ ...c, server: srv, loc: null, context: 'server' }, d.block);
    if (srv.listens.length === 0) srv.listens.push({ host: null, port: 80, unix: null, defaultServer: false });
  },
  listen,
  server_name: serverName,
  location: addLocation,
  if: addIf,
  upstream: (c, d) => {
    const u = { name: d.args[0], servers: [], keepalive: 0, balancerLua: null, file: d.file, line: d.line };
    c.http!.upstreams.set(u.name, u);
    applyBlock({ ...c, upstream: u, context: 'upstream' }, d.block);
  },
  keepalive: (c, d) => { if (c.upstream) c.upstream.keepalive = Number(d.args[0]); },
  types: (c, d) => {
    const map = new Map<string, string>();
    for (const t of d.block ?? []) for (const ext of t.args) map.set(ext.toLowerCase(), t.name);
    s(c).types = map;
  },
  root: (c, d) => { const st = s(c); st.root = fullPath(c, bin(d.args[0])).replace(/\/$/, ''); st.rootIsAlias = false; },
  alias: (c, d) => { const st = s(c); st.root = fullPath(c, bin(d.args[0])); st.rootIsAlias = true; },
  index: (c, d) => { s(c).index = d.args.map(bin); },
  default_type: (c, d) => { s(c).defaultType = d.args[0]; },
  error_page: errorPage,
  internal: (c) => { s(c).internal = true; },
  add_header: (c, d) => {
    own(s(c), 'addHeaders', () => []).push({ name: d.args[0], value: compileComplex(bin(d.args[1])) as never, always: d.args[2] === 'always' });
  },
  client_max_body_size: (c, d) => { s(c).clientMaxBodySize = parseSize(d, d.args[0]); },
  client_body_buffer_size: (c, d) => { s(c).clientBodyBufferSize = parseSize(d, d.args[0]); },
  client_body_timeout: (c, d) => { s(c).clientBodyTimeout = parseTime(d, d.args[0]); },
  client_header_timeout: (c, d) => { serverLevel(c).clientHeaderTimeout = parseTime(d, d.args[0]); },
  client_header_buffer_size: (c, d) => { serverLevel(c).clientHeaderBufferSize = parseSize(d, d.args[0]); },
  large_client_header_buffers: (c, d) => { serverLevel(c).largeHeaderBuffers = { num: Number(d.args[0]), size: parseSize(d, d.args[1]) }; },
  underscores_in_headers: (c, d) => { serverLevel(c).underscoresInHeaders = parseFlag(d); },
  ignore_invalid_headers: (c, d) => { serverLevel(c).ignoreInvalidHeaders = parseFlag(d); },
  merge_slashes: (c, d) => { serverLevel(c).mergeSlashes = parseFlag(d); },
  // inside upstream {}: the idle upstream connection cache's limits, not the client side's
  keepalive_timeout: (c, d) => { if (c.upstream) c.upstream.keepaliveTimeout = parseTime(d, d.args[0]); else s(c).keepaliveTimeout = parseTime(d, d.args[0]); },
  keepalive_requests: (c, d) => { if (c.upstream) c.upstream.keepaliveRequests = Number(d.args[0]); else s(c).keepaliveRequests = Number(d.args[0]); },
  send_timeout: (c, d) => { s(c).sendTimeout = parseTime(d, d.args[0]); },
  server_tokens: (c, d) => { s(c).serverTokens = d.args[0] as 'on'; },
  chunked_transfer_encoding: (c, d) => { s(c).chunkedTransferEncoding = parseFlag(d); },
  absolute_redirect: (c, d) => { s(c).absoluteRedirect = parseFlag(d); },
  server_name_in_redirect: (c, d) => { s(c).serverNameInRedirect = parseFlag(d); },
  port_in_redirect: (c, d) => { s(c).portInRedirect = parseFlag(d); },
  postpone_output: (c, d) => { s(c).postponeOutput = parseSize(d, d.args[0]); },
  recursive_error_pages: (c, d) => { s(c).recursiveErrorPages = parseFlag(d); },
  log_subrequest: (c, d) => { s(c).logSubrequest = parseFlag(d); },
  access_log: (c, d) => { s(c).accessLog = d.args[0] === 'off' ? null : { path: fullPath(c, d.args[0]), format: d.args[1] ?? 'combined' }; },
  log_format: (c, d) => { c.http!.logFormats.set(d.args[0], d.args.slice(d.args[1]?.startsWith('escape=') ? 2 : 1).join('')); },
  resolver: (c, d) => { c.http!.resolver = d.args.filter((a) => !a.includes('=')); },
  resolver_timeout: (c, d) => { c.http!.resolverTimeout = parseTime(d, d.args[0]); },
  allow: (c, d) => { own(s(c), 'accessRules', () => []).push({ allow: true, cidr: d.args[0] }); },
  deny: (c, d) => { own(s(c), 'accessRules', () => []).push({ allow: false, cidr: d.args[0] }); },
  satisfy: (c, d) => { s(c).satisfyAny = d.args[0] === 'any'; },
  client_body_in_file_only: (c, d) => { own(s(c), 'ext', (e) => ({ ...e })).bodyInFileOnly = d.args[0]; },
  client_body_temp_path: (c, d) => { own(s(c), 'ext', (e) => ({ ...e })).clientBodyTempPath = fullPath(c, d.args[0]); },
  charset: (c, d) => { own(s(c), 'ext', (e) => ({ ...e })).charset = d.args[0]; },
  auth_request: (c, d) => { own(s(c), 'ext', (e) => ({ ...e })).authRequest = d.args[0] === 'off' ? null : d.args[0]; },
  charset_types: (c, d) => { own(s(c), 'ext', (e) => ({ ...e })).charsetTypes = d.args.map((t) => t.toLowerCase()); },
  try_files: (c, d) => { s(c).tryFiles = d.args.map(bin); },
  if_modified_since: (c, d) => { own(s(c), 'ext', (e) => ({ ...e })).ifModifiedSince = d.args[0]; },
  valid_referers: (c, d) => { own(s(c), 'ext', (e) => ({ ...e })).validReferers = parseValidReferers(d.args, (re) => compileConfigRegex(d, re, true)); },
  // rewrite module
  set: (c, d) => {
    if (!d.args[0].startsWith('$')) fail(d, `invalid variable name "${d.args[0]}"`);
    const name = d.args[0].slice(1).toLowerCase();
    c.declaredVars.add(name);
    script(c).push({ op: 'set', name, value: compileComplex(bin(d.args[1])) });
  },
  rewrite: rewriteOp,
  return: returnOp,
  break: (c) => { script(c).push({ op: 'break' }); },
  include: () => { /* expanded by the parser */ },
});

export { path };
