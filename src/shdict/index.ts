/*
 * Shared dict storage engine (lua_shared_dict / ngx.shared.DICT). No Lua here: the binding in
 * src/ngx/shdict.ts maps these results to Lua returns (see lua_shape.ts for the exact mapping).
 */
export { SharedDict, ShdictArgError, RC_OK, RC_FALSE, RC_NIL } from './dict.js';
export type { SharedDictHandle, ShdictKey, ShdictValue } from './dict.js';
export { ShdictResult } from './result.js';
export { T_NIL, T_BOOLEAN, T_NUMBER, T_STRING, T_LIST, MIN_ZONE_SIZE, MAX_KEY_LEN } from './layout.js';
export { parseSize, sizeError, checkSharedDictDirective, duplicateDictError } from './size.js';
export { luaReturns, callLua } from './lua_shape.js';
