// ngx.re compiled regexes: a pattern and its options compiled (through translatePcre) into the JS
// RegExps and tables the matcher needs, or into lua-nginx-module's compile error message; and the
// caches that keep them (bounded by lua_regex_cache_max_entries, plus identity fast paths).
import { translatePcre, leadingVerbs, PcreError } from './pcre.js';
import { logError, errorLog, Level } from '../log/errorlog.js';
import { O_ONCE, O_DFA, O_JIT, O_ANCHORED, O_UTF, type Opts } from './re-options.js';
import { latin1, utf8Fatal, invalidUtf8At } from './re-subject.js';
import { tstr, type TStr } from './re-lua-strings.js';

interface NameEntry {
  key: TStr;
  group: number;
}

export interface Compiled {
  /** global (or sticky when anchored) regex used for matching */
  re: RegExp;
  /** the same with hasIndices, made on first need (ngx.re.find with nth > 0) */
  reIdx: RegExp | null;
  /** DFA mode: the pattern forced to end at the end of the (truncated) subject */
  reEnd: RegExp | null;
  source: string;
  flags: string;
  /** capture count as lua-nginx-module reports it (0 in DFA mode) */
  ncap: number;
  /** JS group of PCRE group n, null when identical */
  map: number[] | null;
  names: NameEntry[];
  bits: number;
  utf: boolean;
  maxLength: number;
  /** DFA mode with a backreference: PCRE's DFA matcher fails with PCRE_ERROR_DFA_UITEM */
  dfaUnsupported: boolean;
}

export type CacheEntry = Compiled | Uint8Array; // a Uint8Array is a compile error message

let cacheMax = 1024;
const cache = new Map<string, CacheEntry>();
const byPattern = new WeakMap<Uint8Array, { opts: Opts; entry: CacheEntry }>();
/** how many regexes were compiled with "o" (ngx.re.opt("jit_stack_size") refuses then) */
export let compiledOnce = 0;

/** Tell the module the http{} settings (called at install time from the worker's config). */
export function configureRegex(opts: { cacheMaxEntries?: number }): void {
  if (opts.cacheMaxEntries !== undefined && opts.cacheMaxEntries >= 0) cacheMax = Math.max(16, opts.cacheMaxEntries);
}

const ERRMSG_MAX = 127; // lua-resty-core's error buffer is 128 bytes, NUL included

function compileError(pat: Uint8Array, msg: string, byteOff: number): Uint8Array {
  const p = latin1(pat);
  let s = byteOff >= pat.length ? `pcre_compile() failed: ${msg} in "${p}"` : `pcre_compile() failed: ${msg} in "${p}" at "${p.slice(byteOff)}"`;
  if (s.length > ERRMSG_MAX) s = s.slice(0, ERRMSG_MAX);
  return Buffer.from(s, 'latin1');
}

function compile(pat: Uint8Array, o: Opts): CacheEntry {
  let utf = (o.bits & O_UTF) !== 0;
  let letters = o.pcre;
  let str: string;
  if (!utf && pat.length > 6 && pat[0] === 0x28 && pat[1] === 0x2a && leadingVerbs(latin1(pat)).utf) {
    utf = true;
    letters += 'u';
  }
  if (utf) {
    const bad = invalidUtf8At(pat);
    if (bad >= 0) return compileError(pat, 'invalid UTF-8 string', bad);
    str = utf8Fatal.decode(pat);
  } else str = latin1(pat);
  let t;
  try {
    t = translatePcre(str, letters, { jsNames: false });
  } catch (e) {
    if (!(e instanceof PcreError)) throw e;
    const off = utf ? Buffer.byteLength(str.slice(0, e.offset), 'utf8') : e.offset;
    return compileError(pat, e.message, off);
  }
  const dfa = (o.bits & O_DFA) !== 0;
  const anchored = (o.bits & O_ANCHORED) !== 0 || t.anchoredStart;
  const names: NameEntry[] = t.names.map((n) => ({ key: tstr(Uint8Array.from(Buffer.from(n.name, 'latin1'))), group: n.group }));
  const c: Compiled = {
    re: new RegExp(t.source, t.flags + (anchored ? 'y' : 'g')),
    reIdx: null,
    reEnd: dfa ? new RegExp(`(?:${t.source})(?![\\s\\S])`, t.flags + 'y') : null,
    source: t.source,
    flags: t.flags + (anchored ? 'y' : 'g'),
    ncap: dfa ? 0 : t.captures,
    map: t.groupMap,
    names,
    bits: o.bits,
    utf,
    maxLength: t.maxLength,
    dfaUnsupported: dfa && t.backrefs,
  };
  if ((o.bits & O_JIT) !== 0 && errorLog.enabled(Level.Debug)) logError(Level.Debug, 'pcre JIT compiling result: 1');
  if ((o.bits & O_ONCE) !== 0) compiledOnce++;
  return c;
}

/** The compiled regex for (pattern, options), from the caches or compiled now. */
let lastPat: Uint8Array | null = null;
let lastPatOpts: Opts | null = null;
let lastEntry: CacheEntry | null = null;

export function lookup(pat: Uint8Array, o: Opts): CacheEntry {
  if (pat === lastPat && o === lastPatOpts) return lastEntry!;
  const entry = lookupSlow(pat, o);
  lastPat = pat;
  lastPatOpts = o;
  lastEntry = entry;
  return entry;
}

function lookupSlow(pat: Uint8Array, o: Opts): CacheEntry {
  const hit = byPattern.get(pat);
  if (hit !== undefined && hit.opts === o) return hit.entry;
  const key = o.text + '\0' + latin1(pat);
  let entry = cache.get(key);
  if (entry === undefined) {
    entry = compile(pat, o);
    if (cache.size >= cacheMax) cache.delete(cache.keys().next().value!);
    cache.set(key, entry);
  }
  byPattern.set(pat, { opts: o, entry });
  return entry;
}

/** Drop every compiled regex (clearRegexCache in re.ts). */
export function clearCompiled(): void {
  lastPat = null;
  lastPatOpts = null;
  lastEntry = null;
  cache.clear();
  compiledOnce = 0;
}
