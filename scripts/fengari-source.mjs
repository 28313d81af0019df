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
