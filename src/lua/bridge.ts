// The Lua <-> JS value bridge. fengari strings are byte arrays (Uint8Array), so bytes cross as bytes;
// JS strings are converted only where a JS API needs one. Constant names are encoded once (`S()`).
import { lua, lauxlib, to_luastring, to_jsstring } from './fengari.js';

export type LuaState = any;
export type JsFn = (L: LuaState) => number;

const encodeCache = new Map<string, Uint8Array>();

/** Encode a constant JS string once; use for table keys, names and fixed messages. */
export function S(s: string): Uint8Array {
  let b = encodeCache.get(s);
  if (b === undefined) {
    b = to_luastring(s);
    encodeCache.set(s, b);
  }
  return b;
}

const utf8 = new TextEncoder();
// TextDecoder('latin1') is windows-1252 per the WHATWG spec (0x80-0x9F differ in Node releases
// that follow it): Buffer's latin1 slice maps every byte to the same char code.
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, s: number, e: number): string }).latin1Slice;

/** Bytes of a JS string as Lua sees them (UTF-8), without caching. */
export function toBytes(s: string): Uint8Array {
  return utf8.encode(s);
}

/** Bytes of a "binary string" (each char code 0..255 is one byte, as HTTP header values arrive). */
export function latin1Bytes(s: string): Uint8Array {
  return Buffer.from(s, 'latin1');
}

export function bytesToLatin1(b: Uint8Array): string {
  return latin1Slice.call(b, 0, b.length);
}

export function bytesToString(b: Uint8Array): string {
  return to_jsstring(b, 0, b.length, true);
}

export function pushBytes(L: LuaState, b: Uint8Array): void {
  lua.lua_pushlstring(L, b, b.length);
}

/** Push a JS string that holds UTF-8 text (messages, paths). */
export function pushString(L: LuaState, s: string): void {
  const b = utf8.encode(s);
  lua.lua_pushlstring(L, b, b.length);
}

/** Push a JS string whose chars are bytes (latin1: header values, URIs as received). */
export function pushLatin1(L: LuaState, s: string): void {
  const b = Buffer.from(s, 'latin1');
  lua.lua_pushlstring(L, b, b.length);
}

/** Numbers go to Lua as floats: fengari integers are 32-bit and wrap (see notes/fengari.md). */
export function pushNumber(L: LuaState, n: number): void {
  lua.lua_pushnumber(L, n);
}

export function pushOptionalBytes(L: LuaState, b: Uint8Array | null | undefined): void {
  if (b == null) lua.lua_pushnil(L);
  else lua.lua_pushlstring(L, b, b.length);
}

/** Raw bytes at a stack slot; numbers are converted like lua_tolstring does. */
export function toBytesAt(L: LuaState, idx: number): Uint8Array | null {
  return lua.lua_tolstring(L, idx);
}

export function checkBytes(L: LuaState, idx: number): Uint8Array {
  return lauxlib.luaL_checklstring(L, idx);
}

export function checkString(L: LuaState, idx: number): string {
  return bytesToString(lauxlib.luaL_checklstring(L, idx));
}

export function checkLatin1(L: LuaState, idx: number): string {
  return bytesToLatin1(lauxlib.luaL_checklstring(L, idx));
}

export function optString(L: LuaState, idx: number): string | null {
  if (lua.lua_isnoneornil(L, idx)) return null;
  return checkString(L, idx);
}

/** Raise a Lua error with a message (never returns: fengari throws). */
export function luaError(L: LuaState, msg: string): never {
  pushString(L, msg);
  lua.lua_error(L);
  throw new Error('unreachable');
}

/** luaL_error: prefixes the message with the caller's position like C's luaL_error. */
export function luaErrorWhere(L: LuaState, msg: string): never {
  lauxlib.luaL_where(L, 1);
  pushString(L, msg);
  lua.lua_concat(L, 2);
  lua.lua_error(L);
  throw new Error('unreachable');
}

/** Set fields of the table at the top of the stack from a record of JS functions. */
export function setFuncs(L: LuaState, fns: Record<string, JsFn>): void {
  for (const name of Object.keys(fns)) {
    lua.lua_pushcfunction(L, fns[name]);
    lua.lua_setfield(L, -2, S(name));
  }
}

/** package.loaded[name] = the value on top of the stack (left there): what `require(name)` returns. */
export function setLoaded(L: LuaState, name: string): void {
  lua.lua_getglobal(L, S('package'));
  lua.lua_getfield(L, -1, S('loaded'));
  lua.lua_pushvalue(L, -3);
  lua.lua_setfield(L, -2, S(name));
  lua.lua_pop(L, 2);
}

export function setNumberField(L: LuaState, name: string, n: number): void {
  lua.lua_pushnumber(L, n);
  lua.lua_setfield(L, -2, S(name));
}

export function setStringField(L: LuaState, name: string, v: string): void {
  pushString(L, v);
  lua.lua_setfield(L, -2, S(name));
}

/** Convert a Lua value to a plain JS value (strings as JS strings, tables as objects/arrays). For
 *  non-hot paths only (config, logging, tests). */
export function toJs(L: LuaState, idx: number, depth = 0): unknown {
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TNIL:
    case lua.LUA_TNONE:
      return null;
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, idx);
    case lua.LUA_TNUMBER:
      return lua.lua_tonumber(L, idx);
    case lua.LUA_TSTRING:
      return bytesToString(lua.lua_tolstring(L, idx));
    case lua.LUA_TTABLE: {
      if (depth > 20) return null;
      const out: Record<string, unknown> = {};
      const abs = lua.lua_absindex(L, idx);
      lua.lua_pushnil(L);
      while (lua.lua_next(L, abs) !== 0) {
        const k = lua.lua_type(L, -2) === lua.LUA_TNUMBER ? String(lua.lua_tonumber(L, -2)) : bytesToString(lua.lua_tolstring(L, -2) ?? new Uint8Array());
        out[k] = toJs(L, -1, depth + 1);
        lua.lua_pop(L, 1);
      }
      return out;
    }
    default:
      return `<${bytesToString(lua.lua_typename(L, lua.lua_type(L, idx)))}>`;
  }
}

/** Growable byte buffer used to build output without intermediate JS strings. */
export class ByteSink {
  buf: Uint8Array;
  len = 0;
  constructor(size = 256) {
    this.buf = new Uint8Array(size);
  }
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  push(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  pushByte(c: number): void {
    this.reserve(1);
    this.buf[this.len++] = c;
  }
  /** an ASCII (or latin1) JS string, one byte per char */
  ascii(s: string): void {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
  }
  /** byte `c`, `n` times */
  repeat(c: number, n: number): void {
    if (n <= 0) return;
    this.reserve(n);
    this.buf.fill(c, this.len, this.len + n);
    this.len += n;
  }
  take(): Uint8Array {
    const out = this.buf.slice(0, this.len);
    this.len = 0;
    return out;
  }
}
