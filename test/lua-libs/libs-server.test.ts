// The smaller libraries inside a real server: resty.lock over a lua_shared_dict (contention
// between concurrent requests, timeouts, expiry), resty.memcached on a real memcached,
// ngx.errlog with lua_capture_error_log, ngx.resp.add_header, and resty.core being preloaded.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTsresty, startMemcached, cosocketsAvailable, sharedDictAvailable, type Memcached } from './support.js';
import type { TestServer } from '../support/server.js';

const haveShared = sharedDictAvailable();
const haveSockets = cosocketsAvailable();

let srv: TestServer;
let memc: Memcached | null = null;

const loc = (name: string, body: string) => `
        location = /${name} {
            content_by_lua_block {
${body}
            }
        }`;

beforeAll(async () => {
  if (haveSockets) memc = await startMemcached();
  srv = await startTsresty(
    [
      loc('core', `
                ngx.say("resty.core preloaded: ", package.loaded["resty.core"] ~= nil)
                ngx.say("process: ", require("ngx.process").type())
                local d = require("resty.sha256"):new()
                d:update("abc")
                ngx.say(require("resty.string").to_hex(d:final()))`),
      `
        location = /addheader {
            content_by_lua_block {
                local resp = require "ngx.resp"
                ngx.header["X-Multi"] = "a"
                resp.add_header("X-Multi", "b")
                resp.add_header("X-New", "c")
                resp.add_header("X-List", { "d", "e" })
                ngx.say("ok")
            }
        }`,
      loc('errlog', `
                local errlog = require "ngx.errlog"
                errlog.get_logs()   -- drain what start-up logged
                ngx.log(ngx.WARN, "captured warning")
                ngx.log(ngx.ERR, "captured error")
                local res = errlog.get_logs(10)
                local n = #res / 3
                local found = {}
                for i = 1, #res, 3 do
                    if res[i + 2]:find("captured", 1, true) then
                        found[#found + 1] = res[i] .. ":" .. (res[i + 2]:match("captured %a+"))
                    end
                end
                ngx.say(table.concat(found, ","), " ", type(res[2]))
                ngx.say("again: ", #errlog.get_logs())
                ngx.say(errlog.set_filter_level(ngx.ERR))
                ngx.log(ngx.WARN, "filtered out")
                ngx.log(ngx.ERR, "kept")
                res = errlog.get_logs()
                ngx.say(#res / 3, " ", res[3]:match("kept") or "?")
                errlog.raw_log(ngx.ERR, "raw line here")
                ngx.say(pcall(errlog.raw_log, 99, "x"))`),
      loc('lock', `
                local resty_lock = require "resty.lock"
                local lock, err = resty_lock:new("locks", { timeout = 5, exptime = 10 }) -- 8 holders of ~20 ms each: room for a loaded machine
                if not lock then ngx.say("new: ", err) return end
                local elapsed, err = lock:lock("res")
                if not elapsed then ngx.say("lock: ", err) return end
                local shared = ngx.shared.data
                local v = shared:get("v") or 0
                ngx.sleep(0.02)        -- widen the race window
                shared:set("v", v + 1)
                ngx.say(lock:unlock())`),
      loc('limitreq', `
                local limit_req = require "resty.limit.req"
                local store = ngx.shared.store
                store:flush_all()
                local lim = limit_req.new("store", 2, 10)
                local d1, e1 = lim:incoming("foo", true)
                local d2, e2 = lim:incoming("foo", true)
                local d3 = lim:incoming("bar", true)
                local d4 = lim:incoming("bar", true)
                ngx.say(d1, " ", e1, " ", d2, " ", e2, " ", d3, " ", d4)
                lim = limit_req.new("store", 2, 0)
                for burst = 0, 2 do
                    store:flush_all()
                    if burst > 0 then lim:set_burst(burst) end
                    for i = 1, 10 do
                        local delay, err = lim:incoming("foo", true)
                        if not delay then ngx.say(i, ": ", err) break end
                    end
                end
                store:flush_all()
                lim = limit_req.new("store", 2, 10)
                local out = {}
                for i = 1, 4 do out[i] = lim:incoming("bar", i < 3) end
                ngx.say(table.concat(out, " "))
                store:flush_all()
                lim = limit_req.new("store", 40, 40)
                out = {}
                for i = 1, 3 do out[i] = lim:incoming("u", true) lim:uncommit("u") end
                ngx.say(table.concat(out, " "))
                store:set("bad", 32)
                ngx.say(lim:incoming("bad", true))
                store:flush_all()
                lim = limit_req.new("store", 0.1, 0.1)
                ngx.say(lim:incoming("k", true), " ", lim:incoming("k", true))
                ngx.say(limit_req.new("nosuch", 1, 1))
                store:flush_all()
                lim = limit_req.new("store", 40, 40)
                local begin = ngx.now()
                for i = 1, 20 do
                    local delay = assert(lim:incoming("t", true))
                    ngx.sleep(delay)
                end
                ngx.update_time()
                local elapsed = ngx.now() - begin
                ngx.say("paced: ", elapsed > 0.4 and elapsed < 1.5)`),
      loc('limitconn', `
                local limit_conn = require "resty.limit.conn"
                local store = ngx.shared.store
                store:flush_all()
                local lim = limit_conn.new("store", 2, 8, 1)
                local out = {}
                for i = 1, 12 do
                    local delay, err = lim:incoming("foo", true)
                    out[#out + 1] = delay and (delay .. "/" .. err .. "/" .. tostring(lim:is_committed())) or err
                    if i == 4 then out[#out + 1] = "leave:" .. lim:leaving("foo") end
                end
                ngx.say(table.concat(out, " "))
                store:flush_all()
                out = {}
                for i = 1, 7 do
                    local delay, err = lim:incoming("foo", i == 3 or i == 5)
                    out[#out + 1] = delay .. "/" .. err .. "/" .. tostring(lim:is_committed())
                end
                ngx.say(table.concat(out, " "))
                store:flush_all()
                lim = limit_conn.new("store", 2, 1, 1)
                out = {}
                for i = 1, 10 do
                    local delay, err = lim:incoming("foo", true)
                    out[#out + 1] = delay and (delay .. "/" .. err) or err
                    if i == 4 then lim:set_conn(5) lim:set_burst(2) end
                end
                ngx.say(table.concat(out, " "))
                store:flush_all()
                out = {}
                for i = 1, 3 do
                    local delay, conn = lim:incoming("u", true)
                    out[i] = conn
                    lim:uncommit("u")
                end
                ngx.say(table.concat(out, " "))
                lim:leaving("u", 3)
                ngx.say("unit delay: ", lim.unit_delay)`),
      loc('limitcount', `
                local limit_count = require "resty.limit.count"
                local store = ngx.shared.store
                store:flush_all()
                local lim = limit_count.new("store", 10, 100)
                local out = {}
                for i = 1, 12 do
                    local delay, err = lim:incoming("uri", true)
                    out[i] = tostring(err)
                end
                ngx.say(table.concat(out, " "))
                store:flush_all()
                lim = limit_count.new("store", 5, 10)
                out = {}
                for i = 1, 4 do out[i] = select(2, lim:incoming("foo", i < 3)) end
                ngx.say(table.concat(out, " "))
                store:flush_all()
                lim = limit_count.new("store", 2, 10)
                out = {}
                for i = 1, 3 do out[i] = select(2, lim:incoming("k", true)) lim:uncommit("k") end
                ngx.say(table.concat(out, " "), " ", lim:uncommit("nokey"))
                store:flush_all()
                lim = limit_count.new("store", 1, 0.2)
                local a = select(2, lim:incoming("w", true))
                local b = select(2, lim:incoming("w", true))
                ngx.sleep(0.3)
                local c = select(2, lim:incoming("w", true))
                ngx.say(a, " ", b, " ", c)`),
      loc('limittraffic', `
                local limit_req = require "resty.limit.req"
                local limit_count = require "resty.limit.count"
                local traffic = require "resty.limit.traffic"
                local store = ngx.shared.store
                store:flush_all()
                local lim1 = limit_req.new("store", 100, 100)
                local lim2 = limit_count.new("store", 2, 100)
                local out = {}
                for i = 1, 3 do
                    local states = {}
                    local delay, err = traffic.combine({ lim1, lim2 }, { "r", "c" }, states)
                    out[i] = delay and (delay .. "/" .. tostring(states[1]) .. "/" .. tostring(states[2])) or err
                end
                ngx.say(table.concat(out, " "))
                -- the rejection by the count limiter left the req limiter uncommitted
                local delay, excess = lim1:incoming("r", false)
                ngx.say(delay, " ", excess)`),
      loc('lockcount', `
                ngx.say(ngx.shared.data:get("v"))`),
      loc('lockapi', `
                local resty_lock = require "resty.lock"
                ngx.say(resty_lock:new("nosuchdict"))
                local a = resty_lock:new("locks", { timeout = 0.05, step = 0.01 })
                local b = resty_lock:new("locks", { timeout = 0.05, step = 0.01 })
                ngx.say("a: ", a:lock("k"))
                ngx.say("a again: ", a:lock("k2"))
                ngx.say("b: ", b:lock("k"))
                ngx.say("b nil key: ", b:lock(nil))
                ngx.say("expire: ", a:expire(10))
                ngx.say("unlock: ", a:unlock())
                ngx.say("unlock again: ", a:unlock())
                ngx.say("expire unlocked: ", a:expire())
                local elapsed = b:lock("k")
                ngx.say("b now: ", elapsed)
                b:unlock()
                local c = resty_lock:new("locks", { exptime = 0.05, timeout = 1, step = 0.01 })
                c:lock("short")
                local d = resty_lock:new("locks", { timeout = 1, step = 0.01 })
                local waited = d:lock("short")
                ngx.say("waited for expiry: ", waited > 0 and waited < 0.5)
                d:unlock()`),
      loc('memc', `
                local memcached = require "resty.memcached"
                local memc = memcached:new()
                memc:set_timeout(1000)
                local ok, err = memc:connect("127.0.0.1", ${'${MEMC}'})
                if not ok then ngx.say("connect: ", err) return end
                ngx.say("flush: ", memc:flush_all())
                ngx.say("set: ", memc:set("dog", "32", 0, 5))
                ngx.say("get: ", memc:get("dog"))
                ngx.say("add existing: ", memc:add("dog", "x"))
                ngx.say("append: ", memc:append("dog", "1"), " ", (memc:get("dog")))
                ngx.say("missing: ", memc:get("cat"))
                local v, flags, cas = memc:gets("dog")
                ngx.say("cas ok: ", memc:cas("dog", "new", cas))
                ngx.say("cas stale: ", memc:cas("dog", "newer", cas))
                ngx.say("incr: ", memc:set("n", 10), " ", memc:incr("n", 5), " ", memc:decr("n", 3))
                ngx.say("incr bad: ", memc:incr("dog", 1))
                ngx.say("key escaping: ", memc:set("a key/with space", "v"), " ", memc:get("a key/with space"))
                local res = memc:get({ "dog", "n", "none" })
                ngx.say("multi: ", res.dog[1], " ", res.n[1], " ", res.none)
                ngx.say("delete: ", memc:delete("dog"), " ", memc:delete("dog"))
                ngx.say("table value: ", memc:set("t", { "a", "b", "c" }), " ", (memc:get("t")))
                ngx.say("version: ", memc:version() ~= nil)
                ngx.say("stats: ", #memc:stats() > 10)
                ngx.say("touch: ", memc:touch("t", 100))
                local times0 = memc:get_reused_times()
                ngx.say("keepalive: ", memc:set_keepalive(10000, 10))
                local m2 = memcached:new()
                m2:connect("127.0.0.1", ${'${MEMC}'})
                ngx.say("reused: ", m2:get_reused_times() == times0 + 1)
                m2:close()`),
    ]
      .join('\n')
      .replace(/\$\{MEMC\}/g, String(memc?.port ?? 1)),
    {
      http: `    lua_capture_error_log 32k;
    ${haveShared ? 'lua_shared_dict locks 1m;\n    lua_shared_dict data 1m;\n    lua_shared_dict store 1m;' : ''}
    lua_socket_log_errors off;`,
    },
  );
});

afterAll(async () => {
  await srv?.stop();
  await memc?.stop();
});

async function get(p: string): Promise<string> {
  const r = await srv.request(p, { timeoutMs: 10000 });
  expect(r.status).toBe(200);
  return r.body;
}

describe('core modules in a server', () => {
  it('resty.core is preloaded; process type; digests', async () => {
    expect(await get('/core')).toBe('resty.core preloaded: true\nprocess: single\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n');
  });

  it('ngx.resp.add_header appends header lines', async () => {
    const r = await srv.request('/addheader');
    expect(r.headers['x-multi']).toEqual(['a', 'b']);
    expect(r.headers['x-new']).toEqual(['c']);
    expect(r.headers['x-list']).toEqual(['d', 'e']);
  });

  it('ngx.errlog: capture, filter level, raw_log', async () => {
    const body = await get('/errlog');
    expect(body).toBe(`${5}:captured warning,${4}:captured error number\nagain: 0\ntrue\n1 kept\nfalsebad log level\n`);
    expect(srv.errorLog()).toMatch(/\[error\] \d+#\d+: raw line here\n/);
  });
});

describe.skipIf(!haveShared)('resty.lock', () => {
  it('serialises concurrent requests on one key', async () => {
    const n = 8;
    const bodies = await Promise.all(Array.from({ length: n }, () => get('/lock')));
    expect(bodies).toEqual(Array(n).fill('1\n'));
    // every increment survived: the read-modify-write sections never overlapped
    expect(await get('/lockcount')).toBe(`${n}\n`);
  });

  it('lock/unlock/expire results and errors', async () => {
    expect(await get('/lockapi')).toBe(
      [
        'nildictionary not found',
        'a: 0',
        'a again: nillocked',
        'b: niltimeout',
        'b nil key: nilnil key',
        'expire: true',
        'unlock: 1',
        'unlock again: nilunlocked',
        'expire unlocked: nilunlocked',
        'b now: 0',
        'waited for expiry: true',
        '',
      ].join('\n'),
    );
  });
});

describe.skipIf(!haveShared)('resty.limit.*', () => {
  it('req: leaky bucket delays, burst rejections, dry runs, uncommit, pacing', async () => {
    expect(await get('/limitreq')).toBe(
      [
        '0 0 0.5 1 0 0.5',
        '2: rejected',
        '3: rejected',
        '4: rejected',
        '0 0.5 1 1',
        '0 0.025 0.025',
        'nilshdict abused by other users',
        '0 nilrejected',
        'nilshared dict not found',
        'paced: true',
        '',
      ].join('\n'),
    );
  });

  it('conn: delays by concurrency, rejections, dry runs, leaving, set_conn/set_burst', async () => {
    expect(await get('/limitconn')).toBe(
      [
        '0/1/true 0/2/true 1/3/true 1/4/true leave:3 1/4/true 2/5/true 2/6/true 3/7/true 3/8/true 4/9/true 4/10/true rejected',
        '0/1/false 0/1/false 0/1/true 0/2/false 0/2/true 1/3/false 1/3/false',
        '0/1 0/2 1/3 rejected 0/4 0/5 1/6 1/7 rejected rejected',
        '1 1 1',
        'unit delay: 2',
        '',
      ].join('\n'),
    );
  });

  it('count: fixed window countdown, dry runs, uncommit, window reset', async () => {
    expect(await get('/limitcount')).toBe('9 8 7 6 5 4 3 2 1 0 rejected rejected\n4 3 2 2\n1 1 1 2\n0 rejected 0\n');
  });

  it('traffic.combine commits all or none', async () => {
    expect(await get('/limittraffic')).toBe('0/0/1 0.01/1/0 rejected\n0.02 2\n');
  });
});

describe.skipIf(!haveSockets)('resty.memcached', () => {
  it('storage commands, gets/cas, counters, multi-get, keepalive', async () => {
    expect(await get('/memc')).toBe(
      [
        'flush: 1',
        'set: 1',
        'get: 325nil',
        'add existing: nilNOT_STORED',
        'append: 1 321',
        'missing: nilnilnil',
        'cas ok: 1',
        'cas stale: nilEXISTS',
        'incr: 1 15 12',
        'incr bad: nilCLIENT_ERROR cannot increment or decrement non-numeric value',
        'key escaping: 1 v0nil',
        'multi: new 12 nil',
        'delete: 1 nilNOT_FOUND',
        'table value: 1 abc',
        'version: true',
        'stats: true',
        'touch: 1',
        'keepalive: 1',
        'reused: true',
        '',
      ].join('\n'),
    );
  });
});
