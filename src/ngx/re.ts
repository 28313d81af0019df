// ngx.re.match / find / gmatch / sub / gsub and require("ngx.re").split / opt, with the behaviour of
// lua-nginx-module 0.10.x + lua-resty-core (resty/core/regex.lua, ngx/re.lua): same return values,
// same error strings, same quirks (empty-match stepping, ctx.pos, unmatched captures as false).
//
// Bytes: Lua strings are byte arrays and every offset seen by Lua is a byte offset.
//  - Byte mode (no u/U option): the subject is run as a latin1 JS string, one char per byte, so JS
//    string indices are byte offsets. Patterns are read the same way (a UTF-8 literal in the pattern
//    is a sequence of byte-chars, like PCRE without UTF-8).
//  - UTF-8 mode (u or U): the subject is decoded and the regex has the JS `u` flag; match positions
//    are mapped back to byte offsets (a char-index -> byte-offset table, built only for non-ASCII
//    subjects). `u` validates the subject like PCRE: invalid UTF-8 -> "pcre_exec() failed: -10", a
//    start offset inside a character -> -11. `U` skips the check: invalid bytes decode to lone
//    surrogates U+DC80..U+DCFF that match only `.`-like items and map back to the same bytes.
// Compiled regexes are cached per (options, pattern) in a bounded map (lua_regex_cache_max_entries,
// default 1024), with an identity fast path for constant pattern strings: a pattern used again is
// never recompiled, whether or not the `o` option is given.
import { lua, lauxlib } from 'fengari';
import { S, luaError, type LuaState } from '../lua/bridge.js';
import { defineNgxApi, definePreload } from './registry.js';
import { translatePcre, leadingVerbs, PcreError } from './pcre.js';
import { logError, errorLog, Level } from '../log/errorlog.js';

// ---------------------------------------------------------------------------------------------
// options

const O_ONCE = 0x01;
const O_DFA = 0x02;
const O_JIT = 0x04;
const O_DUP = 0x08;
const O_NOCHECK = 0x10;
const O_ANCHORED = 0x20;
const O_UTF = 0x40;

interface Opts {
  text: string;
  bits: number;
  /** option letters for translatePcre (i m s x u J D), canonical order */
  pcre: string;
}

const EMPTY_OPTS: Opts = { text: '', bits: 0, pcre: '' };
const optsByText = new Map<string, Opts>([['', EMPTY_OPTS]]);
const optsByBytes = new WeakMap<Uint8Array, Opts>();

let lastOptsBytes: Uint8Array | null = null;
let lastOpts: Opts = EMPTY_OPTS;

function parseOpts(L: LuaState, b: Uint8Array): Opts {
  if (b === lastOptsBytes) return lastOpts;
  let o = optsByBytes.get(b);
  if (o !== undefined) {
    lastOptsBytes = b;
    lastOpts = o;
    return o;
  }
  const text = latin1(b);
  o = optsByText.get(text);
  if (o === undefined) {
    let bits = 0;
    let i = false,
      m = false,
      s = false,
      x = false,
      u = false,
      J = false,
      D = false;
    for (let k = 0; k < text.length; k++) {
      switch (text[k]) {
        case 'o':
          bits |= O_ONCE;
          break;
        case 'j':
          bits |= O_JIT;
          break;
        case 'i':
          i = true;
          break;
        case 's':
          s = true;
          break;
        case 'm':
          m = true;
          break;
        case 'u':
          u = true;
          bits |= O_UTF;
          break;
        case 'U':
          u = true;
          bits |= O_UTF | O_NOCHECK;
          break;
        case 'x':
          x = true;
          break;
        case 'd':
          bits |= O_DFA;
          break;
        case 'a':
          bits |= O_ANCHORED;
          break;
        case 'D':
          D = true;
          bits |= O_DUP;
          break;
        case 'J':
          J = true;
          break;
        default:
          luaError(L, `unknown flag "${text[k]}" (flags "${text}")`);
      }
    }
    const pcre = (i ? 'i' : '') + (m ? 'm' : '') + (s ? 's' : '') + (x ? 'x' : '') + (u ? 'u' : '') + (J ? 'J' : '') + (D ? 'D' : '');
    o = { text, bits, pcre };
    if (optsByText.size < 256) optsByText.set(text, o);
  }
  optsByBytes.set(b, o);
  lastOptsBytes = b;
  lastOpts = o;
  return o;
}

// ---------------------------------------------------------------------------------------------
// compiled regexes

interface NameEntry {
  key: TStr;
  group: number;
}

interface Compiled {
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

type CacheEntry = Compiled | Uint8Array; // a Uint8Array is a compile error message

let cacheMax = 1024;
const cache = new Map<string, CacheEntry>();
const byPattern = new WeakMap<Uint8Array, { opts: Opts; entry: CacheEntry }>();
/** how many regexes were compiled with "o" (ngx.re.opt("jit_stack_size") refuses then) */
let compiledOnce = 0;

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

function lookup(pat: Uint8Array, o: Opts): CacheEntry {
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

// ---------------------------------------------------------------------------------------------
// subjects: bytes -> JS string, with byte/char offset maps in UTF-8 mode

const latin1Slice = (Buffer.prototype as any).latin1Slice as (this: Uint8Array, s: number, e: number) => string;
function latin1(b: Uint8Array): string {
  return b.length === 0 ? '' : latin1Slice.call(b, 0, b.length);
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

/** Offset of the first invalid UTF-8 sequence, or -1 (PCRE's rules: no overlongs, surrogates, > 10FFFF). */
function invalidUtf8At(b: Uint8Array): number {
  const n = b.length;
  for (let i = 0; i < n; ) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const len = seqLen(b, i, n);
    if (len === 0) return i;
    i += len;
  }
  return -1;
}

/** Length of the valid UTF-8 sequence at i (non-ASCII lead), or 0 when invalid. */
function seqLen(b: Uint8Array, i: number, n: number): number {
  const c = b[i];
  if (c >= 0xc2 && c <= 0xdf) return i + 1 < n && (b[i + 1] & 0xc0) === 0x80 ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (i + 2 >= n || (b[i + 1] & 0xc0) !== 0x80 || (b[i + 2] & 0xc0) !== 0x80) return 0;
    if (c === 0xe0 && b[i + 1] < 0xa0) return 0; // overlong
    if (c === 0xed && b[i + 1] >= 0xa0) return 0; // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (i + 3 >= n || (b[i + 1] & 0xc0) !== 0x80 || (b[i + 2] & 0xc0) !== 0x80 || (b[i + 3] & 0xc0) !== 0x80) return 0;
    if (c === 0xf0 && b[i + 1] < 0x90) return 0;
    if (c === 0xf4 && b[i + 1] >= 0x90) return 0;
    return 4;
  }
  return 0;
}

class Subject {
  latin1: string | null = null;
  /** UTF-8 view: decoded text, or null before first use */
  text: string | null = null;
  /** invalid UTF-8 (only checked in UTF mode) */
  invalid = false;
  /** the decoding escaped invalid bytes as U+DC80..U+DCFF */
  escaped = false;
  /** char index -> byte offset, null when the subject is ASCII (identity) */
  c2b: Int32Array | null = null;
  /** byte offset -> char index (-1 inside a character), null when ASCII */
  b2c: Int32Array | null = null;
  constructor(readonly bytes: Uint8Array) {}

  str(): string {
    return this.latin1 ?? (this.latin1 = latin1(this.bytes));
  }

  /** Decode for UTF-8 mode. `check`: like PCRE without NO_UTF8_CHECK (sets `invalid`). */
  utf(check: boolean): string {
    if (this.text !== null && (!check || !this.escaped)) return this.text;
    const b = this.bytes;
    let s: string;
    try {
      s = utf8Fatal.decode(b);
    } catch {
      this.invalid = true;
      if (check) return '';
      this.decodeEscaped();
      return this.text!;
    }
    this.text = s;
    if (s.length !== b.length) this.buildMaps(s.length);
    return s;
  }

  private buildMaps(nchars: number): void {
    const b = this.bytes;
    const n = b.length;
    const c2b = new Int32Array(nchars + 1);
    const b2c = new Int32Array(n + 1).fill(-1);
    let ci = 0;
    for (let i = 0; i < n; ) {
      const c = b[i];
      const len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
      b2c[i] = ci;
      c2b[ci++] = i;
      if (len === 4) c2b[ci++] = i;
      i += len;
    }
    c2b[ci] = n;
    b2c[n] = ci;
    this.c2b = c2b;
    this.b2c = b2c;
  }

  /** Lossless decoding of invalid UTF-8: each bad byte becomes U+DC00 + byte. */
  private decodeEscaped(): void {
    const b = this.bytes;
    const n = b.length;
    const parts: string[] = [];
    const c2b: number[] = [];
    const b2c = new Int32Array(n + 1).fill(-1);
    let ci = 0;
    let run = '';
    for (let i = 0; i < n; ) {
      const c = b[i];
      b2c[i] = ci;
      if (c < 0x80) {
        run += String.fromCharCode(c);
        c2b.push(i);
        ci++;
        i++;
        continue;
      }
      const len = seqLen(b, i, n);
      if (len === 0) {
        run += String.fromCharCode(0xdc00 + c);
        c2b.push(i);
        ci++;
        i++;
        continue;
      }
      let cp = len === 2 ? c & 0x1f : len === 3 ? c & 0x0f : c & 0x07;
      for (let k = 1; k < len; k++) cp = (cp << 6) | (b[i + k] & 0x3f);
      const ch = String.fromCodePoint(cp);
      run += ch;
      c2b.push(i);
      if (ch.length === 2) c2b.push(i);
      ci += ch.length;
      i += len;
      if (run.length > 4096) {
        parts.push(run);
        run = '';
      }
    }
    parts.push(run);
    c2b.push(n);
    b2c[n] = ci;
    this.text = parts.join('');
    this.c2b = Int32Array.from(c2b);
    this.b2c = b2c;
    this.escaped = true;
  }
}

let lastSubject: Subject | null = null;
function subjectOf(b: Uint8Array): Subject {
  const s = lastSubject;
  if (s !== null && s.bytes === b) return s;
  return (lastSubject = new Subject(b));
}

// ---------------------------------------------------------------------------------------------
// matching

const NOMATCH = -1;
const ERR_BADUTF8 = -10;
const ERR_BADUTF8_OFFSET = -11;
const ERR_BADOFFSET = -24;
const ERR_DFA_UITEM = -16;

/** Registers of the last successful exec (valid until the next exec). */
let mArr: RegExpExecArray = null as unknown as RegExpExecArray;
let mStart = 0; // byte offsets of the whole match
let mEnd = 0;

/** Run `c` on `s` from byte offset `pos`; 1 = matched (registers set), -1 = no match, < -1 = PCRE error. */
function exec(c: Compiled, s: Subject, pos: number, withIndices = false): number {
  const nbytes = s.bytes.length;
  if (pos > nbytes) return ERR_BADOFFSET;
  if (c.dfaUnsupported) return ERR_DFA_UITEM;
  let text: string;
  let ci = pos;
  if (c.utf) {
    const check = (c.bits & O_NOCHECK) === 0;
    text = s.utf(check);
    if (check && s.invalid) return ERR_BADUTF8;
    const b2c = s.b2c;
    if (b2c !== null) {
      ci = b2c[pos];
      if (ci < 0) {
        if (check) return ERR_BADUTF8_OFFSET;
        let p = pos;
        while (b2c[p] < 0) p++;
        ci = b2c[p];
      }
    }
  } else text = s.str();
  let re = c.re;
  if (withIndices) re = c.reIdx ?? (c.reIdx = new RegExp(c.source, c.flags + 'd'));
  re.lastIndex = ci;
  let m = re.exec(text);
  if (c.utf) {
    // V8's start-position scan in `u` mode can stop between the halves of a surrogate pair (e.g.
    // for (?![\s\S]) or \B); no match can start there: go on after the pair
    while (m !== null && m.index > 0 && (text.charCodeAt(m.index) & 0xfc00) === 0xdc00 && (text.charCodeAt(m.index - 1) & 0xfc00) === 0xd800) {
      re.lastIndex = m.index + 1;
      m = re.exec(text);
    }
  }
  if (m === null) return NOMATCH;
  let start = m.index;
  let end = start + m[0].length;
  if (c.reEnd !== null) end = longest(c, text, start, end);
  mArr = m;
  const c2b = c.utf ? s.c2b : null;
  if (c2b !== null) {
    mStart = c2b[start];
    mEnd = c2b[end];
  } else {
    mStart = start;
    mEnd = end;
  }
  return 1;
}

/** DFA mode: the longest match starting where the backtracking match starts (PCRE's DFA result). */
function longest(c: Compiled, text: string, start: number, end: number): number {
  const re = c.reEnd!;
  const limit = Math.min(text.length, start + c.maxLength);
  for (let e = limit; e > end; e--) {
    if (c.utf) {
      const u = text.charCodeAt(e - 1);
      if (u >= 0xd800 && u <= 0xdbff) continue;
    }
    re.lastIndex = start;
    if (re.test(e === text.length ? text : text.slice(0, e))) return e;
  }
  return end;
}

/** Byte offsets of PCRE group n of the last match (after an exec with indices), or null if unset. */
function groupSpan(c: Compiled, s: Subject, n: number): [number, number] | null {
  if (n === 0) return [mStart, mEnd];
  const js = c.map === null ? n : c.map[n];
  const span = mArr.indices![js];
  if (span === undefined) return null;
  const c2b = c.utf ? s.c2b : null;
  return c2b === null ? [span[0], span[1]] : [c2b[span[0]], c2b[span[1]]];
}

/** The text of PCRE group n (>= 1) of the last match, or undefined when it did not participate. */
function groupText(c: Compiled, n: number): string | undefined {
  return mArr[c.map === null ? n : c.map[n]];
}

// ---------------------------------------------------------------------------------------------
// fengari fast paths
//
// lua_pushlstring copies with the generic (slow) Uint8Array.from, and a string used as a table key
// gets its hash computed by building a hex string of its bytes, once per string object. So: strings
// we create are pushed as new TStrings owning a fresh native copy, and constant keys ("pos", capture
// names) are TStrings made once, whose hash is then cached. TString/TValue are fengari's own
// (state-independent) classes, taken from a string pushed the ordinary way.

interface TStr {
  realstring: Uint8Array;
}
let TValueC: any = null;
let TStringC: any = null;
let STRTAG = 0;

function initFast(L: LuaState): void {
  if (TValueC !== null) return;
  lua.lua_pushlstring(L, S('pos'), 3);
  const tv = (L as any).stack[(L as any).top - 1];
  TValueC = tv.constructor;
  TStringC = tv.value.constructor;
  STRTAG = tv.type;
  lua.lua_pop(L, 1);
}

/** A Lua string object for constant bytes (kept, so its table-key hash is computed once). */
function tstr(b: Uint8Array): TStr {
  return new TStringC(null, b);
}

function pushTStr(L: LuaState, ts: TStr): void {
  (L as any).stack[(L as any).top++] = new TValueC(STRTAG, ts);
}

/** Push a byte array as a Lua string; the array must be fresh (Lua takes ownership). */
function pushOwned(L: LuaState, b: Uint8Array): void {
  (L as any).stack[(L as any).top++] = new TValueC(STRTAG, new TStringC(L, b));
}

// ---------------------------------------------------------------------------------------------
// pushing strings

let scratch = Buffer.allocUnsafe(1024);
const EMPTY = new Uint8Array(0);

function ensureScratch(n: number): Buffer {
  if (scratch.length < n) scratch = Buffer.allocUnsafe(Math.max(n, scratch.length * 2));
  return scratch;
}

/** Bytes of a JS string taken from a match (latin1 in byte mode, UTF-8 otherwise) into `buf` at `at`. */
/** Node's fast, allocation-free Buffer writers (not in @types/node). */
type FastBuffer = Buffer & {
  latin1Write(s: string, offset: number, length: number): number;
  utf8Write(s: string, offset: number, length: number): number;
};

function writeText(buf: Buffer, at: number, str: string, utf: boolean, escaped: boolean): number {
  if (!utf) return (buf as FastBuffer).latin1Write(str, at, str.length);
  if (!escaped) return (buf as FastBuffer).utf8Write(str, at, buf.length - at);
  let k = at;
  for (let i = 0; i < str.length; i++) {
    const u = str.charCodeAt(i);
    if (u >= 0xdc80 && u <= 0xdcff) {
      buf[k++] = u - 0xdc00;
      continue;
    }
    let cp = u;
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < str.length) {
      cp = str.codePointAt(i)!;
      i++;
    }
    if (cp < 0x80) buf[k++] = cp;
    else if (cp < 0x800) {
      buf[k++] = 0xc0 | (cp >> 6);
      buf[k++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      buf[k++] = 0xe0 | (cp >> 12);
      buf[k++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[k++] = 0x80 | (cp & 0x3f);
    } else {
      buf[k++] = 0xf0 | (cp >> 18);
      buf[k++] = 0x80 | ((cp >> 12) & 0x3f);
      buf[k++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[k++] = 0x80 | (cp & 0x3f);
    }
  }
  return k - at;
}

function pushText(L: LuaState, str: string, utf: boolean, escaped: boolean): void {
  const n = str.length;
  if (n === 0) {
    pushOwned(L, EMPTY);
    return;
  }
  const buf = ensureScratch(utf ? n * 3 : n);
  const len = writeText(buf, 0, str, utf, escaped);
  pushOwned(L, new Uint8Array(buf.subarray(0, len)));
}

function pushSlice(L: LuaState, b: Uint8Array, from: number, to: number): void {
  pushOwned(L, to <= from ? EMPTY : new Uint8Array(b.subarray(from, to)));
}

function pushMessage(L: LuaState, msg: string | Uint8Array): void {
  const b = typeof msg === 'string' ? Buffer.from(msg, 'latin1') : msg;
  lua.lua_pushlstring(L, b, b.length);
}

/** Output buffer for sub/gsub; pooled by nesting depth (a replacement function may call gsub). */
class Sink {
  buf = Buffer.allocUnsafe(256);
  len = 0;
  reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  bytes(b: Uint8Array, from: number, to: number): void {
    if (to <= from) return;
    this.reserve(to - from);
    this.buf.set(b.subarray(from, to), this.len);
    this.len += to - from;
  }
  text(str: string, utf: boolean, escaped: boolean): void {
    if (str.length === 0) return;
    this.reserve(utf ? str.length * 3 : str.length);
    this.len += writeText(this.buf, this.len, str, utf, escaped);
  }
}
const sinks: Sink[] = [];
let sinkDepth = 0;

// ---------------------------------------------------------------------------------------------
// Lua arguments

let K_POS: TStr = null as unknown as TStr;

/** Argument as bytes with tostring() semantics (lua-resty-core does `subj = tostring(subj)`). */
function subjectArg(L: LuaState, idx: number): Uint8Array {
  if (lua.lua_type(L, idx) === lua.LUA_TSTRING) return lua.lua_tolstring(L, idx);
  lauxlib.luaL_tolstring(L, idx);
  lua.lua_replace(L, idx);
  return lua.lua_tolstring(L, idx);
}

function optsArg(L: LuaState, idx: number): Opts {
  if (lua.lua_isnoneornil(L, idx)) return EMPTY_OPTS;
  return parseOpts(L, lauxlib.luaL_checklstring(L, idx));
}

/** ctx.pos as a 0-based byte offset (lua-resty-core: absent or <= 0 -> 0, else pos - 1). */
function ctxStart(L: LuaState, idx: number): number {
  pushTStr(L, K_POS);
  lua.lua_gettable(L, idx);
  const p = lua.lua_tonumberx(L, -1, null);
  lua.lua_pop(L, 1);
  if (p === false || p === null || !(p > 0)) return 0;
  return Math.trunc(p) - 1;
}

function setCtxPos(L: LuaState, idx: number, v: number): void {
  pushTStr(L, K_POS);
  lua.lua_pushnumber(L, v);
  lua.lua_settable(L, idx);
}

function isTable(L: LuaState, idx: number): boolean {
  return lua.lua_type(L, idx) === lua.LUA_TTABLE;
}

// ---------------------------------------------------------------------------------------------
// the captures table

/** Push the captures table of the last match (into the table at resIdx when resIdx > 0). */
function pushCaptures(L: LuaState, c: Compiled, s: Subject, resIdx: number): void {
  const ncap = c.ncap;
  if (resIdx > 0) lua.lua_pushvalue(L, resIdx);
  else lua.lua_createtable(L, ncap, c.names.length + 1);
  pushSlice(L, s.bytes, mStart, mEnd);
  lua.lua_rawseti(L, -2, 0);
  for (let n = 1; n <= ncap; n++) {
    const v = groupText(c, n);
    if (v === undefined) lua.lua_pushboolean(L, false);
    else pushText(L, v, c.utf, s.escaped);
    lua.lua_rawseti(L, -2, n);
  }
  const names = c.names;
  if (names.length === 0) return;
  const dup = (c.bits & O_DUP) !== 0;
  for (let k = 0; k < names.length; k++) {
    const e = names[k];
    if (!dup) {
      pushTStr(L, e.key);
      lua.lua_rawgeti(L, -2, e.group); // res[n]: nil in DFA mode, false when unmatched
      lua.lua_rawset(L, -3);
      continue;
    }
    // duplicate names: an array of the matched ones; unmatched ones are not collected
    lua.lua_rawgeti(L, -1, e.group);
    if (!lua.lua_toboolean(L, -1)) {
      lua.lua_pop(L, 1);
      continue;
    }
    pushTStr(L, e.key);
    lua.lua_rawget(L, -3);
    if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
      lua.lua_insert(L, -2);
      lua.lua_rawseti(L, -2, lua.lua_rawlen(L, -2) + 1);
      lua.lua_pop(L, 1);
    } else {
      lua.lua_pop(L, 1);
      lua.lua_createtable(L, 2, 0);
      lua.lua_insert(L, -2);
      lua.lua_rawseti(L, -2, 1);
      pushTStr(L, e.key);
      lua.lua_insert(L, -2);
      lua.lua_rawset(L, -3);
    }
  }
}

function execError(rc: number): string {
  return `pcre_exec() failed: ${rc}`;
}

// ---------------------------------------------------------------------------------------------
// ngx.re.match / find

/** Compile the regex argument; on error push `nil` results and the message, return null. */
function compiledArg(L: LuaState, regexIdx: number, o: Opts, nils: number): Compiled | null {
  const pat = lauxlib.luaL_checklstring(L, regexIdx);
  const e = lookup(pat, o);
  if (e instanceof Uint8Array) {
    for (let k = 0; k < nils; k++) lua.lua_pushnil(L);
    lua.lua_pushlstring(L, e, e.length);
    return null;
  }
  return e;
}

function reMatch(L: LuaState): number {
  lua.lua_settop(L, 5);
  const subj = subjectArg(L, 1);
  const o = optsArg(L, 3);
  const c = compiledArg(L, 2, o, 1);
  if (c === null) return 2;
  const hasCtx = isTable(L, 4);
  const s = subjectOf(subj);
  const rc = exec(c, s, hasCtx ? ctxStart(L, 4) : 0);
  if (rc === NOMATCH) {
    lua.lua_pushnil(L);
    return 1;
  }
  if (rc < 0) {
    lua.lua_pushnil(L);
    pushMessage(L, execError(rc));
    return 2;
  }
  if (hasCtx) setCtxPos(L, 4, mEnd + 1);
  pushCaptures(L, c, s, isTable(L, 5) ? 5 : 0);
  return 1;
}

function reFind(L: LuaState): number {
  lua.lua_settop(L, 5);
  const subj = subjectArg(L, 1);
  const o = optsArg(L, 3);
  const c = compiledArg(L, 2, o, 2);
  if (c === null) return 3;
  const hasCtx = isTable(L, 4);
  let nth = lua.lua_isnoneornil(L, 5) ? 0 : lauxlib.luaL_checknumber(L, 5);
  if (!(nth >= 0)) nth = 0;
  nth = Math.trunc(nth);
  const s = subjectOf(subj);
  const rc = exec(c, s, hasCtx ? ctxStart(L, 4) : 0, nth > 0 && nth <= c.ncap);
  if (rc === NOMATCH) {
    lua.lua_pushnil(L);
    return 1;
  }
  if (rc < 0) {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    pushMessage(L, execError(rc));
    return 3;
  }
  if (hasCtx) setCtxPos(L, 4, mEnd + 1);
  if (nth > c.ncap) {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    pushMessage(L, 'nth out of bound');
    return 3;
  }
  const span = groupSpan(c, s, nth);
  if (span === null) {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    return 2;
  }
  lua.lua_pushnumber(L, span[0] + 1);
  lua.lua_pushnumber(L, span[1]);
  return 2;
}

// ---------------------------------------------------------------------------------------------
// ngx.re.gmatch

interface GmatchState {
  c: Compiled | null;
  s: Subject;
  pos: number;
}

function gmatchIter(L: LuaState): number {
  const st = lua.lua_touserdata(L, lua.lua_upvalueindex(1)) as GmatchState;
  const c = st.c;
  if (c === null) {
    lua.lua_pushnil(L);
    return 1;
  }
  const s = st.s;
  const rc = exec(c, s, st.pos);
  if (rc === NOMATCH) {
    st.c = null;
    lua.lua_pushnil(L);
    return 1;
  }
  if (rc < 0) {
    st.c = null;
    lua.lua_pushnil(L);
    pushMessage(L, execError(rc));
    return 2;
  }
  let next = mEnd;
  if (next === mStart) {
    next++;
    if (next > s.bytes.length) st.c = null; // the last (empty) match at the very end
  }
  st.pos = next;
  pushCaptures(L, c, s, 0);
  return 1;
}

function reGmatch(L: LuaState): number {
  lua.lua_settop(L, 3);
  const subj = subjectArg(L, 1);
  const o = optsArg(L, 3);
  const c = compiledArg(L, 2, o, 1);
  if (c === null) return 2;
  const st: GmatchState = { c, s: new Subject(subj), pos: 0 };
  lua.lua_pushlightuserdata(L, st);
  lua.lua_pushcclosure(L, gmatchIter, 1);
  return 1;
}

// ---------------------------------------------------------------------------------------------
// ngx.re.sub / gsub

/** A compiled replacement template: literal byte runs and capture numbers. */
type Template = (Uint8Array | number)[];

const templates = new Map<string, Template>();

/** Compile "$0 ${1} $$" templates like ngx_http_lua_script.c; logs and returns null on error. */
function compileTemplate(b: Uint8Array): Template | null {
  const key = latin1(b);
  const hit = templates.get(key);
  if (hit !== undefined) return hit;
  const parts: Template = [];
  const n = b.length;
  let lit: number[] = [];
  const flush = (): void => {
    if (lit.length > 0) parts.push(Uint8Array.from(lit));
    lit = [];
  };
  const invalid = (): null => {
    logError(Level.Err, `lua script: invalid capturing variable name found in "${key}"`);
    return null;
  };
  for (let i = 0; i < n; ) {
    if (b[i] !== 0x24 /* $ */) {
      lit.push(b[i++]);
      continue;
    }
    if (++i === n) return invalid();
    if (b[i] === 0x24) {
      lit.push(0x24);
      i++;
      continue;
    }
    let numVar = b[i] >= 0x30 && b[i] <= 0x39;
    let bracket = false;
    if (b[i] === 0x7b /* { */) {
      bracket = true;
      if (++i === n) return invalid();
      if (b[i] >= 0x30 && b[i] <= 0x39) numVar = true;
    }
    const nameStart = i;
    let nameEnd = -1;
    let num = 0;
    for (; i < n; i++) {
      const ch = b[i];
      if (ch === 0x7d && bracket) {
        nameEnd = i;
        i++;
        bracket = false;
        break;
      }
      if (numVar) {
        if (ch >= 0x30 && ch <= 0x39) {
          num = num * 10 + (ch - 0x30);
          continue;
        }
        break;
      }
      if ((ch >= 0x41 && ch <= 0x5a) || (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x30 && ch <= 0x39) || ch === 0x5f) continue;
      break;
    }
    const name = latin1(b.subarray(nameStart, nameEnd < 0 ? i : nameEnd));
    if (bracket) {
      logError(Level.Err, `the closing bracket in "${name}" variable is missing`);
      return null;
    }
    if (name.length === 0) return invalid();
    if (!numVar) {
      logError(Level.Err, `attempt to use named capturing variable "${name}" (named captures not supported yet)`);
      return null;
    }
    flush();
    parts.push(num);
  }
  flush();
  if (templates.size >= 1024) templates.delete(templates.keys().next().value!);
  templates.set(key, parts);
  return parts;
}

function appendTemplate(out: Sink, t: Template, c: Compiled, s: Subject, start: number, end: number): void {
  for (let k = 0; k < t.length; k++) {
    const p = t[k];
    if (typeof p !== 'number') {
      out.bytes(p, 0, p.length);
      continue;
    }
    if (p === 0) out.bytes(s.bytes, start, end);
    else if (p <= c.ncap) {
      const v = groupText(c, p);
      if (v !== undefined) out.text(v, c.utf, s.escaped);
    }
  }
}

function subHelper(L: LuaState, global: boolean): number {
  lua.lua_settop(L, 4);
  const subj = subjectArg(L, 1);
  const isFunc = lua.lua_type(L, 3) === lua.LUA_TFUNCTION;
  let repl: Uint8Array | null = null;
  if (!isFunc) repl = subjectArg(L, 3); // tostring(replace)
  const o = optsArg(L, 4);
  const c = compiledArg(L, 2, o, 2);
  if (c === null) return 3;
  if (repl === null) return subFunc(L, { c, s: new Subject(subj), global, out: new Sink(), count: 0, pos: 0, cp: 0, start: 0, end: 0 });
  const tpl = compileTemplate(repl);
  if (tpl === null) {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    pushMessage(L, 'failed to compile the replacement template');
    return 3;
  }
  const s = new Subject(subj);
  const len = subj.length;
  let count = 0;
  let pos = 0;
  let cp = 0;
  const out = sinks[sinkDepth] ?? (sinks[sinkDepth] = new Sink());
  out.len = 0;
  sinkDepth++;
  try {
    for (;;) {
      const rc = exec(c, s, pos);
      if (rc === NOMATCH) break;
      if (rc < 0) return subError(L, rc);
      count++;
      const start = mStart;
      const end = mEnd;
      out.bytes(subj, cp, start);
      appendTemplate(out, tpl, c, s, start, end);
      cp = end;
      pos = end;
      if (pos === start) {
        pos++;
        if (pos > len) break;
      }
      if (!global) break;
    }
    return subResult(L, out, count, pos, cp, subj);
  } finally {
    sinkDepth--;
  }
}

function subError(L: LuaState, rc: number): number {
  lua.lua_pushnil(L);
  lua.lua_pushnil(L);
  pushMessage(L, execError(rc));
  return 3;
}

function subResult(L: LuaState, out: Sink, count: number, pos: number, cp: number, subj: Uint8Array): number {
  if (count === 0) {
    lua.lua_pushvalue(L, 1);
    lua.lua_pushnumber(L, 0);
    return 2;
  }
  // (lua-resty-core copies the rest only when pos < #subj)
  if (pos < subj.length) out.bytes(subj, cp, subj.length);
  pushOwned(L, new Uint8Array(out.buf.subarray(0, out.len)));
  lua.lua_pushnumber(L, count);
  return 2;
}

/** sub/gsub with a replacement function: the loop state lives here so the function may yield. */
interface SubState {
  c: Compiled;
  s: Subject;
  global: boolean;
  out: Sink;
  count: number;
  pos: number;
  cp: number;
  start: number;
  end: number;
}

function subFunc(L: LuaState, st: SubState): number {
  for (;;) {
    const rc = exec(st.c, st.s, st.pos);
    if (rc === NOMATCH) break;
    if (rc < 0) return subError(L, rc);
    st.count++;
    st.start = mStart;
    st.end = mEnd;
    st.out.bytes(st.s.bytes, st.cp, st.start);
    lua.lua_pushvalue(L, 3);
    pushCaptures(L, st.c, st.s, 0);
    // with a continuation, the function may yield (ngx.sleep, cosockets...) like in lua-resty-core
    lua.lua_callk(L, 1, 1, st, subFuncK);
    if (!subFuncStep(L, st)) break;
  }
  return subResult(L, st.out, st.count, st.pos, st.cp, st.s.bytes);
}

/** After the replacement function returned: append tostring(result); false when the loop ends. */
function subFuncStep(L: LuaState, st: SubState): boolean {
  const r = lauxlib.luaL_tolstring(L, -1);
  st.out.bytes(r, 0, r.length);
  lua.lua_pop(L, 2);
  st.cp = st.end;
  st.pos = st.end;
  if (st.pos === st.start) {
    st.pos++;
    if (st.pos > st.s.bytes.length) return false;
  }
  return st.global;
}

function subFuncK(L: LuaState, _status: number, st: SubState): number {
  if (!subFuncStep(L, st)) return subResult(L, st.out, st.count, st.pos, st.cp, st.s.bytes);
  return subFunc(L, st);
}

function reSub(L: LuaState): number {
  return subHelper(L, false);
}

function reGsub(L: LuaState): number {
  return subHelper(L, true);
}

// ---------------------------------------------------------------------------------------------
// require("ngx.re"): split, opt

/** string.sub(s, i, j) on bytes. */
function luaSub(L: LuaState, b: Uint8Array, i: number, j: number): void {
  const n = b.length;
  if (i < 0) i = Math.max(n + i + 1, 1);
  else if (i === 0) i = 1;
  if (j < 0) j = n + j + 1;
  else if (j > n) j = n;
  pushSlice(L, b, i - 1, j);
}

function reSplit(L: LuaState): number {
  lua.lua_settop(L, 6);
  const subj = subjectArg(L, 1);
  const hasCtx = isTable(L, 4);
  let ctxPos = 1;
  if (hasCtx) {
    pushTStr(L, K_POS);
    lua.lua_gettable(L, 4);
    if (lua.lua_isnil(L, -1)) setCtxPos(L, 4, 1);
    else ctxPos = lua.lua_tonumber(L, -1);
    lua.lua_pop(L, 1);
  }
  const max = lua.lua_isnoneornil(L, 5) ? 0 : lauxlib.luaL_checknumber(L, 5);
  let resIdx: number;
  if (lua.lua_isnoneornil(L, 6)) {
    lua.lua_createtable(L, max > 0 ? Math.min(4, max) : 4, 0);
    resIdx = lua.lua_gettop(L);
  } else if (!isTable(L, 6)) {
    lauxlib.luaL_where(L, 2);
    lua.lua_pushstring(L, S('res is not a table'));
    lua.lua_concat(L, 2);
    return lua.lua_error(L);
  } else resIdx = 6;
  const len = subj.length;
  if (ctxPos > len) {
    lua.lua_pushnil(L);
    lua.lua_rawseti(L, resIdx, 1);
    lua.lua_pushvalue(L, resIdx);
    return 1;
  }
  const o = optsArg(L, 3);
  const c = compiledArg(L, 2, o, 1);
  if (c === null) return 2;
  const s = new Subject(subj);
  let subIdx = ctxPos;
  let n = 0; // res_idx
  let lastEmpty = -1;
  let pos = subIdx - 1; // ctx.pos in PCRE (0-based) terms from here on
  let count = 1;
  for (;;) {
    if (max > 0 && count >= max) break;
    const rc = exec(c, s, Math.max(pos, 0));
    if (rc === NOMATCH) break;
    if (rc < 0) {
      if (hasCtx) setCtxPos(L, 4, pos);
      lua.lua_pushnil(L);
      pushMessage(L, execError(rc));
      return 2;
    }
    const from = mStart + 1;
    const to = mEnd + 1;
    pos = mStart === mEnd ? mEnd + 1 : mEnd;
    // the first sub-match capture, if any (string.sub(subj, caps[2] + 1, caps[3]) as upstream)
    let hasCap = false;
    let capText: string | undefined;
    if (c.ncap > 0) {
      let matchedAny = false;
      for (let k = 1; k <= c.ncap; k++) if (groupText(c, k) !== undefined) matchedAny = true;
      if (matchedAny) {
        hasCap = true;
        capText = groupText(c, 1);
      }
    }
    if (lastEmpty >= 0) subIdx = lastEmpty;
    if (from === to) lastEmpty = from;
    if (from > subIdx || lastEmpty < 0) {
      count++;
      luaSub(L, subj, subIdx, from - 1);
      lua.lua_rawseti(L, resIdx, ++n);
      if (hasCap) {
        if (capText === undefined) luaSub(L, subj, 0, -1);
        else pushText(L, capText, c.utf, s.escaped);
        lua.lua_rawseti(L, resIdx, ++n);
      }
      subIdx = to;
      if (subIdx > len) break;
    }
  }
  if (hasCtx) setCtxPos(L, 4, pos);
  if (max <= 0 && subIdx > len) {
    // drop empty trailing fields
    for (let k = n; k >= 1; k--) {
      lua.lua_rawgeti(L, resIdx, k);
      const empty = lua.lua_type(L, -1) === lua.LUA_TSTRING && lua.lua_rawlen(L, -1) === 0;
      lua.lua_pop(L, 1);
      if (!empty) {
        n = k;
        break;
      }
      lua.lua_pushnil(L);
      lua.lua_rawseti(L, resIdx, k);
    }
  } else {
    luaSub(L, subj, subIdx, -1);
    lua.lua_rawseti(L, resIdx, ++n);
  }
  lua.lua_pushnil(L);
  lua.lua_rawseti(L, resIdx, n + 1);
  lua.lua_pushvalue(L, resIdx);
  return 1;
}

function reOpt(L: LuaState): number {
  const name = lauxlib.luaL_checklstring(L, 1);
  if (latin1(name) === 'jit_stack_size') {
    if (compiledOnce > 0) luaError(L, 'changing jit stack size is not allowed when some regexs have already been compiled and cached');
    return 0; // no JIT stack to size: V8 manages its own
  }
  return luaError(L, 'unrecognized option name');
}

// ---------------------------------------------------------------------------------------------
// registration

const API: [string, (L: LuaState) => number][] = [
  ['match', reMatch],
  ['find', reFind],
  ['gmatch', reGmatch],
  ['sub', reSub],
  ['gsub', reGsub],
];

defineNgxApi('re', (L, env) => {
  initFast(L);
  if (K_POS === null) K_POS = tstr(Uint8Array.from(S('pos')));
  const http = env?.worker?.http;
  if (http && typeof http.luaRegexCacheMaxEntries === 'number') configureRegex({ cacheMaxEntries: http.luaRegexCacheMaxEntries });
  lua.lua_createtable(L, 0, API.length);
  for (const [name, fn] of API) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, S(name));
  }
  lua.lua_setfield(L, -2, S('re'));
});

definePreload('ngx.re', (L) => {
  initFast(L);
  lua.lua_createtable(L, 0, 3);
  lua.lua_pushcfunction(L, reSplit);
  lua.lua_setfield(L, -2, S('split'));
  lua.lua_pushcfunction(L, reOpt);
  lua.lua_setfield(L, -2, S('opt'));
  lua.lua_pushstring(L, S('0.1.25'));
  lua.lua_setfield(L, -2, S('version'));
  return 1;
});

/** For tests and benchmarks: drop every cached regex and template. */
export function clearRegexCache(): void {
  lastPat = null;
  lastPatOpts = null;
  lastEntry = null;
  cache.clear();
  templates.clear();
  compiledOnce = 0;
}
