import * as net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import type { Exchange } from '../../src/http/transport.js';
import { echo, parseResponses, raw, serve, sleep, waitFor, type Srv } from './helpers.js';

let srv: Srv | null = null;
afterEach(async () => {
  await srv?.close();
  srv = null;
});

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;

describe('transport: keep-alive and pipelining', () => {
  it('serves several requests on one keep-alive connection', async () => {
    srv = await serve((ex) => echo(ex));
    const r = await raw(srv.port, [GET('/1'), GET('/2'), GET('/3')], { until: (d) => d.split('HTTP/1.1 200').length === 4 });
    const rs = parseResponses(r.data);
    expect(rs.map((x) => x.body)).toEqual(['GET /1 HTTP/1.1 #1\n', 'GET /2 HTTP/1.1 #2\n', 'GET /3 HTTP/1.1 #3\n']);
    expect(rs[0].header('connection')).toBe('keep-alive');
    expect(r.closed).toBe(false);
  });

  it('answers pipelined requests (one packet) in order, even when handlers finish out of order', async () => {
    let n = 0;
    srv = await serve((ex) => {
      const delay = ++n === 1 ? 60 : 0;
      setTimeout(() => echo(ex), delay);
    });
    const r = await raw(srv.port, [GET('/a') + GET('/b') + GET('/c')], { until: (d) => d.split('HTTP/1.1 200').length === 4 });
    expect(parseResponses(r.data).map((x) => x.body)).toEqual([
      'GET /a HTTP/1.1 #1\n', 'GET /b HTTP/1.1 #2\n', 'GET /c HTTP/1.1 #3\n',
    ]);
  });

  it('does not start the next pipelined request inside end() of an asynchronous answer', async () => {
    const order: string[] = [];
    srv = await serve((ex) => {
      order.push('start ' + ex.head.uri);
      setTimeout(() => {
        echo(ex);
        order.push('ended ' + ex.head.uri);
      }, 10);
    });
    await raw(srv.port, [GET('/a') + GET('/b')], { until: (d) => d.includes('#2') });
    expect(order).toEqual(['start /a', 'ended /a', 'start /b', 'ended /b']);
    // the same with an unread body dropped in between
    order.length = 0;
    await raw(srv.port, ['POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc' + GET('/q')], { until: (d) => d.includes('#2') });
    expect(order).toEqual(['start /p', 'ended /p', 'start /q', 'ended /q']);
  });

  it('stops parsing pipelined requests while the client does not read the answers', async () => {
    let handled = 0;
    const big = Buffer.alloc(256 * 1024, 97);
    srv = await serve((ex) => {
      handled++;
      ex.writeHead(200, null, [], { contentLength: big.length });
      ex.end(big);
    });
    const s = net.connect(srv.port, '127.0.0.1');
    s.on('error', () => undefined);
    await once(s, 'connect');
    s.pause();
    s.write(GET('/x').repeat(200));
    await sleep(200);
    expect(handled).toBeGreaterThan(0);
    expect(handled).toBeLessThan(200); // the rest waits for the client to read
    let got = 0;
    s.on('data', (d: Buffer) => (got += d.length));
    s.resume();
    await waitFor(() => handled === 200 && got >= 200 * big.length, 10000);
    s.destroy();
  });

  it('gives connection info and serial numbers', async () => {
    const seen: Exchange[] = [];
    srv = await serve((ex) => {
      seen.push(ex);
      echo(ex);
    });
    await raw(srv.port, [GET('/x') + GET('/y')], { until: (d) => d.split('HTTP/1.1 200').length === 3 });
    await raw(srv.port, [GET('/z')], { until: (d) => d.includes('#1') });
    expect(seen[0].remoteAddress).toBe('127.0.0.1');
    expect(seen[0].localAddress).toBe('127.0.0.1');
    expect(seen[0].localPort).toBe(srv.port);
    expect(seen[0].remotePort).toBeGreaterThan(0);
    expect(seen[1].connectionId).toBe(seen[0].connectionId);
    expect(seen[1].connectionRequests).toBe(2);
    expect(seen[2].connectionId).toBeGreaterThan(seen[0].connectionId);
    expect(seen[0].head.rawHeader.toString()).toBe(GET('/x'));
    expect(seen[0].requestLength).toBe(GET('/x').length);
  });

  it('accepts methods outside llhttp\'s list, like nginx', async () => {
    srv = await serve((ex) => echo(ex));
    const r = await raw(srv.port, ['PURGE /a HTTP/1.1\r\nHost: a\r\n\r\nMY_VERB /b HTTP/1.1\r\nHost: a\r\n\r\n'],
      { until: (d) => d.includes('#2') });
    expect(parseResponses(r.data).map((x) => x.body)).toEqual(['PURGE /a HTTP/1.1 #1\n', 'MY_VERB /b HTTP/1.1 #2\n']);
  });

  it('HTTP/1.0 closes by default and keeps alive with Connection: keep-alive', async () => {
    srv = await serve((ex) => echo(ex));
    const r = await raw(srv.port, ['GET /old HTTP/1.0\r\n\r\n']);
    expect(r.closed).toBe(true);
    const [res] = parseResponses(r.data);
    expect(res.statusLine).toBe('HTTP/1.1 200 OK');
    expect(res.header('connection')).toBe('close');
    const r2 = await raw(srv.port, ['GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'], { until: (d) => d.endsWith('\n') && d.includes('#1') });
    expect(parseResponses(r2.data)[0].header('connection')).toBe('keep-alive');
    expect(r2.closed).toBe(false);
  });

  it('closes after a response when the client asked for Connection: close', async () => {
    srv = await serve((ex) => echo(ex));
    const r = await raw(srv.port, [GET('/c', 'Connection: close\r\n') + GET('/ignored')]);
    expect(r.closed).toBe(true);
    const rs = parseResponses(r.data);
    expect(rs.length).toBe(1);
    expect(rs[0].header('connection')).toBe('close');
  });

  it('keeps answering after the client half-closes', async () => {
    srv = await serve((ex) => setTimeout(() => echo(ex), 20));
    const r = await raw(srv.port, [GET('/half')], { halfClose: true });
    expect(r.closed).toBe(true);
    expect(parseResponses(r.data)[0].body).toBe('GET /half HTTP/1.1 #1\n');
  });
});

describe('transport: response framing', () => {
  it('uses chunked encoding for HTTP/1.1 without a length and coalesces writes', async () => {
    srv = await serve((ex) => {
      ex.writeHead(200, null, ['Content-Type', 'text/plain']);
      for (let i = 0; i < 5; i++) ex.write('line ' + i + '\n');
      ex.write(Buffer.from('bytes\n'));
      ex.end();
    });
    const r = await raw(srv.port, [GET('/')], { until: (d) => d.endsWith('0\r\n\r\n') });
    // one chunk for everything written before end()
    expect(r.data.endsWith('\r\n\r\n29\r\nline 0\nline 1\nline 2\nline 3\nline 4\nbytes\n\r\n0\r\n\r\n')).toBe(true);
    const [res] = parseResponses(r.data);
    expect(res.chunked).toBe(true);
    expect(res.header('connection')).toBe('keep-alive');
  });

  it('closes to delimit a length-less body for HTTP/1.0, and when chunked is off', async () => {
    srv = await serve((ex) => {
      ex.writeHead(200, null, [], { chunked: ex.head.uri !== '/nochunk' });
      ex.end('body');
    });
    const r = await raw(srv.port, ['GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n']);
    expect(r.closed).toBe(true);
    expect(r.data).toBe('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody');
    const r2 = await raw(srv.port, [GET('/nochunk')]);
    expect(r2.closed).toBe(true);
    expect(r2.data).toBe('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody');
  });

  it('puts the framing headers where asked, as nginx orders them', async () => {
    srv = await serve((ex) => {
      ex.writeHead(200, null, ['Server', 's', 'Date', 'd', 'Content-Type', 't', 'Last-Modified', 'lm', 'X-A', 'a'],
        { contentLength: 2, lengthAt: 6, connectionAt: 8 });
      ex.end('ok');
    });
    const r = await raw(srv.port, [GET('/')], { until: (d) => d.endsWith('ok') });
    expect(r.data).toBe('HTTP/1.1 200 OK\r\nServer: s\r\nDate: d\r\nContent-Type: t\r\nContent-Length: 2\r\n' +
      'Last-Modified: lm\r\nConnection: keep-alive\r\nX-A: a\r\n\r\nok');
  });

  it('sends no body for HEAD, 204 and 304, and keeps the connection', async () => {
    srv = await serve((ex) => {
      const status = ex.head.uri === '/204' ? 204 : ex.head.uri === '/304' ? 304 : 200;
      ex.writeHead(status, null, ['X', '1'], status === 200 ? { contentLength: 5 } : {});
      ex.write('hello');
      ex.end();
    });
    const r = await raw(srv.port, ['HEAD / HTTP/1.1\r\nHost: a\r\n\r\n' + GET('/204') + GET('/304') + 'HEAD /nolen HTTP/1.1\r\nHost: a\r\n\r\n'],
      { until: (d) => d.split('HTTP/1.1').length === 5 && d.endsWith('\r\n\r\n') });
    const rs = parseResponses(r.data, [true, true, true, true]);
    expect(rs.map((x) => x.status)).toEqual([200, 204, 304, 200]);
    expect(rs[0].header('content-length')).toBe('5');
    expect(rs.every((x) => x.body === '')).toBe(true);
    expect(rs[1].statusLine).toBe('HTTP/1.1 204 No Content');
    expect(rs.every((x) => x.header('connection') === 'keep-alive')).toBe(true);
    expect(r.data.includes('hello')).toBe(false);
  });

  it('writes status lines as nginx does', async () => {
    srv = await serve((ex) => {
      const code = Number(ex.head.uri.slice(1));
      ex.writeHead(code, code === 299 ? null : ex.head.uri === '/201' ? 'Made' : null, [], { contentLength: 0 });
      ex.end();
    });
    const r = await raw(srv.port, [GET('/302') + GET('/299') + GET('/201') + GET('/494')], { until: (d) => d.split('HTTP/1.1').length === 5 });
    expect(parseResponses(r.data).map((x) => x.statusLine)).toEqual([
      'HTTP/1.1 302 Moved Temporarily', 'HTTP/1.1 299 ', 'HTTP/1.1 201 Made', 'HTTP/1.1 400 Bad Request',
    ]);
  });

  it('adds Keep-Alive: timeout=N when configured and closes after keepalive_requests', async () => {
    srv = await serve((ex) => echo(ex), { keepaliveHeader: 30, keepaliveRequests: 2 });
    const r = await raw(srv.port, [GET('/1') + GET('/2') + GET('/3')]);
    expect(r.closed).toBe(true);
    const rs = parseResponses(r.data);
    expect(rs.length).toBe(2);
    expect(rs[0].header('keep-alive')).toBe('timeout=30');
    expect(rs[1].header('connection')).toBe('close');
    expect(rs[1].header('keep-alive')).toBeUndefined();
  });

  it('streams large bodies correctly, chunked and with a length', async () => {
    const piece = Buffer.alloc(50000);
    for (let i = 0; i < piece.length; i++) piece[i] = 97 + (i % 26);
    srv = await serve((ex) => {
      const withLength = ex.head.uri === '/len';
      ex.writeHead(200, null, [], withLength ? { contentLength: piece.length * 5 + 3 } : {});
      for (let i = 0; i < 5; i++) ex.write(piece);
      ex.write('end');
      ex.end();
    });
    const expected = piece.toString('latin1').repeat(5) + 'end';
    const r = await raw(srv.port, [GET('/chunked') + GET('/len')], {
      until: (d) => d.endsWith('end') && d.split('HTTP/1.1 200').length === 3,
      timeoutMs: 5000,
    });
    const rs = parseResponses(r.data);
    expect(rs[0].chunked).toBe(true);
    expect(rs[0].body === expected).toBe(true);
    expect(rs[1].header('content-length')).toBe(String(expected.length));
    expect(rs[1].body === expected).toBe(true);
  });

  it('flush(cb) sends what is pending and calls back once written', async () => {
    let flushed = false;
    srv = await serve((ex) => {
      ex.writeHead(200, null, []);
      ex.write('part1,');
      ex.flush((err) => {
        flushed = err === null;
        setTimeout(() => ex.end('part2'), 30);
      });
    });
    let sawFirst = false;
    const r = await raw(srv.port, [GET('/')], {
      until: (d) => {
        if (d.includes('part1,') && !d.includes('part2')) sawFirst = true;
        return d.endsWith('0\r\n\r\n');
      },
    });
    expect(flushed).toBe(true);
    expect(sawFirst).toBe(true);
    expect(parseResponses(r.data)[0].body).toBe('part1,part2');
  });

  it('reports byte counts', async () => {
    let ex0: Exchange | null = null;
    srv = await serve((ex) => {
      ex0 = ex;
      echo(ex);
    });
    const r = await raw(srv.port, [GET('/count')], { until: (d) => d.includes('#1\n') });
    expect(ex0!.bytesSent).toBe(r.data.length);
    expect(ex0!.bodyBytesSent).toBe('GET /count HTTP/1.1 #1\n'.length);
    expect(ex0!.finished).toBe(true);
  });
});

describe('transport: request bodies', () => {
  const bodyEcho = (max = 0) => (ex: Exchange): void => {
    ex.readBody(max, (err, chunks) => {
      if (err) {
        if (err === 'too_large') {
          ex.writeHead(413, null, [], { contentLength: 0, close: true });
          ex.end();
        }
        return;
      }
      const b = Buffer.concat(chunks!);
      ex.writeHead(200, null, [], { contentLength: b.length });
      ex.end(b);
    });
  };

  it('reads Content-Length and chunked bodies, split over several packets', async () => {
    srv = await serve(bodyEcho());
    const r = await raw(srv.port, [
      'POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello', ' world',
      'POST /ch HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n', '3\r\nefg\r\n0\r\n\r\n',
    ], { until: (d) => d.endsWith('abcdefg') });
    expect(parseResponses(r.data).map((x) => x.body)).toEqual(['hello world', 'abcdefg']);
  });

  it('pipelines a request after a body in the same packet', async () => {
    srv = await serve((ex) => (ex.head.method === 'POST' ? bodyEcho()(ex) : echo(ex)));
    const r = await raw(srv.port, ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz' + GET('/after')],
      { until: (d) => d.includes('#2') });
    expect(parseResponses(r.data).map((x) => x.body)).toEqual(['xyz', 'GET /after HTTP/1.1 #2\n']);
  });

  it('drops an unread body before the next keep-alive request', async () => {
    srv = await serve((ex) => echo(ex));
    const r = await raw(srv.port, [
      'POST /ignored HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234', '56789' + GET('/next'),
      'POST /ch HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nGET /\r\n0\r\n\r\n' + GET('/last'),
    ], { until: (d) => d.includes('#4') });
    expect(parseResponses(r.data).map((x) => x.body)).toEqual([
      'POST /ignored HTTP/1.1 #1\n', 'GET /next HTTP/1.1 #2\n', 'POST /ch HTTP/1.1 #3\n', 'GET /last HTTP/1.1 #4\n',
    ]);
  });

  it('refuses a Content-Length over the limit before reading (413)', async () => {
    srv = await serve(bodyEcho(4));
    const r = await raw(srv.port, ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello']);
    expect(r.closed).toBe(true);
    const [res] = parseResponses(r.data);
    expect(res.status).toBe(413);
    expect(res.header('connection')).toBe('close');
  });

  it('stops a chunked body going over the limit (413)', async () => {
    srv = await serve(bodyEcho(6));
    const r = await raw(srv.port, ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n', '4\r\nefgh\r\n0\r\n\r\n']);
    expect(r.closed).toBe(true);
    expect(parseResponses(r.data)[0].status).toBe(413);
  });

  it('accepts a body exactly at the limit', async () => {
    srv = await serve(bodyEcho(5));
    const r = await raw(srv.port, ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
      { until: (d) => d.endsWith('hello') });
    expect(parseResponses(r.data)[0].body).toBe('hello');
  });

  it('sends 100 Continue when the body is read, not when it is never asked for', async () => {
    srv = await serve((ex) => (ex.head.uri === '/read' ? bodyEcho()(ex) : echo(ex)));
    const r = await raw(srv.port, ['POST /read HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n'],
      { until: (d) => d.includes('100 Continue') });
    expect(r.data).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    const r2 = await raw(srv.port, ['POST /noread HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n'],
      { until: (d) => d.includes('#1\n') });
    expect(r2.data.includes('100 Continue')).toBe(false);
    // the body was never asked for: the client may not send it, so the connection closes
    expect(parseResponses(r2.data)[0].header('connection')).toBe('close');
  });

  it('streams body chunks as they arrive', async () => {
    const got: string[] = [];
    srv = await serve((ex) => {
      ex.streamBody((c) => got.push(c.toString()), (err) => {
        ex.writeHead(200, null, [], { contentLength: 2 });
        ex.end(err ?? 'ok');
      });
    });
    const r = await raw(srv.port, ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nab', 'cd', 'ef'], { until: (d) => d.endsWith('ok') });
    expect(got.join('')).toBe('abcdef');
    expect(got.length).toBeGreaterThan(1);
    expect(parseResponses(r.data)[0].body).toBe('ok');
  });

  it('reports an aborted body read when the client goes away', async () => {
    let result: string | null = null;
    let aborted = false;
    srv = await serve((ex) => {
      ex.onAbort(() => (aborted = true));
      ex.readBody(0, (err) => (result = err));
    });
    await raw(srv.port, ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc'], { until: (d) => d === '', timeoutMs: 100 });
    await sleep(50);
    expect(result).toBe('aborted');
    expect(aborted).toBe(true);
  });
});

describe('transport: taking the socket over', () => {
  it('a 101 answer, then detach() hands over the socket and the bytes already received', async () => {
    srv = await serve((ex) => {
      expect(ex.head.upgrade).toBe(true);
      ex.writeHead(101, 'Switching Protocols', ['Upgrade', 'websocket']);
      const { socket, buffered } = ex.detach();
      socket.write('early=' + (buffered?.toString() ?? '') + ';');
      socket.on('data', (d: Buffer) => socket.write('echo=' + d.toString() + ';'));
      expect(srv!.t.connectionCount).toBe(0);
    });
    const r = await raw(srv.port, ['GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nEARLY', 'LATER'],
      { until: (d) => d.includes('echo=LATER;') });
    expect(r.data).toBe('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nearly=EARLY;echo=LATER;');
  });
});
