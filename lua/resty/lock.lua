-- resty.lock (lua-resty-lock API): a mutex across the workers, kept in a lua_shared_dict.
--
--   local lock = require("resty.lock"):new("my_locks", { exptime = 30, timeout = 5,
--                                              step = 0.001, ratio = 2, max_step = 0.5 })
--   local elapsed, err = lock:lock(key)   -- seconds spent waiting, or nil, "timeout" | "locked"
--   lock:expire(ttl?)                      -- push the lock's expiry back
--   lock:unlock()                          -- 1, or nil, "unlocked"
--
-- Taking the lock is an atomic dict:add(); a busy lock is polled with ngx.sleep steps growing by
-- `ratio` up to `max_step`, never sleeping past `timeout`. elapsed adds up the steps (not wall
-- clock time), as documented upstream. There is no GC-driven release (fengari runs no __gc):
-- a forgotten lock frees itself after `exptime`.
local ngx = ngx
local sleep = ngx.sleep
local setmetatable, type = setmetatable, type

local _M = { _VERSION = "0.09" }
local mt = { __index = _M }

function _M.new(_, dict_name, opts)
  local shared = ngx.shared
  local dict = shared and shared[dict_name]
  if not dict then
    return nil, "dictionary not found"
  end
  local exptime, timeout, step, ratio, max_step = 30, 5, 0.001, 2, 0.5
  if opts then
    exptime = opts.exptime or exptime
    timeout = opts.timeout or timeout
    step = opts.step or step
    ratio = opts.ratio or ratio
    max_step = opts.max_step or max_step
  end
  return setmetatable({
    dict = dict,
    key = nil,
    exptime = exptime,
    timeout = timeout,
    step = step,
    ratio = ratio,
    max_step = max_step,
  }, mt)
end

function _M.lock(self, key)
  if key == nil then
    return nil, "nil key"
  end
  if self.key ~= nil then
    return nil, "locked"
  end
  local dict = self.dict
  local exptime = self.exptime
  local ok, err = dict:add(key, true, exptime)
  if ok then
    self.key = key
    return 0
  end
  if err ~= "exists" then
    return nil, err
  end

  local timeout = self.timeout
  local step = self.step
  local ratio, max_step = self.ratio, self.max_step
  if step > timeout then
    step = timeout
  end
  local elapsed = 0
  while timeout > 0 do
    sleep(step)
    elapsed = elapsed + step
    timeout = timeout - step
    ok, err = dict:add(key, true, exptime)
    if ok then
      self.key = key
      return elapsed
    end
    if err ~= "exists" then
      return nil, err
    end
    if timeout <= 0 then
      break
    end
    step = step * ratio
    if step <= 0 then
      step = 0.001
    end
    if step > max_step then
      step = max_step
    end
    if step > timeout then
      step = timeout
    end
  end
  return nil, "timeout"
end

function _M.unlock(self)
  local key = self.key
  if key == nil then
    return nil, "unlocked"
  end
  local ok, err = self.dict:delete(key)
  if not ok then
    return nil, err
  end
  self.key = nil
  return 1
end

function _M.expire(self, time)
  local key = self.key
  if key == nil then
    return nil, "unlocked"
  end
  local ok, err = self.dict:replace(key, true, time or self.exptime)
  if not ok then
    return nil, err
  end
  return true
end

return _M
