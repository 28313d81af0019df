/*
 * A futex-style mutex on one Int32 of a SharedArrayBuffer (Drepper, "Futexes are tricky", mutex 2):
 *   0 = unlocked, 1 = locked, 2 = locked and a thread may be sleeping in Atomics.wait.
 * Lock: one compareExchange when free; otherwise spin briefly (critical sections are ~100 ns),
 * then sleep. Unlock: notify only when the word said 2, so the uncontended path is two atomics.
 * Atomics operations are sequentially consistent, so plain typed-array accesses made while holding
 * the lock are visible to the next holder.
 *
 * The owner word records which thread holds the lock, so the master can release a lock held by a
 * worker that was terminated in the middle of an operation (like nginx's ngx_shmtx_force_unlock).
 */

const SPINS = 200;

export function lockSlow(i32: Int32Array, at: number): void {
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(i32, at) === 0 && Atomics.compareExchange(i32, at, 0, 1) === 0) return;
  }
  let c = Atomics.exchange(i32, at, 2);
  while (c !== 0) {
    Atomics.wait(i32, at, 2);
    c = Atomics.exchange(i32, at, 2);
  }
}

export function unlockSlow(i32: Int32Array, at: number): void {
  Atomics.store(i32, at, 0);
  Atomics.notify(i32, at, 1);
}

/** Releases the lock if `owner` holds it. Returns true when it did. */
export function forceUnlock(i32: Int32Array, at: number, ownerAt: number, owner: number): boolean {
  if (Atomics.load(i32, at) === 0 || Atomics.load(i32, ownerAt) !== owner) return false;
  Atomics.store(i32, ownerAt, 0);
  unlockSlow(i32, at);
  return true;
}
