// ngx.req.socket(raw?) (ngx_http_lua_req_socket): a cosocket reading the request body as it
// arrives (Content-Length bodies; the transport de-frames nothing else here), or, with raw = true,
// the client connection itself, taken over from the HTTP transport (reads see whatever the client
// sends after the request head or after the body already read; writes go out unframed).
import { lua } from '../lua/fengari.js';
import { luaErrorWhere, type LuaState } from '../lua/bridge.js';
import { Ctx, checkContext } from './context.js';
import { TcpSock, Kind, adoptSocket, onHolderRead } from './socket-tcp.js';
import { redirectSharedReads } from '../http/transport/shared-read.js';
import { currentSettings, currentOwner, debug, logCtx } from './socket-common.js';
import { fail } from './socket-pool.js';
import type { Request } from '../http/request.js';
import type { Exchange } from '../http/transport.js';

const REQ_SOCKET_CTX = Ctx.rewrite | Ctx.server_rewrite | Ctx.access | Ctx.content;

/** Registry refs of the two metatables (set by socket.ts). */
export const reqMeta = { body: 0, raw: 0 };

/** Body-state numbers of the HTTP/1 exchange (src/http/transport/exchange.ts). */
const B_READING = 1;
const B_STREAMING = 2;
const B_DISCARDING = 3;

const rawTaken = new WeakSet<Request>();
const bodyTaken = new WeakMap<Request, TcpSock>();

export function reqSocket(L: LuaState): number {
  const n = lua.lua_gettop(L);
  let raw = false;
  if (n === 1) {
    raw = lua.lua_toboolean(L, 1);
    lua.lua_pop(L, 1);
  } else if (n !== 0) {
    luaErrorWhere(L, `expecting zero arguments, but got ${n}`);
  }
  const owner = currentOwner();
  const req = owner as Request | null;
  if (req === null || (req as { transport?: unknown }).transport === undefined) luaErrorWhere(L, 'no request found');
  if (req.main !== req) luaErrorWhere(L, 'attempt to read the request body in a subrequest');
  const te = req.headerIn('transfer-encoding');
  const chunked = te !== null && /chunked/i.test(te);
  if (!raw && chunked) return fail(L, 'chunked request bodies not supported yet');
  checkContext(L, REQ_SOCKET_CTX);
  const x = req.transport as (Exchange & { bodyState?: number }) | null;
  if (x === null) return fail(L, 'no request found');
  const u = new TcpSock();
  u.resetUpstream(req, currentSettings(), logCtx());
  if (raw) {
    const other = bodyTaken.get(req);
    const st = x.bodyState;
    if ((other !== undefined && other.bodyRest > 0) || st === B_READING || st === B_DISCARDING || (st === B_STREAMING && other === undefined)) {
      return fail(L, 'pending request body reading in some other thread');
    }
    // lua_http10_buffering holds an HTTP/1.0 body to compute its length (src/ngx/print.ts)
    if (req.ext.http10Body !== undefined) return fail(L, 'http 1.0 buffering');
    if (rawTaken.has(req)) return fail(L, 'duplicate call');
    rawTaken.add(req);
    // nginx sets r->header_sent: nothing else may send a response header now
    req.headerSent = true;
    req.ext.rawReqSocket = true;
    const d = x.detach();
    u.kind = Kind.Raw;
    u.srcChunks = d.buffered !== null && d.buffered.length > 0 ? [d.buffered] : null;
    u.srcBytes = u.srcChunks !== null ? d.buffered!.length : 0;
    u.conn = d.socket;
    adoptSocket(d.socket, u);
    // the transport read the connection through its shared buffer: reads now go to the cosocket
    redirectSharedReads(d.socket, onHolderRead);
    d.socket.setTimeout(0);
  } else {
    const st = x.bodyState;
    if (st === B_DISCARDING) return fail(L, 'request body discarded');
    if (req.bodyRead || bodyTaken.has(req) || st === B_READING || st === B_STREAMING) return fail(L, 'request body already exists');
    const cl = Number(req.headerIn('content-length') ?? '0');
    if (!(cl > 0)) return fail(L, 'no body');
    u.kind = Kind.Body;
    u.bodyRest = cl;
    u.srcChunks = [];
    bodyTaken.set(req, u);
    req.bodyRead = true;
    x.streamBody(
      (chunk) => {
        if (u.srcChunks === null) return;
        u.srcChunks.push(chunk);
        if (u.readWaiting) queueMicrotask(() => wake(u));
      },
      (err) => {
        u.srcEnded = true;
        if (err !== null) u.srcError = err;
        // deferred: the transport is inside its own bookkeeping here. (With lua_check_client_abort
        // on, OpenResty gives a pending reader "client aborted" instead of running the abort
        // handler; req.ext.reqSocketReading tells src/ngx/abort.ts a reader is waiting.)
        if (u.readWaiting) queueMicrotask(() => wake(u));
      },
      0,
    );
  }
  lua.lua_createtable(L, 2, 3);
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, raw ? reqMeta.raw : reqMeta.body);
  lua.lua_setmetatable(L, -2);
  lua.lua_pushlightuserdata(L, u);
  lua.lua_rawseti(L, -2, 1);
  u.register();
  debug(raw ? 'lua raw request socket acquired' : 'lua request socket created', u.log);
  return 1;
}

function wake(u: TcpSock): void {
  if (u.readWaiting) u.readMore();
}
