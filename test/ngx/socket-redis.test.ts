// Raw RESP over TCP cosockets against a real redis-server (started by the test; skipped when
// redis-server is not installed): commands, pipelines, bulk replies read with receive(n), and
// connection reuse through the keepalive pool under concurrent requests.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startServer, request, type TestServer } from '../support/server.js';
import { startRedis, type RedisServer } from '../support/redis.js';

let redis: RedisServer | null = null;
let srv: TestServer;

const RESP_LIB = `
local function cmd(...)
    local args = { ... }
    local out = { "*", #args, "\\r\\n" }
    for _, a in ipairs(args) do
        a = tostring(a)
        out[#out + 1] = { "$", #a, "\\r\\n", a, "\\r\\n" }
    end
    return out
end

local function reply(sock)
    local line, err = sock:receive()
    if not line then return nil, err end
    local t, rest = line:sub(1, 1), line:sub(2)
    if t == "+" or t == "-" then return rest end
    if t == ":" then return tonumber(rest) end
    if t == "$" then
        local n = tonumber(rest)
        if n < 0 then return ngx.null end
        local data, err = sock:receive(n + 2)
        if not data then return nil, err end
        return data:sub(1, n)
    end
    if t == "*" then
        local res = {}
        for i = 1, tonumber(rest) do res[i] = reply(sock) end
        return res
    end
    return nil, "bad reply: " .. line
end

return { cmd = cmd, reply = reply }
`;

beforeAll(async () => {
  redis = await startRedis();
  if (!redis) return;
  srv = await startServer(
    `
        location /redis {
            content_by_lua_block {
                local resp = require "resp"
                local sock = ngx.socket.tcp()
                sock:settimeout(2000)
                assert(sock:connect("127.0.0.1", ${redis.port}))
                ngx.say("reused: ", sock:getreusedtimes())
                assert(sock:send(resp.cmd("SET", "k", "hello\\r\\nworld")))
                ngx.say("set: ", resp.reply(sock))
                sock:send(resp.cmd("GET", "k"))
                ngx.say("get: ", resp.reply(sock))
                sock:send(resp.cmd("GET", "missing"))
                ngx.say("missing: ", resp.reply(sock) == ngx.null)
                -- pipeline: three commands in one send, replies read back in order
                sock:send({ resp.cmd("DEL", "list"), resp.cmd("RPUSH", "list", "a", "b", "c"), resp.cmd("LRANGE", "list", 0, -1) })
                ngx.say("del: ", resp.reply(sock))
                ngx.say("rpush: ", resp.reply(sock))
                ngx.say("lrange: ", table.concat(resp.reply(sock), ","))
                sock:send(resp.cmd("BOGUS"))
                ngx.say("error: ", resp.reply(sock))
                ngx.say("keepalive: ", sock:setkeepalive(10000, 10))
            }
        }
        location /incr {
            content_by_lua_block {
                local resp = require "resp"
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", ${redis.port}))
                local reused = sock:getreusedtimes()
                sock:send(resp.cmd("INCR", "counter"))
                local n = resp.reply(sock)
                assert(sock:setkeepalive(10000, 4))
                ngx.say(n, " ", reused)
            }
        }
        location /get {
            content_by_lua_block {
                local resp = require "resp"
                local sock = assert(ngx.socket.connect("127.0.0.1", ${redis.port}))
                sock:send(resp.cmd("GET", "counter"))
                ngx.say(resp.reply(sock))
                sock:setkeepalive()
            }
        }
  `,
    { http: "lua_package_path '$prefix/html/?.lua;;';", files: { 'resp.lua': RESP_LIB } },
  );
});

afterAll(async () => {
  await srv?.stop();
  await redis?.stop();
});

describe('cosockets with redis-server', () => {
  it('speaks RESP: strings with CRLF, nil bulk, pipelines, errors', async () => {
    if (!redis) return;
    const r = await srv.request('/redis');
    expect(r.body).toMatch(
      /^reused: 0\nset: OK\nget: hello\r\nworld\nmissing: true\ndel: 0\nrpush: 3\nlrange: a,b,c\nerror: ERR unknown command 'BOGUS'.*\nkeepalive: 1\n$/,
    );
    const r2 = await srv.request('/redis');
    expect(r2.body.split('\n')[0]).toBe('reused: 1');
    expect(r2.body).toContain('del: 1\n');
  });

  it('concurrent requests share the keepalive pool and every INCR lands', async () => {
    if (!redis) return;
    const N = 40;
    const res = await Promise.all(Array.from({ length: N }, () => request(srv.port, '/incr')));
    const values = res.map((r) => Number(r.body.split(' ')[0])).sort((a, b) => a - b);
    expect(values).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(res.some((r) => Number(r.body.trim().split(' ')[1]) > 0)).toBe(true);
    expect((await srv.request('/get')).body).toBe(`${N}\n`);
  });
});
