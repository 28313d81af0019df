// HTTP/1.x request parsing with llhttp, using the WebAssembly build shipped inside undici (the same
// state machine node:http runs, without node:http around it). One wasm instance per thread (module
// scope is per worker thread), one llhttp_t per connection, reused across keep-alive requests.
//
// The parser pauses at the two points the transport needs to act on: after the request head when a
// body follows (so the body is read only when the core asks, like nginx), and after every complete
// message (so pipelined requests are handled one at a time; the caller keeps the unconsumed rest).
import { ERROR, METHODS } from 'undici/lib/llhttp/constants.js';

/** Buffer methods Node has on every Buffer but @types/node does not declare. */
interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

interface Llhttp {
  memory: WebAssembly.Memory;
  llhttp_alloc(type: number): number;
  llhttp_free(p: number): void;
  llhttp_execute(p: number, data: number, len: number): number;
  llhttp_resume(p: number): void;
  llhttp_reset(p: number): void;
  llhttp_get_error_reason(p: number): number;
  llhttp_get_error_pos(p: number): number;
  llhttp_set_lenient_version(p: number, on: number): void;
  llhttp_set_lenient_optional_cr_before_lf(p: number, on: number): void;
  malloc(n: number): number;
  free(p: number): void;
}

/** What `execute` stopped at. */
export const NEED_MORE = 0; // every byte consumed, the message is not complete
export const HEAD = 1; // paused after a request head; a body follows
export const HEAD_DONE = 2; // paused after a request head with no body: the message is complete
export const DONE = 3; // paused after the body: the message is complete
export const FAILED = -1; // malformed input: see errno/errorName/errorReason/errorPos/limitStatus
export type ParseResult = typeof NEED_MORE | typeof HEAD | typeof HEAD_DONE | typeof DONE | typeof FAILED;

export interface ParserLimits {
  /** request line longer than this → 414 (nginx: one large_client_header_buffers buffer) */
  maxRequestLine: number;
  /** one header line longer than this → 494 (nginx: one large_client_header_buffers buffer) */
  maxHeaderLine: number;
  /** the whole head larger than this → 494 (nginx: all large_client_header_buffers) */
  maxHeaderTotal: number;
}

/** The minimal interface the transport uses, so another parser can be swapped in. */
export interface HttpRequestParser {
  /** head of the message being parsed; complete once execute returned HEAD or HEAD_DONE */
  readonly head: RequestHead | null;
  /** after execute: offset in the buffer where parsing stopped (the rest belongs to later) */
  readonly consumed: number;
  readonly errno: number;
  readonly errorName: string;
  readonly errorReason: string;
  /** after FAILED: offset of the offending byte in the buffer given to execute */
  readonly errorPos: number;
  /** after FAILED: the same offset counted from the start of the message (its first byte is 0) */
  readonly errorOffset: number;
  /** after FAILED: 414 or 494 when a size limit was hit, else 0 */
  readonly limitStatus: number;
  /** Parse buf from start. Body bytes go to the onBody sink given at construction. */
  execute(buf: Buffer, start: number): ParseResult;
  destroy(): void;
}

/** A parsed request head. Strings are latin1 (one char per byte), exactly as received. */
export class RequestHead {
  method = '';
  /** raw request target */
  uri = '';
  httpMajor = 1;
  httpMinor = 1;
  /** flat [name, value, name, value, ...], original case and order; values without surrounding OWS */
  headers: string[] = [];
  keepAlive = false;
  /** Upgrade + Connection: upgrade, or CONNECT */
  upgrade = false;
  /** -1 when there is no Content-Length header */
  contentLength = -1;
  chunked = false;
  /** a Transfer-Encoding header is present (chunked or not) */
  transferEncoding = false;
  /** bytes of request line + headers + empty line, as received */
  headerLength = 0;
  private rawParts: Buffer[] | null = null;
  private rawLast: Buffer | null = null;
  private rawStart = 0;
  private rawEnd = 0;
  private raw: Buffer | null = null;

  /** The exact bytes of request line and headers (for ngx.req.raw_header), built on first use. */
  get rawHeader(): Buffer {
    if (this.raw === null) {
      const last = this.rawLast ? this.rawLast.subarray(this.rawStart, this.rawEnd) : Buffer.alloc(0);
      this.raw = this.rawParts && this.rawParts.length ? Buffer.concat([...this.rawParts, last]) : last;
      let i = 0; // nginx skips empty lines before a request line, so does raw_header
      while (i < this.raw.length && (this.raw[i] === 13 || this.raw[i] === 10)) i++;
      if (i) this.raw = this.raw.subarray(i);
    }
    return this.raw;
  }

  /** @internal */
  setRaw(parts: Buffer[] | null, last: Buffer, start: number, end: number, length: number): void {
    this.rawParts = parts;
    this.rawLast = last;
    this.rawStart = start;
    this.rawEnd = end;
    this.headerLength = length;
  }
}

const F_CHUNKED = 1 << 3;
const F_CONTENT_LENGTH = 1 << 5;
const F_TRANSFER_ENCODING = 1 << 9;
const E_PAUSED: number = ERROR.PAUSED;
const E_INVALID_URL: number = ERROR.INVALID_URL;
const E_INVALID_METHOD: number = ERROR.INVALID_METHOD;
const TYPE_REQUEST = 1;

/** Known methods of each length, standing in for unknown ones (no special meaning in llhttp). */
const STAND_IN: (Buffer | undefined)[] = [];
for (const m of ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'PROPPATCH', 'MKACTIVITY', 'UNSUBSCRIBE'])
  STAND_IN[m.length] = Buffer.from(m);

const METHOD_NAMES: string[] = [];
for (const [name, n] of Object.entries(METHODS)) METHOD_NAMES[n as number] = name;
const ERRNO_NAMES: string[] = [];
for (const [name, n] of Object.entries(ERROR)) ERRNO_NAMES[n as number] = 'HPE_' + name;

// ---- the per-thread wasm instance and the state of the execute call in progress ----
let wasm: Llhttp | null = null;
let u8 = new Uint8Array(0);
let dv = new DataView(new ArrayBuffer(8));
let current: RequestParser | null = null;
let curBuf: FastBuffer = Buffer.alloc(0) as FastBuffer;
let curBase = 0; // wasm address of curBuf[0]: span offsets in curBuf are `at - curBase`
let inPtr = 0;
let inSize = 0;

function refreshViews(): void {
  const buf = wasm!.memory.buffer;
  if (u8.buffer !== buf) {
    u8 = new Uint8Array(buf);
    dv = new DataView(buf);
  }
}

// Callbacks are created once and dispatch to the parser running execute (handlers are pre-bound).
const env = {
  wasm_on_message_begin: (_p: number): number => current!.onMessageBegin(),
  wasm_on_url: (_p: number, at: number, len: number): number => current!.onUrl(at - curBase, len),
  wasm_on_status: (): number => 0,
  wasm_on_header_field: (_p: number, at: number, len: number): number => current!.onHeaderField(at - curBase, len),
  wasm_on_header_value: (_p: number, at: number, len: number): number => current!.onHeaderValue(at - curBase, len),
  wasm_on_headers_complete: (p: number, _status: number, upgrade: number, keepAlive: number): number =>
    current!.onHeadersComplete(p, upgrade, keepAlive),
  wasm_on_body: (_p: number, at: number, len: number): number => current!.onBody(at - curBase, len),
  wasm_on_message_complete: (_p: number): number => current!.onMessageComplete(),
};

function llhttp(): Llhttp {
  if (wasm) return wasm;
  // Plain require(): an ESM default import of these CommonJS modules (their export is the wasm
  // Buffer) makes esbuild's interop define one getter per byte, ~100 ms at startup.
  let mod: WebAssembly.Module;
  try {
    mod = new WebAssembly.Module(require('undici/lib/llhttp/llhttp_simd-wasm.js') as Uint8Array<ArrayBuffer>);
  } catch {
    // CPUs / runtimes without wasm SIMD
    mod = new WebAssembly.Module(require('undici/lib/llhttp/llhttp-wasm.js') as Uint8Array<ArrayBuffer>);
  }
  wasm = new WebAssembly.Instance(mod, { env }).exports as unknown as Llhttp;
  refreshViews();
  return wasm;
}

/** Copy buf[start..] into wasm memory (the input area grows in 4 KiB steps and is shared). */
function copyIn(m: Llhttp, buf: Buffer, start: number, len: number): void {
  if (len > inSize) {
    if (inPtr) m.free(inPtr);
    inSize = Math.ceil(len / 4096) * 4096;
    inPtr = m.malloc(inSize);
    refreshViews();
  }
  u8.set(start === 0 && len === buf.length ? buf : buf.subarray(start, start + len), inPtr);
}

const ST_IDLE = 0; // between messages
const ST_HEAD = 1; // inside request line / headers
const ST_BODY = 2; // head done: body, trailers

export class RequestParser implements HttpRequestParser {
  head: RequestHead | null = null;
  consumed = 0;
  errno = 0;
  errorName = '';
  errorReason = '';
  errorPos = 0;
  errorOffset = 0;
  limitStatus = 0;
  private ptr: number;
  private state = ST_IDLE;
  private hstate = 0; // last header span: 1 field, 2 value
  private lineLen = 0;
  private sawField = false;
  private headPaused = false;
  private result: ParseResult = NEED_MORE;
  private paused = false;
  private upgraded = false;
  private sanitize = false;
  private retried = false;
  // a method llhttp does not know (nginx takes any [A-Z_-]+): parsed with a stand-in of the same
  // length written over it in wasm memory, reported under its real name
  private customMethod = '';
  private standIn: Buffer | null = null;
  private standInBuf: Buffer | null = null;
  private standInAt = 0;
  /** bytes of the current head received in earlier buffers, kept for rawHeader */
  private parts: Buffer[] = [];
  private partsLen = 0;
  private msgStart = 0;

  constructor(
    private readonly limits: ParserLimits,
    private readonly onBodyChunk: (chunk: Buffer) => void,
  ) {
    const m = llhttp();
    this.ptr = m.llhttp_alloc(TYPE_REQUEST);
    refreshViews();
    // nginx accepts bare LF line ends in headers and any HTTP/1.x minor version (HTTP/2+ is
    // answered 505 by the transport, as nginx does).
    m.llhttp_set_lenient_optional_cr_before_lf(this.ptr, 1);
    m.llhttp_set_lenient_version(this.ptr, 1);
  }

  execute(buf: Buffer, start: number): ParseResult {
    const m = wasm!;
    if (this.ptr === 0) throw new Error('parser destroyed');
    if (this.paused) {
      this.paused = false;
      // after an Upgrade/CONNECT message llhttp stays in upgrade mode; nginx keeps speaking HTTP
      if (this.upgraded) m.llhttp_reset(this.ptr);
      else m.llhttp_resume(this.ptr);
      this.upgraded = false;
    }
    if (this.state !== ST_BODY) this.msgStart = start;
    const len = buf.length - start;
    copyIn(m, buf, start, len);
    if (this.standInBuf === buf && this.standInAt >= start) u8.set(this.standIn!, inPtr + this.standInAt - start);
    if (this.sanitize) this.sanitizeRequestLine(len);
    this.result = NEED_MORE;
    current = this;
    curBuf = buf as FastBuffer;
    curBase = inPtr - start;
    let ret: number;
    try {
      ret = m.llhttp_execute(this.ptr, inPtr, len);
    } finally {
      current = null;
    }
    if (ret === 0) return this.consumedAll(buf);
    if (ret === E_PAUSED) return this.pausedAt(buf, m.llhttp_get_error_pos(this.ptr) - curBase);
    return this.failed(m, buf, ret);
  }

  destroy(): void {
    if (this.ptr !== 0) wasm!.llhttp_free(this.ptr);
    this.ptr = 0;
    this.head = null;
    this.parts.length = 0;
  }

  private consumedAll(buf: Buffer): ParseResult {
    this.consumed = buf.length;
    if (this.state !== ST_HEAD) return NEED_MORE;
    // head incomplete: keep its bytes for rawHeader and enforce the header buffer limits
    this.parts.push(this.msgStart === 0 ? buf : buf.subarray(this.msgStart));
    this.partsLen += buf.length - this.msgStart;
    if (!this.sawField && this.partsLen > this.limits.maxRequestLine) return this.limitFailed(414, buf.length);
    if (this.partsLen > this.limits.maxHeaderTotal) return this.limitFailed(494, buf.length);
    return NEED_MORE;
  }

  private pausedAt(buf: Buffer, pos: number): ParseResult {
    this.paused = true;
    this.consumed = pos;
    const r = this.result;
    if (r === HEAD || r === HEAD_DONE) {
      const length = this.partsLen + pos - this.msgStart;
      this.head!.setRaw(this.partsLen ? this.parts.slice() : null, buf, this.msgStart, pos, length);
      this.parts.length = 0;
      this.partsLen = 0;
      if (length > this.limits.maxHeaderTotal) return this.limitFailed(494, pos);
    }
    return r;
  }

  private failed(m: Llhttp, buf: Buffer, ret: number): ParseResult {
    const pos = m.llhttp_get_error_pos(this.ptr) - curBase;
    // llhttp rejects raw bytes >= 0x80 in the request target; nginx accepts them. Re-parse the
    // message once with those bytes masked in wasm memory (strings are still cut from `buf`).
    if (ret === E_INVALID_METHOD && this.customMethod === '' && this.partsLen === 0 && this.standInFor(buf)) {
      this.state = ST_IDLE;
      m.llhttp_reset(this.ptr);
      return this.execute(buf, this.msgStart);
    }
    if (ret === E_INVALID_URL && !this.retried && this.partsLen === 0 && buf[pos] >= 0x80) {
      this.retried = true;
      this.sanitize = true;
      this.state = ST_IDLE;
      m.llhttp_reset(this.ptr);
      return this.execute(buf, this.msgStart);
    }
    this.errno = ret;
    this.errorName = this.limitStatus ? 'HPE_HEADER_OVERFLOW' : (ERRNO_NAMES[ret] ?? 'HPE_UNKNOWN');
    this.errorPos = pos;
    this.errorOffset = this.state === ST_BODY ? -1 : this.partsLen + pos - this.msgStart;
    if (this.limitStatus === 0) this.errorReason = cString(m.llhttp_get_error_reason(this.ptr));
    return FAILED;
  }

  /** The bytes of the current message's head received so far, up to buf[end] (for error logs). */
  headBytes(buf: Buffer, end: number): Buffer {
    const last = buf.subarray(Math.min(this.msgStart, end), end);
    return this.partsLen ? Buffer.concat([...this.parts, last]) : last;
  }

  private limitFailed(status: 414 | 494, pos: number): ParseResult {
    this.limitStatus = status;
    this.errno = ERROR.USER;
    this.errorName = 'HPE_HEADER_OVERFLOW';
    this.errorReason = status === 414 ? 'client sent too long URI' : 'client sent too large request';
    this.errorPos = pos;
    this.errorOffset = this.partsLen + pos - this.msgStart;
    return FAILED;
  }

  /** Set up a stand-in when the message in buf starts with an unknown method token nginx accepts. */
  private standInFor(buf: Buffer): boolean {
    let i = this.msgStart;
    while (i < buf.length && (buf[i] === 13 || buf[i] === 10)) i++;
    const at = i;
    for (let c = buf[i]; (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x2d; c = buf[++i]);
    const standIn = STAND_IN[i - at];
    if (i === at || buf[i] !== 0x20 || standIn === undefined) return false;
    this.customMethod = (buf as FastBuffer).latin1Slice(at, i);
    this.standIn = standIn;
    this.standInBuf = buf;
    this.standInAt = at;
    return true;
  }

  /** Mask bytes >= 0x80 of the request line in the wasm copy (see `failed`). */
  private sanitizeRequestLine(len: number): void {
    let i = inPtr;
    const end = inPtr + len;
    while (i < end && (u8[i] === 13 || u8[i] === 10)) i++;
    for (; i < end; i++) {
      const c = u8[i];
      if (c === 10) {
        this.sanitize = false;
        return;
      }
      if (c >= 0x80) u8[i] = 0x78; // 'x'
    }
  }

  // ---- llhttp callbacks (return 0 to go on, E_PAUSED to pause, -1 to fail) ----

  onMessageBegin(): number {
    this.state = ST_HEAD;
    this.head = new RequestHead();
    this.hstate = 0;
    this.lineLen = 0;
    this.sawField = false;
    this.headPaused = false;
    this.limitStatus = 0;
    return 0;
  }

  onUrl(off: number, len: number): number {
    const h = this.head!;
    h.uri += curBuf.latin1Slice(off, off + len);
    if (h.uri.length > this.limits.maxRequestLine) return this.spanLimit(414, 'client sent too long URI');
    return 0;
  }

  onHeaderField(off: number, len: number): number {
    if (this.state === ST_BODY) return 0; // chunked trailers: ignored, as nginx does
    const s = curBuf.latin1Slice(off, off + len);
    const hs = this.head!.headers;
    if (this.hstate === 1) hs[hs.length - 1] += s;
    else {
      hs.push(s);
      this.hstate = 1;
      this.lineLen = 0;
      this.sawField = true;
    }
    return this.lineLimit(len);
  }

  onHeaderValue(off: number, len: number): number {
    if (this.state === ST_BODY) return 0;
    const s = curBuf.latin1Slice(off, off + len);
    const hs = this.head!.headers;
    if (this.hstate === 2) hs[hs.length - 1] += s;
    else {
      hs.push(s);
      this.hstate = 2;
    }
    return this.lineLimit(len);
  }

  onHeadersComplete(p: number, upgrade: number, keepAlive: number): number {
    const h = this.head!;
    const hs = h.headers;
    if (hs.length & 1) hs.push('');
    for (let i = 1; i < hs.length; i += 2) {
      const v = hs[i];
      const last = v.charCodeAt(v.length - 1);
      if (last === 32 || last === 9) hs[i] = v.trimEnd(); // nginx drops trailing OWS too
    }
    h.method = this.customMethod || (METHOD_NAMES[u8[p + 41]] ?? '');
    h.httpMajor = u8[p + 42];
    h.httpMinor = u8[p + 43];
    const flags = u8[p + 50] | (u8[p + 51] << 8);
    h.keepAlive = keepAlive === 1;
    h.upgrade = upgrade === 1;
    h.chunked = (flags & F_CHUNKED) !== 0;
    h.transferEncoding = (flags & F_TRANSFER_ENCODING) !== 0;
    if (flags & F_CONTENT_LENGTH) h.contentLength = dv.getUint32(p + 32, true) + dv.getUint32(p + 36, true) * 4294967296;
    this.state = ST_BODY;
    if (h.chunked || h.contentLength > 0 || h.transferEncoding) {
      this.headPaused = true;
      this.result = HEAD;
      return E_PAUSED;
    }
    return 0;
  }

  onBody(off: number, len: number): number {
    this.onBodyChunk(curBuf.subarray(off, off + len));
    return 0;
  }

  onMessageComplete(): number {
    this.result = this.headPaused ? DONE : HEAD_DONE;
    this.state = ST_IDLE;
    this.upgraded = this.head!.upgrade;
    this.retried = false;
    this.sanitize = false;
    if (this.customMethod !== '') {
      this.customMethod = '';
      this.standIn = this.standInBuf = null;
    }
    return E_PAUSED;
  }

  private lineLimit(len: number): number {
    this.lineLen += len;
    if (this.lineLen > this.limits.maxHeaderLine) return this.spanLimit(494, 'client sent too long header line');
    return 0;
  }

  private spanLimit(status: number, reason: string): number {
    this.limitStatus = status;
    this.errorReason = reason;
    return -1;
  }
}

function cString(ptr: number): string {
  if (!ptr) return '';
  let end = ptr;
  while (u8[end] !== 0) end++;
  return Buffer.from(u8.buffer, ptr, end - ptr).toString('latin1');
}
