// One fengari lua_State per worker. Handler chunks are compiled once and kept in the registry; each
// run happens in a fresh coroutine (see scheduler.ts) so a JS API function can yield it.
import { lua, lauxlib, lualib } from './fengari.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { S, pushString, bytesToString, type LuaState } from './bridge.js';

export class LuaCompileError extends Error {
  readonly code = 'TSRESTY_LUA_COMPILE';
  constructor(message: string, readonly chunkName: string) {
    super(message);
  }
}

/** Directory of the Lua-side runtime (lua/ at the package root, next to dist/). */
export function runtimeDir(): string {
  const candidates = [path.resolve(__dirname, '..', 'lua'), path.resolve(__dirname, '..', '..', 'lua')];
  for (const c of candidates) if (fs.existsSync(path.join(c, 'tsresty', 'compat.lua'))) return c;
  return candidates[0];
}

export interface VmOptions {
  packagePath: string | null; // lua_package_path, ";;" = default path
  packageCPath: string | null;
  prefix: string;
}

/** "$prefix" and "${prefix}" in lua_package_path: nginx's prefix, which always ends with "/"
 *  (so "${prefix}lib/?.lua" and "$prefix/lib/?.lua" both work, the latter with "//"). */
export function expandPrefix(path: string, prefix: string): string {
  const p = prefix.endsWith('/') ? prefix : prefix + '/';
  return path.replace(/\$\{prefix\}|\$prefix/g, () => p);
}

export class LuaVM {
  readonly L: LuaState;
  private readonly chunkRefs = new Map<string, number>();

  constructor(readonly opts: VmOptions) {
    this.L = lauxlib.luaL_newstate();
    lualib.luaL_openlibs(this.L);
    this.setPackagePath();
  }

  /** lua_package_path semantics: ";;" expands to the default path. A Lua path without it still
   *  gets the runtime dir appended (resty-core.ts then insists, like OpenResty, that the path
   *  itself finds resty.core); the C path is left as given. */
  private setPackagePath(): void {
    const L = this.L;
    const rt = runtimeDir();
    const defaults = `${rt}/?.lua;${rt}/?/init.lua;./?.lua;./?/init.lua`;
    const expand = (p: string | null, dflt: string, runtime: string): string => {
      if (p == null) return dflt;
      const prefixed = expandPrefix(p, this.opts.prefix);
      return prefixed.includes(';;') ? prefixed.replace(';;', `;${dflt};`) : prefixed + runtime;
    };
    lua.lua_getglobal(L, S('package'));
    pushString(L, expand(this.opts.packagePath, defaults, `;${rt}/?.lua`));
    lua.lua_setfield(L, -2, S('path'));
    pushString(L, expand(this.opts.packageCPath, '', ''));
    lua.lua_setfield(L, -2, S('cpath'));
    lua.lua_pop(L, 1);
  }

  /** Compile a chunk once; returns a registry reference to the function. Chunk names follow
   *  lua-nginx-module: "=content_by_lua(nginx.conf:12)" for inline code, "@/path" for files. */
  compile(code: Uint8Array, chunkName: string, cacheKey?: string): number {
    const key = cacheKey ?? chunkName + '\0' + bytesToString(code);
    const hit = this.chunkRefs.get(key);
    if (hit !== undefined) return hit;
    const L = this.L;
    const st = lauxlib.luaL_loadbuffer(L, code, code.length, S(chunkName));
    if (st !== lua.LUA_OK) {
      const msg = bytesToString(lua.lua_tolstring(L, -1) ?? S('?'));
      lua.lua_pop(L, 1);
      throw new LuaCompileError(msg, chunkName);
    }
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.chunkRefs.set(key, ref);
    return ref;
  }

  /** Compile a Lua file (for *_by_lua_file); `fresh` bypasses the cache (lua_code_cache off). */
  compileFile(file: string, fresh = false): number {
    const code = fs.readFileSync(file);
    const key = '@' + file;
    if (fresh) {
      const old = this.chunkRefs.get(key);
      if (old !== undefined) {
        lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, old);
        this.chunkRefs.delete(key);
      }
    }
    // A leading "#" line (shebang) is skipped like luaL_loadfile does.
    let body: Uint8Array = code;
    if (body[0] === 0x23) {
      const nl = body.indexOf(0x0a);
      body = nl < 0 ? new Uint8Array() : Buffer.concat([Buffer.from('\n'), body.subarray(nl + 1)]);
    }
    return this.compile(body, '@' + file, key);
  }

  /** The effective package.path (after lua_package_path expansion). */
  packagePath(): string {
    const L = this.L;
    lua.lua_getglobal(L, S('package'));
    lua.lua_getfield(L, -1, S('path'));
    const p = bytesToString(lua.lua_tolstring(L, -1) ?? S(''));
    lua.lua_pop(L, 2);
    return p;
  }

  /** Development mode: a *_by_lua_file changed on disk. If that file was compiled before, compile
   *  it again now so the next request uses it (the caller checked that it compiles). */
  replaceFileChunk(file: string): boolean {
    const key = '@' + file;
    if (!this.chunkRefs.has(key)) return false;
    this.compileFile(file, true);
    return true;
  }

  /** Run a Lua file or string at the top level, synchronously (init-time helpers). */
  doString(code: string, name: string): void {
    const L = this.L;
    const b = Buffer.from(code);
    if (lauxlib.luaL_loadbuffer(L, b, b.length, S(name)) !== lua.LUA_OK || lua.lua_pcall(L, 0, 0, 0) !== lua.LUA_OK) {
      const msg = bytesToString(lua.lua_tolstring(L, -1) ?? S('?'));
      lua.lua_pop(L, 1);
      throw new LuaCompileError(msg, name);
    }
  }
}
