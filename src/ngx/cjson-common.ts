// What the cjson encoder (cjson-encode.ts), decoder (cjson-decode.ts) and module front (cjson.ts)
// share: the fengari value and table layout they read and build directly (checked at import), the
// Lua type tags, the lightuserdata/registry keys of cjson.empty_array and the array metatables,
// CjsonError, and the shapes of an instance's options (Config) and per-VM state (Shared).
import { lua } from '../lua/fengari.js';
import type { ByteSink, LuaState } from '../lua/bridge.js';

// ---------------------------------------------------------------------------------------------------
// fengari value layout relied upon (fengari 0.1.x): a TValue is { type, value }; `type & 0x0f` is the
// basic Lua type; strings hold a TString whose bytes are `realstring`; a Table keeps its entries in a
// linked list `f` -> `n` (the order `lua_next` uses), each entry { key: TValue, value: TValue }, a Map
// `strong` from hash to entry (integer keys hash to the number itself) and `metatable`.
export interface TValue {
  type: number;
  value: any;
}
export interface TString {
  realstring: Uint8Array;
}
export interface TableEntry {
  key: TValue;
  value: TValue;
  n: TableEntry | undefined;
}
export interface Table {
  f: TableEntry | undefined;
  strong: Map<unknown, TableEntry>;
  metatable: Table | null;
}

// fengari internals used to build decoded tables without going through the Lua stack
/* eslint-disable @typescript-eslint/no-require-imports */
const ltable: any = require('fengari/src/ltable.js');
const lobject: any = require('fengari/src/lobject.js');
const lstring: any = require('fengari/src/lstring.js');
export const luaH_new: (L: LuaState) => Table = ltable.luaH_new;
export const luaH_setfrom: (L: LuaState, t: Table, k: TValue, v: TValue) => void = ltable.luaH_setfrom;
export const luaH_setint: (t: Table, i: number, v: TValue) => void = ltable.luaH_setint;
export const invalidateTMcache: (t: Table) => void = ltable.invalidateTMcache;
export const luaS_bless: (L: LuaState, b: Uint8Array) => TString = lstring.luaS_bless;
export const pushobj2s: (L: LuaState, tv: TValue) => void = lobject.pushobj2s;
export const TValue: new (type: number, value: unknown) => TValue = lobject.TValue;

export const T_NIL = 0;
export const T_BOOLEAN = 1;
export const T_LIGHTUSERDATA = 2;
export const T_NUMBER = 3;
export const T_STRING = 4;
export const T_TABLE = 5;
export const TV_NUMFLT = 3; // LUA_TNUMFLT: decoded numbers are floats (fengari integers are 32-bit)
export const TV_LNGSTR = 4 | (1 << 4); // fengari tags every string LUA_TLNGSTR
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
export const TYPE_NAMES = ['nil', 'boolean', 'userdata', 'number', 'string', 'table', 'function', 'userdata', 'thread'];

export const INT_MAX = 2147483647;
export const INT_MIN = -2147483648;

/** The lightuserdata behind `cjson.empty_array` (lua-cjson: &json_array). */
export const EMPTY_ARRAY = { cjson: 'empty_array' };
export const ARRAY_MT_KEY = { cjson: 'array_mt' };
export const EMPTY_ARRAY_MT_KEY = { cjson: 'empty_array_mt' };

/** An error lua-cjson raises with luaL_error (no position prefix: it is raised from a C function). */
export class CjsonError {
  constructor(readonly message: string) {}
}

export interface Config {
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

/** State shared by every cjson instance of one Lua VM (lua-cjson keeps these in the registry or, for
 *  the "/" escape, in a process-wide table: encode_escape_forward_slash affects all instances). */
export interface Shared {
  arrayMt: Table;
  emptyArrayMt: Table;
  escapeSlash: boolean;
}
