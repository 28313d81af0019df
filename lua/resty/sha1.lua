-- resty.sha1 (lua-resty-string API): local d = require("resty.sha1"):new(); d:update(s); d:final()
return require("resty.sha").class("sha1", 20)
