// Development mode (--watch): Lua edits are live on the next request, broken edits keep the last
// good version, config edits are validated and swapped in, in-flight requests finish on old code.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `check` passes (file watchers report changes asynchronously). */
async function eventually(check: () => Promise<boolean>, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(50);
  }
}

const file = (p: string) => path.join(srv.prefix, 'html', p);

beforeAll(async () => {
  srv = await startServer(
    `
        location /mod { content_by_lua_block { ngx.say(require("mymod").value()) } }
        location /file { content_by_lua_file html/handler.lua; }
        location /slow { content_by_lua_block { local m = require "mymod" ngx.sleep(0.6) ngx.say(m.value()) } }
        location /dict { content_by_lua_block { ngx.say((ngx.shared.d:incr("n", 1, 0))) } }
`,
    {
      args: ['--watch'],
      http: '    lua_package_path "$prefix/html/?.lua;;";\n    lua_shared_dict d 1m;',
      files: {
        'mymod.lua': 'local _M = {}\nfunction _M.value() return "v1" end\nreturn _M\n',
        'handler.lua': 'ngx.say("file v1")\n',
      },
    },
  );
});

afterAll(async () => {
  await srv?.stop();
});

describe('hot reload in --watch mode', () => {
  it('a module edit is served on the next request', async () => {
    const first = await srv.request("/mod");
    if (first.body !== "v1\n") console.log(srv.errorLog().split("\n").filter((l) => !l.includes("[debug]")).join("\n"));
    expect(first.body).toBe("v1\n");
    fs.writeFileSync(file('mymod.lua'), 'local _M = {}\nfunction _M.value() return "v2" end\nreturn _M\n');
    await eventually(async () => (await srv.request('/mod')).body === 'v2\n');
    expect(srv.errorLog()).toMatch(/reloaded .*mymod\.lua \(modules mymod\)/);
  });

  it('a *_by_lua_file edit is served on the next request', async () => {
    expect((await srv.request('/file')).body).toBe('file v1\n');
    fs.writeFileSync(file('handler.lua'), 'ngx.say("file v2")\n');
    await eventually(async () => (await srv.request('/file')).body === 'file v2\n');
  });

  it('a syntax error keeps the last good version and is logged with file:line; fixing it recovers', async () => {
    fs.writeFileSync(file('mymod.lua'), 'local _M = {}\nfunction _M.value() return "v3" end\nreturn _M\nthis is broken(\n');
    await eventually(async () => /not reloading .*mymod\.lua, keeping the last good version: .*mymod\.lua:4:/.test(srv.errorLog()));
    expect((await srv.request('/mod')).body).toBe('v2\n');
    fs.writeFileSync(file('mymod.lua'), 'local _M = {}\nfunction _M.value() return "v4" end\nreturn _M\n');
    await eventually(async () => (await srv.request('/mod')).body === 'v4\n');
  });

  it('an in-flight request finishes on the code it started with', async () => {
    const slow = srv.request('/slow');
    await sleep(150);
    fs.writeFileSync(file('mymod.lua'), 'local _M = {}\nfunction _M.value() return "v5" end\nreturn _M\n');
    expect((await slow).body).toBe('v4\n');
    await eventually(async () => (await srv.request('/mod')).body === 'v5\n');
  });

  it('a config edit is validated and swapped in; an invalid one is refused; shared dicts survive', async () => {
    expect((await srv.request('/dict')).body).toBe('1\n');
    const conf = path.join(srv.prefix, 'conf/nginx.conf');
    const good = fs.readFileSync(conf, 'utf8');
    fs.writeFileSync(conf, good.replace('location /mod {', 'location = /added { return 200 "added\\n"; }\n        location /mod {'));
    await eventually(async () => (await srv.request('/added')).body === 'added\n', 10000);
    expect((await srv.request('/dict')).body).toBe('2\n');
    const current = fs.readFileSync(conf, 'utf8');
    fs.writeFileSync(conf, current.replace('location = /added', 'bogus_directive on;\n        location = /added'));
    await eventually(async () => /unknown directive "bogus_directive"/.test(srv.errorLog()), 10000);
    expect((await srv.request('/added')).body).toBe('added\n');
  });
});
