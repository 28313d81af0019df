// The response side of a request: header filters, body filters, framing, special responses
// (error pages) and finalisation, after nginx's ngx_http_send_header / ngx_http_output_filter /
// ngx_http_finalize_request.
import { Framing, type Request } from './request.js';
import { errorPageHtml } from './transport/errors.js';
import { httpTimeString } from '../ngx/timefmt.js';
import { logError, Level } from '../log/errorlog.js';
import { filters } from './filters.js';
import { deliver } from './subrequest.js';

/** ngx.exit / finalize codes with special meaning (nginx's NGX_* values). */
export const NGX_OK = 0;
export const NGX_ERROR = -1;
export const NGX_AGAIN = -2;
export const NGX_DONE = -4;
export const NGX_DECLINED = -5;

let cachedDate = '';
let cachedDateSec = 0;
export function dateHeader(): string {
  const now = Date.now();
  const sec = (now / 1000) | 0;
  if (sec !== cachedDateSec) {
    cachedDateSec = sec;
    cachedDate = httpTimeString(now);
  }
  return cachedDate;
}

/** tsresty answers as the nginx release its behaviour follows, so clients and tests that look at
 *  the Server header see what they would from OpenResty's nginx. */
export function serverTokens(req: Request): string {
  return req.loc && req.loc.s.serverTokens === 'off' ? 'nginx' : 'nginx/1.22.1';
}

/** ngx_http_send_header: runs the header filters once and hands the header block to the sink. */
export function sendHeader(req: Request): void {
  if (req.headerSent) return;
  req.headerSent = true;
  if (req.errStatus !== 0) req.status = req.errStatus;
  else if (req.status === 0) req.status = 200;
  const h0 = req.headersOut;
  if (h0.contentType === null && req.status !== 204 && req.status !== 304 && req.loc.s.luaUseDefaultType) {
    // ngx_http_set_content_type runs before the header filters: they see default_type
    h0.contentType = req.loc.s.defaultType;
  }
  const hf = filters.header;
  for (let i = 0; i < hf.length && !req.finalized; i++) hf[i](req);
  if (req.finalized) return;
  const status = req.status;
  const h = req.headersOut;
  let framing: Framing;
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
    framing = Framing.NoBody;
    if (status !== 304) h.contentLength = -1;
    if (status === 204) h.contentType = null;
  } else if (req.method === 'HEAD') framing = Framing.NoBody;
  else if (h.contentLength >= 0) framing = Framing.Length;
  else if (req.httpVersion >= 1.1 && req.loc.s.chunkedTransferEncoding) framing = Framing.Chunked;
  else framing = Framing.Close;
  req.framing = framing;
  if (req.ext.filterFailed) {
    closeRequest(req);
    return;
  }
  const fs = req.ext.filterStatus as number | undefined;
  if (fs !== undefined) {
    req.ext.filterStatus = undefined;
    if (filterFinalize(req, fs)) return;
  }
  if (h.coreLocation && req.main === req) absoluteLocation(req);
  req.sink.sendHeader(req, req.framing);
}

/** ngx_http_header_filter: a core redirect to "/path" becomes scheme://host[:port]/path, host being
 *  the request's Host (or the server name with server_name_in_redirect, or the local address). */
function absoluteLocation(req: Request): void {
  const h = req.headersOut;
  const s = req.loc.s;
  const loc = h.first('location');
  if (!s.absoluteRedirect || loc === null || loc.charCodeAt(0) !== 47) return;
  // tsresty serves plain HTTP only ($scheme is always "http")
  const host = s.serverNameInRedirect ? req.server.primaryName : req.headerIn('host') !== null ? req.hostVar() : req.conn.localAddress;
  const port = req.conn.localPort;
  const showPort = s.portInRedirect && port !== 80;
  h.set('Location', `http://${host}${showPort ? ':' + port : ''}${loc}`);
}

/** ngx_http_filter_finalize_request: a header filter (ngx.exit in header_filter_by_lua, a failed
 *  precondition) replaces the response being sent; the handler's body is dropped. Returns true
 *  when nothing is to be sent at all (444 / errors close the connection). */
function filterFinalize(req: Request, status: number): boolean {
  req.ext.discardBody = true;
  if (status < 0) {
    closeRequest(req);
    return true;
  }
  req.status = status;
  if (status >= 300) {
    const html = errorPageHtml(status, serverTokens(req));
    req.headersOut.reset();
    req.headersOut.contentType = html ? 'text/html' : null;
    req.headersOut.contentLength = html.length;
    req.ext.bodyReplacement = html ? Buffer.from(html, 'latin1') : null;
    req.framing = req.method === 'HEAD' ? Framing.NoBody : Framing.Length;
  }
  return false;
}

/** ngx_http_output_filter: body data (null + last for the final buffer) through the body filters. */
export function output(req: Request, data: Uint8Array | null, last: boolean): void {
  if (req.finished) return;
  const h10 = req.ext.http10Body as Uint8Array[] | undefined;
  if (h10 !== undefined && !req.headerSent) {
    // lua_http10_buffering: an HTTP/1.0 client gets the whole body with a Content-Length
    if (data !== null && data.length > 0) h10.push(data);
    if (!last) return;
    req.ext.http10Body = undefined;
    data = h10.length === 1 ? h10[0] : Buffer.concat(h10);
    if (req.headersOut.contentLength < 0) req.headersOut.contentLength = data.length;
  }
  if (!req.headerSent) sendHeader(req);
  if (req.ext.discardBody) {
    if (!last) return;
    data = (req.ext.bodyReplacement as Uint8Array | null) ?? null;
    req.ext.bodyReplacement = null;
  }
  const bf = filters.body;
  let chunk = data;
  let eof = last;
  for (let i = 0; i < bf.length; i++) {
    const r = bf[i](req, chunk, eof);
    if (r === false) return; // a filter swallowed the buffer (and will re-emit later)
    if (r !== true) {
      chunk = r.data;
      eof = r.last;
    }
  }
  if (chunk !== null && (chunk.length === 0 || req.framing === Framing.NoBody)) chunk = null;
  if (chunk !== null) req.bodyBytesSent += chunk.length;
  if (eof) req.finished = true;
  if (chunk !== null || eof) deliver(req, chunk, eof);
}

export function flush(req: Request, wait: boolean, cb: ((err?: Error) => void) | null): void {
  const h10 = req.ext.http10Body as Uint8Array[] | undefined;
  if (h10 !== undefined) {
    // a flush ends HTTP/1.0 buffering: what was held goes out now, without a length
    req.ext.http10Body = undefined;
    sendHeader(req);
    for (const c of h10) output(req, c, false);
  }
  if (!req.headerSent) sendHeader(req);
  req.sink.flush(req, wait ? cb : null);
  if (!wait && cb) cb();
}

/** Send nginx's built-in page for an error status (ngx_http_special_response_handler). */
export function sendSpecialResponse(req: Request, status: number): void {
  if (req.headerSent) {
    finishResponse(req);
    return;
  }
  if (!req.errorPageRedirected && req.loc) {
    const ep = req.loc.s.errorPages.get(status);
    if (ep && (req.main === req || true)) {
      const hooks = req.worker.hooks;
      req.errorPageRedirected = !req.loc.s.recursiveErrorPages;
      if (hooks.errorPage(req, status, ep.uri, ep.overwrite)) return;
    }
  }
  const h = req.headersOut;
  req.status = status;
  if (status === 444) {
    closeRequest(req);
    return;
  }
  const devError = status === 500 ? (req.ext.devError as string | undefined) : undefined;
  const html = devError !== undefined ? devErrorPage(devError) : errorPageHtml(status, serverTokens(req)) || null;
  h.contentLength = html ? html.length : -1;
  h.contentType = html ? 'text/html' : null;
  sendHeader(req);
  output(req, html ? Buffer.from(html, 'latin1') : null, true);
  endRequest(req);
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** Development mode (--watch): the 500 page shows the Lua error with its file:line and traceback. */
function devErrorPage(err: string): string {
  const text = err.replace(/[&<>"]/g, (c) => HTML_ESCAPES[c]);
  return `<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n<center><h1>500 Internal Server Error</h1></center>\r\n<pre>${text}</pre>\r\n<hr><center>tsresty (development mode)</center>\r\n</body>\r\n</html>\r\n`;
}

/** Normal end of the content: flush the last buffer, then the log phase. */
export function finishResponse(req: Request): void {
  if (!req.finished) output(req, null, true);
  endRequest(req);
}

/** ngx_http_finalize_request with a handler's return code. */
export function finalize(req: Request, rc: number): void {
  if (req.finalized) return;
  if (rc === NGX_DONE || rc === NGX_AGAIN) return;
  if (rc === NGX_ERROR || rc === 444 || rc === 499) {
    closeRequest(req);
    return;
  }
  if (req.captureBody !== null && (rc >= 300 || rc === 201 || rc === 204) && rc !== 408) {
    // ngx_http_lua_post_subrequest runs before the special response handler and emulates it: a
    // captured subrequest keeps the status, without an error page body (nor error_page)
    if (!req.headerSent) {
      req.status = rc;
      const h = req.headersOut;
      h.contentType = '';
      h.contentLength = 0;
      h.remove('last-modified');
      h.remove('accept-ranges');
    }
    finishResponse(req);
    return;
  }
  if (rc >= 300 || rc === 204 || (rc >= 100 && rc < 200)) {
    sendSpecialResponse(req, rc);
    return;
  }
  if (rc >= 200 && !req.headerSent) req.status = req.status || rc;
  finishResponse(req);
}

/** Close the connection without (further) response bytes. */
export function closeRequest(req: Request): void {
  if (req.finalized) return;
  req.finished = true;
  req.sink.abort(req);
  endRequest(req);
}

/** The log phase and cleanup, exactly once per request. */
export function endRequest(req: Request): void {
  if (req.finalized) return;
  req.finalized = true;
  req.worker.hooks.logPhase(req);
  req.worker.hooks.cleanup(req);
}

export function logRequestError(req: Request, level: number, msg: string): void {
  logError(level, msg, req);
}

export { Level };
