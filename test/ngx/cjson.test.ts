// require "cjson" / "cjson.safe": lua-cjson 2.1.0.10 (OpenResty fork) semantics. Expected strings
// were checked against lua-cjson built for LuaJIT where the two agree (object key order is fengari's
// lua_next order, i.e. insertion order, so multi-key objects follow that order here).
import { describe, it, expect, vi } from 'vitest';
// lua-harness sets FENGARICONF after its (hoisted) fengari import; set it before anything loads
vi.hoisted(() => {
  process.env.FENGARICONF = process.env.FENGARICONF || '{"LUA_COMPAT_FLOATSTRING":true}';
});
import { runLua, runLuaBytes } from '../support/lua-harness.js';

const PRE = 'local cjson = require "cjson"\nlocal unpack = unpack or table.unpack\n';

/** Run Lua with `cjson` in scope. */
function lua(code: string): unknown[] {
  return runLua(PRE + code);
}
/** cjson.encode(expr) */
function enc(expr: string): unknown {
  return runLua(`${PRE}return cjson.encode(${expr})`)[0];
}
/** The error message of pcall(fn, args) (fn/args are Lua expressions) */
function perr(fn: string, args: string): unknown {
  const [ok, msg] = runLua(`${PRE}return pcall(${fn}${args === '' ? '' : ', ' + args})`);
  expect(ok).toBe(false);
  return msg;
}
function decErr(json: string): unknown {
  return perr('cjson.decode', luaStr(json));
}
/** A Lua string literal holding the bytes of a latin1 JS string. */
function luaStr(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? s[i] : '\\' + String(c).padStart(3, '0');
  }
  return out + '"';
}
const latin1 = (b: Uint8Array | null) => Buffer.from(b!).toString('latin1');

describe('cjson module', () => {
  it('has the lua-cjson fields', () => {
    const [name, ver, types] = lua(`
      local names = {}
      for _, k in ipairs({"encode", "decode", "encode_empty_table_as_object", "decode_array_with_array_mt",
          "encode_sparse_array", "encode_max_depth", "decode_max_depth", "encode_number_precision",
          "encode_keep_buffer", "encode_invalid_numbers", "decode_invalid_numbers",
          "encode_escape_forward_slash", "encode_skip_unsupported_value_types", "new"}) do
        names[#names + 1] = k .. "=" .. type(cjson[k])
      end
      names[#names + 1] = "empty_array_mt=" .. type(cjson.empty_array_mt)
      names[#names + 1] = "array_mt=" .. type(cjson.array_mt)
      names[#names + 1] = "empty_array=" .. type(cjson.empty_array)
      names[#names + 1] = "null=" .. type(cjson.null)
      return cjson._NAME, cjson._VERSION, table.concat(names, " ")`);
    expect(name).toBe('cjson');
    expect(ver).toBe('2.1.0.10');
    expect(types).toBe(
      'encode=function decode=function encode_empty_table_as_object=function decode_array_with_array_mt=function ' +
        'encode_sparse_array=function encode_max_depth=function decode_max_depth=function ' +
        'encode_number_precision=function encode_keep_buffer=function encode_invalid_numbers=function ' +
        'decode_invalid_numbers=function encode_escape_forward_slash=function ' +
        'encode_skip_unsupported_value_types=function new=function empty_array_mt=table array_mt=table ' +
        'empty_array=userdata null=userdata',
    );
  });

  it('cjson.null is ngx.null, distinct from empty_array', () => {
    expect(lua('return cjson.null == ngx.null, cjson.empty_array ~= cjson.null, tostring(cjson.null == nil)')).toEqual([
      true,
      true,
      'false',
    ]);
  });

  it('require caches; cjson.safe and new() are separate instances sharing the array metatables', () => {
    expect(
      lua(`
      local safe = require "cjson.safe"
      local n = cjson.new()
      return require("cjson") == cjson, safe ~= cjson, n ~= cjson, safe._NAME, safe._VERSION,
        n.array_mt == cjson.array_mt, safe.empty_array_mt == cjson.empty_array_mt, n.null == cjson.null,
        n.empty_array == cjson.empty_array`),
    ).toEqual([true, true, true, 'cjson', '2.1.0.10', true, true, true, true]);
  });

  it('package.loaded reset keeps the same array metatables (agentzh.t 16-18)', () => {
    expect(
      lua(`
      package.loaded["cjson"] = nil
      local c2 = require "cjson"
      package.loaded["cjson"] = cjson
      return c2 ~= cjson, c2.encode(setmetatable({}, cjson.array_mt)), c2.encode(setmetatable({}, cjson.empty_array_mt)),
        cjson.encode(setmetatable({}, c2.empty_array_mt))`),
    ).toEqual([true, '[]', '[]', '[]']);
  });

  it('new() has its own settings', () => {
    expect(
      lua(`
      local a, b = cjson.new(), cjson.new()
      a.encode_number_precision(3)
      a.encode_empty_table_as_object(false)
      return a.encode(1/3), b.encode(1/3), cjson.encode(1/3), a.encode({}), b.encode({}), cjson.encode({})`),
    ).toEqual(['0.333', '0.33333333333333', '0.33333333333333', '[]', '{}', '{}']);
  });
});

describe('cjson.encode scalars', () => {
  it('encodes nil, booleans, null, empty_array', () => {
    expect(enc('nil')).toBe('null');
    expect(enc('true')).toBe('true');
    expect(enc('false')).toBe('false');
    expect(enc('cjson.null')).toBe('null');
    expect(enc('ngx.null')).toBe('null');
    expect(enc('cjson.empty_array')).toBe('[]');
    expect(enc('{a = cjson.empty_array, b = cjson.null}')).toBe('{"a":[],"b":null}');
  });

  it('needs exactly one argument', () => {
    expect(perr('cjson.encode', '')).toMatch(/bad argument #1 to '.*encode' \(expected 1 argument\)/);
    expect(perr('cjson.encode', '1, 2')).toMatch(/bad argument #1 to '.*encode' \(expected 1 argument\)/);
  });

  it('formats numbers like %.14g', () => {
    const cases: [string, string][] = [
      ['0', '0'],
      ['-0.0', '-0'],
      ['1', '1'],
      ['-1', '-1'],
      ['10/2', '5'],
      ['100', '100'],
      ['0.1', '0.1'],
      ['1/3', '0.33333333333333'],
      ['2/3', '0.66666666666667'],
      ['-1.5', '-1.5'],
      ['3.14159265358979', '3.1415926535898'],
      ['1e20', '1e+20'],
      ['1e21', '1e+21'],
      ['1e-5', '1e-05'],
      ['0.0001', '0.0001'],
      ['0.00012345', '0.00012345'],
      ['123456789012', '123456789012'],
      ['12345678901234', '12345678901234'],
      ['123456789012345', '1.2345678901234e+14'], // exact tie: glibc rounds to even
      ['2^31', '2147483648'],
      ['2^53', '9.007199254741e+15'],
      ['-2^63', '-9.2233720368548e+18'],
      ['1e300 * 10', '1e+301'],
      ['2^-1074', '4.9406564584125e-324'],
      ['1.7976931348623157e308', '1.7976931348623e+308'],
      ['99999999999999.5', '1e+14'],
      ['0.5', '0.5'],
      ['2.5e-7', '2.5e-07'],
      ['math.pi * 1e10', '31415926535.898'],
    ];
    const got = runLua(`${PRE}return ${cases.map(([e]) => `cjson.encode(${e})`).join(', ')}`);
    expect(got).toEqual(cases.map(([, want]) => want));
  });

  it('encode_number_precision (1..16)', () => {
    expect(
      lua(`
      local c = cjson.new()
      local r = {}
      for _, p in ipairs({1, 3, 6, 14, 15, 16}) do
        r[#r + 1] = c.encode_number_precision(p) .. ":" .. c.encode(1/3) .. "," .. c.encode(2^53) .. "," .. c.encode(0.1)
      end
      return table.concat(r, " ")`)[0],
    ).toBe(
      '1:0.3,9e+15,0.1 3:0.333,9.01e+15,0.1 6:0.333333,9.0072e+15,0.1 14:0.33333333333333,9.007199254741e+15,0.1 ' +
        '15:0.333333333333333,9.00719925474099e+15,0.1 16:0.3333333333333333,9007199254740992,0.1',
    );
    expect(perr('cjson.new().encode_number_precision', '0')).toMatch(/\(expected integer between 1 and 16\)/);
    expect(perr('cjson.new().encode_number_precision', '17')).toMatch(/\(expected integer between 1 and 16\)/);
    expect(perr('cjson.new().encode_number_precision', '"x"')).toMatch(/\(number expected, got string\)/);
  });

  it('refuses NaN and Infinity unless encode_invalid_numbers', () => {
    expect(perr('cjson.encode', '0/0')).toBe('Cannot serialise number: must not be NaN or Infinity');
    expect(perr('cjson.encode', '1/0')).toBe('Cannot serialise number: must not be NaN or Infinity');
    expect(perr('cjson.encode', '{-1/0}')).toBe('Cannot serialise number: must not be NaN or Infinity');
    expect(perr('cjson.encode', '{[1/0] = 1}')).toBe('Cannot serialise number: must not be NaN or Infinity');
    expect(
      lua(`
      local c = cjson.new()
      local r = {c.encode_invalid_numbers()}
      r[#r + 1] = c.encode_invalid_numbers(true)
      r[#r + 1] = c.encode({0/0, 1/0, -1/0, 4})
      r[#r + 1] = c.encode({[1/0] = 1})
      r[#r + 1] = c.encode_invalid_numbers("null")
      r[#r + 1] = c.encode({0/0, 1/0, -1/0})
      r[#r + 1] = c.encode_invalid_numbers("off")
      r[#r + 1] = select(2, pcall(c.encode, 0/0))
      r[#r + 1] = c.encode_invalid_numbers("on")
      r[#r + 1] = select(2, pcall(c.encode_invalid_numbers, "maybe"))
      for i = 1, #r do r[i] = tostring(r[i]) end
      return table.concat(r, "|")`)[0],
    ).toMatch(
      /^false\|true\|\[NaN,Infinity,-Infinity,4\]\|\{"Infinity":1\}\|null\|\[null,null,null\]\|false\|Cannot serialise number: must not be NaN or Infinity\|true\|bad argument #1 to '.*' \(invalid option 'maybe'\)$/,
    );
  });

  it('errors from Lua code carry the caller position, like luaL_error', () => {
    expect(lua('local ok, e = pcall(function() local s = cjson.encode(print) return s end) return e')[0]).toBe(
      'test:3: Cannot serialise function: type not supported',
    );
  });
});

describe('cjson.encode strings', () => {
  it('escapes exactly like lua-cjson (all 256 bytes)', () => {
    let all = '';
    for (let c = 0; c < 256; c++) all += String.fromCharCode(c);
    let want = '"';
    for (let c = 0; c < 256; c++) {
      const named: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r', 0x22: '\\"', 0x5c: '\\\\', 0x2f: '\\/' };
      if (named[c]) want += named[c];
      else if (c < 0x20 || c === 0x7f) want += '\\u' + c.toString(16).padStart(4, '0');
      else want += String.fromCharCode(c);
    }
    want += '"';
    const [got] = runLuaBytes(`${PRE}return cjson.encode(${luaStr(all)})`);
    expect(latin1(got)).toBe(want);
  });

  it('passes UTF-8 and invalid UTF-8 through untouched', () => {
    const [got] = runLuaBytes(`${PRE}return cjson.encode({"caf\\195\\169 \\240\\159\\152\\128", "\\255\\254\\128"})`);
    expect(latin1(got)).toBe('["caf\xc3\xa9 \xf0\x9f\x98\x80","\xff\xfe\x80"]');
  });

  it('encode_escape_forward_slash changes every instance (lua-cjson keeps one escape table)', () => {
    expect(
      lua(`
      local safe = require "cjson.safe"
      local n = cjson.new()
      local r = {cjson.encode("a/b")}
      r[#r + 1] = tostring(n.encode_escape_forward_slash(false))
      r[#r + 1] = n.encode("a/b")
      r[#r + 1] = cjson.encode({["k/"] = "v/"})
      r[#r + 1] = safe.encode("/")
      r[#r + 1] = tostring(cjson.encode_escape_forward_slash())
      r[#r + 1] = tostring(n.encode_escape_forward_slash("on"))
      r[#r + 1] = cjson.encode("a/b")
      return table.concat(r, " ")`)[0],
    ).toBe('"a\\/b" false "a/b" {"k/":"v/"} "/" true true "a\\/b"');
  });

  it('handles long strings and many escapes', () => {
    expect(lua('return #cjson.encode(string.rep("a", 100000)), #cjson.encode(string.rep("\\1", 100000)), #cjson.encode(string.rep("/", 70000))')).toEqual([
      100002, 600002, 140002,
    ]);
  });
});

describe('cjson.encode tables', () => {
  it('arrays and objects', () => {
    expect(enc('{1, 2, 3}')).toBe('[1,2,3]');
    expect(enc('{"a", {"b", {}}, {x = 1}}')).toBe('["a",["b",{}],{"x":1}]');
    expect(enc('{a = 1}')).toBe('{"a":1}');
    expect(enc('{a = {b = {c = {}}}}')).toBe('{"a":{"b":{"c":{}}}}');
    expect(enc('{[1] = 1, [2] = 2, [4] = 4}')).toBe('[1,2,null,4]');
    expect(enc('{1, 2, nil, 4}')).toBe('[1,2,null,4]');
    expect(enc('{[1.5] = 1}')).toBe('{"1.5":1}');
    expect(enc('{[0] = 1}')).toBe('{"0":1}');
    expect(enc('{[-1] = 1}')).toBe('{"-1":1}');
    expect(enc('{[1] = "a", x = "b"}')).toBe('{"1":"a","x":"b"}');
    expect(enc('{[2^53] = 1}')).toBe('{"9.007199254741e+15":1}');
    expect(enc('{["\\0"] = "\\0"}')).toBe('{"\\u0000":"\\u0000"}');
  });

  it('object keys come in lua_next order (insertion order in fengari)', () => {
    expect(enc('{b = 1, a = 2, c = 3}')).toBe('{"b":1,"a":2,"c":3}');
    expect(lua('local t = {} t.z = 1 t.y = 2 t[3] = 3 t.x = 4 t.y = nil t.y = 5 return cjson.encode(t)')[0]).toBe(
      '{"z":1,"3":3,"x":4,"y":5}',
    );
  });

  it('keys must be numbers or strings', () => {
    expect(perr('cjson.encode', '{[true] = 1}')).toBe('Cannot serialise boolean: table key must be a number or string');
    expect(perr('cjson.encode', '{[{}] = 1}')).toBe('Cannot serialise table: table key must be a number or string');
    expect(perr('cjson.encode', '{[print] = 1}')).toBe('Cannot serialise function: table key must be a number or string');
    expect(perr('cjson.encode', '{[cjson.null] = 1}')).toBe('Cannot serialise userdata: table key must be a number or string');
  });

  it('unsupported value types', () => {
    expect(perr('cjson.encode', 'print')).toBe('Cannot serialise function: type not supported');
    expect(perr('cjson.encode', '{print}')).toBe('Cannot serialise function: type not supported');
    expect(perr('cjson.encode', '{a = print}')).toBe('Cannot serialise function: type not supported');
    expect(perr('cjson.encode', 'coroutine.create(print)')).toBe('Cannot serialise thread: type not supported');
  });

  it('encode_skip_unsupported_value_types drops them', () => {
    expect(
      lua(`
      local c = cjson.new()
      return c.encode_skip_unsupported_value_types(true), c.encode({print, 1, print, 2}), c.encode({a = print}),
        c.encode({1, print}), c.encode(print), c.encode_skip_unsupported_value_types()`),
    ).toEqual([true, '[1,2]', '{}', '[1]', '', true]);
  });

  it('sparse arrays: default (false, 2, 10)', () => {
    expect(lua('return cjson.new().encode_sparse_array()')).toEqual([false, 2, 10]);
    expect(enc('{[1] = 1, [3] = 3}')).toBe('[1,null,3]');
    expect(enc('{[10] = 1}')).toBe('[null,null,null,null,null,null,null,null,null,1]');
    expect(perr('cjson.encode', '{[11] = 1}')).toBe('Cannot serialise table: excessively sparse array');
    expect(perr('cjson.encode', '{[1] = 1, [20] = 1}')).toBe('Cannot serialise table: excessively sparse array');
    // an error needs max > items * ratio and max > safe
    expect(enc('{1, 2, 3, 4, 5, 6, nil, nil, nil, nil, nil, 12}')).toBe('[1,2,3,4,5,6,null,null,null,null,null,12]');
    expect(perr('cjson.encode', '{1, 2, 3, nil, nil, nil, nil, nil, nil, nil, nil, 12}')).toBe(
      'Cannot serialise table: excessively sparse array',
    );
  });

  it('sparse arrays: convert, ratio, safe', () => {
    expect(
      lua(`
      local c = cjson.new()
      local r = {}
      r[1] = table.concat({tostring(c.encode_sparse_array(true)), c.encode({[1] = 1, [20] = 1})}, " ")
      r[2] = table.concat({tostring(c.encode_sparse_array(false, 0)), c.encode({[12] = 1})}, " ")
      c.encode_sparse_array(false, 3, 2)
      r[3] = select(2, pcall(c.encode, {[1] = 1, [7] = 1}))
      r[4] = c.encode({[1] = 1, [6] = 1})
      local a, b, d = c.encode_sparse_array("on", 2, 10)
      r[5] = table.concat({tostring(a), b, d}, ",")
      r[6] = select(2, pcall(c.encode_sparse_array, false, -1))
      r[7] = select(2, pcall(c.encode_sparse_array, false, 1, 2, 3))
      return table.concat(r, "|")`)[0],
    ).toMatch(
      /^true \{"1":1,"20":1\}\|false \[null,null,null,null,null,null,null,null,null,null,null,1\]\|Cannot serialise table: excessively sparse array\|\[1,null,null,null,null,1\]\|true,2,10\|bad argument #1 to '.*' \(expected integer between 0 and 2147483647\)\|bad argument #4 to '.*' \(found too many arguments\)$/,
    );
  });

  it('keys beyond INT_MAX make lua-cjson see an object', () => {
    expect(enc('{[2^31] = 1}')).toBe('{"2147483648":1}');
    expect(enc('{[2^40] = 1}')).toBe('{"1099511627776":1}');
    expect(enc('setmetatable({[2^40] = 1}, cjson.empty_array_mt)')).toBe('[]');
  });

  it('empty tables: encode_empty_table_as_object', () => {
    expect(enc('{}')).toBe('{}');
    expect(enc('{dogs = {}}')).toBe('{"dogs":{}}');
    expect(
      lua(`
      local c = cjson.new()
      local r = {tostring(c.encode_empty_table_as_object(false)), c.encode({}), c.encode({dogs = {}}),
        tostring(c.encode_empty_table_as_object("on")), c.encode({}),
        tostring(c.encode_empty_table_as_object("off")), c.encode({{}}),
        tostring(c.encode_empty_table_as_object(true)), c.encode({{}})}
      return table.concat(r, " ")`)[0],
    ).toBe('false [] {"dogs":[]} true {} false [[]] true [{}]');
  });

  it('empty_array and empty_array_mt (agentzh.t 4-8)', () => {
    expect(enc('{arr = cjson.empty_array}')).toBe('{"arr":[]}');
    expect(enc('{arr = setmetatable({}, cjson.empty_array_mt)}')).toBe('{"arr":[]}');
    expect(enc('{obj = {}, arr = setmetatable({}, cjson.empty_array_mt)}')).toBe('{"obj":{},"arr":[]}');
    expect(
      lua(`
      local empty_arr = setmetatable({}, cjson.empty_array_mt)
      local data = {arr = empty_arr, foo = {obj = {}, foobar = {arr = cjson.empty_array, obj = {}}}}
      return cjson.encode(data)`)[0],
    ).toBe('{"arr":[],"foo":{"obj":{},"foobar":{"arr":[],"obj":{}}}}');
    expect(enc('setmetatable({"hello", "world", "lua"}, cjson.empty_array_mt)')).toBe('["hello","world","lua"]');
    // lua_cjson.c checks empty_array_mt for every table it does not take as an array, hash keys or not
    expect(enc('setmetatable({a = 1}, cjson.empty_array_mt)')).toBe('[]');
    expect(enc('{cjson.empty_array, cjson.empty_array}')).toBe('[[],[]]');
  });

  it('array_mt (agentzh.t 9-11, 15)', () => {
    expect(enc('setmetatable({}, cjson.array_mt)')).toBe('[]');
    expect(enc('setmetatable({"foo", "bar"}, cjson.array_mt)')).toBe('["foo","bar"]');
    expect(
      lua(`
      local data = {}
      data[1] = "foo" data[2] = "bar" data[4] = "last" data[9] = "none"
      return cjson.encode(setmetatable(data, cjson.array_mt))`)[0],
    ).toBe('["foo","bar",null,"last"]');
    expect(lua('local t = {} t.foo = "bar" t[1] = "hello" return cjson.encode(setmetatable(t, cjson.array_mt))')[0]).toBe(
      '["hello"]',
    );
    expect(enc('setmetatable({1, nil, 3}, cjson.array_mt)')).toBe('[1,null,3]');
    expect(enc('setmetatable({[1] = 1, [100] = 2}, cjson.array_mt)')).toBe('[1]');
    // array_mt wins over sparse checks and the empty-object default
    expect(enc('{setmetatable({x = 1}, cjson.array_mt)}')).toBe('[[]]');
  });

  it('nesting depth: encode_max_depth (default 1000)', () => {
    expect(lua('local t = {} for i = 1, 999 do t = {t} end return #cjson.encode(t)')).toEqual([2000]);
    expect(perr('cjson.encode', '(function() local t = {} for i = 1, 1000 do t = {t} end return t end)()')).toBe(
      'Cannot serialise, excessive nesting (1001)',
    );
    expect(perr('cjson.encode', '(function() local t = {} t[1] = t return t end)()')).toBe(
      'Cannot serialise, excessive nesting (1001)',
    );
    expect(
      lua(`
      local c = cjson.new()
      return c.encode_max_depth(3), c.encode({{{1}}}), select(2, pcall(c.encode, {{{{1}}}})), c.encode_max_depth()`),
    ).toEqual([3, '[[[1]]]', 'Cannot serialise, excessive nesting (4)', 3]);
    expect(perr('cjson.new().encode_max_depth', '0')).toMatch(/\(expected integer between 1 and 2147483647\)/);
  });

  it('very deep structures with a huge encode_max_depth fail cleanly', () => {
    const [ok, msg] = lua(`
      local c = cjson.new()
      c.encode_max_depth(2147483647)
      local t = {} t[1] = t
      return pcall(c.encode, t)`);
    expect(ok).toBe(false);
    expect(msg).toMatch(/^Cannot serialise, excessive nesting \(\d+\)$/);
  });

  it('encode_keep_buffer', () => {
    expect(
      lua(`
      local c = cjson.new()
      return c.encode_keep_buffer(), c.encode_keep_buffer(false), c.encode({1, "x"}), c.encode_keep_buffer("on"),
        c.encode({2}), c.encode("long string to grow the buffer " .. string.rep("x", 5000)):len(), c.encode({3})`),
    ).toEqual([true, false, '[1,"x"]', true, '[2]', 5033, '[3]']);
  });

  it('option functions check their arguments', () => {
    expect(perr('cjson.new().encode_max_depth', '1, 2')).toMatch(/bad argument #2 to '.*' \(found too many arguments\)/);
    expect(perr('cjson.new().encode_empty_table_as_object', '"yes"')).toMatch(/\(invalid option 'yes'\)/);
    expect(
      lua(`local c = cjson.new() return c.encode_number_precision(), c.encode_max_depth(), c.decode_max_depth(),
        c.encode_keep_buffer(), c.decode_invalid_numbers(), c.decode_array_with_array_mt(),
        c.encode_empty_table_as_object(), c.encode_escape_forward_slash(), c.encode_invalid_numbers(),
        c.encode_skip_unsupported_value_types()`),
    ).toEqual([14, 1000, 1000, true, true, false, true, true, false, false]);
  });
});

describe('cjson.decode', () => {
  it('decodes every JSON type', () => {
    expect(
      lua(`
      local v = cjson.decode('{"s":"x","n":-1.5e2,"t":true,"f":false,"z":null,"a":[1,"2",[],{}],"o":{"k":{}}}')
      return v.s, v.n, v.t, v.f, v.z == cjson.null, #v.a, v.a[1], v.a[2], type(v.a[3]), type(v.a[4]), type(v.o.k)`),
    ).toEqual(['x', -150, true, false, true, 4, 1, '2', 'table', 'table', 'table']);
    expect(lua('return cjson.decode("true"), cjson.decode("false"), cjson.decode("null") == ngx.null, cjson.decode(\'"s"\'), cjson.decode(" 12 ")')).toEqual([
      true, false, true, 's', 12,
    ]);
  });

  it('numbers are floats that print without .0 and do not wrap at 2^31', () => {
    expect(
      lua(`
      local r = {}
      for _, s in ipairs({"5", "-0", "1.0", "2147483648", "4294967297", "9007199254740993", "1e20", "1.5",
          "123456789012345678901234567890", "-2147483649", "0.1", "1E2", "1e-2", "1e400", "-1e400"}) do
        local v = cjson.decode(s)
        r[#r + 1] = math.type(v) .. ":" .. string.format("%.17g", v)
      end
      return table.concat(r, " "), tostring(cjson.decode("5")), tostring(cjson.decode("[3]")[1]),
        cjson.decode("2147483648") + 1, 1 / cjson.decode("-0")`),
    ).toEqual([
      'float:5 float:-0 float:1 float:2147483648 float:4294967297 float:9007199254740992 float:1e+20 ' +
        'float:1.5 float:1.2345678901234568e+29 float:-2147483649 float:0.10000000000000001 float:100 float:0.01 ' +
        'float:inf float:-inf',
      '5',
      '3',
      2147483649,
      -Infinity,
    ]);
  });

  it('accepts strtod forms by default (decode_invalid_numbers on)', () => {
    expect(
      lua(`
      local r = {}
      for _, s in ipairs({"0x10", "0X1f", "0x1p3", "0x1.8p1", "012", "+1", "-.5", "1.", "1.e3", "Infinity", "-inf",
          "infinity", "-Infinity"}) do
        r[#r + 1] = string.format("%.17g", cjson.decode(s))
      end
      local nan = cjson.decode("NaN")
      return table.concat(r, " "), nan ~= nan, cjson.decode("[nan]")[1] ~= cjson.decode("[nan]")[1]`),
    ).toEqual(['16 31 8 3 12 1 -0.5 1 1000 inf -inf inf -inf', true, true]);
    expect(decErr('0x')).toBe('Expected the end but found invalid token at character 2');
    expect(decErr('[1x]')).toBe('Expected comma or array end but found invalid token at character 3');
    expect(decErr('nil')).toBe('Expected value but found invalid token at character 1');
    expect(decErr('[infinite]')).toBe('Expected comma or array end but found invalid token at character 5');
    expect(decErr('-')).toBe('Expected value but found invalid number at character 1');
    expect(decErr('[--1]')).toBe('Expected value but found invalid number at character 2');
    expect(decErr('.5')).toBe('Expected value but found invalid token at character 1');
    expect(decErr('[1e]')).toBe('Expected comma or array end but found invalid token at character 3');
  });

  it('decode_invalid_numbers(false) rejects non-JSON numbers', () => {
    const [r] = lua(`
      local c = cjson.new()
      local r = {tostring(c.decode_invalid_numbers(false))}
      for _, s in ipairs({"[0x10]", "[012]", "[+1]", "[-Infinity]", "[NaN]", "[inf]", "[-012]", "[1.5]", "[-.5]", "[0]", "[-0.5e3]"}) do
        local ok, v = pcall(c.decode, s)
        r[#r + 1] = ok and string.format("%.17g", v[1]) or v
      end
      return table.concat(r, "|")`);
    expect(r).toBe(
      'false|Expected value but found invalid number at character 2|Expected value but found invalid number at character 2|' +
        'Expected value but found invalid token at character 2|Expected value but found invalid number at character 2|' +
        'Expected value but found invalid token at character 2|Expected value but found invalid token at character 2|' +
        'Expected value but found invalid number at character 2|1.5|-0.5|0|-500',
    );
  });

  it('strings: escapes, \\u escapes and surrogate pairs become UTF-8', () => {
    const [got] = runLuaBytes(
      `${PRE}return cjson.decode(${luaStr('"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0041 \\u00e9 \\u20AC \\uffff \\ud83d\\ude00 \\uD834\\uDD1E \\u0000!"')})`,
    );
    expect(latin1(got)).toBe('" \\ / \b \f \n \r \t A \xc3\xa9 \xe2\x82\xac \xef\xbf\xbf \xf0\x9f\x98\x80 \xf0\x9d\x84\x9e \x00!');
  });

  it('strings: raw control characters and bytes >= 0x80 pass through', () => {
    const [got] = runLuaBytes(`${PRE}return cjson.decode(${luaStr('"a\nb\tc\x01\xff\xc3\xa9"')})`);
    expect(latin1(got)).toBe('a\nb\tc\x01\xff\xc3\xa9');
  });

  it('string errors', () => {
    expect(decErr('"abc')).toBe('Expected value but found unexpected end of string at character 5');
    expect(decErr('["abc')).toBe('Expected value but found unexpected end of string at character 6');
    expect(decErr('"a\0b"')).toBe('Expected value but found unexpected end of string at character 3');
    expect(decErr('"\\x"')).toBe('Expected value but found invalid escape code at character 2');
    expect(decErr('"ab\\')).toBe('Expected value but found invalid escape code at character 4');
    expect(decErr('"\\u12"')).toBe('Expected value but found invalid unicode escape code at character 2');
    expect(decErr('"\\u12g4"')).toBe('Expected value but found invalid unicode escape code at character 2');
    expect(decErr('"x\\ud800"')).toBe('Expected value but found invalid unicode escape code at character 3');
    expect(decErr('"\\udc00"')).toBe('Expected value but found invalid unicode escape code at character 2');
    expect(decErr('"\\ud800\\u0041"')).toBe('Expected value but found invalid unicode escape code at character 2');
    expect(decErr('"\\ud800x"')).toBe('Expected value but found invalid unicode escape code at character 2');
  });

  it('syntax errors name the token and its 1-based position', () => {
    const cases: [string, string][] = [
      ['', 'Expected value but found T_END at character 1'],
      ['   ', 'Expected value but found T_END at character 4'],
      ['[', 'Expected value but found T_END at character 2'],
      [']', 'Expected value but found T_ARR_END at character 1'],
      ['{', 'Expected object key string but found T_END at character 2'],
      ['}', 'Expected value but found T_OBJ_END at character 1'],
      ['[1,]', 'Expected value but found T_ARR_END at character 4'],
      ['[,1]', 'Expected value but found T_COMMA at character 2'],
      ['[1 2]', 'Expected comma or array end but found T_NUMBER at character 4'],
      ['[1,,2]', 'Expected value but found T_COMMA at character 4'],
      ['{"a" 1}', 'Expected colon but found T_NUMBER at character 6'],
      ['{"a":}', 'Expected value but found T_OBJ_END at character 6'],
      ['{1:2}', 'Expected object key string but found T_NUMBER at character 2'],
      ['{"a":1,}', 'Expected object key string but found T_OBJ_END at character 8'],
      ['{"a":1 "b":2}', 'Expected comma or object end but found T_STRING at character 8'],
      ['{"a",1}', 'Expected colon but found T_COMMA at character 5'],
      ['[1]]', 'Expected the end but found T_ARR_END at character 4'],
      ['[[1]', 'Expected comma or array end but found T_END at character 5'],
      ['[1]x', 'Expected the end but found invalid token at character 4'],
      ['{"a":1}garbage', 'Expected the end but found invalid token at character 8'],
      ['tru', 'Expected value but found invalid token at character 1'],
      ['nul', 'Expected value but found invalid token at character 1'],
      ['falsey', 'Expected the end but found invalid token at character 6'],
      ['NULL', 'Expected value but found invalid token at character 1'],
      ['True', 'Expected value but found invalid token at character 1'],
      ['[\f1]', 'Expected value but found invalid token at character 2'],
      ['\x80', 'Expected value but found invalid token at character 1'],
      ['[true false]', 'Expected comma or array end but found T_BOOLEAN at character 7'],
      ['[null null]', 'Expected comma or array end but found T_NULL at character 7'],
      ['{"a":1}}', 'Expected the end but found T_OBJ_END at character 8'],
      ['[{]', 'Expected object key string but found T_ARR_END at character 3'],
      ['{"a":[}', 'Expected value but found T_OBJ_END at character 7'],
      ['[:]', 'Expected value but found T_COLON at character 2'],
    ];
    const got = runLua(
      `${PRE}local r = {} for i, s in ipairs({${cases.map(([j]) => luaStr(j)).join(',')}}) do r[i] = select(2, pcall(cjson.decode, s)) end return unpack(r)`,
    );
    expect(got).toEqual(cases.map(([, m]) => m));
  });

  it('a NUL byte ends the document (C string semantics)', () => {
    expect(lua('return cjson.decode("[1]\\0garbage")[1]')).toEqual([1]);
    expect(decErr('[1,\0]')).toBe('Expected value but found T_END at character 4');
    expect(decErr('\0')).toBe('Expected value but found T_END at character 1');
  });

  it('refuses UTF-16/UTF-32 input', () => {
    expect(decErr('\0[')).toBe('JSON parser does not support UTF-16 or UTF-32');
    expect(decErr('[\0')).toBe('JSON parser does not support UTF-16 or UTF-32');
    expect(decErr('a\0')).toBe('JSON parser does not support UTF-16 or UTF-32');
  });

  it('needs one string argument', () => {
    expect(perr('cjson.decode', '')).toMatch(/bad argument #1 to '.*decode' \(expected 1 argument\)/);
    expect(perr('cjson.decode', '"1", 2')).toMatch(/bad argument #1 to '.*decode' \(expected 1 argument\)/);
    expect(perr('cjson.decode', '{}')).toMatch(/bad argument #1 to '.*decode' \(string expected, got table\)/);
    expect(perr('cjson.decode', 'nil')).toMatch(/bad argument #1 to '.*decode' \(string expected, got nil\)/);
    expect(lua('return cjson.decode(123)')).toEqual([123]);
  });

  it('errors from Lua code carry the caller position, like luaL_error', () => {
    expect(lua('local ok, e = pcall(function() local v = cjson.decode("[1 2]") return v end) return e')[0]).toBe(
      'test:3: Expected comma or array end but found T_NUMBER at character 4',
    );
  });

  it('whitespace, duplicates, empty key', () => {
    expect(lua('local v = cjson.decode(" \\t\\r\\n{ \\"a\\" : [ 1 ,\\n 2 ] , \\"a\\" : 3, \\"\\" : 4 } ") return v.a, v[""]')).toEqual([
      3, 4,
    ]);
  });

  it('nesting depth: decode_max_depth (default 1000)', () => {
    expect(lua(`return type(cjson.decode(string.rep("[", 1000) .. string.rep("]", 1000)))`)).toEqual(['table']);
    expect(perr('cjson.decode', 'string.rep("[", 1001) .. string.rep("]", 1001)')).toBe(
      'Found too many nested data structures (1001) at character 1001',
    );
    expect(perr('cjson.decode', 'string.rep(\'{"a":\', 1001) .. "1" .. string.rep("}", 1001)')).toBe(
      'Found too many nested data structures (1001) at character 5001',
    );
    expect(
      lua(`
      local c = cjson.new()
      return c.decode_max_depth(3), #c.decode("[[[1]]]"), select(2, pcall(c.decode, "[[[[1]]]]")),
        select(2, pcall(c.decode, '{"a":{"b":{"c":{}}}}'))`),
    ).toEqual([
      3,
      1,
      'Found too many nested data structures (4) at character 4',
      'Found too many nested data structures (4) at character 16',
    ]);
  });

  it('very deep input with a huge decode_max_depth fails cleanly', () => {
    const [ok, msg] = lua(`
      local c = cjson.new()
      c.decode_max_depth(2147483647)
      return pcall(c.decode, string.rep("[", 200000))`);
    expect(ok).toBe(false);
    expect(msg).toMatch(/^Found too many nested data structures \(\d+\) at character \d+$|^Expected value but found T_END/);
  });

  it('decode_array_with_array_mt (agentzh.t 12-14)', () => {
    expect(
      lua(`
      local t = cjson.decode('{"my_array":[]}')
      return getmetatable(t.my_array) == cjson.array_mt, cjson.encode(t)`),
    ).toEqual([false, '{"my_array":{}}']);
    expect(
      lua(`
      local c = cjson.new()
      local r = {tostring(c.decode_array_with_array_mt(true))}
      local t = c.decode('{"my_array":["hello","world"],"e":[]}')
      t.my_array.hash_value = "adding a hash value"
      t.my_array[1] = nil
      t.my_array[2] = nil
      r[#r + 1] = tostring(getmetatable(t.my_array) == cjson.array_mt)
      r[#r + 1] = tostring(getmetatable(t) == nil)
      r[#r + 1] = c.encode(t)
      r[#r + 1] = tostring(c.decode_array_with_array_mt(false))
      r[#r + 1] = tostring(getmetatable(c.decode("[1]")))
      return table.concat(r, " ")`)[0],
    ).toBe('true true true {"my_array":[],"e":[]} false nil');
  });

  it('decoded tables behave like ordinary Lua tables', () => {
    expect(
      lua(`
      local v = cjson.decode('{"__index":{"x":1},"list":[10,20,30]}')
      local proxy = setmetatable({}, v)
      local sum = 0
      for i, n in ipairs(v.list) do sum = sum + i * n end
      v.list[#v.list + 1] = 40
      return proxy.x, sum, #v.list, v.list[2.0]`),
    ).toEqual([1, 140, 4, 20]);
  });
});

describe('cjson.safe', () => {
  it('returns nil, err instead of raising', () => {
    expect(
      lua(`
      local s = require "cjson.safe"
      local a, b = s.decode("[1,")
      local c, d = s.encode(print)
      local e, f = s.encode({[true] = 1})
      local g, h = s.decode({})
      local i, j = s.decode("[1 2]")
      return a, b, c, d, e, f, g, h, i, j`),
    ).toEqual([
      null,
      'Expected value but found T_END at character 4',
      null,
      'Cannot serialise function: type not supported',
      null,
      'Cannot serialise boolean: table key must be a number or string',
      null,
      "bad argument #1 to '?' (string expected, got table)",
      null,
      'Expected comma or array end but found T_NUMBER at character 4',
    ]);
  });

  it('works on valid input and still raises on a wrong argument count', () => {
    expect(
      lua(`local s = require "cjson.safe" return s.decode('{"a":[1,2]}').a[2], s.encode({1, "a"}), select("#", s.encode({}))`),
    ).toEqual([2, '[1,"a"]', 1]);
    expect(perr('require("cjson.safe").decode', '')).toMatch(/bad argument #1 to '.*decode' \(expected 1 argument\)/);
    expect(perr('require("cjson.safe").encode', '1, 2')).toMatch(/bad argument #1 to '.*encode' \(expected 1 argument\)/);
  });

  it('has its own settings and new() returns safe instances', () => {
    expect(
      lua(`
      local s = require "cjson.safe"
      local n = s.new()
      n.decode_max_depth(2)
      local a, b = n.decode("[[[1]]]")
      return s.decode_max_depth(), cjson.decode_max_depth(), a, b, select("#", n.decode("[[[")), n.new().decode("[") == nil`),
    ).toEqual([1000, 1000, null, 'Found too many nested data structures (3) at character 3', 2, true]);
  });
});

describe('round trips', () => {
  it('binary strings survive encode/decode byte for byte', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    const strs: string[] = [];
    let all = '';
    for (let c = 0; c < 256; c++) all += String.fromCharCode(c);
    strs.push(all, '', '\0', '\\u0000', '"\\/');
    for (let i = 0; i < 40; i++) {
      let s = '';
      const n = Math.floor(rnd() * 300);
      for (let k = 0; k < n; k++) s += String.fromCharCode(Math.floor(rnd() * 256));
      strs.push(s);
    }
    const got = runLuaBytes(
      `${PRE}local list = {${strs.map(luaStr).join(',')}}
      local out = {}
      for i, s in ipairs(list) do
        local back = cjson.decode(cjson.encode({s, {k = s}, [3] = {[s] = 1}}))
        local key = next(back[3])
        assert(back[1] == s and back[2].k == s and key == s, "mismatch at " .. i)
        out[i] = back[1]
      end
      return unpack(out)`,
    );
    expect(got.map(latin1)).toEqual(strs);
  });

  it('nested documents survive decode/encode', () => {
    const docs = [
      '[1,2.5,-3e-05,"x",true,false,null,[],{}]',
      '{"a":{"b":[{"c":null},{"d":[1,[2,[3]]]}]}}',
      '["\\u00e9\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u007f"]',
      '[1e+20,1.2345678901234e+14,0.1,-0,9.007199254741e+15]',
    ];
    const got = runLua(`${PRE}local r = {} for i, d in ipairs({${docs.map(luaStr).join(',')}}) do r[i] = cjson.encode(cjson.decode(d)) end return unpack(r)`);
    expect(got).toEqual([
      '[1,2.5,-3e-05,"x",true,false,null,{},{}]',
      '{"a":{"b":[{"c":null},{"d":[1,[2,[3]]]}]}}',
      '["\xc3\xa9\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u007f"]'.replace('\xc3\xa9', 'é'),
      '[1e+20,1.2345678901234e+14,0.1,-0,9.007199254741e+15]',
    ]);
  });

  it('decode(encode(v)) keeps numbers at 14 significant digits', () => {
    expect(lua('return cjson.decode(cjson.encode(1/3)), cjson.decode(cjson.encode(2^53)), cjson.decode(cjson.encode(-1.25e-300))')).toEqual([
      0.33333333333333, 9.007199254741e15, -1.25e-300,
    ]);
  });
});
