-- resty.string (lua-resty-string API): hex encoding and ngx_atoi, backed by tsresty.crypto.
local C = require "tsresty.crypto"

local _M = { _VERSION = "0.16" }

_M.to_hex = C.to_hex
_M.atoi = C.atoi

return _M
