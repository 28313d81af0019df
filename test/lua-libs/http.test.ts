// resty.http against real Node HTTP servers (node:http for well-formed HTTP/1.1, a raw node:net
// peer for bodies delimited by close), through a real tsresty server; resty.upload reading a
// multipart body sent to tsresty.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startTsresty, cosocketsAvailable } from './support.js';
import type { TestServer } from '../support/server.js';

const run = cosocketsAvailable();

let upstream: http.Server;
let upPort = 0;
let raw: net.Server;
let rawPort = 0;
let srv: TestServer;
let connections = 0;
let tlsServer: https.Server | null = null;
let tlsPort = 1;

/** An HTTPS peer with a throwaway self-signed certificate (needs the openssl CLI). */
function startTls(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error('openssl could not generate a test certificate');
  tlsServer = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (req, res) => {
    res.writeHead(200, { 'Content-Length': 9, 'X-Proto': 'tls' });
    res.end('secure ok');
  });
  tlsServer.on('secureConnection', () => tlsHandshakes++);
  return new Promise((res) => tlsServer!.listen(0, '127.0.0.1', () => {
    tlsPort = (tlsServer!.address() as net.AddressInfo).port;
    res();
  }));
}
let tlsHandshakes = 0;

function startUpstream(): Promise<void> {
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('latin1');
      const url = new URL(req.url!, 'http://x');
      switch (url.pathname) {
        case '/echo': {
          const out = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body, version: req.httpVersion });
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(out) });
          res.end(out);
          return;
        }
        case '/hello':
          res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 12, 'X-Up': 'yes' });
          res.end(req.method === 'HEAD' ? undefined : 'hello world\n');
          return;
        case '/chunked': {
          res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Sum' });
          const parts = ['first-chunk;', 'second;', 'third'];
          let i = 0;
          const next = (): void => {
            if (i < parts.length) {
              res.write(parts[i++]);
              setTimeout(next, 10);
            } else {
              res.addTrailers({ 'X-Sum': 'abc' });
              res.end();
            }
          };
          next();
          return;
        }
        case '/slow':
          setTimeout(() => {
            res.writeHead(200, { 'Content-Length': 4 });
            res.end('slow');
          }, 600);
          return;
        case '/nocontent':
          res.writeHead(204);
          res.end();
          return;
        case '/cookies':
          res.setHeader('Set-Cookie', ['a=1', 'b=2']);
          res.writeHead(200, { 'Content-Length': 2 });
          res.end('ok');
          return;
        case '/big': {
          const big = Buffer.alloc(1 << 20, 0x61);
          res.writeHead(200, { 'Content-Length': big.length });
          res.end(big);
          return;
        }
        default:
          res.writeHead(404, { 'Content-Length': 9 });
          res.end('not found');
      }
    });
  });
  upstream.on('connection', () => connections++);
  return new Promise((r) => upstream.listen(0, '127.0.0.1', () => {
    upPort = (upstream.address() as net.AddressInfo).port;
    r();
  }));
}

function startRaw(): Promise<void> {
  // answers with a body delimited by closing the connection (no length, no chunking)
  raw = net.createServer((s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n\r\n')) {
        s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil ');
        setTimeout(() => s.end('close\n'), 20);
      }
    });
    s.on('error', () => {});
  });
  return new Promise((r) => raw.listen(0, '127.0.0.1', () => {
    rawPort = (raw.address() as net.AddressInfo).port;
    r();
  }));
}

const loc = (name: string, body: string) => `
        location = /${name} {
            content_by_lua_block {
                local http = require "resty.http"
                local cjson = require "cjson"
${body}
            }
        }`;

describe.skipIf(!run)('resty.http', () => {
  beforeAll(async () => {
    await startUpstream();
    await startRaw();
    await startTls();
    const U = () => `"http://127.0.0.1:${upPort}`;
    srv = await startTsresty(
      [
        loc('uri', `
                local httpc = http.new()
                local res, err = httpc:request_uri(${U()}/echo?a=1", { query = { b = "x y" }, headers = { ["X-Test"] = "1" } })
                if not res then ngx.say("err: ", err) return end
                local echo = cjson.decode(res.body)
                ngx.say(res.status, " ", res.reason, " ", res.headers["content-type"], " ", res.headers["Content-Length"])
                ngx.say(echo.method, " ", echo.url, " ", echo.version)
                ngx.say(echo.headers.host == "127.0.0.1:${'${UP}'}", " ", echo.headers["x-test"], " ", echo.headers["user-agent"]:sub(1, 16))
                ngx.say(res.body_reader == nil, " ", res.has_body)`),
        loc('post', `
                local httpc = http.new()
                local res = assert(httpc:request_uri(${U()}/echo", {
                    method = "POST", body = "a=1&b=2",
                    headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
                }))
                local echo = cjson.decode(res.body)
                ngx.say(echo.method, " ", echo.body, " ", echo.headers["content-length"], " ", echo.headers["content-type"])
                res = assert(httpc:request_uri(${U()}/echo", { method = "PUT", body = { "x", "yz", "" } }))
                echo = cjson.decode(res.body)
                ngx.say(echo.method, " ", echo.body, " ", echo.headers["content-length"])
                res = assert(httpc:request_uri(${U()}/echo", { method = "POST" }))
                echo = cjson.decode(res.body)
                ngx.say(echo.method, " [", echo.body, "] ", echo.headers["content-length"])`),
        loc('stream', `
                local httpc = http.new()
                local ok, err = httpc:connect({ scheme = "http", host = "127.0.0.1", port = ${'${UP}'} })
                if not ok then ngx.say("connect: ", err) return end
                local res = assert(httpc:request({ path = "/chunked" }))
                ngx.say(res.status, " ", res.headers["Transfer-Encoding"])
                local reader = res.body_reader
                local parts = {}
                repeat
                    local chunk, err = reader(6)
                    if err then ngx.say("read err: ", err) break end
                    if chunk then parts[#parts + 1] = chunk end
                until not chunk
                ngx.say(table.concat(parts, "|"))
                res:read_trailers()
                ngx.say("trailer: ", res.headers["X-Sum"])
                ngx.say("keepalive: ", httpc:set_keepalive())`),
        loc('reuse', `
                for i = 1, 3 do
                    local httpc = http.new()
                    assert(httpc:connect({ scheme = "http", host = "127.0.0.1", port = ${'${UP}'} }))
                    local times = httpc:get_reused_times()
                    local res = assert(httpc:request({ path = "/hello" }))
                    local body = res:read_body()
                    ngx.say(times, " ", res.status, " ", body == "hello world\\n", " ", httpc:set_keepalive())
                end`),
        loc('bodyfn', `
                local httpc = http.new()
                assert(httpc:connect("127.0.0.1", ${'${UP}'}))
                local parts = { "one,", "two,", "three" }
                local i = 0
                local res = assert(httpc:request({
                    method = "POST", path = "/echo",
                    body = function() i = i + 1 return parts[i] end,
                }))
                local echo = cjson.decode(res:read_body())
                ngx.say(echo.body, " ", echo.headers["transfer-encoding"])
                httpc:close()`),
        loc('timeout', `
                local httpc = http.new()
                httpc:set_timeout(150)
                local res, err = httpc:request_uri(${U()}/slow")
                ngx.say(res, " ", err)
                httpc = http.new()
                httpc:set_timeouts(1000, 1000, 2000)
                res, err = httpc:request_uri(${U()}/slow")
                ngx.say(res and res.body, " ", err)`),
        loc('close', `
                local httpc = http.new()
                assert(httpc:connect({ scheme = "http", host = "127.0.0.1", port = ${'${RAW}'} }))
                local res = assert(httpc:request({ path = "/" }))
                ngx.say(res.status, " [", res:read_body(), "]")
                ngx.say(httpc:set_keepalive())`),
        loc('head', `
                local httpc = http.new()
                assert(httpc:connect({ scheme = "http", host = "127.0.0.1", port = ${'${UP}'} }))
                local res = assert(httpc:request({ method = "HEAD", path = "/hello" }))
                ngx.say(res.status, " ", res.has_body, " [", res:read_body(), "] ", res.headers["Content-Length"])
                res = assert(httpc:request({ path = "/nocontent" }))
                ngx.say(res.status, " ", res.has_body, " [", res:read_body(), "]")
                res = assert(httpc:request({ path = "/cookies" }))
                res:read_body()
                ngx.say(type(res.headers["set-cookie"]), " ", table.concat(res.headers["Set-Cookie"], ","))
                ngx.say(httpc:set_keepalive())`),
        loc('pipeline', `
                local httpc = http.new()
                assert(httpc:connect({ scheme = "http", host = "127.0.0.1", port = ${'${UP}'} }))
                local responses = assert(httpc:request_pipeline({ { path = "/hello" }, { path = "/echo?p=2" }, { path = "/nope" } }))
                for _, r in ipairs(responses) do
                    ngx.say(r.status, " ", #r:read_body())
                end
                httpc:close()`),
        loc('big', `
                local httpc = http.new()
                local res = assert(httpc:request_uri(${U()}/big"))
                ngx.say(#res.body, " ", res.body:sub(1, 3))`),
        loc('tls', `
                local httpc = http.new()
                local res, err = httpc:request_uri("https://127.0.0.1:${'${TLS}'}/x")
                ngx.say("verify on: ", res, " ", err ~= nil)
                for i = 1, 2 do
                    httpc = http.new()
                    local ok, err = httpc:connect({ scheme = "https", host = "127.0.0.1", port = ${'${TLS}'}, ssl_verify = false })
                    if not ok then ngx.say("connect: ", err) return end
                    local reused = httpc:get_reused_times()
                    res = assert(httpc:request({ path = "/x" }))
                    ngx.say(reused, " ", res.status, " ", res.headers["X-Proto"], " ", res:read_body())
                    httpc:set_keepalive()
                end`),
        loc('errors', `
                local httpc = http.new()
                ngx.say(httpc:request_uri("http://127.0.0.1:1/"))
                ngx.say(httpc:request_uri("nonsense"))
                httpc = http.new()
                ngx.say(httpc:connect("unix:/tmp/tsresty-no-such.sock"))`),
        `
        location = /proxied {
            content_by_lua_block {
                local http = require "resty.http"
                local httpc = http.new()
                assert(httpc:connect({ scheme = "http", host = "127.0.0.1", port = ${'${UP}'} }))
                local res = assert(httpc:request({ path = "/chunked" }))
                httpc:proxy_response(res, 4)
                httpc:set_keepalive()
            }
        }
        location = /upload {
            content_by_lua_block {
                local upload = require "resty.upload"
                local form, err = upload:new(5)
                if not form then ngx.say("new: ", err) return end
                form:set_timeout(1000)
                while true do
                    local typ, res, err = form:read()
                    if not typ then ngx.say("read: ", err) return end
                    if typ == "header" then
                        ngx.say("header: ", res[1], "=", res[2])
                    elseif typ == "body" then
                        ngx.say("body: [", res, "]")
                    else
                        ngx.say(typ)
                    end
                    if typ == "eof" then break end
                end
                ngx.say("again: ", form:read())
            }
        }
        location = /upload_keep {
            content_by_lua_block {
                local form = assert(require("resty.upload"):new(4096, 512, true))
                local n = 0
                while true do
                    local typ, res, err = form:read()
                    if not typ then ngx.say("read: ", err) return end
                    n = n + 1
                    if typ == "eof" then break end
                end
                local body = ngx.req.get_body_data()
                ngx.say(n, " ", body and #body, " ", body and ngx.md5(body))
            }
        }
        location = /noupload {
            content_by_lua_block {
                ngx.say(require("resty.upload"):new())
            }
        }`,
      ]
        .join('\n')
        .replace(/\$\{UP\}/g, String(upPort))
        .replace(/\$\{RAW\}/g, String(rawPort))
        .replace(/\$\{TLS\}/g, String(tlsPort)),
      { http: '    lua_socket_log_errors off;' },
    );
  });

  afterAll(async () => {
    await srv?.stop();
    upstream?.close();
    raw?.close();
    tlsServer?.close();
  });

  async function get(p: string): Promise<string> {
    const r = await srv.request(p, { timeoutMs: 10000 });
    expect(r.status).toBe(200);
    return r.body;
  }

  it('request_uri: params override the URI, default headers, Host with the port', async () => {
    expect(await get('/uri')).toMatch(/^200 OK application\/json \d+\nGET \/echo\?b=x%20y 1\.1\ntrue 1 lua-resty-http\/0\ntrue true\n$/);
  });

  it('request bodies: string, table of strings, none on POST', async () => {
    expect(await get('/post')).toBe('POST a=1&b=2 7 application/x-www-form-urlencoded\nPUT xyz 3\nPOST [] 0\n');
  });

  it('streams a chunked response in bounded pieces and reads its trailers', async () => {
    expect(await get('/stream')).toBe('200 chunked\nfirst-|chunk;|second|;|third\ntrailer: abc\nkeepalive: 1\n');
  });

  it('keepalive: the pooled connection is reused (get_reused_times rises)', async () => {
    const before = connections;
    const lines = (await get('/reuse')).trim().split('\n');
    const times = lines.map((l) => Number(l.split(' ')[0]));
    expect(lines.every((l) => / 200 true 1$/.test(l))).toBe(true);
    expect(times[1]).toBe(times[0] + 1);
    expect(times[2]).toBe(times[1] + 1);
    expect(connections - before).toBeLessThanOrEqual(1);
  });

  it('an iterator body goes out chunked', async () => {
    expect(await get('/bodyfn')).toBe('one,two,three chunked\n');
  });

  it('read timeout, then a request within the timeout', async () => {
    expect(await get('/timeout')).toBe('nil timeout\nslow nil\n');
  });

  it('a body delimited by close; set_keepalive then closes (2, "connection must be closed")', async () => {
    expect(await get('/close')).toBe('200 [until close\n]\n2connection must be closed\n');
  });

  it('HEAD and 204 have no body; repeated headers become a table', async () => {
    expect(await get('/head')).toBe('200 false [] 12\n204 false []\ntable a=1,b=2\n1\n');
  });

  it('request_pipeline', async () => {
    expect(await get('/pipeline')).toMatch(/^200 12\n200 \d+\n404 9\n$/);
  });

  it('a 1 MB body', async () => {
    expect(await get('/big')).toBe('1048576 aaa\n');
  });

  it('https: verification on by default; ssl_verify = false; TLS connections pooled', async () => {
    const before = tlsHandshakes;
    expect(await get('/tls')).toBe('verify on: nil true\n0 200 tls secure ok\n1 200 tls secure ok\n');
    expect(tlsHandshakes - before).toBe(1);
  });

  it('errors: refused, bad uri, missing unix socket', async () => {
    expect(await get('/errors')).toBe('nilconnection refused\nnilbad uri: nonsense\nnilno such file or directory\n');
  });

  it('proxy_response passes status, headers (minus hop-by-hop) and body', async () => {
    const r = await srv.request('/proxied', { timeoutMs: 10000 });
    expect(r.status).toBe(200);
    expect(r.body).toBe('first-chunk;second;third');
    expect(r.header('content-type')).toBe('text/plain');
  });

  describe('resty.upload', () => {
    it('reads multipart parts as header/body/part_end/eof tokens', async () => {
      const boundary = '----tsresty42';
      const body =
        `preamble\r\n--${boundary}\r\n` +
        `Content-Disposition: form-data; name="field"\r\n\r\n` +
        `hello world\r\n--${boundary}\r\n` +
        `Content-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n` +
        `line1\r\nline2\r\n--${boundary}--\r\nepilogue`;
      const req =
        `POST /upload HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      const r = await srv.request(req, { timeoutMs: 10000 });
      expect(r.status).toBe(200);
      expect(r.body).toBe(
        [
          'header: Content-Disposition=form-data; name="field"',
          'body: [hello]',
          'body: [ worl]',
          'body: [d]',
          'part_end',
          'header: Content-Disposition=form-data; name="file"; filename="a.txt"',
          'header: Content-Type=text/plain',
          'body: [line1]',
          'body: [\r\nlin]',
          'body: [e2]',
          'part_end',
          'eof',
          'again: eof',
          '',
        ].join('\n'),
      );
    });

    it('preserve_body keeps the raw body for ngx.req.get_body_data()', async () => {
      const boundary = 'XyZ';
      const body =
        `--${boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n${'v'.repeat(5000)}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="b"\r\n\r\nsecond\r\n--${boundary}--\r\n`;
      const req =
        `POST /upload_keep HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n` +
        `Content-Type: multipart/form-data; boundary="${boundary}"\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      const r = await srv.request(req, { timeoutMs: 10000 });
      const md5 = (await import('node:crypto')).createHash('md5').update(body).digest('hex');
      expect(r.body).toBe(`${1 + 2 + 1 + 1 + 1 + 1 + 1} ${body.length} ${md5}\n`);
    });

    it('without a multipart Content-Type', async () => {
      expect((await srv.request('/noupload')).body).toBe('nilno boundary defined in Content-Type\n');
    });
  });
});
