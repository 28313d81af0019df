// fengari's namespaces as plain module bindings. Importing them straight from 'fengari' makes
// esbuild's CommonJS interop read `lua`/`lauxlib` through a getter on every use (`lua.lua_gettop`
// in a hot loop is a getter call plus a property load); bound here once, they are direct
// references everywhere else in the bundle.
import * as fengari from 'fengari';

export const lua = fengari.lua;
export const lauxlib = fengari.lauxlib;
export const lualib = fengari.lualib;
export const to_luastring = fengari.to_luastring;
export const to_jsstring = fengari.to_jsstring;
