// Response headers with nginx's model (ngx_http_headers_out_t): Content-Type and Content-Length are
// dedicated fields, everything else is an ordered list. Serialisation follows
// ngx_http_header_filter_module's order: Server, Date, Content-Type, Content-Length, Last-Modified,
// Location, Transfer-Encoding, Connection, then the other headers in the order they were set.

/** Header names whose value is a list when set several times (Set-Cookie, Cache-Control...). */
const SINGLETON = new Set(['content-type', 'content-length', 'server', 'date', 'location', 'last-modified', 'etag', 'content-encoding', 'expires', 'refresh', 'accept-ranges', 'content-range']);

export class ResponseHeaders {
  /** null: not set (default_type may apply); "": cleared (more_clear_headers Content-Type) */
  contentType: string | null = null;
  contentLength = -1;
  /** the default Server / Date headers were cleared (more_clear_headers Server / Date) */
  noServer = false;
  noDate = false;
  /** flat [name, value, name, value, ...] */
  list: string[] = [];
  /** the Location was set by a core redirect (r->headers_out.location): a relative one is made
   *  absolute when the main response's header goes out (absolute_redirect) */
  coreLocation = false;

  reset(): void {
    this.coreLocation = false;
    this.contentType = null;
    this.contentLength = -1;
    this.noServer = false;
    this.noDate = false;
    this.list.length = 0;
  }

  /** Replace every header of that name with the given values (none = remove). */
  set(name: string, values: string[] | string | null): void {
    const lc = name.toLowerCase();
    if (lc === 'content-type') {
      this.contentType = values === null || (Array.isArray(values) && values.length === 0) ? null : Array.isArray(values) ? values[values.length - 1] : values;
      return;
    }
    if (lc === 'content-length') {
      const v = values === null || (Array.isArray(values) && values.length === 0) ? null : Array.isArray(values) ? values[values.length - 1] : values;
      this.contentLength = v === null ? -1 : Number(v);
      if (v !== null && !(this.contentLength >= 0)) this.contentLength = -1;
      return;
    }
    this.remove(lc);
    if (lc === 'location') this.coreLocation = false;
    if (values === null) return;
    if (typeof values === 'string') this.list.push(name, values);
    else if (SINGLETON.has(lc) && values.length > 0) this.list.push(name, values[values.length - 1]);
    else for (const v of values) this.list.push(name, v);
  }

  /** A redirect by the core (static directory, return, rewrite, auto_redirect), unlike
   *  ngx.redirect, which lua-nginx-module keeps out of r->headers_out.location on purpose. */
  setRedirect(location: string): void {
    this.set('Location', location);
    this.coreLocation = true;
  }

  /** The first value of a listed header (lower-case name; not Content-Type/-Length), or null. */
  first(lc: string): string | null {
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) if (l[i].length === lc.length && l[i].toLowerCase() === lc) return l[i + 1];
    return null;
  }

  /** Append one more value (add_header, more_set_headers appends for multi headers). */
  add(name: string, value: string): void {
    const lc = name.toLowerCase();
    if (lc === 'content-type' || lc === 'content-length' || SINGLETON.has(lc)) {
      this.set(name, value);
      return;
    }
    this.list.push(name, value);
  }

  remove(lc: string): void {
    if (lc === 'content-type') {
      this.contentType = null;
      return;
    }
    if (lc === 'content-length') {
      this.contentLength = -1;
      return;
    }
    const l = this.list;
    let w = 0;
    for (let i = 0; i < l.length; i += 2) {
      if (l[i].toLowerCase() === lc) continue;
      l[w++] = l[i];
      l[w++] = l[i + 1];
    }
    l.length = w;
  }

  /** All values of a header (lower-case name). */
  getAll(lc: string): string[] {
    if (lc === 'content-type') return this.contentType ? [this.contentType] : [];
    if (lc === 'content-length') return this.contentLength < 0 ? [] : [String(this.contentLength)];
    const out: string[] = [];
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) if (l[i].toLowerCase() === lc) out.push(l[i + 1]);
    return out;
  }

  /** $sent_http_NAME (underscores match dashes). */
  getForVariable(name: string): string | null {
    const lc = name.toLowerCase().replace(/_/g, '-');
    const all = this.getAll(lc);
    if (all.length === 0) return null;
    return lc === 'cache-control' || lc === 'link' ? all.join('; ') : all[0];
  }

  has(lc: string): boolean {
    return this.getAll(lc).length > 0;
  }

  /** Flat [name, value, ...] in nginx's order, with the slots where the transport inserts
   *  Content-Length (`lengthAt`) and Transfer-Encoding/Connection (`connectionAt`). */
  toFlat(server: string | null, date: string): { headers: string[]; lengthAt: number; connectionAt: number } {
    const l = this.list;
    const out: string[] = [];
    let serverAt = -1;
    for (let i = 0; i < l.length; i += 2) if (l[i].length === 6 && l[i].toLowerCase() === 'server') serverAt = i;
    if (serverAt >= 0) out.push(l[serverAt], l[serverAt + 1]);
    else if (server !== null && !this.noServer) out.push('Server', server);
    let hasDate = false;
    for (let i = 0; i < l.length; i += 2) {
      if (l[i].length === 4 && l[i].toLowerCase() === 'date') {
        out.push(l[i], l[i + 1]);
        hasDate = true;
      }
    }
    if (!hasDate && date && !this.noDate) out.push('Date', date);
    if (this.contentType) out.push('Content-Type', this.contentType);
    const lengthAt = out.length;
    for (let i = 0; i < l.length; i += 2) {
      const lc = l[i].toLowerCase();
      if (lc === 'location' || lc === 'last-modified') out.push(l[i], l[i + 1]);
    }
    const connectionAt = out.length;
    for (let i = 0; i < l.length; i += 2) {
      const lc = l[i].toLowerCase();
      if (lc === 'server' || lc === 'date' || lc === 'location' || lc === 'last-modified') continue;
      out.push(l[i], l[i + 1]);
    }
    return { headers: out, lengthAt, connectionAt };
  }
}
