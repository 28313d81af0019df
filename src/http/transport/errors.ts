// nginx's status lines (ngx_http_header_filter_module.c) and default error pages
// (ngx_http_special_response.c), as of nginx 1.25+ (`<body>` without bgcolor, "501 Not Implemented").

/** Reason phrases nginx puts in the status line. Codes not listed get "HTTP/1.1 NNN " (empty reason). */
const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 206: 'Partial Content',
  301: 'Moved Permanently', 302: 'Moved Temporarily', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Not Allowed', 406: 'Not Acceptable', 408: 'Request Time-out', 409: 'Conflict', 410: 'Gone',
  411: 'Length Required', 412: 'Precondition Failed', 413: 'Request Entity Too Large',
  414: 'Request-URI Too Large', 415: 'Unsupported Media Type', 416: 'Requested Range Not Satisfiable',
  421: 'Misdirected Request', 429: 'Too Many Requests',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway',
  503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out', 505: 'HTTP Version Not Supported',
  507: 'Insufficient Storage',
};

/** nginx's reason phrase for a status, or null when nginx sends none. */
export function statusText(status: number): string | null {
  return STATUS_TEXT[status] ?? null;
}

const LINE_CACHE: string[] = [];

/** "HTTP/1.1 200 OK\r\n"; nginx answers HTTP/1.1 whatever the request version was. Its own codes
 *  494-497 go out as 400 (ngx_http_special_response_handler). */
export function statusLine(status: number, reason: string | null = null): string {
  if (status >= 494 && status <= 497) status = 400;
  if (reason !== null) return 'HTTP/1.1 ' + status + ' ' + reason + '\r\n';
  let line = LINE_CACHE[status];
  if (line === undefined) {
    const text = STATUS_TEXT[status];
    line = 'HTTP/1.1 ' + String(status).padStart(3, '0') + ' ' + (text ?? '') + '\r\n';
    if (status >= 0 && status < 1000) LINE_CACHE[status] = line;
  }
  return line;
}

/** Titles of nginx's built-in error pages (they differ from the status line: 401, 501...). */
const PAGE_TITLE: Record<number, string> = {
  301: '301 Moved Permanently', 302: '302 Found', 303: '303 See Other', 307: '307 Temporary Redirect',
  308: '308 Permanent Redirect',
  400: '400 Bad Request', 401: '401 Authorization Required', 402: '402 Payment Required',
  403: '403 Forbidden', 404: '404 Not Found', 405: '405 Not Allowed', 406: '406 Not Acceptable',
  408: '408 Request Time-out', 409: '409 Conflict', 410: '410 Gone', 411: '411 Length Required',
  412: '412 Precondition Failed', 413: '413 Request Entity Too Large', 414: '414 Request-URI Too Large',
  415: '415 Unsupported Media Type', 416: '416 Requested Range Not Satisfiable',
  421: '421 Misdirected Request', 429: '429 Too Many Requests',
  494: '400 Request Header Or Cookie Too Large', 495: '400 The SSL certificate error',
  496: '400 No required SSL certificate was sent', 497: '400 The plain HTTP request was sent to HTTPS port',
  498: '404 Not Found',
  500: '500 Internal Server Error', 501: '501 Not Implemented', 502: '502 Bad Gateway',
  503: '503 Service Temporarily Unavailable', 504: '504 Gateway Time-out',
  505: '505 HTTP Version Not Supported', 507: '507 Insufficient Storage',
};

const PAGE_CACHE = new Map<string, string>();

/**
 * nginx's default page for `status`, with `serverTokens` in the tail ("nginx" for server_tokens off,
 * "nginx/1.27.1" or "openresty/1.27.1.2" for on). '' when nginx sends no body for that status.
 * The 49x pages say "400 Bad Request" in the h1 and carry an extra line (494 → "Request Header Or
 * Cookie Too Large"); send them with status 400.
 */
export function errorPageHtml(status: number, serverTokens: string): string {
  const title = PAGE_TITLE[status];
  if (title === undefined) return '';
  const key = status + ' ' + serverTokens;
  let page = PAGE_CACHE.get(key);
  if (page !== undefined) return page;
  const own = status >= 494 && status <= 497;
  page =
    '<html>\r\n<head><title>' + title + '</title></head>\r\n<body>\r\n' +
    '<center><h1>' + (own ? '400 Bad Request' : title) + '</h1></center>\r\n' +
    (own ? '<center>' + title.slice(4) + '</center>\r\n' : '') +
    '<hr><center>' + serverTokens + '</center>\r\n</body>\r\n</html>\r\n';
  if (PAGE_CACHE.size < 256) PAGE_CACHE.set(key, page);
  return page;
}

/** Statuses after which nginx's special response turns keep-alive off (r->keepalive = 0). */
export function errorClosesConnection(status: number): boolean {
  return status === 400 || status === 413 || status === 414 || status === 500 ||
    (status >= 495 && status <= 497);
}
