import { describe, expect, it } from 'vitest';
import { AbortError, createRecur, DisposedError, type ChunkProgress } from '../../dist/entrypoints/node.js';

describe.each(['worker', 'inprocess'] as const)('bridge (%s)', (mode) => {
  it('typed arrays cross as transfers in a worker (the sender buffer is detached)', async () => {
    const recur = createRecur({ mode });
    try {
      const data = Float32Array.from({ length: 1 << 16 }, (_, i) => i * 0.5);
      const back = await recur.diagnostics.echo(data);
      expect(back.length).toBe(1 << 16);
      expect(back[12345]).toBe(12345 * 0.5);
      if (mode === 'worker') {
        expect(data.buffer.byteLength).toBe(0); // transferred, not copied
      } else {
        expect(back).toBe(data); // the same object, in-process
      }
    } finally {
      await recur.dispose();
    }
  });

  it('finished calls leave no crash or dispose listener behind', async () => {
    const recur = createRecur({ mode });
    try {
      await recur.init();
      for (let i = 0; i < 20; i++) await recur.version();
      await recur.diagnostics.raise('ERR_SHAPE', 'a failing call').catch(() => undefined);
      // internals: the listeners a running call registers with the bridge
      const bridge = (recur as unknown as { bridge: { running?: { crashListeners: Set<unknown> }; disposeListeners: Set<unknown> } }).bridge;
      expect(bridge.running!.crashListeners.size).toBe(0);
      expect(bridge.disposeListeners.size).toBe(0);
    } finally {
      await recur.dispose();
    }
  });

  it('progress callbacks arrive during a long call', async () => {
    const recur = createRecur({ mode });
    try {
      const seen: ChunkProgress[] = [];
      const result = await recur.diagnostics.busy({ steps: 20, stepMs: 10, onProgress: (p) => void seen.push(p) });
      expect(result).toEqual({ completedSteps: 20, totalSteps: 20 });
      // Throttled to one every 50 ms at most, plus the final one.
      await new Promise((r) => setTimeout(r, 50));
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(seen.at(-1)).toEqual({ completedSteps: 20, totalSteps: 20 });
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.completedSteps).toBeGreaterThan(seen[i - 1]!.completedSteps);
    } finally {
      await recur.dispose();
    }
  });

  it('aborting a long call rejects with AbortError and keeps the state of the last completed step', async () => {
    const recur = createRecur({ mode });
    try {
      await recur.init();
      const before = await recur.diagnostics.busyCounter();
      const controller = new AbortController();
      const started = Date.now();
      const call = recur.diagnostics.busy({ steps: 1000, stepMs: 10, signal: controller.signal });
      setTimeout(() => controller.abort(new Error('user cancelled')), 200);
      const err = await call.catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(err).toBeInstanceOf(AbortError);
      expect((err as AbortError).name).toBe('AbortError');
      expect((err as AbortError).code).toBe('ERR_ABORTED');
      const completed = (err as AbortError).details?.completedSteps as number;
      expect(completed).toBeGreaterThan(0);
      expect(completed).toBeLessThan(1000);
      expect(elapsed).toBeLessThan(2000); // 1000 steps of 10 ms would take 10 s
      // Exactly the completed steps took effect: no step was cut in half or run after the abort.
      expect(await recur.diagnostics.busyCounter()).toBe(before + completed);
      // The runtime still works, and the next call runs in full.
      expect(await recur.diagnostics.busy({ steps: 3, stepMs: 1 })).toEqual({ completedSteps: 3, totalSteps: 3 });
      expect(await recur.diagnostics.busyCounter()).toBe(before + completed + 3);
    } finally {
      await recur.dispose();
    }
  });

  it('a call aborted while queued is never sent; an already aborted signal rejects at once', async () => {
    const recur = createRecur({ mode });
    try {
      await recur.init();
      const first = recur.diagnostics.busy({ steps: 20, stepMs: 10 });
      const controller = new AbortController();
      const queued = recur.diagnostics.busy({ steps: 5, stepMs: 1, signal: controller.signal });
      controller.abort();
      await expect(queued).rejects.toBeInstanceOf(AbortError);
      await expect(first).resolves.toEqual({ completedSteps: 20, totalSteps: 20 });
      expect(await recur.diagnostics.busyCounter()).toBe(20);
      await expect(recur.diagnostics.busy({ steps: 5, stepMs: 1, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
      expect(await recur.diagnostics.busyCounter()).toBe(20);
    } finally {
      await recur.dispose();
    }
  });

  it('calls run one after another, in order', async () => {
    const recur = createRecur({ mode });
    try {
      const order: number[] = [];
      await Promise.all([
        recur.diagnostics.busy({ steps: 5, stepMs: 5 }).then(() => order.push(1)),
        recur.version().then(() => order.push(2)),
        recur.diagnostics.busy({ steps: 1, stepMs: 1 }).then(() => order.push(3)),
      ]);
      expect(order).toEqual([1, 2, 3]);
    } finally {
      await recur.dispose();
    }
  });

  it('dispose() during a long call rejects it with DisposedError', async () => {
    const recur = createRecur({ mode });
    await recur.init();
    const call = recur.diagnostics.busy({ steps: 500, stepMs: 10 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await recur.dispose();
    expect(await call).toBeInstanceOf(DisposedError);
  });
});

describe('worker mode keeps the calling thread free', () => {
  it('a timer keeps ticking (longest gap < 100 ms) during a 1.5 s call', async () => {
    const recur = createRecur({ mode: 'worker' });
    try {
      await recur.init();
      let last = performance.now();
      let longest = 0;
      const timer = setInterval(() => {
        const now = performance.now();
        longest = Math.max(longest, now - last);
        last = now;
      }, 10);
      await recur.diagnostics.busy({ steps: 30, stepMs: 50 });
      clearInterval(timer);
      expect(longest).toBeGreaterThan(0);
      expect(longest).toBeLessThan(100);
    } finally {
      await recur.dispose();
    }
  });
});
