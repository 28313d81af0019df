-- resty.core.utils: str_replace_char(str, find, replace) replaces every byte `find` with the
-- single byte `replace`.
local gsub, byte, char, find = string.gsub, string.byte, string.char, string.find
local error, type = error, type

local _M = { version = "0.1.25" }

local magic = "^$()%.[]*+-?"

function _M.str_replace_char(str, ch, repl)
  if type(str) ~= "string" or #ch ~= 1 or #repl ~= 1 then
    error("bad arguments to str_replace_char", 2)
  end
  if not find(str, ch, 1, true) then
    return str
  end
  local pat = ch
  if find(magic, ch, 1, true) then
    pat = "%" .. ch
  end
  if repl == "%" then
    repl = "%%"
  end
  return (gsub(str, pat, repl))
end

return _M
