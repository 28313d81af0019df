// Patches to fengari's own source, applied when it is loaded: by the esbuild plugin in
// scripts/build.mjs (the server bundle) and by the require hook in test/support/fengari-hook.ts
// (unit tests that run Lua in-process). They edit functions that fengari's modules call through
// local bindings, which src/lua/fengari-patches.ts (run-time replacement of exported functions,
// where most LuaJIT-compatibility patches live) cannot reach: mostly speed (how the VM stores
// things, never what Lua code sees), plus two LuaJIT rules: identifier bytes and traceback names.
//
// Each patch names the exact text it replaces; a fengari upgrade that changes that text fails the
// build instead of silently dropping the patch.

/** @type {{ file: string, why: string, find: string, replace: string, all?: boolean }[]} */
export const FENGARI_SOURCE_PATCHES = [
  {
    // Popping the stack with `delete L.stack[i]` punches holes in the stack array: every pop is a
    // slow V8 runtime call and later element accesses go through the holey path. Values above
    // `top` are dead to the VM, and every push stores a fresh TValue before use (upvalues keep the
    // old object, as with delete), so only `top` has to move. Measured: a Lua function call costs
    // about half as much.
    file: 'ldo.js',
    why: 'adjust_top: lower top without deleting slots',
    find: `        while (L.top > newtop)
            delete L.stack[--L.top];`,
    replace: `        L.top = newtop;`,
  },
  {
    // Growing the stack for a Lua frame (adjust_top, missing parameters in luaD_precall) made a new
    // nil TValue per slot: a dozen objects per Lua call, the largest share of a request's garbage.
    // Slots above top are dead and owned by nobody - luaF_close replaces a captured slot with a
    // fresh TValue before its frame goes away, and the API pushes fresh TValues - so a leftover
    // object is reset to nil in place.
    file: 'ldo.js',
    why: 'pushnil_reuse: push a nil into the dead TValue above top, if any',
    find: `const adjust_top = function(L, newtop) {`,
    replace: `const pushnil_reuse = function(L) {
    let o = L.stack[L.top];
    if (o === undefined) L.stack[L.top] = new lobject.TValue(LUA_TNIL, null);
    else o.setnilvalue();
    L.top++;
};

const adjust_top = function(L, newtop) {`,
  },
  {
    file: 'ldo.js',
    why: 'adjust_top: reuse the dead TValues above top',
    find: `        while (L.top < newtop)
            L.stack[L.top++] = new lobject.TValue(LUA_TNIL, null);`,
    replace: `        while (L.top < newtop)
            pushnil_reuse(L);`,
  },
  {
    // Likewise a CallInfo per call: Lua 5.3 keeps the list of CallInfos and reuses the next one
    // (next_ci); fengari dropped it on every return. Every field a call reads is set by
    // luaD_precall or by the API before use, as in C Lua, which reuses them the same way.
    file: 'lstate.js',
    why: 'luaE_extendCI: reuse the next CallInfo',
    find: `const luaE_extendCI = function(L) {
    let ci = new CallInfo();`,
    replace: `const luaE_extendCI = function(L) {
    let ci = L.ci.next;
    if (ci !== null) {
        L.ci = ci;
        return ci;
    }
    ci = new CallInfo();`,
  },
  {
    file: 'ldo.js',
    why: 'luaD_poscall: keep the CallInfo for the next call',
    find: `    L.ci = ci.previous;
    L.ci.next = null;
    return moveresults(`,
    replace: `    L.ci = ci.previous;
    return moveresults(`,
  },
  {
    file: 'ldo.js',
    why: 'adjust_varargs: reuse the dead TValues above top for the fixed parameters',
    find: `    for (i = 0; i < nfixargs && i < actual; i++) {
        lobject.pushobj2s(L, L.stack[fixed + i]);
        L.stack[fixed + i].setnilvalue();
    }

    for (; i < nfixargs; i++)
        L.stack[L.top++] = new lobject.TValue(LUA_TNIL, null);`,
    replace: `    for (i = 0; i < nfixargs && i < actual; i++) {
        let o = L.stack[L.top];
        if (o === undefined) lobject.pushobj2s(L, L.stack[fixed + i]);
        else { o.setfrom(L.stack[fixed + i]); L.top++; }
        L.stack[fixed + i].setnilvalue();
    }

    for (; i < nfixargs; i++)
        pushnil_reuse(L);`,
  },
  {
    file: 'ldo.js',
    why: 'luaD_precall: reuse the dead TValues above top for missing parameters',
    find: `                for (; n < p.numparams; n++)
                    L.stack[L.top++] = new lobject.TValue(LUA_TNIL, null); // complete missing arguments`,
    replace: `                for (; n < p.numparams; n++)
                    pushnil_reuse(L); // complete missing arguments`,
  },
  {
    file: 'ldo.js',
    why: 'moveresults (LUA_MULTRET): lower top without deleting slots',
    find: `            for (let i=L.top; i>=(res + nres); i--)
                delete L.stack[i];
            L.top = res + nres;`,
    replace: `            L.top = res + nres;`,
  },
  {
    file: 'ldo.js',
    why: 'moveresults: lower top without deleting slots',
    find: `    let newtop = res + wanted; /* top points after the last result */
    for (let i=L.top; i>=newtop; i--)
        delete L.stack[i];
    L.top = newtop;`,
    replace: `    L.top = res + wanted; /* top points after the last result */`,
  },
  {
    // the same for single pops all over the API and the VM
    file: '*',
    why: 'pops lower top without deleting the slot',
    find: `delete L.stack[--L.top];`,
    replace: `--L.top;`,
    all: true,
  },
  {
    // lua_getfield/lua_setfield/lua_getglobal/lua_setglobal copied the key's bytes (converting a
    // JS string first) and made a new TString for every call, whose table hash is then rebuilt
    // byte by byte. The embedding API calls these with the same few hundred names on every
    // request, so the TString (and its cached hash) is kept per key: by value for JS strings, and
    // per byte array for Uint8Array keys, re-checked byte for byte in case a caller reuses a buffer.
    file: 'lapi.js',
    why: 'auxsetstr: cached key TString',
    find: `const auxsetstr = function(L, t, k) {
    let str = luaS_new(L, from_userstring(k));`,
    replace: `const keyStrings = new Map();
const keyArrays = new WeakMap();
const keyTString = function(L, k) {
    let str;
    if (typeof k === "string") {
        str = keyStrings.get(k);
        if (str === undefined) {
            str = luaS_new(L, from_userstring(k));
            if (keyStrings.size < 8192) keyStrings.set(k, str);
        }
        return str;
    }
    str = keyArrays.get(k);
    if (str !== undefined) {
        const b = str.realstring;
        let same = b.length === k.length;
        for (let i = 0; same && i < b.length; i++) same = b[i] === k[i];
        if (same) return str;
    }
    str = luaS_new(L, from_userstring(k));
    keyArrays.set(k, str);
    return str;
};

const auxsetstr = function(L, t, k) {
    let str = keyTString(L, k);`,
  },
  {
    file: 'lapi.js',
    why: 'auxgetstr: cached key TString',
    find: `const auxgetstr = function(L, t, k) {
    let str = luaS_new(L, from_userstring(k));`,
    replace: `const auxgetstr = function(L, t, k) {
    let str = keyTString(L, k);`,
  },
  {
    // Every table allocated a second Map for entries deleted during a traversal, and cleared it on
    // every insert: most tables never delete anything while being traversed.
    file: 'ltable.js',
    why: 'Table: dead_strong map created on first use',
    find: `        this.dead_strong = new Map();`,
    replace: `        this.dead_strong = void 0;`,
  },
  {
    file: 'ltable.js',
    why: 'add: drop dead_strong instead of clearing it',
    find: `    t.dead_strong.clear();`,
    replace: `    t.dead_strong = void 0;`,
  },
  {
    file: 'ltable.js',
    why: 'delete: create dead_strong when needed',
    find: `            t.dead_strong.set(hash, e);`,
    replace: `            (t.dead_strong || (t.dead_strong = new Map())).set(hash, e);`,
  },
  {
    file: 'ltable.js',
    why: 'next: dead_strong may be absent',
    find: `table.dead_strong.get(hash);`,
    replace: `(table.dead_strong !== void 0 && table.dead_strong.get(hash));`,
  },
];

// Every string pushed from JS (lua_pushlstring, lua_pushstring, luaS_new) is copied with
// luastring_from, which was Uint8Array.from: V8 runs it as a generic iteration, ~3x the cost of the
// typed-array constructor's memcpy for a short string.
FENGARI_SOURCE_PATCHES.push({
  file: 'defs.js',
  why: 'luastring_from: copy typed arrays with the constructor',
  find: `    luastring_from = Uint8Array.from.bind(Uint8Array);`,
  replace: `    luastring_from = function(a) {
        return ArrayBuffer.isView(a) ? new Uint8Array(a) : Uint8Array.from(a);
    };`,
});

// Tracebacks (luaL_traceback: error-log tracebacks and debug.traceback alike) name a called frame
// the LuaJIT way, "function 'f'", where Lua 5.3 says "local 'f'", "upvalue 'f'", "method 'f'"...
FENGARI_SOURCE_PATCHES.push({
  file: 'lauxlib.js',
  why: 'pushfuncname: LuaJIT frame names',
  find: `        lua_pushfstring(L, to_luastring("%s '%s'"), ar.namewhat, ar.name);  /* use it */`,
  replace: `        lua_pushfstring(L, to_luastring("function '%s'"), ar.name);  /* LuaJIT's wording */`,
});

// LuaJIT's lexer takes any byte >= 0x80 as an identifier character, so UTF-8 names work
// (`ngx.var.arg_语言`); Lua 5.3's rejects them.
FENGARI_SOURCE_PATCHES.push(
  {
    file: 'ljstype.js',
    why: 'lislalpha: bytes >= 0x80 start identifiers (LuaJIT)',
    find: `const lislalpha = function(c) {
    return (luai_ctype_[c+1] & (1<<ALPHABIT)) !== 0;`,
    replace: `const lislalpha = function(c) {
    return c >= 0x80 || (luai_ctype_[c+1] & (1<<ALPHABIT)) !== 0;`,
  },
  {
    file: 'ljstype.js',
    why: 'lislalnum: bytes >= 0x80 continue identifiers (LuaJIT)',
    find: `const lislalnum = function(c) {
    return (luai_ctype_[c+1] & ((1<<ALPHABIT)|(1<<DIGITBIT))) !== 0;`,
    replace: `const lislalnum = function(c) {
    return c >= 0x80 || (luai_ctype_[c+1] & ((1<<ALPHABIT)|(1<<DIGITBIT))) !== 0;`,
  },
);

// Soft yields. fengari implements lua_yield as a JS throw, as Lua 5.3 does with longjmp, and under
// Node every throw costs microseconds (V8 records a message and stack trace for it: no embedder
// TryCatch is above the event loop's callbacks) and grows with the stack depth - a cosocket call
// paid ~15 us CPU in that throw alone. When the only JS frames between lua_resume and the yielding
// JS function are the VM's own (resume/unroll -> luaV_execute -> luaD_precall -> f), yielding can
// instead return through them: lua_yieldk marks the thread yielded and returns, f returns, and
// each of those frames stops when it sees L.status === LUA_YIELD. That holds when f was called
// by luaD_precall at the coroutine's base C-call depth (L.softBase, set by lua_resume: every other
// way into the VM - lua_call, metamethods, pcall, for-iterators - goes through luaD_call, which
// raises nCcalls). Anything else (a yield below pcall, from a metamethod, from a continuation)
// still throws. A JS function must `return lua_yield(...)` - C code cannot run on after
// lua_yield, and precall checks that nothing was pushed after the yield.
FENGARI_SOURCE_PATCHES.push(
  {
    file: 'lstate.js',
    why: 'soft yields: per-thread fields',
    find: `        this.nCcalls = 0;`,
    replace: `        this.nCcalls = 0;
        this.softBase = -1; /* nCcalls at which a JS function may yield by returning */
        this.softCI = null; /* the CallInfo of the JS function luaD_precall is running there */
        this.softTop = 0;   /* top when it yielded (checked when it returns) */`,
  },
  {
    file: 'ldo.js',
    why: 'soft yields: luaD_precall marks the JS function and stops after its yield',
    find: `            let n = f(L); /* do the actual call */
            if (typeof n !== "number" || n < 0 || (n|0) !== n)`,
    replace: `            L.softCI = L.nCcalls === L.softBase ? ci : null;
            let n = f(L); /* do the actual call */
            if (L.status === LUA_YIELD) {  /* it yielded by returning (soft yield) */
                if (L.ci !== ci || L.top !== L.softTop) {
                    L.status = LUA_OK;
                    ldebug.luaG_runerror(L, to_luastring("JS function kept running after lua_yield (use: return lua_yield(...))", true));
                }
                return true;
            }
            if (typeof n !== "number" || n < 0 || (n|0) !== n)`,
  },
  {
    file: 'ldo.js',
    why: 'soft yields: lua_yieldk returns where it can',
    find: `        ci.func = L.stack[ci.funcOff];
        luaD_throw(L, LUA_YIELD);`,
    replace: `        ci.func = L.stack[ci.funcOff];
        if (L.softCI === ci && L.nCcalls === L.softBase) {
            L.softCI = null;
            L.softTop = L.top;
            return 0;  /* luaD_precall and the VM unwind by returning */
        }
        L.softCI = null;
        luaD_throw(L, LUA_YIELD);`,
  },
  {
    file: 'ldo.js',
    why: 'soft yields: a continuation called by resume throws its yields',
    find: `                n = ci.c_k(L, LUA_YIELD, ci.c_ctx); /* call continuation */`,
    replace: `                L.softCI = null;
                n = ci.c_k(L, LUA_YIELD, ci.c_ctx); /* call continuation */`,
  },
  {
    file: 'ldo.js',
    why: 'soft yields: a continuation called by finishCcall throws its yields',
    find: `    let n = c_k(L, status, ci.c_ctx);  /* call continuation function */`,
    replace: `    L.softCI = null;
    let n = c_k(L, status, ci.c_ctx);  /* call continuation function */`,
  },
  {
    file: 'ldo.js',
    why: 'soft yields: unroll stops at a yield',
    find: `    while (L.ci !== L.base_ci) {  /* something in the stack */`,
    replace: `    while (L.ci !== L.base_ci && L.status !== LUA_YIELD) {  /* something in the stack, not yielded */`,
  },
  {
    file: 'ldo.js',
    why: 'soft yields: lua_resume sets the base depth',
    find: `    L.nCcalls = from ? from.nCcalls + 1 : 1;`,
    replace: `    L.nCcalls = from ? from.nCcalls + 1 : 1;
    L.softBase = L.nCcalls;`,
  },
  {
    file: 'ldo.js',
    why: 'soft yields: lua_resume reports a soft yield',
    find: `            status = luaD_rawrunprotected(L, unroll, status);
        }
`,
    replace: `            status = luaD_rawrunprotected(L, unroll, status);
        }
        if (status === LUA_OK && L.status === LUA_YIELD)  /* yielded by returning */
            status = LUA_YIELD;
`,
  },
  {
    file: 'lvm.js',
    why: 'soft yields: OP_CALL returns from luaV_execute after a yield',
    find: `                if (ldo.luaD_precall(L, ra, nresults)) {
                    if (nresults >= 0)`,
    replace: `                if (ldo.luaD_precall(L, ra, nresults)) {
                    if (L.status === 1 /* LUA_YIELD: soft yield */) return;
                    if (nresults >= 0)`,
  },
  {
    file: 'lvm.js',
    why: 'soft yields: OP_TAILCALL returns from luaV_execute after a yield',
    find: `                if (ldo.luaD_precall(L, ra, LUA_MULTRET)) { // JS function
                } else {`,
    replace: `                if (ldo.luaD_precall(L, ra, LUA_MULTRET)) { // JS function
                    if (L.status === 1 /* LUA_YIELD: soft yield */) return;
                } else {`,
  },
);

/** The patched text of fengari/src/<file> (`name` is the base name, e.g. "ldo.js"). */
export function patchFengariSource(name, code) {
  let out = code;
  for (const p of FENGARI_SOURCE_PATCHES) {
    if (p.file !== name && p.file !== '*') continue;
    if (!out.includes(p.find)) {
      if (p.file === '*') continue;
      throw new Error(`fengari source patch "${p.why}" no longer applies to ${name}: fengari changed, review scripts/fengari-source.mjs`);
    }
    out = p.all ? out.split(p.find).join(p.replace) : out.replace(p.find, p.replace);
  }
  return out;
}

/** Files of fengari/src/ the patches touch. */
export const PATCHED_FILES_RE = /[\\/]fengari[\\/]src[\\/]([a-z]+\.js)$/;
