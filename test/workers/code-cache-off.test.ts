// lua_code_cache off: every request and subrequest loads modules afresh (OpenResty gives each a new
// VM), also when the first Lua to run is set_by_lua*.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(`
        location /lua {
            lua_code_cache off;
            set_by_lua_file $a html/test.lua;
            echo $a;
        }
        location /update {
            content_by_lua_block {
                local f = assert(io.open(ngx.var.realpath_root .. "/foo.lua", "w"))
                f:write("return { n = 102 }")
                f:close()
                ngx.say("updated")
            }
        }
        location /main {
            echo_location /lua;
            echo_location /update;
            echo_location /lua;
        }`, {
    http: `lua_package_path '$prefix/html/?.lua;;';`,
    files: { 'test.lua': 'return require("foo").n', 'foo.lua': 'return { n = 32 }' },
  });
});
afterAll(async () => {
  await srv?.stop();
});

describe('lua_code_cache off', () => {
  it('reloads a module required from set_by_lua_file in the next subrequest', async () => {
    expect((await srv.request('/main')).body).toBe('32\nupdated\n102\n');
    expect(fs.readFileSync(path.join(srv.prefix, 'html/foo.lua'), 'utf8')).toBe('return { n = 102 }');
  });
});
