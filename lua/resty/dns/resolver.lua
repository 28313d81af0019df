-- resty.dns.resolver (lua-resty-dns API): DNS queries over UDP (TCP on truncation or on
-- request) with cosockets; the wire format is handled in JS (tsresty.dns).
--
--   local r = require("resty.dns.resolver"):new({ nameservers = { "8.8.8.8", { "1.1.1.1", 53 } },
--                                                  retrans = 5, timeout = 2000, no_recurse = false })
--   local answers, err, tries = r:query("example.com", { qtype = r.TYPE_AAAA }, {})
--   -- answers[i].address / .cname / .ttl ...; answers.errcode/.errstr for a server error
local native = require "tsresty.dns"
local build_request, parse_response = native.build_request, native.parse_response

local ngx = ngx
local udp = ngx.socket and ngx.socket.udp
local tcp = ngx.socket and ngx.socket.tcp
local random = math.random
local byte, char, sub, find, rep = string.byte, string.char, string.sub, string.find, string.rep
local concat, insert = table.concat, table.insert
local type, setmetatable, ipairs = type, setmetatable, ipairs

local _M = {
  _VERSION = "0.23",
  TYPE_A = 1,
  TYPE_NS = 2,
  TYPE_CNAME = 5,
  TYPE_SOA = 6,
  TYPE_PTR = 12,
  TYPE_MX = 15,
  TYPE_TXT = 16,
  TYPE_AAAA = 28,
  TYPE_SRV = 33,
  TYPE_SPF = 99,
  CLASS_IN = 1,
  SECTION_AN = 1,
  SECTION_NS = 2,
  SECTION_AR = 3,
}
local mt = { __index = _M }

function _M.new(class, opts)
  if not opts then
    return nil, "no options table specified"
  end
  local servers = opts.nameservers
  if not servers or #servers == 0 then
    return nil, "no nameservers specified"
  end
  local timeout = opts.timeout or 2000
  local socks = {}
  local tcp_servers = {}
  for i, server in ipairs(servers) do
    local host, port
    if type(server) == "table" then
      host, port = server[1], server[2] or 53
    else
      host, port = server, 53
    end
    local sock, err = udp()
    if not sock then
      return nil, "failed to create udp socket: " .. err
    end
    local ok
    ok, err = sock:setpeername(host, port)
    if not ok then
      return nil, "failed to set peer name: " .. err
    end
    sock:settimeout(timeout)
    socks[i] = sock
    tcp_servers[i] = { host, port }
  end
  return setmetatable({
    cur = opts.no_random and 1 or random(1, #socks),
    socks = socks,
    servers = tcp_servers,
    retrans = opts.retrans or 5,
    timeout = timeout,
    no_recurse = opts.no_recurse,
  }, mt)
end

function _M.set_timeout(self, timeout)
  self.timeout = timeout
  local socks = self.socks
  for i = 1, #socks do
    socks[i]:settimeout(timeout)
  end
end

-- round-robin over the nameservers
local function pick(self)
  local cur = self.cur
  local n = #self.socks
  local i = cur
  cur = cur + 1
  if cur > n then
    cur = 1
  end
  self.cur = cur
  return i
end

local function tcp_query_one(self, server, query, id, opts)
  local sock, err = tcp()
  if not sock then
    return nil, "failed to create tcp socket: " .. err
  end
  sock:settimeout(self.timeout)
  local host, port = server[1], server[2]
  local ok
  ok, err = sock:connect(host, port)
  if not ok then
    return nil, "failed to connect to TCP server " .. host .. ":" .. port .. ": " .. err
  end
  local len = #query
  ok, err = sock:send({ char(math.floor(len / 256), len % 256), query })
  if not ok then
    sock:close()
    return nil, "failed to send query to TCP server " .. host .. ":" .. port .. ": " .. err
  end
  local head
  head, err = sock:receive(2)
  if not head then
    sock:close()
    return nil, "failed to receive the reply length field from TCP server " .. host .. ":" .. port .. ": " .. err
  end
  local h1, h2 = byte(head, 1, 2)
  local buf
  buf, err = sock:receive(h1 * 256 + h2)
  sock:close()
  if not buf then
    return nil, "failed to receive the reply message body from TCP server " .. host .. ":" .. port .. ": " .. err
  end
  return parse_response(buf, id, opts and opts.authority_section, opts and opts.additional_section)
end

function _M.tcp_query(self, qname, opts)
  local qtype = opts and opts.qtype or 1
  local id = random(0, 65535)
  local query, err = build_request(id, qname, qtype, self.no_recurse)
  if not query then
    return nil, err
  end
  return tcp_query_one(self, self.servers[pick(self)], query, id, opts)
end

function _M.query(self, qname, opts, tries)
  local qtype = opts and opts.qtype or 1
  local id = random(0, 65535)
  local query, err = build_request(id, qname, qtype, self.no_recurse)
  if not query then
    return nil, err, tries
  end
  local want_ns = opts and opts.authority_section
  local want_ar = opts and opts.additional_section

  local socks, servers = self.socks, self.servers
  for i = 1, self.retrans do
    local idx = pick(self)
    local sock = socks[idx]
    local server = servers[idx]
    local ok
    ok, err = sock:send(query)
    if not ok then
      err = "failed to send request to UDP server " .. server[1] .. ":" .. server[2] .. ": " .. err
    else
      while true do
        local buf, rerr = sock:receive(4096)
        if not buf then
          err = "failed to receive reply from UDP server " .. server[1] .. ":" .. server[2] .. ": " .. rerr
          break
        end
        local answers, perr = parse_response(buf, id, want_ns, want_ar)
        if answers then
          return answers, nil, tries
        end
        if perr == "truncated" then
          return tcp_query_one(self, server, query, id, opts)
        end
        if perr ~= "id mismatch" then
          return nil, perr, tries
        end
        -- a late reply to an earlier query: keep waiting for ours
      end
    end
    if tries then
      tries[#tries + 1] = err
      tries.n = #tries
    end
  end
  return nil, err, tries
end

function _M.compress_ipv6_addr(addr)
  -- replace the longest run of zero groups by "::" (case is kept)
  local groups = {}
  for g in (addr .. ":"):gmatch("([^:]*):") do
    groups[#groups + 1] = g
  end
  local best_start, best_len, cur_start, cur_len = 0, 0, 0, 0
  for i, g in ipairs(groups) do
    if g == "0" or g == "0000" or g == "000" or g == "00" then
      if cur_len == 0 then
        cur_start = i
      end
      cur_len = cur_len + 1
      if cur_len > best_len then
        best_start, best_len = cur_start, cur_len
      end
    else
      cur_len = 0
    end
  end
  if best_len < 2 then
    return addr
  end
  local left = concat(groups, ":", 1, best_start - 1)
  local right = concat(groups, ":", best_start + best_len, #groups)
  return left .. "::" .. right
end

function _M.expand_ipv6_addr(addr)
  local s = find(addr, "::", 1, true)
  if not s then
    return addr
  end
  local left, right = sub(addr, 1, s - 1), sub(addr, s + 2)
  local n = 0
  for _ in (left .. ":"):gmatch("[^:]+:") do n = n + 1 end
  for _ in (right .. ":"):gmatch("[^:]+:") do n = n + 1 end
  local zeros = rep("0:", 8 - n)
  local out = (left ~= "" and (left .. ":") or "") .. zeros .. right
  if right == "" then
    out = sub(out, 1, -2)
  end
  return out
end

function _M.arpa_str(addr)
  if find(addr, ":", 1, true) then
    addr = _M.expand_ipv6_addr(addr)
    local nibbles = {}
    for g in addr:gmatch("[^:]+") do
      g = rep("0", 4 - #g) .. g
      for i = 1, 4 do
        insert(nibbles, 1, sub(g, i, i))
      end
    end
    return concat(nibbles, ".") .. ".ip6.arpa"
  end
  local a, b, c, d = addr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then
    return addr
  end
  return d .. "." .. c .. "." .. b .. "." .. a .. ".in-addr.arpa"
end

function _M.reverse_query(self, addr)
  return self:query(_M.arpa_str(addr), { qtype = _M.TYPE_PTR })
end

return _M
