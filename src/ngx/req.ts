// ngx.req.*: the request line, headers, URI args and body (ngx_http_lua_req*.c).
import * as fs from 'node:fs';
import { lua, lauxlib } from '../lua/fengari.js';
import { S, luaError, bytesToLatin1, pushLatin1, pushString, type LuaState, type JsFn } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { getRequest, checkContext, currentKind, Ctx, REQUEST_PHASES } from './context.js';
import { pushDecodedArgs, encodeArgsAt } from './args.js';
import { pushHeaderTable } from './header.js';
import { suspend, resume, exitTask, currentTask } from '../lua/scheduler.js';
import { logError, Level } from '../log/errorlog.js';
import type { Request } from '../http/request.js';
import { storeBody, removeBodyFile } from '../http/body-file.js';
import { fsPath } from '../http/static.js';
import { reqSocket } from './socket-req.js';

const METHOD_BY_ID: Record<number, string> = {
  2: 'GET', 4: 'HEAD', 8: 'POST', 16: 'PUT', 32: 'DELETE', 64: 'MKCOL', 128: 'COPY', 256: 'MOVE', 512: 'OPTIONS',
  1024: 'PROPFIND', 2048: 'PROPPATCH', 4096: 'LOCK', 8192: 'UNLOCK', 16384: 'PATCH', 32768: 'TRACE',
};
const BODY_CTX = Ctx.rewrite | Ctx.server_rewrite | Ctx.access | Ctx.content;
const WRITE_CTX = Ctx.set | Ctx.rewrite | Ctx.server_rewrite | Ctx.access | Ctx.content | Ctx.header_filter | Ctx.body_filter | Ctx.log;

function reqOf(L: LuaState, mask = REQUEST_PHASES): Request {
  checkContext(L, mask);
  return getRequest(L);
}

const api: Record<string, JsFn> = {
  get_method(L) {
    pushLatin1(L, reqOf(L).method);
    return 1;
  },
  set_method(L) {
    const req = reqOf(L, WRITE_CTX);
    const id = lauxlib.luaL_checkinteger(L, 1);
    const m = METHOD_BY_ID[id];
    if (!m) luaError(L, `unsupported HTTP method: ${id}`);
    req.method = m;
    return 0;
  },
  http_version(L) {
    const req = reqOf(L);
    lua.lua_pushnumber(L, req.httpVersion);
    return 1;
  },
  is_internal(L) {
    lua.lua_pushboolean(L, reqOf(L).internal);
    return 1;
  },
  start_time(L) {
    lua.lua_pushnumber(L, reqOf(L).startTime / 1000);
    return 1;
  },
  raw_header(L) {
    const req = reqOf(L);
    const noLine = lua.lua_toboolean(L, 1);
    const raw = req.main.rawHeader;
    if (!noLine) pushLatin1(L, raw);
    else {
      const nl = raw.indexOf('\n');
      pushLatin1(L, nl < 0 ? raw : raw.slice(nl + 1));
    }
    return 1;
  },
  get_headers(L) {
    const req = reqOf(L);
    const max = lua.lua_isnoneornil(L, 1) ? 100 : lauxlib.luaL_checkinteger(L, 1);
    const raw = lua.lua_toboolean(L, 2);
    pushHeaderTable(L, req.headersIn, max, raw);
    const n = req.headersIn.length / 2;
    if (max > 0 && n > max) {
      logError(Level.Info, `lua exceeding request header limit ${n} > ${max}`, req);
      pushString(L, 'truncated');
      return 2;
    }
    return 1;
  },
  set_header(L) {
    const req = reqOf(L, WRITE_CTX);
    setRequestHeader(L, req, bytesToLatin1(lauxlib.luaL_checklstring(L, 1)), 2);
    return 0;
  },
  clear_header(L) {
    const req = reqOf(L, WRITE_CTX);
    lua.lua_settop(L, 1);
    lua.lua_pushnil(L);
    setRequestHeader(L, req, bytesToLatin1(lauxlib.luaL_checklstring(L, 1)), 2);
    return 0;
  },
  get_uri_args(L) {
    const req = reqOf(L);
    const max = lua.lua_isnoneornil(L, 1) ? 100 : lauxlib.luaL_checkinteger(L, 1);
    if (pushDecodedArgs(L, req.args, max)) {
      pushString(L, 'truncated');
      return 2;
    }
    return 1;
  },
  set_uri_args(L) {
    const req = reqOf(L, WRITE_CTX);
    const t = lua.lua_type(L, 1);
    if (t === lua.LUA_TTABLE) req.args = encodeArgsAt(L, 1);
    else if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) req.args = escapeControl(bytesToLatin1(lua.lua_tolstring(L, 1)));
    else luaError(L, 'bad argument #1 to \'set_uri_args\' (string, number, or table expected)');
    req.hasArgs = req.args !== '';
    return 0;
  },
  get_post_args(L) {
    const req = reqOf(L);
    const max = lua.lua_isnoneornil(L, 1) ? 100 : lauxlib.luaL_checkinteger(L, 1);
    if (!req.bodyRead) luaError(L, 'request body not read yet: call ngx.req.read_body() first');
    if (req.bodyFile !== null && req.body === null) {
      lua.lua_pushnil(L);
      pushString(L, 'requesty body in temp file not supported');
      return 2;
    }
    const body = req.body ? req.body.toString('latin1') : '';
    if (pushDecodedArgs(L, body, max)) {
      pushString(L, 'truncated');
      return 2;
    }
    return 1;
  },
  read_body(L) {
    const req = reqOf(L, BODY_CTX);
    if (req.bodyRead || req.main !== req) return 0;
    const task = currentTask()!;
    let sync = true;
    let syncStatus = 0;
    req.worker.hooks.readBody(req, (status: number) => {
      if (sync) {
        syncStatus = status || -1;
        return;
      }
      if (task.done) return;
      if (status >= 300) {
        req.exitCode = status;
        (req as any).ext.exitAfterResume = status;
      }
      resume(task, 0);
    });
    sync = false;
    if (syncStatus !== 0) {
      if (syncStatus >= 300) {
        req.exitCode = syncStatus;
        return exitTask(L);
      }
      return 0;
    }
    return suspend(L);
  },
  discard_body(L) {
    const req = reqOf(L, BODY_CTX);
    req.worker.hooks.discardBody(req);
    return 0;
  },
  get_body_data(L) {
    const req = reqOf(L, BODY_CTX | Ctx.log | Ctx.header_filter | Ctx.body_filter);
    if (req.body === null && req.bodyFile !== null) warnBodyInFile(req);
    if (!req.bodyRead || req.body === null || req.body.length === 0) lua.lua_pushnil(L);
    else lua.lua_pushlstring(L, req.body, req.body.length);
    return 1;
  },
  get_body_file(L) {
    const req = reqOf(L, BODY_CTX);
    if (req.bodyFile === null) lua.lua_pushnil(L);
    else pushString(L, req.bodyFile);
    return 1;
  },
  set_body_data(L) {
    const req = reqOf(L, BODY_CTX);
    if (!req.bodyRead) luaError(L, 'request body not read yet');
    const b = lauxlib.luaL_checklstring(L, 1);
    req.body = Buffer.from(b);
    req.bodyFile = null;
    replaceHeader(req, 'Content-Length', String(req.body.length));
    return 0;
  },
  set_body_file(L) {
    const req = reqOf(L, BODY_CTX);
    const n = lua.lua_gettop(L);
    if (n !== 1 && n !== 2) luaError(L, `expecting 1 or 2 arguments but seen ${n}`);
    if (!req.bodyRead) luaError(L, 'request body not read yet');
    const name = bytesToLatin1(lauxlib.luaL_checklstring(L, 1));
    const clean = n === 2 && lua.lua_toboolean(L, 2);
    const size = bodyFileSize(name);
    if (size < 0) luaError(L, `open() "${name}" failed`);
    // the previous body file goes first if it was ours to remove (a temporary file, or clean)
    if (req.bodyFile !== null) removeBodyFile(req);
    req.body = null;
    req.bodyFile = name;
    if (clean) req.ext.removeBodyFile = name;
    replaceHeader(req, 'Content-Length', String(size));
    return 0;
  },
  set_uri(L) {
    const req = reqOf(L, BODY_CTX | Ctx.set | Ctx.header_filter);
    const uri = bytesToLatin1(lauxlib.luaL_checklstring(L, 1));
    if (uri.length === 0) luaError(L, 'attempt to use zero-length uri');
    const jump = lua.lua_toboolean(L, 2);
    const binary = lua.lua_toboolean(L, 3);
    if (!binary && /[\0-\x20\x7f]/.test(uri) && /[\r\n\0]/.test(uri)) {
      luaError(L, `unsafe byte "0x${uri.charCodeAt(uri.search(/[\r\n\0]/)).toString(16).padStart(2, '0')}" in uri "${uri}"`);
    }
    if (jump) {
      const kind = currentKind();
      if (kind !== 'rewrite' && kind !== 'server_rewrite') luaError(L, `API disabled in the context of ${kind}_by_lua*`);
      req.uri = uri;
      req.uriChanged = true;
      req.exitCode = 0;
      (req.ext as Record<string, unknown>).setUriJump = true;
      return exitTask(L);
    }
    req.uri = uri;
    return 0;
  },
  init_body(L) {
    const req = reqOf(L, BODY_CTX);
    const size = lua.lua_isnoneornil(L, 1) ? req.loc.s.clientBodyBufferSize : lauxlib.luaL_checknumber(L, 1);
    if (req.bodyFile !== null) removeBodyFile(req);
    req.ext.newBody = { chunks: [] as Buffer[], size };
    req.bodyRead = true;
    return 0;
  },
  append_body(L) {
    const req = reqOf(L, BODY_CTX);
    const nb = req.ext.newBody as { chunks: Buffer[] } | undefined;
    if (!nb) luaError(L, 'request body not initialized by ngx.req.init_body()');
    nb.chunks.push(Buffer.from(lauxlib.luaL_checklstring(L, 1)));
    return 0;
  },
  finish_body(L) {
    const req = reqOf(L, BODY_CTX);
    const nb = req.ext.newBody as { chunks: Buffer[]; size: number } | undefined;
    if (!nb) luaError(L, 'request body not initialized by ngx.req.init_body()');
    req.ext.newBody = undefined;
    const body = Buffer.concat(nb.chunks);
    req.bodyFile = null;
    storeBody(req, body, nb.size);
    replaceHeader(req, 'Content-Length', String(body.length));
    return 0;
  },
  socket: reqSocket,
};

/** Size of a regular file, -1 when it cannot be opened (ngx_open_cached_file's check). */
function bodyFileSize(name: string): number {
  try {
    const st = fs.statSync(fsPath(name));
    return st.isFile() ? st.size : -1;
  } catch {
    return -1;
  }
}

const warnedLocations = new WeakSet<object>();

/** OpenResty returns nil here without a word (lua-nginx-module #2201); tsresty says why, once
 *  per location. */
function warnBodyInFile(req: Request): void {
  if (warnedLocations.has(req.loc)) return;
  warnedLocations.add(req.loc);
  logError(Level.Warn, `ngx.req.get_body_data() returns nil: the request body is in the temporary file ${req.bodyFile} (raise client_body_buffer_size or use ngx.req.get_body_file())`, req);
}

function replaceHeader(req: Request, name: string, value: string | null): void {
  const h = req.headersIn;
  const lc = name.toLowerCase();
  let w = 0;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i].toLowerCase() === lc) continue;
    h[w++] = h[i];
    h[w++] = h[i + 1];
  }
  h.length = w;
  if (value !== null) h.push(name, value);
}

function setRequestHeader(L: LuaState, req: Request, name: string, idx: number): void {
  const t = lua.lua_type(L, idx);
  if (t === lua.LUA_TNIL || t === lua.LUA_TNONE) {
    replaceHeader(req, name, null);
    return;
  }
  if (t === lua.LUA_TTABLE) {
    replaceHeader(req, name, null);
    const n = lua.lua_rawlen(L, idx);
    for (let i = 1; i <= n; i++) {
      lua.lua_rawgeti(L, idx, i);
      req.headersIn.push(name, escapeControl(bytesToLatin1(lua.lua_tolstring(L, -1) ?? new Uint8Array())));
      lua.lua_pop(L, 1);
    }
    return;
  }
  const v = lua.lua_tolstring(L, idx);
  if (v === null) luaError(L, 'bad argument #2 to \'set_header\' (string, number, or table expected)');
  replaceHeader(req, name, escapeControl(bytesToLatin1(v)));
}

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;

/** Control bytes in header values and query strings set from Lua are percent-encoded (as
 *  lua-nginx-module does), so they cannot split a header or an upstream request line; bytes
 *  >= 0x80 stay as they are ($arg_语言 must still match). */
function escapeControl(s: string): string {
  CONTROL.lastIndex = 0;
  if (!CONTROL.test(s)) return s;
  return s.replace(CONTROL, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

defineNgxApi('req', (L) => {
  lua.lua_createtable(L, 0, Object.keys(api).length);
  for (const k of Object.keys(api)) {
    lua.lua_pushcfunction(L, api[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  lua.lua_setfield(L, -2, S('req'));
});
