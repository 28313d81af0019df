// Host names in cosocket connect/setpeername: the `resolver` directive (a tiny DNS server written
// here answers A queries for *.test names), its error strings, and the fallback without one.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { startServer, type TestServer } from '../support/server.js';

let dns: dgram.Socket;
let dnsPort = 0;
let queries: string[] = [];
let peer: net.Server;
let port = 0;
let withResolver: TestServer;
let without: TestServer;

/** Answer A queries: "peer.test" → 127.0.0.1, anything else NXDOMAIN. */
function dnsReply(q: Buffer): Buffer {
  let off = 12;
  const labels: string[] = [];
  while (q[off] !== 0) {
    labels.push(q.subarray(off + 1, off + 1 + q[off]).toString('latin1'));
    off += q[off] + 1;
  }
  const qEnd = off + 5; // zero byte, qtype, qclass
  const name = labels.join('.').toLowerCase();
  queries.push(name);
  const question = q.subarray(12, qEnd);
  const known = name === 'peer.test';
  const head = Buffer.alloc(12);
  q.copy(head, 0, 0, 2); // id
  head.writeUInt16BE(known ? 0x8180 : 0x8183, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(known ? 1 : 0, 6);
  if (!known) return Buffer.concat([head, question]);
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
  return Buffer.concat([head, question, answer]);
}

const LOC = (p: number): string => `
    location /t {
        content_by_lua_block {
            local sock = ngx.socket.tcp()
            local ok, err = sock:connect(ngx.var.arg_host, ${p})
            if not ok then ngx.say("failed: ", err) return end
            sock:send("PING\\n")
            ngx.say("reply: ", sock:receive())
        }
    }
    location /udp {
        content_by_lua_block {
            local u = ngx.socket.udp()
            ngx.say(u:setpeername(ngx.var.arg_host, 53))
        }
    }`;

beforeAll(async () => {
  dns = dgram.createSocket('udp4');
  dns.on('message', (msg, r) => dns.send(dnsReply(msg), r.port, r.address));
  await new Promise<void>((r) => dns.bind(0, '127.0.0.1', () => r()));
  dnsPort = (dns.address() as net.AddressInfo).port;
  peer = net.createServer((s) => {
    s.on('error', () => {});
    s.on('data', () => s.write('PONG\r\n'));
  });
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', () => r()));
  port = (peer.address() as net.AddressInfo).port;
  withResolver = await startServer(`resolver 127.0.0.1:${dnsPort} ipv6=off;\nresolver_timeout 2s;\n${LOC(port)}`);
  without = await startServer(LOC(port));
});

afterAll(async () => {
  await withResolver?.stop();
  await without?.stop();
  dns?.close();
  peer?.close();
});

describe('cosocket name resolution', () => {
  it('resolves names through the configured resolver (cached for the TTL)', async () => {
    queries = [];
    expect((await withResolver.request('/t?host=peer.test')).body).toBe('reply: PONG\n');
    expect((await withResolver.request('/t?host=PEER.test')).body).toBe('reply: PONG\n');
    expect(queries).toEqual(['peer.test']);
  });

  it('reports resolver failures like nginx', async () => {
    expect((await withResolver.request('/t?host=nope.test')).body).toBe('failed: nope.test could not be resolved (3: Host not found)\n');
    expect((await withResolver.request('/udp?host=nope.test')).body).toBe('nilnope.test could not be resolved (3: Host not found)\n');
  });

  it('IP literals and localhost need no resolver', async () => {
    expect((await without.request('/t?host=127.0.0.1')).body).toBe('reply: PONG\n');
    expect((await without.request('/t?host=localhost')).body).toBe('reply: PONG\n');
    expect((await withResolver.request('/t?host=localhost')).body).toBe('reply: PONG\n');
  });
});
