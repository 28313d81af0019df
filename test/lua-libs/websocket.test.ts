// resty.websocket.server/client/protocol: a Lua client talking to a Lua server through one
// tsresty instance, and a hand-written RFC 6455 client in the test talking to the Lua server.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import * as crypto from 'node:crypto';
import { startTsresty, cosocketsAvailable } from './support.js';
import type { TestServer } from '../support/server.js';

const run = cosocketsAvailable();
let srv: TestServer;

describe.skipIf(!run)('resty.websocket', () => {
  beforeAll(async () => {
    srv = await startTsresty(`
        location = /ws {
            content_by_lua_block {
                local server = require "resty.websocket.server"
                local wb, err = server:new({ timeout = 5000, max_payload_len = 200000 })
                if not wb then
                    ngx.log(ngx.ERR, "failed to new websocket: ", err)
                    return ngx.exit(400)
                end
                while true do
                    local data, typ, err = wb:recv_frame()
                    if not data then
                        ngx.log(ngx.ERR, "failed to receive a frame: ", err)
                        return ngx.exit(444)
                    end
                    if typ == "close" then
                        wb:send_close(1000, "bye " .. tostring(err))
                        return
                    elseif typ == "ping" then
                        wb:send_pong(data)
                    elseif err == "again" or typ == "continuation" then
                        wb:send_text(typ .. (err and "/" .. err or "") .. ": " .. data)
                    elseif typ == "text" then
                        wb:send_text("echo: " .. data)
                    elseif typ == "binary" then
                        wb:send_binary(data)
                    end
                end
            }
        }
        location = /client {
            content_by_lua_block {
                local client = require "resty.websocket.client"
                local wb = client:new({ timeout = 5000, max_payload_len = 200000 })
                local ok, err = wb:connect("ws://127.0.0.1:" .. ngx.var.server_port .. "/ws")
                if not ok then ngx.say("connect: ", err) return end
                ngx.say(wb:send_text("hello"))
                local data, typ, err = wb:recv_frame()
                ngx.say(typ, " ", data, " ", err)
                wb:send_ping("p1")
                data, typ = wb:recv_frame()
                ngx.say(typ, " ", data)
                local big = string.rep("x", 70000)
                wb:send_binary(big)
                data, typ = wb:recv_frame()
                ngx.say(typ, " ", #data, " ", data == big)
                wb:send_frame(false, 0x1, "part1")
                data, typ, err = wb:recv_frame()
                ngx.say(typ, " ", data)
                wb:send_frame(true, 0x0, "part2")
                data, typ, err = wb:recv_frame()
                ngx.say(typ, " ", data)
                wb:send_close(1001, "going")
                data, typ, err = wb:recv_frame()
                ngx.say(typ, " ", data, " ", err)
                ngx.say(wb:send_text("late"))
                wb:close()
                local wb2 = client:new()
                assert(wb2:connect("ws://127.0.0.1:" .. ngx.var.server_port .. "/ws"))
                ngx.say(wb2:send_ping(string.rep("p", 126)))
                ngx.say(wb2:send_text("after a fatal error"))
                wb2.sock:close()
            }
        }
        location = /notws {
            content_by_lua_block {
                local wb, err = require("resty.websocket.server"):new()
                ngx.say(wb, " ", err)
            }
        }
        location = /plain {
            content_by_lua_block { ngx.say("plain") }
        }
        location = /badclient {
            content_by_lua_block {
                local client = require "resty.websocket.client"
                local wb = client:new()
                ngx.say(wb:connect("http://x"))
                wb = client:new({ timeout = 1000 })
                ngx.say(wb:connect("ws://127.0.0.1:" .. ngx.var.server_port .. "/plain"))
            }
        }`);
  });

  afterAll(async () => {
    await srv?.stop();
  });

  it('a Lua client and a Lua server exchange text, ping/pong, big binary, fragments and close', async () => {
    const r = await srv.request('/client', { timeoutMs: 15000 });
    expect(r.body).toBe(
      [
        '11',
        'text echo: hello nil',
        'pong p1',
        'binary 70000 true',
        'text text/again: part1',
        'text continuation: part2',
        'close bye 1001 1000',
        'nilalready closed',
        'niltoo much payload for control frame',
        'nilfatal error already happened',
        '',
      ].join('\n'),
    );
  });

  it('rejects plain requests and bad handshakes', async () => {
    expect((await srv.request('/notws')).body).toBe('nil bad "upgrade" request header: nil\n');
    const r = await srv.request('/badclient', { timeoutMs: 5000 });
    expect(r.body).toMatch(/^nilbad websocket uri\nnilbad HTTP response status line: HTTP\/1\.1 200/);
  });

  it('interoperates with an independent RFC 6455 client', async () => {
    const key = crypto.randomBytes(16).toString('base64');
    const sock = net.connect(srv.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const waitFor = (pred: () => boolean) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timeout, got ${buf.toString('latin1')}`)), 5000);
        const check = () => {
          if (pred()) {
            clearTimeout(t);
            sock.off('data', onData);
            resolve();
          }
        };
        const onData = (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          check();
        };
        sock.on('data', onData);
        check();
      });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(
      `GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n`,
    );
    await waitFor(() => buf.includes('\r\n\r\n'));
    const headEnd = buf.indexOf('\r\n\r\n');
    const head = buf.subarray(0, headEnd).toString('latin1');
    buf = buf.subarray(headEnd + 4);
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    expect(head.toLowerCase()).toContain(`sec-websocket-accept: ${accept.toLowerCase()}`);
    expect(head.toLowerCase()).toContain('upgrade: websocket');
    expect(head.toLowerCase()).toContain('sec-websocket-protocol: chat');

    const frame = (opcode: number, payload: Buffer, fin = true) => {
      const mask = crypto.randomBytes(4);
      const len = payload.length;
      const hdr = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len]) : Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 0xff]);
      const body = Buffer.from(payload.map((b, i) => b ^ mask[i & 3]));
      return Buffer.concat([hdr, mask, body]);
    };
    const readFrame = async () => {
      await waitFor(() => buf.length >= 2 && buf.length >= 2 + ((buf[1] & 0x7f) === 126 ? 2 : 0) + ((buf[1] & 0x7f) === 126 ? buf.readUInt16BE(2) : buf[1] & 0x7f));
      const masked = (buf[1] & 0x80) !== 0;
      let len = buf[1] & 0x7f;
      let p = 2;
      if (len === 126) {
        len = buf.readUInt16BE(2);
        p = 4;
      }
      const f = { fin: (buf[0] & 0x80) !== 0, opcode: buf[0] & 0x0f, masked, payload: buf.subarray(p, p + len) };
      buf = buf.subarray(p + len);
      return f;
    };
    sock.write(frame(1, Buffer.from('from node')));
    let f = await readFrame();
    expect(f).toMatchObject({ fin: true, opcode: 1, masked: false });
    expect(f.payload.toString()).toBe('echo: from node');
    const bin = crypto.randomBytes(1000);
    sock.write(frame(2, bin));
    f = await readFrame();
    expect(f.opcode).toBe(2);
    expect(Buffer.compare(f.payload, bin)).toBe(0);
    sock.write(frame(8, Buffer.from([0x03, 0xe8, 0x6f, 0x6b])));
    f = await readFrame();
    expect(f.opcode).toBe(8);
    expect(f.payload.readUInt16BE(0)).toBe(1000);
    expect(f.payload.subarray(2).toString()).toBe('bye 1000');
    sock.destroy();
  });
});
