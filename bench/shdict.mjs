// Shared dict engine micro-benchmark: ops/s for get/set/incr from JS, in one thread and in two
// worker threads hitting the same zone at once. Builds src/shdict into a temp bundle first.
//   node bench/shdict.mjs [opsPerRun=2000000]
import { build } from 'esbuild';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

const KEYS = 10_000;

function makeKeys() {
  const enc = new TextEncoder();
  return Array.from({ length: KEYS }, (_, i) => enc.encode(`key:${i}`));
}

/** Runs `op` n times over the key set; returns ops/s. */
function time(n, op) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) op(i % KEYS);
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function workloads(d, keys) {
  const str = new Uint8Array(100).fill(120);
  const sk = Array.from({ length: KEYS }, (_, i) => `key:${i}`);
  const hot = new TextEncoder().encode('hot');
  return {
    'set number': (i) => d.set(keys[i], i),
    'get number': (i) => d.get(keys[i]),
    incr: (i) => d.incr(keys[i], 1),
    'set 100B string': (i) => d.set(keys[i], str),
    'get 100B string': (i) => d.get(keys[i]),
    'get (JS string key)': (i) => d.get(sk[i]),
    'incr one hot key': () => d.incr(hot, 1, 0),
  };
}

/** Process CPU time in µs: with the main thread idle, the CPU the measured threads used. */
function cpu() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Fills the zone the way `name` expects to find it. */
function prepare(d, name) {
  const keys = makeKeys();
  const v = name.includes('string') ? new Uint8Array(100).fill(120) : null;
  for (let i = 0; i < KEYS; i++) d.set(keys[i], v ?? i);
}

if (!isMainThread) {
  // One workload per worker, so every measured loop has its own, monomorphic JIT state.
  const { SharedDict } = await import(workerData.bundle);
  const d = SharedDict.attach(workerData.handle);
  const gate = new Int32Array(workerData.gate);
  const op = workloads(d, makeKeys())[workerData.name];
  time(Math.min(workerData.n, 300_000), op); // warm-up
  Atomics.add(gate, 0, 1); // all threads of this run start together
  while (Atomics.load(gate, 0) < workerData.threads) { /* spin */ }
  const c0 = cpu();
  const t0 = performance.now();
  time(workerData.n, op);
  const t1 = performance.now();
  parentPort.postMessage({ t0, t1, c0, c1: cpu() });
} else {
  const n = Number(process.argv[2] ?? 2_000_000);
  const bundle = `${tmpdir()}/tsresty-shdict-bench.mjs`;
  await build({
    entryPoints: [fileURLToPath(new URL('../src/shdict/index.ts', import.meta.url))],
    outfile: bundle, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning',
  });
  const { SharedDict } = await import(pathToFileURL(bundle).href);
  const names = Object.keys(workloads(null, []));
  const fmt = (x) => `${(x / 1e6).toFixed(2)}M`.padStart(8);

  /** Runs `name` in `threads` workers at once on a fresh zone; returns total ops/s. */
  async function run(name, threads) {
    const d = SharedDict.create('bench', 64 << 20);
    prepare(d, name);
    const gate = new SharedArrayBuffer(4);
    const one = () => new Promise((resolve, reject) => {
      const w = new Worker(new URL(import.meta.url), {
        workerData: { bundle: pathToFileURL(bundle).href, handle: d.handle, n, name, gate, threads },
      });
      w.once('message', resolve);
      w.once('error', reject);
    });
    const res = await Promise.all(Array.from({ length: threads }, one));
    const wall = Math.max(...res.map((r) => r.t1)) - Math.min(...res.map((r) => r.t0));
    const cpuUs = Math.max(...res.map((r) => r.c1)) - Math.min(...res.map((r) => r.c0));
    return { opsPerSec: (threads * n) / (wall / 1000), cpuNs: (cpuUs * 1000) / (threads * n) };
  }

  console.log(`shdict engine, ${n} ops per thread, ${KEYS} keys, node ${process.version}`);
  console.log('ops/s is wall-clock (drops when other processes load the machine); CPU ns/op does less so');
  console.log(`${'workload'.padEnd(22)}  1 thread: ops/s  CPU ns/op   2 threads: total ops/s  CPU ns/op`);
  const ns = (x) => x.toFixed(0).padStart(9);
  for (const name of names) {
    const one = await run(name, 1);
    const two = await run(name, 2);
    console.log(`${name.padEnd(22)}  ${fmt(one.opsPerSec)}      ${ns(one.cpuNs)}            ${fmt(two.opsPerSec)}  ${ns(two.cpuNs)}`);
  }
}
