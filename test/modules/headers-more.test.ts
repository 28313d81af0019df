import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(`
        more_set_headers 'X-Server-Level: yes';
        location /date { more_clear_headers Date; echo hi; }
        location /server { more_clear_headers Server Date; echo hi; }
        location /set {
            set $v 42;
            more_set_headers 'X-Foo: $v' 'X-Bar: bar';
            more_set_headers -s 404 'X-Only-404: 1';
            more_set_headers -t 'text/html' 'X-Only-Html: 1';
            echo hi;
        }
        location /replace {
            content_by_lua_block {
                ngx.header['X-A'] = {'1', '2'}
                ngx.header['X-B-1'] = 'b1'
                ngx.header['X-B-2'] = 'b2'
                ngx.say('ok')
            }
            more_set_headers 'X-A: 3';
            more_clear_headers 'X-B-*';
        }
        location /luatype {
            more_set_headers -t 'text/plain' 'X-Plain: 1';
            content_by_lua_block { ngx.say('hi') }
        }
        location /ctype { more_set_headers 'Content-Type: text/foo'; echo hi; }
        location /noctype { more_clear_headers Content-Type; echo hi; }
        location /in {
            set $x hello;
            more_set_input_headers 'X-In: $x' 'User-Agent: agent';
            more_set_input_headers -r 'X-Missing: no';
            more_clear_input_headers 'X-Drop';
            echo "[$http_x_in] [$http_user_agent] [$http_x_missing] [$http_x_drop]";
        }
  `);
});
afterAll(async () => {
  await srv?.stop();
});

describe('headers-more', () => {
  it('more_clear_headers Date', async () => {
    const r = await srv.request('/date');
    expect(r.header('date')).toBeUndefined();
    expect(r.header('server')).toBeDefined();
    expect(r.body).toBe('hi\n');
  });
  it('more_clear_headers Server Date', async () => {
    const r = await srv.request('/server');
    expect(r.header('date')).toBeUndefined();
    expect(r.header('server')).toBeUndefined();
  });
  it('more_set_headers with variables, -s and -t, and server-level commands', async () => {
    const r = await srv.request('/set');
    expect(r.header('x-foo')).toBe('42');
    expect(r.header('x-bar')).toBe('bar');
    expect(r.header('x-only-404')).toBeUndefined();
    expect(r.header('x-only-html')).toBeUndefined();
    expect(r.header('x-server-level')).toBe('yes');
  });
  it('replaces every value and clears wildcards', async () => {
    const r = await srv.request('/replace');
    expect(r.headers['x-a']).toEqual(['3']);
    expect(r.header('x-b-1')).toBeUndefined();
    expect(r.header('x-b-2')).toBeUndefined();
  });
  it('-t sees the default type of Lua content', async () => {
    expect((await srv.request('/luatype')).header('x-plain')).toBe('1');
  });
  it('Content-Type', async () => {
    expect((await srv.request('/ctype')).header('content-type')).toBe('text/foo');
    expect((await srv.request('/noctype')).header('content-type')).toBeUndefined();
  });
  it('input headers', async () => {
    const r = await srv.request('GET /in HTTP/1.1\r\nHost: x\r\nConnection: close\r\nUser-Agent: curl\r\nX-Drop: 1\r\n\r\n');
    expect(r.body).toBe('[hello] [agent] [] []\n');
  });
});
