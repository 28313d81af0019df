// ngx.shared.DICT in one Lua VM (no server): the exact Lua return values and error messages of
// every method (lua-resty-core 0.1.25 for the FFI methods, lua-nginx-module 0.10.23's C functions
// for lists, flush_expired and get_keys), and init_by_lua's record/replay of dict calls.
import { describe, it, expect } from 'vitest';
import { lua, lauxlib } from 'fengari';
import { createLuaRuntime } from '../../src/lua/runtime.js';
import { toJs } from '../../src/lua/bridge.js';
import { runChunk } from '../support/lua-harness.js';
import { startRecording, stopRecording, startReplay, stopReplay, zoneByName } from '../../src/ngx/shdict.js';

const fakeWorker = {
  http: {
    sharedDicts: [
      { name: 'dogs', size: 1024 * 1024 },
      { name: 'cats', size: 65536 },
    ],
    luaMaxPendingTimers: 1024,
    luaMaxRunningTimers: 256,
  },
  conf: { prefix: process.cwd(), masterProcess: false },
  opts: { id: 0, count: 1 },
  exiting: false,
};
const { vm } = createLuaRuntime({ packagePath: null, packageCPath: null, prefix: process.cwd() }, fakeWorker);

/** Runs a chunk; returns its results as JS values (strings as JS strings, nil as null). */
const run = (code: string): unknown[] => runChunk(vm.L, code, toJs, '=t');

/** The Lua results of `expr` packed with their count (so trailing nils show). */
function ret(expr: string): unknown[] {
  const [t] = run(`local t = table.pack(${expr}) local o = {} for i = 1, t.n do o[i] = t[i] == nil and "<nil>" or t[i] end return o`) as [Record<string, unknown>];
  return Object.keys(t).sort((a, b) => Number(a) - Number(b)).map((k) => (t[k] === '<nil>' ? null : t[k]));
}

function err(code: string): string {
  try {
    run(code);
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

const reset = (): void => void run('ngx.shared.dogs:flush_all() ngx.shared.dogs:flush_expired() ngx.shared.cats:flush_all() ngx.shared.cats:flush_expired()');

describe('ngx.shared', () => {
  it('is a table of dict objects sharing one metatable whose __index is itself, with 21 methods', () => {
    expect(ret('type(ngx.shared.dogs), type(ngx.shared.cats), ngx.shared.nope')).toEqual(['table', 'table', null]);
    expect(ret('getmetatable(ngx.shared.dogs) == getmetatable(ngx.shared.cats), ngx.shared.dogs.__index == getmetatable(ngx.shared.dogs)')).toEqual([true, true]);
    expect(ret('(function() local n = 0 for _ in pairs(ngx.shared.dogs.__index) do n = n + 1 end return n end)()')).toEqual([22]);
    expect(ret('type(ngx.shared.dogs[1])')).toEqual(['userdata']);
  });

  it('get / set with every value type, flags, binary strings and numbers past 2^31', () => {
    reset();
    expect(ret('ngx.shared.dogs:set("n", 2^53)')).toEqual([true, null, false]);
    expect(ret('ngx.shared.dogs:get("n")')).toEqual([2 ** 53]);
    expect(ret('ngx.shared.dogs:set("f", 3.25, 0, 7)')).toEqual([true, null, false]);
    expect(ret('ngx.shared.dogs:get("f")')).toEqual([3.25, 7]);
    expect(ret('ngx.shared.dogs:set("b", false)')).toEqual([true, null, false]);
    expect(ret('ngx.shared.dogs:get("b")')).toEqual([false]);
    expect(ret('ngx.shared.dogs:set("s", "a\\0b\\255")')).toEqual([true, null, false]);
    expect(ret('#ngx.shared.dogs:get("s"), ngx.shared.dogs:get("s"):byte(2, 3)')).toEqual([4, 0, 98]);
    expect(ret('ngx.shared.dogs:set("e", "")')).toEqual([true, null, false]);
    expect(ret('ngx.shared.dogs:get("e")')).toEqual(['']);
    expect(ret('ngx.shared.dogs:get("missing")')).toEqual([null]);
    expect(ret('ngx.shared.dogs:set(32, "numkey")')).toEqual([true, null, false]);
    expect(ret('ngx.shared.dogs:get("32"), ngx.shared.dogs:get(32)')).toEqual(['numkey', 'numkey']);
    expect(ret('ngx.shared.dogs:set("t", {})')).toEqual([null, 'bad value type']);
    // get(key, flags): nil, nil, true when the stored flags match (value not copied)
    expect(ret('ngx.shared.dogs:get("f", 7)')).toEqual([null, null, true]);
    expect(ret('ngx.shared.dogs:get("f", 8)')).toEqual([3.25, 7]);
  });

  it('key errors are returned, zone and exptime errors are raised', () => {
    expect(ret('ngx.shared.dogs:get(nil)')).toEqual([null, 'nil key']);
    expect(ret('ngx.shared.dogs:get("")')).toEqual([null, 'empty key']);
    expect(ret('ngx.shared.dogs:set(string.rep("k", 65536), 1)')).toEqual([null, 'key too long']);
    expect(ret('ngx.shared.dogs:incr(nil, 1)')).toEqual([null, 'nil key']);
    expect(err('ngx.shared.dogs.get(nil, "foo")')).toMatch(/^t:1: bad "zone" argument$/);
    expect(err('ngx.shared.dogs.set({1}, "foo", 1)')).toMatch(/bad "zone" argument/);
    expect(err('ngx.shared.dogs:set("k", 1, -1)')).toMatch(/bad "exptime" argument/);
    expect(err('ngx.shared.dogs:expire("k")')).toMatch(/bad "exptime" argument/);
    expect(err('ngx.null:set("foo", 1)')).toMatch(/attempt to index/);
  });

  it('add / replace / safe_* / delete', () => {
    reset();
    expect(ret('ngx.shared.dogs:add("a", 1)')).toEqual([true, null, false]);
    expect(ret('ngx.shared.dogs:add("a", 2)')).toEqual([false, 'exists', false]);
    expect(ret('ngx.shared.dogs:safe_add("a", 2)')).toEqual([false, 'exists', false]);
    expect(ret('ngx.shared.dogs:replace("a", 3)')).toEqual([true, null, false]);
    expect(ret('ngx.shared.dogs:replace("zz", 3)')).toEqual([false, 'not found', false]);
    expect(ret('ngx.shared.dogs:add("n", nil)')).toEqual([false, 'attempt to add or replace nil values', false]);
    expect(ret('ngx.shared.dogs:safe_set("a", 4)')).toEqual([true, null, false]);
    expect(ret('ngx.shared.dogs:delete("a")')).toEqual([true, null, false]);
    expect(ret('ngx.shared.dogs:get("a")')).toEqual([null]);
    expect(ret('ngx.shared.dogs:delete("never")')).toEqual([true, null, false]);
  });

  it('incr: value, init, init_ttl and their errors', () => {
    reset();
    expect(ret('ngx.shared.dogs:incr("c", 1)')).toEqual([null, 'not found']);
    expect(ret('ngx.shared.dogs:incr("c", 5, 10)')).toEqual([15, null, false]);
    expect(ret('ngx.shared.dogs:incr("c", -0.5)')).toEqual([14.5]);
    expect(ret('ngx.shared.dogs:incr("c", "2")')).toEqual([16.5]);
    expect(ret('ngx.shared.dogs:incr("c", 2^40)')).toEqual([2 ** 40 + 16.5]);
    run('ngx.shared.dogs:set("s", "str")');
    expect(ret('ngx.shared.dogs:incr("s", 1)')).toEqual([null, 'not a number']);
    expect(ret('ngx.shared.dogs:incr("s", 1, 0)')).toEqual([null, 'not a number']);
    expect(err('ngx.shared.dogs:incr("x", 1, "bar")')).toMatch(/bad init arg: number expected, got string/);
    expect(err('ngx.shared.dogs:incr("x", 1, nil, 10)')).toMatch(/must provide "init" when providing "init_ttl"/);
    expect(err('ngx.shared.dogs:incr("x", 1, 0, -1)')).toMatch(/bad "init_ttl" argument/);
    expect(ret('ngx.shared.dogs:incr("ttl", 1, 0, 100)')).toEqual([1, null, false]);
    expect(ret('ngx.shared.dogs:ttl("ttl") > 99')).toEqual([true]);
  });

  it('ttl / expire / get_stale / flush_all / flush_expired', () => {
    reset();
    run('ngx.shared.dogs:set("k", "v", 100) ngx.shared.dogs:set("p", "q")');
    expect(ret('ngx.shared.dogs:ttl("p")')).toEqual([0]);
    expect(ret('ngx.shared.dogs:ttl("nope")')).toEqual([null, 'not found']);
    expect(ret('ngx.shared.dogs:expire("p", 50)')).toEqual([true]);
    expect(ret('ngx.shared.dogs:expire("nope", 50)')).toEqual([null, 'not found']);
    expect(ret('ngx.shared.dogs:flush_all()')).toEqual([]);
    expect(ret('ngx.shared.dogs:get("k")')).toEqual([null]);
    expect(ret('ngx.shared.dogs:get_stale("k")')).toEqual(['v', null, true]);
    expect(ret('ngx.shared.dogs:flush_expired(1)')).toEqual([1]);
    expect(ret('ngx.shared.dogs:flush_expired()')).toEqual([1]);
    expect(ret('ngx.shared.dogs:get_stale("k")')).toEqual([null]);
    run('ngx.shared.dogs:set("live", 1, 0, 3)');
    expect(ret('ngx.shared.dogs:get_stale("live")')).toEqual([1, 3, false]);
  });

  it('lists: push/pop/llen with lua-nginx-module 0.10.23 returns and errors', () => {
    reset();
    expect(ret('ngx.shared.dogs:lpush("l", "b")')).toEqual([1]);
    expect(ret('ngx.shared.dogs:lpush("l", "a")')).toEqual([2]);
    expect(ret('ngx.shared.dogs:rpush("l", 3)')).toEqual([3]);
    expect(ret('ngx.shared.dogs:llen("l")')).toEqual([3]);
    expect(ret('ngx.shared.dogs:get("l")')).toEqual([null, 'value is a list']);
    expect(ret('ngx.shared.dogs:incr("l", 1)')).toEqual([null, 'not a number']);
    expect(ret('ngx.shared.dogs:lpop("l"), ngx.shared.dogs:rpop("l"), ngx.shared.dogs:lpop("l"), ngx.shared.dogs:lpop("l")')).toEqual(['a', 3, 'b', null]);
    expect(ret('ngx.shared.dogs:llen("l")')).toEqual([0]);
    run('ngx.shared.dogs:set("kv", 1)');
    expect(ret('ngx.shared.dogs:lpush("kv", 1)')).toEqual([null, 'value not a list']);
    expect(ret('ngx.shared.dogs:lpop("kv")')).toEqual([null, 'value not a list']);
    expect(ret('ngx.shared.dogs:llen("kv")')).toEqual([null, 'value not a list']);
    expect(ret('ngx.shared.dogs:lpush("l", true)')).toEqual([null, 'bad value type']);
    expect(ret('ngx.shared.dogs:lpush(nil, 1)')).toEqual([null, 'nil key']);
    expect(ret('ngx.shared.dogs:lpush("", 1)')).toEqual([null, 'empty key']);
    expect(err('ngx.shared.dogs:lpush("l")')).toMatch(/expecting 3 arguments, but only seen 2/);
    expect(err('ngx.shared.dogs:lpop()')).toMatch(/expecting 2 arguments, but only seen 1/);
    expect(err('ngx.shared.dogs.lpop(nil, "l")')).toMatch(/bad "zone" argument/);
    expect(err('ngx.shared.dogs:lpush({}, 1)')).toMatch(/bad argument #1 to 'lpush' \(string expected, got table\)/);
    // a full zone: nil, "no memory" (0.10.23; later releases return false)
    expect(ret('(function() local d = ngx.shared.cats for i = 1, 5000 do local n, e = d:rpush("big", "x") if not n then return n, e, i > 100 end end end)()')).toEqual([null, 'no memory', true]);
  });

  it('get_keys / capacity / free_space', () => {
    reset();
    run('for i = 1, 30 do ngx.shared.cats:set("k" .. i, i) end ngx.shared.cats:set("gone", 1, 0.001)');
    expect(ret('#ngx.shared.cats:get_keys(0) >= 30, #ngx.shared.cats:get_keys(5), #ngx.shared.cats:get_keys()')).toEqual([true, 5, expect.any(Number)]);
    expect(err('ngx.shared.cats:get_keys(1, 2)')).toMatch(/expecting 1 or 2 argument\(s\), but saw 3/);
    expect(err('ngx.shared.cats.get_keys(nil)')).toMatch(/bad argument #1 to 'get_keys' \(table expected, got nil\)/);
    expect(err('ngx.shared.cats.get_keys({})')).toMatch(/bad user data for the ngx_shm_zone_t pointer/);
    expect(ret('ngx.shared.cats:capacity(), ngx.shared.dogs:capacity()')).toEqual([65536, 1048576]);
    expect(ret('ngx.shared.cats:free_space() < 65536, ngx.shared.cats:free_space() > 0')).toEqual([true, true]);
  });

  it('values returned are copies: a later operation does not change an earlier result', () => {
    reset();
    expect(ret('(function() local d = ngx.shared.dogs d:set("a", "first") d:set("b", "second") local a = d:get("a") local b = d:get("b") return a, b end)()')).toEqual(['first', 'second']);
  });
});

describe('init_by_lua record / replay', () => {
  it('replays the recorded results without touching the store, so writes happen once', () => {
    reset();
    const code = 'local d = ngx.shared.dogs d:set("x", "v") local n = d:incr("runs", 1, 0) local ok, e = pcall(d.get, nil, "x") return n, d:get("x"), #d:get_keys(0), ok';
    startRecording();
    const first = run(code);
    const log = stopRecording();
    expect(first).toEqual([1, 'v', 2, false]);
    expect(log.map((c) => c.m)).toEqual(['set', 'incr', 'get', 'get', 'get_keys']);
    startReplay(log);
    const again = run(code);
    stopReplay();
    expect(again).toEqual(first);
    expect(zoneByName('dogs')!.get('runs')).toBe(0);
    expect(zoneByName('dogs')!.r.num).toBe(1); // still 1: the replay did not increment
  });
});
