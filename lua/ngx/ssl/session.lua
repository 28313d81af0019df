-- ngx.ssl.session: TLS server-side hooks (ssl_certificate_by_lua and friends) do not exist in tsresty, so
-- this module fails to load with a clear message instead of half-working.
error("ngx.ssl.session is not supported by tsresty (no ssl_*_by_lua phases)", 2)
