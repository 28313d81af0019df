/*
 * Argument preparation and the result record shared by the SharedDict layers: keys and values
 * become bytes without allocating (ASCII JS strings are copied into per-object scratch buffers,
 * Uint8Arrays are used as they are), and every op reports through the reusable record `r`.
 */
import { ENTRY_DATA, MAX_KEY_LEN, T_BOOLEAN, T_NIL, T_NUMBER, T_STRING } from './layout.js';
import { ShdictStore } from './store.js';
import { ShdictResult } from './result.js';

/** Lua shape of a result; see dict.ts. */
export const RC_OK = 0;
export const RC_FALSE = 1;
export const RC_NIL = 2;

export type ShdictKey = Uint8Array | string;
export type ShdictValue = null | undefined | boolean | number | string | Uint8Array;

/** An argument error that OpenResty raises as a Lua error (luaL_error / error()). */
export class ShdictArgError extends Error {}

const utf8 = new TextEncoder();

export class ShdictArgs extends ShdictStore {
  /** The reusable result record of this thread's view of the zone. */
  readonly r = new ShdictResult();
  protected kbuf = new Uint8Array(256);
  protected vbuf = new Uint8Array(256);
  /** Key bytes of the current op (kbuf or the caller's array) and the value being stored. */
  protected kb: Uint8Array = this.kbuf;
  protected vb: Uint8Array = this.vbuf;
  protected vlen = 0;
  protected vnum = 0;

  // ---- argument preparation (no allocation for ASCII string keys) -----------------------------

  /** Encodes a JS string into the key or value scratch buffer (kb / vb); returns its length. */
  protected encode(s: string, value: boolean): number {
    let buf = value ? this.vbuf : this.kbuf;
    const n = s.length;
    if (buf.length < n * 3) {
      buf = new Uint8Array(Math.max(n * 3, buf.length * 2));
      if (value) this.vbuf = buf; else this.kbuf = buf;
    }
    if (value) this.vb = buf; else this.kb = buf;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return utf8.encodeInto(s, buf).written;
      buf[i] = c;
    }
    return n;
  }

  /** Sets this.kb and returns the key length, or -1 with r.err set. */
  protected prepKey(key: ShdictKey | null | undefined): number {
    let klen: number;
    if (typeof key === 'string') {
      klen = this.encode(key, false);
    } else if (key instanceof Uint8Array) {
      this.kb = key;
      klen = key.length;
    } else if (key === null || key === undefined) {
      this.r.err = 'nil key';
      return -1;
    } else {
      return this.prepKey(String(key));
    }
    if (klen === 0) {
      this.r.err = 'empty key';
      return -1;
    }
    if (klen > MAX_KEY_LEN) {
      this.r.err = 'key too long';
      return -1;
    }
    return klen;
  }

  /** Classifies a value to store; sets vb/vlen/vnum. Returns its type, or -1 for a bad type. */
  protected prepValue(value: ShdictValue): number {
    switch (typeof value) {
      case 'number':
        this.vnum = value;
        this.vlen = 8;
        return T_NUMBER;
      case 'string':
        this.vlen = this.encode(value, true);
        return T_STRING;
      case 'boolean':
        this.vnum = value ? 1 : 0;
        this.vlen = 1;
        return T_BOOLEAN;
      case 'undefined':
        return T_NIL;
      default:
        if (value === null) return T_NIL;
        if (value instanceof Uint8Array) {
          this.vb = value;
          this.vlen = value.length;
          return T_STRING;
        }
        return -1;
    }
  }

  protected reset(): ShdictResult {
    const r = this.r;
    r.err = null;
    r.forcible = false;
    r.type = T_NIL;
    r.stale = false;
    r.flagsEq = false;
    r.flags = 0;
    return r;
  }

  protected writeKeyAfterSlot(e: number, klen: number): void {
    this.cb = e;
    this.cp = ENTRY_DATA + 8;
    this.writeBytes(this.kb, 0, klen);
  }
}
