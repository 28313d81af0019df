-- resty.sha224 (lua-resty-string API): local d = require("resty.sha224"):new(); d:update(s); d:final()
return require("resty.sha").class("sha224", 28)
