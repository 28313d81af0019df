-- resty.aes (lua-resty-string API) on node:crypto.
--   local aes = require "resty.aes"
--   local a = aes:new(key, salt?, aes.cipher(256, "cbc")?, aes.hash.sha256?, rounds?, iv_len?, padding?)
--   local enc = a:encrypt(s); local dec = a:decrypt(enc)
-- Keys come from EVP_BytesToKey(hash, salt, key, rounds) like OpenSSL does, unless `hash` is a
-- table { iv = ..., method = fn? } giving the raw key (or method(key)) and iv. GCM/CCM/OCB modes
-- return the tag from encrypt() and take it as decrypt()'s second argument.
local C = require "tsresty.crypto"

local type, setmetatable, tostring = type, setmetatable, tostring
local cipher_info, bytes_to_key = C.cipher_info, C.bytes_to_key
local cipher_new, cipher_encrypt, cipher_decrypt = C.cipher_new, C.cipher_encrypt, C.cipher_decrypt

local _M = { _VERSION = "0.16" }
local mt = { __index = _M }

_M.hash = {
  md5 = "md5",
  sha1 = "sha1",
  sha224 = "sha224",
  sha256 = "sha256",
  sha384 = "sha384",
  sha512 = "sha512",
}

function _M.cipher(size, mode)
  size = size or 128
  mode = mode or "cbc"
  local name = "aes-" .. tostring(size) .. "-" .. mode
  local key_len, iv_len = cipher_info(name)
  if not key_len then
    return nil
  end
  return { size = size, cipher = mode, method = name, key_len = key_len, iv_len = iv_len }
end

local default_cipher = _M.cipher()

function _M.new(self, key, salt, cipher, hash, hash_rounds, iv_len, enable_padding)
  if type(key) ~= "string" then
    key = key == nil and "" or tostring(key)
  end
  cipher = cipher or default_cipher
  if type(cipher) ~= "table" or not cipher.method then
    return nil, "bad cipher"
  end
  hash = hash or _M.hash.md5
  hash_rounds = hash_rounds or 1
  local key_len = cipher.key_len
  iv_len = iv_len or cipher.iv_len
  if enable_padding == nil then
    enable_padding = true
  end

  local gen_key, gen_iv
  if type(hash) == "table" then
    local iv = hash.iv
    if not iv then
      return nil, "iv is needed"
    end
    if #iv ~= iv_len then
      return nil, "bad iv"
    end
    if hash.method then
      gen_key = hash.method(key)
    else
      gen_key = key
    end
    if type(gen_key) ~= "string" or #gen_key ~= key_len then
      return nil, "bad key length"
    end
    gen_iv = iv
  else
    if salt ~= nil and type(salt) ~= "string" then
      return nil, "salt must be a string"
    end
    gen_key, gen_iv = bytes_to_key(hash, salt, key, hash_rounds, key_len, iv_len)
  end
  if iv_len == 0 then
    gen_iv = nil
  end

  local ctx, err = cipher_new(cipher.method, gen_key, gen_iv, enable_padding)
  if not ctx then
    return nil, err
  end
  return setmetatable({ _ctx = ctx, _cipher = cipher.cipher }, mt)
end

function _M.encrypt(self, s)
  return cipher_encrypt(self._ctx, s)
end

function _M.decrypt(self, s, tag)
  return cipher_decrypt(self._ctx, s, tag)
end

return _M
