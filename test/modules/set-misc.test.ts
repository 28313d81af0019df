import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startServer, type TestServer } from '../support/server.js';

let srv: TestServer;

beforeAll(async () => {
  srv = await startServer(`
        location /escape { set_escape_uri $a $arg_s; set_unescape_uri $b $arg_s; echo "[$a] [$b]"; }
        location /inplace { set $x 'hello world'; set_escape_uri $x; set_quote_sql_str $y $x; echo "$x $y"; }
        location /md5 { set_md5 $m hello; set_sha1 $s hello; set_encode_hex $h ab; set_decode_hex $d 6162; echo "$m $s $h $d"; }
        location /b64 { set_encode_base64 $e hello; set_decode_base64 $d $e; set_encode_base64url $u '??>'; echo "$e $d $u"; }
        location /b32 { set_base32_padding off; set_encode_base32 $e hello; set_decode_base32 $d $e; echo "$e $d"; }
        location /hmac { set_hmac_sha1 $h secret data; set_encode_base64 $h; echo $h; }
        location /empty { set $v ''; set_if_empty $v dflt; set $w x; set_if_empty $w dflt; echo "$v $w"; }
        location /rotate { set_rotate $r 1 3; echo $r; }
        location /random { set_random $r 5 5; set_secure_random_lcalpha $a 8; echo "$r $a"; }
        location /bad { set_decode_base64 $d '%%%'; echo $d; }
        location /json { set_quote_json_str $j 'a"b'; set_quote_pgsql_str $p "a'b"; echo "$j $p"; }
        location /hashed { set_hashed_upstream $u backends $arg_k; echo $u; }
  `, { http: 'upstream_list backends a b c;' });
});
afterAll(async () => {
  await srv?.stop();
});

describe('set-misc directives', () => {
  it('escape / unescape', async () => {
    expect((await srv.request('/escape?s=a%20b')).body).toBe('[a%2520b] [a b]\n');
  });
  it('one-argument form filters the variable in place', async () => {
    expect((await srv.request('/inplace')).body).toBe("hello%20world 'hello%20world'\n");
  });
  it('hashes and hex', async () => {
    expect((await srv.request('/md5')).body).toBe('5d41402abc4b2a76b9719d911017c592 aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d 6162 ab\n');
  });
  it('base64 / base64url', async () => {
    expect((await srv.request('/b64')).body).toBe('aGVsbG8= hello Pz8-\n');
  });
  it('base32 honours set_base32_padding', async () => {
    expect((await srv.request('/b32')).body).toBe('d1imor3f hello\n');
  });
  it('hmac', async () => {
    const r = await srv.request('/hmac');
    const expected = require('node:crypto').createHmac('sha1', 'secret').update('data').digest('base64');
    expect(r.body).toBe(expected + '\n');
  });
  it('set_if_empty', async () => {
    expect((await srv.request('/empty')).body).toBe('dflt x\n');
  });
  it('set_rotate remembers its value per location', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await srv.request('/rotate')).body);
    expect(seen).toEqual(['1\n', '2\n', '3\n', '1\n']);
  });
  it('random', async () => {
    expect((await srv.request('/random')).body).toMatch(/^5 [a-z]{8}\n$/);
  });
  it('a failing filter ends the request with 500', async () => {
    expect((await srv.request('/bad')).status).toBe(500);
  });
  it('quoting', async () => {
    expect((await srv.request('/json')).body).toBe(`"a\\"b" E'a\\'b'\n`);
  });
  it('set_hashed_upstream picks from the list by key', async () => {
    const a = (await srv.request('/hashed?k=foo')).body;
    expect(['a\n', 'b\n', 'c\n']).toContain(a);
    expect((await srv.request('/hashed?k=foo')).body).toBe(a);
  });
});
