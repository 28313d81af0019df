/*
 * Shared dict lists (lpush / rpush / lpop / rpop / llen), as in lua-nginx-module: a list entry keeps
 * its length in valueLen and its head/tail node indices in the entry slot; each item is its own
 * block chain (layout.ts). Pushes reclaim expired entries but never evict valid ones ("no memory").
 */
import {
  H_SLOT, H_VLEN, N_NEXT, N_PREV, N_TYPE, N_VLEN, NODE_DATA, T_LIST, T_NUMBER, T_STRING,
  entryBlocks, nodeBlocks,
} from './layout.js';
import { fnv1a } from './hash.js';
import { RC_FALSE, RC_NIL, RC_OK, ShdictArgs, type ShdictKey } from './args.js';

export class ShdictLists extends ShdictArgs {
  /** lpush(key, value): RC_OK with the new length in r.num; RC_NIL / RC_FALSE ("no memory"). */
  lpush(key: ShdictKey, value: number | string | Uint8Array): number {
    return this.push(key, value, true);
  }

  rpush(key: ShdictKey, value: number | string | Uint8Array): number {
    return this.push(key, value, false);
  }

  private push(key: ShdictKey, value: number | string | Uint8Array, left: boolean): number {
    const r = this.reset();
    const klen = this.prepKey(key);
    if (klen < 0) return RC_NIL;
    const type = this.prepValue(value);
    if (type !== T_NUMBER && type !== T_STRING) {
      r.err = 'bad value type';
      return RC_NIL;
    }
    const h = fnv1a(this.kb, klen);
    this.lock();
    try {
      this.expireTail();
      let e = this.find(this.kb, klen, h);
      if (e !== 0) {
        this.touch(e);
        if (!this.isExpired(e)) {
          if (this.typeOf(e) !== T_LIST) {
            r.err = 'value not a list';
            return RC_NIL;
          }
        } else if (this.typeOf(e) === T_LIST) {
          this.freeListNodes(e); // an expired list starts over empty
          this.u32[this.w(e) + H_VLEN] = 0;
          this.setExpires(e, 0);
        } else {
          this.removeEntry(e);
          e = 0;
        }
      }
      return this.pushLocked(e, klen, h, type, left);
    } finally {
      this.unlock();
    }
  }

  private pushLocked(e: number, klen: number, h: number, type: number, left: boolean): number {
    const r = this.r;
    const u = this.u32;
    const nb = nodeBlocks(this.vlen);
    const need = nb + (e === 0 ? entryBlocks(T_LIST, klen, 0) : 0);
    if (this.freeBlocks() < need && !this.makeRoom(need, false, e)) {
      if (e !== 0 && u[this.w(e) + H_VLEN] === 0) this.removeEntry(e);
      r.err = 'no memory';
      return RC_FALSE;
    }
    if (e === 0) {
      e = this.newEntry(need - nb, h);
      this.setHeader(e, T_LIST, klen, 0, 0, 0);
      u[this.w(e) + H_SLOT] = 0;
      u[this.w(e) + H_SLOT + 1] = 0;
      this.writeKeyAfterSlot(e, klen);
    }
    const n = this.alloc(nb);
    const nw = this.w(n);
    u[nw + N_VLEN] = this.vlen;
    u[nw + N_TYPE] = type;
    if (type === T_NUMBER) {
      this.f64[(nw + NODE_DATA / 4) / 2] = this.vnum;
    } else {
      this.cb = n;
      this.cp = NODE_DATA;
      this.writeBytes(this.vb, 0, this.vlen);
    }
    this.linkNode(e, n, left);
    r.num = ++u[this.w(e) + H_VLEN]!;
    return RC_OK;
  }

  /** List head is slot word 0, tail slot word 1. */
  private linkNode(e: number, n: number, left: boolean): void {
    const u = this.u32;
    const hw = this.w(e) + H_SLOT;
    const nw = this.w(n);
    if (left) {
      const head = u[hw]!;
      u[nw + N_PREV] = 0;
      u[nw + N_NEXT] = head;
      if (head !== 0) u[this.w(head) + N_PREV] = n; else u[hw + 1] = n;
      u[hw] = n;
    } else {
      const tail = u[hw + 1]!;
      u[nw + N_NEXT] = 0;
      u[nw + N_PREV] = tail;
      if (tail !== 0) u[this.w(tail) + N_NEXT] = n; else u[hw] = n;
      u[hw + 1] = n;
    }
  }

  /** lpop(key): RC_OK with r.type (T_NIL when missing) and the value as in get(). */
  lpop(key: ShdictKey): number {
    return this.pop(key, true);
  }

  rpop(key: ShdictKey): number {
    return this.pop(key, false);
  }

  private pop(key: ShdictKey, left: boolean): number {
    const r = this.reset();
    const klen = this.prepKey(key);
    if (klen < 0) return RC_NIL;
    const h = fnv1a(this.kb, klen);
    this.lock();
    try {
      const e = this.lookupList(klen, h);
      if (e <= 0) return e < 0 ? RC_NIL : RC_OK;
      const u = this.u32;
      const hw = this.w(e) + H_SLOT;
      const n = left ? u[hw]! : u[hw + 1]!;
      const nw = this.w(n);
      const len = u[nw + N_VLEN]!;
      r.type = u[nw + N_TYPE]!;
      if (r.type === T_NUMBER) {
        r.num = this.f64[(nw + NODE_DATA / 4) / 2]!;
      } else {
        r.ensure(len);
        this.cb = n;
        this.cp = NODE_DATA;
        this.readBytes(r.buf, len);
        r.len = len;
      }
      const prev = u[nw + N_PREV]!;
      const next = u[nw + N_NEXT]!;
      if (prev !== 0) u[this.w(prev) + N_NEXT] = next; else u[hw] = next;
      if (next !== 0) u[this.w(next) + N_PREV] = prev; else u[hw + 1] = prev;
      this.freeChain(n);
      if (--u[this.w(e) + H_VLEN]! === 0) this.removeEntry(e);
      return RC_OK;
    } finally {
      this.unlock();
    }
  }

  /** llen(key): RC_OK with the length in r.num (0 when missing); RC_NIL "value not a list". */
  llen(key: ShdictKey): number {
    const r = this.reset();
    const klen = this.prepKey(key);
    if (klen < 0) return RC_NIL;
    const h = fnv1a(this.kb, klen);
    this.lock();
    try {
      const e = this.lookupList(klen, h);
      if (e < 0) return RC_NIL;
      r.num = e === 0 ? 0 : this.u32[this.w(e) + H_VLEN]!;
      r.type = T_NUMBER;
      return RC_OK;
    } finally {
      this.unlock();
    }
  }

  /** Valid list entry for the key, 0 when missing or expired, -1 (r.err set) when not a list. */
  private lookupList(klen: number, h: number): number {
    this.expireTail();
    const e = this.find(this.kb, klen, h);
    if (e === 0) return 0;
    this.touch(e);
    if (this.isExpired(e)) return 0;
    if (this.typeOf(e) !== T_LIST) {
      this.r.err = 'value not a list';
      return -1;
    }
    return e;
  }
}
