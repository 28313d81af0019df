// Cosocket input: the per-socket receive buffer and lua-nginx-module's input filters
// (ngx_http_lua_input_filters.c and the receiveuntil DFA of ngx_http_lua_socket_tcp.c), ported
// byte for byte so partial results, "\r" stripping and the size-limited receiveuntil iterator
// behave exactly as in OpenResty. Data stays in Node Buffers; results are handed to Lua as bytes.
import { lua } from '../lua/fengari.js';
import type { LuaState } from '../lua/bridge.js';

export const OK = 0;
export const ERROR = -1;
export const AGAIN = -2;

// failure types (NGX_HTTP_LUA_SOCKET_FT_*)
export const FT_ERROR = 0x1;
export const FT_TIMEOUT = 0x2;
export const FT_CLOSED = 0x4;
export const FT_RESOLVER = 0x8;
export const FT_BUFTOOSMALL = 0x10;
export const FT_NOMEM = 0x20;
export const FT_SSL = 0x40;
export const FT_CLIENTABORT = 0x80;

const EMPTY = Buffer.alloc(0);

/** Bytes received but not consumed yet (nginx's u->buffer): one Buffer and a read position. */
export class InBuf {
  buf: Buffer = EMPTY;
  pos = 0;

  get size(): number {
    return this.buf.length - this.pos;
  }

  append(chunk: Buffer): void {
    if (this.pos >= this.buf.length) {
      this.buf = chunk;
      this.pos = 0;
      return;
    }
    this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    this.pos = 0;
  }

  clear(): void {
    this.buf = EMPTY;
    this.pos = 0;
  }
}

/** The bytes a read operation has produced so far (nginx's bufs_in chain). */
export class OutBuf {
  parts: Uint8Array[] = [];
  len = 0;

  add(b: Uint8Array): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.len += b.length;
  }

  /** Push the collected bytes as one Lua string and reset. */
  push(L: LuaState): void {
    const p = this.parts;
    if (p.length === 0) lua.lua_pushlstring(L, EMPTY, 0);
    else if (p.length === 1) lua.lua_pushlstring(L, p[0], p[0].length);
    else {
      const all = Buffer.concat(p, this.len);
      lua.lua_pushlstring(L, all, all.length);
    }
    this.parts = [];
    this.len = 0;
  }

  clear(): void {
    if (this.len === 0 && this.parts.length === 0) return;
    this.parts = [];
    this.len = 0;
  }
}

export const enum Filter {
  Line = 1,
  Chunk = 2,
  All = 3,
  Any = 4,
  Until = 5,
  /** tsresty's one-message reads (resty.redis replies): see MessageReader */
  Message = 6,
}

/**
 * A message format for one-message reads (beyond lua-nginx-module: native protocol helpers such as
 * tsresty.redis read a whole reply in one call instead of a receive() per line). `scan` delimits
 * the message; bytes of an incomplete one stay buffered until more arrive. `push` turns the
 * message into the call's Lua results.
 */
export interface MessageReader {
  /** End offset of the complete message starting at b[pos], or -1 if more bytes are needed. */
  scan(b: Buffer, pos: number): number;
  /** Push the results for the message b[start..end); returns how many. */
  push(L: LuaState, b: Buffer, start: number, end: number): number;
  /** a read timeout closes the socket (the reply may still come and would be read by the next
   *  user of the connection) */
  closeOnTimeout: boolean;
}

/** What one receive call asks for (fields of nginx's upstream struct). */
export interface ReadState {
  filter: Filter;
  /** receive(n) / receiveany(max) / receiveuntil size: bytes asked for (u->length) */
  length: number;
  /** bytes still wanted (u->rest) */
  rest: number;
  /** failure type bits of the last operation */
  ft: number;
  until: UntilPattern | null;
  inb: InBuf;
  out: OutBuf;
  /** the peer closed and everything it sent is in inb */
  eof: boolean;
  /** Filter.Message: the format, and where the message found lies (in inb.buf) */
  reader: MessageReader | null;
  msgStart: number;
  msgEnd: number;
}

/** Run the operation's input filter over the buffered bytes; `eof` when the peer closed and the
 *  buffer is empty (the filter sees bytes == 0). Returns OK, AGAIN or ERROR (ft set). */
export function runFilter(u: ReadState): number {
  switch (u.filter) {
    case Filter.Line:
      return readLine(u);
    case Filter.Chunk:
      return readChunk(u);
    case Filter.All:
      return readAll(u);
    case Filter.Any:
      return readAny(u);
    case Filter.Message:
      return readMessage(u);
    default:
      return readUntil(u);
  }
}

/** One complete message; an incomplete one is left in the buffer (AGAIN) unless the peer closed. */
function readMessage(u: ReadState): number {
  const inb = u.inb;
  const b = inb.buf;
  const pos = inb.pos;
  const end = pos < b.length ? u.reader!.scan(b, pos) : -1;
  if (end < 0) {
    if (u.eof) {
      u.ft |= FT_CLOSED;
      return ERROR;
    }
    return AGAIN;
  }
  u.msgStart = pos;
  u.msgEnd = end;
  inb.pos = end;
  return OK;
}

/** "*l": everything up to "\n"; every "\r" is dropped (ngx_http_lua_read_line). */
function readLine(u: ReadState): number {
  const inb = u.inb;
  const b = inb.buf;
  const start = inb.pos;
  const end = b.length;
  if (start >= end) {
    u.ft |= FT_CLOSED;
    return ERROR;
  }
  const nl = b.indexOf(10, start);
  const stop = nl < 0 ? end : nl;
  let seg = start;
  for (let i = start; i < stop; i++) {
    if (b[i] === 13) {
      if (i > seg) u.out.add(b.subarray(seg, i));
      seg = i + 1;
    }
  }
  if (stop > seg) u.out.add(b.subarray(seg, stop));
  if (nl < 0) {
    inb.pos = end;
    return AGAIN;
  }
  inb.pos = nl + 1;
  return OK;
}

/** receive(n): exactly n bytes (ngx_http_lua_read_bytes). */
function readChunk(u: ReadState): number {
  const inb = u.inb;
  const bytes = inb.size;
  if (bytes === 0) {
    u.ft |= FT_CLOSED;
    return ERROR;
  }
  if (bytes >= u.rest) {
    u.out.add(inb.buf.subarray(inb.pos, inb.pos + u.rest));
    inb.pos += u.rest;
    u.rest = 0;
    return OK;
  }
  u.out.add(inb.buf.subarray(inb.pos));
  inb.pos = inb.buf.length;
  u.rest -= bytes;
  return AGAIN;
}

/** "*a": until the peer closes (ngx_http_lua_read_all). */
function readAll(u: ReadState): number {
  const inb = u.inb;
  if (inb.size === 0) return OK;
  u.out.add(inb.buf.subarray(inb.pos));
  inb.pos = inb.buf.length;
  return AGAIN;
}

/** receiveany(max): whatever is there, at most max bytes (ngx_http_lua_read_any). */
function readAny(u: ReadState): number {
  const inb = u.inb;
  const bytes = inb.size;
  if (bytes === 0) {
    u.ft |= FT_CLOSED;
    return ERROR;
  }
  const n = bytes >= u.rest ? u.rest : bytes;
  u.out.add(inb.buf.subarray(inb.pos, inb.pos + n));
  inb.pos += n;
  u.rest = 0;
  return OK;
}

// ---- receiveuntil -----------------------------------------------------------------------------

/** A compiled receiveuntil pattern: the pattern, its DFA recovery edges, and the match state kept
 *  between iterator calls (-1: the pattern was found by a size-limited call; the next call
 *  returns nil, nil, nil). */
export class UntilPattern {
  state = 0;
  readonly recovering: (Map<number, number> | undefined)[] | null = null;

  constructor(
    readonly pat: Uint8Array,
    readonly inclusive: boolean,
  ) {
    this.recovering = compilePattern(pat);
  }
}

/** ngx_http_lua_socket_compile_pattern: for each state, the byte that lets a failed partial match
 *  resume at a shorter prefix instead of restarting. */
function compilePattern(data: Uint8Array): (Map<number, number> | undefined)[] | null {
  const len = data.length;
  if (len <= 2) return null;
  let rec: (Map<number, number> | undefined)[] | null = null;
  for (let i = 1; i < len; i++) {
    let prefixLen = 1;
    while (prefixLen <= len - i - 1) {
      if (memeq(data, 0, data, i, prefixLen)) {
        if (data[prefixLen] === data[i + prefixLen]) {
          prefixLen++;
          continue;
        }
        const curState = i + prefixLen;
        const newState = prefixLen + 1;
        if (rec === null) rec = new Array(len - 2);
        let edges = rec[curState - 2];
        if (edges === undefined) rec[curState - 2] = edges = new Map();
        const chr = data[prefixLen];
        const old = edges.get(chr);
        if (old === undefined || old < newState) edges.set(chr, newState);
        break;
      }
      break;
    }
  }
  return rec;
}

function memeq(a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[ai + k] !== b[bi + k]) return false;
  return true;
}

/** ngx_http_lua_socket_read_until, with the in-place output replaced by appends to `out`. */
function readUntil(u: ReadState): number {
  const cp = u.until!;
  const inb = u.inb;
  const b = inb.buf;
  const base = inb.pos;
  const bytes = b.length - base;
  if (bytes === 0) {
    u.ft |= FT_CLOSED;
    return ERROR;
  }
  const pat = cp.pat;
  const patLen = pat.length;
  const out = u.out;
  let state = cp.state;
  let run = -1; // start of a run of plain bytes being copied to the output
  let i = 0;
  while (i < bytes) {
    const c = b[base + i];
    if (c === pat[state]) {
      if (run >= 0) {
        out.add(b.subarray(run, base + i));
        run = -1;
      }
      i++;
      state++;
      if (state === patLen) {
        inb.pos = base + i;
        cp.state = u.length ? -1 : 0;
        if (cp.inclusive) out.add(pat);
        return OK;
      }
      continue;
    }
    if (state === 0) {
      if (run < 0) run = base + i;
      i++;
      if (u.length && --u.rest === 0) {
        out.add(b.subarray(run, base + i));
        cp.state = 0;
        inb.pos = base + i;
        return OK;
      }
      continue;
    }
    if (run >= 0) {
      out.add(b.subarray(run, base + i));
      run = -1;
    }
    let newState = -1;
    const rec = cp.recovering;
    if (rec !== null && state >= 2) {
      const edges = rec[state - 2];
      if (edges !== undefined) {
        const e = edges.get(c);
        if (e !== undefined) newState = e;
      }
    }
    if (newState < 0) {
      out.add(pat.subarray(0, state));
      if (u.length) {
        if (u.rest <= state) {
          u.rest = 0;
          cp.state = 0;
          inb.pos = base + i;
          return OK;
        }
        u.rest -= state;
      }
      state = 0;
      continue;
    }
    const pending = state + 1 - newState;
    state = newState;
    out.add(pat.subarray(0, pending));
    i++;
    if (u.length) {
      if (u.rest <= pending) {
        u.rest = 0;
        cp.state = state;
        inb.pos = base + i;
        return OK;
      }
      u.rest -= pending;
    }
  }
  if (run >= 0) out.add(b.subarray(run, base + i));
  inb.pos = base + i;
  cp.state = state;
  return AGAIN;
}
