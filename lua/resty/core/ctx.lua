-- resty.core.ctx: ngx.ctx is built in; get_ctx_table() returns the current request's ctx.
local ngx = ngx

return {
  version = "0.1.25",
  get_ctx_table = function(ctx)
    if ctx ~= nil then
      return ctx
    end
    return ngx.ctx
  end,
}
