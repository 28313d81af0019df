// Per-phase semantics checked against lua-nginx-module's behaviour: set_by_lua failures, filter
// finalisation, exit codes, log lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(`
        location /set-fail {
            set_by_lua_block $a { ngx.say("no") return 1 }
            echo "a = $a";
        }
        location /set-undeclared {
            set_by_lua $a "ngx.var.undeclared_b = 32; return 7";
            echo "a = $a";
        }
  `);
});

afterAll(async () => {
  await srv?.stop();
});

describe('set_by_lua', () => {
  it('a failing chunk ends the request with 500 and logs the error', async () => {
    const r = await srv.request('/set-fail');
    expect(r.status).toBe(500);
    expect(srv.errorLog()).toContain('failed to run set_by_lua*');
    expect(srv.errorLog()).toContain('API disabled in the context of set_by_lua*');
    const r2 = await srv.request('/set-undeclared');
    expect(r2.status).toBe(500);
    expect(srv.errorLog()).toContain('variable "undeclared_b" not found for writing');
  });
});
