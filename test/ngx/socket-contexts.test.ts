// Where cosockets may run: request phases and timers (sockets a timer leaves open are closed when
// it ends), forbidden elsewhere with OpenResty's message, and init_worker_by_lua with tsresty's
// lua_allow_cosocket_everywhere.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import { startServer, type TestServer } from '../support/server.js';

let peer: net.Server;
let port = 0;
let ended = 0;
let on: TestServer;
let off: TestServer;

const INIT = (p: number): string => `
    lua_shared_dict d 1m;
    init_worker_by_lua_block {
        local ok, err = pcall(function()
            local s = ngx.socket.tcp()
            assert(s:connect("127.0.0.1", ${p}))
            s:send("PING\\n")
            ngx.shared.d:set("init_worker", (s:receive()))
            s:close()
        end)
        if not ok then ngx.log(ngx.ERR, "init_worker cosocket: ", err) end
    }`;

const LOCATIONS = (p: number): string => `
    location /iw { content_by_lua_block { ngx.say(ngx.shared.d:get("init_worker")) } }
    location /timer {
        content_by_lua_block {
            ngx.timer.at(0, function()
                local s = ngx.socket.tcp()
                assert(s:connect("127.0.0.1", ${p}))
                s:send("PING\\n")
                ngx.shared.d:set("timer", (s:receive()))
                -- left open: closed when the timer ends
            end)
            ngx.say("scheduled")
        }
    }
    location /timer-result { content_by_lua_block { ngx.say(ngx.shared.d:get("timer")) } }
    location /filter {
        content_by_lua_block { ngx.say("body") }
        header_filter_by_lua_block {
            local ok, err = pcall(ngx.socket.tcp)
            ngx.log(ngx.ERR, "header filter: ", err)
        }
    }
    location /rewrite {
        rewrite_by_lua_block {
            local s = ngx.socket.tcp()
            assert(s:connect("127.0.0.1", ${p}))
            s:send("PING\\n")
            ngx.ctx.reply = s:receive()
            s:setkeepalive()
        }
        access_by_lua_block {
            local s = ngx.socket.tcp()
            assert(s:connect("127.0.0.1", ${p}))
            ngx.ctx.reused = s:getreusedtimes()
            s:close()
        }
        content_by_lua_block { ngx.say(ngx.ctx.reply, " ", ngx.ctx.reused) }
    }`;

async function poll(srv: TestServer, path: string, want: string): Promise<string> {
  let body = '';
  for (let i = 0; i < 60; i++) {
    body = (await srv.request(path)).body;
    if (body === want) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return body;
}

beforeAll(async () => {
  peer = net.createServer((s) => {
    s.on('error', () => {});
    s.on('end', () => {
      ended++;
      s.end();
    });
    s.on('data', (d) => {
      if (d.toString().includes('PING')) s.write('PONG\r\n');
    });
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', () => r()));
  port = (peer.address() as net.AddressInfo).port;
  on = await startServer(LOCATIONS(port), { http: `lua_allow_cosocket_everywhere on;\n${INIT(port)}` });
  off = await startServer(LOCATIONS(port), { http: INIT(port) });
});

afterAll(async () => {
  await on?.stop();
  await off?.stop();
  peer?.close();
});

describe('cosocket contexts', () => {
  it('rewrite/access/content share the request pool', async () => {
    expect((await off.request('/rewrite')).body).toBe('PONG 1\n');
  });

  it('timers may use cosockets; sockets they leave open close when they end', async () => {
    const before = ended;
    expect((await off.request('/timer')).body).toBe('scheduled\n');
    expect(await poll(off, '/timer-result', 'PONG\n')).toBe('PONG\n');
    for (let i = 0; i < 40 && ended === before; i++) await new Promise((r) => setTimeout(r, 25));
    expect(ended).toBeGreaterThan(before);
  });

  it('init_worker_by_lua: OpenResty error by default, allowed with lua_allow_cosocket_everywhere', async () => {
    expect(off.errorLog()).toContain('API disabled in the context of init_worker_by_lua*');
    expect(await poll(on, '/iw', 'PONG\n')).toBe('PONG\n');
    expect((await off.request('/iw')).body).toBe('nil\n');
  });

  it('header filters cannot wait, even with lua_allow_cosocket_everywhere', async () => {
    await on.request('/filter');
    expect(on.errorLog()).toContain('header filter: API disabled in the context of header_filter_by_lua*');
  });
});
