-- Coroutine wrappers so user coroutines and ngx API calls that wait (sleep, cosockets) mix as in
-- OpenResty: when an API call inside a user coroutine yields to the scheduler (with the marker
-- value), the wrapper passes that yield up to the request's entry thread and, once resumed, hands
-- the results back down to the waiting coroutine.
local MARK = debug.getregistry()["tsresty.yield_mark"]
local raw_resume, raw_yield, raw_status, raw_wrap = coroutine.resume, coroutine.yield, coroutine.status, coroutine.wrap
local raw_create = coroutine.create
local select, error = select, error

local raw_running = coroutine.running
-- what Lua code gets as coroutine.running: marks the thread as seen (src/lua/scheduler.ts reuses
-- only entry threads no Lua code holds)
local running = debug.getregistry()["tsresty.running"] or raw_running
-- coroutines passing an inner coroutine's API yield up: they are "normal" (resuming another one)
local forwarding = {}

local function resumed(self, ...)
  forwarding[self] = nil
  return ...
end

local function forward(co, ok, ...)
  if ok and (...) == MARK and raw_status(co) == "suspended" then
    local self = raw_running()
    forwarding[self] = true
    return forward(co, raw_resume(co, resumed(self, raw_yield(MARK))))
  end
  return ok, ...
end

local type = type
local status -- coroutine.status below (light-thread aware)

coroutine.resume = function(co, ...)
  if type(co) == "thread" then
    -- ngx_http_lua_coroutine_resume: "cannot resume <status> coroutine" (light threads waiting
    -- in the scheduler are "running")
    local st = status(co)
    if st ~= "suspended" then return false, "cannot resume " .. st .. " coroutine" end
  end
  return forward(co, raw_resume(co, ...))
end

local function wrap_results(ok, ...)
  if not ok then
    error((...), 2)
  end
  return ...
end

coroutine.wrap = function(f)
  local co = raw_create(f)
  return function(...)
    return wrap_results(forward(co, raw_resume(co, ...)))
  end
end

-- light threads report "running" while waiting in the scheduler and "zombie" until waited for
local thread_status = debug.getregistry()["tsresty.thread_status"]
if thread_status then
  coroutine.status = function(co)
    local st = thread_status(co)
    if st then
      if st == "running" and forwarding[co] then return "normal" end
      return st
    end
    return raw_status(co)
  end
end
status = coroutine.status

-- lua-nginx-module replaces the coroutine table with one holding exactly these 16 entries: running,
-- the originals as _create/_wrap/_resume/_yield/_status, the request-aware versions as
-- __create/__wrap/__resume/__yield/__status and under the plain names (no isyieldable), and code
-- that walks the table or reaches for the raw functions sees the same.
do
  local api = {
    running = running,
    _create = raw_create, _wrap = raw_wrap, _resume = raw_resume, _yield = raw_yield, _status = raw_status,
    __create = coroutine.create, __wrap = coroutine.wrap, __resume = coroutine.resume,
    __yield = coroutine.yield, __status = coroutine.status,
  }
  for _, k in ipairs({ "create", "wrap", "resume", "yield", "status" }) do
    api[k] = api["__" .. k]
  end
  coroutine = api
  package.loaded.coroutine = api
end
