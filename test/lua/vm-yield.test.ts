// fengari as patched by scripts/fengari-source.mjs: soft yields (a JS function yielding by
// returning when only VM frames lie between it and lua_resume), and reuse of the dead stack slots
// and CallInfos. The cases mix both yield paths and check what Lua code observes is unchanged.
import { describe, it, expect } from 'vitest';
import { lua, lauxlib, lualib } from 'fengari';

type L = any;
const S = (s: string) => Buffer.from(s);

function newState(): L {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  return L;
}

function load(L: L, code: string): void {
  const b = S(code);
  if (lauxlib.luaL_loadbuffer(L, b, b.length, S('=t')) !== lua.LUA_OK) throw new Error(lua.lua_tojsstring(L, -1));
}

/** Run `code` on a new coroutine, resuming it with `feed(i)` values each time it yields, until it
 *  ends; returns what it yielded and returned, as JS strings. */
function drive(L: L, code: string, feed: (i: number) => string = (i) => `r${i}`): { yields: string[][]; result: string[] } {
  const co = lua.lua_newthread(L);
  load(co, code);
  const yields: string[][] = [];
  let nargs = 0;
  for (let i = 0; i < 1000; i++) {
    const st = lua.lua_resume(co, L, nargs);
    const vals: string[] = [];
    for (let k = 1; k <= lua.lua_gettop(co); k++) vals.push(lua.lua_isstring(co, k) ? lua.lua_tojsstring(co, k) : lua.lua_typename(co, lua.lua_type(co, k)));
    if (st === lua.LUA_OK) {
      lua.lua_pop(L, 1);
      return { yields, result: vals };
    }
    if (st !== lua.LUA_YIELD) throw new Error(vals.join(' '));
    yields.push(vals);
    lua.lua_settop(co, 0);
    lua.lua_pushstring(co, S(feed(i)));
    nargs = 1;
  }
  throw new Error('never ended');
}

/** js_yield(...) yields its arguments the way the ngx API does: `return lua_yield(L, n)`. */
function jsYield(L: L): number {
  return lua.lua_yield(L, lua.lua_gettop(L));
}

/** yields, then (wrongly) pushes a value after lua_yield returned */
function badYield(L: L): number {
  lua.lua_yield(L, 0);
  lua.lua_pushnumber(L, 1);
  return 1;
}

/** yields with a continuation that yields again before returning */
function twoStep(L: L): number {
  lua.lua_pushstring(L, S('first'));
  return lua.lua_yieldk(L, 1, 0, (L2: L) => {
    lua.lua_pushstring(L2, S('second'));
    return lua.lua_yieldk(L2, 1, 0, (L3: L) => {
      lua.lua_pushstring(L3, S('done'));
      return 1;
    });
  });
}

function withApi(L: L): L {
  lua.lua_register(L, S('js_yield'), jsYield);
  lua.lua_register(L, S('bad_yield'), badYield);
  lua.lua_register(L, S('two_step'), twoStep);
  return L;
}

describe('fengari yields', () => {
  it('a JS function called from Lua yields and gets the resume values back', () => {
    const L = withApi(newState());
    const r = drive(L, `
      local a = js_yield("x", 1)
      local b = js_yield("y")
      return a, b`);
    expect(r.yields).toEqual([['x', '1'], ['y']]);
    expect(r.result).toEqual(['r0', 'r1']);
  });

  it('yields by returning: code that runs on after lua_yield is caught', () => {
    const L = withApi(newState());
    expect(() => drive(L, 'bad_yield()')).toThrow(/kept running after lua_yield/);
    // the thread is dead, the state is fine
    expect(drive(L, 'return js_yield("ok")').result).toEqual(['r0']);
  });

  it('yields from tail calls, nested Lua calls and loops', () => {
    const L = withApi(newState());
    const r = drive(L, `
      local function inner(n) return js_yield("in", n) end
      local function mid(n) local v = inner(n) return v .. "!" end
      local acc = {}
      for i = 1, 3 do acc[#acc + 1] = mid(i) end
      return table.concat(acc, ",")`);
    expect(r.yields).toEqual([['in', '1'], ['in', '2'], ['in', '3']]);
    expect(r.result).toEqual(['r0!,r1!,r2!']);
  });

  it('yields inside pcall, metamethods and iterators (the throwing path) still work', () => {
    const L = withApi(newState());
    const r = drive(L, `
      local ok, v = pcall(function() return js_yield("p") end)
      local t = setmetatable({}, { __index = function(_, k) return js_yield("idx", k) end })
      local w = t.key
      local it = 0
      for x in function() it = it + 1 if it <= 2 then return js_yield("it") end end do end
      local ok2, err = pcall(function() js_yield("e") error("boom", 0) end)
      return tostring(ok), v, w, tostring(ok2), err`);
    expect(r.yields).toEqual([['p'], ['idx', 'key'], ['it'], ['it'], ['e']]);
    expect(r.result).toEqual(['true', 'r0', 'r1', 'false', 'boom']);
  });

  it('continuations that yield again', () => {
    const L = withApi(newState());
    const r = drive(L, 'local v = two_step() return v');
    expect(r.yields).toEqual([['first'], ['second']]);
    expect(r.result).toEqual(['done']);
  });

  it('coroutines inside the coroutine yield to their own resumer', () => {
    const L = withApi(newState());
    const r = drive(L, `
      local inner = coroutine.wrap(function(a)
        local b = coroutine.yield(a + 1)
        local c = js_yield("inner", b)
        return c .. "/end"
      end)
      local x = inner(1)
      local y, z = inner(x * 10)
      local w = inner(js_yield("outer"))
      return x, y, z, w`);
    expect(r.yields).toEqual([['outer']]);
    expect(r.result).toEqual(['2', 'inner', '20', 'r0/end']);
  });

  it('errors after a yield unwind and report normally', () => {
    const L = withApi(newState());
    expect(() => drive(L, 'js_yield() local x = nil; return x.field')).toThrow(/attempt to index/);
  });
});

describe('fengari stack and CallInfo reuse', () => {
  it('closures keep their own upvalues while the stack slots are reused', () => {
    const L = newState();
    load(L, `
      local fs = {}
      for i = 1, 10 do local x = i * 2; fs[i] = function() return x end end
      local function mk(v) local x = v; return function() x = x + 1; return x end end
      local a, b = mk(100), mk(200)
      local function grow(n) local p, q, r, s, t, u, v, w = 1, 2, 3, 4, 5, 6, 7, 8; if n > 0 then return grow(n - 1) + p end return q end
      grow(60)
      local s = 0
      for i = 1, 10 do s = s + fs[i]() end
      grow(30)
      return s, a(), a(), b(), grow(5)`);
    expect(lua.lua_pcall(L, 0, lua.LUA_MULTRET, 0)).toBe(lua.LUA_OK);
    expect([1, 2, 3, 4, 5].map((i) => lua.lua_tonumber(L, i))).toEqual([110, 101, 102, 201, 7]);
  });

  it('missing and vararg parameters read as nil in reused slots', () => {
    const L = newState();
    load(L, `
      local function fill(a, b, c, d, e, f) return a end
      local function va(a, b, ...) return tostring(a) .. tostring(b) .. select("#", ...) end
      local function fixed(a, b, c) return tostring(a) .. tostring(b) .. tostring(c) end
      fill(1, 2, 3, 4, 5, 6)
      return va(), va(1), va(1, 2, 3, 4), fixed(), fixed("x"), fixed("x", "y", "z")`);
    expect(lua.lua_pcall(L, 0, lua.LUA_MULTRET, 0)).toBe(lua.LUA_OK);
    const got = [1, 2, 3, 4, 5, 6].map((i) => lua.lua_tojsstring(L, i));
    expect(got).toEqual(['nilnil0', '1nil0', '122', 'nilnilnil', 'xnilnil', 'xyz']);
  });

  it('tracebacks after deep calls and errors name the right frames', () => {
    const L = newState();
    load(L, `
      local function deep(n) if n == 0 then error("bottom") end return deep(n - 1) + 1 end
      local ok = pcall(deep, 200)
      local function f() error("here") end
      local function g() f() end
      local _, tb = xpcall(g, debug.traceback)
      return tostring(ok), tb`);
    expect(lua.lua_pcall(L, 0, lua.LUA_MULTRET, 0)).toBe(lua.LUA_OK);
    expect(lua.lua_tojsstring(L, 1)).toBe('false');
    const tb = lua.lua_tojsstring(L, 2);
    expect(tb).toMatch(/here/);
    expect(tb).toMatch(/t:4: in function 'f'\n\tt:5: in function <t:5>/);
  });
});
