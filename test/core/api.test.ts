// The ngx.* API groups of the core (var, req, header, resp, ctx, output, subrequests, timers)
// exercised through real requests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(`
        location /var {
            set $mine "declared";
            content_by_lua_block {
                ngx.var.mine = "changed"
                ngx.say(ngx.var.mine, "|", ngx.var.uri, "|", ngx.var.args, "|", ngx.var.arg_b, "|", ngx.var.http_x_custom,
                        "|", ngx.var.cookie_sid, "|", ngx.var.request_method, "|", ngx.var.request_uri, "|", ngx.var.host,
                        "|", ngx.var.remote_addr, "|", tostring(ngx.var.nonexistent))
                local ok, err = pcall(function() ngx.var.nonexistent = 1 end)
                ngx.say(err)
            }
        }
        location /req {
            content_by_lua_block {
                local args = ngx.req.get_uri_args()
                ngx.say(ngx.req.get_method(), " ", ngx.req.http_version(), " a=", args.a, " multi=", table.concat(args.m, ","), " flag=", tostring(args.flag))
                local h = ngx.req.get_headers()
                ngx.say("x-custom=", h["X-Custom"], " via underscore=", h.x_custom)
                ngx.req.set_header("X-Added", "yes")
                ngx.req.clear_header("X-Custom")
                ngx.say("added=", ngx.var.http_x_added, " cleared=", tostring(ngx.var.http_x_custom))
                ngx.req.set_uri_args({ z = "1 2" })
                ngx.say("args now ", ngx.var.args)
                ngx.say(ngx.req.raw_header(true):match("X%-Custom: [^\\r]+"))
            }
        }
        location /body {
            content_by_lua_block {
                ngx.req.read_body()
                local post = ngx.req.get_post_args()
                ngx.say("data=", ngx.req.get_body_data(), " k=", post.k)
            }
        }
        location /headers {
            content_by_lua_block {
                ngx.header.content_type = "application/json"
                ngx.header["X-Multi"] = { "a", "b" }
                ngx.header.x_under_score = "dash"
                ngx.header["Set-Cookie"] = "a=1"
                local h = ngx.resp.get_headers()
                ngx.say(h["content-type"], " ", table.concat(ngx.header["X-Multi"], "+"), " ", ngx.header["X-Under-Score"])
            }
        }
        location /ctx {
            rewrite_by_lua_block { ngx.ctx.n = 1 }
            access_by_lua_block { ngx.ctx.n = ngx.ctx.n + 1 }
            content_by_lua_block { ngx.say("ctx ", ngx.ctx.n) }
        }
        location /set-method {
            rewrite_by_lua_block { ngx.req.set_method(ngx.var.arg_m == "HEAD" and ngx.HTTP_HEAD or ngx.HTTP_GET) }
            content_by_lua_block { ngx.say("method: ", ngx.req.get_method()) }
        }
        location /utf8-names {
            rewrite_by_lua_block { ngx.req.set_uri_args("语言=chinese") }
            content_by_lua_block {
                local 变量 = "LuaJIT takes UTF-8 bytes in names"
                ngx.say(变量, ": ", ngx.var.arg_语言)
            }
        }
        location /co-table {
            content_by_lua_block {
                local keys = {}
                for k in pairs(coroutine) do keys[#keys + 1] = k end
                table.sort(keys)
                local co = coroutine._create(function(a) return coroutine._yield(a + 1) end)
                ngx.say(#keys, " ", table.concat(keys, ","), " ", select(2, coroutine._resume(co, 1)))
            }
        }
        location /say {
            content_by_lua_block {
                ngx.say("a", 1, " ", 2.5, " ", true, " ", nil, " ", ngx.null, " ", { "x", { "y", "z" } }, " ", { "h", nil, false })
                ngx.print(10/2, " ", 2^40, " ", -0.1)
                ngx.flush(true)
                ngx.eof()
                local ok, err = ngx.say("late")
                ngx.log(ngx.WARN, "after eof: ", err)
            }
        }
        location /sub {
            content_by_lua_block {
                local r1, r2 = ngx.location.capture_multi({ { "/child", { args = { n = 1 } } }, { "/child?n=2", { method = ngx.HTTP_POST, body = "b" } } })
                ngx.say(r1.status, ":", r1.body, r2.status, ":", r2.body, r1.header["X-Child"])
            }
        }
        location /child {
            content_by_lua_block {
                ngx.req.read_body()
                ngx.header["X-Child"] = "yes"
                ngx.say(ngx.req.get_method(), " n=", ngx.var.arg_n, " body=", tostring(ngx.req.get_body_data()), " sub=", tostring(ngx.is_subrequest))
            }
        }
        location /timer {
            content_by_lua_block {
                local ok, err = ngx.timer.at(0.05, function(premature, x)
                    ngx.log(ngx.WARN, "timer fired with ", x, " premature=", tostring(premature))
                end, "arg")
                ngx.sleep(0.1)
                ngx.say("timer ok=", ok, " pending=", ngx.timer.pending_count())
            }
        }
        location /codecs {
            content_by_lua_block {
                ngx.say(ngx.md5("abc"), " ", ngx.encode_base64("hello"), " ", ngx.escape_uri("a b&c"), " ", ngx.unescape_uri("a%20b"),
                        " ", ngx.crc32_short("abc"), " ", ngx.encode_args({ a = 1 }), " ", ngx.quote_sql_str("it's"))
            }
        }
        location /json {
            content_by_lua_block {
                local cjson = require "cjson"
                local t = cjson.decode('{"a":[1,2,{"b":null}],"n":3.5}')
                ngx.say(t.a[2], " ", t.n, " ", tostring(t.a[3].b == cjson.null), " ", cjson.encode({ k = "v" }))
            }
        }
        location /re {
            content_by_lua_block {
                local m = ngx.re.match("hello 123 world", [[(\\d+) (?<w>\\w+)]], "jo")
                local s, n = ngx.re.gsub("a-b-c", "-", "+")
                ngx.say(m[0], " ", m[1], " ", m.w, " ", s, " ", n)
            }
        }
        location /time {
            content_by_lua_block {
                ngx.say(type(ngx.time()), " ", ngx.http_time(0), " ", ngx.parse_http_time("Thu, 01 Jan 1970 00:00:10 GMT"), " ", ngx.now() > 1e9)
            }
        }
`);
});

afterAll(async () => {
  await srv?.stop();
});

const raw = (first: string, headers: string[] = [], body = '') =>
  srv.request(`${first} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${headers.map((h) => h + '\r\n').join('')}${body ? `Content-Length: ${body.length}\r\n` : ''}\r\n${body}`);

describe('ngx.var', () => {
  it('reads built-in and prefixed variables, writes declared ones, refuses undeclared ones', async () => {
    const r = await raw('GET /var?a=1&b=two', ['X-Custom: hdr', 'Cookie: sid=s1; other=2']);
    const [line1, line2] = r.body.split('\n');
    expect(line1).toBe('changed|/var|a=1&b=two|two|hdr|s1|GET|/var?a=1&b=two|localhost|127.0.0.1|nil');
    expect(line2).toContain('variable "nonexistent" not found for writing');
  });
});

describe('ngx.req', () => {
  it('method, version, uri args, headers, set/clear header, raw header', async () => {
    const r = await raw('GET /req?a=1&m=x&m=y&flag', ['X-Custom: hello']);
    expect(r.body).toBe('GET 1.1 a=1 multi=x,y flag=true\nx-custom=hello via underscore=hello\nadded=yes cleared=nil\nargs now z=1%202\nX-Custom: hello\n');
  });
  it('reads the request body and POST args', async () => {
    const r = await raw('POST /body', ['Content-Type: application/x-www-form-urlencoded'], 'k=v%21&z=1');
    expect(r.body).toBe('data=k=v%21&z=1 k=v!\n');
  });
});

describe('ngx.header / ngx.resp', () => {
  it('sets content type, multi-value and underscore headers', async () => {
    const r = await srv.request('/headers');
    expect(r.header('content-type')).toBe('application/json');
    expect(r.headers['x-multi']).toEqual(['a', 'b']);
    expect(r.header('x-under-score')).toBe('dash');
    expect(r.body).toBe('application/json a+b dash\n');
  });
});

describe('ngx.ctx and output', () => {
  it('ngx.ctx lives across the phases of one request', async () => {
    expect((await srv.request('/ctx')).body).toBe('ctx 2\n');
  });
  it('answers with or without a body by the method set with ngx.req.set_method, not the request line', async () => {
    const head = await srv.request('HEAD /set-method?m=GET HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(head.body).toBe('method: GET\n');
    const get = await srv.request('GET /set-method?m=HEAD HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(get.status).toBe(200);
    expect(get.body).toBe('');
  });

  it('accepts UTF-8 bytes in Lua identifiers, as LuaJIT does', async () => {
    expect((await srv.request('/utf8-names')).body).toBe('LuaJIT takes UTF-8 bytes in names: chinese\n');
  });

  it('replaces the coroutine table like lua-nginx-module (16 entries, raw functions under _name)', async () => {
    expect((await srv.request('/co-table')).body).toBe(
      '16 __create,__resume,__status,__wrap,__yield,_create,_resume,_status,_wrap,_yield,create,resume,running,status,wrap,yield 2\n',
    );
  });

  it('say/print format values like OpenResty, flush and eof work', async () => {
    const r = await srv.request('/say');
    // a hole in an array table prints "nil" (lua-nginx-module walks 1..max key)
    expect(r.body).toBe('a1 2.5 true nil null xyz hnilfalse\n5 1099511627776 -0.1');
    await new Promise((res) => setTimeout(res, 50));
    expect(srv.errorLog()).toContain('after eof: seen eof');
  });
});

describe('subrequests and timers', () => {
  it('ngx.location.capture_multi runs subrequests with args, method and body', async () => {
    const r = await srv.request('/sub');
    expect(r.body).toBe('200:GET n=1 body=nil sub=true\n200:POST n=2 body=b sub=true\nyes\n');
  });
  it('ngx.timer.at runs the callback with its arguments', async () => {
    const r = await srv.request('/timer');
    expect(r.body).toBe('timer ok=1 pending=0\n');
    expect(srv.errorLog()).toMatch(/timer fired with arg premature=false, context: ngx\.timer/);
  });
});

describe('codecs, cjson, regex, time', () => {
  it('codecs', async () => {
    expect((await srv.request('/codecs')).body).toBe("900150983cd24fb0d6963f7d28e17f72 aGVsbG8= a%20b%26c a b 891568578 a=1 'it\\'s'\n");
  });
  it('cjson', async () => {
    expect((await srv.request('/json')).body).toBe('2 3.5 true {"k":"v"}\n');
  });
  it('ngx.re', async () => {
    expect((await srv.request('/re')).body).toBe('123 world 123 world a+b+c 2\n');
  });
  it('time', async () => {
    expect((await srv.request('/time')).body).toBe('number Thu, 01 Jan 1970 00:00:00 GMT 10 true\n');
  });
});
