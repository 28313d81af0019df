-- resty.http_headers (lua-resty-http API): a table whose keys are case-insensitive, e.g.
-- res.headers["content-type"] finds "Content-Type". pairs() yields the first spelling used.
local setmetatable, rawget, rawset, type = setmetatable, rawget, rawset, type
local lower = string.lower

local _M = { _VERSION = "0.17.2" }

function _M.new()
  local spelling = {}
  local mt = {
    normalised = spelling,
    __index = function(t, k)
      if type(k) ~= "string" then
        return nil
      end
      local orig = spelling[lower(k)]
      if orig == nil then
        return nil
      end
      return rawget(t, orig)
    end,
    __newindex = function(t, k, v)
      if type(k) ~= "string" then
        rawset(t, k, v)
        return
      end
      local norm = lower(k)
      local orig = spelling[norm]
      if orig == nil then
        spelling[norm] = k
        rawset(t, k, v)
      else
        rawset(t, orig, v)
      end
    end,
  }
  return setmetatable({}, mt)
end

return _M
