// ngx.re subjects: Lua byte strings as JS strings, latin1 in byte mode or decoded UTF-8 (checked like
// PCRE, or with invalid bytes escaped as U+DC80..U+DCFF) with char <-> byte offset maps.

const latin1Slice = (Buffer.prototype as any).latin1Slice as (this: Uint8Array, s: number, e: number) => string;
export function latin1(b: Uint8Array): string {
  return b.length === 0 ? '' : latin1Slice.call(b, 0, b.length);
}

export const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

/** Offset of the first invalid UTF-8 sequence, or -1 (PCRE's rules: no overlongs, surrogates, > 10FFFF). */
export function invalidUtf8At(b: Uint8Array): number {
  const n = b.length;
  for (let i = 0; i < n; ) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const len = seqLen(b, i, n);
    if (len === 0) return i;
    i += len;
  }
  return -1;
}

/** Length of the valid UTF-8 sequence at i (non-ASCII lead), or 0 when invalid. */
function seqLen(b: Uint8Array, i: number, n: number): number {
  const c = b[i];
  if (c >= 0xc2 && c <= 0xdf) return i + 1 < n && (b[i + 1] & 0xc0) === 0x80 ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (i + 2 >= n || (b[i + 1] & 0xc0) !== 0x80 || (b[i + 2] & 0xc0) !== 0x80) return 0;
    if (c === 0xe0 && b[i + 1] < 0xa0) return 0; // overlong
    if (c === 0xed && b[i + 1] >= 0xa0) return 0; // surrogate
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (i + 3 >= n || (b[i + 1] & 0xc0) !== 0x80 || (b[i + 2] & 0xc0) !== 0x80 || (b[i + 3] & 0xc0) !== 0x80) return 0;
    if (c === 0xf0 && b[i + 1] < 0x90) return 0;
    if (c === 0xf4 && b[i + 1] >= 0x90) return 0;
    return 4;
  }
  return 0;
}

export class Subject {
  latin1: string | null = null;
  /** UTF-8 view: decoded text, or null before first use */
  text: string | null = null;
  /** invalid UTF-8 (only checked in UTF mode) */
  invalid = false;
  /** the decoding escaped invalid bytes as U+DC80..U+DCFF */
  escaped = false;
  /** char index -> byte offset, null when the subject is ASCII (identity) */
  c2b: Int32Array | null = null;
  /** byte offset -> char index (-1 inside a character), null when ASCII */
  b2c: Int32Array | null = null;
  constructor(readonly bytes: Uint8Array) {}

  str(): string {
    return this.latin1 ?? (this.latin1 = latin1(this.bytes));
  }

  /** Decode for UTF-8 mode. `check`: like PCRE without NO_UTF8_CHECK (sets `invalid`). */
  utf(check: boolean): string {
    if (this.text !== null && (!check || !this.escaped)) return this.text;
    const b = this.bytes;
    let s: string;
    try {
      s = utf8Fatal.decode(b);
    } catch {
      this.invalid = true;
      if (check) return '';
      this.decodeEscaped();
      return this.text!;
    }
    this.text = s;
    if (s.length !== b.length) this.buildMaps(s.length);
    return s;
  }

  private buildMaps(nchars: number): void {
    const b = this.bytes;
    const n = b.length;
    const c2b = new Int32Array(nchars + 1);
    const b2c = new Int32Array(n + 1).fill(-1);
    let ci = 0;
    for (let i = 0; i < n; ) {
      const c = b[i];
      const len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
      b2c[i] = ci;
      c2b[ci++] = i;
      if (len === 4) c2b[ci++] = i;
      i += len;
    }
    c2b[ci] = n;
    b2c[n] = ci;
    this.c2b = c2b;
    this.b2c = b2c;
  }

  /** Lossless decoding of invalid UTF-8: each bad byte becomes U+DC00 + byte. */
  private decodeEscaped(): void {
    const b = this.bytes;
    const n = b.length;
    const parts: string[] = [];
    const c2b: number[] = [];
    const b2c = new Int32Array(n + 1).fill(-1);
    let ci = 0;
    let run = '';
    for (let i = 0; i < n; ) {
      const c = b[i];
      b2c[i] = ci;
      if (c < 0x80) {
        run += String.fromCharCode(c);
        c2b.push(i);
        ci++;
        i++;
        continue;
      }
      const len = seqLen(b, i, n);
      if (len === 0) {
        run += String.fromCharCode(0xdc00 + c);
        c2b.push(i);
        ci++;
        i++;
        continue;
      }
      let cp = len === 2 ? c & 0x1f : len === 3 ? c & 0x0f : c & 0x07;
      for (let k = 1; k < len; k++) cp = (cp << 6) | (b[i + k] & 0x3f);
      const ch = String.fromCodePoint(cp);
      run += ch;
      c2b.push(i);
      if (ch.length === 2) c2b.push(i);
      ci += ch.length;
      i += len;
      if (run.length > 4096) {
        parts.push(run);
        run = '';
      }
    }
    parts.push(run);
    c2b.push(n);
    b2c[n] = ci;
    this.text = parts.join('');
    this.c2b = Int32Array.from(c2b);
    this.b2c = b2c;
    this.escaped = true;
  }
}

let lastSubject: Subject | null = null;
export function subjectOf(b: Uint8Array): Subject {
  const s = lastSubject;
  if (s !== null && s.bytes === b) return s;
  return (lastSubject = new Subject(b));
}
