-- A module: edit it while the server runs with --watch; the next request uses the new version.
local _M = {}

function _M.hello(name)
    return "hello, " .. (name or "world") .. "!"
end

return _M
