-- resty.core.phase: in OpenResty this installs the FFI version of part of the ngx.* API; tsresty's
-- ngx.* is built in, so requiring it is a no-op kept for compatibility.
return { version = "0.1.25" }
