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
        location /hdr-limit {
            content_by_lua_block {
                for i = 1, 3 do ngx.header["Foo" .. i] = "Foo" end
                local h, err = ngx.resp.get_headers(3)
                local n = 0
                for _ in pairs(h) do n = n + 1 end
                ngx.say(err, " ", n, " ", h["content-type"])
            }
        }
        location /hdr-cleared-type {
            default_type text/html;
            content_by_lua_block {
                ngx.header["Content-Type"] = nil
                ngx.say("foo")
            }
        }
        location /hdr-unsafe {
            content_by_lua_block {
                ngx.header["\\rx: y"] = "a\\nb:c\\td"
                ngx.say("foo")
            }
        }
        location /satisfy-lua-grants {
            satisfy any;
            deny all;
            access_by_lua_block { ngx.location.capture("/sub") return }
            echo granted;
        }
        location /satisfy-all-deny {
            satisfy any;
            deny all;
            access_by_lua_block { ngx.exit(403) }
            echo granted;
        }
        location /sub { echo hi; }
        location /missing-file {
            content_by_lua_file html/does-not-exist.lua;
        }
        location /flush-early {
            content_by_lua_block {
                local ok, err = ngx.flush()
                ngx.status = 404
                ngx.say(tostring(ok), " ", err)
            }
        }
        location /exit-pending {
            content_by_lua_block {
                local function f()
                    ngx.sleep(0.05)
                    ngx.exit(0)
                end
                ngx.thread.spawn(f)
                ngx.location.capture("/slow")
                ngx.say("end")
            }
        }
        location /slow { echo_sleep 0.15; echo slow; }
        location /slicing {
            content_by_lua_block {
                local yield = coroutine.yield
                local function f()
                    local self = coroutine.running()
                    ngx.say("f 1") yield(self) ngx.say("f 2") yield(self) ngx.say("f 3")
                end
                local function g()
                    local self = coroutine.running()
                    ngx.say("g 1") yield(self) ngx.say("g 2") yield(self) ngx.say("g 3")
                end
                ngx.thread.spawn(f)
                ngx.thread.spawn(g)
                ngx.say("done")
            }
        }
        location /normal-status {
            content_by_lua_block {
                local co
                local function g() ngx.sleep(0.01) end
                local function f()
                    co = coroutine.running()
                    coroutine.resume(coroutine.create(g))
                end
                ngx.thread.spawn(f)
                ngx.say("status: ", coroutine.status(co))
                ngx.say(select(2, coroutine.resume(co)))
            }
        }
        location /exec-unsafe {
            content_by_lua_block { ngx.exec("/hi/../") }
        }
        location /redirect-unsafe {
            content_by_lua_block { ngx.redirect("\\rhttp://a\\"b/") }
        }
        location /status-101 {
            content_by_lua_block { ngx.status = 101 ngx.send_headers() }
        }
        location /cap-500 {
            content_by_lua_block {
                local res = ngx.location.capture("/ret-500")
                ngx.say("status: ", res.status, " body: [", res.body, "]")
            }
        }
        location /ret-500 { return 500; }
        location /cap-filter-error {
            content_by_lua_block {
                local res = ngx.location.capture("/filter-error")
                ngx.say("unreachable")
            }
        }
        location /filter-error {
            echo hello;
            body_filter_by_lua_block { return ngx.ERROR }
        }
        location /charset-json {
            default_type application/json;
            charset utf-8;
            charset_types application/json;
            content_by_lua_block { ngx.say("hi") }
        }
        location /cap-unmatched {
            content_by_lua_block {
                local res = ngx.location.capture("/static.txt")
                ngx.print(res.status, " ", res.body)
            }
        }
        location /cap-vars {
            content_by_lua_block {
                local res = ngx.location.capture("/show-args", { vars = { args = "a=1" } })
                ngx.print(res.body)
            }
        }
        location /cap-vars-bad {
            content_by_lua_block {
                ngx.location.capture("/show-args", { vars = { undeclared_cat = "1" } })
            }
        }
        location /show-args { echo "args: $args"; }
        location /cap-no-eof {
            content_by_lua_block {
                local res = ngx.location.capture("/no-eof")
                ngx.say(res.body, " truncated: ", res.truncated)
            }
        }
        location /no-eof {
            return 200 "hi";
            body_filter_by_lua_block {
                if ngx.arg[2] then ngx.arg[2] = false end
            }
        }
        location /nested-arg {
            echo hello;
            echo world;
            body_filter_by_lua_block {
                if ngx.arg[2] then
                    ngx.arg[1] = { "[", ngx.ctx.buf, "]" }
                    return
                end
                ngx.ctx.buf = ngx.ctx.buf and { ngx.ctx.buf, ngx.arg[1] } or ngx.arg[1]
                ngx.arg[1] = nil
            }
        }
        location /auth {
            content_by_lua_block {
                if ngx.var.user == "ok" then ngx.eof() else ngx.exit(403) end
            }
        }
        location /api {
            set $user $arg_user;
            auth_request /auth;
            echo "Logged in";
        }
        location /exit-late {
            content_by_lua_block {
                ngx.say("hi")
                ngx.exit(404)
            }
        }
  `, { files: { 'static.txt': 'static\n' }, rootLocation: false });
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

describe('response headers from Lua', () => {
  it('the first ngx.header write gives the default type; get_headers counts it and logs truncation', async () => {
    const r = await srv.request('/hdr-limit');
    expect(r.body).toBe('truncated 3 text/plain\n');
    expect(srv.errorLog()).toContain('lua exceeding response header limit 4 > 3');
  });
  it('clearing Content-Type keeps the response without one', async () => {
    const r = await srv.request('/hdr-cleared-type');
    expect(r.status).toBe(200);
    expect(r.header('content-type')).toBeUndefined();
  });
  it('unsafe bytes in header names and values are percent-encoded', async () => {
    const r = await srv.request('/hdr-unsafe');
    expect(r.status).toBe(200);
    expect(r.header('%0Dx%3A%20y')).toBe('a%0Ab:c\td');
    expect(r.body).toBe('foo\n');
  });
});

describe('access phase and loading', () => {
  it('satisfy any: a Lua access handler returning normally grants access despite deny all', async () => {
    const r = await srv.request('/satisfy-lua-grants');
    expect(r.status).toBe(200);
    expect(r.body).toBe('granted\n');
  });
  it('satisfy any: every handler denying gives 403 and logs it once', async () => {
    const r = await srv.request('/satisfy-all-deny');
    expect(r.status).toBe(403);
    expect(srv.errorLog()).toContain('access forbidden by rule');
  });
  it('a missing *_by_lua_file answers 404 with luaL_loadfile\'s message', async () => {
    const r = await srv.request('/missing-file');
    expect(r.status).toBe(404);
    expect(srv.errorLog()).toMatch(/failed to load external Lua file ".*does-not-exist\.lua": cannot open .*does-not-exist\.lua: No such file or directory/);
  });
  it('ngx.flush before any output has nothing to flush and leaves the status changeable', async () => {
    const r = await srv.request('/flush-early');
    expect(r.status).toBe(404);
    expect(r.body).toBe('nil nothing to flush\n');
  });
});

describe('light threads and pending subrequests', () => {
  it('ngx.exit in a user thread while the entry thread waits on a capture fails that thread only', async () => {
    const r = await srv.request('/exit-pending');
    expect(r.status).toBe(200);
    expect(r.body).toBe('end\n');
    expect(srv.errorLog()).toMatch(/lua user thread aborted: runtime error: .*attempt to abort with pending subrequests/);
  });
});

describe('light threads and coroutines', () => {
  it('spawn posts the spawner and a yielding light thread goes behind it (time slicing)', async () => {
    const r = await srv.request('/slicing');
    expect(r.body).toBe('f 1\ng 1\nf 2\ndone\ng 2\nf 3\ng 3\n');
  });
  it('a light thread resuming a user coroutine that waits is "normal" and cannot be resumed', async () => {
    const r = await srv.request('/normal-status');
    expect(r.body).toBe('status: normal\ncannot resume normal coroutine\n');
  });
});

describe('exec / redirect / status', () => {
  it('ngx.exec refuses "." and ".." segments with nginx\'s unsafe URI line', async () => {
    const r = await srv.request('/exec-unsafe');
    expect(r.status).toBe(500);
    expect(srv.errorLog()).toContain('unsafe URI "/hi/../" was detected');
    expect(srv.errorLog()).toMatch(/runtime error: content_by_lua\(nginx\.conf:\d+\):1: unsafe uri/);
  });
  it('ngx.redirect refuses control bytes and logs the URI escaped', async () => {
    const r = await srv.request('/redirect-unsafe');
    expect(r.status).toBe(500);
    expect(r.header('location')).toBeUndefined();
    expect(srv.errorLog()).toContain('unsafe byte "0x0d" in redirect uri "\\x0Dhttp://a\\x22b/"');
  });
  it('ngx.status = 101 gets a complete status line', async () => {
    const r = await srv.request('/status-101');
    expect(r.statusLine).toBe('HTTP/1.1 101 Switching Protocols');
  });
});

describe('subrequests, filters, charset', () => {
  it('a captured subrequest finalised with 500 has the status and an empty body', async () => {
    const r = await srv.request('/cap-500');
    expect(r.body).toBe('status: 500 body: []\n');
  });
  it('a body filter returning ngx.ERROR in a subrequest drops the connection', async () => {
    const r = await srv.request('/cap-filter-error');
    expect(r.raw).toBe('');
    expect(r.closed).toBe(true);
  });
  it('a URI no location matches is served with the server\'s own configuration (its root)', async () => {
    const r = await srv.request('/cap-unmatched');
    expect(r.body).toBe('200 static\n');
    expect((await srv.request('/static.txt')).body).toBe('static\n');
  });
  it('charset_types extends the types that get "; charset="', async () => {
    const r = await srv.request('/charset-json');
    expect(r.header('content-type')).toBe('application/json; charset=utf-8');
  });
});

describe('capture options and body filter data', () => {
  it('vars sets changeable built-ins and refuses undeclared variables', async () => {
    const r = await srv.request('/cap-vars');
    expect(r.status).toBe(200);
    expect(r.body).toBe('args: a=1\n');
    expect((await srv.request('/cap-vars-bad')).status).toBe(500);
    expect(srv.errorLog()).toContain('variable "undeclared_cat" cannot be assigned a value (maybe you forgot to define it first?)');
  });
  it('a subrequest whose body filter clears eof is reported truncated', async () => {
    const r = await srv.request('/cap-no-eof');
    expect(r.body).toBe('hi truncated: true\n');
  });
  it('ngx.arg[1] takes nested string tables', async () => {
    const r = await srv.request('/nested-arg');
    expect(r.body).toBe('[hello\nworld\n]');
  });
});

describe('auth_request and late exits', () => {
  it('auth_request lets 2xx through and turns 403 into the response', async () => {
    expect((await srv.request('/api?user=ok')).body).toBe('Logged in\n');
    const r = await srv.request('/api?user=no');
    expect(r.status).toBe(403);
    expect(r.body).toContain('403 Forbidden');
  });
  it('ngx.exit(404) after the header went out logs and ends the response normally', async () => {
    const r = await srv.request('/exit-late');
    expect(r.status).toBe(200);
    expect(r.body).toBe('hi\n');
    expect(srv.errorLog()).toContain('attempt to set status 404 via ngx.exit after sending out the response status 200');
  });
});
