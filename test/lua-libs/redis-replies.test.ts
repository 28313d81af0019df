// resty.redis's native reply reading (tsresty.redis call/read_reply over the cosocket's
// one-message reads) against a scripted RESP peer: every reply shape, replies that arrive a byte at
// a time, bytes that are no reply, timeouts (closing or keeping the connection and the partial
// reply), a command too large to be written at once, and the natively implemented methods (new,
// connect, set_timeout(s), set_keepalive, get_reused_times).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import { startTsresty, cosocketsAvailable } from './support.js';
import type { TestServer } from '../support/server.js';

const run = cosocketsAvailable();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Parse the complete RESP commands at the start of `buf`: [commands, bytes used]. */
function parseCommands(buf: Buffer): [Buffer[][], number] {
  const cmds: Buffer[][] = [];
  let pos = 0;
  for (;;) {
    const nl = buf.indexOf('\r\n', pos);
    if (nl < 0 || buf[pos] !== 42) return [cmds, pos];
    const n = Number(buf.toString('latin1', pos + 1, nl));
    let p = nl + 2;
    const args: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const e = buf.indexOf('\r\n', p);
      if (e < 0) return [cmds, pos];
      const len = Number(buf.toString('latin1', p + 1, e));
      if (e + 2 + len + 2 > buf.length) return [cmds, pos];
      args.push(buf.subarray(e + 2, e + 2 + len));
      p = e + 2 + len + 2;
    }
    cmds.push(args);
    pos = p;
  }
}

const REPLIES: Record<string, string> = {
  status: '+OK\r\n',
  multi: '+OK\r\n',
  err: '-WRONGTYPE Operation against a key\r\n',
  int: ':-42\r\n',
  bulk: '$7\r\na\r\nb\0cd\r\n',
  nilbulk: '$-1\r\n',
  nilarr: '*-1\r\n',
  emptyarr: '*0\r\n',
  nested: '*4\r\n$1\r\na\r\n*2\r\n:1\r\n-ERR inner\r\n$-1\r\n+fine\r\n',
  garbage: '?what\r\n',
  badarr: '*2\r\n:1\r\n!x\r\n',
  empty: '\r\n',
  crfirst: '\r+OK\r\n',
  slow: '*2\r\n$5\r\nhello\r\n:7\r\n',
  nest50: '*1\r\n'.repeat(50) + ':1\r\n',
  deep: '*1\r\n'.repeat(150) + ':1\r\n',
};

let peer: net.Server;
let peerPort = 0;
let srv: TestServer;

async function startPeer(): Promise<void> {
  peer = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    const onData = async (d: Buffer): Promise<void> => {
      buf = Buffer.concat([buf, d]);
      const [cmds, used] = parseCommands(buf);
      buf = buf.subarray(used);
      for (const args of cmds) {
        const name = args[0].toString();
        if (name === 'never') continue;
        if (name === 'partial') {
          s.write('$10\r\nhel');
          await sleep(300);
          s.write('lo12345\r\n');
        } else if (name === 'slow') {
          for (const c of REPLIES.slow) {
            s.write(c);
            await sleep(2);
          }
        } else if (name === 'size') {
          s.write(`:${args[1].length}\r\n`);
        } else s.write(REPLIES[name] ?? '-ERR unknown\r\n');
      }
    };
    s.on('data', (d) => void onData(d));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', () => r()));
  peerPort = (peer.address() as net.AddressInfo).port;
}

describe.skipIf(!run)('resty.redis replies (scripted peer)', () => {
  beforeAll(async () => {
    await startPeer();
    srv = await startTsresty(`
        location = /shapes {
            content_by_lua_block {
                local cjson = require "cjson"
                local red = require("resty.redis"):new()
                red:set_timeouts(1000, 1000, 1000)
                assert(red:connect("127.0.0.1", ${peerPort}))
                red:add_commands("status", "err", "int", "bulk", "nilbulk", "nilarr", "emptyarr",
                                 "nested", "garbage", "badarr", "empty", "slow", "size", "crfirst",
                                 "nest50", "deep")
                local function show(name, ...)
                    local n = select("#", ...)
                    local out = {}
                    for i = 1, n do
                        local v = select(i, ...)
                        if v == ngx.null then v = "null"
                        elseif type(v) == "table" then v = cjson.encode(v)
                        elseif v == nil then v = "nil"
                        else v = type(v) .. ":" .. tostring(v):gsub("%c", function(c) return "<" .. c:byte() .. ">" end) end
                        out[i] = v
                    end
                    ngx.say(name, " ", table.concat(out, " "))
                end
                for _, c in ipairs({ "status", "err", "int", "bulk", "nilbulk", "nilarr", "emptyarr",
                                     "nested", "slow" }) do
                    show(c, red[c](red))
                end
                show("size", red:size(string.rep("x", 70000)))
                show("garbage", red:garbage())
                show("empty", red:empty())
                show("badarr", red:badarr())
                show("crfirst", red:crfirst())
                local v = red:nest50()
                local depth = 0
                while type(v) == "table" do depth = depth + 1 v = v[1] end
                ngx.say("nest50 ", depth, " ", v)
                show("deep", red:deep())
                show("status after deep", red:status())
                red:close()
            }
        }
        location = /timeout {
            content_by_lua_block {
                local red = require("resty.redis"):new()
                red:set_timeouts(1000, 1000, 100)
                assert(red:connect("127.0.0.1", ${peerPort}))
                red:add_commands("never", "status")
                local t = table.pack(red:never())
                ngx.say("never: ", t.n, " ", t[2])
                ngx.say("after: ", select(2, red:status()))
            }
        }
        location = /partial {
            content_by_lua_block {
                local native = require "tsresty.redis"
                local sock = ngx.socket.tcp()
                sock:settimeout(100)
                assert(sock:connect("127.0.0.1", ${peerPort}))
                sock:send(native.gen_req("partial"))
                ngx.say("first: ", select(2, native.read_reply(sock, false)))
                sock:settimeout(1000)
                ngx.say("then: ", native.read_reply(sock, false))
                sock:send(native.gen_req("partial"))
                sock:settimeout(100)
                ngx.say("closing: ", select(2, native.read_reply(sock, true)))
                ngx.say("after: ", select(2, sock:send("x")))
            }
        }
        location = /genreq {
            content_by_lua_block {
                local native = require "tsresty.redis"
                -- an argument whose tostring encodes a command itself, and one whose tostring fails
                local nested = setmetatable({}, { __tostring = function() return native.gen_req("inner", "x") end })
                local req = native.gen_req("set", "k", nested, "after")
                ngx.say((req:gsub("\\r\\n", "|")))
                local bad = setmetatable({}, { __tostring = function() return {} end })
                ngx.say(pcall(native.gen_req, "set", "k", bad))
                ngx.say((native.gen_req("get", "k"):gsub("\\r\\n", "|")))
            }
        }

        location = /methods {
            content_by_lua_block {
                local redis = require "resty.redis"
                local bare = setmetatable({}, getmetatable(redis:new()))
                local ok, err = pcall(function() bare:set_timeout(10) end)
                ngx.say("set_timeout: ", ok, " ", err)
                ngx.say("connect: ", bare:connect("127.0.0.1", ${peerPort}))
                ngx.say("set_keepalive: ", bare:set_keepalive())
                ngx.say("get_reused_times: ", bare:get_reused_times())
                local red = redis:new()
                red:set_timeouts(1000, 1000, 1000)
                red:add_commands("status")
                ngx.say("first: ", red:connect("127.0.0.1", ${peerPort}), " ", red:get_reused_times())
                red:init_pipeline()
                red:status()
                ngx.say("keepalive: ", red:set_keepalive(10000, 5))
                -- reconnecting drops the pipeline: commands run at once again
                ngx.say("again: ", red:connect("127.0.0.1", ${peerPort}), " ", red:get_reused_times())
                ngx.say("status: ", red:status())
                red:multi()
                ngx.say("in tx: ", select(2, red:set_keepalive()))
                ngx.say("options: ", red:connect("127.0.0.1", ${peerPort}, { pool = "other" }), " ", red:get_reused_times())
                ngx.say("unix, port ignored: ", select(2, red:connect("unix:/nonexistent/redis.sock", 6379)))
            }
        }
        location = /pooled {
            content_by_lua_block {
                local red = require("resty.redis"):new()
                red:set_timeouts(1000, 1000, 100)
                assert(red:connect("127.0.0.1", ${peerPort}, { pool = "timers" }))
                red:add_commands("status", "never")
                local reused = red:get_reused_times()
                local res, err
                if ngx.var.arg_step == "ok" then
                    res, err = red:status()
                    red:set_keepalive(10000, 5)
                else
                    res, err = red:never()
                end
                ngx.say(reused, " ", res, " ", err)
            }
        }
        location = /big {
            content_by_lua_block {
                local red = require("resty.redis"):new()
                red:set_timeouts(1000, 5000, 5000)
                assert(red:connect("127.0.0.1", ${peerPort}))
                red:add_commands("size")
                local big = string.rep("y", 8 * 1024 * 1024)
                ngx.say("big: ", red:size(big)) -- more than the socket takes at once: send waits
                ngx.say("next: ", red:size("ab"))
                red:close()
            }
        }`, { http: '    lua_socket_log_errors off;' });
  });

  afterAll(async () => {
    await srv?.stop();
    peer?.close();
  });

  async function get(p: string): Promise<string> {
    const r = await srv.request(p, { timeoutMs: 15000 });
    expect(r.status).toBe(200);
    return r.body;
  }

  it('every reply shape, one arriving a byte at a time, and bytes that are no reply', async () => {
    expect((await get('/shapes')).split('\n')).toEqual([
      'status string:OK',
      'err boolean:false string:WRONGTYPE Operation against a key',
      'int number:-42',
      'bulk string:a<13><10>b<0>cd',
      'nilbulk null',
      'nilarr null',
      'emptyarr {}',
      'nested ["a",[1,[false,"ERR inner"]],null,"fine"]',
      'slow ["hello",7]',
      'size number:70000',
      'garbage nil string:unknown prefix: "63"',
      'empty nil string:unknown prefix: "nil"',
      'badarr nil string:unknown prefix: "33"',
      'crfirst string:OK',
      'nest50 50 1',
      'deep nil string:reply nested too deeply',
      'status after deep string:OK',
      '',
    ]);
  });

  it('a read timeout gives nil, "timeout" and closes the connection', async () => {
    expect(await get('/timeout')).toBe('never: 2 timeout\nafter: closed\n');
  });

  it('read_reply keeps a partial reply across a timeout when asked not to close', async () => {
    expect(await get('/partial')).toBe('first: timeout\nthen: hello12345\nclosing: timeout\nafter: closed\n');
  });

  it('gen_req: an argument converted by Lua code that encodes a command too, and one that fails', async () => {
    const inner = '*2|$5|inner|$1|x|'; // 22 bytes with its CRLFs
    expect((await get('/genreq')).split('\n')).toEqual([
      `*4|$3|set|$1|k|$${inner.length + 5}|${inner}|$5|after|`,
      "false'__tostring' must return a string",
      '*2|$3|get|$1|k|',
      '',
    ]);
  });

  it('the native methods: no socket, reconnecting a used object, options, unix paths', async () => {
    const lines = (await get('/methods')).split('\n');
    expect(lines[0]).toMatch(/^set_timeout: false content_by_lua\(nginx\.conf:\d+\):\d+: not initialized$/);
    expect(lines.slice(1)).toEqual([
      'connect: nilnot initialized',
      'set_keepalive: nilnot initialized',
      'get_reused_times: nilnot initialized',
      'first: 1 0',
      'keepalive: 1',
      'again: 1 1',
      'status: OK',
      'in tx: in transaction',
      'options: 1 0',
      'unix, port ignored: no such file or directory',
      '',
    ]);
  });

  it('a pooled connection keeps timing out reads, also after its timer fired while idle', async () => {
    expect(await get('/pooled?step=ok')).toBe('0 OK nil\n');
    expect(await get('/pooled?step=ok')).toBe('1 OK nil\n');
    await sleep(250); // the connection's read timer (100 ms) fires while it is idle
    expect(await get('/pooled?step=ok')).toBe('2 OK nil\n');
    expect(await get('/pooled?step=never')).toBe('3 nil timeout\n');
    expect(await get('/pooled?step=ok')).toBe('0 OK nil\n'); // the timed-out one was closed
    expect(await get('/pooled?step=never')).toBe('1 nil timeout\n');
  });

  it('a command too large to be written at once is sent, then its reply read', async () => {
    expect(await get('/big')).toBe(`big: ${8 * 1024 * 1024}\nnext: 2\n`);
  });
});
