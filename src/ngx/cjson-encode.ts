// cjson.encode: walks fengari's table objects directly (entries in `lua_next` order, which in
// fengari is insertion order) and writes JSON bytes into a reusable buffer, with lua_cjson.c's rules
// for arrays vs objects, sparse arrays, depth limits, invalid numbers and error messages.
import { lua } from '../lua/fengari.js';
import { ByteSink, S, type LuaState } from '../lua/bridge.js';
import { NULL_SENTINEL } from './constants.js';
import { formatG } from './cjson-number.js';
import {
  CjsonError, EMPTY_ARRAY, INT_MAX, INT_MIN, T_BOOLEAN, T_LIGHTUSERDATA, T_NIL, T_NUMBER, T_STRING, T_TABLE, TYPE_NAMES,
  type Config, type Shared, type Table, type TValue,
} from './cjson-common.js';

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
export function encodeArg(L: LuaState, cfg: Config, shared: Shared): Uint8Array {
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
