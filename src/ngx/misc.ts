// ngx.config, `require "ngx"`, and the installer that puts the LuaJIT-compatible library
// replacements into each new VM (tsresty runs LuaJIT code on fengari, Lua 5.3 in JS). The pieces:
// - src/lua/fengari-patches.ts: VM-level patches, applied once at import, imported first below;
// - src/lua/luajit-number.ts: LuaJIT's number formatting and truncations;
// - compat-string.ts (string.format, gsub), compat-base.ts (tonumber, collectgarbage, gcinfo,
//   newproxy), compat-math-os.ts (math, os.date/os.time/os.clock), compat-table-bit.ts (bit, table.*),
//   compat-io.ts (io, os.execute).
// lua/tsresty/compat.lua is the Lua half and runs after these natives are installed.
//
// Evaluating this module applies the VM patches (its first import), at the same point of module
// evaluation as when they lived here; runtime.ts imports ngx/index.js, which imports this module,
// before it creates any lua_State. (cjson-common.ts captures ltable.luaH_setint at its import, so
// whether cjson sees the patched function depends on which of the two is evaluated first.)
import '../lua/fengari-patches.js';
import { lua } from '../lua/fengari.js';
import { S, pushBytes, setLoaded, type LuaState } from '../lua/bridge.js';
import { asciiBytes } from '../lua/luajit-number.js';
import { defineNgxApi, type NgxEnv } from './registry.js';
import { strFormat, gsubCompat } from './compat-string.js';
import { luaTonumber, collectGarbage, gcinfo, newproxy } from './compat-base.js';
import {
  mathFloor, mathCeil, mathAbs, mathFmod, mathModf, mathLdexp, mathFrexp, mathRandom, mathRandomseed, osDate, osTime,
  osClock,
} from './compat-math-os.js';
import {
  openBit, tableNew, tableClear, tableNkeys, tableIsempty, tableIsarray, tableClone, tableInsert, tableRemove,
} from './compat-table-bit.js';
import { installIo, osExecute } from './compat-io.js';

// time.ts imports asciiBytes from here
export { asciiBytes };

// ---------------------------------------------------------------------------------------------
// ngx.config

const NGINX_VERSION = 1022001;
const NGX_LUA_VERSION = 10023;
const CONFIGURE_ARGS =
  ' --prefix=/usr/local/openresty/nginx --with-cc-opt=-O2 --add-module=../ngx_devel_kit-0.3.2' +
  ' --add-module=../echo-nginx-module-0.63 --add-module=../set-misc-nginx-module-0.33' +
  ' --add-module=../headers-more-nginx-module-0.34 --add-module=../ngx_lua-0.10.23 --with-http_ssl_module';

function configPrefix(env: NgxEnv): string {
  const p: string = env.worker?.conf?.prefix ?? process.cwd();
  return p.endsWith('/') ? p : p + '/';
}

// ---------------------------------------------------------------------------------------------
// installation

function setGlobalFn(L: LuaState, table: string | null, name: string, fn: (L: LuaState) => number): void {
  if (table === null) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setglobal(L, S(name));
    return;
  }
  lua.lua_getglobal(L, S(table));
  lua.lua_pushcfunction(L, fn);
  lua.lua_setfield(L, -2, S(name));
  lua.lua_pop(L, 1);
}

defineNgxApi('misc', (L, env) => {
  // ngx.config (the ngx table is on top of the stack)
  lua.lua_createtable(L, 0, 8);
  pushBytes(L, S('http'));
  lua.lua_setfield(L, -2, S('subsystem'));
  lua.lua_pushboolean(L, 0);
  lua.lua_setfield(L, -2, S('debug'));
  lua.lua_pushnumber(L, NGINX_VERSION);
  lua.lua_setfield(L, -2, S('nginx_version'));
  lua.lua_pushnumber(L, NGX_LUA_VERSION);
  lua.lua_setfield(L, -2, S('ngx_lua_version'));
  const prefix = asciiBytes(configPrefix(env));
  lua.lua_pushcfunction(L, (L2: LuaState) => {
    pushBytes(L2, prefix);
    return 1;
  });
  lua.lua_setfield(L, -2, S('prefix'));
  lua.lua_pushcfunction(L, (L2: LuaState) => {
    pushBytes(L2, S(CONFIGURE_ARGS));
    return 1;
  });
  lua.lua_setfield(L, -2, S('nginx_configure'));
  lua.lua_setfield(L, -2, S('config'));

  setLoaded(L, 'ngx'); // require "ngx" returns the ngx table, as in OpenResty

  // library replacements
  setGlobalFn(L, 'string', 'format', strFormat);
  lua.lua_getglobal(L, S('string'));
  lua.lua_getfield(L, -1, S('gsub'));
  lua.lua_pushcclosure(L, gsubCompat, 1);
  lua.lua_setfield(L, -2, S('gsub'));
  lua.lua_pop(L, 1);
  setGlobalFn(L, null, 'tonumber', luaTonumber);
  setGlobalFn(L, null, 'collectgarbage', collectGarbage);
  setGlobalFn(L, null, 'gcinfo', gcinfo);
  setGlobalFn(L, null, 'newproxy', newproxy);
  setGlobalFn(L, 'math', 'floor', mathFloor);
  setGlobalFn(L, 'math', 'ceil', mathCeil);
  setGlobalFn(L, 'math', 'abs', mathAbs);
  setGlobalFn(L, 'math', 'fmod', mathFmod);
  setGlobalFn(L, 'math', 'modf', mathModf);
  setGlobalFn(L, 'math', 'ldexp', mathLdexp);
  setGlobalFn(L, 'math', 'frexp', mathFrexp);
  setGlobalFn(L, 'math', 'random', mathRandom);
  setGlobalFn(L, 'math', 'randomseed', mathRandomseed);
  setGlobalFn(L, 'os', 'date', osDate);
  setGlobalFn(L, 'os', 'time', osTime);
  setGlobalFn(L, 'os', 'clock', osClock);
  setGlobalFn(L, 'table', 'insert', tableInsert);
  setGlobalFn(L, 'table', 'remove', tableRemove);
  setGlobalFn(L, 'table', 'new', tableNew);
  setGlobalFn(L, 'table', 'clear', tableClear);
  setGlobalFn(L, 'table', 'nkeys', tableNkeys);
  setGlobalFn(L, 'table', 'isempty', tableIsempty);
  setGlobalFn(L, 'table', 'isarray', tableIsarray);
  setGlobalFn(L, 'table', 'clone', tableClone);

  installIo(L);
  setGlobalFn(L, 'os', 'execute', osExecute);

  // global bit library, also package.loaded.bit
  openBit(L);
  lua.lua_pushvalue(L, -1);
  lua.lua_setglobal(L, S('bit'));
  setLoaded(L, 'bit');
  lua.lua_pop(L, 1);
});
