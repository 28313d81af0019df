// ngx.req.set_body_file (lua-nginx-module's ngx_http_lua_ngx_req_set_body_file): the request body
// becomes a file, seen by echo_request_body, proxy_pass, $request_body_file and Content-Length.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
const post = (uri: string, body: string) =>
  srv.request(`POST ${uri} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`);

beforeAll(async () => {
  srv = await startServer(`
        location = /swap {
            rewrite_by_lua_block {
                ngx.req.read_body()
                ngx.req.set_body_file(ngx.var.realpath_root .. "/" .. ngx.var.arg_f, ngx.var.arg_clean == "1")
                ngx.ctx.info = table.concat({ tostring(ngx.req.get_body_data()), ngx.req.get_body_file():match("[^/]+$"),
                    ngx.var.http_content_length }, " ")
            }
            content_by_lua_block {
                ngx.say(ngx.ctx.info)
                ngx.print(ngx.location.capture("/echo", { always_forward_body = true }).body)
            }
        }
        location = /proxied {
            rewrite_by_lua_block {
                ngx.req.read_body()
                ngx.req.set_body_data("in memory first")
                ngx.req.set_body_file(ngx.var.realpath_root .. "/kept.txt")
            }
            proxy_pass http://127.0.0.1:\${PORT}/echo;
        }
        location = /unread { content_by_lua_block { ngx.req.set_body_file("/x") } }
        location = /missing {
            content_by_lua_block {
                ngx.req.read_body()
                local ok, err = pcall(ngx.req.set_body_file, "/nonexistent/file")
                ngx.say(err)
            }
        }
        location = /echo { echo_read_request_body; echo_request_body; }`, {
    files: { 'kept.txt': 'from the file\n', 'gone.txt': 'cleaned up\n', 'once.txt': 'once\n' },
  });
});
afterAll(async () => {
  await srv?.stop();
});

describe('ngx.req.set_body_file', () => {
  it('replaces the body with the file: no body data, the file name, its size as Content-Length', async () => {
    const r = await post('/swap?f=kept.txt', 'hello, world');
    expect(r.body).toBe('nil kept.txt 14\nfrom the file\n');
    expect(fs.existsSync(path.join(srv.prefix, 'html/kept.txt'))).toBe(true);
  });

  it('is what proxy_pass sends, after set_body_data', async () => {
    expect((await post('/proxied', 'hello, world')).body).toBe('from the file\n');
  });

  it('removes the file when the request ends with auto_clean', async () => {
    const r = await post('/swap?f=gone.txt&clean=1', 'x');
    expect(r.body).toBe('nil gone.txt 11\ncleaned up\n');
    for (let i = 0; i < 50 && fs.existsSync(path.join(srv.prefix, 'html/gone.txt')); i++) await new Promise((ok) => setTimeout(ok, 20));
    expect(fs.existsSync(path.join(srv.prefix, 'html/gone.txt'))).toBe(false);
  });

  it('has removed an auto_clean file before the next pipelined request looks for it', async () => {
    const one = 'POST /swap?f=once.txt&clean=1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nx';
    const two = 'POST /swap?f=once.txt&clean=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 1\r\n\r\ny';
    const r = await srv.request(one + two);
    expect(r.raw).toMatch(/^HTTP\/1\.1 200 [\s\S]*nil once\.txt 5\r?\n[\s\S]*HTTP\/1\.1 500 /);
  });

  it('fails like lua-nginx-module without a read body or with a file it cannot open', async () => {
    expect((await post('/unread', 'abc')).status).toBe(500);
    expect(srv.errorLog()).toContain('request body not read yet');
    expect((await post('/missing', 'abc')).body).toBe('open() "/nonexistent/file" failed\n');
  });
});
