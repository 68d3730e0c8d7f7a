// Batch-major features reach the service as the caller gave them: one batch of them in order is
// reordered by the wasm bindings, anything that batches, shuffles or splits them by the worker;
// batch-major sequence outputs and input gradients are reordered in the worker too. Every path
// must give exactly what the same data gives time-major.
import { describe, expect, it } from 'vitest';
import { createRecur, type ModelConfig, type Recur } from '../../dist/entrypoints/node.js';

const N = 6;
const T = 5;
const F = 3;
const CONFIG: ModelConfig = { inputSize: F, layers: [{ type: 'lstm', hiddenSize: 4, returnSequences: true }, { type: 'gru', hiddenSize: 3, returnSequences: false }, { type: 'dense', units: 2 }], seed: 11 };

/** `[A, B, W]` → `[B, A, W]`. */
function swap(src: Float32Array, a: number, b: number, w: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < w; k++) out[(j * a + i) * w + k] = src[(i * b + j) * w + k]!;
  return out;
}

const xb = Float32Array.from({ length: N * T * F }, (_, i) => Math.sin(i * 0.37));
const xt = swap(xb, N, T, F);
const y = { data: Float32Array.from({ length: N * 2 }, (_, i) => Math.cos(i)), shape: [N, 2] };
const lengths = [5, 3, 5, 1, 4, 5];
const batchMajor = () => ({ data: xb.slice(), shape: [N, T, F] });
const timeMajor = () => ({ data: xt.slice(), shape: [T, N, F] });

async function twins(recur: Recur) {
  return [await recur.createModel(CONFIG), await recur.createModel(CONFIG)] as const;
}

async function params(m: Awaited<ReturnType<typeof twins>>[0]) {
  return Promise.all(m.parameters().map(async (p) => Array.from((await m.getParam(p.name)).data)));
}

describe.each(['worker', 'inprocess'] as const)('batch-major input (%s)', (mode) => {
  it('a non-finite value is refused by every call, named by its [b, t, f] index, and changes nothing (checked by the service, not the calling thread)', async () => {
    const recur = createRecur({ mode, wasm: { numThreads: 1 } });
    try {
      const [a, b] = await twins(recur);
      const bad = (value: number, at: [number, number, number]) => {
        const data = xb.slice();
        data[(at[0] * T + at[1]) * F + at[2]] = value;
        data[((N - 1) * T + (T - 1)) * F + (F - 1)] = Number.NaN; // a later one, not the one named
        return { data, shape: [N, T, F] };
      };
      const before = await params(a);
      // Both carry the states of one stateful forward; a then meets every refused call.
      await a.forward({ x: batchMajor(), stateful: true });
      await b.forward({ x: batchMajor(), stateful: true });
      const calls: [string, (x: ReturnType<typeof bad>) => Promise<unknown>][] = [
        // the bad value in the second of two batches of the call
        ['predict', (x) => a.predict(x, { batchSize: 4 })],
        ['evaluate', (x) => a.evaluate(x, y, { batchSize: 4 })],
        ['forward', (x) => a.forward({ x, stateful: true })],
        ['fit', (x) => a.fit(x, y, { epochs: 2, batchSize: 2, optimizer: { type: 'adam', lr: 0.1 } })],
        ['validationData', (x) => a.fit(batchMajor(), y, { epochs: 1, batchSize: 2, validationData: [x, y] })],
        ['gradCheck', (x) => a.gradCheck({ x, samples: 2 })],
      ];
      for (const [name, call] of calls) {
        for (const [value, at] of [[Number.NaN, [4, 2, 1]], [Number.POSITIVE_INFINITY, [0, 0, 0]], [Number.NEGATIVE_INFINITY, [5, 3, 2]]] as const) {
          const e = (await call(bad(value, [...at])).catch((err: unknown) => err)) as { code?: string; message?: string; details?: unknown };
          const what = name === 'validationData' ? 'validationData[0]' : 'x';
          expect(e?.code, `${name} ${value}`).toBe('ERR_NON_FINITE');
          expect(e.message).toBe(`${what}[${at[0]}][${at[1]}][${at[2]}] is ${value}`);
          expect(e.details).toEqual({ name: what, index: [...at], value: String(value) });
        }
      }
      expect(await params(a)).toEqual(before);
      // the carried states too: the next stateful forward gives the twin's output
      expect((await a.forward({ x: batchMajor(), stateful: true })).output).toEqual((await b.forward({ x: batchMajor(), stateful: true })).output);
    } finally {
      await recur.dispose();
    }
  });

  it('predict, evaluate and forward/backward give what time-major input gives', async () => {
    const recur = createRecur({ mode, wasm: { numThreads: 1 } });
    try {
      const [a, b] = await twins(recur);
      for (const batchSize of [N, 4]) {
        const pa = await a.predict(batchMajor(), { batchSize, lengths });
        const pb = await b.predict(timeMajor(), { batchSize, lengths, layout: 'time-major' });
        expect(pa).toEqual(pb);
      }
      expect(await a.evaluate(batchMajor(), y, { lengths, batchSize: 4 })).toEqual(await b.evaluate(timeMajor(), y, { lengths, layout: 'time-major', batchSize: 4 }));
      const fa = await a.forward({ x: batchMajor(), training: true });
      const fb = await b.forward({ x: timeMajor(), training: true, layout: 'time-major' });
      expect(fa.output).toEqual(fb.output);
      const ga = await a.backward({ dOutput: { data: new Float32Array(N * 2).fill(1), shape: [N, 2] } });
      const gb = await b.backward({ dOutput: { data: new Float32Array(N * 2).fill(1), shape: [N, 2] } });
      expect(ga.grads).toEqual(gb.grads);
      expect(ga.x!.data).toEqual(swap(gb.x!.data, T, N, F));
    } finally {
      await recur.dispose();
    }
  });

  it('sequence outputs and their gradients come back in the layout of the call (reordered in the worker)', async () => {
    const seqConfig: ModelConfig = { inputSize: F, layers: [{ type: 'gru', hiddenSize: 4 }, { type: 'dense', units: 2 }], seed: 5 };
    const recur = createRecur({ mode, wasm: { numThreads: 1 } });
    try {
      const [a, b] = [await recur.createModel(seqConfig), await recur.createModel(seqConfig)];
      for (const batchSize of [N, 4]) {
        const pa = await a.predict(batchMajor(), { batchSize, lengths });
        const pb = await b.predict(timeMajor(), { batchSize, lengths, layout: 'time-major' });
        expect(pa.shape).toEqual([N, T, 2]);
        expect(pb.shape).toEqual([T, N, 2]);
        expect(pa.data).toEqual(swap(pb.data, T, N, 2));
      }
      const fa = await a.forward({ x: batchMajor(), training: true, lengths });
      const fb = await b.forward({ x: timeMajor(), training: true, layout: 'time-major', lengths });
      expect(fa.output.shape).toEqual([N, T, 2]);
      expect(fa.output.data).toEqual(swap(fb.output.data, T, N, 2));
      const dOut = Float32Array.from({ length: N * T * 2 }, (_, i) => Math.cos(i * 0.3));
      const ga = await a.backward({ dOutput: { data: dOut, shape: [N, T, 2] } });
      const gb = await b.backward({ dOutput: { data: swap(dOut, N, T, 2), shape: [T, N, 2] } });
      expect(ga.grads).toEqual(gb.grads);
      expect(ga.x!.shape).toEqual([N, T, F]);
      expect(ga.x!.data).toEqual(swap(gb.x!.data, T, N, F));
    } finally {
      await recur.dispose();
    }
  });

  it.each([
    ['one batch in order (reordered in wasm)', { batchSize: 8, shuffle: false }],
    ['several batches', { batchSize: 4, shuffle: false }],
    ['shuffled', { batchSize: 8, shuffle: true, seed: 5 }],
    ['a validation split', { batchSize: 8, shuffle: false, validationSplit: 0.34 }],
  ] as const)('fit with %s trains exactly as with time-major input', async (_, options) => {
    const recur = createRecur({ mode, wasm: { numThreads: 1 } });
    try {
      const [a, b] = await twins(recur);
      const ha = await a.fit(batchMajor(), y, { ...options, epochs: 2, lengths });
      const hb = await b.fit(timeMajor(), y, { ...options, epochs: 2, lengths, layout: 'time-major' });
      expect(ha.history).toEqual(hb.history);
      expect(ha.epochs.map((e) => e.gradNorm)).toEqual(hb.epochs.map((e) => e.gradNorm));
      expect(await params(a)).toEqual(await params(b));
      // validation data given separately goes the same way
      const va = await a.fit(batchMajor(), y, { epochs: 1, batchSize: 8, shuffle: false, validationData: [batchMajor(), y] });
      const vb = await b.fit(timeMajor(), y, { epochs: 1, batchSize: 8, shuffle: false, layout: 'time-major', validationData: [timeMajor(), y] });
      expect(va.history).toEqual(vb.history);
    } finally {
      await recur.dispose();
    }
  });
});
