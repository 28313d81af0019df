import { T_BOOLEAN, T_NIL, T_NUMBER } from './layout.js';

/** Values up to this size are copied into a buffer kept for the next calls; larger ones get their own. */
const KEEP_BYTES = 64 * 1024;

/**
 * The reusable result record of a SharedDict (one per thread's SharedDict object). Every op resets
 * the fields it reports; see SharedDict's method comments for which ones.
 */
export class ShdictResult {
  /** Error message with lua-nginx-module's wording, or null. */
  err: string | null = null;
  /** A valid entry was evicted to make room (set family, incr with init). */
  forcible = false;
  /** Type of the returned value: T_NIL, T_BOOLEAN, T_NUMBER, T_STRING. */
  type = T_NIL;
  /** Number value; boolean as 0/1; list length; ttl in seconds. */
  num = 0;
  /** String value bytes are buf[0..len): valid until the next op on the same SharedDict object. */
  buf: Uint8Array;
  len = 0;
  /** User flags of the returned entry (uint32). */
  flags = 0;
  /** get_stale: the value had expired. */
  stale = false;
  /** get(key, flags): the stored flags equal the given ones, so the value was not copied. */
  flagsEq = false;
  private small: Uint8Array;

  constructor() {
    this.small = this.buf = new Uint8Array(256);
  }

  /** Makes buf hold at least n bytes (a one-off buffer for values over KEEP_BYTES). */
  ensure(n: number): void {
    if (n <= this.small.length) {
      this.buf = this.small;
    } else if (n <= KEEP_BYTES) {
      this.small = new Uint8Array(Math.min(KEEP_BYTES, Math.max(n, this.small.length * 2)));
      this.buf = this.small;
    } else {
      this.buf = new Uint8Array(n);
    }
  }

  /** The string bytes as a view (no copy). */
  get str(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** The returned value as a JS value: null, boolean, number, or a copy of the string bytes. */
  value(): null | boolean | number | Uint8Array {
    switch (this.type) {
      case T_NUMBER:
        return this.num;
      case T_BOOLEAN:
        return this.num !== 0;
      case T_NIL:
        return null;
      default:
        return this.buf.slice(0, this.len);
    }
  }
}
