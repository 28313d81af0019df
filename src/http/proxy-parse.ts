// Parsing an upstream's response with nginx's rules: ngx_http_parse_status_line,
// ngx_http_parse_header_line (upstream flavour: lenient names, "\0" is the only fatal byte) and
// ngx_http_parse_chunked. Incremental: bytes are fed as they arrive. Strings are latin1.

export const enum HeadResult {
  Again = 0,
  Done = 1,
  /** the status line is not "HTTP/x.y NNN": nginx treats the response as HTTP/0.9 */
  NoStatusLine = 2,
  Invalid = 3,
  TooBig = 4,
}

export class ResponseHead {
  status = 0;
  /** "200 OK" as received (ngx's status_line: from the code to the end of the line) */
  statusLine = '';
  /** the reason phrase alone ("" when none) */
  reason = '';
  major = 1;
  minor = 0;
  /** flat [name, value, ...] as received */
  headers: string[] = [];
  contentLength = -1;
  chunked = false;
  connectionClose = false;
  /** bytes of the head (status line + headers + empty line) */
  size = 0;
}

/** Accumulates the response head; `feed` returns where the body starts once Done. */
export class HeadParser {
  readonly head = new ResponseHead();
  private buf = '';
  private statusDone = false;
  /** offset in the chunk given to the last feed() where the body starts */
  bodyStart = 0;
  error = '';

  constructor(private readonly limit: number) {}

  /** Feed bytes; on Done, `bodyStart` is the offset of the first body byte in `chunk`. */
  feed(chunk: Buffer): HeadResult {
    const prevLen = this.buf.length;
    this.buf += chunk.toString('latin1');
    const r = this.parse();
    if (r === HeadResult.Done) {
      this.bodyStart = this.head.size - prevLen;
      return r;
    }
    if (r === HeadResult.Again && this.buf.length >= this.limit) return HeadResult.TooBig;
    return r;
  }

  /** Everything received so far (for HTTP/0.9 responses: it is all body). */
  received(): Buffer {
    return Buffer.from(this.buf, 'latin1');
  }

  private parse(): number {
    const s = this.buf;
    let pos = 0;
    if (!this.statusDone) {
      // "HTTP/" prefix: a mismatch at any byte means no status line
      const pre = 'HTTP/';
      for (let i = 0; i < pre.length && i < s.length; i++) if (s[i] !== pre[i]) return HeadResult.NoStatusLine;
      const lf = s.indexOf('\n');
      if (lf < 0) return HeadResult.Again;
      let line = s.slice(0, lf);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      const m = /^HTTP\/([1-9]\d{0,2})\.(\d{1,3}) +(\d{3})(?:([ .])(.*))?$/.exec(line);
      if (m === null || line.indexOf('\r') >= 0) return HeadResult.NoStatusLine;
      const h = this.head;
      h.major = Number(m[1]);
      h.minor = Number(m[2]);
      h.status = Number(m[3]);
      h.reason = m[5] ?? '';
      let start = line.indexOf(' ', 5);
      while (line.charCodeAt(start) === 32) start++;
      h.statusLine = line.slice(start);
      if (h.major * 1000 + h.minor < 1001) h.connectionClose = true;
      this.statusDone = true;
      pos = lf + 1;
      this.headerPos = pos;
    }
    pos = this.headerPos;
    const h = this.head;
    for (;;) {
      const lf = s.indexOf('\n', pos);
      if (lf < 0) return HeadResult.Again;
      let end = lf;
      if (end > pos && s.charCodeAt(end - 1) === 13) end--;
      if (end === pos) {
        h.size = lf + 1;
        this.finishHead();
        return HeadResult.Done;
      }
      const line = s.slice(pos, end);
      if (line.indexOf('\0') >= 0) {
        this.error = 'upstream sent invalid header';
        return HeadResult.Invalid;
      }
      const colon = line.indexOf(':');
      let name: string;
      let value: string;
      if (colon < 0) {
        if (line.length > 5 && line.startsWith('HTTP/')) {
          // IIS may send a duplicate status line: nginx ignores it
          pos = lf + 1;
          this.headerPos = pos;
          continue;
        }
        name = line;
        value = '';
      } else {
        name = line.slice(0, colon);
        value = line.slice(colon + 1).replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
      }
      h.headers.push(name, value);
      pos = lf + 1;
      this.headerPos = pos;
    }
  }

  private headerPos = 0;

  private finishHead(): void {
    const h = this.head;
    const l = h.headers;
    for (let i = 0; i < l.length; i += 2) {
      const lc = l[i].toLowerCase();
      if (lc === 'content-length') {
        const v = l[i + 1];
        if (/^\d+$/.test(v)) h.contentLength = Number(v);
      } else if (lc === 'transfer-encoding') {
        if (/chunked/i.test(l[i + 1])) h.chunked = true;
      } else if (lc === 'connection') {
        if (/\bclose\b/i.test(l[i + 1])) h.connectionClose = true;
      }
    }
    if (h.chunked) h.contentLength = -1;
  }
}

const enum CS {
  Start,
  Size,
  Ext,
  SizeAlmostDone,
  Data,
  AfterData,
  AfterDataAlmostDone,
  Trailer,
  TrailerAlmostDone,
  TrailerHeader,
  TrailerHeaderAlmostDone,
  Done,
}

/** ngx_http_parse_chunked as a streaming decoder. */
export class ChunkedDecoder {
  private state = CS.Start;
  private size = 0;
  done = false;
  failed = false;
  /** bytes after the final CRLF (the upstream sent more than the response) */
  extra = 0;

  /** Decode a piece of input; data pieces go to `out`. Returns false on a framing error. */
  decode(b: Buffer, start: number, out: (data: Buffer) => void): boolean {
    let i = start;
    const n = b.length;
    while (i < n) {
      if (this.state === CS.Data) {
        const take = Math.min(this.size, n - i);
        out(b.subarray(i, i + take));
        i += take;
        this.size -= take;
        if (this.size === 0) this.state = CS.AfterData;
        continue;
      }
      const c = b[i++];
      switch (this.state) {
        case CS.Start:
        case CS.Size: {
          const v = hexVal(c);
          if (v >= 0) {
            if (this.size > 0x7ffffffffffff) return this.fail();
            this.size = this.size * 16 + v;
            this.state = CS.Size;
            break;
          }
          if (this.state === CS.Start) return this.fail();
          if (c === 13) this.state = CS.SizeAlmostDone;
          else if (c === 10) this.afterSize();
          else if (c === 59 || c === 32 || c === 9) this.state = CS.Ext;
          else return this.fail();
          break;
        }
        case CS.Ext:
          if (c === 13) this.state = CS.SizeAlmostDone;
          else if (c === 10) this.afterSize();
          break;
        case CS.SizeAlmostDone:
          if (c !== 10) return this.fail();
          this.afterSize();
          break;
        case CS.AfterData:
          if (c === 13) this.state = CS.AfterDataAlmostDone;
          else if (c === 10) this.state = CS.Start;
          else return this.fail();
          break;
        case CS.AfterDataAlmostDone:
          if (c !== 10) return this.fail();
          this.state = CS.Start;
          break;
        case CS.Trailer:
          if (c === 13) this.state = CS.TrailerAlmostDone;
          else if (c === 10) this.finish();
          else this.state = CS.TrailerHeader;
          break;
        case CS.TrailerAlmostDone:
          if (c !== 10) return this.fail();
          this.finish();
          break;
        case CS.TrailerHeader:
          if (c === 13) this.state = CS.TrailerHeaderAlmostDone;
          else if (c === 10) this.state = CS.Trailer;
          break;
        case CS.TrailerHeaderAlmostDone:
          if (c !== 10) return this.fail();
          this.state = CS.Trailer;
          break;
        case CS.Done:
          this.extra += n - i + 1;
          return true;
      }
    }
    return true;
  }

  private afterSize(): void {
    if (this.size === 0) this.state = CS.Trailer;
    else this.state = CS.Data;
  }

  private finish(): void {
    this.state = CS.Done;
    this.done = true;
  }

  private fail(): boolean {
    this.failed = true;
    return false;
  }
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}
