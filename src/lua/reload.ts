// Hot reload of Lua code for development mode: edited *_by_lua_file chunks are recompiled and
// edited modules are dropped from package.loaded (with the modules that required them), so the
// next request runs the new code while in-flight requests finish on the code they started with.
// A file that does not compile keeps the last good version serving; the error is logged (and
// shown on 500 pages in development mode).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lua, lauxlib } from './fengari.js';
import { S, bytesToString, pushString, type LuaState } from './bridge.js';
import { runtimeDir, type LuaVM } from './vm.js';

export interface ReloadResult {
  file: string;
  ok: boolean;
  error: string | null;
  /** modules dropped from package.loaded */
  modules: string[];
  /** a *_by_lua_file chunk was replaced */
  chunk: boolean;
}

export class CodeReloader {
  /** module file -> module names loaded from it */
  private readonly modulesByFile = new Map<string, Set<string>>();
  /** the last compile error per file, shown on development 500 pages until fixed */
  readonly errors = new Map<string, string>();

  constructor(
    private readonly vm: LuaVM,
    private readonly watchFile: (file: string) => void,
  ) {
    const L = vm.L;
    lua.lua_pushcfunction(L, (L: LuaState) => {
      const name = bytesToString(lauxlib.luaL_checklstring(L, 1));
      const file = path.resolve(bytesToString(lauxlib.luaL_checklstring(L, 2)));
      let set = this.modulesByFile.get(file);
      if (!set) this.modulesByFile.set(file, (set = new Set()));
      if (!set.has(name)) {
        set.add(name);
        this.watchFile(file);
      }
      return 0;
    });
    lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, S('tsresty.module_loaded'));
    const f = path.join(runtimeDir(), 'tsresty', 'devreload.lua');
    vm.doString(fs.readFileSync(f, 'utf8'), '@' + f);
  }

  /** A watched file changed on disk. */
  fileChanged(file: string): ReloadResult {
    const abs = path.resolve(file);
    const res: ReloadResult = { file: abs, ok: true, error: null, modules: [], chunk: false };
    const err = this.checkSyntax(abs);
    if (err !== null) {
      res.ok = false;
      res.error = err;
      this.errors.set(abs, err);
      return res;
    }
    this.errors.delete(abs);
    res.chunk = this.vm.replaceFileChunk(abs);
    const names = this.modulesByFile.get(abs);
    if (names) for (const n of names) res.modules.push(...this.drop(n));
    return res;
  }

  /** lua_code_cache off: every request starts with the file-backed modules unloaded, as with the
   *  fresh Lua VM per request OpenResty uses then (globals are kept, unlike OpenResty). */
  dropAllModules(): void {
    for (const names of this.modulesByFile.values()) for (const n of names) this.drop(n);
  }

  private checkSyntax(file: string): string | null {
    let code: Buffer;
    try {
      code = fs.readFileSync(file);
    } catch (e) {
      return `cannot read ${file}: ${(e as Error).message}`;
    }
    const L = this.vm.L;
    const st = lauxlib.luaL_loadbuffer(L, code, code.length, S('@' + file));
    const msg = st === lua.LUA_OK ? null : bytesToString(lua.lua_tolstring(L, -1) ?? S('syntax error'));
    lua.lua_pop(L, 1);
    return msg;
  }

  private drop(name: string): string[] {
    const L = this.vm.L;
    lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, S('tsresty.drop_module'));
    pushString(L, name);
    if (lua.lua_pcall(L, 1, 1, 0) !== lua.LUA_OK) {
      lua.lua_pop(L, 1);
      return [];
    }
    const out = bytesToString(lua.lua_tolstring(L, -1) ?? new Uint8Array());
    lua.lua_pop(L, 1);
    return out ? out.split(' ') : [];
  }
}
