// A synchronous `io` library and os.execute, installed by src/ngx/misc.ts. fengari only has
// io.write; this works like C stdio (OpenResty's io is blocking too): io.open/lines/close/read/
// write/type/popen/tmpfile/input/output and file methods read/write/lines/seek/close/flush/setvbuf.
// There is no __gc in fengari, so a file that is never closed keeps its descriptor.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, pushBytes, luaErrorWhere, setLoaded, type LuaState } from '../lua/bridge.js';
import { numberBytes, num2int } from '../lua/luajit-number.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';

interface LFile {
  fd: number | null; // null for popen read handles (data) and closed files
  data: Buffer | null; // popen output
  pos: number;
  append: boolean;
  std: boolean;
  closed: boolean;
  popenWrite: { cmd: string; chunks: Buffer[] } | null;
}

const FILEHANDLE: Uint8Array = lauxlib.LUA_FILEHANDLE;

const ERRNO: Record<string, [number, string]> = {
  ENOENT: [2, 'No such file or directory'],
  EACCES: [13, 'Permission denied'],
  EPERM: [1, 'Operation not permitted'],
  EEXIST: [17, 'File exists'],
  ENOTDIR: [20, 'Not a directory'],
  EISDIR: [21, 'Is a directory'],
  EINVAL: [22, 'Invalid argument'],
  EMFILE: [24, 'Too many open files'],
  ENOSPC: [28, 'No space left on device'],
  EROFS: [30, 'Read-only file system'],
  EBADF: [9, 'Bad file descriptor'],
};

function pushFileError(L: LuaState, e: unknown, name: string | null): number {
  const code = (e as { code?: string }).code ?? '';
  const [errno, msg] = ERRNO[code] ?? [5, (e as Error).message ?? 'Input/output error'];
  lua.lua_pushnil(L);
  pushBytes(L, Buffer.from(name !== null ? `${name}: ${msg}` : msg, 'latin1'));
  lua.lua_pushnumber(L, errno);
  return 3;
}

function newFile(L: LuaState, f: LFile): void {
  const ud = lua.lua_newuserdata(L, 0);
  ud.lfile = f;
  lauxlib.luaL_setmetatable(L, FILEHANDLE);
}

function toFile(L: LuaState, idx: number): LFile {
  const ud = lauxlib.luaL_checkudata(L, idx, FILEHANDLE);
  const f: LFile | undefined = ud.lfile;
  if (f === undefined) luaErrorWhere(L, 'attempt to use a closed file');
  if (f.closed) luaErrorWhere(L, 'attempt to use a closed file');
  return f;
}

function fileReadBytes(f: LFile, n: number): Buffer {
  if (f.data !== null) {
    const b = f.data.subarray(f.pos, f.pos + n);
    f.pos += b.length;
    return b;
  }
  if (f.fd === null || n <= 0) return Buffer.alloc(0);
  const b = Buffer.allocUnsafe(n);
  let got = 0;
  try {
    got = fs.readSync(f.fd, b, 0, n, f.std ? null : f.pos);
  } catch (e) {
    if ((e as { code?: string }).code !== 'EAGAIN' && (e as { code?: string }).code !== 'EOF') throw e;
  }
  f.pos += got;
  return b.subarray(0, got);
}

function fileReadLine(f: LFile, keepNl: boolean): Buffer | null {
  const parts: Buffer[] = [];
  let any = false;
  for (;;) {
    const start = f.pos;
    const chunk = fileReadBytes(f, 4096);
    if (chunk.length === 0) break;
    any = true;
    const nl = chunk.indexOf(10);
    if (nl >= 0) {
      parts.push(chunk.subarray(0, keepNl ? nl + 1 : nl));
      f.pos = start + nl + 1;
      return Buffer.concat(parts);
    }
    parts.push(chunk);
  }
  return any ? Buffer.concat(parts) : null;
}

function fileReadAll(f: LFile): Buffer {
  const parts: Buffer[] = [];
  for (;;) {
    const chunk = fileReadBytes(f, 65536);
    if (chunk.length === 0) break;
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

function fileReadNumber(f: LFile): number | null {
  const start = f.pos;
  const chunk = fileReadBytes(f, 256).toString('latin1');
  const m = /^\s*([+-]?(0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*([pP][+-]?\d+)?|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?))/.exec(chunk);
  if (!m) {
    f.pos = start;
    return null;
  }
  f.pos = start + m[0].length;
  const t = m[1].trim();
  const v = /^[+-]?0[xX]/.test(t) ? Number.parseInt(t, 16) : Number(t);
  return Number.isNaN(v) ? null : v;
}

function fileIsEof(f: LFile): boolean {
  if (f.data !== null) return f.pos >= f.data.length;
  if (f.fd === null) return true;
  const b = Buffer.allocUnsafe(1);
  try {
    return fs.readSync(f.fd, b, 0, 1, f.std ? null : f.pos) === 0;
  } catch {
    return true;
  }
}

/** f:read(...) with arguments from `first` on; returns the number of results. */
function fileRead(L: LuaState, f: LFile, first: number): number {
  const top = lua.lua_gettop(L);
  if (top < first) {
    const line = fileReadLine(f, false);
    if (line === null) lua.lua_pushnil(L);
    else pushBytes(L, line);
    return 1;
  }
  let n = 0;
  for (let i = first; i <= top; i++) {
    n++;
    if (lua.lua_type(L, i) === lua.LUA_TNUMBER) {
      const k = num2int(lua.lua_tonumber(L, i));
      if (k <= 0) {
        if (fileIsEof(f)) {
          lua.lua_pushnil(L);
          return n;
        }
        pushBytes(L, S(''));
        continue;
      }
      const b = fileReadBytes(f, k);
      if (b.length === 0) {
        lua.lua_pushnil(L);
        return n;
      }
      pushBytes(L, b);
      continue;
    }
    const fmt: Uint8Array = lauxlib.luaL_checklstring(L, i);
    const c = fmt[0] === 42 ? fmt[1] : fmt[0];
    if (c === 110) {
      const v = fileReadNumber(f);
      if (v === null) {
        lua.lua_pushnil(L);
        return n;
      }
      lua.lua_pushnumber(L, v);
    } else if (c === 108 || c === 76) {
      const line = fileReadLine(f, c === 76);
      if (line === null) {
        lua.lua_pushnil(L);
        return n;
      }
      pushBytes(L, line);
    } else if (c === 97) {
      pushBytes(L, fileReadAll(f));
    } else {
      lauxlib.luaL_argerror(L, i, S('invalid format'));
    }
  }
  return n;
}

function fileWrite(L: LuaState, f: LFile, first: number): number {
  const top = lua.lua_gettop(L);
  for (let i = first; i <= top; i++) {
    let b: Uint8Array;
    if (lua.lua_type(L, i) === lua.LUA_TNUMBER) b = numberBytes(lua.lua_tonumber(L, i));
    else b = lauxlib.luaL_checklstring(L, i);
    if (f.popenWrite !== null) {
      f.popenWrite.chunks.push(Buffer.from(b));
      continue;
    }
    if (f.fd === null) {
      lua.lua_pushnil(L);
      pushBytes(L, S('Bad file descriptor'));
      lua.lua_pushnumber(L, 9);
      return 3;
    }
    try {
      const w = fs.writeSync(f.fd, b, 0, b.length, f.append || f.std ? null : f.pos);
      f.pos += w;
    } catch (e) {
      return pushFileError(L, e, null);
    }
  }
  return 0;
}

function fileClose(L: LuaState, f: LFile): number {
  if (f.std) {
    lua.lua_pushnil(L);
    pushBytes(L, S('cannot close standard file'));
    return 2;
  }
  f.closed = true;
  if (f.popenWrite !== null) {
    spawnSync('/bin/sh', ['-c', f.popenWrite.cmd], { input: Buffer.concat(f.popenWrite.chunks), stdio: ['pipe', 'inherit', 'inherit'] });
  }
  if (f.fd !== null) {
    try {
      fs.closeSync(f.fd);
    } catch (e) {
      return pushFileError(L, e, null);
    }
  }
  f.fd = null;
  lua.lua_pushboolean(L, 1);
  return 1;
}

const fileMethods: Record<string, (L: LuaState) => number> = {
  read: (L) => fileRead(L, toFile(L, 1), 2),
  write: (L) => {
    const r = fileWrite(L, toFile(L, 1), 2);
    if (r !== 0) return r;
    lua.lua_pushboolean(L, 1); // LuaJIT (5.1 mode) returns true, not the file
    return 1;
  },
  lines: (L) => {
    toFile(L, 1);
    return pushLinesIterator(L, 1, false);
  },
  close: (L) => fileClose(L, toFile(L, 1)),
  flush: (L) => {
    toFile(L, 1);
    lua.lua_pushvalue(L, 1);
    return 1;
  },
  setvbuf: (L) => {
    toFile(L, 1);
    lua.lua_pushboolean(L, 1);
    return 1;
  },
  seek: (L) => {
    const f = toFile(L, 1);
    const whence = lua.lua_type(L, 2) <= 0 ? 'cur' : Buffer.from(lauxlib.luaL_checklstring(L, 2)).toString('latin1');
    const off = lua.lua_type(L, 3) <= 0 ? 0 : lauxlib.luaL_checknumber(L, 3);
    let base: number;
    if (whence === 'set') base = 0;
    else if (whence === 'cur') base = f.pos;
    else if (whence === 'end') {
      if (f.data !== null) base = f.data.length;
      else if (f.fd !== null) base = fs.fstatSync(f.fd).size;
      else base = 0;
    } else lauxlib.luaL_argerror(L, 2, S(`invalid option '${whence}'`));
    const np = base! + Math.trunc(off);
    if (np < 0) {
      lua.lua_pushnil(L);
      pushBytes(L, S('Invalid argument'));
      lua.lua_pushnumber(L, 22);
      return 3;
    }
    f.pos = np;
    lua.lua_pushnumber(L, np);
    return 1;
  },
};

/** Iterator over lines (or the given formats) of the file at `idx`; closes it at EOF if asked. */
/** Iterator over the lines of the file at `idx` (LuaJIT 5.1 mode: no formats); it closes the
 *  file at EOF when asked (io.lines(name)). */
function pushLinesIterator(L: LuaState, idx: number, closeAtEof: boolean): number {
  lua.lua_pushvalue(L, idx);
  lua.lua_pushboolean(L, closeAtEof ? 1 : 0);
  lua.lua_pushcclosure(L, linesStep, 2);
  return 1;
}

function linesStep(L: LuaState): number {
  const ud = lua.lua_touserdata(L, lua.lua_upvalueindex(1));
  const f: LFile = ud.lfile;
  if (f.closed) luaErrorWhere(L, 'file is already closed');
  const line = fileReadLine(f, false);
  if (line === null) {
    if (lua.lua_toboolean(L, lua.lua_upvalueindex(2))) fileClose(L, f);
    lua.lua_pushnil(L);
    return 1;
  }
  pushBytes(L, line);
  return 1;
}

function openFile(L: LuaState, name: string, mode: string): LFile | null {
  // like glibc's fopen: r/w/a, then '+' anywhere in the rest; other letters are ignored
  const c0 = mode[0];
  if (c0 !== 'r' && c0 !== 'w' && c0 !== 'a') {
    const e = Object.assign(new Error('Invalid argument'), { code: 'EINVAL' });
    pushFileError(L, e, name);
    return null;
  }
  const flags = c0 + (mode.indexOf('+', 1) > 0 ? '+' : '');
  try {
    const fd = fs.openSync(name, flags);
    return { fd, data: null, pos: 0, append: c0 === 'a', std: false, closed: false, popenWrite: null };
  } catch (e) {
    pushFileError(L, e, name);
    return null;
  }
}

const stdFiles: LFile[] = [0, 1, 2].map((fd) => ({ fd, data: null, pos: 0, append: true, std: true, closed: false, popenWrite: null }));
const IO_INPUT = S('tsresty.io.input');
const IO_OUTPUT = S('tsresty.io.output');

function defaultFile(L: LuaState, key: Uint8Array): LFile {
  lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, key);
  const ud = lua.lua_touserdata(L, -1);
  lua.lua_pop(L, 1);
  const f: LFile | undefined = ud?.lfile;
  if (f === undefined || f.closed) luaErrorWhere(L, `standard ${key === IO_INPUT ? 'input' : 'output'} file is closed`);
  return f;
}

function ioSetDefault(L: LuaState, key: Uint8Array, mode: string): number {
  if (lua.lua_type(L, 1) > lua.LUA_TNIL) {
    if (lua.lua_type(L, 1) === lua.LUA_TSTRING) {
      const name = Buffer.from(lua.lua_tolstring(L, 1)).toString('latin1');
      const f = openFile(L, name, mode);
      if (f === null) luaErrorWhere(L, `cannot open file '${name}' (${Buffer.from(lua.lua_tolstring(L, -2)).toString('latin1').split(': ').pop()})`);
      newFile(L, f);
    } else {
      toFile(L, 1);
      lua.lua_pushvalue(L, 1);
    }
    lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, key);
  }
  lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, key);
  return 1;
}

const ioFunctions: Record<string, (L: LuaState) => number> = {
  open: (L) => {
    const name = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
    const mode = lua.lua_type(L, 2) <= 0 ? 'r' : Buffer.from(lauxlib.luaL_checklstring(L, 2)).toString('latin1');
    const f = openFile(L, name, mode);
    if (f === null) return 3;
    newFile(L, f);
    return 1;
  },
  close: (L) => {
    if (lua.lua_type(L, 1) <= 0) return fileClose(L, defaultFile(L, IO_OUTPUT));
    return fileClose(L, toFile(L, 1));
  },
  read: (L) => {
    const f = defaultFile(L, IO_INPUT);
    if (f.std) {
      // a server has no console input to wait for
      lua.lua_pushnil(L);
      return 1;
    }
    return fileRead(L, f, 1);
  },
  write: (L) => {
    const f = defaultFile(L, IO_OUTPUT);
    const r = fileWrite(L, f, 1);
    if (r !== 0) return r;
    lua.lua_pushboolean(L, 1);
    return 1;
  },
  lines: (L) => {
    if (lua.lua_type(L, 1) <= 0) {
      lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, IO_INPUT);
      lua.lua_replace(L, 1);
      return pushLinesIterator(L, 1, false);
    }
    const name = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
    const f = openFile(L, name, 'r');
    if (f === null) lauxlib.luaL_argerror(L, 1, lua.lua_tolstring(L, -2));
    newFile(L, f!);
    lua.lua_replace(L, 1);
    return pushLinesIterator(L, 1, true);
  },
  type: (L) => {
    lauxlib.luaL_checkany(L, 1);
    const ud = lauxlib.luaL_testudata(L, 1, FILEHANDLE);
    const f: LFile | undefined = ud?.lfile;
    if (!f) lua.lua_pushnil(L);
    else pushBytes(L, S(f.closed ? 'closed file' : 'file'));
    return 1;
  },
  input: (L) => ioSetDefault(L, IO_INPUT, 'r'),
  output: (L) => ioSetDefault(L, IO_OUTPUT, 'w'),
  flush: (L) => {
    lua.lua_pushboolean(L, 1);
    return 1;
  },
  popen: (L) => {
    const cmd = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
    const mode = lua.lua_type(L, 2) <= 0 ? 'r' : Buffer.from(lauxlib.luaL_checklstring(L, 2)).toString('latin1');
    if (mode[0] === 'w') {
      newFile(L, { fd: null, data: null, pos: 0, append: true, std: false, closed: false, popenWrite: { cmd, chunks: [] } });
      return 1;
    }
    const r = spawnSync('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 30 });
    if (r.error) return pushFileError(L, r.error, cmd);
    newFile(L, { fd: null, data: r.stdout ?? Buffer.alloc(0), pos: 0, append: false, std: false, closed: false, popenWrite: null });
    return 1;
  },
  tmpfile: (L) => {
    const name = path.join(os.tmpdir(), `lua_${process.pid}_${Math.random().toString(36).slice(2)}`);
    const f = openFile(L, name, 'w+');
    if (f === null) return 3;
    try {
      fs.unlinkSync(name);
    } catch {
      /* keep going: the file still works */
    }
    newFile(L, f);
    return 1;
  },
};

export function osExecute(L: LuaState): number {
  if (lua.lua_type(L, 1) <= 0) {
    lua.lua_pushnumber(L, 1);
    return 1;
  }
  const cmd = Buffer.from(lauxlib.luaL_checklstring(L, 1)).toString('latin1');
  const r = spawnSync('/bin/sh', ['-c', cmd], { stdio: 'inherit' });
  // LuaJIT (Lua 5.1 mode) returns system()'s raw wait status
  const status = r.status !== null ? r.status * 256 : r.signal ? (os.constants.signals[r.signal] ?? 0) : -1;
  lua.lua_pushnumber(L, status);
  return 1;
}

export function installIo(L: LuaState): void {
  lauxlib.luaL_newmetatable(L, FILEHANDLE);
  lua.lua_createtable(L, 0, 8);
  for (const k of Object.keys(fileMethods)) {
    lua.lua_pushcfunction(L, fileMethods[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  lua.lua_setfield(L, -2, S('__index'));
  lua.lua_pushcfunction(L, (L2: LuaState) => {
    const ud = lua.lua_touserdata(L2, 1);
    const f: LFile | undefined = ud?.lfile;
    pushBytes(L2, S(!f || f.closed ? 'file (closed)' : `file (0x${(lua.lua_topointer(L2, 1)?.id ?? 0).toString(16)})`));
    return 1;
  });
  lua.lua_setfield(L, -2, S('__tostring'));
  lua.lua_pop(L, 1);

  lua.lua_createtable(L, 0, 16);
  for (const k of Object.keys(ioFunctions)) {
    lua.lua_pushcfunction(L, ioFunctions[k]);
    lua.lua_setfield(L, -2, S(k));
  }
  const names = ['stdin', 'stdout', 'stderr'];
  for (let i = 0; i < 3; i++) {
    newFile(L, stdFiles[i]);
    if (i === 0) {
      lua.lua_pushvalue(L, -1);
      lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, IO_INPUT);
    } else if (i === 1) {
      lua.lua_pushvalue(L, -1);
      lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, IO_OUTPUT);
    }
    lua.lua_setfield(L, -2, S(names[i]));
  }
  lua.lua_pushvalue(L, -1);
  lua.lua_setglobal(L, S('io'));
  setLoaded(L, 'io');
  lua.lua_pop(L, 1);
}
