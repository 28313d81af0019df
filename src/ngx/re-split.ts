// require("ngx.re").split, lua-resty-core's ngx/re.lua semantics: fields between matches, the first
// capture of each match inserted after its field, max and ctx.pos, empty trailing fields dropped.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, type LuaState } from '../lua/bridge.js';
import { Subject } from './re-subject.js';
import { NOMATCH, mStart, mEnd, exec, groupText, execError } from './re-exec.js';
import { pushTStr, pushText, pushSlice, pushMessage } from './re-lua-strings.js';
import { K_POS, subjectArg, optsArg, compiledArg, setCtxPos, isTable } from './re-lua-args.js';

/** string.sub(s, i, j) on bytes. */
function luaSub(L: LuaState, b: Uint8Array, i: number, j: number): void {
  const n = b.length;
  if (i < 0) i = Math.max(n + i + 1, 1);
  else if (i === 0) i = 1;
  if (j < 0) j = n + j + 1;
  else if (j > n) j = n;
  pushSlice(L, b, i - 1, j);
}

export function reSplit(L: LuaState): number {
  lua.lua_settop(L, 6);
  const subj = subjectArg(L, 1);
  const hasCtx = isTable(L, 4);
  let ctxPos = 1;
  if (hasCtx) {
    pushTStr(L, K_POS);
    lua.lua_gettable(L, 4);
    if (lua.lua_isnil(L, -1)) setCtxPos(L, 4, 1);
    else ctxPos = lua.lua_tonumber(L, -1);
    lua.lua_pop(L, 1);
  }
  const max = lua.lua_isnoneornil(L, 5) ? 0 : lauxlib.luaL_checknumber(L, 5);
  let resIdx: number;
  if (lua.lua_isnoneornil(L, 6)) {
    lua.lua_createtable(L, max > 0 ? Math.min(4, max) : 4, 0);
    resIdx = lua.lua_gettop(L);
  } else if (!isTable(L, 6)) {
    lauxlib.luaL_where(L, 2);
    lua.lua_pushstring(L, S('res is not a table'));
    lua.lua_concat(L, 2);
    return lua.lua_error(L);
  } else resIdx = 6;
  const len = subj.length;
  if (ctxPos > len) {
    lua.lua_pushnil(L);
    lua.lua_rawseti(L, resIdx, 1);
    lua.lua_pushvalue(L, resIdx);
    return 1;
  }
  const o = optsArg(L, 3);
  const c = compiledArg(L, 2, o, 1);
  if (c === null) return 2;
  const s = new Subject(subj);
  let subIdx = ctxPos;
  let n = 0; // res_idx
  let lastEmpty = -1;
  let pos = subIdx - 1; // ctx.pos in PCRE (0-based) terms from here on
  let count = 1;
  for (;;) {
    if (max > 0 && count >= max) break;
    const rc = exec(c, s, Math.max(pos, 0));
    if (rc === NOMATCH) break;
    if (rc < 0) {
      if (hasCtx) setCtxPos(L, 4, pos);
      lua.lua_pushnil(L);
      pushMessage(L, execError(rc));
      return 2;
    }
    const from = mStart + 1;
    const to = mEnd + 1;
    pos = mStart === mEnd ? mEnd + 1 : mEnd;
    // the first sub-match capture, if any (string.sub(subj, caps[2] + 1, caps[3]) as upstream)
    let hasCap = false;
    let capText: string | undefined;
    if (c.ncap > 0) {
      let matchedAny = false;
      for (let k = 1; k <= c.ncap; k++) if (groupText(c, k) !== undefined) matchedAny = true;
      if (matchedAny) {
        hasCap = true;
        capText = groupText(c, 1);
      }
    }
    if (lastEmpty >= 0) subIdx = lastEmpty;
    if (from === to) lastEmpty = from;
    if (from > subIdx || lastEmpty < 0) {
      count++;
      luaSub(L, subj, subIdx, from - 1);
      lua.lua_rawseti(L, resIdx, ++n);
      if (hasCap) {
        if (capText === undefined) luaSub(L, subj, 0, -1);
        else pushText(L, capText, c.utf, s.escaped);
        lua.lua_rawseti(L, resIdx, ++n);
      }
      subIdx = to;
      if (subIdx > len) break;
    }
  }
  if (hasCtx) setCtxPos(L, 4, pos);
  if (max <= 0 && subIdx > len) {
    // drop empty trailing fields
    for (let k = n; k >= 1; k--) {
      lua.lua_rawgeti(L, resIdx, k);
      const empty = lua.lua_type(L, -1) === lua.LUA_TSTRING && lua.lua_rawlen(L, -1) === 0;
      lua.lua_pop(L, 1);
      if (!empty) {
        n = k;
        break;
      }
      lua.lua_pushnil(L);
      lua.lua_rawseti(L, resIdx, k);
    }
  } else {
    luaSub(L, subj, subIdx, -1);
    lua.lua_rawseti(L, resIdx, ++n);
  }
  lua.lua_pushnil(L);
  lua.lua_rawseti(L, resIdx, n + 1);
  lua.lua_pushvalue(L, resIdx);
  return 1;
}
