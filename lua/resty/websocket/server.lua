-- resty.websocket.server (lua-resty-websocket API): accept a WebSocket upgrade in a content
-- handler and exchange frames over the raw request socket.
--
--   local wb, err = require("resty.websocket.server"):new({ timeout = 5000, max_payload_len = 65535 })
--   local data, typ, err = wb:recv_frame()
--   wb:send_text("hi"); wb:send_binary(b); wb:send_ping(); wb:send_pong(); wb:send_close(1000, "bye")
local protocol = require "resty.websocket.protocol"

local ngx = ngx
local lower = string.lower
local type = type

local _M = { _VERSION = "0.12" }
-- set_timeout, recv_frame, send_frame, send_text/binary/ping/pong/close (servers want masked frames)
local new_object = protocol.add_endpoint_methods(_M, false)

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

  return new_object(sock, opts)
end

return _M
