// The connection side of a proxied request (see proxy.ts for the flow): the error log action and
// ", upstream: ..." part, the balancer's view of the request, the socket to the peer
// (plain or TLS, with proxy_bind) and the one timer that guards connect/send/read.
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Request } from './request.js';
import type { Exchange } from './transport.js';
import type { ProxyConf, ProxyPass } from './proxy-conf.js';
import type { PeerPick } from './proxy-peers.js';
import type { Target } from './proxy-request.js';
import { upInfo, type UpState, type ProxyVarsSource } from './proxy-vars.js';
import { newBalancerData, type BalancerData, type BalancerHost } from './proxy-balancer.js';
import { evalComplex } from './complex.js';
import { logError, errorLog, Level } from '../log/errorlog.js';

export const ACT_CONNECT = 'connecting to upstream';
export const ACT_SEND = 'sending request to upstream';
export const ACT_HEADER = 'reading response header from upstream';
export const ACT_BODY = 'reading upstream';
export const ACT_CLIENT = 'sending to client';

export abstract class ProxyBase implements ProxyVarsSource, BalancerHost {
  // the target
  hostHeader = '';
  portText = '';
  internalBodyLength = -1;
  target!: Target;
  uri = '';
  pick: PeerPick | null = null;
  triesLeft = 0;
  data: BalancerData = newBalancerData();
  state: UpState | null = null;
  private act = ACT_CONNECT;
  sock: net.Socket | null = null;
  timer: NodeJS.Timeout | null = null;
  done = false;
  /** the proxy_bind address of the current connection ('' when none) */
  bindName = '';
  readonly x: Exchange | null;

  constructor(readonly req: Request, readonly conf: ProxyConf, readonly pass: ProxyPass) {
    this.x = (req.main.transport as Exchange | null) ?? null;
  }

  protected abstract connected(sock: net.Socket): void;
  protected abstract onData(sock: net.Socket, d: Buffer): void;
  protected abstract onEnd(sock: net.Socket): void;
  protected abstract onError(sock: net.Socket, e: NodeJS.ErrnoException): void;
  protected abstract timedOut(): void;

  /** nginx's log->action: " while ACTION" in every log line of the connection meanwhile */
  get action(): string {
    return this.act;
  }

  set action(a: string) {
    this.act = a;
    this.req.main.logAction = a;
  }

  /** u->peer.name is set: log lines of the request carry ", upstream: ..." from now on */
  protected logPeer(name: string): void {
    this.req.logUpstream = `${this.target.url.schema}${name}${this.uri}`;
  }

  protected log(level: number, msg: string): void {
    if (errorLog.enabled(level)) logError(level, msg, this.req);
  }

  // ---- BalancerHost ---------------------------------------------------------------------------
  tries(): number {
    return this.triesLeft;
  }

  maxTries(): number {
    return this.conf.nextUpstreamTries;
  }

  lastStatus(): number {
    const st = upInfo(this.req).states;
    return st.length > 1 ? st[st.length - 2].status : 0;
  }

  protected guard(fn: () => void): void {
    if (this.req.finalized && !this.done) {
      // the request ended elsewhere (client gone, parent finished): let go of the upstream
      this.done = true;
      this.destroyConn();
      return;
    }
    try {
      fn();
    } catch (e) {
      this.destroyConn();
      this.done = true;
      this.req.worker.internalFailure(this.req, e);
    }
  }

  // ---- the socket ---------------------------------------------------------------------------------
  protected open(target: { host?: string; port?: number; path?: string }): void {
    const opts: net.NetConnectOpts & tls.ConnectionOptions = { ...(target as net.NetConnectOpts) };
    this.bindName = '';
    if (this.conf.bind !== null && target.path === undefined) {
      // ngx_http_upstream_set_local: "addr" or "addr:port"; an empty value binds nothing
      const b = evalComplex(this.req, this.conf.bind);
      if (b.length > 0) {
        const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(b);
        const ip = m ? m[1] ?? m[2] : '';
        if (!m || !net.isIP(ip)) {
          this.log(Level.Err, `invalid local address "${b}"`);
        } else {
          this.bindName = b;
          (opts as net.TcpNetConnectOpts).localAddress = ip;
          if (m[3] !== undefined) (opts as net.TcpNetConnectOpts).localPort = Number(m[3]);
        }
      }
    }
    const ms = this.data.connectTimeout || this.conf.connectTimeout;
    let sock: net.Socket;
    if (this.target.url.schema === 'https://') {
      opts.rejectUnauthorized = this.conf.sslVerify;
      if (this.conf.sslServerName) {
        const name = this.conf.sslName !== null ? evalComplex(this.req, this.conf.sslName) : this.target.url.host;
        if (!net.isIP(name)) opts.servername = name;
      }
      sock = tls.connect(opts);
      sock.once('secureConnect', () => this.guard(() => this.connected(sock)));
    } else {
      sock = net.connect(opts);
      sock.once('connect', () => this.guard(() => this.connected(sock)));
    }
    this.attach(sock);
    if (this.conf.socketKeepalive) sock.setKeepAlive(true);
    this.arm(ms);
  }

  protected attach(sock: net.Socket): void {
    this.sock = sock;
    sock.removeListener('error', noop);
    sock.on('data', (d: Buffer) => this.guard(() => this.onData(sock, d)));
    sock.on('end', () => this.guard(() => this.onEnd(sock)));
    sock.on('error', (e: NodeJS.ErrnoException) => this.guard(() => this.onError(sock, e)));
    sock.on('close', () => this.guard(() => this.onEnd(sock)));
  }

  protected detachSock(): net.Socket | null {
    const s = this.sock;
    this.sock = null;
    if (s !== null) {
      s.removeAllListeners('data');
      s.removeAllListeners('end');
      s.removeAllListeners('error');
      s.removeAllListeners('close');
      s.removeAllListeners('connect');
      s.removeAllListeners('secureConnect');
      s.removeAllListeners('drain');
      s.on('error', noop);
    }
    return s;
  }

  protected destroyConn(): void {
    this.disarm();
    const s = this.detachSock();
    if (s !== null) s.destroy();
  }

  // ---- timers -----------------------------------------------------------------------------------
  protected arm(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = ms > 0 ? setTimeout(() => this.guard(() => this.timedOut()), ms) : null;
  }

  protected disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

function noop(): void {}
