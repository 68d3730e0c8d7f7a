// Seeded random use of the public API with bad and good input: random configurations (wrong
// types, NaN, ±Infinity, absurd sizes, unknown kinds) and random calls (fit, predict, evaluate,
// forward/backward) with wrong shapes, NaN, bad lengths and bad options. Every rejection must be
// a RecurError with one of the documented codes (never ERR_INTERNAL, never a wasm trap or a bare
// TypeError), and a call rejected for its input must leave the model's parameters as they were.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecur, ERROR_CODES, RecurError, type Model, type ModelConfig, type Recur } from '../../dist/entrypoints/node.js';

/** The codes of a call rejected for its input, before anything ran. */
const INPUT_CODES = new Set(['ERR_TYPE', 'ERR_SHAPE', 'ERR_RANGE', 'ERR_NON_FINITE', 'ERR_UNSUPPORTED', 'ERR_STATE']);

function generator(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

async function paramBits(model: Model): Promise<number[][]> {
  return Promise.all(model.parameters().map(async (p) => Array.from(new Uint32Array((await model.getParam(p.name)).data.buffer))));
}

describe('random bad input through the public API', () => {
  let recur: Recur;
  beforeAll(async () => {
    recur = createRecur({ mode: 'inprocess' });
    await recur.init();
  });
  afterAll(async () => {
    await recur.dispose();
  });

  it('a model too large for wasm memory is a range error, not a trap', async () => {
    // element counts within the core's limits (2^30), bytes beyond what wasm32 can allocate
    const configs: ModelConfig[] = [
      { inputSize: 1, layers: [{ type: 'gru', hiddenSize: 1 }, { type: 'dense', units: 1e9 }] },
      { inputSize: 4, layers: [{ type: 'lstm', hiddenSize: 16384 }] },
      { layers: [{ type: 'embedding', vocabSize: 2 ** 26, dim: 16 }, { type: 'rnn', hiddenSize: 2 }] },
    ];
    for (const config of configs) {
      const e = await recur.createModel(config).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e, JSON.stringify(config)).toBeInstanceOf(RecurError);
      expect((e as RecurError).code, (e as RecurError).message).toBe('ERR_RANGE');
    }
    // and the runtime is still usable
    const small = await recur.createModel({ inputSize: 1, layers: [{ type: 'gru', hiddenSize: 2 }] });
    expect((await small.predict({ data: new Float32Array(3), shape: [1, 3, 1] })).shape).toEqual([1, 3, 2]);
    await small.dispose();
  });

  it('a training pass or an input too large for wasm memory is a range error, not a trap (threads build: 1 GiB of shared memory)', async () => {
    const threaded = createRecur({ mode: 'worker', wasm: { numThreads: 2 } });
    try {
      await threaded.init();
      const model = await threaded.createModel({ inputSize: 1, layers: [{ type: 'lstm', hiddenSize: 512, returnSequences: false }] });
      // [256, 500] steps of an LSTM of 512: within the workspace size check, about 2 GB kept for backward
      const big = { data: new Float32Array(256 * 500), shape: [256, 500, 1] };
      const e = await model.forward({ x: big, training: true }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(RecurError);
      expect((e as RecurError).code, (e as RecurError).message).toBe('ERR_RANGE');
      const small = await model.forward({ x: { data: new Float32Array(2 * 3), shape: [2, 3, 1] }, training: true });
      expect(small.output.shape).toEqual([2, 512]);
      // an inference pass keeps one block of steps of its workspace (the time loop projects and
      // normalizes the input itself), but the layers' outputs and the workspace's index range grow
      // with the sequence: two layers of 512 units over [8, 65 536] steps are refused up front
      const wideNormed = await threaded.createModel({ inputSize: 1, layers: [{ type: 'lstm', hiddenSize: 512, numLayers: 2, layerNorm: true, returnSequences: false }] });
      const tall = { data: new Float32Array(8 * 65_536), shape: [8, 65_536, 1] };
      for (const pass of [() => wideNormed.predict(tall, { batchSize: 8 }), () => wideNormed.forward({ x: tall, stateful: true })]) {
        const err = await pass().then(
          () => undefined,
          (er: unknown) => er,
        );
        expect((err as RecurError).code, (err as RecurError).message).toBe('ERR_RANGE');
        expect((err as RecurError).message).toContain('workspace');
      }
      expect((await wideNormed.predict({ data: new Float32Array(3), shape: [1, 3, 1] })).shape).toEqual([1, 512]);
      // a long sequence of a small layer-norm model runs: [64, 62 500] steps of two layers of 8
      // units, whose input projection of every step (about 1 GB) was made before the loop once
      const normed = await threaded.createModel({ inputSize: 1, layers: [{ type: 'lstm', hiddenSize: 8, numLayers: 2, layerNorm: true, returnSequences: false }] });
      const long = await normed.predict({ data: new Float32Array(64 * 62_500).fill(0.5), shape: [64, 62_500, 1] }, { batchSize: 64 });
      expect(long.shape).toEqual([64, 8]);
      expect(Array.from(long.data).every(Number.isFinite)).toBe(true);
      // an input of 640 MB fits in wasm memory once, not twice (the batch-major reorder)
      const huge = await model.predict({ data: new Float32Array(160_000 * 1000), shape: [160_000, 1000, 1] }, { batchSize: 160_000 }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect((huge as RecurError).code, (huge as RecurError).message).toBe('ERR_RANGE');
      expect((await model.predict({ data: new Float32Array(3), shape: [1, 3, 1] })).shape).toEqual([1, 512]);
      // an input of 1.07 GB (within the SDK's 2^28 elements) does not fit even once: refused
      // before the glue's copy into wasm memory, whose failed allocation would trap
      const tooBig = { data: new Float32Array(268_000 * 1000), shape: [268_000, 1000, 1] };
      const copy = await model.predict(tooBig, { batchSize: 268_000 }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect((copy as RecurError).code, (copy as RecurError).message).toBe('ERR_RANGE');
      expect((copy as RecurError).message).toContain('cannot be copied into wasm memory');
      expect((await model.predict({ data: new Float32Array(3), shape: [1, 3, 1] })).shape).toEqual([1, 512]);
    } finally {
      await threaded.dispose();
    }
  });

  it('an output, a model to save, copy or load that does not fit in wasm memory is a range error, and the runtime stays usable (threads build)', async () => {
    const threaded = createRecur({ mode: 'worker', wasm: { numThreads: 2 } });
    const rejection = (p: Promise<unknown>): Promise<RecurError> =>
      p.then(
        () => {
          throw new Error('expected a rejection');
        },
        (err: unknown) => err as RecurError,
      );
    try {
      await threaded.init();
      // 80M parameters (and as many gradients) leave no room for the file's 320 MB twice
      const big = await threaded.createModel({ layers: [{ type: 'embedding', vocabSize: 4_000_000, dim: 20 }] });
      const s = await rejection(big.save());
      expect(s.code, s.message).toBe('ERR_RANGE');
      expect(s.message).toContain('saved model');
      // gradCheck works on a copy of the model (saved and loaded), which does not fit either
      const g = await rejection(big.gradCheck({ x: { data: new Uint32Array(2).fill(1), shape: [1, 2] }, samples: 1 }));
      expect(g.code, g.message).toBe('ERR_RANGE');
      expect((await big.predict({ data: new Uint32Array(3).fill(1), shape: [1, 3] })).shape).toEqual([1, 3, 20]);
      await big.dispose();
      // a valid file of a model that does not fit: 320 MB of weights, read, then twice again
      const vocab = 4_000_000;
      const config = JSON.stringify({ input_size: null, layers: [{ type: 'embedding', name: null, vocab_size: vocab, dim: 20 }], seed: 0 });
      const meta = { config, format: 'recur', format_version: '1', rng_states: '[]' };
      const header = new TextEncoder().encode(JSON.stringify({ __metadata__: meta, 'embedding.weight': { data_offsets: [0, vocab * 80], dtype: 'F32', shape: [vocab, 20] } }));
      const file = new Uint8Array(8 + header.length + vocab * 80);
      new DataView(file.buffer).setBigUint64(0, BigInt(header.length), true);
      file.set(header, 8);
      const l = await rejection(threaded.loadModel(file));
      expect(l.code, l.message).toBe('ERR_RANGE');
      expect(l.message).toContain('loaded model');
      // a 600 MB output fits in the 1 GiB memory once, not with its copy for the caller
      const wide = await threaded.createModel({ layers: [{ type: 'embedding', vocabSize: 10, dim: 4096 }] });
      const tokens = { data: new Uint32Array(64 * 572).fill(3), shape: [64, 572] };
      const e = await rejection(wide.predict(tokens, { batchSize: 64 }));
      expect(e.code, e.message).toBe('ERR_RANGE');
      expect((await wide.predict({ data: new Uint32Array(2).fill(3), shape: [1, 2] })).shape).toEqual([1, 2, 4096]);
    } finally {
      await threaded.dispose();
    }
  });

  it('an output too large for a JavaScript array is a range error, and the model stays usable', async () => {
    const model = await recur.createModel({ layers: [{ type: 'embedding', vocabSize: 10, dim: 512 }] });
    // [10000, 1000] token ids (40 MB) give [10000, 1000, 512]: 5.1e9 values, past any typed array
    const tokens = { data: new Uint32Array(10_000 * 1000).fill(3), shape: [10_000, 1000] };
    const e = await model.predict(tokens, { batchSize: 64 }).then(
      () => undefined,
      (err: unknown) => err as RecurError,
    );
    expect(e?.code, e?.message).toBe('ERR_RANGE');
    expect(e?.details).toMatchObject({ values: 5_120_000_000 });
    expect((await model.predict({ data: new Uint32Array(2).fill(1), shape: [1, 2] })).shape).toEqual([1, 2, 512]);
    await model.dispose();
  });

  it('gives typed errors only, and a rejected call changes nothing', async () => {
    const rnd = generator(20261127);
    const pick = <T,>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
    const weird = (): unknown => pick([0, 1, 2, -1, 1.5, NaN, Infinity, 1e9, 2 ** 31, '3', null, undefined, {}, [], true]);
    const seen = new Map<string, number>();
    const unexpected: string[] = [];
    const record = (where: string, e: unknown): string | undefined => {
      if (e instanceof RecurError && (ERROR_CODES as readonly string[]).includes(e.code) && e.code !== 'ERR_INTERNAL') {
        seen.set(e.code, (seen.get(e.code) ?? 0) + 1);
        return e.code;
      }
      unexpected.push(`${where}: ${e instanceof Error ? `${e.name} ${e.message}` : String(e)}`);
      return undefined;
    };
    let models = 0;
    for (let it = 0; it < 150; it++) {
      const inputSize = pick([1, 2, 3, 3, weird()]);
      const layer: Record<string, unknown> = { type: pick(['lstm', 'gru', 'rnn', 'lstm', 'gru', 'nope']), hiddenSize: pick([1, 3, 4, 4, weird()]) };
      if (rnd() < 0.3) layer.bidirectional = pick([true, false, weird()]);
      if (rnd() < 0.2) layer.numLayers = pick([1, 2, weird()]);
      if (rnd() < 0.3) layer.returnSequences = pick([true, false, weird()]);
      if (rnd() < 0.2) layer.layerNorm = pick([true, false, weird()]);
      const layers: unknown[] = [layer];
      if (rnd() < 0.6) layers.push({ type: 'dense', units: pick([1, 2, 2, weird()]) });
      let model: Model;
      try {
        model = await recur.createModel({ inputSize, layers, seed: pick([1, 2, weird()]) } as ModelConfig);
      } catch (e) {
        record(`createModel ${JSON.stringify({ inputSize, layers })}`, e);
        continue;
      }
      models++;
      const B = pick([1, 2, 3]);
      const T = pick([1, 2, 4]);
      const F = pick([model.config.inputSize!, model.config.inputSize!, model.config.inputSize! + 1]);
      const x = { data: Float32Array.from({ length: B * T * F }, () => (rnd() < 0.04 ? NaN : rnd() - 0.5)), shape: [B, T, F] };
      const w = model.output.width;
      const y = model.output.sequence ? { data: new Float32Array(B * T * w).fill(0.5), shape: [B, pick([T, T, T + 1]), w] } : { data: new Float32Array(B * w).fill(0.5), shape: [B, w] };
      const lengths = pick([undefined, undefined, Array.from({ length: B }, () => pick([1, T, 0, T + 1])), [1]]);
      const before = await paramBits(model);
      const calls: [string, () => Promise<unknown>][] = [
        ['predict', () => model.predict(x, { batchSize: pick([1, 2, weird()]) as number, lengths })],
        ['evaluate', () => model.evaluate(x, y, { loss: pick(['mse', 'bce', 'crossEntropy', weird()]) as 'mse', lengths })],
        ['forward', () => model.forward({ x, lengths, training: false })],
        [
          'fit',
          () =>
            model.fit(x, y, {
              epochs: pick([1, 1, weird()]) as number,
              batchSize: pick([1, 2, weird()]) as number,
              loss: pick(['mse', 'mse', 'bce', weird()]) as 'mse',
              optimizer: pick([{ type: 'adam', lr: 0.01 }, { type: 'sgd', lr: weird() }, { type: 'rmsprop', centered: weird() }]) as { type: 'adam' },
              tbptt: pick([undefined, 1, weird()]) as number,
              lengths,
            }),
        ],
      ];
      for (const [name, call] of calls) {
        const changes = name === 'fit';
        try {
          await call();
          if (changes) before.splice(0, before.length, ...(await paramBits(model)));
        } catch (e) {
          const code = record(name, e);
          if (code !== undefined && (INPUT_CODES.has(code) || !changes)) {
            expect(await paramBits(model), `${name} rejected with ${code} changed the parameters (iteration ${it})`).toEqual(before);
          }
        }
      }
      await model.dispose();
    }
    expect(unexpected).toEqual([]);
    // the draws reach both sides: models built and run, and inputs of every kind refused
    expect(models).toBeGreaterThan(20);
    for (const code of ['ERR_TYPE', 'ERR_SHAPE', 'ERR_RANGE', 'ERR_NON_FINITE', 'ERR_UNSUPPORTED']) expect(seen.get(code), code).toBeGreaterThan(0);
  }, 60_000);
});
