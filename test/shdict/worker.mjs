// Worker for threads.test.ts: attaches to a zone and hammers it. workerData: { bundle, handle, mode, n }.
import { parentPort, workerData } from 'node:worker_threads';

const { SharedDict } = await import(workerData.bundle);
const d = SharedDict.attach(workerData.handle);
const { mode, n } = workerData;
const signal = workerData.stop ? new Int32Array(workerData.stop) : null;
let result = 0;

if (mode === 'incr') {
  for (let i = 0; i < n; i++) if (d.incr('hits', 1, 0) !== 0) throw new Error(d.r.err);
  result = n;
} else if (mode === 'churn') {
  // Mixed writes on a small zone: forces evictions and chain reuse while the other thread does the same.
  let seed = workerData.seed;
  const rnd = (m) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % m);
  const buf = new Uint8Array(3000);
  for (let i = 0; i < n; i++) {
    const k = `k${rnd(400)}`;
    const op = rnd(10);
    if (op < 5) d.set(k, buf.subarray(0, rnd(9) === 0 ? rnd(3000) : rnd(60)));
    else if (op < 6) d.delete(k);
    else if (op < 7) d.incr(`c${rnd(50)}`, 1, 0);
    else if (op < 8) d.rpush(`l${rnd(20)}`, rnd(100));
    else if (op < 9) d.lpop(`l${rnd(20)}`);
    else d.get(k);
  }
} else if (mode === 'volatile') {
  // Adds and deletes keys until told to stop, while the main thread iterates with get_keys.
  for (let i = 0; Atomics.load(signal, 0) === 0; i++) {
    d.set(`v${i % 5000}`, i);
    d.delete(`v${(i + 2500) % 5000}`);
    result++;
  }
}
parentPort.postMessage(result);
