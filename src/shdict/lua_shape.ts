/*
 * The reference mapping from SharedDict results to what ngx.shared.DICT methods return in Lua
 * (lua-resty-core's resty/core/shdict.lua for the FFI-backed methods, ngx_http_lua_shdict.c for
 * lists, flush_expired and get_keys). The Lua binding pushes the same values straight from
 * `dict.r`; this module builds arrays (JS null = Lua nil) and is meant for tests and as the spec.
 */
import { RC_FALSE, RC_NIL, RC_OK, SharedDict } from './dict.js';
import type { ShdictResult } from './result.js';
import { T_NIL } from './layout.js';

type LuaValue = null | boolean | number | string | Uint8Array | Uint8Array[];

/** Lua method name → how its results map. */
export function luaReturns(method: string, rc: number, r: ShdictResult, hasInit = false): LuaValue[] {
  if (rc === RC_NIL) return [null, r.err];
  switch (method) {
    case 'get':
      if (r.type === T_NIL) return r.flagsEq ? [null, null, true] : [null];
      return r.flags !== 0 ? [r.value(), r.flags] : [r.value()];
    case 'get_stale':
      if (r.type === T_NIL) return r.flagsEq ? [null, null, r.stale, true] : [null];
      return [r.value(), r.flags !== 0 ? r.flags : null, r.stale];
    case 'set': case 'safe_set': case 'add': case 'safe_add': case 'replace': case 'delete':
      return rc === RC_OK ? [true, null, r.forcible] : [false, r.err, r.forcible];
    case 'incr':
      return hasInit ? [r.num, null, r.forcible] : [r.num];
    case 'lpush': case 'rpush':
      return rc === RC_FALSE ? [false, r.err] : [r.num];
    case 'lpop': case 'rpop':
      return [r.value()];
    case 'llen': case 'ttl':
      return [r.num];
    case 'expire':
      return [true];
    default:
      throw new Error(`unknown shdict method ${method}`);
  }
}

/** Calls `dict:method(...)` the way Lua would and returns its Lua return values. */
export function callLua(dict: SharedDict, method: string, ...args: unknown[]): LuaValue[] {
  const a = args as never[];
  switch (method) {
    case 'get': return luaReturns(method, dict.get(a[0], a[1]), dict.r);
    case 'get_stale': return luaReturns(method, dict.getStale(a[0], a[1]), dict.r);
    case 'set': return luaReturns(method, dict.set(a[0], a[1], a[2], a[3]), dict.r);
    case 'safe_set': return luaReturns(method, dict.safeSet(a[0], a[1], a[2], a[3]), dict.r);
    case 'add': return luaReturns(method, dict.add(a[0], a[1], a[2], a[3]), dict.r);
    case 'safe_add': return luaReturns(method, dict.safeAdd(a[0], a[1], a[2], a[3]), dict.r);
    case 'replace': return luaReturns(method, dict.replace(a[0], a[1], a[2], a[3]), dict.r);
    case 'delete': return luaReturns(method, dict.delete(a[0]), dict.r);
    case 'incr': return luaReturns(method, dict.incr(a[0], a[1], a[2], a[3]), dict.r, a[2] !== undefined);
    case 'lpush': return luaReturns(method, dict.lpush(a[0], a[1]), dict.r);
    case 'rpush': return luaReturns(method, dict.rpush(a[0], a[1]), dict.r);
    case 'lpop': return luaReturns(method, dict.lpop(a[0]), dict.r);
    case 'rpop': return luaReturns(method, dict.rpop(a[0]), dict.r);
    case 'llen': return luaReturns(method, dict.llen(a[0]), dict.r);
    case 'ttl': return luaReturns(method, dict.ttl(a[0]), dict.r);
    case 'expire': return luaReturns(method, dict.expire(a[0], a[1]), dict.r);
    case 'flush_all': dict.flushAll(); return [];
    case 'flush_expired': return [dict.flushExpired(a[0])];
    case 'get_keys': return [dict.getKeys(a[0])];
    case 'capacity': return [dict.capacity()];
    case 'free_space': return [dict.freeSpace()];
    default: throw new Error(`unknown shdict method ${method}`);
  }
}

