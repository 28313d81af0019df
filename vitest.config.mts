import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // fengari reads FENGARICONF once at import; unit tests that load it in-process need LuaJIT-style
    // number printing like the bundled server (scripts/build.mjs sets the same in dist/cli.js)
    env: { FENGARICONF: '{"LUA_COMPAT_FLOATSTRING":true}' },
    // in-process Lua runs the same speed-patched fengari as dist/cli.js
    setupFiles: ['test/support/fengari-hook.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // integration tests start real server processes; two cores do not gain from more workers
    maxWorkers: 2,
  },
});
