/**
 * Waking the worker's compute threads from the thread that sends it work.
 *
 * The threads builds' helpers sleep in `memory.atomic.wait32` between calls, and on a 2-core VM a
 * thread that slept for a while can take from 0.1 ms to about 1 ms to start again. The worker
 * wakes them when a compute request reaches the core (`wakeThreads`, then the pool's own
 * `prepare`), but by then the request has crossed the message hop and been unpacked, and a small
 * `predict` ran most of its tasks before the helper came: without this wake-up its time in the
 * worker was 1.0–1.5 ms instead of 0.45–0.65 ms (B32 T32 H32, 2 threads, 2 ms between calls).
 * The memory is shared, so the calling thread does the same wake-up with `Atomics`.
 *
 * It rings right after posting the request (`computeCall` in model.ts), not before its checks and
 * copies: the helper that wakes takes one of the two cores, and ringing first slowed both the
 * calling thread's own preparation and the worker's wake-up. Per call, from timestamps at each
 * hop (means over 2000 calls, three interleaved rounds), ringing first: 0.85 / 0.99 / 1.02 ms;
 * after posting: 0.75 / 0.91 / 0.89 ms. `fit` rings the same way: a training step's first job (the
 * forward loop, one row range per thread) otherwise waited for a helper woken only when the
 * step began (medium 2-thread step, five interleaved pairs of 250 steps on a busy machine: the
 * median lower in four, 17.9 / 20.3 / 15.8 / 15.8 / 19.2 against 22.8 / 20.2 / 16.3 / 19.4 / 22.1 ms).
 * @module
 */

/** Where the pool's wake-up words are, in the threads build's shared memory (`poolWakeWords`). */
export interface PoolWakeWords {
  /** The wasm memory's buffer (a SharedArrayBuffer). */
  memory: SharedArrayBuffer;
  /** Byte address of `PRIMED` (u8): helpers that wake spin long for the coming work. */
  primed: number;
  /** Byte address of `SLEEPERS` (u32): helpers asleep on `wake`. */
  sleepers: number;
  /** Byte address of `WAKE` (u32): bumped, then notified, to wake them. */
  wake: number;
}

/**
 * The wake-up the service's `wakeThreads()` does, from another thread: store 1 at `primed`; if
 * helpers sleep, add 1 at `wake` and notify them. Every access is a sequentially consistent
 * atomic, as the pool's own (`recur_core::parallel::prepare`). `undefined` when the words do not
 * lie inside the buffer or are misaligned (never expected: then the service's own wake-up does).
 */
export function poolWaker(words: PoolWakeWords): (() => void) | undefined {
  const { memory, primed, sleepers, wake } = words;
  const inside = (at: number, size: number): boolean => Number.isSafeInteger(at) && at >= 0 && at % size === 0 && at + size <= memory.byteLength;
  if (!(memory instanceof SharedArrayBuffer) || !inside(primed, 1) || !inside(sleepers, 4) || !inside(wake, 4)) return undefined;
  const bytes = new Uint8Array(memory, 0, primed + 1);
  const words32 = new Int32Array(memory, 0, Math.max(sleepers, wake) / 4 + 1);
  return () => {
    Atomics.store(bytes, primed, 1);
    if (Atomics.load(words32, sleepers / 4) !== 0) {
      Atomics.add(words32, wake / 4, 1);
      Atomics.notify(words32, wake / 4);
    }
  };
}
