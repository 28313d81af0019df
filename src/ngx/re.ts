// ngx.re.match / find / gmatch / sub / gsub and require("ngx.re").split / opt, with the behaviour of
// lua-nginx-module 0.10.x + lua-resty-core (resty/core/regex.lua, ngx/re.lua): same return values,
// same error strings, same quirks (empty-match stepping, ctx.pos, unmatched captures as false).
//
// Bytes: Lua strings are byte arrays and every offset seen by Lua is a byte offset.
//  - Byte mode (no u/U option): the subject is run as a latin1 JS string, one char per byte, so JS
//    string indices are byte offsets. Patterns are read the same way (a UTF-8 literal in the pattern
//    is a sequence of byte-chars, like PCRE without UTF-8).
//  - UTF-8 mode (u or U): the subject is decoded and the regex has the JS `u` flag; match positions
//    are mapped back to byte offsets (a char-index -> byte-offset table, built only for non-ASCII
//    subjects). `u` validates the subject like PCRE: invalid UTF-8 -> "pcre_exec() failed: -10", a
//    start offset inside a character -> -11. `U` skips the check: invalid bytes decode to lone
//    surrogates U+DC80..U+DCFF that match only `.`-like items and map back to the same bytes.
// Compiled regexes are cached per (options, pattern) in a bounded map (lua_regex_cache_max_entries,
// default 1024), with an identity fast path for constant pattern strings: a pattern used again is
// never recompiled, whether or not the `o` option is given.
//
// Split by job: re-options.ts (option letters), re-subject.ts (bytes <-> JS strings), re-compile.ts
// (compiling and caching), re-exec.ts (running a regex), re-lua-strings.ts / re-lua-args.ts (the Lua
// side), and one file per API group: re-match.ts (match, find, gmatch), re-sub.ts (sub, gsub),
// re-split.ts (split). This file registers them, with ngx.re.opt and the cache controls.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, luaError, type LuaState } from '../lua/bridge.js';
import { defineNgxApi, definePreload } from './registry.js';
import { latin1 } from './re-subject.js';
import { configureRegex, compiledOnce, clearCompiled } from './re-compile.js';
import { initFast } from './re-lua-strings.js';
import { initPosKey } from './re-lua-args.js';
import { reMatch, reFind, reGmatch } from './re-match.js';
import { reSub, reGsub, clearTemplates } from './re-sub.js';
import { reSplit } from './re-split.js';

export { configureRegex } from './re-compile.js';

function reOpt(L: LuaState): number {
  const name = lauxlib.luaL_checklstring(L, 1);
  if (latin1(name) === 'jit_stack_size') {
    if (compiledOnce > 0) luaError(L, 'changing jit stack size is not allowed when some regexs have already been compiled and cached');
    return 0; // no JIT stack to size: V8 manages its own
  }
  return luaError(L, 'unrecognized option name');
}

// ---------------------------------------------------------------------------------------------
// registration

const API: [string, (L: LuaState) => number][] = [
  ['match', reMatch],
  ['find', reFind],
  ['gmatch', reGmatch],
  ['sub', reSub],
  ['gsub', reGsub],
];

defineNgxApi('re', (L, env) => {
  initFast(L);
  initPosKey();
  const http = env?.worker?.http;
  if (http && typeof http.luaRegexCacheMaxEntries === 'number') configureRegex({ cacheMaxEntries: http.luaRegexCacheMaxEntries });
  lua.lua_createtable(L, 0, API.length);
  for (const [name, fn] of API) {
    lua.lua_pushcfunction(L, fn);
    lua.lua_setfield(L, -2, S(name));
  }
  lua.lua_setfield(L, -2, S('re'));
});

definePreload('ngx.re', (L) => {
  initFast(L);
  lua.lua_createtable(L, 0, 3);
  lua.lua_pushcfunction(L, reSplit);
  lua.lua_setfield(L, -2, S('split'));
  lua.lua_pushcfunction(L, reOpt);
  lua.lua_setfield(L, -2, S('opt'));
  lua.lua_pushstring(L, S('0.1.25'));
  lua.lua_setfield(L, -2, S('version'));
  return 1;
});

/** For tests and benchmarks: drop every cached regex and template. */
export function clearRegexCache(): void {
  clearCompiled();
  clearTemplates();
}
