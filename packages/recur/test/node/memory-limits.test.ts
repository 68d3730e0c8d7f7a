// Seeded random use of the public API at sizes near the wasm memory's limit (the threads build:
// 1 GiB of shared memory): models, sequences and outputs of hundreds of MB, through predict,
// forward/backward, fit, evaluate, save/load and gradCheck. A call either works or is rejected
// with a documented code (here mostly ERR_RANGE), never ERR_INTERNAL (a wasm trap), and the
// model answers a small predict afterwards (a trap inside a method leaves it borrowed for good).
// The seeds are ones that found such traps before the allocations they hit were probed.
import { describe, expect, it } from 'vitest';
import { createRecur, RecurError, type LayerConfig, type Model, type TensorLike } from '../../dist/entrypoints/node.js';

function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

/** A case: what was called and how it ended (an error code, or 'ok'). */
type Outcome = { call: string; code: string; message: string };

async function settle(call: string, p: Promise<unknown>, out: Outcome[]): Promise<unknown> {
  try {
    return await p;
  } catch (e) {
    out.push({ call, code: e instanceof RecurError ? e.code : `not a RecurError: ${String(e)}`, message: String((e as Error).message).slice(0, 160) });
    return undefined;
  }
}

/** A training forward of `x`, then backward of its output, each settled into `out`. */
async function forwardBackward(tag: string, model: Model, x: TensorLike, lengths: number[] | undefined, out: Outcome[]): Promise<void> {
  const f = (await settle(`${tag} forward`, model.forward({ x, training: true, lengths }), out)) as { output: TensorLike } | undefined;
  if (f !== undefined) await settle(`${tag} backward`, model.backward({ dOutput: f.output }), out);
}

/**
 * Zeros shaped like the model's output for `b` sequences of `t` steps (per step or final, as a
 * one-step predict of `small` shows), or undefined when that predict fails (settled into `out`)
 * or the target would pass `limit` values.
 */
async function zeroTarget(tag: string, model: Model, small: TensorLike, b: number, t: number, limit: number, out: Outcome[]): Promise<TensorLike | undefined> {
  const one = (await settle(`${tag} small`, model.predict(small), out)) as { shape: number[] } | undefined;
  if (one === undefined) return undefined;
  const w = one.shape.at(-1)!;
  const perStep = one.shape.length === 3;
  const n = b * (perStep ? t : 1) * w;
  return n <= limit ? { data: new Float32Array(n), shape: perStep ? [b, t, w] : [b, w] } : undefined;
}

describe('calls near the wasm memory limit (threads build)', () => {
  for (const [seed, rounds] of [
    [1, 14],
    [3, 13],
    [5, 9],
  ] as const) {
    it(`seed ${seed}: every call works or is a documented error, and the model stays usable`, async () => {
      const rnd = generator(seed);
      const pick = <T,>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
      const recur = createRecur({ mode: 'worker', wasm: { numThreads: 2 } });
      const errors: Outcome[] = [];
      let large = 0;
      try {
        await recur.init();
        for (let round = 0; round < rounds; round++) {
          const kind = pick(['lstm', 'gru', 'rnn', 'embedding', 'dense-seq'] as const);
          const h = pick([4, 64, 512, 2048, 8192]);
          const rows = pick([1e3, 1e5, 1e6, 4e6, 2e7]);
          const b = pick([1, 16, 256, 4096]);
          const t = Math.max(1, Math.round(rows / b));
          // (compute bounded: the sizes are about memory, not time)
          const flops = (kind === 'embedding' ? 0 : 8 * h * (h + 4)) * b * t * (kind === 'dense-seq' ? 0.25 : 1);
          if (flops > 3e9 || b * t * 4 > 2 ** 28) {
            round--;
            continue;
          }
          const sequences = rnd() < 0.5;
          const layers: LayerConfig[] =
            kind === 'embedding'
              ? [{ type: 'embedding', vocabSize: pick([10, 1e5, 1e7]), dim: h }]
              : kind === 'dense-seq'
                ? [{ type: 'lstm', hiddenSize: 4, returnSequences: true }, { type: 'dense', units: h }]
                : [{ type: kind, hiddenSize: h, returnSequences: sequences, numLayers: pick([1, 2]), bidirectional: rnd() < 0.3 }, { type: 'dense', units: pick([1, 64]) }];
          const tag = `round ${round}: ${JSON.stringify(layers)} over [${b}, ${t}]`;
          const tokens = kind === 'embedding';
          const model = (await settle(`${tag} create`, recur.createModel(tokens ? { layers } : { inputSize: 4, layers }), errors)) as Model | undefined;
          if (model === undefined) continue;
          if (b * t * h > 2 ** 26) large++;
          const x: TensorLike = tokens ? { data: new Uint32Array(b * t).fill(1), shape: [b, t] } : { data: new Float32Array(b * t * 4).fill(0.1), shape: [b, t, 4] };
          const small: TensorLike = tokens ? { data: new Uint32Array(1).fill(1), shape: [1, 1] } : { data: new Float32Array(4), shape: [1, 1, 4] };
          const op = pick(['predict', 'forward-backward', 'fit', 'save', 'gradCheck', 'evaluate'] as const);
          if (op === 'predict') await settle(`${tag} predict`, model.predict(x, { batchSize: pick([b, 64]) }), errors);
          if (op === 'forward-backward') await forwardBackward(tag, model, x, undefined, errors);
          if (op === 'fit' || op === 'evaluate') {
            const y = await zeroTarget(tag, model, small, b, t, 2 ** 28, errors);
            if (y !== undefined) {
              const batchSize = pick([b, 32]);
              if (op === 'fit') await settle(`${tag} fit`, model.fit(x, y, { epochs: 1, batchSize, optimizer: { type: 'adam', lr: 1e-3 } }), errors);
              else await settle(`${tag} evaluate`, model.evaluate(x, y, { batchSize }), errors);
            }
          }
          if (op === 'save') {
            const bytes = (await settle(`${tag} save`, model.save(), errors)) as Uint8Array | undefined;
            if (bytes !== undefined) ((await settle(`${tag} load`, recur.loadModel(bytes), errors)) as Model | undefined)?.dispose();
          }
          if (op === 'gradCheck') {
            const two: TensorLike = tokens ? { data: new Uint32Array(2).fill(1), shape: [1, 2] } : { data: new Float32Array(8), shape: [1, 2, 4] };
            await settle(`${tag} gradCheck`, model.gradCheck({ x: two, samples: 2 }), errors);
          }
          expect((await model.predict(small)).shape[0], `${tag}: a small predict after ${op}`).toBe(1);
          await model.dispose();
        }
      } finally {
        await recur.dispose();
      }
      // the seed reaches the limit: some calls were refused for memory, and some models were large
      expectDocumentedErrors(errors);
      expect(large).toBeGreaterThan(0);
    }, 120_000);
  }
});

/** Asserts what every seeded run must show: only documented error codes (no ERR_INTERNAL: a wasm trap), and some ERR_RANGE. */
function expectDocumentedErrors(errors: Outcome[]): void {
  const bad = errors.filter((e) => !['ERR_RANGE', 'ERR_SHAPE', 'ERR_TYPE', 'ERR_UNSUPPORTED', 'ERR_STATE'].includes(e.code));
  expect(bad, JSON.stringify(bad, null, 1)).toEqual([]);
  expect(errors.some((e) => e.code === 'ERR_RANGE')).toBe(true);
}

// The same with the other layer kinds around a recurrent stack (batch norm, layer norm, stacked
// and bidirectional layers with dropout between them, peepholes, the reset-before GRU, dropout
// and dense layers with activations after it) and the other calls (lengths, truncated BPTT,
// stateful passes). Seed 32 found an inference pass whose workspace was not checked (layer norm
// then projected every step before the loop): two layers of 4 units over [64, 62500] steps trapped.
describe('layer stacks near the wasm memory limit (threads build)', () => {
  it('seed 32: every call works or is a documented error, and the model stays usable', async () => {
    const rnd = generator(32);
    const pick = <T,>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
    const recur = createRecur({ mode: 'worker', wasm: { numThreads: 2 } });
    const errors: Outcome[] = [];
    try {
      await recur.init();
      for (let round = 0; round < 12; round++) {
        const cell = pick(['lstm', 'gru', 'rnn'] as const);
        const h = pick([4, 32, 256, 1024]);
        const inputs = pick([1, 8, 64, 256]);
        const rows = pick([1e5, 1e6, 4e6, 1e7, 2e7]);
        const b = pick([1, 8, 64, 1024]);
        const t = Math.max(1, Math.round(rows / b));
        const numLayers = pick([1, 2, 3]);
        const bidirectional = rnd() < 0.3;
        if (8 * h * (h + inputs) * b * t * numLayers * (bidirectional ? 2 : 1) > 2e9 || b * t * inputs > 2 ** 28) {
          round--;
          continue;
        }
        const recurrent: LayerConfig = {
          type: cell,
          hiddenSize: h,
          numLayers,
          bidirectional,
          returnSequences: rnd() < 0.5,
          layerNorm: rnd() < 0.3,
          ...(numLayers > 1 ? { dropout: pick([0, 0.2]) } : {}),
          ...(cell === 'lstm' && rnd() < 0.3 ? { peephole: true } : {}),
          ...(cell === 'gru' && rnd() < 0.5 ? { resetAfter: false } : {}),
        } as LayerConfig;
        const layers: LayerConfig[] = [];
        if (rnd() < 0.3) layers.push({ type: 'batchNorm' });
        layers.push(recurrent);
        if (rnd() < 0.3) layers.push({ type: 'dropout', p: 0.1 });
        if (rnd() < 0.5) layers.push({ type: 'dense', units: pick([16, 256, 1024]), activation: pick(['tanh', 'relu', 'sigmoid'] as const) });
        if (rnd() < 0.3) layers.push({ type: 'dropout', p: 0.2 });
        layers.push({ type: 'dense', units: pick([1, 16, 256]), ...(rnd() < 0.5 ? { activation: pick(['tanh', 'relu'] as const) } : {}) });
        const tag = `round ${round}: ${JSON.stringify(layers)} over [${b}, ${t}]`;
        const model = (await settle(`${tag} create`, recur.createModel({ inputSize: inputs, layers }), errors)) as Model | undefined;
        if (model === undefined) continue;
        const x: TensorLike = { data: new Float32Array(b * t * inputs).fill(0.1), shape: [b, t, inputs] };
        const small: TensorLike = { data: new Float32Array(inputs), shape: [1, 1, inputs] };
        const lengths = rnd() < 0.3 ? Array.from({ length: b }, () => 1 + Math.floor(rnd() * t)) : undefined;
        const op = pick(['predict', 'forward-backward', 'fit', 'fit-bptt', 'stateful', 'evaluate'] as const);
        if (op === 'predict') await settle(`${tag} predict`, model.predict(x, { batchSize: pick([b, 16]), lengths }), errors);
        if (op === 'stateful') {
          await settle(`${tag} stateful`, model.forward({ x, stateful: true }), errors);
          await settle(`${tag} stateful training`, model.forward({ x, stateful: true, training: true }), errors);
        }
        if (op === 'forward-backward') await forwardBackward(tag, model, x, lengths, errors);
        if (op === 'fit' || op === 'fit-bptt' || op === 'evaluate') {
          const y = await zeroTarget(tag, model, small, b, t, 2 ** 27, errors);
          if (y !== undefined) {
            const batchSize = pick([b, 16]);
            if (op === 'evaluate') await settle(`${tag} evaluate`, model.evaluate(x, y, { batchSize, lengths }), errors);
            else {
              const optimizer = { type: pick(['adam', 'sgd', 'rmsprop'] as const), lr: 1e-3 };
              const bptt = op === 'fit-bptt' ? { bptt: { truncate: pick([1, 7, 64]) } } : {};
              await settle(`${tag} fit`, model.fit(x, y, { epochs: 1, batchSize, lengths, optimizer, ...bptt }), errors);
            }
          }
        }
        expect((await model.predict(small)).shape[0], `${tag}: a small predict after ${op}`).toBe(1);
        await model.dispose();
      }
    } finally {
      await recur.dispose();
    }
    expectDocumentedErrors(errors);
  }, 120_000);
});
