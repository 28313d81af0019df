// ngx.semaphore through a real server: cases modelled on lua-resty-core's t/semaphore.t (FIFO
// wake-up after the poster runs on, timeouts, "busy", counts going negative, per-phase rules,
// killed waiters giving their resource back, timers and subrequests sharing a semaphore).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTsresty } from './support.js';
import type { TestServer } from '../support/server.js';

let srv: TestServer;

const loc = (name: string, body: string, extra = '') => `
        location = /${name} {
            ${extra}
            content_by_lua_block {
${body}
            }
        }`;

beforeAll(async () => {
  srv = await startTsresty(
    [
      loc('basic', `
                local semaphore = require "ngx.semaphore"
                local sem = semaphore.new()
                local function waiter()
                    ngx.say("enter wait")
                    local ok, err = sem:wait(1)
                    ngx.say(ok and "wait success" or ("wait failed: " .. err))
                end
                local co = ngx.thread.spawn(waiter)
                ngx.say("back in main thread")
                local ok = sem:post()
                ngx.say("post: ", ok)
                ngx.thread.wait(co)
                ngx.say("main thread end")`),
      loc('order', `
                local sem = require("ngx.semaphore").new(0)
                local function f(op, id)
                    ngx.say(op, ": ", id)
                    if op == "wait" then
                        if sem:wait(1) then ngx.say("wait success: ", id) end
                    else
                        sem:post()
                    end
                end
                local t = {}
                for i = 1, 3 do t[#t + 1] = ngx.thread.spawn(f, "wait", i) end
                for i = 1, 3 do t[#t + 1] = ngx.thread.spawn(f, "post", i) end
                for i = 1, #t do ngx.thread.wait(t[i]) end`),
      loc('timeout', `
                local sem = require("ngx.semaphore").new(0)
                local t0 = ngx.now()
                local ok, err = sem:wait(0.05)
                ngx.update_time()
                ngx.say(ok, " ", err, " ", ngx.now() - t0 >= 0.04)
                ngx.say(sem:wait(0))
                ngx.say(sem:wait())`),
      loc('count', `
                local semaphore = require "ngx.semaphore"
                local sem = semaphore.new(10)
                ngx.say(sem:count())
                sem:wait()
                ngx.say(sem:count())
                sem:post(3)
                ngx.say(sem:count())
                local s2 = semaphore.new()
                ngx.say(s2:count())
                local co = ngx.thread.spawn(function() s2:wait(0.01) end)
                ngx.say(s2:count())`),
      loc('pingpong', `
                local semaphore = require "ngx.semaphore"
                local a, b = semaphore.new(0), semaphore.new(0)
                local function th_a()
                    for i = 1, 11 do
                        local ok, err = a:wait(1)
                        if not ok then ngx.log(ngx.ERR, err) end
                        b:post(1)
                    end
                    ngx.say("count in A: ", a:count())
                end
                local function th_b()
                    for i = 1, 10 do
                        local ok, err = b:wait(1)
                        if not ok then ngx.log(ngx.ERR, err) end
                        a:post(1)
                    end
                    ngx.say("count in B: ", b:count())
                end
                ngx.thread.spawn(th_a)
                ngx.thread.spawn(th_b)
                a:post(1)`),
      loc('kill', `
                local sem = require("ngx.semaphore").new(0)
                local co = ngx.thread.spawn(function() sem:wait(1) end)
                sem:post()
                ngx.say(ngx.thread.kill(co))
                ngx.sleep(0.01)
                ngx.say("count: ", sem:count())
                local co2 = ngx.thread.spawn(function() sem:wait(1) ngx.say("not killed") end)
                ngx.sleep(0.01)
                ngx.say("count after: ", sem:count())`),
      loc('timer', `
                local sem = require("ngx.semaphore").new(0)
                local res = {}
                ngx.timer.at(0, function()
                    local ok, err = sem:wait(1)
                    res.timer = ok
                    sem:post()
                end)
                ngx.sleep(0.01)
                sem:post()
                ngx.sleep(0.01)
                local ok = sem:wait(1)
                ngx.say("timer waited: ", res.timer, ", main waited: ", ok)`),
      `
        location = /contexts {
            set_by_lua_block $sem_res {
                local sem = require("ngx.semaphore").new(0)
                sem:post(1)
                local ok, err = sem:wait(0.1)
                return tostring(sem:count()) .. " " .. tostring(err)
            }
            rewrite_by_lua_block {
                local sem = require("ngx.semaphore").new(0)
                local ok, err = sem:wait(0.01)
                ngx.ctx.rewrite = err
            }
            content_by_lua_block {
                ngx.say("set: ", ngx.var.sem_res)
                ngx.say("rewrite: ", ngx.ctx.rewrite)
                local sem = require("ngx.semaphore")
                ngx.say("bad self: ", pcall(sem.wait, {}, 1))
            }
            header_filter_by_lua_block {
                local sem = require("ngx.semaphore").new(1)
                local ok, err = sem:wait(1)
                ngx.log(ngx.ERR, "header filter: ", err)
            }
        }`,
      `
        location = /sub {
            content_by_lua_block {
                package.loaded.sub_sem = require("ngx.semaphore").new(0)
                local r1, r2 = ngx.location.capture_multi{ { "/sem_wait" }, { "/sem_post" } }
                ngx.say(r1.status, " ", r1.body)
                ngx.say(r2.status, " ", r2.body)
            }
        }
        location = /sem_wait {
            content_by_lua_block {
                local ok, err = package.loaded.sub_sem:wait(1)
                ngx.print(ok and "wait" or err)
            }
        }
        location = /sem_post {
            content_by_lua_block {
                ngx.sleep(0.001)
                package.loaded.sub_sem:post()
                ngx.print("post")
            }
        }`,
    ].join('\n'),
  );
});

afterAll(async () => {
  await srv?.stop();
});

async function get(path: string): Promise<string> {
  const r = await srv.request(path);
  expect(r.status).toBe(200);
  return r.body;
}

describe('ngx.semaphore', () => {
  it('post wakes a waiting light thread after the poster moves on', async () => {
    expect(await get('/basic')).toBe('enter wait\nback in main thread\npost: true\nwait success\nmain thread end\n');
  });

  it('waiters are served first come, first served', async () => {
    expect(await get('/order')).toBe('wait: 1\nwait: 2\nwait: 3\npost: 1\npost: 2\npost: 3\nwait success: 1\nwait success: 2\nwait success: 3\n');
  });

  it('timeout, busy and the default timeout of 0', async () => {
    expect(await get('/timeout')).toBe('nil timeout true\nnilbusy\nnilbusy\n');
  });

  it('count is resources minus waiters', async () => {
    expect(await get('/count')).toBe('10\n9\n12\n0\n-1\n');
  });

  it('two threads hand a token back and forth', async () => {
    expect(await get('/pingpong')).toBe('count in B: 0\ncount in A: 0\n');
  });

  it('a killed waiter gives its posted resource back', async () => {
    expect(await get('/kill')).toBe('1\ncount: 1\nnot killed\ncount after: 0\n');
  });

  it('timers and requests share a semaphore', async () => {
    expect(await get('/timer')).toBe('timer waited: true, main waited: true\n');
  });

  it('wait is refused outside yieldable phases; post works everywhere', async () => {
    const body = await get('/contexts');
    expect(body).toBe('set: 1 API disabled in the context of set_by_lua*\nrewrite: timeout\nbad self: falsenot a semaphore instance\n');
    expect(srv.errorLog()).toContain('header filter: API disabled in the context of header_filter_by_lua*');
  });

  it('subrequests wait on and post to one semaphore', async () => {
    expect(await get('/sub')).toBe('200 wait\n200 post\n');
  });
});
