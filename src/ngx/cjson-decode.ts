// cjson.decode: lua-cjson's tokenizer and recursive-descent parser over the input bytes, building
// fengari tables directly (luaH_new/luaH_setfrom/luaH_setint) with lua_cjson.c's error messages,
// depth limit and number handling (strtod as glibc does it, see cjson-number.ts).
import { lua } from '../lua/fengari.js';
import { type LuaState } from '../lua/bridge.js';
import { NULL_SENTINEL } from './constants.js';
import { strtod } from './cjson-number.js';
import {
  CjsonError, T_BOOLEAN, T_LIGHTUSERDATA, T_NIL, T_TABLE, TV_LNGSTR, TV_NUMFLT, TValue,
  invalidateTMcache, luaH_new, luaH_setfrom, luaH_setint, luaS_bless, pushobj2s,
  type Config, type Shared, type TString,
} from './cjson-common.js';

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
export function decodeBytes(L: LuaState, cfg: Config, shared: Shared, input: Uint8Array): void {
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
