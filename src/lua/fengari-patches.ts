// Patches to fengari (Lua 5.3 in JS) internals that make the VM itself behave like LuaJIT; the
// library half of the compatibility layer is in src/ngx/compat-*.ts and lua/tsresty/compat.lua.
// Applied once, when this module is first imported, which must happen before any lua_State exists:
// src/ngx/misc.ts imports it first thing, src/ngx/index.ts imports misc.ts and src/lua/runtime.ts
// imports ngx/index.js before it creates a VM.
//    - string hashes: fengari keys strings by "|" + hex of each byte WITHOUT zero padding, so
//      "\1\35" and "\18\3" are the same table key and `<` misorders bytes below 0x10. Two hex
//      digits per byte fixes both (reserved words hash as before, so the lexer keeps working).
//    - table constructors: pairs({1, 2, 3}) walks 1, 2, 3 (fengari stored them backwards).
//    - numbers behave like LuaJIT's doubles: integer results of VM arithmetic are stored as floats
//      (no 32-bit wrap of 2147483647 + 1), numeric literals and tonumber() give floats, hex literals
//      are exact (0xffffffff = 4294967295), tostring() prints %.14g ("1e+15", "-0", "inf", "nan"),
//      and integer arguments of library functions are truncated like LuaJIT's lj_lib_checkint
//      (string.sub(s, 1, 2.5) works) instead of raising "number has no integer representation".
import { asciiBytes, fmtNumber, numberBytes, num2int } from './luajit-number.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const defs: any = require('fengari/src/defs.js');
const lobject: any = require('fengari/src/lobject.js');
const lstring: any = require('fengari/src/lstring.js');
const lvm: any = require('fengari/src/lvm.js');
const ltable: any = require('fengari/src/ltable.js');

const LUA_TNUMFLT: number = defs.constant_types.LUA_TNUMFLT;

const HEX2: string[] = [];
for (let i = 0; i < 256; i++) HEX2.push((i < 16 ? '0' : '') + i.toString(16));

function stringHash(a: Uint8Array): string {
  if (a.length > 48) return '|' + Buffer.from(a.buffer, a.byteOffset, a.length).toString('hex');
  let s = '|';
  for (let i = 0; i < a.length; i++) s += HEX2[a[i]];
  return s;
}

function isHexIntLiteral(s: Uint8Array): { neg: boolean; start: number; end: number } | null {
  let i = 0;
  const n = s.length;
  while (i < n && (s[i] === 32 || (s[i] >= 9 && s[i] <= 13))) i++;
  let neg = false;
  if (s[i] === 45) {
    neg = true;
    i++;
  } else if (s[i] === 43) i++;
  if (s[i] !== 48 || (s[i + 1] !== 120 && s[i + 1] !== 88)) return null;
  i += 2;
  const start = i;
  while (i < n && ((s[i] >= 48 && s[i] <= 57) || ((s[i] | 32) >= 97 && (s[i] | 32) <= 102))) i++;
  const end = i;
  if (end === start) return null;
  while (i < n && (s[i] === 32 || (s[i] >= 9 && s[i] <= 13))) i++;
  if (i !== n && s[i] !== 0) return null;
  return { neg, start, end };
}

let patched = false;

/** Apply the VM patches (idempotent; runs at import). */
export function patchFengari(): void {
  if (patched) return;
  patched = true;

  // string hashes: two hex digits per byte
  const TS = lstring.TString.prototype;
  Object.defineProperty(TS, 'hash', {
    configurable: true,
    get(this: any): string {
      let h = this._h;
      if (h == null) h = this._h = stringHash(this.realstring);
      return h;
    },
    set(this: any, v: string | null) {
      this._h = v;
    },
  });

  // integer results are stored as floats: no 32-bit wrap-around in arithmetic
  lobject.TValue.prototype.setivalue = function (this: any, x: number) {
    this.type = LUA_TNUMFLT;
    this.value = x;
  };

  // hex integer literals and tonumber("0x...") are exact doubles, not wrapped int32
  const str2num = lobject.luaO_str2num;
  lobject.luaO_str2num = function (s: Uint8Array, o: any): number {
    const r = str2num(s, o);
    if (r !== 0) {
      const h = isHexIntLiteral(s);
      if (h !== null) {
        let v: number;
        if (h.end - h.start <= 13) {
          v = 0;
          for (let i = h.start; i < h.end; i++) {
            const c = s[i] | 32;
            v = v * 16 + (c <= 57 ? c - 48 : c - 87);
          }
        } else {
          v = Number(BigInt('0x' + Buffer.from(s.subarray(h.start, h.end)).toString('latin1')));
        }
        o.setfltvalue(h.neg ? -v : v);
      }
    }
    return r;
  };

  // tostring/concatenation of numbers: LuaJIT's %.14g
  lobject.luaO_tostring = function (L: any, obj: any) {
    const v: number = obj.value;
    // the cached small-integer arrays are copied: a Lua string owns its bytes
    const b = v >= 0 && v < 256 && (v | 0) === v ? new Uint8Array(numberBytes(v)) : asciiBytes(fmtNumber(v));
    obj.setsvalue(lstring.luaS_bless(L, b));
  };

  // lua_pushfstring's %d/%I/%f (luaL_tolstring, error positions) formatted the same way
  const pushv = lobject.luaO_pushvfstring;
  const PCT_S = asciiBytes('%s');
  const TYPEERR = 'attempt to %s a %s value%s';
  const patchedPushv = function (L: any, fmt: Uint8Array, argp: any[]): any {
    // runtime type errors in LuaJIT's words: "attempt to index local 'x' (a nil value)"
    if (fmt.length === TYPEERR.length && fmt[0] === 97 && fmt[24] === 37 && Buffer.from(fmt).toString('latin1') === TYPEERR) {
      const op = Buffer.from(argp[0]).toString('latin1');
      const t = Buffer.from(argp[1]).toString('latin1');
      const vi = /^ \(([\w ]+) '(.*)'\)$/s.exec(Buffer.from(argp[2] ?? []).toString('latin1'));
      const msg = vi ? `attempt to ${op} ${vi[1]} '${vi[2]}' (a ${t} value)` : `attempt to ${op} a ${t} value`;
      return pushv(L, PCT_S, [Buffer.from(msg, 'latin1')]);
    }
    if (fmt.length === 2 && fmt[0] === 37 && (fmt[1] === 102 || fmt[1] === 73 || fmt[1] === 100)) {
      const v = argp[0];
      return pushv(L, PCT_S, [asciiBytes(fmt[1] === 102 ? fmtNumber(v) : String(v))]);
    }
    let need = false;
    for (let i = 0; i < fmt.length - 1; i++) {
      if (fmt[i] !== 37) continue;
      const c = fmt[i + 1];
      if (c === 100 || c === 73 || c === 102) {
        need = true;
        break;
      }
      i++;
    }
    if (!need) return pushv(L, fmt, argp);
    const nf: number[] = [];
    const na: any[] = [];
    let a = 0;
    for (let i = 0; i < fmt.length; i++) {
      const c = fmt[i];
      if (c !== 37 || i + 1 >= fmt.length) {
        nf.push(c);
        continue;
      }
      const d = fmt[++i];
      if (d === 100 || d === 73) {
        nf.push(37, 115);
        na.push(asciiBytes(String(argp[a++])));
      } else if (d === 102) {
        nf.push(37, 115);
        na.push(asciiBytes(fmtNumber(argp[a++])));
      } else if (d === 37) {
        nf.push(37, 37);
      } else {
        nf.push(37, d);
        na.push(argp[a++]);
      }
    }
    return pushv(L, Uint8Array.from(nf), na);
  };
  lobject.luaO_pushvfstring = patchedPushv;
  lobject.luaO_pushfstring = (L: any, fmt: Uint8Array, ...argp: any[]) => patchedPushv(L, fmt, argp);

  // Table constructors store their array items last-to-first (OP_SETLIST) and fengari iterates
  // in insertion order, so pairs({1, 2, 3}) went 3, 2, 1. New integer keys stored through
  // luaH_setint (OP_SETLIST, lua_rawseti) are relinked so that a descending run comes out
  // ascending and sits right after key-1 (key 1: at the front), i.e. where LuaJIT's array part
  // puts them: pairs({1, 2, n = 1, 3}) walks 1, 2, 3, n.
  const setint = ltable.luaH_setint;
  let lastT: any = null;
  let lastK = 0;
  let lastE: any = null;
  let runHead: any = null;
  const moveAfter = (t: any, first: any, last: any, P: any) => {
    if (first.p === P || (P === null && first.p === undefined)) return;
    const before = first.p;
    const after = last.n;
    if (before) before.n = after;
    else t.f = after;
    if (after) after.p = before;
    else t.l = before;
    if (P === null) {
      first.p = undefined;
      last.n = t.f;
      if (t.f) t.f.p = last;
      else t.l = last;
      t.f = first;
    } else {
      const nx = P.n;
      P.n = first;
      first.p = P;
      last.n = nx;
      if (nx) nx.p = last;
      else t.l = last;
    }
  };
  ltable.luaH_setint = function (t: any, key: number, value: any) {
    const existed = t.strong.has(key);
    setint(t, key, value);
    if (existed || value.ttisnil()) {
      if (t === lastT) lastT = null;
      return;
    }
    const e = t.strong.get(key);
    if (e !== t.l) {
      lastT = null;
      return;
    }
    if (t === lastT && key === lastK - 1 && t.strong.get(lastK) === lastE && e !== lastE) {
      // continue a descending run: e goes just before the previous key
      t.l = e.p;
      if (e.p) e.p.n = undefined;
      else t.f = undefined;
      e.p = lastE.p;
      e.n = lastE;
      if (lastE.p) lastE.p.n = e;
      else t.f = e;
      lastE.p = e;
    } else {
      runHead = e;
    }
    if (key === 1) moveAfter(t, e, runHead, null);
    else {
      const P = t.strong.get(key - 1);
      if (P !== undefined) moveAfter(t, e, runHead, P);
    }
    lastT = t;
    lastK = key;
    lastE = e;
  };

  // #t: fengari binary-searches from the entry count on every call (O(log n) map lookups, so
  // t[#t + 1] = v costs ~17 lookups at 50k items). For a plain array the count is the border.
  const getn = ltable.luaH_getn;
  ltable.luaH_getn = function (t: any): number {
    const m: Map<unknown, unknown> = t.strong;
    const n = m.size;
    if (n === 0) return 0;
    if (m.has(n) && !m.has(n + 1)) return n;
    return getn(t);
  };

  // integer arguments of C functions: truncate like LuaJIT instead of failing on 2.5 or 2^31
  lvm.tointeger = function (o: any): number | false {
    if (o.ttisinteger()) return o.value;
    const n = o.ttisfloat() ? o.value : lvm.tonumber(o);
    if (n === false) return false;
    return num2int(n);
  };
}

patchFengari();
