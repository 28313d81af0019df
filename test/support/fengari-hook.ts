// vitest setup file: tests that run Lua in-process load fengari through Node's CommonJS loader;
// give them the same patched fengari source as the bundled server (scripts/fengari-source.mjs).
import Module from 'node:module';
import * as fs from 'node:fs';
// @ts-expect-error plain .mjs build script without type declarations
import { patchFengariSource, PATCHED_FILES_RE } from '../../scripts/fengari-source.mjs';

type Loader = (mod: { _compile(code: string, file: string): void }, filename: string) => void;
const extensions = (Module as unknown as { _extensions: Record<string, Loader> })._extensions;
const loadJs = extensions['.js'];
if (!(loadJs as { fengariPatched?: boolean }).fengariPatched) {
  const patched: Loader = (mod, filename) => {
    const m = PATCHED_FILES_RE.exec(filename);
    if (m === null) return loadJs(mod, filename);
    mod._compile(patchFengariSource(m[1], fs.readFileSync(filename, 'utf8')), filename);
  };
  (patched as { fengariPatched?: boolean }).fengariPatched = true;
  extensions['.js'] = patched;
}
