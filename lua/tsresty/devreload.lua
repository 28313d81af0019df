-- Development mode (tsresty --watch / lua_code_cache off): remember which file each module came
-- from and which modules required it, so that an edited file can be dropped from package.loaded
-- together with everything that captured it. Loaded only in development mode: production
-- `require` stays the plain one.
local reg = debug.getregistry()
local notify = reg["tsresty.module_loaded"]
local raw_require = require
local searchpath, loaded = package.searchpath, package.loaded
local pcall, error, type, pairs = pcall, error, type, pairs

local stack = {}
local parents = {} -- module name -> { [name of a module that required it] = true }

function require(name)
  local parent = stack[#stack]
  local m = loaded[name]
  if m ~= nil then
    if parent then
      local p = parents[name]
      if p then p[parent] = true end
    end
    return m
  end
  stack[#stack + 1] = name
  local ok, res, extra = pcall(raw_require, name)
  stack[#stack] = nil
  if not ok then error(res, 0) end
  local file = searchpath(name, package.path)
  if file then
    local p = parents[name] or {}
    parents[name] = p
    if parent then p[parent] = true end
    notify(name, file)
  end
  return res, extra
end

-- Drop `name` and, transitively, the modules that required it; calls an optional _M.destroy().
local function drop(name, out)
  if out[name] then return end
  out[name] = true
  local m = loaded[name]
  if type(m) == "table" and type(m.destroy) == "function" then pcall(m.destroy) end
  loaded[name] = nil
  for parent in pairs(parents[name] or {}) do drop(parent, out) end
end

reg["tsresty.drop_module"] = function(name)
  local out = {}
  drop(name, out)
  local names = {}
  for k in pairs(out) do names[#names + 1] = k end
  return table.concat(names, " ")
end
