// `require "cjson"` / `require "cjson.safe"`: lua-cjson 2.1.0.10 (the OpenResty fork) in TypeScript.
//
// The encoder walks fengari's table objects directly (entries in `lua_next` order, which in fengari
// is insertion order) and writes bytes into a reusable buffer; the decoder is lua-cjson's tokenizer
// and recursive-descent parser over the input bytes, building tables through the Lua API. Error
// messages, option functions and their return values follow lua_cjson.c; number text follows glibc
// (see cjson-number.ts). `cjson.null` is `ngx.null` (one lightuserdata, NULL_SENTINEL).
import { lua, lauxlib } from 'fengari';
import { ByteSink, S, pushString, luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { NULL_SENTINEL } from './constants.js';
import { definePreload } from './registry.js';
import { formatG, strtod } from './cjson-number.js';

export const CJSON_VERSION = '2.1.0.10';

// ---------------------------------------------------------------------------------------------------
// fengari value layout relied upon (fengari 0.1.x): a TValue is { type, value }; `type & 0x0f` is the
// basic Lua type; strings hold a TString whose bytes are `realstring`; a Table keeps its entries in a
// linked list `f` -> `n` (the order `lua_next` uses), each entry { key: TValue, value: TValue }, a Map
// `strong` from hash to entry (integer keys hash to the number itself) and `metatable`.
interface TValue {
  type: number;
  value: any;
}
interface TString {
  realstring: Uint8Array;
}
interface TableEntry {
  key: TValue;
  value: TValue;
  n: TableEntry | undefined;
}
interface Table {
  f: TableEntry | undefined;
  strong: Map<unknown, TableEntry>;
  metatable: Table | null;
}

// fengari internals used to build decoded tables without going through the Lua stack
/* eslint-disable @typescript-eslint/no-require-imports */
const ltable: any = require('fengari/src/ltable.js');
const lobject: any = require('fengari/src/lobject.js');
const lstring: any = require('fengari/src/lstring.js');
const luaH_new: (L: LuaState) => Table = ltable.luaH_new;
const luaH_setfrom: (L: LuaState, t: Table, k: TValue, v: TValue) => void = ltable.luaH_setfrom;
const luaH_setint: (t: Table, i: number, v: TValue) => void = ltable.luaH_setint;
const invalidateTMcache: (t: Table) => void = ltable.invalidateTMcache;
const luaS_bless: (L: LuaState, b: Uint8Array) => TString = lstring.luaS_bless;
const pushobj2s: (L: LuaState, tv: TValue) => void = lobject.pushobj2s;
const TValue: new (type: number, value: unknown) => TValue = lobject.TValue;

const T_NIL = 0;
const T_BOOLEAN = 1;
const T_LIGHTUSERDATA = 2;
const T_NUMBER = 3;
const T_STRING = 4;
const T_TABLE = 5;
const TV_NUMFLT = 3; // LUA_TNUMFLT: decoded numbers are floats (fengari integers are 32-bit)
const TV_LNGSTR = 4 | (1 << 4); // fengari tags every string LUA_TLNGSTR
if (
  lua.LUA_TNIL !== T_NIL || lua.LUA_TBOOLEAN !== T_BOOLEAN || lua.LUA_TLIGHTUSERDATA !== T_LIGHTUSERDATA ||
  lua.LUA_TNUMBER !== T_NUMBER || lua.LUA_TSTRING !== T_STRING || lua.LUA_TTABLE !== T_TABLE
) {
  throw new Error('cjson: unexpected fengari type tags');
}
{
  // the layout the encoder and decoder rely on
  const probe = new TValue(TV_LNGSTR, luaS_bless(null, new Uint8Array([0x61])));
  if (probe.type !== TV_LNGSTR || !(probe.value.realstring instanceof Uint8Array) || typeof luaH_new !== 'function') {
    throw new Error('cjson: unexpected fengari internals');
  }
}
const TYPE_NAMES = ['nil', 'boolean', 'userdata', 'number', 'string', 'table', 'function', 'userdata', 'thread'];

const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

/** The lightuserdata behind `cjson.empty_array` (lua-cjson: &json_array). */
export const EMPTY_ARRAY = { cjson: 'empty_array' };
const ARRAY_MT_KEY = { cjson: 'array_mt' };
const EMPTY_ARRAY_MT_KEY = { cjson: 'empty_array_mt' };

/** An error lua-cjson raises with luaL_error (no position prefix: it is raised from a C function). */
class CjsonError {
  constructor(readonly message: string) {}
}

// ---------------------------------------------------------------------------------------------------
// Configuration

interface Config {
  encodeSparseConvert: number;
  encodeSparseRatio: number;
  encodeSparseSafe: number;
  encodeMaxDepth: number;
  decodeMaxDepth: number;
  encodeInvalidNumbers: number; // 0 off, 1 on, 2 "null"
  decodeInvalidNumbers: number;
  encodeKeepBuffer: number;
  encodeNumberPrecision: number;
  encodeEmptyTableAsObject: number;
  decodeArrayWithArrayMt: number;
  encodeEscapeForwardSlash: number;
  encodeSkipUnsupportedValueTypes: number;
  buffer: ByteSink | null;
}

function newConfig(): Config {
  return {
    encodeSparseConvert: 0,
    encodeSparseRatio: 2,
    encodeSparseSafe: 10,
    encodeMaxDepth: 1000,
    decodeMaxDepth: 1000,
    encodeInvalidNumbers: 0,
    decodeInvalidNumbers: 1,
    encodeKeepBuffer: 1,
    encodeNumberPrecision: 14,
    encodeEmptyTableAsObject: 1,
    decodeArrayWithArrayMt: 0,
    encodeEscapeForwardSlash: 1,
    encodeSkipUnsupportedValueTypes: 0,
    buffer: new ByteSink(1024),
  };
}

/** State shared by every cjson instance of one Lua VM (lua-cjson keeps these in the registry or, for
 *  the "/" escape, in a process-wide table: encode_escape_forward_slash affects all instances). */
interface Shared {
  arrayMt: Table;
  emptyArrayMt: Table;
  escapeSlash: boolean;
}

const sharedByRegistry = new WeakMap<object, Shared>();

function getShared(L: LuaState): Shared {
  const reg = lua.lua_topointer(L, lua.LUA_REGISTRYINDEX);
  let sh = sharedByRegistry.get(reg);
  if (sh) return sh;
  lua.lua_newtable(L);
  const emptyArrayMt = lua.lua_topointer(L, -1) as Table;
  lua.lua_rawsetp(L, lua.LUA_REGISTRYINDEX, EMPTY_ARRAY_MT_KEY);
  lua.lua_newtable(L);
  const arrayMt = lua.lua_topointer(L, -1) as Table;
  lua.lua_rawsetp(L, lua.LUA_REGISTRYINDEX, ARRAY_MT_KEY);
  sh = { arrayMt, emptyArrayMt, escapeSlash: true };
  sharedByRegistry.set(reg, sh);
  return sh;
}

const BOOL_OPTIONS = [S('off'), S('on')];
const INVALID_NUMBER_OPTIONS = [S('off'), S('on'), S('null')];

/** json_arg_init: at most `n` arguments, padded with nils. */
function argInit(L: LuaState, n: number): void {
  lauxlib.luaL_argcheck(L, lua.lua_gettop(L) <= n, n + 1, S('found too many arguments'));
  lua.lua_settop(L, n);
}

/** json_enum_option: reads arg `idx` into the setting, pushes the current setting. */
function enumOption(L: LuaState, idx: number, current: number, options: Uint8Array[] | null): number {
  const opts = options ?? BOOL_OPTIONS;
  const boolTrue = 1;
  let v = current;
  if (!lua.lua_isnil(L, idx)) {
    if (lua.lua_isboolean(L, idx)) v = lua.lua_toboolean(L, idx) ? boolTrue : 0;
    else v = lauxlib.luaL_checkoption(L, idx, null, opts);
  }
  if (v === 0 || v === boolTrue) lua.lua_pushboolean(L, v !== 0);
  else lua.lua_pushstring(L, opts[v]);
  return v;
}

/** json_integer_option */
function integerOption(L: LuaState, idx: number, current: number, min: number, max: number): number {
  let v = current;
  if (!lua.lua_isnil(L, idx)) {
    v = lauxlib.luaL_checkinteger(L, idx);
    lauxlib.luaL_argcheck(L, min <= v && v <= max, 1, S(`expected integer between ${min} and ${max}`));
  }
  lua.lua_pushinteger(L, v);
  return v;
}

// ---------------------------------------------------------------------------------------------------
// Encoding

/** Escape for each byte: 0 = copy, else the bytes of its escape sequence. */
function makeEscapes(slash: boolean): (Uint8Array | null)[] {
  const t: (Uint8Array | null)[] = new Array(256).fill(null);
  for (let c = 0; c < 0x20; c++) t[c] = S('\\u' + c.toString(16).padStart(4, '0'));
  t[0x08] = S('\\b');
  t[0x09] = S('\\t');
  t[0x0a] = S('\\n');
  t[0x0c] = S('\\f');
  t[0x0d] = S('\\r');
  t[0x22] = S('\\"');
  t[0x5c] = S('\\\\');
  t[0x7f] = S('\\u007f');
  if (slash) t[0x2f] = S('\\/');
  return t;
}
const ESC_SLASH = makeEscapes(true);
const ESC_NO_SLASH = makeEscapes(false);
const NEEDS_ESC_SLASH = new Uint8Array(256).map((_, c) => (ESC_SLASH[c] ? 1 : 0));
const NEEDS_ESC_NO_SLASH = new Uint8Array(256).map((_, c) => (ESC_NO_SLASH[c] ? 1 : 0));

const B_NULL = S('null');
const B_TRUE = S('true');
const B_FALSE = S('false');
const B_NAN = S('NaN');
const B_INF = S('Infinity');
const B_NINF = S('-Infinity');

class Encoder {
  cfg!: Config;
  shared!: Shared;
  out!: ByteSink;
  esc: (Uint8Array | null)[] = ESC_SLASH;
  needsEsc: Uint8Array = NEEDS_ESC_SLASH;
  depth = 0;

  reset(cfg: Config, shared: Shared, out: ByteSink): void {
    this.cfg = cfg;
    this.shared = shared;
    this.out = out;
    out.len = 0;
    this.depth = 0;
    if (shared.escapeSlash) {
      this.esc = ESC_SLASH;
      this.needsEsc = NEEDS_ESC_SLASH;
    } else {
      this.esc = ESC_NO_SLASH;
      this.needsEsc = NEEDS_ESC_NO_SLASH;
    }
  }

  raw(b: Uint8Array): void {
    const out = this.out;
    out.reserve(b.length);
    out.buf.set(b, out.len);
    out.len += b.length;
  }

  ascii(s: string): void {
    const out = this.out;
    const n = s.length;
    out.reserve(n);
    const buf = out.buf;
    let p = out.len;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    out.len = p;
  }

  byte(c: number): void {
    const out = this.out;
    if (out.len >= out.buf.length) out.reserve(1);
    out.buf[out.len++] = c;
  }

  string(s: Uint8Array): void {
    const out = this.out;
    const n = s.length;
    const needs = this.needsEsc;
    out.reserve(n + 2);
    let buf = out.buf;
    let p = out.len;
    buf[p++] = 0x22;
    let i = 0;
    while (i < n) {
      // copy a run of bytes that need no escaping
      const start = i;
      while (i < n && needs[s[i]] === 0) i++;
      if (i - start > 32) {
        buf.set(s.subarray(start, i), p);
        p += i - start;
      } else {
        for (let k = start; k < i; k++) buf[p++] = s[k];
      }
      if (i < n) {
        // escapes: make room for the worst case of the rest once
        out.len = p;
        out.reserve((n - i) * 6 + 1);
        buf = out.buf;
        const e = this.esc[s[i]]!;
        for (let k = 0; k < e.length; k++) buf[p++] = e[k];
        i++;
      }
    }
    buf[p++] = 0x22;
    out.len = p;
  }

  /** json_append_number; `num` is a Lua number (key or value). */
  number(num: number): void {
    if (num - num !== 0) {
      // NaN or +-Infinity
      const mode = this.cfg.encodeInvalidNumbers;
      if (mode === 0) throw new CjsonError('Cannot serialise number: must not be NaN or Infinity');
      if (mode === 1) this.raw(num !== num ? B_NAN : num < 0 ? B_NINF : B_INF);
      else this.raw(B_NULL);
      return;
    }
    this.ascii(formatG(num, this.cfg.encodeNumberPrecision));
  }

  /** json_append_data for a table entry's value; true if it was skipped (unsupported type). */
  tvalue(tv: TValue): boolean {
    const t = tv.type & 0x0f;
    return this.value(t, t === T_STRING ? tv.value.realstring : tv.value);
  }

  /** json_append_data; `v` is the bytes for strings, the Table for tables, the JS value otherwise. */
  value(type: number, v: any): boolean {
    switch (type) {
      case T_STRING:
        this.string(v);
        return false;
      case T_NUMBER:
        this.number(v);
        return false;
      case T_BOOLEAN:
        this.raw(v ? B_TRUE : B_FALSE);
        return false;
      case T_TABLE:
        this.table(v as Table);
        return false;
      case T_NIL:
        this.raw(B_NULL);
        return false;
      case T_LIGHTUSERDATA:
        if (v === NULL_SENTINEL) this.raw(B_NULL);
        else if (v === EMPTY_ARRAY) {
          this.byte(0x5b);
          this.byte(0x5d);
        }
        // lua-cjson appends nothing for any other lightuserdata
        return false;
      default:
        if (this.cfg.encodeSkipUnsupportedValueTypes) return true;
        throw new CjsonError(`Cannot serialise ${TYPE_NAMES[type]}: type not supported`);
    }
  }

  table(t: Table): void {
    const depth = ++this.depth;
    if (depth > this.cfg.encodeMaxDepth) throw new CjsonError(`Cannot serialise, excessive nesting (${depth})`);
    const mt = t.metatable;
    if (mt !== null && mt === this.shared.arrayMt) {
      this.array(t, rawLength(t));
    } else {
      const len = this.arrayLength(t);
      if (len > 0 || (len === 0 && !this.cfg.encodeEmptyTableAsObject)) {
        this.array(t, len);
      } else if (mt !== null && mt === this.shared.emptyArrayMt) {
        this.byte(0x5b);
        this.byte(0x5d);
      } else {
        this.object(t);
      }
    }
    this.depth--;
  }

  /** lua_array_length: -1 for an object, else the largest positive integer key (0 when empty). */
  arrayLength(t: Table): number {
    let max = 0;
    let items = 0;
    for (let e = t.f; e !== undefined; e = e.n) {
      const k = e.key;
      if ((k.type & 0x0f) === T_NUMBER) {
        const kv = k.value as number;
        if (kv !== 0 && Math.floor(kv) === kv && kv >= 1) {
          // C stores the key in an int: out-of-range doubles become INT_MIN on x86-64
          if (kv > max) max = kv <= INT_MAX ? kv : INT_MIN;
          items++;
          continue;
        }
      }
      return -1;
    }
    const cfg = this.cfg;
    if (cfg.encodeSparseRatio > 0 && max > items * cfg.encodeSparseRatio && max > cfg.encodeSparseSafe) {
      if (!cfg.encodeSparseConvert) throw new CjsonError('Cannot serialise table: excessively sparse array');
      return -1;
    }
    return max;
  }

  array(t: Table, len: number): void {
    this.byte(0x5b);
    let comma = 0;
    const strong = t.strong;
    const skip = this.cfg.encodeSkipUnsupportedValueTypes;
    for (let i = 1; i <= len; i++) {
      const pos = this.out.len;
      if (comma++ > 0) this.byte(0x2c);
      const e = strong.get(i);
      if (e === undefined) this.raw(B_NULL);
      else if (this.tvalue(e.value) && skip) {
        this.out.len = pos;
        if (comma === 1) comma = 0;
      }
    }
    this.byte(0x5d);
  }

  object(t: Table): void {
    this.byte(0x7b);
    let comma = 0;
    for (let e = t.f; e !== undefined; e = e.n) {
      const pos = this.out.len;
      if (comma++ > 0) this.byte(0x2c);
      const k = e.key;
      const kt = k.type & 0x0f;
      if (kt === T_STRING) {
        this.string(k.value.realstring);
        this.byte(0x3a);
      } else if (kt === T_NUMBER) {
        this.byte(0x22);
        this.number(k.value);
        this.byte(0x22);
        this.byte(0x3a);
      } else {
        throw new CjsonError(`Cannot serialise ${TYPE_NAMES[kt]}: table key must be a number or string`);
      }
      if (this.tvalue(e.value)) {
        this.out.len = pos;
        if (comma === 1) comma = 0;
      }
    }
    this.byte(0x7d);
  }
}

/** `#t` for a table with array_mt, as LuaJIT's lua_objlen would see it. LuaJIT's answer depends on
 *  the table's array/hash layout; this models it: a table whose positive integer keys fill more than
 *  half of 1..max (how constructors and appends leave it) has length max, otherwise the array part
 *  is sized like a rehash does (computesizes) and a border is searched from there (luaH_getn). */
function rawLength(t: Table): number {
  let max = 0;
  let count = 0;
  const nums = new Array<number>(33).fill(0);
  for (let e = t.f; e !== undefined; e = e.n) {
    const k = e.key;
    if ((k.type & 0x0f) !== T_NUMBER) continue;
    const kv = k.value as number;
    if (kv >= 1 && kv <= INT_MAX && Math.floor(kv) === kv) {
      count++;
      if (kv > max) max = kv;
      nums[kv === 1 ? 0 : Math.ceil(Math.log2(kv))]++;
    }
  }
  if (count === 0) return 0;
  if (count * 2 > max) return max;
  // computesizes
  let a = 0;
  let n = 0;
  for (let i = 0, twotoi = 1; twotoi / 2 < count && i < 33; i++, twotoi *= 2) {
    if (nums[i] > 0) {
      a += nums[i];
      if (a > twotoi / 2) n = twotoi;
    }
    if (a === count) break;
  }
  const has = (i: number) => t.strong.has(i);
  if (n > 0 && !has(n)) {
    let i = 0;
    let j = n;
    while (j - i > 1) {
      const m = Math.floor((i + j) / 2);
      if (!has(m)) j = m;
      else i = m;
    }
    return i;
  }
  // unbound search in the hash part
  let i = n;
  let j = n + 1;
  while (has(j)) {
    i = j;
    j *= 2;
    if (j > INT_MAX) {
      i = 1;
      while (has(i)) i++;
      return i - 1;
    }
  }
  while (j - i > 1) {
    const m = Math.floor((i + j) / 2);
    if (!has(m)) j = m;
    else i = m;
  }
  return i;
}

const encoder = new Encoder();

/** json_encode on stack slot 1; returns the JSON bytes (valid until the next encode) */
function encodeArg(L: LuaState, cfg: Config, shared: Shared): Uint8Array {
  const out = cfg.encodeKeepBuffer && cfg.buffer ? cfg.buffer : new ByteSink(256);
  const enc = encoder;
  enc.reset(cfg, shared, out);
  const type = lua.lua_type(L, 1);
  let v: any;
  switch (type) {
    case T_STRING:
      v = lua.lua_tolstring(L, 1);
      break;
    case T_NUMBER:
      v = lua.lua_tonumber(L, 1);
      break;
    case T_BOOLEAN:
      v = lua.lua_toboolean(L, 1);
      break;
    case T_TABLE:
    case T_LIGHTUSERDATA:
      v = lua.lua_topointer(L, 1);
      break;
    default:
      v = null;
  }
  try {
    enc.value(type, v);
  } catch (e) {
    if (e instanceof RangeError) throw new CjsonError(`Cannot serialise, excessive nesting (${enc.depth})`);
    throw e;
  }
  return out.buf.subarray(0, out.len);
}

// ---------------------------------------------------------------------------------------------------
// Decoding

const enum Tok {
  OBJ_BEGIN,
  OBJ_END,
  ARR_BEGIN,
  ARR_END,
  STRING,
  NUMBER,
  BOOLEAN,
  NULL,
  COLON,
  COMMA,
  END,
  WHITESPACE,
  ERROR,
  UNKNOWN,
}
const TOKEN_NAMES = [
  'T_OBJ_BEGIN', 'T_OBJ_END', 'T_ARR_BEGIN', 'T_ARR_END', 'T_STRING', 'T_NUMBER', 'T_BOOLEAN', 'T_NULL',
  'T_COLON', 'T_COMMA', 'T_END', 'T_WHITESPACE', 'T_ERROR', 'T_UNKNOWN',
];

const CH2TOKEN = new Uint8Array(256).fill(Tok.ERROR);
CH2TOKEN[0x7b] = Tok.OBJ_BEGIN;
CH2TOKEN[0x7d] = Tok.OBJ_END;
CH2TOKEN[0x5b] = Tok.ARR_BEGIN;
CH2TOKEN[0x5d] = Tok.ARR_END;
CH2TOKEN[0x2c] = Tok.COMMA;
CH2TOKEN[0x3a] = Tok.COLON;
CH2TOKEN[0x00] = Tok.END;
for (const c of [0x20, 0x09, 0x0a, 0x0d]) CH2TOKEN[c] = Tok.WHITESPACE;
for (const c of 'fiInNt"+-0123456789') CH2TOKEN[c.charCodeAt(0)] = Tok.UNKNOWN;

const ESCAPE2CHAR = new Uint8Array(256);
ESCAPE2CHAR[0x22] = 0x22;
ESCAPE2CHAR[0x5c] = 0x5c;
ESCAPE2CHAR[0x2f] = 0x2f;
ESCAPE2CHAR[0x62] = 0x08;
ESCAPE2CHAR[0x74] = 0x09;
ESCAPE2CHAR[0x6e] = 0x0a;
ESCAPE2CHAR[0x66] = 0x0c;
ESCAPE2CHAR[0x72] = 0x0d;
ESCAPE2CHAR[0x75] = 0x75; // 'u': unicode escape

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

class Decoder {
  L: LuaState = null;
  cfg!: Config;
  shared!: Shared;
  b: Uint8Array = new Uint8Array(0);
  len = 0;
  pos = 0;
  depth = 0;
  tmp = new Uint8Array(256);
  // the current token
  tt: number = Tok.END;
  ti = 0;
  tstr: Uint8Array = this.tmp;
  tstrStart = 0;
  tstrEnd = 0;
  tnum = 0;
  tbool = false;
  terr = '';

  at(i: number): number {
    return i < this.len ? this.b[i] : 0;
  }

  tokenError(msg: string): void {
    this.tt = Tok.ERROR;
    this.ti = this.pos;
    this.terr = msg;
  }

  parseError(expected: string): never {
    const found = this.tt === Tok.ERROR ? this.terr : TOKEN_NAMES[this.tt];
    throw new CjsonError(`Expected ${expected} but found ${found} at character ${this.ti + 1}`);
  }

  /** json_next_token; returns the token type */
  next(): number {
    this.scan();
    return this.tt;
  }

  scan(): void {
    const b = this.b;
    const len = this.len;
    let pos = this.pos;
    let c = 0;
    let tt: number;
    for (;;) {
      c = pos < len ? b[pos] : 0;
      tt = CH2TOKEN[c];
      if (tt !== Tok.WHITESPACE) break;
      pos++;
    }
    this.pos = pos;
    this.ti = pos;
    this.tt = tt;
    if (tt === Tok.ERROR) {
      this.terr = 'invalid token';
      return;
    }
    if (tt === Tok.END) return;
    if (tt !== Tok.UNKNOWN) {
      this.pos = pos + 1;
      return;
    }
    if (c === 0x22) {
      this.stringToken();
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      if (!this.cfg.decodeInvalidNumbers && this.isInvalidNumber()) this.tokenError('invalid number');
      else this.numberToken();
    } else if (c === 0x74 && this.at(pos + 1) === 0x72 && this.at(pos + 2) === 0x75 && this.at(pos + 3) === 0x65) {
      this.tt = Tok.BOOLEAN;
      this.tbool = true;
      this.pos = pos + 4;
    } else if (
      c === 0x66 && this.at(pos + 1) === 0x61 && this.at(pos + 2) === 0x6c && this.at(pos + 3) === 0x73 &&
      this.at(pos + 4) === 0x65
    ) {
      this.tt = Tok.BOOLEAN;
      this.tbool = false;
      this.pos = pos + 5;
    } else if (c === 0x6e && this.at(pos + 1) === 0x75 && this.at(pos + 2) === 0x6c && this.at(pos + 3) === 0x6c) {
      this.tt = Tok.NULL;
      this.pos = pos + 4;
    } else if (this.cfg.decodeInvalidNumbers && this.isInvalidNumber()) {
      this.numberToken();
    } else {
      this.tokenError('invalid token');
    }
  }

  /** json_is_invalid_number: forms strtod() accepts but JSON does not */
  isInvalidNumber(): boolean {
    let p = this.pos;
    let c = this.at(p);
    if (c === 0x2b) return true;
    if (c === 0x2d) c = this.at(++p);
    if (c === 0x30) {
      const c2 = this.at(p + 1);
      return (c2 | 0x20) === 0x78 || (c2 >= 0x30 && c2 <= 0x39);
    }
    // C compares a (signed) char: bytes >= 0x80 count as "ordinary"
    if (c <= 0x39 || c >= 0x80) return false;
    const l0 = c | 0x20;
    const l1 = this.at(p + 1) | 0x20;
    const l2 = this.at(p + 2) | 0x20;
    if (l0 === 0x69 && l1 === 0x6e && l2 === 0x66) return true; // inf
    if (l0 === 0x6e && l1 === 0x61 && l2 === 0x6e) return true; // nan
    return false;
  }

  numberToken(): void {
    // fast path: -?[0-9]{1,15} not followed by more of a number is an exact integer
    const b = this.b;
    const len = this.len;
    let p = this.pos;
    const neg = b[p] === 0x2d;
    if (neg) p++;
    const start = p;
    let v = 0;
    while (p < len && b[p] >= 0x30 && b[p] <= 0x39) v = v * 10 + (b[p++] - 0x30);
    const n = p - start;
    if (n > 0 && n <= 15) {
      const c = p < len ? b[p] | 0x20 : 0;
      if (c !== 0x2e /* . */ && c !== 0x65 /* e */ && c !== 0x78 /* x */) {
        this.tt = Tok.NUMBER;
        this.tnum = neg ? -v : v;
        this.pos = p;
        return;
      }
    }
    const r = strtod(this.b, this.pos);
    if (r.end === this.pos) {
      this.tokenError('invalid number');
      return;
    }
    this.tt = Tok.NUMBER;
    this.tnum = r.value;
    this.pos = r.end;
  }

  stringToken(): void {
    const b = this.b;
    const len = this.len;
    let pos = this.pos + 1;
    const start = pos;
    // fast path: no escapes
    for (;;) {
      const c = pos < len ? b[pos] : 0;
      if (c === 0x22) {
        this.tt = Tok.STRING;
        this.tstr = b;
        this.tstrStart = start;
        this.tstrEnd = pos;
        this.pos = pos + 1;
        return;
      }
      if (c === 0x5c) break;
      if (c === 0) {
        this.pos = pos;
        this.tokenError('unexpected end of string');
        return;
      }
      pos++;
    }
    // slow path: unescape into tmp (the result is never longer than the input)
    if (this.tmp.length < len) this.tmp = new Uint8Array(Math.max(len, this.tmp.length * 2));
    const tmp = this.tmp;
    let o = 0;
    for (let i = start; i < pos; i++) tmp[o++] = b[i];
    for (;;) {
      let c = pos < len ? b[pos] : 0;
      if (c === 0x22) break;
      if (c === 0) {
        this.pos = pos;
        this.tokenError('unexpected end of string');
        return;
      }
      if (c === 0x5c) {
        const e = ESCAPE2CHAR[this.at(pos + 1)];
        if (e === 0x75) {
          const n = this.unicodeEscape(pos, o);
          if (n < 0) {
            this.pos = pos;
            this.tokenError('invalid unicode escape code');
            return;
          }
          o = n;
          pos += this.escapeLen;
          continue;
        }
        if (e === 0) {
          this.pos = pos;
          this.tokenError('invalid escape code');
          return;
        }
        c = e;
        pos++;
      }
      tmp[o++] = c;
      pos++;
    }
    this.pos = pos + 1;
    this.tt = Tok.STRING;
    this.tstr = tmp;
    this.tstrStart = 0;
    this.tstrEnd = o;
  }

  hex4(p: number): number {
    const d0 = hexDigit(this.at(p));
    const d1 = hexDigit(this.at(p + 1));
    const d2 = hexDigit(this.at(p + 2));
    const d3 = hexDigit(this.at(p + 3));
    if (d0 < 0 || d1 < 0 || d2 < 0 || d3 < 0) return -1;
    return (d0 << 12) | (d1 << 8) | (d2 << 4) | d3;
  }

  escapeLen = 6;

  /** json_append_unicode_escape at b[p] == '\\'; writes UTF-8 at tmp[o]; returns the new o or -1. */
  unicodeEscape(p: number, o: number): number {
    let cp = this.hex4(p + 2);
    if (cp < 0) return -1;
    this.escapeLen = 6;
    if ((cp & 0xf800) === 0xd800) {
      if (cp & 0x400) return -1; // a low surrogate first
      if (this.at(p + 6) !== 0x5c || this.at(p + 7) !== 0x75) return -1;
      const lo = this.hex4(p + 8);
      if (lo < 0 || (lo & 0xfc00) !== 0xdc00) return -1;
      cp = (((cp & 0x3ff) << 10) | (lo & 0x3ff)) + 0x10000;
      this.escapeLen = 12;
    }
    const tmp = this.tmp;
    if (cp <= 0x7f) {
      tmp[o++] = cp;
    } else if (cp <= 0x7ff) {
      tmp[o++] = (cp >> 6) | 0xc0;
      tmp[o++] = (cp & 0x3f) | 0x80;
    } else if (cp <= 0xffff) {
      tmp[o++] = (cp >> 12) | 0xe0;
      tmp[o++] = ((cp >> 6) & 0x3f) | 0x80;
      tmp[o++] = (cp & 0x3f) | 0x80;
    } else {
      tmp[o++] = (cp >> 18) | 0xf0;
      tmp[o++] = ((cp >> 12) & 0x3f) | 0x80;
      tmp[o++] = ((cp >> 6) & 0x3f) | 0x80;
      tmp[o++] = (cp & 0x3f) | 0x80;
    }
    return o;
  }

  /** The current string token as a new Lua string. */
  tokenTString(): TString {
    return luaS_bless(null, this.tstr.slice(this.tstrStart, this.tstrEnd));
  }

  /** The current string token as an object key: short keys are interned (with their hash cached by
   *  fengari on the TString), since the same keys come back in every element of an array. */
  keyTString(): TString {
    const b = this.tstr;
    const start = this.tstrStart;
    const end = this.tstrEnd;
    if (end - start > 40) return luaS_bless(null, b.slice(start, end));
    let k = '';
    for (let i = start; i < end; i++) k += String.fromCharCode(b[i]);
    let ts = keyCache.get(k);
    if (ts === undefined) {
      ts = luaS_bless(null, b.slice(start, end)) as TString;
      if (keyCache.size >= 4096) keyCache.clear();
      keyCache.set(k, ts);
    }
    return ts;
  }

  descend(): void {
    const depth = ++this.depth;
    if (depth > this.cfg.decodeMaxDepth) {
      throw new CjsonError(`Found too many nested data structures (${depth}) at character ${this.pos}`);
    }
  }

  // The value just parsed (json_process_value), as a TValue's type tag and payload.
  vt = 0;
  vv: any = null;
  private readonly kScratch: TValue = new TValue(TV_LNGSTR, null);
  private readonly vScratch: TValue = new TValue(T_NIL, null);

  /** json_process_value for the current token */
  value(): void {
    switch (this.tt) {
      case Tok.STRING:
        this.vt = TV_LNGSTR;
        this.vv = this.tokenTString();
        return;
      case Tok.NUMBER:
        this.vt = TV_NUMFLT;
        this.vv = this.tnum;
        return;
      case Tok.BOOLEAN:
        this.vt = T_BOOLEAN;
        this.vv = this.tbool;
        return;
      case Tok.OBJ_BEGIN:
        this.object();
        return;
      case Tok.ARR_BEGIN:
        this.array();
        return;
      case Tok.NULL:
        this.vt = T_LIGHTUSERDATA;
        this.vv = NULL_SENTINEL;
        return;
      default:
        this.parseError('value');
    }
  }

  object(): void {
    this.descend();
    const t = luaH_new(this.L);
    let tok = this.next();
    if (tok !== Tok.OBJ_END) {
      const k = this.kScratch;
      const v = this.vScratch;
      for (;;) {
        if (tok !== Tok.STRING) this.parseError('object key string');
        const key = this.keyTString();
        if (this.next() !== Tok.COLON) this.parseError('colon');
        this.next();
        this.value();
        k.type = TV_LNGSTR;
        k.value = key;
        v.type = this.vt;
        v.value = this.vv;
        luaH_setfrom(this.L, t, k, v); // copies both
        tok = this.next();
        if (tok === Tok.OBJ_END) break;
        if (tok !== Tok.COMMA) this.parseError('comma or object end');
        tok = this.next();
      }
      invalidateTMcache(t); // as lua_rawset does: the table may become a metatable
    }
    this.depth--;
    this.vt = T_TABLE;
    this.vv = t;
  }

  array(): void {
    this.descend();
    const t = luaH_new(this.L);
    if (this.cfg.decodeArrayWithArrayMt) t.metatable = this.shared.arrayMt;
    if (this.next() !== Tok.ARR_END) {
      const v = this.vScratch;
      for (let i = 1; ; i++) {
        this.value();
        v.type = this.vt;
        v.value = this.vv;
        luaH_setint(t, i, v); // copies
        const tok = this.next();
        if (tok === Tok.ARR_END) break;
        if (tok !== Tok.COMMA) this.parseError('comma or array end');
        this.next();
      }
    }
    this.depth--;
    this.vt = T_TABLE;
    this.vv = t;
  }
}

const keyCache = new Map<string, TString>();

const decoder = new Decoder();

/** json_decode of `input`, pushing the value on the Lua stack. */
function decodeBytes(L: LuaState, cfg: Config, shared: Shared, input: Uint8Array): void {
  if (input.length >= 2 && (input[0] === 0 || input[1] === 0)) {
    throw new CjsonError('JSON parser does not support UTF-16 or UTF-32');
  }
  // decode cannot re-enter itself (no Lua code runs while parsing), so one decoder serves all calls
  const d = decoder;
  d.L = L;
  d.cfg = cfg;
  d.shared = shared;
  d.b = input;
  d.len = input.length;
  d.pos = 0;
  d.depth = 0;
  d.vv = null;
  try {
    d.next();
    d.value();
    if (d.next() !== Tok.END) d.parseError('the end');
    lua.lua_checkstack(L, 1);
    pushobj2s(L, { type: d.vt, value: d.vv });
  } catch (e) {
    if (e instanceof RangeError) {
      throw new CjsonError(`Found too many nested data structures (${d.depth}) at character ${d.pos}`);
    }
    throw e;
  } finally {
    d.L = null;
    d.b = EMPTY;
    d.vv = null;
    if (d.tmp.length > 65536) d.tmp = new Uint8Array(256);
  }
}
const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------------
// Module tables

/** luaL_error: the message gets the calling Lua line as prefix ("file:line: "), none when called
 *  from C (pcall(cjson.decode, s)). */
function raise(L: LuaState, e: unknown): never {
  if (e instanceof CjsonError) luaErrorWhere(L, e.message);
  throw e;
}

/** The message lua-cjson's safe wrappers return when luaL_checklstring fails inside their pcall
 *  (the function has no name there). */
function safeArgError(L: LuaState): string | null {
  const t = lua.lua_type(L, 1);
  if (t === T_STRING || t === T_NUMBER) return null;
  return `bad argument #1 to '?' (string expected, got ${TYPE_NAMES[t] ?? 'no value'})`;
}

function newInstance(L: LuaState, safe: boolean): void {
  const cfg = newConfig();
  const shared = getShared(L);

  const encode = (L: LuaState): number => {
    lauxlib.luaL_argcheck(L, lua.lua_gettop(L) === 1, 1, S('expected 1 argument'));
    let out: Uint8Array;
    try {
      out = encodeArg(L, cfg, shared);
    } catch (e) {
      if (safe && e instanceof CjsonError) {
        lua.lua_settop(L, 0);
        lua.lua_pushnil(L);
        pushString(L, e.message);
        return 2;
      }
      raise(L, e);
    }
    lua.lua_pushlstring(L, out, out.length);
    return 1;
  };

  const decode = (L: LuaState): number => {
    lauxlib.luaL_argcheck(L, lua.lua_gettop(L) === 1, 1, S('expected 1 argument'));
    let input: Uint8Array;
    if (safe) {
      const msg = safeArgError(L);
      if (msg !== null) {
        lua.lua_pushnil(L);
        pushString(L, msg);
        return 2;
      }
      input = lua.lua_tolstring(L, 1);
    } else {
      input = lauxlib.luaL_checklstring(L, 1);
    }
    try {
      decodeBytes(L, cfg, shared, input);
    } catch (e) {
      if (safe && e instanceof CjsonError) {
        lua.lua_settop(L, 1);
        lua.lua_pushnil(L);
        pushString(L, e.message);
        return 2;
      }
      raise(L, e);
    }
    return 1;
  };

  const fns: Record<string, (L: LuaState) => number> = {
    encode,
    decode,
    encode_empty_table_as_object: (L) => {
      argInit(L, 1);
      cfg.encodeEmptyTableAsObject = enumOption(L, 1, cfg.encodeEmptyTableAsObject, null);
      return 1;
    },
    decode_array_with_array_mt: (L) => {
      argInit(L, 1);
      cfg.decodeArrayWithArrayMt = enumOption(L, 1, cfg.decodeArrayWithArrayMt, null);
      return 1;
    },
    encode_sparse_array: (L) => {
      argInit(L, 3);
      cfg.encodeSparseConvert = enumOption(L, 1, cfg.encodeSparseConvert, null);
      cfg.encodeSparseRatio = integerOption(L, 2, cfg.encodeSparseRatio, 0, INT_MAX);
      cfg.encodeSparseSafe = integerOption(L, 3, cfg.encodeSparseSafe, 0, INT_MAX);
      return 3;
    },
    encode_max_depth: (L) => {
      argInit(L, 1);
      cfg.encodeMaxDepth = integerOption(L, 1, cfg.encodeMaxDepth, 1, INT_MAX);
      return 1;
    },
    decode_max_depth: (L) => {
      argInit(L, 1);
      cfg.decodeMaxDepth = integerOption(L, 1, cfg.decodeMaxDepth, 1, INT_MAX);
      return 1;
    },
    encode_number_precision: (L) => {
      argInit(L, 1);
      cfg.encodeNumberPrecision = integerOption(L, 1, cfg.encodeNumberPrecision, 1, 16);
      return 1;
    },
    encode_keep_buffer: (L) => {
      argInit(L, 1);
      cfg.encodeKeepBuffer = enumOption(L, 1, cfg.encodeKeepBuffer, null);
      if (cfg.encodeKeepBuffer && !cfg.buffer) cfg.buffer = new ByteSink(1024);
      else if (!cfg.encodeKeepBuffer) cfg.buffer = null;
      return 1;
    },
    encode_invalid_numbers: (L) => {
      argInit(L, 1);
      cfg.encodeInvalidNumbers = enumOption(L, 1, cfg.encodeInvalidNumbers, INVALID_NUMBER_OPTIONS);
      return 1;
    },
    decode_invalid_numbers: (L) => {
      argInit(L, 1);
      cfg.decodeInvalidNumbers = enumOption(L, 1, cfg.decodeInvalidNumbers, null);
      return 1;
    },
    encode_escape_forward_slash: (L) => {
      argInit(L, 1);
      cfg.encodeEscapeForwardSlash = enumOption(L, 1, cfg.encodeEscapeForwardSlash, null);
      // lua-cjson changes its process-wide escape table: every instance sees the change
      shared.escapeSlash = cfg.encodeEscapeForwardSlash !== 0;
      return 1;
    },
    encode_skip_unsupported_value_types: (L) => {
      argInit(L, 1);
      cfg.encodeSkipUnsupportedValueTypes = enumOption(L, 1, cfg.encodeSkipUnsupportedValueTypes, null);
      return 1;
    },
    new: safe ? openSafe : openCjson,
  };

  lua.lua_createtable(L, 0, 24);
  for (const name of Object.keys(fns)) {
    lua.lua_pushcfunction(L, fns[name]);
    lua.lua_setfield(L, -2, S(name));
  }
  lua.lua_pushlightuserdata(L, NULL_SENTINEL);
  lua.lua_setfield(L, -2, S('null'));
  lua.lua_rawgetp(L, lua.LUA_REGISTRYINDEX, EMPTY_ARRAY_MT_KEY);
  lua.lua_setfield(L, -2, S('empty_array_mt'));
  lua.lua_rawgetp(L, lua.LUA_REGISTRYINDEX, ARRAY_MT_KEY);
  lua.lua_setfield(L, -2, S('array_mt'));
  lua.lua_pushlightuserdata(L, EMPTY_ARRAY);
  lua.lua_setfield(L, -2, S('empty_array'));
  lua.lua_pushstring(L, S('cjson'));
  lua.lua_setfield(L, -2, S('_NAME'));
  lua.lua_pushstring(L, S(CJSON_VERSION));
  lua.lua_setfield(L, -2, S('_VERSION'));
}

function openCjson(L: LuaState): number {
  newInstance(L, false);
  return 1;
}

function openSafe(L: LuaState): number {
  newInstance(L, true);
  return 1;
}

definePreload('cjson', openCjson);
definePreload('cjson.safe', openSafe);
