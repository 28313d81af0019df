-- content_by_lua_file: recompiled on save in development mode.
local greeting = require "greeting"
ngx.say(greeting.hello(ngx.var.arg_name))
ngx.say("served by ", ngx.config.prefix(), "lua/handler.lua")
