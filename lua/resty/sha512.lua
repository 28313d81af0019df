-- resty.sha512 (lua-resty-string API): local d = require("resty.sha512"):new(); d:update(s); d:final()
return require("resty.sha").class("sha512", 64)
