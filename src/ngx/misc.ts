// LuaJIT compatibility on top of fengari (Lua 5.3 in JS), native half. lua/tsresty/compat.lua is the
// Lua half and runs after these natives are installed.
//
// 1. VM patches: src/lua/fengari-patches.ts, applied when this module is evaluated (its first
//    import), before any lua_State exists (runtime.ts imports ngx/index.js, which imports this
//    file). LuaJIT's number formatting and truncations are in src/lua/luajit-number.ts.
// 2. Replacement library functions with LuaJIT semantics, written in TS for speed: string.format
//    (fengari's is ~30x slower than C Lua's), tonumber, math.floor/ceil/abs/random/randomseed,
//    os.date/os.time (os.date("!...") is UTC), collectgarbage (never throws), newproxy, gcinfo,
//    string.gsub ("%x" in a replacement string means "x" as in LuaJIT), the `bit` library,
//    table.new/clear/nkeys/isempty/isarray/clone, a synchronous `io` library (fengari only has
//    io.write) and os.execute.
// 3. ngx.config.
import '../lua/fengari-patches.js';
import { lua, lauxlib } from 'fengari';
import { S, pushBytes, luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { defineNgxApi, definePreload, type NgxEnv } from './registry.js';
import { strftime, type TmFields } from './timefmt.js';
import { asciiBytes, numberBytes, num2int, tobit, fixedDigits, expDigits, gDigits } from '../lua/luajit-number.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

// time.ts imports asciiBytes from here
export { asciiBytes };

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: u32[0] = low word, u32[1] = high word

// ---------------------------------------------------------------------------------------------
// string.format with LuaJIT semantics

const F_LEFT = 1;
const F_PLUS = 2;
const F_SPACE = 4;
const F_ALT = 8;
const F_ZERO = 16;

interface FmtSpec {
  lit: Uint8Array | null; // literal bytes (when conv === 0)
  conv: number; // conversion char code, 0 for a literal
  flags: number;
  width: number;
  prec: number; // -1: default
  plain: boolean; // no flags, width or precision
}

const fmtCache = new WeakMap<Uint8Array, FmtSpec[]>();

function parseFormat(L: LuaState, fmt: Uint8Array): FmtSpec[] {
  const hit = fmtCache.get(fmt);
  if (hit !== undefined) return hit;
  const out: FmtSpec[] = [];
  const n = fmt.length;
  let i = 0;
  let litStart = 0;
  const flushLit = (end: number) => {
    if (end > litStart) out.push({ lit: fmt.subarray(litStart, end), conv: 0, flags: 0, width: 0, prec: -1, plain: true });
  };
  while (i < n) {
    if (fmt[i] !== 37) {
      i++;
      continue;
    }
    if (fmt[i + 1] === 37) {
      flushLit(i + 1);
      i += 2;
      litStart = i;
      continue;
    }
    flushLit(i);
    const specStart = i;
    i++;
    let flags = 0;
    for (;;) {
      const c = fmt[i];
      if (c === 45) flags |= F_LEFT;
      else if (c === 43) flags |= F_PLUS;
      else if (c === 32) flags |= F_SPACE;
      else if (c === 35) flags |= F_ALT;
      else if (c === 48) flags |= F_ZERO;
      else break;
      i++;
    }
    const bad = (end: number): never => {
      const msg = `invalid option '${Buffer.from(fmt.subarray(specStart, Math.min(end, n))).toString('latin1')}' to 'format'`;
      if (L === null) throw new Error(msg);
      luaErrorWhere(L, msg);
    };
    let width = 0;
    let digits = 0;
    while (fmt[i] >= 48 && fmt[i] <= 57) {
      width = width * 10 + fmt[i] - 48;
      i++;
      if (++digits > 2) bad(i);
    }
    let prec = -1;
    if (fmt[i] === 46) {
      i++;
      prec = 0;
      digits = 0;
      while (fmt[i] >= 48 && fmt[i] <= 57) {
        prec = prec * 10 + fmt[i] - 48;
        i++;
        if (++digits > 2) bad(i);
      }
    }
    const conv = fmt[i];
    switch (conv) {
      case 100: case 105: case 117: case 120: case 88: case 111: case 99: case 115: case 113:
      case 101: case 69: case 102: case 70: case 103: case 71: case 97: case 65:
        break;
      default:
        bad(i + 1);
    }
    i++;
    out.push({ lit: null, conv, flags, width, prec, plain: flags === 0 && width === 0 && prec < 0 });
    litStart = i;
  }
  flushLit(n);
  fmtCache.set(fmt, out);
  return out;
}

/** Growable output buffer; one per nesting level (a __tostring may call string.format). */
class OutBuf {
  buf = new Uint8Array(256);
  len = 0;
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  ascii(s: string): void {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
  }
  repeat(c: number, n: number): void {
    if (n <= 0) return;
    this.reserve(n);
    this.buf.fill(c, this.len, this.len + n);
    this.len += n;
  }
}

const outBufs: OutBuf[] = [];
let fmtDepth = 0;

/** Pad `body` (ASCII) to the spec's width: spaces left/right, or zeros after `prefix`. */
function putPadded(out: OutBuf, prefix: string, body: string, sp: FmtSpec, zeroOk: boolean): void {
  const len = prefix.length + body.length;
  const pad = sp.width - len;
  if (pad <= 0) {
    out.ascii(prefix);
    out.ascii(body);
  } else if (sp.flags & F_LEFT) {
    out.ascii(prefix);
    out.ascii(body);
    out.repeat(32, pad);
  } else if (zeroOk && sp.flags & F_ZERO) {
    out.ascii(prefix);
    out.repeat(48, pad);
    out.ascii(body);
  } else {
    out.repeat(32, pad);
    out.ascii(prefix);
    out.ascii(body);
  }
}

const TWO64 = 18446744073709551616;
const TWO63 = 9223372036854775808;

/** (int64_t)n as C on x64 does it: truncate; out of range or NaN gives INT64_MIN. */
function toInt64(n: number): number | bigint {
  const t = Math.trunc(n);
  if (t >= -9007199254740991 && t <= 9007199254740991) return t;
  if (t >= -TWO63 && t < TWO63) return BigInt(t);
  return -(2n ** 63n);
}

function putInt(out: OutBuf, n: number, sp: FmtSpec): void {
  const conv = sp.conv;
  let neg = false;
  let digits: string;
  if (conv === 100 || conv === 105) {
    const k = toInt64(n);
    if (typeof k === 'number') {
      neg = k < 0;
      digits = String(neg ? -k : k);
      if (sp.plain) {
        out.ascii(neg ? '-' + digits : digits);
        return;
      }
    } else {
      neg = k < 0n;
      digits = (neg ? -k : k).toString();
    }
    if (sp.prec === 0 && digits === '0') digits = '';
  } else {
    // unsigned conversions: lj_strfmt_putfnum_uint
    let k: number | bigint = n >= TWO63 ? toInt64(n - TWO64) : toInt64(n);
    if (typeof k === 'number' && k < 0) k = BigInt(k);
    if (typeof k === 'bigint') k = BigInt.asUintN(64, k);
    const radix = conv === 111 ? 8 : conv === 117 ? 10 : 16;
    digits = k.toString(radix);
    if (conv === 88) digits = digits.toUpperCase();
    const zero = digits === '0';
    if (sp.prec === 0 && zero) digits = '';
    if (sp.flags & F_ALT) {
      if (conv === 111) {
        if (digits[0] !== '0') digits = '0' + digits;
      }
    }
    if (sp.prec > digits.length) digits = '0'.repeat(sp.prec - digits.length) + digits;
    const prefix = sp.flags & F_ALT && !zero && (conv === 120 || conv === 88) ? (conv === 120 ? '0x' : '0X') : '';
    putPadded(out, prefix, digits, sp, sp.prec < 0);
    return;
  }
  if (sp.prec > digits.length) digits = '0'.repeat(sp.prec - digits.length) + digits;
  const sign = neg ? '-' : sp.flags & F_PLUS ? '+' : sp.flags & F_SPACE ? ' ' : '';
  putPadded(out, sign, digits, sp, sp.prec < 0);
}

function hexFloat(n: number, sp: FmtSpec): [string, string] {
  const upper = sp.conv === 65;
  f64[0] = n;
  const hi = u32[1];
  const lo = u32[0];
  const prefix = hi & 0x80000000 ? '-' : sp.flags & F_PLUS ? '+' : sp.flags & F_SPACE ? ' ' : '';
  let e = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (e) {
    m |= 1n << 52n;
    e -= 1023;
  } else if (m !== 0n) {
    // non-zero denormal: normalise so that bit 52 is the highest set bit
    let shift = 0;
    while (!(m & (1n << 52n))) {
      m <<= 1n;
      shift++;
    }
    e = -1022 - shift;
  }
  let prec = sp.prec;
  if (prec < 0) {
    let frac = m & ((1n << 52n) - 1n);
    prec = 13;
    while (prec > 0 && (frac & 15n) === 0n) {
      frac >>= 4n;
      prec--;
    }
  } else if (prec < 13) {
    m += 1n << BigInt(51 - prec * 4);
  }
  const lead = Number(m >> 52n);
  let frac = '';
  if (prec > 0 || sp.flags & F_ALT) {
    let digits = (m & ((1n << 52n) - 1n)).toString(16).padStart(13, '0');
    if (prec < 13) digits = digits.slice(0, prec);
    else digits = digits + '0'.repeat(prec - 13);
    frac = '.' + digits;
  }
  if (m === 0n) e = 0;
  const ex = (e < 0 ? '-' : '+') + String(Math.abs(e));
  let body = '0x' + String(lead) + frac + 'p' + ex;
  if (upper) body = body.toUpperCase();
  return [prefix, body];
}

function putFloat(out: OutBuf, n: number, sp: FmtSpec): void {
  const conv = sp.conv;
  const upper = conv === 69 || conv === 70 || conv === 71 || conv === 65;
  if (!isFinite(n)) {
    let prefix = '';
    let body: string;
    if (n !== n) {
      body = 'nan';
      if (sp.flags & F_SPACE) prefix = ' ';
    } else {
      body = 'inf';
      prefix = n < 0 ? '-' : sp.flags & F_PLUS ? '+' : sp.flags & F_SPACE ? ' ' : '';
    }
    putPadded(out, prefix, upper ? body.toUpperCase() : body, sp, false);
    return;
  }
  if (conv === 97 || conv === 65) {
    const [prefix, body] = hexFloat(n, sp);
    if (sp.flags & F_ZERO && !(sp.flags & F_LEFT) && sp.width > prefix.length + body.length) {
      out.ascii(prefix + body.slice(0, 2));
      out.repeat(48, sp.width - prefix.length - body.length);
      out.ascii(body.slice(2));
    } else putPadded(out, prefix, body, sp, false);
    return;
  }
  const negative = n < 0 || Object.is(n, -0);
  const a = negative ? -n : n;
  const prefix = negative ? '-' : sp.flags & F_PLUS ? '+' : sp.flags & F_SPACE ? ' ' : '';
  const prec = sp.prec < 0 ? 6 : sp.prec;
  const alt = (sp.flags & F_ALT) !== 0;
  let body: string;
  if (conv === 102 || conv === 70) {
    body = fixedDigits(a, prec);
    if (alt && prec === 0) body += '.';
  } else if (conv === 101 || conv === 69) {
    body = expDigits(a, prec, upper);
    if (alt && prec === 0) {
      const k = body.indexOf(upper ? 'E' : 'e');
      body = body.slice(0, k) + '.' + body.slice(k);
    }
  } else {
    body = gDigits(a, prec, alt, upper);
  }
  putPadded(out, prefix, body, sp, true);
}

function putQuoted(out: OutBuf, s: Uint8Array): void {
  out.reserve(s.length + 2);
  out.buf[out.len++] = 34;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === 34 || c === 92 || c === 10) {
      out.reserve(2);
      out.buf[out.len++] = 92;
      out.buf[out.len++] = c;
    } else if (c < 32 || c === 127) {
      const next = i + 1 < s.length ? s[i + 1] : -1;
      let esc = String(c);
      if (next >= 48 && next <= 57) esc = esc.padStart(3, '0');
      out.ascii('\\' + esc);
    } else {
      out.reserve(1);
      out.buf[out.len++] = c;
    }
  }
  out.reserve(1);
  out.buf[out.len++] = 34;
}

/** The bytes %s shows for argument `arg` (numbers as %.14g, others via __tostring/tostring). */
function argBytes(L: LuaState, arg: number): Uint8Array {
  const t = lua.lua_type(L, arg);
  if (t === lua.LUA_TSTRING) return lua.lua_tolstring(L, arg);
  if (t === lua.LUA_TNUMBER) return numberBytes(lua.lua_tonumber(L, arg));
  const b = lauxlib.luaL_tolstring(L, arg);
  lua.lua_pop(L, 1);
  return b;
}

const E_NOVAL = S('value expected');

function checkNum(L: LuaState, arg: number, top: number): number {
  if (arg > top) lauxlib.luaL_argerror(L, arg, E_NOVAL);
  if (lua.lua_type(L, arg) === lua.LUA_TNUMBER) return lua.lua_tonumber(L, arg);
  return lauxlib.luaL_checknumber(L, arg);
}

function strFormat(L: LuaState): number {
  const fmt: Uint8Array = lauxlib.luaL_checklstring(L, 1);
  const specs = parseFormat(L, fmt);
  if (specs.length === 1 && specs[0].conv === 0) {
    lua.lua_pushvalue(L, 1);
    return 1;
  }
  const top = lua.lua_gettop(L);
  let out = outBufs[fmtDepth];
  if (out === undefined) out = outBufs[fmtDepth] = new OutBuf();
  out.len = 0;
  fmtDepth++;
  try {
    let arg = 1;
    for (let k = 0; k < specs.length; k++) {
      const sp = specs[k];
      const conv = sp.conv;
      if (conv === 0) {
        out.bytes(sp.lit!);
        continue;
      }
      arg++;
      switch (conv) {
        case 115: { // s
          if (arg > top) lauxlib.luaL_argerror(L, arg, E_NOVAL);
          let b = argBytes(L, arg);
          if (sp.plain) {
            out.bytes(b);
            break;
          }
          if (sp.prec >= 0 && b.length > sp.prec) b = b.subarray(0, sp.prec);
          const pad = sp.width - b.length;
          if (pad > 0 && !(sp.flags & F_LEFT)) out.repeat(32, pad);
          out.bytes(b);
          if (pad > 0 && sp.flags & F_LEFT) out.repeat(32, pad);
          break;
        }
        case 113: // q
          if (arg > top) lauxlib.luaL_argerror(L, arg, E_NOVAL);
          putQuoted(out, argBytes(L, arg));
          break;
        case 99: { // c
          const c = num2int(checkNum(L, arg, top)) & 255;
          const pad = sp.width - 1;
          if (pad > 0 && !(sp.flags & F_LEFT)) out.repeat(32, pad);
          out.reserve(1);
          out.buf[out.len++] = c;
          if (pad > 0 && sp.flags & F_LEFT) out.repeat(32, pad);
          break;
        }
        case 100: case 105: case 117: case 120: case 88: case 111:
          putInt(out, checkNum(L, arg, top), sp);
          break;
        default:
          putFloat(out, checkNum(L, arg, top), sp);
      }
    }
    lua.lua_pushlstring(L, out.buf, out.len);
  } finally {
    fmtDepth--;
  }
  return 1;
}

/** One number through a LuaJIT string.format spec, from JS ("%.14g", "%5.2f", "%x", ...). */
export function formatNumberSpec(spec: string, n: number): string {
  const specs = parseFormat(null as LuaState, asciiBytes(spec));
  const out = new OutBuf();
  for (const sp of specs) {
    if (sp.conv === 0) out.bytes(sp.lit!);
    else if ([100, 105, 117, 120, 88, 111].includes(sp.conv)) putInt(out, n, sp);
    else putFloat(out, n, sp);
  }
  return Buffer.from(out.buf.subarray(0, out.len)).toString('latin1');
}

// ---------------------------------------------------------------------------------------------
// tonumber, math, gsub, collectgarbage, newproxy

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function luaTonumber(L: LuaState): number {
  const base = lua.lua_type(L, 2) <= 0 ? 10 : num2int(lauxlib.luaL_checknumber(L, 2));
  if (base === 10) {
    const t = lua.lua_type(L, 1);
    if (t === lua.LUA_TNUMBER) {
      lua.lua_settop(L, 1);
      return 1;
    }
    lauxlib.luaL_checkany(L, 1);
    if (t === lua.LUA_TSTRING) {
      const s: Uint8Array = lua.lua_tolstring(L, 1);
      if (lua.lua_stringtonumber(L, s) === s.length + 1) return 1;
    }
    lua.lua_pushnil(L);
    return 1;
  }
  const s: Uint8Array = lauxlib.luaL_checklstring(L, 1);
  if (base < 2 || base > 36) lauxlib.luaL_argerror(L, 2, S('base out of range'));
  let i = 0;
  while (i < s.length && isSpace(s[i])) i++;
  let neg = false;
  if (s[i] === 45) {
    neg = true;
    i++;
  } else if (s[i] === 43) i++;
  // strtoul: optional 0x prefix for base 16
  if (base === 16 && s[i] === 48 && (s[i + 1] | 32) === 120) i += 2;
  const start = i;
  let v = 0;
  let big: bigint | null = null;
  for (; i < s.length; i++) {
    const c = s[i];
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if ((c | 32) >= 97 && (c | 32) <= 122) d = (c | 32) - 87;
    else break;
    if (d >= base) break;
    if (big === null) {
      v = v * base + d;
      if (v > 9007199254740991) big = BigInt(Math.floor((v - d) / base)) * BigInt(base) + BigInt(d);
    } else big = big * BigInt(base) + BigInt(d);
  }
  if (i === start) {
    lua.lua_pushnil(L);
    return 1;
  }
  while (i < s.length && isSpace(s[i])) i++;
  if (i !== s.length) {
    lua.lua_pushnil(L);
    return 1;
  }
  if (big !== null) v = big >= 18446744073709551615n ? 18446744073709551615 : Number(big);
  lua.lua_pushnumber(L, neg ? -v : v);
  return 1;
}

function mathFloor(L: LuaState): number {
  lua.lua_pushnumber(L, Math.floor(lauxlib.luaL_checknumber(L, 1)));
  return 1;
}
function mathCeil(L: LuaState): number {
  lua.lua_pushnumber(L, Math.ceil(lauxlib.luaL_checknumber(L, 1)));
  return 1;
}
function mathAbs(L: LuaState): number {
  lua.lua_pushnumber(L, Math.abs(lauxlib.luaL_checknumber(L, 1)));
  return 1;
}
function mathFmod(L: LuaState): number {
  lua.lua_pushnumber(L, lauxlib.luaL_checknumber(L, 1) % lauxlib.luaL_checknumber(L, 2));
  return 1;
}
function mathModf(L: LuaState): number {
  const n = lauxlib.luaL_checknumber(L, 1);
  const ip = n >= 0 ? Math.floor(n) : Math.ceil(n);
  lua.lua_pushnumber(L, ip);
  lua.lua_pushnumber(L, isFinite(n) ? n - ip : n !== n ? n : 0);
  return 2;
}
function mathLdexp(L: LuaState): number {
  const m = lauxlib.luaL_checknumber(L, 1);
  const e = num2int(lauxlib.luaL_checknumber(L, 2));
  // split the scaling so 2^e itself cannot overflow for subnormal results
  let r = m;
  let k = e;
  while (k > 1000) {
    r *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    r *= 2 ** -1000;
    k += 1000;
  }
  lua.lua_pushnumber(L, r * 2 ** k);
  return 1;
}
function mathFrexp(L: LuaState): number {
  const n = lauxlib.luaL_checknumber(L, 1);
  if (n === 0 || !isFinite(n)) {
    lua.lua_pushnumber(L, n);
    lua.lua_pushnumber(L, 0);
    return 2;
  }
  let e = Math.max(-1073, Math.floor(Math.log2(Math.abs(n))) + 1);
  let m = n * 2 ** -e;
  while (Math.abs(m) < 0.5) {
    m *= 2;
    e--;
  }
  while (Math.abs(m) >= 1) {
    m /= 2;
    e++;
  }
  lua.lua_pushnumber(L, m);
  lua.lua_pushnumber(L, e);
  return 2;
}

// LuaJIT's PRNG (Tausworthe TW223, lib_math.c), so seeded sequences match OpenResty's.
const rgen = new Uint32Array(8); // gen[i] = (hi: rgen[2i], lo: rgen[2i+1])
let rvalid = false;

function twGen(i: number, k: number, q: number, s: number, acc: Uint32Array): void {
  let hi = rgen[2 * i];
  let lo = rgen[2 * i + 1];
  // a = ((z << q) ^ z) >> (k - s)
  let ahi = ((hi << q) | (lo >>> (32 - q))) >>> 0;
  let alo = (lo << q) >>> 0;
  if (q >= 32) {
    ahi = (lo << (q - 32)) >>> 0;
    alo = 0;
  }
  ahi = (ahi ^ hi) >>> 0;
  alo = (alo ^ lo) >>> 0;
  const r = k - s;
  let rhi: number;
  let rlo: number;
  if (r >= 32) {
    rhi = 0;
    rlo = ahi >>> (r - 32);
  } else {
    rhi = ahi >>> r;
    rlo = ((alo >>> r) | (ahi << (32 - r))) >>> 0;
  }
  // b = (z & (~0 << (64 - k))) << s
  const sh = 64 - k; // 1..17
  let mhi: number;
  let mlo: number;
  if (sh >= 32) {
    mhi = (0xffffffff << (sh - 32)) >>> 0;
    mlo = 0;
  } else {
    mhi = 0xffffffff;
    mlo = (0xffffffff << sh) >>> 0;
  }
  let bhi = (hi & mhi) >>> 0;
  let blo = (lo & mlo) >>> 0;
  bhi = ((bhi << s) | (blo >>> (32 - s))) >>> 0;
  blo = (blo << s) >>> 0;
  hi = (rhi ^ bhi) >>> 0;
  lo = (rlo ^ blo) >>> 0;
  rgen[2 * i] = hi;
  rgen[2 * i + 1] = lo;
  acc[0] = (acc[0] ^ hi) >>> 0;
  acc[1] = (acc[1] ^ lo) >>> 0;
}

const racc = new Uint32Array(2);
function randomStep(): number {
  racc[0] = 0;
  racc[1] = 0;
  twGen(0, 63, 31, 18, racc);
  twGen(1, 58, 19, 28, racc);
  twGen(2, 55, 24, 7, racc);
  twGen(3, 47, 21, 8, racc);
  u32[1] = ((racc[0] & 0x000fffff) | 0x3ff00000) >>> 0;
  u32[0] = racc[1];
  return f64[0];
}

function randomInit(d: number): void {
  let r = 0x11090601;
  for (let i = 0; i < 4; i++) {
    const m = 2 ** (r & 255);
    r >>>= 8;
    d = d * 3.14159265358979323846 + 2.7182818284590452354;
    f64[0] = d;
    let hi = u32[1];
    let lo = u32[0];
    if (hi === 0 && lo < m) lo += m;
    if (lo > 0xffffffff) {
      lo -= 0x100000000;
      hi += 1;
    }
    rgen[2 * i] = hi;
    rgen[2 * i + 1] = lo;
  }
  rvalid = true;
  for (let i = 0; i < 10; i++) randomStep();
}

function mathRandom(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (!rvalid) randomInit(0);
  let d = randomStep() - 1.0;
  if (n > 0) {
    const r1 = lauxlib.luaL_checknumber(L, 1);
    if (n === 1) d = Math.floor(d * r1) + 1.0;
    else {
      const r2 = lauxlib.luaL_checknumber(L, 2);
      d = Math.floor(d * (r2 - r1 + 1.0)) + r1;
    }
  }
  lua.lua_pushnumber(L, d);
  return 1;
}

function mathRandomseed(L: LuaState): number {
  randomInit(lauxlib.luaL_checknumber(L, 1));
  return 0;
}

/** LuaJIT's add_s: "%c" with c not a digit stands for c; Lua 5.3 raises an error instead. */
function fixReplacement(r: Uint8Array): Uint8Array | null {
  let need = false;
  for (let i = 0; i < r.length; i++) {
    if (r[i] !== 37) continue;
    const c = i + 1 < r.length ? r[i + 1] : -1;
    if (c === 37 || (c >= 48 && c <= 57)) {
      i++;
      continue;
    }
    need = true;
    break;
  }
  if (!need) return null;
  const out: number[] = [];
  for (let i = 0; i < r.length; i++) {
    const c = r[i];
    if (c !== 37) {
      out.push(c);
      continue;
    }
    const d = i + 1 < r.length ? r[i + 1] : 0;
    i++;
    if (d === 37 || (d >= 48 && d <= 57)) out.push(37, d);
    else out.push(d);
  }
  return Uint8Array.from(out);
}

function gsubCompat(L: LuaState): number {
  if (lua.lua_type(L, 3) === lua.LUA_TSTRING) {
    const fixed = fixReplacement(lua.lua_tolstring(L, 3));
    if (fixed !== null) {
      pushBytes(L, fixed);
      lua.lua_replace(L, 3);
    }
  }
  const n = lua.lua_gettop(L);
  lua.lua_pushvalue(L, lua.lua_upvalueindex(1));
  lua.lua_insert(L, 1);
  lua.lua_call(L, n, lua.LUA_MULTRET);
  return lua.lua_gettop(L);
}

let gcPause = 200;
let gcStepmul = 200;
const GC_OPTS = ['collect', 'stop', 'restart', 'count', 'step', 'setpause', 'setstepmul', 'isrunning'];

function heapKb(): number {
  return process.memoryUsage().heapUsed / 1024;
}

/** collectgarbage with LuaJIT's answers; fengari has no collector API (it throws). */
function collectGarbage(L: LuaState): number {
  const opt = lua.lua_type(L, 1) <= 0 ? 'collect' : Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  if (!GC_OPTS.includes(opt)) lauxlib.luaL_argerror(L, 1, S(`invalid option '${opt}'`));
  switch (opt) {
    case 'count':
      lua.lua_pushnumber(L, heapKb());
      return 1;
    case 'step':
      lua.lua_pushboolean(L, 0);
      return 1;
    case 'isrunning':
      lua.lua_pushboolean(L, 1);
      return 1;
    case 'setpause': {
      const prev = gcPause;
      gcPause = lua.lua_type(L, 2) <= 0 ? 0 : lauxlib.luaL_checknumber(L, 2);
      lua.lua_pushnumber(L, prev);
      return 1;
    }
    case 'setstepmul': {
      const prev = gcStepmul;
      gcStepmul = lua.lua_type(L, 2) <= 0 ? 0 : lauxlib.luaL_checknumber(L, 2);
      lua.lua_pushnumber(L, prev);
      return 1;
    }
    default:
      lua.lua_pushnumber(L, 0);
      return 1;
  }
}

function gcinfo(L: LuaState): number {
  lua.lua_pushnumber(L, Math.floor(heapKb()));
  return 1;
}

/** newproxy([bool|proxy]) from Lua 5.1/LuaJIT: an empty userdata, optionally with a metatable. */
function newproxy(L: LuaState): number {
  lua.lua_settop(L, 1);
  lua.lua_newuserdata(L, 0);
  if (!lua.lua_toboolean(L, 1)) return 1;
  if (lua.lua_type(L, 1) === lua.LUA_TBOOLEAN) {
    lua.lua_newtable(L);
  } else {
    if (lua.lua_type(L, 1) !== lua.LUA_TUSERDATA || !lua.lua_getmetatable(L, 1)) {
      lauxlib.luaL_argerror(L, 1, S('boolean or proxy expected'));
    }
  }
  lua.lua_setmetatable(L, 2);
  return 1;
}

// ---------------------------------------------------------------------------------------------
// os.date / os.time (fengari's os.date ignores the "!" UTC prefix)

function tmFields(ms: number, utc: boolean): TmFields {
  const d = new Date(ms);
  if (utc) {
    const y = d.getUTCFullYear();
    const start = Date.UTC(y, 0, 1);
    return {
      year: y, month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), min: d.getUTCMinutes(), sec: d.getUTCSeconds(),
      wday: d.getUTCDay(), yday: Math.floor((ms - start) / 86400000) + 1, isdst: false, gmtoffMin: 0, zone: 'GMT',
    };
  }
  const y = d.getFullYear();
  const jan = new Date(y, 0, 1).getTimezoneOffset();
  const jul = new Date(y, 6, 1).getTimezoneOffset();
  const off = d.getTimezoneOffset();
  const startOfYear = new Date(y, 0, 1).getTime();
  const startOfDay = new Date(y, d.getMonth(), d.getDate()).getTime();
  return {
    year: y, month: d.getMonth() + 1, day: d.getDate(), hour: d.getHours(), min: d.getMinutes(), sec: d.getSeconds(),
    wday: d.getDay(), yday: Math.round((startOfDay - startOfYear) / 86400000) + 1, isdst: jan !== jul && off === Math.min(jan, jul),
    gmtoffMin: -off, zone: localZoneName(d),
  };
}

function localZoneName(d: Date): string {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d);
    const z = parts.find((p) => p.type === 'timeZoneName');
    if (z) return z.value;
  } catch {
    /* no Intl data */
  }
  return 'UTC';
}

function setIntField(L: LuaState, k: string, v: number): void {
  lua.lua_pushnumber(L, v);
  lua.lua_setfield(L, -2, S(k));
}

function osDate(L: LuaState): number {
  let fmt: Uint8Array = lua.lua_type(L, 1) <= 0 ? S('%c') : lauxlib.luaL_checklstring(L, 1);
  const ms = lua.lua_type(L, 2) <= 0 ? Date.now() : Math.trunc(lauxlib.luaL_checknumber(L, 2)) * 1000;
  let utc = false;
  if (fmt[0] === 33) {
    utc = true;
    fmt = fmt.subarray(1);
  }
  const tm = tmFields(ms, utc);
  if (fmt.length >= 2 && fmt[0] === 42 && fmt[1] === 116) {
    lua.lua_createtable(L, 0, 9);
    setIntField(L, 'sec', tm.sec);
    setIntField(L, 'min', tm.min);
    setIntField(L, 'hour', tm.hour);
    setIntField(L, 'day', tm.day);
    setIntField(L, 'month', tm.month);
    setIntField(L, 'year', tm.year);
    setIntField(L, 'wday', tm.wday + 1);
    setIntField(L, 'yday', tm.yday);
    lua.lua_pushboolean(L, tm.isdst ? 1 : 0);
    lua.lua_setfield(L, -2, S('isdst'));
    return 1;
  }
  pushBytes(L, Buffer.from(strftime(Buffer.from(fmt).toString('latin1'), tm), 'latin1'));
  return 1;
}

function getTimeField(L: LuaState, key: string, def: number | null): number {
  const t = lua.lua_getfield(L, 1, S(key));
  let v: number | null = null;
  if (t === lua.LUA_TNUMBER || t === lua.LUA_TSTRING) {
    const n = lua.lua_tonumber(L, -1);
    if (t === lua.LUA_TNUMBER || lua.lua_isnumber(L, -1)) v = n;
  }
  lua.lua_pop(L, 1);
  if (v === null) {
    if (def === null) luaErrorWhere(L, `field '${key}' missing in date table`);
    return def!;
  }
  return Math.trunc(v);
}

function osTime(L: LuaState): number {
  if (lua.lua_type(L, 1) <= 0) {
    lua.lua_pushnumber(L, Math.floor(Date.now() / 1000));
    return 1;
  }
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_settop(L, 1);
  const sec = getTimeField(L, 'sec', 0);
  const min = getTimeField(L, 'min', 0);
  const hour = getTimeField(L, 'hour', 12);
  const day = getTimeField(L, 'day', null);
  const month = getTimeField(L, 'month', null);
  const year = getTimeField(L, 'year', null);
  const d = new Date(2000, 0, 1, 0, 0, 0);
  d.setFullYear(year, month - 1, day);
  d.setHours(hour, min, sec, 0);
  const t = d.getTime();
  if (!isFinite(t)) {
    lua.lua_pushnil(L);
    return 1;
  }
  lua.lua_pushnumber(L, Math.floor(t / 1000));
  return 1;
}

// ---------------------------------------------------------------------------------------------
// bit (LuaJIT BitOp: 32-bit signed results; numbers normalised like lj_num2bit)

function bitArg(L: LuaState, i: number): number {
  if (lua.lua_type(L, i) === lua.LUA_TNUMBER) return tobit(lua.lua_tonumber(L, i));
  return tobit(lauxlib.luaL_checknumber(L, i));
}

function pushBit(L: LuaState, n: number): number {
  lua.lua_pushnumber(L, n);
  return 1;
}

const bitlib: Record<string, (L: LuaState) => number> = {
  tobit: (L) => pushBit(L, bitArg(L, 1)),
  bnot: (L) => pushBit(L, ~bitArg(L, 1)),
  band: (L) => {
    let r = bitArg(L, 1);
    for (let i = lua.lua_gettop(L); i > 1; i--) r &= bitArg(L, i);
    return pushBit(L, r);
  },
  bor: (L) => {
    let r = bitArg(L, 1);
    for (let i = lua.lua_gettop(L); i > 1; i--) r |= bitArg(L, i);
    return pushBit(L, r);
  },
  bxor: (L) => {
    let r = bitArg(L, 1);
    for (let i = lua.lua_gettop(L); i > 1; i--) r ^= bitArg(L, i);
    return pushBit(L, r);
  },
  lshift: (L) => pushBit(L, bitArg(L, 1) << (bitArg(L, 2) & 31)),
  rshift: (L) => pushBit(L, (bitArg(L, 1) >>> (bitArg(L, 2) & 31)) | 0),
  arshift: (L) => pushBit(L, bitArg(L, 1) >> (bitArg(L, 2) & 31)),
  rol: (L) => {
    const x = bitArg(L, 1);
    const n = bitArg(L, 2) & 31;
    return pushBit(L, (x << n) | (x >>> ((32 - n) & 31)) | 0);
  },
  ror: (L) => {
    const x = bitArg(L, 1);
    const n = bitArg(L, 2) & 31;
    return pushBit(L, (x >>> n) | (x << ((32 - n) & 31)) | 0);
  },
  bswap: (L) => {
    const x = bitArg(L, 1);
    return pushBit(L, ((x >>> 24) | ((x >>> 8) & 0xff00) | ((x & 0xff00) << 8) | (x << 24)) | 0);
  },
  tohex: (L) => {
    const v = lauxlib.luaL_checknumber(L, 1);
    let n = lua.lua_type(L, 2) <= 0 ? 8 : num2int(lauxlib.luaL_checknumber(L, 2));
    let upper = false;
    if (n < 0) {
      n = -n;
      upper = true;
    }
    if (n > 16) n = 16;
    // plain numbers are normalised like every bit operand, then zero-extended
    let b = tobit(v) >>> 0;
    if (n < 8) b = b % 2 ** (4 * n);
    const s = n === 0 ? '' : b.toString(16).padStart(n, '0');
    pushBytes(L, asciiBytes(upper ? s.toUpperCase() : s));
    return 1;
  },
};

function openBit(L: LuaState): number {
  lua.lua_createtable(L, 0, 12);
  for (const k of Object.keys(bitlib)) {
    lua.lua_pushcfunction(L, bitlib[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------
// table.new / clear / nkeys / isempty / isarray / clone

function tableNew(L: LuaState): number {
  const narr = num2int(lauxlib.luaL_checknumber(L, 1));
  const nrec = num2int(lauxlib.luaL_checknumber(L, 2));
  lua.lua_createtable(L, narr > 0 ? narr : 0, nrec > 0 ? nrec : 0);
  return 1;
}

function tableClear(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_settop(L, 1);
  for (;;) {
    lua.lua_pushnil(L);
    if (lua.lua_next(L, 1) === 0) break;
    lua.lua_pop(L, 1);
    // remove this key and all keys that follow it in one traversal
    lua.lua_pushvalue(L, -1);
    lua.lua_pushnil(L);
    lua.lua_rawset(L, 1);
    while (lua.lua_next(L, 1) !== 0) {
      lua.lua_pop(L, 1);
      lua.lua_pushvalue(L, -1);
      lua.lua_pushnil(L);
      lua.lua_rawset(L, 1);
    }
  }
  return 0;
}

function tableSize(L: LuaState): number {
  const h: any = lua.lua_topointer(L, 1);
  if (h && h.strong instanceof Map) return h.strong.size;
  let n = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, 1) !== 0) {
    lua.lua_pop(L, 1);
    n++;
  }
  return n;
}

function tableNkeys(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_pushnumber(L, tableSize(L));
  return 1;
}

function tableIsempty(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_pushboolean(L, tableSize(L) === 0 ? 1 : 0);
  return 1;
}

/** OpenResty's table.isarray: every key is a positive integer (empty tables count as arrays). */
function tableIsarray(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_settop(L, 1);
  lua.lua_pushnil(L);
  while (lua.lua_next(L, 1) !== 0) {
    lua.lua_pop(L, 1);
    if (lua.lua_type(L, -1) !== lua.LUA_TNUMBER) {
      lua.lua_pushboolean(L, 0);
      return 1;
    }
    const k = lua.lua_tonumber(L, -1);
    if (k < 1 || Math.floor(k) !== k) {
      lua.lua_pushboolean(L, 0);
      return 1;
    }
  }
  lua.lua_pushboolean(L, 1);
  return 1;
}

function tableClone(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_settop(L, 1);
  lua.lua_createtable(L, 0, 0);
  lua.lua_pushnil(L);
  while (lua.lua_next(L, 1) !== 0) {
    lua.lua_pushvalue(L, -2);
    lua.lua_insert(L, -2);
    lua.lua_rawset(L, 2);
  }
  return 1;
}

/** LuaJIT's table.insert: raw accesses and no position bounds check (t[#t + 5] = v works). */
function tableInsert(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  const nargs = lua.lua_gettop(L);
  let i = lua.lua_rawlen(L, 1) + 1;
  if (nargs !== 2) {
    if (nargs !== 3) luaErrorWhere(L, "wrong number of arguments to 'insert'");
    const n = num2int(lauxlib.luaL_checknumber(L, 2));
    for (; i > n; i--) {
      lua.lua_rawgeti(L, 1, i - 1);
      lua.lua_rawseti(L, 1, i);
    }
    i = n;
  }
  lua.lua_pushvalue(L, nargs);
  lua.lua_rawseti(L, 1, i);
  return 0;
}

/** LuaJIT's table.remove (lib_table.lua): nothing is returned for an empty table or a position
 *  outside 1..#t. */
function tableRemove(L: LuaState): number {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  const len = lua.lua_rawlen(L, 1);
  if (lua.lua_type(L, 2) <= lua.LUA_TNIL) {
    if (len === 0) return 0;
    lua.lua_geti(L, 1, len);
    lua.lua_pushnil(L);
    lua.lua_seti(L, 1, len);
    return 1;
  }
  const pos = num2int(lauxlib.luaL_checknumber(L, 2));
  if (pos < 1 || pos > len) return 0;
  lua.lua_geti(L, 1, pos);
  for (let i = pos + 1; i <= len; i++) {
    lua.lua_geti(L, 1, i);
    lua.lua_seti(L, 1, i - 1);
  }
  lua.lua_pushnil(L);
  lua.lua_seti(L, 1, len);
  return 1;
}

function preloadFn(fn: (L: LuaState) => number): (L: LuaState) => number {
  return (L) => {
    lua.lua_pushcfunction(L, fn);
    return 1;
  };
}

definePreload('bit', openBit);
definePreload('table.new', preloadFn(tableNew));
definePreload('table.clear', preloadFn(tableClear));
definePreload('table.nkeys', preloadFn(tableNkeys));
definePreload('table.isempty', preloadFn(tableIsempty));
definePreload('table.isarray', preloadFn(tableIsarray));
definePreload('table.clone', preloadFn(tableClone));

// ---------------------------------------------------------------------------------------------
// ngx.config

const NGINX_VERSION = 1022001;
const NGX_LUA_VERSION = 10023;
const CONFIGURE_ARGS =
  ' --prefix=/usr/local/openresty/nginx --with-cc-opt=-O2 --add-module=../ngx_devel_kit-0.3.2' +
  ' --add-module=../echo-nginx-module-0.63 --add-module=../set-misc-nginx-module-0.33' +
  ' --add-module=../headers-more-nginx-module-0.34 --add-module=../ngx_lua-0.10.23 --with-http_ssl_module';

function configPrefix(env: NgxEnv): string {
  const p: string = env.worker?.conf?.prefix ?? process.cwd();
  return p.endsWith('/') ? p : p + '/';
}

// ---------------------------------------------------------------------------------------------
// io: fengari only has io.write. Synchronous files like C stdio (OpenResty's io is blocking too):
// io.open/lines/close/read/write/type/popen/tmpfile/input/output and file methods
// read/write/lines/seek/close/flush/setvbuf; os.execute. There is no __gc in fengari, so a file
// that is never closed keeps its descriptor.

interface LFile {
  fd: number | null; // null for popen read handles (data) and closed files
  data: Buffer | null; // popen output
  pos: number;
  append: boolean;
  std: boolean;
  closed: boolean;
  popenWrite: { cmd: string; chunks: Buffer[] } | null;
}

const FILEHANDLE: Uint8Array = lauxlib.LUA_FILEHANDLE;

const ERRNO: Record<string, [number, string]> = {
  ENOENT: [2, 'No such file or directory'],
  EACCES: [13, 'Permission denied'],
  EPERM: [1, 'Operation not permitted'],
  EEXIST: [17, 'File exists'],
  ENOTDIR: [20, 'Not a directory'],
  EISDIR: [21, 'Is a directory'],
  EINVAL: [22, 'Invalid argument'],
  EMFILE: [24, 'Too many open files'],
  ENOSPC: [28, 'No space left on device'],
  EROFS: [30, 'Read-only file system'],
  EBADF: [9, 'Bad file descriptor'],
};

function pushFileError(L: LuaState, e: unknown, name: string | null): number {
  const code = (e as { code?: string }).code ?? '';
  const [errno, msg] = ERRNO[code] ?? [5, (e as Error).message ?? 'Input/output error'];
  lua.lua_pushnil(L);
  pushBytes(L, Buffer.from(name !== null ? `${name}: ${msg}` : msg, 'latin1'));
  lua.lua_pushnumber(L, errno);
  return 3;
}

function newFile(L: LuaState, f: LFile): void {
  const ud = lua.lua_newuserdata(L, 0);
  ud.lfile = f;
  lauxlib.luaL_setmetatable(L, FILEHANDLE);
}

function toFile(L: LuaState, idx: number): LFile {
  const ud = lauxlib.luaL_checkudata(L, idx, FILEHANDLE);
  const f: LFile | undefined = ud.lfile;
  if (f === undefined) luaErrorWhere(L, 'attempt to use a closed file');
  if (f.closed) luaErrorWhere(L, 'attempt to use a closed file');
  return f;
}

function fileReadBytes(f: LFile, n: number): Buffer {
  if (f.data !== null) {
    const b = f.data.subarray(f.pos, f.pos + n);
    f.pos += b.length;
    return b;
  }
  if (f.fd === null || n <= 0) return Buffer.alloc(0);
  const b = Buffer.allocUnsafe(n);
  let got = 0;
  try {
    got = fs.readSync(f.fd, b, 0, n, f.std ? null : f.pos);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EAGAIN' && (e as { code?: string }).code !== 'EOF') throw e;
  }
  f.pos += got;
  return b.subarray(0, got);
}

function fileReadLine(f: LFile, keepNl: boolean): Buffer | null {
  const parts: Buffer[] = [];
  let any = false;
  for (;;) {
    const start = f.pos;
    const chunk = fileReadBytes(f, 4096);
    if (chunk.length === 0) break;
    any = true;
    const nl = chunk.indexOf(10);
    if (nl >= 0) {
      parts.push(chunk.subarray(0, keepNl ? nl + 1 : nl));
      f.pos = start + nl + 1;
      return Buffer.concat(parts);
    }
    parts.push(chunk);
  }
  return any ? Buffer.concat(parts) : null;
}

function fileReadAll(f: LFile): Buffer {
  const parts: Buffer[] = [];
  for (;;) {
    const chunk = fileReadBytes(f, 65536);
    if (chunk.length === 0) break;
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

function fileReadNumber(f: LFile): number | null {
  const start = f.pos;
  const chunk = fileReadBytes(f, 256).toString('latin1');
  const m = /^\s*([+-]?(0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*([pP][+-]?\d+)?|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?))/.exec(chunk);
  if (!m) {
    f.pos = start;
    return null;
  }
  f.pos = start + m[0].length;
  const t = m[1].trim();
  const v = /^[+-]?0[xX]/.test(t) ? Number.parseInt(t, 16) : Number(t);
  return Number.isNaN(v) ? null : v;
}

function fileIsEof(f: LFile): boolean {
  if (f.data !== null) return f.pos >= f.data.length;
  if (f.fd === null) return true;
  const b = Buffer.allocUnsafe(1);
  try {
    return fs.readSync(f.fd, b, 0, 1, f.std ? null : f.pos) === 0;
  } catch {
    return true;
  }
}

/** f:read(...) with arguments from `first` on; returns the number of results. */
function fileRead(L: LuaState, f: LFile, first: number): number {
  const top = lua.lua_gettop(L);
  if (top < first) {
    const line = fileReadLine(f, false);
    if (line === null) lua.lua_pushnil(L);
    else pushBytes(L, line);
    return 1;
  }
  let n = 0;
  for (let i = first; i <= top; i++) {
    n++;
    if (lua.lua_type(L, i) === lua.LUA_TNUMBER) {
      const k = num2int(lua.lua_tonumber(L, i));
      if (k <= 0) {
        if (fileIsEof(f)) {
          lua.lua_pushnil(L);
          return n;
        }
        pushBytes(L, S(''));
        continue;
      }
      const b = fileReadBytes(f, k);
      if (b.length === 0) {
        lua.lua_pushnil(L);
        return n;
      }
      pushBytes(L, b);
      continue;
    }
    const fmt: Uint8Array = lauxlib.luaL_checklstring(L, i);
    const c = fmt[0] === 42 ? fmt[1] : fmt[0];
    if (c === 110) {
      const v = fileReadNumber(f);
      if (v === null) {
        lua.lua_pushnil(L);
        return n;
      }
      lua.lua_pushnumber(L, v);
    } else if (c === 108 || c === 76) {
      const line = fileReadLine(f, c === 76);
      if (line === null) {
        lua.lua_pushnil(L);
        return n;
      }
      pushBytes(L, line);
    } else if (c === 97) {
      pushBytes(L, fileReadAll(f));
    } else {
      lauxlib.luaL_argerror(L, i, S('invalid format'));
    }
  }
  return n;
}

function fileWrite(L: LuaState, f: LFile, first: number): number {
  const top = lua.lua_gettop(L);
  for (let i = first; i <= top; i++) {
    let b: Uint8Array;
    if (lua.lua_type(L, i) === lua.LUA_TNUMBER) b = numberBytes(lua.lua_tonumber(L, i));
    else b = lauxlib.luaL_checklstring(L, i);
    if (f.popenWrite !== null) {
      f.popenWrite.chunks.push(Buffer.from(b));
      continue;
    }
    if (f.fd === null) {
      lua.lua_pushnil(L);
      pushBytes(L, S('Bad file descriptor'));
      lua.lua_pushnumber(L, 9);
      return 3;
    }
    try {
      const w = fs.writeSync(f.fd, b, 0, b.length, f.append || f.std ? null : f.pos);
      f.pos += w;
    } catch (e) {
      return pushFileError(L, e, null);
    }
  }
  return 0;
}

function fileClose(L: LuaState, f: LFile): number {
  if (f.std) {
    lua.lua_pushnil(L);
    pushBytes(L, S('cannot close standard file'));
    return 2;
  }
  f.closed = true;
  if (f.popenWrite !== null) {
    spawnSync('/bin/sh', ['-c', f.popenWrite.cmd], { input: Buffer.concat(f.popenWrite.chunks), stdio: ['pipe', 'inherit', 'inherit'] });
  }
  if (f.fd !== null) {
    try {
      fs.closeSync(f.fd);
    } catch (e) {
      return pushFileError(L, e, null);
    }
  }
  f.fd = null;
  lua.lua_pushboolean(L, 1);
  return 1;
}

const fileMethods: Record<string, (L: LuaState) => number> = {
  read: (L) => fileRead(L, toFile(L, 1), 2),
  write: (L) => {
    const r = fileWrite(L, toFile(L, 1), 2);
    if (r !== 0) return r;
    lua.lua_pushboolean(L, 1); // LuaJIT (5.1 mode) returns true, not the file
    return 1;
  },
  lines: (L) => {
    toFile(L, 1);
    return pushLinesIterator(L, 1, false);
  },
  close: (L) => fileClose(L, toFile(L, 1)),
  flush: (L) => {
    toFile(L, 1);
    lua.lua_pushvalue(L, 1);
    return 1;
  },
  setvbuf: (L) => {
    toFile(L, 1);
    lua.lua_pushboolean(L, 1);
    return 1;
  },
  seek: (L) => {
    const f = toFile(L, 1);
    const whence = lua.lua_type(L, 2) <= 0 ? 'cur' : Buffer.from(lauxlib.luaL_checklstring(L, 2)).toString('latin1');
    const off = lua.lua_type(L, 3) <= 0 ? 0 : lauxlib.luaL_checknumber(L, 3);
    let base: number;
    if (whence === 'set') base = 0;
    else if (whence === 'cur') base = f.pos;
    else if (whence === 'end') {
      if (f.data !== null) base = f.data.length;
      else if (f.fd !== null) base = fs.fstatSync(f.fd).size;
      else base = 0;
    } else lauxlib.luaL_argerror(L, 2, S(`invalid option '${whence}'`));
    const np = base! + Math.trunc(off);
    if (np < 0) {
      lua.lua_pushnil(L);
      pushBytes(L, S('Invalid argument'));
      lua.lua_pushnumber(L, 22);
      return 3;
    }
    f.pos = np;
    lua.lua_pushnumber(L, np);
    return 1;
  },
};

/** Iterator over lines (or the given formats) of the file at `idx`; closes it at EOF if asked. */
/** Iterator over the lines of the file at `idx` (LuaJIT 5.1 mode: no formats); it closes the
 *  file at EOF when asked (io.lines(name)). */
function pushLinesIterator(L: LuaState, idx: number, closeAtEof: boolean): number {
  lua.lua_pushvalue(L, idx);
  lua.lua_pushboolean(L, closeAtEof ? 1 : 0);
  lua.lua_pushcclosure(L, linesStep, 2);
  return 1;
}

function linesStep(L: LuaState): number {
  const ud = lua.lua_touserdata(L, lua.lua_upvalueindex(1));
  const f: LFile = ud.lfile;
  if (f.closed) luaErrorWhere(L, 'file is already closed');
  const line = fileReadLine(f, false);
  if (line === null) {
    if (lua.lua_toboolean(L, lua.lua_upvalueindex(2))) fileClose(L, f);
    lua.lua_pushnil(L);
    return 1;
  }
  pushBytes(L, line);
  return 1;
}

function openFile(L: LuaState, name: string, mode: string): LFile | null {
  // like glibc's fopen: r/w/a, then '+' anywhere in the rest; other letters are ignored
  const c0 = mode[0];
  if (c0 !== 'r' && c0 !== 'w' && c0 !== 'a') {
    const e = Object.assign(new Error('Invalid argument'), { code: 'EINVAL' });
    pushFileError(L, e, name);
    return null;
  }
  const flags = c0 + (mode.indexOf('+', 1) > 0 ? '+' : '');
  try {
    const fd = fs.openSync(name, flags);
    return { fd, data: null, pos: 0, append: c0 === 'a', std: false, closed: false, popenWrite: null };
  } catch (e) {
    pushFileError(L, e, name);
    return null;
  }
}

const stdFiles: LFile[] = [0, 1, 2].map((fd) => ({ fd, data: null, pos: 0, append: true, std: true, closed: false, popenWrite: null }));
const IO_INPUT = S('tsresty.io.input');
const IO_OUTPUT = S('tsresty.io.output');

function defaultFile(L: LuaState, key: Uint8Array): LFile {
  lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, key);
  const ud = lua.lua_touserdata(L, -1);
  lua.lua_pop(L, 1);
  const f: LFile | undefined = ud?.lfile;
  if (f === undefined || f.closed) luaErrorWhere(L, `standard ${key === IO_INPUT ? 'input' : 'output'} file is closed`);
  return f;
}

function ioSetDefault(L: LuaState, key: Uint8Array, mode: string): number {
  if (lua.lua_type(L, 1) > lua.LUA_TNIL) {
    if (lua.lua_type(L, 1) === lua.LUA_TSTRING) {
      const name = Buffer.from(lua.lua_tolstring(L, 1)).toString('latin1');
      const f = openFile(L, name, mode);
      if (f === null) luaErrorWhere(L, `cannot open file '${name}' (${Buffer.from(lua.lua_tolstring(L, -2)).toString('latin1').split(': ').pop()})`);
      newFile(L, f);
    } else {
      toFile(L, 1);
      lua.lua_pushvalue(L, 1);
    }
    lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, key);
  }
  lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, key);
  return 1;
}

const ioFunctions: Record<string, (L: LuaState) => number> = {
  open: (L) => {
    const name = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
    const mode = lua.lua_type(L, 2) <= 0 ? 'r' : Buffer.from(lauxlib.luaL_checklstring(L, 2)).toString('latin1');
    const f = openFile(L, name, mode);
    if (f === null) return 3;
    newFile(L, f);
    return 1;
  },
  close: (L) => {
    if (lua.lua_type(L, 1) <= 0) return fileClose(L, defaultFile(L, IO_OUTPUT));
    return fileClose(L, toFile(L, 1));
  },
  read: (L) => {
    const f = defaultFile(L, IO_INPUT);
    if (f.std) {
      // a server has no console input to wait for
      lua.lua_pushnil(L);
      return 1;
    }
    return fileRead(L, f, 1);
  },
  write: (L) => {
    const f = defaultFile(L, IO_OUTPUT);
    const r = fileWrite(L, f, 1);
    if (r !== 0) return r;
    lua.lua_pushboolean(L, 1);
    return 1;
  },
  lines: (L) => {
    if (lua.lua_type(L, 1) <= 0) {
      lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, IO_INPUT);
      lua.lua_replace(L, 1);
      return pushLinesIterator(L, 1, false);
    }
    const name = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
    const f = openFile(L, name, 'r');
    if (f === null) lauxlib.luaL_argerror(L, 1, lua.lua_tolstring(L, -2));
    newFile(L, f!);
    lua.lua_replace(L, 1);
    return pushLinesIterator(L, 1, true);
  },
  type: (L) => {
    lauxlib.luaL_checkany(L, 1);
    const ud = lauxlib.luaL_testudata(L, 1, FILEHANDLE);
    const f: LFile | undefined = ud?.lfile;
    if (!f) lua.lua_pushnil(L);
    else pushBytes(L, S(f.closed ? 'closed file' : 'file'));
    return 1;
  },
  input: (L) => ioSetDefault(L, IO_INPUT, 'r'),
  output: (L) => ioSetDefault(L, IO_OUTPUT, 'w'),
  flush: (L) => {
    lua.lua_pushboolean(L, 1);
    return 1;
  },
  popen: (L) => {
    const cmd = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
    const mode = lua.lua_type(L, 2) <= 0 ? 'r' : Buffer.from(lauxlib.luaL_checklstring(L, 2)).toString('latin1');
    if (mode[0] === 'w') {
      newFile(L, { fd: null, data: null, pos: 0, append: true, std: false, closed: false, popenWrite: { cmd, chunks: [] } });
      return 1;
    }
    const r = spawnSync('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 30 });
    if (r.error) return pushFileError(L, r.error, cmd);
    newFile(L, { fd: null, data: r.stdout ?? Buffer.alloc(0), pos: 0, append: false, std: false, closed: false, popenWrite: null });
    return 1;
  },
  tmpfile: (L) => {
    const name = path.join(os.tmpdir(), `lua_${process.pid}_${Math.random().toString(36).slice(2)}`);
    const f = openFile(L, name, 'w+');
    if (f === null) return 3;
    try {
      fs.unlinkSync(name);
    } catch {
      /* keep going: the file still works */
    }
    newFile(L, f);
    return 1;
  },
};

function osExecute(L: LuaState): number {
  if (lua.lua_type(L, 1) <= 0) {
    lua.lua_pushnumber(L, 1);
    return 1;
  }
  const cmd = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  const r = spawnSync('/bin/sh', ['-c', cmd], { stdio: 'inherit' });
  // LuaJIT (Lua 5.1 mode) returns system()'s raw wait status
  const status = r.status !== null ? r.status * 256 : r.signal ? (os.constants.signals[r.signal] ?? 0) : -1;
  lua.lua_pushnumber(L, status);
  return 1;
}

function installIo(L: LuaState): void {
  lauxlib.luaL_newmetatable(L, FILEHANDLE);
  lua.lua_createtable(L, 0, 8);
  for (const k of Object.keys(fileMethods)) {
    lua.lua_pushcfunction(L, fileMethods[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  lua.lua_setfield(L, -2, S('__index'));
  lua.lua_pushcfunction(L, (L2: LuaState) => {
    const ud = lua.lua_touserdata(L2, 1);
    const f: LFile | undefined = ud?.lfile;
    pushBytes(L2, S(!f || f.closed ? 'file (closed)' : `file (0x${(lua.lua_topointer(L2, 1)?.id ?? 0).toString(16)})`));
    return 1;
  });
  lua.lua_setfield(L, -2, S('__tostring'));
  lua.lua_pop(L, 1);

  lua.lua_createtable(L, 0, 16);
  for (const k of Object.keys(ioFunctions)) {
    lua.lua_pushcfunction(L, ioFunctions[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  const names = ['stdin', 'stdout', 'stderr'];
  for (let i = 0; i < 3; i++) {
    newFile(L, stdFiles[i]);
    if (i === 0) {
      lua.lua_pushvalue(L, -1);
      lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, IO_INPUT);
    } else if (i === 1) {
      lua.lua_pushvalue(L, -1);
      lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, IO_OUTPUT);
    }
    lua.lua_setfield(L, -2, S(names[i]));
  }
  lua.lua_pushvalue(L, -1);
  lua.lua_setglobal(L, S('io'));
  lua.lua_getglobal(L, S('package'));
  lua.lua_getfield(L, -1, S('loaded'));
  lua.lua_pushvalue(L, -3);
  lua.lua_setfield(L, -2, S('io'));
  lua.lua_pop(L, 3);
  setGlobalFn(L, 'os', 'execute', osExecute);
}

// ---------------------------------------------------------------------------------------------
// installation

function setGlobalFn(L: LuaState, table: string | null, name: string, fn: (L: LuaState) => number): void {
  if (table === null) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setglobal(L, S(name));
    return;
  }
  lua.lua_getglobal(L, S(table));
  lua.lua_pushcfunction(L, fn);
  lua.lua_setfield(L, -2, S(name));
  lua.lua_pop(L, 1);
}

defineNgxApi('misc', (L, env) => {
  // ngx.config (the ngx table is on top of the stack)
  lua.lua_createtable(L, 0, 8);
  pushBytes(L, S('http'));
  lua.lua_setfield(L, -2, S('subsystem'));
  lua.lua_pushboolean(L, 0);
  lua.lua_setfield(L, -2, S('debug'));
  lua.lua_pushnumber(L, NGINX_VERSION);
  lua.lua_setfield(L, -2, S('nginx_version'));
  lua.lua_pushnumber(L, NGX_LUA_VERSION);
  lua.lua_setfield(L, -2, S('ngx_lua_version'));
  const prefix = asciiBytes(configPrefix(env));
  lua.lua_pushcfunction(L, (L2: LuaState) => {
    pushBytes(L2, prefix);
    return 1;
  });
  lua.lua_setfield(L, -2, S('prefix'));
  lua.lua_pushcfunction(L, (L2: LuaState) => {
    pushBytes(L2, S(CONFIGURE_ARGS));
    return 1;
  });
  lua.lua_setfield(L, -2, S('nginx_configure'));
  lua.lua_setfield(L, -2, S('config'));

  // package.loaded.ngx = ngx (require "ngx")
  lua.lua_getglobal(L, S('package'));
  lua.lua_getfield(L, -1, S('loaded'));
  lua.lua_pushvalue(L, -3);
  lua.lua_setfield(L, -2, S('ngx'));
  lua.lua_pop(L, 2);

  // library replacements
  setGlobalFn(L, 'string', 'format', strFormat);
  lua.lua_getglobal(L, S('string'));
  lua.lua_getfield(L, -1, S('gsub'));
  lua.lua_pushcclosure(L, gsubCompat, 1);
  lua.lua_setfield(L, -2, S('gsub'));
  lua.lua_pop(L, 1);
  setGlobalFn(L, null, 'tonumber', luaTonumber);
  setGlobalFn(L, null, 'collectgarbage', collectGarbage);
  setGlobalFn(L, null, 'gcinfo', gcinfo);
  setGlobalFn(L, null, 'newproxy', newproxy);
  setGlobalFn(L, 'math', 'floor', mathFloor);
  setGlobalFn(L, 'math', 'ceil', mathCeil);
  setGlobalFn(L, 'math', 'abs', mathAbs);
  setGlobalFn(L, 'math', 'fmod', mathFmod);
  setGlobalFn(L, 'math', 'modf', mathModf);
  setGlobalFn(L, 'math', 'ldexp', mathLdexp);
  setGlobalFn(L, 'math', 'frexp', mathFrexp);
  setGlobalFn(L, 'math', 'random', mathRandom);
  setGlobalFn(L, 'math', 'randomseed', mathRandomseed);
  setGlobalFn(L, 'os', 'date', osDate);
  setGlobalFn(L, 'os', 'time', osTime);
  setGlobalFn(L, 'table', 'insert', tableInsert);
  setGlobalFn(L, 'table', 'remove', tableRemove);
  setGlobalFn(L, 'table', 'new', tableNew);
  setGlobalFn(L, 'table', 'clear', tableClear);
  setGlobalFn(L, 'table', 'nkeys', tableNkeys);
  setGlobalFn(L, 'table', 'isempty', tableIsempty);
  setGlobalFn(L, 'table', 'isarray', tableIsarray);
  setGlobalFn(L, 'table', 'clone', tableClone);

  installIo(L);

  // global bit library, also package.loaded.bit
  openBit(L);
  lua.lua_pushvalue(L, -1);
  lua.lua_setglobal(L, S('bit'));
  lua.lua_getglobal(L, S('package'));
  lua.lua_getfield(L, -1, S('loaded'));
  lua.lua_pushvalue(L, -3);
  lua.lua_setfield(L, -2, S('bit'));
  lua.lua_pop(L, 3);
});
