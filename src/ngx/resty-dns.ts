// Native half of lua/resty/dns/resolver.lua: DNS wire format (RFC 1035, 3596, 2782) built and
// parsed in JS, where byte handling is cheap; the Lua side does the I/O over cosockets.
// require "tsresty.dns".
//
//   build_request(id, qname, qtype, no_recurse) -> query bytes | nil, err
//   parse_response(buf, id, authority?, additional?) -> answers | nil, err
//     err "id mismatch" (a stray reply: keep reading), "truncated" (retry over TCP), or a
//     description of a malformed packet. answers.errcode/errstr carry a non-zero RCODE.
import { lua, lauxlib } from '../lua/fengari.js';
import { S, pushBytes, pushString, type LuaState } from '../lua/bridge.js';
import { definePreload } from './registry.js';

const RCODES: Record<number, string> = {
  1: 'format error',
  2: 'server failure',
  3: 'name error',
  4: 'not implemented',
  5: 'refused',
};

function buildRequest(L: LuaState): number {
  const id = lauxlib.luaL_checkinteger(L, 1) & 0xffff;
  const qname = Buffer.from(lauxlib.luaL_checklstring(L, 2));
  const qtype = lauxlib.luaL_checkinteger(L, 3) & 0xffff;
  const noRecurse = lua.lua_toboolean(L, 4);
  const labels: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= qname.length; i++) {
    if (i === qname.length || qname[i] === 0x2e) {
      const label = qname.subarray(start, i);
      start = i + 1;
      if (label.length === 0) {
        // a trailing dot is allowed, empty labels elsewhere are not
        if (i === qname.length && labels.length > 0) break;
        lua.lua_pushnil(L);
        pushString(L, 'bad name');
        return 2;
      }
      if (label.length > 63) {
        lua.lua_pushnil(L);
        pushString(L, 'label too long');
        return 2;
      }
      labels.push(label);
    }
  }
  let len = 12 + 1 + 4;
  for (const l of labels) len += 1 + l.length;
  if (len - 16 > 255) {
    lua.lua_pushnil(L);
    pushString(L, 'name too long');
    return 2;
  }
  const out = Buffer.alloc(len);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(noRecurse ? 0 : 0x0100, 2); // RD
  out.writeUInt16BE(1, 4); // QDCOUNT
  let p = 12;
  for (const l of labels) {
    out[p++] = l.length;
    l.copy(out, p);
    p += l.length;
  }
  out[p++] = 0;
  out.writeUInt16BE(qtype, p);
  out.writeUInt16BE(1, p + 2); // IN
  pushBytes(L, out);
  return 1;
}

class Malformed extends Error {}

/** Read a (possibly compressed) domain name at `pos`; returns [name, position after it]. */
function readName(buf: Buffer, pos: number): [string, number] {
  const parts: string[] = [];
  let end = -1;
  let jumps = 0;
  for (;;) {
    if (pos >= buf.length) throw new Malformed('truncated name');
    const len = buf[pos];
    if (len === 0) {
      pos++;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new Malformed('truncated name pointer');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1];
      if (++jumps > 64) throw new Malformed('name pointer loop');
      continue;
    }
    if (len > 63) throw new Malformed('bad label length');
    if (pos + 1 + len > buf.length) throw new Malformed('truncated label');
    parts.push(buf.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return [parts.join('.'), end < 0 ? pos : end];
}

function setStr(L: LuaState, key: string, v: string): void {
  pushBytes(L, Buffer.from(v, 'latin1'));
  lua.lua_setfield(L, -2, S(key));
}

function setNum(L: LuaState, key: string, v: number): void {
  lua.lua_pushnumber(L, v);
  lua.lua_setfield(L, -2, S(key));
}

/** Push one resource record as a table; returns the position after it. */
function pushRecord(L: LuaState, buf: Buffer, pos: number, section: number): number {
  const [name, p0] = readName(buf, pos);
  if (p0 + 10 > buf.length) throw new Malformed('truncated resource record');
  const type = buf.readUInt16BE(p0);
  const klass = buf.readUInt16BE(p0 + 2);
  const ttl = buf.readUInt32BE(p0 + 4);
  const rdlen = buf.readUInt16BE(p0 + 8);
  const rd = p0 + 10;
  if (rd + rdlen > buf.length) throw new Malformed('truncated rdata');
  lua.lua_createtable(L, 0, 6);
  setStr(L, 'name', name);
  setNum(L, 'type', type);
  setNum(L, 'class', klass);
  setNum(L, 'ttl', ttl);
  setNum(L, 'section', section);
  switch (type) {
    case 1: // A
      if (rdlen !== 4) throw new Malformed('bad A record length');
      setStr(L, 'address', `${buf[rd]}.${buf[rd + 1]}.${buf[rd + 2]}.${buf[rd + 3]}`);
      break;
    case 28: {
      // AAAA, groups in hex without zero compression (like lua-resty-dns)
      if (rdlen !== 16) throw new Malformed('bad AAAA record length');
      const g: string[] = [];
      for (let i = 0; i < 8; i++) g.push(buf.readUInt16BE(rd + 2 * i).toString(16));
      setStr(L, 'address', g.join(':'));
      break;
    }
    case 5: // CNAME
      setStr(L, 'cname', readName(buf, rd)[0]);
      break;
    case 2: // NS
      setStr(L, 'nsdname', readName(buf, rd)[0]);
      break;
    case 12: // PTR
      setStr(L, 'ptrdname', readName(buf, rd)[0]);
      break;
    case 15: // MX
      setNum(L, 'preference', buf.readUInt16BE(rd));
      setStr(L, 'exchange', readName(buf, rd + 2)[0]);
      break;
    case 33: // SRV
      setNum(L, 'priority', buf.readUInt16BE(rd));
      setNum(L, 'weight', buf.readUInt16BE(rd + 2));
      setNum(L, 'port', buf.readUInt16BE(rd + 4));
      setStr(L, 'target', readName(buf, rd + 6)[0]);
      break;
    case 6: {
      // SOA
      const [mname, p1] = readName(buf, rd);
      const [rname, p2] = readName(buf, p1);
      setStr(L, 'mname', mname);
      setStr(L, 'rname', rname);
      setNum(L, 'serial', buf.readUInt32BE(p2));
      setNum(L, 'refresh', buf.readUInt32BE(p2 + 4));
      setNum(L, 'retry', buf.readUInt32BE(p2 + 8));
      setNum(L, 'expire', buf.readUInt32BE(p2 + 12));
      setNum(L, 'minimum', buf.readUInt32BE(p2 + 16));
      break;
    }
    case 16: // TXT
    case 99: {
      // SPF: one string, or a table when there are several
      const strs: Buffer[] = [];
      let p = rd;
      while (p < rd + rdlen) {
        const n = buf[p];
        strs.push(buf.subarray(p + 1, p + 1 + n));
        p += 1 + n;
      }
      const key = S(type === 16 ? 'txt' : 'spf');
      if (strs.length === 1) pushBytes(L, strs[0]);
      else {
        lua.lua_createtable(L, strs.length, 0);
        strs.forEach((s, i) => {
          pushBytes(L, s);
          lua.lua_rawseti(L, -2, i + 1);
        });
      }
      lua.lua_setfield(L, -2, key);
      break;
    }
    default:
      pushBytes(L, buf.subarray(rd, rd + rdlen));
      lua.lua_setfield(L, -2, S('rdata'));
  }
  return rd + rdlen;
}

function parseResponse(L: LuaState): number {
  const buf = Buffer.from(lauxlib.luaL_checklstring(L, 1));
  const id = lauxlib.luaL_checkinteger(L, 2) & 0xffff;
  const wantNs = lua.lua_toboolean(L, 3);
  const wantAr = lua.lua_toboolean(L, 4);
  const fail = (msg: string): number => {
    lua.lua_settop(L, 4);
    lua.lua_pushnil(L);
    pushString(L, msg);
    return 2;
  };
  if (buf.length < 12) return fail('truncated');
  if (buf.readUInt16BE(0) !== id) return fail('id mismatch');
  const flags = buf.readUInt16BE(2);
  if ((flags & 0x8000) === 0) return fail('bad QR flag in the DNS response');
  if (flags & 0x0200) return fail('truncated');
  const rcode = flags & 0x0f;
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  try {
    let pos = 12;
    for (let i = 0; i < qd; i++) {
      pos = readName(buf, pos)[1] + 4;
    }
    lua.lua_createtable(L, an, 2);
    if (rcode !== 0) {
      setNum(L, 'errcode', rcode);
      setStr(L, 'errstr', RCODES[rcode] ?? 'unknown');
    }
    let n = 0;
    const sections: [number, number, boolean][] = [[an, 1, true], [ns, 2, wantNs], [ar, 3, wantAr]];
    for (const [count, section, keep] of sections) {
      for (let i = 0; i < count; i++) {
        const next = pushRecord(L, buf, pos, section);
        if (keep) lua.lua_rawseti(L, -2, ++n);
        else lua.lua_pop(L, 1);
        pos = next;
      }
    }
    return 1;
  } catch (e) {
    if (e instanceof Malformed) return fail(e.message);
    throw e;
  }
}

definePreload('tsresty.dns', (L) => {
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushcfunction(L, buildRequest);
  lua.lua_setfield(L, -2, S('build_request'));
  lua.lua_pushcfunction(L, parseResponse);
  lua.lua_setfield(L, -2, S('parse_response'));
  return 1;
});
