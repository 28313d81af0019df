// Bad input gets a clear answer: malformed requests, oversized headers/bodies, config errors.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(`
        location /small {
            client_max_body_size 10;
            content_by_lua_block { ngx.req.read_body() ngx.say("got ", ngx.req.get_body_data()) }
        }
        location /ok { content_by_lua_block { ngx.say("ok") } }
        location /slow-body {
            client_body_timeout 100ms;
            rewrite_by_lua_block { ngx.req.read_body() ngx.say("never") }
        }
`);
});

afterAll(async () => {
  await srv?.stop();
});

describe('bad requests', () => {
  it('malformed request line -> 400 and close', async () => {
    const r = await srv.request('GARBAGE\r\n\r\n');
    expect(r.status).toBe(400);
    expect(r.closed).toBe(true);
  });
  it('header section too large -> 400 "Request Header Or Cookie Too Large"', async () => {
    const r = await srv.request(`GET /ok HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(40000)}\r\n\r\n`);
    expect(r.status).toBe(400);
    expect(r.body).toContain('Request Header Or Cookie Too Large');
  });
  it('client_body_timeout while Lua reads the body: the connection closes without a response, 408 in the log', async () => {
    const r = await srv.request('POST /slow-body HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nhello', { timeoutMs: 3000 });
    expect(r.raw).toBe('');
    expect(r.closed).toBe(true);
    expect(srv.errorLog()).toContain('client timed out (110: Connection timed out) while reading client request body');
  });
  it('body over client_max_body_size -> 413', async () => {
    const r = await srv.request(`POST /small HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20\r\nConnection: close\r\n\r\n${'x'.repeat(20)}`);
    expect(r.status).toBe(413);
    const ok = await srv.request(`POST /small HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`);
    expect(ok.body).toBe('got hello\n');
  });
  it('unsupported Transfer-Encoding -> 501', async () => {
    const r = await srv.request(`POST /ok HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n`);
    expect(r.status).toBe(501);
  });
  it('keeps serving after all that', async () => {
    expect((await srv.request('/ok')).body).toBe('ok\n');
  });
});

function writeConf(text: string): string {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-conf-'));
  fs.mkdirSync(path.join(prefix, 'conf'));
  fs.mkdirSync(path.join(prefix, 'logs'));
  fs.writeFileSync(path.join(prefix, 'conf/nginx.conf'), text);
  return prefix;
}

describe('configuration errors', () => {
  it('-t reports success like nginx', () => {
    const p = writeConf('events {}\nhttp { server { listen 127.0.0.1:1; } }\n');
    const r = spawnSync(process.execPath, [CLI, '-p', p, '-t'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('syntax is ok');
    expect(r.stderr).toContain('test is successful');
  });
  it('an unknown directive fails with file:line and a non-zero exit', () => {
    const p = writeConf('events {}\nhttp {\n  server {\n    bogus_directive on;\n  }\n}\n');
    const r = spawnSync(process.execPath, [CLI, '-p', p, '-t'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`nginx: [emerg] unknown directive "bogus_directive" in ${p}/conf/nginx.conf:4`);
    expect(r.stderr).toContain('test failed');
  });
  it('a Lua syntax error in init_by_lua aborts start-up', () => {
    const p = writeConf('events {}\nhttp {\n  init_by_lua_block { this is not lua }\n  server { listen 127.0.0.1:1; }\n}\n');
    const r = spawnSync(process.execPath, [CLI, '-p', p], { encoding: 'utf8', timeout: 10000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/init_by_lua\(nginx\.conf:3\)/);
  });
});
