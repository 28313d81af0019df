/**
 * glob(3) as nginx's `include` uses it (ngx_open_glob(): glob(pattern, 0, ...)):
 * `*`, `?`, `[...]` (with `!`/`^` negation and ranges), backslash escapes,
 * a leading '.' in a name only matched by an explicit '.', results sorted
 * by byte value (glibc sorts with strcoll(); nginx runs in the C locale).
 * No brace expansion, no `**`.
 */
import * as fs from 'node:fs';

/** Whether nginx treats the include argument as a pattern (strpbrk "*?["). */
export function hasGlobMagic(s: string): boolean {
  return /[*?[]/.test(s);
}

/** Converts one path component pattern into an anchored RegExp. */
function componentRegExp(pat: string): RegExp {
  let re = '^';
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i];
    if (c === '\\' && i + 1 < pat.length) {
      re += escapeRe(pat[++i]);
    } else if (c === '*') {
      re += '[^]*';
    } else if (c === '?') {
      re += '[^]';
    } else if (c === '[') {
      const end = bracketEnd(pat, i);
      if (end < 0) {
        re += '\\[';
      } else {
        re += bracketClass(pat.slice(i + 1, end));
        i = end;
      }
    } else {
      re += escapeRe(c);
    }
  }
  return new RegExp(re + '$');
}

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? '\\' + c : c;
}

/** Index of the ']' closing the bracket expression opened at `i`, or -1. */
function bracketEnd(pat: string, i: number): number {
  let j = i + 1;
  if (pat[j] === '!' || pat[j] === '^') j++;
  if (pat[j] === ']') j++; // a leading ']' is literal
  while (j < pat.length && pat[j] !== ']') j++;
  return j < pat.length ? j : -1;
}

function bracketClass(body: string): string {
  let neg = false;
  if (body[0] === '!' || body[0] === '^') {
    neg = true;
    body = body.slice(1);
  }
  let out = '';
  for (let k = 0; k < body.length; k++) {
    const c = body[k];
    if (c === '-' && k > 0 && k < body.length - 1) out += '-';
    else out += '\\' + c;
  }
  return (neg ? '[^' : '[') + out + ']';
}

function unescapeLiteral(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(toFs(p)).isDirectory();
  } catch {
    return false;
  }
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(toFs(p));
    return true;
  } catch {
    return false;
  }
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'));
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(toFs(dir), { encoding: 'buffer' }).map((b) => b.toString('latin1'));
  } catch {
    return [];
  }
}

/** Matches one path component against the entries of directory `base`. */
function matchComponent(base: string, comp: string, lastComp: boolean, out: string[]): void {
  const dir = base === '' ? '.' : base;
  if (comp === '') {
    // "a//b", or a trailing slash (then the match must be a directory)
    if (!lastComp || isDir(dir)) out.push(base);
    return;
  }
  const sep = lastComp ? '' : '/';
  if (!hasGlobMagic(comp)) {
    const p = base + unescapeLiteral(comp);
    if (lastComp ? exists(p) : isDir(p)) out.push(p + sep);
    return;
  }
  const re = componentRegExp(comp);
  const explicitDot = comp.startsWith('.') || comp.startsWith('\\.');
  for (const name of listDir(dir)) {
    if (name.startsWith('.') && !explicitDot) continue;
    if (!re.test(name)) continue;
    const p = base + name;
    if (lastComp || isDir(p)) out.push(p + sep);
  }
}

/**
 * Expands an absolute or relative glob pattern; returns the matching paths
 * spelled as in the pattern (no normalization), sorted bytewise. Paths are
 * binary (latin1) strings like the rest of the configuration.
 */
export function expandGlob(pattern: string): string[] {
  const parts = pattern.split('/');
  const abs = parts[0] === '';
  let bases: string[] = [abs ? '/' : ''];
  for (let i = abs ? 1 : 0; i < parts.length; i++) {
    const next: string[] = [];
    for (const base of bases) matchComponent(base, parts[i], i === parts.length - 1, next);
    bases = next;
  }
  return bases.sort(byteCompare);
}

/** Binary (latin1) path string -> a path Node's fs accepts with the same bytes. */
export function toFs(p: string): string | Buffer {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(p) ? Buffer.from(p, 'latin1') : p;
}
