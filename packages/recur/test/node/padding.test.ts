// With `lengths`, whatever the padded steps hold has no effect (FORMAT.md: "x holds arbitrary
// values at padded steps"): NaN, ±Infinity and huge values in x or in per-step targets, and
// out-of-range ids, are accepted, and every call gives bit for bit what zeros there give, for
// every input form (batch- and time-major, float32, float64, nested arrays). A bad value at a
// valid step is still an error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecur, NonFiniteError, ValueRangeError, type Model, type ModelConfig, type Recur } from '../../dist/entrypoints/node.js';
import { rejection } from './rejection.js';

const N = 5;
const T = 6;
const F = 2;
const LENGTHS = [6, 2, 4, 1, 5];
const GARBAGE = [NaN, Infinity, -Infinity, 1e300];

const SEQUENCE_MODEL: ModelConfig = {
  inputSize: F,
  layers: [
    { type: 'lstm', hiddenSize: 4, bidirectional: true },
    { type: 'gru', hiddenSize: 3 },
    { type: 'dense', units: 2 },
  ],
  seed: 8,
};

/** Batch-major `[N, T, width]` values with `fill(i)` at padded steps. */
function batchMajor(width: number, fill: (i: number) => number): Float64Array {
  return Float64Array.from({ length: N * T * width }, (_, i) => {
    const [n, t] = [Math.floor(i / (T * width)), Math.floor(i / width) % T];
    return t >= LENGTHS[n]! ? fill(i) : Math.sin(0.7 * i) * 0.5;
  });
}

function toTimeMajor(src: Float64Array, width: number): Float64Array {
  const out = new Float64Array(src.length);
  for (let n = 0; n < N; n++) for (let t = 0; t < T; t++) for (let f = 0; f < width; f++) out[(t * N + n) * width + f] = src[(n * T + t) * width + f]!;
  return out;
}

function nested(src: Float64Array, width: number): number[][][] {
  return Array.from({ length: N }, (_, n) => Array.from({ length: T }, (_, t) => Array.from(src.subarray((n * T + t) * width, (n * T + t + 1) * width))));
}

const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

async function paramBits(model: Model): Promise<number[][]> {
  return Promise.all(model.parameters().map(async (p) => bitsOf((await model.getParam(p.name)).data)));
}

describe('values at padded steps have no effect', () => {
  let recur: Recur;
  beforeAll(async () => {
    recur = createRecur({ mode: 'worker' });
    await recur.init();
  });
  afterAll(async () => {
    await recur.dispose();
  });

  it('predict: every input form with garbage padding gives the outputs of zero padding', async () => {
    const model = await recur.createModel(SEQUENCE_MODEL);
    const zeros = batchMajor(F, () => 0);
    const garbage = batchMajor(F, (i) => GARBAGE[i % 4]!);
    const predictBits = async (x: Parameters<Model['predict']>[0], layout: 'batch-major' | 'time-major') =>
      bitsOf((await model.predict(x, { lengths: LENGTHS, layout, batchSize: 2 })).data);
    const expected = {
      'batch-major': await predictBits({ data: Float32Array.from(zeros), shape: [N, T, F] }, 'batch-major'),
      'time-major': await predictBits({ data: Float32Array.from(toTimeMajor(zeros, F)), shape: [T, N, F] }, 'time-major'),
    };
    const forms: [string, Parameters<Model['predict']>[0], 'batch-major' | 'time-major'][] = [
      ['float32 batch-major', { data: Float32Array.from(garbage), shape: [N, T, F] }, 'batch-major'],
      ['float64 batch-major', { data: garbage, shape: [N, T, F] }, 'batch-major'],
      ['nested batch-major', nested(garbage, F), 'batch-major'],
      ['float32 time-major', { data: Float32Array.from(toTimeMajor(garbage, F)), shape: [T, N, F] }, 'time-major'],
      ['float64 time-major', { data: toTimeMajor(garbage, F), shape: [T, N, F] }, 'time-major'],
    ];
    for (const [name, x, layout] of forms) expect(await predictBits(x, layout), name).toEqual(expected[layout]);
    await model.dispose();
  });

  it('fit, evaluate and forward/backward: garbage in padded x and targets trains bit for bit as zeros', async () => {
    const run = async (fill: (i: number) => number) => {
      const model = await recur.createModel(SEQUENCE_MODEL);
      const x = { data: Float32Array.from(batchMajor(F, fill)), shape: [N, T, F] };
      const y = { data: Float32Array.from(batchMajor(2, (i) => fill(i + 1))), shape: [N, T, 2] };
      const history = await model.fit(x, y, { epochs: 2, batchSize: 2, lengths: LENGTHS, optimizer: { type: 'adam', lr: 0.01 }, shuffle: false });
      const evaluated = await model.evaluate(x, y, { lengths: LENGTHS, metrics: ['mae'] });
      const fwd = await model.forward({ x, lengths: LENGTHS, training: true });
      const back = await model.backward({ dOutput: { data: new Float32Array(N * T * 2).fill(0.5), shape: [N, T, 2] } });
      const result = { loss: history.history.loss, evaluated, out: bitsOf(fwd.output.data), dx: bitsOf(back.x!.data), params: await paramBits(model) };
      await model.dispose();
      return result;
    };
    const zeros = await run(() => 0);
    const garbage = await run((i) => GARBAGE[i % 4]!);
    expect(zeros.loss!.every(Number.isFinite)).toBe(true);
    expect(garbage).toEqual(zeros);
  });

  it('class ids and token ids at padded steps are not checked (e.g. -100, as PyTorch ignore_index)', async () => {
    const model = await recur.createModel({ layers: [{ type: 'embedding', vocabSize: 7, dim: 3 }, { type: 'gru', hiddenSize: 4 }, { type: 'dense', units: 3 }], seed: 2 });
    const ids = (pad: number): number[][] => Array.from({ length: N }, (_, n) => Array.from({ length: T }, (_, t) => (t >= LENGTHS[n]! ? pad : (n + 2 * t) % 7)));
    const classes = (pad: number): number[][] => ids(pad).map((row) => row.map((v) => (v < 0 || v > 6 ? v : v % 3)));
    const fitWith = async (pad: number) => {
      const m = await recur.createModel(model.config);
      const h = await m.fit(ids(pad), classes(pad), { loss: 'crossEntropy', lengths: LENGTHS, epochs: 2, batchSize: 3, shuffle: false });
      const params = await paramBits(m);
      await m.dispose();
      return { loss: h.history.loss, params };
    };
    expect(await fitWith(-100)).toEqual(await fitWith(0));
    // at a valid step the same ids are errors
    const bad = ids(0);
    bad[1]![0] = -100;
    const e = await rejection(model.predict(bad, { lengths: LENGTHS }));
    expect(e).toBeInstanceOf(ValueRangeError);
    await model.dispose();
  });

  it('a non-finite value at a valid step is still an error naming its index', async () => {
    const model = await recur.createModel(SEQUENCE_MODEL);
    for (const data of [Float32Array.from(batchMajor(F, () => NaN)), batchMajor(F, () => NaN)]) {
      data[(2 * T + 3) * F + 1] = Infinity; // sequence 2 (length 4), step 3: valid
      const e = await rejection(model.predict({ data, shape: [N, T, F] }, { lengths: LENGTHS }));
      expect(e).toBeInstanceOf(NonFiniteError);
      expect(e.code).toBe('ERR_NON_FINITE');
      expect(e.message).toBe('x[2][3][1] is Infinity');
    }
    // without lengths every step is valid
    expect(await rejection(model.predict({ data: Float32Array.from(batchMajor(F, () => NaN)), shape: [N, T, F] }))).toBeInstanceOf(NonFiniteError);
    await model.dispose();
  });
});
