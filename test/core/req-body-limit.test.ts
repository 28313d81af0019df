// ngx.req.set_header("Content-Length", n) before the body is read limits the body to n bytes, as
// in nginx (r->headers_in.content_length_n); tsresty drops the rest and closes the connection.
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, parseResponse, type TestServer } from '../support/server.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(`
        location /bar {
            rewrite_by_lua_block { ngx.req.set_header("content-length", ngx.var.arg_n) }
            echo_read_request_body;
            echo_request_body;
        }
        location /lua {
            rewrite_by_lua_block { ngx.req.set_header("Content-Length", 3) }
            content_by_lua_block {
                ngx.req.read_body()
                ngx.say(ngx.req.get_body_data())
            }
        }`);
});
afterAll(async () => {
  await srv?.stop();
});

const post = (uri: string, body: string, extra = '') =>
  srv.request(`POST ${uri} HTTP/1.1\r\nHost: localhost\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`);

describe('a lowered Content-Length', () => {
  it('limits the body that is read and closes the connection after the answer', async () => {
    const r = await post('/bar?n=2048', 'a'.repeat(4096));
    expect(r.body).toBe('a'.repeat(2048));
    expect(r.header('connection')).toBe('close');
    expect((await post('/lua', 'abcdef', 'Connection: close\r\n')).body).toBe('abc\n');
  });

  it('answers once the lowered length arrived, without waiting for the rest of the original body', async () => {
    const raw = await new Promise<string>((resolve) => {
      const s = net.connect(srv.port, '127.0.0.1', () => s.write(`POST /bar?n=2048 HTTP/1.1\r\nHost: x\r\nContent-Length: 4096\r\n\r\n${'b'.repeat(2100)}`));
      let out = '';
      s.on('data', (d) => (out += d.toString('latin1')));
      s.on('close', () => resolve(out));
      setTimeout(() => s.destroy(), 5000);
    });
    const r = parseResponse(raw);
    expect(r.body).toBe('b'.repeat(2048));
    expect(r.header('connection')).toBe('close');
  });

  it('does nothing when it is not lower, or the body is chunked', async () => {
    expect((await post('/bar?n=10', 'hello', 'Connection: close\r\n')).body).toBe('hello');
    const chunked = await srv.request('POST /lua HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n');
    expect(chunked.body).toBe('abcdef\n');
  });
});
