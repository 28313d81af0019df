// ngx.md5/sha1/crc32/base64/escape/quote/args, checked against lua-nginx-module's test suite
// (expected values from the conformance cases of t/006-escape, t/007-md5, t/011-md5_bin,
// t/013-base64, t/042-crc32, t/070-sha1, t/115-quote-sql-str, t/002-content).
import { describe, it, expect } from 'vitest';
import { runLua, runLuaBytes } from '../support/lua-harness.js';

const one = (code: string): unknown => runLua(code)[0];
const err = (code: string): string => {
  try {
    runLua(code);
  } catch (e) {
    return String((e as Error).message);
  }
  return 'no error';
};

describe('md5 / sha1 / hmac / crc32', () => {
  it('hashes like nginx', () => {
    expect(one('return ngx.md5("hello")')).toBe('5d41402abc4b2a76b9719d911017c592');
    expect(one('return ngx.md5("")')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(one('return ngx.md5(nil)')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(one('return ngx.md5(45)')).toBe('6c8349cc7260ae62e3b1396831a8398f');
    expect(one('return ngx.md5("Hi")')).toBe('c1a5298f939e87e8f962a5edfc206918');
    expect(one('return ngx.md5("hello world")')).toBe('5eb63bbbe01eeed093cb22bb8f5acdc3');
  });

  it('md5_bin is 16 raw bytes', () => {
    expect(one('return string.len(ngx.md5_bin("hello"))')).toBe(16);
    const hex = (arg: string) =>
      `local s = string.gsub(ngx.md5_bin(${arg}), ".", function (c) return string.format("%02x", string.byte(c)) end) return s`;
    expect(one(hex('nil'))).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(one(hex('""'))).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(one(hex('"hello"'))).toBe('5d41402abc4b2a76b9719d911017c592');
  });

  it('sha1_bin and hmac_sha1', () => {
    expect(one('return ngx.encode_base64(ngx.sha1_bin("hello"))')).toBe('qvTGHdzF6KLavt4PO0gs2a6pQ00=');
    expect(one('return ngx.encode_base64(ngx.sha1_bin(512))')).toBe('zgmxJ9SPg4aKRWReJG07UvS97L4=');
    expect(one('return ngx.encode_base64(ngx.hmac_sha1("thisisverysecretstuff", "some string we want to sign"))')).toBe(
      'R/pvxzHC4NLtj7S+kXFg/NePTmk=',
    );
    expect(err('ngx.hmac_sha1("a")')).toContain('expecting 2 arguments, but got 1');
    expect(err('ngx.hmac_sha1("a", {})')).toContain("bad argument #2 to 'hmac_sha1' (string expected, got table)");
  });

  it('crc32', () => {
    expect(one('return ngx.crc32_short("hello, world")')).toBe(4289425978);
    expect(one('return ngx.crc32_long("hello, world")')).toBe(4289425978);
    expect(one('return ngx.crc32_long("")')).toBe(0);
    expect(one('return tostring(ngx.crc32_short("hello, world"))')).toBe('4289425978');
  });

  it('is binary safe', () => {
    const [b] = runLuaBytes('local t = {} for i = 0, 255 do t[#t+1] = string.char(i) end return ngx.md5_bin(table.concat(t))');
    expect(Buffer.from(b!).toString('hex')).toBe('e2c865db4162bed963bfaa9ef6ac18f0');
  });
});

describe('base64', () => {
  it('encodes', () => {
    expect(one('return ngx.encode_base64("hello")')).toBe('aGVsbG8=');
    expect(one('return "left" .. ngx.encode_base64("") .. "right"')).toBe('leftright');
    expect(one('return "left" .. ngx.encode_base64(nil) .. "right"')).toBe('leftright');
    expect(one('return ngx.encode_base64("w")')).toBe('dw==');
    expect(one('return ngx.encode_base64("w", true)')).toBe('dw');
    expect(one('return ngx.encode_base64("wo", true)')).toBe('d28');
    expect(one('return ngx.encode_base64(32)')).toBe('MzI=');
    expect(err('ngx.encode_base64("w", 0)')).toContain('bad no_padding: boolean expected, got number');
  });

  it('decodes with nginx validity rules', () => {
    expect(one('return ngx.decode_base64("aGVsbG8=")')).toBe('hello');
    expect(one('return ngx.decode_base64("aGVsbG8")')).toBe('hello');
    expect(one('return "left" .. ngx.decode_base64("") .. "right"')).toBe('leftright');
    expect(one('return ngx.decode_base64("^*~")')).toBe(null);
    expect(one('return ngx.decode_base64("a")')).toBe(null);
    expect(one('return ngx.decode_base64("aGVsbG8=junk!")')).toBe('hello');
    expect(err('return ngx.decode_base64(nil)')).toContain('string argument only');
    expect(err('return ngx.decode_base64(32)')).toContain('string argument only');
  });

  it('round-trips every byte', () => {
    expect(
      one('local t = {} for i = 0, 255 do t[#t+1] = string.char(i) end local s = table.concat(t) return ngx.decode_base64(ngx.encode_base64(s)) == s'),
    ).toBe(true);
  });

  it('decode_base64mime skips line breaks', () => {
    expect(one('return ngx.decode_base64mime("aGVs\\nbG8=\\n")')).toBe('hello');
  });

  it('require "ngx.base64" has the url variants', () => {
    expect(runLua('local b = require "ngx.base64" return b.encode_base64url("\\255\\254hi"), b.decode_base64url("__5oaQ")')).toEqual([
      '__5oaQ',
      '\ufffd\ufffdhi',
    ]);
    expect(runLua('local b = require "ngx.base64" return b.decode_base64url("a+b=")')).toEqual([null, 'invalid input']);
  });
});

describe('escape_uri / unescape_uri', () => {
  it('escapes as NGX_ESCAPE_URI_COMPONENT', () => {
    expect(one("return ngx.escape_uri('a 你')")).toBe('a%20%E4%BD%A0');
    expect(one("return ngx.escape_uri('abc')")).toBe('abc');
    expect(one("return ngx.escape_uri('')")).toBe('');
    expect(one('return ngx.escape_uri(32)')).toBe('32');
    expect(one('return ngx.escape_uri(" ")')).toBe('%20');
    expect(one('return ngx.escape_uri(nil)')).toBe('');
    expect(one(`return ngx.escape_uri("-_.!~*'()")`)).toBe("-_.!~*'()");
    expect(one('return ngx.escape_uri(",$@|`")')).toBe('%2C%24%40%7C%60');
    expect(one('return ngx.escape_uri("a/b?c=d&e+f#g%")')).toBe('a%2Fb%3Fc%3Dd%26e%2Bf%23g%25');
  });

  it('unescapes, keeping invalid sequences', () => {
    expect(one("return ngx.unescape_uri('a%20%e4%bd%a0')")).toBe('a 你');
    expect(one('return ngx.unescape_uri(nil)')).toBe('');
    expect(one('return ngx.unescape_uri("%ua%%20%au")')).toBe('%ua% %au');
    expect(one('return ngx.unescape_uri("a+b%2")')).toBe('a b%2');
    expect(one('return ngx.unescape_uri("hello%20world")')).toBe('hello world');
  });
});

describe('quote_sql_str', () => {
  it('quotes like MySQL', () => {
    expect(one('return ngx.quote_sql_str("")')).toBe("''");
    expect(one(String.raw`return ngx.quote_sql_str("hello\n\r'\"\\")`)).toBe(String.raw`'hello\n\r\'\"\\'`);
    expect(one('return ngx.quote_sql_str("a\\0b\\0")')).toBe("'a\\0b\\0'");
    expect(one('return ngx.quote_sql_str("a\\tb\\t")')).toBe("'a\\tb\\t'");
    expect(one('return ngx.quote_sql_str("a\\bb\\b")')).toBe("'a\\bb\\b'");
    expect(one('return ngx.quote_sql_str("a\\026b\\026")')).toBe("'a\\Zb\\Z'");
    expect(one('return ngx.quote_sql_str("2011.10.13+0000")')).toBe("'2011.10.13+0000'");
  });

  it('checks its argument', () => {
    expect(err('ngx.quote_sql_str()')).toContain('expecting one argument');
    expect(err('ngx.quote_sql_str(nil)')).toContain("bad argument #1 to 'quote_sql_str' (string expected, got nil)");
  });
});

describe('encode_args / decode_args', () => {
  const sorted = (s: unknown) => String(s).split('&').sort().join('&');

  it('encodes tables', () => {
    expect(one('return ngx.encode_args({foo = "bar"})')).toBe('foo=bar');
    expect(one('return ngx.encode_args({["a b"] = "c d/e"})')).toBe('a%20b=c%20d%2Fe');
    expect(sorted(one('return ngx.encode_args({a = 32, b = true, c = false, d = "x"})'))).toBe('a=32&b&d=x');
    expect(one('return ngx.encode_args({a = {1, "2", true, false, 3.5}})')).toBe('a=1&a=2&a&a=3.5');
    expect(one('return ngx.encode_args({})')).toBe('');
    expect(one('return ngx.encode_args({n = 2^53})')).toBe('n=9.007199254741e%2B15');
  });

  it('raises lua-nginx-module errors', () => {
    expect(err('ngx.encode_args({[1] = "x"})')).toContain('attempt to use a non-string key in the "args" option table');
    expect(err('ngx.encode_args({a = print})')).toContain('attempt to use function as query arg value');
    expect(err('ngx.encode_args({a = {{}}})')).toContain('attempt to use table as query arg value');
    expect(err('ngx.encode_args("a")')).toContain("bad argument #1 to 'encode_args' (table expected, got string)");
    expect(err('ngx.encode_args({}, 1)')).toContain('expecting 1 argument but seen 2');
  });

  it('decodes query strings', () => {
    expect(one('local t = ngx.decode_args("a=1&b=2&a=3&c&=x&d=&&e=%20f+g") return ngx.encode_args({ a = t.a, b = t.b, c = t.c, d = t.d, e = t.e })')).toBeTypeOf(
      'string',
    );
    const r = one('local t = ngx.decode_args("a=1&b=2&a=3&c&=x&d=&&e=%20f+g") return t') as Record<string, unknown>;
    expect(r).toEqual({ a: { '1': '1', '2': '3' }, b: '2', c: true, d: '', e: ' f g' });
    expect(one('local t = ngx.decode_args("a+b=c%3Dd=e") return t["a b"]')).toBe('c=d=e');
  });

  it('stops at max and says so', () => {
    expect(runLua('local t, err = ngx.decode_args("a=1&b=2&c=3", 2) return t.a, t.b, t.c, err')).toEqual(['1', '2', null, 'truncated']);
    expect(runLua('local t, err = ngx.decode_args("a=1&b=2&c=3", 0) return t.c, err')).toEqual(['3', null]);
    const many = Array.from({ length: 120 }, (_, i) => `k${i}=${i}`).join('&');
    expect(runLua(`local t, err = ngx.decode_args("${many}") local n = 0 for _ in pairs(t) do n = n + 1 end return n, err`)).toEqual([100, 'truncated']);
  });
});
