// resty.lrucache (and the .pureffi alias): behaviour from lua-resty-lrucache's documentation and
// test suite (sanity, get-keys, flush-all, count/capacity, user flags, stale values), run in a VM
// outside any request. Expiry uses a stubbed ngx.now so the tests do not sleep.
import { describe, it, expect, vi } from 'vitest';
// lua-harness sets FENGARICONF after its (hoisted) fengari import; set it before anything loads
vi.hoisted(() => {
  process.env.FENGARICONF = process.env.FENGARICONF || '{"LUA_COMPAT_FLOATSTRING":true}';
});
import { runLua } from '../support/lua-harness.js';

for (const mod of ['resty.lrucache', 'resty.lrucache.pureffi']) {
  const L = (code: string) => runLua(`local lrucache = require "${mod}"\n${code}`);

  describe(mod, () => {
    it('new rejects sizes below 1', () => {
      expect(L('return lrucache.new(0)')).toEqual([null, 'size too small']);
      expect(L('local c = lrucache.new(3) return c:capacity(), c:count()')).toEqual([3, 0]);
    });

    it('set/get/delete, values of any type (false included)', () => {
      expect(L(`local c = lrucache.new(10)
        c:set("dog", 32) c:set("cat", 56) c:set("f", false) c:set(1, "one")
        local t = {} c:set(t, "table key")
        local r = { c:get("dog"), c:get("cat"), c:get("f") == false, c:get(1), c:get(t) }
        c:delete("dog")
        return r[1], r[2], r[3], r[4], r[5], c:get("dog"), c:count()`)).toEqual([32, 56, true, 'one', 'table key', null, 4]);
    });

    it('delete of a missing key is harmless', () => {
      expect(L('local c = lrucache.new(2) c:delete("nope") c:set("a", 1) c:delete("a") c:delete("a") return c:count(), c:get("a")')).toEqual([0, null]);
    });

    it('evicts the least recently used item; get refreshes recency', () => {
      expect(L(`local c = lrucache.new(2)
        c:set("a", 1) c:set("b", 2)
        c:get("a")              -- a becomes most recent
        c:set("c", 3)           -- evicts b
        return c:get("a"), c:get("b"), c:get("c"), c:count()`)).toEqual([1, null, 3, 2]);
    });

    it('overwriting a key does not grow the cache', () => {
      expect(L(`local c = lrucache.new(2)
        c:set("a", 1) c:set("a", 2) c:set("b", 3)
        return c:get("a"), c:get("b"), c:count()`)).toEqual([2, 3, 2]);
    });

    it('expired items return nil, stale value, flags and stay until evicted', () => {
      expect(L(`local now = 1000
        local real_now = ngx.now
        ngx.now = function() return now end
        package.loaded["${mod}"] = nil
        package.loaded["resty.lrucache"] = nil
        local lrucache = require "${mod}"
        ngx.now = real_now
        local c = lrucache.new(4)
        c:set("k", "v", 0.5, 7)
        local fresh, stale0, f0 = c:get("k")
        now = 1000.6
        local v, stale, f = c:get("k")
        local v2, stale2 = c:get("k")
        c:set("k", "new")     -- no ttl: never expires
        now = 10^9
        return fresh, stale0, f0, v, stale, f, v2, stale2, c:get("k"), c:count()`)).toEqual(['v', null, 7, null, 'v', 7, null, 'v', 'new', 1]);
    });

    it('flags default to 0 and are returned as the third value', () => {
      expect(L(`local c = lrucache.new(4)
        c:set("a", 1) c:set("b", 2, nil, 42) c:set("c", 3, nil, -1)
        local _, _, fa = c:get("a")
        local _, _, fb = c:get("b")
        local _, _, fc = c:get("c")
        return fa, fb, fc`)).toEqual([0, 42, 0]);
    });

    it('flush_all empties the cache and it keeps working', () => {
      expect(L(`local c = lrucache.new(3)
        c:set("a", 1) c:set("b", 2)
        c:flush_all()
        local n = c:count()
        c:set("c", 3) c:set("d", 4) c:set("e", 5) c:set("f", 6)
        return n, c:get("a"), c:get("c"), c:get("f"), c:count()`)).toEqual([0, null, null, 6, 3]);
    });

    it('get_keys: MRU first, max_count, user table with a trailing hole', () => {
      expect(L(`local c = lrucache.new(100)
        for i = 1, 100 do c:set("key-" .. i, true) end
        c:set("extra-key", true)
        local keys = c:get_keys()
        local five = c:get_keys(5)
        local res = {} for i = 1, 10 do res[i] = true end
        local mine = c:get_keys(2, res)
        local n = 0 for _ in ipairs(res) do n = n + 1 end
        return #keys, keys[1], keys[#keys], #five, five[5], mine == res, n, res[1], res[2]`)).toEqual([
        100, 'extra-key', 'key-2', 5, 'key-97', true, 2, 'extra-key', 'key-100',
      ]);
      expect(L('local c = lrucache.new(3) return #c:get_keys()')).toEqual([0]);
    });

    it('a size-1 cache replaces its only item', () => {
      expect(L(`local c = lrucache.new(1)
        c:set("a", 1) c:set("b", 2)
        return c:get("a"), c:get("b"), c:count()`)).toEqual([null, 2, 1]);
    });

    it('survives a churn of many keys with a consistent count', () => {
      expect(L(`local c = lrucache.new(50)
        for i = 1, 2000 do
          c:set(i % 137, i)
          if i % 7 == 0 then c:delete((i * 3) % 137) end
          c:get(i % 31)
        end
        local keys = c:get_keys()
        local seen = 0
        for _, k in ipairs(keys) do if c:get(k) ~= nil then seen = seen + 1 end end
        return c:count() <= 50, #keys == c:count(), seen == #keys`)).toEqual([true, true, true]);
    });
  });
}
