-- LuaJIT / Lua 5.1 compatibility for code written for OpenResty, on fengari (Lua 5.3).
-- Runs once per VM before any user code, after the native half (src/ngx/misc.ts) has replaced
-- string.format, tonumber, os.date/os.time, math.floor/ceil/random, collectgarbage and installed
-- `bit` and table.new/clear/nkeys/isempty/isarray/clone. Nothing here uses the ngx table.
--
-- What is emulated here:
--   unpack, loadstring, setfenv/getfenv (through the _ENV upvalue), module + package.seeall,
--   table.getn/maxn/foreach/foreachi, math.pow/log10/cosh/sinh/tanh/atan2, the jit table and
--   jit.opt/jit.util stubs, require "ffi" failing with a clear message, _VERSION = "Lua 5.1".
-- Known gaps (documented in docs): setfenv(0, t) only affects code loaded afterwards; getfenv of
-- a function that uses no globals returns _G; string.dump output is Lua 5.3 bytecode.

local debug_getinfo, debug_getupvalue, debug_upvaluejoin = debug.getinfo, debug.getupvalue, debug.upvaluejoin
local type, error, select, pairs, next, rawget, rawset, setmetatable, getmetatable =
  type, error, select, pairs, next, rawget, rawset, setmetatable, getmetatable
local tostring = tostring
local G = _G
local registry = debug.getregistry()

_VERSION = "Lua 5.1"
unpack = table.unpack
loadstring = load

-- setfenv / getfenv -------------------------------------------------------------------------

local function env_index(f)
  local i = 1
  while true do
    local name = debug_getupvalue(f, i)
    if name == "_ENV" then return i end
    if name == nil then return nil end
    i = i + 1
  end
end

-- the function a 5.1 "level" designates, seen from the caller of getfenv/setfenv
local function func_at(level, fname)
  if level < 0 then
    error("bad argument #1 to '" .. fname .. "' (level must be non-negative)", 3)
  end
  local info = debug_getinfo(level + 2, "f")
  if info == nil then
    error("bad argument #1 to '" .. fname .. "' (invalid level)", 3)
  end
  return info.func
end

local function make_env_holder(t)
  return function() return t end
end

function getfenv(f)
  if f == nil then f = 1 end
  local tf = type(f)
  if tf == "number" then
    if f == 0 then return G end
    f = func_at(f, "getfenv")
  elseif tf ~= "function" then
    error("bad argument #1 to 'getfenv' (number expected, got " .. tf .. ")", 2)
  end
  local idx = env_index(f)
  if idx == nil then return G end
  local _, env = debug_getupvalue(f, idx)
  return env
end

function setfenv(f, t)
  local tt = type(t)
  if tt ~= "table" then
    error("bad argument #2 to 'setfenv' (table expected, got " .. (t == nil and "no value" or tt) .. ")", 2)
  end
  local tf = type(f)
  if tf == "number" then
    if f == 0 then
      -- the thread's globals: affects chunks loaded from now on
      registry[2] = t
      return
    end
    f = func_at(f, "setfenv")
  elseif tf ~= "function" then
    error("bad argument #1 to 'setfenv' (number expected, got " .. tf .. ")", 2)
  end
  local info = debug_getinfo(f, "S")
  if info.what == "C" or info.what == "J" then
    error("'setfenv' cannot change environment of given object", 2)
  end
  local idx = env_index(f)
  if idx ~= nil then
    -- point only this function's _ENV at the new table (5.1: closures keep their own env)
    debug_upvaluejoin(f, idx, make_env_holder(t), 1)
  end
  return f
end

-- module / package.seeall -------------------------------------------------------------------

local function findtable(root, fname)
  local t = root
  for part in fname:gmatch("[^.]+") do
    local v = rawget(t, part)
    if v == nil then
      v = {}
      rawset(t, part, v)
    elseif type(v) ~= "table" then
      return nil
    end
    t = v
  end
  return t
end

function module(modname, ...)
  if type(modname) ~= "string" then
    error("bad argument #1 to 'module' (string expected, got " .. type(modname) .. ")", 2)
  end
  local loaded = package.loaded
  local ns = loaded[modname]
  if type(ns) ~= "table" then
    ns = findtable(G, modname)
    if ns == nil then
      error("name conflict for module '" .. modname .. "'", 2)
    end
    loaded[modname] = ns
  end
  if rawget(ns, "_NAME") == nil then
    ns._M = ns
    ns._NAME = modname
    ns._PACKAGE = modname:match("^(.*%.)[^.]*$") or ""
  end
  local info = debug_getinfo(2, "fS")
  if info == nil or info.what == "C" or info.what == "J" then
    error("'module' not called from a Lua function", 2)
  end
  local idx = env_index(info.func)
  if idx ~= nil then
    debug_upvaluejoin(info.func, idx, make_env_holder(ns), 1)
  end
  -- options are functions; require passes the file name as a second argument in Lua 5.3
  for i = 1, select("#", ...) do
    local opt = select(i, ...)
    if type(opt) == "function" then opt(ns) end
  end
end

function package.seeall(m)
  local mt = getmetatable(m)
  if not mt then
    mt = {}
    setmetatable(m, mt)
  end
  mt.__index = G
end

-- table / math / string extras --------------------------------------------------------------

function table.getn(t)
  return #t
end

function table.maxn(t)
  local max = 0
  for k in pairs(t) do
    if type(k) == "number" and k > max then max = k end
  end
  return max
end

function table.foreach(t, f)
  for k, v in pairs(t) do
    local r = f(k, v)
    if r ~= nil then return r end
  end
end

function table.foreachi(t, f)
  for i = 1, #t do
    local r = f(i, t[i])
    if r ~= nil then return r end
  end
end

function math.pow(x, y)
  return x ^ y
end

local log, exp = math.log, math.exp
function math.log10(x)
  return log(x, 10)
end

function math.cosh(x)
  return (exp(x) + exp(-x)) / 2
end

function math.sinh(x)
  return (exp(x) - exp(-x)) / 2
end

function math.tanh(x)
  if x > 20 then return 1 end
  if x < -20 then return -1 end
  local a, b = exp(x), exp(-x)
  return (a - b) / (a + b)
end

local atan = math.atan
function math.atan2(y, x)
  return atan(y, x)
end

-- jit, ffi ----------------------------------------------------------------------------------

local function noop() end

local jit = {
  version = "LuaJIT 2.1.0-beta3",
  version_num = 20100,
  os = "Linux",
  arch = "x64",
  on = noop,
  off = noop,
  flush = noop,
  attach = noop,
  status = function() return false end,
  security = function() return 0 end,
}
jit.opt = { start = noop }
G.jit = jit
package.loaded.jit = jit
package.loaded["jit.opt"] = jit.opt
package.preload["jit.util"] = function()
  return {
    funcinfo = function() return {} end,
    funcbc = noop,
    funck = noop,
    funcuvname = noop,
    traceinfo = noop,
    traceir = noop,
    tracek = noop,
    tracesnap = noop,
    tracemc = noop,
    traceexitstub = noop,
    ircalladdr = noop,
  }
end
package.preload["jit.profile"] = function()
  return { start = noop, stop = noop, dumpstack = function() return "" end }
end

package.preload.ffi = function()
  error("module 'ffi' is not available: tsresty runs Lua on fengari (Lua 5.3 in JavaScript), "
    .. "which has no LuaJIT FFI; use the TypeScript-backed modules under lua/resty instead", 2)
end
