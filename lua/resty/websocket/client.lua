-- resty.websocket.client (lua-resty-websocket API): a WebSocket client over ngx.socket.tcp.
--
--   local wb = require("resty.websocket.client"):new({ timeout = 5000, max_payload_len = 65535 })
--   local ok, err = wb:connect("ws://127.0.0.1:8080/s", { protocols = "chat", origin = "...",
--                                 headers = { "X-A: 1" }, pool = ..., ssl_verify = false })
--   wb:send_text("hi"); local data, typ, err = wb:recv_frame(); wb:close()
local protocol = require "resty.websocket.protocol"
local send_frame, close_payload = protocol.send_frame, protocol.close_payload

local ngx = ngx
local tcp = ngx.socket and ngx.socket.tcp
local encode_base64, sha1_bin = ngx.encode_base64, ngx.sha1_bin
local rand_bytes = require("resty.random").bytes
local match, lower, find, sub = string.match, string.lower, string.find, string.sub
local concat = table.concat
local type, tonumber, tostring = type, tonumber, tostring

local _M = { _VERSION = "0.12" }
-- set_timeout, recv_frame, send_frame, send_text/binary/ping/pong/close (clients mask)
local new_object = protocol.add_endpoint_methods(_M, true)

local GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

function _M.new(self, opts)
  local sock, err = tcp()
  if not sock then
    return nil, err
  end
  return new_object(sock, opts)
end

function _M.connect(self, uri, opts)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  local scheme, rest = match(uri, "^(wss?)://(.*)$")
  if not scheme then
    return nil, "bad websocket uri"
  end
  local authority, path = match(rest, "^([^/]*)(.*)$")
  if path == "" then
    path = "/"
  end
  local host, port = match(authority, "^%[(.-)%]:?(%d*)$")
  if not host then
    host, port = match(authority, "^([^:]+):?(%d*)$")
  end
  if not host then
    return nil, "bad websocket uri"
  end
  port = tonumber(port) or (scheme == "wss" and 443 or 80)

  local ssl_verify, server_name, headers, proto_header, origin_header, pool, pool_size, backlog
  if opts then
    local protos = opts.protocols
    if protos then
      if type(protos) == "table" then
        protos = concat(protos, ",")
      end
      proto_header = "\r\nSec-WebSocket-Protocol: " .. protos
    end
    if opts.origin then
      origin_header = "\r\nOrigin: " .. opts.origin
    end
    pool, pool_size, backlog = opts.pool, opts.pool_size, opts.backlog
    ssl_verify = opts.ssl_verify
    server_name = opts.server_name
    headers = opts.headers
  end
  pool = pool or (host .. ":" .. tostring(port))

  local ok, err = sock:connect(host, port, { pool = pool, pool_size = pool_size, backlog = backlog })
  if not ok then
    return nil, "failed to connect: " .. err
  end

  if scheme == "wss" and sock:getreusedtimes() == 0 then
    ok, err = sock:sslhandshake(false, server_name or host, ssl_verify)
    if not ok then
      return nil, "ssl handshake failed: " .. err
    end
  end

  -- a pooled connection already went through the handshake
  if sock:getreusedtimes() > 0 then
    return 1
  end

  local key = encode_base64(rand_bytes(16))
  local hostport = (port == 80 or port == 443) and host or (host .. ":" .. port)
  local req = {
    "GET ", path, " HTTP/1.1\r\nUpgrade: websocket\r\nHost: ", hostport,
    "\r\nSec-WebSocket-Key: ", key, proto_header or "",
    "\r\nSec-WebSocket-Version: 13", origin_header or "",
    "\r\nConnection: Upgrade\r\n",
  }
  if headers then
    for i = 1, #headers do
      req[#req + 1] = headers[i]
      req[#req + 1] = "\r\n"
    end
  end
  req[#req + 1] = "\r\n"

  local bytes
  bytes, err = sock:send(req)
  if not bytes then
    return nil, "failed to send the handshake request: " .. err
  end

  local reader = sock:receiveuntil("\r\n\r\n")
  local header
  header, err = reader()
  if not header then
    return nil, "failed to receive response header: " .. err
  end
  if not find(header, "^HTTP/1%.1%s+101") then
    return nil, "bad HTTP response status line: " .. header
  end
  local accept = match(lower(header), "\r\nsec%-websocket%-accept:%s*([^\r\n]-)%s*\r\n")
    or match(lower(header), "\r\nsec%-websocket%-accept:%s*([^\r\n]-)%s*$")
  if accept and accept ~= lower(encode_base64(sha1_bin(key .. GUID))) then
    return nil, "bad \"sec-websocket-accept\" response header"
  end
  return 1
end

function _M.close(self)
  if self.fatal then
    return nil, "fatal error already happened"
  end
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  if not self.closed then
    local bytes = send_frame(sock, true, 0x8, close_payload(1000), self.max_payload_len, not self.send_unmasked)
    if not bytes then
      self.fatal = true
    end
    self.closed = true
  end
  return sock:close()
end

function _M.set_keepalive(self, ...)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  return sock:setkeepalive(...)
end

return _M
