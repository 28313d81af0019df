-- resty.redis (lua-resty-redis API) over ngx.socket.tcp.
--
--   local red = require("resty.redis"):new()
--   red:set_timeouts(1000, 1000, 1000)
--   local ok, err = red:connect("127.0.0.1", 6379, { pool_size = 100, db = 1, password = "x" })
--   red:set("k", "v"); local v = red:get("k")           -- any command, lower case
--   red:init_pipeline(); red:incr("a"); red:get("a"); local results = red:commit_pipeline()
--   red:subscribe("ch"); local msg = red:read_reply()    -- pub/sub
--   red:set_keepalive(10000, 100)
--
-- Replies: status -> string without "+", integer -> number, bulk -> string (nil bulk -> ngx.null),
-- multi-bulk -> table (nil -> ngx.null; error elements -> {false, err}), error -> false, "ERR ...".
-- Connection failures give nil, err ("timeout", "closed"...). A read timeout outside of subscribed
-- mode closes the socket, since a late reply would otherwise be read by the next user.
--
-- Object fields start with "_"; their defaults live in the class. Any other missing name is a
-- command: the class's __index generates its method on first use.
local null = ngx.null
local native = require "tsresty.redis"
local gen_req, call, native_read = native.gen_req, native.call, native.read_reply
local new_tab = require "table.new"

local sub, byte, tostring = string.sub, string.byte, tostring
local type, select, setmetatable, pairs = type, select, setmetatable, pairs
local unpack = table.unpack or unpack

local _M = { _VERSION = "0.30" }
local mt = { __index = _M }

-- per-object state defaults, read through the class (objects only hold what changed)
_M._reqs = false         -- the pipeline being collected
_M._nreqs = 0
_M._subscribed = false   -- in pub/sub mode
_M._nchan = 0            -- channels / patterns subscribed
_M._npat = 0
_M._in_tx = false        -- between MULTI and EXEC/DISCARD
_M._module_prefix = false
_M._slow = false         -- any of _reqs, _subscribed, _module_prefix, _in_tx: commands take
                         -- do_cmd, connect and set_keepalive look further

local function update_slow(self)
  self._slow = (self._reqs or self._subscribed or self._module_prefix or self._in_tx) and true or false
end

-- one reply: `false, err` for an error reply, `nil, err` for a connection failure; a read
-- timeout outside of pub/sub closes the connection (a late reply would reach its next user)
local function read_reply(self, sock)
  return native_read(sock, not self._subscribed)
end

local function do_cmd(self, cmd, ...)
  local sock = self._sock
  if not sock then
    return nil, "not initialized"
  end
  local prefix = self._module_prefix
  if prefix then
    cmd = prefix .. "." .. cmd
    self._module_prefix = false
    update_slow(self)
  end
  local reqs = self._reqs
  if reqs then
    local n = self._nreqs + 1
    reqs[n] = gen_req(cmd, ...)
    self._nreqs = n
    return
  end
  if self._subscribed then
    return nil, "subscribed state"
  end
  return call(sock, cmd, ...)
end

-- track what a (un)subscribe confirmation says about the subscriptions left
local function track(self, res)
  if type(res) ~= "table" then
    return false
  end
  local kind = res[1]
  if kind == "subscribe" then
    self._nchan = self._nchan + 1
  elseif kind == "psubscribe" then
    self._npat = self._npat + 1
  elseif kind == "unsubscribe" then
    if res[2] ~= null and self._nchan > 0 then
      self._nchan = self._nchan - 1
    end
  elseif kind == "punsubscribe" then
    if res[2] ~= null and self._npat > 0 then
      self._npat = self._npat - 1
    end
  else
    return false
  end
  local left = res[3]
  if type(left) == "number" then
    self._subscribed = left > 0
    update_slow(self)
  end
  return true
end

local function subscribe_cmd(cmd)
  return function(self, ...)
    local sock = self._sock
    if not sock then
      return nil, "not initialized"
    end
    if self._reqs then
      return do_cmd(self, cmd, ...)
    end
    local bytes, err = sock:send(gen_req(cmd, ...))
    if not bytes then
      return nil, err
    end
    local n = select("#", ...)
    if n == 0 then
      n = 1 -- the server answers with one error reply
    end
    local first
    local results = n > 1 and new_tab(n, 0) or nil
    local got = 0
    while got < n do
      local res, err = read_reply(self, sock)
      if res == nil or res == false then
        return res, err
      end
      if track(self, res) and res[1] == cmd then
        got = got + 1
        if results then
          results[got] = res
        else
          first = res
        end
      end
    end
    return results or first
  end
end

local function unsubscribe_cmd(cmd)
  local counter = cmd == "unsubscribe" and "_nchan" or "_npat"
  return function(self, ...)
    local sock = self._sock
    if not sock then
      return nil, "not initialized"
    end
    if self._reqs then
      return do_cmd(self, cmd, ...)
    end
    local n = select("#", ...)
    local expected = n
    if n == 0 then
      expected = self[counter]
      if expected < 1 then
        expected = 1
      end
    end
    local bytes, err = sock:send(gen_req(cmd, ...))
    if not bytes then
      return nil, err
    end
    local first
    local results = expected > 1 and new_tab(expected, 0) or nil
    local got = 0
    while got < expected do
      local res, err = read_reply(self, sock)
      if res == nil or res == false then
        return res, err
      end
      -- messages published before the confirmation arrived are dropped
      if track(self, res) and res[1] == cmd then
        got = got + 1
        if results then
          results[got] = res
        else
          first = res
        end
      end
    end
    return results or first
  end
end

_M.subscribe = subscribe_cmd("subscribe")
_M.psubscribe = subscribe_cmd("psubscribe")
_M.unsubscribe = unsubscribe_cmd("unsubscribe")
_M.punsubscribe = unsubscribe_cmd("punsubscribe")

function _M.read_reply(self)
  local sock = self._sock
  if not sock then
    return nil, "not initialized"
  end
  if not self._subscribed then
    return nil, "not subscribed"
  end
  local res, err = read_reply(self, sock)
  track(self, res)
  return res, err
end

-- MULTI ... EXEC/DISCARD: a connection inside a transaction must not go back to the pool
function _M.multi(self, ...)
  local res, err = do_cmd(self, "multi", ...)
  if res or self._reqs then
    self._in_tx = true
    self._slow = true
  end
  if err ~= nil then
    return res, err
  end
  return res
end

function _M.exec(self, ...)
  self._in_tx = false
  update_slow(self)
  return do_cmd(self, "exec", ...)
end

function _M.discard(self, ...)
  self._in_tx = false
  update_slow(self)
  return do_cmd(self, "discard", ...)
end

-- connect with options (TLS, auth, database, pool options); the common connect(host, port) and
-- connect("unix:/path") run natively (see the end of this file)
local function connect(self, host, port_or_opts, opts)
  local sock = self._sock
  if not sock then
    return nil, "not initialized"
  end
  local unix = byte(host, 1) == 117 and sub(host, 1, 5) == "unix:" -- "u"
  local port
  if unix then
    if type(port_or_opts) == "table" then
      opts = port_or_opts
    end
  else
    port = port_or_opts
  end

  if self._slow then
    self._subscribed = false
    self._nchan = 0
    self._npat = 0
    self._in_tx = false
    self._reqs = false
    self._module_prefix = false
    self._slow = false
  end

  local ok, err
  local ssl, ssl_verify, server_name, db, password, username, tcp_keepalive
  if opts then
    ssl, ssl_verify, server_name = opts.ssl, opts.ssl_verify, opts.server_name
    db, password, username = opts.db, opts.password, opts.username
    tcp_keepalive = opts.tcp_keepalive
    if password == "" then
      password = nil
    end
    if username == "" then
      username = nil
    end
    local pool = opts.pool
    if not pool and (db or (password and username)) then
      pool = unix and host or (host .. ":" .. tostring(port))
      if password and username then
        pool = pool .. "/" .. username
      end
      if db then
        pool = pool .. "/" .. tostring(db)
      end
    end
    if pool or opts.pool_size or opts.backlog then
      local copts = { pool = pool, pool_size = opts.pool_size, backlog = opts.backlog }
      if unix then
        ok, err = sock:connect(host, copts)
      else
        ok, err = sock:connect(host, port, copts)
      end
    elseif unix then
      ok, err = sock:connect(host)
    else
      ok, err = sock:connect(host, port)
    end
  elseif unix then
    ok, err = sock:connect(host)
  else
    ok, err = sock:connect(host, port)
  end
  if not ok then
    return ok, err
  end

  local fresh = true
  if ssl or db or password then
    local times = sock:getreusedtimes()
    fresh = times == nil or times == 0
  end

  if ssl and fresh then
    ok, err = sock:sslhandshake(false, server_name, ssl_verify)
    if not ok then
      sock:close()
      return nil, "failed to do ssl handshake: " .. tostring(err)
    end
  end

  if tcp_keepalive then
    ok, err = sock:setoption("keepalive", true)
    if not ok then
      sock:close()
      return nil, "failed to enable tcp keepalive: " .. tostring(err)
    end
  end

  if fresh and password then
    local res
    if username then
      res, err = do_cmd(self, "auth", username, password)
    else
      res, err = do_cmd(self, "auth", password)
    end
    if not res then
      sock:close()
      return nil, "failed to authenticate: " .. tostring(err)
    end
  end

  if fresh and db then
    local res
    res, err = do_cmd(self, "select", db)
    if not res then
      sock:close()
      return nil, "failed to select database " .. tostring(db) .. ": " .. tostring(err)
    end
  end

  return 1
end

function _M.close(self)
  local sock = self._sock
  if not sock then
    return nil, "not initialized"
  end
  self._subscribed = false
  self._in_tx = false
  update_slow(self)
  return sock:close()
end

function _M.hmset(self, hashname, ...)
  if select("#", ...) == 1 then
    local t = ...
    if type(t) == "table" then
      local n = 0
      for _ in pairs(t) do
        n = n + 1
      end
      local array = new_tab(n * 2, 0)
      local i = 0
      for k, v in pairs(t) do
        array[i + 1] = k
        array[i + 2] = v
        i = i + 2
      end
      return do_cmd(self, "hmset", hashname, unpack(array, 1, i))
    end
  end
  return do_cmd(self, "hmset", hashname, ...)
end

function _M.hmget(self, hashname, ...)
  if select("#", ...) == 1 then
    local t = ...
    if type(t) == "table" then
      return do_cmd(self, "hmget", hashname, unpack(t, 1, #t))
    end
  end
  return do_cmd(self, "hmget", hashname, ...)
end

function _M.init_pipeline(self, n)
  self._reqs = new_tab(n or 4, 0)
  self._nreqs = 0
  self._slow = true
end

function _M.cancel_pipeline(self)
  self._reqs = false
  self._nreqs = 0
  update_slow(self)
end

function _M.commit_pipeline(self)
  local reqs = self._reqs
  if not reqs then
    return nil, "no pipeline"
  end
  local nreqs = self._nreqs
  self._reqs = false
  self._nreqs = 0
  update_slow(self)

  local sock = self._sock
  if not sock then
    return nil, "not initialized"
  end
  if nreqs == 0 then
    return {}
  end

  local bytes, err = sock:send(reqs)
  if not bytes then
    return nil, err
  end

  local vals = new_tab(nreqs, 0)
  for i = 1, nreqs do
    local res, err = read_reply(self, sock)
    if res then
      vals[i] = res
    elseif res == nil then
      if err == "timeout" then
        sock:close()
      end
      return nil, err
    else
      vals[i] = { false, err }
    end
  end
  return vals
end

function _M.array_to_hash(self, t)
  local n = #t
  local h = new_tab(0, n / 2)
  for i = 1, n, 2 do
    h[t[i]] = t[i + 1]
  end
  return h
end

function _M.register_module_prefix(mod)
  _M[mod] = function(self)
    self._module_prefix = mod
    self._slow = true
    return self
  end
end

-- any other command: a method generated on first use and kept in the class; it runs natively
-- (do_cmd's common path: send and read the reply) and calls do_cmd for the other states
local function add_command(cmd)
  local method = native.command(cmd, do_cmd)
  _M[cmd] = method
  return method
end

function _M.add_commands(...)
  for i = 1, select("#", ...) do
    local cmd = select(i, ...)
    if type(cmd) == "string" then
      add_command(cmd)
    end
  end
end

-- new, connect without options, set_timeout(s), set_keepalive and get_reused_times only checked
-- the object's state and passed on to its cosocket: they run natively (src/ngx/resty-redis.ts)
for name, f in pairs(native.methods(mt, connect)) do
  _M[name] = f
end

setmetatable(_M, {
  __index = function(_, cmd)
    -- "_..." names are object fields, never commands
    if type(cmd) ~= "string" or byte(cmd, 1) == 95 then
      return nil
    end
    return add_command(cmd)
  end,
})

return _M
