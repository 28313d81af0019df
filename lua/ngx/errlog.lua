-- ngx.errlog (lua-resty-core API) over the worker's error log:
--   get_logs(max?, res?)        the lines captured by lua_capture_error_log, as a flat array
--                               level, time, msg, level, time, msg... (oldest first, consumed)
--   set_filter_level(level)     which levels the capture keeps (ngx.ERR, ngx.WARN...)
--   get_sys_filter_level()      the error_log directive's level
--   raw_log(level, msg)         write msg to the error log without file/line decoration
local C = require "tsresty.core"

local _M = { version = "0.1.25" }

_M.get_logs = C.errlog_get_logs
_M.set_filter_level = C.errlog_set_filter_level
_M.get_sys_filter_level = C.errlog_sys_filter_level
_M.raw_log = C.errlog_raw_log

return _M
