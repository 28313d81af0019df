// The upstream and proxy variables: $upstream_addr, $upstream_status, $upstream_*_time,
// $upstream_http_NAME... (ngx_http_upstream.c, read from r->upstream_states) and $proxy_host,
// $proxy_port, $proxy_add_x_forwarded_for, $proxy_internal_body_length (ngx_http_proxy_module.c).
// The per-request record lives in a WeakMap so it survives internal redirects (req.ext does not),
// as r->upstream_states does.
import { defineVariable, definePrefixVariable, headerIn } from './variables.js';
import type { Request } from './request.js';

/** ngx_http_upstream_state_t: one connection attempt. `sep` marks a new upstream (" : "). */
export interface UpState {
  sep: boolean;
  addr: string;
  status: number;
  start: number;
  connectTime: number;
  headerTime: number;
  responseTime: number;
  bytesReceived: number;
  bytesSent: number;
  responseLength: number;
}

/** What the variables need from the running proxy of a request. */
export interface ProxyVarsSource {
  hostHeader: string;
  portText: string;
  internalBodyLength: number;
}

export interface UpInfo {
  states: UpState[];
  /** the last upstream response's headers (flat name/value list) */
  headers: string[] | null;
  run: ProxyVarsSource | null;
}

const infos = new WeakMap<Request, UpInfo>();

export function upInfo(req: Request): UpInfo {
  let i = infos.get(req);
  if (i === undefined) {
    i = { states: [], headers: null, run: null };
    infos.set(req, i);
  }
  return i;
}

export function newState(req: Request): UpState {
  const st: UpState = {
    sep: false, addr: '', status: 0, start: Date.now(), connectTime: -1, headerTime: -1, responseTime: -1,
    bytesReceived: 0, bytesSent: 0, responseLength: 0,
  };
  upInfo(req).states.push(st);
  return st;
}

/** A new upstream for a request that already talked to one (X-Accel-Redirect, error_page...). */
export function separate(req: Request): void {
  const i = infos.get(req);
  if (i !== undefined && i.states.length > 0) {
    i.states.push({ sep: true, addr: '', status: 0, start: 0, connectTime: -1, headerTime: -1, responseTime: -1, bytesReceived: 0, bytesSent: 0, responseLength: 0 });
  }
}

function join(req: Request, item: (s: UpState) => string): string | null {
  const i = infos.get(req);
  if (i === undefined || i.states.length === 0) return null;
  let out = '';
  const l = i.states;
  for (let k = 0; k < l.length; k++) {
    const s = l[k];
    if (s.sep) {
      out += ' : ';
      continue;
    }
    if (k > 0 && !l[k - 1].sep) out += ', ';
    out += item(s);
  }
  return out;
}

function msec(ms: number): string {
  if (ms < 0) return '-';
  return `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}`;
}

defineVariable('upstream_addr', { get: (r) => join(r, (s) => s.addr || '-') });
defineVariable('upstream_status', { get: (r) => join(r, (s) => (s.status ? String(s.status) : '-')) });
defineVariable('upstream_response_time', { get: (r) => join(r, (s) => msec(s.responseTime < 0 ? 0 : s.responseTime)) });
defineVariable('upstream_header_time', { get: (r) => join(r, (s) => msec(s.headerTime)) });
defineVariable('upstream_connect_time', { get: (r) => join(r, (s) => msec(s.connectTime)) });
defineVariable('upstream_response_length', { get: (r) => join(r, (s) => String(s.responseLength)) });
defineVariable('upstream_bytes_received', { get: (r) => join(r, (s) => String(s.bytesReceived)) });
defineVariable('upstream_bytes_sent', { get: (r) => join(r, (s) => String(s.bytesSent)) });

function upstreamHeader(r: Request, name: string): string | null {
  const h = infos.get(r)?.headers;
  if (!h) return null;
  const want = name.toLowerCase().replace(/_/g, '-');
  for (let i = 0; i < h.length; i += 2) if (h[i].length === want.length && h[i].toLowerCase().replace(/_/g, '-') === want) return h[i + 1];
  return null;
}

function upstreamCookie(r: Request, name: string): string | null {
  const h = infos.get(r)?.headers;
  if (!h) return null;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i].toLowerCase() !== 'set-cookie') continue;
    const v = h[i + 1];
    const eq = v.indexOf('=');
    if (eq > 0 && v.slice(0, eq).trim() === name) {
      const semi = v.indexOf(';', eq);
      return v.slice(eq + 1, semi < 0 ? v.length : semi);
    }
  }
  return null;
}

definePrefixVariable('upstream_http_', upstreamHeader);
definePrefixVariable('upstream_cookie_', upstreamCookie);
definePrefixVariable('upstream_trailer_', () => null);

defineVariable('proxy_host', { get: (r) => infos.get(r)?.run?.hostHeader ?? null });
defineVariable('proxy_port', { get: (r) => infos.get(r)?.run?.portText ?? null });
defineVariable('proxy_add_x_forwarded_for', {
  get: (r) => {
    const xff = headerIn(r, 'x_forwarded_for');
    return xff ? `${xff}, ${r.conn.remoteAddress}` : r.conn.remoteAddress;
  },
});
defineVariable('proxy_internal_body_length', {
  get: (r) => {
    const n = infos.get(r)?.run?.internalBodyLength ?? -1;
    return n >= 0 ? String(n) : null;
  },
});
defineVariable('proxy_internal_chunked', { get: () => null });
