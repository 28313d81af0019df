// Core redirects: nginx's auto_redirect (a proxied location whose name ends with "/" answers the
// name without the slash with 301, before regex locations are tried), and absolute_redirect
// (relative Locations of core redirects become absolute; ngx.redirect's stay as given).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(`
        location /app/ { proxy_pass http://127.0.0.1:\${PORT}/backend/; }
        location = /exact/ { proxy_pass http://127.0.0.1:\${PORT}/backend/; }
        location /both/ { proxy_pass http://127.0.0.1:\${PORT}/backend/; }
        location /both { return 200 "plain prefix\\n"; }
        location /lua/ { content_by_lua_block { ngx.say("no proxy") } }
        location ~ ^/(app|exact)$ { return 200 "regex\\n"; }
        location /backend/ { content_by_lua_block { ngx.say("backend ", ngx.var.uri) } }
        location = /ret { return 302 /target; }
        location = /rel { absolute_redirect off; return 302 /target; }
        location = /named { server_name_in_redirect on; port_in_redirect off; return 301 /target; }
        location = /rw { rewrite ^ /target?a=1 permanent; }
        location = /lua { content_by_lua_block { ngx.redirect("/target") } }
        location = /nul {
            rewrite_by_lua_block { ngx.req.set_uri(ngx.unescape_uri("%00%0a%0dset-cookie:1234567"), true, true) }
        }
        location = /sub { content_by_lua_block {
            local res = ngx.location.capture("/ret")
            ngx.say(res.status, " ", res.header["Location"])
        } }`, { files: { 't/\u4e2d\u6587 x/index.html': 'dir' } });
});
afterAll(async () => {
  await srv?.stop();
});

const location = (r: { headers: Record<string, string[]> }) => (r.headers['location'] ?? [])[0];

describe('auto_redirect', () => {
  it('redirects the name without its slash to the proxied prefix location, keeping the args, even when a regex matches', async () => {
    const r = await srv.request('/app?x=1&y=2');
    expect(r.status).toBe(301);
    expect(location(r)).toMatch(/^http:\/\/localhost(:\d+)?\/app\/\?x=1&y=2$/);
    expect((await srv.request('/app/z')).body).toBe('backend /backend/z\n');
  });

  it('does the same for an exact location', async () => {
    const r = await srv.request('/exact');
    expect(r.status).toBe(301);
    expect(location(r)).toMatch(/\/exact\/$/);
  });

  it('is not done when a location has exactly the requested name, or when the location does not proxy', async () => {
    const both = await srv.request('/both');
    expect(both.status).toBe(200);
    expect(both.body).toBe('plain prefix\n');
    expect((await srv.request('/lua/')).body).toBe('no proxy\n');
    expect((await srv.request('/lua')).status).toBe(302); // the exact /lua below, no redirect to /lua/
  });
});

describe('absolute_redirect', () => {
  it('makes the relative Location of return and rewrite absolute with the Host and the port', async () => {
    expect(location(await srv.request('/ret'))).toBe(`http://localhost:${srv.port}/target`);
    expect(location(await srv.request('/rw'))).toBe(`http://localhost:${srv.port}/target?a=1`);
  });

  it('escapes the decoded URI of a static directory redirect like ngx_http_static_handler', async () => {
    const r = await srv.request('/t/%E4%B8%AD%E6%96%87%20x?k=v');
    expect(r.status).toBe(301);
    expect(location(r)).toBe(`http://localhost:${srv.port}/t/%E4%B8%AD%E6%96%87%20x/?k=v`);
  });

  it('ends a file path at a NUL like nginx, and escapes control bytes in the redirect', async () => {
    const r = await srv.request('/nul');
    expect(r.status).toBe(301);
    expect(location(r)).toBe('%00%0A%0Dset-cookie:1234567/');
    expect(r.headers['set-cookie']).toBeUndefined();
  });

  it('honours absolute_redirect off, server_name_in_redirect and port_in_redirect', async () => {
    expect(location(await srv.request('/rel'))).toBe('/target');
    expect(location(await srv.request('/named'))).toMatch(/^http:\/\/[^:/]*\/target$/);
  });

  it('leaves ngx.redirect and subrequest answers as given', async () => {
    expect(location(await srv.request('/lua'))).toBe('/target');
    expect((await srv.request('/sub')).body).toBe('302 /target\n');
  });
});
