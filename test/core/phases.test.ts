// Request phases and their control flow, against a real server process over real sockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(
    `
        location /phases {
            set_by_lua_block $from_set { return "set:" .. ngx.var.arg_x }
            rewrite_by_lua_block { ngx.ctx.trail = { "rewrite" } }
            access_by_lua_block { table.insert(ngx.ctx.trail, "access") }
            content_by_lua_block {
                table.insert(ngx.ctx.trail, "content")
                ngx.say(table.concat(ngx.ctx.trail, ","), " ", ngx.var.from_set, " ", ngx.get_phase())
            }
            header_filter_by_lua_block { ngx.header["X-Phase"] = ngx.get_phase() }
            body_filter_by_lua_block {
                if ngx.arg[1] ~= "" then ngx.arg[1] = string.upper(ngx.arg[1]) end
            }
            log_by_lua_block { ngx.log(ngx.WARN, "logged ", ngx.var.uri, " status ", ngx.status) }
        }
        location /exit-access {
            access_by_lua_block { ngx.exit(403) }
            content_by_lua_block { ngx.say("never") }
        }
        location /exit-ok {
            rewrite_by_lua_block { ngx.exit(ngx.OK) }
            content_by_lua_block { ngx.say("content after ngx.exit(ngx.OK)") }
        }
        location /exit-201 {
            content_by_lua_block { ngx.status = 201 ngx.say("made") ngx.exit(201) ngx.say("unreachable") }
        }
        location /exec {
            rewrite_by_lua_block { ngx.exec("/target", { a = 1 }) }
        }
        location /exec-named {
            content_by_lua_block { ngx.exec("@named") }
        }
        location @named {
            content_by_lua_block { ngx.say("named, internal=", tostring(ngx.req.is_internal())) }
        }
        location /target {
            content_by_lua_block { ngx.say("target ", ngx.var.args, " internal=", tostring(ngx.req.is_internal())) }
        }
        location /redirect {
            content_by_lua_block { ngx.redirect("/elsewhere", 301) }
        }
        location /boom-nil { content_by_lua_block { error(nil) } }
        location /boom-table { content_by_lua_block { error(setmetatable({}, { __tostring = function() return "custom" end })) } }
        location /boom {
            content_by_lua_block {
                local function inner() error("kaboom") end
                inner()
            }
        }
        location /runaway {
            content_by_lua_block { local i = 0 while true do i = i + 1 end }
        }
        location /error-page {
            error_page 404 /handled;
            content_by_lua_block { ngx.exit(404) }
        }
        location /handled {
            content_by_lua_block { ngx.say("handled ", ngx.status) }
        }
        location /error-page-keep {
            error_page 404 = /handled;
            content_by_lua_block { ngx.exit(404) }
        }
        location /error-page-missing {
            error_page 404 = /handled;
        }
        location /init {
            content_by_lua_block { ngx.say(INIT_VALUE, " / ", WORKER_VALUE) }
        }
        location /log-api {
            content_by_lua_block { ngx.say(ngx.headers_sent) ngx.print("x") ngx.say(ngx.headers_sent) }
            log_by_lua_block { local ok, err = pcall(ngx.say, "no") ngx.log(ngx.WARN, "log phase say: ", err) }
        }
`,
    { http: '    lua_instruction_budget 2000000;\n    init_by_lua_block { INIT_VALUE = "from init" }\n    init_worker_by_lua_block { WORKER_VALUE = "from init_worker" }', rootLocation: false },
  );
});

afterAll(async () => {
  await srv?.stop();
});

describe('phases', () => {
  it('runs set, rewrite, access, content, header_filter, body_filter and log in nginx order', async () => {
    const r = await srv.request('/phases?x=1');
    expect(r.status).toBe(200);
    expect(r.body).toBe('REWRITE,ACCESS,CONTENT SET:1 CONTENT\n');
    expect(r.header('x-phase')).toBe('header_filter');
    await new Promise((res) => setTimeout(res, 100));
    expect(srv.errorLog()).toMatch(/\[warn\] .*\[lua\] log_by_lua\(nginx\.conf:\d+\):1: logged \/phases status 200/);
  });

  it('init_by_lua and init_worker_by_lua run before serving', async () => {
    const r = await srv.request('/init');
    expect(r.body).toBe('from init / from init_worker\n');
  });

  it('ngx.exit(403) in access sends the error page and skips content', async () => {
    const r = await srv.request('/exit-access');
    expect(r.status).toBe(403);
    expect(r.body).toContain('403 Forbidden');
  });

  it('ngx.exit(ngx.OK) in rewrite goes on to the content phase', async () => {
    const r = await srv.request('/exit-ok');
    expect(r.body).toBe('content after ngx.exit(ngx.OK)\n');
  });

  it('ngx.exit(2xx) after output ends the request with what was sent', async () => {
    const r = await srv.request('/exit-201');
    expect(r.status).toBe(201);
    expect(r.body).toBe('made\n');
  });

  it('ngx.exec does an internal redirect with args, to named locations too', async () => {
    const a = await srv.request('/exec');
    expect(a.body).toBe('target a=1 internal=true\n');
    const b = await srv.request('/exec-named');
    expect(b.body).toBe('named, internal=true\n');
  });

  it('ngx.redirect sends a redirect with Location', async () => {
    const r = await srv.request('/redirect');
    expect(r.status).toBe(301);
    expect(r.header('location')).toBe('/elsewhere');
  });

  it('a Lua error gives 500, a traceback in the error log, and the worker keeps serving', async () => {
    const r = await srv.request('/boom');
    expect(r.status).toBe(500);
    expect(r.body).toContain('500 Internal Server Error');
    const log = srv.errorLog();
    expect(log).toMatch(/\[error\] .*lua entry thread aborted: runtime error: content_by_lua\(nginx\.conf:\d+\):2: kaboom\nstack traceback:/);
    expect(log).toMatch(/request: "GET \/boom HTTP\/1\.1"/);
    // non-string error values: __tostring, else lua-nginx-module's "unknown reason"
    expect((await srv.request('/boom-nil')).status).toBe(500);
    expect((await srv.request('/boom-table')).status).toBe(500);
    expect(srv.errorLog()).toMatch(/runtime error: unknown reason\nstack traceback:/);
    expect(srv.errorLog()).toMatch(/runtime error: custom\nstack traceback:/);
    // frames are named the LuaJIT way ("function 'inner'", not Lua 5.3's "local 'inner'")
    expect(log).toMatch(/content_by_lua\(nginx\.conf:\d+\):2: in function 'inner'/);
    const again = await srv.request('/exit-ok');
    expect(again.status).toBe(200);
  });

  it('a runaway loop is stopped by the instruction budget with a 500 and a log line', async () => {
    const r = await srv.request('/runaway', { timeoutMs: 20000 });
    expect(r.status).toBe(500);
    expect(srv.errorLog()).toMatch(/instruction budget exceeded.*\n(.*\n)*.*request: "GET \/runaway/);
    const again = await srv.request('/exit-ok');
    expect(again.status).toBe(200);
  });

  it('error_page redirects an ngx.exit status to another location', async () => {
    const r = await srv.request('/error-page');
    expect(r.status).toBe(404);
    expect(r.body).toBe('handled 404\n');
  });

  it('error_page with a bare "=": the status ngx.exit set stays, nginx\'s own 404 does not', async () => {
    const kept = await srv.request('/error-page-keep');
    expect(kept.status).toBe(404);
    expect(kept.body).toBe('handled 404\n');
    const missing = await srv.request('/error-page-missing/none.html');
    expect(missing.status).toBe(200);
    expect(missing.body).toBe('handled 0\n'); // ngx.status reads r->headers_out.status, still unset
  });

  it('output APIs are disabled in log_by_lua with OpenResty\'s message', async () => {
    const r = await srv.request('/log-api');
    expect(r.body).toBe('false\nxtrue\n');
    await new Promise((res) => setTimeout(res, 100));
    expect(srv.errorLog()).toContain('log phase say: API disabled in the context of log_by_lua*');
  });
});
