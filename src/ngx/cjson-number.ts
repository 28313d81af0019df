// Number conversions for cjson, matching what lua-cjson gets from glibc: `snprintf("%.<p>g")` when
// encoding and `strtod()` when decoding (lua-cjson's fpconv.c calls both directly in a "C" locale).
// JS gives correctly rounded digits (toExponential / Number()), but rounds exact decimal ties away
// from zero where glibc rounds them to even, so exact ties are detected and fixed here.

const POW10: number[] = [];
for (let i = 0; i <= 22; i++) POW10.push(10 ** i);

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Is `v` (finite, > 0) exactly equal to the decimal D × 10^k? */
function isExactly(v: number, digits: string, k: number): boolean {
  f64[0] = v;
  const hi = u32[LITTLE ? 1 : 0];
  const lo = u32[LITTLE ? 0 : 1];
  const bexp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (bexp === 0) e = -1074;
  else {
    m |= 1n << 52n;
    e = bexp - 1075;
  }
  // D·10^k = m·2^e  <=>  D·10^(k+K)·2^E2 = m·2^(e+E2)·10^K with every exponent >= 0
  const K = k < 0 ? -k : 0;
  const E2 = e < 0 ? -e : 0;
  const lhs = BigInt(digits) * 10n ** BigInt(k + K) * (1n << BigInt(E2));
  const rhs = m * (1n << BigInt(e + E2)) * 10n ** BigInt(K);
  return lhs === rhs;
}

/** Significant digits (no trailing zeros) and decimal exponent of |x| rounded to `prec` digits,
 *  ties to even like glibc. `x` is finite and non-zero. */
function roundDigits(ax: number, prec: number): [string, number] {
  // Shortest round-trip digits are the correctly rounded ones whenever they fit in `prec` digits and
  // prec <= 15 (a normal double's error is then always below half a unit in the prec-th digit).
  if (prec <= 15 && ax >= 2.2250738585072014e-308) {
    const s = String(ax);
    const r = parseJsNumber(s);
    if (r[0].length <= prec) return r;
  }
  const s = ax.toExponential(prec - 1);
  let [digits, exp] = splitExponential(s);
  // An exact tie at digit prec+1 is rounded up by JS; glibc rounds it to even.
  const t = ax.toExponential(prec);
  if (t.charCodeAt(t.indexOf('e') - 1) === 0x35 /* '5' */) {
    const [tDigits, tExp] = splitExponentialRaw(t);
    if (isExactly(ax, tDigits, tExp - (tDigits.length - 1))) {
      const truncated = tDigits.slice(0, prec);
      const last = truncated.charCodeAt(prec - 1) - 48;
      if ((last & 1) === 0) {
        digits = stripZeros(truncated);
        exp = tExp;
      }
    }
  }
  return [digits, exp];
}

function stripZeros(d: string): string {
  let end = d.length;
  while (end > 1 && d.charCodeAt(end - 1) === 48) end--;
  return end === d.length ? d : d.slice(0, end);
}

/** "d.ddde+X" -> all mantissa digits and X */
function splitExponentialRaw(s: string): [string, number] {
  const e = s.indexOf('e');
  const mant = s.charCodeAt(1) === 0x2e ? s[0] + s.slice(2, e) : s.slice(0, e);
  return [mant, Number(s.slice(e + 1))];
}

function splitExponential(s: string): [string, number] {
  const [d, x] = splitExponentialRaw(s);
  return [stripZeros(d), x];
}

/** Digits (no leading/trailing zeros) and decimal exponent of a positive JS number string
 *  ("123.45", "0.00012", "1.5e-7", "1e+21"). */
function parseJsNumber(s: string): [string, number] {
  const e = s.indexOf('e');
  let exp10 = 0;
  let mant = s;
  if (e >= 0) {
    exp10 = Number(s.slice(e + 1));
    mant = s.slice(0, e);
  }
  const dot = mant.indexOf('.');
  let intLen = dot < 0 ? mant.length : dot;
  let digits = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  let lead = 0;
  while (lead < digits.length - 1 && digits.charCodeAt(lead) === 48) lead++;
  digits = digits.slice(lead);
  intLen -= lead;
  return [stripZeros(digits), exp10 + intLen - 1];
}

/** `%.<prec>g` of a finite number, as glibc prints it. */
export function formatG(x: number, prec: number): string {
  if (Number.isInteger(x) && (x < 0 ? -x : x) < POW10[prec]) {
    return x === 0 && 1 / x < 0 ? '-0' : String(x);
  }
  const neg = x < 0;
  const [digits, exp] = roundDigits(neg ? -x : x, prec);
  let out: string;
  if (exp < -4 || exp >= prec) {
    out = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
    const ae = exp < 0 ? -exp : exp;
    out += (exp < 0 ? 'e-' : 'e+') + (ae < 10 ? '0' + ae : String(ae));
  } else if (exp < 0) {
    out = '0.' + '0'.repeat(-exp - 1) + digits;
  } else if (digits.length <= exp + 1) {
    out = digits + '0'.repeat(exp + 1 - digits.length);
  } else {
    out = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
  }
  return neg ? '-' + out : out;
}

// ---- strtod ----

function lower(c: number): number {
  return c | 0x20;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

function matchCI(b: Uint8Array, pos: number, word: string): boolean {
  if (pos + word.length > b.length) return false;
  for (let i = 0; i < word.length; i++) if (lower(b[pos + i]) !== word.charCodeAt(i)) return false;
  return true;
}

/** Result of strtod: the value and the index just past what was consumed (== start: no number). */
export const strtodResult = { value: 0, end: 0 };

/** glibc strtod() on b[pos..] (the string ends at b.length or at a NUL byte, as in C): decimal and
 *  hexadecimal floats, "inf"/"infinity", "nan"/"nan(chars)", optional sign. Leading whitespace is
 *  not skipped (lua-cjson never calls it on whitespace). */
export function strtod(b: Uint8Array, pos: number): typeof strtodResult {
  const len = b.length;
  const r = strtodResult;
  let i = pos;
  let neg = false;
  r.value = 0;
  r.end = pos;
  if (i < len && (b[i] === 0x2b || b[i] === 0x2d)) {
    neg = b[i] === 0x2d;
    i++;
  }
  if (i >= len) return r;
  const c = b[i];
  if (lower(c) === 0x69 /* i */) {
    if (!matchCI(b, i, 'inf')) return r;
    i += 3;
    if (matchCI(b, i, 'inity')) i += 5;
    r.value = neg ? -Infinity : Infinity;
    r.end = i;
    return r;
  }
  if (lower(c) === 0x6e /* n */) {
    if (!matchCI(b, i, 'nan')) return r;
    i += 3;
    if (i < len && b[i] === 0x28 /* ( */) {
      let j = i + 1;
      while (j < len) {
        const d = b[j];
        if ((d >= 48 && d <= 57) || (lower(d) >= 97 && lower(d) <= 122) || d === 0x5f) j++;
        else break;
      }
      if (j < len && b[j] === 0x29) i = j + 1;
    }
    r.value = NaN;
    r.end = i;
    return r;
  }
  if (c === 0x30 && i + 1 < len && lower(b[i + 1]) === 0x78 /* x */) {
    // hexadecimal float: 0x h* [. h*] [p [+-] d+], at least one hex digit
    let j = i + 2;
    let mant = 0n;
    let nd = 0;
    let fracDigits = 0;
    while (j < len && hexVal(b[j]) >= 0) {
      mant = (mant << 4n) | BigInt(hexVal(b[j]));
      j++;
      nd++;
    }
    if (j < len && b[j] === 0x2e) {
      let k = j + 1;
      while (k < len && hexVal(b[k]) >= 0) {
        mant = (mant << 4n) | BigInt(hexVal(b[k]));
        k++;
        nd++;
        fracDigits++;
      }
      if (nd > 0) j = k;
    }
    if (nd === 0) {
      // just "0": the x is not part of the number
      r.value = neg ? -0 : 0;
      r.end = i + 1;
      return r;
    }
    let bexp = 0;
    if (j < len && lower(b[j]) === 0x70 /* p */) {
      let k = j + 1;
      let eneg = false;
      if (k < len && (b[k] === 0x2b || b[k] === 0x2d)) {
        eneg = b[k] === 0x2d;
        k++;
      }
      if (k < len && b[k] >= 48 && b[k] <= 57) {
        let ev = 0;
        while (k < len && b[k] >= 48 && b[k] <= 57) {
          if (ev < 100000) ev = ev * 10 + (b[k] - 48);
          k++;
        }
        bexp = eneg ? -ev : ev;
        j = k;
      }
    }
    let v = Number(mant);
    let e2 = bexp - 4 * fracDigits;
    // scale in steps so intermediate powers stay finite
    while (e2 > 0 && v !== 0 && Number.isFinite(v)) {
      const s = e2 > 1000 ? 1000 : e2;
      v *= 2 ** s;
      e2 -= s;
    }
    while (e2 < 0 && v !== 0) {
      const s = e2 < -1000 ? -1000 : e2;
      v *= 2 ** s;
      e2 -= s;
    }
    r.value = neg ? -v : v;
    r.end = j;
    return r;
  }
  // decimal: d* [. d*] (at least one digit) [e [+-] d+]
  const start = i;
  let nd = 0;
  while (i < len && b[i] >= 48 && b[i] <= 57) {
    i++;
    nd++;
  }
  if (i < len && b[i] === 0x2e) {
    i++;
    while (i < len && b[i] >= 48 && b[i] <= 57) {
      i++;
      nd++;
    }
  }
  if (nd === 0) return r;
  if (i < len && lower(b[i]) === 0x65 /* e */) {
    let k = i + 1;
    if (k < len && (b[k] === 0x2b || b[k] === 0x2d)) k++;
    if (k < len && b[k] >= 48 && b[k] <= 57) {
      while (k < len && b[k] >= 48 && b[k] <= 57) k++;
      i = k;
    }
  }
  let s = '';
  for (let k = start; k < i; k++) s += String.fromCharCode(b[k]);
  const v = Number(s);
  r.value = neg ? -v : v;
  r.end = i;
  return r;
}
