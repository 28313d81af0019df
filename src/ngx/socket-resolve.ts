// Name resolution for cosockets. With the `resolver` directive, names are resolved by querying
// those DNS servers (A records, like nginx's resolver; answers cached for their TTL) and failures
// read "NAME could not be resolved (3: Host not found)". Without it OpenResty fails with
// `no resolver defined to resolve "NAME"`; tsresty instead falls back to the system resolver
// (getaddrinfo via dns.lookup, cached for 30 s) and only reports OpenResty's message when that
// lookup fails too. "localhost" always maps to 127.0.0.1.
import * as dns from 'node:dns';
import * as net from 'node:net';
import { env } from './socket-common.js';

interface CacheEntry {
  addrs: string[];
  expires: number;
}

const cache = new Map<string, CacheEntry>();
const SYSTEM_TTL = 30000;
const MAX_CACHE = 4096;

let resolver: dns.Resolver | null = null;
let resolverKey = '';

/** An address for `host` when known without waiting (IP literal, localhost, cached), else null. */
export function resolveNow(host: string): string | null {
  if (net.isIP(host)) return host;
  const lc = host.toLowerCase();
  if (lc === 'localhost') return '127.0.0.1';
  const e = cache.get(lc);
  if (e !== undefined) {
    if (e.expires > Date.now()) return pick(e.addrs);
    cache.delete(lc);
  }
  return null;
}

function pick(a: string[]): string {
  return a.length === 1 ? a[0] : a[Math.floor(Math.random() * a.length)];
}

function remember(host: string, addrs: string[], ttlMs: number): void {
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(host, { addrs, expires: Date.now() + ttlMs });
}

/** Resolve `host` asynchronously; cb(err message | null, address). */
export function resolveLater(host: string, cb: (err: string | null, addr: string | null) => void): void {
  const lc = host.toLowerCase();
  const http = env.http;
  const servers = http?.resolver ?? null;
  if (servers !== null && servers.length > 0) {
    const r = getResolver(servers, http!.resolverTimeout);
    r.resolve4(lc, { ttl: true }, (err, recs) => {
      if (err || !recs || recs.length === 0) {
        const [code, text] = dnsError(err);
        cb(`${host} could not be resolved (${code}: ${text})`, null);
        return;
      }
      let ttl = Infinity;
      for (const r of recs) ttl = Math.min(ttl, r.ttl);
      const addrs = recs.map((r) => r.address);
      remember(lc, addrs, Math.max(1, ttl) * 1000);
      cb(null, pick(addrs));
    });
    return;
  }
  dns.lookup(lc, { all: true, family: 0 }, (err, list) => {
    if (err || !list || list.length === 0) {
      cb(`no resolver defined to resolve "${host}"`, null);
      return;
    }
    // nginx resolves A records only: prefer IPv4 when there is one
    const v4 = list.filter((a) => a.family === 4).map((a) => a.address);
    const addrs = v4.length ? v4 : list.map((a) => a.address);
    remember(lc, addrs, SYSTEM_TTL);
    cb(null, pick(addrs));
  });
}

function getResolver(servers: string[], timeoutMs: number): dns.Resolver {
  const key = servers.join(' ') + '|' + timeoutMs;
  if (resolver !== null && resolverKey === key) return resolver;
  const r = new dns.Resolver({ timeout: Math.max(1, timeoutMs), tries: 1 });
  const list: string[] = [];
  for (const s of servers) {
    const norm = normalizeServer(s);
    if (norm !== null) list.push(norm);
  }
  try {
    r.setServers(list);
  } catch {
    // leave the system servers in place
  }
  resolver = r;
  resolverKey = key;
  return r;
}

/** nginx resolver addresses: "1.2.3.4", "1.2.3.4:5353", "[::1]", "[::1]:53", "localhost". */
function normalizeServer(s: string): string | null {
  if (s.startsWith('[')) return s;
  const colon = s.lastIndexOf(':');
  const hostPart = colon > 0 && s.indexOf(':') === colon ? s.slice(0, colon) : s;
  if (hostPart === 'localhost') return colon > 0 && s.indexOf(':') === colon ? '127.0.0.1' + s.slice(colon) : '127.0.0.1';
  if (net.isIP(hostPart) || net.isIP(s)) return s;
  return null;
}

/** nginx resolver state codes and texts (ngx_resolver_strerror). */
function dnsError(err: NodeJS.ErrnoException | null): [number, string] {
  switch (err?.code) {
    case dns.FORMERR:
    case dns.BADQUERY:
    case dns.BADNAME:
      return [1, 'Format error'];
    case dns.SERVFAIL:
      return [2, 'Server failure'];
    case dns.NOTIMP:
      return [4, 'Unimplemented'];
    case dns.REFUSED:
      return [5, 'Operation refused'];
    case dns.TIMEOUT:
    case dns.CONNREFUSED:
      return [110, 'Operation timed out'];
    default:
      return [3, 'Host not found'];
  }
}
