// balancer_by_lua* (ngx_http_lua_balancer.c) and require "ngx.balancer" (lua-resty-core's
// ngx/balancer.lua): the chunk runs synchronously before every connection attempt of an
// upstream {} that has one; it may pick the peer (set_current_peer), add tries (set_more_tries),
// change the timeouts, or fall back to the upstream's round robin by doing nothing.
import * as net from 'node:net';
import { lua, lauxlib } from '../lua/fengari.js';
import type { LuaCode } from '../config/model.js';
import type { Request } from './request.js';
import { runLuaSync } from './lua-phase.js';
import { definePreload } from '../ngx/registry.js';
import { currentKind, getRequest } from '../ngx/context.js';
import { S, pushString, bytesToLatin1, luaError, type LuaState } from '../lua/bridge.js';
import { currentTask } from '../lua/scheduler.js';
import { logError, Level } from '../log/errorlog.js';

export const NGX_OK = 0;
export const NGX_ERROR = -1;
export const NGX_BUSY = -3;
export const NGX_DECLINED = -5;

/** ngx_http_lua_balancer_peer_data_t, per request. */
export interface BalancerData {
  /** the peer set by set_current_peer for the current try */
  peer: { host: string; port: number; name: string } | null;
  moreTries: number;
  totalTries: number;
  /** NGX_PEER_NEXT (2) / NGX_PEER_FAILED (4) of the last balancer-chosen peer */
  lastPeerState: number;
  connectTimeout: number;
  sendTimeout: number;
  readTimeout: number;
  recreate: boolean;
}

/** What the running balancer chunk acts on (lmcf->balancer_peer_data). */
export interface BalancerHost {
  req: Request;
  data: BalancerData;
  /** the request's remaining tries (r->upstream->peer.tries) */
  tries(): number;
  /** proxy_next_upstream_tries */
  maxTries(): number;
  /** status of the try before the current one, 0 when none */
  lastStatus(): number;
}

let current: BalancerHost | null = null;

export function newBalancerData(): BalancerData {
  return { peer: null, moreTries: 0, totalTries: 0, lastPeerState: 0, connectTimeout: 0, sendTimeout: 0, readTimeout: 0, recreate: false };
}

/** ngx_http_lua_balancer_get_peer's Lua part: NGX_OK, NGX_ERROR, NGX_BUSY or NGX_DECLINED. */
export function runBalancer(host: BalancerHost, code: LuaCode, tries: number): number {
  const req = host.req;
  logError(Level.Debug, `lua balancer peer, tries: ${tries}`, req);
  const d = host.data;
  d.peer = null;
  d.moreTries = 0;
  d.totalTries++;
  const prevExit = req.exitCode;
  req.exitCode = null;
  const prev = current;
  current = host;
  let task;
  try {
    task = runLuaSync(req, code, 'balancer', 0);
  } finally {
    current = prev;
  }
  const exit = req.exitCode;
  req.exitCode = prevExit;
  if (task === null) return NGX_ERROR;
  if (exit !== null && exit !== NGX_OK) {
    if (exit === NGX_ERROR || exit === NGX_BUSY || exit === NGX_DECLINED) return exit;
    if (exit > NGX_OK) return NGX_ERROR;
  }
  return NGX_OK;
}

// ---- require "ngx.balancer" ---------------------------------------------------------------------

/** lua-resty-core raises "no request found" without a request; the C side answers errors. */
function hostOrError(L: LuaState): BalancerHost | string {
  getRequest(L);
  if (currentKind() !== 'balancer' || current === null) return 'API disabled in the current context';
  const t = currentTask();
  if (t === null || t.req !== current.req) return 'no upstream found';
  return current;
}

function failWith(L: LuaState, msg: string): number {
  lua.lua_pushnil(L);
  pushString(L, msg);
  return 2;
}

/** ngx_parse_url with no_resolve: "ip[:port]" or "[ipv6][:port]" or "unix:path". */
function parsePeer(addr: string, port: number): { host: string; port: number; name: string } | string {
  if (addr.startsWith('unix:')) return { host: addr, port: 0, name: addr };
  let host = addr;
  let p = port;
  const m6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(addr);
  if (m6) {
    host = m6[1];
    if (m6[2] !== undefined) p = Number(m6[2]);
  } else {
    const colon = addr.lastIndexOf(':');
    if (colon >= 0 && addr.indexOf(':') === colon) {
      const pt = addr.slice(colon + 1);
      if (!/^\d+$/.test(pt) || Number(pt) < 1 || Number(pt) > 65535) return 'invalid port';
      host = addr.slice(0, colon);
      p = Number(pt);
    }
  }
  if (host.length === 0) return 'no host';
  if (!net.isIP(host)) return 'no host allowed';
  if (!(p >= 0 && p <= 65535)) return 'invalid port';
  return { host, port: p, name: net.isIPv6(host) ? `[${host}]:${p}` : `${host}:${p}` };
}

function setCurrentPeer(L: LuaState): number {
  const addr = bytesToLatin1(lauxlib.luaL_checklstring(L, 1));
  let port = 0;
  if (!lua.lua_isnoneornil(L, 2)) port = Math.trunc(lua.lua_tonumber(L, 2)) || 0;
  const h = hostOrError(L);
  if (typeof h === 'string') return failWith(L, h);
  const p = parsePeer(addr, port);
  if (typeof p === 'string') return failWith(L, p);
  h.data.peer = p;
  lua.lua_pushboolean(L, 1);
  return 1;
}

function setMoreTries(L: LuaState): number {
  const count = Math.trunc(lauxlib.luaL_checknumber(L, 1));
  const h = hostOrError(L);
  if (typeof h === 'string') return failWith(L, h);
  const max = h.maxTries();
  const total = h.data.totalTries + h.tries() - 1;
  let n = count;
  let err: string | null = null;
  if (max && total + count > max) {
    n = max - total;
    err = 'reduced tries due to limit';
  }
  h.data.moreTries = n;
  lua.lua_pushboolean(L, 1);
  if (err === null) return 1;
  pushString(L, err);
  return 2;
}

function getLastFailure(L: LuaState): number {
  const h = hostOrError(L);
  if (typeof h === 'string') {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    pushString(L, h);
    return 3;
  }
  const st = h.data.lastPeerState;
  if (st === 0) {
    lua.lua_pushnil(L);
    return 1;
  }
  pushString(L, st === 4 ? 'failed' : st === 2 ? 'next' : st === 1 ? 'keepalive' : 'unknown');
  lua.lua_pushnumber(L, h.lastStatus());
  return 2;
}

function timeoutArg(L: LuaState, i: number, what: string): number {
  if (lua.lua_isnoneornil(L, i)) return 0;
  if (lua.lua_type(L, i) !== lua.LUA_TNUMBER) luaError(L, `bad ${what} timeout`);
  const v = lua.lua_tonumber(L, i);
  if (!(v > 0)) luaError(L, `bad ${what} timeout`);
  return Math.floor(v * 1000);
}

function setTimeouts(L: LuaState): number {
  const c = timeoutArg(L, 1, 'connect');
  const s = timeoutArg(L, 2, 'send');
  const r = timeoutArg(L, 3, 'read');
  const h = hostOrError(L);
  if (typeof h === 'string') {
    lua.lua_pushboolean(L, 0);
    pushString(L, h);
    return 2;
  }
  if (c > 0) h.data.connectTimeout = c;
  if (s > 0) h.data.sendTimeout = s;
  if (r > 0) h.data.readTimeout = r;
  lua.lua_pushboolean(L, 1);
  return 1;
}

function recreateRequest(L: LuaState): number {
  const h = hostOrError(L);
  if (typeof h === 'string') return failWith(L, h);
  h.data.recreate = true;
  lua.lua_pushboolean(L, 1);
  return 1;
}

function enableKeepalive(L: LuaState): number {
  const h = hostOrError(L);
  if (typeof h === 'string') return failWith(L, h);
  lua.lua_pushboolean(L, 1);
  return 1;
}

definePreload('ngx.balancer', (L: LuaState) => {
  lua.lua_createtable(L, 0, 8);
  const fns: Record<string, (L: LuaState) => number> = {
    set_current_peer: setCurrentPeer,
    set_more_tries: setMoreTries,
    get_last_failure: getLastFailure,
    set_timeouts: setTimeouts,
    recreate_request: recreateRequest,
    enable_keepalive: enableKeepalive,
  };
  for (const k of Object.keys(fns)) {
    lua.lua_pushcfunction(L, fns[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  pushString(L, '0.1.25');
  lua.lua_setfield(L, -2, S('version'));
  return 1;
});
