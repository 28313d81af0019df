-- resty.lrucache (lua-resty-lrucache API): a per-worker LRU cache of arbitrary Lua values.
--
--   local c = require("resty.lrucache").new(200)
--   c:set(key, value, ttl?, flags?)      ttl in seconds (fractions allowed), nil = never expires
--   value, stale, flags = c:get(key)     expired items give nil, stale_value, flags (and stay
--                                        cached until evicted, like the original)
--   c:delete(key) c:flush_all() c:count() c:capacity() c:get_keys(max?, res?) (MRU first)
--
-- Written for fengari: one hash table plus a circular doubly linked list of node tables with a
-- sentinel, no closures or varargs on the hot paths, evicted nodes are reused.
local ngx_now = ngx and ngx.now or os.time
local setmetatable, type = setmetatable, type

local _M = { _VERSION = "0.13" }
local mt = { __index = _M }

function _M.new(size)
  if size < 1 then
    return nil, "size too small"
  end
  local sentinel = {}
  sentinel.prev = sentinel
  sentinel.next = sentinel
  return setmetatable({
    hasht = {},
    list = sentinel,
    size = size,
    n = 0,
  }, mt)
end

function _M.get(self, key)
  local node = self.hasht[key]
  if node == nil then
    return nil
  end
  local list = self.list
  local first = list.next
  if first ~= node then
    -- unlink, then insert at the head (most recently used)
    local prev, next = node.prev, node.next
    prev.next = next
    next.prev = prev
    node.prev = list
    node.next = first
    first.prev = node
    list.next = node
  end
  local expire = node.expire
  if expire >= 0 and expire < ngx_now() then
    return nil, node.value, node.flags
  end
  return node.value, nil, node.flags
end

function _M.set(self, key, value, ttl, flags)
  local hasht = self.hasht
  local list = self.list
  local node = hasht[key]
  if node == nil then
    local n = self.n
    if n >= self.size then
      -- reuse the least recently used node
      node = list.prev
      hasht[node.key] = nil
    else
      self.n = n + 1
      node = {}
      node.prev = list
      node.next = list.next
      list.next.prev = node
      list.next = node
    end
    node.key = key
    hasht[key] = node
  end
  local first = list.next
  if first ~= node then
    local prev, next = node.prev, node.next
    prev.next = next
    next.prev = prev
    node.prev = list
    node.next = first
    first.prev = node
    list.next = node
  end
  node.value = value
  if ttl then
    node.expire = ngx_now() + ttl
  else
    node.expire = -1
  end
  if type(flags) == "number" and flags >= 0 then
    node.flags = flags
  else
    node.flags = 0
  end
end

function _M.delete(self, key)
  local hasht = self.hasht
  local node = hasht[key]
  if node == nil then
    return false
  end
  hasht[key] = nil
  local prev, next = node.prev, node.next
  prev.next = next
  next.prev = prev
  node.value = nil
  self.n = self.n - 1
  return true
end

function _M.flush_all(self)
  self.hasht = {}
  local sentinel = self.list
  sentinel.prev = sentinel
  sentinel.next = sentinel
  self.n = 0
end

function _M.count(self)
  return self.n
end

function _M.capacity(self)
  return self.size
end

function _M.get_keys(self, max_count, res)
  local n = self.n
  if max_count and max_count > 0 and max_count < n then
    n = max_count
  end
  if not res then
    res = {}
  end
  local list = self.list
  local node = list.next
  for i = 1, n do
    res[i] = node.key
    node = node.next
  end
  res[n + 1] = nil
  return res
end

return _M
