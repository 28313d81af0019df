-- resty.signal (lua-resty-signal API): send signals to processes.
--   local signal = require "resty.signal"
--   local ok, err = signal.kill(pid, "TERM")   -- or a number; "NONE" (0) only checks the pid
--   local num = signal.signum("HUP")
local C = require "tsresty.core"
local signal_kill = C.signal_kill
local tonumber = tonumber

local _M = { version = 0.03 }

-- Linux numbering
local signals = {
  NONE = 0, HUP = 1, INT = 2, QUIT = 3, ILL = 4, TRAP = 5, ABRT = 6, BUS = 7, FPE = 8, KILL = 9,
  USR1 = 10, SEGV = 11, USR2 = 12, PIPE = 13, ALRM = 14, TERM = 15, STKFLT = 16, CHLD = 17,
  CONT = 18, STOP = 19, TSTP = 20, TTIN = 21, TTOU = 22, URG = 23, XCPU = 24, XFSZ = 25,
  VTALRM = 26, PROF = 27, WINCH = 28, IO = 29, PWR = 30, SYS = 31,
}

function _M.signum(name)
  return signals[name]
end

function _M.kill(pid, sig)
  assert(sig)
  local signum = tonumber(sig)
  if not signum then
    signum = signals[sig]
    if not signum then
      return nil, "unknown signal name"
    end
  end
  return signal_kill(pid, signum)
end

return _M
