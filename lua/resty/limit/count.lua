-- resty.limit.count (lua-resty-limit-traffic API): at most `limit` requests per key in each
-- fixed `window` (seconds), counted down in a shared dict entry that expires with the window.
--
--   local lim = require("resty.limit.count").new("store", 5000, 3600)
--   local delay, remaining_or_err = lim:incoming(key, true)     -- nil, "rejected" when used up
local ngx = ngx
local setmetatable = setmetatable

local _M = { _VERSION = "0.09" }
local mt = { __index = _M }

function _M.new(dict_name, limit, window)
  local dict = ngx.shared[dict_name]
  if not dict then
    return nil, "shared dict not found"
  end
  return setmetatable({ dict = dict, limit = limit, window = window }, mt)
end

function _M.incoming(self, key, commit)
  local dict = self.dict
  local limit = self.limit
  local remaining, err
  if commit then
    -- the first request of a window creates the entry (limit, expiring with the window)
    remaining, err = dict:incr(key, -1, limit, self.window)
    if not remaining then
      return nil, err
    end
  else
    remaining = (dict:get(key) or limit) - 1
  end
  if remaining < 0 then
    return nil, "rejected"
  end
  return 0, remaining
end

function _M.uncommit(self, key)
  local remaining, err = self.dict:incr(key, 1)
  if not remaining then
    if err == "not found" then
      return self.limit
    end
    return nil, err
  end
  return remaining
end

return _M
