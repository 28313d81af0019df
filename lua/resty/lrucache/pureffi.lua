-- resty.lrucache.pureffi: the FFI hash-table flavour of lua-resty-lrucache. Same API; tsresty
-- serves it with resty.lrucache (Lua tables), which accepts any key type.
return require "resty.lrucache"
