// String codecs of the ngx table: md5, md5_bin, sha1_bin, hmac_sha1, crc32_short/long, base64,
// escape_uri/unescape_uri, encode_args/decode_args, quote_sql_str; plus require "ngx.base64".
//
// Argument handling follows what OpenResty 1.21 (lua-nginx-module 0.10.23 + lua-resty-core
// 0.1.25) does: the resty.core FFI wrappers turn nil/false into "" and other non-strings into
// tostring(v) for md5/sha1/crc32/base64-encode/escape; decode_base64 takes strings only; the C
// functions (hmac_sha1, quote_sql_str, encode_args, decode_args) use luaL_checklstring and raise
// lua-nginx-module's messages. Everything works on bytes (Uint8Array/Buffer), never JS text.
import { lua, lauxlib } from '../lua/fengari.js';
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import { S, pushBytes, luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { defineNgxApi, definePreload } from './registry.js';

// ---------------------------------------------------------------------------------------------
// byte algorithms (exported for set-misc and the config layer)

function buf(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

const oneShot = (crypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: string) => Buffer | string }).hash;

export function md5Bin(b: Uint8Array): Buffer {
  if (oneShot) return oneShot('md5', b, 'buffer') as Buffer;
  return crypto.createHash('md5').update(b).digest();
}

export function sha1Bin(b: Uint8Array): Buffer {
  if (oneShot) return oneShot('sha1', b, 'buffer') as Buffer;
  return crypto.createHash('sha1').update(b).digest();
}

export function hmacBin(alg: 'sha1' | 'sha256', key: Uint8Array, data: Uint8Array): Buffer {
  return crypto.createHmac(alg, key).update(data).digest();
}

const HEX_LOWER = '0123456789abcdef';

/** ngx_hex_dump: lowercase hex. */
export function hexDump(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length * 2);
  for (let i = 0; i < b.length; i++) {
    out[2 * i] = HEX_LOWER.charCodeAt(b[i] >> 4);
    out[2 * i + 1] = HEX_LOWER.charCodeAt(b[i] & 15);
  }
  return out;
}

let crcTable: Uint32Array | null = null;
const zcrc = (zlib as unknown as { crc32?: (d: Uint8Array) => number }).crc32;

/** CRC-32 (IEEE), what both ngx_crc32_short and ngx_crc32_long compute. */
export function crc32(b: Uint8Array): number {
  if (zcrc) return zcrc(b) >>> 0;
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function encodeBase64(b: Uint8Array, noPadding = false, url = false): Uint8Array {
  let s = buf(b).toString(url ? 'base64url' : 'base64');
  if (noPadding && !url) {
    let e = s.length;
    while (e > 0 && s.charCodeAt(e - 1) === 61) e--;
    s = s.slice(0, e);
  }
  return Buffer.from(s, 'latin1');
}

const B64 = new Uint8Array(256).fill(77);
const B64URL = new Uint8Array(256).fill(77);
{
  const std = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) {
    B64[std.charCodeAt(i)] = i;
    B64URL[std.charCodeAt(i)] = i;
  }
  B64URL[43] = 77;
  B64URL[47] = 77;
  B64URL[45] = 62; // '-'
  B64URL[95] = 63; // '_'
}

/** ngx_decode_base64(url): data up to the first '=' must be in the alphabet and its length must
 *  not be 4n+1; everything from the first '=' on is ignored. Null when invalid. */
export function decodeBase64(b: Uint8Array, url = false): Buffer | null {
  const basis = url ? B64URL : B64;
  let len = 0;
  for (; len < b.length; len++) {
    if (b[len] === 61) break;
    if (basis[b[len]] === 77) return null;
  }
  if (len % 4 === 1) return null;
  const out = Buffer.allocUnsafe(Math.floor((len * 3) / 4));
  let d = 0;
  let s = 0;
  while (len > 3) {
    const a0 = basis[b[s]], a1 = basis[b[s + 1]], a2 = basis[b[s + 2]], a3 = basis[b[s + 3]];
    out[d++] = ((a0 << 2) | (a1 >> 4)) & 255;
    out[d++] = ((a1 << 4) | (a2 >> 2)) & 255;
    out[d++] = ((a2 << 6) | a3) & 255;
    s += 4;
    len -= 4;
  }
  if (len > 1) out[d++] = ((basis[b[s]] << 2) | (basis[b[s + 1]] >> 4)) & 255;
  if (len > 2) out[d++] = ((basis[b[s + 1]] << 4) | (basis[b[s + 2]] >> 2)) & 255;
  return out.subarray(0, d);
}

/** MIME (RFC 2045) flavour: characters outside the alphabet are skipped. */
export function decodeBase64Mime(b: Uint8Array): Buffer | null {
  const kept: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 61) break;
    if (B64[c] !== 77) kept.push(c);
  }
  return decodeBase64(Uint8Array.from(kept));
}

// nginx escape tables, as in lua-nginx-module's ngx_http_lua_escape_uri (0: uri, 1: args,
// 2: uri component, 3: html, 4: refresh, 5: memcached, 6: mail_auth)
const T_URI = [0xffffffff, 0x80000029, 0x00000000, 0x80000000, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
const T_ARGS = [0xffffffff, 0x80000829, 0x00000000, 0x80000000, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
const T_COMPONENT = [0xffffffff, 0xfc00987d, 0x78000001, 0xb8000001, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
const T_HTML = [0xffffffff, 0x000000ad, 0x00000000, 0x80000000, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
const T_REFRESH = [0xffffffff, 0x00000085, 0x00000000, 0x80000000, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];
const T_MEMCACHED = [0xffffffff, 0x00000021, 0, 0, 0, 0, 0, 0];
/** set-misc's set_escape_uri uses its own patched NGX_ESCAPE_URI table. */
export const T_SETMISC_URI = [0xffffffff, 0xfc00886d, 0x78000000, 0xa8000000, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff];

function expand(t: number[]): Uint8Array {
  const m = new Uint8Array(256);
  for (let c = 0; c < 256; c++) m[c] = (t[c >> 5] >>> (c & 31)) & 1;
  return m;
}

export const ESCAPE_MAPS: Uint8Array[] = [T_URI, T_ARGS, T_COMPONENT, T_HTML, T_REFRESH, T_MEMCACHED, T_MEMCACHED].map(expand);
export const ESCAPE_URI_COMPONENT = 2;
export const SETMISC_URI_MAP = expand(T_SETMISC_URI);
const HEX_UPPER = '0123456789ABCDEF';

/** ngx_http_lua_escape_uri with the given escape map; returns the input when nothing changes. */
export function escapeUri(b: Uint8Array, map: Uint8Array = ESCAPE_MAPS[ESCAPE_URI_COMPONENT]): Uint8Array {
  let n = 0;
  for (let i = 0; i < b.length; i++) n += map[b[i]];
  if (n === 0) return b;
  const out = new Uint8Array(b.length + 2 * n);
  let d = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (map[c]) {
      out[d++] = 37;
      out[d++] = HEX_UPPER.charCodeAt(c >> 4);
      out[d++] = HEX_UPPER.charCodeAt(c & 15);
    } else out[d++] = c;
  }
  return out;
}

/** ngx_escape_uri(NGX_ESCAPE_URI) over a latin1 (byte) string: controls, space, '#', '%', '?', DEL
 *  and bytes >= 0x80 (proxy_pass URIs, redirect Locations built from a decoded URI). */
export function escapeUriString(s: string): string {
  const map = ESCAPE_MAPS[0];
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) & 0xff;
    if (map[c]) {
      out += s.slice(from, i) + '%' + HEX_UPPER[c >> 4] + HEX_UPPER[c & 15];
      from = i + 1;
    }
  }
  return from === 0 ? s : out + s.slice(from);
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** ngx_http_lua_unescape_uri(NGX_UNESCAPE_URI_COMPONENT): %XX decoded, '+' becomes ' ', a '%'
 *  not followed by two hex digits is kept as it is. */
export function unescapeUri(b: Uint8Array): Uint8Array {
  let i = 0;
  for (; i < b.length; i++) if (b[i] === 37 || b[i] === 43) break;
  if (i === b.length) return b;
  const out = new Uint8Array(b.length);
  out.set(b.subarray(0, i));
  let d = i;
  let size = b.length - i;
  let s = i;
  while (size-- > 0) {
    const c = b[s++];
    if (c === 37) {
      const h1 = size >= 2 ? hexVal(b[s]) : -1;
      const h2 = h1 >= 0 ? hexVal(b[s + 1]) : -1;
      if (h2 < 0) {
        out[d++] = 37;
        continue;
      }
      out[d++] = h1 * 16 + h2;
      s += 2;
      size -= 2;
    } else if (c === 43) out[d++] = 32;
    else out[d++] = c;
  }
  return out.subarray(0, d);
}

/** ngx.quote_sql_str / set_quote_sql_str: MySQL-style quoting of ASCII specials. */
export function quoteSqlStr(b: Uint8Array): Uint8Array {
  const out: number[] = [39];
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    switch (c) {
      case 0: out.push(92, 48); break;
      case 8: out.push(92, 98); break;
      case 10: out.push(92, 110); break;
      case 13: out.push(92, 114); break;
      case 9: out.push(92, 116); break;
      case 26: out.push(92, 90); break;
      case 92: out.push(92, 92); break;
      case 39: out.push(92, 39); break;
      case 34: out.push(92, 34); break;
      default: out.push(c);
    }
  }
  out.push(39);
  return Uint8Array.from(out);
}

// ---------------------------------------------------------------------------------------------
// Lua bindings

/** resty.core's coercion: nil/false -> "", other non-strings -> tostring(v). */
function coerceArg(L: LuaState, idx: number): Uint8Array {
  const t = lua.lua_type(L, idx);
  if (t === lua.LUA_TSTRING) return lua.lua_tolstring(L, idx);
  if (t <= lua.LUA_TNIL || (t === lua.LUA_TBOOLEAN && !lua.lua_toboolean(L, idx))) return new Uint8Array(0);
  const b = lauxlib.luaL_tolstring(L, idx);
  lua.lua_pop(L, 1);
  return b;
}

function ngxMd5(L: LuaState): number {
  pushBytes(L, hexDump(md5Bin(coerceArg(L, 1))));
  return 1;
}

function ngxMd5Bin(L: LuaState): number {
  pushBytes(L, md5Bin(coerceArg(L, 1)));
  return 1;
}

function ngxSha1Bin(L: LuaState): number {
  pushBytes(L, sha1Bin(coerceArg(L, 1)));
  return 1;
}

function ngxHmacSha1(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 2) luaErrorWhere(L, `expecting 2 arguments, but got ${n}`);
  const key: Uint8Array = lauxlib.luaL_checklstring(L, 1);
  const data: Uint8Array = lauxlib.luaL_checklstring(L, 2);
  pushBytes(L, hmacBin('sha1', key, data));
  return 1;
}

function ngxCrc32(L: LuaState): number {
  lua.lua_pushnumber(L, crc32(coerceArg(L, 1)));
  return 1;
}

function ngxEncodeBase64(L: LuaState): number {
  const s = coerceArg(L, 1);
  let noPadding = false;
  if (lua.lua_toboolean(L, 2)) {
    if (lua.lua_type(L, 2) !== lua.LUA_TBOOLEAN) {
      luaErrorWhere(L, `bad no_padding: boolean expected, got ${typeName(L, 2)}`);
    }
    noPadding = true;
  }
  pushBytes(L, encodeBase64(s, noPadding));
  return 1;
}

function ngxDecodeBase64(L: LuaState): number {
  if (lua.lua_type(L, 1) !== lua.LUA_TSTRING) luaErrorWhere(L, 'string argument only');
  const r = decodeBase64(lua.lua_tolstring(L, 1));
  if (r === null) lua.lua_pushnil(L);
  else pushBytes(L, r);
  return 1;
}

function ngxDecodeBase64Mime(L: LuaState): number {
  if (lua.lua_type(L, 1) !== lua.LUA_TSTRING) luaErrorWhere(L, 'string argument only');
  const r = decodeBase64Mime(lua.lua_tolstring(L, 1));
  if (r === null) lua.lua_pushnil(L);
  else pushBytes(L, r);
  return 1;
}

function typeName(L: LuaState, idx: number): string {
  return Buffer.from(lauxlib.luaL_typename(L, idx)).toString('latin1');
}

function ngxEscapeUri(L: LuaState): number {
  const s = coerceArg(L, 1);
  let type = ESCAPE_URI_COMPONENT;
  if (lua.lua_type(L, 2) > lua.LUA_TNIL) {
    if (lua.lua_type(L, 2) !== lua.LUA_TNUMBER) luaErrorWhere(L, '"esc_type" is not number');
    type = lua.lua_tonumber(L, 2);
    if (!(type >= 0 && type <= 6)) luaErrorWhere(L, `"esc_type" ${Buffer.from(lua.lua_tolstring(L, 2)).toString('latin1')} out of range`);
    type = Math.trunc(type);
  }
  const r = escapeUri(s, ESCAPE_MAPS[type]);
  if (r === s && lua.lua_type(L, 1) === lua.LUA_TSTRING) {
    // nothing to escape: return the argument itself, as resty.core does
    lua.lua_settop(L, 1);
    return 1;
  }
  pushBytes(L, r);
  return 1;
}

function ngxUnescapeUri(L: LuaState): number {
  pushBytes(L, unescapeUri(coerceArg(L, 1)));
  return 1;
}

function ngxQuoteSqlStr(L: LuaState): number {
  if (lua.lua_gettop(L) !== 1) luaErrorWhere(L, 'expecting one argument');
  pushBytes(L, quoteSqlStr(lauxlib.luaL_checklstring(L, 1)));
  return 1;
}

// encode_args / decode_args: ngx_http_lua_process_args_option and ngx_http_lua_parse_args

const AMP = 38;
const EQ = 61;

/** Encode the table at `idx` as a query string (lua_next order). Raises lua-nginx-module's errors. */
export function encodeArgsTable(L: LuaState, idx: number): Uint8Array {
  const t = lua.lua_absindex(L, idx);
  const map = ESCAPE_MAPS[ESCAPE_URI_COMPONENT];
  const parts: Uint8Array[] = [];
  let total = 0;
  const add = (b: Uint8Array) => {
    parts.push(b);
    total += b.length;
  };
  const pair = (key: Uint8Array, value: Uint8Array | null) => {
    if (parts.length > 0) add(AMP_B);
    add(key);
    if (value !== null) {
      add(EQ_B);
      add(escapeUri(value, map));
    }
  };
  lua.lua_pushnil(L);
  while (lua.lua_next(L, t) !== 0) {
    if (lua.lua_type(L, -2) !== lua.LUA_TSTRING) {
      luaErrorWhere(L, 'attempt to use a non-string key in the "args" option table');
    }
    const key = escapeUri(lua.lua_tolstring(L, -2), map);
    switch (lua.lua_type(L, -1)) {
      case lua.LUA_TNUMBER:
      case lua.LUA_TSTRING:
        pair(key, lua.lua_tolstring(L, -1));
        break;
      case lua.LUA_TBOOLEAN:
        if (lua.lua_toboolean(L, -1)) pair(key, null);
        break;
      case lua.LUA_TTABLE: {
        const sub = lua.lua_gettop(L);
        lua.lua_pushnil(L);
        while (lua.lua_next(L, sub) !== 0) {
          const vt = lua.lua_type(L, -1);
          if (vt === lua.LUA_TBOOLEAN) {
            if (lua.lua_toboolean(L, -1)) pair(key, null);
          } else if (vt === lua.LUA_TNUMBER || vt === lua.LUA_TSTRING) {
            pair(key, lua.lua_tolstring(L, -1));
          } else {
            luaErrorWhere(L, `attempt to use ${typeName(L, -1)} as query arg value`);
          }
          lua.lua_pop(L, 1);
        }
        break;
      }
      default:
        luaErrorWhere(L, `attempt to use ${typeName(L, -1)} as query arg value`);
    }
    lua.lua_pop(L, 1);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const AMP_B = Uint8Array.of(AMP);
const EQ_B = Uint8Array.of(EQ);

function ngxEncodeArgs(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 1) luaErrorWhere(L, `expecting 1 argument but seen ${n}`);
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  pushBytes(L, encodeArgsTable(L, 1));
  return 1;
}

/** t[key] = value for the key/value on top of the stack, collecting repeats into arrays. */
function setMultiValue(L: LuaState, t: number): void {
  lua.lua_pushvalue(L, -2); // key value key
  lua.lua_rawget(L, t); // key value old
  const prev = lua.lua_type(L, -1);
  if (prev === lua.LUA_TNIL) {
    lua.lua_pop(L, 1);
    lua.lua_rawset(L, t);
  } else if (prev === lua.LUA_TTABLE) {
    lua.lua_insert(L, -2); // key old value
    lua.lua_rawseti(L, -2, lua.lua_rawlen(L, -2) + 1);
    lua.lua_pop(L, 2);
  } else {
    lua.lua_createtable(L, 4, 0); // key value old new
    lua.lua_insert(L, -2); // key value new old
    lua.lua_rawseti(L, -2, 1); // key value new
    lua.lua_insert(L, -2); // key new value
    lua.lua_rawseti(L, -2, 2); // key new
    lua.lua_rawset(L, t);
  }
}

/** Parse a query string into the table at `t` (absolute index). Returns true when `max` cut it. */
export function parseArgsInto(L: LuaState, t: number, b: Uint8Array, max: number): boolean {
  let count = 0;
  let q = 0;
  let parsingValue = false;
  const flush = (end: number, isValueEnd: boolean) => {
    pushBytes(L, unescapeUri(b.subarray(q, end)));
    if (!isValueEnd) lua.lua_pushboolean(L, 1);
    if (lua.lua_rawlen(L, -2) === 0) lua.lua_pop(L, 2);
    else setMultiValue(L, t);
  };
  let p = 0;
  while (p < b.length) {
    const c = b[p];
    if (c === EQ && !parsingValue) {
      pushBytes(L, unescapeUri(b.subarray(q, p)));
      p++;
      q = p;
      parsingValue = true;
    } else if (c === AMP) {
      flush(p, parsingValue);
      p++;
      q = p;
      parsingValue = false;
      if (max > 0 && ++count === max) return true;
    } else p++;
  }
  if (p !== q || parsingValue) flush(p, parsingValue);
  return false;
}

function ngxDecodeArgs(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 1 && n !== 2) luaErrorWhere(L, `expecting 1 or 2 arguments but seen ${n}`);
  const b: Uint8Array = lauxlib.luaL_checklstring(L, 1);
  const max = n === 2 ? lauxlib.luaL_checkinteger(L, 2) : 100;
  lua.lua_createtable(L, 0, 4);
  if (parseArgsInto(L, lua.lua_gettop(L), b, max)) {
    pushBytes(L, S('truncated'));
    return 2;
  }
  return 1;
}

// require "ngx.base64" (lua-resty-core's ngx/base64.lua)
function b64urlEncode(L: LuaState): number {
  if (lua.lua_type(L, 1) !== lua.LUA_TSTRING) {
    lua.lua_pushnil(L);
    pushBytes(L, S('must provide a string'));
    return 2;
  }
  pushBytes(L, encodeBase64(lua.lua_tolstring(L, 1), true, true));
  return 1;
}

function b64urlDecode(L: LuaState): number {
  if (lua.lua_type(L, 1) !== lua.LUA_TSTRING) {
    lua.lua_pushnil(L);
    pushBytes(L, S('must provide a string'));
    return 2;
  }
  const r = decodeBase64(lua.lua_tolstring(L, 1), true);
  if (r === null) {
    lua.lua_pushnil(L);
    pushBytes(L, S('invalid input'));
    return 2;
  }
  pushBytes(L, r);
  return 1;
}

definePreload('ngx.base64', (L) => {
  lua.lua_createtable(L, 0, 3);
  lua.lua_pushcfunction(L, b64urlEncode);
  lua.lua_setfield(L, -2, S('encode_base64url'));
  lua.lua_pushcfunction(L, b64urlDecode);
  lua.lua_setfield(L, -2, S('decode_base64url'));
  pushBytes(L, S('0.1.25'));
  lua.lua_setfield(L, -2, S('version'));
  return 1;
});

const FNS: Record<string, (L: LuaState) => number> = {
  md5: ngxMd5,
  md5_bin: ngxMd5Bin,
  sha1_bin: ngxSha1Bin,
  hmac_sha1: ngxHmacSha1,
  crc32_short: ngxCrc32,
  crc32_long: ngxCrc32,
  encode_base64: ngxEncodeBase64,
  decode_base64: ngxDecodeBase64,
  decode_base64mime: ngxDecodeBase64Mime,
  escape_uri: ngxEscapeUri,
  unescape_uri: ngxUnescapeUri,
  quote_sql_str: ngxQuoteSqlStr,
  encode_args: ngxEncodeArgs,
  decode_args: ngxDecodeArgs,
};

const ESC_TYPES: Record<string, number> = {
  ESCAPE_URI: 0,
  ESCAPE_ARGS: 1,
  ESCAPE_URI_COMPONENT: 2,
  ESCAPE_HTML: 3,
  ESCAPE_REFRESH: 4,
  ESCAPE_MEMCACHED: 5,
  ESCAPE_MAIL_AUTH: 6,
};

defineNgxApi('codec', (L) => {
  for (const k of Object.keys(FNS)) {
    lua.lua_pushcfunction(L, FNS[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  for (const k of Object.keys(ESC_TYPES)) {
    lua.lua_pushnumber(L, ESC_TYPES[k]);
    lua.lua_setfield(L, -2, S(k));
  }
});
