// The upstream response header → the client response (ngx_http_upstream_process_headers with the
// ngx_http_upstream_headers_in handlers): hidden headers (proxy_hide_header), hop-by-hop headers
// dropped, Location/Refresh rewritten by proxy_redirect, Set-Cookie by proxy_cookie_domain/path.
import type { Request } from './request.js';
import type { ProxyConf, ProxyPass, RedirectRule, CookieRule } from './proxy-conf.js';
import type { ResponseHead } from './proxy-parse.js';
import { evalComplex } from './complex.js';

/** Headers nginx copies to the response even for X-Accel-Redirect (the table's "redirect" flag). */
const REDIRECT_COPIED = new Set(['content-type', 'set-cookie', 'content-disposition', 'cache-control', 'expires', 'accept-ranges']);

/** Copy the upstream's headers into req.headersOut; `redirectOnly` for X-Accel-Redirect. */
export function copyHeaders(req: Request, conf: ProxyConf, pass: ProxyPass, head: ResponseHead, redirectOnly: boolean): void {
  const out = req.headersOut;
  const l = head.headers;
  let contentType: string | null = null;
  for (let i = 0; i < l.length; i += 2) {
    const name = l[i];
    let value = l[i + 1];
    const lc = name.toLowerCase();
    if (conf.hide.has(lc)) continue;
    if (redirectOnly && !REDIRECT_COPIED.has(lc)) continue;
    switch (lc) {
      case 'content-type':
        contentType = value;
        continue;
      case 'content-length':
      case 'connection':
      case 'keep-alive':
      case 'transfer-encoding':
        continue;
      case 'location':
        if (conf.redirects !== null && value.length > 0) value = rewriteRedirect(req, conf.redirects, pass, value, 0);
        break;
      case 'refresh':
        if (conf.redirects !== null) {
          const m = /url=/i.exec(value);
          if (m !== null) value = rewriteRedirect(req, conf.redirects, pass, value, m.index + 4);
        }
        break;
      case 'set-cookie':
        if (conf.cookieDomains !== null) value = rewriteCookie(req, value, 'domain', conf.cookieDomains);
        if (conf.cookiePaths !== null) value = rewriteCookie(req, value, 'path', conf.cookiePaths);
        break;
    }
    out.list.push(name, value);
  }
  // ngx_http_proxy_process_header adds empty Server/Date entries when the upstream sent none: with
  // proxy_pass_header Server (or Date) the response then has no such header at all
  if (!redirectOnly) {
    if (!conf.hide.has('server') && !hasHeader(l, 'server')) out.noServer = true;
    if (!conf.hide.has('date') && !hasHeader(l, 'date')) out.noDate = true;
  }
  if (contentType !== null) out.contentType = contentType;
  else if (out.contentType === null) out.contentType = ''; // no default_type for proxied responses
  if (!redirectOnly) out.contentLength = head.contentLength;
}

function hasHeader(l: string[], lc: string): boolean {
  for (let i = 0; i < l.length; i += 2) if (l[i].length === lc.length && l[i].toLowerCase() === lc) return true;
  return false;
}

/** ngx_http_proxy_rewrite_redirect: the first rule that matches rewrites the value from `prefix`. */
function rewriteRedirect(req: Request, rules: RedirectRule[], pass: ProxyPass, value: string, prefix: number): string {
  const rest = value.slice(prefix);
  for (const r of rules) {
    if (r.kind === 'default') {
      if (pass.url === null) continue;
      let pattern: string;
      let replacement: string;
      if (pass.url.uri.length > 0) {
        pattern = pass.source;
        replacement = pass.location;
      } else {
        pattern = pass.source + '/';
        replacement = '/';
      }
      if (rest.startsWith(pattern)) return value.slice(0, prefix) + replacement + rest.slice(pattern.length);
      continue;
    }
    if (r.kind === 'string') {
      const pattern = evalComplex(req, r.from);
      if (!rest.startsWith(pattern)) continue;
      return value.slice(0, prefix) + evalComplex(req, r.to) + rest.slice(pattern.length);
    }
    r.re.lastIndex = 0;
    const m = r.re.exec(rest);
    if (m === null) continue;
    const saved = req.captures;
    req.captures = Array.from(m);
    const rep = evalComplex(req, r.to);
    req.captures = saved;
    return value.slice(0, prefix) + rep;
  }
  return value;
}

/** ngx_http_proxy_rewrite_cookie: the domain= / path= attribute of a Set-Cookie value. */
function rewriteCookie(req: Request, value: string, attr: 'domain' | 'path', rules: CookieRule[]): string {
  const semi = value.indexOf(';');
  if (semi < 0) return value;
  const re = new RegExp(`;\\s*${attr}=([^;]*)`, 'i');
  const m = re.exec(value.slice(semi));
  if (m === null) return value;
  const start = semi + m.index + m[0].length - m[1].length;
  const cur = m[1];
  for (const r of rules) {
    let rep: string | null = null;
    if (r.kind === 'string') {
      let pattern = evalComplex(req, r.from);
      let v = cur;
      if (attr === 'domain') {
        if (v.startsWith('.')) v = v.slice(1);
        if (pattern.startsWith('.')) pattern = pattern.slice(1);
        if (v.toLowerCase() === pattern.toLowerCase()) rep = evalComplex(req, r.to);
      } else if (v.startsWith(pattern)) {
        rep = evalComplex(req, r.to) + v.slice(pattern.length);
      }
    } else {
      r.re.lastIndex = 0;
      const mm = r.re.exec(cur);
      if (mm !== null) {
        const saved = req.captures;
        req.captures = Array.from(mm);
        rep = evalComplex(req, r.to);
        req.captures = saved;
      }
    }
    if (rep !== null) return value.slice(0, start) + rep + value.slice(start + cur.length);
  }
  return value;
}
