// set-misc-nginx-module's set_* directives (through ngx_devel_kit's set_var): each one is a step of
// the rewrite module's script, run in config order with `set`, `rewrite`, set_by_lua... The filters
// themselves are the pure functions in src/ngx/setmisc.ts, shared with ndk.set_var.* in Lua; here
// is only what needs configuration: argument forms, per-location options (base32 padding and
// alphabet), set_rotate's per-location counter, upstream_list + set_hashed_upstream.
//
//   set_xxx $var;            the filter applied to $var's current value (ndk_set_var_value, 1 arg)
//   set_xxx $var VALUE;      the filter applied to VALUE
//   set_hmac_sha1 $var SECRET DATA;  set_random $var FROM TO;  set_if_empty $var VALUE
//
// A filter failure (NGX_ERROR in C) ends the request with 500, as ndk's script code does.
import type { Directive } from '../config/ast.js';
import { defineDirectives, fail, own, parseFlag, type BuildCtx } from '../config/build.js';
import type { HttpConf, LocSettings } from '../config/model.js';
import { compileComplex, type Complex } from '../http/complex.js';
import type { Request } from '../http/request.js';
import type { ScriptOp } from '../http/script.js';
import { finalize } from '../http/output.js';
import { logError, Level } from '../log/errorlog.js';
import { SET_MISC, type SetMiscOptions } from '../ngx/setmisc.js';
import { setSetMiscOptionsProvider } from '../ngx/ndk.js';

function extOf(s: LocSettings): Record<string, unknown> {
  return own(s, 'ext', (p) => Object.create(p ?? null));
}

function levelSettings(c: BuildCtx): LocSettings {
  if (c.loc) return c.loc.s;
  if (c.server) return c.server.root.s;
  if (c.httpSettings) return c.httpSettings;
  throw new Error('no settings in this context');
}

function scriptOf(c: BuildCtx, d: Directive): ScriptOp[] {
  if (c.loc) return c.loc.script;
  if (c.server) return c.server.root.script;
  fail(d, `"${d.name}" directive is not allowed here`);
}

function varName(d: Directive): string {
  const v = d.args[0];
  if (!v.startsWith('$') || v.length < 2) fail(d, `invalid variable name "${v}"`);
  return v.slice(1).toLowerCase();
}

/** The per-location options the base32 filters read (also used by ndk.set_var from Lua). */
export function setMiscOptions(req: Request | null | undefined): SetMiscOptions | undefined {
  const ext = req?.loc?.s.ext;
  if (!ext) return undefined;
  const padding = ext.setMiscBase32Padding as boolean | undefined;
  const alphabet = ext.setMiscBase32Alphabet as string | undefined;
  if (padding === undefined && alphabet === undefined) return undefined;
  return { base32Padding: padding, base32Alphabet: alphabet };
}

setSetMiscOptionsProvider((req) => setMiscOptions(req as Request | null));

/** Run a filter; on failure log like the C filters do and fail the request (500). */
function apply(req: Request, name: string, args: string[]): string | null {
  const r = SET_MISC[name](args, setMiscOptions(req));
  if (r === null) {
    logError(Level.Err, `${name}: invalid value`, req);
    finalize(req, 500);
  }
  return r;
}

function push(c: BuildCtx, d: Directive, name: string, args: Complex[], fn: (req: Request, args: string[]) => string | null): void {
  c.declaredVars.add(name);
  scriptOf(c, d).push({ op: 'fn', name, args, fn });
}

/** set_xxx $var [value]: one value, defaulting to the variable itself. */
function singleValue(c: BuildCtx, d: Directive): void {
  const name = varName(d);
  const src = d.args.length > 1 ? d.args[1] : d.args[0];
  push(c, d, name, [compileComplex(src)], (req, a) => apply(req, d.name, a));
}

/** set_xxx $var A B: the values after the variable, in order. */
function multiValue(c: BuildCtx, d: Directive): void {
  const name = varName(d);
  push(c, d, name, d.args.slice(1).map(compileComplex), (req, a) => apply(req, d.name, a));
}

/** set_if_empty $var value: the filter sees the variable's current value first. */
function setIfEmpty(c: BuildCtx, d: Directive): void {
  const name = varName(d);
  push(c, d, name, [compileComplex(d.args[0]), compileComplex(d.args[1])], (req, a) => apply(req, d.name, a));
}

/** set_local_today $var: no value at all. */
function noValue(c: BuildCtx, d: Directive): void {
  const name = varName(d);
  push(c, d, name, [], (req) => apply(req, d.name, []));
}

function atoi(s: string): number | null {
  return /^\d+$/.test(s) ? Number(s) : null;
}

/** set_rotate $var FROM TO: $var + 1 kept within [FROM, TO]; the last value is remembered per
 *  location and used when $var holds no number. */
function setRotate(c: BuildCtx, d: Directive): void {
  const name = varName(d);
  const state = { current: null as number | null };
  push(c, d, name, [compileComplex(d.args[0]), compileComplex(d.args[1]), compileComplex(d.args[2])], (req, a) => {
    let from = atoi(a[1]);
    if (from === null) {
      logError(Level.Err, `set_rotate: bad "from" argument: ${a[1]}`, req);
      finalize(req, 500);
      return null;
    }
    let to = atoi(a[2]);
    if (to === null) {
      logError(Level.Err, `set_rotate: bad "to" argument: ${a[2]}`, req);
      finalize(req, 500);
      return null;
    }
    if (from > to) [from, to] = [to, from];
    let cur = atoi(a[0]);
    if (cur === null) cur = state.current ?? from - 1;
    cur++;
    if (cur > to || cur < from) cur = from;
    state.current = cur;
    return String(cur);
  });
}

// ---- upstream_list / set_hashed_upstream ---------------------------------------------------------

const upstreamLists = new WeakMap<HttpConf, Map<string, string[]>>();

function listsOf(http: HttpConf): Map<string, string[]> {
  let m = upstreamLists.get(http);
  if (!m) upstreamLists.set(http, (m = new Map()));
  return m;
}

/** nginx's ngx_hash_key_lc, kept to the 32 bits set-misc uses for the modulo. */
function hashKeyLc(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) {
    let ch = s.charCodeAt(i);
    if (ch >= 65 && ch <= 90) ch += 32;
    h = (Math.imul(h, 31) + ch) >>> 0;
  }
  return h;
}

function pick(list: string[], key: string, consistent: boolean): string {
  if (list.length === 0) return '';
  if (list.length === 1) return list[0];
  const hash = hashKeyLc(key);
  if (!consistent) return list[hash % list.length];
  const nodes = list.map((n) => hashKeyLc(n)).sort((x, y) => x - y);
  let m = 0;
  let n = nodes.length;
  while (m < n) {
    const l = (m + n) >>> 1;
    if (hash === nodes[l]) {
      m = l;
      break;
    }
    if (hash < nodes[l]) n = l;
    else m = l + 1;
  }
  return list[m % list.length];
}

function hashedUpstream(consistent: boolean): (c: BuildCtx, d: Directive) => void {
  return (c, d) => {
    const name = varName(d);
    const listName = compileComplex(d.args[1]);
    const http = c.http;
    if (!http) fail(d, `"${d.name}" directive is not allowed here`);
    const lists = listsOf(http);
    if (listName.constant !== null) {
      const list = lists.get(listName.constant);
      if (!list) fail(d, `${d.name}: upstream list "${listName.constant}" not defined yet`);
      push(c, d, name, [compileComplex(d.args[2])], (_req, a) => pick(list, a[0], consistent));
      return;
    }
    push(c, d, name, [listName, compileComplex(d.args[2])], (req, a) => {
      const list = lists.get(a[0]);
      if (!list) {
        logError(Level.Err, `${d.name}: upstream list "${a[0]}" not defined yet`, req);
        finalize(req, 500);
        return null;
      }
      return pick(list, a[1], consistent);
    });
  };
}

const single: Record<string, (c: BuildCtx, d: Directive) => void> = {};
for (const n of [
  'set_unescape_uri', 'set_escape_uri', 'set_quote_sql_str', 'set_quote_pgsql_str', 'set_quote_json_str',
  'set_encode_base32', 'set_decode_base32', 'set_encode_base64', 'set_decode_base64', 'set_encode_base64url',
  'set_decode_base64url', 'set_encode_hex', 'set_decode_hex', 'set_md5', 'set_sha1',
  'set_secure_random_alphanum', 'set_secure_random_lcalpha', 'set_formatted_gmt_time', 'set_formatted_local_time',
]) {
  if (SET_MISC[n]) single[n] = singleValue;
}

defineDirectives({
  ...single,
  set_hmac_sha1: multiValue,
  set_hmac_sha256: multiValue,
  set_random: multiValue,
  set_if_empty: setIfEmpty,
  set_local_today: noValue,
  set_rotate: setRotate,
  set_hashed_upstream: hashedUpstream(false),
  set_consistent_hashed_upstream: hashedUpstream(true),
  upstream_list: (c, d) => {
    if (!c.http) fail(d, `"${d.name}" directive is not allowed here`);
    listsOf(c.http).set(d.args[0], d.args.slice(1));
  },
  set_base32_padding: (c, d) => {
    extOf(levelSettings(c)).setMiscBase32Padding = parseFlag(d);
  },
  set_misc_base32_padding: (c, d) => {
    extOf(levelSettings(c)).setMiscBase32Padding = parseFlag(d);
  },
  set_base32_alphabet: (c, d) => {
    if (d.args[0].length !== 32) fail(d, `"set_base32_alphabet" directive takes an alphabet of ${d.args[0].length} bytes but 32 expected`);
    extOf(levelSettings(c)).setMiscBase32Alphabet = d.args[0];
  },
});
