// os.clock() is C's clock() in LuaJIT/OpenResty: CPU time used by the process, in seconds. It
// must not advance while a request sleeps (fengari's own os.clock is wall time since start).
// The bounds are loose on purpose: the machine may be busy with other work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLua } from '../support/lua-harness.js';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(`
        location = /sleep {
            content_by_lua_block {
                local c0, t0 = os.clock(), ngx.now()
                ngx.sleep(0.2)
                ngx.update_time()
                ngx.say(os.clock() - c0, " ", ngx.now() - t0)
            }
        }
        location = /busy {
            content_by_lua_block {
                local c0 = os.clock()
                local t0 = ngx.now()
                local x = 0
                repeat
                    for i = 1, 10000 do x = x + i % 7 end
                    ngx.update_time()
                until ngx.now() - t0 >= 0.2
                ngx.say(os.clock() - c0, " ", ngx.now() - t0)
            }
        }
    `);
  // a fresh server burns CPU on background work (compilation, GC) for a moment after it starts
  await srv.request('/sleep');
});

afterAll(async () => {
  await srv?.stop();
});

const deltas = (body: string): [number, number] => {
  const m = /^(\S+) (\S+)\n$/.exec(body);
  expect(m, body).not.toBeNull();
  return [Number(m![1]), Number(m![2])];
};

describe('os.clock', () => {
  it('returns a non-negative number of seconds', () => {
    const [c] = runLua('return os.clock()') as number[];
    expect(typeof c).toBe('number');
    expect(c).toBeGreaterThanOrEqual(0);
  });

  it('does not advance while the request sleeps (CPU time, not wall time)', async () => {
    // the least of three tries, so one burst of background work in the server cannot fail it
    let least = Infinity;
    for (let i = 0; i < 3 && least >= 0.15; i++) {
      const r = await srv.request('/sleep');
      expect(r.status).toBe(200);
      const [cpu, wall] = deltas(r.body);
      expect(wall).toBeGreaterThanOrEqual(0.19); // ngx.now() has millisecond steps
      expect(cpu).toBeGreaterThanOrEqual(0);
      least = Math.min(least, cpu);
    }
    expect(least).toBeLessThan(0.15);
  });

  it('advances while Lua code keeps the CPU busy', async () => {
    const r = await srv.request('/busy');
    expect(r.status).toBe(200);
    const [cpu, wall] = deltas(r.body);
    expect(wall).toBeGreaterThanOrEqual(0.2);
    // at least some of 0.2 s of busy wall time is CPU time, even on a loaded machine
    expect(cpu).toBeGreaterThan(0.02);
  });
});
