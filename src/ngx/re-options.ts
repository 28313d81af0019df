// ngx.re option strings ("jo", "ui", ...): the letters parsed once per string into option bits and
// the letters translatePcre takes, with lua-nginx-module's error for an unknown letter.
import { luaError, type LuaState } from '../lua/bridge.js';
import { latin1 } from './re-subject.js';

export const O_ONCE = 0x01;
export const O_DFA = 0x02;
export const O_JIT = 0x04;
export const O_DUP = 0x08;
export const O_NOCHECK = 0x10;
export const O_ANCHORED = 0x20;
export const O_UTF = 0x40;

export interface Opts {
  text: string;
  bits: number;
  /** option letters for translatePcre (i m s x u J D), canonical order */
  pcre: string;
}

export const EMPTY_OPTS: Opts = { text: '', bits: 0, pcre: '' };
const optsByText = new Map<string, Opts>([['', EMPTY_OPTS]]);
const optsByBytes = new WeakMap<Uint8Array, Opts>();

let lastOptsBytes: Uint8Array | null = null;
let lastOpts: Opts = EMPTY_OPTS;

export function parseOpts(L: LuaState, b: Uint8Array): Opts {
  if (b === lastOptsBytes) return lastOpts;
  let o = optsByBytes.get(b);
  if (o !== undefined) {
    lastOptsBytes = b;
    lastOpts = o;
    return o;
  }
  const text = latin1(b);
  o = optsByText.get(text);
  if (o === undefined) {
    let bits = 0;
    let i = false,
      m = false,
      s = false,
      x = false,
      u = false,
      J = false,
      D = false;
    for (let k = 0; k < text.length; k++) {
      switch (text[k]) {
        case 'o':
          bits |= O_ONCE;
          break;
        case 'j':
          bits |= O_JIT;
          break;
        case 'i':
          i = true;
          break;
        case 's':
          s = true;
          break;
        case 'm':
          m = true;
          break;
        case 'u':
          u = true;
          bits |= O_UTF;
          break;
        case 'U':
          u = true;
          bits |= O_UTF | O_NOCHECK;
          break;
        case 'x':
          x = true;
          break;
        case 'd':
          bits |= O_DFA;
          break;
        case 'a':
          bits |= O_ANCHORED;
          break;
        case 'D':
          D = true;
          bits |= O_DUP;
          break;
        case 'J':
          J = true;
          break;
        default:
          luaError(L, `unknown flag "${text[k]}" (flags "${text}")`);
      }
    }
    const pcre = (i ? 'i' : '') + (m ? 'm' : '') + (s ? 's' : '') + (x ? 'x' : '') + (u ? 'u' : '') + (J ? 'J' : '') + (D ? 'D' : '');
    o = { text, bits, pcre };
    if (optsByText.size < 256) optsByText.set(text, o);
  }
  optsByBytes.set(b, o);
  lastOptsBytes = b;
  lastOpts = o;
  return o;
}
