/*
 * SharedDict: the storage behind `lua_shared_dict NAME SIZE` / ngx.shared.DICT, shared by all
 * worker_threads through one SharedArrayBuffer. Every operation takes the zone lock once and
 * holds it for a few hundred ns at most; get_keys / flush_all / flush_expired walk the hash
 * buckets in batches and release the lock between batches (see scan()).
 *
 * Results: each method returns a code saying which shape the Lua binding must return, and fills
 * the reusable record `dict.r` (one per SharedDict object, i.e. per thread), so nothing is
 * allocated per call:
 *   RC_OK    success; the op's values are in r (see each method)
 *   RC_FALSE Lua gets `false, r.err, r.forcible` (set/add/replace/safe_*), `false, r.err` (push)
 *   RC_NIL   Lua gets `nil, r.err`
 * Argument errors that raise a Lua error in OpenResty throw ShdictArgError with its message.
 * lua_shape.ts turns (method, rc, r) into the exact Lua return list; it is the reference mapping.
 *
 * Semantics follow lua-nginx-module's ngx_http_lua_shdict.c / lua-resty-core's shdict.lua, with
 * these deliberate differences (all within what OpenResty can already do, or strictly better):
 *  - set/add/replace/incr never fail with "no memory" unless the value needs more blocks than the
 *    whole zone; they evict expired, then least-recently-used entries (forcible = true only when a
 *    valid entry was evicted). safe_* fail only when free + expired space cannot hold the entry,
 *    and then leave the old value in place.
 *  - ttl() and expire() treat an expired key as "not found" (nginx finds it while its memory has
 *    not been reused yet, which user code cannot tell apart).
 *  - get_keys() order is hash order, not LRU order (see scan()).
 *  - get()/get_stale() do not sweep expired entries (nginx drops up to 2 from the LRU tail on
 *    every get, which can remove the very value a following get_stale() asks for).
 *  - lpush/rpush never evict valid entries (as nginx): they reclaim expired ones or say "no memory".
 */
import {
  BLOCK, ENTRY_DATA, H_FLAGS, H_SLOT, H_VLEN, MAGIC, M_LOCK, M_OWNER, M_BUMP, M_CAPACITY, M_COUNT,
  M_DATA, M_EVICTIONS, M_MAGIC, M_MASK, M_NBLOCKS, M_BUCKETS, T_BOOLEAN, T_LIST, T_NIL, T_NUMBER,
  T_STRING, entryBlocks, geometry,
} from './layout.js';
import { fnv1a } from './hash.js';
import { sizeError } from './size.js';
import { forceUnlock } from './lock.js';
import { RC_FALSE, RC_NIL, RC_OK, ShdictArgError, type ShdictKey, type ShdictValue } from './args.js';
import { ShdictLists } from './lists.js';

export { RC_OK, RC_FALSE, RC_NIL, ShdictArgError };
export type { ShdictKey, ShdictValue };

const OP_SET = 0;
const OP_ADD = 1;
const OP_REPLACE = 2;
const OP_SAFE = 4;

/** Buckets visited per lock hold by get_keys / flush_all / flush_expired. */
const SCAN_BATCH = 512;

/** A larger copy of `a` (first `keep` elements kept) holding at least `min` elements. */
function grow<T extends Uint8Array | Uint32Array>(a: T, min: number, keep: number): T {
  const b = new (a.constructor as new (n: number) => T)(Math.max(min, a.length * 2));
  b.set(a.subarray(0, keep));
  return b;
}

/** What crosses to a worker (postMessage / workerData) to re-attach the same zone. */
export interface SharedDictHandle {
  name: string;
  buffers: SharedArrayBuffer[];
}

export class SharedDict extends ShdictLists {
  private keyScratch: Uint8Array = new Uint8Array(4096);
  private lenScratch: Uint32Array = new Uint32Array(256);

  private constructor(readonly name: string, sab: SharedArrayBuffer) {
    super(sab);
    if (this.u32[M_MAGIC] !== MAGIC) throw new Error(`shared dict "${name}": not a zone`);
  }

  /** Creates a zone of exactly `capacityBytes` (meta, index and entries all live inside it). */
  static create(name: string, capacityBytes: number): SharedDict {
    const err = sizeError(capacityBytes, String(capacityBytes));
    if (err) throw new RangeError(err);
    const sab = new SharedArrayBuffer(capacityBytes);
    const u32 = new Uint32Array(sab, 0, 16);
    const g = geometry(capacityBytes);
    u32[M_NBLOCKS] = g.nblocks;
    u32[M_BUMP] = 1;
    u32[M_MASK] = g.nbuckets - 1;
    u32[M_BUCKETS] = g.buckets32;
    u32[M_DATA] = g.data32;
    u32[M_CAPACITY] = capacityBytes;
    u32[M_MAGIC] = MAGIC;
    return new SharedDict(name, sab);
  }

  static attach(handle: SharedDictHandle): SharedDict {
    return new SharedDict(handle.name, handle.buffers[0]!);
  }

  get handle(): SharedDictHandle {
    return { name: this.name, buffers: [this.sab] };
  }

  /**
   * Releases the zone lock if the worker thread `threadId` died holding it (call from the
   * thread that saw the worker exit). Returns whether it did.
   */
  static forceUnlock(handle: SharedDictHandle, threadId: number): boolean {
    const i32 = new Int32Array(handle.buffers[0]!, 0, 16);
    return forceUnlock(i32, M_LOCK, M_OWNER, threadId + 1);
  }

  // ---- get / get_stale ------------------------------------------------------------------------

  /**
   * ngx.shared.DICT:get(key, flags?). RC_OK: r.type (T_NIL = not found), r.num (number, or 0/1
   * for booleans), r.buf/r.len (string bytes, valid until the next op on this object), r.flags.
   * With `matchFlags` equal to the stored flags the value is not copied: r.type = T_NIL and
   * r.flagsEq = true. RC_NIL: "value is a list", key errors.
   */
  get(key: ShdictKey, matchFlags?: number): number {
    return this.fetch(key, false, matchFlags);
  }

  /** get_stale: like get, but returns expired values too, with r.stale = true. */
  getStale(key: ShdictKey, matchFlags?: number): number {
    return this.fetch(key, true, matchFlags);
  }

  private fetch(key: ShdictKey, stale: boolean, matchFlags: number | undefined): number {
    const r = this.reset();
    const klen = this.prepKey(key);
    if (klen < 0) return RC_NIL;
    const h = fnv1a(this.kb, klen);
    this.lock();
    try {
      // Unlike nginx, reads do not sweep expired entries off the LRU tail: writes do that and
      // reclaim expired space first, and a get() then cannot destroy the value get_stale() wants.
      const e = this.find(this.kb, klen, h);
      if (e === 0) return RC_OK;
      this.touch(e);
      const expired = this.isExpired(e);
      if (expired && !stale) return RC_OK;
      r.stale = expired;
      return this.readEntry(e, matchFlags);
    } finally {
      this.unlock();
    }
  }

  private readEntry(e: number, matchFlags: number | undefined): number {
    const r = this.r;
    const type = this.typeOf(e);
    if (type === T_LIST) {
      r.err = 'value is a list';
      return RC_NIL;
    }
    const w = this.w(e);
    r.flags = this.u32[w + H_FLAGS]!;
    if (matchFlags !== undefined && r.flags === matchFlags >>> 0) {
      r.flagsEq = true;
      return RC_OK;
    }
    r.type = type;
    if (type === T_NUMBER) {
      r.num = this.f64[this.slot(e)]!;
    } else if (type === T_BOOLEAN) {
      r.num = this.u32[w + H_SLOT]!;
    } else {
      const len = this.u32[w + H_VLEN]!;
      r.ensure(len);
      this.seekValue(e);
      this.readBytes(r.buf, len);
      r.len = len;
    }
    return RC_OK;
  }

  // ---- set family -----------------------------------------------------------------------------

  /** set(key, value, exptime?, flags?): RC_OK (r.forcible) or RC_FALSE/RC_NIL with r.err. */
  set(key: ShdictKey, value: ShdictValue, exptime = 0, flags = 0): number {
    return this.store(OP_SET, key, value, exptime, flags);
  }

  safeSet(key: ShdictKey, value: ShdictValue, exptime = 0, flags = 0): number {
    return this.store(OP_SET | OP_SAFE, key, value, exptime, flags);
  }

  add(key: ShdictKey, value: ShdictValue, exptime = 0, flags = 0): number {
    return this.store(OP_ADD, key, value, exptime, flags);
  }

  safeAdd(key: ShdictKey, value: ShdictValue, exptime = 0, flags = 0): number {
    return this.store(OP_ADD | OP_SAFE, key, value, exptime, flags);
  }

  replace(key: ShdictKey, value: ShdictValue, exptime = 0, flags = 0): number {
    return this.store(OP_REPLACE, key, value, exptime, flags);
  }

  /** delete(key) is set(key, nil), as in resty.core. */
  delete(key: ShdictKey): number {
    return this.store(OP_SET, key, null, 0, 0);
  }

  private store(op: number, key: ShdictKey, value: ShdictValue, exptime: number, flags: number): number {
    const r = this.reset();
    if (!(exptime >= 0)) throw new ShdictArgError('bad "exptime" argument');
    const klen = this.prepKey(key);
    if (klen < 0) return RC_NIL;
    const type = this.prepValue(value);
    if (type < 0) {
      r.err = 'bad value type';
      return RC_NIL;
    }
    if (type === T_NIL && (op & (OP_ADD | OP_REPLACE)) !== 0) {
      r.err = 'attempt to add or replace nil values';
      return RC_FALSE;
    }
    const ms = Math.trunc(exptime * 1000);
    const h = fnv1a(this.kb, klen);
    this.lock();
    try {
      return this.storeLocked(op, klen, h, type, ms, flags | 0); // int32: no boxing; stored as uint32
    } finally {
      this.unlock();
    }
  }

  private storeLocked(op: number, klen: number, h: number, type: number, ms: number, flags: number): number {
    const r = this.r;
    this.expireTail();
    const e = this.find(this.kb, klen, h);
    let valid = false;
    if (e !== 0) {
      this.touch(e);
      valid = !this.isExpired(e);
    }
    if ((op & OP_REPLACE) !== 0 && !valid) {
      r.err = 'not found';
      return RC_FALSE;
    }
    if ((op & OP_ADD) !== 0 && valid) {
      r.err = 'exists';
      return RC_FALSE;
    }
    if (type === T_NIL) {
      if (e !== 0) this.removeEntry(e);
      return RC_OK;
    }
    const exp = ms > 0 ? this.now() + ms : 0;
    const vlen = this.vlen;
    const need = entryBlocks(type, klen, vlen);
    if (e !== 0 && this.reuse(e, need, type, klen, vlen, flags, exp)) return RC_OK;
    if (need > this.u32[M_NBLOCKS]!) {
      r.err = 'no memory';
      return RC_FALSE;
    }
    if ((op & OP_SAFE) !== 0) {
      const spare = e !== 0 ? this.totalBlocks(e) : 0;
      if (this.freeBlocks() + spare < need && !this.makeRoom(need - spare, false, e)) {
        r.err = 'no memory';
        return RC_FALSE;
      }
    }
    if (e !== 0) this.removeEntry(e);
    r.forcible = this.room(need);
    const ne = this.newEntry(need, h);
    this.fill(ne, type, klen, vlen, flags, exp, true);
    return RC_OK;
  }

  /** Makes `need` blocks free, evicting if it must (need <= nblocks). Returns forcible. */
  private room(need: number): boolean {
    this.evictedValid = false;
    this.makeRoom(need, true, 0);
    return this.evictedValid;
  }

  /** Rewrites entry `e` in place when its chain is long enough (the common overwrite). */
  private reuse(e: number, need: number, type: number, klen: number, vlen: number, flags: number, exp: number): boolean {
    const old = this.typeOf(e);
    if (old === T_LIST) return false;
    const have = entryBlocks(old, klen, this.u32[this.w(e) + H_VLEN]!);
    if (need > have) return false;
    if (need < have) this.trimChain(e, need);
    // The key bytes stay valid when the layout (string: key first; others: slot first) is the same.
    this.fill(e, type, klen, vlen, flags, exp, (old === T_STRING) !== (type === T_STRING));
    return true;
  }

  private fill(e: number, type: number, klen: number, vlen: number, flags: number, exp: number, withKey: boolean): void {
    this.setHeader(e, type, klen, vlen, flags, exp);
    if (type === T_STRING) {
      this.cb = e;
      this.cp = ENTRY_DATA;
      if (withKey) this.writeBytes(this.kb, 0, klen); else this.skip(klen);
      this.writeBytes(this.vb, 0, vlen);
      return;
    }
    if (type === T_NUMBER) {
      this.f64[this.slot(e)] = this.vnum;
    } else {
      this.u32[this.w(e) + H_SLOT] = this.vnum;
      this.u32[this.w(e) + H_SLOT + 1] = 0;
    }
    if (withKey) this.writeKeyAfterSlot(e, klen);
  }

  // ---- incr -----------------------------------------------------------------------------------

  /**
   * incr(key, value, init?, initTtl?): RC_OK with the new value in r.num and r.forcible (only
   * meaningful with init); RC_NIL with "not found", "not a number" or "no memory".
   */
  incr(key: ShdictKey, value: number, init?: number, initTtl?: number): number {
    const r = this.reset();
    if (initTtl !== undefined) {
      if (!(initTtl >= 0)) throw new ShdictArgError('bad "init_ttl" argument');
      if (init === undefined) throw new ShdictArgError('must provide "init" when providing "init_ttl"');
    }
    const klen = this.prepKey(key);
    if (klen < 0) return RC_NIL;
    const h = fnv1a(this.kb, klen);
    this.lock();
    try {
      this.expireTail();
      const e = this.find(this.kb, klen, h);
      if (e !== 0) {
        this.touch(e);
        if (!this.isExpired(e)) {
          if (this.typeOf(e) !== T_NUMBER) {
            r.err = 'not a number';
            return RC_NIL;
          }
          const s = this.slot(e);
          r.num = this.f64[s] = this.f64[s]! + value;
          r.type = T_NUMBER;
          return RC_OK;
        }
      }
      if (init === undefined) {
        r.err = 'not found';
        return RC_NIL;
      }
      return this.incrInsert(e, klen, h, value + init, initTtl === undefined ? 0 : Math.trunc(initTtl * 1000));
    } finally {
      this.unlock();
    }
  }

  /** incr with init on a missing or expired key `e` (0 when missing). */
  private incrInsert(e: number, klen: number, h: number, num: number, ms: number): number {
    const r = this.r;
    const exp = ms > 0 ? this.now() + ms : 0;
    r.num = num;
    r.type = T_NUMBER;
    this.vnum = num;
    if (e !== 0 && this.typeOf(e) === T_NUMBER) {
      this.setHeader(e, T_NUMBER, klen, 8, 0, exp);
      this.f64[this.slot(e)] = num;
      return RC_OK;
    }
    const need = entryBlocks(T_NUMBER, klen, 8);
    if (need > this.u32[M_NBLOCKS]!) {
      r.err = 'no memory';
      return RC_NIL;
    }
    if (e !== 0) this.removeEntry(e);
    r.forcible = this.room(need);
    this.fill(this.newEntry(need, h), T_NUMBER, klen, 8, 0, exp, true);
    return RC_OK;
  }

  // ---- ttl / expire ---------------------------------------------------------------------------

  /** ttl(key): RC_OK with remaining seconds in r.num (0 = never expires); RC_NIL "not found". */
  ttl(key: ShdictKey): number {
    const r = this.reset();
    const klen = this.prepKey(key);
    if (klen < 0) return RC_NIL;
    const h = fnv1a(this.kb, klen);
    this.lock();
    try {
      const e = this.find(this.kb, klen, h);
      if (e === 0 || this.isExpired(e)) {
        r.err = 'not found';
        return RC_NIL;
      }
      const x = this.expiresOf(e);
      r.num = x === 0 ? 0 : (x - this.now()) / 1000;
      r.type = T_NUMBER;
      return RC_OK;
    } finally {
      this.unlock();
    }
  }

  /** expire(key, exptime): RC_OK (Lua: true); RC_NIL "not found". exptime 0 = never expires. */
  expire(key: ShdictKey, exptime: number): number {
    const r = this.reset();
    if (typeof exptime !== 'number' || exptime !== exptime) throw new ShdictArgError('bad "exptime" argument');
    const klen = this.prepKey(key);
    if (klen < 0) return RC_NIL;
    const ms = Math.trunc(exptime * 1000);
    const h = fnv1a(this.kb, klen);
    this.lock();
    try {
      const e = this.find(this.kb, klen, h);
      if (e === 0 || this.isExpired(e)) {
        r.err = 'not found';
        return RC_NIL;
      }
      this.setExpires(e, ms > 0 ? this.now() + ms : 0);
      return RC_OK;
    } finally {
      this.unlock();
    }
  }

  // ---- whole-zone operations ------------------------------------------------------------------

  /**
   * Calls fn(e) on every entry, bucket by bucket, SCAN_BATCH buckets per lock hold, until fn
   * returns false. Consistency: buckets never move (the index is not resized), so an entry that
   * exists and is unchanged during the whole scan is visited exactly once; entries added,
   * removed or re-set while the scan runs may or may not be visited. No entry is visited twice.
   */
  private scan(fn: (e: number) => boolean): void {
    const nb = this.mask + 1;
    for (let from = 0; from < nb; from += SCAN_BATCH) {
      this.lock();
      try {
        if (!this.scanBuckets(from, Math.min(nb, from + SCAN_BATCH), fn)) return;
      } finally {
        this.unlock();
      }
    }
  }

  /** flush_all(): marks every entry expired (get_stale still sees them until reused). */
  flushAll(): void {
    this.scan((e) => {
      this.setExpires(e, 1);
      return true;
    });
  }

  /** flush_expired(max?): frees expired entries (at most `max` when max > 0); returns the count. */
  flushExpired(max = 0): number {
    let freed = 0;
    this.scan((e) => {
      if (!this.isExpired(e)) return true;
      this.removeEntry(e);
      freed++;
      return max <= 0 || freed < max;
    });
    return freed;
  }

  /**
   * get_keys(max = 1024; 0 = all): copies of the keys of unexpired entries. Key bytes are gathered
   * into a scratch buffer under the lock and turned into arrays after each batch, so the lock is
   * never held across an allocation (and so across a GC) except when the scratch must grow.
   */
  getKeys(max = 1024): Uint8Array[] {
    const keys: Uint8Array[] = [];
    let buf = this.keyScratch;
    let lens = this.lenScratch;
    let n = 0;
    let used = 0;
    const collect = (e: number): boolean => {
      if (this.isExpired(e)) return true;
      const len = this.keyLenOf(e);
      if (used + len > buf.length) buf = this.keyScratch = grow(buf, used + len, used);
      if (n === lens.length) lens = this.lenScratch = grow(lens, n + 1, n);
      this.seekKey(e);
      this.readBytes(buf, len, used);
      lens[n++] = len;
      used += len;
      return max <= 0 || keys.length + n < max;
    };
    const nb = this.mask + 1;
    let more = true;
    for (let from = 0; from < nb && more; from += SCAN_BATCH) {
      n = used = 0;
      this.lock();
      try {
        more = this.scanBuckets(from, Math.min(nb, from + SCAN_BATCH), collect);
      } finally {
        this.unlock();
      }
      for (let i = 0, at = 0; i < n; at += lens[i++]!) keys.push(buf.slice(at, at + lens[i]!));
    }
    return keys;
  }

  /** capacity(): the zone size in bytes, as configured. */
  capacity(): number {
    return this.u32[M_CAPACITY]!;
  }

  /** free_space(): bytes in free blocks (every one usable by any entry). */
  freeSpace(): number {
    this.lock();
    try {
      return this.freeBlocks() * BLOCK;
    } finally {
      this.unlock();
    }
  }

  /** Checks the zone's internal invariants (for tests): null when sound, else what is broken. */
  verify(): string | null {
    this.lock();
    try {
      return this.verifyLocked();
    } finally {
      this.unlock();
    }
  }

  /** Entry count, free bytes and forced evictions so far (for ngx.shared.DICT introspection). */
  stats(): { entries: number; freeBytes: number; evictions: number } {
    this.lock();
    try {
      return { entries: this.u32[M_COUNT]!, freeBytes: this.freeBlocks() * BLOCK, evictions: this.u32[M_EVICTIONS]! };
    } finally {
      this.unlock();
    }
  }
}

