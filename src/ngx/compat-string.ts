// LuaJIT's string.format and string.gsub replacement rules, for the `string` table that
// src/ngx/misc.ts installs in each VM. string.format is written in TS for speed (fengari's is ~30x
// slower than C Lua's) and follows lj_strfmt: %.14g numbers, %q, %a, int64 conversions, LuaJIT's
// "invalid option" errors. gsub wraps fengari's: "%x" in a replacement string means "x" as in LuaJIT.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, ByteSink, pushBytes, luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { asciiBytes, numberBytes, num2int, fixedDigits, expDigits, gDigits } from '../lua/luajit-number.js';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: u32[0] = low word, u32[1] = high word

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

/** Output buffers, one per nesting level (a __tostring may call string.format). */
const outBufs: ByteSink[] = [];
let fmtDepth = 0;

/** Pad `body` (ASCII) to the spec's width: spaces left/right, or zeros after `prefix`. */
function putPadded(out: ByteSink, prefix: string, body: string, sp: FmtSpec, zeroOk: boolean): void {
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

function putInt(out: ByteSink, n: number, sp: FmtSpec): void {
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

function putFloat(out: ByteSink, n: number, sp: FmtSpec): void {
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

function putQuoted(out: ByteSink, s: Uint8Array): void {
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
      out.pushByte(c);
    }
  }
  out.pushByte(34);
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

export function strFormat(L: LuaState): number {
  const fmt: Uint8Array = lauxlib.luaL_checklstring(L, 1);
  const specs = parseFormat(L, fmt);
  if (specs.length === 1 && specs[0].conv === 0) {
    lua.lua_pushvalue(L, 1);
    return 1;
  }
  const top = lua.lua_gettop(L);
  let out = outBufs[fmtDepth];
  if (out === undefined) out = outBufs[fmtDepth] = new ByteSink();
  out.len = 0;
  fmtDepth++;
  try {
    let arg = 1;
    for (let k = 0; k < specs.length; k++) {
      const sp = specs[k];
      const conv = sp.conv;
      if (conv === 0) {
        out.push(sp.lit!);
        continue;
      }
      arg++;
      switch (conv) {
        case 115: { // s
          if (arg > top) lauxlib.luaL_argerror(L, arg, E_NOVAL);
          let b = argBytes(L, arg);
          if (sp.plain) {
            out.push(b);
            break;
          }
          if (sp.prec >= 0 && b.length > sp.prec) b = b.subarray(0, sp.prec);
          const pad = sp.width - b.length;
          if (pad > 0 && !(sp.flags & F_LEFT)) out.repeat(32, pad);
          out.push(b);
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
          out.pushByte(c);
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
  const out = new ByteSink();
  for (const sp of specs) {
    if (sp.conv === 0) out.push(sp.lit!);
    else if ([100, 105, 117, 120, 88, 111].includes(sp.conv)) putInt(out, n, sp);
    else putFloat(out, n, sp);
  }
  return Buffer.from(out.buf.subarray(0, out.len)).toString('latin1');
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

export function gsubCompat(L: LuaState): number {
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
