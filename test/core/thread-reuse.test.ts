// Entry coroutines are reused across requests (src/lua/scheduler.ts's thread pool) only where Lua
// code cannot tell: a thread it got hold of through coroutine.running, or whose hook it changed,
// is never handed to another request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(`
        location /keep {
            content_by_lua_block {
                SEEN = SEEN or {}
                local co = coroutine.running()
                local reused = false
                for _, old in ipairs(SEEN) do
                    if old == co then reused = true end
                end
                SEEN[#SEEN + 1] = co
                ngx.say(reused, " ", coroutine.status(SEEN[1]), " ", #SEEN)
            }
        }
        location /hook {
            content_by_lua_block {
                debug.sethook(function() HOOKED = (HOOKED or 0) + 1 end, "l")
                ngx.say("hooked")
            }
        }
        location /plain {
            content_by_lua_block {
                local before = HOOKED or 0
                local x = 1
                x = x + 1
                ngx.say((HOOKED or 0) == before, " ", x)
            }
        }
        location /work {
            content_by_lua_block {
                local t = {}
                for i = 1, 20 do t[i] = string.rep("x", i) end
                ngx.sleep(0)
                local ok, err = pcall(error, "inner")
                ngx.say(#table.concat(t), " ", ok, " ", err, " ", ngx.var.arg_n)
            }
        }
        location /fail {
            content_by_lua_block { error("boom") }
        }
`);
});

afterAll(async () => {
  await srv?.stop();
});

describe('entry thread reuse', () => {
  it('a thread Lua code holds (coroutine.running) is never given to another request', async () => {
    for (let i = 1; i <= 5; i++) {
      const r = await srv.request('/keep');
      expect(r.body).toBe(`false ${i === 1 ? 'running' : 'dead'} ${i}\n`);
    }
  });

  it('a thread whose hook was changed is not reused', async () => {
    expect((await srv.request('/hook')).body).toBe('hooked\n');
    for (let i = 0; i < 5; i++) expect((await srv.request('/plain')).body).toBe('true 2\n');
  });

  it('reused threads start clean, between failing and yielding handlers', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await srv.request(i % 3 === 0 ? '/fail' : `/work?n=${i}`);
      if (i % 3 === 0) expect(r.status).toBe(500);
      else expect(r.body).toBe(`210 false inner ${i}\n`);
    }
  });
});
