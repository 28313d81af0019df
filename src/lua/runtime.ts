// Assembles a worker's Lua runtime: the VM, the scheduler hooks, the ngx table with every API
// group, and the Lua-side runtime files (LuaJIT compatibility, coroutine wrappers).
import { lua } from './fengari.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LuaVM, runtimeDir, type VmOptions } from './vm.js';
import { initScheduler } from './scheduler.js';
import { S } from './bridge.js';
import { installAll } from '../ngx/registry.js';
import '../ngx/index.js';

export interface LuaRuntime {
  vm: LuaVM;
}

/** Lua files run at start-up, in order, from lua/tsresty/. */
const BOOT_FILES = ['compat.lua', 'coroutine.lua'];

export function createLuaRuntime(opts: VmOptions, worker: any, instructionBudget = 0): LuaRuntime {
  const vm = new LuaVM(opts);
  const L = vm.L;
  initScheduler(L, instructionBudget);
  lua.lua_newtable(L);
  lua.lua_setglobal(L, S('ngx'));
  installAll(L, { worker }); // misc.ts also makes require "ngx" return the ngx table
  const dir = path.join(runtimeDir(), 'tsresty');
  for (const f of BOOT_FILES) {
    const p = path.join(dir, f);
    if (fs.existsSync(p)) vm.doString(fs.readFileSync(p, 'utf8'), '@' + p);
  }
  return { vm };
}
