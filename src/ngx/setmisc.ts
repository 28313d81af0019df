// set-misc-nginx-module (0.33) filters as pure functions over byte strings (latin1 JS strings, one
// char per byte), shared by the set_* config directives and ndk.set_var.* in Lua (src/ngx/ndk.ts).
//
// A filter gets the directive's value arguments (after variable interpolation) and returns the new
// value, or null where the C filter returns NGX_ERROR (the directive fails; from Lua, ndk.set_var
// raises "calling directive NAME failed with code -1").
//
// Not here: set_rotate (needs per-location counter state), set_hashed_upstream and
// set_consistent_hashed_upstream (need upstream lists) — the config layer must handle those.
import * as crypto from 'node:crypto';
import {
  md5Bin, sha1Bin, hmacBin, hexDump, encodeBase64, decodeBase64, escapeUri, quoteSqlStr, SETMISC_URI_MAP,
} from './codec.js';
import { localTimeString, strftime, type TmFields } from './timefmt.js';
import { cachedNowMs } from './time.js';

export interface SetMiscOptions {
  /** set_base32_padding (default on) */
  base32Padding?: boolean;
  /** set_base32_alphabet (default "0123456789abcdefghijklmnopqrstuv") */
  base32Alphabet?: string;
}

export type SetMiscFilter = (args: string[], opts?: SetMiscOptions) => string | null;

const DEFAULT_BASE32 = '0123456789abcdefghijklmnopqrstuv';

const toBytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const toStr = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

/** set-misc's own unescape (a state machine): '+' is a space, an invalid %-sequence is dropped. */
export function setMiscUnescapeUri(s: string): string {
  let out = '';
  let state = 0;
  let decoded = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (state === 0) {
      if (ch === 37) state = 1;
      else if (ch === 43) out += ' ';
      else out += s[i];
    } else if (state === 1) {
      const c = ch | 0x20;
      if (ch >= 48 && ch <= 57) {
        decoded = ch - 48;
        state = 2;
      } else if (c >= 97 && c <= 102) {
        decoded = c - 87;
        state = 2;
      } else {
        state = 0;
        out += s[i];
      }
    } else {
      state = 0;
      const c = ch | 0x20;
      if (ch >= 48 && ch <= 57) out += String.fromCharCode((decoded << 4) + ch - 48);
      else if (c >= 97 && c <= 102) out += String.fromCharCode((decoded << 4) + c - 87);
      // an invalid second digit drops the sequence
    }
  }
  return out;
}

export function encodeBase32(s: string, padding = true, alphabet = DEFAULT_BASE32): string {
  const b = toBytes(s);
  let out = '';
  let i = 0;
  const A = alphabet;
  while (b.length - i > 4) {
    const s0 = b[i], s1 = b[i + 1], s2 = b[i + 2], s3 = b[i + 3], s4 = b[i + 4];
    out += A[s0 >> 3] + A[((s0 & 7) << 2) | (s1 >> 6)] + A[(s1 >> 1) & 31] + A[((s1 & 1) << 4) | (s2 >> 4)] +
      A[((s2 & 15) << 1) | (s3 >> 7)] + A[(s3 >> 2) & 31] + A[((s3 & 3) << 3) | (s4 >> 5)] + A[s4 & 31];
    i += 5;
  }
  const len = b.length - i;
  if (len) {
    const s0 = b[i], s1 = b[i + 1] ?? 0, s2 = b[i + 2] ?? 0, s3 = b[i + 3] ?? 0;
    out += A[s0 >> 3];
    if (len === 1) {
      out += A[(s0 & 7) << 2];
      if (padding) out += '=====';
    } else {
      out += A[((s0 & 7) << 2) | (s1 >> 6)] + A[(s1 >> 1) & 31];
      if (len === 2) {
        out += A[(s1 & 1) << 4];
        if (padding) out += '===';
      } else {
        out += A[((s1 & 1) << 4) | (s2 >> 4)];
        if (len === 3) {
          out += A[(s2 & 15) << 1];
          if (padding) out += '==';
        } else {
          out += A[((s2 & 15) << 1) | (s3 >> 7)] + A[(s3 >> 2) & 31] + A[(s3 & 3) << 3];
        }
      }
    }
    if (padding) out += '=';
  }
  return out;
}

/** set_decode_base32: null on bad input (the directive then yields an empty value). */
export function decodeBase32(s: string, alphabet = DEFAULT_BASE32): string | null {
  const basis = new Uint8Array(256).fill(77);
  for (let i = 0; i < 32; i++) basis[alphabet.charCodeAt(i)] = i;
  let len = 0;
  for (; len < s.length; len++) {
    const c = s.charCodeAt(len);
    if (c === 61) break;
    if (c > 255 || basis[c] === 77) return null;
  }
  const mod = len % 8;
  if (mod === 1 || mod === 3 || mod === 6) return null;
  const v = (k: number) => basis[s.charCodeAt(k)];
  const out: number[] = [];
  let p = 0;
  while (len > 7) {
    out.push(((v(p) << 3) | ((v(p + 1) >> 2) & 7)) & 255);
    out.push((((v(p + 1) & 3) << 6) | (v(p + 2) << 1) | ((v(p + 3) >> 4) & 1)) & 255);
    out.push((((v(p + 3) & 15) << 4) | ((v(p + 4) >> 1) & 15)) & 255);
    out.push((((v(p + 4) & 1) << 7) | ((v(p + 5) & 31) << 2) | ((v(p + 6) >> 3) & 3)) & 255);
    out.push((((v(p + 6) & 7) << 5) | (v(p + 7) & 31)) & 255);
    p += 8;
    len -= 8;
  }
  if (len) {
    out.push(((v(p) << 3) | ((v(p + 1) >> 2) & 7)) & 255);
    if (len > 2) {
      out.push((((v(p + 1) & 3) << 6) | ((v(p + 2) & 31) << 1) | ((v(p + 3) >> 4) & 1)) & 255);
      if (len > 4) {
        out.push((((v(p + 3) & 15) << 4) | ((v(p + 4) >> 1) & 15)) & 255);
        if (len > 5) out.push((((v(p + 4) & 1) << 7) | ((v(p + 5) & 31) << 2) | ((v(p + 6) >> 3) & 3)) & 255);
      }
    }
  }
  return String.fromCharCode(...out);
}

function pgUtfMblen(c: number): number {
  if ((c & 0x80) === 0) return 1;
  if ((c & 0xe0) === 0xc0) return 2;
  if ((c & 0xf0) === 0xe0) return 3;
  if ((c & 0xf8) === 0xf0) return 4;
  return 1;
}

/** PostgreSQL's pg_utf8_islegal, as copied into set-misc. */
function pgUtfIslegal(b: Buffer): boolean {
  let i = 0;
  while (i < b.length) {
    const mblen = pgUtfMblen(b[i]);
    if (b.length - i < mblen) return false;
    if (mblen >= 4) {
      const a = b[i + 3];
      if (a < 0x80 || a > 0xbf) return false;
    }
    if (mblen >= 3) {
      const a = b[i + 2];
      if (a < 0x80 || a > 0xbf) return false;
    }
    const lead = b[i];
    if (mblen >= 2) {
      const a = b[i + 1];
      if (lead === 0xe0) {
        if (a < 0xa0 || a > 0xbf) return false;
      } else if (lead === 0xed) {
        if (a < 0x80 || a > 0x9f) return false;
      } else if (lead === 0xf0) {
        if (a < 0x90 || a > 0xbf) return false;
      } else if (lead === 0xf4) {
        if (a < 0x80 || a > 0x8f) return false;
      } else if (a < 0x80 || a > 0xbf) return false;
    }
    if (lead >= 0x80 && lead < 0xc2) return false;
    if (lead > 0xf4) return false;
    i += mblen;
  }
  return true;
}

export function quotePgsqlStr(s: string): string {
  if (s === '') return "''";
  const q = Buffer.concat([Buffer.from('E'), Buffer.from(quoteSqlStr(toBytes(s)))]);
  if (pgUtfIslegal(q)) return toStr(q);
  let out = '';
  for (const c of q) {
    if (c & 0x80) out += '\\\\' + String.fromCharCode((c >> 6) + 48, ((c >> 3) & 7) + 48, (c & 7) + 48);
    else out += String.fromCharCode(c);
  }
  return out;
}

export function quoteJsonStr(s: string): string {
  if (s === '') return 'null';
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 13: out += '\\r'; break;
      case 10: out += '\\n'; break;
      case 92: out += '\\\\'; break;
      case 34: out += '\\"'; break;
      case 12: out += '\\f'; break;
      case 8: out += '\\b'; break;
      case 9: out += '\\t'; break;
      default:
        if (c < 32) out += '\\u00' + (c < 16 ? '0' : '1') + '0123456789abcdef'[c & 15];
        else out += s[i];
    }
  }
  return out + '"';
}

/** ngx_atoi: non-negative decimal digits only. */
function atoi(s: string): number | null {
  if (s === '' || !/^[0-9]+$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function secureRandom(s: string, lcalpha: boolean): string | null {
  const len = atoi(s);
  if (len === null || len < 1 || len > 64) return null;
  const entropy = crypto.randomBytes(len);
  let out = '';
  for (const e of entropy) out += lcalpha ? String.fromCharCode(97 + (e % 26)) : ALNUM[e % ALNUM.length];
  return out;
}

function tmNow(utc: boolean): TmFields {
  const ms = Math.floor(cachedNowMs() / 1000) * 1000;
  const d = new Date(ms);
  if (utc) {
    return {
      year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), min: d.getUTCMinutes(),
      sec: d.getUTCSeconds(), wday: d.getUTCDay(), yday: Math.floor((ms - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1,
      isdst: false, gmtoffMin: 0, zone: 'GMT',
    };
  }
  const startOfYear = new Date(d.getFullYear(), 0, 1).getTime();
  const startOfDay = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  return {
    year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), hour: d.getHours(), min: d.getMinutes(), sec: d.getSeconds(),
    wday: d.getDay(), yday: Math.round((startOfDay - startOfYear) / 86400000) + 1, isdst: false, gmtoffMin: -d.getTimezoneOffset(),
    zone: 'UTC',
  };
}

function formattedTime(fmt: string, utc: boolean): string | null {
  if (fmt === '') return '';
  const r = strftime(fmt, tmNow(utc));
  if (r === '' || r.length >= 256) return null;
  return r;
}

function decodeHex(s: string): string | null {
  if (s.length % 2 !== 0) return null;
  if (!/^[0-9a-fA-F]*$/.test(s)) return null;
  return toStr(Buffer.from(s, 'hex'));
}

/** Every set-misc filter by directive name. */
export const SET_MISC: Record<string, SetMiscFilter> = {
  set_unescape_uri: (a) => setMiscUnescapeUri(a[0]),
  set_escape_uri: (a) => (a[0] === '' ? '' : toStr(escapeUri(toBytes(a[0]), SETMISC_URI_MAP))),
  set_quote_sql_str: (a) => (a[0] === '' ? "''" : toStr(quoteSqlStr(toBytes(a[0])))),
  set_quote_pgsql_str: (a) => quotePgsqlStr(a[0]),
  set_quote_json_str: (a) => quoteJsonStr(a[0]),
  set_encode_base32: (a, o) => encodeBase32(a[0], o?.base32Padding ?? true, o?.base32Alphabet ?? DEFAULT_BASE32),
  set_decode_base32: (a, o) => decodeBase32(a[0], o?.base32Alphabet ?? DEFAULT_BASE32) ?? '',
  set_encode_base64: (a) => toStr(encodeBase64(toBytes(a[0]))),
  set_decode_base64: (a) => {
    const r = decodeBase64(toBytes(a[0]));
    return r === null ? null : toStr(r);
  },
  set_encode_base64url: (a) => toStr(encodeBase64(toBytes(a[0]), true, true)),
  set_decode_base64url: (a) => {
    const r = decodeBase64(toBytes(a[0]), true);
    return r === null ? null : toStr(r);
  },
  set_encode_hex: (a) => toStr(hexDump(toBytes(a[0]))),
  set_decode_hex: (a) => decodeHex(a[0]),
  set_md5: (a) => toStr(hexDump(md5Bin(toBytes(a[0])))),
  set_sha1: (a) => toStr(hexDump(sha1Bin(toBytes(a[0])))),
  set_hmac_sha1: (a) => toStr(hmacBin('sha1', toBytes(a[0]), toBytes(a[1] ?? ''))),
  set_hmac_sha256: (a) => toStr(hmacBin('sha256', toBytes(a[0]), toBytes(a[1] ?? ''))),
  set_random: (a) => {
    let from = atoi(a[0]);
    let to = atoi(a[1] ?? '');
    if (from === null || to === null) return null;
    if (from > to) [from, to] = [to, from];
    return String(from + Math.floor(Math.random() * (to - from + 1)));
  },
  set_secure_random_alphanum: (a) => secureRandom(a[0], false),
  set_secure_random_lcalpha: (a) => secureRandom(a[0], true),
  set_local_today: () => localTimeString(Math.floor(cachedNowMs() / 1000) * 1000, false).slice(0, 10),
  set_formatted_gmt_time: (a) => formattedTime(a[0], true),
  set_formatted_local_time: (a) => formattedTime(a[0], false),
  set_if_empty: (a) => (a[0] === '' ? a[1] ?? '' : a[0]),
};

/** Filters that take the directive's single value (ndk_set_var_value); the others (set_hmac_*,
 *  set_random, set_if_empty) take several. */
export const SINGLE_VALUE = new Set([
  'set_unescape_uri', 'set_escape_uri', 'set_quote_sql_str', 'set_quote_pgsql_str', 'set_quote_json_str',
  'set_encode_base32', 'set_decode_base32', 'set_encode_base64', 'set_decode_base64', 'set_encode_base64url',
  'set_decode_base64url', 'set_encode_hex', 'set_decode_hex', 'set_md5', 'set_sha1', 'set_secure_random_alphanum',
  'set_secure_random_lcalpha', 'set_local_today', 'set_formatted_gmt_time', 'set_formatted_local_time',
]);
