// nginx's not_modified filter on Lua responses: If-Modified-Since with if_modified_since
// exact / before / off, If-None-Match, If-Unmodified-Since and If-Match (412).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
const LM = 'Thu, 10 May 2012 07:50:48 GMT';
const LATER = 'Thu, 10 May 2012 07:50:59 GMT';
const EARLIER = 'Thu, 10 May 2012 07:50:00 GMT';

beforeAll(async () => {
  const handler = `content_by_lua_block {
                ngx.header.last_modified = "${LM}"
                ngx.header.etag = '"v1"'
                ngx.say("hello")
            }`;
  srv = await startServer(`
        location /exact { ${handler} }
        location /before { if_modified_since before; ${handler} }
        location /off { if_modified_since off; ${handler} }`);
});
afterAll(async () => {
  await srv?.stop();
});

const get = (uri: string, header: string) =>
  srv.request(`GET ${uri} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${header}\r\n\r\n`);

describe('conditional requests', () => {
  it('If-Modified-Since: exact needs the same time, before also accepts a later one, off never answers 304', async () => {
    expect((await get('/exact', `If-Modified-Since: ${LM}`)).status).toBe(304);
    expect((await get('/exact', `If-Modified-Since: ${LATER}`)).status).toBe(200);
    const b = await get('/before', `If-Modified-Since: ${LATER}`);
    expect([b.status, b.body]).toEqual([304, '']);
    expect((await get('/before', `If-Modified-Since: ${EARLIER}`)).status).toBe(200);
    expect((await get('/off', `If-Modified-Since: ${LM}`)).status).toBe(200);
  });

  it('If-None-Match answers 304 for the current entity tag; If-Unmodified-Since / If-Match fail with 412', async () => {
    expect((await get('/exact', 'If-None-Match: "v1"')).status).toBe(304);
    expect((await get('/exact', 'If-None-Match: "v0"')).status).toBe(200);
    expect((await get('/exact', `If-Unmodified-Since: ${EARLIER}`)).status).toBe(412);
    expect((await get('/exact', 'If-Match: "v0"')).status).toBe(412);
    expect((await get('/exact', 'If-Match: "v1"')).status).toBe(200);
  });
});
