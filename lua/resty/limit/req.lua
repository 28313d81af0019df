-- resty.limit.req (lua-resty-limit-traffic API): request rate limiting with the "leaky bucket"
-- method, state kept in a lua_shared_dict so all workers share it.
--
--   local lim = require("resty.limit.req").new("my_limit_req_store", 200, 100)  -- rate, burst
--   local delay, excess_or_err = lim:incoming(key, true)   -- nil, "rejected" above rate + burst
--   if delay >= 0.001 then ngx.sleep(delay) end
--
-- Rates are kept in milli-requests per second as ngx_limit_req does; each key's record is
-- (excess, last access in ms) packed into a 16-byte string.
local ngx = ngx
local ngx_now = ngx.now
local spack, sunpack = string.pack, string.unpack
local type, setmetatable, abs = type, setmetatable, math.abs

local _M = { _VERSION = "0.09" }
local mt = { __index = _M }

local REC = "<dd"
local REC_SIZE = 16

function _M.new(dict_name, rate, burst)
  local dict = ngx.shared[dict_name]
  if not dict then
    return nil, "shared dict not found"
  end
  return setmetatable({
    dict = dict,
    rate = rate * 1000,
    burst = burst * 1000,
  }, mt)
end

function _M.incoming(self, key, commit)
  local dict = self.dict
  local rate = self.rate
  local now = ngx_now() * 1000

  local excess = 0
  local v = dict:get(key)
  if v ~= nil then
    if type(v) ~= "string" or #v ~= REC_SIZE then
      return nil, "shdict abused by other users"
    end
    local last_excess, last = sunpack(REC, v)
    local elapsed = now - last
    excess = last_excess - rate * abs(elapsed) / 1000 + 1000
    if excess < 0 then
      excess = 0
    end
    if excess > self.burst then
      return nil, "rejected"
    end
  end

  if commit then
    local ok, err = dict:set(key, spack(REC, excess, now))
    if not ok then
      return nil, err
    end
  end

  -- delay in seconds, and the excess requests per second
  return excess / rate, excess / 1000
end

function _M.uncommit(self, key)
  local dict = self.dict
  local v = dict:get(key)
  if not v then
    return nil, "not found"
  end
  if type(v) ~= "string" or #v ~= REC_SIZE then
    return nil, "shdict abused by other users"
  end
  local excess, last = sunpack(REC, v)
  excess = excess - 1000
  if excess < 0 then
    excess = 0
  end
  local ok, err = dict:set(key, spack(REC, excess, last))
  if not ok then
    return nil, err
  end
  return true
end

function _M.set_rate(self, rate)
  self.rate = rate * 1000
end

function _M.set_burst(self, burst)
  self.burst = burst * 1000
end

return _M
