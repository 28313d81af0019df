// The proxy's pieces that need no server: the upstream response parser (nginx's status line,
// header and chunked rules, fed in arbitrary pieces) and proxy_pass URL parsing.
import { describe, it, expect } from 'vitest';
import { HeadParser, HeadResult, ChunkedDecoder } from '../../src/http/proxy-parse.js';
import { parseProxyUrl } from '../../src/http/proxy-conf.js';

function feedAll(p: HeadParser, s: string, step: number): HeadResult {
  let r = HeadResult.Again;
  for (let i = 0; i < s.length; i += step) {
    r = p.feed(Buffer.from(s.slice(i, i + step), 'latin1'));
    if (r !== HeadResult.Again) return r;
  }
  return r;
}

describe('HeadParser', () => {
  it('parses a head fed byte by byte and says where the body starts', () => {
    const p = new HeadParser(4096);
    const s = 'HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\nX-A:  b c  \r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nhello';
    let r = HeadResult.Again;
    let i = 0;
    for (; i < s.length && r === HeadResult.Again; i++) r = p.feed(Buffer.from(s[i], 'latin1'));
    expect(r).toBe(HeadResult.Done);
    expect(i).toBe(s.indexOf('hello'));
    expect(p.bodyStart).toBe(1);
    const h = p.head;
    expect(h.status).toBe(404);
    expect(h.statusLine).toBe('404 Not Found');
    expect(h.reason).toBe('Not Found');
    expect(h.contentLength).toBe(5);
    expect(h.connectionClose).toBe(false);
    expect(h.headers).toEqual(['Content-Length', '5', 'X-A', 'b c', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
  });

  it('accepts LF line ends, no reason phrase, and marks HTTP/1.0 and Connection: close', () => {
    const p = new HeadParser(4096);
    expect(feedAll(p, 'HTTP/1.0 200\nFoo: bar\n\nbody', 3)).toBe(HeadResult.Done);
    expect(p.head.status).toBe(200);
    expect(p.head.reason).toBe('');
    expect(p.head.connectionClose).toBe(true);
    const q = new HeadParser(4096);
    expect(feedAll(q, 'HTTP/1.1 200 OK\r\nConnection: Close\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 7)).toBe(HeadResult.Done);
    expect(q.head.connectionClose).toBe(true);
    expect(q.head.chunked).toBe(true);
    expect(q.head.contentLength).toBe(-1);
  });

  it('reports a missing status line (HTTP/0.9), NUL bytes and heads over the buffer size', () => {
    expect(new HeadParser(4096).feed(Buffer.from('hello world'))).toBe(HeadResult.NoStatusLine);
    expect(new HeadParser(4096).feed(Buffer.from('HTTP/1.1 abc\r\n'))).toBe(HeadResult.NoStatusLine);
    expect(new HeadParser(4096).feed(Buffer.from('HTTP/1.1 200 OK\r\nA\0b: c\r\n\r\n'))).toBe(HeadResult.Invalid);
    expect(new HeadParser(64).feed(Buffer.from('HTTP/1.1 200 OK\r\nX: ' + 'a'.repeat(100)))).toBe(HeadResult.TooBig);
  });

  it('keeps header lines without a colon as names with empty values', () => {
    const p = new HeadParser(4096);
    expect(p.feed(Buffer.from('HTTP/1.1 200 OK\r\nweird\r\n\r\n'))).toBe(HeadResult.Done);
    expect(p.head.headers).toEqual(['weird', '']);
  });
});

describe('ChunkedDecoder', () => {
  it('decodes across arbitrary splits, with extensions and trailers', () => {
    const s = '5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n';
    for (const step of [1, 2, 5, s.length]) {
      const d = new ChunkedDecoder();
      let out = '';
      for (let i = 0; i < s.length; i += step) {
        expect(d.decode(Buffer.from(s.slice(i, i + step)), 0, (b) => { out += b.toString(); })).toBe(true);
      }
      expect(out).toBe('hello world');
      expect(d.done).toBe(true);
      expect(d.extra).toBe(0);
    }
  });

  it('tolerates bare LF, counts bytes after the end and rejects bad framing', () => {
    const d = new ChunkedDecoder();
    let out = '';
    expect(d.decode(Buffer.from('3\nabc\n0\n\nXY'), 0, (b) => { out += b.toString(); })).toBe(true);
    expect(out).toBe('abc');
    expect(d.done).toBe(true);
    expect(d.extra).toBe(2);
    expect(new ChunkedDecoder().decode(Buffer.from('zz\r\n'), 0, () => {})).toBe(false);
    expect(new ChunkedDecoder().decode(Buffer.from('3\r\nabcX'), 0, () => {})).toBe(false);
  });
});

describe('parseProxyUrl', () => {
  it('splits host, port and URI like ngx_parse_url and computes $proxy_host', () => {
    expect(parseProxyUrl('http://127.0.0.1:8080/a/b?c')).toMatchObject({ host: '127.0.0.1', port: 8080, noPort: false, uri: '/a/b?c', hostHeader: '127.0.0.1:8080', portText: '8080' });
    expect(parseProxyUrl('http://backend')).toMatchObject({ host: 'backend', port: 80, noPort: true, uri: '', hostHeader: 'backend', portText: '80' });
    expect(parseProxyUrl('http://foo:80/')).toMatchObject({ hostHeader: 'foo', uri: '/' });
    expect(parseProxyUrl('http://foo?x=1')).toMatchObject({ host: 'foo', uri: '/?x=1' });
    expect(parseProxyUrl('https://[::1]:8443/x')).toMatchObject({ host: '[::1]', port: 8443, hostHeader: '[::1]:8443' });
    expect(parseProxyUrl('http://unix:/tmp/s.sock:/uri')).toMatchObject({ unix: '/tmp/s.sock', uri: '/uri', hostHeader: 'localhost' });
  });

  it('returns nginx\'s messages for bad URLs', () => {
    expect(parseProxyUrl('ftp://x')).toBe('invalid URL prefix in "ftp://x"');
    expect(parseProxyUrl('http://:80')).toBe('no host in upstream ":80"');
    expect(parseProxyUrl('http://h:abc/')).toBe('invalid port in upstream "h:abc/"');
  });
});
