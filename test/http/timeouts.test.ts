// Timeouts with small values; the assertions are about behaviour (closed, answered or not), never
// about durations.
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { BodyError } from '../../src/http/transport.js';
import { echo, parseResponses, raw, serve, sleep, waitFor, type Srv } from './helpers.js';

let srv: Srv | null = null;
afterEach(async () => {
  await srv?.close();
  srv = null;
});

const SHORT = { clientHeaderTimeout: 120, clientBodyTimeout: 120, keepaliveTimeout: 120, sendTimeout: 120, lingeringTimeout: 120 };

describe('timeouts', () => {
  it('client_header_timeout: a partial head is dropped without a response, logged as 408', async () => {
    srv = await serve((ex) => echo(ex), SHORT);
    const r = await raw(srv.port, ['GET /slow HTTP/1.1\r\nHost: a\r\n'], { timeoutMs: 3000 });
    expect(r.closed).toBe(true);
    expect(r.data).toBe('');
    await waitFor(() => srv!.errors.length === 1);
    expect(srv.errors[0]).toMatchObject({ status: 408, responded: false, code: 'timeout', requestLine: 'GET /slow HTTP/1.1' });
  });

  it('client_header_timeout also applies to a connection that sends nothing (no log entry)', async () => {
    srv = await serve((ex) => echo(ex), SHORT);
    const r = await raw(srv.port, [], { timeoutMs: 3000 });
    expect(r.closed).toBe(true);
    expect(srv.errors.length).toBe(0);
  });

  it('keepalive_timeout closes an idle keep-alive connection after its response', async () => {
    srv = await serve((ex) => echo(ex), SHORT);
    const r = await raw(srv.port, ['GET / HTTP/1.1\r\nHost: a\r\n\r\n'], { timeoutMs: 3000 });
    expect(r.closed).toBe(true);
    expect(parseResponses(r.data)[0].header('connection')).toBe('keep-alive');
    expect(srv.errors.length).toBe(0);
  });

  it('keepalive_timeout 0 turns keep-alive off', async () => {
    srv = await serve((ex) => echo(ex), { keepaliveTimeout: 0 });
    const r = await raw(srv.port, ['GET / HTTP/1.1\r\nHost: a\r\n\r\n']);
    expect(r.closed).toBe(true);
    expect(parseResponses(r.data)[0].header('connection')).toBe('close');
  });

  it('client_body_timeout: readBody fails with timeout and the connection closes silently', async () => {
    let result: BodyError | null = null;
    srv = await serve((ex) => ex.readBody(0, (err) => (result = err)), SHORT);
    const r = await raw(srv.port, ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n12345'], { timeoutMs: 3000 });
    expect(r.closed).toBe(true);
    expect(r.data).toBe('');
    expect(result).toBe('timeout');
  });

  it('client_body_timeout is between two reads, not for the whole body', async () => {
    let body = '';
    srv = await serve((ex) => ex.readBody(0, (err, chunks) => {
      body = err ?? Buffer.concat(chunks!).toString();
      echo(ex);
    }), { ...SHORT, clientBodyTimeout: 250 });
    const parts = ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n', 'a', 'b', 'c', 'd', 'e', 'f'];
    const r = await raw(srv.port, parts, { gapMs: 80, until: (d) => d.includes('#1\n') });
    expect(body).toBe('abcdef');
    expect(parseResponses(r.data)[0].status).toBe(200);
  });

  it('send_timeout closes a connection whose client stops reading', async () => {
    let closed = false;
    srv = await serve((ex) => {
      ex.onAbort(() => (closed = true));
      ex.writeHead(200, null, []);
      const chunk = Buffer.alloc(1 << 20, 120);
      const pump = (): void => {
        if (ex.aborted || ex.finished) return;
        ex.write(chunk);
        ex.flush(() => setImmediate(pump));
      };
      pump();
    }, SHORT);
    const s = net.connect(srv.port, '127.0.0.1');
    s.on('error', () => undefined);
    s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    s.pause(); // never read: the server's socket buffer fills up
    await waitFor(() => closed, 5000);
    expect(srv.t.connectionCount).toBe(0);
    s.destroy();
  });

  it('lingering close drops what the client still sends after an early final response', async () => {
    srv = await serve((ex) => {
      ex.writeHead(413, null, [], { contentLength: 0, close: true });
      ex.end();
    }, SHORT);
    // the client keeps sending its body after the 413: it still gets the response, not a reset
    const r = await raw(srv.port, ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n', 'x'.repeat(30000), 'x'.repeat(30000)],
      { timeoutMs: 3000 });
    expect(parseResponses(r.data)[0].status).toBe(413);
    expect(r.closed).toBe(true);
  });

  it('graceful close waits for a busy connection, which then gets Connection: close', async () => {
    let release: (() => void) | null = null;
    srv = await serve((ex) => {
      release = () => echo(ex);
    });
    const pending = raw(srv.port, ['GET / HTTP/1.1\r\nHost: a\r\n\r\n'], { timeoutMs: 3000 });
    await waitFor(() => release !== null);
    let closed = false;
    const closing = srv.t.close().then(() => (closed = true));
    await sleep(30);
    expect(closed).toBe(false);
    release!();
    const r = await pending;
    await closing;
    expect(parseResponses(r.data)[0].header('connection')).toBe('close');
    expect(r.closed).toBe(true);
    srv = null;
  });
});
