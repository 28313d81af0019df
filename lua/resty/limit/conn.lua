-- resty.limit.conn (lua-resty-limit-traffic API): limits concurrent requests per key, delaying
-- those between `max` and `max + burst` and rejecting the rest. State lives in a shared dict.
--
--   local lim = require("resty.limit.conn").new("store", 200, 100, 0.5)  -- max, burst, delay
--   local delay, conn_or_err = lim:incoming(key, true)
--   ... if lim:is_committed() then ngx.ctx.limit_conn = lim end
--   -- log_by_lua: lim:leaving(key, tonumber(ngx.var.request_time))
local ngx = ngx
local floor = math.floor
local setmetatable = setmetatable

local _M = { _VERSION = "0.09" }
local mt = { __index = _M }

function _M.new(dict_name, max, burst, default_conn_delay)
  local dict = ngx.shared[dict_name]
  if not dict then
    return nil, "shared dict not found"
  end
  if burst < 0 then
    return nil, "burst must not be negative"
  end
  return setmetatable({
    dict = dict,
    max = max + 0,
    burst = burst,
    unit_delay = default_conn_delay,
    committed = false,
  }, mt)
end

function _M.incoming(self, key, commit)
  local dict = self.dict
  local max = self.max
  self.committed = false

  local conn, err
  if commit then
    conn, err = dict:incr(key, 1, 0)
    if not conn then
      return nil, err
    end
    if conn > max + self.burst then
      conn, err = dict:incr(key, -1)
      if not conn then
        return nil, err
      end
      return nil, "rejected"
    end
    self.committed = true
  else
    conn = (dict:get(key) or 0) + 1
    if conn > max + self.burst then
      return nil, "rejected"
    end
  end

  if conn > max then
    -- requests over the limit wait one unit per `max` requests ahead of them
    return self.unit_delay * floor((conn - 1) / max), conn
  end
  return 0, conn
end

function _M.is_committed(self)
  return self.committed
end

function _M.leaving(self, key, req_latency)
  local conn, err = self.dict:incr(key, -1)
  if not conn then
    return nil, err
  end
  if req_latency then
    self.unit_delay = (req_latency + self.unit_delay) / 2
  end
  return conn
end

function _M.uncommit(self, key)
  return self.dict:incr(key, -1)
end

function _M.set_conn(self, conn)
  self.max = conn
end

function _M.set_burst(self, burst)
  self.burst = burst
end

return _M
