// PCRE -> JavaScript RegExp translation, shared by ngx.re.* (src/ngx/re.ts) and nginx.conf regexes
// (src/config/regex.ts).
//
// nginx and lua-nginx-module compile with PCRE1 (8.x); tsresty executes with V8's irregexp. Rather than
// rewriting the pattern text, we parse PCRE syntax ourselves, so that compile errors carry PCRE's own
// messages and offsets, and emit a JS source whose meaning does not depend on JS flags:
//  - `.` becomes [^\n] (or [\s\S] under s), `^` `$` \A \z \Z become lookarounds with PCRE's newline
//    rules ($ also matches before a final \n), \s \h \v \R are PCRE's ASCII/latin1 sets, not JS's;
//  - inline options (?i) (?m) (?s) (?x) (?U) (?J) (?X), global or group-scoped, are applied while
//    parsing. Caselessness uses the JS `i` flag when it is the same over the whole pattern, otherwise
//    letters and classes are expanded ([aA]);
//  - atomic groups (?>X) and possessive quantifiers X*+ use the exact idiom (?=(X))\N; these helper
//    groups shift JS group numbers, so `groupMap` maps PCRE group numbers back;
//  - named groups become plain groups plus a PCRE-ordered name table (so duplicate names work); with
//    `jsNames` they keep their JS names for callers that read `match.groups`.
// Patterns are strings of characters: in byte mode (no UTF) one char per byte (latin1, as ngx.re
// passes them) and the JS regex has no `u` flag; in UTF mode the decoded text, and the regex gets `u`.
//
// Not translatable (a PcreError says so): recursion and subroutine calls, conditional groups, branch
// reset (?|...), \K, backtracking verbs other than (*FAIL)/(*F). Approximations: \G is honoured only
// as "match starts at the start offset" (`anchoredStart`); backreferences to unset groups match the
// empty string (JS) instead of failing; captures inside a repeated group are reset on each iteration
// (JS); an iteration of *, + or {n,m} that matches the empty string is dropped by JS where PCRE keeps
// it and stops looping (X? is emitted as (?:X|) so that one case is exact); lookbehinds may be
// variable-length (a superset of PCRE); inside lookbehinds atomic groups are plain groups; newline
// conventions other than LF are ignored; lua_regex_match_limit (PCRE's backtracking budget) has no
// JS equivalent.

export class PcreError extends Error {
  /** offset in the pattern string where PCRE would report the error (pattern.length = at the end) */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

export interface NamedGroup {
  name: string;
  group: number;
}

export interface Translated {
  source: string;
  /** JS flags: a subset of "iu" (callers add g/y/d as they need) */
  flags: string;
  /** number of PCRE capturing groups */
  captures: number;
  /** JS group number of PCRE group n at index n (index 0 = 0), or null when they are the same */
  groupMap: number[] | null;
  /** PCRE's name table: sorted by name, then group number */
  names: NamedGroup[];
  /** the pattern uses \G: it can only match at the start offset */
  anchoredStart: boolean;
  /** UTF mode (option u/U or a leading (*UTF8)) */
  utf: boolean;
  /** upper bound of a match's length in pattern-string units (Infinity when unbounded) */
  maxLength: number;
  /** the pattern has backreferences (PCRE's DFA matcher cannot run it) */
  backrefs: boolean;
}

export interface TranslateOptions {
  /** emit JS named groups (?<name>...) when names are unique (default true) */
  jsNames?: boolean;
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  U: boolean; // ungreedy
  J: boolean; // duplicate names allowed
  X: boolean; // PCRE_EXTRA: unknown escapes are errors
}

const enum Kind {
  None, // nothing repeatable was emitted: option setting, comment, \Q, \E
  Anchor, // zero-width, not repeatable: ^ $ \b \B \A \z \Z \G
  Look, // lookaround assertion: repeatable after wrapping in (?:)
  Item,
}

class Group {
  js = 0;
  constructor(readonly name: string | null) {}
}

class BackRef {
  constructor(
    readonly num: number,
    readonly name: string | null,
    readonly offset: number,
  ) {}
}

type Piece = string | Group | BackRef;

const MAX_NAME = 32;
const PARENS_NEST_LIMIT = 250;
const MAX_QUANT = 65535;

function hex(n: number, w: number): string {
  return n.toString(16).padStart(w, '0');
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
function isWordChar(c: number): boolean {
  return isAlpha(c) || isDigit(c) || c === 0x5f;
}
function isXSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** A code point as a JS regex atom, valid both inside and outside classes, with or without `u`. */
function lit(cp: number, utf: boolean): string {
  if (isWordChar(cp)) return String.fromCharCode(cp);
  if (cp < 0x100) return '\\x' + hex(cp, 2);
  if (cp < 0x10000) return '\\u' + hex(cp, 4);
  if (utf) return '\\u{' + cp.toString(16) + '}';
  const v = cp - 0x10000;
  return '\\u' + hex(0xd800 + (v >> 10), 4) + '\\u' + hex(0xdc00 + (v & 0x3ff), 4);
}

// ---- character sets as sorted [lo, hi] range lists ----

type Ranges = number[]; // flat pairs

function complement(r: Ranges, max: number): Ranges {
  const s = normalize(r);
  const out: Ranges = [];
  let next = 0;
  for (let k = 0; k < s.length; k += 2) {
    if (s[k] > next) out.push(next, s[k] - 1);
    next = s[k + 1] + 1;
  }
  if (next <= max) out.push(next, max);
  return out;
}

function normalize(r: Ranges): Ranges {
  if (r.length <= 2) return r.slice();
  const pairs: [number, number][] = [];
  for (let k = 0; k < r.length; k += 2) pairs.push([r[k], r[k + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) {
      if (hi > out[n - 1]) out[n - 1] = hi;
    } else out.push(lo, hi);
  }
  return out;
}

function emitRanges(r: Ranges, utf: boolean): string {
  let s = '';
  for (let k = 0; k < r.length; k += 2) {
    const lo = r[k];
    const hi = r[k + 1];
    if (lo === hi) s += lit(lo, utf);
    else if (hi === lo + 1) s += lit(lo, utf) + lit(hi, utf);
    else s += lit(lo, utf) + '-' + lit(hi, utf);
  }
  return s;
}

const SPACE: Ranges = [0x09, 0x0d, 0x20, 0x20]; // \s: HT LF VT FF CR SP (PCRE >= 8.34)
const HSPACE_8: Ranges = [0x09, 0x09, 0x20, 0x20, 0xa0, 0xa0];
const HSPACE_U: Ranges = [0x09, 0x09, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x180e, 0x180e, 0x2000, 0x200a, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000];
const VSPACE_8: Ranges = [0x0a, 0x0d, 0x85, 0x85];
const VSPACE_U: Ranges = [0x0a, 0x0d, 0x85, 0x85, 0x2028, 0x2029];

/** POSIX classes, PCRE's defaults (C locale, ASCII). */
const POSIX: Record<string, Ranges> = {
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  digit: [0x30, 0x39],
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  upper: [0x41, 0x5a],
  lower: [0x61, 0x7a],
  space: [0x09, 0x0d, 0x20, 0x20],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  graph: [0x21, 0x7e],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
  word: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
};

const GENERAL_CATEGORIES = new Set([
  'C', 'Cc', 'Cf', 'Cn', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs',
]);

/** A PCRE property name as the inside of a JS class (u mode), or null when unknown. */
function propertyClass(name: string): string | null {
  switch (name) {
    case 'Any':
      return '\\s\\S';
    case 'L&':
      return '\\p{Lu}\\p{Ll}\\p{Lt}';
    case 'Xan':
      return '\\p{L}\\p{N}';
    case 'Xwd':
      return '\\p{L}\\p{N}_';
    case 'Xsp':
    case 'Xps':
      return '\\p{Z}\\t-\\r';
    case 'Xuc':
      return '$@`\\u00a0-\\ud7ff\\ue000-\\u{10ffff}';
  }
  const js = GENERAL_CATEGORIES.has(name) ? `\\p{${name}}` : /^[A-Z][A-Za-z_]*$/.test(name) ? `\\p{Script=${name}}` : null;
  if (js === null) return null;
  try {
    new RegExp(`[${js}]`, 'u');
  } catch {
    return null;
  }
  return js;
}

const latinPropCache = new Map<string, Ranges>();

/** The code points 0..255 having a property (for byte mode, where JS has no \p without `u`). */
function propertyLatin1(inner: string): Ranges {
  let r = latinPropCache.get(inner);
  if (r !== undefined) return r;
  const re = new RegExp(`[${inner}]`, 'u');
  r = [];
  for (let c = 0; c < 256; c++) if (re.test(String.fromCharCode(c))) r.push(c, c);
  r = normalize(r);
  latinPropCache.set(inner, r);
  return r;
}

/** Other-case forms of a code point (PCRE: ASCII only in byte mode, Unicode in UTF mode). */
function caseVariants(cp: number, utf: boolean): number[] {
  if (cp < 0x80) {
    if (cp >= 0x61 && cp <= 0x7a) return utf && (cp === 0x6b || cp === 0x73) ? [cp - 32, cp === 0x6b ? 0x212a : 0x17f] : [cp - 32];
    if (cp >= 0x41 && cp <= 0x5a) return utf && (cp === 0x4b || cp === 0x53) ? [cp + 32, cp === 0x4b ? 0x212a : 0x17f] : [cp + 32];
    return [];
  }
  if (!utf) return [];
  const s = String.fromCodePoint(cp);
  const out: number[] = [];
  for (const t of [s.toLowerCase(), s.toUpperCase()]) {
    const c = t.codePointAt(0)!;
    if (t.length === String.fromCodePoint(c).length && c !== cp && !out.includes(c)) out.push(c);
  }
  // characters whose lower case folds back to other forms (e.g. K -> k, Ω -> ω <- ω)
  for (const c of out.slice()) {
    const l = String.fromCodePoint(c).toLowerCase().codePointAt(0)!;
    if (l !== cp && !out.includes(l)) out.push(l);
  }
  return out;
}

function addCaseRanges(r: Ranges, utf: boolean): Ranges {
  const out = r.slice();
  for (let k = 0; k < r.length; k += 2) {
    const lo = r[k];
    const hi = r[k + 1];
    const alo = Math.max(lo, 0x61);
    const ahi = Math.min(hi, 0x7a);
    if (alo <= ahi) out.push(alo - 32, ahi - 32);
    const blo = Math.max(lo, 0x41);
    const bhi = Math.min(hi, 0x5a);
    if (blo <= bhi) out.push(blo + 32, bhi + 32);
    if (utf) {
      if ((lo <= 0x6b && hi >= 0x6b) || (lo <= 0x4b && hi >= 0x4b)) out.push(0x212a, 0x212a);
      if ((lo <= 0x73 && hi >= 0x73) || (lo <= 0x53 && hi >= 0x53)) out.push(0x17f, 0x17f);
      const ulo = Math.max(lo, 0x80);
      if (ulo <= hi && hi - ulo <= 1024) for (let c = ulo; c <= hi; c++) for (const v of caseVariants(c, true)) out.push(v, v);
    }
  }
  return out;
}

// ---- the parser ----

const enum CaseMode {
  Flag, // case handled by the JS `i` flag (or not at all)
  Manual, // case expanded in the emitted source
}

interface ParseResult {
  source: string;
  flags: string;
  captures: number;
  groupMap: number[] | null;
  names: NamedGroup[];
  anchoredStart: boolean;
  maxLength: number;
  caseSeen: number; // bit 1: a cased item under !i, bit 2: under i
  backrefs: boolean;
}

class Parser {
  pos = 0;
  readonly len: number;
  readonly out: Piece[] = [];
  /** PCRE capture groups by number (index 0 unused) */
  readonly groups: Group[] = [new Group(null)];
  readonly names: NamedGroup[] = [];
  readonly refs: BackRef[] = [];
  anchoredStart = false;
  caseSeen = 0;
  inQuote = false;
  lookbehind = 0;
  depth = 0;
  readonly maxCp: number;

  constructor(
    readonly p: string,
    readonly utf: boolean,
    readonly jsCompat: boolean,
    readonly mode: CaseMode,
    readonly jsNames: boolean,
  ) {
    this.len = p.length;
    this.maxCp = utf ? 0x10ffff : 0xffff;
  }

  err(msg: string, at: number): never {
    throw new PcreError(msg, Math.min(at, this.len));
  }

  code(at = this.pos): number {
    return at < this.len ? this.p.charCodeAt(at) : -1;
  }

  /** Code point at pos and its width in string units. */
  cpAt(at: number): number {
    return this.utf ? this.p.codePointAt(at)! : this.p.charCodeAt(at);
  }

  width(cp: number): number {
    return cp > 0xffff ? 2 : 1;
  }

  skipExtended(): void {
    for (;;) {
      const c = this.code();
      if (c < 0) return;
      if (isXSpace(c)) {
        this.pos++;
        continue;
      }
      if (c === 0x23 /* # */) {
        while (this.pos < this.len && this.p.charCodeAt(this.pos) !== 0x0a) this.pos++;
        continue;
      }
      return;
    }
  }

  parse(flags: Flags): number {
    const max = this.parseAlt(flags);
    if (this.pos < this.len) {
      // only a ')' can stop the top level early
      this.err('unmatched parentheses', this.pos);
    }
    return max;
  }

  parseAlt(f: Flags): number {
    let max = 0;
    for (;;) {
      const m = this.parseSeq(f);
      if (m > max) max = m;
      if (this.code() === 0x7c /* | */) {
        this.out.push('|');
        this.pos++;
        continue;
      }
      return max;
    }
  }

  parseSeq(f: Flags): number {
    let total = 0;
    for (;;) {
      if (!this.inQuote && f.x) this.skipExtended();
      if (this.pos >= this.len) break;
      const c = this.p.charCodeAt(this.pos);
      if (this.inQuote) {
        if (c === 0x5c && this.code(this.pos + 1) === 0x45 /* \E */) {
          this.inQuote = false;
          this.pos += 2;
          continue;
        }
      } else if (c === 0x7c || c === 0x29) break;
      const start = this.out.length;
      let kind: Kind;
      let amax: number;
      if (this.inQuote) {
        const cp = this.cpAt(this.pos);
        this.pos += this.width(cp);
        amax = this.emitLiteral(cp, f);
        kind = Kind.Item;
        if (this.code() === 0x5c && this.code(this.pos + 1) === 0x45) {
          this.inQuote = false;
          this.pos += 2;
        } else if (this.inQuote) {
          total += amax;
          continue;
        }
      } else {
        [kind, amax] = this.parseAtom(f, c);
      }
      total += this.quantify(f, kind, amax, start);
    }
    return total;
  }

  /** Parse a quantifier after an atom, if any; returns the atom's contribution to the max length. */
  quantify(f: Flags, kind: Kind, amax: number, start: number): number {
    if (f.x) this.skipExtended();
    const q = this.readQuantifier();
    if (q === null) return amax;
    if (kind === Kind.None || kind === Kind.Anchor) this.err('nothing to repeat', q.at);
    let lazy = false;
    let possessive = false;
    const c = this.code();
    if (c === 0x3f /* ? */) {
      lazy = true;
      this.pos++;
    } else if (c === 0x2b /* + */) {
      possessive = true;
      this.pos++;
    }
    if (f.U && !possessive) lazy = !lazy;
    if (q.min === 0 && q.max === 1) {
      // X? as (?:X|): JS refuses an iteration that matches the empty string (so (a*)? would leave
      // the group unset, and an empty alternative would be skipped); PCRE accepts it
      if (lazy) this.out.splice(start, 0, '(?:|');
      else this.out.splice(start, 0, '(?:');
      this.out.push(lazy ? ')' : '|)');
    } else {
      if (kind === Kind.Look) {
        this.out.splice(start, 0, '(?:');
        this.out.push(')');
      }
      const qs = q.min === 0 && q.max === Infinity ? '*' : q.min === 1 && q.max === Infinity ? '+' : q.max === Infinity ? `{${q.min},}` : q.min === q.max ? `{${q.min}}` : `{${q.min},${q.max}}`;
      this.out.push(lazy ? qs + '?' : qs);
    }
    if (possessive && this.lookbehind === 0) {
      // X*+ as (?:(?=(X*))\N): the lookahead is atomic, the backreference consumes what it matched
      const g = new Group(null);
      const ref = new BackRef(-1, null, 0);
      (ref as any).group = g;
      this.out.splice(start, 0, '(?:(?=', g);
      this.out.push('))', ref, ')');
    }
    if (f.x) this.skipExtended();
    const again = this.readQuantifier(true);
    if (again !== null) this.err('nothing to repeat', again.at);
    return q.max === 0 || amax === 0 ? 0 : amax * q.max;
  }

  readQuantifier(peek = false): { min: number; max: number; at: number } | null {
    const at = this.pos;
    const c = this.code();
    if (c === 0x2a) {
      if (!peek) this.pos++;
      return { min: 0, max: Infinity, at };
    }
    if (c === 0x2b) {
      if (!peek) this.pos++;
      return { min: 1, max: Infinity, at };
    }
    if (c === 0x3f) {
      if (!peek) this.pos++;
      return { min: 0, max: 1, at };
    }
    if (c !== 0x7b) return null;
    const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.p.slice(at, at + 40));
    if (m === null) return null;
    if (peek) return { min: 0, max: 0, at };
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
    if (min > MAX_QUANT || (max !== Infinity && max > MAX_QUANT)) this.err('number too big in {} quantifier', at + m[0].length - 1);
    if (max < min) this.err('numbers out of order in {} quantifier', at + m[0].length - 1);
    this.pos = at + m[0].length;
    return { min, max, at };
  }

  /** Note whether a cased item is matched caselessly or not (for choosing the case strategy). */
  seeCase(f: Flags): void {
    this.caseSeen |= f.i ? 2 : 1;
  }

  /** An item PCRE never matches caselessly (\p{..}): the JS `i` flag must not reach it. */
  seeCaseExact(): void {
    this.caseSeen |= 1;
  }

  emitLiteral(cp: number, f: Flags): number {
    const w = this.width(cp);
    const variants = caseVariants(cp, this.utf);
    if (variants.length > 0) {
      this.seeCase(f);
      if (f.i && this.mode === CaseMode.Manual) {
        let s = '[' + lit(cp, this.utf);
        for (const v of variants) s += lit(v, this.utf);
        this.out.push(s + ']');
        return this.utf ? 2 : w;
      }
    }
    this.out.push(lit(cp, this.utf));
    return w;
  }

  parseAtom(f: Flags, c: number): [Kind, number] {
    const one = this.utf ? 2 : 1;
    switch (c) {
      case 0x28: // (
        return this.parseGroup(f);
      case 0x5b: // [
        this.parseClass(f);
        return [Kind.Item, one];
      case 0x5c: // backslash
        return this.parseEscape(f);
      case 0x2e: // .
        this.pos++;
        this.out.push(f.s ? '[\\s\\S]' : '[^\\n]');
        return [Kind.Item, one];
      case 0x5e: // ^
        this.pos++;
        this.out.push(f.m ? '(?:^|(?<=\\n)(?=[\\s\\S]))' : '^');
        return [Kind.Anchor, 0];
      case 0x24: // $
        this.pos++;
        this.out.push(f.m ? '(?![^\\n])' : '(?=\\n?(?![\\s\\S]))');
        return [Kind.Anchor, 0];
      case 0x2a:
      case 0x2b:
      case 0x3f:
        this.err('nothing to repeat', this.pos);
      // falls through (err never returns)
      case 0x7b: // {
        if (this.readQuantifier(true) !== null) this.err('nothing to repeat', this.pos);
        break;
      case 0x5d: // ]
        if (this.jsCompat) this.err('] is an invalid data character in JavaScript compatibility mode', this.pos);
        break;
    }
    const cp = this.cpAt(this.pos);
    this.pos += this.width(cp);
    return [Kind.Item, this.emitLiteral(cp, f)];
  }

  // ---- groups ----

  parseGroup(f: Flags): [Kind, number] {
    const open = this.pos;
    this.pos++; // (
    if (this.code() === 0x2a /* * */) return this.parseVerb(open);
    if (this.code() !== 0x3f /* ? */) {
      const g = this.newCapture(null);
      return this.groupBody(f, [g], ')', Kind.Item, open);
    }
    this.pos++; // ?
    const c = this.code();
    switch (c) {
      case 0x3a: // (?:
        this.pos++;
        return this.groupBody(f, ['(?:'], ')', Kind.Item, open);
      case 0x3d: // (?=
        this.pos++;
        return this.groupBody(f, ['(?='], ')', Kind.Look, open);
      case 0x21: // (?!
        this.pos++;
        return this.groupBody(f, ['(?!'], ')', Kind.Look, open);
      case 0x3e: {
        // (?> atomic
        this.pos++;
        if (this.lookbehind > 0) return this.groupBody(f, ['(?:'], ')', Kind.Item, open);
        const g = new Group(null);
        const ref = new BackRef(-1, null, 0);
        (ref as any).group = g;
        const r = this.groupBody(f, ['(?:(?=', g], '))', Kind.Item, open);
        this.out.push(ref, ')');
        return r;
      }
      case 0x7c: // (?|
        this.err('branch reset groups (?|...) are not supported', this.pos);
      // falls through
      case 0x23: {
        // (?# comment
        const end = this.p.indexOf(')', this.pos);
        if (end < 0) this.err('missing ) after comment', this.len);
        this.pos = end + 1;
        return [Kind.None, 0];
      }
      case 0x28: // (?(
        this.err('conditional groups (?(...)...) are not supported', this.pos);
      // falls through
      case 0x43: {
        // (?C callout: no callout function is ever set, so it does nothing
        let k = this.pos + 1;
        while (isDigit(this.code(k))) k++;
        if (Number(this.p.slice(this.pos + 1, k) || '0') > 255) this.err('number after (?C is > 255', k);
        if (this.code(k) !== 0x29) this.err('closing ) for (?C expected', k);
        this.pos = k + 1;
        return [Kind.None, 0];
      }
      case 0x50: {
        // (?P<name> (?P=name) (?P>name)
        const d = this.code(this.pos + 1);
        if (d === 0x3c) {
          this.pos += 2;
          return this.namedGroup(f, 0x3e, open);
        }
        if (d === 0x3d) {
          this.pos += 2;
          const name = this.readName(0x29);
          this.addRef(new BackRef(0, name, this.pos), f);
          return [Kind.Item, Infinity];
        }
        if (d === 0x3e) this.err('recursion and subroutine calls are not supported', this.pos);
        this.err('unrecognized character after (?P', this.pos + 1);
      }
      // falls through
      case 0x3c: {
        // (?<= (?<! (?<name>
        const d = this.code(this.pos + 1);
        if (d === 0x3d || d === 0x21) {
          this.pos += 2;
          this.lookbehind++;
          try {
            return this.groupBody(f, [d === 0x3d ? '(?<=' : '(?<!'], ')', Kind.Look, open);
          } finally {
            this.lookbehind--;
          }
        }
        this.pos++;
        if (!isWordChar(d)) this.err(d === 0x3e ? 'subpattern name expected' : 'unrecognized character after (?<', this.pos);
        return this.namedGroup(f, 0x3e, open);
      }
      case 0x27: // (?'name'
        this.pos++;
        return this.namedGroup(f, 0x27, open);
      case 0x52: // (?R
      case 0x26: // (?&name
        this.err('recursion and subroutine calls are not supported', this.pos);
      // falls through
      default:
        if (isDigit(c) || ((c === 0x2b || c === 0x2d) && isDigit(this.code(this.pos + 1)))) {
          this.err('recursion and subroutine calls are not supported', this.pos);
        }
        return this.optionGroup(f, open);
    }
  }

  /** (?imsxJUX-imsxJUX) or (?imsx-imsx:...) */
  optionGroup(f: Flags, open: number): [Kind, number] {
    const nf: Flags = { ...f };
    let on = true;
    for (;;) {
      const c = this.code();
      if (c < 0) this.err('missing )', this.len);
      this.pos++;
      switch (c) {
        case 0x2d: // -
          on = false;
          continue;
        case 0x69:
          nf.i = on;
          continue;
        case 0x6d:
          nf.m = on;
          continue;
        case 0x73:
          nf.s = on;
          continue;
        case 0x78:
          nf.x = on;
          continue;
        case 0x55:
          nf.U = on;
          continue;
        case 0x4a:
          nf.J = on;
          continue;
        case 0x58:
          nf.X = on;
          continue;
        case 0x29: // ) : the change lasts to the end of the enclosing group (all its branches)
          Object.assign(f, nf);
          return [Kind.None, 0];
        case 0x3a: // :
          return this.groupBody(nf, ['(?:'], ')', Kind.Item, open, true);
        default:
          this.err('unrecognized character after (? or (?-', this.pos - 1);
      }
    }
  }

  parseVerb(open: number): [Kind, number] {
    const m = /^\*([A-Z_]*)(?::([^)]*))?\)/.exec(this.p.slice(this.pos, this.pos + 64));
    if (m === null) this.err('(*VERB) not recognized or malformed', this.pos + 1);
    const verb = m[1];
    if (verb === 'FAIL' || verb === 'F') {
      if (m[2] !== undefined) this.err('an argument is not allowed for (*ACCEPT), (*FAIL), or (*COMMIT)', this.pos + m[0].length - 1);
      this.pos += m[0].length;
      this.out.push('(?!)');
      return [Kind.Item, 0];
    }
    if (['ACCEPT', 'COMMIT', 'PRUNE', 'SKIP', 'THEN', 'MARK', ''].includes(verb)) {
      this.err(`backtracking control verb (*${verb || 'MARK'}) is not supported`, open);
    }
    this.err('(*VERB) not recognized or malformed', this.pos + 1 + verb.length);
  }

  newCapture(name: string | null): Group {
    const g = new Group(name);
    this.groups.push(g);
    if (name !== null) this.names.push({ name, group: this.groups.length - 1 });
    return g;
  }

  readName(term: number): string {
    const start = this.pos;
    if (isDigit(this.code())) this.err('group name must start with a non-digit', this.pos);
    while (isWordChar(this.code())) this.pos++;
    const name = this.p.slice(start, this.pos);
    if (this.pos - start > MAX_NAME) this.err(`subpattern name is too long (maximum ${MAX_NAME} characters)`, this.pos);
    if (this.code() !== term) this.err(name.length === 0 ? 'subpattern name expected' : 'syntax error in subpattern name (missing terminator)', this.pos);
    if (name.length === 0) this.err('subpattern name expected', this.pos);
    this.pos++;
    return name;
  }

  namedGroup(f: Flags, term: number, open: number): [Kind, number] {
    const name = this.readName(term);
    if (!f.J && this.names.some((n) => n.name === name)) this.err('two named subpatterns have the same name', this.pos - 1);
    const g = this.newCapture(name);
    return this.groupBody(f, [g], ')', Kind.Item, open);
  }

  /** Emit the head, parse alternatives with a copy of the flags, expect ')' and emit the tail. */
  groupBody(f: Flags, head: Piece[], tail: string, kind: Kind, open: number, ownFlags = false): [Kind, number] {
    for (const h of head) this.out.push(h);
    const inner = ownFlags ? f : { ...f };
    if (++this.depth > PARENS_NEST_LIMIT) this.err('parentheses are too deeply nested', this.pos);
    const max = this.parseAlt(inner);
    this.depth--;
    if (this.code() !== 0x29) this.err('missing )', this.len);
    void open;
    this.pos++;
    this.out.push(tail);
    return [kind, kind === Kind.Look ? 0 : max];
  }

  addRef(r: BackRef, f: Flags): void {
    this.seeCase(f); // the referenced text may have letters
    this.refs.push(r);
    this.out.push(r);
  }

  // ---- escapes ----

  /** An escape outside a class. pos is at the backslash. */
  parseEscape(f: Flags): [Kind, number] {
    const one = this.utf ? 2 : 1;
    this.pos++;
    if (this.pos >= this.len) this.err('\\ at end of pattern', this.len);
    const c = this.p.charCodeAt(this.pos);
    const push = (s: string, k = Kind.Item, m = one): [Kind, number] => {
      this.pos++;
      this.out.push(s);
      return [k, m];
    };
    switch (c) {
      case 0x64: // d
        return push('\\d');
      case 0x44:
        return push('\\D');
      case 0x77:
        return push('\\w');
      case 0x57:
        return push('\\W');
      case 0x73: // s
        return push('[' + emitRanges(SPACE, this.utf) + ']');
      case 0x53:
        return push('[^' + emitRanges(SPACE, this.utf) + ']');
      case 0x68: // h
        return push('[' + emitRanges(this.utf ? HSPACE_U : HSPACE_8, this.utf) + ']');
      case 0x48:
        return push('[^' + emitRanges(this.utf ? HSPACE_U : HSPACE_8, this.utf) + ']');
      case 0x76: // v
        return push('[' + emitRanges(this.utf ? VSPACE_U : VSPACE_8, this.utf) + ']');
      case 0x56:
        return push('[^' + emitRanges(this.utf ? VSPACE_U : VSPACE_8, this.utf) + ']');
      case 0x52: // R
        return push('(?:\\r\\n|[' + emitRanges(this.utf ? VSPACE_U : VSPACE_8, this.utf) + '])', Kind.Item, 2);
      case 0x58: // X
        return push(this.utf ? '(?:\\r\\n|\\P{M}\\p{M}*)' : '(?:\\r\\n|[\\s\\S])', Kind.Item, Infinity);
      case 0x4e: // N
        if (this.code(this.pos + 1) === 0x7b && !/^\{\d+(?:,\d*)?\}/.test(this.p.slice(this.pos + 1, this.pos + 40))) {
          this.err('PCRE does not support \\L, \\l, \\N{name}, \\U, or \\u', this.pos + 1);
        }
        return push('[^\\n]');
      case 0x43: // C: one data unit; in UTF mode approximated by one character
        return push('[\\s\\S]');
      case 0x62: // b
        return push('\\b', Kind.Anchor, 0);
      case 0x42:
        return push('\\B', Kind.Anchor, 0);
      case 0x41: // A
        return push('^', Kind.Anchor, 0);
      case 0x7a: // z
        return push('(?![\\s\\S])', Kind.Anchor, 0);
      case 0x5a: // Z
        return push('(?=\\n?(?![\\s\\S]))', Kind.Anchor, 0);
      case 0x47: // G
        this.anchoredStart = true;
        this.pos++;
        return [Kind.Anchor, 0];
      case 0x4b: // K
        this.err('\\K (reset match start) is not supported', this.pos + 1);
      // falls through
      case 0x51: // Q
        this.pos++;
        this.inQuote = true;
        return [Kind.None, 0];
      case 0x45: // E
        this.pos++;
        return [Kind.None, 0];
      case 0x70: // p
      case 0x50: {
        this.seeCaseExact();
        const inner = this.readProperty(c === 0x50);
        if (this.utf) this.out.push(inner.neg ? `[^${inner.cls}]` : `[${inner.cls}]`);
        else {
          const r = propertyLatin1(inner.cls);
          this.out.push('[' + emitRanges(inner.neg ? complement(r, this.maxCp) : r, false) + ']');
        }
        return [Kind.Item, one];
      }
      case 0x67: // g
        return this.parseGRef(f);
      case 0x6b: {
        // k
        const open = this.code(this.pos + 1);
        const term = open === 0x3c ? 0x3e : open === 0x27 ? 0x27 : open === 0x7b ? 0x7d : -1;
        if (term < 0) this.err('\\k is not followed by a braced, angle-bracketed, or quoted name', this.pos + 1);
        this.pos += 2;
        const name = this.readName(term);
        this.addRef(new BackRef(0, name, this.pos), f);
        return [Kind.Item, Infinity];
      }
    }
    if (c >= 0x31 && c <= 0x39) {
      // \1..\9 and up: a back reference, or an octal escape, or a literal 8/9
      let k = this.pos;
      let n = 0;
      while (isDigit(this.code(k))) {
        n = n * 10 + this.code(k) - 0x30;
        if (n > 0xffff) this.err('number is too big', k);
        k++;
      }
      if (n < 8 || n <= this.groups.length - 1) {
        this.pos = k;
        this.addRef(new BackRef(n, null, k), f);
        return [Kind.Item, Infinity];
      }
      if (c >= 0x38) {
        this.pos++;
        return [Kind.Item, this.emitLiteral(c, f)];
      }
    }
    const cp = this.escapeChar(f, false);
    return [Kind.Item, this.emitLiteral(cp, f)];
  }

  /** \g forms: \gN \g{N} \g-N \g{-N} \g{name}; \g<..> \g'..' are subroutine calls. */
  parseGRef(f: Flags): [Kind, number] {
    const at = this.pos;
    this.pos++;
    let c = this.code();
    if (c === 0x3c || c === 0x27) this.err('recursion and subroutine calls are not supported', this.pos);
    let braced = false;
    if (c === 0x7b) {
      braced = true;
      this.pos++;
      c = this.code();
    }
    let neg = false;
    if (c === 0x2d || (c === 0x2b && !braced)) {
      neg = c === 0x2d;
      this.pos++;
    }
    if (isDigit(this.code())) {
      let n = 0;
      while (isDigit(this.code())) {
        n = n * 10 + this.code() - 0x30;
        if (n > 0xffff) this.err('number is too big', this.pos);
        this.pos++;
      }
      if (braced) {
        if (this.code() !== 0x7d) this.err('\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number', this.pos);
        this.pos++;
      }
      if (n === 0) this.err('a numbered reference must not be zero', this.pos);
      if (neg) {
        n = this.groups.length - n; // relative: \g{-1} is the most recently opened group
        if (n <= 0) this.err('reference to non-existent subpattern', this.pos);
      }
      this.addRef(new BackRef(n, null, this.pos), f);
      return [Kind.Item, Infinity];
    }
    if (braced && !neg && isWordChar(this.code())) {
      const name = this.readName(0x7d);
      this.addRef(new BackRef(0, name, this.pos), f);
      return [Kind.Item, Infinity];
    }
    this.err('\\g is not followed by a braced, angle-bracketed, or quoted name/number or by a plain number', at + 1);
  }

  readProperty(negated: boolean): { cls: string; neg: boolean } {
    this.pos++;
    let name: string;
    if (this.code() === 0x7b) {
      const end = this.p.indexOf('}', this.pos);
      if (end < 0) this.err('malformed \\P or \\p sequence', this.len);
      name = this.p.slice(this.pos + 1, end);
      this.pos = end + 1;
    } else {
      if (this.pos >= this.len) this.err('malformed \\P or \\p sequence', this.len);
      name = this.p[this.pos];
      this.pos++;
    }
    let neg = negated;
    if (name.startsWith('^')) {
      neg = !neg;
      name = name.slice(1);
    }
    const cls = propertyClass(name);
    if (cls === null) this.err('unknown property name after \\P or \\p', this.pos);
    return { cls, neg };
  }

  /**
   * A single-character escape (pos at the char after the backslash); returns its code point.
   * Handles \a \e \f \n \r \t \0 \ooo \xhh \x{...} \o{...} \cX \u (JS compat) and literal escapes.
   */
  escapeChar(f: Flags, inClass: boolean): number {
    const c = this.p.charCodeAt(this.pos);
    switch (c) {
      case 0x61:
        this.pos++;
        return 0x07;
      case 0x65:
        this.pos++;
        return 0x1b;
      case 0x66:
        this.pos++;
        return 0x0c;
      case 0x6e:
        this.pos++;
        return 0x0a;
      case 0x72:
        this.pos++;
        return 0x0d;
      case 0x74:
        this.pos++;
        return 0x09;
      case 0x78: {
        // x
        this.pos++;
        if (this.jsCompat) {
          if (isHex(this.code()) && isHex(this.code(this.pos + 1))) {
            const v = parseInt(this.p.slice(this.pos, this.pos + 2), 16);
            this.pos += 2;
            return v;
          }
          return 0x78;
        }
        if (this.code() === 0x7b) {
          let k = this.pos + 1;
          while (isHex(this.code(k))) k++;
          if (this.code(k) === 0x7d) {
            if (k === this.pos + 1) this.err('digits missing in \\x{} or \\o{}', k);
            const v = parseInt(this.p.slice(this.pos + 1, k), 16);
            this.pos = k + 1;
            return this.checkCp(v, k);
          }
          this.err('non-hex character in \\x{} (closing brace missing?)', k);
        }
        let v = 0;
        for (let n = 0; n < 2 && isHex(this.code()); n++) {
          v = v * 16 + parseInt(this.p[this.pos], 16);
          this.pos++;
        }
        return v;
      }
      case 0x6f: {
        // o{...}
        this.pos++;
        if (this.code() !== 0x7b) this.err('missing opening brace after \\o', this.pos);
        let k = this.pos + 1;
        while (this.code(k) >= 0x30 && this.code(k) <= 0x37) k++;
        if (this.code(k) !== 0x7d) this.err('non-octal character in \\o{} (closing brace missing?)', k);
        if (k === this.pos + 1) this.err('digits missing in \\x{} or \\o{}', k);
        const v = parseInt(this.p.slice(this.pos + 1, k), 8);
        this.pos = k + 1;
        return this.checkCp(v, k);
      }
      case 0x63: {
        // cX
        this.pos++;
        if (this.pos >= this.len) this.err('\\c at end of pattern', this.len);
        let x = this.p.charCodeAt(this.pos);
        if (x > 127) this.err('\\c must be followed by an ASCII character', this.pos);
        this.pos++;
        if (x >= 0x61 && x <= 0x7a) x -= 32;
        return x ^ 0x40;
      }
      case 0x4c: // L
      case 0x6c: // l
      case 0x55: // U
      case 0x75: // u
        if (this.jsCompat) {
          if (c === 0x55) {
            this.pos++;
            return 0x55;
          }
          if (c === 0x75) {
            this.pos++;
            if (/^[0-9A-Fa-f]{4}/.test(this.p.slice(this.pos, this.pos + 4))) {
              const v = parseInt(this.p.slice(this.pos, this.pos + 4), 16);
              this.pos += 4;
              return this.checkCp(v, this.pos);
            }
            return 0x75;
          }
        }
        this.err('PCRE does not support \\L, \\l, \\N{name}, \\U, or \\u', this.pos + 1);
    }
    if (c >= 0x30 && c <= 0x37) {
      // octal: up to three digits
      let v = 0;
      let n = 0;
      while (n < 3 && this.code() >= 0x30 && this.code() <= 0x37) {
        v = v * 8 + this.code() - 0x30;
        this.pos++;
        n++;
      }
      if (!this.utf && v > 0xff) this.err('octal value is greater than \\377 in 8-bit non-UTF-8 mode', this.pos);
      return v;
    }
    if (isAlpha(c) || isDigit(c)) {
      if (f.X) this.err('unrecognized character follows \\', this.pos + 1);
      this.pos++;
      return c;
    }
    void inClass;
    const cp = this.cpAt(this.pos);
    this.pos += this.width(cp);
    return cp;
  }

  checkCp(v: number, at: number): number {
    if (v > (this.utf ? 0x10ffff : 0xff)) this.err('character value in \\x{} or \\o{} is too large', at);
    if (this.utf && v >= 0xd800 && v <= 0xdfff) this.err('disallowed Unicode code point (>= 0xd800 && <= 0xdfff)', at);
    return v;
  }

  // ---- classes ----

  /** `[:name:]`-like syntax at pos (which is at '['): returns the end index (after ']') or -1. */
  posixAt(at: number): number {
    const term = this.code(at + 1);
    if (term !== 0x3a && term !== 0x2e && term !== 0x3d) return -1;
    for (let k = at + 2; k < this.len; k++) {
      const c = this.p.charCodeAt(k);
      if (c === 0x5c && (this.code(k + 1) === 0x5d || this.code(k + 1) === 0x5c)) {
        k++;
        continue;
      }
      if (c === 0x5d) return -1;
      if (c === term && this.code(k + 1) === 0x5d) return k + 2;
      if (c === 0x5b && (this.code(k + 1) === 0x3a || this.code(k + 1) === 0x2e || this.code(k + 1) === 0x3d)) return -1;
    }
    return -1;
  }

  parseClass(f: Flags): void {
    const open = this.pos;
    if (this.posixAt(open) >= 0) this.err('POSIX named classes are supported only within a class', open);
    this.pos++;
    let neg = false;
    if (this.code() === 0x5e) {
      neg = true;
      this.pos++;
    }
    if (this.jsCompat && this.code() === 0x5d) {
      this.pos++;
      this.out.push(neg ? '[\\s\\S]' : '(?!)');
      return;
    }
    let ranges: Ranges = [];
    let extra = '';
    let cased = false;
    let first = true;
    let quote = false;
    for (;;) {
      if (this.pos >= this.len) this.err('missing terminating ] for character class', this.len);
      let c = this.p.charCodeAt(this.pos);
      let single = -1;
      if (quote) {
        if (c === 0x5c && this.code(this.pos + 1) === 0x45) {
          quote = false;
          this.pos += 2;
          continue;
        }
        single = this.cpAt(this.pos);
        this.pos += this.width(single);
      } else if (c === 0x5d && !first) {
        this.pos++;
        break;
      } else if (c === 0x5b && this.posixAt(this.pos) >= 0) {
        const end = this.posixAt(this.pos);
        const term = this.code(this.pos + 1);
        if (term !== 0x3a) this.err('POSIX collating elements are not supported', this.pos);
        let name = this.p.slice(this.pos + 2, end - 2);
        let pneg = false;
        if (name.startsWith('^')) {
          pneg = true;
          name = name.slice(1);
        }
        let r = POSIX[name];
        if (r === undefined) this.err('unknown POSIX class name', this.pos + 2);
        if (f.i && (name === 'upper' || name === 'lower')) r = POSIX.alpha;
        if (name === 'upper' || name === 'lower') cased = true;
        ranges = ranges.concat(pneg ? complement(r, this.maxCp) : r);
        this.pos = end;
        first = false;
        continue;
      } else if (c === 0x5c) {
        this.pos++;
        if (this.pos >= this.len) this.err('\\ at end of pattern', this.len);
        c = this.p.charCodeAt(this.pos);
        const set = this.classEscapeSet(c, f);
        if (set === 'quote') {
          quote = true;
          first = false;
          continue;
        }
        if (set === 'none') {
          first = false;
          continue;
        }
        if (set !== null) {
          if (typeof set === 'string') {
            extra += set;
          } else ranges = ranges.concat(set);
          first = false;
          continue;
        }
        single = this.classEscapeChar(c, f);
      } else {
        single = this.cpAt(this.pos);
        this.pos += this.width(single);
      }
      first = false;
      // a range?
      if (this.code() === 0x2d && this.pos + 1 < this.len && this.code(this.pos + 1) !== 0x5d && !quote) {
        const save = this.pos;
        this.pos++;
        let hi: number;
        const d = this.code();
        if (d === 0x5c) {
          this.pos++;
          if (this.pos >= this.len) this.err('\\ at end of pattern', this.len);
          const e = this.p.charCodeAt(this.pos);
          if (e === 0x45 || e === 0x51) {
            // \E or \Q after '-': the hyphen is literal (PCRE does the same for \Q\E)
            this.pos = save;
            this.addSingle(ranges, single, f);
            if (caseVariants(single, this.utf).length > 0) cased = true;
            continue;
          }
          const set = this.classEscapeSet(e, f, true);
          if (set !== null) this.err('invalid range in character class', this.pos);
          hi = this.classEscapeChar(e, f);
        } else if (d === 0x5b && this.posixAt(this.pos) >= 0) {
          this.err('invalid range in character class', this.posixAt(this.pos) - 1);
        } else {
          hi = this.cpAt(this.pos);
          this.pos += this.width(hi);
        }
        if (hi < single) this.err('range out of order in character class', this.pos - 1);
        ranges.push(single, hi);
        if (hasCased(single, hi, this.utf)) cased = true;
        continue;
      }
      this.addSingle(ranges, single, f);
      if (caseVariants(single, this.utf).length > 0) cased = true;
    }
    if (cased) this.seeCase(f);
    if (f.i && this.mode === CaseMode.Manual) ranges = addCaseRanges(ranges, this.utf);
    const body = emitRanges(normalize(ranges), this.utf) + extra;
    this.out.push((neg ? '[^' : '[') + body + ']');
  }

  addSingle(ranges: Ranges, cp: number, f: Flags): void {
    ranges.push(cp, cp);
    if (f.i && this.mode === CaseMode.Manual) for (const v of caseVariants(cp, this.utf)) ranges.push(v, v);
  }

  /**
   * For a class escape that stands for a set: its ranges or its JS class text; 'quote' for \Q, 'none'
   * for \E, null for a single character (pos unchanged then). Advances past set escapes.
   */
  classEscapeSet(c: number, f: Flags, peekOnly = false): Ranges | string | 'quote' | 'none' | null {
    let r: Ranges | string | 'quote' | 'none' | null = null;
    switch (c) {
      case 0x64:
        r = '\\d';
        break;
      case 0x44:
        r = '\\D';
        break;
      case 0x77:
        r = '\\w';
        break;
      case 0x57:
        r = '\\W';
        break;
      case 0x73:
        r = SPACE;
        break;
      case 0x53:
        r = complement(SPACE, this.maxCp);
        break;
      case 0x68:
        r = this.utf ? HSPACE_U : HSPACE_8;
        break;
      case 0x48:
        r = complement(this.utf ? HSPACE_U : HSPACE_8, this.maxCp);
        break;
      case 0x76:
        r = this.utf ? VSPACE_U : VSPACE_8;
        break;
      case 0x56:
        r = complement(this.utf ? VSPACE_U : VSPACE_8, this.maxCp);
        break;
      case 0x70:
      case 0x50: {
        if (peekOnly) return '\\p';
        this.seeCaseExact();
        const inner = this.readProperty(c === 0x50);
        if (this.utf) {
          if (!inner.neg) return inner.cls;
          // a negated property inside a class: enumerate is too big; use the JS negated escape
          if (/^\\p\{[^}]+\}$/.test(inner.cls)) return '\\P' + inner.cls.slice(2);
          this.err('negated compound property inside a class is not supported', this.pos);
        }
        const lr = propertyLatin1(inner.cls);
        return inner.neg ? complement(lr, this.maxCp) : lr;
      }
      case 0x42:
      case 0x52:
      case 0x58:
        this.err('invalid escape sequence in character class', this.pos + 1);
      // falls through
      case 0x4e:
        this.err('\\N is not supported in a class', this.pos + 1);
      // falls through
      case 0x51:
        if (peekOnly) return null;
        r = 'quote';
        break;
      case 0x45:
        if (peekOnly) return null;
        r = 'none';
        break;
    }
    void f;
    if (r !== null && !peekOnly) this.pos++;
    return r;
  }

  /** A single character inside a class, pos at the char after the backslash. */
  classEscapeChar(c: number, f: Flags): number {
    if (c === 0x62) {
      this.pos++;
      return 0x08;
    }
    if (c === 0x38 || c === 0x39) {
      this.pos++;
      return c;
    }
    if (c === 0x67 || c === 0x6b) {
      this.pos++;
      return c;
    }
    return this.escapeChar(f, true);
  }

  finish(flags: string, maxLength: number): ParseResult {
    // forward references are checked once all groups are known
    const ncap = this.groups.length - 1;
    for (const r of this.refs) {
      if (r.name !== null) {
        const n = this.names.find((x) => x.name === r.name);
        if (n === undefined) this.err('reference to non-existent subpattern', r.offset);
        (r as any).resolved = n.group;
      } else if (r.num > ncap) this.err('reference to non-existent subpattern', r.offset);
    }
    // number the JS groups in order of their opening parentheses
    let js = 0;
    for (const p of this.out) if (p instanceof Group) p.js = ++js;
    const dup = new Set<string>();
    let hasDup = false;
    for (const n of this.names) {
      if (dup.has(n.name)) hasDup = true;
      dup.add(n.name);
    }
    const useNames = this.jsNames && !hasDup;
    let src = '';
    for (const p of this.out) {
      if (typeof p === 'string') src += p;
      else if (p instanceof Group) src += useNames && p.name !== null ? `(?<${p.name}>` : '(';
      else {
        const g: Group = (p as any).group ?? this.groups[(p as any).resolved ?? p.num];
        src += `(?:\\${g.js})`;
      }
    }
    let identity = true;
    const map: number[] = [0];
    for (let n = 1; n <= ncap; n++) {
      map.push(this.groups[n].js);
      if (this.groups[n].js !== n) identity = false;
    }
    const names = this.names.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.group - b.group));
    return {
      source: src,
      flags,
      captures: ncap,
      groupMap: identity ? null : map,
      names,
      anchoredStart: this.anchoredStart,
      maxLength,
      caseSeen: this.caseSeen,
      backrefs: this.refs.length > 0,
    };
  }
}

function hasCased(lo: number, hi: number, utf: boolean): boolean {
  if (lo <= 0x7a && hi >= 0x41 && !(hi < 0x61 && lo > 0x5a)) return true;
  if (!utf || hi < 0x80) return false;
  if (hi - lo > 64) return true;
  for (let c = Math.max(lo, 0x80); c <= hi; c++) if (caseVariants(c, true).length > 0) return true;
  return false;
}

/** Leading (*VERB) settings PCRE accepts at the start of a pattern. */
const START_VERBS = /^\(\*(UTF8|UTF|UCP|NO_START_OPT|NO_AUTO_POSSESS|CR|LF|CRLF|ANYCRLF|ANY|BSR_ANYCRLF|BSR_UNICODE|LIMIT_MATCH=\d+|LIMIT_RECURSION=\d+)\)/;

/** The length of the leading (*...) settings and whether they ask for UTF mode. */
export function leadingVerbs(pattern: string): { skip: number; utf: boolean } {
  let skip = 0;
  let utf = false;
  for (;;) {
    const m = START_VERBS.exec(pattern.slice(skip, skip + 40));
    if (m === null) return { skip, utf };
    if (m[1] === 'UTF8' || m[1] === 'UTF') utf = true;
    skip += m[0].length;
  }
}

const JS_ERRORS: [RegExp, string][] = [
  [/Unterminated group/i, 'missing )'],
  [/Unmatched '\)'/i, 'unmatched parentheses'],
  [/Nothing to repeat/i, 'nothing to repeat'],
  [/Unterminated character class/i, 'missing terminating ] for character class'],
  [/numbers out of order/i, 'numbers out of order in {} quantifier'],
  [/Range out of order/i, 'range out of order in character class'],
  [/\\ at end of pattern/i, '\\ at end of pattern'],
  [/Invalid group/i, 'unrecognized character after (? or (?-'],
  [/Duplicate capture group name/i, 'two named subpatterns have the same name'],
  [/Invalid named (capture )?reference/i, 'reference to non-existent subpattern'],
  [/Invalid property name/i, 'unknown property name after \\P or \\p'],
  [/Incomplete quantifier|Lone quantifier/i, 'nothing to repeat'],
  [/Invalid escape|Invalid Unicode escape|Invalid class escape/i, 'unrecognized character follows \\'],
];

/** Map a JS RegExp SyntaxError to PCRE wording (only reached if the translation itself is wrong). */
export function pcreMessageForJsError(e: Error): string {
  for (const [re, msg] of JS_ERRORS) if (re.test(e.message)) return msg;
  return 'internal error: ' + e.message.replace(/^Invalid regular expression: /, '');
}

/**
 * Translate a PCRE pattern into a JS RegExp source and flags. `opts` uses ngx.re's option letters;
 * the ones that matter here are i m s x u U (UTF-8) J (JavaScript compat) D (duplicate names).
 * Throws PcreError with PCRE's message and offset for invalid or untranslatable patterns.
 */
export function translatePcre(pattern: string, opts: string, topts?: TranslateOptions): Translated {
  const lead = leadingVerbs(pattern);
  const utf = lead.utf || opts.includes('u') || opts.includes('U');
  const jsCompat = opts.includes('J');
  const base: Flags = { i: opts.includes('i'), m: opts.includes('m'), s: opts.includes('s'), x: opts.includes('x'), U: false, J: opts.includes('D'), X: false };
  const jsNames = topts?.jsNames ?? true;
  const run = (mode: CaseMode): { r: ParseResult; p: Parser } => {
    const p = new Parser(pattern, utf, jsCompat, mode, jsNames);
    p.pos = lead.skip;
    const flags = { ...base };
    const max = p.parse(flags);
    if (p.inQuote) p.inQuote = false; // \Q without \E runs to the end: fine
    return { r: p.finish('', max), p };
  };
  let { r } = run(CaseMode.Flag);
  let flags = '';
  if (r.caseSeen === 3) r = run(CaseMode.Manual).r;
  else if (r.caseSeen === 2) flags += 'i';
  if (utf) flags += 'u';
  try {
    new RegExp(r.source, flags);
  } catch (e) {
    throw new PcreError(pcreMessageForJsError(e as Error), pattern.length);
  }
  return {
    source: r.source,
    flags,
    captures: r.captures,
    groupMap: r.groupMap,
    names: r.names,
    anchoredStart: r.anchoredStart,
    utf,
    maxLength: r.maxLength,
    backrefs: r.backrefs,
  };
}
