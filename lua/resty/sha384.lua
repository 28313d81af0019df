-- resty.sha384 (lua-resty-string API): local d = require("resty.sha384"):new(); d:update(s); d:final()
return require("resty.sha").class("sha384", 48)
