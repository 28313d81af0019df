// Location selection, the rewrite module, static files and virtual servers over real sockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;
const say = (s: string) => `content_by_lua_block { ngx.say("${s}") }`;

beforeAll(async () => {
  srv = await startServer(
    `
        location = /exact { ${say('exact')} }
        location /prefix { ${say('prefix')} }
        location /prefix/longer { ${say('longer prefix')} }
        location ^~ /noregex { ${say('noregex prefix')} }
        location ~ \\.php$ { ${say('regex php')} }
        location ~* \\.JPG$ { ${say('caseless jpg')} }
        location ~ ^/cap/(\\w+)/(\\d+)$ { content_by_lua_block { ngx.say(ngx.var[1], "-", ngx.var[2]) } }
        location /outer {
            location /outer/inner { ${say('nested')} }
            location ~ /outer/.*\\.txt$ { ${say('nested regex')} }
            ${say('outer')}
        }
        location /rw {
            rewrite ^/rw/(.*)$ /target/$1 last;
        }
        location /target { content_by_lua_block { ngx.say("target ", ngx.var.uri, " ", ngx.var.args) } }
        location /rw-break {
            rewrite ^ /changed break;
            content_by_lua_block { ngx.say("uri now ", ngx.var.uri) }
        }
        location /rw-redirect { rewrite ^ http://example.com/new permanent; }
        location /ret { return 418 "short and stout"; }
        location /ret-url { return 302 /somewhere; }
        location /if {
            set $who "nobody";
            if ($arg_name) { set $who $arg_name; }
            if ($arg_name ~ ^a(.*)) { set $rest $1; }
            content_by_lua_block { ngx.say(ngx.var.who, " ", ngx.var.rest) }
        }
        location /static/ { root html; }
        location /files/ { alias html/data/; }
        location /internal-only { internal; ${say('secret')} }
`,
    {
      files: { 'static/a.html': '<b>hi</b>', 'static/dir/index.html': 'dir index', 'data/x.txt': 'aliased' },
      http: '    server { listen 127.0.0.1:${PORT}; server_name other.test *.wild.test; location / { content_by_lua_block { ngx.say("other server ", ngx.var.host) } } }',
    },
  );
});

afterAll(async () => {
  await srv?.stop();
});

const get = async (path: string, host = 'localhost') => srv.request(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);

describe('location selection (nginx order)', () => {
  it.each([
    ['/exact', 'exact'],
    ['/', 'It works!'],
    ['/exactly', '404 Not Found'],
    ['/prefix/x', 'prefix'],
    ['/prefix/longer/x', 'longer prefix'],
    ['/noregex/a.php', 'noregex prefix'],
    ['/prefix/a.php', 'regex php'],
    ['/img/A.jpg', 'caseless jpg'],
    ['/outer/inner', 'nested'],
    ['/outer/x.txt', 'nested regex'],
    ['/outer/zzz', 'outer'],
  ])('%s -> %s', async (path, body) => {
    const r = await get(path);
    if (body.startsWith('404')) expect(r.status).toBe(404);
    else expect(r.body.trim()).toBe(body);
  });

  it('regex captures become $1..$n', async () => {
    expect((await get('/cap/abc/42')).body).toBe('abc-42\n');
  });

  it('internal locations answer 404 to clients', async () => {
    expect((await get('/internal-only')).status).toBe(404);
  });
});

describe('rewrite module', () => {
  it('rewrite ... last re-selects the location and keeps args', async () => {
    expect((await get('/rw/abc?x=1')).body).toBe('target /target/abc x=1\n');
  });
  it('rewrite ... break stays in the location', async () => {
    expect((await get('/rw-break')).body).toBe('uri now /changed\n');
  });
  it('rewrite with permanent redirects', async () => {
    const r = await get('/rw-redirect');
    expect(r.status).toBe(301);
    expect(r.header('location')).toBe('http://example.com/new');
  });
  it('return with text and with a URL', async () => {
    const a = await get('/ret');
    expect(a.status).toBe(418);
    expect(a.body).toBe('short and stout');
    const b = await get('/ret-url');
    expect(b.status).toBe(302);
    // absolute_redirect (on by default): nginx's header filter adds the scheme, Host and port
    expect(b.header('location')).toMatch(/^http:\/\/localhost:\d+\/somewhere$/);
  });
  it('if with variables and regex captures', async () => {
    expect((await get('/if?name=alice')).body).toBe('alice lice\n');
    expect((await get('/if')).body).toBe('nobody \n');
  });
});

describe('static files', () => {
  it('serves files with a type and length, index files, 301 for directories, 404 otherwise', async () => {
    const a = await get('/static/a.html');
    expect(a.status).toBe(200);
    expect(a.header('content-type')).toBe('text/html');
    expect(a.header('content-length')).toBe('9');
    expect(a.body).toBe('<b>hi</b>');
    expect((await get('/static/dir/')).body).toBe('dir index');
    const d = await get('/static/dir');
    expect(d.status).toBe(301);
    expect(d.header('location')).toMatch(/^http:\/\/localhost:\d+\/static\/dir\/$/);
    const n = await get('/static/missing.html');
    expect(n.status).toBe(404);
    expect(srv.errorLog()).toMatch(/open\(\) ".*\/html\/static\/missing\.html" failed \(2: No such file or directory\)/);
  });
  it('alias maps the location prefix to another directory', async () => {
    expect((await get('/files/x.txt')).body).toBe('aliased');
  });
});

describe('virtual servers', () => {
  it('picks the server by Host, exact and wildcard names', async () => {
    expect((await get('/', 'other.test')).body).toBe('other server other.test\n');
    expect((await get('/', 'a.wild.test')).body).toBe('other server a.wild.test\n');
    expect((await get('/exact', 'localhost')).body).toBe('exact\n');
    // no name matches: the first server on the port is the default, as in nginx
    expect((await get('/', 'unknown.test')).body).toBe('other server unknown.test\n');
  });
});
