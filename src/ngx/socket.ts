// ngx.socket.tcp / stream / connect / udp and the cosocket metatables (lua-nginx-module's
// ngx_http_lua_inject_socket_tcp_api / _udp_api). Socket objects are tables whose slot [1] holds
// the JS object as a light userdata; their methods live in one shared metatable per kind, so a
// method call is a table lookup plus a JS call. See socket-*.ts for the parts.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, luaErrorWhere, type LuaState, type JsFn } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { TcpSock } from './socket-tcp.js';
import { env, hookWorker, currentOwner, checkCosocketContext, resetDefaults } from './socket-common.js';
import { tcpConnect } from './socket-connect.js';
import {
  tcpReceive, tcpReceiveAny, tcpReceiveUntil, tcpSend, tcpClose, tcpSetTimeout, tcpSetTimeouts,
  tcpGetReusedTimes, tcpSetOption, tcpGetOption, tcpBind,
} from './socket-tcp-api.js';
import { tcpSetKeepalive } from './socket-pool.js';
import { tcpSslHandshake, tcpSetClientCert } from './socket-ssl.js';
import { udpNew, udpMeta, udpSetPeerName, udpSend, udpReceive, udpSetTimeout, udpClose } from './socket-udp.js';
import { reqMeta } from './socket-req.js';

export { reqSocket } from './socket-req.js';

let tcpMetaRef = 0;

/** ngx.socket.tcp(): a new, unconnected cosocket object. */
export function tcpNew(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 0) luaErrorWhere(L, `expecting zero arguments, but got ${n}`);
  if (currentOwner() === null) luaErrorWhere(L, 'no request found');
  checkCosocketContext(L);
  lua.lua_createtable(L, 5, 1);
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, tcpMetaRef);
  lua.lua_setmetatable(L, -2);
  lua.lua_pushlightuserdata(L, new TcpSock());
  lua.lua_rawseti(L, -2, 1);
  return 1;
}

/** A metatable whose __index is itself, holding `fns`; returns its registry reference. */
function makeMeta(L: LuaState, fns: Record<string, JsFn>, name?: string): number {
  lua.lua_createtable(L, 0, Object.keys(fns).length + 1);
  for (const k of Object.keys(fns)) {
    lua.lua_pushcfunction(L, fns[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  lua.lua_pushvalue(L, -1);
  lua.lua_setfield(L, -2, S('__index'));
  if (name) {
    // lua-resty-core finds the tcp metatable as registry.__tcp_cosocket_mt
    lua.lua_pushvalue(L, -1);
    lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, S(name));
  }
  return lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
}

const CONNECT_SRC = 'local sock = ngx.socket.tcp() local ok, err = sock:connect(...) if ok then return sock else return nil, err end';

defineNgxApi('socket', (L, envIn) => {
  const w = envIn?.worker ?? null;
  env.worker = w;
  env.http = w?.http ?? null;
  resetDefaults();
  if (w !== null) hookWorker(w);

  tcpMetaRef = makeMeta(L, {
    connect: tcpConnect,
    sslhandshake: tcpSslHandshake,
    receive: tcpReceive,
    receiveany: tcpReceiveAny,
    receiveuntil: tcpReceiveUntil,
    send: tcpSend,
    close: tcpClose,
    settimeout: tcpSetTimeout,
    settimeouts: tcpSetTimeouts,
    getreusedtimes: tcpGetReusedTimes,
    setkeepalive: tcpSetKeepalive,
    setoption: tcpSetOption,
    getoption: tcpGetOption,
    bind: tcpBind,
    setclientcert: tcpSetClientCert,
  }, '__tcp_cosocket_mt');
  reqMeta.body = makeMeta(L, {
    receive: tcpReceive,
    receiveany: tcpReceiveAny,
    receiveuntil: tcpReceiveUntil,
    settimeout: tcpSetTimeout,
    settimeouts: tcpSetTimeouts,
  });
  reqMeta.raw = makeMeta(L, {
    receive: tcpReceive,
    receiveany: tcpReceiveAny,
    receiveuntil: tcpReceiveUntil,
    send: tcpSend,
    settimeout: tcpSetTimeout,
    settimeouts: tcpSetTimeouts,
  });
  udpMeta.ref = makeMeta(L, {
    setpeername: udpSetPeerName,
    send: udpSend,
    receive: udpReceive,
    settimeout: udpSetTimeout,
    close: udpClose,
  });

  // ngx.socket
  lua.lua_createtable(L, 0, 4);
  lua.lua_pushcfunction(L, tcpNew);
  lua.lua_pushvalue(L, -1);
  lua.lua_setfield(L, -3, S('tcp'));
  lua.lua_setfield(L, -2, S('stream'));
  lua.lua_pushcfunction(L, udpNew);
  lua.lua_setfield(L, -2, S('udp'));
  const src = S(CONNECT_SRC);
  if (lauxlib.luaL_loadbuffer(L, src, src.length, S('=ngx.socket.connect')) === lua.LUA_OK) {
    lua.lua_setfield(L, -2, S('connect'));
  } else {
    lua.lua_pop(L, 1);
  }
  lua.lua_setfield(L, -2, S('socket'));
});
