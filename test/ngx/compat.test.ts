// LuaJIT compatibility (src/ngx/misc.ts and the modules it installs + lua/tsresty/compat.lua). Every expected value below was
// produced by LuaJIT 2.1.0-beta3 running the same expression.
import { describe, it, expect } from 'vitest';
import { runLua } from '../support/lua-harness.js';
import { fmtNumber, tobit } from '../../src/lua/luajit-number.js';

const one = (code: string): unknown => runLua(code)[0];
const err = (code: string): string => {
  try {
    runLua(code);
  } catch (e) {
    return String((e as Error).message);
  }
  return 'no error';
};

describe('numbers are doubles, printed with %.14g', () => {
  it('tostring', () => {
    expect(one('return tostring(2^53) .. " " .. tostring(1e15) .. " " .. tostring(1e16) .. " " .. tostring(1e-5) .. " " .. tostring(-0.0) .. " " .. tostring(2^63) .. " " .. tostring(123456789012345)')).toBe(
      '9.007199254741e+15 1e+15 1e+16 1e-05 -0 9.2233720368548e+18 1.2345678901235e+14',
    );
    expect(one('return tostring(0.1) .. " " .. tostring(1/3) .. " " .. tostring(100) .. " " .. tostring(-100) .. " " .. tostring(3.0) .. " " .. tostring(1e300*1e10) .. " " .. tostring(-1e300*1e10) .. " " .. tostring(0/0)')).toBe(
      '0.1 0.33333333333333 100 -100 3 inf -inf nan',
    );
    expect(one('return tostring(99999999999999.9) .. " " .. tostring(999999999999999) .. " " .. tostring(0.1 + 0.2) .. " " .. tostring(100/3) .. " " .. tostring(1e14) .. " " .. tostring(123456789012.5)')).toBe(
      '1e+14 1e+15 0.3 33.333333333333 1e+14 123456789012.5',
    );
    expect(one('return 10/2 .. " " .. 3 .. " " .. -0.0 .. " " .. 2^31')).toBe('5 3 -0 2147483648');
    expect(fmtNumber(2 ** -1074)).toBe('4.9406564584125e-324');
  });

  it('arithmetic does not wrap at 32 bits', () => {
    expect(one('return math.floor(2^40) .. " " .. math.ceil(-2^40 - 0.5) .. " " .. math.abs(-2^31) .. " " .. 2147483647 + 1 .. " " .. -2147483648 - 1 .. " " .. 65536 * 65536 .. " " .. 0x7fffffff * 2 .. " " .. 0xffffffffff')).toBe(
      '1099511627776 -1099511627776 2147483648 2147483648 -2147483649 4294967296 4294967294 1099511627775',
    );
    expect(one('local n = 0 for i = 2147483640, 2147483647 do n = n + 1 end return n')).toBe(8);
    expect(one('local x = 2147483647 x = x + 1 return x .. " " .. (x * 2) .. " " .. 1e10 % 7 .. " " .. -(-2147483648)')).toBe('2147483648 4294967296 4 2147483648');
    expect(one('return #"abc" * 1e9, string.byte("a") * 2^31')).toBe(3000000000);
    expect(one('return math.floor(ngx.now()) * 1000 > 1e12')).toBe(true);
    expect(one('return math.floor(-0.0) .. " " .. math.max(1, 2.5) .. " " .. 7 % -3 .. " " .. -7 % 3 .. " " .. 5.5 % 2 .. " " .. 2^31 % 7 .. " " .. math.fmod(-7, 3)')).toBe(
      '-0 2.5 -2 2 1.5 2 -1',
    );
  });

  it('library integer arguments are truncated like LuaJIT', () => {
    expect(one('return ("abc"):sub(1, 2^31) .. "|" .. ("abc"):sub(1, math.huge) .. "|" .. ("abc"):sub(-2^31-5) .. "|" .. string.rep("a", 2.7) .. "|" .. ("abcdef"):sub(1.9, 3.9) .. "|" .. ("abcdef"):sub(-1.5) .. "|" .. ("abc"):byte(1.5)')).toBe(
      '||abc|aa|abc|f|97',
    );
  });

  it('tonumber', () => {
    expect(one('return tonumber("0x10") .. " " .. tonumber("  10  ") .. " " .. tostring(tonumber("1e1")) .. " " .. tostring(tonumber("0x")) .. " " .. tonumber("ffffffff", 16) .. " " .. tonumber("zz", 36) .. " " .. tostring(tonumber("8", 8)) .. " " .. tonumber("0x1f", 16) .. " " .. tonumber("-ff", 16) .. " " .. tostring(tonumber("", 10)) .. " " .. tonumber("0x10", 10)')).toBe(
      '16 10 10 nil 4294967295 1295 nil 31 -255 nil 16',
    );
    expect(one('return tostring(tonumber("10", 2)) .. " " .. tostring(tonumber(" 11 ", 2)) .. " " .. tostring(tonumber("1.5", 10)) .. " " .. tostring(tonumber(nil)) .. " " .. tostring(tonumber(true))')).toBe(
      '2 3 1.5 nil nil',
    );
    expect(err('tonumber("1", 99)')).toContain('base out of range');
  });

  it('math.random reproduces LuaJIT sequences', () => {
    expect(one('math.randomseed(42) return string.format("%.17g %d %d %.17g", math.random(), math.random(100), math.random(5, 10), math.random())')).toBe(
      '0.95607928791821051 1 8 0.43411331710630252',
    );
    expect(one('math.randomseed(1290079655) local t = {} for i = 1, 10 do t[i] = math.random(1000000) end return table.concat(t, ",")')).toBe(
      '659424,696372,12821,904966,734067,233483,148536,960532,393088,245887',
    );
  });
});

describe('strings and tables', () => {
  it('binary string keys do not collide and < orders bytes', () => {
    expect(one('local t = {} t["\\1\\35"] = 1 t["\\18\\3"] = 2 return t["\\1\\35"] .. t["\\18\\3"] .. tostring("\\1" < "\\0\\255") .. tostring("a\\15" < "a\\16") .. tostring("\\15" < "\\16")')).toBe(
      '12falsetruetrue',
    );
    expect(one('local t = {"b", "\\15", "\\16", "a", "\\1", ""} table.sort(t) for i = 1, #t do t[i] = string.byte(t[i]) or "e" end return table.concat(t, ",")')).toBe(
      'e,1,15,16,97,98',
    );
  });

  it('pairs walks constructor arrays in index order', () => {
    expect(one('local t = {10, 20, 30, "x", n = 5, [7] = 1} local o = {} for k in pairs(t) do o[#o+1] = tostring(k) end return table.concat(o, ",")')).toBe('1,2,3,4,n,7');
    expect(one('local t = {n = 1, "a", "b", m = 2, "c"} local o = {} for k, v in pairs(t) do o[#o+1] = k .. "=" .. v end return table.concat(o, ",")')).toBe('1=a,2=b,3=c,n=1,m=2');
    expect(one('local t = {1, 2, 3, x = 1, 4, 5} for k in pairs(t) do if k == 2 then t[k] = nil end end local o = {} for k, v in pairs(t) do o[#o+1] = k .. "=" .. v end return table.concat(o, ",")')).toBe('1=1,3=3,4=4,5=5,x=1');
    const src = Array.from({ length: 120 }, (_, i) => i + 1).join(',');
    expect(one(`local t = {${src}, a = 1} local o = {} for k in pairs(t) do o[#o+1] = tostring(k) end return #t .. ":" .. table.concat(o, ",")`)).toBe(`120:${src},a`);
  });

  it('gsub accepts %x escapes in the replacement like LuaJIT', () => {
    expect(one('return ("abc"):gsub("b", "%d") .. "|" .. ("hello world"):gsub("o", "%%") .. "|" .. ("abc"):gsub("(b)", "[%1]") .. "|" .. ("abc"):gsub("b", "%0%0") .. "|" .. ("abc"):gsub("b", "%.")')).toBe(
      'adc|hell% w%rld|a[b]c|abbc|a.c',
    );
    expect(runLua('return ("abcb"):gsub("b", "x")')).toEqual(['axcx', 2]);
  });

  it('5.1 table functions and table.new/clear/nkeys', () => {
    expect(one('return table.maxn({[1]=1, [10]=2, [3.5]=3})')).toBe(10);
    expect(one('return table.getn({1, 2, 3})')).toBe(3);
    expect(one('return unpack({1, 2, 3}) .. " " .. select("#", unpack({1, 2, 3}, 1, 5)) .. " " .. loadstring("return 1 + 1")()')).toBe('1 5 2');
    expect(one('local new = require "table.new" local t = new(10, 0) t[1] = 1 t.x = 2 local clear = require "table.clear" clear(t) return tostring(next(t))')).toBe('nil');
    expect(runLua('local nk = require "table.nkeys" return nk({1, 2, x = 3}), nk({}), table.isempty({}), table.isempty({1}), table.isarray({1, 2}), table.isarray({1, x = 1})')).toEqual([
      3, 0, true, false, true, false,
    ]);
    expect(one('local c = table.clone({1, a = {2}}) return c[1] + c.a[1]')).toBe(3);
    expect(one('local r = {} table.foreach({a = 1}, function(k, v) r[#r + 1] = k .. v end) return r[1]')).toBe('a1');
  });

  it('math 5.1 extras', () => {
    expect(one('return math.pow(2, 10) .. " " .. math.log10(1000) .. " " .. math.cosh(0) .. " " .. math.atan2(1, 1)')).toBe('1024 3 1 0.78539816339745');
    expect(runLua('return math.ldexp(1, 10), math.frexp(8)')).toEqual([1024, 0.5, 4]);
    expect(runLua('return math.modf(-3.7)')).toEqual([-3, -0.7000000000000002]);
  });
});

describe('string.format (TypeScript, LuaJIT semantics)', () => {
  const cases: [string, string][] = [
    ['string.format("%d|%5d|%-5d|%05d|%+d|% d", 3.7, 42, 42, -42, 5, 5)', '3|   42|42   |-0042|+5| 5'],
    ['string.format("%d", -2^63) .. string.format("%d", 2^53+1) .. string.format("%d", 2^63)', '-92233720368547758089007199254740992-9223372036854775808'],
    ['string.format("%x|%X|%o|%#x|%#o|%u", -1, 255, 8, 255, 8, -1)', 'ffffffffffffffff|FF|10|0xff|010|18446744073709551615'],
    ['string.format("%x|%x|%x|%d", 2^64, 1e20, 3.5, -3.5)', '0|8000000000000000|3|-3'],
    ['string.format("%5.2f|%.0f|%.0f|%.0f|%e|%.3e|%g|%g|%g|%g|%#g|%G", 3.14159, 0.5, 1.5, 2.5, 12345.6789, 0, 100000, 1000000, 1e-4, 1e-5, 1.0, 1e-10)', ' 3.14|1|2|3|1.234568e+04|0.000e+00|100000|1e+06|0.0001|1e-05|1.00000|1E-10'],
    ['string.format("%q", 1)', '"1"'],
    ['string.format("%s|%10s|%-10s|%.2s", 1.5, "hi", "hi", "hello") .. string.format("%s %s %s", nil, true, 1e100)', '1.5|        hi|hi        |henil true 1e+100'],
    ['string.format("%.14g|%a|%5s%%", 2^53, 1.0, "x")', '9.007199254741e+15|0x1p+0|    x%'],
    ['string.format("%.99f", 1/3)', '0.333333333333333314829616256247390992939472198486328125000000000000000000000000000000000000000000000'],
    ['string.format("%f|%f|%f", 1/0, -1/0, 0/0) .. string.format("%5.1f|%-8.3e|", 1/0, 0/0)', 'inf|-inf|nan  inf|nan     |'],
    ['string.format("%.3f %.3f %.2f %.1f", 2.0005, 1.0005, 0.125, 0.25) .. string.format("%.0e|%.0e", 25, 35)', '2.001 1.000 0.13 0.33e+01|4e+01'],
    ['string.format("%g %g %g %g", 0.0001, 123456, 1234567, 0.00001234) .. string.format("%#.3g|%#x|%#X", 1, 0, 255)', '0.0001 123456 1.23457e+06 1.234e-051.00|0|0XFF'],
    ['string.format("% 5d|%+5d|%-+5d|%+05d|%x", 42, 42, 42, 42, 0)', '   42|  +42|+42  |+0042|0'],
    ['string.format("%.0d|%.3d|%5.3d|%-5.3d|%05.3d|%.0x", 0, 7, 7, 7, 7, 0)', '|007|  007|007  |  007|'],
    ['string.format("%a|%a|%a|%.2a|%A|%a|%a", 0.5, 255.5, -0.1, 1/3, 1e300, 0, 5e-324)', '0x1p-1|0x1.ffp+7|-0x1.999999999999ap-4|0x1.55p-2|0X1.7E43C8800759CP+996|0x0p+0|0x1p-1074'],
    ['string.format("%+.3e|% .2f|%010.3f|%-10.2f|%+g|%#.0f|%#.0e", 1.5, 2.5, -3.14159, 2.5, 0.5, 3, 3)', '+1.500e+00| 2.50|-00003.142|2.50      |+0.5|3.|3.e+00'],
    ['string.format("%g|%g|%g|%g|%g|%.20g|%.17g", 1e15, 1e16, 123456789, 0.1, 100, 0.1, 0.1)', '1e+15|1e+16|1.23457e+08|0.1|100|0.10000000000000000555|0.10000000000000001'],
    ['string.format("%c%c", 65.7, 256+66)', 'AB'],
    ['string.format("%5c|%-5c|", 65, 66)', '    A|B    |'],
    ['string.format("%s", 12345678901234567890)', '1.2345678901235e+19'],
    ['string.format("%.3s|%5.1s|", "abcdef", "xyz")', 'abc|    x|'],
    ['string.format("%08.3f|%-08.3f|%+08d|% 08d", -1.5, 1.5, 42, 42)', '-001.500|1.500   |+0000042| 0000042'],
    ['string.format("%e|%E|%.10e", 0, 1e-300, 123456789.123456789)', '0.000000e+00|1.000000E-300|1.2345678912e+08'],
    ['string.format("%g|%g|%g|%#g|%g", 0, -0.0, 1e-5, 1e-5, 123456.5)', '0|-0|1e-05|1.00000e-05|123457'],
    ['string.format("%.1f|%.1f|%.1f|%.2f|%.2f", 0.05, 0.15, 0.25, 1.005, 1.015)', '0.1|0.1|0.3|1.00|1.01'],
    ['string.format("%5.0f|%.10g|%.15g|%.16g", 1e21, 2/3, 2/3, 2/3)', '1000000000000000000000|0.6666666667|0.666666666666667|0.6666666666666666'],
    ['string.format("%02x", 7) .. string.format("%3d:%-4s|", 1, "x")', '07  1:x   |'],
  ];
  it.each(cases)('%s', (expr, want) => {
    expect(one(`return ${expr}`)).toBe(want);
  });

  it('%q quotes like LuaJIT', () => {
    const [b] = runLua(String.raw`return string.format("%q", "a\nb\0c\0001\r\"\\\127x") == '"a\\\nb\\0c\\0001\\13\\"\\\\\\127x"'`);
    expect(b).toBe(true);
  });

  it('uses __tostring for %s', () => {
    expect(one('local t = setmetatable({}, {__tostring = function() return "OBJ" end}) return string.format("%s|%5s|%q", t, t, t)')).toBe('OBJ|  OBJ|"OBJ"');
  });

  it('raises LuaJIT errors', () => {
    expect(err('string.format("%y", 1)')).toContain("invalid option '%y' to 'format'");
    expect(err('string.format("%123d", 1)')).toContain("invalid option '%123' to 'format'");
    expect(err('string.format("%10.123f", 1)')).toContain("invalid option '%10.123' to 'format'");
    expect(err('string.format("%d", "x")')).toContain("bad argument #2 to 'format' (number expected, got string)");
    expect(err('string.format("%d")')).toContain("bad argument #2 to 'format' (value expected)");
    expect(one('return string.format("%d", "10")')).toBe('10');
  });
});

describe('os.date / os.time', () => {
  it('honours "!" (UTC) and C-locale conversions', () => {
    expect(one('return os.date("!%Y-%m-%d %H:%M:%S %a %A %b %B %j %U %W %w %y %C %e %p %I %D %T %F %R %h %u %V %G %g", 1290079655)')).toBe(
      '2010-11-18 11:27:35 Thu Thursday Nov November 322 46 46 4 10 20 18 AM 11 11/18/10 11:27:35 2010-11-18 11:27 Nov 4 46 2010 10',
    );
    expect(one('return os.date("!%c|%x|%X|%%|%Q|%k|%l|%P|%s|%Z", 1290079655)')).toBe(
      'Thu Nov 18 11:27:35 2010|11/18/10|11:27:35|%|%Q|11|11|am|1290079655|GMT',
    );
    expect(one('return os.date("!%V %G %U %W %j", 1293753600) .. " " .. os.date("!%V %G %U %W %j", 1262304000) .. " " .. os.date("!%V %G", 1230768000) .. " " .. os.date("!%V %G", 1104537600)')).toBe(
      '52 2010 52 52 365 53 2009 00 00 001 01 2009 53 2004',
    );
    expect(one('local t = os.date("!*t", 1290079655) return t.year .. " " .. t.yday .. " " .. t.wday .. " " .. tostring(t.isdst) .. " " .. os.date("!*t", 0).hour')).toBe(
      '2010 322 5 false 0',
    );
  });

  it('os.time', () => {
    expect(one('return os.time({year=2010, month=11, day=18, hour=11, min=27, sec=35}) - os.time({year=2010, month=11, day=18, hour=11, min=27, sec=34}) .. " " .. os.time({year=2010, month=13, day=1, hour=0}) - os.time({year=2011, month=1, day=1, hour=0}) .. " " .. type(os.time())')).toBe(
      '1 0 number',
    );
    expect(one('return os.time() * 1000 > 1e12')).toBe(true);
    expect(one('return os.time(os.date("*t", 1290079655))')).toBe(1290079655);
    expect(err('os.time({year = 2010})')).toContain("field 'day' missing in date table");
  });
});

describe('bit', () => {
  it('has LuaJIT BitOp semantics', () => {
    expect(one('return bit.band(0xffffffff, 3) .. " " .. bit.tobit(2^32+5) .. " " .. bit.tohex(-1) .. " " .. bit.tohex(255, 4) .. " " .. bit.tohex(255, -4) .. " " .. bit.lshift(1, 31) .. " " .. bit.rshift(-1, 28) .. " " .. bit.arshift(-256, 4)')).toBe(
      '3 5 ffffffff 00ff 00FF -2147483648 15 -16',
    );
    expect(one('return bit.rol(0x12345678, 8) .. " " .. bit.ror(0x12345678, 8) .. " " .. bit.bswap(0x12345678) .. " " .. bit.bnot(0) .. " " .. bit.bor(1,2,4) .. " " .. bit.bxor(5,3) .. " " .. bit.band(2^53, 1) .. " " .. bit.tobit(-2^31) .. " " .. bit.tobit(2^31)')).toBe(
      '878082066 2014458966 2018915346 -1 7 6 0 -2147483648 -2147483648',
    );
    expect(one('return bit.tobit(1.5) .. " " .. bit.tobit(2.5) .. " " .. bit.tobit(-1.5) .. " [" .. bit.tohex(0x1234, 0) .. "] " .. bit.tohex(1, 9) .. " " .. bit.tohex(-1, 12) .. " " .. bit.tohex(2^40) .. " " .. bit.tohex(1.9) .. " " .. bit.tobit(2^53+2) .. " " .. bit.lshift(1, 33) .. " " .. bit.rol(1, -1)')).toBe(
      '2 2 -2 [] 000000001 0000ffffffff 00000000 00000002 1 2 -2147483648',
    );
    expect(one('return bit.band("7", 3) .. " " .. bit.bswap(-1) .. " " .. bit.rshift(0x80000000, 0)')).toBe('3 -1 -2147483648');
    expect(one('return require("bit") == bit')).toBe(true);
    expect(err('bit.band("x")')).toContain("bad argument #1 to 'band' (number expected, got string)");
    expect(tobit(2 ** 32 + 5)).toBe(5);
  });
});

describe('collectgarbage, newproxy, jit, ffi', () => {
  it('collectgarbage never throws', () => {
    expect(one('return collectgarbage() .. " " .. tostring(collectgarbage("step")) .. " " .. tostring(collectgarbage("isrunning")) .. " " .. collectgarbage("setpause", 100) .. " " .. collectgarbage("setpause", 200) .. " " .. collectgarbage("stop") .. " " .. collectgarbage("restart") .. " " .. type(collectgarbage("count"))')).toBe(
      '0 false true 200 100 0 0 number',
    );
    expect(one('return collectgarbage("count") > 100')).toBe(true);
    expect(err('collectgarbage("bogus")')).toContain("invalid option 'bogus'");
  });

  it('newproxy', () => {
    expect(one('return type(newproxy()) .. " " .. type(getmetatable(newproxy(true))) .. " " .. tostring(getmetatable(newproxy()))')).toBe('userdata table nil');
  });

  it('jit and ffi', () => {
    expect(one('return _VERSION .. " " .. type(jit) .. " " .. jit.version .. " " .. jit.os .. " " .. jit.arch .. " " .. jit.version_num')).toBe(
      'Lua 5.1 table LuaJIT 2.1.0-beta3 Linux x64 20100',
    );
    expect(runLua('jit.off() jit.flush() jit.opt.start("minstitch=2") return require("jit.opt") == jit.opt, type(require("jit.util"))')).toEqual([true, 'table']);
    expect(runLua('local ok, err = pcall(require, "ffi") return ok, err')[1]).toMatch(/module 'ffi' is not available/);
  });
});

describe('setfenv / getfenv / module', () => {
  it('setfenv on functions and levels', () => {
    expect(one('local f = function() return x end local env = {x = 42} setfenv(f, env) return f() .. " " .. tostring(getfenv(f) == env) .. " " .. tostring(getfenv(0) == _G) .. " " .. tostring(getfenv(print) == _G)')).toBe(
      '42 true true true',
    );
    expect(one('local function g() setfenv(1, {y = 7}) return y end return g()')).toBe(7);
    expect(one('local function g() return getfenv(1) == _G end return g()')).toBe(true);
    expect(err('setfenv(1, 1)')).toContain("bad argument #2 to 'setfenv' (table expected, got number)");
    expect(err('setfenv(print, {})')).toContain("'setfenv' cannot change environment of given object");
  });

  it('setfenv only changes that function (t/025-codecache TEST 18)', () => {
    expect(one(`
      local test = setfenv(function() return tostring(table) end,
        setmetatable({}, { __index = function(self, key) return rawget(self, key) or _G[key] end }))
      return test()`)).toMatch(/^table: 0x[0-9a-f]*[1-9a-f]/);
    expect(one('local a = function() return z end local b = function() return z end setfenv(a, {z = 1}) return tostring(a()) .. tostring(b())')).toBe('1nil');
  });

  it('module(..., package.seeall) makes a module table', () => {
    runLua(`package.preload["tsresty_test.foo"] = load([[
      module(..., package.seeall)
      local count = 0
      function go(a, b) count = count + 1 return a + b, count, _NAME, _PACKAGE, type(ngx) end
    ]], "=foo.lua")`);
    expect(runLua('local foo = require "tsresty_test.foo" return foo.go(1, 2)')).toEqual([3, 1, 'tsresty_test.foo', 'tsresty_test.', 'table']);
    expect(one('return tsresty_test.foo == package.loaded["tsresty_test.foo"]')).toBe(true);
    expect(one('return rawget(_G, "go") == nil')).toBe(true);
  });

  it('module(...) without seeall only sees upvalues (resty.core style)', () => {
    runLua(`package.preload.bare_mod = load([[
      local type = type
      module(...)
      _VERSION = "0.0.1"
      function kind(x) return type(x) end
    ]], "=bare.lua")`);
    expect(runLua('local m = require "bare_mod" return m.kind(1), m._VERSION, m._M == m')).toEqual(['number', '0.0.1', true]);
  });
});

describe('LuaJIT behaviours that Lua 5.3 changed', () => {
  it('runtime errors name the variable first', () => {
    expect(err('local x = nil; return x.y')).toMatch(/attempt to index local 'x' \(a nil value\)$/);
    expect(err('undefined_fn()')).toMatch(/attempt to call global 'undefined_fn' \(a nil value\)$/);
    expect(err('local t = {} return t.a.b')).toMatch(/attempt to index field 'a' \(a nil value\)$/);
    expect(err('return 1 + {}')).toMatch(/attempt to perform arithmetic on a table value$/);
  });

  it('table.insert / table.remove', () => {
    expect(one('local t = {} table.insert(t, 3, "x") return tostring(t[3]) .. #t')).toBe('x0');
    expect(one('local t = {1, 2, 3} table.insert(t, 2, "x") return table.concat(t, ",")')).toBe('1,x,2,3');
    expect(one('local t = {1, 2, 3} table.insert(t, "x") return table.concat(t, ",")')).toBe('1,2,3,x');
    expect(runLua('local t = {1, 2, 3} return select("#", table.remove(t, 7)), select("#", table.remove({})), table.remove(t, 1), table.remove(t), #t')).toEqual([0, 0, 1, 3, 1]);
    expect(err('table.insert({}, 1, 2, 3)')).toContain("wrong number of arguments to 'insert'");
  });
});

describe('io (synchronous, LuaJIT 5.1 mode)', () => {
  it('reads and writes files', () => {
    const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'tsresty-io-'));
    const p = `${dir}/t.txt`;
    const out = runLua(`
      local p = "${p}"
      local r = {}
      local f = assert(io.open(p, "w"))
      r[#r+1] = io.type(f) .. " " .. tostring(f:write("line1\\n", 42, "\\n", "3.5 rest\\n", "last"))
      r[#r+1] = tostring(f:close()) .. " " .. io.type(f)
      f = assert(io.open(p, "r"))
      local a, b, c, d, e, g, h = f:read("*l"), f:read("*n"), f:read("*n"), f:read("*l"), f:read("*a"), f:read("*a"), f:read("*l")
      r[#r+1] = table.concat({a, b, c, d, e, "[" .. g .. "]", tostring(h), tostring(f:read(0))}, "|")
      r[#r+1] = f:seek("set", 2) .. " " .. f:read(3) .. " " .. f:seek() .. " " .. f:seek("end")
      f:close()
      local n = 0 for l in io.lines(p) do n = n + 1 end
      r[#r+1] = n
      local f2 = io.open(p, "a") f2:write("\\nappended") f2:close()
      f2 = io.open(p, "r+") f2:write("LINE") f2:seek("set") r[#r+1] = f2:read("*l") f2:close()
      r[#r+1] = select(2, io.open("${dir}/missing/x"))
      r[#r+1] = select(2, pcall(f.read, f))
      local pf = io.popen("echo hi; echo there") r[#r+1] = pf:read("*l") .. "+" .. pf:read("*a") pf:close()
      r[#r+1] = os.execute("exit 3") .. " " .. os.execute("true")
      r[#r+1] = select(2, io.stdout:close())
      os.remove(p)
      return table.concat(r, "\\n")`)[0];
    expect(String(out).split('\n')).toEqual([
      'file true',
      'true closed file',
      'line1|42|3.5| rest|last|[]|nil|nil',
      '2 ne1 5 22',
      '4',
      'LINE1',
      `${dir}/missing/x: No such file or directory`,
      'attempt to use a closed file',
      'hi+there',
      '',
      '768 0',
      'cannot close standard file',
    ]);
  });
});

describe('tracebacks', () => {
  it('debug.traceback names called frames the LuaJIT way', () => {
    const tb = one('local function inner() return debug.traceback("x") end local t = inner() return t') as string;
    expect(tb).toMatch(/in function 'inner'/);
    expect(tb).not.toMatch(/in (local|upvalue) 'inner'/);
  });
});
