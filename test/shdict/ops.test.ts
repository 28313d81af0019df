// Every ngx.shared.DICT operation's Lua-visible results and error strings (lua-nginx-module /
// lua-resty-core wording), through callLua, which maps engine results the way the binding must.
import { describe, expect, it } from 'vitest';
import {
  SharedDict, ShdictArgError, callLua, RC_OK, RC_NIL, T_NUMBER, T_STRING, T_NIL,
} from '../../src/shdict/index.js';

const b = (s: string) => new TextEncoder().encode(s);
const mk = (size = 1 << 20) => SharedDict.create('dogs', size);
const call = (d: SharedDict, m: string, ...a: unknown[]) => callLua(d, m, ...a);

describe('get / set / add / replace / delete', () => {
  it('set then get returns value; flags only when non-zero', () => {
    const d = mk();
    expect(call(d, 'set', 'foo', 'bar')).toEqual([true, null, false]);
    expect(call(d, 'get', 'foo')).toEqual([b('bar')]);
    expect(call(d, 'set', 'foo', 'bar', 0, 42)).toEqual([true, null, false]);
    expect(call(d, 'get', 'foo')).toEqual([b('bar'), 42]);
    expect(call(d, 'get', 'missing')).toEqual([null]);
  });

  it('stores and returns each value type', () => {
    const d = mk();
    call(d, 'set', 'n', 3.5);
    call(d, 'set', 'yes', true);
    call(d, 'set', 'no', false);
    call(d, 'set', 'empty', '');
    expect(call(d, 'get', 'n')).toEqual([3.5]);
    expect(call(d, 'get', 'yes')).toEqual([true]);
    expect(call(d, 'get', 'no')).toEqual([false]);
    expect(call(d, 'get', 'empty')).toEqual([b('')]);
  });

  it('add fails with "exists", replace with "not found"', () => {
    const d = mk();
    expect(call(d, 'add', 'k', 1)).toEqual([true, null, false]);
    expect(call(d, 'add', 'k', 2)).toEqual([false, 'exists', false]);
    expect(call(d, 'get', 'k')).toEqual([1]);
    expect(call(d, 'replace', 'k', 'x')).toEqual([true, null, false]);
    expect(call(d, 'get', 'k')).toEqual([b('x')]);
    expect(call(d, 'replace', 'nope', 1)).toEqual([false, 'not found', false]);
    expect(call(d, 'safe_add', 'k', 1)).toEqual([false, 'exists', false]);
    expect(call(d, 'safe_add', 'k2', 1)).toEqual([true, null, false]);
  });

  it('add/replace nil and bad value types', () => {
    const d = mk();
    expect(call(d, 'add', 'k', null)).toEqual([false, 'attempt to add or replace nil values', false]);
    expect(call(d, 'replace', 'k', null)).toEqual([false, 'attempt to add or replace nil values', false]);
    expect(call(d, 'set', 'k', {})).toEqual([null, 'bad value type']);
  });

  it('delete and set nil remove the key', () => {
    const d = mk();
    call(d, 'set', 'a', 1);
    call(d, 'set', 'b', 2);
    expect(call(d, 'delete', 'a')).toEqual([true, null, false]);
    expect(call(d, 'set', 'b', null)).toEqual([true, null, false]);
    expect(call(d, 'delete', 'never')).toEqual([true, null, false]);
    expect(call(d, 'get', 'a')).toEqual([null]);
    expect(call(d, 'get', 'b')).toEqual([null]);
    expect(d.stats().entries).toBe(0);
  });

  it('key errors: nil key, empty key, key too long', () => {
    const d = mk();
    for (const m of ['get', 'get_stale', 'set', 'add', 'replace', 'safe_set', 'incr', 'ttl', 'expire', 'lpush', 'lpop', 'llen']) {
      const extra = m === 'incr' ? [1] : m === 'expire' ? [1] : m.includes('push') || m.includes('set') || m === 'add' || m === 'replace' ? [1] : [];
      expect(call(d, m, null, ...extra)).toEqual([null, 'nil key']);
      expect(call(d, m, '', ...extra)).toEqual([null, 'empty key']);
      expect(call(d, m, 'k'.repeat(65536), ...extra)).toEqual([null, 'key too long']);
    }
    expect(call(d, 'set', 'k'.repeat(65535), 1)).toEqual([true, null, false]);
    expect(call(d, 'get', 'k'.repeat(65535))).toEqual([1]);
  });

  it('negative exptime raises bad "exptime" argument', () => {
    const d = mk();
    expect(() => d.set('k', 1, -1)).toThrow(ShdictArgError);
    expect(() => d.set('k', 1, -1)).toThrow('bad "exptime" argument');
    expect(() => d.expire('k', NaN)).toThrow('bad "exptime" argument');
  });

  it('get(key, flags) skips the copy when flags match', () => {
    const d = mk();
    d.set('k', 'value', 0, 7);
    expect(call(d, 'get', 'k', 7)).toEqual([null, null, true]);
    expect(call(d, 'get', 'k', 8)).toEqual([b('value'), 7]);
    expect(call(d, 'get_stale', 'k', 7)).toEqual([null, null, false, true]);
  });

  it('flags are uint32', () => {
    const d = mk();
    d.set('k', 1, 0, 0xffffffff);
    expect(call(d, 'get', 'k')).toEqual([1, 0xffffffff]);
    d.set('k', 1, 0, -1);
    expect(call(d, 'get', 'k')).toEqual([1, 0xffffffff]);
  });

  it('get on a list: value is a list', () => {
    const d = mk();
    d.lpush('l', 1);
    expect(call(d, 'get', 'l')).toEqual([null, 'value is a list']);
    expect(call(d, 'get_stale', 'l')).toEqual([null, 'value is a list']);
  });

  it('the result record is reused and needs no allocation to read', () => {
    const d = mk();
    d.set('k', 'hello');
    expect(d.get('k')).toBe(RC_OK);
    expect(d.r.type).toBe(T_STRING);
    expect(Buffer.from(d.r.buf.subarray(0, d.r.len)).toString()).toBe('hello');
    d.set('n', 12);
    expect(d.get('n')).toBe(RC_OK);
    expect(d.r.type).toBe(T_NUMBER);
    expect(d.r.num).toBe(12);
    expect(d.get('absent')).toBe(RC_OK);
    expect(d.r.type).toBe(T_NIL);
    expect(d.get('')).toBe(RC_NIL);
    expect(d.r.err).toBe('empty key');
  });
});

describe('binary safety', () => {
  it('keys and values with NUL and high bytes, across block boundaries', () => {
    const d = mk();
    const key = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
    const val = new Uint8Array(5000).map((_, i) => (i * 13 + 1) & 0xff);
    expect(call(d, 'set', key, val)).toEqual([true, null, false]);
    expect(call(d, 'get', key)).toEqual([val]);
    const near = key.slice();
    near[299] ^= 1;
    expect(call(d, 'get', near)).toEqual([null]);
    expect(call(d, 'get', key.subarray(0, 299))).toEqual([null]);
    expect(call(d, 'get_keys', 0)).toEqual([[key]]);
  });

  it('a UTF-8 JS string key equals its byte form', () => {
    const d = mk();
    d.set('clé→😀', 'vé');
    expect(call(d, 'get', b('clé→😀'))).toEqual([b('vé')]);
  });

  it('keys differing only in length or last byte stay distinct', () => {
    const d = mk();
    for (let n = 1; n <= 200; n++) d.set('a'.repeat(n), n);
    for (let n = 1; n <= 200; n++) expect(call(d, 'get', 'a'.repeat(n))).toEqual([n]);
  });

  it('overwrites of every size keep neighbours intact', () => {
    const d = mk();
    d.set('left', 'L');
    d.set('right', 'R');
    for (const n of [0, 1, 15, 16, 24, 60, 61, 200, 1000, 3, 500, 8]) {
      const v = new Uint8Array(n).fill(n & 0xff);
      d.set('mid', v);
      expect(call(d, 'get', 'mid')).toEqual([v]);
      d.set('mid', n);
      expect(call(d, 'get', 'mid')).toEqual([n]);
    }
    expect(call(d, 'get', 'left')).toEqual([b('L')]);
    expect(call(d, 'get', 'right')).toEqual([b('R')]);
  });
});

describe('numbers are IEEE doubles', () => {
  it('values beyond 2^31, 2^32 and 2^53 round-trip', () => {
    const d = mk();
    for (const v of [2 ** 31, 2 ** 31 + 1, -(2 ** 31) - 1, 2 ** 32 + 5, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e300, -0, 5e-324, Infinity]) {
      d.set('n', v);
      expect(call(d, 'get', 'n')).toEqual([v]);
    }
    d.set('nan', NaN);
    expect(call(d, 'get', 'nan')[0]).toBeNaN();
  });

  it('incr crosses 2^31 and 2^32 without wrapping', () => {
    const d = mk();
    d.set('c', 2 ** 31 - 1);
    expect(call(d, 'incr', 'c', 1)).toEqual([2 ** 31]);
    expect(call(d, 'incr', 'c', 2 ** 31)).toEqual([2 ** 32]);
    expect(call(d, 'incr', 'c', -(2 ** 33))).toEqual([-(2 ** 32)]);
    d.set('big', 2 ** 53);
    expect(call(d, 'incr', 'big', 1)).toEqual([2 ** 53]); // double rounding, like LuaJIT
    expect(call(d, 'incr', 'big', 2)).toEqual([2 ** 53 + 2]);
    expect(call(d, 'incr', 'f', 0.5, 0.25)).toEqual([0.75, null, false]);
  });
});

describe('incr', () => {
  it('errors: not found, not a number', () => {
    const d = mk();
    expect(call(d, 'incr', 'x', 1)).toEqual([null, 'not found']);
    d.set('s', 'str');
    expect(call(d, 'incr', 's', 1)).toEqual([null, 'not a number']);
    expect(call(d, 'incr', 's', 1, 0)).toEqual([null, 'not a number']);
    d.lpush('l', 1);
    expect(call(d, 'incr', 'l', 1)).toEqual([null, 'not a number']);
  });

  it('init creates the key, then is ignored', () => {
    const d = mk();
    expect(call(d, 'incr', 'x', 2, 10)).toEqual([12, null, false]);
    expect(call(d, 'incr', 'x', 2, 10)).toEqual([14, null, false]);
    expect(call(d, 'incr', 'x', 1)).toEqual([15]);
  });

  it('init_ttl applies only when init is used', () => {
    const d = mk();
    let now = 1_000_000;
    d.clock = () => now;
    expect(call(d, 'incr', 'x', 1, 0, 2)).toEqual([1, null, false]);
    expect(call(d, 'ttl', 'x')).toEqual([2]);
    now += 1000;
    expect(call(d, 'incr', 'x', 1, 0, 100)).toEqual([2, null, false]);
    expect(call(d, 'ttl', 'x')).toEqual([1]);
    now += 1000;
    expect(call(d, 'get', 'x')).toEqual([null]);
    expect(call(d, 'incr', 'x', 1, 5)).toEqual([6, null, false]);
    expect(call(d, 'ttl', 'x')).toEqual([0]);
  });

  it('init_ttl argument errors', () => {
    const d = mk();
    expect(() => d.incr('x', 1, undefined, 5)).toThrow('must provide "init" when providing "init_ttl"');
    expect(() => d.incr('x', 1, 0, -1)).toThrow('bad "init_ttl" argument');
  });

  it('incr resets flags of an expired key like nginx', () => {
    const d = mk();
    let now = 5000;
    d.clock = () => now;
    d.set('x', 1, 1, 9);
    now += 2000;
    expect(call(d, 'incr', 'x', 1, 0)).toEqual([1, null, false]);
    expect(call(d, 'get', 'x')).toEqual([1]);
  });
});

describe('capacity / free_space / get_keys', () => {
  it('capacity is the configured size; free_space shrinks and recovers', () => {
    const d = mk(64 * 1024);
    expect(call(d, 'capacity')).toEqual([65536]);
    const free0 = d.freeSpace();
    expect(free0).toBeGreaterThan(60000);
    expect(free0 % 64).toBe(0);
    d.set('k', 'x'.repeat(1000));
    expect(d.freeSpace()).toBe(free0 - 64 * 18); // 40-byte header: 24 + 17*60 >= 1001 bytes
    d.delete('k');
    expect(d.freeSpace()).toBe(free0);
  });

  it('get_keys default max 1024, 0 = all, skips expired', () => {
    const d = mk(4 << 20);
    for (let i = 0; i < 3000; i++) d.set(`k${i}`, i);
    expect(d.getKeys().length).toBe(1024);
    expect(d.getKeys(10).length).toBe(10);
    const all = d.getKeys(0).map((k) => Buffer.from(k).toString());
    expect(all.length).toBe(3000);
    expect(new Set(all).size).toBe(3000);
    let now = Date.now();
    d.clock = () => now;
    d.set('short', 1, 1);
    now += 2000;
    expect(d.getKeys(0).length).toBe(3000);
  });

  it('get_keys returns long keys intact across batches', () => {
    const d = mk(8 << 20);
    const want = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const k = `${i}:`.padEnd(1000 + (i % 37), String.fromCharCode(97 + (i % 26)));
      want.add(k);
      d.set(k, i);
    }
    const got = d.getKeys(0).map((k) => Buffer.from(k).toString());
    expect(got.length).toBe(2000);
    expect(new Set(got)).toEqual(want);
    expect(d.getKeys(1500).length).toBe(1500);
  });
});
