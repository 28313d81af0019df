-- resty.random (lua-resty-string API): random.bytes(len, strong) -> binary string.
-- node:crypto's generator is a CSPRNG, so "strong" and pseudo random bytes come from the same
-- source; `strong` is accepted for compatibility.
local C = require "tsresty.crypto"
local random_bytes = C.random_bytes

local _M = { _VERSION = "0.16" }

function _M.bytes(len, strong)
  return random_bytes(len)
end

return _M
