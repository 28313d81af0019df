// nginx "complex values": directive arguments with $variables, compiled once at config load and
// evaluated per request. Values inside the core are binary strings (one char per byte, latin1).
import { getVariable } from './variables.js';

export type Part = string | { v: string; lc: string } | number; // literal | variable | $N capture

export interface Complex {
  parts: Part[];
  /** Set when the value has no variables at all (no per-request work). */
  constant: string | null;
  source: string;
}

const NAME_CH = /[A-Za-z0-9_]/;

/** Compile "text $var ${var}text $1" into parts (nginx ngx_http_script_compile rules). */
export function compileComplex(src: string): Complex {
  const parts: Part[] = [];
  let lit = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c !== '$' || i + 1 >= src.length) {
      lit += c;
      i++;
      continue;
    }
    let j = i + 1;
    let name = '';
    if (src[j] === '{') {
      const end = src.indexOf('}', j);
      if (end < 0) throw new Error(`the closing bracket in "${src.slice(j + 1)}" variable is missing`);
      name = src.slice(j + 1, end);
      j = end + 1;
    } else if (src[j] >= '1' && src[j] <= '9') {
      name = src[j];
      j++;
    } else {
      while (j < src.length && NAME_CH.test(src[j])) name += src[j++];
    }
    if (name === '') {
      lit += c;
      i++;
      continue;
    }
    if (lit) parts.push(lit);
    lit = '';
    if (/^[0-9]$/.test(name)) parts.push(Number(name));
    else parts.push({ v: name, lc: name.toLowerCase() });
    i = j;
  }
  if (lit) parts.push(lit);
  const constant = parts.every((p) => typeof p === 'string') ? (parts as string[]).join('') : null;
  return { parts, constant, source: src };
}

export function hasVariables(src: string): boolean {
  return compileComplex(src).constant === null;
}

/** Evaluate a compiled value for a request. Unknown/unset variables give "" like nginx. */
export function evalComplex(req: any, c: Complex): string {
  if (c.constant !== null) return c.constant;
  let out = '';
  const parts = c.parts;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (typeof p === 'string') out += p;
    else if (typeof p === 'number') {
      const caps: (string | undefined)[] | null = req.captures;
      const v = caps ? caps[p] : undefined;
      if (v !== undefined && v !== null) out += v;
    } else {
      const v = getVariable(req, p.lc);
      if (v !== null) out += v;
    }
  }
  return out;
}
