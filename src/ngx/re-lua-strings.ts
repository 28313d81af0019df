// Lua strings for ngx.re: fengari fast paths (TStrings made once for constant keys, fresh byte arrays
// pushed without copying) and pushing match text as bytes (latin1, UTF-8, or escaped invalid bytes).
import { lua } from '../lua/fengari.js';
import { S, type LuaState } from '../lua/bridge.js';

//
// lua_pushlstring copies with the generic (slow) Uint8Array.from, and a string used as a table key
// gets its hash computed by building a hex string of its bytes, once per string object. So: strings
// we create are pushed as new TStrings owning a fresh native copy, and constant keys ("pos", capture
// names) are TStrings made once, whose hash is then cached. TString/TValue are fengari's own
// (state-independent) classes, taken from a string pushed the ordinary way.

export interface TStr {
  realstring: Uint8Array;
}
let TValueC: any = null;
let TStringC: any = null;
let STRTAG = 0;

export function initFast(L: LuaState): void {
  if (TValueC !== null) return;
  lua.lua_pushlstring(L, S('pos'), 3);
  const tv = (L as any).stack[(L as any).top - 1];
  TValueC = tv.constructor;
  TStringC = tv.value.constructor;
  STRTAG = tv.type;
  lua.lua_pop(L, 1);
}

/** A Lua string object for constant bytes (kept, so its table-key hash is computed once). */
export function tstr(b: Uint8Array): TStr {
  return new TStringC(null, b);
}

export function pushTStr(L: LuaState, ts: TStr): void {
  (L as any).stack[(L as any).top++] = new TValueC(STRTAG, ts);
}

/** Push a byte array as a Lua string; the array must be fresh (Lua takes ownership). */
export function pushOwned(L: LuaState, b: Uint8Array): void {
  (L as any).stack[(L as any).top++] = new TValueC(STRTAG, new TStringC(L, b));
}

let scratch = Buffer.allocUnsafe(1024);
const EMPTY = new Uint8Array(0);

function ensureScratch(n: number): Buffer {
  if (scratch.length < n) scratch = Buffer.allocUnsafe(Math.max(n, scratch.length * 2));
  return scratch;
}

/** Node's fast, allocation-free Buffer writers (not in @types/node). */
type FastBuffer = Buffer & {
  latin1Write(s: string, offset: number, length: number): number;
  utf8Write(s: string, offset: number, length: number): number;
};

/** Bytes of a JS string taken from a match (latin1 in byte mode, UTF-8 otherwise) into `buf` at `at`. */
export function writeText(buf: Buffer, at: number, str: string, utf: boolean, escaped: boolean): number {
  if (!utf) return (buf as FastBuffer).latin1Write(str, at, str.length);
  if (!escaped) return (buf as FastBuffer).utf8Write(str, at, buf.length - at);
  let k = at;
  for (let i = 0; i < str.length; i++) {
    const u = str.charCodeAt(i);
    if (u >= 0xdc80 && u <= 0xdcff) {
      buf[k++] = u - 0xdc00;
      continue;
    }
    let cp = u;
    if (u >= 0xd800 && u <= 0xdbff && i + 1 < str.length) {
      cp = str.codePointAt(i)!;
      i++;
    }
    if (cp < 0x80) buf[k++] = cp;
    else if (cp < 0x800) {
      buf[k++] = 0xc0 | (cp >> 6);
      buf[k++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      buf[k++] = 0xe0 | (cp >> 12);
      buf[k++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[k++] = 0x80 | (cp & 0x3f);
    } else {
      buf[k++] = 0xf0 | (cp >> 18);
      buf[k++] = 0x80 | ((cp >> 12) & 0x3f);
      buf[k++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[k++] = 0x80 | (cp & 0x3f);
    }
  }
  return k - at;
}

export function pushText(L: LuaState, str: string, utf: boolean, escaped: boolean): void {
  const n = str.length;
  if (n === 0) {
    pushOwned(L, EMPTY);
    return;
  }
  const buf = ensureScratch(utf ? n * 3 : n);
  const len = writeText(buf, 0, str, utf, escaped);
  pushOwned(L, new Uint8Array(buf.subarray(0, len)));
}

export function pushSlice(L: LuaState, b: Uint8Array, from: number, to: number): void {
  pushOwned(L, to <= from ? EMPTY : new Uint8Array(b.subarray(from, to)));
}

export function pushMessage(L: LuaState, msg: string | Uint8Array): void {
  const b = typeof msg === 'string' ? Buffer.from(msg, 'latin1') : msg;
  lua.lua_pushlstring(L, b, b.length);
}
