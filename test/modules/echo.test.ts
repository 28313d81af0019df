import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(`
        location /echo { echo hello world; echo -n a; echo -- -n b; echo; }
        location /dup { echo_duplicate 3 ab; echo_duplicate 0 x; }
        location /vars { echo "$echo_request_method $echo_client_request_method $echo_request_uri"; }
        location /sleep { echo a; echo_sleep 0.05; echo b; }
        location /foreach { echo_foreach_split ',' $arg_list; echo "item: $echo_it"; echo_end; }
        location /main { echo pre; echo_location /sub "a=1"; echo_location_async /sub?a=2; echo post; }
        location /sub { echo "sub $arg_a"; }
        location /filt { echo_before_body before; echo_after_body after; echo body; }
        location /body { echo_read_request_body; echo_request_body; echo; echo "[$echo_request_body]"; }
        location /exec { echo_exec /sub a=3; }
        location /status { echo_status 404; echo hi; }
        location /incr { echo $echo_incr; echo_location /incr2; echo $echo_incr; }
        location /incr2 { echo $echo_incr; }
        location /subr { echo_subrequest POST /body2 -b 'hello'; }
        location /body2 { echo "$echo_request_method $echo_request_body $http_content_length"; }
        location /subbody { echo_location /subbody2; }
        location /subbody2 { echo_request_body; }
        location /unsafe { echo_location '/../foo'; }
        location /badsleep { echo_sleep abc; }
        location /if { set $a 1; if ($a) { } echo in-if; }
        location /async { echo_location_async /slow; echo_location_async /sub?a=fast; }
        location /slow { echo_sleep 0.05; echo slow; }
        location /errpage { error_page 404 /oops; return 404; }
        location /oops { echo oops; }
  `);
});
afterAll(async () => {
  await srv?.stop();
});

describe('echo', () => {
  it('echo', async () => {
    const r = await srv.request('/echo');
    expect(r.status).toBe(200);
    expect(r.header('content-type')).toBe('text/plain');
    expect(r.body).toBe('hello world\na-n b\n\n');
  });
  it('echo_duplicate', async () => {
    expect((await srv.request('/dup')).body).toBe('ababab');
  });
  it('variables', async () => {
    expect((await srv.request('/vars?x=1')).body).toBe('GET GET /vars\n');
  });
  it('echo_sleep', async () => {
    const t = Date.now();
    expect((await srv.request('/sleep')).body).toBe('a\nb\n');
    expect(Date.now() - t).toBeGreaterThanOrEqual(45);
  });
  it('foreach', async () => {
    expect((await srv.request('/foreach?list=a,,b,c')).body).toBe('item: a\nitem: b\nitem: c\n');
    expect((await srv.request('/foreach?list=')).body).toBe('');
  });
  it('echo_location', async () => {
    expect((await srv.request('/main')).body).toBe('pre\nsub 1\nsub 2\npost\n');
  });
  it('filters', async () => {
    expect((await srv.request('/filt')).body).toBe('before\nbody\nafter\n');
  });
  it('request body', async () => {
    const r = await srv.request('POST /body HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello');
    expect(r.body).toBe('hello\n[hello]\n');
  });
  it('echo_exec', async () => {
    expect((await srv.request('/exec')).body).toBe('sub 3\n');
  });
  it('echo_status', async () => {
    const r = await srv.request('/status');
    expect(r.status).toBe(404);
    expect(r.body).toBe('hi\n');
  });
  it('echo_incr', async () => {
    expect((await srv.request('/incr')).body).toBe('1\n2\n3\n');
  });
  it('subrequests see the client body (read before the subrequest starts)', async () => {
    const r = await srv.request('POST /subbody HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello');
    expect(r.body).toBe('hello');
  });
  it('unsafe subrequest uri closes the connection', async () => {
    const r = await srv.request('/unsafe');
    expect(r.status).toBe(0);
    expect(srv.errorLog()).toContain('echo_location sees unsafe uri: "/../foo"');
  });
  it('invalid sleep duration is a 400', async () => {
    expect((await srv.request('/badsleep')).status).toBe(400);
    expect(srv.errorLog()).toContain('invalid sleep duration "abc"');
  });
  it('an if block without its own content handler keeps the location\'s', async () => {
    expect((await srv.request('/if')).body).toBe('in-if\n');
  });
  it('async subrequests keep issue order whatever order they finish in', async () => {
    expect((await srv.request('/async')).body).toBe('slow\nsub fast\n');
  });
  it('an echo error page keeps the error status', async () => {
    const r = await srv.request('/errpage');
    expect(r.status).toBe(404);
    expect(r.body).toBe('oops\n');
  });
  it('HEAD gets the header only', async () => {
    const r = await srv.request('HEAD /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(200);
    expect(r.raw.endsWith('\r\n\r\n')).toBe(true);
  });
  it('echo_subrequest', async () => {
    expect((await srv.request('/subr')).body).toBe('POST hello 5\n');
  });
});
