// lpush / rpush / lpop / rpop / llen with lua-nginx-module's results and errors.
import { describe, expect, it } from 'vitest';
import { SharedDict, callLua } from '../../src/shdict/index.js';

const b = (s: string) => new TextEncoder().encode(s);
const mk = (size = 1 << 20) => SharedDict.create('lists', size);
const call = (d: SharedDict, m: string, ...a: unknown[]) => callLua(d, m, ...a);

describe('lists', () => {
  it('push returns the new length; pops come from each end', () => {
    const d = mk();
    expect(call(d, 'lpush', 'l', 1)).toEqual([1]);
    expect(call(d, 'lpush', 'l', 'two')).toEqual([2]);
    expect(call(d, 'rpush', 'l', 3.5)).toEqual([3]);
    expect(call(d, 'llen', 'l')).toEqual([3]);
    expect(call(d, 'lpop', 'l')).toEqual([b('two')]);
    expect(call(d, 'rpop', 'l')).toEqual([3.5]);
    expect(call(d, 'rpop', 'l')).toEqual([1]);
    expect(call(d, 'lpop', 'l')).toEqual([null]);
    expect(call(d, 'llen', 'l')).toEqual([0]);
  });

  it('an emptied list is removed and its space returned', () => {
    const d = mk();
    const free0 = d.freeSpace();
    for (let i = 0; i < 100; i++) d.rpush('q', `item-${i}`.repeat(i % 7));
    expect(d.freeSpace()).toBeLessThan(free0);
    for (let i = 0; i < 100; i++) expect(call(d, 'lpop', 'q')).toEqual([b(`item-${i}`.repeat(i % 7))]);
    expect(d.stats().entries).toBe(0);
    expect(d.freeSpace()).toBe(free0);
  });

  it('"value not a list" on non-list keys; missing key llen 0, pop nil', () => {
    const d = mk();
    d.set('s', 'x');
    expect(call(d, 'lpush', 's', 1)).toEqual([null, 'value not a list']);
    expect(call(d, 'rpush', 's', 1)).toEqual([null, 'value not a list']);
    expect(call(d, 'lpop', 's')).toEqual([null, 'value not a list']);
    expect(call(d, 'rpop', 's')).toEqual([null, 'value not a list']);
    expect(call(d, 'llen', 's')).toEqual([null, 'value not a list']);
    expect(call(d, 'llen', 'none')).toEqual([0]);
    expect(call(d, 'rpop', 'none')).toEqual([null]);
  });

  it('only numbers and strings can be pushed', () => {
    const d = mk();
    expect(call(d, 'lpush', 'l', true)).toEqual([null, 'bad value type']);
    expect(call(d, 'rpush', 'l', null)).toEqual([null, 'bad value type']);
  });

  it('binary and large list values', () => {
    const d = mk();
    const big = new Uint8Array(10000).map((_, i) => (i * 31) & 0xff);
    call(d, 'rpush', 'l', big);
    call(d, 'rpush', 'l', new Uint8Array([0, 0, 255]));
    call(d, 'lpush', 'l', 2 ** 40 + 0.5);
    expect(call(d, 'lpop', 'l')).toEqual([2 ** 40 + 0.5]);
    const got = call(d, 'lpop', 'l')[0] as Uint8Array;
    expect(Buffer.from(got).equals(big)).toBe(true);
    expect(call(d, 'lpop', 'l')).toEqual([new Uint8Array([0, 0, 255])]);
  });

  it('set over a list replaces it and frees its nodes', () => {
    const d = mk();
    const free0 = d.freeSpace();
    for (let i = 0; i < 50; i++) d.rpush('l', 'x'.repeat(100));
    expect(call(d, 'set', 'l', 1)).toEqual([true, null, false]);
    expect(call(d, 'get', 'l')).toEqual([1]);
    d.delete('l');
    expect(d.freeSpace()).toBe(free0);
  });

  it('an expired list starts over empty; incr with init replaces it', () => {
    const d = mk();
    let now = 1000;
    d.clock = () => now;
    d.rpush('l', 1);
    d.rpush('l', 2);
    d.expire('l', 1);
    now += 1000;
    expect(call(d, 'llen', 'l')).toEqual([0]);
    expect(call(d, 'rpush', 'l', 3)).toEqual([1]);
    expect(call(d, 'ttl', 'l')).toEqual([0]);
    d.expire('l', 1);
    now += 1000;
    expect(call(d, 'incr', 'l', 1, 1)).toEqual([2, null, false]);
  });

  it('push reclaims expired space but never evicts valid entries', () => {
    const d = mk(16 * 1024);
    let i = 0;
    while (d.freeSpace() >= 64) d.set(`k${i++}`, i);
    expect(call(d, 'lpush', 'l', 1)).toEqual([false, 'no memory']);
    expect(d.get('l')).toBe(0);
    expect(d.r.type).toBe(0);
    d.delete('k3');
    // header block + node block are needed: still no room, and no half-made list is left behind
    expect(call(d, 'lpush', 'l', 1)).toEqual([false, 'no memory']);
    d.delete('k4');
    expect(call(d, 'lpush', 'l', 1)).toEqual([1]);
    expect(call(d, 'lpush', 'l', 2)).toEqual([false, 'no memory']);
    expect(call(d, 'llen', 'l')).toEqual([1]);
  });

  it('get_keys lists list keys too', () => {
    const d = mk();
    d.rpush('l', 1);
    d.set('s', 1);
    const keys = d.getKeys(0).map((k) => Buffer.from(k).toString()).sort();
    expect(keys).toEqual(['l', 's']);
  });
});
