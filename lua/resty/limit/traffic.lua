-- resty.limit.traffic (lua-resty-limit-traffic API): combines several limiters (req, conn,
-- count) so a request is only counted by all of them or by none.
--
--   local delay, err = require("resty.limit.traffic").combine({ lim1, lim2 }, { key1, key2 }, states)
-- The last limiter commits first; the others are dry-run, then committed, and on a rejection
-- the commits already made are undone with uncommit().
local _M = { _VERSION = "0.09" }

function _M.combine(limiters, keys, states)
  local n = #limiters
  local max_delay = 0
  -- dry run everything but the last one, which commits
  for i = 1, n do
    local delay, err = limiters[i]:incoming(keys[i], i == n)
    if not delay then
      return nil, err
    end
    if i == n then
      if states then
        states[i] = err
      end
      max_delay = delay
    end
  end
  for i = 1, n - 1 do
    local lim = limiters[i]
    local delay, err = lim:incoming(keys[i], true)
    if not delay then
      -- undo the commits made so far, the last limiter's first
      limiters[n]:uncommit(keys[n])
      for j = 1, i - 1 do
        limiters[j]:uncommit(keys[j])
      end
      return nil, err
    end
    if states then
      states[i] = err
    end
    if delay > max_delay then
      max_delay = delay
    end
  end
  return max_delay
end

return _M
