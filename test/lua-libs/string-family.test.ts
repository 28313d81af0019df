// lua-resty-string's modules (resty.string, resty.sha1/md5/sha2xx, resty.random, resty.aes), run
// in a VM outside any request. Expected digests are the standard test vectors; the AES ciphertexts
// are the ones lua-resty-string's own test suite expects from OpenSSL.
import { describe, it, expect, vi } from 'vitest';
// lua-harness sets FENGARICONF after its (hoisted) fengari import; set it before anything loads
vi.hoisted(() => {
  process.env.FENGARICONF = process.env.FENGARICONF || '{"LUA_COMPAT_FLOATSTRING":true}';
});
import { runLua, runLuaBytes } from '../support/lua-harness.js';
import * as crypto from 'node:crypto';

const hex = (mod: string, input: string) =>
  runLua(`local str = require "resty.string"
    local d = require("resty.${mod}"):new()
    d:update(${JSON.stringify(input)})
    return str.to_hex(d:final())`)[0];

describe('resty.string', () => {
  it('to_hex is lowercase hex of the bytes', () => {
    expect(runLua('return require("resty.string").to_hex("\\0\\1\\255abc")')).toEqual(['0001ff616263']);
    expect(runLua('return require("resty.string").to_hex("")')).toEqual(['']);
  });
  it('atoi parses decimal digits and gives -1 for anything else', () => {
    expect(runLua(`local atoi = require("resty.string").atoi
      return atoi("0"), atoi("123456"), atoi("12a"), atoi(""), atoi("-1"), atoi(" 1"), atoi("3000000000")`)).toEqual([
      0, 123456, -1, -1, -1, -1, 3000000000,
    ]);
  });
});

describe('digests', () => {
  const vectors: [string, number][] = [['md5', 16], ['sha1', 20], ['sha224', 28], ['sha256', 32], ['sha384', 48], ['sha512', 64]];
  for (const [alg, len] of vectors) {
    it(`resty.${alg} matches node:crypto, incremental and empty`, () => {
      expect(hex(alg, 'abc')).toBe(crypto.createHash(alg).update('abc').digest('hex'));
      expect(hex(alg, '')).toBe(crypto.createHash(alg).update('').digest('hex'));
      const [d] = runLuaBytes(`local d = require("resty.${alg}"):new()
        d:update("hello, ") d:update("world")
        return d:final()`);
      expect(d!.length).toBe(len);
      expect(Buffer.from(d!).toString('hex')).toBe(crypto.createHash(alg).update('hello, world').digest('hex'));
    });
  }
  it('update returns true, final starts over, reset clears', () => {
    expect(runLua(`local str = require "resty.string"
      local d = require("resty.sha1"):new()
      local ok = d:update("abc")
      local a = str.to_hex(d:final())
      d:update("abc")
      local b = str.to_hex(d:final())
      d:update("garbage") d:reset() d:update("abc")
      local c = str.to_hex(d:final())
      return ok, a == b, b == c, a`)).toEqual([true, true, true, 'a9993e364706816aba3e25717850c26c9cd0d89d']);
  });
  it('hashes binary data byte for byte', () => {
    const [d] = runLuaBytes(`local d = require("resty.md5"):new() d:update("\\0\\255\\128") return d:final()`);
    expect(Buffer.from(d!).toString('hex')).toBe(crypto.createHash('md5').update(Buffer.from([0, 255, 128])).digest('hex'));
  });
});

describe('resty.hmac', () => {
  const ref = (alg: string, key: string, msg: string) => crypto.createHmac(alg, key).update(msg).digest('hex');
  it('streaming API (lua-resty-hmac): update/final/reset, hex output, default MD5', () => {
    expect(runLua(`local hmac = require "resty.hmac"
      local str = require "resty.string"
      local h = hmac:new("secret", hmac.ALGOS.SHA256)
      h:update("hello, ")
      local a = h:final("world", true)
      local b = str.to_hex(h:final("hello, world"))
      h:update("junk") h:reset()
      local c = h:final("hello, world", true)
      local m = hmac:new("k"):final("m", true)
      return a, a == b, a == c, m`)).toEqual([ref('sha256', 'secret', 'hello, world'), true, true, ref('md5', 'k', 'm')]);
  });
  it('one-shot digest (lua-resty-string hmac.lua): hex or raw', () => {
    expect(runLua(`local hmac = require "resty.hmac"
      local h = hmac:new()
      local ok, err = pcall(h.digest, h, "md4", "k", "m")
      return h:digest("sha1", "key", "The quick brown fox"), #h:digest("sha512", "key", "x", true), ok, (err:gsub("^.-:%d+: ", ""))`)).toEqual([
      ref('sha1', 'key', 'The quick brown fox'), 64, false, "attempt to use unkown algorithm: 'md4'.\n Available algorithms are: sha1,sha224,sha256,sha384,sha512",
    ]);
  });
});

describe('resty.random', () => {
  it('bytes(n) returns n random bytes', () => {
    const [a, b] = runLuaBytes('local r = require "resty.random" return r.bytes(16), r.bytes(16, true)');
    expect(a!.length).toBe(16);
    expect(b!.length).toBe(16);
    expect(Buffer.from(a!).equals(Buffer.from(b!))).toBe(false);
    expect(runLua('return #require("resty.random").bytes(0)')).toEqual([0]);
  });
});

describe('resty.aes', () => {
  const run = (setup: string) =>
    runLua(`local aes = require "resty.aes"
      local str = require "resty.string"
      local a, err = ${setup}
      if not a then return nil, err end
      local e = a:encrypt("hello")
      return str.to_hex(e), a:decrypt(e)`);
  it('derives keys like EVP_BytesToKey (default AES-128-CBC with MD5)', () => {
    expect(run('aes:new("secret")')).toEqual(['7b47a4dbb11e2cddb2f3740c9e3a552b', 'hello']);
    expect(run('aes:new("")')).toEqual(['6cb1a35bf9d66e92c9dec684fc329746', 'hello']);
    expect(run('aes:new("secret", "WhatSalt")')).toEqual(['f72db89f8e19326d8da4928be106705c', 'hello']);
  });
  it('uses only 8 bytes of a longer salt', () => {
    expect(run('aes:new("secret", "Oversized!")')).toEqual(run('aes:new("secret", "Oversize")'));
    expect(run('aes:new("secret", "Oversized!")')[0]).toBe('90a9c9a96f06c597c8da99c37a6c689f');
  });
  it('other sizes, modes, hashes and rounds', () => {
    expect(run('aes:new("secret", nil, aes.cipher(256, "ecb"), aes.hash.sha1)')).toEqual(['927148b31f0e89696a222489403f540d', 'hello']);
    expect(run('aes:new("secret", nil, aes.cipher(256, "ecb"), aes.hash.sha1, 5)')).toEqual(['d1a9b6e59b8980e783df223889563bee', 'hello']);
  });
  it('takes a raw key and iv from a table, with a key method', () => {
    const ref = run('aes:new("secret")');
    expect(run(`aes:new("Xr4ilOzQ4PCOq3aQ0qbuaQ==", nil, aes.cipher(128, "cbc"),
      { iv = ngx.decode_base64("Jq5cyFTja2vfyjZoSN6muw=="), method = ngx.decode_base64 })`)).toEqual(ref);
    expect(run(`aes:new(ngx.decode_base64("Xr4ilOzQ4PCOq3aQ0qbuaQ=="), nil, aes.cipher(128, "cbc"),
      { iv = ngx.decode_base64("Jq5cyFTja2vfyjZoSN6muw==") })`)).toEqual(ref);
  });
  it('reports bad key and iv lengths', () => {
    expect(run('aes:new("hel", nil, aes.cipher(128, "cbc"), { iv = ngx.decode_base64("Jq5cyFTja2vfyjZoSN6muw==") })')).toEqual([null, 'bad key length']);
    expect(run('aes:new(ngx.decode_base64("Xr4ilOzQ4PCOq3aQ0qbuaQ=="), nil, aes.cipher(128, "cbc"), { iv = "hello" })')).toEqual([null, 'bad iv']);
  });
  it('GCM returns the tag and checks it on decrypt', () => {
    expect(runLua(`local aes = require "resty.aes"
      local a = assert(aes:new(("k"):rep(32), nil, aes.cipher(256, "gcm"), { iv = ("i"):rep(12) }))
      local e, tag = a:encrypt("secret message")
      local bad = a:decrypt(e, ("x"):rep(16))
      return #tag, a:decrypt(e, tag), bad`)).toEqual([16, 'secret message', null]);
  });
  it('a wrong key fails to decrypt with nil', () => {
    expect(runLua(`local aes = require "resty.aes"
      local e = aes:new("one"):encrypt("hello world, long enough")
      return aes:new("two"):decrypt(e)`)[0]).toBe(null);
  });
  it('aes.cipher() of an unknown mode is nil', () => {
    expect(runLua('return require("resty.aes").cipher(128, "nope")')).toEqual([null]);
  });
});
