// Header lines whose name has an underscore: ignored by default (underscores_in_headers off,
// ignore_invalid_headers on), kept when either says so, at server or http level.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

const show = `
        location /h {
            content_by_lua_block {
                local h = ngx.req.get_headers()
                ngx.say(tostring(h["x_under"]), " ", tostring(h["x-dash"]), " ", tostring(ngx.var.http_x_under))
                ngx.say(ngx.req.raw_header():find("X_Under: 1", 1, true) ~= nil)
            }
        }`;
const req = 'GET /h HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX_Under: 1\r\nX-Dash: 2\r\n\r\n';

let byDefault: TestServer;
let httpOn: TestServer;
let notIgnored: TestServer;

beforeAll(async () => {
  byDefault = await startServer(show);
  httpOn = await startServer(show, { http: 'underscores_in_headers on;' });
  notIgnored = await startServer(`ignore_invalid_headers off; ${show}`);
});
afterAll(async () => {
  await byDefault?.stop();
  await httpOn?.stop();
  await notIgnored?.stop();
});

describe('header names with underscores', () => {
  it('are ignored by default (still in the raw header) and logged at info', async () => {
    expect((await byDefault.request(req)).body).toBe('nil 2 nil\ntrue\n');
    expect(byDefault.errorLog()).toContain('client sent invalid header line: "X_Under: 1"');
  });

  it('are kept with underscores_in_headers on (here from http{}) or ignore_invalid_headers off', async () => {
    expect((await httpOn.request(req)).body).toBe('1 2 1\ntrue\n');
    expect((await notIgnored.request(req)).body).toBe('1 2 1\ntrue\n');
  });
});
