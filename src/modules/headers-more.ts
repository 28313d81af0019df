// headers-more-nginx-module (0.34): more_set_headers / more_clear_headers (a header filter on the
// response headers) and more_set_input_headers / more_clear_input_headers (request headers, at the
// end of the rewrite phase: after the rewrite module's script, before rewrite_by_lua).
//
// Commands merge like the C module's loc conf: a level's commands run after those of the levels
// around it (http, server, location, if), each level keeping only its own list.
import type { Directive } from '../config/ast.js';
import { defineDirectives, fail, own, settings, type BuildCtx } from '../config/build.js';
import type { LocSettings } from '../config/model.js';
import { compileComplex, evalComplex, type Complex } from '../http/complex.js';
import type { Request } from '../http/request.js';
import type { ResponseHeaders } from '../http/headers-out.js';
import { addHeaderFilter, FilterOrder } from '../http/filters.js';
import { rewriteTail } from '../http/phases.js';
import { headerIn } from '../http/variables.js';

interface HeaderVal {
  key: string;
  lc: string;
  /** "X-Foo-*": matches every header name starting with "x-foo-" */
  wildcard: boolean;
  /** null: clear */
  value: Complex | null;
}

interface MoreCmd {
  input: boolean;
  headers: HeaderVal[];
  types: string[] | null;
  statuses: number[] | null;
  /** more_set_input_headers -r: only replace existing headers */
  replace: boolean;
}

// ---- configuration ---------------------------------------------------------------------------

const OWN = 'headersMore';

function extOf(s: LocSettings): Record<string, unknown> {
  return own(s, 'ext', (p) => Object.create(p ?? null));
}

/** ngx_http_headers_more_parse_header: "Name: value", "Name:", "Name" (leading blanks skipped). */
function parseHeader(d: Directive, raw: string, clear: boolean): HeaderVal {
  let i = 0;
  const n = raw.length;
  while (i < n && isSpace(raw.charCodeAt(i))) i++;
  const keyStart = i;
  if (i < n) i++;
  while (i < n && raw[i] !== ':' && !isSpace(raw.charCodeAt(i))) i++;
  const key = raw.slice(keyStart, i);
  if (i < n) i++; // the ':' or blank that ended the key
  while (i < n && (raw[i] === ':' || isSpace(raw.charCodeAt(i)))) i++;
  const value = raw.slice(i);
  if (key.length === 0) fail(d, `${d.name}: no key found in the header argument: ${raw}`);
  const wildcard = key.endsWith('*');
  if (wildcard && key.length < 2) fail(d, `${d.name}: wildcard key to short: ${raw}`);
  const v = clear || value.length === 0 ? null : compileComplex(value);
  return { key, lc: (wildcard ? key.slice(0, -1) : key).toLowerCase(), wildcard, value: v };
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function splitList(v: string): string[] {
  return v.split(/[ \t\n\v\f\r]+/).filter((x) => x !== '');
}

function parseStatuses(d: Directive, v: string): number[] {
  const out: number[] = [];
  for (const s of splitList(v)) {
    for (const ch of s) if (ch < '0' || ch > '9') fail(d, `${d.name}: invalid digit "${ch}" found in the status code list "${v}"`);
    out.push(Number(s));
  }
  return out;
}

function directive(input: boolean, clear: boolean): (c: BuildCtx, d: Directive) => void {
  return (c, d) => {
    const cmd: MoreCmd = { input, headers: [], types: null, statuses: null, replace: false };
    const args = d.args;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a.length === 0) continue;
      if (a[0] !== '-') {
        cmd.headers.push(parseHeader(d, a, clear));
        continue;
      }
      if (a.length === 2) {
        if (a[1] === 't' || (a[1] === 's' && !input)) {
          if (i === args.length - 1) fail(d, `${d.name}: option ${a} takes an argument.`);
          const v = args[++i];
          if (a[1] === 't') (cmd.types ??= []).push(...splitList(v));
          else (cmd.statuses ??= []).push(...parseStatuses(d, v));
          continue;
        }
        if (a[1] === 'r' && input) {
          cmd.replace = true;
          continue;
        }
      }
      fail(d, `${d.name}: invalid option name: "${a}"`);
    }
    if (cmd.types !== null && cmd.types.length === 0) cmd.types = null;
    if (cmd.statuses !== null && cmd.statuses.length === 0) cmd.statuses = null;
    const ext = extOf(settings(c));
    let list = Object.prototype.hasOwnProperty.call(ext, OWN) ? (ext[OWN] as MoreCmd[]) : null;
    if (list === null) {
      list = [];
      ext[OWN] = list;
    }
    list.push(cmd);
  };
}

/** Every level's commands, outermost first (computed once per settings object). */
const merged = new WeakMap<object, MoreCmd[]>();

function commands(s: LocSettings): MoreCmd[] {
  const ext = s.ext as Record<string, unknown> | undefined;
  if (!ext) return NONE;
  let m = merged.get(ext);
  if (m !== undefined) return m;
  const levels: MoreCmd[][] = [];
  const seen = new Set<MoreCmd[]>();
  for (let o: Record<string, unknown> | null = ext; o !== null; o = Object.getPrototypeOf(o)) {
    if (Object.prototype.hasOwnProperty.call(o, OWN)) {
      const l = o[OWN] as MoreCmd[];
      if (!seen.has(l)) {
        seen.add(l);
        levels.push(l);
      }
    }
  }
  m = levels.length === 0 ? NONE : levels.reverse().flat();
  merged.set(ext, m);
  return m;
}
const NONE: MoreCmd[] = [];

// ---- response headers (header filter) ---------------------------------------------------------

function outputFilter(req: Request): void {
  const cmds = commands(req.loc.s);
  for (let i = 0; i < cmds.length; i++) {
    const cmd = cmds[i];
    if (cmd.input || cmd.headers.length === 0) continue;
    const h = req.headersOut;
    if (cmd.types !== null) {
      // Lua content gets default_type only after the header filters here, but before them in nginx
      const ct = h.contentType ?? (req.loc.s.luaUseDefaultType ? req.loc.s.defaultType : '');
      if (!cmd.types.includes(ct)) continue;
    }
    if (cmd.statuses !== null && !cmd.statuses.includes(req.status)) continue;
    for (const hv of cmd.headers) {
      const value = hv.value === null ? '' : evalComplex(req, hv.value);
      setOutputHeader(h, hv, value);
    }
  }
}

function nameMatches(name: string, hv: HeaderVal): boolean {
  if (!hv.wildcard) return name.length === hv.lc.length && name.toLowerCase() === hv.lc;
  return name.length >= hv.lc.length && name.slice(0, hv.lc.length).toLowerCase() === hv.lc;
}

/** The module's ngx_http_set_header_helper and its built-in header handlers. */
export function setOutputHeader(h: ResponseHeaders, hv: HeaderVal, value: string): void {
  if (!hv.wildcard) {
    switch (hv.lc) {
      case 'content-type':
        // cleared means "no Content-Type at all" (no default_type afterwards either)
        h.contentType = value;
        return;
      case 'content-length': {
        if (value === '') {
          h.contentLength = -1;
          return;
        }
        const n = atosz(value);
        if (n >= 0) h.contentLength = n;
        return;
      }
      case 'server':
        if (value === '') h.noServer = true;
        break;
      case 'date':
        if (value === '') h.noDate = true;
        break;
    }
  }
  const l = h.list;
  let matched = false;
  let w = 0;
  for (let i = 0; i < l.length; i += 2) {
    const name = l[i];
    if (nameMatches(name, hv)) {
      if (value === '' || matched) {
        matched = true;
        continue; // cleared
      }
      matched = true;
      l[w++] = name;
      l[w++] = value;
      continue;
    }
    l[w++] = name;
    l[w++] = l[i + 1];
  }
  l.length = w;
  if (matched || value === '') return;
  l.push(hv.key, value);
}

function atosz(s: string): number {
  if (!/^\d+$/.test(s)) return -1;
  return Number(s);
}

// ---- request headers (end of the rewrite phase) ----------------------------------------------

function inputHandler(req: Request): void {
  const cmds = commands(req.loc.s);
  let copied = false;
  for (let i = 0; i < cmds.length; i++) {
    const cmd = cmds[i];
    if (!cmd.input || cmd.headers.length === 0) continue;
    if (cmd.types !== null) {
      const ct = headerIn(req, 'content_type');
      if (!ct || !cmd.types.includes(ct)) continue;
    }
    if (!copied) {
      // a subrequest shares its parent's header list: modify a copy
      req.headersIn = req.headersIn.slice();
      copied = true;
    }
    for (const hv of cmd.headers) {
      const value = hv.value === null ? '' : evalComplex(req, hv.value);
      setInputHeader(req, hv, value, cmd.replace);
    }
  }
}

function setInputHeader(req: Request, hv: HeaderVal, value: string, replace: boolean): void {
  const l = req.headersIn;
  let matched = false;
  let w = 0;
  for (let i = 0; i < l.length; i += 2) {
    const name = l[i];
    const hit = hv.wildcard ? value === '' && nameMatches(name, hv) : nameMatches(name, hv);
    if (hit) {
      if (value === '' || matched) continue;
      matched = true;
      l[w++] = name;
      l[w++] = value;
      continue;
    }
    l[w++] = name;
    l[w++] = l[i + 1];
  }
  l.length = w;
  if (matched || value === '' || replace) return;
  l.push(hv.key, value);
}

addHeaderFilter(FilterOrder.headersMore, outputFilter);
rewriteTail.push(inputHandler);

defineDirectives({
  more_set_headers: directive(false, false),
  more_clear_headers: directive(false, true),
  more_set_input_headers: directive(true, false),
  more_clear_input_headers: directive(true, true),
});
