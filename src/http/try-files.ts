// try_files file ... uri | =code: the first existing file wins; the last argument is an internal
// redirect (or a status). Returns true when the request goes on to the content phase.
import * as fs from 'node:fs';
import type { Request } from './request.js';
import { compileComplex, evalComplex } from './complex.js';
import { fsPath } from './static.js';
import { finalize } from './output.js';
import { internalRedirect, namedRedirect } from './phases.js';

const compiled = new Map<string, ReturnType<typeof compileComplex>>();
function cc(s: string) {
  let c = compiled.get(s);
  if (!c) compiled.set(s, (c = compileComplex(s)));
  return c;
}

export function tryFiles(req: Request, list: string[]): boolean {
  for (let i = 0; i < list.length - 1; i++) {
    const name = evalComplex(req, cc(list[i]));
    const dir = name.endsWith('/');
    const path = req.mapUriToPath(dir ? name.slice(0, -1) : name);
    try {
      const st = fs.statSync(fsPath(path));
      if (dir ? st.isDirectory() : st.isFile()) {
        req.uri = name;
        return true;
      }
    } catch {
      // not there: try the next one
    }
  }
  const last = evalComplex(req, cc(list[list.length - 1]));
  if (last.startsWith('=')) {
    finalize(req, Number(last.slice(1)));
    return false;
  }
  if (last.startsWith('@')) {
    namedRedirect(req, last);
    return false;
  }
  const q = last.indexOf('?');
  internalRedirect(req, q < 0 ? last : last.slice(0, q), q < 0 ? null : last.slice(q + 1));
  return false;
}
