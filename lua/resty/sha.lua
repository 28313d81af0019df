-- resty.sha (lua-resty-string): the shared base of resty.sha1/sha224/sha256/sha384/sha512.
-- The original declares OpenSSL's SHA contexts through the FFI; here it builds the digest
-- classes used by those modules on top of tsresty.crypto (node:crypto).
local C = require "tsresty.crypto"

local setmetatable = setmetatable
local digest_new, digest_update, digest_final, digest_reset =
  C.digest_new, C.digest_update, C.digest_final, C.digest_reset

local _M = { _VERSION = "0.16" }

--- A digest class for `alg` with lua-resty-string's object API:
--- obj = class:new(); obj:update(s) -> true; obj:final() -> binary digest; obj:reset() -> true
function _M.class(alg, digest_length)
  local class = { _VERSION = _M._VERSION, digest_len = digest_length }
  local mt = { __index = class }

  function class.new(self)
    local ctx = digest_new(alg)
    if not ctx then
      return nil
    end
    return setmetatable({ _ctx = ctx }, mt)
  end

  function class.update(self, s)
    return digest_update(self._ctx, s)
  end

  function class.final(self)
    return digest_final(self._ctx)
  end

  function class.reset(self)
    return digest_reset(self._ctx)
  end

  return class
end

return _M
