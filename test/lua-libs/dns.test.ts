// resty.dns.resolver against a DNS server written in the test (node:dgram + node:net): record
// types, NXDOMAIN, stray replies with another id, truncation falling back to TCP, retransmission
// to the next nameserver with the tries log, plus the IPv6/arpa helpers.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { startTsresty, cosocketsAvailable, freePortUdp } from './support.js';
import type { TestServer } from '../support/server.js';

const run = cosocketsAvailable();

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean);
  return Buffer.concat([...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])), Buffer.from([0])]);
}

interface RR {
  type: number;
  data: Buffer;
  ttl?: number;
  name?: string;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** Answer a query packet: records by name; flags: tc for truncation, rcode. */
function answer(q: Buffer, overTcp: boolean): Buffer {
  const id = q.readUInt16BE(0);
  let p = 12;
  const labels: string[] = [];
  while (q[p] !== 0) {
    labels.push(q.toString('latin1', p + 1, p + 1 + q[p]));
    p += 1 + q[p];
  }
  const qtype = q.readUInt16BE(p + 1);
  const question = q.subarray(12, p + 5);
  const name = labels.join('.');
  let rcode = 0;
  let tc = false;
  const an: RR[] = [];
  const ns: RR[] = [];
  const ar: RR[] = [];
  switch (name) {
    case 'a.test':
      if (qtype === 1) an.push({ type: 1, data: Buffer.from([10, 0, 0, 1]), ttl: 300 }, { type: 1, data: Buffer.from([10, 0, 0, 2]), ttl: 300 });
      if (qtype === 28) an.push({ type: 28, data: Buffer.from('20010db8000000000000000000000001', 'hex') });
      ns.push({ type: 2, data: encodeName('ns1.test') });
      ar.push({ type: 1, name: 'ns1.test', data: Buffer.from([10, 0, 0, 53]) });
      break;
    case 'alias.test':
      // the target name is compressed: a pointer to the question name at offset 12
      an.push({ type: 5, data: Buffer.concat([Buffer.from([3]), Buffer.from('www'), Buffer.from([0xc0, 12])]) });
      break;
    case 'mail.test':
      an.push({ type: 15, data: Buffer.concat([u16(10), encodeName('mx.mail.test')]) });
      break;
    case 'txt.test':
      an.push({ type: 16, data: Buffer.from('\x05hello\x05world', 'latin1') }, { type: 16, data: Buffer.from('\x03one', 'latin1') });
      break;
    case '_sip._tcp.test':
      an.push({ type: 33, data: Buffer.concat([u16(1), u16(5), u16(5060), encodeName('sip.test')]) });
      break;
    case 'big.test':
      if (!overTcp) tc = true;
      else for (let i = 0; i < 50; i++) an.push({ type: 1, data: Buffer.from([10, 1, 0, i]) });
      break;
    case '4.3.2.1.in-addr.arpa':
      an.push({ type: 12, data: encodeName('host.test') });
      break;
    default:
      rcode = 3;
  }
  const rr = (r: RR) =>
    Buffer.concat([r.name ? encodeName(r.name) : Buffer.from([0xc0, 12]), u16(r.type), u16(1), u32(r.ttl ?? 60), u16(r.data.length), r.data]);
  const flags = 0x8000 | 0x0100 | 0x0080 | (tc ? 0x0200 : 0) | rcode;
  return Buffer.concat([u16(id), u16(flags), u16(1), u16(an.length), u16(ns.length), u16(ar.length), question, ...an.map(rr), ...ns.map(rr), ...ar.map(rr)]);
}

let udp: dgram.Socket;
let tcpSrv: net.Server;
let dnsPort = 0;
let deadPort = 0;
let dead: dgram.Socket;
let srv: TestServer;

describe.skipIf(!run)('resty.dns.resolver', () => {
  beforeAll(async () => {
    dnsPort = await freePortUdp();
    udp = dgram.createSocket('udp4');
    udp.on('message', (msg, rinfo) => {
      const name = msg.toString('latin1', 13, 13 + msg[12]);
      if (name === 'stray') {
        // first a reply to some other query, then ours
        const other = Buffer.from(answer(msg, false));
        other.writeUInt16BE((msg.readUInt16BE(0) + 1) & 0xffff, 0);
        udp.send(other, rinfo.port, rinfo.address);
        setTimeout(() => udp.send(answer(msg, false), rinfo.port, rinfo.address), 20);
        return;
      }
      udp.send(answer(msg, false), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => udp.bind(dnsPort, '127.0.0.1', () => r()));
    tcpSrv = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const a = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), true);
          s.end(Buffer.concat([u16(a.length), a]));
        }
      });
      s.on('error', () => {});
    });
    await new Promise<void>((r) => tcpSrv.listen(dnsPort, '127.0.0.1', () => r()));
    // a nameserver that never answers
    deadPort = await freePortUdp();
    dead = dgram.createSocket('udp4');
    await new Promise<void>((r) => dead.bind(deadPort, '127.0.0.1', () => r()));

    const dump = `
                local function dump(answers, err)
                    if not answers then return "error: " .. tostring(err) end
                    local out = {}
                    if answers.errcode then out[1] = "errcode " .. answers.errcode .. " " .. answers.errstr end
                    for _, a in ipairs(answers) do
                        local v = a.address or a.cname or a.exchange or a.nsdname or a.ptrdname or a.target
                        if a.txt then v = type(a.txt) == "table" and table.concat(a.txt, "+") or a.txt end
                        out[#out + 1] = table.concat({ a.section, a.name, a.type, a.ttl, tostring(v), tostring(a.preference or a.port or "") }, " ")
                    end
                    return table.concat(out, "; ")
                end`;
    srv = await startTsresty(`
        location = /dns {
            content_by_lua_block {
${dump}
                local resolver = require "resty.dns.resolver"
                local r = assert(resolver:new({ nameservers = { { "127.0.0.1", ${dnsPort} } }, timeout = 1000 }))
                ngx.say(dump(r:query("a.test")))
                ngx.say(dump(r:query("a.test", { qtype = r.TYPE_AAAA })))
                ngx.say(dump(r:query("a.test", { authority_section = true, additional_section = true })))
                ngx.say(dump(r:query("alias.test", { qtype = r.TYPE_CNAME })))
                ngx.say(dump(r:query("mail.test", { qtype = r.TYPE_MX })))
                ngx.say(dump(r:query("txt.test", { qtype = r.TYPE_TXT })))
                ngx.say(dump(r:query("_sip._tcp.test", { qtype = r.TYPE_SRV })))
                ngx.say(dump(r:query("missing.test")))
                ngx.say(dump(r:query("stray")))
                local big = r:query("big.test")
                ngx.say("big over tcp: ", #big, " ", big[50].address)
                ngx.say(dump(r:tcp_query("a.test")))
                ngx.say(dump(r:reverse_query("1.2.3.4")))
                ngx.say(dump(r:query("bad..name")))
            }
        }
        location = /retrans {
            content_by_lua_block {
${dump}
                local resolver = require "resty.dns.resolver"
                local r = assert(resolver:new({
                    nameservers = { { "127.0.0.1", ${deadPort} }, { "127.0.0.1", ${dnsPort} } },
                    timeout = 100, retrans = 3, no_random = true,
                }))
                local tries = {}
                local answers, err = r:query("a.test", nil, tries)
                ngx.say(dump(answers, err))
                ngx.say(#tries, " ", tries[1])
                local r2 = assert(resolver:new({ nameservers = { { "127.0.0.1", ${deadPort} } }, timeout = 50, retrans = 2 }))
                tries = {}
                answers, err = r2:query("a.test", nil, tries)
                ngx.say(dump(answers, err), " / ", #tries)
                ngx.say(resolver:new({ nameservers = {} }))
            }
        }
        location = /helpers {
            content_by_lua_block {
                local resolver = require "resty.dns.resolver"
                ngx.say(resolver.compress_ipv6_addr("FF01:0:0:0:0:0:0:101"))
                ngx.say(resolver.compress_ipv6_addr("1:0:0:2:0:0:0:3"))
                ngx.say(resolver.expand_ipv6_addr("FF01::101"))
                ngx.say(resolver.expand_ipv6_addr("::1"))
                ngx.say(resolver.expand_ipv6_addr("fe80::"))
                ngx.say(resolver.arpa_str("1.2.3.4"))
                ngx.say(resolver.arpa_str("FF01::101"))
            }
        }`);
  });

  afterAll(async () => {
    await srv?.stop();
    udp?.close();
    dead?.close();
    tcpSrv?.close();
  });

  it('queries every record type; NXDOMAIN; stray replies; truncation retried over TCP', async () => {
    const r = await srv.request('/dns', { timeoutMs: 10000 });
    expect(r.body).toBe(
      [
        '1 a.test 1 300 10.0.0.1 ; 1 a.test 1 300 10.0.0.2 ',
        '1 a.test 28 60 2001:db8:0:0:0:0:0:1 ',
        '1 a.test 1 300 10.0.0.1 ; 1 a.test 1 300 10.0.0.2 ; 2 a.test 2 60 ns1.test ; 3 ns1.test 1 60 10.0.0.53 ',
        '1 alias.test 5 60 www.alias.test ',
        '1 mail.test 15 60 mx.mail.test 10',
        '1 txt.test 16 60 hello+world ; 1 txt.test 16 60 one ',
        '1 _sip._tcp.test 33 60 sip.test 5060',
        'errcode 3 name error',
        'errcode 3 name error',
        'big over tcp: 50 10.1.0.49',
        '1 a.test 1 300 10.0.0.1 ; 1 a.test 1 300 10.0.0.2 ',
        '1 4.3.2.1.in-addr.arpa 12 60 host.test ',
        'error: bad name',
        '',
      ].join('\n'),
    );
  });

  it('retransmits to the next nameserver on timeouts and reports the tries', async () => {
    const r = await srv.request('/retrans', { timeoutMs: 10000 });
    const lines = r.body.split('\n');
    expect(lines[0]).toBe('1 a.test 1 300 10.0.0.1 ; 1 a.test 1 300 10.0.0.2 ');
    expect(lines[1]).toBe(`1 failed to receive reply from UDP server 127.0.0.1:${deadPort}: timeout`);
    expect(lines[2]).toBe(`error: failed to receive reply from UDP server 127.0.0.1:${deadPort}: timeout / 2`);
    expect(lines[3]).toBe('nilno nameservers specified');
  });

  it('IPv6 and arpa helpers', async () => {
    const r = await srv.request('/helpers');
    expect(r.body).toBe(
      'FF01::101\n1:0:0:2::3\nFF01:0:0:0:0:0:0:101\n0:0:0:0:0:0:0:1\nfe80:0:0:0:0:0:0:0\n4.3.2.1.in-addr.arpa\n' +
        '1.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.F.F.ip6.arpa\n',
    );
  });
});
