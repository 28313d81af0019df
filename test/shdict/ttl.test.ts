// Expiry with an injected clock: exptime in seconds with ms precision, get_stale, ttl, expire,
// flush_all, flush_expired.
import { describe, expect, it } from 'vitest';
import { SharedDict, callLua } from '../../src/shdict/index.js';

const b = (s: string) => new TextEncoder().encode(s);

function clocked(size = 1 << 20) {
  const d = SharedDict.create('cache', size);
  const t = { now: 1_700_000_000_000 };
  d.clock = () => t.now;
  return { d, t, call: (m: string, ...a: unknown[]) => callLua(d, m, ...a) };
}

describe('exptime', () => {
  it('expires at exactly now + exptime*1000 ms', () => {
    const { t, call } = clocked();
    call('set', 'k', 'v', 0.25);
    t.now += 249;
    expect(call('get', 'k')).toEqual([b('v')]);
    t.now += 1;
    expect(call('get', 'k')).toEqual([null]);
  });

  it('exptime 0 never expires; sub-ms exptime truncates to 0 like resty.core', () => {
    const { t, call } = clocked();
    call('set', 'forever', 1, 0);
    call('set', 'tiny', 1, 0.0004);
    t.now += 10 ** 10;
    expect(call('get', 'forever')).toEqual([1]);
    expect(call('get', 'tiny')).toEqual([1]);
  });

  it('get_stale returns expired values with stale = true', () => {
    const { t, call } = clocked();
    call('set', 'k', 'v', 1, 3);
    expect(call('get_stale', 'k')).toEqual([b('v'), 3, false]);
    t.now += 1500;
    expect(call('get', 'k')).toEqual([null]);
    expect(call('get_stale', 'k')).toEqual([b('v'), 3, true]);
    call('set', 'n', 5, 1);
    t.now += 1500;
    expect(call('get_stale', 'n')).toEqual([5, null, true]);
  });

  it('add and replace treat expired keys as absent', () => {
    const { t, call } = clocked();
    call('set', 'k', 1, 1);
    t.now += 1001;
    expect(call('replace', 'k', 2)).toEqual([false, 'not found', false]);
    expect(call('add', 'k', 3)).toEqual([true, null, false]);
    expect(call('get', 'k')).toEqual([3]);
  });

  it('incr on an expired key: not found without init', () => {
    const { t, call } = clocked();
    call('set', 'c', 10, 1);
    t.now += 1001;
    expect(call('incr', 'c', 1)).toEqual([null, 'not found']);
  });
});

describe('ttl / expire', () => {
  it('ttl returns remaining seconds, 0 for no expiry, "not found" otherwise', () => {
    const { t, call } = clocked();
    call('set', 'k', 1, 10);
    expect(call('ttl', 'k')).toEqual([10]);
    t.now += 2500;
    expect(call('ttl', 'k')).toEqual([7.5]);
    call('set', 'p', 1);
    expect(call('ttl', 'p')).toEqual([0]);
    expect(call('ttl', 'none')).toEqual([null, 'not found']);
    t.now += 8000;
    expect(call('ttl', 'k')).toEqual([null, 'not found']);
  });

  it('expire sets, extends and removes the expiry', () => {
    const { t, call } = clocked();
    call('set', 'k', 1, 0.1);
    expect(call('expire', 'k', 0.5)).toEqual([true]);
    t.now += 200;
    expect(call('get', 'k')).toEqual([1]);
    expect(call('ttl', 'k')).toEqual([0.3]);
    expect(call('expire', 'k', 0)).toEqual([true]);
    t.now += 10 ** 9;
    expect(call('get', 'k')).toEqual([1]);
    expect(call('expire', 'none', 1)).toEqual([null, 'not found']);
  });

  it('expire does not revive an expired key', () => {
    const { t, call } = clocked();
    call('set', 'k', 1, 1);
    t.now += 1000;
    expect(call('expire', 'k', 10)).toEqual([null, 'not found']);
    expect(call('get', 'k')).toEqual([null]);
  });
});

describe('flush_all / flush_expired', () => {
  it('flush_all hides everything but keeps it for get_stale', () => {
    const { d, call } = clocked();
    for (let i = 0; i < 100; i++) call('set', `k${i}`, i);
    const before = d.freeSpace();
    expect(call('flush_all')).toEqual([]);
    expect(call('get', 'k5')).toEqual([null]);
    expect(call('get_stale', 'k5')).toEqual([5, null, true]);
    expect(call('get_keys', 0)).toEqual([[]]);
    expect(d.freeSpace()).toBeGreaterThanOrEqual(before);
    expect(call('add', 'k5', 'again')).toEqual([true, null, false]);
    expect(call('get', 'k5')).toEqual([b('again')]);
  });

  it('flush_expired frees expired entries, up to max', () => {
    const { d, t, call } = clocked();
    const free0 = d.freeSpace();
    for (let i = 0; i < 50; i++) call('set', `e${i}`, i, 1);
    for (let i = 0; i < 20; i++) call('set', `p${i}`, i);
    expect(call('flush_expired')).toEqual([0]);
    t.now += 1000;
    expect(call('flush_expired', 10)).toEqual([10]);
    expect(d.stats().entries).toBe(60);
    expect(call('flush_expired', 0)).toEqual([40]);
    expect(d.stats().entries).toBe(20);
    for (let i = 0; i < 20; i++) call('delete', `p${i}`);
    expect(d.freeSpace()).toBe(free0);
  });

  it('writes drop expired entries at the LRU tail like nginx', () => {
    const { d, t, call } = clocked();
    call('set', 'old', 1, 1);
    call('set', 'fresh', 2);
    t.now += 1000;
    call('set', 'x', 3); // sweeps the expired tail entry
    expect(d.stats().entries).toBe(2);
    expect(call('get_stale', 'old')).toEqual([null]);
  });
});
