// ngx.say / ngx.print / ngx.flush / ngx.eof / ngx.send_headers / ngx.headers_sent
// (lua-nginx-module's ngx_http_lua_output.c semantics).
import { lua } from '../lua/fengari.js';
import { S, ByteSink, luaError, pushString, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { getRequest, checkContext, Ctx, YIELDABLE } from './context.js';
import { output, sendHeader, flush } from '../http/output.js';
import { suspend, resume, currentTask } from '../lua/scheduler.js';
import { NULL_SENTINEL } from './constants.js';
import { Framing, type Request } from '../http/request.js';

const OUTPUT_CTX = Ctx.rewrite | Ctx.server_rewrite | Ctx.access | Ctx.content;
const sink = new ByteSink(1024);
const T_NIL = S('nil');
const T_TRUE = S('true');
const T_FALSE = S('false');
const T_NULL = S('null');

/** Append one argument's bytes (strings, numbers, booleans, nil, ngx.null, nested array tables). */
function appendValue(L: LuaState, idx: number, fname: string, argn: number, depth: number): void {
  switch (lua.lua_type(L, idx)) {
    case lua.LUA_TSTRING:
    case lua.LUA_TNUMBER:
      sink.push(lua.lua_tolstring(L, idx));
      return;
    case lua.LUA_TNIL:
      sink.push(T_NIL);
      return;
    case lua.LUA_TBOOLEAN:
      sink.push(lua.lua_toboolean(L, idx) ? T_TRUE : T_FALSE);
      return;
    case lua.LUA_TLIGHTUSERDATA:
      if (lua.lua_touserdata(L, idx) === NULL_SENTINEL) {
        sink.push(T_NULL);
        return;
      }
      break;
    case lua.LUA_TTABLE: {
      const abs = lua.lua_absindex(L, idx);
      const n = arrayLength(L, abs, fname);
      for (let i = 1; i <= n; i++) {
        lua.lua_rawgeti(L, abs, i);
        appendValue(L, -1, fname, argn, depth + 1);
        lua.lua_pop(L, 1);
      }
      return;
    }
  }
  sink.len = 0;
  luaError(L, `bad argument #${argn} to '${fname}' (string, number, boolean, nil, ngx.null, or array table expected, got ${typeName(L, idx)})`);
}

function typeName(L: LuaState, idx: number): string {
  const t = lua.lua_type(L, idx);
  return t === lua.LUA_TLIGHTUSERDATA ? 'userdata' : Buffer.from(lua.lua_typename(L, t)).toString();
}

/** Length of an array table: its largest positive integer key (holes print as "nil", like
 *  ngx_http_lua_calc_strlen_in_table); raises "non-array table found" for any other key. */
function arrayLength(L: LuaState, abs: number, fname: string): number {
  let max = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, abs) !== 0) {
    lua.lua_pop(L, 1);
    const k = lua.lua_type(L, -1) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, -1) : NaN;
    if (!(k >= 1 && Number.isInteger(k))) {
      lua.lua_pop(L, 1);
      sink.len = 0;
      luaError(L, `bad argument #1 to '${fname}' (non-array table found)`);
    }
    if (k > max) max = k;
  }
  return max;
}

function emit(L: LuaState, newline: boolean, fname: string): number {
  checkContext(L, OUTPUT_CTX);
  const req = getRequest(L);
  const n = lua.lua_gettop(L);
  sink.len = 0;
  for (let i = 1; i <= n; i++) appendValue(L, i, fname, i, 0);
  if (newline) sink.pushByte(10);
  if (req.finished || req.ext.eofSeen) {
    sink.len = 0;
    lua.lua_pushnil(L);
    pushString(L, 'seen eof');
    return 2;
  }
  if (clientGone(req)) {
    sink.len = 0;
    return outputError(L);
  }
  if (req.ext.rawReqSocket) {
    // output goes through that socket only
    sink.len = 0;
    rawSocketTaken(L, req);
    return 2;
  }
  if (req.method === 'HEAD' && req.headerSent) {
    sink.len = 0;
    lua.lua_pushnumber(L, 1);
    return 1;
  }
  const data = sink.take();
  if (!req.headerSent && req.httpVersion < 1.1 && req.main === req && req.ext.http10Body === undefined && req.loc.s.luaHttp10Buffering) {
    req.ext.http10Body = [];
  }
  if (data.length > 0 || !req.headerSent) output(req, data, false);
  lua.lua_pushnumber(L, 1);
  return 1;
}

/** The client closed the connection: writes fail like nginx's output filter chain does. */
function clientGone(req: Request): boolean {
  const x = req.main.transport;
  return x !== null && x.aborted === true;
}

function outputError(L: LuaState): number {
  lua.lua_pushnil(L);
  pushString(L, 'nginx output filter error');
  return 2;
}

function ngxSay(L: LuaState): number {
  return emit(L, true, 'say');
}

function ngxPrint(L: LuaState): number {
  return emit(L, false, 'print');
}

function rawSocketTaken(L: LuaState, req: { ext: Record<string, unknown> }): boolean {
  if (!req.ext.rawReqSocket) return false;
  // ngx.req.socket(true) took the connection over: the output API has no say any more
  lua.lua_pushnil(L);
  pushString(L, 'raw request socket acquired');
  return true;
}

function ngxFlush(L: LuaState): number {
  checkContext(L, OUTPUT_CTX);
  const req = getRequest(L);
  if (rawSocketTaken(L, req)) return 2;
  if (req.finished || req.ext.eofSeen) {
    lua.lua_pushnil(L);
    pushString(L, 'seen eof');
    return 2;
  }
  if (clientGone(req)) return outputError(L);
  if (!req.headerSent && req.ext.http10Body === undefined) {
    // ngx_http_lua_ngx_flush: nothing was output yet (the status can still change)
    lua.lua_pushnil(L);
    pushString(L, 'nothing to flush');
    return 2;
  }
  if (req.headerSent && (req.method === 'HEAD' || req.status === 204 || req.status === 304)) {
    // r->header_only: a HEAD / 204 / 304 response has nothing to flush
    lua.lua_pushnil(L);
    pushString(L, 'header only');
    return 2;
  }
  const wait = lua.lua_toboolean(L, 1);
  if (!wait || !currentTask() || (Ctx as Record<string, number>)[currentTask()!.kind] === undefined) {
    flush(req, false, null);
    lua.lua_pushnumber(L, 1);
    return 1;
  }
  const task = currentTask()!;
  flush(req, true, () => {
    if (task.done) return;
    lua.lua_pushnumber(task.co, 1);
    resume(task, 1);
  });
  return suspend(L);
}

function ngxEof(L: LuaState): number {
  checkContext(L, OUTPUT_CTX);
  const req = getRequest(L);
  if (rawSocketTaken(L, req)) return 2;
  if (req.ext.eofSeen) {
    lua.lua_pushnil(L);
    pushString(L, 'seen eof');
    return 2;
  }
  req.ext.eofSeen = true;
  if (clientGone(req)) return outputError(L);
  output(req, null, true);
  lua.lua_pushnumber(L, 1);
  return 1;
}

function ngxSendHeaders(L: LuaState): number {
  checkContext(L, OUTPUT_CTX);
  const req = getRequest(L);
  if (req.headerSent) {
    lua.lua_pushnil(L);
    pushString(L, 'header already sent');
    return 2;
  }
  sendHeader(req);
  lua.lua_pushnumber(L, 1);
  return 1;
}

function ngxHeadersSent(L: LuaState): number {
  checkContext(L, OUTPUT_CTX | Ctx.log | Ctx.header_filter | Ctx.body_filter);
  lua.lua_pushboolean(L, getRequest(L).headerSent);
  return 1;
}

defineNgxApi('print', (L) => {
  const fns: Record<string, (L: LuaState) => number> = {
    say: ngxSay, print: ngxPrint, flush: ngxFlush, eof: ngxEof, send_headers: ngxSendHeaders,
  };
  for (const k of Object.keys(fns)) {
    lua.lua_pushcfunction(L, fns[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  lua.lua_pushcfunction(L, ngxHeadersSent);
  lua.lua_setfield(L, -2, S('_headers_sent'));
});

export type { Request };
export { YIELDABLE };
