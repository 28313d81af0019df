// nginx's checks on a complete request head, and small helpers for the connection code.
import type { RequestHead } from '../parser.js';
import { loopNow } from './clock.js';
import type { Http1Exchange } from './exchange.js';

/**
 * nginx's checks on a complete head (ngx_http_process_request_header and friends):
 * [status, code, reason] when the request must be refused.
 */
export function checkHead(h: RequestHead, ex: Http1Exchange): [number, string, string] | null {
  if (h.httpMajor !== 1) {
    return h.httpMajor > 1 ? [505, 'version', 'client sent invalid request'] : [400, 'version', 'client sent invalid request'];
  }
  let host = -1;
  let te = -1;
  const hs = h.headers;
  for (let i = 0; i < hs.length; i += 2) {
    const n = hs[i];
    switch (n.length) {
      case 4:
        if (!lowerEq(n, 'host')) break;
        if (host >= 0) return [400, 'host', 'client sent duplicate host header'];
        host = i + 1;
        if (!validHost(hs[i + 1])) return [400, 'host', 'client sent invalid host header'];
        break;
      case 6:
        if (lowerEq(n, 'expect') && lowerEq(hs[i + 1], '100-continue')) ex.expectContinue = true;
        break;
      case 17:
        if (!lowerEq(n, 'transfer-encoding')) break;
        if (te >= 0) return [400, 'duplicate', 'client sent duplicate header line: "' + n + ': ' + hs[i + 1] + '"'];
        te = i + 1;
        break;
    }
  }
  if (host < 0 && h.httpMinor >= 1) return [400, 'host', 'client sent HTTP/1.1 request without "Host" header'];
  if (te >= 0) {
    if (h.httpMinor < 1) return [400, 'te', 'client sent HTTP/1.0 request with "Transfer-Encoding" header'];
    if (!lowerEq(hs[te], 'chunked')) return [501, 'te', 'client sent unknown "Transfer-Encoding": "' + hs[te] + '"'];
  }
  if (h.method === 'CONNECT') return [405, 'method', 'client sent CONNECT method'];
  if (h.method === 'TRACE') return [405, 'method', 'client sent TRACE method'];
  return null;
}

/** ASCII case-insensitive equality with a lower-case constant, without allocating. */
export function lowerEq(s: string, lc: string): boolean {
  if (s.length !== lc.length) return false;
  for (let i = 0; i < s.length; i++) if ((s.charCodeAt(i) | 0x20) !== lc.charCodeAt(i)) return false;
  return true;
}

/** ngx_http_validate_host: no "..", no '/', no controls or spaces, not empty. */
function validHost(h: string): boolean {
  let dot = -2;
  let len = h.length;
  let state = 0; // 0 usual, 1 IPv6 literal, 2 after the host (port)
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (c === 0x2e) {
      if (dot === i - 1) return false;
      dot = i;
    } else if (c === 0x3a) {
      if (state === 0) {
        len = i;
        state = 2;
      }
    } else if (c === 0x5b) {
      if (i === 0) state = 1;
    } else if (c === 0x5d) {
      if (state === 1) {
        len = i + 1;
        state = 2;
      }
    } else if (c === 0x2f || c <= 0x20 || c === 0x7f) return false;
  }
  if (dot === len - 1) len--;
  return len > 0;
}

export function unmap(a: string): string {
  return a.startsWith('::ffff:') && a.indexOf('.') > 0 ? a.slice(7) : a;
}

export function firstLine(raw: Buffer, max: number): string {
  let i = 0;
  while (i < raw.length && (raw[i] === 13 || raw[i] === 10)) i++;
  let end = raw.indexOf(10, i);
  if (end < 0) end = raw.length;
  if (end > i && raw[end - 1] === 13) end--;
  return raw.toString('latin1', i, Math.min(end, i + max));
}

let dateSec = -1;
let dateStr = '';

/** The Date header value, cached per second. */
export function httpDate(now = loopNow()): string {
  const sec = Math.floor(now / 1000);
  if (sec !== dateSec) {
    dateSec = sec;
    dateStr = new Date(sec * 1000).toUTCString();
  }
  return dateStr;
}

export function noop(): void {}
