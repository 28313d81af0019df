// nginx variables ($uri, $arg_x, $http_x, ...): getters over the request, declared once as a table.
// Values are binary strings (latin1), null when the variable is "not found" (nil in Lua).
import * as os from 'node:os';
import { httpTimeString, localLogTime, iso8601Local } from '../ngx/timefmt.js';
import { invalidReferer, type RefererRules } from './referer.js';

type Getter = (req: any) => string | null;
type Setter = (req: any, v: string | null) => void;

interface VarDef {
  get: Getter;
  set?: Setter;
  /** nginx flags the value as changeable with `set` / ngx.var */
  changeable?: boolean;
}

const builtins = new Map<string, VarDef>();
const prefixed: { prefix: string; get: (req: any, rest: string) => string | null }[] = [];

export function defineVariable(name: string, def: VarDef): void {
  builtins.set(name, def);
}

export function definePrefixVariable(prefix: string, get: (req: any, rest: string) => string | null): void {
  prefixed.push({ prefix, get });
}

export function isBuiltinVariable(name: string): boolean {
  if (builtins.has(name)) return true;
  return prefixed.some((p) => name.startsWith(p.prefix));
}

/** Look up a variable by lower-case name: user `set` variables shadow nothing built in. */
export function getVariable(req: any, name: string): string | null {
  const def = builtins.get(name);
  if (def !== undefined) return def.get(req);
  const vars: Map<string, string | null> = req.vars;
  if (vars.has(name)) return vars.get(name) ?? null;
  for (let i = 0; i < prefixed.length; i++) {
    const p = prefixed[i];
    if (name.startsWith(p.prefix)) return p.get(req, name.slice(p.prefix.length));
  }
  // declared with `set` somewhere but not assigned in this request: nginx's ngx_http_rewrite_var
  // gives an empty value (and logs "using uninitialized variable" at info level)
  if (req.worker.declaredVars.has(name)) return '';
  // capture groups by number through ngx.var[1]
  if (name.length === 1 && name >= '0' && name <= '9') {
    const caps = req.captures;
    return caps && caps[Number(name)] != null ? caps[Number(name)] : null;
  }
  return null;
}

export type SetResult = 'ok' | 'not_found' | 'not_changeable';

/** ngx.var.NAME = value: only declared (`set`) variables and changeable built-ins. */
export function setVariable(req: any, name: string, value: string | null, declared: Set<string>): SetResult {
  const def = builtins.get(name);
  if (def !== undefined) {
    if (!def.set) return 'not_changeable';
    def.set(req, value);
    return 'ok';
  }
  if (declared.has(name) || req.vars.has(name)) {
    req.vars.set(name, value);
    return 'ok';
  }
  return 'not_found';
}

// ---- header helpers -------------------------------------------------------------------------

/** Request header by lower-case name with `_` meaning `-` (nginx $http_ variables). Multiple
 *  Cookie headers join with "; ", others with ", " (nginx 1.22 joins only known multi headers). */
export function headerIn(req: any, lcName: string): string | null {
  const h: string[] = req.headersIn;
  let out: string | null = null;
  for (let i = 0; i < h.length; i += 2) {
    if (sameHeaderName(h[i], lcName)) {
      if (out === null) out = h[i + 1];
      else if (lcName === 'cookie') out += '; ' + h[i + 1];
      else if (multiJoin.has(lcName)) out += ', ' + h[i + 1];
      else return out;
    }
  }
  return out;
}
const multiJoin = new Set(['x-forwarded-for', 'cache-control', 'via']);

function sameHeaderName(name: string, lc: string): boolean {
  if (name.length !== lc.length) return false;
  for (let i = 0; i < lc.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    else if (c === 45) c = 95; // '-' -> '_'
    let d = lc.charCodeAt(i);
    if (d === 45) d = 95;
    if (c !== d) return false;
  }
  return true;
}

/** $arg_NAME: first matching argument, case-insensitive name match, value not unescaped. */
export function argValue(args: string, name: string): string | null {
  if (!args) return null;
  const lname = name.toLowerCase();
  let start = 0;
  while (start <= args.length) {
    let end = args.indexOf('&', start);
    if (end < 0) end = args.length;
    const eq = args.indexOf('=', start);
    const keyEnd = eq >= 0 && eq < end ? eq : end;
    if (keyEnd - start === lname.length && args.slice(start, keyEnd).toLowerCase() === lname) {
      return eq >= 0 && eq < end ? args.slice(eq + 1, end) : '';
    }
    start = end + 1;
  }
  return null;
}

function cookieValue(req: any, name: string): string | null {
  const h: string[] = req.headersIn;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i].toLowerCase() !== 'cookie') continue;
    for (const part of h[i + 1].split(/;\s*/)) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1);
    }
  }
  return null;
}

const hostname = os.hostname();

// ---- the table ------------------------------------------------------------------------------

const S = (f: Getter): VarDef => ({ get: f });

defineVariable('uri', S((r) => r.uri));
defineVariable('document_uri', S((r) => r.uri));
defineVariable('request_uri', S((r) => r.unparsedUri));
defineVariable('args', { get: (r) => (r.args === '' && !r.hasArgs ? null : r.args), set: (r, v) => { r.args = v ?? ''; r.hasArgs = v !== null && v !== ''; } });
defineVariable('query_string', { get: (r) => (r.args === '' && !r.hasArgs ? null : r.args), set: (r, v) => { r.args = v ?? ''; r.hasArgs = v !== null && v !== ''; } });
defineVariable('is_args', S((r) => (r.args ? '?' : '')));
defineVariable('request_method', S((r) => r.method));
defineVariable('request', S((r) => r.main.requestLine));
defineVariable('server_protocol', S((r) => r.protocol));
defineVariable('scheme', S(() => 'http'));
defineVariable('https', S(() => ''));
defineVariable('remote_addr', S((r) => r.conn.remoteAddress));
defineVariable('remote_port', S((r) => String(r.conn.remotePort)));
defineVariable('binary_remote_addr', S((r) => Buffer.from(r.conn.remoteAddress.split('.').map(Number)).toString('latin1')));
defineVariable('server_addr', S((r) => r.conn.localAddress));
defineVariable('server_port', S((r) => String(r.conn.localPort)));
defineVariable('server_name', S((r) => r.server.primaryName));
defineVariable('hostname', S(() => hostname));
defineVariable('host', S((r) => r.hostVar()));
defineVariable('connection', S((r) => String(r.conn.connectionId)));
defineVariable('connection_requests', S((r) => String(r.conn.connectionRequests)));
defineVariable('pid', S(() => String(process.pid)));
defineVariable('nginx_version', S(() => '1.22.1'));
defineVariable('msec', S(() => (Date.now() / 1000).toFixed(3)));
defineVariable('time_local', S(() => localLogTime(Date.now())));
defineVariable('time_iso8601', S(() => iso8601Local(Date.now())));
defineVariable('request_time', S((r) => Math.max(0, (Date.now() - r.startTime) / 1000).toFixed(3)));
defineVariable('status', S((r) => String(r.main.headerSent ? r.main.status : r.main.status || 0).padStart(3, '0')));
defineVariable('body_bytes_sent', S((r) => String(r.main.bodyBytesSent)));
defineVariable('bytes_sent', S((r) => String(r.main.bytesSent)));
defineVariable('request_length', S((r) => String(r.requestLength)));
defineVariable('content_type', S((r) => headerIn(r, 'content_type')));
defineVariable('content_length', S((r) => headerIn(r, 'content_length')));
defineVariable('request_body', S((r) => r.requestBodyString()));
defineVariable('request_body_file', S((r) => r.bodyFile ?? null));
defineVariable('invalid_referer', S((r) => invalidReferer(r.loc.s.ext.validReferers as RefererRules | undefined, r.headerIn('referer'), r.server)));
defineVariable('document_root', S((r) => r.loc.s.root));
defineVariable('realpath_root', S((r) => r.loc.s.root));
defineVariable('request_filename', S((r) => r.mapUriToPath(r.uri)));
defineVariable('limit_rate', { get: (r) => String(r.limitRate ?? 0), set: (r, v) => { r.limitRate = Number(v) || 0; } });
defineVariable('http_host', S((r) => headerIn(r, 'host')));
defineVariable('date_gmt', S(() => httpTimeString(Date.now())));
defineVariable('request_id', S((r) => r.requestId()));

definePrefixVariable('arg_', (r, name) => argValue(r.args, name));
definePrefixVariable('http_', (r, name) => headerIn(r, name));
definePrefixVariable('cookie_', (r, name) => cookieValue(r, name));
definePrefixVariable('sent_http_', (r, name) => r.headersOut.getForVariable(name));
