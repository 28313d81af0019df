// lua_package_path / lua_package_cpath as lua-nginx-module sets package.path / package.cpath, and
// OpenResty's start-up failure when a path without ";;" cannot find resty.core.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

const show = `
        location /paths {
            content_by_lua_block { ngx.say(package.path) ngx.say(package.cpath) }
        }`;

describe('package paths', () => {
  let srv: TestServer;

  beforeAll(async () => {
    srv = await startServer(show, { http: "lua_package_path '${prefix}lib/?.lua;;'; lua_package_cpath '$prefix/lib/?.so';" });
  });
  afterAll(async () => {
    await srv?.stop();
  });

  it('expands ";;" to the defaults and "${prefix}" / "$prefix" to the prefix (with its "/"); the C path is otherwise as given', async () => {
    const [path, cpath] = (await srv.request('/paths')).body.split('\n');
    const prefix = srv.prefix.replace(/\/$/, '');
    expect(path.startsWith(`${prefix}/lib/?.lua;`)).toBe(true);
    expect(path).toContain('/lua/?/init.lua');
    expect(cpath).toBe(`${prefix}//lib/?.so`);
  });

  it('refuses to start when a Lua path without ";;" cannot find resty.core, naming the places it looked', async () => {
    const started = startServer(show, { http: `lua_package_path '/nonexistent/?.lua';` });
    await expect(started).rejects.toThrow(/failed to load the 'resty.core' module.*module 'resty.core' not found:\s+no field package.preload\['resty.core'\]\s+no file '\/nonexistent\/resty\/core.lua'/s);
  });
});
