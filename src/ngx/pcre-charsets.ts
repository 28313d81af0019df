// Character data for the PCRE translator: ASCII character tests, code points as JS regex atoms,
// character sets as sorted range lists (\s \h \v, POSIX classes, Unicode properties in byte mode)
// and PCRE's case folding (other-case forms of characters and ranges).

function hex(n: number, w: number): string {
  return n.toString(16).padStart(w, '0');
}

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
export function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
export function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
export function isWordChar(c: number): boolean {
  return isAlpha(c) || isDigit(c) || c === 0x5f;
}
export function isXSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** A code point as a JS regex atom, valid both inside and outside classes, with or without `u`. */
export function lit(cp: number, utf: boolean): string {
  if (isWordChar(cp)) return String.fromCharCode(cp);
  if (cp < 0x100) return '\\x' + hex(cp, 2);
  if (cp < 0x10000) return '\\u' + hex(cp, 4);
  if (utf) return '\\u{' + cp.toString(16) + '}';
  const v = cp - 0x10000;
  return '\\u' + hex(0xd800 + (v >> 10), 4) + '\\u' + hex(0xdc00 + (v & 0x3ff), 4);
}

// ---- character sets as sorted [lo, hi] range lists ----

export type Ranges = number[]; // flat pairs

export function complement(r: Ranges, max: number): Ranges {
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

export function normalize(r: Ranges): Ranges {
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

export function emitRanges(r: Ranges, utf: boolean): string {
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

export const SPACE: Ranges = [0x09, 0x0d, 0x20, 0x20]; // \s: HT LF VT FF CR SP (PCRE >= 8.34)
export const HSPACE_8: Ranges = [0x09, 0x09, 0x20, 0x20, 0xa0, 0xa0];
export const HSPACE_U: Ranges = [0x09, 0x09, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x180e, 0x180e, 0x2000, 0x200a, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000];
export const VSPACE_8: Ranges = [0x0a, 0x0d, 0x85, 0x85];
export const VSPACE_U: Ranges = [0x0a, 0x0d, 0x85, 0x85, 0x2028, 0x2029];

/** POSIX classes, PCRE's defaults (C locale, ASCII). */
export const POSIX: Record<string, Ranges> = {
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
export function propertyClass(name: string): string | null {
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
export function propertyLatin1(inner: string): Ranges {
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
export function caseVariants(cp: number, utf: boolean): number[] {
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

export function addCaseRanges(r: Ranges, utf: boolean): Ranges {
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

export function hasCased(lo: number, hi: number, utf: boolean): boolean {
  if (lo <= 0x7a && hi >= 0x41 && !(hi < 0x61 && lo > 0x5a)) return true;
  if (!utf || hi < 0x80) return false;
  if (hi - lo > 64) return true;
  for (let c = Math.max(lo, 0x80); c <= hi; c++) if (caseVariants(c, true).length > 0) return true;
  return false;
}
