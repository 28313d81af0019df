// ngx.worker.* and ngx.config.*: facts about this worker and build.
import { lua } from '../lua/fengari.js';
import { S, pushString, setNumberField, setStringField, type LuaState } from '../lua/bridge.js';
import { defineNgxApi } from './registry.js';
import { currentKind } from './context.js';

defineNgxApi('worker', (L, env) => {
  const w = env.worker;
  lua.lua_createtable(L, 0, 4);
  const fns: Record<string, (L: LuaState) => number> = {
    id: (L) => {
      if (currentKind() === 'init') {
        // lua-nginx-module runs init_by_lua in the process that becomes the master, and id() is
        // ngx_worker (still 0) only when ngx_process is NGX_PROCESS_SINGLE or WORKER: so 0 while
        // nginx starts (it turns MASTER after reading the configuration), nil on a reload, 0 with
        // master_process off. Every worker replays this state (workers/thread.ts), so all agree.
        if (w && w.opts.reload && w.conf.masterProcess) lua.lua_pushnil(L);
        else lua.lua_pushnumber(L, 0);
        return 1;
      }
      lua.lua_pushnumber(L, w ? w.opts.id : 0);
      return 1;
    },
    count: (L) => {
      lua.lua_pushnumber(L, w ? w.opts.count : 1);
      return 1;
    },
    // in init_by_lua nginx answers the master's pid: the same here, workers being threads
    pid: (L) => {
      lua.lua_pushnumber(L, process.pid);
      return 1;
    },
    // workers are threads of one process (src/workers/master.ts): they share its pid
    pids: (L) => {
      const n = w ? w.opts.count : 1;
      lua.lua_createtable(L, n, 0);
      for (let i = 1; i <= n; i++) {
        lua.lua_pushnumber(L, process.pid);
        lua.lua_rawseti(L, -2, i);
      }
      return 1;
    },
    exiting: (L) => {
      lua.lua_pushboolean(L, w ? w.exiting : false);
      return 1;
    },
  };
  for (const k of Object.keys(fns)) {
    lua.lua_pushcfunction(L, fns[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  lua.lua_setfield(L, -2, S('worker'));

  lua.lua_createtable(L, 0, 6);
  setStringField(L, 'subsystem', 'http');
  lua.lua_pushboolean(L, false);
  lua.lua_setfield(L, -2, S('debug'));
  setNumberField(L, 'nginx_version', 1022001);
  setNumberField(L, 'ngx_lua_version', 10023);
  lua.lua_pushboolean(L, false);
  lua.lua_setfield(L, -2, S('is_console'));
  lua.lua_pushcfunction(L, (L: LuaState) => {
    const p: string = w ? w.conf.prefix : process.cwd();
    pushString(L, p.endsWith('/') ? p : p + '/');
    return 1;
  });
  lua.lua_setfield(L, -2, S('prefix'));
  lua.lua_pushcfunction(L, (L: LuaState) => {
    pushString(L, ' --with-http_ssl_module --add-module=lua-nginx-module (tsresty)');
    return 1;
  });
  lua.lua_setfield(L, -2, S('nginx_configure'));
  lua.lua_setfield(L, -2, S('config'));
});
