/*
 * The memory engine under SharedDict: views over the zone, the lock, the hash index, the LRU
 * list, block allocation and byte streams along block chains. Layout: see layout.ts.
 * Everything here except lock()/unlock() must be called with the lock held.
 */
import { threadId } from 'node:worker_threads';
import {
  BLOCK_WORDS, CONT_DATA, ENTRY_DATA, H_EXPIRES, H_FLAGS, H_HASH, H_HNEXT, H_KEYTYPE, H_LNEXT,
  H_NEXT, H_PREV, H_SLOT, H_VLEN, M_BUCKETS, M_BUMP, M_COUNT, M_DATA, M_EVICTIONS, M_FREE_COUNT,
  M_FREE_HEAD, M_LOCK, M_LRU_HEAD, M_LRU_TAIL, M_MASK, M_NBLOCKS, M_OWNER, N_NEXT, N_VLEN, T_LIST,
  T_STRING,
  entryBlocks, nodeBlocks, BLOCK,
} from './layout.js';
import { lockSlow, unlockSlow } from './lock.js';

/** How many entries from the LRU tail an eviction looks at for an expired one first. */
const EXPIRED_WINDOW = 8;

export class ShdictStore {
  protected readonly u8: Uint8Array;
  protected readonly u32: Uint32Array;
  protected readonly i32: Int32Array;
  protected readonly f64: Float64Array;
  /** u32 index of block 0 and of bucket 0; mask of the bucket array. */
  protected readonly d32: number;
  protected readonly b32: number;
  protected readonly mask: number;
  protected readonly owner = threadId + 1;
  /** Wall clock in ms; replace it to inject time in tests. Read at most once per operation. */
  clock: () => number = Date.now;
  /** Time of the current operation, -1 until first needed (see now()). */
  protected t = -1;
  /** Stream cursor: current block and byte offset inside it. */
  protected cb = 0;
  protected cp = 0;
  /** Set by makeRoom() when a valid (unexpired) entry was evicted. */
  protected evictedValid = false;

  protected constructor(readonly sab: SharedArrayBuffer) {
    const len = sab.byteLength;
    this.u8 = new Uint8Array(sab);
    this.u32 = new Uint32Array(sab, 0, len >>> 2);
    this.i32 = new Int32Array(sab, 0, len >>> 2);
    this.f64 = new Float64Array(sab, 0, Math.floor(len / 8));
    this.d32 = this.u32[M_DATA]!;
    this.b32 = this.u32[M_BUCKETS]!;
    this.mask = this.u32[M_MASK]!;
  }

  // ---- lock ----------------------------------------------------------------------------------

  protected lock(): void {
    if (Atomics.compareExchange(this.i32, M_LOCK, 0, 1) !== 0) lockSlow(this.i32, M_LOCK);
    this.i32[M_OWNER] = this.owner;
    this.t = -1;
  }

  protected unlock(): void {
    this.i32[M_OWNER] = 0;
    if (Atomics.sub(this.i32, M_LOCK, 1) !== 1) unlockSlow(this.i32, M_LOCK);
  }

  protected now(): number {
    if (this.t < 0) this.t = this.clock();
    return this.t;
  }

  // ---- block addressing -----------------------------------------------------------------------

  /** u32 index of block `b`. */
  protected w(b: number): number {
    return this.d32 + b * BLOCK_WORDS;
  }

  protected expiresOf(e: number): number {
    return this.f64[(this.w(e) + H_EXPIRES) / 2]!;
  }

  protected setExpires(e: number, ms: number): void {
    this.f64[(this.w(e) + H_EXPIRES) / 2] = ms;
  }

  protected isExpired(e: number): boolean {
    const x = this.expiresOf(e);
    return x !== 0 && x <= this.now();
  }

  protected typeOf(e: number): number {
    return this.u32[this.w(e) + H_KEYTYPE]! >>> 16;
  }

  protected keyLenOf(e: number): number {
    return this.u32[this.w(e) + H_KEYTYPE]! & 0xffff;
  }

  /** f64 index of an entry's 8-byte slot. */
  protected slot(e: number): number {
    return (this.w(e) + H_SLOT) / 2;
  }

  // ---- free space -----------------------------------------------------------------------------

  protected freeBlocks(): number {
    const u = this.u32;
    return u[M_FREE_COUNT]! + u[M_NBLOCKS]! + 1 - u[M_BUMP]!;
  }

  /** Takes `n` >= 1 blocks, linked through word 0, last one ending the chain. Caller checked room. */
  protected alloc(n: number): number {
    const u = this.u32;
    let first = 0;
    let last = 0;
    while (n > 0 && u[M_FREE_COUNT]! > 0) {
      const b = u[M_FREE_HEAD]!;
      u[M_FREE_HEAD] = u[this.w(b) + H_NEXT]!;
      u[M_FREE_COUNT]!--;
      if (last === 0) first = b; else u[this.w(last) + H_NEXT] = b;
      last = b;
      n--;
    }
    while (n > 0) {
      const b = u[M_BUMP]!;
      u[M_BUMP] = b + 1;
      if (last === 0) first = b; else u[this.w(last) + H_NEXT] = b;
      last = b;
      n--;
    }
    u[this.w(last) + H_NEXT] = 0;
    return first;
  }

  /** Returns a whole chain to the free list. */
  protected freeChain(first: number): void {
    const u = this.u32;
    let last = first;
    let n = 1;
    for (let b = u[this.w(first) + H_NEXT]!; b !== 0; b = u[this.w(b) + H_NEXT]!) {
      last = b;
      n++;
    }
    u[this.w(last) + H_NEXT] = u[M_FREE_HEAD]!;
    u[M_FREE_HEAD] = first;
    u[M_FREE_COUNT] = u[M_FREE_COUNT]! + n;
  }

  /** Keeps the first `n` blocks of a chain and frees the rest. */
  protected trimChain(first: number, n: number): void {
    const u = this.u32;
    let b = first;
    for (let i = 1; i < n; i++) b = u[this.w(b) + H_NEXT]!;
    const rest = u[this.w(b) + H_NEXT]!;
    if (rest !== 0) {
      u[this.w(b) + H_NEXT] = 0;
      this.freeChain(rest);
    }
  }

  // ---- hash index -----------------------------------------------------------------------------

  /** Finds the entry for `key[0..klen)` with (int32) hash `h`; 0 when absent. Does not touch the LRU. */
  protected find(key: Uint8Array, klen: number, h: number): number {
    const u = this.u32;
    let e = u[this.b32 + (h & this.mask)]!;
    while (e !== 0) {
      const w = this.w(e);
      if (this.i32[w + H_HASH] === h && (u[w + H_KEYTYPE]! & 0xffff) === klen && this.keyEq(e, key, klen)) {
        return e;
      }
      e = u[w + H_HNEXT]!;
    }
    return 0;
  }

  private keyEq(e: number, key: Uint8Array, klen: number): boolean {
    const u8 = this.u8;
    const w = this.w(e);
    let p = w * 4 + ENTRY_DATA + (this.u32[w + H_KEYTYPE]! >>> 16 === T_STRING ? 0 : 8);
    if (p + klen <= w * 4 + BLOCK) {
      // Fast path: the whole key is in the first block.
      for (let i = 0; i < klen; i++) if (u8[p + i] !== key[i]) return false;
      return true;
    }
    let b = e;
    let end = w * 4 + BLOCK;
    for (let i = 0; i < klen; i++) {
      if (p === end) {
        b = this.u32[this.w(b) + H_NEXT]!;
        p = this.w(b) * 4 + CONT_DATA;
        end = p - CONT_DATA + BLOCK;
      }
      if (u8[p++] !== key[i]) return false;
    }
    return true;
  }

  protected hashInsert(e: number, h: number): void {
    const bi = this.b32 + (h & this.mask);
    this.u32[this.w(e) + H_HASH] = h;
    this.u32[this.w(e) + H_HNEXT] = this.u32[bi]!;
    this.u32[bi] = e;
  }

  private hashUnlink(e: number): void {
    const u = this.u32;
    const next = u[this.w(e) + H_HNEXT]!;
    let at = this.b32 + (u[this.w(e) + H_HASH]! & this.mask);
    while (u[at] !== e) at = this.w(u[at]!) + H_HNEXT;
    u[at] = next;
  }

  // ---- LRU ------------------------------------------------------------------------------------

  protected lruPush(e: number): void {
    const u = this.u32;
    const head = u[M_LRU_HEAD]!;
    u[this.w(e) + H_PREV] = 0;
    u[this.w(e) + H_LNEXT] = head;
    if (head !== 0) u[this.w(head) + H_PREV] = e; else u[M_LRU_TAIL] = e;
    u[M_LRU_HEAD] = e;
  }

  private lruUnlink(e: number): void {
    const u = this.u32;
    const prev = u[this.w(e) + H_PREV]!;
    const next = u[this.w(e) + H_LNEXT]!;
    if (prev !== 0) u[this.w(prev) + H_LNEXT] = next; else u[M_LRU_HEAD] = next;
    if (next !== 0) u[this.w(next) + H_PREV] = prev; else u[M_LRU_TAIL] = prev;
  }

  /** Marks `e` most recently used. */
  protected touch(e: number): void {
    if (this.u32[M_LRU_HEAD] === e) return;
    this.lruUnlink(e);
    this.lruPush(e);
  }

  // ---- entries --------------------------------------------------------------------------------

  /** Unlinks an entry from index and LRU and frees its blocks (and its list nodes). */
  protected removeEntry(e: number): void {
    const u = this.u32;
    this.hashUnlink(e);
    this.lruUnlink(e);
    if (this.typeOf(e) === T_LIST) this.freeListNodes(e);
    this.freeChain(e);
    u[M_COUNT]!--;
  }

  protected freeListNodes(e: number): void {
    const u = this.u32;
    let n = u[this.w(e) + H_SLOT]!;
    while (n !== 0) {
      const next = u[this.w(n) + N_NEXT]!;
      this.freeChain(n);
      n = next;
    }
    u[this.w(e) + H_SLOT] = 0;
    u[this.w(e) + H_SLOT + 1] = 0;
  }

  /** Blocks an entry holds in total, list nodes included. */
  protected totalBlocks(e: number): number {
    const u = this.u32;
    const w = this.w(e);
    const type = u[w + H_KEYTYPE]! >>> 16;
    let n = entryBlocks(type, u[w + H_KEYTYPE]! & 0xffff, u[w + H_VLEN]!);
    if (type === T_LIST) {
      for (let x = u[w + H_SLOT]!; x !== 0; x = u[this.w(x) + N_NEXT]!) {
        n += nodeBlocks(u[this.w(x) + N_VLEN]!);
      }
    }
    return n;
  }

  /** nginx's ngx_http_lua_shdict_expire(ctx, 1): drops up to 2 expired entries at the LRU tail. */
  protected expireTail(): void {
    for (let i = 0; i < 2; i++) {
      const tail = this.u32[M_LRU_TAIL]!;
      if (tail === 0 || !this.isExpired(tail)) return;
      this.removeEntry(tail);
    }
  }

  /**
   * Frees entries until `need` blocks are free. Expired entries go first: each round looks at up
   * to EXPIRED_WINDOW entries from the LRU tail for an expired one; when `force` is set and none
   * is expired the tail itself goes (evictedValid = true). `keep` is never evicted.
   * Returns whether `need` blocks are now free.
   */
  protected makeRoom(need: number, force: boolean, keep: number): boolean {
    const u = this.u32;
    while (this.freeBlocks() < need) {
      let victim = 0;
      let e = u[M_LRU_TAIL]!;
      for (let i = 0; i < EXPIRED_WINDOW && e !== 0; i++) {
        if (e !== keep && this.isExpired(e)) {
          victim = e;
          break;
        }
        e = u[this.w(e) + H_PREV]!;
      }
      if (victim === 0) {
        if (!force) return false;
        victim = u[M_LRU_TAIL]!;
        if (victim === keep) victim = u[this.w(victim) + H_PREV]!;
        if (victim === 0) return false;
        this.evictedValid = true;
        u[M_EVICTIONS]!++;
      }
      this.removeEntry(victim);
    }
    return true;
  }

  /** Creates an entry header (plus chain) for `need` blocks, indexed and most recently used. */
  protected newEntry(need: number, h: number): number {
    const e = this.alloc(need);
    this.hashInsert(e, h);
    this.lruPush(e);
    this.u32[M_COUNT]!++;
    return e;
  }

  protected setHeader(e: number, type: number, klen: number, vlen: number, flags: number, exp: number): void {
    const u = this.u32;
    const w = this.w(e);
    u[w + H_KEYTYPE] = (type << 16) | klen;
    u[w + H_VLEN] = vlen;
    u[w + H_FLAGS] = flags;
    this.f64[(w + H_EXPIRES) / 2] = exp;
  }

  // ---- byte streams ---------------------------------------------------------------------------

  /** Puts the cursor on the first key byte of entry `e`. */
  protected seekKey(e: number): void {
    this.cb = e;
    this.cp = ENTRY_DATA;
    if (this.typeOf(e) !== T_STRING) this.skip(8);
  }

  /** Puts the cursor on the first value byte of a string entry. */
  protected seekValue(e: number): void {
    this.cb = e;
    this.cp = ENTRY_DATA;
    this.skip(this.keyLenOf(e));
  }

  protected skip(n: number): void {
    while (n > 0) {
      let room = BLOCK - this.cp;
      if (room === 0) {
        this.cb = this.u32[this.w(this.cb) + H_NEXT]!;
        this.cp = CONT_DATA;
        room = BLOCK - CONT_DATA;
      }
      const k = n < room ? n : room;
      this.cp += k;
      n -= k;
    }
  }

  /** Copies `src[start..start+len)` to the cursor, advancing it. */
  protected writeBytes(src: Uint8Array, start: number, len: number): void {
    const u8 = this.u8;
    while (len > 0) {
      let room = BLOCK - this.cp;
      if (room === 0) {
        this.cb = this.u32[this.w(this.cb) + H_NEXT]!;
        this.cp = CONT_DATA;
        room = BLOCK - CONT_DATA;
      }
      const k = len < room ? len : room;
      const p = this.w(this.cb) * 4 + this.cp;
      // At most 60 bytes per block: a plain loop beats subarray() + set(), which allocate.
      for (let i = 0; i < k; i++) u8[p + i] = src[start + i]!;
      this.cp += k;
      start += k;
      len -= k;
    }
  }

  /** Copies `len` bytes from the cursor into `dst[at..at+len)`, advancing it. */
  protected readBytes(dst: Uint8Array, len: number, at = 0): void {
    const u8 = this.u8;
    while (len > 0) {
      let room = BLOCK - this.cp;
      if (room === 0) {
        this.cb = this.u32[this.w(this.cb) + H_NEXT]!;
        this.cp = CONT_DATA;
        room = BLOCK - CONT_DATA;
      }
      const k = len < room ? len : room;
      const p = this.w(this.cb) * 4 + this.cp;
      for (let i = 0; i < k; i++) dst[at + i] = u8[p + i]!;
      this.cp += k;
      at += k;
      len -= k;
    }
  }

  // ---- integrity check (tests) ----------------------------------------------------------------

  /** Walks index, LRU and free list; returns a description of the first broken invariant or null. */
  protected verifyLocked(): string | null {
    const u = this.u32;
    let used = 0;
    let inLru = 0;
    let prev = 0;
    for (let e = u[M_LRU_HEAD]!; e !== 0; e = u[this.w(e) + H_LNEXT]!) {
      if (u[this.w(e) + H_PREV] !== prev) return `lru prev of ${e}`;
      if (++inLru > u[M_COUNT]!) return 'lru longer than count';
      used += this.totalBlocks(e);
      prev = e;
    }
    if (u[M_LRU_TAIL] !== prev) return 'lru tail';
    if (inLru !== u[M_COUNT]) return `count ${u[M_COUNT]} but ${inLru} in lru`;
    let indexed = 0;
    this.scanBuckets(0, this.mask + 1, (e) => {
      indexed++;
      return true;
    });
    if (indexed !== inLru) return `${indexed} indexed but ${inLru} in lru`;
    let free = 0;
    for (let b = u[M_FREE_HEAD]!; b !== 0 && free <= u[M_NBLOCKS]!; b = u[this.w(b) + H_NEXT]!) free++;
    if (free !== u[M_FREE_COUNT]) return `free list has ${free}, count says ${u[M_FREE_COUNT]}`;
    if (used + this.freeBlocks() !== u[M_NBLOCKS]) return `used ${used} + free ${this.freeBlocks()} != ${u[M_NBLOCKS]}`;
    return null;
  }

  // ---- bucket iteration (get_keys, flush_all, flush_expired) -----------------------------------

  /**
   * Visits buckets [from, to) with the lock held, calling `fn(e)` for each entry (which may remove
   * `e`). Returns false as soon as fn does.
   */
  protected scanBuckets(from: number, to: number, fn: (e: number) => boolean): boolean {
    const u = this.u32;
    for (let bi = from; bi < to; bi++) {
      let e = u[this.b32 + bi]!;
      while (e !== 0) {
        const next = u[this.w(e) + H_HNEXT]!;
        if (!fn(e)) return false;
        e = next;
      }
    }
    return true;
  }
}
