-- resty.websocket.server (lua-resty-websocket API): accept a WebSocket upgrade in a content
-- handler and exchange frames over the raw request socket.
--
--   local wb, err = require("resty.websocket.server"):new({ timeout = 5000, max_payload_len = 65535 })
--   local data, typ, err = wb:recv_frame()
--   wb:send_text("hi"); wb:send_binary(b); wb:send_ping(); wb:send_pong(); wb:send_close(1000, "bye")
local protocol = require "resty.websocket.protocol"
local recv_frame, send_frame, close_payload = protocol.recv_frame, protocol.send_frame, protocol.close_payload

local ngx = ngx
local lower, find = string.lower, string.find
local type, setmetatable = type, setmetatable

local _M = { _VERSION = "0.12" }
local mt = { __index = _M }

local GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

local function first(v)
  if type(v) == "table" then
    return v[1]
  end
  return v
end

-- whether a Connection header value lists the "upgrade" token
local function has_upgrade_token(v)
  v = lower(v)
  for token in v:gmatch("[^,]+") do
    if token:match("^%s*(.-)%s*$") == "upgrade" then
      return true
    end
  end
  return false
end

function _M.new(self, opts)
  if ngx.headers_sent then
    return nil, "response header already sent"
  end
  ngx.req.read_body()

  if ngx.req.http_version() ~= 1.1 then
    return nil, "bad http version"
  end
  local headers = ngx.req.get_headers()

  local val = first(headers.upgrade)
  if not val then
    return nil, "bad \"upgrade\" request header: nil"
  end
  if lower(val) ~= "websocket" then
    return nil, "bad \"upgrade\" request header: " .. val
  end

  val = first(headers.connection)
  if not val or not has_upgrade_token(val) then
    return nil, "bad \"connection\" request header"
  end

  local key = headers["sec-websocket-key"]
  if type(key) ~= "string" then
    return nil, "bad \"sec-websocket-key\" request header"
  end

  local ver = first(headers["sec-websocket-version"])
  if ver ~= "13" then
    return nil, "bad \"sec-websocket-version\" request header"
  end

  local protocols = first(headers["sec-websocket-protocol"])
  if protocols then
    ngx.header["Sec-WebSocket-Protocol"] = protocols
  end
  ngx.header["Upgrade"] = "websocket"
  ngx.header["Sec-WebSocket-Accept"] = ngx.encode_base64(ngx.sha1_bin(key .. GUID))
  ngx.header["Content-Type"] = nil
  ngx.status = 101

  local ok, err = ngx.send_headers()
  if not ok then
    return nil, "failed to send response header: " .. (err or "unknown")
  end
  ok, err = ngx.flush(true)
  if not ok then
    return nil, "failed to flush response header: " .. (err or "unknown")
  end

  local sock
  sock, err = ngx.req.socket(true)
  if not sock then
    return nil, err
  end

  local max_payload_len, send_masked, timeout
  if opts then
    max_payload_len = opts.max_payload_len
    send_masked = opts.send_masked
    timeout = opts.timeout
    if timeout then
      sock:settimeout(timeout)
    end
  end

  return setmetatable({
    sock = sock,
    max_payload_len = max_payload_len or 65535,
    send_masked = send_masked and true or false,
    closed = false,
    fatal = false,
  }, mt)
end

function _M.set_timeout(self, time)
  local sock = self.sock
  if not sock then
    return nil, "not initialized yet"
  end
  return sock:settimeout(time)
end

function _M.recv_frame(self)
  if self.fatal then
    return nil, nil, "fatal error already happened"
  end
  local sock = self.sock
  if not sock then
    return nil, nil, "not initialized yet"
  end
  local data, typ, err = recv_frame(sock, self.max_payload_len, true)
  if not data and not find(err, ": timeout", 1, true) then
    self.fatal = true
  end
  return data, typ, err
end

local function send(self, fin, opcode, payload)
  if self.fatal then
    return nil, "fatal error already happened"
  end
  if self.closed then
    return nil, "already closed"
  end
  local sock = self.sock
  if not sock then
    return nil, "not initialized yet"
  end
  local bytes, err = send_frame(sock, fin, opcode, payload, self.max_payload_len, self.send_masked)
  if not bytes then
    self.fatal = true
    return nil, err
  end
  return bytes
end

_M.send_frame = send

function _M.send_text(self, data)
  return send(self, true, 0x1, data)
end

function _M.send_binary(self, data)
  return send(self, true, 0x2, data)
end

function _M.send_close(self, code, msg)
  local bytes, err = send(self, true, 0x8, close_payload(code, msg))
  self.closed = true
  if not bytes then
    return nil, err
  end
  return bytes
end

function _M.send_ping(self, data)
  return send(self, true, 0x9, data)
end

function _M.send_pong(self, data)
  return send(self, true, 0xa, data)
end

return _M
