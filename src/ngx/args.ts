// Query-string helpers for the request APIs (ngx.req.get_uri_args/get_post_args/set_uri_args,
// ngx.exec, capture's args option). The encoding and parsing themselves live in codec.ts with
// ngx.encode_args / ngx.decode_args, so every caller shares lua-nginx-module's exact rules.
import { lua } from '../lua/fengari.js';
import { bytesToLatin1, type LuaState } from '../lua/bridge.js';
import { encodeArgsTable, parseArgsInto } from './codec.js';
import { currentLogContext } from './context.js';
import { logError, Level } from '../log/errorlog.js';

/** Push a table of args decoded from a query string (a byte string); true when `max` cut it. */
export function pushDecodedArgs(L: LuaState, s: string, max: number): boolean {
  lua.lua_createtable(L, 0, 4);
  const truncated = parseArgsInto(L, lua.lua_gettop(L), Buffer.from(s, 'latin1'), max);
  if (truncated) logError(Level.Info, `lua hit query args limit ${max}`, currentLogContext());
  return truncated;
}

/** Encode the table at idx like ngx.encode_args, as a byte string. */
export function encodeArgsAt(L: LuaState, idx: number): string {
  return bytesToLatin1(encodeArgsTable(L, idx));
}
