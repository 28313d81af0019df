// ngx.re matching: one run of a compiled regex over a subject from a byte offset, with PCRE's error
// codes, DFA mode's longest match, and the registers (match, byte offsets) the API functions read.
import { O_NOCHECK } from './re-options.js';
import type { Compiled } from './re-compile.js';
import type { Subject } from './re-subject.js';

export const NOMATCH = -1;
const ERR_BADUTF8 = -10;
const ERR_BADUTF8_OFFSET = -11;
const ERR_BADOFFSET = -24;
const ERR_DFA_UITEM = -16;

/** Registers of the last successful exec (valid until the next exec). */
export let mArr: RegExpExecArray = null as unknown as RegExpExecArray;
export let mStart = 0; // byte offsets of the whole match
export let mEnd = 0;

/** Run `c` on `s` from byte offset `pos`; 1 = matched (registers set), -1 = no match, < -1 = PCRE error. */
export function exec(c: Compiled, s: Subject, pos: number, withIndices = false): number {
  const nbytes = s.bytes.length;
  if (pos > nbytes) return ERR_BADOFFSET;
  if (c.dfaUnsupported) return ERR_DFA_UITEM;
  let text: string;
  let ci = pos;
  if (c.utf) {
    const check = (c.bits & O_NOCHECK) === 0;
    text = s.utf(check);
    if (check && s.invalid) return ERR_BADUTF8;
    const b2c = s.b2c;
    if (b2c !== null) {
      ci = b2c[pos];
      if (ci < 0) {
        if (check) return ERR_BADUTF8_OFFSET;
        let p = pos;
        while (b2c[p] < 0) p++;
        ci = b2c[p];
      }
    }
  } else text = s.str();
  let re = c.re;
  if (withIndices) re = c.reIdx ?? (c.reIdx = new RegExp(c.source, c.flags + 'd'));
  re.lastIndex = ci;
  let m = re.exec(text);
  if (c.utf) {
    // V8's start-position scan in `u` mode can stop between the halves of a surrogate pair (e.g.
    // for (?![\s\S]) or \B); no match can start there: go on after the pair
    while (m !== null && m.index > 0 && (text.charCodeAt(m.index) & 0xfc00) === 0xdc00 && (text.charCodeAt(m.index - 1) & 0xfc00) === 0xd800) {
      re.lastIndex = m.index + 1;
      m = re.exec(text);
    }
  }
  if (m === null) return NOMATCH;
  let start = m.index;
  let end = start + m[0].length;
  if (c.reEnd !== null) end = longest(c, text, start, end);
  mArr = m;
  const c2b = c.utf ? s.c2b : null;
  if (c2b !== null) {
    mStart = c2b[start];
    mEnd = c2b[end];
  } else {
    mStart = start;
    mEnd = end;
  }
  return 1;
}

/** DFA mode: the longest match starting where the backtracking match starts (PCRE's DFA result). */
function longest(c: Compiled, text: string, start: number, end: number): number {
  const re = c.reEnd!;
  const limit = Math.min(text.length, start + c.maxLength);
  for (let e = limit; e > end; e--) {
    if (c.utf) {
      const u = text.charCodeAt(e - 1);
      if (u >= 0xd800 && u <= 0xdbff) continue;
    }
    re.lastIndex = start;
    if (re.test(e === text.length ? text : text.slice(0, e))) return e;
  }
  return end;
}

/** Byte offsets of PCRE group n of the last match (after an exec with indices), or null if unset. */
export function groupSpan(c: Compiled, s: Subject, n: number): [number, number] | null {
  if (n === 0) return [mStart, mEnd];
  const js = c.map === null ? n : c.map[n];
  const span = mArr.indices![js];
  if (span === undefined) return null;
  const c2b = c.utf ? s.c2b : null;
  return c2b === null ? [span[0], span[1]] : [c2b[span[0]], c2b[span[1]]];
}

/** The text of PCRE group n (>= 1) of the last match, or undefined when it did not participate. */
export function groupText(c: Compiled, n: number): string | undefined {
  return mArr[c.map === null ? n : c.map[n]];
}

export function execError(rc: number): string {
  return `pcre_exec() failed: ${rc}`;
}
