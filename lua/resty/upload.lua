-- resty.upload (lua-resty-upload API): streaming reader of a multipart/form-data request body
-- over ngx.req.socket(), so uploads never sit whole in memory.
--
--   local form, err = require("resty.upload"):new(4096, 512, preserve_body?)  -- chunk size, max
--                                  header line, keep the raw body for ngx.req.get_body_data()
--   form:set_timeout(1000)
--   while true do
--     local typ, res, err = form:read()
--     -- "header" res = { name, value, "name: value" } | "body" res = data | "part_end" | "eof"
--     if not typ then ... err ... end
--     if typ == "eof" then break end
--   end
local ngx = ngx
local req_socket = ngx.req.socket
local init_body, append_body, finish_body = ngx.req.init_body, ngx.req.append_body, ngx.req.finish_body
local match, sub = string.match, string.sub
local type, setmetatable, tostring = type, setmetatable, tostring

local _M = { _VERSION = "0.11" }
local mt = { __index = _M }

local CHUNK_SIZE = 4096
local MAX_LINE_SIZE = 512

local STATE_BEGIN = 1
local STATE_READING_HEADER = 2
local STATE_READING_BODY = 3
local STATE_EOF = 4

local function get_boundary()
  local header = ngx.var.content_type
  if not header then
    return nil
  end
  if type(header) == "table" then
    header = header[1]
  end
  local m = match(header, ";%s*[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]%s*=%s*\"([^\"]+)\"")
  if m then
    return m
  end
  return match(header, ";%s*[Bb][Oo][Uu][Nn][Dd][Aa][Rr][Yy]%s*=%s*([^\",;%s]+)")
end

function _M.new(self, chunk_size, max_line_size, preserve_body)
  local boundary = get_boundary()
  if not boundary then
    return nil, "no boundary defined in Content-Type"
  end
  local sock, err = req_socket()
  if not sock then
    return nil, err
  end
  local read2boundary
  read2boundary, err = sock:receiveuntil("--" .. boundary)
  if not read2boundary then
    return nil, err
  end
  local read_body_part
  read_body_part, err = sock:receiveuntil("\r\n--" .. boundary)
  if not read_body_part then
    return nil, err
  end
  local read_line
  read_line, err = sock:receiveuntil("\r\n")
  if not read_line then
    return nil, err
  end
  if preserve_body then
    init_body()
  end
  return setmetatable({
    sock = sock,
    size = chunk_size or CHUNK_SIZE,
    line_size = max_line_size or MAX_LINE_SIZE,
    read2boundary = read2boundary,
    read_body_part = read_body_part,
    read_line = read_line,
    boundary = boundary,
    state = STATE_BEGIN,
    preserve_body = preserve_body,
  }, mt)
end

function _M.set_timeout(self, timeout)
  local sock = self.sock
  if not sock then
    return nil, "not initialized"
  end
  return sock:settimeout(timeout)
end

-- one line (up to CRLF) of at most line_size bytes. The sized receiveuntil iterator hands out
-- pieces and then nil once the delimiter is consumed.
local function read_line(self)
  local limit = self.line_size
  local reader = self.read_line
  local line = ""
  while true do
    local piece, err, partial = reader(limit)
    if piece == nil then
      if err == "closed" and partial then
        -- the body ended without a final CRLF (after the closing boundary)
        return line .. partial
      end
      if err then
        return nil, err
      end
      return line
    end
    line = line .. piece
    if #line > limit then
      return nil, "line too long: " .. sub(line, 1, limit) .. "..."
    end
  end
end

-- preserve_body: hand the raw bytes consumed back to ngx.req.*_body so the body stays
-- available (ngx.req.get_body_data) after the form was read
local function keep(self, s)
  if self.preserve_body then
    append_body(s)
  end
end

local function finish(self)
  self.state = STATE_EOF
  if self.preserve_body then
    finish_body()
  end
end

function _M.read(self)
  local state = self.state

  if state == STATE_READING_BODY then
    local reader = self.read_body_part
    while true do
      local data, err = reader(self.size)
      if data == nil then
        if err then
          return nil, nil, "failed to read body part: " .. tostring(err)
        end
        -- the boundary was found: is it the last one?
        local rest, rerr = read_line(self)
        if not rest then
          return nil, nil, "failed to read boundary: " .. tostring(rerr)
        end
        keep(self, "\r\n--" .. self.boundary .. rest .. "\r\n")
        if sub(rest, 1, 2) == "--" then
          finish(self)
        else
          self.state = STATE_READING_HEADER
        end
        return "part_end"
      end
      if data ~= "" then
        keep(self, data)
        return "body", data
      end
    end
  end

  if state == STATE_READING_HEADER then
    local line, err = read_line(self)
    if not line then
      return nil, nil, "failed to read header: " .. tostring(err)
    end
    keep(self, line .. "\r\n")
    if line == "" then
      self.state = STATE_READING_BODY
      return _M.read(self)
    end
    local key, value = match(line, "([^: \t]+)%s*:%s*(.+)")
    if not key then
      return "header", line
    end
    return "header", { key, value, line }
  end

  if state == STATE_BEGIN then
    -- skip the preamble up to the first boundary
    local reader = self.read2boundary
    while true do
      local data, err = reader(self.size)
      if data == nil then
        if err then
          return nil, nil, "failed to read the first boundary: " .. tostring(err)
        end
        break
      end
      keep(self, data)
    end
    local rest, rerr = read_line(self)
    if not rest then
      return nil, nil, "failed to read boundary: " .. tostring(rerr)
    end
    keep(self, "--" .. self.boundary .. rest .. "\r\n")
    if sub(rest, 1, 2) == "--" then
      finish(self)
      return "eof"
    end
    self.state = STATE_READING_HEADER
    return _M.read(self)
  end

  return "eof"
end

return _M
