// What the proxy sends: the target of proxy_pass (static or evaluated per request), the request
// URI with nginx's replacement rules (ngx_http_proxy_create_request), the header block
// (proxy_set_header entries, then the client's headers not overridden) and the body.
import * as fs from 'node:fs';
import type { Request } from './request.js';
import { normalizeUri } from './request.js';
import { evalComplex } from './complex.js';
import { parseProxyUrl, type ProxyConf, type ProxyPass, type ProxyUrl } from './proxy-conf.js';
import { upstreamGroup, implicitGroup, type PeerGroup } from './proxy-peers.js';
import type { UpstreamConf } from '../config/model.js';
import { escapeUriString } from '../ngx/codec.js';

export interface Target {
  url: ProxyUrl;
  group: PeerGroup;
  dynamic: boolean;
}

const staticGroups = new WeakMap<ProxyPass, PeerGroup>();

function findUpstream(req: Request, host: string): UpstreamConf | null {
  const ups = req.worker.http.upstreams;
  const exact = ups.get(host);
  if (exact) return exact;
  const lc = host.toLowerCase();
  for (const [name, u] of ups) if (name.toLowerCase() === lc) return u;
  return null;
}

function groupOf(req: Request, url: ProxyUrl): PeerGroup {
  if (url.unix !== null) return implicitGroup('', 0, url.unix);
  if (url.noPort) {
    const u = findUpstream(req, url.host);
    if (u !== null) return upstreamGroup(u);
  }
  return implicitGroup(url.host, url.port, null);
}

/** The URL and peers of this request; a string is the error to log (the request gets 500). */
export function resolveTarget(req: Request, pass: ProxyPass): Target | string {
  if (pass.dynamic === null) {
    let g = staticGroups.get(pass);
    if (g === undefined) {
      g = groupOf(req, pass.url!);
      staticGroups.set(pass, g);
    }
    return { url: pass.url!, group: g, dynamic: false };
  }
  const src = evalComplex(req, pass.dynamic);
  const u = parseProxyUrl(src);
  if (typeof u === 'string') return u;
  return { url: u, group: groupOf(req, u), dynamic: true };
}

function parsedPath(req: Request): string | null {
  const raw = req.unparsedUri;
  const q = raw.indexOf('?');
  return normalizeUri(q < 0 ? raw : raw.slice(0, q), req.server ? req.server.mergeSlashes : true);
}

/** r->valid_unparsed_uri: the client's request target still describes uri and args. */
function validUnparsedUri(req: Request, path: string | null): boolean {
  if (req !== req.main || req.internal) return false;
  const raw = req.unparsedUri;
  const q = raw.indexOf('?');
  const args = q < 0 ? '' : raw.slice(q + 1);
  return path === req.uri && args === req.args && (q >= 0) === (req.hasArgs || req.args !== '');
}

/** The URI of the request line (ngx_http_proxy_create_request). */
export function requestUri(req: Request, pass: ProxyPass, t: Target): string {
  const vuri = t.url.uri;
  if (t.dynamic && vuri.length > 0) return vuri;
  const path = parsedPath(req);
  if (vuri.length === 0 && validUnparsedUri(req, path)) return req.unparsedUri;
  // r->valid_location is cleared when the URI is changed in place (rewrite ... break, set_uri)
  const validLocation = pass.location === '' || req.uri.startsWith(pass.location);
  const locLen = validLocation && vuri.length > 0 ? pass.location.length : 0;
  const raw = req.unparsedUri;
  const quoted = raw.indexOf('%') >= 0 && raw.indexOf('%') < (raw.indexOf('?') < 0 ? raw.length : raw.indexOf('?'));
  const internal = req.internal || req !== req.main || path !== req.uri;
  let out = validLocation ? vuri : '';
  const tail = req.uri.slice(locLen);
  out += quoted || internal ? escapeUriString(tail) : tail;
  if (req.args.length > 0) out += '?' + req.args;
  return out;
}

function clientContentLength(req: Request): number {
  const v = req.headerIn('content-length');
  if (v === null || !/^\s*\d+\s*$/.test(v)) return -1;
  return Number(v);
}

/** The body to send (proxy_set_body, the request body, or none); cb(null) when there is none. */
export function requestBody(req: Request, conf: ProxyConf, cb: (body: Buffer | null) => void): void {
  if (conf.setBody !== null) {
    cb(Buffer.from(evalComplex(req, conf.setBody), 'latin1'));
    return;
  }
  if (!conf.passRequestBody) {
    cb(null);
    return;
  }
  if (req.body !== null) {
    cb(req.body);
    return;
  }
  if (req.bodyFile !== null) {
    fs.readFile(req.bodyFile, (err, data) => cb(err ? null : data));
    return;
  }
  cb(null);
}

/** $proxy_internal_body_length: what Content-Length the upstream is told. */
export function internalBodyLength(req: Request, conf: ProxyConf, body: Buffer | null): number {
  if (conf.setBody !== null) return body ? body.length : 0;
  const cl = clientContentLength(req);
  if (!conf.passRequestBody) return cl;
  if (body !== null) return body.length;
  if (req !== req.main) return cl > 0 ? 0 : -1;
  return cl >= 0 ? 0 : -1;
}

/** Request line and header block, latin1. */
export function buildHead(req: Request, conf: ProxyConf, method: string, uri: string): string {
  let h = method + ' ' + uri + (conf.httpVersion === '1.1' ? ' HTTP/1.1\r\n' : ' HTTP/1.0\r\n');
  const set = conf.headers;
  for (let i = 0; i < set.length; i++) {
    const v = evalComplex(req, set[i].value);
    if (v.length === 0) continue;
    h += set[i].name + ': ' + v + '\r\n';
  }
  if (conf.passRequestHeaders) {
    const names = conf.headerNames;
    const l = req.headersIn;
    for (let i = 0; i < l.length; i += 2) {
      if (names.has(l[i].toLowerCase())) continue;
      h += l[i] + ': ' + l[i + 1] + '\r\n';
    }
  }
  return h + '\r\n';
}
