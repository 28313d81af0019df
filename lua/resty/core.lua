-- resty.core: in OpenResty this loads the FFI implementations of the ngx.* API. tsresty's ngx.*
-- is built in, so this module only exists for code that requires it (and for libraries that
-- check package.loaded["resty.core"]). It is loaded when each worker's VM starts, like
-- lua-nginx-module 0.10.16+ does, and deliberately requires nothing else at load time.
return {
  version = "0.1.25",
  _VERSION = "0.1.25",
}
