// ngx.shared.DICT and timers on a real two-worker server: every operation is atomic across the
// worker threads, and what one worker writes the other reads.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startMulti, pollBody, type MultiServer } from './helpers.js';

const HTTP = `
    lua_shared_dict dogs 1m;
    lua_shared_dict small 64k;
    init_by_lua_block {
        local d = ngx.shared.dogs
        d:set("from_init", "hello")
        d:incr("init_runs", 1, 0)
        INIT_RUN = d:get("init_runs")
        package.loaded.init_count = ngx.worker.count()
    }
    init_worker_by_lua_block {
        local d = ngx.shared.dogs
        d:incr("workers_started", 1, 0)
        -- each worker hammers the same counter from a timer, at the same time as the other
        ngx.timer.at(0, function(premature)
            for i = 1, 50000 do d:incr("timer_hits", 1, 0) end
            d:incr("timers_done", 1, 0)
        end)
        ngx.timer.every(0.05, function(premature)
            if not premature then d:incr("every_" .. ngx.worker.id(), 1, 0) end
        end)
    }
`;

const SERVER = `
        location = /id { content_by_lua_block { ngx.say(ngx.worker.id(), " ", ngx.worker.count(), " ", #ngx.worker.pids()) } }
        location = /get {
            content_by_lua_block {
                local v = ngx.shared.dogs:get(ngx.var.arg_k)
                ngx.say(tostring(v))
            }
        }
        location = /incr_loop {
            content_by_lua_block {
                local d = ngx.shared.dogs
                local n = tonumber(ngx.var.arg_n)
                for i = 1, n do d:incr("loop_hits", 1, 0) end
                d:incr("loops_done", 1, 0)
                ngx.say(ngx.worker.id())
            }
        }
        location = /init {
            content_by_lua_block {
                local d = ngx.shared.dogs
                ngx.say(d:get("from_init"), " ", d:get("init_runs"), " ", INIT_RUN, " ", package.loaded.init_count, " ", d:get("workers_started"))
            }
        }
        location = /push {
            content_by_lua_block {
                local d = ngx.shared.dogs
                local id = ngx.worker.id()
                for i = 1, 500 do assert(d:rpush("q", id * 1000000 + i)) end
                ngx.say(id)
            }
        }
        location = /drain {
            content_by_lua_block {
                local d = ngx.shared.dogs
                local n, sum = 0, 0
                local len = d:llen("q")
                while true do
                    local v = d:lpop("q")
                    if v == nil then break end
                    n = n + 1
                    sum = sum + v % 1000000
                end
                ngx.say(len, " ", n, " ", sum, " ", d:llen("q"))
            }
        }
        location = /keys {
            content_by_lua_block {
                local d = ngx.shared.small
                d:flush_all()
                d:flush_expired()
                for i = 1, 50 do d:set("key" .. i, i) end
                local all = d:get_keys(0)
                local ten = d:get_keys(10)
                table.sort(all)
                ngx.say(#all, " ", #ten, " ", all[1], " ", all[50])
            }
        }
        location = /evict {
            content_by_lua_block {
                local d = ngx.shared.small
                d:flush_all()
                d:flush_expired()
                local cap, free0 = d:capacity(), d:free_space()
                local forced_at
                local val = string.rep("v", 200)
                for i = 1, 2000 do
                    local ok, err, forcible = d:set("e" .. i, val)
                    if not ok then ngx.say("set failed: ", err) return end
                    if forcible and not forced_at then forced_at = i end
                end
                local keys = d:get_keys(0)
                ngx.say(cap, " ", free0 > 0, " ", forced_at ~= nil, " ", d:get("e1"), " ", d:get("e2000") == val, " ", #keys < 2000)
                local ok, err = d:safe_set("big", string.rep("x", 100000))
                ngx.say(ok, " ", err)
            }
        }
        location = /expire_set {
            content_by_lua_block {
                local d = ngx.shared.dogs
                d:set("short", "v", 0.2)
                d:set("long", "w", 100)
                d:set("forever", "x")
                local t = d:ttl("long")
                ngx.say(d:get("short"), " ", t > 99 and t <= 100, " ", d:ttl("forever"))
            }
        }
        location = /expire_check {
            content_by_lua_block {
                local d = ngx.shared.dogs
                local v, flags, stale = d:get_stale("short")
                ngx.say(tostring(d:get("short")), " ", v, " ", stale, " ", d:get("long"), " ", d:ttl("short"))
                d:expire("long", 0.1)
                ngx.say(d:flush_expired() >= 1)
            }
        }
`;

describe('shared dict across two worker threads', () => {
  let srv: MultiServer;
  beforeAll(async () => {
    srv = await startMulti(SERVER, { main: 'worker_processes 2;', http: HTTP });
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('requests are spread over both workers, which know their id, count and pids', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 2; i++) seen.add((await srv.get('/id')).body);
    expect([...seen].sort()).toEqual(['0 2 2\n', '1 2 2\n']);
  });

  it('init_by_lua ran once, its dict writes and its Lua state are in both workers', async () => {
    const bodies = new Set<string>();
    for (let i = 0; i < 40; i++) bodies.add((await srv.get('/init')).body);
    // one body: init_runs = 1 everywhere, the global INIT_RUN replayed as 1, package.loaded kept
    expect([...bodies]).toEqual(['hello 1 1 2 2\n']);
  });

  it('two workers incrementing one key from timers end exactly at 100000', async () => {
    await pollBody(srv, '/get?k=timers_done', (b) => b === '2\n', 60000);
    expect((await srv.get('/get?k=timer_hits')).body).toBe('100000\n');
  });

  it('concurrent request loops on both workers lose no increment', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => srv.get('/incr_loop?n=5000')));
    expect(ids.every((r) => r.status === 200)).toBe(true);
    expect((await srv.get('/get?k=loops_done')).body).toBe('20\n');
    expect((await srv.get('/get?k=loop_hits')).body).toBe('100000\n');
  });

  it('a list filled by both workers drains completely from either', async () => {
    const pushers = new Set<string>();
    for (let i = 0; i < 8; i++) pushers.add((await srv.get('/push')).body);
    // 8 x 500 items, values 1..500 per push
    expect((await srv.get('/drain')).body).toBe(`4000 4000 ${8 * ((500 * 501) / 2)} 0\n`);
  });

  it('get_keys with and without a limit', async () => {
    expect((await srv.get('/keys')).body).toBe('50 10 key1 key9\n');
  });

  it('a full zone evicts the least recently used entries (forcible) and safe_set says no memory', async () => {
    expect((await srv.get('/evict')).body).toBe('65536 true true nil true true\nfalse no memory\n');
  });

  it('entries expire (get_stale still sees them), ttl and expire work across workers', async () => {
    expect((await srv.get('/expire_set')).body).toBe('v true 0\n');
    await new Promise((r) => setTimeout(r, 300));
    const b = await srv.get('/expire_check');
    expect(b.body).toBe('nil v true w nilnot found\ntrue\n');
  });

  it('ngx.timer.every runs repeatedly in each worker', async () => {
    await pollBody(srv, '/get?k=every_0', (b) => Number(b) >= 3);
    await pollBody(srv, '/get?k=every_1', (b) => Number(b) >= 3);
  });

  it('worker error log lines carry the pid and the thread id', async () => {
    const log = srv.errorLog();
    const pid = srv.proc.pid;
    expect(log).toMatch(new RegExp(`\\[notice\\] ${pid}#${pid}: start worker process (\\d+)`));
    expect(log).not.toMatch(/\[(error|alert|crit|emerg)\]/);
  });
});
