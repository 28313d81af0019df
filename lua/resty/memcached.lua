-- resty.memcached (lua-resty-memcached API): memcached text protocol over ngx.socket.tcp.
--
--   local memc = require("resty.memcached"):new({ key_transform = { escape, unescape } })
--   memc:set_timeout(1000); memc:connect("127.0.0.1", 11211)
--   memc:set("k", "v", exptime?, flags?)     -> 1 | nil, err ("NOT_STORED"...)
--   local v, flags, err = memc:get("k")      -- nil, nil, nil when missing
--   local results = memc:get({ "a", "b" })   -- { a = { value, flags }, ... }
--   gets/cas, add/replace/append/prepend, delete, incr/decr, touch, flush_all, stats, version,
--   verbosity, quit, set_keepalive, get_reused_times, close
-- Keys go through ngx.escape_uri / ngx.unescape_uri unless another key_transform is given.
local ngx = ngx
local tcp = ngx.socket and ngx.socket.tcp -- nil only in VMs without cosockets
local escape_uri, unescape_uri = ngx.escape_uri, ngx.unescape_uri
local sub, match = string.sub, string.match
local concat = table.concat
local type, tostring, tonumber, setmetatable = type, tostring, tonumber, setmetatable

local _M = { _VERSION = "0.17" }
local mt = { __index = _M }

function _M.new(_, opts)
  local sock, err = tcp()
  if not sock then
    return nil, err
  end
  local escape_key, unescape_key = escape_uri, unescape_uri
  if opts then
    local kt = opts.key_transform
    if kt then
      escape_key = kt[1]
      unescape_key = kt[2]
      if not escape_key or not unescape_key then
        return nil, "expecting key_transform = { escape, unescape } table"
      end
    end
  end
  return setmetatable({ sock = sock, escape_key = escape_key, unescape_key = unescape_key }, mt)
end

function _M.set_timeout(self, timeout)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  sock:settimeout(timeout)
  return 1
end

function _M.set_timeouts(self, connect_timeout, send_timeout, read_timeout)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  sock:settimeouts(connect_timeout, send_timeout, read_timeout)
  return 1
end

function _M.connect(self, ...)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  return sock:connect(...)
end

function _M.set_keepalive(self, ...)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  return sock:setkeepalive(...)
end

function _M.get_reused_times(self)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  return sock:getreusedtimes()
end

function _M.close(self)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  return sock:close()
end

-- a read failure on a timeout leaves the stream out of sync: close it
local function fail(sock, err)
  if err == "timeout" then
    sock:close()
  end
  return nil, err
end

-- reads "VALUE key flags bytes [cas]" blocks until "END"; returns a list of
-- { key, data, flags, cas } or nil, err
local function read_values(self, sock, want_cas)
  local out = {}
  local n = 0
  while true do
    local line, err = sock:receive()
    if not line then
      return fail(sock, err)
    end
    if line == "END" then
      return out
    end
    local key, flags, len, cas
    if want_cas then
      key, flags, len, cas = match(line, "^VALUE (%S+) (%d+) (%d+) (%d+)$")
    else
      key, flags, len = match(line, "^VALUE (%S+) (%d+) (%d+)")
    end
    if not key then
      return nil, line
    end
    local data
    data, err = sock:receive(tonumber(len) + 2)
    if not data then
      return fail(sock, err)
    end
    n = n + 1
    out[n] = { key, sub(data, 1, -3), flags, cas }
  end
end

local function get_impl(self, keys, want_cas)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  local escape_key = self.escape_key
  local cmd = want_cas and "gets" or "get"
  if type(keys) == "table" then
    local nkeys = #keys
    if nkeys == 0 then
      return {}, nil
    end
    local req = { cmd }
    for i = 1, nkeys do
      req[#req + 1] = " "
      req[#req + 1] = escape_key(keys[i])
    end
    req[#req + 1] = "\r\n"
    local bytes, err = sock:send(req)
    if not bytes then
      return nil, err
    end
    local vals
    vals, err = read_values(self, sock, want_cas)
    if not vals then
      return nil, err
    end
    local unescape_key = self.unescape_key
    local results = {}
    for i = 1, #vals do
      local v = vals[i]
      if want_cas then
        results[unescape_key(v[1])] = { v[2], v[3], v[4] }
      else
        results[unescape_key(v[1])] = { v[2], v[3] }
      end
    end
    return results, nil
  end

  local bytes, err = sock:send({ cmd, " ", escape_key(keys), "\r\n" })
  if not bytes then
    return nil, nil, err
  end
  local vals
  vals, err = read_values(self, sock, want_cas)
  if not vals then
    if want_cas then
      return nil, nil, nil, err
    end
    return nil, nil, err
  end
  local v = vals[1]
  if not v then
    if want_cas then
      return nil, nil, nil, nil
    end
    return nil, nil, nil
  end
  if want_cas then
    return v[2], v[3], v[4], nil
  end
  return v[2], v[3], nil
end

function _M.get(self, key)
  return get_impl(self, key, false)
end

function _M.gets(self, key)
  return get_impl(self, key, true)
end

local function value_bytes(value)
  if type(value) == "table" then
    return concat(value)
  end
  return tostring(value)
end

local function store(self, cmd, key, value, exptime, flags, cas)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  local data = value_bytes(value)
  local req = {
    cmd, " ", self.escape_key(key), " ", tostring(flags or 0), " ", tostring(exptime or 0), " ", tostring(#data),
  }
  if cas then
    req[#req + 1] = " "
    req[#req + 1] = tostring(cas)
  end
  req[#req + 1] = "\r\n"
  req[#req + 1] = data
  req[#req + 1] = "\r\n"
  local bytes, err = sock:send(req)
  if not bytes then
    return nil, err
  end
  local line
  line, err = sock:receive()
  if not line then
    return fail(sock, err)
  end
  if line == "STORED" then
    return 1
  end
  return nil, line
end

function _M.set(self, key, value, exptime, flags)
  return store(self, "set", key, value, exptime, flags)
end
function _M.add(self, key, value, exptime, flags)
  return store(self, "add", key, value, exptime, flags)
end
function _M.replace(self, key, value, exptime, flags)
  return store(self, "replace", key, value, exptime, flags)
end
function _M.append(self, key, value, exptime, flags)
  return store(self, "append", key, value, exptime, flags)
end
function _M.prepend(self, key, value, exptime, flags)
  return store(self, "prepend", key, value, exptime, flags)
end
function _M.cas(self, key, value, cas_unique, exptime, flags)
  return store(self, "cas", key, value, exptime, flags, cas_unique)
end

-- a one-line command whose success reply is `ok`
local function simple(self, req, ok)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  local bytes, err = sock:send(req)
  if not bytes then
    return nil, err
  end
  local line
  line, err = sock:receive()
  if not line then
    return fail(sock, err)
  end
  if line == ok then
    return 1
  end
  return nil, line
end

function _M.delete(self, key)
  return simple(self, { "delete ", self.escape_key(key), "\r\n" }, "DELETED")
end

function _M.touch(self, key, exptime)
  return simple(self, { "touch ", self.escape_key(key), " ", tostring(exptime), "\r\n" }, "TOUCHED")
end

function _M.flush_all(self, time)
  if time then
    return simple(self, { "flush_all ", tostring(time), "\r\n" }, "OK")
  end
  return simple(self, "flush_all\r\n", "OK")
end

function _M.verbosity(self, level)
  return simple(self, { "verbosity ", tostring(level), "\r\n" }, "OK")
end

local function incr_decr(self, cmd, key, delta)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  local bytes, err = sock:send({ cmd, " ", self.escape_key(key), " ", tostring(delta), "\r\n" })
  if not bytes then
    return nil, err
  end
  local line
  line, err = sock:receive()
  if not line then
    return fail(sock, err)
  end
  if not match(line, "^%d+$") then
    return nil, line
  end
  return line
end

function _M.incr(self, key, delta)
  return incr_decr(self, "incr", key, delta)
end

function _M.decr(self, key, delta)
  return incr_decr(self, "decr", key, delta)
end

function _M.stats(self, args)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  local req = args and { "stats ", args, "\r\n" } or "stats\r\n"
  local bytes, err = sock:send(req)
  if not bytes then
    return nil, err
  end
  local lines = {}
  while true do
    local line
    line, err = sock:receive()
    if not line then
      return fail(sock, err)
    end
    if line == "END" then
      return lines, nil
    end
    if not match(line, "^STAT ") then
      return nil, line
    end
    lines[#lines + 1] = sub(line, 6)
  end
end

function _M.version(self)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  local bytes, err = sock:send("version\r\n")
  if not bytes then
    return nil, err
  end
  local line
  line, err = sock:receive()
  if not line then
    return fail(sock, err)
  end
  local ver = match(line, "^VERSION (.+)$")
  if not ver then
    return nil, line
  end
  return ver
end

function _M.quit(self)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  local bytes, err = sock:send("quit\r\n")
  if not bytes then
    return nil, err
  end
  return 1
end

return _M
