import { describe, expect, it } from 'vitest';
import { DONE, FAILED, HEAD, HEAD_DONE, NEED_MORE, RequestParser } from '../../src/http/parser.js';

const LIMITS = { maxRequestLine: 8192, maxHeaderLine: 8192, maxHeaderTotal: 32768 };

function parser(limits = LIMITS): { p: RequestParser; body: Buffer[] } {
  const body: Buffer[] = [];
  return { p: new RequestParser(limits, (c) => body.push(Buffer.from(c))), body };
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('RequestParser', () => {
  it('parses a head with headers in order and original case', () => {
    const { p } = parser();
    const req = 'GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-Foo:  bar  \r\nx-foo: baz\r\n\r\n';
    expect(p.execute(b(req), 0)).toBe(HEAD_DONE);
    const h = p.head!;
    expect(h.method).toBe('GET');
    expect(h.uri).toBe('/a?b=1');
    expect([h.httpMajor, h.httpMinor]).toEqual([1, 1]);
    expect(h.headers).toEqual(['Host', 'example.com', 'X-Foo', 'bar', 'x-foo', 'baz']);
    expect(h.keepAlive).toBe(true);
    expect(h.contentLength).toBe(-1);
    expect(h.chunked).toBe(false);
    expect(h.rawHeader.toString('latin1')).toBe(req);
    expect(h.headerLength).toBe(req.length);
    expect(p.consumed).toBe(req.length);
    p.destroy();
  });

  it('pauses after each pipelined message and resumes with the rest', () => {
    const { p } = parser();
    const buf = b('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.0\r\n\r\n');
    expect(p.execute(buf, 0)).toBe(HEAD_DONE);
    expect(p.head!.uri).toBe('/1');
    const first = p.consumed;
    expect(p.execute(buf, first)).toBe(HEAD_DONE);
    expect(p.head!.uri).toBe('/2');
    expect(p.head!.keepAlive).toBe(false);
    expect(p.head!.rawHeader.toString()).toBe('GET /2 HTTP/1.0\r\n\r\n');
    expect(p.consumed).toBe(buf.length);
    p.destroy();
  });

  it('pauses after the head when a body follows, then delivers the body', () => {
    const { p, body } = parser();
    const buf = b('POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n');
    expect(p.execute(buf, 0)).toBe(HEAD);
    expect(p.head!.contentLength).toBe(5);
    expect(body).toEqual([]);
    expect(p.execute(buf, p.consumed)).toBe(DONE);
    expect(Buffer.concat(body).toString()).toBe('hello');
    expect(p.execute(buf, p.consumed)).toBe(HEAD_DONE);
    expect(p.head!.method).toBe('GET');
    p.destroy();
  });

  it('decodes chunked bodies and ignores trailers', () => {
    const { p, body } = parser();
    const buf = b('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\n');
    expect(p.execute(buf, 0)).toBe(HEAD);
    expect(p.head!.chunked).toBe(true);
    expect(p.execute(buf, p.consumed)).toBe(DONE);
    expect(Buffer.concat(body).toString()).toBe('abcde');
    expect(p.head!.headers).toEqual(['Transfer-Encoding', 'chunked']);
    p.destroy();
  });

  it('joins names, values and the raw header across reads', () => {
    const { p } = parser();
    const req = 'GET /long/path HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\n\r\n';
    let r = NEED_MORE as number;
    for (let i = 0; i < req.length; i += 3) {
      r = p.execute(b(req.slice(i, i + 3)), 0);
      if (i + 3 < req.length) expect(r).toBe(NEED_MORE);
    }
    expect(r).toBe(HEAD_DONE);
    expect(p.head!.uri).toBe('/long/path');
    expect(p.head!.headers).toEqual(['Host', 'example.org', 'Accept', '*/*']);
    expect(p.head!.rawHeader.toString()).toBe(req);
    p.destroy();
  });

  it('skips empty lines before a request line (raw header without them)', () => {
    const { p } = parser();
    expect(p.execute(b('\r\n\r\nGET / HTTP/1.0\r\n\r\n'), 0)).toBe(HEAD_DONE);
    expect(p.head!.rawHeader.toString()).toBe('GET / HTTP/1.0\r\n\r\n');
    p.destroy();
  });

  it('accepts raw bytes >= 0x80 in the request target like nginx', () => {
    const { p } = parser();
    expect(p.execute(b('GET /caf\xe9/\xff?q=\xe4 HTTP/1.1\r\nHost: a\r\n\r\n'), 0)).toBe(HEAD_DONE);
    expect(p.head!.uri).toBe('/caf\xe9/\xff?q=\xe4');
    // the next message on the same parser is parsed normally
    expect(p.execute(b('GET /next HTTP/1.1\r\nHost: a\r\n\r\n'), 0)).toBe(HEAD_DONE);
    expect(p.head!.uri).toBe('/next');
    // with an unknown method too
    expect(p.execute(b('FOO /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n'), 0)).toBe(HEAD_DONE);
    expect([p.head!.method, p.head!.uri]).toEqual(['FOO', '/\xe9']);
    p.destroy();
  });

  it('accepts methods llhttp does not know, as nginx does ([A-Z_-]+)', () => {
    const { p, body } = parser();
    for (const m of ['FOO', 'BREW', 'XPATC', 'MY-VRB', 'CUSTOM_', 'X-METHOD', 'MY_METHOD', 'ABCDEFGHIJ', 'ABCDEFGHIJK']) {
      const r = p.execute(b(`${m} /x HTTP/1.1\r\nHost: a\r\n\r\n`), 0);
      expect(r, m).toBe(HEAD_DONE);
      expect(p.head!.method).toBe(m);
      expect(p.head!.rawHeader.toString()).toBe(`${m} /x HTTP/1.1\r\nHost: a\r\n\r\n`);
    }
    const buf = b('FOO /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /n HTTP/1.1\r\n\r\n');
    expect(p.execute(buf, 0)).toBe(HEAD);
    expect(p.execute(buf, p.consumed)).toBe(DONE);
    expect(Buffer.concat(body).toString()).toBe('hi');
    expect(p.execute(buf, p.consumed)).toBe(HEAD_DONE);
    expect(p.head!.method).toBe('GET');
    p.destroy();
    for (const bad of ['foo / HTTP/1.1\r\n\r\n', 'ABCDEFGHIJKLMNOP / HTTP/1.1\r\n\r\n', 'F\x01O / HTTP/1.1\r\n\r\n']) {
      const q = parser().p;
      expect(q.execute(b(bad), 0), bad).toBe(FAILED);
      expect(q.errorName).toBe('HPE_INVALID_METHOD');
      q.destroy();
    }
  });

  it('reports errors with the llhttp errno name, reason and offset', () => {
    const { p } = parser();
    expect(p.execute(b('GET / HTTP/1.1\r\nBad Header: x\r\n\r\n'), 0)).toBe(FAILED);
    expect(p.errorName).toBe('HPE_INVALID_HEADER_TOKEN');
    expect(p.errorReason).toMatch(/header/i);
    expect(p.errorPos).toBe(19);
    p.destroy();
  });

  it('reports the request-line and header limits as 414 and 494', () => {
    const small = { maxRequestLine: 64, maxHeaderLine: 64, maxHeaderTotal: 200 };
    let { p } = parser(small);
    expect(p.execute(b('GET /' + 'a'.repeat(100) + ' HTTP/1.1\r\n\r\n'), 0)).toBe(FAILED);
    expect(p.limitStatus).toBe(414);
    p.destroy();
    ({ p } = parser(small));
    expect(p.execute(b('GET / HTTP/1.1\r\nX: ' + 'v'.repeat(100) + '\r\n\r\n'), 0)).toBe(FAILED);
    expect(p.limitStatus).toBe(494);
    p.destroy();
    ({ p } = parser(small));
    let r = NEED_MORE as number;
    r = p.execute(b('GET / HTTP/1.1\r\n'), 0);
    for (let i = 0; i < 10 && r === NEED_MORE; i++) r = p.execute(b(`X-${i}: ${'v'.repeat(30)}\r\n`), 0);
    expect(r).toBe(FAILED);
    expect(p.limitStatus).toBe(494);
    p.destroy();
    // a request line that never ends
    ({ p } = parser(small));
    expect(p.execute(b('GET /' + 'a'.repeat(40)), 0)).toBe(NEED_MORE);
    expect(p.execute(b('a'.repeat(40)), 0)).toBe(FAILED);
    expect(p.limitStatus).toBe(414);
    p.destroy();
  });

  it('flags upgrades and keeps parsing HTTP after them', () => {
    const { p } = parser();
    const buf = b('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(p.execute(buf, 0)).toBe(HEAD_DONE);
    expect(p.head!.upgrade).toBe(true);
    expect(p.execute(buf, p.consumed)).toBe(HEAD_DONE);
    expect(p.head!.uri).toBe('/2');
    expect(p.head!.upgrade).toBe(false);
    p.destroy();
  });

  it('reports a Transfer-Encoding other than chunked as a head with transferEncoding set', () => {
    const { p } = parser();
    expect(p.execute(b('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n'), 0)).toBe(HEAD);
    expect(p.head!.transferEncoding).toBe(true);
    expect(p.head!.chunked).toBe(false);
    p.destroy();
  });

  it('keeps many parsers independent on the one wasm instance', () => {
    const a = parser().p;
    const c = parser().p;
    expect(a.execute(b('GET /a HTTP/1.1\r\nHo'), 0)).toBe(NEED_MORE);
    expect(c.execute(b('GET /c HTTP/1.1\r\nHost: c\r\n\r\n'), 0)).toBe(HEAD_DONE);
    expect(a.execute(b('st: a\r\n\r\n'), 0)).toBe(HEAD_DONE);
    expect(a.head!.uri).toBe('/a');
    expect(a.head!.headers).toEqual(['Host', 'a']);
    expect(c.head!.uri).toBe('/c');
    a.destroy();
    c.destroy();
  });
});
