-- ngx.resp (lua-resty-core API): add_header(key, value) adds a response header line, keeping
-- the values already set under that name (ngx.header replaces them).
local ngx = ngx
local type, error, tostring = type, error, tostring

local _M = { version = "0.1.25" }

function _M.add_header(key, value)
  if type(key) ~= "string" then
    error("bad argument #1 to 'add_header' (string expected, got " .. type(key) .. ")", 2)
  end
  if value == nil then
    error("bad argument #2 to 'add_header' (nil value)", 2)
  end
  local header = ngx.header
  local old = header[key]
  if old == nil then
    header[key] = value
    return
  end
  local new
  if type(old) == "table" then
    new = old
  else
    new = { old }
  end
  if type(value) == "table" then
    for i = 1, #value do
      new[#new + 1] = value[i]
    end
  else
    new[#new + 1] = tostring(value)
  end
  header[key] = new
end

return _M
