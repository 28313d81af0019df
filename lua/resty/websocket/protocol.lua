-- resty.websocket.protocol (lua-resty-websocket API): RFC 6455 frames over a cosocket.
--   recv_frame(sock, max_payload_len, force_masking) -> data, typ, err
--       typ: "continuation" | "text" | "binary" | "close" | "ping" | "pong"; err "again" for a
--       non-final fragment; a close frame gives reason, "close", status code
--   build_frame(fin, opcode, payload_len, payload, masking) -> frame
--   send_frame(sock, fin, opcode, payload, max_payload_len, masking) -> bytes, err
--   add_endpoint_methods(M, is_client) -> new_object(sock, opts): the wb:set_timeout/recv_frame/
--       send_* methods and the object layout client.lua and server.lua share (clients mask what
--       they send, servers require masked input)
-- Framing and (un)masking run in JS (tsresty.websocket); the Lua side parses the header bytes.
local native = require "tsresty.websocket"
local js_build, js_unmask = native.build_frame, native.unmask

local byte, sub, char, find = string.byte, string.sub, string.char, string.find
local type, tostring, setmetatable = type, tostring, setmetatable

local _M = { _VERSION = "0.12" }

local types = {
  [0x0] = "continuation",
  [0x1] = "text",
  [0x2] = "binary",
  [0x8] = "close",
  [0x9] = "ping",
  [0xa] = "pong",
}

function _M.recv_frame(sock, max_payload_len, force_masking)
  local data, err = sock:receive(2)
  if not data then
    return nil, nil, "failed to receive the first 2 bytes: " .. err
  end
  local fst, snd = byte(data, 1, 2)

  local fin = fst >= 0x80
  if fst % 0x80 >= 0x10 then
    return nil, nil, "bad RSV1, RSV2, or RSV3 bits"
  end
  local opcode = fst % 0x10
  if opcode >= 0x3 and opcode <= 0x7 then
    return nil, nil, "reserved non-control frames"
  end
  if opcode >= 0xb then
    return nil, nil, "reserved control frames"
  end

  local mask = snd >= 0x80
  if force_masking and not mask then
    return nil, nil, "frame unmasked"
  end

  local payload_len = snd % 0x80
  if payload_len == 126 then
    data, err = sock:receive(2)
    if not data then
      return nil, nil, "failed to receive the 2 byte payload length: " .. (err or "unknown")
    end
    local b1, b2 = byte(data, 1, 2)
    payload_len = b1 * 256 + b2
  elseif payload_len == 127 then
    data, err = sock:receive(8)
    if not data then
      return nil, nil, "failed to receive the 8 byte payload length: " .. (err or "unknown")
    end
    local b1, b2, b3, b4, b5, b6, b7, b8 = byte(data, 1, 8)
    if b1 ~= 0 or b2 ~= 0 or b3 ~= 0 or b4 ~= 0 or b5 >= 0x80 then
      return nil, nil, "payload len too large"
    end
    payload_len = ((b5 * 256 + b6) * 256 + b7) * 256 + b8
  end

  if opcode >= 0x8 then
    -- control frame
    if payload_len > 125 then
      return nil, nil, "too long payload for control frame"
    end
    if not fin then
      return nil, nil, "fragmented control frame"
    end
  end

  if payload_len > max_payload_len then
    return nil, nil, "exceeding max payload len"
  end

  local rest = mask and payload_len + 4 or payload_len
  local payload = ""
  if rest > 0 then
    data, err = sock:receive(rest)
    if not data then
      return nil, nil, "failed to read masking-len and payload: " .. (err or "unknown")
    end
    if mask then
      payload = js_unmask(data)
    else
      payload = data
    end
  end

  if opcode == 0x8 then
    if payload_len > 0 then
      if payload_len < 2 then
        return nil, nil, "close frame with a body must carry a 2-byte status code"
      end
      local c1, c2 = byte(payload, 1, 2)
      return sub(payload, 3), "close", c1 * 256 + c2
    end
    return "", "close", nil
  end

  return payload, types[opcode], not fin and "again" or nil
end

function _M.build_frame(fin, opcode, payload_len, payload, masking)
  if payload_len > 0x7fffffff then
    return nil, "payload too big"
  end
  return js_build(fin, opcode, payload, masking)
end

function _M.send_frame(sock, fin, opcode, payload, max_payload_len, masking)
  if not payload then
    payload = ""
  elseif type(payload) ~= "string" then
    payload = tostring(payload)
  end
  local payload_len = #payload
  if payload_len > max_payload_len then
    return nil, "payload too big"
  end
  if opcode >= 0x8 then
    if payload_len > 125 then
      return nil, "too much payload for control frame"
    end
    if not fin then
      return nil, "fragmented control frame"
    end
  end
  local frame, err = _M.build_frame(fin, opcode, payload_len, payload, masking)
  if not frame then
    return nil, "failed to build frame: " .. err
  end
  local bytes
  bytes, err = sock:send(frame)
  if not bytes then
    return nil, "failed to send frame: " .. err
  end
  return bytes
end

--- the payload of a close frame: 2-byte status code and an optional reason
function _M.close_payload(code, msg)
  if not code then
    return ""
  end
  return char(math.floor(code / 256) % 256, code % 256) .. (msg or "")
end

local close_payload = _M.close_payload

--- Puts the frame methods resty.websocket.client and .server share on their module table M:
-- set_timeout, recv_frame, send_frame, send_text, send_binary, send_ping, send_pong, send_close.
-- is_client: a client masks the frames it sends unless opts.send_unmasked and accepts unmasked
-- ones; a server masks only when opts.send_masked and rejects frames that are not masked.
-- Returns new_object(sock, opts): the object (metatable { __index = M }) for a connected socket,
-- with opts.timeout applied and opts.max_payload_len (default 65535) and the masking option kept.
function _M.add_endpoint_methods(M, is_client)
  local force_masking = not is_client
  local mask_opt = is_client and "send_unmasked" or "send_masked"
  local mt = { __index = M }

  local function masking(self)
    if is_client then
      return not self.send_unmasked
    end
    return self.send_masked
  end

  function M.set_timeout(self, time)
    local sock = self.sock
    if not sock then
      return nil, "not initialized yet"
    end
    return sock:settimeout(time)
  end

  function M.recv_frame(self)
    if self.fatal then
      return nil, nil, "fatal error already happened"
    end
    local sock = self.sock
    if not sock then
      return nil, nil, "not initialized yet"
    end
    local data, typ, err = _M.recv_frame(sock, self.max_payload_len, force_masking)
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
    local bytes, err = _M.send_frame(sock, fin, opcode, payload, self.max_payload_len, masking(self))
    if not bytes then
      self.fatal = true
      return nil, err
    end
    return bytes
  end

  M.send_frame = send

  function M.send_text(self, data)
    return send(self, true, 0x1, data)
  end

  function M.send_binary(self, data)
    return send(self, true, 0x2, data)
  end

  function M.send_ping(self, data)
    return send(self, true, 0x9, data)
  end

  function M.send_pong(self, data)
    return send(self, true, 0xa, data)
  end

  function M.send_close(self, code, msg)
    local bytes, err = send(self, true, 0x8, close_payload(code, msg))
    self.closed = true
    if not bytes then
      return nil, err
    end
    return bytes
  end

  return function(sock, opts)
    local max_payload_len, mask_flag
    if opts then
      max_payload_len = opts.max_payload_len
      mask_flag = opts[mask_opt]
      if opts.timeout then
        sock:settimeout(opts.timeout)
      end
    end
    return setmetatable({
      sock = sock,
      max_payload_len = max_payload_len or 65535,
      [mask_opt] = mask_flag and true or false,
      closed = false,
      fatal = false,
    }, mt)
  end
end

return _M
