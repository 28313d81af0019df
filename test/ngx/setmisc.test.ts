// set-misc-nginx-module filters (src/ngx/setmisc.ts) and ndk.set_var from Lua (src/ngx/ndk.ts).
// Expected values from lua-nginx-module's t/018-ndk.t and t/004-require.t and set-misc's t/*.t.
import { describe, it, expect } from 'vitest';
import { runLua } from '../support/lua-harness.js';
import { SET_MISC, encodeBase32, decodeBase32, quoteJsonStr, quotePgsqlStr, setMiscUnescapeUri } from '../../src/ngx/setmisc.js';

const one = (code: string): unknown => runLua(code)[0];
const err = (code: string): string => {
  try {
    runLua(code);
  } catch (e) {
    return String((e as Error).message);
  }
  return 'no error';
};
const f = (name: string, ...args: string[]) => SET_MISC[name](args);

describe('ndk.set_var', () => {
  it('runs set-misc filters (t/018-ndk.t)', () => {
    expect(runLua('return ndk.set_var.set_escape_uri(" :"), ndk.set_var.set_unescape_uri("a%20b")')).toEqual(['%20%3A', 'a b']);
    expect(one('return ndk.set_var.set_escape_uri(" %")')).toBe('%20%25');
    expect(runLua("local v = '2011.10.13+0000' return ndk.set_var.set_encode_base32(v), ndk.set_var.set_quote_sql_str(v)")).toEqual([
      '68o32c9e64o2sc9j5co30c1g',
      "'2011.10.13+0000'",
    ]);
  });

  it('is require-able (t/004-require.t)', () => {
    expect(one('local ndk = require "ndk" return ndk.set_var.set_escape_uri(" ")')).toBe('%20');
    expect(one('return require("ndk") == ndk')).toBe(true);
  });

  it('raises resty.core errors', () => {
    expect(err('ndk.set_var.set_nope("x")')).toContain('ndk.set_var: directive "set_nope" not found or does not use ndk_set_var_value');
    expect(err('ndk.set_var.set_decode_base64("!!")')).toContain('calling directive set_decode_base64 failed with code -1');
    expect(err('ndk.set_var.foo = 1')).toContain('not allowed');
  });

  it('tostring()s its argument', () => {
    expect(one('return ndk.set_var.set_md5(45)')).toBe('6c8349cc7260ae62e3b1396831a8398f');
    expect(one('return ndk.set_var.set_quote_sql_str(nil)')).toBe("'nil'");
  });
});

describe('filters', () => {
  it('base32 (set-misc t/base32.t)', () => {
    expect(encodeBase32('abcde')).toBe('c5h66p35');
    expect(decodeBase32('c5h66p35')).toBe('abcde');
    expect(encodeBase32('!')).toBe('44======');
    expect(encodeBase32('"hello, world!\nhiya"')).toBe('49k6ar3cdsm20trfe9m6888ad1knio92');
    expect(encodeBase32('"hello, world!"a')).toBe('49k6ar3cdsm20trfe9m68892c4======');
    expect(encodeBase32('"hello, world!"ab')).toBe('49k6ar3cdsm20trfe9m68892c5h0====');
    expect(encodeBase32('"hello, world!"abc')).toBe('49k6ar3cdsm20trfe9m68892c5h66===');
    expect(encodeBase32('"hello, world!"abcd')).toBe('49k6ar3cdsm20trfe9m68892c5h66p0=');
    expect(encodeBase32('"hello, world!"abcd', false)).toBe('49k6ar3cdsm20trfe9m68892c5h66p0');
    const std = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    expect(encodeBase32('abcde', true, std)).toBe('MFRGGZDF');
    expect(encodeBase32('"hello, world!"abcd', true, std)).toBe('EJUGK3DMN4WCA53POJWGIIJCMFRGGZA=');
    expect(decodeBase32('EJUGK3DMN4WCA53POJWGIIJCMFRGGZA=', std)).toBe('"hello, world!"abcd');
    expect(encodeBase32('"hello, world!"abcd', true, 'efghijklmnopqrstuvwxyz0123456789')).toBe('inyko5hqr60ge75tsn0kmmngqjvkk3e=');
    expect(SET_MISC.set_encode_base32(['abcde'], { base32Alphabet: std })).toBe('MFRGGZDF');
    expect(f('set_decode_base32', '44======')).toBe('!');
    expect(f('set_decode_base32', '4')).toBe('');
    expect(f('set_decode_base32', '!!')).toBe('');
  });

  it('quoting', () => {
    expect(f('set_quote_sql_str', '')).toBe("''");
    expect(f('set_quote_sql_str', "a'b\\c\n")).toBe("'a\\'b\\\\c\\n'");
    expect(quotePgsqlStr("a'b")).toBe("E'a\\'b'");
    expect(quotePgsqlStr('')).toBe("''");
    expect(quotePgsqlStr('\u00e9')).toBe("E'\\\\351'");
    expect(quotePgsqlStr('\u00c3\u00a9')).toBe("E'\u00c3\u00a9'");
    expect(quoteJsonStr('')).toBe('null');
    expect(quoteJsonStr('a"b\\c\n\u0001\u001f')).toBe('"a\\"b\\\\c\\n\\u0001\\u001f"');
  });

  it('uri escaping uses set-misc tables', () => {
    expect(f('set_escape_uri', '')).toBe('');
    expect(f('set_escape_uri', " :/?#[]@!$&'()*+,;=")).toBe("%20%3A%2F%3F%23%5B%5D@!$%26'()*%2B,%3B%3D");
    expect(setMiscUnescapeUri('a%20b+c')).toBe('a b c');
    expect(setMiscUnescapeUri('%zz%4')).toBe('zz');
  });

  it('hex, base64, base64url', () => {
    expect(f('set_encode_hex', 'abc')).toBe('616263');
    expect(f('set_decode_hex', '616263')).toBe('abc');
    expect(f('set_decode_hex', '6162F')).toBe(null);
    expect(f('set_decode_hex', 'zz')).toBe(null);
    expect(f('set_encode_base64', 'abcde')).toBe('YWJjZGU=');
    expect(f('set_decode_base64', 'YWJjZGU=')).toBe('abcde');
    expect(f('set_decode_base64', '*')).toBe(null);
    expect(f('set_encode_base64url', '\xff\xfe?')).toBe('__4_');
    expect(f('set_decode_base64url', '__4_')).toBe('\xff\xfe?');
  });

  it('hashes', () => {
    expect(f('set_md5', 'hello')).toBe('5d41402abc4b2a76b9719d911017c592');
    expect(f('set_sha1', 'hello')).toBe('aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d');
    expect(Buffer.from(f('set_hmac_sha1', 'thisisverysecretstuff', 'some string we want to sign')!, 'latin1').toString('base64')).toBe(
      'R/pvxzHC4NLtj7S+kXFg/NePTmk=',
    );
    expect(Buffer.from(f('set_hmac_sha256', 'key', 'The quick brown fox jumps over the lazy dog')!, 'latin1').toString('hex')).toBe(
      'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });

  it('random values', () => {
    for (let i = 0; i < 20; i++) {
      const r = Number(f('set_random', '5', '3'));
      expect(r >= 3 && r <= 5).toBe(true);
    }
    expect(f('set_random', 'a', '3')).toBe(null);
    expect(f('set_secure_random_alphanum', '32')).toMatch(/^[a-zA-Z0-9]{32}$/);
    expect(f('set_secure_random_lcalpha', '64')).toMatch(/^[a-z]{64}$/);
    expect(f('set_secure_random_lcalpha', '65')).toBe(null);
    expect(f('set_secure_random_lcalpha', '0')).toBe(null);
  });

  it('time', () => {
    expect(f('set_local_today')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(f('set_formatted_gmt_time', '%a %b %e %H:%M:%S %Y GMT')).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$/);
    expect(f('set_formatted_local_time', '%Y')).toMatch(/^\d{4}$/);
    expect(f('set_formatted_gmt_time', '')).toBe('');
    expect(one('return ndk.set_var.set_local_today() == ngx.today()')).toBe(true);
  });

  it('set_if_empty', () => {
    expect(f('set_if_empty', '', '56')).toBe('56');
    expect(f('set_if_empty', '32', '56')).toBe('32');
  });
});
