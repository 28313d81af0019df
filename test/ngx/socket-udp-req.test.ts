// UDP cosockets against a real dgram peer, and ngx.req.socket() (request body reader and the raw
// client connection), driven over real client sockets.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { startServer, parseResponse, type TestServer } from '../support/server.js';

let udp: dgram.Socket;
let udpPort = 0;
let deadPort = 0;
let srv: TestServer;

const lua = (body: string): string => `content_by_lua_block {\n${body}\n}`;

/** Send raw pieces with pauses between them; resolve with everything received until close. */
function rawClient(port: number, pieces: (string | number)[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, timeoutMs);
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on('error', () => {});
    s.on('connect', async () => {
      for (const p of pieces) {
        if (typeof p === 'number') await new Promise((r) => setTimeout(r, p));
        else if (!s.destroyed) s.write(p, 'latin1');
      }
    });
  });
}

beforeAll(async () => {
  udp = dgram.createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const text = msg.toString('latin1');
    const reply = (): void => {
      udp.send(Buffer.from(`echo: ${text}`, 'latin1'), rinfo.port, rinfo.address);
    };
    if (text.startsWith('late')) setTimeout(reply, 150);
    else if (text.startsWith('two')) {
      reply();
      reply();
    } else if (!text.startsWith('mute')) reply();
  });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
  udpPort = (udp.address() as net.AddressInfo).port;
  const probe = dgram.createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
  deadPort = (probe.address() as net.AddressInfo).port;
  probe.close();
  srv = await startServer(`
        location /udp { ${lua(`
            local u = ngx.socket.udp()
            ngx.say("send before peer: ", u:send("x"))
            ngx.say("peer: ", u:setpeername("127.0.0.1", ${udpPort}))
            ngx.say("send: ", u:send({ "hello", " ", 42 }))
            ngx.say("recv: ", u:receive())
            u:send("two")
            ngx.say("recv: ", u:receive())
            ngx.say("recv 4: ", u:receive(4))
            u:settimeout(50)
            u:send("late")
            ngx.say("late: ", u:receive())
            u:settimeout(1000)
            ngx.say("late again: ", u:receive())
            ngx.say("close: ", u:close())
            ngx.say("recv after close: ", u:receive())
        `)} }
        location /udp-refused { ${lua(`
            local u = ngx.socket.udp()
            u:settimeout(1000)
            assert(u:setpeername("127.0.0.1", ${deadPort}))
            u:send("anyone?")
            ngx.say(u:receive())
        `)} }
        location /udp-badport { ${lua(`
            local u = ngx.socket.udp()
            ngx.say(u:setpeername("127.0.0.1", 65536))
            ngx.say(u:setpeername("localhost", ${udpPort}))
            u:send("mute")
            u:settimeout(20)
            ngx.say(u:receive())
        `)} }
        location /body { ${lua(`
            local sock, err = ngx.req.socket()
            if not sock then ngx.say("no socket: ", err) return end
            sock:settimeout(1000)
            ngx.say("again: ", select(2, ngx.req.socket()))
            local reader = sock:receiveuntil("--")
            ngx.say("until: ", reader())
            ngx.say("chunk: ", sock:receive(3))
            local d, err, part = sock:receive(100)
            ngx.say("rest: ", d, " ", err, " [", part, "]")
        `)} }
        location /body-timeout { ${lua(`
            local sock = assert(ngx.req.socket())
            sock:settimeout(100)
            local d, err, part = sock:receive(10)
            ngx.say(d, " ", err, " [", part, "]")
            d, err, part = sock:receive(10)
            ngx.say(d, " ", err, " [", part, "]")
        `)} }
        location /raw { ${lua(`
            ngx.req.read_body()
            local sock, err = ngx.req.socket(true)
            if not sock then ngx.log(ngx.ERR, "no raw socket: ", err) return end
            ngx.log(ngx.WARN, "dup: ", select(2, ngx.req.socket(true)))
            ngx.log(ngx.WARN, "say/flush/eof: ", select(2, ngx.say("x")), "|", select(2, ngx.flush()), "|", select(2, ngx.eof()))
            local line = sock:receive()
            sock:send("HTTP/1.1 200 OK\\r\\nContent-Length: " .. (#line + 6) .. "\\r\\n\\r\\n")
            sock:send({ "got: ", line, "\\n" })
        `)} }
  `);
});

afterAll(async () => {
  await srv?.stop();
  udp?.close();
});

describe('udp cosocket', () => {
  it('setpeername/send/receive/settimeout/close', async () => {
    const r = await srv.request('/udp');
    expect(r.body).toBe(
      'send before peer: nilclosed\npeer: 1\nsend: 1\nrecv: echo: hello 42\nrecv: echo: two\nrecv 4: echo\n' +
        'late: niltimeout\nlate again: echo: late\nclose: 1\nrecv after close: nilclosed\n',
    );
    expect(srv.errorLog()).toContain('lua udp socket read timed out');
  });

  it('an ICMP port unreachable shows up as "connection refused"', async () => {
    const r = await srv.request('/udp-refused');
    expect(r.body).toBe('nilconnection refused\n');
    expect(srv.errorLog()).toMatch(/recv\(\) failed \(111: Connection refused\)/);
  });

  it('bad ports and host names', async () => {
    const r = await srv.request('/udp-badport');
    expect(r.body).toBe('nilbad port number: 65536\n1\nniltimeout\n');
  });
});

describe('ngx.req.socket', () => {
  it('reads the request body as it arrives, stopping at Content-Length', async () => {
    const body = 'abc--defghi';
    const out = await rawClient(srv.port, [
      `POST /body HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\nab`, 100, 'c--d', 100, 'efghi',
    ]);
    expect(parseResponse(out).body).toBe('again: request body already exists\nuntil: abc\nchunk: def\nrest: nil closed [ghi]\n');
  });

  it('no body / chunked bodies', async () => {
    expect((await srv.request('/body')).body).toBe('no socket: no body\n');
    const out = await rawClient(srv.port, ['POST /body HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n']);
    expect(parseResponse(out).body).toBe('no socket: chunked request bodies not supported yet\n');
  });

  it('body read timeouts return the partial data', async () => {
    const out = await rawClient(srv.port, ['POST /body-timeout HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 100\r\n\r\nhello'], 3000);
    expect(parseResponse(out).body).toBe('nil timeout [hello]\nnil timeout []\n');
  });

  it('raw mode takes the connection over', async () => {
    const out = await rawClient(srv.port, ['POST /raw HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz', 50, 'ping\r\n']);
    expect(out).toBe('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\ngot: ping\n');
    expect(srv.errorLog()).toContain('dup: duplicate call');
    expect(srv.errorLog()).toContain('say/flush/eof: raw request socket acquired|raw request socket acquired|raw request socket acquired');
  });
});
