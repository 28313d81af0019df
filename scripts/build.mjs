// Bundles src/ into dist/ with esbuild. The banner sets FENGARICONF before any module runs: fengari
// reads it once at import time, and LUA_COMPAT_FLOATSTRING makes 10/2 print as "5" like LuaJIT.
import { build } from 'esbuild';

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
  logLevel: 'warning',
});
