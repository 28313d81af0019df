// Real worker_threads sharing one zone. The workers import a bundle of src/shdict built here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { mkdirSync, rmSync } from 'node:fs';
import { SharedDict, callLua } from '../../src/shdict/index.js';

// __dirname: vitest provides it, and tsc reads test files as CommonJS (no import.meta).
const root = resolve(__dirname, '../..') + '/';
// Per-process name: other engineers may run the suite in the same tree at the same time.
const bundlePath = `${root}test/.tmp/shdict-${process.pid}.mjs`;
const workerPath = resolve(__dirname, 'worker.mjs');

beforeAll(async () => {
  mkdirSync(`${root}test/.tmp`, { recursive: true });
  await build({
    entryPoints: [`${root}src/shdict/index.ts`],
    outfile: bundlePath,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
});

function run(dict: SharedDict, data: Record<string, unknown>): Promise<number> {
  const w = new Worker(workerPath, {
    workerData: { bundle: pathToFileURL(bundlePath).href, handle: dict.handle, ...data },
  });
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exit ${code}`)));
  });
}

const workers: Promise<number>[] = [];
afterAll(async () => {
  await Promise.allSettled(workers);
  rmSync(bundlePath, { force: true });
});

describe('cross-thread', () => {
  it('two threads doing 100 000 incr each on one key end at exactly 200 000', async () => {
    const d = SharedDict.create('counters', 1 << 20);
    const done = await Promise.all([run(d, { mode: 'incr', n: 100_000 }), run(d, { mode: 'incr', n: 100_000 })]);
    expect(done).toEqual([100_000, 100_000]);
    expect(callLua(d, 'get', 'hits')).toEqual([200_000]);
  }, 30_000);

  it('concurrent mixed writes with eviction keep the zone consistent', async () => {
    const d = SharedDict.create('churn', 64 * 1024);
    await Promise.all([
      run(d, { mode: 'churn', n: 100_000, seed: 1 }),
      run(d, { mode: 'churn', n: 100_000, seed: 2 }),
    ]);
    expect(d.verify()).toBeNull();
    expect(d.stats().evictions).toBeGreaterThan(0);
  }, 30_000);

  it('get_keys batches see every stable key exactly once while another thread writes', async () => {
    const d = SharedDict.create('keys', 4 << 20);
    for (let i = 0; i < 3000; i++) d.set(`stable${i}`, i);
    const stop = new SharedArrayBuffer(4);
    const writer = run(d, { mode: 'volatile', stop });
    workers.push(writer);
    await new Promise((r) => setTimeout(r, 50));
    for (let round = 0; round < 20; round++) {
      const keys = d.getKeys(0).map((k) => Buffer.from(k).toString());
      const stable = keys.filter((k) => k.startsWith('stable'));
      expect(stable.length).toBe(3000);
      expect(new Set(keys).size).toBe(keys.length);
    }
    Atomics.store(new Int32Array(stop), 0, 1);
    expect(await writer).toBeGreaterThan(0);
    expect(d.verify()).toBeNull();
  }, 30_000);

  it('forceUnlock releases a lock left by a dead thread, and only that thread\'s', () => {
    const d = SharedDict.create('locks', 1 << 16);
    const i32 = new Int32Array(d.handle.buffers[0]!, 0, 2);
    i32[0] = 1; // held ...
    i32[1] = 7 + 1; // ... by thread 7
    expect(SharedDict.forceUnlock(d.handle, 3)).toBe(false);
    expect(SharedDict.forceUnlock(d.handle, 7)).toBe(true);
    expect(callLua(d, 'set', 'k', 1)).toEqual([true, null, false]);
  });
});
