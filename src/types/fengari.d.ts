// fengari ships no type declarations; its API mirrors the Lua C API, so it is typed loosely here and
// wrapped by src/lua/ where the project needs precision.
declare module 'fengari' {
  export const lua: any;
  export const lauxlib: any;
  export const lualib: any;
  export function to_luastring(s: string, cache?: boolean): Uint8Array;
  export function to_jsstring(b: Uint8Array, from?: number, to?: number, replacement?: boolean): string;
  export function to_uristring(b: Uint8Array): string;
  export const luaconf: any;
}
