/**
 * http-level checks nginx makes in ngx_http_core_location(),
 * ngx_http_upstream() and when it builds the location trees at the end of
 * the http block (ngx_http_join_exact_locations()).
 */
import type { Directive } from './ast.js';
import { ConfigError } from './errors.js';

export interface LocationName {
  /** the URI or regex, without modifier */
  name: string;
  kind: 'exact' | 'prefix' | 'noregex' | 'regex' | 'regex_caseless' | 'named';
}

/** Splits `location [modifier] uri` like ngx_http_core_location(); null for a bad modifier. */
export function parseLocationArgs(args: readonly string[]): LocationName | null {
  if (args.length === 2) {
    const [mod, name] = args;
    if (mod === '=') return { name, kind: 'exact' };
    if (mod === '^~') return { name, kind: 'noregex' };
    if (mod === '~') return { name, kind: 'regex' };
    if (mod === '~*') return { name, kind: 'regex_caseless' };
    return null;
  }
  const v = args[0];
  if (v.startsWith('=')) return { name: v.slice(1), kind: 'exact' };
  if (v.startsWith('^~')) return { name: v.slice(2), kind: 'noregex' };
  if (v.startsWith('~*')) return { name: v.slice(2), kind: 'regex_caseless' };
  if (v.startsWith('~')) return { name: v.slice(1), kind: 'regex' };
  return { name: v, kind: v.startsWith('@') ? 'named' : 'prefix' };
}

function isRegex(l: LocationName): boolean {
  return l.kind === 'regex' || l.kind === 'regex_caseless';
}

function err(d: Directive, detail: string, line = d.line): never {
  throw new ConfigError(detail, d.file, line, 'semantic');
}

/** ngx_http_core_location(): modifier and nesting rules. */
export function checkLocation(d: Directive, parents: readonly Directive[]): void {
  const loc = parseLocationArgs(d.args);
  if (!loc) err(d, `invalid location modifier "${d.args[0]}"`);
  const p = parents[parents.length - 1];
  if (!p || p.name !== 'location') return;
  const parent = parseLocationArgs(p.args);
  if (!parent) return;
  if (parent.kind === 'exact') {
    err(d, `location "${loc.name}" cannot be inside the exact location "${parent.name}"`);
  }
  if (parent.kind === 'named') {
    err(d, `location "${loc.name}" cannot be inside the named location "${parent.name}"`);
  }
  if (loc.kind === 'named') err(d, `named location "${loc.name}" can be on the server level only`);
  if (!isRegex(loc) && !loc.name.startsWith(parent.name)) {
    err(d, `location "${loc.name}" is outside location "${parent.name}"`);
  }
}

/** ngx_http_upstream(): after the block is parsed. */
export function checkUpstreamEnd(d: Directive): void {
  const hasServer = (d.block ?? []).some((c) => c.name === 'server');
  if (!hasServer) err(d, 'no servers are inside upstream', d.endLine ?? d.line);
}

/** Duplicate exact / prefix locations among siblings, nested levels first. */
function checkLocationList(list: readonly Directive[]): void {
  const seen = new Set<string>();
  for (const d of list) {
    if (d.name !== 'location' || !d.block) continue;
    checkLocationList(d.block);
  }
  for (const d of list) {
    if (d.name !== 'location') continue;
    const loc = parseLocationArgs(d.args);
    if (!loc || isRegex(loc) || loc.kind === 'named') continue;
    // "^~ /a" and "/a" are both inclusive: they clash; "= /a" does not
    const key = (loc.kind === 'exact' ? '=' : 'p') + loc.name;
    if (seen.has(key)) throw new ConfigError(`duplicate location "${loc.name}"`, d.file, d.line, 'semantic');
    seen.add(key);
  }
}

/** Checks nginx makes once the http block is complete. */
export function checkHttpBlock(http: Directive): void {
  for (const s of http.block ?? []) {
    if (s.name === 'server' && s.block) checkLocationList(s.block);
  }
}
