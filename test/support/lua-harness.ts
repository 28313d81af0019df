// Runs Lua snippets in a VM with the ngx.* API installed, outside any request: for unit tests of
// API groups whose behaviour does not need a server (codecs, regex, cjson...). Integration tests
// that need requests use test/support/server.ts instead.
// FENGARICONF (LuaJIT-style number printing) is set for every test by vitest.config.ts: it must be
// in the environment before fengari is first imported.
import { lua, lauxlib } from 'fengari';
import { createLuaRuntime } from '../../src/lua/runtime.js';
import { toJs, bytesToString } from '../../src/lua/bridge.js';

let runtime: ReturnType<typeof createLuaRuntime> | null = null;

function rt() {
  if (!runtime) runtime = createLuaRuntime({ packagePath: null, packageCPath: null, prefix: process.cwd() }, null);
  return runtime;
}

/** Run `code` as a chunk on state L and return its results, each converted by `convert`; a Lua
 *  error becomes a thrown Error with its message. */
export function runChunk<T>(L: any, code: string, convert: (L: any, idx: number) => T, name = '=test'): T[] {
  const top = lua.lua_gettop(L);
  const b = Buffer.from(code);
  if (lauxlib.luaL_loadbuffer(L, b, b.length, Buffer.from(name)) !== lua.LUA_OK || lua.lua_pcall(L, 0, lua.LUA_MULTRET, 0) !== lua.LUA_OK) {
    const msg = bytesToString(lua.lua_tolstring(L, -1));
    lua.lua_settop(L, top);
    throw new Error(msg);
  }
  const out: T[] = [];
  for (let i = top + 1; i <= lua.lua_gettop(L); i++) out.push(convert(L, i));
  lua.lua_settop(L, top);
  return out;
}

/** Run `code` as a chunk and return its results converted to JS (strings as JS strings). */
export function runLua(code: string): unknown[] {
  return runChunk(rt().vm.L, code, toJs);
}

/** Like runLua but returns raw bytes of string results (for binary-safety tests). */
export function runLuaBytes(code: string): (Uint8Array | null)[] {
  return runChunk(rt().vm.L, code, (L, i) => (lua.lua_type(L, i) === lua.LUA_TSTRING ? Uint8Array.from(lua.lua_tolstring(L, i)) : null));
}
