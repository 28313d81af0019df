// Native half of the lua-resty-string family (resty.string, resty.sha1/md5/sha2xx, resty.random,
// resty.aes). The originals call OpenSSL through LuaJIT's FFI; here node:crypto does the work and
// the Lua modules in lua/resty/ keep the public API. Loaded with require "tsresty.crypto".
//
// Digest and cipher contexts cross into Lua as light userdata holding a JS object; the Lua side
// wraps them in the usual objects (obj:update(), obj:final()...).
import { lua, lauxlib } from '../lua/fengari.js';
import * as crypto from 'node:crypto';
import { S, pushBytes, luaError, type LuaState } from '../lua/bridge.js';
import { definePreload } from './registry.js';
import { hexDump } from './codec.js';

function buf(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** Bytes of the string (or number) at idx; nil/none gives an empty string. */
function bytesAt(L: LuaState, idx: number): Uint8Array {
  const t = lua.lua_type(L, idx);
  if (t === lua.LUA_TSTRING || t === lua.LUA_TNUMBER) return lua.lua_tolstring(L, idx);
  if (t === lua.LUA_TNIL || t === lua.LUA_TNONE) return EMPTY;
  return luaError(L, `bad argument #${idx} (string expected, got ${typeName(L, t)})`);
}
const EMPTY = new Uint8Array(0);

function typeName(L: LuaState, t: number): string {
  return Buffer.from(lua.lua_typename(L, t)).toString();
}

// ---- digests ---------------------------------------------------------------------------------

const DIGESTS = new Set(['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512']);

class Digest {
  h: crypto.Hash | null;
  constructor(readonly alg: string) {
    this.h = crypto.createHash(alg);
  }
}

function ctxAt<T>(L: LuaState, idx: number, cls: new (...a: any[]) => T, what: string): T {
  const p = lua.lua_touserdata(L, idx);
  if (!(p instanceof cls)) luaError(L, `bad ${what} context`);
  return p as T;
}

/** digest_new(alg) -> ctx | nil */
function digestNew(L: LuaState): number {
  const alg = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  if (!DIGESTS.has(alg)) {
    lua.lua_pushnil(L);
    return 1;
  }
  lua.lua_pushlightuserdata(L, new Digest(alg));
  return 1;
}

/** digest_update(ctx, s) -> true */
function digestUpdate(L: LuaState): number {
  const d = ctxAt(L, 1, Digest, 'digest');
  if (d.h === null) d.h = crypto.createHash(d.alg);
  d.h.update(bytesAt(L, 2));
  lua.lua_pushboolean(L, true);
  return 1;
}

/** digest_final(ctx) -> binary digest; the context starts over afterwards (like *_Init). */
function digestFinal(L: LuaState): number {
  const d = ctxAt(L, 1, Digest, 'digest');
  const h = d.h ?? crypto.createHash(d.alg);
  d.h = null;
  pushBytes(L, h.digest());
  return 1;
}

function digestReset(L: LuaState): number {
  const d = ctxAt(L, 1, Digest, 'digest');
  d.h = crypto.createHash(d.alg);
  lua.lua_pushboolean(L, true);
  return 1;
}

// ---- resty.hmac ---------------------------------------------------------------------------------

class Hmac {
  h: crypto.Hmac | null = null;
  constructor(
    readonly alg: string,
    readonly key: Buffer,
  ) {}
  get(): crypto.Hmac {
    return (this.h ??= crypto.createHmac(this.alg, this.key));
  }
}

/** hmac_new(alg, key) -> ctx | nil */
function hmacNew(L: LuaState): number {
  const alg = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  if (!DIGESTS.has(alg)) {
    lua.lua_pushnil(L);
    return 1;
  }
  lua.lua_pushlightuserdata(L, new Hmac(alg, Buffer.from(bytesAt(L, 2))));
  return 1;
}

function hmacUpdate(L: LuaState): number {
  ctxAt(L, 1, Hmac, 'hmac').get().update(bytesAt(L, 2));
  lua.lua_pushboolean(L, true);
  return 1;
}

/** hmac_final(ctx) -> binary mac; the context starts over afterwards */
function hmacFinal(L: LuaState): number {
  const c = ctxAt(L, 1, Hmac, 'hmac');
  const mac = c.get().digest();
  c.h = null;
  pushBytes(L, mac);
  return 1;
}

function hmacReset(L: LuaState): number {
  ctxAt(L, 1, Hmac, 'hmac').h = null;
  lua.lua_pushboolean(L, true);
  return 1;
}

/** hmac_digest(alg, key, msg) -> binary mac | nil (one shot) */
function hmacDigest(L: LuaState): number {
  const alg = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  if (!DIGESTS.has(alg)) {
    lua.lua_pushnil(L);
    return 1;
  }
  pushBytes(L, crypto.createHmac(alg, bytesAt(L, 2)).update(bytesAt(L, 3)).digest());
  return 1;
}

// ---- resty.string / resty.random --------------------------------------------------------------

function toHex(L: LuaState): number {
  pushBytes(L, hexDump(bytesAt(L, 1)));
  return 1;
}

/** ngx_atoi: decimal digits only, -1 (NGX_ERROR) for anything else or overflow. */
function atoi(L: LuaState): number {
  const b = bytesAt(L, 1);
  if (b.length === 0) {
    lua.lua_pushnumber(L, -1);
    return 1;
  }
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i] - 48;
    if (c < 0 || c > 9) {
      lua.lua_pushnumber(L, -1);
      return 1;
    }
    v = v * 10 + c;
    if (v > 9223372036854775807) {
      lua.lua_pushnumber(L, -1);
      return 1;
    }
  }
  lua.lua_pushnumber(L, v);
  return 1;
}

function randomBytes(L: LuaState): number {
  const n = lauxlib.luaL_checknumber(L, 1);
  if (!(n >= 0)) {
    lua.lua_pushnil(L);
    return 1;
  }
  pushBytes(L, crypto.randomBytes(Math.floor(n)));
  return 1;
}

// ---- resty.aes -------------------------------------------------------------------------------

const AEAD = new Set(['gcm', 'ccm', 'ocb']);

class Cipher {
  constructor(
    readonly name: string,
    readonly key: Buffer,
    readonly iv: Buffer | null,
    readonly padding: boolean,
    readonly aead: boolean,
  ) {}
}

/** cipher_supported(name) -> bool */
function cipherSupported(L: LuaState): number {
  const name = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  lua.lua_pushboolean(L, crypto.getCiphers().includes(name));
  return 1;
}

/** cipher_info(name) -> key_len, iv_len | nil */
function cipherInfo(L: LuaState): number {
  const name = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  const info = crypto.getCipherInfo(name);
  if (!info) {
    lua.lua_pushnil(L);
    return 1;
  }
  lua.lua_pushnumber(L, info.keyLength);
  lua.lua_pushnumber(L, info.ivLength ?? 0);
  return 2;
}

/** OpenSSL's EVP_BytesToKey: D_i = H^count(D_{i-1} || pass || salt), key then iv from the stream.
 *  bytes_to_key(md, salt|nil, pass, count, key_len, iv_len) -> key, iv */
function bytesToKey(L: LuaState): number {
  const md = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  if (!DIGESTS.has(md)) luaError(L, `unknown digest "${md}"`);
  const salt = lua.lua_isnoneornil(L, 2) ? null : buf(lua.lua_tolstring(L, 2)).subarray(0, 8);
  const pass = buf(bytesAt(L, 3));
  const count = Math.max(1, lauxlib.luaL_checkinteger(L, 4));
  const keyLen = lauxlib.luaL_checkinteger(L, 5);
  const ivLen = lauxlib.luaL_checkinteger(L, 6);
  const need = keyLen + ivLen;
  const out: Buffer[] = [];
  let have = 0;
  let prev: Buffer | null = null;
  while (have < need) {
    let h = crypto.createHash(md);
    if (prev) h.update(prev);
    h.update(pass);
    if (salt) h.update(salt);
    let d = h.digest();
    for (let i = 1; i < count; i++) d = crypto.createHash(md).update(d).digest();
    out.push(d);
    have += d.length;
    prev = d;
  }
  const all = Buffer.concat(out);
  pushBytes(L, all.subarray(0, keyLen));
  pushBytes(L, all.subarray(keyLen, need));
  return 2;
}

/** cipher_new(name, key, iv|nil, padding) -> ctx | nil, err */
function cipherNew(L: LuaState): number {
  const name = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  const key = Buffer.from(bytesAt(L, 2));
  const iv = lua.lua_isnoneornil(L, 3) ? null : Buffer.from(lua.lua_tolstring(L, 3));
  const padding = lua.lua_isnoneornil(L, 4) ? true : lua.lua_toboolean(L, 4);
  const mode = name.slice(name.lastIndexOf('-') + 1);
  const c = new Cipher(name, key, iv, padding, AEAD.has(mode));
  try {
    // validate key/iv once so errors surface from new() like EVP_EncryptInit_ex failing
    crypto.createCipheriv(name, key, iv).destroy();
  } catch (e) {
    lua.lua_pushnil(L);
    pushBytes(L, Buffer.from(`failed to initialize cipher: ${(e as Error).message}`));
    return 2;
  }
  lua.lua_pushlightuserdata(L, c);
  return 1;
}

/** cipher_encrypt(ctx, s) -> ciphertext [, tag] | nil */
function cipherEncrypt(L: LuaState): number {
  const c = ctxAt(L, 1, Cipher, 'cipher');
  const data = bytesAt(L, 2);
  try {
    const ci = crypto.createCipheriv(c.name, c.key, c.iv) as crypto.CipherGCM;
    ci.setAutoPadding(c.padding);
    const out = Buffer.concat([ci.update(data), ci.final()]);
    pushBytes(L, out);
    if (c.aead) {
      pushBytes(L, ci.getAuthTag());
      return 2;
    }
    return 1;
  } catch {
    lua.lua_pushnil(L);
    return 1;
  }
}

/** cipher_decrypt(ctx, s, tag?) -> plaintext | nil, err */
function cipherDecrypt(L: LuaState): number {
  const c = ctxAt(L, 1, Cipher, 'cipher');
  const data = bytesAt(L, 2);
  try {
    const de = crypto.createDecipheriv(c.name, c.key, c.iv) as crypto.DecipherGCM;
    de.setAutoPadding(c.padding);
    if (c.aead) {
      if (lua.lua_isnoneornil(L, 3)) {
        lua.lua_pushnil(L);
        pushBytes(L, S('no tag'));
        return 2;
      }
      de.setAuthTag(Buffer.from(lua.lua_tolstring(L, 3)));
    }
    const out = Buffer.concat([de.update(data), de.final()]);
    pushBytes(L, out);
    return 1;
  } catch {
    lua.lua_pushnil(L);
    pushBytes(L, S('EVP_DecryptFinal_ex failed'));
    return 2;
  }
}

const FNS: Record<string, (L: LuaState) => number> = {
  digest_new: digestNew,
  digest_update: digestUpdate,
  digest_final: digestFinal,
  digest_reset: digestReset,
  hmac_new: hmacNew,
  hmac_update: hmacUpdate,
  hmac_final: hmacFinal,
  hmac_reset: hmacReset,
  hmac_digest: hmacDigest,
  to_hex: toHex,
  atoi,
  random_bytes: randomBytes,
  cipher_supported: cipherSupported,
  cipher_info: cipherInfo,
  bytes_to_key: bytesToKey,
  cipher_new: cipherNew,
  cipher_encrypt: cipherEncrypt,
  cipher_decrypt: cipherDecrypt,
};

definePreload('tsresty.crypto', (L) => {
  lua.lua_createtable(L, 0, Object.keys(FNS).length);
  for (const k of Object.keys(FNS)) {
    lua.lua_pushcfunction(L, FNS[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  return 1;
});
