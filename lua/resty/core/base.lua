-- resty.core.base: constants and helpers lua-resty-core's modules share, kept for libraries that
-- use them directly (new_tab/clear_tab, FFI_* codes, get_request, allows_subsystem...). The FFI
-- string buffers have no meaning here; get_string_buf returns a plain empty string.
local new_tab = require "table.new"
local clear_tab = require "table.clear"
local ngx = ngx
local error = error

local _M = {
  version = "0.1.25",
  new_tab = new_tab,
  clear_tab = clear_tab,

  FFI_OK = 0,
  FFI_NO_REQ_CTX = -100,
  FFI_BAD_CONTEXT = -101,
  FFI_ERROR = -1,
  FFI_AGAIN = -2,
  FFI_BUSY = -3,
  FFI_DONE = -4,
  FFI_DECLINED = -5,
  FFI_ABORT = -6,

  subsystem = "http",
}

local phases_without_request = {
  init = true, init_worker = true, exit_worker = true, timer = false,
}

--- A truthy value standing for the current request, nil outside of one.
function _M.get_request()
  local ok, phase = pcall(ngx.get_phase)
  if not ok or phases_without_request[phase] then
    return nil
  end
  return true
end

function _M.allows_subsystem(...)
  for i = 1, select("#", ...) do
    if select(i, ...) == "http" then
      return
    end
  end
  error("unsupported subsystem: http", 2)
end

function _M.ref_in_table(tb, key)
  if key == nil then
    return -1
  end
  local ref = tb[1]
  if ref == nil or ref == 0 then
    ref = #tb + 1
  else
    tb[1] = tb[ref]
  end
  tb[ref] = key
  return ref
end

function _M.set_string_buf_size(size) end
function _M.get_string_buf_size() return 4096 end
function _M.get_string_buf() return "" end
function _M.get_size_ptr() return nil end
function _M.get_errmsg_ptr() return nil end

function _M.is_not_req(r) return r == nil end

return _M
