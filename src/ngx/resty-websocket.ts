// Native half of lua/resty/websocket/*.lua: frame building and payload (un)masking, the
// byte-by-byte XOR loops a Lua implementation would spend most of its time in on fengari.
// require "tsresty.websocket".
//
//   build_frame(fin, opcode, payload, masking) -> frame bytes (header, mask key, payload)
//   unmask(data) -> payload, where data = 4-byte masking key .. masked payload
import { lua, lauxlib } from '../lua/fengari.js';
import * as crypto from 'node:crypto';
import { S, type LuaState } from '../lua/bridge.js';
import { definePreload } from './registry.js';

const EMPTY = new Uint8Array(0);
const maskKey = new Uint8Array(4);

function buildFrame(L: LuaState): number {
  const fin = lua.lua_toboolean(L, 1);
  const opcode = lauxlib.luaL_checkinteger(L, 2) & 0x0f;
  const payload: Uint8Array = lua.lua_isnoneornil(L, 3) ? EMPTY : lauxlib.luaL_checklstring(L, 3);
  const masking = lua.lua_toboolean(L, 4);
  const len = payload.length;
  const extra = len <= 125 ? 0 : len <= 65535 ? 2 : 8;
  const head = 2 + extra + (masking ? 4 : 0);
  const out = new Uint8Array(head + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  let p = 2;
  if (extra === 0) out[1] = len;
  else if (extra === 2) {
    out[1] = 126;
    out[2] = len >>> 8;
    out[3] = len & 0xff;
    p = 4;
  } else {
    out[1] = 127;
    // 64-bit big-endian length (payloads stay far below 2^53)
    const hi = Math.floor(len / 0x100000000);
    out[2] = (hi >>> 24) & 0xff;
    out[3] = (hi >>> 16) & 0xff;
    out[4] = (hi >>> 8) & 0xff;
    out[5] = hi & 0xff;
    out[6] = (len >>> 24) & 0xff;
    out[7] = (len >>> 16) & 0xff;
    out[8] = (len >>> 8) & 0xff;
    out[9] = len & 0xff;
    p = 10;
  }
  if (masking) {
    out[1] |= 0x80;
    crypto.randomFillSync(maskKey);
    out.set(maskKey, p);
    p += 4;
    for (let i = 0; i < len; i++) out[p + i] = payload[i] ^ maskKey[i & 3];
  } else {
    out.set(payload, p);
  }
  lua.lua_pushlstring(L, out, out.length);
  return 1;
}

function unmask(L: LuaState): number {
  const data: Uint8Array = lauxlib.luaL_checklstring(L, 1);
  if (data.length < 4) {
    lua.lua_pushlstring(L, EMPTY, 0);
    return 1;
  }
  const n = data.length - 4;
  const out = new Uint8Array(n);
  const k0 = data[0];
  const k1 = data[1];
  const k2 = data[2];
  const k3 = data[3];
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    out[i] = data[4 + i] ^ k0;
    out[i + 1] = data[5 + i] ^ k1;
    out[i + 2] = data[6 + i] ^ k2;
    out[i + 3] = data[7 + i] ^ k3;
  }
  for (; i < n; i++) out[i] = data[4 + i] ^ data[i & 3];
  lua.lua_pushlstring(L, out, n);
  return 1;
}

definePreload('tsresty.websocket', (L) => {
  lua.lua_createtable(L, 0, 2);
  lua.lua_pushcfunction(L, buildFrame);
  lua.lua_setfield(L, -2, S('build_frame'));
  lua.lua_pushcfunction(L, unmask);
  lua.lua_setfield(L, -2, S('unmask'));
  return 1;
});
