// ngx.re.sub and ngx.re.gsub: replacement templates ("$0 ${1} $$", compiled and cached), replacement
// functions (which may yield), and the pooled output buffers.
import { lua, lauxlib } from '../lua/fengari.js';
import type { LuaState } from '../lua/bridge.js';
import { logError, Level } from '../log/errorlog.js';
import type { Compiled } from './re-compile.js';
import { Subject, latin1 } from './re-subject.js';
import { NOMATCH, mStart, mEnd, exec, groupText, execError } from './re-exec.js';
import { pushOwned, pushMessage, writeText } from './re-lua-strings.js';
import { subjectArg, optsArg, compiledArg } from './re-lua-args.js';
import { pushCaptures } from './re-match.js';

/** A compiled replacement template: literal byte runs and capture numbers. */
type Template = (Uint8Array | number)[];

const templates = new Map<string, Template>();

/** Compile "$0 ${1} $$" templates like ngx_http_lua_script.c; logs and returns null on error. */
function compileTemplate(b: Uint8Array): Template | null {
  const key = latin1(b);
  const hit = templates.get(key);
  if (hit !== undefined) return hit;
  const parts: Template = [];
  const n = b.length;
  let lit: number[] = [];
  const flush = (): void => {
    if (lit.length > 0) parts.push(Uint8Array.from(lit));
    lit = [];
  };
  const invalid = (): null => {
    logError(Level.Err, `lua script: invalid capturing variable name found in "${key}"`);
    return null;
  };
  for (let i = 0; i < n; ) {
    if (b[i] !== 0x24 /* $ */) {
      lit.push(b[i++]);
      continue;
    }
    if (++i === n) return invalid();
    if (b[i] === 0x24) {
      lit.push(0x24);
      i++;
      continue;
    }
    let numVar = b[i] >= 0x30 && b[i] <= 0x39;
    let bracket = false;
    if (b[i] === 0x7b /* { */) {
      bracket = true;
      if (++i === n) return invalid();
      if (b[i] >= 0x30 && b[i] <= 0x39) numVar = true;
    }
    const nameStart = i;
    let nameEnd = -1;
    let num = 0;
    for (; i < n; i++) {
      const ch = b[i];
      if (ch === 0x7d && bracket) {
        nameEnd = i;
        i++;
        bracket = false;
        break;
      }
      if (numVar) {
        if (ch >= 0x30 && ch <= 0x39) {
          num = num * 10 + (ch - 0x30);
          continue;
        }
        break;
      }
      if ((ch >= 0x41 && ch <= 0x5a) || (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x30 && ch <= 0x39) || ch === 0x5f) continue;
      break;
    }
    const name = latin1(b.subarray(nameStart, nameEnd < 0 ? i : nameEnd));
    if (bracket) {
      logError(Level.Err, `the closing bracket in "${name}" variable is missing`);
      return null;
    }
    if (name.length === 0) return invalid();
    if (!numVar) {
      logError(Level.Err, `attempt to use named capturing variable "${name}" (named captures not supported yet)`);
      return null;
    }
    flush();
    parts.push(num);
  }
  flush();
  if (templates.size >= 1024) templates.delete(templates.keys().next().value!);
  templates.set(key, parts);
  return parts;
}

function appendTemplate(out: Sink, t: Template, c: Compiled, s: Subject, start: number, end: number): void {
  for (let k = 0; k < t.length; k++) {
    const p = t[k];
    if (typeof p !== 'number') {
      out.bytes(p, 0, p.length);
      continue;
    }
    if (p === 0) out.bytes(s.bytes, start, end);
    else if (p <= c.ncap) {
      const v = groupText(c, p);
      if (v !== undefined) out.text(v, c.utf, s.escaped);
    }
  }
}

function subHelper(L: LuaState, global: boolean): number {
  lua.lua_settop(L, 4);
  const subj = subjectArg(L, 1);
  const isFunc = lua.lua_type(L, 3) === lua.LUA_TFUNCTION;
  let repl: Uint8Array | null = null;
  if (!isFunc) repl = subjectArg(L, 3); // tostring(replace)
  const o = optsArg(L, 4);
  const c = compiledArg(L, 2, o, 2);
  if (c === null) return 3;
  if (repl === null) return subFunc(L, { c, s: new Subject(subj), global, out: new Sink(), count: 0, pos: 0, cp: 0, start: 0, end: 0 });
  const tpl = compileTemplate(repl);
  if (tpl === null) {
    lua.lua_pushnil(L);
    lua.lua_pushnil(L);
    pushMessage(L, 'failed to compile the replacement template');
    return 3;
  }
  const s = new Subject(subj);
  const len = subj.length;
  let count = 0;
  let pos = 0;
  let cp = 0;
  const out = sinks[sinkDepth] ?? (sinks[sinkDepth] = new Sink());
  out.len = 0;
  sinkDepth++;
  try {
    for (;;) {
      const rc = exec(c, s, pos);
      if (rc === NOMATCH) break;
      if (rc < 0) return subError(L, rc);
      count++;
      const start = mStart;
      const end = mEnd;
      out.bytes(subj, cp, start);
      appendTemplate(out, tpl, c, s, start, end);
      cp = end;
      pos = end;
      if (pos === start) {
        pos++;
        if (pos > len) break;
      }
      if (!global) break;
    }
    return subResult(L, out, count, pos, cp, subj);
  } finally {
    sinkDepth--;
  }
}

function subError(L: LuaState, rc: number): number {
  lua.lua_pushnil(L);
  lua.lua_pushnil(L);
  pushMessage(L, execError(rc));
  return 3;
}

function subResult(L: LuaState, out: Sink, count: number, pos: number, cp: number, subj: Uint8Array): number {
  if (count === 0) {
    lua.lua_pushvalue(L, 1);
    lua.lua_pushnumber(L, 0);
    return 2;
  }
  // (lua-resty-core copies the rest only when pos < #subj)
  if (pos < subj.length) out.bytes(subj, cp, subj.length);
  pushOwned(L, new Uint8Array(out.buf.subarray(0, out.len)));
  lua.lua_pushnumber(L, count);
  return 2;
}

/** sub/gsub with a replacement function: the loop state lives here so the function may yield. */
interface SubState {
  c: Compiled;
  s: Subject;
  global: boolean;
  out: Sink;
  count: number;
  pos: number;
  cp: number;
  start: number;
  end: number;
}

function subFunc(L: LuaState, st: SubState): number {
  for (;;) {
    const rc = exec(st.c, st.s, st.pos);
    if (rc === NOMATCH) break;
    if (rc < 0) return subError(L, rc);
    st.count++;
    st.start = mStart;
    st.end = mEnd;
    st.out.bytes(st.s.bytes, st.cp, st.start);
    lua.lua_pushvalue(L, 3);
    pushCaptures(L, st.c, st.s, 0);
    // with a continuation, the function may yield (ngx.sleep, cosockets...) like in lua-resty-core
    lua.lua_callk(L, 1, 1, st, subFuncK);
    if (!subFuncStep(L, st)) break;
  }
  return subResult(L, st.out, st.count, st.pos, st.cp, st.s.bytes);
}

/** After the replacement function returned: append tostring(result); false when the loop ends. */
function subFuncStep(L: LuaState, st: SubState): boolean {
  const r = lauxlib.luaL_tolstring(L, -1);
  st.out.bytes(r, 0, r.length);
  lua.lua_pop(L, 2);
  st.cp = st.end;
  st.pos = st.end;
  if (st.pos === st.start) {
    st.pos++;
    if (st.pos > st.s.bytes.length) return false;
  }
  return st.global;
}

function subFuncK(L: LuaState, _status: number, st: SubState): number {
  if (!subFuncStep(L, st)) return subResult(L, st.out, st.count, st.pos, st.cp, st.s.bytes);
  return subFunc(L, st);
}

export function reSub(L: LuaState): number {
  return subHelper(L, false);
}

export function reGsub(L: LuaState): number {
  return subHelper(L, true);
}

/** Output buffer for sub/gsub; pooled by nesting depth (a replacement function may call gsub). */
class Sink {
  buf = Buffer.allocUnsafe(256);
  len = 0;
  reserve(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  bytes(b: Uint8Array, from: number, to: number): void {
    if (to <= from) return;
    this.reserve(to - from);
    this.buf.set(b.subarray(from, to), this.len);
    this.len += to - from;
  }
  text(str: string, utf: boolean, escaped: boolean): void {
    if (str.length === 0) return;
    this.reserve(utf ? str.length * 3 : str.length);
    this.len += writeText(this.buf, this.len, str, utf, escaped);
  }
}
const sinks: Sink[] = [];
let sinkDepth = 0;

/** Drop every cached replacement template (clearRegexCache in re.ts). */
export function clearTemplates(): void {
  templates.clear();
}
