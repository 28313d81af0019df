// Bundles src/ into dist/ with esbuild. The banner sets FENGARICONF before any module runs: fengari
// reads it once at import time, and LUA_COMPAT_FLOATSTRING makes 10/2 print as "5" like LuaJIT.
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';
import { patchFengariSource, PATCHED_FILES_RE } from './fengari-source.mjs';

/** esbuild plugin: fengari's modules pass through patchFengariSource (see fengari-source.mjs). */
const fengariSpeed = {
  name: 'fengari-source-patches',
  setup(b) {
    b.onLoad({ filter: PATCHED_FILES_RE }, async (args) => {
      const name = PATCHED_FILES_RE.exec(args.path)[1];
      return { contents: patchFengariSource(name, await readFile(args.path, 'utf8')), loader: 'js' };
    });
  },
};

const banner = `#!/usr/bin/env node
process.env.FENGARICONF = process.env.FENGARICONF || '{"LUA_COMPAT_FLOATSTRING":true}';`;

await build({
  entryPoints: { cli: 'src/cli.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  banner: { js: banner },
  plugins: [fengariSpeed],
  logLevel: 'warning',
});
