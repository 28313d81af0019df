// Appliers for ngx_http_proxy_module's directives. Values go into the proxy level record of the
// block's settings (http/proxy-conf.ts) and are merged per location on first use; proxy_pass also
// installs the proxy content handler on its location (or `if` block), like clcf->handler = ...
import type { Directive } from './ast.js';
import { defineDirectives, fail, parseSize, parseTime, parseFlag, settings, type BuildCtx } from './build.js';
import { compileComplex } from '../http/complex.js';
import { compileConfigRegex } from './regex.js';
import {
  levelOf, parseProxyUrl, setCompiler, NEXT_UPSTREAM_MASKS, IGNORE_HEADER_MASKS, FT_OFF,
  type ProxyLevel, type RedirectRule, type CookieRule,
} from '../http/proxy-conf.js';
import { proxyHandler } from '../http/proxy.js';

setCompiler(compileComplex);

function level(c: BuildCtx): ProxyLevel {
  return levelOf(settings(c));
}

const URI_PART_ERROR = '"proxy_pass" cannot have URI part in location given by regular expression, or inside named location, or inside "if" statement, or inside "limit_except" block';

function proxyPass(c: BuildCtx, d: Directive): void {
  const loc = c.loc;
  if (loc === null) fail(d, '"proxy_pass" directive is not allowed here');
  const l = levelOf(loc.s);
  if (l.pass !== undefined) fail(d, '"proxy_pass" directive is duplicate');
  const src = d.args[0];
  loc.content = proxyHandler;
  // ngx_http_proxy_pass: "/t" is answered with a 301 to "/t/" when this location is "/t/"
  if (loc.name.endsWith('/') && (loc.match === 'exact' || loc.match === 'prefix' || loc.match === 'noregex')) loc.autoRedirect = true;
  const cv = compileComplex(src);
  if (cv.constant === null) {
    l.pass = { dynamic: cv, url: null, location: '', source: src };
    return;
  }
  const lower = src.slice(0, 8).toLowerCase();
  if (!lower.startsWith('http://') && !lower.startsWith('https://')) fail(d, 'invalid URL prefix');
  const u = parseProxyUrl(src);
  if (typeof u === 'string') fail(d, u);
  let location = loc.name;
  if (loc.match === 'regex' || loc.match === 'named' || loc.match === 'if' || c.context === 'limit_except') {
    if (u.uri.length > 0) fail(d, URI_PART_ERROR);
    location = '';
  }
  l.pass = { dynamic: null, url: u, location, source: src };
}

function setHeader(c: BuildCtx, d: Directive): void {
  const l = level(c);
  (l.setHeaders ??= []).push({ name: d.args[0], lc: d.args[0].toLowerCase(), value: compileComplex(d.args[1]) });
}

function flagOf(key: keyof ProxyLevel) {
  return (c: BuildCtx, d: Directive): void => {
    (level(c) as Record<string, unknown>)[key] = parseFlag(d);
  };
}

function msecOf(key: keyof ProxyLevel) {
  return (c: BuildCtx, d: Directive): void => {
    (level(c) as Record<string, unknown>)[key] = parseTime(d, d.args[0]);
  };
}

function sizeOf(key: keyof ProxyLevel) {
  return (c: BuildCtx, d: Directive): void => {
    (level(c) as Record<string, unknown>)[key] = parseSize(d, d.args[0]);
  };
}

function ignored(): void {
  // accepted for compatibility; tsresty keeps responses in memory (no temp files, no cache)
}

function redirect(c: BuildCtx, d: Directive): void {
  const l = level(c);
  const [a, b] = d.args;
  if (d.args.length === 1) {
    if (a === 'off') {
      l.redirects = null;
      return;
    }
    if (a === 'false') {
      l.redirects = null;
      return;
    }
    if (a !== 'default') fail(d, `invalid parameter "${a}"`);
    if (!l.redirects) l.redirects = [];
    l.redirects.push({ kind: 'default' });
    return;
  }
  if (!l.redirects) l.redirects = [];
  let rule: RedirectRule;
  if (a.startsWith('~')) {
    const caseless = a.startsWith('~*');
    rule = { kind: 'regex', re: compileConfigRegex(d, a.slice(caseless ? 2 : 1), caseless), to: compileComplex(b) };
  } else {
    rule = { kind: 'string', from: compileComplex(a), to: compileComplex(b) };
  }
  l.redirects.push(rule);
}

function cookieRule(key: 'cookieDomains' | 'cookiePaths') {
  return (c: BuildCtx, d: Directive): void => {
    const l = level(c);
    const [a, b] = d.args;
    if (d.args.length === 1) {
      if (a !== 'off') fail(d, `invalid parameter "${a}"`);
      l[key] = null;
      return;
    }
    const list = (l[key] ??= []) as CookieRule[];
    if (a.startsWith('~')) {
      const caseless = a.startsWith('~*') || key === 'cookieDomains';
      list.push({ kind: 'regex', re: compileConfigRegex(d, a.slice(a.startsWith('~*') ? 2 : 1), caseless), to: compileComplex(b) });
    } else {
      let from = a;
      if (key === 'cookieDomains' && from.startsWith('.')) from = from.slice(1);
      list.push({ kind: 'string', from: compileComplex(from), to: compileComplex(b) });
    }
  };
}

function nextUpstream(c: BuildCtx, d: Directive): void {
  let mask = 0;
  for (const a of d.args) {
    const m = NEXT_UPSTREAM_MASKS[a.toLowerCase()];
    if (m === undefined) fail(d, `invalid value "${a}"`);
    mask |= m;
  }
  if (mask & FT_OFF) mask = FT_OFF;
  level(c).nextUpstream = mask;
}

function ignoreHeaders(c: BuildCtx, d: Directive): void {
  let mask = 0;
  for (const a of d.args) {
    const m = IGNORE_HEADER_MASKS[a.toLowerCase()];
    if (m === undefined) fail(d, `invalid value "${a}"`);
    mask |= m;
  }
  level(c).ignoreHeaders = mask;
}

function bind(c: BuildCtx, d: Directive): void {
  const l = level(c);
  l.bind = d.args[0] === 'off' ? null : compileComplex(d.args[0]);
}

function buffers(c: BuildCtx, d: Directive): void {
  const num = Number(d.args[0]);
  if (!(num > 0)) fail(d, `invalid value "${d.args[0]}"`);
  level(c).buffers = { num, size: parseSize(d, d.args[1]) };
}

function complexOrNull(key: 'setBody' | 'method' | 'sslName') {
  return (c: BuildCtx, d: Directive): void => {
    level(c)[key] = compileComplex(d.args[0]);
  };
}

defineDirectives({
  proxy_pass: proxyPass,
  proxy_set_header: setHeader,
  proxy_hide_header: (c, d) => { (level(c).hideHeaders ??= []).push(d.args[0]); },
  proxy_pass_header: (c, d) => { (level(c).passHeaders ??= []).push(d.args[0]); },
  proxy_http_version: (c, d) => {
    if (d.args[0] !== '1.0' && d.args[0] !== '1.1') fail(d, `invalid value "${d.args[0]}" in "${d.name}" directive`);
    level(c).httpVersion = d.args[0] as '1.0';
  },
  proxy_buffering: flagOf('buffering'),
  proxy_request_buffering: flagOf('requestBuffering'),
  proxy_ignore_client_abort: flagOf('ignoreClientAbort'),
  proxy_intercept_errors: flagOf('interceptErrors'),
  proxy_pass_request_headers: flagOf('passRequestHeaders'),
  proxy_pass_request_body: flagOf('passRequestBody'),
  proxy_socket_keepalive: flagOf('socketKeepalive'),
  proxy_ssl_server_name: flagOf('sslServerName'),
  proxy_ssl_verify: flagOf('sslVerify'),
  proxy_ssl_name: complexOrNull('sslName'),
  proxy_connect_timeout: msecOf('connectTimeout'),
  proxy_send_timeout: msecOf('sendTimeout'),
  proxy_read_timeout: msecOf('readTimeout'),
  proxy_next_upstream_timeout: msecOf('nextUpstreamTimeout'),
  proxy_next_upstream: nextUpstream,
  proxy_next_upstream_tries: (c, d) => {
    const n = Number(d.args[0]);
    if (!Number.isInteger(n) || n < 0) fail(d, `invalid number "${d.args[0]}"`);
    level(c).nextUpstreamTries = n;
  },
  proxy_set_body: complexOrNull('setBody'),
  proxy_method: complexOrNull('method'),
  proxy_redirect: redirect,
  proxy_cookie_domain: cookieRule('cookieDomains'),
  proxy_cookie_path: cookieRule('cookiePaths'),
  proxy_bind: bind,
  proxy_buffer_size: sizeOf('bufferSize'),
  proxy_buffers: buffers,
  proxy_busy_buffers_size: sizeOf('busyBuffersSize'),
  proxy_ignore_headers: ignoreHeaders,
  proxy_send_lowat: ignored,
  proxy_headers_hash_max_size: ignored,
  proxy_headers_hash_bucket_size: ignored,
  proxy_force_ranges: ignored,
  proxy_limit_rate: ignored,
  proxy_temp_path: ignored,
  proxy_max_temp_file_size: ignored,
  proxy_temp_file_write_size: ignored,
  proxy_store: ignored,
  proxy_store_access: ignored,
  proxy_ssl_session_reuse: ignored,
  proxy_ssl_trusted_certificate: ignored,
  proxy_ssl_certificate: ignored,
  proxy_ssl_certificate_key: ignored,
  proxy_ssl_verify_depth: ignored,
  proxy_ssl_protocols: ignored,
  proxy_ssl_ciphers: ignored,
  proxy_ssl_conf_command: ignored,
});
