// ngx.location.capture / capture_multi: subrequests whose responses come back as Lua tables.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, luaError, luaErrorWhere, bytesToLatin1, pushLatin1, type LuaState } from '../lua/bridge.js';
import { setVariable } from '../http/variables.js';
import { defineNgxApi } from './registry.js';
import { getRequest, checkContext, Ctx } from './context.js';
import { encodeArgsAt } from './args.js';
import { suspend, resume, currentTask, type LuaTask } from '../lua/scheduler.js';
import { startSubrequest, type SubrequestOptions } from '../http/subrequest.js';
import type { Request } from '../http/request.js';

const CAPTURE_CTX = Ctx.rewrite | Ctx.access | Ctx.content;
const METHODS: Record<number, string> = {
  2: 'GET', 4: 'HEAD', 8: 'POST', 16: 'PUT', 32: 'DELETE', 64: 'MKCOL', 128: 'COPY', 256: 'MOVE', 512: 'OPTIONS',
  1024: 'PROPFIND', 2048: 'PROPPATCH', 4096: 'LOCK', 8192: 'UNLOCK', 16384: 'PATCH', 32768: 'TRACE',
};

interface Pending {
  task: LuaTask;
  req: Request;
  results: (Request | null)[];
  left: number;
}

function field(L: LuaState, t: number, name: string): number {
  lua.lua_getfield(L, t, S(name));
  return lua.lua_type(L, -1);
}

/** Read the options table at `idx` into subrequest options. */
function readOptions(L: LuaState, idx: number, parent: Request): SubrequestOptions {
  const o: SubrequestOptions = { inline: false, vars: 'fresh', logPrefix: 'lua ' };
  if (lua.lua_isnoneornil(L, idx)) return o;
  if (lua.lua_type(L, idx) !== lua.LUA_TTABLE) luaError(L, 'Bad options argument');
  const t = lua.lua_absindex(L, idx);
  if (field(L, t, 'method') !== lua.LUA_TNIL) {
    const m = METHODS[lua.lua_tointeger(L, -1)];
    if (!m) luaError(L, `unsupported HTTP method: ${lua.lua_tointeger(L, -1)}`);
    o.method = m;
  }
  lua.lua_pop(L, 1);
  const at = field(L, t, 'args');
  if (at === lua.LUA_TTABLE) o.args = encodeArgsAt(L, -1);
  else if (at === lua.LUA_TSTRING || at === lua.LUA_TNUMBER) o.args = bytesToLatin1(lua.lua_tolstring(L, -1));
  else if (at !== lua.LUA_TNIL) luaError(L, 'Bad args option value');
  lua.lua_pop(L, 1);
  const bt = field(L, t, 'body');
  if (bt === lua.LUA_TSTRING || bt === lua.LUA_TNUMBER) o.body = Buffer.from(lua.lua_tolstring(L, -1));
  else if (bt !== lua.LUA_TNIL) luaError(L, 'Bad body option value');
  lua.lua_pop(L, 1);
  field(L, t, 'copy_all_vars');
  if (lua.lua_toboolean(L, -1)) o.vars = 'copy';
  lua.lua_pop(L, 1);
  field(L, t, 'share_all_vars');
  if (lua.lua_toboolean(L, -1)) o.vars = 'share';
  lua.lua_pop(L, 1);
  if (field(L, t, 'vars') === lua.LUA_TTABLE) {
    o.setVars = new Map();
    lua.lua_pushnil(L);
    while (lua.lua_next(L, -2) !== 0) {
      o.setVars.set(bytesToLatin1(lua.lua_tolstring(L, -2)).toLowerCase(), bytesToLatin1(lua.lua_tolstring(L, -1) ?? new Uint8Array()));
      lua.lua_pop(L, 1);
    }
  }
  lua.lua_pop(L, 1);
  if (field(L, t, 'ctx') === lua.LUA_TTABLE) o.ctxRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
  else lua.lua_pop(L, 1);
  field(L, t, 'always_forward_body');
  const always = lua.lua_toboolean(L, -1);
  lua.lua_pop(L, 1);
  // the parent's body goes along only for POST/PUT unless always_forward_body (lua-nginx-module)
  o.inheritBody = always || o.method === 'POST' || o.method === 'PUT';
  void parent;
  return o;
}

function startOne(L: LuaState, parent: Request, uriIdx: number, optIdx: number, p: Pending, slot: number): void {
  const raw = bytesToLatin1(lauxlib.luaL_checklstring(L, uriIdx));
  if (raw.length === 0) luaError(L, 'uri is empty');
  const opts = readOptions(L, optIdx, parent);
  const q = raw.indexOf('?');
  const uri = q < 0 ? raw : raw.slice(0, q);
  if (q >= 0) opts.args = opts.args ? raw.slice(q + 1) + '&' + opts.args : raw.slice(q + 1);
  const extraVars = opts.setVars;
  opts.setVars = undefined;
  const sr = startSubrequest(parent, uri, opts, (done) => {
    p.results[slot] = done;
    if (--p.left === 0) finishCapture(p);
  });
  if (sr === null) luaError(L, 'failed to issue subrequest');
  if (extraVars) {
    // ngx_http_lua_subrequest_add_extra_vars: declared or changeable built-in variables only
    for (const [k, v] of extraVars) {
      const r = setVariable(sr, k, v, parent.worker.declaredVars);
      if (r === 'not_found') luaErrorWhere(L, `variable "${k}" cannot be assigned a value (maybe you forgot to define it first?)`);
      if (r === 'not_changeable') luaErrorWhere(L, `variable "${k}" not changeable`);
    }
  }
  if (opts.ctxRef) sr.ctxShared = true;
}

/** ctx->no_abort: while a capture waits, ngx.exit/exec/redirect may not abort the request */
function capturePending(req: Request, delta: number): void {
  req.ext.noAbort = ((req.ext.noAbort as number | undefined) ?? 0) + delta;
}

function finishCapture(p: Pending): void {
  capturePending(p.req, -1);
  const t = p.task;
  if (t.done) return;
  const co = t.co;
  // capture_multi may return hundreds of tables (each push needs a few slots while it is built)
  if (!lua.lua_checkstack(co, p.results.length + 8)) {
    lua.lua_pushnil(co);
    resume(t, 1);
    return;
  }
  for (const sr of p.results) pushResult(co, sr!);
  resume(t, p.results.length);
}

function pushResult(L: LuaState, sr: Request): void {
  lua.lua_createtable(L, 0, 4);
  lua.lua_pushnumber(L, sr.status || 200);
  lua.lua_setfield(L, -2, S('status'));
  const body = sr.captureBody && sr.captureBody.length ? Buffer.concat(sr.captureBody) : Buffer.alloc(0);
  lua.lua_pushlstring(L, body, body.length);
  lua.lua_setfield(L, -2, S('body'));
  lua.lua_pushboolean(L, sr.ext.aborted === true || sr.ext.captureEnded !== true);
  lua.lua_setfield(L, -2, S('truncated'));
  lua.lua_createtable(L, 0, 4);
  const h = sr.headersOut;
  if (h.contentType !== null) {
    pushLatin1(L, h.contentType);
    lua.lua_setfield(L, -2, S('Content-Type'));
  }
  if (h.contentLength >= 0) {
    pushLatin1(L, String(h.contentLength));
    lua.lua_setfield(L, -2, S('Content-Length'));
  }
  const l = h.list;
  for (let i = 0; i < l.length; i += 2) {
    pushLatin1(L, l[i]);
    lua.lua_rawget(L, -2);
    const prev = lua.lua_type(L, -1);
    if (prev === lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      pushLatin1(L, l[i + 1]);
      lua.lua_setfield(L, -2, Buffer.from(l[i], 'latin1'));
    } else if (prev === lua.LUA_TTABLE) {
      pushLatin1(L, l[i + 1]);
      lua.lua_rawseti(L, -2, lua.lua_rawlen(L, -2) + 1);
      lua.lua_pop(L, 1);
    } else {
      lua.lua_createtable(L, 2, 0);
      lua.lua_insert(L, -2);
      lua.lua_rawseti(L, -2, 1);
      pushLatin1(L, l[i + 1]);
      lua.lua_rawseti(L, -2, 2);
      lua.lua_setfield(L, -2, Buffer.from(l[i], 'latin1'));
    }
  }
  lua.lua_setfield(L, -2, S('header'));
}

function capture(L: LuaState): number {
  checkContext(L, CAPTURE_CTX);
  const req = getRequest(L);
  const p: Pending = { task: currentTask()!, req, results: [null], left: 1 };
  startOne(L, req, 1, 2, p, 0);
  capturePending(req, 1);
  lua.lua_settop(L, 0);
  return suspend(L);
}

function captureMulti(L: LuaState): number {
  checkContext(L, CAPTURE_CTX);
  const req = getRequest(L);
  lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
  const n = lua.lua_rawlen(L, 1);
  if (n === 0) luaError(L, 'at least one subrequest should be specified');
  const p: Pending = { task: currentTask()!, req, results: new Array(n).fill(null), left: n };
  for (let i = 1; i <= n; i++) {
    lua.lua_rawgeti(L, 1, i);
    if (lua.lua_type(L, -1) !== lua.LUA_TTABLE) luaError(L, `the query argument ${i} is not a table, but a ${Buffer.from(lua.lua_typename(L, lua.lua_type(L, -1))).toString()}`);
    const t = lua.lua_gettop(L);
    lua.lua_rawgeti(L, t, 1);
    lua.lua_rawgeti(L, t, 2);
    startOne(L, req, t + 1, t + 2, p, i - 1);
    lua.lua_settop(L, t - 1);
  }
  capturePending(req, 1);
  lua.lua_settop(L, 0);
  return suspend(L);
}

defineNgxApi('location', (L) => {
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushcfunction(L, capture);
  lua.lua_setfield(L, -2, S('capture'));
  lua.lua_pushcfunction(L, captureMulti);
  lua.lua_setfield(L, -2, S('capture_multi'));
  lua.lua_setfield(L, -2, S('location'));
});
