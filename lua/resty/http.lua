-- resty.http (lua-resty-http 0.17 API): an HTTP/1.x client over ngx.socket.tcp.
--
--   local httpc = require("resty.http").new()
--   local res, err = httpc:request_uri("http://127.0.0.1:8080/x", { method = "POST", body = "a=1" })
--   -- res.status, res.headers (case-insensitive), res.body
--
--   httpc:connect({ scheme = "http", host = "127.0.0.1", port = 8080 })   -- or (host, port, opts)
--   local res = httpc:request({ path = "/x", query = { a = 1 }, headers = {...}, body = ... })
--   repeat local chunk, err = res.body_reader(8192) ... until not chunk
--   httpc:set_keepalive()     -- pools the connection when the response allows it, else closes
--
-- Bodies: request bodies may be a string, an array of strings or an iterator function (sent
-- chunked unless a Content-Length is given); responses are read by Content-Length, chunked
-- encoding (trailers kept for res:read_trailers()) or until the server closes.
local http_headers = require "resty.http_headers"

local ngx = ngx
local tcp = ngx.socket and ngx.socket.tcp -- nil only in VMs without cosockets
local ngx_log, ngx_DEBUG, ngx_ERR = ngx.log, ngx.DEBUG, ngx.ERR
local encode_args = ngx.encode_args
local encode_base64 = ngx.encode_base64

local sub, find, lower, upper, byte, format, gsub =
  string.sub, string.find, string.lower, string.upper, string.byte, string.format, string.gsub
local concat = table.concat
local type, pairs, ipairs, tonumber, tostring, setmetatable, rawget, rawset, pcall =
  type, pairs, ipairs, tonumber, tostring, setmetatable, rawget, rawset, pcall

local _M = { _VERSION = "0.17.2" }
_M._USER_AGENT = "lua-resty-http/" .. _M._VERSION .. " (Lua) ngx_lua/" .. tostring(ngx.config and ngx.config.ngx_lua_version or 0)

local mt = { __index = _M }

local HOP_BY_HOP_HEADERS = {
  ["connection"] = true,
  ["keep-alive"] = true,
  ["proxy-authenticate"] = true,
  ["proxy-authorization"] = true,
  ["te"] = true,
  ["trailers"] = true,
  ["transfer-encoding"] = true,
  ["upgrade"] = true,
  ["content-length"] = true,
}

local EXPECTING_BODY = { POST = true, PUT = true, PATCH = true }

local DEFAULT_CHUNK = 65536

function _M.new(_)
  local sock, err = tcp()
  if not sock then
    return nil, err
  end
  return setmetatable({ sock = sock, keepalive = true }, mt)
end

function _M.set_timeout(self, timeout)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  return sock:settimeout(timeout)
end

function _M.set_timeouts(self, connect_timeout, send_timeout, read_timeout)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  return sock:settimeouts(connect_timeout, send_timeout, read_timeout)
end

function _M.set_proxy_options(self, opts)
  self.proxy_opts = opts
end

function _M.ssl_handshake(self, ...)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  self.ssl = true
  return sock:sslhandshake(...)
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

function _M.set_keepalive(self, ...)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  if self.keepalive == true then
    return sock:setkeepalive(...)
  end
  -- the response said the connection must not be reused
  local ok, err = sock:close()
  if ok then
    return 2, "connection must be closed"
  end
  return ok, err
end

-- URIs ------------------------------------------------------------------------------------------

--- { scheme, host, port, path, query } from "http[s]://[user@]host[:port][/path][?query]";
--- the query stays in the path unless query_in_path is false.
function _M.parse_uri(_, uri, query_in_path)
  if query_in_path == nil then
    query_in_path = true
  end
  if type(uri) ~= "string" then
    return nil, "bad uri: " .. tostring(uri)
  end
  local scheme
  local rest
  local s, e = find(uri, "^[%a][%w+.-]*://")
  if s then
    scheme = lower(sub(uri, 1, e - 3))
    rest = sub(uri, e + 1)
  elseif sub(uri, 1, 2) == "//" then
    rest = sub(uri, 3)
  else
    return nil, "bad uri: " .. uri
  end
  if scheme ~= nil and scheme ~= "http" and scheme ~= "https" then
    return nil, "bad uri: " .. uri
  end

  -- authority ends at the first "/", "?" or "#"
  local stop = find(rest, "[/?#]")
  local authority = stop and sub(rest, 1, stop - 1) or rest
  local tail = stop and sub(rest, stop) or ""

  local userinfo
  local at = find(authority, "@", 1, true)
  if at then
    userinfo = sub(authority, 1, at - 1)
    authority = sub(authority, at + 1)
  end

  local host, port
  if byte(authority, 1) == 91 then -- "[" IPv6 literal
    local close = find(authority, "]", 1, true)
    if not close then
      return nil, "bad uri: " .. uri
    end
    host = sub(authority, 2, close - 1)
    local p = sub(authority, close + 1)
    if p ~= "" then
      if byte(p, 1) ~= 58 then
        return nil, "bad uri: " .. uri
      end
      port = p
    end
  else
    local colon = find(authority, ":", 1, true)
    if colon then
      host = sub(authority, 1, colon - 1)
      port = sub(authority, colon)
    else
      host = authority
    end
  end
  if host == "" then
    return nil, "bad uri: " .. uri
  end
  if port then
    port = tonumber(sub(port, 2))
    if not port then
      return nil, "bad uri: " .. uri
    end
  elseif scheme == "https" then
    port = 443
  else
    port = 80
  end
  scheme = scheme or "http"

  local hash = find(tail, "#", 1, true)
  if hash then
    tail = sub(tail, 1, hash - 1)
  end
  local path, query = tail, ""
  local q = find(tail, "?", 1, true)
  if q then
    path = sub(tail, 1, q - 1)
    query = sub(tail, q + 1)
  end
  if path == "" then
    path = "/"
  end
  if query_in_path and query ~= "" then
    path = path .. "?" .. query
    query = ""
  end
  return { scheme, host, port, path, query, userinfo = userinfo }
end

-- connecting --------------------------------------------------------------------------------------

local function no_proxy_match(no_proxy, host)
  if not no_proxy then
    return false
  end
  if no_proxy == "*" then
    return true
  end
  host = lower(host)
  for entry in string.gmatch(no_proxy, "[^,%s]+") do
    entry = lower(entry)
    if sub(entry, 1, 1) == "." then
      entry = sub(entry, 2)
    end
    if host == entry or (#host > #entry and sub(host, -#entry - 1) == "." .. entry) then
      return true
    end
  end
  return false
end

-- the deprecated (host, port, opts) / ("unix:/path", opts) forms
local function tcp_only_connect(self, host, port, opts)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  self.host = host
  self.keepalive = true
  self.ssl = false
  self.http_proxy = false
  if type(host) == "string" and sub(host, 1, 5) == "unix:" then
    self.unix = true
    self.port = nil
    if type(port) == "table" then
      return sock:connect(host, port)
    end
    return sock:connect(host)
  end
  self.unix = false
  self.port = port
  if opts ~= nil then
    return sock:connect(host, port, opts)
  end
  return sock:connect(host, port)
end

function _M.connect_proxy(self, proxy_uri, scheme, host, port, proxy_authorization)
  local parsed, err = self:parse_uri(proxy_uri, false)
  if not parsed then
    return nil, err
  end
  local proxy_host, proxy_port = parsed[2], parsed[3]
  local sock = self.sock
  local ok
  ok, err = sock:connect(proxy_host, proxy_port)
  if not ok then
    return nil, err
  end
  if scheme == "https" then
    local target = host .. ":" .. tostring(port)
    local req = {
      "CONNECT ", target, " HTTP/1.1\r\nHost: ", target, "\r\n",
    }
    if proxy_authorization then
      req[#req + 1] = "Proxy-Authorization: " .. proxy_authorization .. "\r\n"
    end
    req[#req + 1] = "\r\n"
    local bytes
    bytes, err = sock:send(req)
    if not bytes then
      return nil, err
    end
    local line
    line, err = sock:receive("*l")
    if not line then
      return nil, err
    end
    local status = tonumber(sub(line, 10, 12))
    -- skip the proxy's headers
    repeat
      local h
      h, err = sock:receive("*l")
      if not h then
        return nil, err
      end
    until h == ""
    if status ~= 200 then
      return nil, "failed to establish a tunnel through a proxy: " .. tostring(status)
    end
  end
  return 1
end

function _M.connect(self, options, ...)
  if type(options) ~= "table" then
    return tcp_only_connect(self, options, ...)
  end
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end

  local scheme = options.scheme
  local host = options.host
  local port = options.port
  if type(host) ~= "string" or host == "" then
    return nil, "no host specified"
  end
  local unix = sub(host, 1, 5) == "unix:"
  if scheme then
    scheme = lower(scheme)
  end
  if not unix then
    if not port then
      port = scheme == "https" and 443 or 80
    end
    port = tonumber(port)
    if not port then
      return nil, "invalid port"
    end
  end
  local ssl = scheme == "https"
  local ssl_verify = options.ssl_verify
  if ssl_verify == nil then
    ssl_verify = true
  end
  local ssl_server_name = options.ssl_server_name or host

  -- proxy
  local proxy_uri, proxy_auth
  local proxy_opts = options.proxy_opts or self.proxy_opts
  if proxy_opts and not unix and not no_proxy_match(proxy_opts.no_proxy, host) then
    if ssl then
      proxy_uri = proxy_opts.https_proxy
      proxy_auth = proxy_opts.https_proxy_authorization
    else
      proxy_uri = proxy_opts.http_proxy
      proxy_auth = proxy_opts.http_proxy_authorization
    end
  end

  local pool = options.pool
  if not pool then
    if unix then
      pool = host
    else
      pool = host .. ":" .. tostring(port)
    end
    if ssl then
      pool = pool .. ":" .. tostring(ssl_server_name) .. ":" .. tostring(ssl_verify)
    end
    if proxy_uri then
      pool = pool .. ":" .. proxy_uri .. ":" .. tostring(proxy_auth)
    end
  end
  local copts = { pool = pool, pool_size = options.pool_size, backlog = options.backlog }

  local ok, err
  if proxy_uri then
    local parsed
    parsed, err = self:parse_uri(proxy_uri, false)
    if not parsed then
      return nil, "failed to parse proxy uri: " .. tostring(err)
    end
    ok, err = sock:connect(parsed[2], parsed[3], copts)
    if not ok then
      return nil, err
    end
    if ssl and sock:getreusedtimes() == 0 then
      local target = host .. ":" .. tostring(port)
      local req = { "CONNECT ", target, " HTTP/1.1\r\nHost: ", target, "\r\n" }
      if proxy_auth then
        req[#req + 1] = "Proxy-Authorization: " .. proxy_auth .. "\r\n"
      end
      req[#req + 1] = "\r\n"
      ok, err = sock:send(req)
      if not ok then
        return nil, err
      end
      local line
      line, err = sock:receive("*l")
      if not line then
        return nil, err
      end
      local status = tonumber(sub(line, 10, 12))
      repeat
        local h
        h, err = sock:receive("*l")
        if not h then
          return nil, err
        end
      until h == ""
      if status ~= 200 then
        sock:close()
        return nil, "failed to establish a tunnel through a proxy: " .. tostring(status)
      end
    end
  elseif unix then
    ok, err = sock:connect(host, copts)
  else
    ok, err = sock:connect(host, port, copts)
  end
  if not ok then
    return nil, err
  end

  self.host = host
  self.port = port
  self.unix = unix
  self.keepalive = true
  self.ssl = ssl
  self.http_proxy = (proxy_uri and not ssl) and true or false
  self.http_proxy_auth = (proxy_uri and not ssl) and proxy_auth or nil

  local session
  if ssl and sock:getreusedtimes() == 0 then
    session, err = sock:sslhandshake(options.ssl_reused_session, ssl_server_name, ssl_verify,
      options.ssl_send_status_req)
    if not session then
      self:close()
      return nil, err
    end
  end
  return true, session
end

-- requests ----------------------------------------------------------------------------------------

local function body_length(body)
  local t = type(body)
  if t == "string" then
    return #body
  elseif t == "table" then
    local n = 0
    for i = 1, #body do
      n = n + #tostring(body[i])
    end
    return n
  end
  return nil
end

local function send_request(self, params)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  local method = params.method or "GET"
  local version = params.version or 1.1
  local body = params.body

  local headers = http_headers.new()
  local given = params.headers
  if given then
    for k, v in pairs(given) do
      headers[k] = v
    end
  end

  if body ~= nil and type(body) ~= "function" then
    if headers["Content-Length"] == nil and headers["Transfer-Encoding"] == nil then
      headers["Content-Length"] = body_length(body)
    end
  elseif body ~= nil then
    if headers["Content-Length"] == nil and headers["Transfer-Encoding"] == nil then
      if version == 1.0 then
        return nil, "cannot stream a request body of unknown length over HTTP/1.0"
      end
      headers["Transfer-Encoding"] = "chunked"
    end
  elseif EXPECTING_BODY[upper(method)] and headers["Content-Length"] == nil then
    headers["Content-Length"] = 0
  end

  if headers["Host"] == nil then
    if self.unix then
      return nil, "Unable to generate a useful Host header for a unix domain socket. Please provide one."
    end
    local host = self.host
    if host and find(host, ":", 1, true) then
      host = "[" .. host .. "]" -- IPv6 literal
    end
    local port = self.port
    if port and ((self.ssl and port ~= 443) or (not self.ssl and port ~= 80)) then
      host = host .. ":" .. tostring(port)
    end
    headers["Host"] = host
  end
  if headers["User-Agent"] == nil then
    headers["User-Agent"] = _M._USER_AGENT
  end
  if version == 1.0 and headers["Connection"] == nil then
    headers["Connection"] = "Keep-Alive"
  end
  if self.http_proxy and self.http_proxy_auth and headers["Proxy-Authorization"] == nil then
    headers["Proxy-Authorization"] = self.http_proxy_auth
  end

  local path = params.path or "/"
  local query = params.query or ""
  if type(query) == "table" then
    query = encode_args(query)
  end
  if query ~= "" then
    if byte(query, 1) == 63 then -- "?"
      query = sub(query, 2)
    end
    path = path .. "?" .. query
  end
  if self.http_proxy then
    local prefix = "http://" .. headers["Host"]
    path = prefix .. path
  end

  local req = { method, " ", path, " HTTP/", format("%.1f", version), "\r\n" }
  local n = #req
  for k, v in pairs(headers) do
    if type(v) == "table" then
      for i = 1, #v do
        req[n + 1] = k
        req[n + 2] = ": "
        req[n + 3] = tostring(v[i])
        req[n + 4] = "\r\n"
        n = n + 4
      end
    else
      req[n + 1] = k
      req[n + 2] = ": "
      req[n + 3] = tostring(v)
      req[n + 4] = "\r\n"
      n = n + 4
    end
  end
  req[n + 1] = "\r\n"
  n = n + 1

  local expect = headers["Expect"]
  local expect_continue = expect and lower(tostring(expect)) == "100-continue"

  -- a string or table body goes out with the head in one send
  local btype = type(body)
  if not expect_continue and btype == "string" then
    req[n + 1] = body
  elseif not expect_continue and btype == "table" then
    for i = 1, #body do
      req[n + i] = body[i]
    end
  end

  ngx_log(ngx_DEBUG, "\n", concat(req, "", 1, n))

  local bytes, err = sock:send(req)
  if not bytes then
    return nil, err
  end
  self.keepalive = true
  if headers["Connection"] and find(lower(tostring(headers["Connection"])), "close", 1, true) then
    self.keepalive = false
  end

  return true, nil, expect_continue and body or nil, btype == "function" and body or nil
end

local function send_body(sock, body, chunked)
  local t = type(body)
  if t == "function" then
    repeat
      local chunk, err = body()
      if err then
        return nil, err
      end
      if chunk then
        local bytes
        if chunked then
          if #chunk > 0 then
            bytes, err = sock:send({ format("%x", #chunk), "\r\n", chunk, "\r\n" })
          else
            bytes = true
          end
        else
          bytes, err = sock:send(chunk)
        end
        if not bytes then
          return nil, err
        end
      end
    until not chunk
    if chunked then
      local bytes, err = sock:send("0\r\n\r\n")
      if not bytes then
        return nil, err
      end
    end
    return true
  elseif body ~= nil then
    return sock:send(body)
  end
  return true
end

-- responses ---------------------------------------------------------------------------------------

-- strip spaces and tabs at both ends (cheap byte checks first: headers rarely need it)
local function trim(s)
  local first = byte(s, 1)
  if first == 32 or first == 9 then
    s = gsub(s, "^[ \t]+", "")
  end
  local last = byte(s, -1)
  if last == 32 or last == 9 then
    s = gsub(s, "[ \t]+$", "")
  end
  return s
end

local function receive_status(sock)
  local line, err = sock:receive("*l")
  if not line then
    return nil, nil, nil, err
  end
  if sub(line, 1, 5) ~= "HTTP/" then
    return nil, nil, nil, "invalid status line: " .. line
  end
  local version = tonumber(sub(line, 6, 8))
  local status = tonumber(sub(line, 10, 12))
  if not status then
    return nil, nil, nil, "invalid status line: " .. line
  end
  return status, version, sub(line, 14), nil
end

local function receive_headers(sock, headers)
  headers = headers or http_headers.new()
  while true do
    local line, err = sock:receive("*l")
    if not line then
      return nil, err
    end
    if line == "" then
      break
    end
    local colon = find(line, ":", 1, true)
    if colon then
      local key = trim(sub(line, 1, colon - 1))
      local val = trim(sub(line, colon + 1))
      local old = headers[key]
      if old == nil then
        headers[key] = val
      elseif type(old) == "table" then
        old[#old + 1] = val
      else
        headers[key] = { old, val }
      end
    end
  end
  return headers
end

local function no_body_reader()
  return nil
end

local function length_body_reader(sock, length, default_chunk)
  local remaining = length
  return function(max_chunk)
    if remaining <= 0 then
      return nil
    end
    local n = remaining
    max_chunk = max_chunk or default_chunk
    if max_chunk and max_chunk > 0 and max_chunk < n then
      n = max_chunk
    end
    local data, err = sock:receive(n)
    if not data then
      return nil, err
    end
    remaining = remaining - n
    return data
  end
end

local function until_close_body_reader(sock, default_chunk)
  local done = false
  return function(max_chunk)
    if done then
      return nil
    end
    max_chunk = max_chunk or default_chunk
    if max_chunk and max_chunk > 0 then
      local data, err, partial = sock:receive(max_chunk)
      if data then
        return data
      end
      if err == "closed" then
        done = true
        if partial and partial ~= "" then
          return partial
        end
        return nil
      end
      return nil, err
    end
    done = true
    local data, err = sock:receive("*a")
    if not data then
      return nil, err
    end
    return data
  end
end

local function chunked_body_reader(sock, default_chunk, trailers_out)
  local remaining = 0 -- bytes left in the current chunk
  local done = false
  return function(max_chunk)
    if done then
      return nil
    end
    if remaining == 0 then
      local line, err = sock:receive("*l")
      if not line then
        return nil, err
      end
      local semi = find(line, ";", 1, true)
      if semi then
        line = sub(line, 1, semi - 1)
      end
      line = gsub(line, "%s+", "")
      local size = tonumber(line, 16)
      if not size then
        return nil, "unable to read chunksize"
      end
      if size == 0 then
        done = true
        -- trailer fields (if any) end with an empty line
        local _, terr = receive_headers(sock, trailers_out)
        if terr then
          return nil, terr
        end
        return nil
      end
      remaining = size
    end
    local n = remaining
    max_chunk = max_chunk or default_chunk
    if max_chunk and max_chunk > 0 and max_chunk < n then
      n = max_chunk
    end
    local data, err = sock:receive(n)
    if not data then
      return nil, err
    end
    remaining = remaining - n
    if remaining == 0 then
      local crlf
      crlf, err = sock:receive(2)
      if not crlf then
        return nil, err
      end
    end
    return data
  end
end

local function read_body(res)
  local reader = res.body_reader
  if not reader then
    return nil, "no body to be read"
  end
  local chunks = {}
  local c = 0
  while true do
    local chunk, err = reader()
    if err then
      return nil, err, concat(chunks, "", 1, c)
    end
    if not chunk then
      break
    end
    c = c + 1
    chunks[c] = chunk
  end
  return concat(chunks, "", 1, c)
end

local function read_trailers(res)
  local trailers = res.trailers
  if not trailers then
    return
  end
  local headers = res.headers
  for k, v in pairs(trailers) do
    headers[k] = v
  end
end

local function read_response(self, params)
  local sock = self.sock
  local status, version, reason, err

  -- skip informational responses (but not 101 Switching Protocols)
  repeat
    status, version, reason, err = receive_status(sock)
    if not status then
      return nil, err
    end
    if status >= 100 and status < 200 and status ~= 101 then
      local _, herr = receive_headers(sock)
      if herr then
        return nil, "failed to read headers: " .. tostring(herr)
      end
    end
  until status >= 200 or status == 101

  local headers, herr = receive_headers(sock)
  if not headers then
    return nil, herr
  end

  local conn = headers["Connection"]
  if type(conn) == "table" then
    conn = concat(conn, ",")
  end
  conn = conn and lower(conn) or ""
  local keepalive
  if version == 1.1 then
    keepalive = not find(conn, "close", 1, true)
  else
    keepalive = find(conn, "keep-alive", 1, true) ~= nil
  end
  if self.keepalive == false then
    keepalive = false
  end

  local method = params and params.method and upper(params.method) or "GET"
  local has_body = not (method == "HEAD" or status == 204 or status == 304 or status == 101)

  local res = {
    status = status,
    reason = reason,
    headers = headers,
    has_body = has_body,
    read_body = read_body,
    read_trailers = read_trailers,
  }

  if has_body then
    local te = headers["Transfer-Encoding"]
    if type(te) == "table" then
      te = concat(te, ",")
    end
    local cl = headers["Content-Length"]
    if type(cl) == "table" then
      cl = cl[1]
    end
    if version == 1.1 and te and find(lower(te), "chunked", 1, true) then
      local trailers = http_headers.new()
      res.trailers = trailers
      res.body_reader = chunked_body_reader(sock, nil, trailers)
    elseif cl and tonumber(cl) then
      res.body_reader = length_body_reader(sock, tonumber(cl), nil)
    else
      keepalive = false
      res.body_reader = until_close_body_reader(sock, nil)
    end
  else
    res.body_reader = no_body_reader
  end

  self.keepalive = keepalive
  return res
end

-- whether a streamed (function) body goes out chunked: unless the caller set a Content-Length
local function chunked_for(p)
  local h = p.headers
  if not h then
    return true
  end
  local cl, te
  for k, v in pairs(h) do
    local lk = lower(k)
    if lk == "content-length" then
      cl = v
    elseif lk == "transfer-encoding" then
      te = v
    end
  end
  if cl ~= nil then
    return false
  end
  return te == nil or find(lower(tostring(te)), "chunked", 1, true) ~= nil
end

function _M.send_request(self, params)
  local ok, err, continue_body, stream_body = send_request(self, params or {})
  if not ok then
    return nil, err
  end
  if stream_body then
    return send_body(self.sock, stream_body, chunked_for(params))
  end
  return true
end

_M.read_response = read_response

function _M.request(self, params)
  params = params or {}
  local ok, err, continue_body, stream_body = send_request(self, params)
  if not ok then
    return nil, err
  end
  local sock = self.sock

  if continue_body ~= nil then
    -- Expect: 100-continue: wait for the interim response before sending the body
    local status, version, reason, serr = receive_status(sock)
    if not status then
      return nil, serr
    end
    if status == 100 then
      local _, herr = receive_headers(sock)
      if herr then
        return nil, herr
      end
      local sent, berr = send_body(sock, continue_body, type(continue_body) == "function" and chunked_for(params))
      if not sent then
        return nil, berr
      end
      return read_response(self, params)
    end
    -- a final answer without the body: the connection can't be reused (body never sent)
    local headers, herr = receive_headers(sock)
    if not headers then
      return nil, herr
    end
    self.keepalive = false
    local res = {
      status = status, reason = reason, headers = headers,
      has_body = not (status == 204 or status == 304),
      read_body = read_body, read_trailers = read_trailers,
    }
    local cl = headers["Content-Length"]
    if cl and tonumber(cl) then
      res.body_reader = length_body_reader(sock, tonumber(cl), nil)
    elseif res.has_body then
      res.body_reader = until_close_body_reader(sock, nil)
    else
      res.body_reader = no_body_reader
    end
    return res
  end

  if stream_body then
    local sent, berr = send_body(sock, stream_body, chunked_for(params))
    if not sent then
      return nil, berr
    end
  end
  return read_response(self, params)
end

function _M.request_pipeline(self, requests)
  for _, params in ipairs(requests) do
    local h = params.headers
    if h then
      for k, v in pairs(h) do
        if lower(k) == "expect" and lower(tostring(v)) == "100-continue" then
          return nil, "Cannot pipeline request specifying Expect: 100-continue"
        end
      end
    end
    local ok, err = _M.send_request(self, params)
    if not ok then
      return nil, err
    end
  end

  local responses = {}
  for i, params in ipairs(requests) do
    local state = { read = false }
    responses[i] = setmetatable({}, {
      __index = function(t, k)
        if not state.read then
          state.read = true
          local res, err = read_response(self, params)
          if not res then
            ngx_log(ngx_ERR, err)
            return nil
          end
          for key, v in pairs(res) do
            rawset(t, key, v)
          end
        end
        return rawget(t, k)
      end,
    })
  end
  return responses
end

function _M.request_uri(self, uri, params)
  local p = {}
  if params then
    for k, v in pairs(params) do
      p[k] = v
    end
  end
  local parsed, err = self:parse_uri(uri, false)
  if not parsed then
    return nil, err
  end
  local scheme, host, port, path, query = parsed[1], parsed[2], parsed[3], parsed[4], parsed[5]
  p.scheme = p.scheme or scheme
  p.host = p.host or host
  p.port = p.port or port
  p.path = p.path or path
  if p.query == nil then
    p.query = query
  end
  if parsed.userinfo then
    local has_auth = false
    if p.headers then
      for k in pairs(p.headers) do
        if lower(k) == "authorization" then
          has_auth = true
        end
      end
    end
    if not has_auth then
      local h = {}
      if p.headers then
        for k, v in pairs(p.headers) do
          h[k] = v
        end
      end
      h["Authorization"] = "Basic " .. encode_base64(ngx.unescape_uri(parsed.userinfo))
      p.headers = h
    end
  end

  local ok
  ok, err = self:connect(p)
  if not ok then
    return nil, err
  end

  local res
  res, err = self:request(p)
  if not res then
    self:close()
    return nil, err
  end

  local body
  body, err = res:read_body()
  if not body then
    self:close()
    return nil, err
  end
  res.body = body
  res.body_reader = nil

  if p.keepalive == false then
    local ok2, cerr = self:close()
    if not ok2 then
      ngx_log(ngx_ERR, cerr)
    end
  else
    local ok2, kerr = self:set_keepalive(p.keepalive_timeout, p.keepalive_pool)
    if not ok2 then
      ngx_log(ngx_ERR, kerr)
    end
  end
  return res, nil
end

-- downstream helpers ------------------------------------------------------------------------------

function _M.get_client_body_reader(_, chunksize, sock)
  chunksize = chunksize or DEFAULT_CHUNK
  if not sock then
    local ok, s, err = pcall(ngx.req.socket)
    if not ok then
      return nil, s
    end
    if not s then
      if err == "no body" then
        return nil
      end
      return nil, err
    end
    sock = s
  end
  local headers = ngx.req.get_headers()
  local length = headers["Content-Length"]
  local encoding = headers["Transfer-Encoding"]
  if type(length) == "table" then
    length = length[1]
  end
  if length then
    return length_body_reader(sock, tonumber(length), chunksize)
  elseif encoding and find(lower(tostring(encoding)), "chunked", 1, true) then
    -- nginx de-chunks the request body for the request socket
    return until_close_body_reader(sock, chunksize)
  end
  return nil
end

function _M.proxy_request(self, chunksize)
  local var = ngx.var
  local uri = gsub(var.uri, "%s", "%%20")
  return self:request({
    method = ngx.req.get_method(),
    path = uri .. (var.is_args or "") .. (var.query_string or ""),
    body = self:get_client_body_reader(chunksize),
    headers = ngx.req.get_headers(),
  })
end

function _M.proxy_response(_, response, chunksize)
  if not response then
    ngx_log(ngx_ERR, "no response provided")
    return
  end
  ngx.status = response.status
  local out = ngx.header
  for k, v in pairs(response.headers) do
    if not HOP_BY_HOP_HEADERS[lower(k)] then
      out[k] = v
    end
  end
  local reader = response.body_reader
  if not reader then
    return
  end
  repeat
    local chunk, err = reader(chunksize)
    if err then
      ngx_log(ngx_ERR, err)
      break
    end
    if chunk then
      local ok, perr = ngx.print(chunk)
      if not ok then
        ngx_log(ngx_ERR, perr)
        break
      end
    end
  until not chunk
end

return _M
