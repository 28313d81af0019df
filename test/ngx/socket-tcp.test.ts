// TCP cosockets against real peers on loopback: a scripted TCP peer (fixtures sent at once, one
// byte at a time, or never), an echo peer, a unix socket peer and a TLS peer with a certificate
// made at test time. Runs the built server (dist/cli.js) through test/support/server.ts.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { startServer, type TestServer } from '../support/server.js';

/** What the scripted peer sends for "FIX <name> [delay-ms] [keep]\n". */
const FIXTURES: Record<string, string> = {
  lines: 'hello\r\nwor\rld\r\nlast',
  crlf: 'a\r\n\r\nb\n',
  body: 'hello, world ----abc\n',
  dashes: '-----abc\n',
  abcabd: 'abcabcabd\n',
  http: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello',
  ten: '0123456789',
  big: 'abcdefghij'.repeat(100000),
};

interface Peer {
  server: net.Server;
  port: number;
  accepted: number;
  closedByClient: number;
  conns: Set<net.Socket>;
}

function listen(server: net.Server, arg: number | string): Promise<void> {
  return new Promise((resolve) => server.listen(arg as number, '127.0.0.1', () => resolve()));
}

/** The scripted peer: the first line picks what to do. */
async function scriptedPeer(): Promise<Peer> {
  const peer: Peer = { server: null as unknown as net.Server, port: 0, accepted: 0, closedByClient: 0, conns: new Set() };
  peer.server = net.createServer({ allowHalfOpen: true }, (s) => {
    peer.accepted++;
    peer.conns.add(s);
    let buf = '';
    let mode = '';
    s.on('error', () => {});
    s.on('end', () => {
      peer.closedByClient++;
      if (mode !== 'ECHO') s.end();
    });
    s.on('close', () => peer.conns.delete(s));
    s.on('data', (d) => {
      if (mode === 'ECHO') {
        s.write(d);
        return;
      }
      buf += d.toString('latin1');
      let nl: number;
      while (mode !== 'ECHO' && (nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        const [cmd, name, delayArg, keep] = line.split(' ');
        if (cmd === 'ECHO') {
          mode = 'ECHO';
          if (buf) s.write(buf, 'latin1');
          buf = '';
        } else if (cmd === 'FIX') {
          const data = Buffer.from(FIXTURES[name], 'latin1');
          const delay = Number(delayArg ?? 0);
          if (!delay) {
            s.write(data);
            if (keep !== 'keep') s.end();
          } else {
            let i = 0;
            const tick = (): void => {
              if (s.destroyed) return;
              if (i < data.length) {
                s.write(data.subarray(i, i + 1));
                i++;
                setTimeout(tick, delay);
              } else if (keep !== 'keep') s.end();
            };
            tick();
          }
        } else if (cmd === 'PING') {
          s.write('PONG\r\n');
        } else if (cmd === 'BYE') {
          s.end();
        } else if (cmd === 'LATER') {
          setTimeout(() => s.end(), 50);
        }
        // "SILENT" and anything else: never answer
      }
    });
  });
  await listen(peer.server, 0);
  peer.port = (peer.server.address() as net.AddressInfo).port;
  return peer;
}

let peer: Peer;
let tlsPeer: tls.Server;
let tlsPort = 0;
let unixPath = '';
let unixServer: net.Server;
let tmp = '';
let srv: TestServer;
let refusedPort = 0;
let blackhole: ChildProcess | null = null;
let blackholePort = 0;

/** A listening socket whose accept queue is full: connects to it hang (SYNs are dropped). */
function startBlackhole(): Promise<number> {
  const script = [
    'import socket, time',
    's = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(0)',
    'port = s.getsockname()[1]; cs = []',
    'for i in range(3):',
    '    c = socket.socket(); c.setblocking(False)',
    '    try: c.connect(("127.0.0.1", port))',
    '    except BlockingIOError: pass',
    '    cs.append(c)',
    'time.sleep(0.2); print(port, flush=True); time.sleep(120)',
  ].join('\n');
  return new Promise((resolve) => {
    try {
      blackhole = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      resolve(0);
      return;
    }
    blackhole.on('error', () => resolve(0));
    blackhole.stdout!.once('data', (d) => resolve(Number(String(d).trim())));
  });
}

function certificate(dir: string): { key: string; cert: string } | null {
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'),
      '-out', path.join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=test.example.com'], { stdio: 'ignore' });
    return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'latin1'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'latin1') };
  } catch {
    return null;
  }
}

const lua = (body: string): string => `content_by_lua_block {\n${body}\n}`;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-sock-'));
  peer = await scriptedPeer();
  // a port nobody listens on
  const probe = net.createServer();
  await listen(probe, 0);
  refusedPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  // unix socket peer: answers every line with "unix: <line>"
  unixPath = path.join(tmp, 'peer.sock');
  unixServer = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d) => s.write(`unix: ${d.toString().trim()}\n`));
  });
  await new Promise<void>((r) => unixServer.listen(unixPath, () => r()));
  // TLS peer: echoes lines prefixed by "tls: "
  const kc = certificate(tmp);
  if (kc) {
    tlsPeer = tls.createServer({ key: kc.key, cert: kc.cert }, (s) => {
      s.on('error', () => {});
      s.on('data', (d) => s.write(`tls: ${d.toString().trim()}\n`));
    });
    await listen(tlsPeer, 0);
    tlsPort = (tlsPeer.address() as net.AddressInfo).port;
  }
  blackholePort = await startBlackhole();
  const P = peer.port;
  srv = await startServer(`
        location /conntimeout { ${lua(`
            local sock = ngx.socket.tcp()
            sock:settimeout(150)
            ngx.say(sock:connect("127.0.0.1", ${blackholePort}))
            ngx.say(sock:send("x"))
        `)} }
        lua_socket_log_errors on;
        location /basic { ${lua(`
            local sock = ngx.socket.tcp()
            ngx.say("reused before connect: ", sock:getreusedtimes())
            local ok, err = sock:connect("127.0.0.1", ${P})
            ngx.say("connect: ", ok, " ", err)
            ngx.say("send: ", sock:send("FIX lines\\n"))
            ngx.say("line1: ", sock:receive())
            ngx.say("line2: [", sock:receive("*l"), "]")
            local l, err, part = sock:receive()
            ngx.say("line3: ", l, " ", err, " [", part, "]")
            ngx.say("again: ", sock:receive())
            ngx.say("close: ", sock:close())
            ngx.say("close again: ", sock:close())
        `)} }
        location /chunks { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}))
            sock:send("FIX ten\\n")
            ngx.say("zero: [", sock:receive(0), "]")
            ngx.say("3: ", sock:receive(3))
            ngx.say("4: ", sock:receive("4"))
            local d, err, part = sock:receive(5)
            ngx.say("5: ", d, " ", err, " ", part)
        `)} }
        location /all { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}))
            sock:send("FIX crlf\\n")
            ngx.say("first: [", sock:receive(), "]")
            ngx.say("all: [", sock:receive("*a"), "]")
            ngx.say("all again: [", sock:receive("*a"), "]")
        `)} }
        location /any { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}))
            sock:send("FIX ten 0 keep\\n")
            ngx.say("any: ", sock:receiveany(4))
            ngx.say("any: ", sock:receiveany(100))
            local ok, err = pcall(sock.receiveany, sock, 0)
            ngx.say("bad: ", err)
        `)} }
        location /slow { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}))
            sock:send("FIX " .. ngx.var.arg_fix .. " 5\\n")
            local reader = sock:receiveuntil(ngx.var.arg_pat)
            local size = tonumber(ngx.var.arg_size)
            for i = 1, 6 do
                local data, err, part
                if size then data, err, part = reader(size) else data, err, part = reader() end
                if data then ngx.say("read: ", data)
                else ngx.say("failed: ", err, " [", part, "]") end
            end
        `)} }
        location /until { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}))
            sock:send("FIX " .. ngx.var.arg_fix .. "\\n")
            local reader = sock:receiveuntil(ngx.var.arg_pat, { inclusive = ngx.var.arg_inc == "1" })
            local size = tonumber(ngx.var.arg_size)
            for i = 1, 6 do
                local data, err, part
                if size then data, err, part = reader(size) else data, err, part = reader() end
                if data then ngx.say("read: ", data)
                else ngx.say("failed: ", err, " [", part, "]") end
            end
        `)} }
        location /slowline { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}))
            sock:send("FIX http 3\\n")
            ngx.say("status: ", sock:receive())
            ngx.say("header: ", sock:receive())
            ngx.say("blank: [", sock:receive(), "]")
            ngx.say("body: ", sock:receive(5))
        `)} }
        location /timeout { ${lua(`
            local sock = ngx.socket.tcp()
            sock:settimeout(150)
            assert(sock:connect("127.0.0.1", ${P}))
            sock:send("FIX ten 300 keep\\n")
            local d, err, part = sock:receive(100)
            ngx.say("1: ", d, " ", err, " [", part, "]")
            sock:settimeout(2000)
            d, err, part = sock:receive(3)
            ngx.say("2: ", d, " ", err, " [", part, "]")
            sock:settimeouts(1000, 1000, 50)
            d, err, part = sock:receive("*l")
            ngx.say("3: ", d, " ", err, " [", part, "]")
        `)} }
        location /refused { ${lua(`
            local sock = ngx.socket.tcp()
            local ok, err = sock:connect("127.0.0.1", ${refusedPort})
            ngx.say("connect: ", ok, " ", err)
            ngx.say("send: ", sock:send("x"))
            ngx.say("receive: ", sock:receive())
            ngx.say("close: ", sock:close())
            ngx.say("setkeepalive: ", sock:setkeepalive())
        `)} }
        location /badport { ${lua(`
            local sock = ngx.socket.tcp()
            ngx.say(sock:connect("127.0.0.1", 70000))
            ngx.say(sock:connect("127.0.0.1"))
            ngx.say(sock:connect("/tmp/x.sock"))
            ngx.say(pcall(function() return sock:connect("127.0.0.1", 80, { pool = true }) end))
            ngx.say(pcall(function() return sock:connect("127.0.0.1", 80, { pool_size = 0 }) end))
        `)} }
        location /send { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}))
            sock:send("ECHO\\n")
            ngx.say("bytes: ", sock:send({ "a", { "b", 3 }, 4.5, "" }))
            ngx.say("bytes: ", sock:send(true))
            ngx.say("bytes: ", sock:send(nil))
            ngx.say("bytes: ", sock:send(""))
            ngx.say("echo: ", sock:receive(13))
            ngx.say(pcall(sock.send, sock, { "a", nil, "b" }))
            ngx.say(pcall(sock.send, sock, { "a", true }))
            ngx.say(pcall(sock.send, sock, { a = 1 }))
            ngx.say(pcall(sock.send, sock, function() end))
            ngx.say(pcall(sock.send, "x", "y"))
        `)} }
        location /keepalive { ${lua(`
            for i = 1, 3 do
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", ${P}, { pool = "ka" }))
                local n = sock:getreusedtimes()
                if n == 0 then sock:send("ECHO\\n") end
                sock:send("ping " .. i .. "\\n")
                ngx.say(i, ": reused ", n, " ", sock:receive())
                ngx.say(i, ": keepalive ", sock:setkeepalive(10000, 2))
                ngx.say(i, ": after ", sock:send("x"))
            end
        `)} }
        location /poolkey { ${lua(`
            for _, port in ipairs({ ${P}, "${P}", ${P} / 2 * 2 }) do
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", port))
                ngx.say(type(port), " ", sock[3])
                sock:close()
            end
        `)} }
        location /unread { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}))
            sock:send("FIX ten 0 keep\\n")
            ngx.say(sock:receive(1))
            ngx.say(sock:setkeepalive())
            ngx.say(sock:receive(9))
            ngx.sleep(0.05)
            sock:send("FIX ten 0 keep\\n")
            ngx.sleep(0.05)
            ngx.say(sock:setkeepalive())
        `)} }
        location /big { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}))
            sock:send("FIX big\\n")
            ngx.sleep(0.1) -- the peer's megabyte piles up: the socket stops reading, then resumes
            local total, a = 0, 0
            while true do
                local data, err, partial = sock:receive(4096)
                data = data or partial
                total = total + #data
                a = a + select(2, data:gsub("a", ""))
                if err then ngx.say(err) break end
                if total == 500000 then ngx.sleep(0.02) end
            end
            ngx.say(total, " ", a)
        `)} }
        location /idle { ${lua(`
            local function conn()
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", ${P}, { pool = "idle" }))
                return sock
            end
            local sock = conn()
            assert(sock:setkeepalive(100))
            sock = conn()
            ngx.say("reused ", sock:getreusedtimes())
            ngx.sleep(0.15) -- past the first idle timeout, while in use: the connection stays
            sock:send("PING\\n")
            ngx.say(sock:receive())
            assert(sock:setkeepalive(100))
            sock = conn()
            ngx.say("reused ", sock:getreusedtimes())
            assert(sock:setkeepalive(100))
            ngx.sleep(0.25) -- idle past its timeout: closed
            sock = conn()
            ngx.say("reused ", sock:getreusedtimes())
            sock:close()
        `)} }
        location /peerclose { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}, { pool = "pc" }))
            sock:send("PING\\n")
            ngx.say(sock:receive())
            sock:send("LATER\\n")
            ngx.say(sock:setkeepalive())
            ngx.sleep(0.2)
            sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}, { pool = "pc" }))
            ngx.say("reused: ", sock:getreusedtimes())
        `)} }
        location /backlog { ${lua(`
            local opts = { pool = "bl", pool_size = 1, backlog = 1 }
            local s1 = assert(ngx.socket.connect("127.0.0.1", ${P}, opts))
            local th = ngx.thread.spawn(function()
                local s2, err = ngx.socket.connect("127.0.0.1", ${P}, opts)
                ngx.say("queued connect: ", s2 and "ok" or err, " reused ", s2 and s2:getreusedtimes())
            end)
            local s3, err = ngx.socket.connect("127.0.0.1", ${P}, opts)
            ngx.say("third: ", s3, " ", err)
            ngx.sleep(0.05)
            s1:send("PING\\n")
            s1:receive()
            s1:setkeepalive()
            ngx.thread.wait(th)
        `)} }
        location /unix { ${lua(`
            local sock = ngx.socket.tcp()
            local ok, err = sock:connect("unix:${unixPath}")
            ngx.say("connect: ", ok, " ", err)
            sock:send("hi\\n")
            ngx.say(sock:receive())
            local s2 = ngx.socket.tcp()
            ngx.say(s2:connect("unix:${tmp}/nope.sock"))
        `)} }
        location /tls { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${tlsPort}))
            local sess, err = sock:sslhandshake(nil, "test.example.com", false)
            ngx.say("session: ", type(sess), " ", err)
            sock:send("over tls\\n")
            ngx.say(sock:receive())
            ngx.say("again: ", type(sock:sslhandshake(false)))
            sock:close()
            local s2 = ngx.socket.tcp()
            assert(s2:connect("127.0.0.1", ${tlsPort}))
            ngx.say("verify: ", s2:sslhandshake(nil, "test.example.com", true))
            local s3 = ngx.socket.tcp()
            assert(s3:connect("127.0.0.1", ${tlsPort}))
            ngx.say("no session: ", s3:sslhandshake(false, nil, false))
            ngx.say(s3:setkeepalive())
            local s4 = ngx.socket.tcp()
            assert(s4:connect("127.0.0.1", ${tlsPort}))
            ngx.say("pooled: ", s4:getreusedtimes(), " ", s4:sslhandshake(false))
            s4:send("pooled tls\\n")
            ngx.say(s4:receive())
        `)} }
        location /crossreq { ${lua(`
            if ngx.var.arg_step == "1" then
                local sock = ngx.socket.tcp()
                assert(sock:connect("127.0.0.1", ${P}))
                package.loaded.shared_sock = sock
                ngx.say("stored")
            else
                local sock = package.loaded.shared_sock
                sock:send("x")
            end
        `)} }
        location /crossmain { echo_location /crossreq?step=1; echo_location /crossreq?step=2; }
        location /closed-at-end { ${lua(`
            local sock = ngx.socket.tcp()
            assert(sock:connect("127.0.0.1", ${P}))
            sock:send("ECHO\\n")
            ngx.say("left open")
        `)} }
        location /logphase {
            content_by_lua_block { ngx.say("ok") }
            log_by_lua_block {
                local ok, err = pcall(ngx.socket.tcp)
                ngx.log(ngx.ERR, "in log: ", err)
            }
        }
        location /opts { ${lua(`
            local sock = ngx.socket.tcp()
            ngx.say(sock:setoption("keepalive", true))
            assert(sock:connect("127.0.0.1", ${P}))
            ngx.say(sock:setoption("tcp-nodelay", true))
            ngx.say(sock:getoption("tcp-nodelay"))
            ngx.say(sock:setoption("bogus", 1))
            ngx.say(sock:bind("not an ip"))
            ngx.say(sock:setclientcert("a", "b"))
        `)} }
  `);
});

afterAll(async () => {
  await srv?.stop();
  blackhole?.kill();
  peer?.server.close();
  for (const s of peer?.conns ?? []) s.destroy();
  unixServer?.close();
  tlsPeer?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('tcp cosocket', () => {
  it('connects, sends and reads lines (every \\r dropped), partial data on close', async () => {
    const r = await srv.request('/basic');
    expect(r.body).toBe(
      'reused before connect: nilclosed\nconnect: 1 nil\nsend: 10\nline1: hello\nline2: [world]\n' +
        'line3: nil closed [last]\nagain: nilclosed\nclose: 1\nclose again: nilclosed\n',
    );
  });

  it('receive(n), receive(0) and numeric-string sizes', async () => {
    const r = await srv.request('/chunks');
    expect(r.body).toBe('zero: []\n3: 012\n4: 3456\n5: nil closed 789\n');
  });

  it('receive("*a") reads to EOF and then keeps returning ""', async () => {
    const r = await srv.request('/all');
    expect(r.body).toBe('first: [a]\nall: [\r\nb\n]\nall again: []\n');
  });

  it('receiveany returns what is buffered, up to max', async () => {
    const r = await srv.request('/any');
    expect(r.body).toMatch(/^any: 0123\nany: 456789\nbad: .*bad argument .*bad max argument\)\n$/);
  });

  it('reads lines from a peer sending one byte at a time', async () => {
    const r = await srv.request('/slowline');
    expect(r.body).toBe('status: HTTP/1.1 200 OK\nheader: Content-Length: 5\nblank: []\nbody: hello\n');
  });

  it('receiveuntil with a size returns pieces, then nil,nil,nil after the pattern (fast and slow peers)', async () => {
    for (const loc of ['/until', '/slow']) {
      let r = await srv.request(`${loc}?fix=body&pat=--abc&size=4`);
      expect(r.body).toBe('read: hell\nread: o, w\nread: orld\nread:  --\nfailed: nil [nil]\nfailed: closed [\n]\n');
      r = await srv.request(`${loc}?fix=dashes&pat=--abc&size=2`);
      expect(r.body).toBe('read: --\nread: -\nfailed: nil [nil]\nfailed: closed [\n]\nfailed: closed [nil]\nfailed: closed [nil]\n');
      r = await srv.request(`${loc}?fix=abcabd&pat=abcabd`);
      expect(r.body).toBe('read: abc\nfailed: closed [\n]\nfailed: closed [nil]\nfailed: closed [nil]\nfailed: closed [nil]\nfailed: closed [nil]\n');
    }
    const r = await srv.request('/until?fix=abcabd&pat=abcabd&inc=1');
    expect(r.body.split('\n')[0]).toBe('read: abcabcabd');
  });

  it('read timeouts return partial data and leave the socket usable', async () => {
    const r = await srv.request('/timeout', { timeoutMs: 8000 });
    expect(r.body).toMatch(/^1: nil timeout \[0\]\n2: 123 nil \[nil\]\n3: nil timeout \[4?\]\n$/);
    expect(srv.errorLog()).toContain('lua tcp socket read timed out');
  });

  it('connection refused: OpenResty strings and log line; the socket is closed afterwards', async () => {
    const r = await srv.request('/refused');
    expect(r.body).toBe('connect: nil connection refused\nsend: nilclosed\nreceive: nilclosed\nclose: nilclosed\nsetkeepalive: nilclosed\n');
    expect(srv.errorLog()).toMatch(/\[error\] .*connect\(\) failed \(111: Connection refused\), client: 127\.0\.0\.1/);
  });

  it('connect timeouts: "timeout" and nginx\'s log line', async () => {
    if (!blackholePort) return;
    const r = await srv.request('/conntimeout');
    expect(r.body).toBe('niltimeout\nnilclosed\n');
    expect(srv.errorLog()).toContain(`lua tcp socket connect timed out, when connecting to 127.0.0.1:${blackholePort}`);
  });

  it('argument errors', async () => {
    const r = await srv.request('/badport');
    expect(r.body).toMatch(new RegExp('^nilbad port number: 70000\nnilmissing the port number\nnilmissing the port number\n' +
      'false.*bad argument #3 to \'connect\' \\(bad "pool" option type: boolean\\)\n' +
      'false.*bad argument #3 to \'connect\' \\(bad "pool_size" option value: 0\\)\n$'));
  });

  it('send accepts strings, numbers, booleans, nil and nested array tables', async () => {
    const r = await srv.request('/send');
    const lines = r.body.split('\n');
    expect(lines.slice(0, 5)).toEqual(['bytes: 6', 'bytes: 4', 'bytes: 3', 'bytes: 0', 'echo: ab34.5truenil']);
    expect(lines[5]).toMatch(/^false.*bad argument #\d to '.*' \(bad data type nil found\)/);
    expect(lines[6]).toMatch(/bad data type boolean found/);
    expect(lines[7]).toMatch(/non-array table found/);
    expect(lines[8]).toMatch(/string, number, boolean, nil, or array table expected, got function/);
    expect(lines[9]).toMatch(/table expected, got string/);
  });

  it('setkeepalive pools connections per key and connect reuses them', async () => {
    const before = peer.accepted;
    const r = await srv.request('/keepalive');
    expect(r.body).toBe(
      '1: reused 0 ping 1\n1: keepalive 1\n1: after nilclosed\n' +
        '2: reused 1 ping 2\n2: keepalive 1\n2: after nilclosed\n' +
        '3: reused 2 ping 3\n3: keepalive 1\n3: after nilclosed\n',
    );
    expect(peer.accepted - before).toBe(1);
    expect(srv.errorLog()).toContain('lua tcp socket keepalive create connection pool for key "ka"');
  });

  it('a large reply read in small pieces arrives whole (reads stop and resume)', async () => {
    const r = await srv.request('/big');
    expect(r.body).toBe('closed\n1000000 100000\n');
  });

  it('keepalive idle timeouts close parked connections, never one in use', async () => {
    const r = await srv.request('/idle');
    expect(r.body).toBe('reused 1\nPONG\nreused 2\nreused 0\n');
  });

  it('the pool key is "host:port" however the port was given', async () => {
    const r = await srv.request('/poolkey');
    const k = `127.0.0.1:${peer.port}`;
    expect(r.body).toBe(`number ${k}\nstring ${k}\nnumber ${k}\n`);
  });

  it('setkeepalive refuses unread data and dubious connections', async () => {
    const r = await srv.request('/unread');
    expect(r.body).toBe('0\nnilunread data in buffer\n123456789\nnilconnection in dubious state\n');
  });

  it('a pooled connection closed by the peer is dropped; the next connect makes a new one', async () => {
    const before = peer.accepted;
    const r = await srv.request('/peerclose');
    expect(r.body).toBe('PONG\n1\nreused: 0\n');
    expect(peer.accepted - before).toBe(2);
  });

  it('pool_size + backlog queue connects and refuse beyond the backlog', async () => {
    const r = await srv.request('/backlog');
    expect(r.body).toBe('third: nil too many waiting connect operations\nqueued connect: ok reused 1\n');
    expect(srv.errorLog()).toContain('lua tcp socket queue connect operation for connection pool "bl"');
  });

  it('unix domain sockets', async () => {
    const r = await srv.request('/unix');
    expect(r.body).toBe('connect: 1 nil\nunix: hi\nnilno such file or directory\n');
    expect(srv.errorLog()).toMatch(/\[crit\] .*connect\(\) to unix:.*nope\.sock failed \(2: No such file or directory\)/);
  });

  it('sslhandshake over node:tls, verification and pooled TLS connections', async () => {
    if (!tlsPort) return;
    const r = await srv.request('/tls');
    const lines = r.body.split('\n');
    expect(lines[0]).toBe('session: userdata nil');
    expect(lines[1]).toBe('tls: over tls');
    expect(lines[2]).toBe('again: boolean');
    expect(lines[3]).toMatch(/^verify: nil18: self[- ]signed certificate$/);
    expect(lines[4]).toBe('no session: true');
    expect(lines[5]).toBe('1');
    expect(lines[6]).toBe('pooled: 1 true');
    expect(lines[7]).toBe('tls: pooled tls');
    expect(srv.errorLog()).toMatch(/lua ssl certificate verify error: \(18: self[- ]signed certificate\)/);
  });

  it('a socket used by another (sub)request raises "bad request"; a finished request closed it', async () => {
    const r = await srv.request('/crossmain');
    expect(r.body).toMatch(/^stored\n[^]*500 Internal Server Error/);
    expect(srv.errorLog()).toMatch(/runtime error: content_by_lua\(nginx\.conf:\d+\):\d+: bad request/);
    expect((await srv.request('/crossreq?step=1')).body).toBe('stored\n');
    const r2 = await srv.request('/crossreq?step=2');
    expect(r2.status).toBe(200);
    expect(srv.errorLog()).toContain('attempt to send data on a closed socket');
  });

  it('sockets left open are closed when the request ends', async () => {
    const before = peer.closedByClient;
    await srv.request('/closed-at-end');
    for (let i = 0; i < 40 && peer.closedByClient === before; i++) await new Promise((r) => setTimeout(r, 25));
    expect(peer.closedByClient).toBeGreaterThan(before);
  });

  it('is disabled in log_by_lua', async () => {
    await srv.request('/logphase');
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.errorLog()).toContain('in log: API disabled in the context of log_by_lua*');
  });

  it('setoption/getoption, bind and setclientcert checks', async () => {
    const r = await srv.request('/opts');
    expect(r.body).toBe('nilclosed\ntrue\n1\nnilunsupported option bogus\nnilbad address\nnilbad cert arg: cdata expected, got string\n');
  });
});
