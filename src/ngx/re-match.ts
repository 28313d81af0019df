// ngx.re.match, ngx.re.find and ngx.re.gmatch, and the captures table they (and gsub's replacement
// function) receive: numbered captures, false for unmatched ones, named ones (arrays with the D option).
import { lua, lauxlib } from '../lua/fengari.js';
import type { LuaState } from '../lua/bridge.js';
import { O_DUP } from './re-options.js';
import type { Compiled } from './re-compile.js';
import { Subject, subjectOf } from './re-subject.js';
import { NOMATCH, mStart, mEnd, exec, groupSpan, groupText, execError } from './re-exec.js';
import { pushTStr, pushText, pushSlice, pushMessage } from './re-lua-strings.js';
import { subjectArg, optsArg, compiledArg, ctxStart, setCtxPos, isTable } from './re-lua-args.js';

/** Push the captures table of the last match (into the table at resIdx when resIdx > 0). */
export function pushCaptures(L: LuaState, c: Compiled, s: Subject, resIdx: number): void {
  const ncap = c.ncap;
  if (resIdx > 0) lua.lua_pushvalue(L, resIdx);
  else lua.lua_createtable(L, ncap, c.names.length + 1);
  pushSlice(L, s.bytes, mStart, mEnd);
  lua.lua_rawseti(L, -2, 0);
  for (let n = 1; n <= ncap; n++) {
    const v = groupText(c, n);
    if (v === undefined) lua.lua_pushboolean(L, false);
    else pushText(L, v, c.utf, s.escaped);
    lua.lua_rawseti(L, -2, n);
  }
  const names = c.names;
  if (names.length === 0) return;
  const dup = (c.bits & O_DUP) !== 0;
  for (let k = 0; k < names.length; k++) {
    const e = names[k];
    if (!dup) {
      pushTStr(L, e.key);
      lua.lua_rawgeti(L, -2, e.group); // res[n]: nil in DFA mode, false when unmatched
      lua.lua_rawset(L, -3);
      continue;
    }
    // duplicate names: an array of the matched ones; unmatched ones are not collected
    lua.lua_rawgeti(L, -1, e.group);
    if (!lua.lua_toboolean(L, -1)) {
      lua.lua_pop(L, 1);
      continue;
    }
    pushTStr(L, e.key);
    lua.lua_rawget(L, -3);
    if (lua.lua_type(L, -1) === lua.LUA_TTABLE) {
      lua.lua_insert(L, -2);
      lua.lua_rawseti(L, -2, lua.lua_rawlen(L, -2) + 1);
      lua.lua_pop(L, 1);
    } else {
      lua.lua_pop(L, 1);
      lua.lua_createtable(L, 2, 0);
      lua.lua_insert(L, -2);
      lua.lua_rawseti(L, -2, 1);
      pushTStr(L, e.key);
      lua.lua_insert(L, -2);
      lua.lua_rawset(L, -3);
    }
  }
}

export function reMatch(L: LuaState): number {
  lua.lua_settop(L, 5);
  const subj = subjectArg(L, 1);
  const o = optsArg(L, 3);
  const c = compiledArg(L, 2, o, 1);
  if (c === null) return 2;
  const hasCtx = isTable(L, 4);
  const s = subjectOf(subj);
  const rc = exec(c, s, hasCtx ? ctxStart(L, 4) : 0);
  if (rc === NOMATCH) {
    lua.lua_pushnil(L);
    return 1;
  }
  if (rc < 0) {
    lua.lua_pushnil(L);
    pushMessage(L, execError(rc));
    return 2;
  }
  if (hasCtx) setCtxPos(L, 4, mEnd + 1);
  pushCaptures(L, c, s, isTable(L, 5) ? 5 : 0);
  return 1;
}

export function reFind(L: LuaState): number {
  lua.lua_settop(L, 5);
  const subj = subjectArg(L, 1);
  const o = optsArg(L, 3);
  const c = compiledArg(L, 2, o, 2);
  if (c === null) return 3;
  const hasCtx = isTable(L, 4);
  let nth = lua.lua_isnoneornil(L, 5) ? 0 : lauxlib.luaL_checknumber(L, 5);
  if (!(nth >= 0)) nth = 0;
  nth = Math.trunc(nth);
  const s = subjectOf(subj);
  const rc = exec(c, s, hasCtx ? ctxStart(L, 4) : 0, nth > 0 && nth <= c.ncap);
  if (rc === NOMATCH) {
    lua.lua_pushnil(L);
    return 1;
  }
  if (rc < 0) {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    pushMessage(L, execError(rc));
    return 3;
  }
  if (hasCtx) setCtxPos(L, 4, mEnd + 1);
  if (nth > c.ncap) {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    pushMessage(L, 'nth out of bound');
    return 3;
  }
  const span = groupSpan(c, s, nth);
  if (span === null) {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    return 2;
  }
  lua.lua_pushnumber(L, span[0] + 1);
  lua.lua_pushnumber(L, span[1]);
  return 2;
}

// ---------------------------------------------------------------------------------------------
// ngx.re.gmatch

interface GmatchState {
  c: Compiled | null;
  s: Subject;
  pos: number;
}

function gmatchIter(L: LuaState): number {
  const st = lua.lua_touserdata(L, lua.lua_upvalueindex(1)) as GmatchState;
  const c = st.c;
  if (c === null) {
    lua.lua_pushnil(L);
    return 1;
  }
  const s = st.s;
  const rc = exec(c, s, st.pos);
  if (rc === NOMATCH) {
    st.c = null;
    lua.lua_pushnil(L);
    return 1;
  }
  if (rc < 0) {
    st.c = null;
    lua.lua_pushnil(L);
    pushMessage(L, execError(rc));
    return 2;
  }
  let next = mEnd;
  if (next === mStart) {
    next++;
    if (next > s.bytes.length) st.c = null; // the last (empty) match at the very end
  }
  st.pos = next;
  pushCaptures(L, c, s, 0);
  return 1;
}

export function reGmatch(L: LuaState): number {
  lua.lua_settop(L, 3);
  const subj = subjectArg(L, 1);
  const o = optsArg(L, 3);
  const c = compiledArg(L, 2, o, 1);
  if (c === null) return 2;
  const st: GmatchState = { c, s: new Subject(subj), pos: 0 };
  lua.lua_pushlightuserdata(L, st);
  lua.lua_pushcclosure(L, gmatchIter, 1);
  return 1;
}
