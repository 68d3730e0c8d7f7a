import { expect, it } from 'vitest';
import { AbortError, createRecur, FormatError, hasRelaxedSimd, RecurError, ShapeError } from '../../dist/entrypoints/browser.js';

// Chromium validates relaxed SIMD: the loader then prefers the relaxed builds.
const relaxed = hasRelaxedSimd();

it('loads the real wasm in a module Worker and calls version()', async () => {
  const recur = createRecur();
  try {
    const info = await recur.init();
    // Threads only where the page is cross-origin isolated; otherwise one thread, and why.
    if (globalThis.crossOriginIsolated) {
      const threads = Math.min(navigator.hardwareConcurrency, 4);
      const variant = threads > 1 ? (relaxed ? 'relaxed-threads' : 'threads') : relaxed ? 'relaxed' : 'simd';
      expect(info).toEqual({ version: __RECUR_CRATE_VERSION__, variant, threads, runtime: 'browser', mode: 'worker' });
    } else {
      const { threadsFallback, ...rest } = info;
      expect(rest).toEqual({ version: __RECUR_CRATE_VERSION__, variant: relaxed ? 'relaxed' : 'simd', threads: 1, runtime: 'browser', mode: 'worker' });
      expect(threadsFallback).toMatch(/cross-origin isolated/);
    }
    expect(await recur.version()).toBe(__RECUR_CRATE_VERSION__);
    // Errors cross the Worker boundary with their class and code.
    const err = await recur.diagnostics.raise('ERR_SHAPE', 'bad', { details: { axis: 2 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShapeError);
    expect((err as ShapeError).details).toEqual({ axis: 2 });
  } finally {
    await recur.dispose();
  }
});

it('predict and fit through the Worker leave the caller\'s arrays intact; errors raised in the Worker keep their class', async () => {
  const recur = createRecur();
  try {
    const model = await recur.createModel({ inputSize: 2, layers: [{ type: 'gru', hiddenSize: 3, returnSequences: false }, { type: 'dense', units: 1 }], seed: 1 });
    const x = { data: Float32Array.from({ length: 3 * 4 * 2 }, (_, i) => Math.sin(i)), shape: [3, 4, 2] };
    const y = { data: Float32Array.of(0.1, 0.2, 0.3), shape: [3, 1] };
    const before = await model.predict(x, { batchSize: 3 });
    expect(before.shape).toEqual([3, 1]);
    const history = await model.fit(x, y, { epochs: 2, batchSize: 2, optimizer: { type: 'sgd', lr: 0.5 } });
    expect(history.steps).toBe(4);
    expect(x.data.buffer.byteLength).toBe(3 * 4 * 2 * 4);
    expect(x.data[1]).toBe(Math.fround(Math.sin(1)));
    expect(y.data.buffer.byteLength).toBe(3 * 4);
    expect((await model.predict(x)).data).not.toEqual(before.data); // the weights changed
    const wasmErr = await model.fit(x, y, { optimizer: { type: 'sgd', lr: 0.1, nesterov: true } }).catch((e: unknown) => e);
    expect(wasmErr).toBeInstanceOf(RecurError);
    expect((wasmErr as RecurError).code).toMatch(/^ERR_(RANGE|UNSUPPORTED)$/);
    expect(await recur.loadModel(new Uint8Array(16)).catch((e: unknown) => e)).toBeInstanceOf(FormatError);
  } finally {
    await recur.dispose();
  }
});

it('errors of calls with callbacks (comlink, not the lean channel) keep their class and code: an aborted fit, a refused option', async () => {
  const recur = createRecur();
  try {
    const model = await recur.createModel({ inputSize: 2, layers: [{ type: 'lstm', hiddenSize: 4, returnSequences: false }, { type: 'dense', units: 1 }], seed: 3 });
    const x = { data: Float32Array.from({ length: 8 * 5 * 2 }, (_, i) => Math.cos(i)), shape: [8, 5, 2] };
    const y = { data: Float32Array.from({ length: 8 }, (_, i) => i / 8), shape: [8, 1] };
    const controller = new AbortController();
    let epochs = 0;
    const aborted = await model
      .fit(x, y, {
        epochs: 1000,
        batchSize: 2,
        signal: controller.signal,
        onEpochEnd: () => {
          epochs++;
          if (epochs === 2) controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(aborted).toBeInstanceOf(AbortError);
    expect((aborted as AbortError).code).toBe('ERR_ABORTED');
    expect(epochs).toBeLessThan(1000);
    const refused = await model.fit(x, y, { optimizer: { type: 'sgd', lr: 0.1, nesterov: true }, onEpochEnd: () => {} }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RecurError);
    expect((refused as RecurError).code).toMatch(/^ERR_(RANGE|UNSUPPORTED)$/);
  } finally {
    await recur.dispose();
  }
});

it('the page keeps ticking (longest timer gap < 100 ms) during a 1.5 s call in the Worker, and abort works', async () => {
  const recur = createRecur({ wasm: { simd: false } });
  try {
    expect((await recur.init()).variant).toBe('scalar');
    let last = performance.now();
    let longest = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 10);
    const done = await recur.diagnostics.busy({ steps: 30, stepMs: 50 });
    clearInterval(timer);
    expect(done.completedSteps).toBe(30);
    expect(longest).toBeGreaterThan(0);
    expect(longest).toBeLessThan(100);

    const controller = new AbortController();
    const call = recur.diagnostics.busy({ steps: 1000, stepMs: 10, signal: controller.signal });
    setTimeout(() => controller.abort(), 150);
    const aborted = await call.catch((e: unknown) => e);
    expect(aborted).toBeInstanceOf(AbortError);
    const completed = (aborted as AbortError).details?.completedSteps as number;
    expect(await recur.diagnostics.busyCounter()).toBe(30 + completed);
  } finally {
    await recur.dispose();
  }
});

it('fit in the Chromium Worker gives bitwise the same weights as Node (computed now by the Node SDK)', async () => {
  const { commands } = await import('@vitest/browser/context');
  // @ts-expect-error plain JS module shared with the Node and Deno tests
  const { runFitCase } = await import('../shared/fit-case.mjs');
  const reference = (await (commands as unknown as { nodeFitReference(): Promise<{ hash: string; variant: string; mode: string }> }).nodeFitReference());
  expect(reference.mode).toBe('worker');
  // Node 20 (no flag) runs simd/threads: the relaxed builds, whose multiply-adds may be fused, are
  // left out here to compare bits.
  const recur = createRecur({ wasm: { relaxedSimd: false } });
  try {
    const info = await recur.init();
    expect(info.mode).toBe('worker');
    // The simd and threads builds run the same kernels: the same bits whatever the thread count.
    expect(['simd', 'threads']).toContain(info.variant);
    expect(['simd', 'threads']).toContain(reference.variant);
    const result = (await runFitCase(recur)) as { hash: string; losses: number[] };
    expect(result.losses.at(-1)!).toBeLessThan(result.losses[0]!);
    expect(result.hash).toBe(reference.hash);
  } finally {
    await recur.dispose();
  }
});

it('cross-origin isolated (the test server sends COOP/COEP): helper workers, bitwise the same training as one thread', async () => {
  expect(globalThis.crossOriginIsolated).toBe(true);
  const one = createRecur({ wasm: { numThreads: 1 } });
  const two = createRecur({ wasm: { numThreads: 2 } });
  try {
    const [a, b] = [await one.init(), await two.init()];
    const v = relaxed ? ['relaxed', 'relaxed-threads'] : ['simd', 'threads'];
    expect([a.variant, a.threads, b.variant, b.threads, b.threadsFallback]).toEqual([v[0], 1, v[1], 2, undefined]);
    const config = { inputSize: 4, layers: [{ type: 'lstm' as const, hiddenSize: 64, returnSequences: false }, { type: 'dense' as const, units: 1 }], seed: 3 };
    const x = { data: new Float32Array(16 * 10 * 4).map((_, i) => Math.fround(Math.sin(i * 0.1))), shape: [16, 10, 4] };
    const y = { data: new Float32Array(16).map((_, i) => Math.fround(Math.cos(i))), shape: [16, 1] };
    const saved: Uint8Array[] = [];
    for (const recur of [one, two]) {
      const m = await recur.createModel(config);
      await m.fit(x, y, { epochs: 2, batchSize: 16, optimizer: { type: 'adam', lr: 0.01 }, loss: 'mse' });
      saved.push(await m.save());
      await m.dispose();
    }
    expect(saved[1]).toEqual(saved[0]);
  } finally {
    await Promise.all([one.dispose(), two.dispose()]);
  }
});
