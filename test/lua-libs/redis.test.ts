// resty.redis against a real redis-server through a real tsresty server: commands and reply
// types, counters under concurrency, pipelines, pub/sub, transactions, pooled connections
// (get_reused_times rising), timeouts, unix sockets, and the server dying mid-request.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startTsresty, startRedis, cosocketsAvailable, type Redis } from './support.js';
import type { TestServer } from '../support/server.js';

const run = cosocketsAvailable();

let redis: Redis;
let redisUnix: Redis & { sock: string };
let srv: TestServer;

const prelude = (port: () => number) => `
                local redis = require "resty.redis"
                local cjson = require "cjson"
                local red = redis:new()
                red:set_timeouts(1000, 1000, 1000)
                local ok, err = red:connect("127.0.0.1", ${port()})
                if not ok then
                    ngx.say("failed to connect: ", err)
                    return
                end`;

function loc(name: string, body: string): string {
  return `
        location = /${name} {
            content_by_lua_block {
${prelude(() => redis.port)}
${body}
            }
        }`;
}

describe.skipIf(!run)('resty.redis', () => {
  beforeAll(async () => {
    redis = await startRedis();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-redis-'));
    const sock = path.join(dir, 'redis.sock');
    const r2 = await startRedis(['--unixsocket', sock, '--unixsocketperm', '700']);
    redisUnix = Object.assign(r2, { sock });
    srv = await startTsresty(
      [
        loc('basic', `
                ngx.say("set: ", red:set("dog", "an animal"))
                ngx.say("get: ", red:get("dog"))
                ngx.say("missing is null: ", red:get("nokey") == ngx.null)
                local res, err = red:hget("dog", "x")
                ngx.say("wrongtype: ", res, " ", err)
                ngx.say("del: ", red:del("list"))
                ngx.say("rpush: ", red:rpush("list", "a", "b", 3))
                ngx.say("lrange: ", cjson.encode(red:lrange("list", 0, -1)))
                ngx.say("empty lrange: ", cjson.encode(red:lrange("nolist", 0, -1)))
                ngx.say("big: ", red:incrby("bigc", 3000000000))
                ngx.say("binary: ", red:set("bin", "a\\0b\\r\\nc"), " ", #red:get("bin"))
                local res, err = red:nosuchcommand("x")
                ngx.say("unknown: ", res, " ", err ~= nil)
                ngx.say("client setname: ", red:client("setname", "tsresty"))
                ngx.say("close: ", red:close())
                ngx.say("after close: ", red:get("dog"))`),
        loc('counter', `
                local n, err = red:incr("counter")
                if not n then ngx.say("err: ", err) return end
                ngx.say(n)
                red:set_keepalive(10000, 10)`),
        loc('pipeline', `
                red:del("p1", "plist")
                red:init_pipeline()
                red:set("p1", "v1")
                red:get("p1")
                red:incr("p1")
                red:lpush("plist", "x")
                red:get("nokey")
                local results, err = red:commit_pipeline()
                if not results then ngx.say("commit failed: ", err) return end
                for i, r in ipairs(results) do
                    if r == ngx.null then
                        ngx.say(i, ": null")
                    elseif type(r) == "table" then
                        ngx.say(i, ": ", tostring(r[1]), " ", r[2])
                    else
                        ngx.say(i, ": ", tostring(r))
                    end
                end
                ngx.say("again: ", red:commit_pipeline())
                red:init_pipeline()
                red:set("never", "sent")
                red:cancel_pipeline()
                ngx.say("cancelled: ", red:get("never") == ngx.null)
                red:close()`),
        loc('pubsub', `
                local red2 = redis:new()
                red2:set_timeouts(1000, 1000, 1000)
                assert(red2:connect("127.0.0.1", ${'${PORT}'}))
                ngx.say("read before subscribe: ", select(2, red:read_reply()))
                local res, err = red:subscribe("dog")
                ngx.say("1: subscribe: ", cjson.encode(res))
                ngx.say("get while subscribed: ", select(2, red:get("x")))
                ngx.say("keepalive while subscribed: ", select(2, red:set_keepalive()))
                ngx.say("2: publish: ", red2:publish("dog", "Hello"))
                res = red:read_reply()
                ngx.say("1: receive: ", cjson.encode(res))
                red:set_timeouts(1000, 1000, 50)
                ngx.say("1: idle read: ", select(2, red:read_reply()))
                red:set_timeouts(1000, 1000, 1000)
                res = red:psubscribe("ca*", "co*")
                ngx.say("1: psubscribe: ", cjson.encode(res))
                red2:publish("cat", "meow")
                res = red:read_reply()
                ngx.say("1: receive: ", cjson.encode(res))
                res = red:subscribe("a", "b")
                ngx.say("1: subscribe two: ", cjson.encode(res))
                res = red:unsubscribe()
                local names = {}
                for i, r in ipairs(res) do names[i] = r[2] end
                table.sort(names)
                ngx.say("1: unsubscribe: ", #res, " ", table.concat(names, ","), " ", res[3][3])
                res = red:punsubscribe()
                ngx.say("1: punsubscribe: ", cjson.encode(res))
                ngx.say("1: get after: ", red:get("dog"))
                ngx.say("1: keepalive: ", red:set_keepalive())
                red2:close()`),
        loc('reuse', `
                ngx.say(red:get_reused_times())
                local ok, err = red:set_keepalive(10000, 10)
                if not ok then ngx.say("keepalive failed: ", err) end`),
        loc('timeout', `
                red:set_timeouts(1000, 1000, 100)
                local res, err = red:blpop("emptyq", 2)
                ngx.say("blpop: ", res, " ", err)
                ngx.say("next: ", select(2, red:get("dog")))
                ngx.say("keepalive: ", select(2, red:set_keepalive()))`),
        loc('killed', `
                red:set_timeouts(1000, 1000, 10000)
                local res, err = red:blpop("never", 0)
                ngx.say("blpop: ", res, " ", err)`),
        loc('hash', `
                red:del("h")
                ngx.say(red:hmset("h", { a = "1", b = "2" }))
                ngx.say(red:hmset("h", "c", "3", "d", "4"))
                ngx.say(cjson.encode(red:hmget("h", "a", "c", "zz")))
                ngx.say(cjson.encode(red:hmget("h", { "b", "d" })))
                local h = red:array_to_hash(red:hgetall("h"))
                ngx.say(h.a, h.b, h.c, h.d)
                red:close()`),
        loc('tx', `
                ngx.say("multi: ", red:multi())
                ngx.say("set: ", red:set("a", "abc"))
                ngx.say("lpop: ", red:lpop("a"))
                ngx.say("keepalive in tx: ", select(2, red:set_keepalive()))
                ngx.say("exec: ", cjson.encode(red:exec()))
                ngx.say("keepalive: ", red:set_keepalive())`),
        `
        location = /unix {
            content_by_lua_block {
                local redis = require "resty.redis"
                local red = redis:new()
                local ok, err = red:connect("unix:${'${SOCK}'}")
                if not ok then ngx.say("failed: ", err) return end
                ngx.say(red:ping())
                red:set_keepalive()
                red = redis:new()
                ok, err = red:connect("unix:${'${SOCK}'}", { pool_size = 5 })
                ngx.say(ok, " ", red:get_reused_times())
                red:close()
            }
        }
        location = /dbopt {
            content_by_lua_block {
                local redis = require "resty.redis"
                local red = redis:new()
                local ok, err = red:connect("127.0.0.1", ${'${PORT}'}, { db = 2 })
                if not ok then ngx.say("failed: ", err) return end
                red:set("indb2", "yes")
                ngx.say(red:get_reused_times(), " ", red:get("indb2"))
                red:set_keepalive()
                local plain = redis:new()
                plain:connect("127.0.0.1", ${'${PORT}'})
                ngx.say("db0 reused: ", plain:get_reused_times(), " ", plain:get("indb2") == ngx.null)
                plain:close()
                red = redis:new()
                red:connect("127.0.0.1", ${'${PORT}'}, { db = 2 })
                ngx.say("db2 reused: ", red:get_reused_times(), " ", red:get("indb2"))
                red:close()
                local bad = redis:new()
                ngx.say(bad:connect("127.0.0.1", ${'${PORT}'}, { db = 99 }))
                ngx.say(bad:connect("127.0.0.1", ${'${PORT}'}, { password = "nope", pool = "authtest" }))
            }
        }
        location = /refused {
            content_by_lua_block {
                local red = require("resty.redis"):new()
                red:set_timeouts(500, 500, 500)
                ngx.say(red:connect("127.0.0.1", ${'${PORT}'}))
            }
        }`.replace(/\$\{SOCK\}/g, sock),
      ]
        .join('\n')
        .replace(/\$\{PORT\}/g, String(redis.port)),
      { http: '    lua_socket_log_errors off;' },
    );
  });

  afterAll(async () => {
    await srv?.stop();
    await redis?.stop();
    await redisUnix?.stop();
  });

  async function get(p: string): Promise<string> {
    const r = await srv.request(p, { timeoutMs: 10000 });
    expect(r.status).toBe(200);
    return r.body;
  }

  it('commands and every reply type', async () => {
    expect(await get('/basic')).toBe(
      [
        'set: OK',
        'get: an animal',
        'missing is null: true',
        'wrongtype: false WRONGTYPE Operation against a key holding the wrong kind of value',
        'del: 0',
        'rpush: 3',
        'lrange: ["a","b","3"]',
        'empty lrange: {}',
        'big: 3000000000',
        'binary: OK 6',
        'unknown: false true',
        'client setname: OK',
        'close: 1',
        'after close: nilclosed',
        '',
      ].join('\n'),
    );
  });

  it('counts exactly under concurrent requests', async () => {
    await redis.command('DEL', 'counter');
    const bodies = await Promise.all(Array.from({ length: 30 }, () => get('/counter')));
    const values = bodies.map((b) => Number(b.trim())).sort((a, b) => a - b);
    expect(values).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(await redis.command('GET', 'counter')).toBe('$2\r\n30\r\n');
  });

  it('pipelines send everything at once and collect every reply', async () => {
    expect(await get('/pipeline')).toBe(
      [
        '1: OK',
        '2: v1',
        '3: false ERR value is not an integer or out of range',
        '4: 1',
        '5: null',
        'again: nilno pipeline',
        'cancelled: true',
        '',
      ].join('\n'),
    );
  });

  it('pub/sub: subscribe, publish, read_reply, patterns, unsubscribe', async () => {
    expect(await get('/pubsub')).toBe(
      [
        'read before subscribe: not subscribed',
        '1: subscribe: ["subscribe","dog",1]',
        'get while subscribed: subscribed state',
        'keepalive while subscribed: subscribed state',
        '2: publish: 1',
        '1: receive: ["message","dog","Hello"]',
        '1: idle read: timeout',
        '1: psubscribe: [["psubscribe","ca*",2],["psubscribe","co*",3]]',
        '1: receive: ["pmessage","ca*","cat","meow"]',
        '1: subscribe two: [["subscribe","a",4],["subscribe","b",5]]',
        '1: unsubscribe: 3 a,b,dog 2',
        '1: punsubscribe: [["punsubscribe","ca*",1],["punsubscribe","co*",0]]',
        '1: get after: an animal',
        '1: keepalive: 1',
        '',
      ].join('\n'),
    );
  });

  it('set_keepalive pools the connection: get_reused_times rises', async () => {
    const times: number[] = [];
    for (let i = 0; i < 4; i++) times.push(Number((await get('/reuse')).trim()));
    expect(times[0]).toBeGreaterThanOrEqual(0);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBe(times[i - 1] + 1);
  });

  it('a read timeout closes the connection', async () => {
    expect(await get('/timeout')).toBe('blpop: nil timeout\nnext: closed\nkeepalive: closed\n');
  });

  it('hmset/hmget with tables, array_to_hash', async () => {
    expect(await get('/hash')).toBe('OK\nOK\n["1","3",null]\n["2","4"]\n1234\n');
  });

  it('transactions, and no keepalive inside one', async () => {
    expect(await get('/tx')).toBe(
      'multi: OK\nset: QUEUED\nlpop: QUEUED\nkeepalive in tx: in transaction\n' +
        'exec: ["OK",[false,"WRONGTYPE Operation against a key holding the wrong kind of value"]]\nkeepalive: 1\n',
    );
  });

  it('unix domain sockets, pooled too', async () => {
    expect(await get('/unix')).toBe('PONG\n1 1\n');
  });

  it('db option: SELECT on new connections, a pool per database, errors', async () => {
    const body = await get('/dbopt');
    const lines = body.split('\n');
    expect(lines[0]).toBe('0 yes');
    expect(lines[1]).toMatch(/^db0 reused: \d+ true$/);
    expect(lines[2]).toBe('db2 reused: 1 yes');
    expect(lines[3]).toMatch(/^nilfailed to select database 99: ERR DB index is out of range$/);
    expect(lines[4]).toMatch(/^nilfailed to authenticate: (ERR|WRONGPASS)/);
  });

  it('the server dying mid-request gives a clean error; the worker keeps serving', async () => {
    const pending = get('/killed');
    await new Promise((r) => setTimeout(r, 300));
    await redis.stop();
    const body = await pending;
    expect(body).toMatch(/^blpop: nil (closed|connection reset by peer)\n$/);
    expect(await get('/refused')).toBe('nilconnection refused\n');
    // the server itself is fine
    const r = await srv.request('/');
    expect(r.status).toBeGreaterThan(0);
  });
});
