// Upstream peers: ngx_http_upstream_round_robin (smooth weighted round robin, backup servers, down
// servers, max_fails/fail_timeout accounting, the "single peer" shortcut) and
// ngx_http_upstream_keepalive_module's per-upstream cache of idle connections.
import type * as net from 'node:net';
import type { UpstreamConf } from '../config/model.js';

export interface Peer {
  /** address to connect to (IP or name) or unix socket path */
  host: string;
  port: number;
  unix: string | null;
  /** "127.0.0.1:8080" / "unix:/path" ($upstream_addr) */
  name: string;
  weight: number;
  effectiveWeight: number;
  currentWeight: number;
  down: boolean;
  maxFails: number;
  failTimeout: number;
  fails: number;
  accessed: number;
  checked: number;
}

export interface PeerGroup {
  /** upstream name (explicit) or host:port (implicit); pc->name for "no live upstreams" */
  name: string;
  primary: Peer[];
  backup: Peer[];
  /** one primary peer and no backups: failures are not accounted and there is one try */
  single: boolean;
  /** non-down peers (primary + backup): the request's initial number of tries */
  tries: number;
  /** `keepalive N`: idle connections cached per worker (0: no cache) */
  keepalive: number;
  keepaliveTimeout: number;
  keepaliveRequests: number;
  ups: UpstreamConf | null;
  idle: IdleConn[];
}

export interface IdleConn {
  sock: net.Socket;
  peer: string;
  requests: number;
  timer: NodeJS.Timeout | null;
  onGone: () => void;
}

function newPeer(host: string, port: number, weight: number, down: boolean): Peer {
  const unix = host.startsWith('unix:') ? host.slice(5) : null;
  let h = host;
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return {
    host: h, port, unix, name: unix !== null ? host : `${host}:${port}`, weight, effectiveWeight: weight, currentWeight: 0,
    down, maxFails: 1, failTimeout: 10000, fails: 0, accessed: 0, checked: 0,
  };
}

function makeGroup(name: string, primary: Peer[], backup: Peer[], ups: UpstreamConf | null): PeerGroup {
  const tries = primary.filter((p) => !p.down).length + backup.filter((p) => !p.down).length;
  return {
    name, primary, backup, single: primary.length === 1 && backup.length === 0, tries: Math.max(tries, 1),
    keepalive: ups ? ups.keepalive : 0, keepaliveTimeout: ups?.keepaliveTimeout ?? 60000,
    keepaliveRequests: ups?.keepaliveRequests ?? 1000, ups, idle: [],
  };
}

const explicit = new WeakMap<UpstreamConf, PeerGroup>();
const implicit = new Map<string, PeerGroup>();

/** The peers of an `upstream {}` block (one state per worker, shared by its requests). */
export function upstreamGroup(ups: UpstreamConf): PeerGroup {
  let g = explicit.get(ups);
  if (g === undefined) {
    const primary: Peer[] = [];
    const backup: Peer[] = [];
    for (const s of ups.servers) {
      const p = newPeer(s.host, s.port, s.weight || 1, s.down);
      if (s.maxFails !== undefined && s.maxFails >= 0) p.maxFails = s.maxFails;
      if (s.failTimeout !== undefined) p.failTimeout = s.failTimeout;
      (s.backup ? backup : primary).push(p);
    }
    g = makeGroup(ups.name, primary, backup, ups);
    explicit.set(ups, g);
  }
  return g;
}

/** The implicit one-server upstream of `proxy_pass http://host:port` (or unix:path). */
export function implicitGroup(host: string, port: number, unix: string | null): PeerGroup {
  const key = unix !== null ? 'unix:' + unix : `${host}:${port}`;
  let g = implicit.get(key);
  if (g === undefined) {
    if (implicit.size > 1000) implicit.clear();
    g = makeGroup(key, [newPeer(unix !== null ? 'unix:' + unix : host, port, 1, false)], [], null);
    implicit.set(key, g);
  }
  return g;
}

/** A peer picked for one try: from the group, or set by balancer_by_lua. */
export interface PeerPick {
  peer: Peer | null;
  host: string;
  port: number;
  unix: string | null;
  name: string;
}

/** ngx_http_upstream_rr_peer_data_t: one request's walk over a group. */
export class RoundRobin {
  private tried = new Set<Peer>();
  private inBackup = false;
  current: Peer | null = null;

  constructor(readonly group: PeerGroup) {}

  /** ngx_http_upstream_get_round_robin_peer: a peer, or null (NGX_BUSY: "no live upstreams"). */
  get(): Peer | null {
    const g = this.group;
    let peer: Peer | null;
    if (g.single && !this.inBackup) {
      peer = g.primary[0];
      if (peer.down) peer = null;
    } else {
      peer = this.pick(this.inBackup ? g.backup : g.primary);
    }
    if (peer === null && !this.inBackup && g.backup.length > 0) {
      this.inBackup = true;
      this.tried.clear();
      peer = this.pick(g.backup);
    }
    this.current = peer;
    return peer;
  }

  private pick(list: Peer[]): Peer | null {
    const now = Date.now();
    let best: Peer | null = null;
    let total = 0;
    for (const p of list) {
      if (this.tried.has(p) || p.down) continue;
      if (p.maxFails > 0 && p.fails >= p.maxFails && now - p.checked <= p.failTimeout) continue;
      p.currentWeight += p.effectiveWeight;
      total += p.effectiveWeight;
      if (p.effectiveWeight < p.weight) p.effectiveWeight++;
      if (best === null || p.currentWeight > best.currentWeight) best = p;
    }
    if (best === null) return null;
    best.currentWeight -= total;
    if (now - best.checked > best.failTimeout) best.checked = now;
    this.tried.add(best);
    return best;
  }

  /** ngx_http_upstream_free_round_robin_peer; returns the request's remaining tries. */
  free(tries: number, failed: boolean): { tries: number; disabled: boolean } {
    const peer = this.current;
    this.current = null;
    if (peer === null) return { tries, disabled: false };
    if (this.group.single && !this.inBackup) return { tries: 0, disabled: false };
    let disabled = false;
    if (failed) {
      const now = Date.now();
      peer.fails++;
      peer.accessed = now;
      peer.checked = now;
      if (peer.maxFails > 0) {
        peer.effectiveWeight -= Math.floor(peer.weight / peer.maxFails);
        if (peer.fails >= peer.maxFails) disabled = true;
      }
      if (peer.effectiveWeight < 0) peer.effectiveWeight = 0;
    } else if (peer.accessed < peer.checked) {
      peer.fails = 0;
    }
    return { tries: tries > 0 ? tries - 1 : 0, disabled };
  }

  /** the balancer picked its own peer: the group is no longer "single" (as lua-nginx-module does) */
  unsingle(): void {
    this.group.single = false;
  }
}

// ---- the keepalive cache ------------------------------------------------------------------------

/** A cached connection to `peer`, or null (ngx_http_upstream_get_keepalive_peer). */
export function takeIdle(g: PeerGroup, peer: string): IdleConn | null {
  const l = g.idle;
  for (let i = l.length - 1; i >= 0; i--) {
    const c = l[i];
    if (c.peer !== peer) continue;
    l.splice(i, 1);
    if (c.timer) clearTimeout(c.timer);
    c.sock.off('data', c.onGone);
    c.sock.off('end', c.onGone);
    c.sock.off('error', c.onGone);
    c.sock.off('close', c.onGone);
    if (c.sock.destroyed || !c.sock.writable) continue;
    return c;
  }
  return null;
}

/** ngx_http_upstream_free_keepalive_peer: cache a connection whose response ended cleanly. */
export function putIdle(g: PeerGroup, sock: net.Socket, peer: string, requests: number): boolean {
  if (g.keepalive <= 0 || requests >= g.keepaliveRequests || sock.destroyed || !sock.writable) return false;
  if (g.idle.length >= g.keepalive) {
    const old = g.idle.shift()!;
    if (old.timer) clearTimeout(old.timer);
    old.sock.destroy();
  }
  const c: IdleConn = {
    sock, peer, requests, timer: null,
    onGone: () => {
      const i = g.idle.indexOf(c);
      if (i >= 0) g.idle.splice(i, 1);
      if (c.timer) clearTimeout(c.timer);
      sock.destroy();
    },
  };
  sock.on('data', c.onGone);
  sock.on('end', c.onGone);
  sock.on('error', c.onGone);
  sock.on('close', c.onGone);
  sock.setTimeout(0);
  c.timer = setTimeout(c.onGone, g.keepaliveTimeout);
  c.timer.unref();
  sock.unref();
  g.idle.push(c);
  return true;
}
