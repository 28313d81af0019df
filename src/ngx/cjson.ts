// `require "cjson"` / `require "cjson.safe"`: lua-cjson 2.1.0.10 (the OpenResty fork) in TypeScript.
//
// The encoder walks fengari's table objects directly (entries in `lua_next` order, which in fengari
// is insertion order) and writes bytes into a reusable buffer; the decoder is lua-cjson's tokenizer
// and recursive-descent parser over the input bytes, building tables through the Lua API. Error
// messages, option functions and their return values follow lua_cjson.c; number text follows glibc
// (see cjson-number.ts). `cjson.null` is `ngx.null` (one lightuserdata, NULL_SENTINEL).
//
// This file is the module front: instances, option functions and their configuration; the encoder
// is cjson-encode.ts, the decoder cjson-decode.ts, the shared fengari layout cjson-common.ts.
import { lua, lauxlib } from '../lua/fengari.js';
import { ByteSink, S, pushString, luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { NULL_SENTINEL } from './constants.js';
import { definePreload } from './registry.js';
import {
  ARRAY_MT_KEY, CjsonError, EMPTY_ARRAY, EMPTY_ARRAY_MT_KEY, INT_MAX, T_NUMBER, T_STRING, TYPE_NAMES,
  type Config, type Shared, type Table,
} from './cjson-common.js';
import { encodeArg } from './cjson-encode.js';
import { decodeBytes } from './cjson-decode.js';

export const CJSON_VERSION = '2.1.0.10';

// ---------------------------------------------------------------------------------------------------
// Configuration

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
