// rewrite_by_lua_no_postpone / access_by_lua_no_postpone: the Lua handler runs first in its phase
// (before the rewrite module's script / before allow-deny), then the phase's other handlers run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

const locations = `
        set $foo '';
        location = /rw {
            rewrite_by_lua_block { ngx.var.foo = 1 }
            if ($foo = 1) { return 200 "script saw foo\\n"; }
            content_by_lua_block { ngx.say("script ran first") }
        }
        location = /rw-async {
            rewrite_by_lua_block { ngx.sleep(0.01) ngx.var.foo = 1 }
            if ($foo = 1) { return 200 "script saw foo\\n"; }
            content_by_lua_block { ngx.say("script ran first") }
        }
        location = /acc {
            deny all;
            access_by_lua_block { ngx.sleep(0.01) ngx.say("lua first") ngx.exit(200) }
        }
        location = /acc-pass {
            allow all;
            access_by_lua_block { ngx.ctx.seen = true }
            content_by_lua_block { ngx.say("content after access: ", tostring(ngx.ctx.seen)) }
        }`;

let first: TestServer;
let postponed: TestServer;

beforeAll(async () => {
  first = await startServer(locations, { http: 'rewrite_by_lua_no_postpone on; access_by_lua_no_postpone on;' });
  postponed = await startServer(locations);
});
afterAll(async () => {
  await first?.stop();
  await postponed?.stop();
});

describe('*_by_lua_no_postpone', () => {
  it('runs rewrite_by_lua before the rewrite script, also when the handler waits', async () => {
    expect((await first.request('/rw')).body).toBe('script saw foo\n');
    expect((await first.request('/rw-async')).body).toBe('script saw foo\n');
    expect((await postponed.request('/rw')).body).toBe('script ran first\n');
  });

  it('runs access_by_lua before allow/deny, and the phase goes on when it returns', async () => {
    const r = await first.request('/acc');
    expect([r.status, r.body]).toEqual([200, 'lua first\n']);
    expect((await postponed.request('/acc')).status).toBe(403);
    expect((await first.request('/acc-pass')).body).toBe('content after access: true\n');
  });
});
