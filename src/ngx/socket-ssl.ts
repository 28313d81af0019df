// tcpsock:sslhandshake(reused_session?, server_name?, ssl_verify?, send_status_req?) over node:tls
// (the connected socket is wrapped in place; a pooled TLS connection stays TLS) and
// tcpsock:setclientcert (lua-resty-core's argument checks).
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { lua } from '../lua/fengari.js';
import { pushString, luaErrorWhere, bytesToLatin1, type LuaState } from '../lua/bridge.js';
import { currentTask, suspend } from '../lua/scheduler.js';
import { logError, Level } from '../log/errorlog.js';
import { TcpSock, Kind, adoptSocket, releaseSocket } from './socket-tcp.js';
import { currentOwner, debug, selfObject, typeNameAt } from './socket-common.js';
import { busyError, closed, fail } from './socket-pool.js';

/** The session value handed to Lua (a light userdata: type() says "userdata"). */
export class SslSession {
  data: Buffer | null = null;
}

/** X509_V_ERR_* numbers and OpenSSL 3 texts for Node's verify error codes. */
const X509: Record<string, [number, string]> = {
  UNABLE_TO_GET_ISSUER_CERT: [2, 'unable to get issuer certificate'],
  UNABLE_TO_GET_CRL: [3, 'unable to get certificate CRL'],
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: [4, "unable to decrypt certificate's signature"],
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: [6, 'unable to decode issuer public key'],
  CERT_SIGNATURE_FAILURE: [7, 'certificate signature failure'],
  CERT_NOT_YET_VALID: [9, 'certificate is not yet valid'],
  CERT_HAS_EXPIRED: [10, 'certificate has expired'],
  ERROR_IN_CERT_NOT_BEFORE_FIELD: [13, "format error in certificate's notBefore field"],
  ERROR_IN_CERT_NOT_AFTER_FIELD: [14, "format error in certificate's notAfter field"],
  DEPTH_ZERO_SELF_SIGNED_CERT: [18, 'self-signed certificate'],
  SELF_SIGNED_CERT_IN_CHAIN: [19, 'self-signed certificate in certificate chain'],
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: [20, 'unable to get local issuer certificate'],
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: [21, 'unable to verify the first certificate'],
  CERT_CHAIN_TOO_LONG: [22, 'certificate chain too long'],
  CERT_REVOKED: [23, 'certificate revoked'],
  INVALID_CA: [24, 'invalid CA certificate'],
  PATH_LENGTH_EXCEEDED: [25, 'path length constraint exceeded'],
  INVALID_PURPOSE: [26, 'unsupported certificate purpose'],
  CERT_UNTRUSTED: [27, 'certificate not trusted'],
  CERT_REJECTED: [28, 'certificate rejected'],
  HOSTNAME_MISMATCH: [62, 'hostname mismatch'],
};

interface TlsState {
  name: string | null;
  verify: boolean;
  reuse: boolean;
  session: SslSession;
}
const tlsState = new WeakMap<TcpSock, TlsState>();
const caCache = new Map<string, Buffer | null>();

export function tcpSslHandshake(L: LuaState): number {
  const n = lua.lua_gettop(L);
  if (n < 1 || n > 5) luaErrorWhere(L, `ngx.socket sslhandshake: expecting 1 ~ 5 arguments (including the object), but seen ${n}`);
  const owner = currentOwner();
  if (owner === null) luaErrorWhere(L, 'no request found');
  const u = selfObject(L, TcpSock);
  if (u !== null) debug('lua tcp socket ssl handshake', u.log);
  if (u === null || !u.hasU || u.conn === null || u.readClosed || u.writeClosed) return closed(L);
  if (u.owner !== owner) luaErrorWhere(L, 'bad request');
  const busy = busyError(u, true, true, true);
  if (busy !== null) return fail(L, busy);
  if (u.kind !== Kind.Upstream) return fail(L, 'not supported for downstream');
  if (u.tls) {
    // already handshaked (a reused pooled connection)
    const t = lua.lua_type(L, 2);
    if (t === lua.LUA_TUSERDATA || t === lua.LUA_TLIGHTUSERDATA) lua.lua_pushvalue(L, 2);
    else if (t === lua.LUA_TBOOLEAN && !lua.lua_toboolean(L, 2)) lua.lua_pushboolean(L, true);
    else lua.lua_pushlightuserdata(L, tlsState.get(u)?.session ?? new SslSession());
    return 1;
  }
  const st: TlsState = { name: null, verify: false, reuse: true, session: new SslSession() };
  let resume: SslSession | null = null;
  if (n >= 2) {
    if (lua.lua_type(L, 2) === lua.LUA_TBOOLEAN) st.reuse = lua.lua_toboolean(L, 2);
    else if (lua.lua_type(L, 2) === lua.LUA_TLIGHTUSERDATA) {
      const s = lua.lua_touserdata(L, 2);
      if (s instanceof SslSession) resume = s;
    }
    if (n >= 3) {
      const nb = lua.lua_type(L, 3) === lua.LUA_TSTRING || lua.lua_type(L, 3) === lua.LUA_TNUMBER ? lua.lua_tolstring(L, 3) : null;
      if (nb !== null && nb.length > 0) {
        st.name = bytesToLatin1(nb);
        debug(`lua ssl server name: "${st.name}"`, u.log);
      }
      if (n >= 4) st.verify = lua.lua_toboolean(L, 4);
    }
  }
  const raw = u.conn;
  releaseSocket(raw);
  const opts: tls.ConnectionOptions = {
    socket: raw,
    rejectUnauthorized: false,
    servername: st.name !== null && !net.isIP(st.name) ? st.name : undefined,
  };
  if (resume !== null && resume.data !== null) opts.session = resume.data;
  const ca = trustedCa(u);
  if (ca !== null) opts.ca = ca;
  let ts: tls.TLSSocket;
  try {
    ts = tls.connect(opts);
  } catch (e) {
    u.finalize();
    return fail(L, 'failed to create ssl connection');
  }
  const sess = st.session;
  ts.on('session', (b: Buffer) => {
    sess.data = b;
  });
  tlsState.set(u, st);
  adoptSocket(ts, u);
  u.conn = ts;
  u.onConnected = handshakeDone;
  u.onConnFailed = handshakeFailed;
  u.waitConnect(currentTask()!, u.connectTimeout, handshakeTimedOut);
  lua.lua_settop(L, 0);
  return suspend(L);
}

/** lua_ssl_trusted_certificate, when the configuration carries it (LocSettings.ext). */
function trustedCa(u: TcpSock): Buffer | null {
  const p = (u.conf.ext as Record<string, unknown> | undefined)?.luaSslTrustedCertificate;
  if (typeof p !== 'string' || p === '') return null;
  let b = caCache.get(p);
  if (b === undefined) {
    try {
      b = fs.readFileSync(p);
    } catch {
      b = null;
    }
    caCache.set(p, b);
  }
  return b;
}

function handshakeDone(u: TcpSock): void {
  const ts = u.conn as tls.TLSSocket;
  const st = tlsState.get(u)!;
  if (st.verify) {
    if (!ts.authorized) {
      const ae = ts.authorizationError as unknown;
      const code = typeof ae === 'string' ? ae : ((ae as { code?: string } | null)?.code ?? '');
      const known = X509[code];
      const text = known ? known[1] : ((ae as Error | null)?.message ?? 'unspecified certificate verification error');
      const msg = `${known ? known[0] : 1}: ${text}`;
      if (u.conf.luaSocketLogErrors) logError(Level.Err, `lua ssl certificate verify error: (${msg})`, u.log);
      return handshakeError(u, msg);
    }
    if (st.name !== null) {
      const bad = tls.checkServerIdentity(st.name, ts.getPeerCertificate());
      if (bad !== undefined) {
        if (u.conf.luaSocketLogErrors) logError(Level.Err, `lua ssl certificate does not match host "${st.name}"`, u.log);
        return handshakeError(u, 'certificate host mismatch');
      }
    }
  }
  u.tls = true;
  if (st.session.data === null) {
    const s = ts.getSession();
    if (s) st.session.data = s;
  }
  u.finishConnect(pushSession);
}

function pushSession(L: LuaState, u: TcpSock): number {
  const st = tlsState.get(u);
  if (st === undefined || !st.reuse) lua.lua_pushboolean(L, true);
  else lua.lua_pushlightuserdata(L, st.session);
  return 1;
}

function handshakeError(u: TcpSock, msg: string): void {
  u.finalize();
  u.finishConnect((L) => {
    lua.lua_pushnil(L);
    pushString(L, msg);
    return 2;
  });
}

function handshakeFailed(u: TcpSock, err: NodeJS.ErrnoException): void {
  logError(Level.Crit, `SSL_do_handshake() failed (${err.message})`, u.log);
  handshakeError(u, 'handshake failed');
}

function handshakeTimedOut(u: TcpSock): void {
  u.connTimer = null;
  if (!u.connWaiting) return;
  handshakeError(u, 'timeout');
}

/** tcpsock:setclientcert(cert, pkey): lua-resty-core checks; no cdata exists in tsresty. */
export function tcpSetClientCert(L: LuaState): number {
  const cert = lua.lua_type(L, 2);
  const pkey = lua.lua_type(L, 3);
  if (cert <= lua.LUA_TNIL && pkey <= lua.LUA_TNIL) {
    lua.lua_pushboolean(L, true);
    return 1;
  }
  if (cert <= lua.LUA_TNIL || pkey <= lua.LUA_TNIL) return fail(L, 'client certificate must be supplied with corresponding private key');
  if (cert !== lua.LUA_TUSERDATA) return fail(L, `bad cert arg: cdata expected, got ${typeNameAt(L, 2)}`);
  if (pkey !== lua.LUA_TUSERDATA) return fail(L, `bad pkey arg: cdata expected, got ${typeNameAt(L, 3)}`);
  return fail(L, 'client certificates are not supported');
}
