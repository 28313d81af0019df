/**
 * nginx's value parsers (src/core/ngx_string.c ngx_atoi, src/core/ngx_parse.c).
 * Each returns null where nginx returns NGX_ERROR.
 */

const MAX_INT = Number.MAX_SAFE_INTEGER; // stands in for NGX_MAX_INT_T_VALUE

/** ngx_atoi(): decimal digits only, no sign, not empty. */
export function ngxAtoi(s: string): number | null {
  if (s.length === 0 || !/^[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return n > MAX_INT ? null : n;
}

function scaled(s: string, units: Record<string, number>): number | null {
  if (s.length === 0) return null;
  const scale = units[s[s.length - 1]];
  const n = ngxAtoi(scale ? s.slice(0, -1) : s);
  if (n === null) return null;
  const v = n * (scale ?? 1);
  return v > MAX_INT ? null : v;
}

const K = 1024;
const SIZE_UNITS: Record<string, number> = { k: K, K, m: K * K, M: K * K };
const OFFSET_UNITS: Record<string, number> = { ...SIZE_UNITS, g: K * K * K, G: K * K * K };

/** ngx_parse_size(): N, Nk, Nm (case-insensitive units). Bytes. */
export function ngxParseSize(s: string): number | null {
  return scaled(s, SIZE_UNITS);
}

/** ngx_parse_offset(): like sizes, plus g. Bytes. */
export function ngxParseOffset(s: string): number | null {
  return scaled(s, OFFSET_UNITS);
}

const T_START = 0;
const T_YEAR = 1;
const T_MONTH = 2;
const T_WEEK = 3;
const T_DAY = 4;
const T_HOUR = 5;
const T_MIN = 6;
const T_SEC = 7;
const T_MSEC = 8;
const T_LAST = 9;

/**
 * ngx_parse_time(): "1y 2M 3w 4d 5h 6m 7s 8ms" (units in this order, spaces
 * optional between parts). A bare number means seconds. With `isSec` the
 * result is in seconds and "ms" is rejected; otherwise it is in milliseconds
 * and "y"/"M" are rejected (nginx's msec slots).
 */
export function ngxParseTime(s: string, isSec: boolean): number | null {
  let valid = false;
  let value = 0;
  let total = 0;
  let step = isSec ? T_START : T_MONTH;
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c >= '0' && c <= '9') {
      value = value * 10 + (c.charCodeAt(0) - 48);
      if (value > MAX_INT) return null;
      valid = true;
      i++;
      continue;
    }
    i++;
    let scale: number;
    let next: number;
    let limit: number; // step must be below this
    switch (c) {
      case 'y': next = T_YEAR; limit = T_YEAR; scale = 365 * 86400; break;
      case 'M': next = T_MONTH; limit = T_MONTH; scale = 30 * 86400; break;
      case 'w': next = T_WEEK; limit = T_WEEK; scale = 7 * 86400; break;
      case 'd': next = T_DAY; limit = T_DAY; scale = 86400; break;
      case 'h': next = T_HOUR; limit = T_HOUR; scale = 3600; break;
      case 'm':
        if (s[i] === 's') {
          if (isSec) return null;
          i++;
          next = T_MSEC; limit = T_MSEC; scale = 1;
        } else {
          next = T_MIN; limit = T_MIN; scale = 60;
        }
        break;
      case 's': next = T_SEC; limit = T_SEC; scale = 1; break;
      case ' ': next = T_LAST; limit = T_SEC; scale = 1; break;
      default: return null;
    }
    // 'y' is rejected once anything was seen ("step > st_start"), the rest
    // once their own or a smaller unit was seen ("step >= st_x")
    if (c === 'y' ? step > T_START : step >= limit) return null;
    step = next;
    if (step !== T_MSEC && !isSec) scale *= 1000;
    value *= scale;
    if (value > MAX_INT || total + value > MAX_INT) return null;
    total += value;
    value = 0;
    while (s[i] === ' ') i++;
  }
  if (!valid) return null;
  if (!isSec) value *= 1000;
  const r = total + value;
  return r > MAX_INT ? null : r;
}
