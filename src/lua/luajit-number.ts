// LuaJIT's number <-> text conversions, shared by the VM patches (tostring, "%d"/"%f" in error
// messages), string.format, io and the bit/table libraries: LuaJIT's %.14g tostring (fmtNumber),
// the fixed/exponent/%g digit builders behind lj_strfmt_num, and the lj_num2int / lj_num2bit
// truncations. Pure functions, no Lua state: safe to import from anywhere.

// ---------------------------------------------------------------------------------------------
// Number formatting (LuaJIT's lj_strfmt_num: exact decimal expansion, ties rounded away from zero,
// which is what JS toFixed/toExponential do).

/** Bytes of an ASCII JS string. */
export function asciiBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

function sigDigits(s: string): number {
  let n = 0;
  let leading = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    if (leading && c === 48) continue;
    leading = false;
    n++;
  }
  return n;
}

/** a >= 0, finite: fixed notation with `prec` decimals (any magnitude). */
export function fixedDigits(a: number, prec: number): string {
  if (a < 1e21) return a.toFixed(prec);
  const s = BigInt(a).toString();
  return prec > 0 ? s + '.' + '0'.repeat(prec) : s;
}

/** a >= 0, finite: "d.ddde+XX" with at least two exponent digits. */
export function expDigits(a: number, prec: number, upper: boolean): string {
  const s = a.toExponential(prec);
  const i = s.indexOf('e');
  let ex = s.slice(i + 2);
  if (ex.length < 2) ex = '0' + ex;
  return s.slice(0, i) + (upper ? 'E' : 'e') + s[i + 1] + ex;
}

function stripZeros(m: string): string {
  if (m.indexOf('.') < 0) return m;
  let e = m.length;
  while (m.charCodeAt(e - 1) === 48) e--;
  if (m.charCodeAt(e - 1) === 46) e--;
  return m.slice(0, e);
}

/** %g body for a >= 0, finite. */
export function gDigits(a: number, prec: number, alt: boolean, upper: boolean): string {
  const P = prec === 0 ? 1 : prec;
  let X = 0;
  if (a !== 0) {
    const s = a.toExponential(P - 1);
    X = parseInt(s.slice(s.indexOf('e') + 1), 10);
  }
  if (P > X && X >= -4) {
    const f = fixedDigits(a, P - 1 - X);
    if (!alt) return stripZeros(f);
    return f.indexOf('.') < 0 ? f + '.' : f;
  }
  const e = expDigits(a, P - 1, upper);
  const k = e.indexOf(upper ? 'E' : 'e');
  let m = e.slice(0, k);
  if (!alt) m = stripZeros(m);
  else if (m.indexOf('.') < 0) m += '.';
  return m + e.slice(k);
}

/** LuaJIT's tostring() of a number: "%.14g" with "inf", "-inf", "nan" and "-0". */
export function fmtNumber(n: number): string {
  if (Number.isInteger(n)) {
    if (n === 0) return Object.is(n, -0) ? '-0' : '0';
    if (n < 1e14 && n > -1e14) return String(n);
  } else {
    if (n !== n) return 'nan';
    if (n === Infinity) return 'inf';
    if (n === -Infinity) return '-inf';
    const a = n < 0 ? -n : n;
    if (a >= 1e-4 && a < 1e14) {
      // shortest round-trip form when it has at most 14 digits, else %.14g in fixed notation
      const s = String(n);
      if (s.length <= 15 || sigDigits(s) <= 14) return s;
      const p = n.toPrecision(14);
      if (p.indexOf('e') < 0) return stripZeros(p);
    }
  }
  return n < 0 ? '-' + gDigits(-n, 14, false, false) : gDigits(n, 14, false, false);
}

const SMALL_INT_BYTES: Uint8Array[] = [];
for (let i = 0; i < 256; i++) SMALL_INT_BYTES.push(asciiBytes(String(i)));

/** Bytes of fmtNumber(n); small non-negative integers come from a table. */
export function numberBytes(n: number): Uint8Array {
  if (n >= 0 && n < 256 && (n | 0) === n && !Object.is(n, -0)) return SMALL_INT_BYTES[n];
  return asciiBytes(fmtNumber(n));
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: u32[0] = low word, u32[1] = high word

/** LuaJIT's lj_num2int: truncate, out of range (and NaN) gives INT32_MIN. */
export function num2int(n: number): number {
  const t = Math.trunc(n);
  return t >= -2147483648 && t <= 2147483647 ? t : -2147483648;
}

/** LuaJIT's lj_num2bit: round to nearest even, keep the low 32 bits, signed. */
export function tobit(n: number): number {
  f64[0] = n + 6755399441055744.0;
  return u32[0] | 0;
}
