// Capacity enforcement, LRU eviction with forcible, safe_* semantics, no fragmentation, zone sizes.
import { describe, expect, it } from 'vitest';
import {
  SharedDict, callLua, checkSharedDictDirective, parseSize, sizeError, duplicateDictError,
} from '../../src/shdict/index.js';

const mk = (size: number) => SharedDict.create('zone', size);
const call = (d: SharedDict, m: string, ...a: unknown[]) => callLua(d, m, ...a);
const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);
/** Byte equality without vitest's slow element-by-element deep equality. */
const same = (got: unknown, want: Uint8Array) =>
  expect(got instanceof Uint8Array && Buffer.from(got).equals(want)).toBe(true);

describe('LRU eviction', () => {
  it('set evicts least recently used entries and reports forcible', () => {
    const d = mk(16 * 1024);
    let i = 0;
    while (d.freeSpace() >= 64) expect(call(d, 'set', `k${i++}`, i)).toEqual([true, null, false]);
    const n = i;
    call(d, 'get', 'k0'); // k0 becomes most recently used; k1 is now the LRU entry
    expect(call(d, 'set', 'new', 1)).toEqual([true, null, true]);
    expect(call(d, 'get', 'k1')).toEqual([null]);
    expect(call(d, 'get', 'k0')).toEqual([1]);
    expect(call(d, 'get', 'k2')).toEqual([3]);
    expect(d.stats().entries).toBe(n);
    expect(d.stats().evictions).toBe(1);
  });

  it('expired entries go before valid ones, without forcible', () => {
    const d = mk(16 * 1024);
    let now = 1000;
    d.clock = () => now;
    call(d, 'set', 'lru-valid', 0);
    call(d, 'set', 'exp', 0, 1); // second from the tail, expires
    let i = 0;
    while (d.freeSpace() >= 64) call(d, 'set', `k${i++}`, i);
    now += 5000;
    expect(call(d, 'set', 'new', 1)).toEqual([true, null, false]);
    expect(call(d, 'get', 'lru-valid')).toEqual([0]);
  });

  it('a large insert evicts as many entries as it needs', () => {
    const d = mk(16 * 1024);
    for (let i = 0; i < 100; i++) call(d, 'set', `k${i}`, i);
    const big = bytes(d.freeSpace() + 4000, 7);
    expect(call(d, 'set', 'big', big)).toEqual([true, null, true]);
    same(call(d, 'get', 'big')[0], big);
    expect(call(d, 'get', 'k99')).toEqual([99]);
  });

  it('incr with init evicts and reports forcible', () => {
    const d = mk(16 * 1024);
    let i = 0;
    while (d.freeSpace() >= 64) call(d, 'set', `k${i++}`, i);
    expect(call(d, 'incr', 'counter', 1, 0)).toEqual([1, null, true]);
  });

  it('a value larger than the zone fails with "no memory" and keeps the old value', () => {
    const d = mk(8192);
    call(d, 'set', 'k', 'old');
    expect(call(d, 'set', 'k', bytes(8192))).toEqual([false, 'no memory', false]);
    expect(call(d, 'safe_set', 'k', bytes(8192))).toEqual([false, 'no memory', false]);
    expect(call(d, 'get', 'k')).toEqual([new TextEncoder().encode('old')]);
    // Exactly the free blocks: a 40-byte header, then 60 data bytes per block.
    const fit = 24 + (d.freeSpace() / 64 - 1) * 60 - 'k2'.length;
    expect(call(d, 'set', 'k2', bytes(fit))).toEqual([true, null, false]);
    expect(d.freeSpace()).toBe(0);
    expect(call(d, 'get', 'k')).toEqual([new TextEncoder().encode('old')]);
  });
});

describe('safe_set / safe_add', () => {
  it('"no memory" only when the free space cannot hold the entry', () => {
    const d = mk(16 * 1024);
    let i = 0;
    while (d.freeSpace() >= 64) call(d, 'set', `k${i++}`, i);
    expect(call(d, 'safe_set', 'new', 1)).toEqual([false, 'no memory', false]);
    expect(call(d, 'safe_add', 'new', 1)).toEqual([false, 'no memory', false]);
    expect(call(d, 'get', 'k0')).toEqual([1]);
    call(d, 'delete', 'k5');
    expect(call(d, 'safe_set', 'new', 1)).toEqual([true, null, false]);
  });

  it('a failed safe_set keeps the old value of its key', () => {
    const d = mk(16 * 1024);
    call(d, 'set', 'key', 'old value');
    let i = 0;
    while (d.freeSpace() >= 64) call(d, 'set', `k${i++}`, i);
    expect(call(d, 'safe_set', 'key', bytes(2000))).toEqual([false, 'no memory', false]);
    expect(call(d, 'get', 'key')).toEqual([new TextEncoder().encode('old value')]);
    expect(call(d, 'safe_set', 'key', 'new value')).toEqual([true, null, false]); // same block count: in place
    expect(call(d, 'get', 'key')).toEqual([new TextEncoder().encode('new value')]);
  });

  it('safe_set may grow an entry into its own old space plus free space', () => {
    const d = mk(16 * 1024);
    call(d, 'set', 'grow', bytes(1000));
    let i = 0;
    while (d.freeSpace() >= 64 * 5) call(d, 'set', `k${i++}`, i);
    const free = d.freeSpace();
    const size = 1000 + free - 100; // more than free space alone, less than free + old entry
    expect(call(d, 'safe_set', 'grow', bytes(size, 2))).toEqual([true, null, false]);
    same(call(d, 'get', 'grow')[0], bytes(size, 2));
    expect(call(d, 'get', 'k0')).toEqual([1]);
  });

  it('safe_set reclaims expired entries but never valid ones', () => {
    const d = mk(16 * 1024);
    let now = 1000;
    d.clock = () => now;
    call(d, 'set', 'exp', bytes(500), 1);
    let i = 0;
    while (d.freeSpace() >= 64) call(d, 'set', `k${i++}`, i);
    now += 2000;
    expect(call(d, 'safe_set', 'new', bytes(300))).toEqual([true, null, false]);
    expect(call(d, 'get', 'k0')).toEqual([1]);
  });
});

describe('no fragmentation', () => {
  it('after deleting every other mixed-size value, one value as large as the total free space fits', () => {
    const d = mk(1 << 20);
    const sizes = [1, 17, 100, 250, 700, 3000, 9, 64, 1200];
    let n = 0;
    for (; d.freeSpace() > 4096; n++) {
      expect(call(d, 'safe_set', `key:${n}`, bytes(sizes[n % sizes.length]!, n & 0xff))[0]).toBe(true);
    }
    for (let i = 0; i < n; i += 2) call(d, 'delete', `key:${i}`);
    const free = d.freeSpace();
    expect(free).toBeGreaterThan(400_000);
    // The entry costs one 64-byte block per 60 bytes, plus a 40-byte header: size it to fill all.
    const blocks = free / 64;
    const size = 24 + (blocks - 1) * 60 - 'big'.length;
    expect(call(d, 'safe_set', 'big', bytes(size, 9))).toEqual([true, null, false]);
    expect(d.freeSpace()).toBe(0);
    same(call(d, 'get', 'big')[0], bytes(size, 9));
    for (let i = 1; i < n; i += 2) same(call(d, 'get', `key:${i}`)[0], bytes(sizes[i % sizes.length]!, i & 0xff));
    call(d, 'delete', 'big');
    expect(d.freeSpace()).toBe(free);
  });

  it('churn of random sizes neither leaks nor corrupts', () => {
    const d = mk(256 * 1024);
    const free0 = d.freeSpace();
    const model = new Map<string, number>();
    let seed = 12345;
    const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
    for (let i = 0; i < 20000; i++) {
      const k = `k${rnd(500)}`;
      const op = rnd(10);
      if (op < 6) {
        const len = rnd(8) === 0 ? rnd(4000) : rnd(80);
        const ok = call(d, 'set', k, bytes(len, len & 0xff))[0];
        expect(ok).toBe(true);
        model.set(k, len);
      } else if (op < 8) {
        call(d, 'delete', k);
        model.delete(k);
      } else {
        const got = call(d, 'get', k)[0] as Uint8Array | null;
        if (got !== null) {
          expect(model.get(k)).toBe(got.length);
          expect(got.every((x) => x === (got.length & 0xff))).toBe(true);
        }
      }
    }
    expect(d.verify()).toBeNull();
    for (const k of model.keys()) call(d, 'delete', k);
    expect(d.stats().entries).toBe(0);
    expect(d.freeSpace()).toBe(free0);
  });
});

describe('zone sizes', () => {
  it('parses nginx sizes', () => {
    expect(parseSize('1m')).toBe(1048576);
    expect(parseSize('12k')).toBe(12288);
    expect(parseSize('10M')).toBe(10485760);
    expect(parseSize('8192')).toBe(8192);
    expect(parseSize('1g')).toBe(-1);
    expect(parseSize('')).toBe(-1);
    expect(parseSize('k')).toBe(-1);
    expect(parseSize('1.5m')).toBe(-1);
  });

  it('refuses sizes <= 8191 with nginx\'s message', () => {
    expect(checkSharedDictDirective('dogs', '8k')).toEqual({ bytes: 8192 });
    expect(checkSharedDictDirective('dogs', '8191')).toEqual({ error: 'invalid lua shared dict size "8191"' });
    expect(checkSharedDictDirective('dogs', '7k')).toEqual({ error: 'invalid lua shared dict size "7k"' });
    expect(checkSharedDictDirective('dogs', 'abc')).toEqual({ error: 'invalid lua shared dict size "abc"' });
    expect(checkSharedDictDirective('', '1m')).toEqual({ error: 'invalid lua shared dict name ""' });
    expect(sizeError(2 ** 33, '8192m')).toMatch(/larger than/);
    expect(duplicateDictError('dogs')).toBe('lua_shared_dict "dogs" is already defined as "dogs"');
    expect(() => SharedDict.create('d', 8191)).toThrow('invalid lua shared dict size "8191"');
  });

  it('the smallest zone still stores entries', () => {
    const d = mk(8192);
    expect(d.capacity()).toBe(8192);
    expect(d.freeSpace()).toBeGreaterThan(7000);
    for (let i = 0; i < 200; i++) expect(call(d, 'set', `k${i}`, i)[0]).toBe(true);
    expect(call(d, 'get', 'k199')).toEqual([199]);
  });
});
