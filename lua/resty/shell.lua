-- resty.shell (lua-resty-shell API): run a command to completion without blocking the worker.
--   local ok, stdout, stderr, reason, status = require("resty.shell").run(cmd, stdin?, timeout?, max_size?)
-- cmd is a shell string or an argv table (ngx.pipe.spawn); timeout in ms (default 10000) bounds
-- the whole run; max_size (default 128 KB) bounds each of stdout and stderr. ok is true when the
-- command exited with status 0; reason is "exit" or "signal" (status the code or signal number),
-- or a description of what failed ("failed to wait for process: timeout"...).
local ngx_pipe = require "ngx.pipe"
local spawn_thread, wait_thread = ngx.thread.spawn, ngx.thread.wait
local concat = table.concat
local tostring = tostring

local _M = { version = 0.03 }

local SIGKILL = 9
local CHUNK = 4096

local function read_stream(proc, buf, max_size, is_stdout)
  local read_any = is_stdout and proc.stdout_read_any or proc.stderr_read_any
  local size = 0
  while true do
    local data, err = read_any(proc, CHUNK)
    if not data then
      if err == "closed" then
        return true
      end
      return nil, err
    end
    size = size + #data
    if size > max_size then
      proc:kill(SIGKILL)
      return nil, "too much data"
    end
    buf[#buf + 1] = data
  end
end

function _M.run(cmd, stdin, timeout, max_size)
  timeout = timeout or 10000
  max_size = max_size or 128 * 1024

  local proc, err = ngx_pipe.spawn(cmd)
  if not proc then
    return nil, nil, nil, "failed to spawn: " .. tostring(err)
  end
  -- reads end with the process; only the overall wait (and stdin) need the caller's timeout
  proc:set_timeouts(timeout, 0, 0, timeout)

  if stdin and stdin ~= "" then
    local bytes
    bytes, err = proc:write(stdin)
    if not bytes then
      proc:kill(SIGKILL)
      return nil, nil, nil, "failed to write to stdin: " .. tostring(err)
    end
  end
  local ok
  ok, err = proc:shutdown("stdin")
  if not ok then
    proc:kill(SIGKILL)
    return nil, nil, nil, "failed to shutdown stdin: " .. tostring(err)
  end

  local out, errs = {}, {}
  local thr_out = spawn_thread(read_stream, proc, out, max_size, true)
  local thr_err = spawn_thread(read_stream, proc, errs, max_size, false)

  local reason, status
  ok, reason, status = proc:wait()
  if ok == nil then
    -- timed out: stop the process so the readers finish
    proc:kill(SIGKILL)
    reason = "failed to wait for process: " .. tostring(reason)
    status = nil
    ok = false
    proc:set_timeouts(nil, nil, nil, 1000)
    proc:wait()
  end

  local _, out_ok, out_err = wait_thread(thr_out)
  local _, err_ok, err_err = wait_thread(thr_err)
  if not out_ok and out_err then
    ok = false
    reason = "failed to read stdout: " .. tostring(out_err)
  elseif not err_ok and err_err then
    ok = false
    reason = "failed to read stderr: " .. tostring(err_err)
  end

  return ok, concat(out), concat(errs), reason, status
end

return _M
