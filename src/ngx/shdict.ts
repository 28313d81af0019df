// ngx.shared.DICT: the Lua face of the shared dict store (src/shdict). Return values and errors are
// lua-resty-core's (resty/core/shdict.lua) for the methods it implements over FFI, and
// lua-nginx-module's C functions (ngx_http_lua_shdict.c) for the list methods, flush_expired and
// get_keys; src/shdict/lua_shape.ts is the reference mapping from store results to Lua values.
//
// Shape, as in lua-nginx-module: ngx.shared is a table of dict objects by name; each dict object is
// a table { [1] = <light userdata: the zone> } whose metatable `mt` has mt.__index = mt holding
// the methods, so `dogs.get(nil, k)` fails with 'bad "zone" argument' and `dogs.__index` is mt.
//
// Hot path: no closures or allocations per call. Keys go from lua_tolstring straight into the
// store (fengari strings are byte arrays), values come back from the store's reusable result
// record (`dict.r`) with lua_pushlstring, which copies; numbers are pushed as floats.
//
// Zones (one SharedArrayBuffer each) live in a per-thread registry: the master creates them from
// `lua_shared_dict` and worker threads attach the same buffers (ensureZones / attachZones).
//
// init_by_lua runs once per generation of workers (in the first worker, for real) and its shared
// dict calls are recorded; the other workers re-run it to get the same Lua state (as if forked)
// with every dict call answered from that record instead of the store (see startRecording /
// startReplay), so its writes happen once.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, luaError, luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { SharedDict, RC_NIL, RC_OK, T_BOOLEAN, T_NIL, T_NUMBER, type SharedDictHandle } from '../shdict/index.js';
import { logError, Level } from '../log/errorlog.js';
import { cachedNowMs } from './time.js';

// ---- zone registry (per thread) ------------------------------------------------------------------

const zones = new Map<string, SharedDict>();

/**
 * The zones for `lua_shared_dict` directives: an existing zone is kept when its name and size are
 * unchanged (nginx keeps a zone across reloads on the same condition), otherwise a new one is made.
 */
export function ensureZones(dicts: readonly { name: string; size: number }[]): SharedDictHandle[] {
  for (const d of dicts) {
    const z = zones.get(d.name);
    if (z === undefined || z.capacity() !== d.size) zones.set(d.name, withClock(SharedDict.create(d.name, d.size)));
  }
  return dicts.map((d) => zones.get(d.name)!.handle);
}

/** A worker thread attaches the master's zones before its Lua VM is built. */
export function attachZones(handles: readonly SharedDictHandle[]): void {
  for (const h of handles) zones.set(h.name, withClock(SharedDict.attach(h)));
}

/** Expiry uses nginx's cached clock (one reading per event-loop turn), as ngx.now() does. */
function withClock(d: SharedDict): SharedDict {
  d.clock = cachedNowMs;
  return d;
}

/** The zone named `name` (created on first use by ensureZones for in-process servers). */
export function zoneByName(name: string): SharedDict | undefined {
  return zones.get(name);
}

// ---- init_by_lua record and replay -----------------------------------------------------------------

type Recorded = null | boolean | number | Uint8Array | Uint8Array[];
/** One dict method call made by init_by_lua: its name and return values, or that it raised. */
export interface InitCall {
  m: string;
  v: Recorded[] | null;
}

const M_OFF = 0;
const M_RECORD = 1;
const M_REPLAY = 2;
let mode = M_OFF;
let record: InitCall[] = [];
let replayAt = 0;
let diverged = false;

/** Records every dict call (and its results) until stopRecording(). */
export function startRecording(): void {
  mode = M_RECORD;
  record = [];
}

export function stopRecording(): InitCall[] {
  mode = M_OFF;
  const r = record;
  record = [];
  return r;
}

/** Answers dict calls from `calls` (in order, without touching the store) until stopReplay(). */
export function startReplay(calls: InitCall[]): void {
  mode = M_REPLAY;
  record = calls;
  replayAt = 0;
  diverged = false;
}

export function stopReplay(): void {
  mode = M_OFF;
  record = [];
}

function special(L: LuaState, name: string, impl: (L: LuaState) => number): number {
  if (mode === M_RECORD) {
    const entry: InitCall = { m: name, v: null };
    record.push(entry);
    const n = impl(L); // a Lua error propagates and leaves v = null
    const top = lua.lua_gettop(L);
    const v: Recorded[] = [];
    for (let i = top - n + 1; i <= top; i++) v.push(toRecorded(L, i));
    entry.v = v;
    return n;
  }
  const e = diverged ? undefined : record[replayAt];
  if (e === undefined || e.m !== name) {
    // init_by_lua took another path than in the first worker (time, randomness...): from here on
    // the calls go to the store itself
    if (!diverged) {
      diverged = true;
      logError(Level.Warn, `init_by_lua made different shared dict calls in this worker (${name} at call ${replayAt + 1}); the rest ran against the dict`);
    }
    return impl(L);
  }
  replayAt++;
  if (e.v === null) return impl(L); // it raised an argument error: raise it again
  for (const x of e.v) pushRecorded(L, x);
  return e.v.length;
}

function toRecorded(L: LuaState, i: number): Recorded {
  switch (lua.lua_type(L, i)) {
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, i);
    case lua.LUA_TNUMBER:
      return lua.lua_tonumber(L, i);
    case lua.LUA_TSTRING:
      return new Uint8Array(lua.lua_tolstring(L, i));
    case lua.LUA_TTABLE: {
      const n = lua.lua_rawlen(L, i);
      const out: Uint8Array[] = [];
      for (let k = 1; k <= n; k++) {
        lua.lua_rawgeti(L, i, k);
        out.push(new Uint8Array(lua.lua_tolstring(L, -1)));
        lua.lua_pop(L, 1);
      }
      return out;
    }
    default:
      return null;
  }
}

function pushRecorded(L: LuaState, x: Recorded): void {
  if (x === null) lua.lua_pushnil(L);
  else if (typeof x === 'boolean') lua.lua_pushboolean(L, x);
  else if (typeof x === 'number') lua.lua_pushnumber(L, x);
  else if (x instanceof Uint8Array) lua.lua_pushlstring(L, x, x.length);
  else {
    lua.lua_createtable(L, x.length, 0);
    for (let k = 0; k < x.length; k++) {
      lua.lua_pushlstring(L, x[k], x[k].length);
      lua.lua_rawseti(L, -2, k + 1);
    }
  }
}

// ---- argument helpers ------------------------------------------------------------------------------

const BAD_ZONE = 'bad "zone" argument';
const BAD_EXPTIME = 'bad "exptime" argument';
const NIL_KEY = S('nil key');
const BAD_VALUE_TYPE = S('bad value type');
const EMPTY_KEY = S('empty key');
const KEY_TOO_LONG = S('key too long');
const ERRS = new Map<string, Uint8Array>();

/** r.err as a Lua string (the store's messages are a small fixed set, encoded once). */
function pushErr(L: LuaState, err: string | null): void {
  if (err === null) {
    lua.lua_pushnil(L);
    return;
  }
  let b = ERRS.get(err);
  if (b === undefined) ERRS.set(err, (b = S(err)));
  lua.lua_pushlstring(L, b, b.length);
}

/** resty.core's check_zone: the dict object's [1] must be a zone. */
function zoneOf(L: LuaState): SharedDict {
  if (lua.lua_type(L, 1) === lua.LUA_TTABLE) {
    lua.lua_rawgeti(L, 1, 1);
    const z = lua.lua_touserdata(L, -1);
    lua.lua_pop(L, 1);
    if (z instanceof SharedDict) return z;
  }
  return luaErrorWhere(L, BAD_ZONE);
}

/** lua-nginx-module's C methods: luaL_checktype(L, 1, LUA_TTABLE) then the zone pointer. */
function zoneOfChecked(L: LuaState): SharedDict {
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  lua.lua_rawgeti(L, 1, 1);
  const z = lua.lua_touserdata(L, -1);
  lua.lua_pop(L, 1);
  if (z instanceof SharedDict) return z;
  return luaErrorWhere(L, 'bad user data for the ngx_shm_zone_t pointer');
}

/** resty.core keys: tostring() of anything that is not a string (nil is checked before). */
function keyOf(L: LuaState, i: number): Uint8Array {
  const t = lua.lua_type(L, i);
  if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) return lua.lua_tolstring(L, i);
  const s = lauxlib.luaL_tolstring(L, i); // pushes the converted string; it stays on the stack
  return s;
}

/** nil, "nil key" for a missing key; returns 2, or 0 when the key is present. */
function nilKey(L: LuaState, i: number): number {
  if (lua.lua_type(L, i) > lua.LUA_TNIL) return 0;
  lua.lua_pushnil(L);
  lua.lua_pushlstring(L, NIL_KEY, NIL_KEY.length);
  return 2;
}

/** The C methods' key: luaL_checklstring, then the length checks (nil, msg: returns 2). */
function checkedKeyError(L: LuaState, key: Uint8Array): number {
  const m = key.length === 0 ? EMPTY_KEY : key.length > 65535 ? KEY_TOO_LONG : null;
  if (m === null) return 0;
  lua.lua_pushnil(L);
  lua.lua_pushlstring(L, m, m.length);
  return 2;
}

/** exptime of the set family: nil/false = 0; must be >= 0. */
function exptimeOf(L: LuaState, i: number): number {
  const t = lua.lua_type(L, i);
  if (t === lua.LUA_TNUMBER) {
    const n = lua.lua_tonumber(L, i);
    if (n < 0) luaErrorWhere(L, BAD_EXPTIME);
    return n;
  }
  if (t <= lua.LUA_TNIL || (t === lua.LUA_TBOOLEAN && !lua.lua_toboolean(L, i))) return 0;
  return luaErrorWhere(L, `attempt to compare ${typeName(L, i)} with number`);
}

function typeName(L: LuaState, i: number): string {
  return String.fromCharCode(...lua.lua_typename(L, lua.lua_type(L, i)));
}

/** flags of the set family (an int in the FFI call): nil/false = 0. */
function flagsOf(L: LuaState, i: number): number {
  const t = lua.lua_type(L, i);
  if (t === lua.LUA_TNUMBER) return lua.lua_tonumber(L, i);
  if (t <= lua.LUA_TNIL || (t === lua.LUA_TBOOLEAN && !lua.lua_toboolean(L, i))) return 0;
  return luaError(L, `cannot convert '${typeName(L, i)}' to 'int'`);
}

/* eslint-disable @typescript-eslint/no-explicit-any */
const lstring: any = require('fengari/src/lstring.js');
const lobject: any = require('fengari/src/lobject.js');

/*
 * Pushing a value string: lua_pushlstring copies through Uint8Array.from (byte by byte), and any
 * new Uint8Array over 64 bytes gets its own off-heap backing store (~1 us to allocate). Strings
 * up to 64 bytes are slice()d (on-heap, cheap); up to 1 KB they are carved from an 8 KB pool
 * (a view costs no allocation; the pool lives while one of its strings does, as Node's Buffer
 * pool does); larger ones are slice()d.
 */
const POOL_SIZE = 8192;
const POOL_MAX = 1024;
let pool = new Uint8Array(POOL_SIZE);
let poolUsed = 0;

function pushCopy(L: LuaState, buf: Uint8Array, len: number): void {
  let s: Uint8Array;
  if (len === 0) {
    lua.lua_pushlstring(L, buf, 0);
    return;
  }
  if (len <= 64 || len > POOL_MAX) {
    s = buf.slice(0, len);
  } else {
    if (poolUsed + len > POOL_SIZE) {
      pool = new Uint8Array(POOL_SIZE);
      poolUsed = 0;
    }
    s = pool.subarray(poolUsed, poolUsed + len);
    s.set(len === buf.length ? buf : buf.subarray(0, len));
    poolUsed += (len + 7) & ~7;
  }
  lobject.pushsvalue2s(L, lstring.luaS_bless(L, s));
}

/** Push the value in dict.r (after a get/pop that found one). */
function pushValue(L: LuaState, d: SharedDict): void {
  const r = d.r;
  if (r.type === T_NUMBER) lua.lua_pushnumber(L, r.num);
  else if (r.type === T_BOOLEAN) lua.lua_pushboolean(L, r.num !== 0);
  else if (r.type === T_NIL) lua.lua_pushnil(L);
  else pushCopy(L, r.buf, r.len);
}

// ---- get / get_stale ---------------------------------------------------------------------------------

function getImpl(L: LuaState, stale: boolean): number {
  const d = zoneOf(L);
  const nk = nilKey(L, 2);
  if (nk) return nk;
  const hasFlags = lua.lua_type(L, 3) > lua.LUA_TNIL;
  const flags = hasFlags ? lua.lua_tonumber(L, 3) : undefined;
  const key = keyOf(L, 2);
  const rc = stale ? d.getStale(key, flags) : d.get(key, flags);
  const r = d.r;
  if (rc === RC_NIL) {
    lua.lua_pushnil(L);
    pushErr(L, r.err);
    return 2;
  }
  if (r.type === T_NIL) {
    lua.lua_pushnil(L);
    if (!r.flagsEq) return 1;
    lua.lua_pushnil(L);
    if (!stale) {
      lua.lua_pushboolean(L, true);
      return 3;
    }
    lua.lua_pushboolean(L, r.stale);
    lua.lua_pushboolean(L, true);
    return 4;
  }
  pushValue(L, d);
  if (stale) {
    if (r.flags !== 0) lua.lua_pushnumber(L, r.flags);
    else lua.lua_pushnil(L);
    lua.lua_pushboolean(L, r.stale);
    return 3;
  }
  if (r.flags === 0) return 1;
  lua.lua_pushnumber(L, r.flags);
  return 2;
}

const getFast = (L: LuaState): number => getImpl(L, false);
const getStaleFast = (L: LuaState): number => getImpl(L, true);

// ---- set family ----------------------------------------------------------------------------------------

const OP_SET = 0;
const OP_SAFE_SET = 1;
const OP_ADD = 2;
const OP_SAFE_ADD = 3;
const OP_REPLACE = 4;
const OP_DELETE = 5;

function storeImpl(L: LuaState, op: number): number {
  const d = zoneOf(L);
  const exptime = op === OP_DELETE ? 0 : exptimeOf(L, 4);
  const flags = op === OP_DELETE ? 0 : flagsOf(L, 5);
  const nk = nilKey(L, 2);
  if (nk) return nk;
  const key = keyOf(L, 2);
  let value: Uint8Array | number | boolean | null;
  switch (op === OP_DELETE ? lua.LUA_TNIL : lua.lua_type(L, 3)) {
    case lua.LUA_TSTRING:
      value = lua.lua_tolstring(L, 3);
      break;
    case lua.LUA_TNUMBER:
      value = lua.lua_tonumber(L, 3);
      break;
    case lua.LUA_TBOOLEAN:
      value = lua.lua_toboolean(L, 3);
      break;
    case lua.LUA_TNIL:
    case lua.LUA_TNONE:
      value = null;
      break;
    default:
      lua.lua_pushnil(L);
      lua.lua_pushlstring(L, BAD_VALUE_TYPE, BAD_VALUE_TYPE.length);
      return 2;
  }
  let rc: number;
  switch (op) {
    case OP_SET:
    case OP_DELETE:
      rc = d.set(key, value, exptime, flags);
      break;
    case OP_SAFE_SET:
      rc = d.safeSet(key, value, exptime, flags);
      break;
    case OP_ADD:
      rc = d.add(key, value, exptime, flags);
      break;
    case OP_SAFE_ADD:
      rc = d.safeAdd(key, value, exptime, flags);
      break;
    default:
      rc = d.replace(key, value, exptime, flags);
  }
  const r = d.r;
  if (rc === RC_NIL) {
    lua.lua_pushnil(L);
    pushErr(L, r.err);
    return 2;
  }
  lua.lua_pushboolean(L, rc === RC_OK);
  pushErr(L, rc === RC_OK ? null : r.err);
  lua.lua_pushboolean(L, r.forcible);
  return 3;
}

const setFast = (L: LuaState): number => storeImpl(L, OP_SET);
const safeSetFast = (L: LuaState): number => storeImpl(L, OP_SAFE_SET);
const addFast = (L: LuaState): number => storeImpl(L, OP_ADD);
const safeAddFast = (L: LuaState): number => storeImpl(L, OP_SAFE_ADD);
const replaceFast = (L: LuaState): number => storeImpl(L, OP_REPLACE);
const deleteFast = (L: LuaState): number => storeImpl(L, OP_DELETE);

// ---- incr ------------------------------------------------------------------------------------------------

/** resty.core: a non-number is passed through tonumber(); null when that fails. */
function toNumberOrNil(L: LuaState, i: number): number | null {
  const n = lua.lua_tonumberx(L, i);
  return n === false ? null : n;
}

function incrImpl(L: LuaState): number {
  const d = zoneOf(L);
  const nk = nilKey(L, 2);
  if (nk) return nk;
  const key = keyOf(L, 2);
  const value = toNumberOrNil(L, 3);
  if (value === null) return luaError(L, `cannot convert '${typeName(L, 3)}' to 'double'`);
  let init: number | undefined;
  const it = lua.lua_type(L, 4);
  if (it > lua.LUA_TNIL && !(it === lua.LUA_TBOOLEAN && !lua.lua_toboolean(L, 4))) {
    const n = toNumberOrNil(L, 4);
    if (n === null) return luaErrorWhere(L, `bad init arg: number expected, got ${typeName(L, 4)}`);
    init = n;
  }
  let ttl: number | undefined;
  if (lua.lua_type(L, 5) > lua.LUA_TNIL) {
    const n = toNumberOrNil(L, 5);
    if (n === null) return luaErrorWhere(L, `bad init_ttl arg: number expected, got ${typeName(L, 5)}`);
    if (n < 0) return luaErrorWhere(L, 'bad "init_ttl" argument');
    if (init === undefined) return luaErrorWhere(L, 'must provide "init" when providing "init_ttl"');
    ttl = n;
  }
  const rc = d.incr(key, value, init, ttl);
  const r = d.r;
  if (rc === RC_NIL) {
    lua.lua_pushnil(L);
    pushErr(L, r.err);
    return 2;
  }
  lua.lua_pushnumber(L, r.num);
  if (init === undefined) return 1;
  lua.lua_pushnil(L);
  lua.lua_pushboolean(L, r.forcible);
  return 3;
}

// ---- ttl / expire / flush_all / capacity / free_space ---------------------------------------------------------

function ttlImpl(L: LuaState): number {
  const d = zoneOf(L);
  const nk = nilKey(L, 2);
  if (nk) return nk;
  const rc = d.ttl(keyOf(L, 2));
  if (rc === RC_NIL) {
    lua.lua_pushnil(L);
    pushErr(L, d.r.err);
    return 2;
  }
  lua.lua_pushnumber(L, d.r.num);
  return 1;
}

function expireImpl(L: LuaState): number {
  const d = zoneOf(L);
  const t = lua.lua_type(L, 3);
  if (t <= lua.LUA_TNIL || (t === lua.LUA_TBOOLEAN && !lua.lua_toboolean(L, 3))) return luaErrorWhere(L, BAD_EXPTIME);
  const nk = nilKey(L, 2);
  if (nk) return nk;
  const key = keyOf(L, 2);
  const exptime = toNumberOrNil(L, 3);
  if (exptime === null) return luaError(L, `attempt to perform arithmetic on local 'exptime' (a ${typeName(L, 3)} value)`);
  const rc = d.expire(key, exptime);
  if (rc === RC_NIL) {
    lua.lua_pushnil(L);
    pushErr(L, d.r.err);
    return 2;
  }
  lua.lua_pushboolean(L, true);
  return 1;
}

function flushAllImpl(L: LuaState): number {
  zoneOf(L).flushAll();
  return 0;
}

function capacityImpl(L: LuaState): number {
  lua.lua_pushnumber(L, zoneOf(L).capacity());
  return 1;
}

function freeSpaceImpl(L: LuaState): number {
  lua.lua_pushnumber(L, zoneOf(L).freeSpace());
  return 1;
}

// ---- lists (lua-nginx-module's C functions) ------------------------------------------------------------

function pushImpl(L: LuaState, left: boolean): number {
  const n = lua.lua_gettop(L);
  if (n !== 3) return luaErrorWhere(L, `expecting 3 arguments, but only seen ${n}`);
  if (lua.lua_type(L, 1) !== lua.LUA_TTABLE) return luaErrorWhere(L, BAD_ZONE);
  const d = zoneOf(L);
  const nk = nilKey(L, 2);
  if (nk) return nk;
  const key = lauxlib.luaL_checklstring(L, 2);
  const ke = checkedKeyError(L, key);
  if (ke) return ke;
  let value: Uint8Array | number;
  const t = lua.lua_type(L, 3);
  if (t === lua.LUA_TSTRING) value = lua.lua_tolstring(L, 3);
  else if (t === lua.LUA_TNUMBER) value = lua.lua_tonumber(L, 3);
  else {
    lua.lua_pushnil(L);
    lua.lua_pushlstring(L, BAD_VALUE_TYPE, BAD_VALUE_TYPE.length);
    return 2;
  }
  const rc = left ? d.lpush(key, value) : d.rpush(key, value);
  if (rc === RC_OK) {
    lua.lua_pushnumber(L, d.r.num);
    return 1;
  }
  // "value not a list", and "no memory" too: lua-nginx-module 0.10.23 returns nil, "no memory"
  // (later releases say false)
  lua.lua_pushnil(L);
  pushErr(L, d.r.err);
  return 2;
}

/** Shared prologue of lpop / rpop / llen: argument count, zone and key checks. */
function listKey(L: LuaState): Uint8Array | number {
  const n = lua.lua_gettop(L);
  if (n !== 2) return luaErrorWhere(L, `expecting 2 arguments, but only seen ${n}`);
  if (lua.lua_type(L, 1) !== lua.LUA_TTABLE) return luaErrorWhere(L, BAD_ZONE);
  const nk = nilKey(L, 2);
  if (nk) return nk;
  const key = lauxlib.luaL_checklstring(L, 2);
  const ke = checkedKeyError(L, key);
  return ke ? ke : key;
}

function popImpl(L: LuaState, left: boolean): number {
  const d = zoneOf(L);
  const key = listKey(L);
  if (typeof key === 'number') return key;
  const rc = left ? d.lpop(key) : d.rpop(key);
  if (rc === RC_NIL) {
    lua.lua_pushnil(L);
    pushErr(L, d.r.err);
    return 2;
  }
  pushValue(L, d);
  return 1;
}

function llenImpl(L: LuaState): number {
  const d = zoneOf(L);
  const key = listKey(L);
  if (typeof key === 'number') return key;
  if (d.llen(key) === RC_NIL) {
    lua.lua_pushnil(L);
    pushErr(L, d.r.err);
    return 2;
  }
  lua.lua_pushnumber(L, d.r.num);
  return 1;
}

// ---- flush_expired / get_keys ----------------------------------------------------------------------

/** luaL_checkint of the optional max argument, after the "1 or 2 argument(s)" check. */
function maxArg(L: LuaState, dflt: number): number {
  const n = lua.lua_gettop(L);
  if (n !== 1 && n !== 2) return luaErrorWhere(L, `expecting 1 or 2 argument(s), but saw ${n}`);
  return n === 2 ? Math.trunc(lauxlib.luaL_checknumber(L, 2)) : dflt;
}

function flushExpiredImpl(L: LuaState): number {
  const max = maxArg(L, 0);
  const d = zoneOfChecked(L);
  lua.lua_pushnumber(L, d.flushExpired(max));
  return 1;
}

function getKeysImpl(L: LuaState): number {
  const max = maxArg(L, 1024);
  const d = zoneOfChecked(L);
  const keys = d.getKeys(max);
  lua.lua_createtable(L, keys.length, 0);
  for (let i = 0; i < keys.length; i++) {
    // getKeys returns fresh arrays: they become the Lua strings as they are
    if (keys[i].length === 0) lua.lua_pushlstring(L, keys[i], 0);
    else lobject.pushsvalue2s(L, lstring.luaS_bless(L, keys[i]));
    lua.lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

// ---- method table ----------------------------------------------------------------------------------

const IMPLS: [string, (L: LuaState) => number][] = [
  ['get', getFast],
  ['get_stale', getStaleFast],
  ['set', setFast],
  ['safe_set', safeSetFast],
  ['add', addFast],
  ['safe_add', safeAddFast],
  ['replace', replaceFast],
  ['incr', incrImpl],
  ['delete', deleteFast],
  ['lpush', (L) => pushImpl(L, true)],
  ['rpush', (L) => pushImpl(L, false)],
  ['lpop', (L) => popImpl(L, true)],
  ['rpop', (L) => popImpl(L, false)],
  ['llen', llenImpl],
  ['flush_all', flushAllImpl],
  ['flush_expired', flushExpiredImpl],
  ['get_keys', getKeysImpl],
  ['ttl', ttlImpl],
  ['expire', expireImpl],
  ['capacity', capacityImpl],
  ['free_space', freeSpaceImpl],
];

/** Each method checks the (module-wide) record/replay mode once, then runs its implementation. */
const METHODS: [Uint8Array, (L: LuaState) => number][] = IMPLS.map(([name, impl]) => [
  S(name),
  (L: LuaState): number => (mode === M_OFF ? impl(L) : special(L, name, impl)),
]);

const SHARED = S('shared');
const INDEX = S('__index');

defineNgxApi('shared', (L, env) => {
  const dicts: { name: string; size: number }[] = env.worker?.http?.sharedDicts ?? [];
  if (dicts.some((d) => zones.get(d.name)?.capacity() !== d.size)) ensureZones(dicts);
  lua.lua_createtable(L, 0, dicts.length); // ngx.shared
  if (dicts.length > 0) {
    lua.lua_createtable(L, 0, METHODS.length + 1); // the dicts' metatable, its own __index
    for (const [name, fn] of METHODS) {
      lua.lua_pushcfunction(L, fn);
      lua.lua_setfield(L, -2, name);
    }
    lua.lua_pushvalue(L, -1);
    lua.lua_setfield(L, -2, INDEX);
    for (const d of dicts) {
      const name = S(d.name);
      lua.lua_pushlstring(L, name, name.length);
      lua.lua_createtable(L, 1, 0);
      lua.lua_pushlightuserdata(L, zones.get(d.name)!);
      lua.lua_rawseti(L, -2, 1);
      lua.lua_pushvalue(L, -3);
      lua.lua_setmetatable(L, -2);
      lua.lua_rawset(L, -4);
    }
    lua.lua_pop(L, 1);
  }
  lua.lua_setfield(L, -2, SHARED);
});
