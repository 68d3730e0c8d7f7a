// Deno test of the public SDK (deno entry point): a module Worker, the real wasm read from disk.
// Run by `pnpm test:deno` (node_modules/.bin/deno test --allow-read ...).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AbortError, createRecur, hasRelaxedSimd, ShapeError, type ModelConfig } from '../../dist/entrypoints/deno.js';

// Deno validates relaxed SIMD: the loader then prefers the relaxed builds.
const relaxed = hasRelaxedSimd();

const cargoToml = readFileSync(new URL('../../../../Cargo.toml', import.meta.url), 'utf8');
const crateVersion = /\[workspace\.package\][^[]*?version\s*=\s*"([^"]+)"/.exec(cargoToml)?.[1];

Deno.test('loads the real wasm in a module Worker and calls version()', async () => {
  const recur = createRecur();
  try {
    const info = await recur.init();
    // Deno has SharedArrayBuffer: the worker runs min(cores, 4) threads on a threads build.
    const threads = Math.min(navigator.hardwareConcurrency, 4);
    const variant = threads > 1 ? (relaxed ? 'relaxed-threads' : 'threads') : relaxed ? 'relaxed' : 'simd';
    assert.deepEqual(info, { version: crateVersion, variant, threads, runtime: 'deno', mode: 'worker' });
    assert.equal(await recur.version(), crateVersion);
    const err = await recur.diagnostics.raise('ERR_SHAPE', 'bad').catch((e: unknown) => e);
    assert.ok(err instanceof ShapeError);
    assert.equal(err.code, 'ERR_SHAPE');
  } finally {
    await recur.dispose();
  }
});

Deno.test('in-process mode loads the scalar build when told, and abort works', async () => {
  const recur = createRecur({ mode: 'inprocess', wasm: { simd: false } });
  try {
    const info = await recur.init();
    assert.deepEqual(info, { version: crateVersion, variant: 'scalar', threads: 1, runtime: 'deno', mode: 'inprocess' });
    const controller = new AbortController();
    const call = recur.diagnostics.busy({ steps: 1000, stepMs: 5, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const err = await call.catch((e: unknown) => e);
    assert.ok(err instanceof AbortError);
    assert.equal(await recur.diagnostics.busyCounter(), (err.details as { completedSteps: number }).completedSteps);
  } finally {
    await recur.dispose();
  }
});

Deno.test('fit in the Deno worker gives bitwise the same weights as Node (computed now by the Node SDK)', async () => {
  // @ts-ignore plain JS module shared with the Node and Chromium tests
  const { runFitCase } = await import('../shared/fit-case.mjs');
  const node = new Deno.Command('node', { args: [new URL('../shared/fit-reference.mjs', import.meta.url).pathname], stdout: 'piped', stderr: 'piped' });
  const out = await node.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const reference = JSON.parse(new TextDecoder().decode(out.stdout)) as { hash: string; variant: string; mode: string };
  assert.equal(reference.mode, 'worker');
  // Node 20 (no flag) runs simd/threads: the relaxed builds, whose multiply-adds may be fused, are
  // left out here to compare bits.
  const recur = createRecur({ wasm: { relaxedSimd: false } });
  try {
    const info = await recur.init();
    assert.equal(info.mode, 'worker');
    // The simd and threads builds run the same kernels: the same bits whatever the thread count.
    assert.ok(['simd', 'threads'].includes(info.variant) && ['simd', 'threads'].includes(reference.variant));
    const result = (await runFitCase(recur)) as { hash: string; losses: number[] };
    assert.ok(result.losses.at(-1)! < result.losses[0]!);
    assert.equal(result.hash, reference.hash);
  } finally {
    await recur.dispose();
  }
});

Deno.test('three threads in the Deno worker (two helpers) train bitwise like one thread', async () => {
  const one = createRecur({ wasm: { numThreads: 1 } });
  const three = createRecur({ wasm: { numThreads: 3 } });
  try {
    const [a, b] = [await one.init(), await three.init()];
    const v = relaxed ? ['relaxed', 'relaxed-threads'] : ['simd', 'threads'];
    assert.deepEqual([a.variant, a.threads, b.variant, b.threads], [v[0], 1, v[1], 3]);
    assert.equal(b.threadsFallback, undefined);
    const model: ModelConfig = { inputSize: 4, layers: [{ type: 'lstm', hiddenSize: 64, returnSequences: false }, { type: 'dense', units: 1 }], seed: 3 };
    const x = { data: new Float32Array(16 * 10 * 4).map((_, i) => Math.fround(Math.sin(i * 0.1))), shape: [16, 10, 4] };
    const y = { data: new Float32Array(16).map((_, i) => Math.fround(Math.cos(i))), shape: [16, 1] };
    const hashes = [];
    for (const recur of [one, three]) {
      const m = await recur.createModel(model);
      await m.fit(x, y, { epochs: 2, batchSize: 16, optimizer: { type: 'adam', lr: 0.01 }, loss: 'mse' });
      const bytes = new Uint8Array(await m.save());
      hashes.push([...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].join(','));
      await m.dispose();
    }
    assert.equal(hashes[1], hashes[0]);
  } finally {
    await Promise.all([one.dispose(), three.dispose()]);
  }
});
