// valid_referers / $invalid_referer (ngx_http_referer_module).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
const check = async (uri: string, referer: string | null) => {
  const h = referer === null ? '' : `Referer: ${referer}\r\n`;
  const r = await srv.request(`GET ${uri} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${h}\r\n`);
  return r.status === 403 ? 'blocked' : JSON.parse(r.body);
};

beforeAll(async () => {
  srv = await startServer(`
        server_name site.test *.cdn.test;
        location = /lua {
            valid_referers none blocked server_names example.com *.example.org www.shop.* partner.net/galleries/ ~\\.trusted\\.;
            content_by_lua_block { ngx.say(string.format("%q", ngx.var.invalid_referer)) }
        }
        location = /guard {
            valid_referers example.com;
            if ($invalid_referer) { return 403; }
            content_by_lua_block { ngx.say('"ok"') }
        }
        location = /none { content_by_lua_block { ngx.say(string.format("%q", ngx.var.invalid_referer)) } }`);
});
afterAll(async () => {
  await srv?.stop();
});

describe('valid_referers', () => {
  it('accepts the listed hosts, wildcards, URI prefixes, server names and regexes', async () => {
    for (const ok of ['http://example.com/x', 'https://EXAMPLE.com', 'http://a.b.example.org/', 'http://www.shop.de/', 'http://partner.net/galleries/1',
      'http://site.test/', 'http://img.cdn.test/a', 'http://www.trusted.io/', 'http://example.com:8080/p']) {
      expect(await check('/lua', ok), ok).toBe('');
    }
  });

  it('refuses other hosts, URIs outside the prefix, and a wildcard without a subdomain', async () => {
    for (const bad of ['http://evil.com/', 'http://example.org/', 'http://partner.net/other', 'http://notexample.com/']) {
      expect(await check('/lua', bad), bad).toBe('1');
    }
  });

  it('treats a missing Referer as "none" and one without a scheme as "blocked"', async () => {
    expect(await check('/lua', null)).toBe('');
    expect(await check('/lua', 'XXXXXXXXXXXXXX')).toBe('');
    expect(await check('/guard', null)).toBe('blocked');
    expect(await check('/guard', 'XXXXXXXXXXXXXX')).toBe('blocked');
    expect(await check('/guard', 'http://example.com/')).toBe('ok');
  });

  it('is empty where no valid_referers applies', async () => {
    expect(await check('/none', 'http://evil.com/')).toBe('');
  });
});
