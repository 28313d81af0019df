-- resty.hmac: HMAC on node:crypto, with both APIs found under this name in OpenResty setups:
--
--   lua-resty-hmac (used by lua-resty-jwt):
--     local hmac = require "resty.hmac"
--     local h = hmac:new("secret", hmac.ALGOS.SHA256)   -- MD5 (default), SHA1, SHA224..SHA512
--     h:update("part"); local mac = h:final("more"?, hex?); h:reset()
--   lua-resty-string's hmac.lua:
--     local mac = hmac:new():digest("sha256", key, msg, raw?)   -- hex unless raw
local C = require "tsresty.crypto"
local to_hex = C.to_hex
local hmac_new, hmac_update, hmac_final, hmac_reset, hmac_digest =
  C.hmac_new, C.hmac_update, C.hmac_final, C.hmac_reset, C.hmac_digest
local setmetatable, error, tostring = setmetatable, error, tostring

local _M = { _VERSION = "0.06" }
local mt = { __index = _M }

_M.ALGOS = {
  MD5 = "md5",
  SHA1 = "sha1",
  SHA224 = "sha224",
  SHA256 = "sha256",
  SHA384 = "sha384",
  SHA512 = "sha512",
}

function _M.new(self, key, hash_algo)
  if key == nil then
    -- lua-resty-string style: an object whose digest() does one-shot MACs
    return setmetatable({}, mt)
  end
  local ctx = hmac_new(hash_algo or "md5", key)
  if not ctx then
    return nil
  end
  return setmetatable({ _ctx = ctx }, mt)
end

function _M.update(self, s)
  return hmac_update(self._ctx, s)
end

function _M.final(self, s, hex_output)
  local ctx = self._ctx
  if s ~= nil then
    hmac_update(ctx, s)
  end
  local mac = hmac_final(ctx)
  if hex_output then
    return to_hex(mac)
  end
  return mac
end

function _M.reset(self)
  return hmac_reset(self._ctx)
end

function _M.digest(self, dtype, key, msg, raw)
  local mac = hmac_digest(dtype, key, msg)
  if not mac then
    error("attempt to use unkown algorithm: '" .. tostring(dtype) ..
      "'.\n Available algorithms are: sha1,sha224,sha256,sha384,sha512")
  end
  if raw == true then
    return mac
  end
  return to_hex(mac)
end

return _M
