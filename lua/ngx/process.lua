-- ngx.process (lua-resty-core API): process type and master pid.
--   type() -> "single" (master_process off), "master" (init_by_lua with a master), "worker"
local C = require "tsresty.core"

local _M = { version = "0.1.25" }

_M.type = C.process_type
_M.get_master_pid = C.master_pid

--- tsresty has no privileged agent process.
function _M.enable_privileged_agent(connections)
  return nil, "privileged agent process is not supported by tsresty"
end

return _M
