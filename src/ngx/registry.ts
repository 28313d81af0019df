// Registration point for ngx.* API groups and require()-able native modules (cjson, ...).
// Each API module calls `defineNgxApi` at load; src/ngx/index.ts imports them all.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, type JsFn, type LuaState } from '../lua/bridge.js';

/** Installs an API group: called with the `ngx` table on top of the stack; must leave it there. */
export type NgxInstaller = (L: LuaState, env: NgxEnv) => void;

/** What API modules may know about their worker (kept narrow on purpose). */
export interface NgxEnv {
  /** worker-level services, typed by the modules that use them */
  worker: any;
}

const installers: { name: string; fn: NgxInstaller }[] = [];
const preloads: { name: string; open: JsFn }[] = [];

export function defineNgxApi(name: string, fn: NgxInstaller): void {
  installers.push({ name, fn });
}

/** A module for `require(name)` implemented in JS: `open` returns 1 with the module on the stack. */
export function definePreload(name: string, open: JsFn): void {
  preloads.push({ name, open });
}

export function installAll(L: LuaState, env: NgxEnv): void {
  lua.lua_getglobal(L, S('ngx'));
  for (const i of installers) i.fn(L, env);
  lua.lua_pop(L, 1);
  lauxlib.luaL_getsubtable(L, lua.LUA_REGISTRYINDEX, lauxlib.LUA_PRELOAD_TABLE);
  for (const p of preloads) {
    lua.lua_pushcfunction(L, p.open);
    lua.lua_setfield(L, -2, S(p.name));
  }
  lua.lua_pop(L, 1);
}
