-- resty.sha256 (lua-resty-string API): local d = require("resty.sha256"):new(); d:update(s); d:final()
return require("resty.sha").class("sha256", 32)
