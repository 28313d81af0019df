// Server and location selection with nginx's rules (ngx_http_core_find_location):
// "=" exact match wins at once; otherwise the longest prefix match is remembered ("^~" stops the
// search there); nested locations of that prefix are searched next, then regex locations in
// config order (nested ones before their parent's siblings); a matching regex wins over the prefix.
// A URI one "/" short of a proxied location's name (auto_redirect) gets that location flagged in
// req.autoRedirect unless a location has exactly the URI's name; regexes are not tried then.
import type { LocationConf, ServerConf } from '../config/model.js';
import type { Request } from './request.js';

export function findLocation(req: Request): LocationConf | null {
  const root = req.server.root;
  const r = search(req, root.children, req.uri);
  return r ?? (root.children.length === 0 ? root : null);
}

function search(req: Request, locs: LocationConf[], uri: string): LocationConf | null {
  let best: LocationConf | null = null;
  let redirect: LocationConf | null = null;
  for (let i = 0; i < locs.length; i++) {
    const l = locs[i];
    if (l.match === 'exact') {
      if (l.name === uri) return l;
    } else if (l.match === 'prefix' || l.match === 'noregex') {
      if (uri.startsWith(l.name) && (best === null || l.name.length > best.name.length)) best = l;
    }
    if (l.autoRedirect === true && l.name.length === uri.length + 1 && l.name.startsWith(uri)) redirect = l;
  }
  if (redirect !== null && (best === null || best.name.length < uri.length)) {
    req.autoRedirect = true;
    return redirect;
  }
  if (best !== null) {
    if (best.children.length > 0) {
      const nested = search(req, best.children, uri);
      if (nested !== null && nested !== best) {
        if (nested.match === 'regex' || nested.match === 'exact') return nested;
        best = nested;
      }
    }
    if (best.match === 'noregex') return best;
  }
  for (let i = 0; i < locs.length; i++) {
    const l = locs[i];
    if (l.match !== 'regex' || l.regex === null) continue;
    const m = l.regex.exec(uri);
    if (m !== null) {
      req.captures = Array.from(m);
      if (l.children.length > 0) {
        const nested = search(req, l.children, uri);
        if (nested !== null) return nested;
      }
      return l;
    }
  }
  return best;
}

/** Pick the virtual server for a request on a listening port by Host (ngx_http_find_virtual_server). */
export function findServer(candidates: ServerConf[], defaultServer: ServerConf, host: string | null): ServerConf {
  if (host === null || candidates.length === 1) return defaultServer;
  let h = host.toLowerCase();
  const colon = h.lastIndexOf(':');
  if (colon > 0 && h.indexOf(']') < colon) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  for (const s of candidates) if (s.names.exact.includes(h)) return s;
  let bestHead: ServerConf | null = null;
  let bestLen = 0;
  for (const s of candidates) {
    for (const w of s.names.wildcardsHead) {
      // "*.example.com" and ".example.com"
      if ((h.endsWith(w) || h === w.slice(1)) && w.length > bestLen) {
        bestHead = s;
        bestLen = w.length;
      }
    }
  }
  if (bestHead) return bestHead;
  for (const s of candidates) for (const w of s.names.wildcardsTail) if (h.startsWith(w)) return s;
  for (const s of candidates) for (const re of s.names.regexes) if (re.test(h)) return s;
  return defaultServer;
}
