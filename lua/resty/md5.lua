-- resty.md5 (lua-resty-string API): local d = require("resty.md5"):new(); d:update(s); d:final()
return require("resty.sha").class("md5", 16)
