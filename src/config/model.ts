// The runtime configuration: built once from the parsed tree, never mutated afterwards, so a reload
// can swap it whole. Location settings inherit from their parents through the prototype chain, the
// way nginx merges http -> server -> location configuration (an own property overrides the parent).
import type { Directive } from './ast.js';
import type { ScriptOp } from '../http/script.js';

/** A Lua chunk from the configuration: compiled lazily, once per worker VM. */
export interface LuaCode {
  kind: 'inline' | 'file';
  /** Lua source (inline) or a path expression (file; may contain $variables). */
  code: Uint8Array;
  path: string | null;
  chunkName: string; // "=content_by_lua(nginx.conf:12)" or "@/abs/path.lua"
  directive: string;
  file: string;
  line: number;
  /** registry reference in this worker's VM (set on first use). */
  ref: number;
}

/** A content handler installed by a module (lua, echo, proxy, return, static). */
export interface ContentHandler {
  kind: string;
  /** Starts producing the response; must end by calling req.finalize(). */
  run(req: any): void;
}

export interface LocSettings {
  root: string;
  rootIsAlias: boolean;
  index: string[];
  defaultType: string;
  types: Map<string, string> | null;
  clientMaxBodySize: number;
  clientBodyBufferSize: number;
  clientBodyTimeout: number;
  sendTimeout: number;
  keepaliveTimeout: number;
  keepaliveRequests: number;
  serverTokens: 'on' | 'off' | 'build';
  chunkedTransferEncoding: boolean;
  /** absolute_redirect / server_name_in_redirect / port_in_redirect */
  absoluteRedirect: boolean;
  serverNameInRedirect: boolean;
  portInRedirect: boolean;
  postponeOutput: number;
  errorPages: Map<number, { uri: string; overwrite: number | null }>;
  addHeaders: { name: string; value: ScriptOp | string; always: boolean }[];
  accessRules: { allow: boolean; cidr: string }[];
  satisfyAny: boolean;
  internal: boolean;
  logSubrequest: boolean;
  accessLog: { path: string; format: string } | null;
  tryFiles: string[] | null;
  recursiveErrorPages: boolean;
  // lua-nginx-module location settings
  luaHandlers: Partial<Record<LuaPhase, LuaCode>>;
  luaNeedRequestBody: boolean;
  luaCodeCache: boolean;
  luaUseDefaultType: boolean;
  luaCheckClientAbort: boolean;
  luaHttp10Buffering: boolean;
  luaTransformUnderscores: boolean;
  luaSocketConnectTimeout: number;
  luaSocketSendTimeout: number;
  luaSocketReadTimeout: number;
  luaSocketBufferSize: number;
  luaSocketPoolSize: number;
  luaSocketKeepaliveTimeout: number;
  luaSocketLogErrors: boolean;
  luaRewriteNoPostpone: boolean;
  luaAccessNoPostpone: boolean;
  /** Module-owned settings (echo, headers-more, proxy...), keyed by module name. */
  ext: Record<string, unknown>;
}

export type LuaPhase = 'server_rewrite' | 'rewrite' | 'access' | 'content' | 'header_filter' | 'body_filter' | 'log' | 'balancer';

export type LocationMatch = 'exact' | 'prefix' | 'noregex' | 'regex' | 'named' | 'if';

export interface LocationConf {
  name: string;
  match: LocationMatch;
  regex: RegExp | null;
  parent: LocationConf | null;
  children: LocationConf[];
  /** rewrite-module script of this level (set/rewrite/return/if/break/set_by_lua...) */
  script: ScriptOp[];
  content: ContentHandler | null;
  s: LocSettings;
  file: string;
  line: number;
  /** a request for the name without its trailing "/" is redirected here (nginx's auto_redirect,
   *  set by proxy_pass on a location whose name ends with "/") */
  autoRedirect?: boolean;
}

export interface ListenConf {
  host: string | null;
  port: number;
  unix: string | null;
  defaultServer: boolean;
}

export interface ServerConf {
  index: number;
  listens: ListenConf[];
  names: { exact: string[]; wildcardsHead: string[]; wildcardsTail: string[]; regexes: RegExp[] };
  primaryName: string;
  /** Server-level settings and the implicit location holding them. */
  root: LocationConf;
  /** "@name" locations */
  named: Map<string, LocationConf>;
  clientHeaderTimeout: number;
  clientHeaderBufferSize: number;
  largeHeaderBuffers: { num: number; size: number };
  underscoresInHeaders: boolean;
  ignoreInvalidHeaders: boolean;
  mergeSlashes: boolean;
}

export interface UpstreamConf {
  name: string;
  servers: { host: string; port: number; weight: number; backup: boolean; down: boolean; maxFails?: number; failTimeout?: number }[];
  keepalive: number;
  /** keepalive_timeout / keepalive_requests inside upstream {} (default 60s / 1000) */
  keepaliveTimeout?: number;
  keepaliveRequests?: number;
  balancerLua: LuaCode | null;
  file: string;
  line: number;
}

export interface HttpConf {
  servers: ServerConf[];
  upstreams: Map<string, UpstreamConf>;
  logFormats: Map<string, string>;
  resolver: string[] | null;
  resolverTimeout: number;
  sharedDicts: { name: string; size: number; file: string; line: number }[];
  luaPackagePath: string | null;
  luaPackageCPath: string | null;
  initByLua: LuaCode | null;
  initWorkerByLua: LuaCode | null;
  exitWorkerByLua: LuaCode | null;
  luaMaxPendingTimers: number;
  luaMaxRunningTimers: number;
  luaRegexCacheMaxEntries: number;
  luaRegexMatchLimit: number;
  luaInstructionBudget: number;
  luaAllowCosocketEverywhere: boolean;
  lazyLoadInitFromHttp: boolean;
}

export interface MainConf {
  file: string;
  prefix: string;
  workerProcesses: number;
  daemon: boolean;
  masterProcess: boolean;
  errorLog: { path: string; level: string };
  pid: string;
  env: Map<string, string | null>;
  workerShutdownTimeout: number;
  workerConnections: number;
  http: HttpConf | null;
  /** alert-level messages nginx prints while loading the configuration */
  startupAlerts: string[];
  /** Directives accepted but not implemented, to warn about at start. */
  unimplemented: Directive[];
}
