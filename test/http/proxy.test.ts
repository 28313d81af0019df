// ngx_http_proxy_module end to end: the built server proxies to upstreams written here on
// node:net, so the exact request bytes it sends and its reactions to what upstreams do (chunked
// bodies, early closes, silence, refusals) can be checked.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as net from 'node:net';
import { startServer, freePort, type TestServer } from '../support/server.js';

interface Upstream {
  port: number;
  /** raw requests received, in order (head + body as far as framed by Content-Length) */
  requests: string[];
  /** remote address of each connection */
  remotes: string[];
  connections: number;
  close(): Promise<void>;
}

type Reply = (req: string, sock: net.Socket) => void;

/** A one-request-at-a-time HTTP/1.x upstream: `reply` answers each request on the socket. */
function upstream(reply: Reply): Promise<Upstream> {
  const u: Upstream = { port: 0, requests: [], remotes: [], connections: 0, close: async () => {} };
  const socks = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    u.connections++;
    u.remotes.push(sock.remoteAddress ?? '');
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const m = /\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end));
        const len = m ? Number(m[1]) : 0;
        if (buf.length < end + 4 + len) return;
        const one = buf.slice(0, end + 4 + len);
        buf = buf.slice(end + 4 + len);
        u.requests.push(one);
        reply(one, sock);
      }
    });
  });
  return new Promise((resolve) => {
    srv.listen(0, '127.0.0.1', () => {
      u.port = (srv.address() as net.AddressInfo).port;
      u.close = () => new Promise((r) => {
        for (const s of socks) s.destroy();
        srv.close(() => r());
      });
      resolve(u);
    });
  });
}

function resp(status: string, headers: string[], body: string, close = true): string {
  return `HTTP/1.1 ${status}\r\n${headers.map((h) => h + '\r\n').join('')}Content-Length: ${body.length}\r\n${close ? 'Connection: close\r\n' : ''}\r\n${body}`;
}

let srv: TestServer;
let plain: Upstream; // echoes the request line back, closes
let keep: Upstream; // keep-alive upstream
let chunked: Upstream;
let silent: Upstream; // never answers
let early: Upstream; // closes without answering
let redirector: Upstream; // Location / X-Accel-Redirect / errors by path
let slow: Upstream; // streams two parts 300 ms apart
let refusedPort: number;
let ws: net.Server; // 101 + echo
let wsPort = 0;

beforeAll(async () => {
  plain = await upstream((req, sock) => {
    const line = req.slice(0, req.indexOf('\r\n'));
    sock.end(resp('200 OK', ['Server: upstream', 'Date: yesterday', 'X-Up: 1', 'Content-Type: text/x-up', 'X-Accel-Expires: 10'], `line=${line}`));
  });
  keep = await upstream((req, sock) => {
    sock.write(resp('200 OK', [], `n=${keep.requests.length}`, false));
  });
  chunked = await upstream((req, sock) => {
    sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
  });
  silent = await upstream(() => {});
  early = await upstream((req, sock) => sock.destroy());
  redirector = await upstream((req, sock) => {
    const path = req.split(' ')[1];
    if (path.startsWith('/bar/loc')) sock.end(resp('302 Found', [`Location: http://127.0.0.1:${redirector.port}/bar/elsewhere`], ''));
    else if (path.startsWith('/bar/xa')) sock.end(resp('200 OK', ['X-Accel-Redirect: /internal?from=xa', 'Set-Cookie: a=1'], 'ignored'));
    else if (path.startsWith('/bar/err')) sock.end(resp('503 Service Unavailable', [], 'upstream error page'));
    else if (path.startsWith('/bar/head')) sock.end(resp('200 OK', ['X-Method: ' + req.split(' ')[0]], ''));
    else sock.end(resp('200 OK', [], 'ok'));
  });
  slow = await upstream((req, sock) => {
    sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst;');
    setTimeout(() => sock.end('second'), 300);
  });
  refusedPort = await freePort();
  ws = net.createServer((sock) => {
    let upgraded = false;
    sock.on('data', (d) => {
      if (!upgraded) {
        upgraded = true;
        sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nhi;');
        return;
      }
      sock.write('echo:' + d.toString('latin1'));
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => ws.listen(0, '127.0.0.1', () => r()));
  wsPort = (ws.address() as net.AddressInfo).port;
  srv = await startServer(`
        location /plain/ { proxy_pass http://127.0.0.1:${plain.port}/bar/; }
        location /nouri { proxy_pass http://127.0.0.1:${plain.port}; }
        location = /exact { proxy_pass http://127.0.0.1:${plain.port}/other; }
        location /hdrs {
            proxy_pass http://127.0.0.1:${plain.port};
            proxy_http_version 1.1;
            proxy_set_header Host example.com;
            proxy_set_header Connection "";
            proxy_set_header X-Real $remote_addr;
            proxy_set_header User-Agent "";
            proxy_pass_header Server;
            proxy_hide_header X-Up;
        }
        location /post { proxy_pass http://127.0.0.1:${plain.port}; }
        location /setbody { proxy_pass http://127.0.0.1:${plain.port}; proxy_set_body "a=$arg_a"; proxy_method PUT; }
        location /bind { set $b $arg_b; proxy_bind $b; proxy_pass http://127.0.0.1:${plain.port}; }
        location /vars { proxy_pass http://127.0.0.1:$arg_port/v?x=$arg_x; }
        location /keep { proxy_pass http://keeppool; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location /keep2 { proxy_pass http://keep2; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location /chunked { proxy_pass http://127.0.0.1:${chunked.port}; }
        location /refused { proxy_pass http://127.0.0.1:${refusedPort}; }
        location /silent { proxy_pass http://127.0.0.1:${silent.port}; proxy_read_timeout 200ms; }
        location /early { proxy_pass http://127.0.0.1:${early.port}; }
        location /next {
            proxy_pass http://twopeers;
            add_header X-Addr $upstream_addr;
            add_header X-Status $upstream_status;
        }
        location /backup { proxy_pass http://withbackup; }
        location /n503 { proxy_pass http://two503/bar/err; proxy_next_upstream error http_503; add_header X-Status $upstream_status; }
        location /weighted { proxy_pass http://weighted; }
        location /nofail { proxy_pass http://nofail; add_header X-Addr $upstream_addr always; }
        location /dead { proxy_pass http://dead; add_header X-Addr $upstream_addr always; }
        location /bal { proxy_pass http://bal/b; add_header X-Addr $upstream_addr; }
        location /red/ {
            proxy_pass http://127.0.0.1:${redirector.port}/bar/;
            proxy_intercept_errors on;
            error_page 503 /oops;
        }
        location /nored/ { proxy_pass http://127.0.0.1:${redirector.port}/bar/; proxy_redirect off; }
        location = /oops { echo "intercepted"; }
        location = /internal { internal; echo "internal $args"; }
        location /ws {
            proxy_pass http://127.0.0.1:${wsPort};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
        }
        location /buf { proxy_pass http://127.0.0.1:${slow.port}; proxy_buffering off; }
        location /cap {
            content_by_lua_block {
                local res = ngx.location.capture("/plain/cap", { method = ngx.HTTP_POST, body = "xyz" })
                ngx.say(res.status, " ", res.header["X-Up"], " ", res.body)
                local res2 = ngx.location.capture("/early")
                ngx.say(res2.status)
            }
        }
        location /lua {
            proxy_pass http://127.0.0.1:${plain.port};
            header_filter_by_lua_block { ngx.header["X-Filter"] = ngx.var.upstream_status .. " " .. ngx.var.proxy_host }
        }
  `, {
    http: `
    upstream keeppool { server 127.0.0.1:${keep.port}; keepalive 4; }
    upstream withbackup { server 127.0.0.1:${refusedPort}; server 127.0.0.1:${plain.port} backup; }
    upstream two503 { server 127.0.0.1:${redirector.port}; server 127.0.0.1:${plain.port}; }
    upstream keep2 { server 127.0.0.1:${keep.port}; keepalive 4; keepalive_requests 2; keepalive_timeout 30s; }
    upstream weighted { server 127.0.0.1:${plain.port} weight=2; server 127.0.0.1:${keep.port}; }
    upstream nofail { server 127.0.0.1:${refusedPort} max_fails=0; server 127.0.0.2:${refusedPort} max_fails=0; }
    upstream dead { server 127.0.0.1:${refusedPort}; server 127.0.0.2:${refusedPort}; }
    upstream twopeers { server 127.0.0.1:${refusedPort}; server 127.0.0.1:${plain.port}; }
    upstream bal {
        server 0.0.0.1;
        balancer_by_lua_block {
            local b = require "ngx.balancer"
            if not ngx.ctx.tried then
                ngx.ctx.tried = true
                assert(b.set_more_tries(1))
                assert(b.set_current_peer("127.0.0.1", ${refusedPort}))
            else
                local state, status = b.get_last_failure()
                ngx.log(ngx.WARN, "last failure: ", state, " ", status)
                assert(b.set_current_peer("127.0.0.1", ${plain.port}))
            end
        }
    }
`,
  });
});

afterAll(async () => {
  await srv?.stop();
  for (const u of [plain, keep, chunked, silent, early, redirector, slow]) await u?.close();
  ws?.close();
});

describe('proxy_pass', () => {
  it('replaces the location prefix with the URI part and sends nginx\'s request bytes', async () => {
    const r = await srv.request('GET /plain/a/b?x=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: t\r\n\r\n');
    expect(r.status).toBe(200);
    expect(r.body).toBe('line=GET /bar/a/b?x=1 HTTP/1.0');
    expect(plain.requests.at(-1)).toBe(`GET /bar/a/b?x=1 HTTP/1.0\r\nHost: 127.0.0.1:${plain.port}\r\nConnection: close\r\nUser-Agent: t\r\n\r\n`);
    // Server and Date are ours, X-Accel-* hidden, others passed in order
    expect(r.header('server')).toBe('nginx/1.22.1');
    expect(r.header('date')).not.toBe('yesterday');
    expect(r.header('x-up')).toBe('1');
    expect(r.header('content-type')).toBe('text/x-up');
    expect(r.header('x-accel-expires')).toBeUndefined();
  });

  it('passes the client URI unchanged without a URI part', async () => {
    const r = await srv.request('/nouri/a%20b?q=%41');
    expect(r.body).toBe('line=GET /nouri/a%20b?q=%41 HTTP/1.0');
    const e = await srv.request('/exact');
    expect(e.body).toBe('line=GET /other HTTP/1.0');
  });

  it('applies proxy_set_header, proxy_pass_header and proxy_hide_header', async () => {
    const r = await srv.request('GET /hdrs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nUser-Agent: t\r\nX-Keep: k\r\n\r\n');
    expect(plain.requests.at(-1)).toBe('GET /hdrs HTTP/1.1\r\nHost: example.com\r\nX-Real: 127.0.0.1\r\nX-Keep: k\r\n\r\n');
    expect(r.header('server')).toBe('upstream');
    expect(r.header('x-up')).toBeUndefined();
  });

  it('forwards request bodies with a Content-Length, also for chunked client bodies', async () => {
    await srv.request('POST /post HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello');
    expect(plain.requests.at(-1)).toBe(`POST /post HTTP/1.0\r\nHost: 127.0.0.1:${plain.port}\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello`);
    await srv.request('POST /post HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    expect(plain.requests.at(-1)).toBe(`POST /post HTTP/1.0\r\nHost: 127.0.0.1:${plain.port}\r\nConnection: close\r\nContent-Length: 5\r\n\r\nabcde`);
  });

  it('proxy_set_body and proxy_method replace the body and method', async () => {
    await srv.request('POST /setbody?a=7 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 3\r\n\r\nxyz');
    expect(plain.requests.at(-1)).toBe(`PUT /setbody?a=7 HTTP/1.0\r\nHost: 127.0.0.1:${plain.port}\r\nConnection: close\r\nContent-Length: 3\r\n\r\na=7`);
  });

  it('binds to proxy_bind\'s address, and fails with 500 when it cannot', async () => {
    const r = await srv.request('/bind?b=127.0.0.10');
    expect(r.status).toBe(200);
    expect(plain.remotes.at(-1)).toBe('127.0.0.10');
    const bad = await srv.request('/bind?b=100.100.100.100');
    expect(bad.status).toBe(500);
    expect(srv.errorLog()).toContain('bind(100.100.100.100) failed (99: Cannot assign requested address) while connecting to upstream');
  });

  it('evaluates variables in the URL per request and sends their URI as is', async () => {
    const r = await srv.request(`/vars?port=${plain.port}&x=9`);
    expect(r.body).toBe('line=GET /v?x=9 HTTP/1.0');
  });
});

describe('upstream responses', () => {
  it('decodes chunked responses and re-frames them for the client', async () => {
    const r = await srv.request('/chunked');
    expect(r.status).toBe(200);
    expect(r.header('transfer-encoding')).toBe('chunked');
    expect(r.body).toBe('hello world');
  });

  it('streams with proxy_buffering off', async () => {
    const t0 = Date.now();
    let firstAt = 0;
    const r = await srv.request('/buf', {
      until: (d) => {
        if (!firstAt && d.includes('first;')) firstAt = Date.now();
        return false;
      },
    });
    expect(r.body).toBe('first;second');
    expect(firstAt - t0).toBeLessThan(250);
  });

  it('keeps upstream connections alive with keepalive', async () => {
    const before = keep.connections;
    const a = await srv.request('/keep');
    const b = await srv.request('/keep');
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(keep.connections - before).toBe(1);
    expect(keep.requests.at(-1)).toBe(`GET /keep HTTP/1.1\r\nHost: keeppool\r\n\r\n`);
  });

  it('closes cached connections after keepalive_requests', async () => {
    const before = keep.connections;
    for (let i = 0; i < 3; i++) expect((await srv.request('/keep2')).status).toBe(200);
    expect(keep.connections - before).toBe(2);
  });

  it('rewrites Location with the default proxy_redirect, and not with proxy_redirect off', async () => {
    const r = await srv.request('/red/loc');
    expect(r.status).toBe(302);
    expect(r.header('location')).toBe('/red/elsewhere');
    const n = await srv.request('/nored/loc');
    expect(n.header('location')).toBe(`http://127.0.0.1:${redirector.port}/bar/elsewhere`);
  });

  it('follows X-Accel-Redirect internally', async () => {
    const r = await srv.request('/red/xa');
    expect(r.status).toBe(200);
    expect(r.body).toBe('internal from=xa\n');
    expect(r.header('set-cookie')).toBe('a=1');
  });

  it('hands intercepted errors to error_page', async () => {
    const r = await srv.request('/red/err');
    expect(r.status).toBe(503);
    expect(r.body).toBe('intercepted\n');
  });

  it('sends HEAD upstream and no body to the client', async () => {
    const r = await srv.request('HEAD /red/head HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(200);
    expect(r.header('x-method')).toBe('HEAD');
    expect(r.body).toBe('');
  });

  it('runs header filters on proxied responses and exposes $upstream_status / $proxy_host', async () => {
    const r = await srv.request('/lua');
    expect(r.header('x-filter')).toBe(`200 127.0.0.1:${plain.port}`);
  });

  it('is captured by ngx.location.capture', async () => {
    const r = await srv.request('/cap');
    expect(r.body).toBe('200 1 line=POST /bar/cap HTTP/1.0\n502\n');
    expect(plain.requests.at(-1)).toBe(`POST /bar/cap HTTP/1.0\r\nHost: 127.0.0.1:${plain.port}\r\nConnection: close\r\nContent-Length: 3\r\n\r\nxyz`);
  });
});

describe('upgraded connections', () => {
  it('tunnels both ways after 101 Switching Protocols', async () => {
    const sock = net.connect(srv.port, '127.0.0.1');
    let got = '';
    const wait = (pred: () => boolean) => new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timeout, got ${JSON.stringify(got)}`)), 3000);
      const check = (): void => {
        if (pred()) {
          clearTimeout(t);
          resolve();
        }
      };
      sock.on('data', check);
      check();
    });
    sock.on('data', (d) => { got += d.toString('latin1'); });
    sock.write('GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    await wait(() => got.includes('hi;'));
    expect(got).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(got).toMatch(/\r\nConnection: upgrade\r\n/);
    expect(got).toMatch(/\r\nUpgrade: websocket\r\n/);
    sock.write('ping');
    await wait(() => got.includes('echo:ping'));
    sock.destroy();
  });
});

describe('upstream failures', () => {
  it('answers 502 for refused connections with nginx\'s log line', async () => {
    const r = await srv.request('/refused/x');
    expect(r.status).toBe(502);
    expect(r.body).toContain('502 Bad Gateway');
    expect(srv.errorLog()).toContain(`connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: localhost, request: "GET /refused/x HTTP/1.1", upstream: "http://127.0.0.1:${refusedPort}/refused/x", host: "localhost"`);
  });

  it('answers 504 when the upstream is silent past proxy_read_timeout', async () => {
    const t0 = Date.now();
    const r = await srv.request('/silent');
    expect(r.status).toBe(504);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(180);
    expect(srv.errorLog()).toContain('upstream timed out (110: Connection timed out) while reading response header from upstream');
  });

  it('answers 502 when the upstream closes before a response', async () => {
    const r = await srv.request('/early');
    expect(r.status).toBe(502);
    expect(srv.errorLog()).toContain('upstream prematurely closed connection while reading response header from upstream');
  });

  it('tries the next server after an error (proxy_next_upstream)', async () => {
    const r = await srv.request('/next');
    expect(r.status).toBe(200);
    expect(r.header('x-addr')).toBe(`127.0.0.1:${refusedPort}, 127.0.0.1:${plain.port}`);
    expect(r.header('x-status')).toBe('502, 200');
  });

  it('falls back to backup servers', async () => {
    const r = await srv.request('/backup');
    expect(r.status).toBe(200);
    expect(r.body).toBe('line=GET /backup HTTP/1.0');
  });

  it('retries on http_503 when proxy_next_upstream says so', async () => {
    const r = await srv.request('/n503');
    expect(r.status).toBe(200);
    expect(r.header('x-status')).toBe('503, 200');
  });

  it('marks failed servers down for fail_timeout: "no live upstreams"', async () => {
    const a = await srv.request('/dead');
    expect(a.status).toBe(502);
    expect(a.header('x-addr')).toBe(`127.0.0.1:${refusedPort}, 127.0.0.2:${refusedPort}`);
    const b = await srv.request('/dead');
    expect(b.status).toBe(502);
    expect(b.header('x-addr')).toBe('dead');
    expect(srv.errorLog()).toContain('no live upstreams while connecting to upstream, client: 127.0.0.1, server: localhost, request: "GET /dead HTTP/1.1", upstream: "http://dead/dead"');
  });

  it('balances by weight (smooth weighted round robin)', async () => {
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) bodies.push((await srv.request('/weighted')).body.slice(0, 2));
    expect(bodies).toEqual(['li', 'n=', 'li']);
  });

  it('never disables servers with max_fails=0', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await srv.request('/nofail');
      expect(r.status).toBe(502);
      expect(r.header('x-addr')?.split(', ').length).toBe(2);
    }
  });

  it('lets balancer_by_lua pick peers and add tries', async () => {
    const r = await srv.request('/bal');
    expect(r.status).toBe(200);
    expect(r.body).toBe('line=GET /b HTTP/1.0');
    expect(r.header('x-addr')).toBe(`127.0.0.1:${refusedPort}, 127.0.0.1:${plain.port}`);
    expect(srv.errorLog()).toContain('last failure: failed 502');
  });
});
