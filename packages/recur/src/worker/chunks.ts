/**
 * Long calls run as loops of steps that yield to the event loop now and then, so that an abort
 * message (or, in-process, the caller's own work) gets a turn. A step is never interrupted: an
 * abort takes effect at the next step boundary, so the state is that of the last completed step.
 * @module
 */
import { AbortError } from '../errors.js';
import type { ChunkProgress, ProgressCallback } from './protocol.js';

/**
 * Yields one macrotask turn: `setImmediate` in Node (it runs after pending messages); else a
 * message on a fresh `MessageChannel` (browsers, Deno, workerd), which is not clamped to 4 ms as a
 * nested `setTimeout(0)` is in browsers; else `setTimeout(0)`. The globals are looked up on each
 * call, so a runtime (or a test) that adds or wraps them later is honoured.
 */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof g.MessageChannel === 'function') {
    let channel: MessageChannel | undefined;
    try {
      channel = new g.MessageChannel();
    } catch {
      channel = undefined; // a stub that cannot be constructed: fall back to the timer
    }
    if (channel !== undefined) {
      const { port1, port2 } = channel;
      return new Promise((resolve) => {
        port1.onmessage = () => {
          // Both ends closed once the message arrived: no port is left open to keep a runtime alive.
          port1.close();
          port2.close();
          resolve();
        };
        port2.postMessage(null);
      });
    }
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Options of {@link runSteps}. */
export interface RunStepsOptions {
  /** Total number of steps. */
  totalSteps: number;
  /** Runs step `i` (synchronously or not). */
  step: (i: number) => void | Promise<void>;
  /** True once the call was asked to stop. */
  isAborted: () => boolean;
  /** Progress callback, called at most every `progressEveryMs` and after the last step. */
  onProgress?: ProgressCallback<ChunkProgress> | undefined;
  /** Yield to the event loop when this many milliseconds passed since the last yield (default 8). */
  yieldEveryMs?: number;
  /** Minimum milliseconds between progress events (default 50). */
  progressEveryMs?: number;
}

/** Runs the steps; rejects with {@link AbortError} (details: `completedSteps`) when aborted. */
export async function runSteps(options: RunStepsOptions): Promise<ChunkProgress> {
  const { totalSteps, step, isAborted, onProgress } = options;
  const yieldEvery = options.yieldEveryMs ?? 8;
  const progressEvery = options.progressEveryMs ?? 50;
  let lastYield = now();
  let lastProgress = -Infinity;
  let completed = 0;
  const report = (force: boolean): void => {
    if (onProgress === undefined) return;
    const t = now();
    if (!force && t - lastProgress < progressEvery) return;
    lastProgress = t;
    try {
      const r = onProgress({ completedSteps: completed, totalSteps });
      if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch(() => undefined);
    } catch {
      // A throwing progress callback must not break the loop.
    }
  };
  await yieldToEventLoop();
  for (let i = 0; i < totalSteps; i++) {
    if (isAborted()) {
      report(true);
      throw new AbortError(`Aborted after ${completed} of ${totalSteps} steps`, {
        details: { completedSteps: completed, totalSteps },
      });
    }
    await step(i);
    completed = i + 1;
    report(completed === totalSteps);
    if (now() - lastYield >= yieldEvery) {
      await yieldToEventLoop();
      lastYield = now();
    }
  }
  return { completedSteps: completed, totalSteps };
}

function now(): number {
  return typeof performance === 'object' ? performance.now() : Date.now();
}
