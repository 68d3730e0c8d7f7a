// Wasm threads through the Node entry: the `threads` build in the worker with helper threads,
// bitwise the same training as one thread, the thread count as an option, and every fallback
// reported. The loader-level test checks that the helpers really run part of the products.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createRecur, InitError, type ModelConfig, type Recur } from '../../dist/entrypoints/node.js';
import { loadWasm } from '../../dist/loader/wasm.js';
import { nodeSource } from '../../dist/loader/source-node.js';
import { spawnNodeHelper } from '../../dist/worker/helpers-node.js';
// @ts-expect-error plain JS module shared with the Deno and Chromium tests
import { sha256 } from '../shared/fit-case.mjs';

/** Big enough that the per-step products ([16, 64] · [64, 256]) and the weight gradients are split. */
const CONFIG: ModelConfig = {
  inputSize: 8,
  layers: [
    { type: 'lstm', hiddenSize: 64, returnSequences: true },
    { type: 'gru', hiddenSize: 48, returnSequences: false },
    { type: 'dense', units: 2 },
  ],
  seed: 11,
};

function data(n = 64, steps = 12, inp = 8): { x: { data: Float32Array; shape: number[] }; y: { data: Float32Array; shape: number[] } } {
  const x = new Float32Array(n * steps * inp);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(Math.sin(i * 0.013) * Math.cos(i * 0.0071));
  const y = new Float32Array(n * 2);
  for (let i = 0; i < y.length; i++) y[i] = Math.fround(Math.cos(i * 0.31));
  return { x: { data: x, shape: [n, steps, inp] }, y: { data: y, shape: [n, 2] } };
}

async function train(recur: Recur): Promise<{ hash: string; losses: number[] }> {
  const model = await recur.createModel(CONFIG);
  try {
    const { x, y } = data();
    const history = await model.fit(x, y, { epochs: 2, batchSize: 16, shuffle: true, seed: 5, optimizer: { type: 'adam', lr: 0.01 }, loss: 'mse' });
    return { hash: await sha256(await model.save()), losses: history.history.loss };
  } finally {
    await model.dispose();
  }
}

const cores = availableParallelism();

describe('threads in the Node worker', () => {
  it('by default the worker runs min(cores, 4) threads on the threads build', async () => {
    const recur = createRecur({ mode: 'worker' });
    try {
      const info = await recur.init();
      const expected = Math.min(cores, 4);
      expect(info.threads).toBe(expected);
      expect(info.variant).toBe(expected > 1 ? 'threads' : 'simd');
      expect(info.threadsFallback).toBeUndefined();
    } finally {
      await recur.dispose();
    }
  });

  it('training with 2 threads gives bitwise the same weights and losses as 1 thread', async () => {
    const one = createRecur({ mode: 'worker', wasm: { numThreads: 1 } });
    const two = createRecur({ mode: 'worker', wasm: { numThreads: 2 } });
    try {
      const [i1, i2] = await Promise.all([one.init(), two.init()]);
      expect([i1.variant, i1.threads]).toEqual(['simd', 1]);
      expect([i2.variant, i2.threads]).toEqual(['threads', 2]);
      const a = await train(one);
      const b = await train(two);
      expect(b.losses).toEqual(a.losses);
      expect(b.hash).toBe(a.hash);
    } finally {
      await Promise.all([one.dispose(), two.dispose()]);
    }
  });

  it('more threads than cores still run, and give the same bits', async () => {
    const three = createRecur({ mode: 'worker', wasm: { numThreads: 3 } });
    const one = createRecur({ mode: 'worker', wasm: { numThreads: 1 } });
    try {
      expect((await three.init()).threads).toBe(3);
      expect((await train(three)).hash).toBe((await train(one)).hash);
    } finally {
      await Promise.all([three.dispose(), one.dispose()]);
    }
  });

  it('falls back to one thread without SIMD, and says why; in-process runs one thread by default', async () => {
    const scalar = createRecur({ mode: 'worker', wasm: { numThreads: 2, simd: false } });
    try {
      const b = await scalar.init();
      expect([b.variant, b.threads]).toEqual(['scalar', 1]);
      expect(b.threadsFallback).toMatch(/simd is false/);
      // In-process, one thread by default, and nothing to report.
      const c = createRecur({ mode: 'inprocess' });
      const ci = await c.init();
      expect([ci.variant, ci.threads]).toEqual(['simd', 1]);
      expect(ci.threadsFallback).toBeUndefined();
      await c.dispose();
    } finally {
      await scalar.dispose();
    }
  });

  it('a bad numThreads fails init with InitError', async () => {
    for (const numThreads of [0, 1.5, Number.NaN]) {
      const recur = createRecur({ mode: 'worker', wasm: { numThreads } });
      try {
        const e = await recur.init().catch((err: unknown) => err);
        expect(e).toBeInstanceOf(InitError);
        expect((e as InitError).message).toMatch(/numThreads/);
      } finally {
        await recur.dispose();
      }
    }
  });
});

describe('threads in-process (Node: the calling thread may block for its helpers)', () => {
  it('numThreads 2 in-process runs the threads build with a helper: the same bits as the worker', async () => {
    const inproc = createRecur({ mode: 'inprocess', wasm: { numThreads: 2 } });
    const worker = createRecur({ mode: 'worker', wasm: { numThreads: 1 } });
    try {
      const info = await inproc.init();
      expect([info.mode, info.variant, info.threads, info.threadsFallback]).toEqual(['inprocess', 'threads', 2, undefined]);
      const a = await train(inproc);
      const b = await train(worker);
      expect(a.losses).toEqual(b.losses);
      expect(a.hash).toBe(b.hash);
      // The helper really computed: the pool of this realm (the one the runtime loaded) split jobs
      // and its helper ran tasks of them.
      const { api } = await loadWasm(nodeSource, { numThreads: 2, spawnHelper: spawnNodeHelper });
      const pool = JSON.parse(api.threadPoolInfo());
      expect(pool).toMatchObject({ threads: 2, startedWorkers: 1 });
      expect(pool.workerTasks).toBeGreaterThan(0);
    } finally {
      await Promise.all([inproc.dispose(), worker.dispose()]);
    }
  });

  it('idleSpinMs sets how long the helpers spin between calls; a bad value is an InitError', async () => {
    const recur = createRecur({ mode: 'inprocess', wasm: { numThreads: 2, idleSpinMs: 7 } });
    try {
      expect((await recur.init()).threads).toBe(2);
      // The same realm's threads build: setting it again returns what the runtime set (µs).
      const { api } = await loadWasm(nodeSource, { numThreads: 2, spawnHelper: spawnNodeHelper });
      expect(api.setIdleSpin(38)).toBe(7000);
    } finally {
      await recur.dispose();
    }
    for (const idleSpinMs of [-1, 1001, Number.NaN, '5' as unknown as number]) {
      const bad = createRecur({ mode: 'inprocess', wasm: { numThreads: 2, idleSpinMs } });
      try {
        const e = await bad.init().catch((err: unknown) => err);
        expect(e).toBeInstanceOf(InitError);
        expect(e).toMatchObject({ code: 'ERR_INIT', details: { reason: 'bad-idle-spin' } });
        expect((e as InitError).message).toMatch(/idleSpinMs must be a number of milliseconds from 0 to 1000/);
      } finally {
        await bad.dispose();
      }
    }
  });
});

describe('the threads build, loaded directly', () => {
  it('helpers instantiate the module on the shared memory and run part of every split product', async () => {
    const loaded = await loadWasm(nodeSource, { numThreads: 2, spawnHelper: spawnNodeHelper });
    expect(loaded.variant).toBe('threads');
    expect(loaded.threads).toBe(2);
    const { api } = loaded;
    expect(api.hasThreads()).toBe(true);
    expect((api.wasmMemory() as WebAssembly.Memory).buffer).toBeInstanceOf(SharedArrayBuffer);
    const before = JSON.parse(api.threadPoolInfo());
    expect(before).toMatchObject({ threads: 2, poolSize: 2, atomics: true });
    // Products of the LSTM's shapes; the same checksum with one and two threads.
    const sums = [1, 2].map((t) => {
      api.setNumThreads(t);
      return [api.gemmRepeat(32, 128, 512, true, 20), api.gemmRepeat(1024, 512, 64, false, 2), api.gemmRepeat(40, 200, 1030, false, 5)];
    });
    expect(sums[1]).toEqual(sums[0]);
    const after = JSON.parse(api.threadPoolInfo());
    expect(after.startedWorkers).toBe(1);
    expect(after.jobs).toBeGreaterThan(before.jobs);
    expect(after.workerTasks).toBeGreaterThan(before.workerTasks);
  });
});

describe('precompiled modules', () => {
  it('without the threads build: one thread on the given module, and why', async () => {
    const bytes = readFileSync(new URL('../../wasm/simd/recur_wasm_bg.wasm', import.meta.url));
    const simd = new WebAssembly.Module(bytes);
    const recur = createRecur({ mode: 'worker', wasm: { module: simd, numThreads: 2 } });
    try {
      const info = await recur.init();
      expect([info.variant, info.threads]).toEqual(['simd', 1]);
      expect(info.threadsFallback).toMatch(/without the threads build/);
    } finally {
      await recur.dispose();
    }
  });

  it('with the threads build: helpers get the same module', async () => {
    const threads = new WebAssembly.Module(readFileSync(new URL('../../wasm/threads/recur_wasm_bg.wasm', import.meta.url)));
    const recur = createRecur({ mode: 'worker', wasm: { module: { threads }, numThreads: 2 } });
    try {
      const info = await recur.init();
      expect([info.variant, info.threads, info.threadsFallback]).toEqual(['threads', 2, undefined]);
    } finally {
      await recur.dispose();
    }
  });
});

describe('feature detection of threads', () => {
  it('a page that is not cross-origin isolated (or lacks SharedArrayBuffer) gets one thread, and why', async () => {
    const { threadsUnsupported } = await import('../../dist/loader/simd.js');
    const { chooseThreads } = await import('../../dist/loader/wasm.js');
    const g = globalThis as { crossOriginIsolated?: boolean; SharedArrayBuffer?: unknown };
    expect(threadsUnsupported()).toBeUndefined();
    const spawnHelper = spawnNodeHelper;
    expect(chooseThreads({ numThreads: 3, spawnHelper })).toEqual({ want: 3, threads: 3 });
    g.crossOriginIsolated = false;
    try {
      expect(threadsUnsupported()).toMatch(/cross-origin isolated/);
      expect(chooseThreads({ numThreads: 3, spawnHelper })).toMatchObject({ want: 3, threads: 1, fallback: expect.stringMatching(/COOP/) });
    } finally {
      delete g.crossOriginIsolated;
    }
    const sab = g.SharedArrayBuffer;
    g.SharedArrayBuffer = undefined;
    try {
      expect(threadsUnsupported()).toMatch(/SharedArrayBuffer/);
    } finally {
      g.SharedArrayBuffer = sab;
    }
    // One thread asked for: nothing to report.
    expect(chooseThreads({ numThreads: 1, spawnHelper })).toEqual({ want: 1, threads: 1 });
  });
});

describe('helpers the client starts next to the worker (Node)', () => {
  it('a helper whose port closes before it is ready is a failure, not a wait', async () => {
    const { MessageChannel } = await import('node:worker_threads');
    const { nodeHelperOnPort } = await import('../../dist/worker/helpers-node.js');
    const { port1, port2 } = new MessageChannel();
    const started = nodeHelperOnPort(port2, 1, new Promise(() => undefined));
    port1.close();
    await expect(started).rejects.toThrow(/exited before it was ready/);
  });

  it('prestartNode plans what the service will load, compiles it and starts the helpers', async () => {
    const { prestartNode } = await import('../../dist/worker/helpers-node.js');
    const pre = await prestartNode({ numThreads: 2 });
    try {
      expect(pre?.options.precompiled?.variant).toBe('threads');
      expect(pre?.options.precompiled?.module).toBeInstanceOf(WebAssembly.Module);
      expect(pre?.helpers.length).toBe(1);
      expect(pre?.options.helperPorts?.length).toBe(1);
      expect(await prestartNode({ modules: {} })).toBeUndefined();
      expect(await prestartNode({ numThreads: 0 })).toBeUndefined();
    } finally {
      for (const p of pre?.ports ?? []) p.close();
      await Promise.all((pre?.helpers ?? []).map((h) => h.terminate()));
    }
  });
});
