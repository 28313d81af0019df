// nginx's own header filters that OpenResty responses pass through: not_modified (conditional
// requests), headers (add_header) and charset, in nginx's order after the third-party filters.
import type { Request } from './request.js';
import { addHeaderFilter } from './filters.js';
import { evalComplex, type Complex } from './complex.js';
import { parseHttpTime } from '../ngx/timefmt.js';

const ADD_HEADER_STATUSES = new Set([200, 201, 204, 206, 301, 302, 303, 304, 307, 308]);
const CHARSET_TYPES = new Set(['text/html', 'text/xml', 'text/plain', 'text/vnd.wap.wml', 'application/javascript', 'application/rss+xml']);

/** ngx_http_not_modified_filter: If-Unmodified-Since / If-Match -> 412, If-Modified-Since /
 *  If-None-Match -> 304, only for a main request's 200 response. */
function notModified(req: Request): void {
  if (req.status !== 200 || req.main !== req) return;
  const h = req.headersOut;
  const lmHeader = h.first('last-modified');
  const lastMod = lmHeader !== null ? parseHttpTime(lmHeader) : null;
  const ius = req.headerIn('if-unmodified-since');
  if (ius !== null) {
    const t = parseHttpTime(ius);
    if (lastMod === null || t === null || lastMod > t) {
      req.ext.filterStatus = 412;
      return;
    }
  }
  const ifMatch = req.headerIn('if-match');
  if (ifMatch !== null && !etagMatches(h.first('etag'), ifMatch, false)) {
    req.ext.filterStatus = 412;
    return;
  }
  const ims = req.headerIn('if-modified-since');
  const inm = req.headerIn('if-none-match');
  if (ims === null && inm === null) return;
  if (ims !== null && !notModifiedSince(req, ims, lastMod)) return;
  if (inm !== null && !etagMatches(h.first('etag'), inm, true)) return;
  req.status = 304;
  h.contentType = null;
  h.contentLength = -1;
  req.ext.discardBody = true;
}

/** ngx_http_test_if_modified with if_modified_since off | exact (default) | before. */
function notModifiedSince(req: Request, ims: string, lastMod: number | null): boolean {
  const mode = (req.loc.s.ext.ifModifiedSince as string | undefined) ?? 'exact';
  if (mode === 'off' || lastMod === null) return false;
  const t = parseHttpTime(ims);
  if (t === null) return false;
  return t === lastMod || (mode === 'before' && t > lastMod);
}

function etagMatches(etag: string | null, header: string, weak: boolean): boolean {
  if (header.trim() === '*') return etag !== null || !weak;
  if (etag === null) return false;
  const norm = (t: string) => (weak && t.startsWith('W/') ? t.slice(2) : t);
  return header.split(',').some((t) => norm(t.trim()) === norm(etag));
}

/** add_header: only for success/redirect statuses unless "always"; empty values add nothing. */
function addHeaders(req: Request): void {
  const list = req.loc.s.addHeaders;
  if (list.length === 0) return;
  const ok = ADD_HEADER_STATUSES.has(req.status);
  for (const a of list) {
    if (!ok && !a.always) continue;
    const v = evalComplex(req, a.value as unknown as Complex);
    if (v === '') continue;
    req.headersOut.add(a.name, v);
  }
}

/** charset NAME: "; charset=NAME" on text types without one. */
function charset(req: Request): void {
  const cs = req.loc.s.ext.charset as string | undefined;
  const ct = req.headersOut.contentType;
  if (!cs || cs === 'off' || ct === null || ct.includes('charset=')) return;
  const base = ct.split(';')[0].trim().toLowerCase();
  // charset_types: the listed MIME types (and text/html, always), "*" for any
  const types = req.loc.s.ext.charsetTypes as string[] | undefined;
  const ok = types === undefined ? CHARSET_TYPES.has(base) : base === 'text/html' || types.includes(base) || types.includes('*');
  if (ok) req.headersOut.contentType = `${ct}; charset=${cs}`;
}

addHeaderFilter(25, notModified);
addHeaderFilter(40, addHeaders);
addHeaderFilter(45, charset);
