// ngx.re.* semantics (lua-nginx-module + lua-resty-core), run through the Lua harness.
import { describe, it, expect } from 'vitest';
import { runLua, runLuaBytes } from '../support/lua-harness.js';

const R = String.raw;

/** Run Lua code and return its first result. */
function one(code: string): unknown {
  return runLua(code)[0];
}

describe('ngx.re.match', () => {
  it('returns the whole match at [0] and numbered captures', () => {
    expect(runLua(R`local m = ngx.re.match("hello, 1234", "([a-z]+).*?([0-9]{2})[0-9]+") return m[0], m[1], m[2]`)).toEqual(['hello, 1234', 'hello', '12']);
    expect(runLua(R`return ngx.re.match("hello, 1234", "foo")`)).toEqual([null]);
  });

  it('gives false for groups that did not participate and "" for empty ones', () => {
    expect(runLua(R`local m = ngx.re.match("hello, world", "(world)|(hello)|(?<named>howdy)") return m[1], m[2], m[3], m.named`)).toEqual([false, 'hello', false, false]);
    expect(runLua(R`local m = ngx.re.match("hello, 1234", "([0-9]+)(h?)") return m[2], #m`)).toEqual(['', 2]);
  });

  it('names captures both by name and by number', () => {
    expect(runLua(R`local m = ngx.re.match("hello, 1234", "(?<first>[a-z]+), (?P<second>[0-9]+)(?'third'x?)") return m.first, m[1], m.second, m[2], m.third`)).toEqual(['hello', 'hello', '1234', '1234', '']);
  });

  it('collects duplicate names (D) into arrays, skipping unmatched ones', () => {
    expect(one(R`local m = ngx.re.match("hello, 1234", "(?<first>[a-z]+), (?<first>[0-9]+)", "D") return table.concat(m.first, "-")`)).toBe('hello-1234');
    expect(runLua(R`local m = ngx.re.match("test", "^(?:(?<g1>foo)|(?<g2>bar)|(?<g3>test))$", "D") return type(m.g1), type(m.g2), m.g3[1]`)).toEqual(['nil', 'nil', 'test']);
    expect(one(R`local m, err = ngx.re.match("ab", "(?<x>a)(?<x>b)") return err`)).toBe('pcre_compile() failed: two named subpatterns have the same name in "(?<x>a)(?<x>b)" at ">b)"');
  });

  it('supports the i, m, s, x and a options', () => {
    expect(one(R`return ngx.re.match("hello, 1234", "HELLO", "i")[0]`)).toBe('hello');
    expect(one(R`return ngx.re.match("hello, 1234", "HELLO")`)).toBe(null);
    expect(one(R`return ngx.re.match("hello\nworld", "^world", "m")[0]`)).toBe('world');
    expect(one(R`return ngx.re.match("hello\nworld", "^world")`)).toBe(null);
    expect(one(R`return ngx.re.match("hello\nworld", ".*")[0]`)).toBe('hello');
    expect(one(R`return ngx.re.match("hello\nworld", ".*", "s")[0]`)).toBe('hello\nworld');
    expect(one(R`return ngx.re.match("hello\nworld", "\\w     \\w # comment", "x")[0]`)).toBe('he');
    expect(one(R`return ngx.re.match("hello, 1234", "([0-9]+)", "a")`)).toBe(null);
    expect(one(R`return ngx.re.match("1234, hello", "([0-9]+)", "a")[0]`)).toBe('1234');
  });

  it('raises an error for unknown option letters', () => {
    const [ok, err] = runLua(R`return pcall(ngx.re.match, "x", ".*", "Ho")`);
    expect(ok).toBe(false);
    expect(err).toMatch(/unknown flag "H" \(flags "Ho"\)/);
  });

  it('reads and writes ctx.pos as a 1-based byte offset', () => {
    expect(runLua(R`local ctx = {} local m = ngx.re.match("1234, hello", "([0-9]+)", "", ctx) return m[0], ctx.pos`)).toEqual(['1234', 5]);
    expect(runLua(R`local ctx = { pos = 3 } local m = ngx.re.match("1234, hello", "([0-9]+)", "", ctx) return m[0], ctx.pos`)).toEqual(['34', 5]);
    // look-behind sees the text before ctx.pos
    expect(runLua(R`local ctx = {} local a = ngx.re.match("{foobarbaz}", "(?<=foo)bar|(?<=bar)baz", "", ctx) local b = ngx.re.match("{foobarbaz}", "(?<=foo)bar|(?<=bar)baz", "", ctx) return a[0], b[0], ctx.pos`)).toEqual(['bar', 'baz', 11]);
    // a failed match leaves ctx alone; an empty match at the start sets pos to 1
    expect(runLua(R`local ctx = { pos = 2 } local m = ngx.re.match("abc", "z", "", ctx) return m, ctx.pos`)).toEqual([null, 2]);
    expect(runLua(R`local ctx = {} local m = ngx.re.match("hello", "", "", ctx) return m[0], ctx.pos`)).toEqual(['', 1]);
    // past the end: PCRE's bad offset error
    expect(runLua(R`return ngx.re.match("abc", "z", "", { pos = 10 })`)).toEqual([null, 'pcre_exec() failed: -24']);
  });

  it('fills a caller-provided result table (5th argument) without clearing it', () => {
    expect(runLua(R`local res = {} local s = "hello, 1234"
      local m = ngx.re.match(s, [[(\d)(\d)]], "o", nil, res) local a = #res
      m = ngx.re.match(s, [[(\d)]], "o", nil, res)
      return a, #m, rawequal(m, res), res[0]`)).toEqual([2, 2, true, '1']);
    expect(runLua(R`local ctx, m = { pos = 5 }, {} local r = ngx.re.match("20172016-11-3 03:07:09", [=[(\d\d\d\d)]=], "", ctx, m) return m[0], r[0], ctx.pos`)).toEqual(['2016', '2016', 9]);
  });

  it('returns nil plus the error for bad patterns', () => {
    expect(runLua(R`return ngx.re.match("hello", "(abc")`)).toEqual([null, 'pcre_compile() failed: missing ) in "(abc"']);
    expect(runLua(R`return ngx.re.match("hello", "(abc", "o")`)).toEqual([null, 'pcre_compile() failed: missing ) in "(abc"']);
  });

  it('converts a non-string subject with tostring()', () => {
    expect(one(R`return ngx.re.match(12345, "3(4)")[1]`)).toBe('4');
    expect(one(R`return ngx.re.match(nil, "^nil$")[0]`)).toBe('nil');
  });

  it('DFA mode (d) returns the longest match and no sub-captures', () => {
    expect(runLua(R`local m = ngx.re.match("hello", "(he|hell)", "d") return m[0], m[1]`)).toEqual(['hell', null]);
    expect(one(R`return ngx.re.match("hello", "(he|hell)", "j")[0]`)).toBe('he');
    expect(runLua(R`return ngx.re.find("This is <something> <something else> <something further> no more", "<.*?>", "d")`)).toEqual([9, 56]);
    // PCRE's DFA matcher does not do backreferences
    expect(runLua(R`return ngx.re.match("aa", "(a)\\1", "d")`)).toEqual([null, 'pcre_exec() failed: -16']);
  });

  it('J (JavaScript compatible) mode accepts \\uHHHH', () => {
    expect(one(R`return ngx.re.match("章", [[\u7AE0]], "uJ")[0]`)).toBe('章');
    expect(runLua(R`return ngx.re.match("章", [[\u7AE0]], "u")`)[1]).toBe('pcre_compile() failed: PCRE does not support \\L, \\l, \\N{name}, \\U, or \\u in "\\u7AE0" at "7AE0"');
  });
});

describe('bytes and UTF-8', () => {
  it('works on bytes without u: "." is one byte, offsets are byte offsets', () => {
    expect(runLua(R`local m = ngx.re.match("你好", ".") return #m[0]`)).toEqual([1]);
    expect(runLua(R`return ngx.re.find("héllo wörld", "w")`)).toEqual([8, 8]);
    // a UTF-8 literal in the pattern matches its bytes
    expect(runLua(R`return ngx.re.find("abc章亦春", "亦")`)).toEqual([7, 9]);
  });

  it('u mode matches characters and still reports byte offsets', () => {
    expect(one(R`return ngx.re.match("你好", ".", "u")[0]`)).toBe('你');
    expect(one(R`return ngx.re.match("hello章亦春", "HELLO.{2}", "iu")[0]`)).toBe('hello章亦');
    expect(runLua(R`return ngx.re.find("你好world", "w", "u")`)).toEqual([7, 7]);
    expect(runLua(R`local ctx = {} ngx.re.match("你好world", "好", "u", ctx) return ctx.pos`)).toEqual([7]);
    expect(runLua(R`local ctx = { pos = 4 } local m = ngx.re.match("你好你", ".", "u", ctx) return m[0], ctx.pos`)).toEqual(['好', 7]);
    // astral characters are one character
    expect(runLua(R`local m = ngx.re.match("a😀b", "a(.)b", "u") return #m[1]`)).toEqual([4]);
    expect(runLua(R`return ngx.re.gsub("😀x😀", ".", "[$0]", "u")`)).toEqual(['[😀][x][😀]', 3]);
  });

  it('u checks the subject; U does not', () => {
    expect(runLua(R`local it = ngx.re.gmatch(string.sub("你好", 1, 4), "你好", "u") return it()`)).toEqual([null, 'pcre_exec() failed: -10']);
    expect(runLua(R`return ngx.re.gsub(string.sub("你好", 1, 4), "你好", "", "u")`)).toEqual([null, null, 'pcre_exec() failed: -10']);
    // a start offset inside a character
    expect(runLua(R`return ngx.re.match("你好", ".", "u", { pos = 2 })`)).toEqual([null, 'pcre_exec() failed: -11']);
    expect(runLua(R`return ngx.re.gsub("你好", ".", "a", "U")`)).toEqual(['aa', 2]);
    // U with invalid bytes: they stay bytes, and offsets stay right
    const out = runLuaBytes(R`local s = "a\255b你" local m = ngx.re.match(s, "a(.)b(.)", "U") return m[1], m[2]`);
    expect(Array.from(out[0]!)).toEqual([255]);
    expect(Buffer.from(out[1]!).toString()).toBe('你');
    expect(runLua(R`return ngx.re.find("\255\254xy", "x", "U")`)).toEqual([3, 3]);
  });

  it('rejects invalid UTF-8 in a u pattern', () => {
    expect(runLua(R`return ngx.re.match("x", "a\255", "u")`)[1]).toBe('pcre_compile() failed: invalid UTF-8 string in "a\uFFFD" at "\uFFFD"');
  });

  it('keeps non-ASCII bytes intact in byte mode, including \\x80-\\x9f', () => {
    const out = runLuaBytes(R`return (ngx.re.gsub("\128\159\160\255", "[\x80-\x9f]", "-"))`);
    expect(Array.from(out[0]!)).toEqual([0x2d, 0x2d, 0xa0, 0xff]);
    expect(runLua(R`return ngx.re.find("\128\159", "\\x9f")`)).toEqual([2, 2]);
  });

  it('byte mode: \\s is ASCII whitespace only and caseless folding is ASCII only', () => {
    expect(one(R`return ngx.re.match("\160", "\\s")`)).toBe(null);
    expect(one(R`return ngx.re.match("\t\v", "\\s+")[0]`)).toBe('\t\v');
    expect(one(R`return ngx.re.match("\233", "\201", "i")`)).toBe(null);
  });
});

describe('ngx.re.find', () => {
  it('returns 1-based inclusive byte offsets', () => {
    expect(runLua(R`return ngx.re.find("hello, 1234", "([0-9]+)", "jo")`)).toEqual([8, 11]);
    expect(runLua(R`return ngx.re.find("hello, 1234", "foo")`)).toEqual([null]);
    expect(runLua(R`return ngx.re.find("hello", "(abc")`)).toEqual([null, null, 'pcre_compile() failed: missing ) in "(abc"']);
  });

  it('reports the nth capture', () => {
    expect(runLua(R`return ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo", nil, 1)`)).toEqual([8, 8]);
    expect(runLua(R`return ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo", nil, 2)`)).toEqual([9, 11]);
    expect(runLua(R`return ngx.re.find("hello, 1234", "([0-9])([0-9]+)", "jo", nil, 3)`)).toEqual([null, null, 'nth out of bound']);
    expect(runLua(R`return ngx.re.find("hello, 1234", "([0-9])|(hello world)", "jo", nil, 2)`)).toEqual([null, null]);
    expect(runLua(R`return ngx.re.find("a你好b", "(好)", "u", nil, 1)`)).toEqual([5, 7]);
    // a possessive quantifier adds a helper group: PCRE numbering is kept
    expect(runLua(R`return ngx.re.find("xaab", "a++(b)", "", nil, 1)`)).toEqual([4, 4]);
  });

  it('updates ctx.pos', () => {
    expect(runLua(R`local ctx = { pos = 3 } local f, t = ngx.re.find("1234, hello", "([0-9]+)", "", ctx) return f, t, ctx.pos`)).toEqual([3, 4, 5]);
  });
});

describe('ngx.re.gmatch', () => {
  it('iterates over matches, then keeps returning nil', () => {
    expect(one(R`local t = {} for m in ngx.re.gmatch("hello, world", "[a-z]+") do t[#t + 1] = m[0] end return table.concat(t, ",")`)).toBe('hello,world');
    expect(runLua(R`local it = ngx.re.gmatch("hello, world!", "[a-z]+") local a, b = it()[0], it()[0] return a, b, it(), it()`)).toEqual(['hello', 'world', null, null]);
  });

  it('steps over empty matches one byte at a time', () => {
    expect(one(R`local t = {} for m in ngx.re.gmatch("abc", "") do t[#t + 1] = "[" .. m[0] .. "]" end return table.concat(t)`)).toBe('[][][][]');
    expect(one(R`local t = {} for m in ngx.re.gmatch("ab1", "[0-9]*") do t[#t + 1] = "[" .. m[0] .. "]" end return table.concat(t)`)).toBe('[][][1][]');
  });

  it('anchors each iteration with a', () => {
    expect(runLua(R`local it = ngx.re.gmatch("12 hello 34", "[0-9]", "a") return it()[0], it()[0], it()`)).toEqual(['1', '2', null]);
  });

  it('gives captures and named captures', () => {
    expect(runLua(R`local it = ngx.re.gmatch("1234, 5678", "(?<first>[0-9])[0-9]+") local a = it() local b = it() return a[0], a.first, b[0], b[1]`)).toEqual(['1234', '1', '5678', '5']);
  });

  it('returns nil and the error for a bad pattern', () => {
    expect(runLua(R`return ngx.re.gmatch("hello", "(abc")`)).toEqual([null, 'pcre_compile() failed: missing ) in "(abc"']);
  });

  it('DFA mode gives the longest match at each position', () => {
    expect(one(R`local t = {} for m in ngx.re.gmatch("hello, halo", "h[a-z]|h[a-z][a-z]", "dj") do t[#t + 1] = m[0] end return table.concat(t, ",")`)).toBe('hel,hal');
  });
});

describe('ngx.re.sub / gsub', () => {
  it('expands $0 $N ${N} and $$ in templates', () => {
    expect(runLua(R`return ngx.re.sub("a b c d", "(b) (c)", "[$0] [$1] [$2] [$3] [$134]")`)).toEqual(['a [b c] [b] [c] [] [] d', 1]);
    expect(runLua('return ngx.re.sub("hello, 1234", "[0-9]", "${0}00")')).toEqual(['hello, 100234', 1]);
    expect(runLua(R`return ngx.re.sub("hello, world", "[a-z]+", "ho$$wdy")`)).toEqual(['ho$wdy, world', 1]);
    expect(runLua(R`return ngx.re.sub("abc", "(b)", "$1x")`)).toEqual(['abxc', 1]);
    expect(runLua(R`return ngx.re.gsub("hello, world", "([a-z])[a-z]+", "[$0,$1]")`)).toEqual(['[hello,h], [world,w]', 2]);
  });

  it('rejects bad templates like lua-nginx-module', () => {
    for (const tpl of ['[$hello]', '[${hello}]', '[${', '[$', '[${134]', '[${134', '$ x', '${}']) {
      expect(runLua(`return ngx.re.sub("b c d", "(b) (c)", ${JSON.stringify(tpl)})`)).toEqual([null, null, 'failed to compile the replacement template']);
    }
  });

  it('returns the subject and 0 when nothing matches', () => {
    expect(runLua(R`return ngx.re.sub("hello, world", "[A-Z]+", "howdy")`)).toEqual(['hello, world', 0]);
    expect(runLua(R`return ngx.re.gsub("hello, 1234", "[0-9]", "x", "a")`)).toEqual(['hello, 1234', 0]);
  });

  it('accepts a number as replacement', () => {
    expect(runLua(R`return ngx.re.sub("hello, 34", "([0-9])", 72)`)).toEqual(['hello, 724', 1]);
  });

  it('calls a replacement function with the captures table', () => {
    expect(runLua(R`return ngx.re.gsub("hello, world", "(?<first>[a-z])[a-z]+", function(m) return "[" .. m[0] .. "," .. m.first .. "]" end)`)).toEqual(['[hello,h], [world,w]', 2]);
    expect(runLua(R`local seen = {} local s, n = ngx.re.gsub("hello, 34", "([0-9])|(world)", function(m) seen[#seen + 1] = tostring(m[2]) return "[" .. m[1] .. "]" end) return s, n, table.concat(seen, ",")`)).toEqual(['hello, [3][4]', 2, 'false,false']);
    // the result goes through tostring()
    expect(runLua(R`return ngx.re.gsub("ab", "b", function() return nil end)`)).toEqual(['anil', 1]);
    expect(runLua(R`return ngx.re.gsub("ab", "b", function() return 7 end)`)).toEqual(['a7', 1]);
  });

  it('handles empty matches like lua-resty-core', () => {
    expect(runLua(R`return ngx.re.gsub("hello", "a|", function() return "b" end)`)).toEqual(['bhbeblblbob', 6]);
    expect(runLua(R`return ngx.re.gsub("", "a|", "b")`)).toEqual(['b', 1]);
    expect(runLua(R`return ngx.re.sub("abcd", "(?=c)", ".")`)).toEqual(['ab.cd', 1]);
    expect(runLua(R`return ngx.re.gsub("abc", "x*", "-")`)).toEqual(['-a-b-c-', 4]);
  });

  it('can be called recursively from a replacement function', () => {
    expect(one(R`local data = "OUTER {FIRST} {SECOND}"
      return (ngx.re.gsub(data, "(OUTER)(.+)", function(m)
        local r = ngx.re.gsub(m[2], "{([A-Z]+)}", function(m2) return "<" .. m2[1] .. ">" end)
        return m[1] .. r
      end))`)).toBe('OUTER <FIRST> <SECOND>');
  });

  it('propagates errors raised by the replacement function', () => {
    const [ok, err] = runLua(R`return pcall(ngx.re.gsub, "abc", "b", function() error("boom") end)`);
    expect(ok).toBe(false);
    expect(err).toMatch(/boom/);
    // and the module still works afterwards
    expect(runLua(R`return ngx.re.gsub("abc", "b", "x")`)).toEqual(['axc', 1]);
  });

  it('builds big results', () => {
    expect(runLua(R`local subj = string.rep("a", 8000) .. string.rep("b", 1000) .. string.rep("a", 8000) .. string.rep("b", 1000) .. "aaa"
      local s, n = ngx.re.gsub(subj, "b(b+)(b)", "$1 $2") return #s, n, s:sub(7999, 8002), s:sub(8998, 9001)`)).toEqual([18003, 2, 'aabb', 'b ba']);
  });

  it('returns nil, nil, err for bad patterns', () => {
    expect(runLua(R`return ngx.re.sub("hello", "(abc", "")`)).toEqual([null, null, 'pcre_compile() failed: missing ) in "(abc"']);
  });

  it('DFA mode replaces the longest matches', () => {
    expect(runLua(R`return ngx.re.gsub("hello, 1234 5678", "[0-9]|[0-9][0-9]", "world", "do")`)).toEqual(['hello, worldworld worldworld', 4]);
  });
});

describe('require "ngx.re"', () => {
  it('splits', () => {
    expect(one(R`local re = require "ngx.re" return table.concat(re.split("a,b,c", ","), "|")`)).toBe('a|b|c');
    expect(one(R`local re = require "ngx.re" local r = re.split("a,b,,c,,", ",") return #r .. ":" .. table.concat(r, "|")`)).toBe('4:a|b||c');
    expect(one(R`local re = require "ngx.re" return table.concat(re.split("abc", ""), "|")`)).toBe('a|b|c');
    expect(one(R`local re = require "ngx.re" return table.concat(re.split("a1b2c", "([0-9])"), "|")`)).toBe('a|1|b|2|c');
    expect(one(R`local re = require "ngx.re" return table.concat(re.split(",a,b", ","), "|")`)).toBe('|a|b');
  });

  it('splits with max, ctx and a result table', () => {
    expect(one(R`local re = require "ngx.re" return table.concat(re.split("a,b,c,d", ",", nil, nil, 2), "|")`)).toBe('a|b,c,d');
    expect(one(R`local re = require "ngx.re" local r = re.split("a,b,,", ",", nil, nil, 10) return #r .. ":" .. table.concat(r, "|")`)).toBe('4:a|b||');
    expect(one(R`local re = require "ngx.re" return table.concat(re.split("a,b,c", ",", nil, { pos = 3 }), "|")`)).toBe('b|c');
    expect(runLua(R`local re = require "ngx.re" local res = { "x", "y", "z", "w" } local r = re.split("a,b", ",", nil, nil, nil, res) return rawequal(r, res), r[1], r[2], r[3], r[4]`)).toEqual([true, 'a', 'b', null, 'w']);
    expect(runLua(R`local re = require "ngx.re" return re.split("a", "(", "")`)).toEqual([null, 'pcre_compile() failed: missing ) in "("']);
    expect(runLua(R`local re = require "ngx.re" return pcall(re.split, "a", ",", nil, nil, nil, "bad")`)[1]).toMatch(/res is not a table/);
  });

  it('has opt()', () => {
    expect(runLua(R`local re = require "ngx.re" return pcall(re.opt, "nope", 1)`)[1]).toMatch(/unrecognized option name/);
  });
});

describe('PCRE features', () => {
  it('anchors: $ also matches before a final newline, \\z does not, \\A and \\Z', () => {
    expect(one(R`return ngx.re.match("abc\n", "c$") ~= nil`)).toBe(true);
    expect(one(R`return ngx.re.match("abc\n", "c\\z")`)).toBe(null);
    expect(one(R`return ngx.re.match("abc\n", "c\\Z") ~= nil`)).toBe(true);
    expect(one(R`return ngx.re.match("abc\nd", "c$")`)).toBe(null);
    expect(one(R`return ngx.re.match("abc\nd", "c$", "m") ~= nil`)).toBe(true);
    expect(one(R`return ngx.re.match("x\nabc", "\\Aabc")`)).toBe(null);
    // ^ in multi-line mode does not match after a final newline
    expect(one(R`return #ngx.re.gsub("a\nb\n", "^", "-", "m")`)).toBe(6);
  });

  it('. does not match \\n but matches \\r', () => {
    expect(one(R`return ngx.re.match("a\rb", "a.b")[0]`)).toBe('a\rb');
    expect(one(R`return ngx.re.match("a\nb", "a.b")`)).toBe(null);
    expect(one(R`return ngx.re.match("a\nb", "a\\Nb", "s")`)).toBe(null);
  });

  it('inline options, global and group-scoped', () => {
    expect(one(R`return ngx.re.match("HELLO", "(?i)hello")[0]`)).toBe('HELLO');
    expect(one(R`return ngx.re.match("aB", "a(?i)b")[0]`)).toBe('aB');
    expect(one(R`return ngx.re.match("AB", "a(?i)b")`)).toBe(null);
    expect(one(R`return ngx.re.match("aBc", "a(?i:b)c")[0]`)).toBe('aBc');
    expect(one(R`return ngx.re.match("aBC", "a(?i:b)c")`)).toBe(null);
    // an option set in one branch carries on into the next branches of the same group
    expect(one(R`return ngx.re.match("C", "(x(?i)y|c)")[0]`)).toBe('C');
    expect(one(R`return ngx.re.match("C", "(x|(?i)y|c)")[0]`)).toBe('C');
    expect(one(R`return ngx.re.match("C", "((?i)x|y)c")`)).toBe(null);
    expect(one(R`return ngx.re.match("ABC", "(?-i:a)bc", "i")`)).toBe(null);
    expect(one(R`return ngx.re.match("aBC", "(?-i:a)bc", "i")[0]`)).toBe('aBC');
    expect(one(R`return ngx.re.match("a\nb", "(?s)a.b")[0]`)).toBe('a\nb');
    expect(one(R`return ngx.re.match("a\nb", "(?m)^b$")[0]`)).toBe('b');
    expect(one(R`return ngx.re.match("ab", "(?x) a  b # c")[0]`)).toBe('ab');
    expect(one(R`return ngx.re.match("aaa", "(?U)a+")[0]`)).toBe('a');
    expect(one(R`return ngx.re.match("aaa", "(?U)a+?")[0]`)).toBe('aaa');
  });

  it('atomic groups and possessive quantifiers do not backtrack', () => {
    expect(one(R`return ngx.re.match("aaa", "a++a")`)).toBe(null);
    expect(one(R`return ngx.re.match("aaa", "a+a")[0]`)).toBe('aaa');
    expect(one(R`return ngx.re.match("abc", "(?>a|ab)c")`)).toBe(null);
    expect(runLua(R`local m = ngx.re.match("xaby", "(?>(a))(b)") return m[1], m[2]`)).toEqual(['a', 'b']);
    expect(one(R`return ngx.re.match("foobar", "(?>fo+)bar")[0]`)).toBe('foobar');
  });

  it('backreferences: numbered, relative and named', () => {
    expect(one(R`return ngx.re.match("abab", "(ab)\\1")[0]`)).toBe('abab');
    expect(one(R`return ngx.re.match("abab", "(ab)\\g{-1}")[0]`)).toBe('abab');
    expect(one(R`return ngx.re.match("abab", "(?<x>ab)\\k<x>")[0]`)).toBe('abab');
    expect(one(R`return ngx.re.match("abab", "(?P<x>ab)(?P=x)")[0]`)).toBe('abab');
    expect(one(R`return ngx.re.match("ABab", "(ab)\\1", "i")[0]`)).toBe('ABab');
  });

  it('character classes: POSIX, \\h \\v \\R, escapes, ]', () => {
    expect(one(R`return ngx.re.match("ab12", "[[:alpha:]]+")[0]`)).toBe('ab');
    expect(one(R`return ngx.re.match("ab12", "[[:^alpha:]]+")[0]`)).toBe('12');
    expect(one(R`return ngx.re.match("AB", "[[:lower:]]+", "i")[0]`)).toBe('AB');
    expect(one(R`return ngx.re.match("a]b", "[]a]+")[0]`)).toBe('a]');
    expect(one(R`return ngx.re.match("a \tb", "a\\h+b")[0]`)).toBe('a \tb');
    expect(one(R`return ngx.re.match("a\r\nb", "a\\Rb")[0]`)).toBe('a\r\nb');
    expect(one(R`return ngx.re.match("a\nb", "a\\vb")[0]`)).toBe('a\nb');
    expect(one(R`return ngx.re.match("a-b", "[\\w-]+")[0]`)).toBe('a-b');
    expect(one(R`return ngx.re.match("AB", "\\x41\\x{42}")[0]`)).toBe('AB');
    expect(one(R`return ngx.re.match("A\1", "\\101\\cA")[0]`)).toBe('A\u0001');
    expect(one(R`return ngx.re.match("a.b*", "\\Qa.b*\\E")[0]`)).toBe('a.b*');
    expect(one(R`return ngx.re.match("axb", "\\Qa.b*\\E")`)).toBe(null);
    expect(one(R`return ngx.re.match("x{1,", "x{1,")[0]`)).toBe('x{1,');
    expect(one(R`return ngx.re.match("x{,2}", "x{,2}")[0]`)).toBe('x{,2}');
  });

  it('Unicode properties in byte and UTF-8 mode', () => {
    expect(one(R`return ngx.re.match("abc1", "\\pL+")[0]`)).toBe('abc');
    expect(one(R`return ngx.re.match("你好1", "\\p{Han}+", "u")[0]`)).toBe('你好');
    expect(one(R`return ngx.re.match("你好1", "\\P{Han}", "u")[0]`)).toBe('1');
  });

  it('(*UTF8) at the start turns UTF-8 mode on', () => {
    expect(one(R`return ngx.re.match("你好", "(*UTF8).")[0]`)).toBe('你');
  });

  it('regressions found by differential fuzzing against libpcre2', () => {
    // a quantifier after an atomic group applies to the whole group
    expect(one(R`return ngx.re.match("xy", "(?>a)*x")[0]`)).toBe('x');
    expect(one(R`return ngx.re.match("b", "(?>\\b)??b")[0]`)).toBe('b');
    // X? takes an empty match of X (JS would skip it): the group is set, alternatives keep order
    expect(runLua(R`local m = ngx.re.match("b", "(a*)?b") return m[1]`)).toEqual(['']);
    expect(runLua(R`local m = ngx.re.match("_-", "(?:(?:x.|\\h?+)?+|-)?") return m[0]`)).toEqual(['']);
    // \N followed by a counted repeat
    expect(one(R`return ngx.re.match("abc", "\\N{2}")[0]`)).toBe('ab');
    // \p is never caseless, even next to a caseless group
    expect(one(R`return ngx.re.match("éB", "(?i:x)?\\p{Lu}", "u")[0]`)).toBe('B');
    // zero-width matches never start inside a surrogate pair (V8 scans by code unit)
    expect(runLua(R`return ngx.re.find("a😀b", "\\B", "u")`)).toEqual([null]);
    expect(runLua(R`return ngx.re.find("a😀", "(?![\\s\\S])", "u")`)).toEqual([6, 5]);
  });

  it('(*FAIL) and comments', () => {
    expect(one(R`return ngx.re.match("ab", "a(*FAIL)|ab")[0]`)).toBe('ab');
    expect(one(R`return ngx.re.match("ab", "a(?#comment)b")[0]`)).toBe('ab');
  });
});

describe('compile errors use PCRE wording', () => {
  const cases: [string, string][] = [
    ['(abc', 'missing ) in "(abc"'],
    ['([0-9]+', 'missing ) in "([0-9]+"'],
    ['abc)', 'unmatched parentheses in "abc)" at ")"'],
    ['*a', 'nothing to repeat in "*a" at "*a"'],
    ['a**', 'nothing to repeat in "a**" at "*"'],
    ['[a', 'missing terminating ] for character class in "[a"'],
    ['[z-a]', 'range out of order in character class in "[z-a]" at "a]"'],
    ['a{3,2}', 'numbers out of order in {} quantifier in "a{3,2}" at "}"'],
    ['a{70000}', 'number too big in {} quantifier in "a{70000}" at "}"'],
    ['(?z)', 'unrecognized character after (? or (?- in "(?z)" at "z)"'],
    ['[[:foo:]]', 'unknown POSIX class name in "[[:foo:]]" at "foo:]]"'],
    ['[:alpha:]', 'POSIX named classes are supported only within a class in "[:alpha:]" at "[:alpha:]"'],
    ['(a)\\2', 'reference to non-existent subpattern in "(a)\\2"'],
    ['a\\', '\\ at end of pattern in "a\\"'],
    ['\\x{100}', 'character value in \\x{} or \\o{} is too large in "\\x{100}" at "}"'],
    ['(?<1a>x)', 'group name must start with a non-digit in "(?<1a>x)" at "1a>x)"'],
    ['(?P<n', 'syntax error in subpattern name (missing terminator) in "(?P<n"'],
    ['\\p{Foo}', 'unknown property name after \\P or \\p in "\\p{Foo}"'],
    ['(?#abc', 'missing ) after comment in "(?#abc"'],
    ['[a-\\d]', 'invalid range in character class in "[a-\\d]" at "d]"'],
  ];
  for (const [pat, msg] of cases) {
    it(pat, () => {
      expect(runLua(`return ngx.re.match("x", ${JSON.stringify(pat)})`)).toEqual([null, 'pcre_compile() failed: ' + msg]);
    });
  }

  it('says what tsresty cannot run', () => {
    expect(runLua(R`return ngx.re.match("x", "(a(?1))")`)[1]).toMatch(/^pcre_compile\(\) failed: recursion and subroutine calls are not supported/);
    expect(runLua(R`return ngx.re.match("x", "(?(1)a|b)")`)[1]).toMatch(/conditional groups/);
  });

  it('limits nesting like PCRE', () => {
    expect(runLua(`return ngx.re.match("a", string.rep("(", 300) .. "a" .. string.rep(")", 300))`)[1]).toMatch(/^pcre_compile\(\) failed: parentheses are too deeply nested in/);
    expect(runLua(`return ngx.re.match("a", string.rep("(", 200) .. "a" .. string.rep(")", 200))[200]`)[0]).toBe('a');
  });

  it('truncates long messages to 127 bytes like lua-resty-core', () => {
    const err = runLua(`return select(2, ngx.re.match("x", "(" .. string.rep("a", 200)))`)[0] as string;
    expect(err.length).toBe(127);
    expect(err.startsWith('pcre_compile() failed: missing ) in "(aaa')).toBe(true);
  });
});

describe('compiled regex cache', () => {
  it('gives the same results when a pattern is reused with different options', () => {
    expect(runLua(R`local a = ngx.re.match("hello, 1234", "([A-Z]+)", "io") local b = ngx.re.match("hi, 1234", "([A-Z]+)", "o") local c = ngx.re.match("OK", "([A-Z]+)", "o")
      return a[0], b, c[0]`)).toEqual(['hello', null, 'OK']);
    expect(one(R`local n = 0 for i = 1, 200 do if ngx.re.find("x" .. i, "x(" .. i .. ")") then n = n + 1 end end return n`)).toBe(200);
  });
});

describe('replacement functions that yield', () => {
  it('resume the substitution where it stopped', () => {
    expect(runLua(R`local co = coroutine.wrap(function()
        return ngx.re.gsub("a1b2c", "[0-9]", function(m) local r = coroutine.yield(m[0]) return "<" .. r .. ">" end)
      end)
      local y1 = co()
      local y2 = co("x")
      local s, n = co("y")
      return y1, y2, s, n`)).toEqual(['1', '2', 'a<x>b<y>c', 2]);
  });
});
