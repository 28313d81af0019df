// math and os functions with LuaJIT's semantics, installed by src/ngx/misc.ts: math.floor/ceil/abs/
// fmod/modf/ldexp/frexp on doubles, math.random/randomseed with LuaJIT's Tausworthe PRNG (seeded
// sequences match OpenResty's), os.date (which honours the "!" UTC prefix fengari ignores),
// os.time and os.clock (CPU time, where fengari returns wall time).
import { lua, lauxlib } from '../lua/fengari.js';
import { S, pushBytes, luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { num2int } from '../lua/luajit-number.js';
import { strftime, type TmFields } from './timefmt.js';

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // little-endian: u32[0] = low word, u32[1] = high word

export function mathFloor(L: LuaState): number {
  lua.lua_pushnumber(L, Math.floor(lauxlib.luaL_checknumber(L, 1)));
  return 1;
}
export function mathCeil(L: LuaState): number {
  lua.lua_pushnumber(L, Math.ceil(lauxlib.luaL_checknumber(L, 1)));
  return 1;
}
export function mathAbs(L: LuaState): number {
  lua.lua_pushnumber(L, Math.abs(lauxlib.luaL_checknumber(L, 1)));
  return 1;
}
export function mathFmod(L: LuaState): number {
  lua.lua_pushnumber(L, lauxlib.luaL_checknumber(L, 1) % lauxlib.luaL_checknumber(L, 2));
  return 1;
}
export function mathModf(L: LuaState): number {
  const n = lauxlib.luaL_checknumber(L, 1);
  const ip = n >= 0 ? Math.floor(n) : Math.ceil(n);
  lua.lua_pushnumber(L, ip);
  lua.lua_pushnumber(L, isFinite(n) ? n - ip : n !== n ? n : 0);
  return 2;
}
export function mathLdexp(L: LuaState): number {
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
export function mathFrexp(L: LuaState): number {
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

export function mathRandom(L: LuaState): number {
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

export function mathRandomseed(L: LuaState): number {
  randomInit(lauxlib.luaL_checknumber(L, 1));
  return 0;
}

// ---------------------------------------------------------------------------------------------
// os.clock: C's clock(), the CPU time (user + system) the process has used, in seconds, as LuaJIT
// returns it. fengari's loslib returns process.uptime(), wall time, which keeps running while a
// request sleeps. nginx's workers are processes; ours are threads of one process, so the figure
// also counts the other workers' CPU time (Node 20 has no per-thread CPU clock).

export function osClock(L: LuaState): number {
  const u = process.cpuUsage();
  lua.lua_pushnumber(L, (u.user + u.system) / 1e6);
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

export function osDate(L: LuaState): number {
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

export function osTime(L: LuaState): number {
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
