// Query-string encoding and decoding shared by ngx.encode_args/decode_args, ngx.req.get_uri_args,
// get_post_args, set_uri_args and ngx.exec (lua-nginx-module's ngx_http_lua_args.c).
import { lua, lauxlib } from 'fengari';
import { S, luaError, bytesToLatin1, pushLatin1, pushString, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { currentLogContext } from './context.js';
import { logError, Level } from '../log/errorlog.js';

const HEX = '0123456789ABCDEF';

/** Escape like ngx.escape_uri (RFC 3986 unreserved chars kept). Input/output are byte strings. */
export function escapeUriComponent(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 95 || c === 126) out += s[i];
    else out += '%' + HEX[c >> 4] + HEX[c & 15];
  }
  return out;
}

/** Unescape %XX (and '+' as space when `plus`); malformed escapes are kept as they are. */
export function unescapeUri(s: string, plus: boolean): string {
  if (s.indexOf('%') < 0 && (!plus || s.indexOf('+') < 0)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '%' && i + 2 < s.length + 0 && /^[0-9a-fA-F]{2}$/.test(s.substr(i + 1, 2))) {
      out += String.fromCharCode(parseInt(s.substr(i + 1, 2), 16));
      i += 2;
    } else if (ch === '+' && plus) out += ' ';
    else out += ch;
  }
  return out;
}

/** Push a table of args decoded from a query string; returns true when `max` truncated it. */
export function pushDecodedArgs(L: LuaState, s: string, max: number): boolean {
  lua.lua_createtable(L, 0, 4);
  const t = lua.lua_gettop(L);
  let count = 0;
  let start = 0;
  while (start < s.length) {
    let end = s.indexOf('&', start);
    if (end < 0) end = s.length;
    const part = s.slice(start, end);
    start = end + 1;
    if (part === '') continue;
    if (max > 0 && count >= max) {
      logError(Level.Info, `lua hit query args limit ${max}`, currentLogContext());
      return true;
    }
    const eq = part.indexOf('=');
    const key = unescapeUri(eq < 0 ? part : part.slice(0, eq), true);
    count++; // entries with an empty key still count towards the limit (ngx_http_lua_parse_args)
    if (key === '') continue;
    pushLatin1(L, key);
    if (eq < 0) lua.lua_pushboolean(L, 1);
    else pushLatin1(L, unescapeUri(part.slice(eq + 1), true));
    addArg(L, t);
  }
  return false;
}

/** t[key] = value, turning repeated keys into arrays (key, value on the stack, popped). */
function addArg(L: LuaState, t: number): void {
  lua.lua_pushvalue(L, -2);
  lua.lua_rawget(L, t);
  const prev = lua.lua_type(L, -1);
  if (prev === lua.LUA_TNIL) {
    lua.lua_pop(L, 1);
    lua.lua_rawset(L, t);
    return;
  }
  if (prev === lua.LUA_TTABLE) {
    const len = lua.lua_rawlen(L, -1);
    lua.lua_insert(L, -2); // key, tbl, value
    lua.lua_rawseti(L, -2, len + 1);
    lua.lua_pop(L, 2);
    return;
  }
  // second value: wrap into { old, new }
  lua.lua_createtable(L, 2, 0); // key, value, old, new
  lua.lua_insert(L, -2); // key, value, new, old
  lua.lua_rawseti(L, -2, 1); // key, value, new
  lua.lua_insert(L, -2); // key, new, value
  lua.lua_rawseti(L, -2, 2); // key, new
  lua.lua_rawset(L, t);
}

function argString(L: LuaState, idx: number, what: string): string {
  const t = lua.lua_type(L, idx);
  if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) return bytesToLatin1(lua.lua_tolstring(L, idx));
  luaError(L, `attempt to use ${Buffer.from(lua.lua_typename(L, t)).toString()} as query arg ${what}`);
}

/** Encode the table at idx like ngx.encode_args (lua_next order). */
export function encodeArgsAt(L: LuaState, idx: number): string {
  const abs = lua.lua_absindex(L, idx);
  const parts: string[] = [];
  lua.lua_pushnil(L);
  while (lua.lua_next(L, abs) !== 0) {
    const kt = lua.lua_type(L, -2);
    if (kt !== lua.LUA_TSTRING && kt !== lua.LUA_TNUMBER) {
      lua.lua_pop(L, 2);
      luaError(L, 'attempt to use a non-string key as query arg key');
    }
    const key = escapeUriComponent(bytesToLatin1(lua.lua_tolstring(L, -2) ?? lua.lua_tolstring(L, -2)));
    encodeValue(L, key, parts, true);
    lua.lua_pop(L, 1);
  }
  return parts.join('&');
}

function encodeValue(L: LuaState, key: string, parts: string[], allowTable: boolean): void {
  switch (lua.lua_type(L, -1)) {
    case lua.LUA_TBOOLEAN:
      if (lua.lua_toboolean(L, -1)) parts.push(key);
      return;
    case lua.LUA_TSTRING:
    case lua.LUA_TNUMBER:
      parts.push(key + '=' + escapeUriComponent(argString(L, -1, 'value')));
      return;
    case lua.LUA_TTABLE: {
      if (!allowTable) break;
      const n = lua.lua_rawlen(L, -1);
      for (let i = 1; i <= n; i++) {
        lua.lua_rawgeti(L, -1, i);
        encodeValue(L, key, parts, false);
        lua.lua_pop(L, 1);
      }
      return;
    }
  }
  const tn = Buffer.from(lua.lua_typename(L, lua.lua_type(L, -1))).toString();
  luaError(L, `attempt to use ${tn} as query arg value`);
}

function ngxEncodeArgs(L: LuaState): number {
  if (lua.lua_type(L, 1) !== lua.LUA_TTABLE) {
    luaError(L, `bad argument #1 to 'encode_args' (table expected, got ${Buffer.from(lua.lua_typename(L, lua.lua_type(L, 1))).toString()})`);
  }
  pushLatin1(L, encodeArgsAt(L, 1));
  return 1;
}

function ngxDecodeArgs(L: LuaState): number {
  const s = bytesToLatin1(lauxlib.luaL_checklstring(L, 1));
  const max = lua.lua_isnoneornil(L, 2) ? 100 : lauxlib.luaL_checknumber(L, 2);
  const truncated = pushDecodedArgs(L, s, max);
  if (truncated) {
    pushString(L, 'truncated');
    return 2;
  }
  return 1;
}

defineNgxApi('args', (L) => {
  lua.lua_pushcfunction(L, ngxEncodeArgs);
  lua.lua_setfield(L, -2, S('encode_args'));
  lua.lua_pushcfunction(L, ngxDecodeArgs);
  lua.lua_setfield(L, -2, S('decode_args'));
});
