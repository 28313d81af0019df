// ngx.header.NAME (response headers) and ngx.resp.get_headers (ngx_http_lua_headers.c).
import { lua, lauxlib } from '../lua/fengari.js';
import { S, luaError, bytesToLatin1, pushLatin1, pushString, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { getRequest, checkContext, Ctx, REQUEST_PHASES } from './context.js';
import { logError, Level } from '../log/errorlog.js';
import type { Request } from '../http/request.js';

const SET_CTX = Ctx.set | Ctx.rewrite | Ctx.server_rewrite | Ctx.access | Ctx.content | Ctx.header_filter | Ctx.body_filter | Ctx.log | Ctx.balancer;

function headerName(L: LuaState, req: Request, idx: number): string {
  const b = lua.lua_tolstring(L, idx);
  if (b === null) luaError(L, 'bad argument #2 to \'__index\' (string expected)');
  const raw = bytesToLatin1(b);
  return req.loc.s.luaTransformUnderscores ? raw.replace(/_/g, '-') : raw;
}

// lua-nginx-module's escape tables for header names (token separators, controls, bytes >= 0x7f)
// and values (controls except HT, and DEL): such bytes become %XX so they cannot split a header.
const NAME_UNSAFE = /[\x00-\x20"(),/:;<=>?@[\\\]{}\x7f-\xff]/g;
const VALUE_UNSAFE = /[\x00-\x08\x0a-\x1f\x7f]/g;
const pct = (c: string) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');

export function escapeHeaderName(n: string): string {
  NAME_UNSAFE.lastIndex = 0;
  return NAME_UNSAFE.test(n) ? n.replace(NAME_UNSAFE, pct) : n;
}

export function escapeHeaderValue(v: string): string {
  VALUE_UNSAFE.lastIndex = 0;
  return VALUE_UNSAFE.test(v) ? v.replace(VALUE_UNSAFE, pct) : v;
}

function headerIndex(L: LuaState): number {
  checkContext(L, REQUEST_PHASES);
  const req = getRequest(L);
  const name = headerName(L, req, 2);
  const vals = req.headersOut.getAll(name.toLowerCase());
  if (vals.length === 0) lua.lua_pushnil(L);
  else if (vals.length === 1) pushLatin1(L, vals[0]);
  else {
    lua.lua_createtable(L, vals.length, 0);
    for (let i = 0; i < vals.length; i++) {
      pushLatin1(L, vals[i]);
      lua.lua_rawseti(L, -2, i + 1);
    }
  }
  return 1;
}

function valueAt(L: LuaState, idx: number): string {
  const t = lua.lua_type(L, idx);
  if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) return escapeHeaderValue(bytesToLatin1(lua.lua_tolstring(L, idx)));
  if (t === lua.LUA_TBOOLEAN) return lua.lua_toboolean(L, idx) ? 'true' : 'false';
  luaError(L, `attempt to set ngx.header with a bad value type: ${Buffer.from(lua.lua_typename(L, t)).toString()}`);
}

function headerNewIndex(L: LuaState): number {
  checkContext(L, SET_CTX);
  const req = getRequest(L);
  const name = escapeHeaderName(headerName(L, req, 2));
  if (req.headerSent && !req.headerFilterRunning) {
    logError(Level.Err, `attempt to set ngx.header.HEADER after sending out response headers`, req);
    return 0;
  }
  if (req.ext.luaHeadersSet !== true) {
    // ngx_http_lua_set_output_header: the first header set from Lua gives the response its
    // default type, so a later `ngx.header.content_type = nil` leaves it without one
    req.ext.luaHeadersSet = true;
    const h = req.headersOut;
    if (h.contentType === null && req.loc.s.luaUseDefaultType) h.contentType = req.loc.s.defaultType;
  }
  const t = lua.lua_type(L, 3);
  if (t === lua.LUA_TNIL) {
    // "" = cleared: no Content-Type at all, default_type does not come back
    if (name.length === 12 && name.toLowerCase() === 'content-type') req.headersOut.contentType = '';
    else req.headersOut.set(name, null);
    return 0;
  }
  if (t === lua.LUA_TTABLE) {
    const n = lua.lua_rawlen(L, 3);
    const vals: string[] = [];
    for (let i = 1; i <= n; i++) {
      lua.lua_rawgeti(L, 3, i);
      vals.push(valueAt(L, -1));
      lua.lua_pop(L, 1);
    }
    req.headersOut.set(name, vals.length ? vals : null);
    return 0;
  }
  const v = valueAt(L, 3);
  if (name.length === 14 && name.toLowerCase() === 'content-length' && !/^\d+$/.test(v)) {
    luaError(L, `invalid Content-Length header value: "${v}"`);
  }
  req.headersOut.set(name, v);
  return 0;
}

/** ngx.resp.get_headers(max?, raw?) */
function respGetHeaders(L: LuaState): number {
  checkContext(L, REQUEST_PHASES);
  const req = getRequest(L);
  const max = lua.lua_isnoneornil(L, 1) ? 100 : lauxlib.luaL_checkinteger(L, 1);
  const raw = lua.lua_toboolean(L, 2);
  const h = req.headersOut;
  const pairs: string[] = [];
  if (h.contentType) pairs.push('Content-Type', h.contentType);
  if (h.contentLength >= 0) pairs.push('Content-Length', String(h.contentLength));
  pairs.push(...h.list);
  pushHeaderTable(L, pairs, max, raw);
  const n = pairs.length / 2;
  if (max > 0 && n > max) {
    logError(Level.Info, `lua exceeding response header limit ${n} > ${max}`, req);
    pushString(L, 'truncated');
    return 2;
  }
  return 1;
}

/** A header table like ngx.req.get_headers builds: lower-case keys (unless raw), repeated
 *  headers as arrays, and a metatable whose __index folds case and underscores. */
export function pushHeaderTable(L: LuaState, pairs: string[], max: number, raw: boolean): void {
  lua.lua_createtable(L, 0, pairs.length / 2);
  const t = lua.lua_gettop(L);
  let count = 0;
  for (let i = 0; i < pairs.length; i += 2) {
    if (max > 0 && count >= max) break;
    count++;
    pushLatin1(L, raw ? pairs[i] : pairs[i].toLowerCase());
    lua.lua_pushvalue(L, -1);
    lua.lua_rawget(L, t);
    const prev = lua.lua_type(L, -1);
    if (prev === lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      pushLatin1(L, pairs[i + 1]);
      lua.lua_rawset(L, t);
    } else if (prev === lua.LUA_TTABLE) {
      pushLatin1(L, pairs[i + 1]);
      lua.lua_rawseti(L, -2, lua.lua_rawlen(L, -2) + 1);
      lua.lua_pop(L, 2);
    } else {
      lua.lua_createtable(L, 2, 0);
      lua.lua_insert(L, -2);
      lua.lua_rawseti(L, -2, 1);
      pushLatin1(L, pairs[i + 1]);
      lua.lua_rawseti(L, -2, 2);
      lua.lua_rawset(L, t);
    }
  }
  if (!raw) {
    lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, S('tsresty.req_headers_mt'));
    lua.lua_setmetatable(L, t);
  }
}

/** __index for header tables: t["Foo_Bar"] finds "foo-bar". */
function headersMtIndex(L: LuaState): number {
  const b = lua.lua_tolstring(L, 2);
  if (b === null) return 0;
  const k = bytesToLatin1(b).toLowerCase().replace(/_/g, '-');
  pushLatin1(L, k);
  lua.lua_rawget(L, 1);
  return 1;
}

defineNgxApi('header', (L) => {
  lua.lua_createtable(L, 0, 0);
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushcfunction(L, headerIndex);
  lua.lua_setfield(L, -2, S('__index'));
  lua.lua_pushcfunction(L, headerNewIndex);
  lua.lua_setfield(L, -2, S('__newindex'));
  lua.lua_setmetatable(L, -2);
  lua.lua_setfield(L, -2, S('header'));

  lua.lua_createtable(L, 0, 1);
  lua.lua_pushcfunction(L, headersMtIndex);
  lua.lua_setfield(L, -2, S('__index'));
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, S('tsresty.req_headers_mt'));

  lua.lua_getfield(L, -1, S('resp'));
  if (lua.lua_isnil(L, -1)) {
    lua.lua_pop(L, 1);
    lua.lua_createtable(L, 0, 2);
    lua.lua_pushvalue(L, -1);
    lua.lua_setfield(L, -3, S('resp'));
  }
  lua.lua_pushcfunction(L, respGetHeaders);
  lua.lua_setfield(L, -2, S('get_headers'));
  lua.lua_pop(L, 1);
});
