// ngx_http_proxy_module's location configuration: what each level (http, server, location, if)
// set, kept apart from LocSettings and merged on first use the way ngx_http_proxy_merge_loc_conf
// does (a child's value wins; list directives such as proxy_set_header replace the parent's list
// as a whole). Levels are keyed by the LocSettings object of their block, whose prototype chain
// is the nginx config hierarchy.
import type { LocSettings } from '../config/model.js';
import type { Complex } from './complex.js';

// ngx_http_upstream_next() failure types (NGX_HTTP_UPSTREAM_FT_*), as in the debug log
export const FT_ERROR = 0x2;
export const FT_TIMEOUT = 0x4;
export const FT_INVALID_HEADER = 0x8;
export const FT_HTTP_500 = 0x10;
export const FT_HTTP_502 = 0x20;
export const FT_HTTP_503 = 0x40;
export const FT_HTTP_504 = 0x80;
export const FT_HTTP_403 = 0x100;
export const FT_HTTP_404 = 0x200;
export const FT_HTTP_429 = 0x400;
export const FT_UPDATING = 0x800;
export const FT_NON_IDEMPOTENT = 0x4000;
export const FT_NOLIVE = 0x40000000;
export const FT_OFF = 0x80000000;

/** ngx_http_upstream_next_errors: statuses that proxy_next_upstream http_NNN may retry. */
export const STATUS_FT: Record<number, number> = {
  500: FT_HTTP_500, 502: FT_HTTP_502, 503: FT_HTTP_503, 504: FT_HTTP_504, 403: FT_HTTP_403, 404: FT_HTTP_404, 429: FT_HTTP_429,
};

/** The status a failure ends with when no more tries are left (anything else: 502). */
export const FT_STATUS: Record<number, number> = {
  [FT_TIMEOUT]: 504, [FT_HTTP_504]: 504, [FT_HTTP_500]: 500, [FT_HTTP_503]: 503, [FT_HTTP_403]: 403, [FT_HTTP_404]: 404, [FT_HTTP_429]: 429,
};

export const NEXT_UPSTREAM_MASKS: Record<string, number> = {
  error: FT_ERROR, timeout: FT_TIMEOUT, invalid_header: FT_INVALID_HEADER, http_500: FT_HTTP_500,
  http_502: FT_HTTP_502, http_503: FT_HTTP_503, http_504: FT_HTTP_504, http_403: FT_HTTP_403,
  http_404: FT_HTTP_404, http_429: FT_HTTP_429, updating: FT_UPDATING, non_idempotent: FT_NON_IDEMPOTENT, off: FT_OFF,
};

// proxy_ignore_headers (NGX_HTTP_UPSTREAM_IGN_*)
export const IGN_XA_REDIRECT = 0x2;
export const IGN_XA_EXPIRES = 0x4;
export const IGN_EXPIRES = 0x8;
export const IGN_CACHE_CONTROL = 0x10;
export const IGN_SET_COOKIE = 0x20;
export const IGN_XA_LIMIT_RATE = 0x40;
export const IGN_XA_BUFFERING = 0x80;
export const IGN_XA_CHARSET = 0x100;
export const IGN_VARY = 0x200;

export const IGNORE_HEADER_MASKS: Record<string, number> = {
  'x-accel-redirect': IGN_XA_REDIRECT, 'x-accel-expires': IGN_XA_EXPIRES, 'x-accel-limit-rate': IGN_XA_LIMIT_RATE,
  'x-accel-buffering': IGN_XA_BUFFERING, 'x-accel-charset': IGN_XA_CHARSET, expires: IGN_EXPIRES,
  'cache-control': IGN_CACHE_CONTROL, 'set-cookie': IGN_SET_COOKIE, vary: IGN_VARY,
};

/** A parsed proxy_pass URL (ngx_parse_url + ngx_http_proxy_set_vars). */
export interface ProxyUrl {
  schema: 'http://' | 'https://';
  /** host as written (upstream name, IP, name); '' for unix sockets */
  host: string;
  port: number;
  /** the port was not written */
  noPort: boolean;
  /** unix socket path, or null */
  unix: string | null;
  /** the URI part ('' when none); "?x" becomes "/?x" */
  uri: string;
  /** $proxy_host: "host" or "host:port" as written (port omitted when default); "localhost" for unix */
  hostHeader: string;
  /** $proxy_port */
  portText: string;
}

export interface ProxyPass {
  /** the URL with variables, evaluated per request; null when static */
  dynamic: Complex | null;
  /** the static URL */
  url: ProxyUrl | null;
  /** the location name whose prefix a URI part replaces ('' when not applicable) */
  location: string;
  source: string;
}

export interface HeaderSet {
  name: string;
  lc: string;
  value: Complex;
}

export type RedirectRule =
  | { kind: 'default' }
  | { kind: 'string'; from: Complex; to: Complex }
  | { kind: 'regex'; re: RegExp; to: Complex };

export type CookieRule = { kind: 'string'; from: Complex; to: Complex } | { kind: 'regex'; re: RegExp; to: Complex };

/** One level's directives (only those written at that level are present). */
export interface ProxyLevel {
  pass?: ProxyPass;
  setHeaders?: HeaderSet[];
  hideHeaders?: string[];
  passHeaders?: string[];
  httpVersion?: '1.0' | '1.1';
  buffering?: boolean;
  requestBuffering?: boolean;
  ignoreClientAbort?: boolean;
  interceptErrors?: boolean;
  connectTimeout?: number;
  sendTimeout?: number;
  readTimeout?: number;
  nextUpstream?: number;
  nextUpstreamTries?: number;
  nextUpstreamTimeout?: number;
  passRequestHeaders?: boolean;
  passRequestBody?: boolean;
  setBody?: Complex | null;
  method?: Complex | null;
  /** null = proxy_redirect off; [] never (default is the 'default' rule) */
  redirects?: RedirectRule[] | null;
  cookieDomains?: CookieRule[] | null;
  cookiePaths?: CookieRule[] | null;
  bind?: Complex | null;
  bufferSize?: number;
  buffers?: { num: number; size: number };
  busyBuffersSize?: number;
  ignoreHeaders?: number;
  sslServerName?: boolean;
  sslName?: Complex | null;
  sslVerify?: boolean;
  socketKeepalive?: boolean;
}

/** The merged configuration a request uses. */
export interface ProxyConf {
  pass: ProxyPass | null;
  /** proxy_set_header entries followed by the defaults they did not override */
  headers: HeaderSet[];
  /** lower-case names of `headers`: client headers with these names are not passed */
  headerNames: Set<string>;
  hide: Set<string>;
  httpVersion: '1.0' | '1.1';
  buffering: boolean;
  requestBuffering: boolean;
  ignoreClientAbort: boolean;
  interceptErrors: boolean;
  connectTimeout: number;
  sendTimeout: number;
  readTimeout: number;
  nextUpstream: number;
  nextUpstreamTries: number;
  nextUpstreamTimeout: number;
  passRequestHeaders: boolean;
  passRequestBody: boolean;
  setBody: Complex | null;
  method: Complex | null;
  redirects: RedirectRule[] | null;
  cookieDomains: CookieRule[] | null;
  cookiePaths: CookieRule[] | null;
  bind: Complex | null;
  bufferSize: number;
  buffers: { num: number; size: number };
  busyBuffersSize: number;
  ignoreHeaders: number;
  sslServerName: boolean;
  sslName: Complex | null;
  sslVerify: boolean;
  socketKeepalive: boolean;
}

/** ngx_http_proxy_headers: the defaults appended after proxy_set_header's own entries. */
export const DEFAULT_HEADERS: [string, string][] = [
  ['Host', '$proxy_host'],
  ['Connection', 'close'],
  ['Content-Length', '$proxy_internal_body_length'],
  ['Transfer-Encoding', '$proxy_internal_chunked'],
  ['TE', ''],
  ['Keep-Alive', ''],
  ['Expect', ''],
  ['Upgrade', ''],
];

/** ngx_http_proxy_hide_headers */
export const DEFAULT_HIDE = ['date', 'server', 'x-pad', 'x-accel-expires', 'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset'];

const levels = new WeakMap<LocSettings, ProxyLevel>();
const merged = new WeakMap<LocSettings, ProxyConf>();

/** The level record of a settings object (created on first directive). */
export function levelOf(s: LocSettings): ProxyLevel {
  let l = levels.get(s);
  if (l === undefined) {
    l = {};
    levels.set(s, l);
  }
  return l;
}

let defaultHeaders: HeaderSet[] | null = null;
let compile: ((src: string) => Complex) | null = null;

/** apply-proxy hands over the complex-value compiler (keeps this file free of config imports). */
export function setCompiler(c: (src: string) => Complex): void {
  compile = c;
}

function defaults(): HeaderSet[] {
  if (defaultHeaders === null) {
    defaultHeaders = DEFAULT_HEADERS.map(([name, v]) => ({ name, lc: name.toLowerCase(), value: compile!(v) }));
  }
  return defaultHeaders;
}

/** The merged proxy configuration of a location's settings (computed once, then cached). */
export function proxyConf(s: LocSettings): ProxyConf {
  let c = merged.get(s);
  if (c !== undefined) return c;
  const chain: ProxyLevel[] = [];
  for (let p: LocSettings | null = s; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const l = levels.get(p);
    if (l !== undefined) chain.push(l);
  }
  const pick = <K extends keyof ProxyLevel>(k: K, def: NonNullable<ProxyLevel[K]> | null): ProxyLevel[K] | null => {
    for (const l of chain) if (Object.prototype.hasOwnProperty.call(l, k)) return l[k];
    return def;
  };
  const user = (pick('setHeaders', null) as HeaderSet[] | null) ?? [];
  const headers = user.slice();
  const names = new Set(user.map((h) => h.lc));
  for (const d of defaults()) {
    if (names.has(d.lc)) continue;
    names.add(d.lc);
    headers.push(d);
  }
  const hide = new Set(DEFAULT_HIDE);
  for (const h of (pick('hideHeaders', null) as string[] | null) ?? []) hide.add(h.toLowerCase());
  for (const h of (pick('passHeaders', null) as string[] | null) ?? []) hide.delete(h.toLowerCase());
  c = {
    pass: (pick('pass', null) as ProxyPass | null) ?? null,
    headers,
    headerNames: names,
    hide,
    httpVersion: pick('httpVersion', '1.0') as '1.0' | '1.1',
    buffering: pick('buffering', true) as boolean,
    requestBuffering: pick('requestBuffering', true) as boolean,
    ignoreClientAbort: pick('ignoreClientAbort', false) as boolean,
    interceptErrors: pick('interceptErrors', false) as boolean,
    connectTimeout: pick('connectTimeout', 60000) as number,
    sendTimeout: pick('sendTimeout', 60000) as number,
    readTimeout: pick('readTimeout', 60000) as number,
    nextUpstream: pick('nextUpstream', FT_ERROR | FT_TIMEOUT) as number,
    nextUpstreamTries: pick('nextUpstreamTries', 0) as number,
    nextUpstreamTimeout: pick('nextUpstreamTimeout', 0) as number,
    passRequestHeaders: pick('passRequestHeaders', true) as boolean,
    passRequestBody: pick('passRequestBody', true) as boolean,
    setBody: (pick('setBody', null) as Complex | null) ?? null,
    method: (pick('method', null) as Complex | null) ?? null,
    redirects: pick('redirects', [{ kind: 'default' }]) as RedirectRule[] | null,
    cookieDomains: (pick('cookieDomains', null) as CookieRule[] | null) ?? null,
    cookiePaths: (pick('cookiePaths', null) as CookieRule[] | null) ?? null,
    bind: (pick('bind', null) as Complex | null) ?? null,
    bufferSize: pick('bufferSize', 4096) as number,
    buffers: pick('buffers', { num: 8, size: 4096 }) as { num: number; size: number },
    busyBuffersSize: pick('busyBuffersSize', 8192) as number,
    ignoreHeaders: pick('ignoreHeaders', 0) as number,
    sslServerName: pick('sslServerName', false) as boolean,
    sslName: (pick('sslName', null) as Complex | null) ?? null,
    sslVerify: pick('sslVerify', false) as boolean,
    socketKeepalive: pick('socketKeepalive', false) as boolean,
  };
  merged.set(s, c);
  return c;
}

/** ngx_parse_url for proxy_pass: returns the URL or an nginx error message. */
export function parseProxyUrl(src: string): ProxyUrl | string {
  let schema: 'http://' | 'https://';
  let rest: string;
  if (src.length >= 7 && src.slice(0, 7).toLowerCase() === 'http://') {
    schema = 'http://';
    rest = src.slice(7);
  } else if (src.length >= 8 && src.slice(0, 8).toLowerCase() === 'https://') {
    schema = 'https://';
    rest = src.slice(8);
  } else {
    return `invalid URL prefix in "${src}"`;
  }
  const defPort = schema === 'https://' ? 443 : 80;
  if (rest.length >= 5 && rest.slice(0, 5).toLowerCase() === 'unix:') {
    // unix:/path[:/uri]
    const body = rest.slice(5);
    const colon = body.indexOf(':');
    const path = colon < 0 ? body : body.slice(0, colon);
    let uri = colon < 0 ? '' : body.slice(colon + 1);
    if (path.length === 0) return `no path in the unix domain socket in upstream "${rest}"`;
    if (uri.startsWith('?')) uri = '/' + uri;
    return { schema, host: 'unix:' + path, port: 0, noPort: true, unix: path, uri, hostHeader: 'localhost', portText: '' };
  }
  let hostEnd = -1;
  let host: string;
  let afterHost: number;
  if (rest.startsWith('[')) {
    hostEnd = rest.indexOf(']');
    if (hostEnd < 0) return `invalid host in upstream "${rest}"`;
    host = rest.slice(0, hostEnd + 1);
    afterHost = hostEnd + 1;
  } else {
    let i = 0;
    while (i < rest.length && rest[i] !== ':' && rest[i] !== '/' && rest[i] !== '?') i++;
    host = rest.slice(0, i);
    afterHost = i;
  }
  if (host.length === 0) return `no host in upstream "${rest}"`;
  let port = defPort;
  let noPort = true;
  let portText = String(defPort);
  let i = afterHost;
  if (rest[i] === ':') {
    let j = i + 1;
    while (j < rest.length && rest[j] >= '0' && rest[j] <= '9') j++;
    const text = rest.slice(i + 1, j);
    const n = Number(text);
    if (text.length === 0 || !(n >= 1 && n <= 65535) || (j < rest.length && rest[j] !== '/' && rest[j] !== '?')) {
      return `invalid port in upstream "${rest}"`;
    }
    port = n;
    noPort = false;
    portText = text;
    i = j;
  }
  let uri = rest.slice(i);
  if (uri.startsWith('?')) uri = '/' + uri;
  const hostHeader = noPort || port === defPort ? host : `${host}:${portText}`;
  if (noPort || port === defPort) portText = String(defPort);
  return { schema, host, port, noPort, unix: null, uri, hostHeader, portText };
}
