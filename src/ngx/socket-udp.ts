// ngx.socket.udp() (ngx_http_lua_socket_udp.c): setpeername, send, receive, settimeout, close
// over a connected node:dgram socket. Datagrams that arrive while nobody receives wait in a small
// queue (the kernel's socket buffer in nginx). Unix datagram sockets are not available in Node.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { lua, lauxlib } from '../lua/fengari.js';
import { pushString, luaErrorWhere, bytesToLatin1, type LuaState } from '../lua/bridge.js';
import { currentTask, suspend, resume, type LuaTask } from '../lua/scheduler.js';
import { logError, Level, type LogContext } from '../log/errorlog.js';
import type { LocSettings } from '../config/model.js';
import {
  currentOwner, currentSettings, checkCosocketContext, debug, debugOn, logCtx, newPtr, own, disown, selfObject,
  errnoOf, errText, type OwnedResource,
} from './socket-common.js';
import { sendData } from './socket-tcp-api.js';
import { resolveNow, resolveLater } from './socket-resolve.js';

const UDP_MAX_DATAGRAM_SIZE = 65536;
const QUEUE_MAX = 256;
let fdSerial = 100;

export class UdpSock implements OwnedResource {
  tRead = 0;
  hasU = false;
  owner: object | null = null;
  conf!: LocSettings;
  log: LogContext | null = null;
  readTimeout = 60000;
  sock: dgram.Socket | null = null;
  queue: Buffer[] = [];
  err: NodeJS.ErrnoException | null = null;
  waiting = false;
  connecting = false;
  task: LuaTask | null = null;
  timer: NodeJS.Timeout | null = null;
  recvSize = UDP_MAX_DATAGRAM_SIZE;
  registered = false;
  fd = 0;
  ptr = newPtr();

  ownerEnded(): void {
    this.registered = false;
    debug('cleanup lua udp socket upstream request', this.log);
    this.task = null;
    this.finalize();
  }

  finalize(): void {
    debug('lua finalize socket', this.log);
    if (this.registered) {
      disown(this.owner, this);
      this.registered = false;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const s = this.sock;
    if (s !== null) {
      debug('lua close socket connection', this.log);
      this.sock = null;
      s.removeAllListeners('message');
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    this.waiting = false;
    this.queue.length = 0;
  }

  onMessage(msg: Buffer): void {
    if (this.waiting) {
      this.finishRecv(msg, null);
      return;
    }
    if (this.queue.length < QUEUE_MAX) this.queue.push(msg);
  }

  onError(err: NodeJS.ErrnoException): void {
    if (this.waiting) this.finishRecv(null, err);
    else this.err = err;
  }

  finishRecv(msg: Buffer | null, err: NodeJS.ErrnoException | null | 'timeout'): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waiting = false;
    const t = this.task;
    this.task = null;
    if (t === null || t.done) return;
    resume(t, this.recvRetvals(t.co, msg, err));
  }

  recvRetvals(L: LuaState, msg: Buffer | null, err: NodeJS.ErrnoException | null | 'timeout'): number {
    if (msg !== null) {
      const n = Math.min(msg.length, this.recvSize);
      lua.lua_pushlstring(L, msg, n);
      return 1;
    }
    lua.lua_pushnil(L);
    if (err === 'timeout') pushString(L, 'timeout');
    else {
      if (this.conf.luaSocketLogErrors) {
        const [no, text] = errnoOf(err);
        logError(Level.Err, `recv() failed (${no}: ${text})`, this.log);
      }
      pushString(L, errText(err));
    }
    return 2;
  }
}

function fail(L: LuaState, msg: string): number {
  lua.lua_pushnil(L);
  pushString(L, msg);
  return 2;
}

export function udpNew(L: LuaState): number {
  if (lua.lua_gettop(L) !== 0) luaErrorWhere(L, `expecting zero arguments, but got ${lua.lua_gettop(L)}`);
  if (currentOwner() === null) luaErrorWhere(L, 'no request found');
  checkCosocketContext(L);
  lua.lua_createtable(L, 3, 1);
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, udpMeta.ref);
  lua.lua_setmetatable(L, -2);
  lua.lua_pushlightuserdata(L, new UdpSock());
  lua.lua_rawseti(L, -2, 1);
  return 1;
}

export const udpMeta = { ref: 0 };

export function udpSetPeerName(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 2 && n !== 3) luaErrorWhere(L, `ngx.socket.udp setpeername: expecting 2 or 3 arguments (including the object), but seen ${n}`);
  const owner = currentOwner();
  if (owner === null) luaErrorWhere(L, 'no request found');
  checkCosocketContext(L);
  const u = selfObject(L, UdpSock);
  if (u === null) luaErrorWhere(L, 'bad socket object');
  const host = bytesToLatin1(lauxlib.luaL_checklstring(L, 2));
  let port = 0;
  if (n === 3) {
    port = Math.trunc(lauxlib.luaL_checknumber(L, 3));
    if (port < 0 || port > 65535) return fail(L, `bad port number: ${port}`);
  }
  const log = logCtx();
  if (u.hasU) {
    if (u.owner !== null && u.owner !== owner) luaErrorWhere(L, 'bad request');
    if (u.waiting) return fail(L, 'socket busy');
    if (u.sock !== null) {
      debug('lua udp socket reconnect without shutting down', log);
      u.finalize();
    }
    debug('lua reuse socket upstream ctx', log);
  }
  u.hasU = true;
  u.owner = owner;
  u.conf = currentSettings();
  u.log = log;
  u.readTimeout = u.tRead > 0 ? u.tRead : u.conf.luaSocketReadTimeout;
  u.err = null;
  u.queue.length = 0;
  if (host.slice(0, 5).toLowerCase() === 'unix:') {
    return fail(L, 'unix domain datagram sockets are not supported');
  }
  if (n !== 3) return fail(L, `failed to parse host name "${host}": invalid host`);
  let h = host;
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  const task = currentTask()!;
  const addr = resolveNow(h);
  if (addr !== null) {
    debug('lua udp socket network address given directly', log);
    startConnect(u, addr, port, task);
  } else {
    u.waiting = true;
    u.task = task;
    resolveLater(h, (err, a) => {
      if (u.task !== task) return;
      if (err !== null || a === null) {
        u.waiting = false;
        u.task = null;
        if (task.done) return;
        lua.lua_pushnil(task.co);
        pushString(task.co, err ?? 'resolver not working');
        resume(task, 2);
        return;
      }
      startConnect(u, a, port, task);
    });
  }
  lua.lua_settop(L, 0);
  return suspend(L);
}

function startConnect(u: UdpSock, addr: string, port: number, task: LuaTask): void {
  const s = dgram.createSocket(net.isIPv6(addr) ? 'udp6' : 'udp4');
  u.sock = s;
  u.fd = ++fdSerial;
  u.waiting = true;
  u.task = task;
  if (!u.registered && u.owner !== null) {
    u.registered = true;
    own(u.owner, u);
  }
  s.on('message', (msg: Buffer) => {
    if (u.sock === s) u.onMessage(msg);
  });
  u.connecting = true;
  s.on('error', (err: NodeJS.ErrnoException) => {
    if (u.sock !== s) return;
    if (u.connecting) connectDone(u, s, err);
    else u.onError(err);
  });
  s.connect(port, addr, () => connectDone(u, s, null));
}

function connectDone(u: UdpSock, s: dgram.Socket, err: NodeJS.ErrnoException | null): void {
  if (u.sock !== s || !u.connecting) return;
  u.connecting = false;
  u.waiting = false;
  const t = u.task;
  u.task = null;
  if (err !== null) u.finalize();
  if (t === null || t.done) return;
  debug(`lua udp socket connect: ${err === null ? 0 : -1}`, u.log);
  if (err !== null) {
    lua.lua_pushnil(t.co);
    pushString(t.co, errText(err));
    resume(t, 2);
    return;
  }
  lua.lua_pushnumber(t.co, 1);
  resume(t, 1);
}

function checkOpen(L: LuaState, u: UdpSock | null, what: string): u is UdpSock {
  if (u === null || !u.hasU || u.sock === null) {
    const conf = u !== null && u.hasU ? u.conf : currentSettings();
    if (conf.luaSocketLogErrors) {
      logError(Level.Err, `attempt to ${what} data on a closed socket: u:${u?.hasU ? u.ptr : '0000000000000000'}, c:0000000000000000`, logCtx());
    }
    return false;
  }
  const owner = currentOwner();
  if (owner === null) luaErrorWhere(L, 'no request found');
  if (u.owner !== owner) luaErrorWhere(L, 'bad request');
  return true;
}

export function udpSend(L: LuaState): number {
  if (lua.lua_gettop(L) !== 2) luaErrorWhere(L, `expecting 2 arguments (including the object), but got ${lua.lua_gettop(L)}`);
  if (currentOwner() === null) luaErrorWhere(L, 'no request found');
  const u = selfObject(L, UdpSock);
  if (!checkOpen(L, u, 'send')) return fail(L, 'closed');
  if (u.waiting) return fail(L, 'socket busy');
  const data = sendData(L, 2);
  const s = u.sock!;
  try {
    s.send(data);
  } catch (e) {
    return fail(L, errText(e as NodeJS.ErrnoException));
  }
  if (debugOn()) debug(`send: fd:${u.fd} ${data.length} of ${data.length}`, u.log);
  lua.lua_pushnumber(L, 1);
  return 1;
}

export function udpReceive(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 1 && n !== 2) luaErrorWhere(L, `expecting 1 or 2 arguments (including the object), but got ${n}`);
  if (currentOwner() === null) luaErrorWhere(L, 'no request found');
  const u = selfObject(L, UdpSock);
  debug('lua udp socket calling receive() method', u?.log ?? null);
  if (!checkOpen(L, u, 'receive')) return fail(L, 'closed');
  if (u.waiting) return fail(L, 'socket busy');
  if (debugOn()) debug(`lua udp socket read timeout: ${u.readTimeout}`, u.log);
  let size = n === 2 && !lua.lua_isnil(L, 2) ? Math.trunc(lauxlib.luaL_checknumber(L, 2)) : UDP_MAX_DATAGRAM_SIZE;
  if (size > UDP_MAX_DATAGRAM_SIZE) size = UDP_MAX_DATAGRAM_SIZE;
  if (size < 0) size = 0;
  u.recvSize = size;
  if (u.queue.length > 0) {
    debug('lua udp socket receive done in a single run', u.log);
    return u.recvRetvals(L, u.queue.shift()!, null);
  }
  if (u.err !== null) {
    const err = u.err;
    u.err = null;
    return u.recvRetvals(L, null, err);
  }
  u.waiting = true;
  u.task = currentTask()!;
  u.timer = setTimeout(udpTimedOut, u.readTimeout, u);
  lua.lua_settop(L, 0);
  return suspend(L);
}

function udpTimedOut(u: UdpSock): void {
  u.timer = null;
  if (!u.waiting) return;
  if (u.conf.luaSocketLogErrors) logError(Level.Err, 'lua udp socket read timed out', u.log);
  u.finishRecv(null, 'timeout');
}

export function udpSetTimeout(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 2) luaErrorWhere(L, `ngx.socket settimout: expecting 2 arguments (including the object) but seen ${n}`);
  const t = Math.trunc(lua.lua_tonumber(L, 2));
  if (t < 0 || t >= 2147483648) luaErrorWhere(L, 'bad timeout value');
  const u = selfObject(L, UdpSock);
  if (u === null) return 0;
  u.tRead = t;
  if (u.hasU) u.readTimeout = t > 0 ? t : u.conf.luaSocketReadTimeout;
  return 0;
}

export function udpClose(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n !== 1) luaErrorWhere(L, `ngx.socket close: expecting 1 argument (including the object) but seen ${n}`);
  if (currentOwner() === null) luaErrorWhere(L, 'no request found');
  const u = selfObject(L, UdpSock);
  if (u === null || !u.hasU || u.sock === null) return fail(L, 'closed');
  if (u.owner !== currentOwner()) luaErrorWhere(L, 'bad request');
  if (u.waiting) return fail(L, 'socket busy');
  u.finalize();
  lua.lua_pushnumber(L, 1);
  return 1;
}
