// Bad input over real sockets: every case gets nginx's status, page and a closed connection, and
// nothing reaches onRequest.
import { afterEach, describe, expect, it } from 'vitest';
import { errorClosesConnection, errorPageHtml, statusLine, statusText } from '../../src/http/transport.js';
import { echo, parseResponses, raw, serve, type Srv } from './helpers.js';

let srv: Srv | null = null;
let handled = 0;
afterEach(async () => {
  await srv?.close();
  srv = null;
  handled = 0;
});

async function start(options = {}): Promise<Srv> {
  srv = await serve((ex) => {
    handled++;
    echo(ex);
  }, options);
  return srv;
}

/** Send `req`, expect one error response with `status`, the nginx page for `page`, then a close. */
async function expectRejected(req: string | string[], status: number, page = status): Promise<void> {
  const r = await raw(srv!.port, Array.isArray(req) ? req : [req]);
  expect(r.closed).toBe(true);
  const rs = parseResponses(r.data);
  expect(rs.length).toBe(1);
  expect(rs[0].status).toBe(status);
  expect(rs[0].header('connection')).toBe('close');
  expect(rs[0].header('content-type')).toBe('text/html');
  expect(rs[0].header('server')).toBe('nginx');
  expect(rs[0].body).toBe(errorPageHtml(page, 'nginx'));
  expect(handled).toBe(0);
}

describe('error pages', () => {
  it('reproduces nginx 400 byte for byte', () => {
    expect(errorPageHtml(400, 'nginx')).toBe('<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n' +
      '<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n');
  });

  it('has the 494 page sent as 400', () => {
    expect(errorPageHtml(494, 'openresty/1.27.1.2')).toBe('<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n' +
      '<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n' +
      '<hr><center>openresty/1.27.1.2</center>\r\n</body>\r\n</html>\r\n');
    expect(statusLine(494)).toBe('HTTP/1.1 400 Bad Request\r\n');
  });

  it('knows the titles nginx uses', () => {
    const titles: Record<number, string> = {
      401: '401 Authorization Required', 403: '403 Forbidden', 404: '404 Not Found', 405: '405 Not Allowed',
      408: '408 Request Time-out', 413: '413 Request Entity Too Large', 414: '414 Request-URI Too Large',
      500: '500 Internal Server Error', 501: '501 Not Implemented', 502: '502 Bad Gateway',
      503: '503 Service Temporarily Unavailable', 504: '504 Gateway Time-out',
    };
    for (const [code, title] of Object.entries(titles)) {
      expect(errorPageHtml(Number(code), 'nginx')).toContain(`<title>${title}</title>`);
      expect(errorPageHtml(Number(code), 'nginx')).toContain(`<h1>${title}</h1>`);
    }
    expect(errorPageHtml(200, 'nginx')).toBe('');
    expect(statusText(401)).toBe('Unauthorized');
    expect(statusText(302)).toBe('Moved Temporarily');
    expect(errorClosesConnection(413)).toBe(true);
    expect(errorClosesConnection(404)).toBe(false);
  });
});

describe('bad requests over a socket', () => {
  it('malformed request line → 400', async () => {
    await start();
    await expectRejected('GET /a b c\r\n\r\n', 400);
    await expectRejected('get / HTTP/1.1\r\nHost: a\r\n\r\n', 400);
    expect(srv!.errors[1]).toMatchObject({ code: 'HPE_INVALID_METHOD', reason: 'client sent invalid method', requestLine: 'get / HTTP/1.1' });
    await expectRejected('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400); // TLS on a plain port
  });

  it('malformed header → 400, with the llhttp error in the log info', async () => {
    await start();
    await expectRejected('GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n', 400);
    expect(srv!.errors[0].code).toBe('HPE_INVALID_HEADER_TOKEN');
    expect(srv!.errors[0].pos).toBe('GET / HTTP/1.1\r\nHost: a\r\nBad'.length);
    expect(srv!.errors[0].requestLine).toBe('GET / HTTP/1.1');
    expect(srv!.errors[0].responded).toBe(true);
    await expectRejected('GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n', 400);
    await expectRejected('GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', 400);
  });

  it('HTTP/1.1 without Host, duplicate or invalid Host → 400', async () => {
    await start();
    await expectRejected('GET / HTTP/1.1\r\n\r\n', 400);
    await expectRejected('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400);
    await expectRejected('GET / HTTP/1.1\r\nHost: a..b\r\n\r\n', 400);
    await expectRejected('GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', 400);
    expect(srv!.errors.map((e) => e.reason)).toEqual([
      'client sent HTTP/1.1 request without "Host" header', 'client sent duplicate host header',
      'client sent invalid host header', 'client sent invalid host header',
    ]);
  });

  it('HTTP/1.0 without Host is fine', async () => {
    await start();
    const r = await raw(srv!.port, ['GET / HTTP/1.0\r\n\r\n']);
    expect(parseResponses(r.data)[0].status).toBe(200);
  });

  it('unknown Transfer-Encoding → 501; on HTTP/1.0 or with Content-Length → 400', async () => {
    await start();
    await expectRejected('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n', 501);
    await expectRejected('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', 501);
    await expectRejected('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400);
    await expectRejected('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 400);
  });

  it('a bad chunked body → 400', async () => {
    srv = await serve((ex) => ex.readBody(0, () => undefined));
    const r = await raw(srv.port, ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n']);
    expect(r.closed).toBe(true);
    expect(parseResponses(r.data)[0].status).toBe(400);
  });

  it('HTTP/2.0 in the request line → 505, CONNECT and TRACE → 405', async () => {
    await start();
    await expectRejected('GET / HTTP/2.0\r\nHost: a\r\n\r\n', 505);
    await expectRejected('CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n', 405);
    await expectRejected('TRACE / HTTP/1.1\r\nHost: a\r\n\r\n', 405);
  });

  it('no body in error answers to HEAD', async () => {
    await start();
    const r = await raw(srv!.port, ['HEAD / HTTP/1.1\r\n\r\n']);
    expect(r.data.endsWith('Connection: close\r\n\r\n')).toBe(true);
    expect(r.data).toContain('Content-Length: ' + errorPageHtml(400, 'nginx').length);
  });

  it('request line over large_client_header_buffers size → 414', async () => {
    await start({ largeHeaderBufferSize: 1024 });
    await expectRejected(`GET /${'a'.repeat(2000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414);
    // arriving in pieces, never ending
    await expectRejected(['GET /' + 'b'.repeat(600), 'b'.repeat(600), 'b'.repeat(600)], 414);
  });

  it('a header line over the buffer size, or all headers over the buffers → 494 (as 400)', async () => {
    await start({ largeHeaderBufferSize: 1024, largeHeaderBuffers: 4 });
    await expectRejected(`GET / HTTP/1.1\r\nHost: a\r\nCookie: ${'c'.repeat(2000)}\r\n\r\n`, 400, 494);
    const many = Array.from({ length: 10 }, (_, i) => `X-H${i}: ${'v'.repeat(500)}\r\n`).join('');
    await expectRejected(`GET / HTTP/1.1\r\nHost: a\r\n${many}\r\n`, 400, 494);
    await expectRejected(['GET / HTTP/1.1\r\nHost: a\r\n', ...Array.from({ length: 10 }, (_, i) => `X-P${i}: ${'v'.repeat(500)}\r\n`)], 400, 494);
    expect(srv!.errors.every((e) => e.status === 494)).toBe(true);
  });

  it('headers just under the limits pass', async () => {
    await start({ largeHeaderBufferSize: 1024, largeHeaderBuffers: 4 });
    const r = await raw(srv!.port, [`GET /${'a'.repeat(900)} HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(900)}\r\n\r\n`],
      { until: (d) => d.includes('#1\n') });
    expect(parseResponses(r.data)[0].status).toBe(200);
  });

  it('keeps serving after a bad request on another connection, and pipelined junk stops at the error', async () => {
    await start();
    const r = await raw(srv!.port, ['GET /ok HTTP/1.1\r\nHost: a\r\n\r\nGARBAGE\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n']);
    const rs = parseResponses(r.data);
    expect(rs.map((x) => x.status)).toEqual([200, 400]);
    expect(r.closed).toBe(true);
    const r2 = await raw(srv!.port, ['GET /again HTTP/1.1\r\nHost: a\r\n\r\n'], { until: (d) => d.includes('#1\n') });
    expect(parseResponses(r2.data)[0].status).toBe(200);
  });

  it('a throwing handler gets a 500 and the transport survives', async () => {
    srv = await serve(() => {
      throw new Error('boom');
    });
    const origError = console.error;
    console.error = () => undefined;
    try {
      const r = await raw(srv.port, ['GET / HTTP/1.1\r\nHost: a\r\n\r\n']);
      const [res] = parseResponses(r.data);
      expect(res.status).toBe(500);
      expect(res.body).toBe(errorPageHtml(500, 'nginx'));
      expect(r.closed).toBe(true);
    } finally {
      console.error = origError;
    }
  });

  it('random bytes never crash the transport', async () => {
    await start();
    let seed = 12345;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let i = 0; i < 30; i++) {
      const parts: Buffer[] = [];
      for (let j = 0; j < 1 + Math.floor(rnd() * 3); j++) {
        const b = Buffer.alloc(1 + Math.floor(rnd() * 200));
        for (let k = 0; k < b.length; k++) b[k] = Math.floor(rnd() * 256);
        if (rnd() < 0.5) b.write('GET / HTTP/1.1\r\nHost: x\r\n', 0, 'latin1');
        parts.push(b);
      }
      const r = await raw(srv!.port, parts, { timeoutMs: 300, gapMs: 1 });
      if (r.data) expect(r.data.startsWith('HTTP/1.1 ')).toBe(true);
    }
    const r = await raw(srv!.port, ['GET / HTTP/1.1\r\nHost: a\r\n\r\n'], { until: (d) => d.includes('#1\n') });
    expect(parseResponses(r.data)[0].status).toBe(200);
  });
});
