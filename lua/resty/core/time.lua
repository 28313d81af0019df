-- resty.core.time: ngx.time/now/update_time are built in; this module adds the monotonic clock
-- functions lua-resty-core exposes here.
local C = require "tsresty.core"

return {
  version = "0.1.25",
  monotonic_msec = C.monotonic_msec,
  monotonic_time = C.monotonic_time,
}
