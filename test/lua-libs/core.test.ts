// resty.core and its sub-modules, ngx.process, ngx.errlog, ngx.ssl, resty.http's helpers that need
// no socket (parse_uri, http_headers) and resty.redis's request encoder, in a VM outside requests.
import { describe, it, expect, vi } from 'vitest';
// lua-harness sets FENGARICONF after its (hoisted) fengari import; set it before anything loads
vi.hoisted(() => {
  process.env.FENGARICONF = process.env.FENGARICONF || '{"LUA_COMPAT_FLOATSTRING":true}';
});
import { runLua } from '../support/lua-harness.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

describe('resty.core', () => {
  it('is loaded with the VM, before any user code', () => {
    expect(runLua('return package.loaded["resty.core"] ~= nil, package.loaded["resty.core"] == require "resty.core"')).toEqual([true, true]);
  });
  it('sub-modules load', () => {
    const mods = ['base', 'regex', 'hash', 'uri', 'base64', 'exit', 'var', 'shdict', 'request', 'response', 'time', 'worker', 'phase', 'ndk', 'socket', 'ctx', 'utils', 'misc', 'coroutine', 'param', 'uthread'];
    for (const m of mods) expect(runLua(`return type(require "resty.core.${m}")`)).toEqual(['table']);
  });
  it('resty.core.base helpers', () => {
    expect(runLua(`local base = require "resty.core.base"
      local t = base.new_tab(4, 0) t[1] = 1 base.clear_tab(t)
      base.allows_subsystem("http", "stream")
      local ok = pcall(base.allows_subsystem, "stream")
      return next(t), base.FFI_OK, base.FFI_DECLINED, base.FFI_ERROR, ok, base.get_request()`)).toEqual([null, 0, -5, -1, false, null]);
  });
  it('resty.core.utils.str_replace_char', () => {
    expect(runLua(`local u = require "resty.core.utils"
      return u.str_replace_char("a-b-c", "-", "_"), u.str_replace_char("a.b", ".", "%"), u.str_replace_char("abc", "x", "y")`)).toEqual(['a_b_c', 'a%b', 'abc']);
  });
  it('resty.core.time monotonic clock', () => {
    expect(runLua(`local t = require "resty.core.time"
      local a = t.monotonic_msec() local b = t.monotonic_time()
      return a > 0, math.abs(b * 1000 - a) < 1000`)).toEqual([true, true]);
  });
});

describe('ngx.process / ngx.errlog / ngx.ssl', () => {
  it('process type without a worker is "single"', () => {
    expect(runLua('local p = require "ngx.process" return p.type(), type(p.get_master_pid()), p.enable_privileged_agent(1)')).toEqual([
      'single', 'number', null, 'privileged agent process is not supported by tsresty',
    ]);
  });
  it('errlog without lua_capture_error_log', () => {
    expect(runLua(`local e = require "ngx.errlog"
      local ok, err = pcall(e.get_logs)
      return ok, err, type(e.get_sys_filter_level())`)).toEqual([false, 'directive "lua_capture_error_log" is not set', 'number']);
  });
  it('ngx.ssl fails to load with a clear error', () => {
    const [ok, err] = runLua('return pcall(require, "ngx.ssl")');
    expect(ok).toBe(false);
    expect(String(err)).toContain('not supported by tsresty');
  });
});

describe('FFI-based copies of shipped modules', () => {
  it('an FFI resty.lrucache earlier in package.path is replaced by ours; a plain one wins', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsresty-ffi-'));
    fs.mkdirSync(path.join(dir, 'ffi/resty'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'plain/resty'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'ffi/resty/lrucache.lua'), 'local ffi = require "ffi"\nreturn { mine = true }\n');
    fs.writeFileSync(path.join(dir, 'plain/resty/string.lua'), 'return { mine = true }\n');
    try {
      expect(runLua(`local old = package.path
        package.path = "${dir}/ffi/?.lua;${dir}/plain/?.lua;" .. old
        package.loaded["resty.lrucache"] = nil
        package.loaded["resty.string"] = nil
        local lru = require "resty.lrucache"
        local str = require "resty.string"
        package.path = old
        package.loaded["resty.lrucache"] = nil
        package.loaded["resty.string"] = nil
        return lru.mine == nil and type(lru.new) == "function", str.mine`)).toEqual([true, true]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('resty.signal', () => {
  it('signum, kill with NONE on ourselves and on a missing pid', () => {
    expect(runLua(`local signal = require "resty.signal"
      local ok1 = signal.kill(ngx.worker.pid(), "NONE")
      local ok2, err2 = signal.kill(2147483646, 0)
      return signal.signum("TERM"), signal.signum("HUP"), signal.signum("NOPE"), ok1, ok2, err2, signal.kill(1, "BOGUS")`)).toEqual([
      15, 1, null, true, null, 'No such process', null, 'unknown signal name',
    ]);
  });
});

describe('resty.http helpers', () => {
  it('parse_uri', () => {
    expect(runLua(`local http = require "resty.http"
      local h = http.new and http -- new() needs cosockets; parse_uri does not
      local function p(u, q) local r, err = http.parse_uri(nil, u, q) if not r then return err end return table.concat({ r[1], r[2], r[3], r[4], r[5] }, "|") end
      return p("http://example.com"), p("https://example.com/a/b?x=1&y=2"), p("https://example.com/a?x=1", false),
        p("http://127.0.0.1:8080/p#frag"), p("http://[::1]:81/v6"), p("//h/x"), p("ftp://x/"), p("nope")`)).toEqual([
      'http|example.com|80|/|',
      'https|example.com|443|/a/b?x=1&y=2|',
      'https|example.com|443|/a|x=1',
      'http|127.0.0.1|8080|/p|',
      'http|::1|81|/v6|',
      'http|h|80|/x|',
      'bad uri: ftp://x/',
      'bad uri: nope',
    ]);
  });
  it('http_headers are case-insensitive and keep the first spelling', () => {
    expect(runLua(`local h = require("resty.http_headers").new()
      h["Content-Type"] = "text/plain"
      h["content-type"] = "text/html"
      h["X-A"] = "1"
      local keys = {}
      for k in pairs(h) do keys[#keys + 1] = k end
      table.sort(keys)
      return h["CONTENT-TYPE"], h.content_type, table.concat(keys, ","), h[1]`)).toEqual(['text/html', null, 'Content-Type,X-A', null]);
  });
});

describe('resty.redis request encoding', () => {
  it('gen_req builds RESP arrays of bulk strings', () => {
    expect(runLua(`local g = require("tsresty.redis").gen_req
      return g("get", "k"), g("set", "k", 12), g("x", true, nil, ""), g("set", "k", 1.5), g("set", "\\0\\r\\n")`)).toEqual([
      '*2\r\n$3\r\nget\r\n$1\r\nk\r\n',
      '*3\r\n$3\r\nset\r\n$1\r\nk\r\n$2\r\n12\r\n',
      '*4\r\n$1\r\nx\r\n$4\r\ntrue\r\n$3\r\nnil\r\n$0\r\n\r\n',
      '*3\r\n$3\r\nset\r\n$1\r\nk\r\n$3\r\n1.5\r\n',
      '*2\r\n$3\r\nset\r\n$3\r\n\0\r\n\r\n',
    ]);
  });
  it('builds large requests', () => {
    expect(runLua(`local g = require("tsresty.redis").gen_req
      local big = ("x"):rep(100000)
      local r = g("set", "k", big)
      return #r, r:sub(1, 29)`)).toEqual([100000 + 31, '*3\r\n$3\r\nset\r\n$1\r\nk\r\n$100000\r\n']);
  });
});
