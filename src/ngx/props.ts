// Dynamic fields of the ngx table: ngx.status, ngx.headers_sent, ngx.ctx, ngx.is_subrequest and
// ngx.arg, served by a metatable on `ngx` (plain fields stay raw for speed).
import { lua, lauxlib } from '../lua/fengari.js';
import { S, luaError, bytesToLatin1, pushLatin1, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { getRequest, checkContext, currentKind, Ctx, REQUEST_PHASES } from './context.js';
import { logError, Level } from '../log/errorlog.js';
import { currentTask } from '../lua/scheduler.js';

const K_STATUS = 'status';
const STATUS_SET_CTX = Ctx.set | Ctx.rewrite | Ctx.server_rewrite | Ctx.access | Ctx.content | Ctx.header_filter | Ctx.body_filter | Ctx.log;

function keyOf(L: LuaState): string {
  const b = lua.lua_type(L, 2) === lua.LUA_TSTRING ? lua.lua_tolstring(L, 2) : null;
  return b === null ? '' : bytesToLatin1(b);
}

/** ngx.ctx: one table per request, created on first use, kept by registry reference. */
function pushCtx(L: LuaState): void {
  const t = currentTask();
  const req = t ? t.req : null;
  if (!req) {
    // init/init_worker/timer without request: a per-task table
    const holder = t ?? ({} as { ctxRef?: number });
    const anyHolder = holder as unknown as { ctxRef?: number };
    if (!anyHolder.ctxRef) {
      lua.lua_newtable(L);
      anyHolder.ctxRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    }
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, anyHolder.ctxRef);
    return;
  }
  if (req.ctxRef === 0) {
    lua.lua_newtable(L);
    req.ctxRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  }
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, req.ctxRef);
}

function ngxIndex(L: LuaState): number {
  switch (keyOf(L)) {
    case K_STATUS: {
      checkContext(L, REQUEST_PHASES);
      const req = getRequest(L);
      lua.lua_pushnumber(L, req.errStatus !== 0 && !req.headerSent ? req.errStatus : req.status);
      return 1;
    }
    case 'headers_sent': {
      checkContext(L, REQUEST_PHASES);
      lua.lua_pushboolean(L, getRequest(L).headerSent);
      return 1;
    }
    case 'ctx':
      pushCtx(L);
      return 1;
    case 'is_subrequest': {
      checkContext(L, REQUEST_PHASES);
      const req = getRequest(L);
      lua.lua_pushboolean(L, req.main !== req);
      return 1;
    }
    case 'arg':
      lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, S('tsresty.ngx_arg'));
      return 1;
  }
  return 0;
}

function ngxNewIndex(L: LuaState): number {
  const key = keyOf(L);
  if (key === K_STATUS) {
    checkContext(L, STATUS_SET_CTX);
    const req = getRequest(L);
    if (req.headerSent && !req.headerFilterRunning) {
      logError(Level.Err, `attempt to set ngx.status after sending out response headers`, req);
      return 0;
    }
    const v = lua.lua_tonumber(L, 3);
    if (typeof v !== 'number' || !Number.isFinite(v)) luaError(L, 'attempt to set ngx.status with non-number value');
    req.status = Math.trunc(v);
    req.errStatus = 0; // an explicit assignment clears r->err_status (015-status #16)
    // nginx has no reason phrase for 1xx; lua-nginx-module sets a complete one for 101
    req.statusLine = req.status === 101 ? 'Switching Protocols' : null;
    return 0;
  }
  if (key === 'ctx') {
    const req = getRequest(L);
    if (lua.lua_type(L, 3) !== lua.LUA_TTABLE) luaError(L, 'ctx should be a table while getting a ' + Buffer.from(lua.lua_typename(L, lua.lua_type(L, 3))).toString());
    if (req.ctxRef !== 0) lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, req.ctxRef);
    lua.lua_pushvalue(L, 3);
    req.ctxRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    return 0;
  }
  lua.lua_rawset(L, 1);
  return 0;
}

/** ngx.arg[n]: set_by_lua's arguments, or body_filter's data ([1]) and eof flag ([2]). */
function argIndex(L: LuaState): number {
  const req = getRequest(L);
  const n = lua.lua_tointeger(L, 2);
  const kind = currentKind();
  if (kind === 'body_filter') {
    const a = req.ext.bodyArg as { data: Uint8Array; last: boolean };
    if (n === 1) lua.lua_pushlstring(L, a.data, a.data.length);
    else if (n === 2) lua.lua_pushboolean(L, a.last);
    else lua.lua_pushnil(L);
    return 1;
  }
  const args = req.ext.setArgs as string[] | null;
  if (args && n >= 1 && n <= args.length) pushLatin1(L, args[n - 1]);
  else lua.lua_pushnil(L);
  return 1;
}

/** A string table for ngx.arg[1], nested tables included (like ngx.print's arrays). */
function flattenChunks(L: LuaState, idx: number, parts: Uint8Array[], depth: number): void {
  if (depth > 100) luaError(L, 'table nested too deeply');
  const abs = lua.lua_absindex(L, idx);
  const len = lua.lua_rawlen(L, abs);
  for (let i = 1; i <= len; i++) {
    lua.lua_rawgeti(L, abs, i);
    const t = lua.lua_type(L, -1);
    if (t === lua.LUA_TTABLE) flattenChunks(L, -1, parts, depth + 1);
    else if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) parts.push(new Uint8Array(lua.lua_tolstring(L, -1)));
    else luaError(L, `bad argument #2 to '__newindex' (bad data type ${Buffer.from(lua.lua_typename(L, t)).toString()} found)`);
    lua.lua_pop(L, 1);
  }
}

function argNewIndex(L: LuaState): number {
  const req = getRequest(L);
  if (currentKind() !== 'body_filter') luaError(L, 'API disabled in the context of ' + currentKind());
  const a = req.ext.bodyArg as { data: Uint8Array | null; last: boolean };
  const n = lua.lua_tointeger(L, 2);
  if (n === 1) {
    const t = lua.lua_type(L, 3);
    if (t === lua.LUA_TNIL) a.data = new Uint8Array(0);
    else if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) a.data = new Uint8Array(lua.lua_tolstring(L, 3));
    else if (t === lua.LUA_TTABLE) {
      const parts: Uint8Array[] = [];
      flattenChunks(L, 3, parts, 0);
      a.data = Buffer.concat(parts);
    } else luaError(L, 'bad argument #2 to \'__newindex\' (string, number, nil, or table expected)');
  } else if (n === 2) a.last = lua.lua_toboolean(L, 3);
  else luaError(L, 'bad index: ' + n);
  return 0;
}

defineNgxApi('props', (L) => {
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushcfunction(L, ngxIndex);
  lua.lua_setfield(L, -2, S('__index'));
  lua.lua_pushcfunction(L, ngxNewIndex);
  lua.lua_setfield(L, -2, S('__newindex'));
  lua.lua_setmetatable(L, -2);

  lua.lua_createtable(L, 0, 0);
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushcfunction(L, argIndex);
  lua.lua_setfield(L, -2, S('__index'));
  lua.lua_pushcfunction(L, argNewIndex);
  lua.lua_setfield(L, -2, S('__newindex'));
  lua.lua_setmetatable(L, -2);
  lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, S('tsresty.ngx_arg'));
});

export { K_STATUS };
