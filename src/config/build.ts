// AST -> runtime model. Walks the tree with a context stack and hands each directive to the
// applier registered for its name (core ones in apply-core.ts, lua in apply-lua.ts, modules in
// their own files). Directives the table accepts but nobody applies are collected for a warning.
import * as path from 'node:path';
import type { Directive } from './ast.js';
import { ConfigError } from './errors.js';
import type { HttpConf, LocSettings, LocationConf, MainConf, ServerConf, UpstreamConf } from './model.js';

export type Context = 'main' | 'events' | 'http' | 'server' | 'location' | 'if' | 'upstream' | 'limit_except' | 'types';

export interface BuildCtx {
  main: MainConf;
  http: HttpConf | null;
  server: ServerConf | null;
  loc: LocationConf | null;
  upstream: UpstreamConf | null;
  context: Context;
  /** variables declared with `set` (and friends) anywhere: ngx.var may write only these */
  declaredVars: Set<string>;
  httpSettings: LocSettings | null;
  /** the server-level settings an http{} block may set for all its servers (the prototype of
   *  every ServerConf, so an http-level directive applies wherever it stands in the block) */
  serverDefaults: ServerHeaderSettings | null;
}

/** Server settings that http{} can set too (client request header handling). */
export type ServerHeaderSettings = Pick<ServerConf, 'clientHeaderTimeout' | 'clientHeaderBufferSize' | 'largeHeaderBuffers' |
  'underscoresInHeaders' | 'ignoreInvalidHeaders' | 'mergeSlashes'>;

export type Applier = (c: BuildCtx, d: Directive) => void;

const appliers = new Map<string, Applier>();

export function defineDirectives(map: Record<string, Applier>): void {
  for (const k of Object.keys(map)) appliers.set(k, map[k]);
}

export function hasApplier(name: string): boolean {
  return appliers.has(name);
}

export function fail(d: Directive, msg: string): never {
  throw new ConfigError(msg, d.file, d.line);
}

/** Walk a block's directives in the given context. */
export function applyBlock(c: BuildCtx, list: Directive[] | undefined): void {
  if (!list) return;
  for (const d of list) {
    const a = appliers.get(d.name);
    if (a) a(c, d);
    else c.main.unimplemented.push(d);
  }
}

/** Settings with their own copy of an inherited container (nginx: a child's add_header etc.
 *  replaces the parent's list, it does not extend it). */
export function own<K extends keyof LocSettings>(s: LocSettings, key: K, make: (inherited: LocSettings[K]) => LocSettings[K]): LocSettings[K] {
  if (!Object.prototype.hasOwnProperty.call(s, key)) s[key] = make(s[key]);
  return s[key];
}

/** Current settings object for the context (http-level, server root, location or if). */
export function settings(c: BuildCtx): LocSettings {
  if (c.loc) return c.loc.s;
  if (c.server) return c.server.root.s;
  if (c.httpSettings) return c.httpSettings;
  throw new Error('no settings in this context');
}

// ---- value parsers (nginx's ngx_parse_size / ngx_parse_time) --------------------------------

export function parseSize(d: Directive, v: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(v);
  if (!m) fail(d, `"${d.name}" directive invalid value`);
  const n = Number(m[1]);
  const u = m[2].toLowerCase();
  return u === 'k' ? n * 1024 : u === 'm' ? n * 1024 * 1024 : u === 'g' ? n * 1024 * 1024 * 1024 : n;
}

/** Time in milliseconds ("68000ms", "60s", "1m", "1h 30m", plain number = seconds). */
export function parseTime(d: Directive, v: string): number {
  let total = 0;
  const re = /(\d+)(ms|s|m|h|d|w|M|y)?\s*/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(v)) !== null) {
    const n = Number(m[1]);
    const unit = m[2] ?? 's';
    const mult = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60000 : unit === 'h' ? 3600000 : unit === 'd' ? 86400000 : unit === 'w' ? 604800000 : unit === 'M' ? 2592000000 : 31536000000;
    total += n * mult;
    pos = re.lastIndex;
    if (pos >= v.length) break;
  }
  if (pos !== v.length || v === '') fail(d, `"${d.name}" directive invalid value`);
  return total;
}

export function parseFlag(d: Directive): boolean {
  const v = d.args[0];
  if (v === 'on') return true;
  if (v === 'off') return false;
  fail(d, `invalid value "${v}" in "${d.name}" directive, it must be "on" or "off"`);
}

/** Relative paths in directives resolve against the prefix (nginx's ngx_conf_full_name). */
export function fullPath(c: BuildCtx, p: string): string {
  return path.isAbsolute(p) ? p : path.join(c.main.prefix, p);
}

/** Directive arguments are already byte strings (the parser reads files as latin1); this marks
 *  the places where a value is used as bytes. */
export function bin(s: string): string {
  return s;
}

export function defaultSettings(prefix: string): LocSettings {
  return {
    root: path.join(prefix, 'html'),
    rootIsAlias: false,
    index: ['index.html'],
    defaultType: 'text/plain',
    types: null,
    clientMaxBodySize: 1024 * 1024,
    clientBodyBufferSize: 8 * 1024, // two pages on x86-64
    clientBodyTimeout: 60000,
    sendTimeout: 60000,
    keepaliveTimeout: 75000,
    keepaliveRequests: 1000,
    serverTokens: 'on',
    chunkedTransferEncoding: true,
    absoluteRedirect: true,
    serverNameInRedirect: false,
    portInRedirect: true,
    postponeOutput: 1460,
    errorPages: new Map(),
    addHeaders: [],
    accessRules: [],
    satisfyAny: false,
    internal: false,
    logSubrequest: false,
    accessLog: null,
    tryFiles: null,
    recursiveErrorPages: false,
    luaHandlers: {},
    luaNeedRequestBody: false,
    luaCodeCache: true,
    luaUseDefaultType: true,
    luaCheckClientAbort: false,
    luaHttp10Buffering: true,
    luaTransformUnderscores: true,
    luaSocketConnectTimeout: 60000,
    luaSocketSendTimeout: 60000,
    luaSocketReadTimeout: 60000,
    luaSocketBufferSize: 4096,
    luaSocketPoolSize: 30,
    luaSocketKeepaliveTimeout: 60000,
    luaSocketLogErrors: true,
    luaRewriteNoPostpone: false,
    luaAccessNoPostpone: false,
    ext: {},
  };
}

export function newLocation(name: string, match: LocationConf['match'], parent: LocationConf | null, s: LocSettings, d: Directive): LocationConf {
  return { name, match, regex: null, parent, children: [], script: [], content: null, s, file: d.file, line: d.line };
}

export function newMain(file: string, prefix: string): MainConf {
  return {
    file,
    prefix,
    workerProcesses: 1,
    daemon: true,
    masterProcess: true,
    errorLog: { path: path.join(prefix, 'logs/error.log'), level: 'error' },
    pid: path.join(prefix, 'logs/nginx.pid'),
    env: new Map(),
    workerShutdownTimeout: 0,
    workerConnections: 512,
    http: null,
    startupAlerts: [],
    unimplemented: [],
  };
}

/** Build the model from a parsed tree. */
export function buildConfig(tree: Directive[], file: string, prefix: string): { main: MainConf; declaredVars: Set<string> } {
  const main = newMain(file, prefix);
  const c: BuildCtx = { main, http: null, server: null, loc: null, upstream: null, context: 'main', declaredVars: new Set(), httpSettings: null, serverDefaults: null };
  applyBlock(c, tree);
  return { main, declaredVars: c.declaredVars };
}
