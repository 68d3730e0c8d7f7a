// The public model API through the Node entry: fit/abort/evaluate/predict/low level/save/load,
// validation errors, and reproducibility between the worker and in-process modes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortError,
  createRecur,
  FormatError,
  InputTypeError,
  NonFiniteError,
  RecurError,
  ShapeError,
  StateError,
  UnsupportedError,
  ValueRangeError,
  type BatchLogs,
  type EpochLogs,
  type Model,
  type ModelConfig,
  type Recur,
} from '../../dist/entrypoints/node.js';
import { rejection } from './rejection.js';
// @ts-expect-error plain JS module shared with the Deno and Chromium tests
import { FIT_CONFIG, fitData, runFitCase } from '../shared/fit-case.mjs';

/** Sine-wave windows: 20 steps of a noisy-free sine → the next value. */
function sineTask(n: number, steps = 20): { x: { data: Float32Array; shape: number[] }; y: { data: Float32Array; shape: number[] } } {
  const x = new Float32Array(n * steps);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const start = i * 0.21;
    const freq = 0.2 + (i % 5) * 0.05;
    for (let t = 0; t < steps; t++) x[i * steps + t] = Math.sin(start + freq * t);
    y[i] = Math.sin(start + freq * steps);
  }
  return { x: { data: x, shape: [n, steps, 1] }, y: { data: y, shape: [n, 1] } };
}

const LSTM_CONFIG: ModelConfig = {
  inputSize: 1,
  layers: [
    { type: 'lstm', hiddenSize: 16, returnSequences: false },
    { type: 'dense', units: 1 },
  ],
  seed: 11,
};

async function allParams(model: Model): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const p of model.parameters()) out.set(p.name, (await model.getParam(p.name)).data);
  return out;
}

function expectBitwiseEqual(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, va] of a) {
    const vb = b.get(name)!;
    expect(new Uint32Array(va.buffer, va.byteOffset, va.length), name).toEqual(new Uint32Array(vb.buffer, vb.byteOffset, vb.length));
  }
}

describe('model API (worker)', () => {
  let recur: Recur;
  beforeAll(async () => {
    recur = createRecur({ mode: 'worker' });
    expect((await recur.init()).mode).toBe('worker');
  });
  afterAll(async () => {
    await recur.dispose();
  });

  it('createModel fills defaults and lists PyTorch parameter names', async () => {
    const model = await recur.createModel(LSTM_CONFIG);
    expect(model.parameters()).toEqual([
      { name: 'lstm.weight_ih_l0', shape: [64, 1] },
      { name: 'lstm.weight_hh_l0', shape: [64, 16] },
      { name: 'lstm.bias_ih_l0', shape: [64] },
      { name: 'lstm.bias_hh_l0', shape: [64] },
      { name: 'dense.weight', shape: [1, 16] },
      { name: 'dense.bias', shape: [1] },
    ]);
    expect(model.output).toEqual({ sequence: false, width: 1 });
    const w = (await model.getParam('lstm.weight_hh_l0')).data;
    const bound = 1 / Math.sqrt(16);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(model.config.layers[0]).toMatchObject({ type: 'lstm', hiddenSize: 16, numLayers: 1, bidirectional: false, returnSequences: false });
    // The filled-in config builds the same model again.
    const again = await recur.createModel(model.config);
    expect((await again.getParam('dense.weight')).data).toEqual((await model.getParam('dense.weight')).data);
    await again.dispose();
    await model.dispose();
  });

  it('fit reduces the loss on a sine-forecasting task; progress events are throttled; evaluate agrees', async () => {
    const model = await recur.createModel(LSTM_CONFIG);
    const { x, y } = sineTask(256);
    const before = await model.evaluate(x, y);
    const batches: BatchLogs[] = [];
    const epochs: EpochLogs[] = [];
    const history = await model.fit(x, y, {
      epochs: 12,
      batchSize: 32,
      validationSplit: 0.2,
      optimizer: { type: 'adam', lr: 0.01 },
      metrics: ['mae'],
      clip: { norm: 1 },
      onBatchEnd: (b) => void batches.push(b),
      onEpochEnd: (e) => void epochs.push(e),
    });
    expect(epochs.length).toBe(12);
    expect(history.history.loss!.length).toBe(12);
    expect(history.history.valLoss!.length).toBe(12);
    expect(history.history.valMae!.length).toBe(12);
    expect(history.steps).toBe(12 * Math.ceil(205 / 32));
    // Every epoch's last batch is reported; others at most every 50 ms.
    for (let e = 0; e < 12; e++) expect(batches.some((b) => b.epoch === e && b.batch === b.batches - 1)).toBe(true);
    expect(batches.length).toBeLessThanOrEqual(history.steps);
    expect(epochs[0]!.gradNorm.max).toBeGreaterThan(0);
    expect(Object.keys(epochs[0]!.gradNorm.perParam)).toContain('lstm.weight_hh_l0');
    // The last step's per-parameter norms (of the clipped gradients) are what the model now holds.
    expect(epochs.at(-1)!.gradNorm.perParam).toEqual(await model.paramGradNorms());
    const last = history.history.loss!.at(-1)!;
    expect(last).toBeLessThan(history.history.loss![0]! * 0.2);
    const after = await model.evaluate(x, y, { metrics: ['rmse', 'mae'] });
    expect(after.loss).toBeLessThan(before.loss * 0.2);
    expect(after.metrics.rmse).toBeCloseTo(Math.sqrt(after.loss), 4);
    const pred = await model.predict(x, { batchSize: 50 });
    expect(pred.shape).toEqual([256, 1]);
    let se = 0;
    for (let i = 0; i < 256; i++) se += (pred.data[i]! - y.data[i]!) ** 2;
    expect(se / 256).toBeCloseTo(after.loss, 4);
    await model.dispose();
  });

  it('aborting mid-fit rejects with AbortError; weights equal a model trained for the completed steps', async () => {
    const { x, y } = sineTask(64);
    const options = { batchSize: 64, shuffle: true, seed: 5, optimizer: { type: 'adam' as const, lr: 0.01 } };
    const model = await recur.createModel(LSTM_CONFIG);
    const controller = new AbortController();
    const err = await rejection(
      model.fit(x, y, {
        ...options,
        epochs: 100_000,
        signal: controller.signal,
        onEpochEnd: (e) => {
          if (e.epoch === 4) controller.abort(new Error('enough'));
        },
      }),
    );
    expect(err).toBeInstanceOf(AbortError);
    expect(err.name).toBe('AbortError');
    expect(err.code).toBe('ERR_ABORTED');
    const completed = err.details!.completedSteps as number;
    expect(completed).toBeGreaterThanOrEqual(5);
    expect(completed).toBeLessThan(100);
    // One batch per epoch: `completed` steps are `completed` epochs of the same shuffled stream.
    const reference = await recur.createModel(LSTM_CONFIG);
    const h = await reference.fit(x, y, { ...options, epochs: completed });
    expect(h.steps).toBe(completed);
    expectBitwiseEqual(await allParams(model), await allParams(reference));
    // The aborted model still trains.
    const more = await model.fit(x, y, { ...options, epochs: 1 });
    expect(Number.isFinite(more.history.loss![0])).toBe(true);
    await model.dispose();
    await reference.dispose();
  });

  it('an abort with several batches per epoch stops between batches', async () => {
    const { x, y } = sineTask(256);
    const model = await recur.createModel(LSTM_CONFIG);
    const controller = new AbortController();
    const seen: BatchLogs[] = [];
    const call = model.fit(x, y, { epochs: 1000, batchSize: 4, signal: controller.signal, onBatchEnd: (b) => void seen.push(b) });
    setTimeout(() => controller.abort(), 300);
    const err = await rejection(call);
    expect(err).toBeInstanceOf(AbortError);
    const d = err.details as { epoch: number; batch: number; completedSteps: number };
    expect(d.completedSteps).toBe(d.epoch * 64 + d.batch);
    expect(seen.at(-1)!.step).toBeLessThanOrEqual(d.completedSteps);
    await model.dispose();
  });

  it('bad inputs reject with the SDK error class and code, and the model keeps working', async () => {
    const model = await recur.createModel(LSTM_CONFIG);
    const { x, y } = sineTask(8);
    const before = await model.predict(x);
    const cases: [() => Promise<unknown>, new (...a: never[]) => RecurError, string][] = [
      [() => model.fit({ data: new Float32Array(8 * 20 * 2), shape: [8, 20, 2] }, y), ShapeError, 'ERR_SHAPE'],
      [() => model.fit(x, { data: new Float32Array(7), shape: [7, 1] }), ShapeError, 'ERR_SHAPE'],
      [() => model.predict({ data: Float32Array.from(x.data, (v, i) => (i === 17 ? NaN : v)), shape: x.shape }), NonFiniteError, 'ERR_NON_FINITE'],
      [() => model.fit(x, { data: Float32Array.from(y.data, (v, i) => (i === 3 ? Infinity : v)), shape: y.shape }), NonFiniteError, 'ERR_NON_FINITE'],
      [() => model.predict('not a tensor' as never), InputTypeError, 'ERR_TYPE'],
      [() => model.predict([[['a']]] as never), InputTypeError, 'ERR_TYPE'],
      [() => model.fit(x, y, { epochs: 1.5 }), ValueRangeError, 'ERR_RANGE'],
      [() => model.fit(x, y, { lossFunction: 'mse' } as never), UnsupportedError, 'ERR_UNSUPPORTED'],
      [() => model.fit(x, y, { loss: 'hinge' as never }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [() => model.fit(x, y, { lengths: [20, 20, 20, 20, 20, 20, 20, 21] }), ValueRangeError, 'ERR_RANGE'],
      [() => model.setParam('lstm.weight_hh_l0', new Float32Array(3)), ShapeError, 'ERR_SHAPE'],
      [() => model.getParam('nope'), UnsupportedError, 'ERR_UNSUPPORTED'],
      [() => model.forward({ x, h0: { data: new Float32Array(16), shape: [1, 1, 16] } }), ShapeError, 'ERR_SHAPE'],
      [() => model.backward({ dOutput: new Float32Array(8) }), StateError, 'ERR_STATE'],
      [() => model.loadWeights(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), FormatError, 'ERR_FORMAT'],
      [() => recur.loadModel(new Uint8Array(64).fill(7)), FormatError, 'ERR_FORMAT'],
      [() => recur.loadModel('bytes' as never), InputTypeError, 'ERR_TYPE'],
      [() => recur.createModel({ inputSize: 3, layers: [{ type: 'lstm', hiddenSize: 4, activation: 'relu' } as never] }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [() => recur.createModel({ inputSize: 0, layers: [{ type: 'gru', hiddenSize: 4 }] }), ValueRangeError, 'ERR_RANGE'],
    ];
    for (const [p, cls, code] of cases) {
      const e = await rejection(p());
      expect(e, e.message).toBeInstanceOf(cls);
      expect(e.code).toBe(code);
    }
    // Range messages name only the bounds there are.
    const nanLr = await rejection(model.fit(x, y, { optimizer: { type: 'adam', lr: NaN } }));
    expect(nanLr.message).toBe('optimizer.lr must be a finite number, got NaN');
    expect((await rejection(model.fit(x, y, { clip: { value: -1 } }))).message).toBe('clip.value must be a finite number > 0, got -1');
    expect((await rejection(recur.clipGradValue([new Float32Array([3, -4])], -1))).message).toBe('value must be a finite number ≥ 0, got -1');
    // An error raised inside the wasm (not by the SDK's checks) arrives with its code.
    const wasmErr = await rejection(model.fit(x, y, { optimizer: { type: 'sgd', lr: 0.1, nesterov: true } }));
    expect(wasmErr.code).toMatch(/^ERR_(RANGE|UNSUPPORTED)$/);
    const truncated = await model.save();
    const corrupt = await rejection(recur.loadModel(truncated.subarray(0, truncated.length - 10)));
    expect(corrupt).toBeInstanceOf(FormatError);
    // Nothing changed, and everything still works.
    const after = await model.predict(x);
    expect(after.data).toEqual(before.data);
    const h = await model.fit(x, y, { epochs: 2 });
    expect(h.history.loss!.every(Number.isFinite)).toBe(true);
    await model.dispose();
    await expect(model.predict(x)).rejects.toMatchObject({ code: 'ERR_DISPOSED' });
  });

  it('save/load round trip: same predictions, and training continues identically with the optimizer state', async () => {
    const { x, y } = sineTask(32);
    const model = await recur.createModel(LSTM_CONFIG);
    const opts = { epochs: 2, batchSize: 8, optimizer: { type: 'adam' as const, lr: 0.01 } };
    await model.fit(x, y, opts);
    const bytes = await model.save({ includeOptimizer: true });
    expect(bytes).toBeInstanceOf(Uint8Array);
    const loaded = await recur.loadModel(bytes);
    expect(loaded.config).toEqual(model.config);
    expect(loaded.parameters()).toEqual(model.parameters());
    expect((await loaded.predict(x)).data).toEqual((await model.predict(x)).data);
    const again = await recur.loadModel(bytes);
    await model.fit(x, y, { ...opts, epochs: 1 });
    // `again` was loaded with the optimizer's state: fit without `optimizer` continues with it.
    await again.fit(x, y, { epochs: 1, batchSize: 8 });
    expectBitwiseEqual(await allParams(again), await allParams(model));
    // loadWeights: weights only, into an existing model.
    const weights = await model.save();
    const fresh = await recur.createModel(LSTM_CONFIG);
    await fresh.loadWeights(weights);
    expectBitwiseEqual(await allParams(fresh), await allParams(model));
    for (const m of [model, loaded, again, fresh]) await m.dispose();
  });

  it('predictions follow every change of the parameters (the worker keeps packed weights between calls)', async () => {
    const { x, y } = sineTask(6);
    const model = await recur.createModel(LSTM_CONFIG);
    const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
    // One row at a time and the whole batch: the two forms of the step's weights.
    const predictions = async (m: Model): Promise<number[][]> => [bits((await m.predict(x, { batchSize: 1 })).data), bits((await m.predict(x, { batchSize: 6 })).data)];
    const asFresh = async (): Promise<number[][]> => {
      const fresh = await recur.createModel(LSTM_CONFIG);
      await fresh.loadWeights(await model.save());
      const p = await predictions(fresh);
      await fresh.dispose();
      return p;
    };
    const before = await predictions(model);
    const name = model.parameters().find((p) => p.name.includes('weight_hh'))!.name;
    const w = (await model.getParam(name)).data.map((v) => v * 0.5);
    await model.setParam(name, w);
    const afterSet = await predictions(model);
    expect(afterSet).not.toEqual(before);
    expect(afterSet).toEqual(await asFresh());
    await model.fit(x, y, { epochs: 1, batchSize: 3, optimizer: { type: 'adam', lr: 0.05 } });
    const afterFit = await predictions(model);
    expect(afterFit).not.toEqual(afterSet);
    expect(afterFit).toEqual(await asFresh());
    const initial = await recur.createModel(LSTM_CONFIG);
    await model.loadWeights(await initial.save());
    expect(await predictions(model)).toEqual(before);
    await initial.dispose();
    await model.dispose();
  });

  it('forward/backward with initial states and lengths; gradCheck passes; stepGradNorms per step', async () => {
    const model = await recur.createModel({
      inputSize: 3,
      layers: [
        { type: 'lstm', hiddenSize: 5, bidirectional: true, layerNorm: true, name: 'enc' },
        { type: 'gru', hiddenSize: 4, resetAfter: false },
        { type: 'dense', units: 2, activation: 'tanh' },
      ],
      seed: 3,
    });
    const B = 2;
    const T = 4;
    const x = { data: Float32Array.from({ length: B * T * 3 }, (_, i) => Math.sin(i)), shape: [B, T, 3] };
    const h0 = { perLayer: [{ data: new Float32Array(2 * B * 5).fill(0.1), shape: [2, B, 5] }, null] };
    const fwd = await model.forward({ x, h0, lengths: [4, 2], training: true });
    expect(fwd.output.shape).toEqual([B, T, 2]);
    expect(fwd.hN.map((h) => h.shape)).toEqual([[2, B, 5], [1, B, 4]]);
    expect(fwd.cN[0]!.shape).toEqual([2, B, 5]);
    expect(fwd.cN[1]).toBeNull();
    // Padded steps of sequence 1 (t >= 2) give zero output before the dense layer's bias.
    await model.zeroGrad();
    const back = await model.backward({ dOutput: { data: new Float32Array(B * T * 2).fill(1), shape: [B, T, 2] } });
    expect(back.x!.shape).toEqual([B, T, 3]);
    expect(back.x!.data[(1 * T + 3) * 3]).toBe(0); // padded step: no gradient
    expect(back.h0[0]!.shape).toEqual([2, B, 5]);
    expect(Object.keys(back.grads)).toContain('enc.weight_hh_l0_reverse');
    const norms = await model.stepGradNorms();
    expect(norms.map((n) => n.name)).toEqual(['enc.l0', 'enc.l0_reverse', 'gru.l0']);
    expect(norms[0]!.norms.length).toBe(T);
    // One backward per training forward, as in PyTorch: a second is a StateError.
    const again = await rejection(model.backward({ dOutput: { data: new Float32Array(B * T * 2).fill(1), shape: [B, T, 2] } }));
    expect(again, again.message).toBeInstanceOf(StateError);
    expect(again.code).toBe('ERR_STATE');
    const check = await model.gradCheck({ x, lengths: [4, 2], samples: 6 });
    expect(Object.keys(check.params).length).toBe(model.parameters().length);
    expect(check.ok, JSON.stringify(check.params)).toBe(true);
    expect(check.maxRelError).toBeLessThan(2e-2);
    expect(check.params['enc.weight_ih_l0']!.checked).toBe(6);
    await model.dispose();
  });

  it('cell states of a mixed GRU + LSTM stack: c0 for the LSTM only, its gradient matches finite differences', async () => {
    const model = await recur.createModel({
      inputSize: 2,
      layers: [{ type: 'gru', hiddenSize: 3 }, { type: 'lstm', hiddenSize: 4 }],
      seed: 9,
    });
    const B = 2;
    const T = 3;
    const x = { data: Float32Array.from({ length: B * T * 2 }, (_, i) => Math.cos(i * 0.9)), shape: [B, T, 2] };
    const c0data = Float32Array.from({ length: B * 4 }, (_, i) => 0.3 * Math.sin(i + 1));
    const w = Float32Array.from({ length: B * T * 4 }, (_, i) => Math.cos(i * 0.37));
    const loss = async (c: Float32Array): Promise<number> => {
      const out = await model.forward({ x, c0: { perLayer: [null, { data: c, shape: [1, B, 4] }] } });
      return out.output.data.reduce((acc, v, i) => acc + v * w[i]!, 0);
    };
    const fwd = await model.forward({ x, c0: { perLayer: [null, { data: c0data, shape: [1, B, 4] }] }, training: true });
    expect(fwd.cN[0]).toBeNull();
    expect(fwd.cN[1]!.shape).toEqual([1, B, 4]);
    const back = await model.backward({ dOutput: { data: w, shape: [B, T, 4] } });
    expect(back.c0[0]).toBeNull();
    const analytic = back.c0[1]!.data;
    const eps = 1e-2;
    for (let k = 0; k < c0data.length; k++) {
      const up = Float32Array.from(c0data);
      up[k]! += eps;
      const down = Float32Array.from(c0data);
      down[k]! -= eps;
      const numeric = ((await loss(up)) - (await loss(down))) / (2 * eps);
      expect(Math.abs(numeric - analytic[k]!)).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
    }
    // A cell state for the GRU is an error that names the layer, not a silent fallback.
    await expect(model.forward({ x, c0: { perLayer: [{ data: new Float32Array(B * 3), shape: [1, B, 3] }, null] } })).rejects.toMatchObject({
      code: 'ERR_UNSUPPORTED',
    });
    await model.dispose();
  });

  it('predictStep carries states and matches predict on the whole sequence; resetStates starts over', async () => {
    const model = await recur.createModel({ inputSize: 2, layers: [{ type: 'gru', hiddenSize: 6 }, { type: 'dense', units: 3 }], seed: 1 });
    const T = 5;
    const x = Float32Array.from({ length: 2 * T * 2 }, (_, i) => Math.cos(i * 0.7));
    const full = await model.predict({ data: x, shape: [2, T, 2] });
    expect(full.shape).toEqual([2, T, 3]);
    for (let round = 0; round < 2; round++) {
      await model.resetStates();
      for (let t = 0; t < T; t++) {
        const step = new Float32Array(4);
        for (let b = 0; b < 2; b++) step.set(x.subarray((b * T + t) * 2, (b * T + t) * 2 + 2), b * 2);
        const out = await model.predictStep({ data: step, shape: [2, 2] });
        expect(out.shape).toEqual([2, 3]);
        for (let b = 0; b < 2; b++) {
          for (let k = 0; k < 3; k++) expect(out.data[b * 3 + k]).toBeCloseTo(full.data[(b * T + t) * 3 + k]!, 5);
        }
      }
    }
    await model.dispose();
  });

  it('crossEntropy with class ids, embedding input, accuracy metric', async () => {
    // Predict the token at each step of a repeating pattern from the previous token.
    const N = 32;
    const T = 8;
    const tokens = new Int32Array(N * T);
    const labels = new Int32Array(N * T);
    for (let i = 0; i < N; i++) for (let t = 0; t < T; t++) {
      tokens[i * T + t] = (i + t) % 4;
      labels[i * T + t] = (i + t + 1) % 4;
    }
    const model = await recur.createModel({ layers: [{ type: 'embedding', vocabSize: 4, dim: 4 }, { type: 'rnn', hiddenSize: 8 }, { type: 'dense', units: 4 }], seed: 2 });
    const h = await model.fit({ data: tokens, shape: [N, T] } as never, { data: labels, shape: [N, T] } as never, {
      epochs: 30,
      batchSize: 8,
      loss: 'crossEntropy',
      metrics: ['accuracy'],
      optimizer: { type: 'adam', lr: 0.05 },
    });
    expect(h.history.accuracy!.at(-1)).toBe(1);
    const bad = await rejection(model.fit({ data: tokens, shape: [N, T] } as never, { data: labels.map((v) => v + 4), shape: [N, T] } as never, { loss: 'crossEntropy' }));
    expect(bad).toBeInstanceOf(ValueRangeError);
    await model.dispose();
  });

  it('early stopping with restoreBestWeights; bptt options; nonFinite skip', async () => {
    const { x, y } = sineTask(40);
    const model = await recur.createModel(LSTM_CONFIG);
    // A huge learning rate diverges: validation loss stops improving and the best epoch is restored.
    const h = await model.fit(x, y, {
      epochs: 30,
      validationSplit: 0.25,
      optimizer: { type: 'sgd', lr: 5 },
      earlyStopping: { patience: 1, restoreBestWeights: true },
      clip: { nonFinite: 'skip' },
    });
    expect(h.bestEpoch).toBeDefined();
    expect(h.stoppedEpoch).toBe(h.bestEpoch! + 2);
    expect(h.epochs.length).toBeLessThan(30);
    // The restored weights give the best epoch's validation loss.
    const val = await model.evaluate({ data: x.data.slice(30 * 20), shape: [10, 20, 1] }, { data: y.data.slice(30), shape: [10, 1] });
    expect(val.loss).toBeCloseTo(h.history.valLoss![h.bestEpoch!]!, 4);
    const stateful = await model.fit(x, y, { epochs: 1, batchSize: 8, shuffle: false, bptt: { truncate: 5, stateful: true } });
    expect(stateful.steps).toBe(5);
    await expect(model.fit(x, y, { batchSize: 7, bptt: { stateful: true } })).rejects.toBeInstanceOf(UnsupportedError);
    await model.dispose();
  });

  it('a step whose gradients overflow is skipped and reported (nonFinite: skip) or refused, the weights unchanged', async () => {
    const { x, y } = sineTask(8);
    const model = await recur.createModel(LSTM_CONFIG);
    const batches: BatchLogs[] = [];
    const epochs: EpochLogs[] = [];
    const logs = { onBatchEnd: (b: BatchLogs) => batches.push(b), onEpochEnd: (e: EpochLogs) => void epochs.push(e) };
    await model.fit(x, y, { epochs: 1, batchSize: 8, optimizer: { type: 'adam', lr: 0.01 }, ...logs });
    expect(batches[0]!.skipped).toBe(false);
    expect(Number.isFinite(batches[0]!.loss) && batches[0]!.loss > 0).toBe(true);
    expect(Number.isFinite(batches[0]!.gradNorm) && batches[0]!.gradNorm > 0).toBe(true);
    expect(epochs[0]!.skippedBatches).toBe(0);
    // A head of ±1e20 keeps the forward finite, but the gradient reaching the LSTM overflows.
    const head = (await model.getParam('dense.weight')).data.map((v) => Math.sign(v) * 1e20);
    await model.setParam('dense.weight', head);
    const before = await allParams(model);
    await model.fit(x, y, { epochs: 1, batchSize: 8, clip: { nonFinite: 'skip' }, ...logs });
    expect(batches[1]!.skipped).toBe(true);
    expect(Number.isNaN(batches[1]!.gradNorm)).toBe(true);
    expect(batches[1]!.loss).toBeGreaterThan(0);
    expect(epochs[1]!.skippedBatches).toBe(1);
    expect(Number.isNaN(epochs[1]!.gradNorm.mean)).toBe(true);
    expectBitwiseEqual(await allParams(model), before);
    const refused = await rejection(model.fit(x, y, { epochs: 1, batchSize: 8 }));
    expect(refused).toBeInstanceOf(NonFiniteError);
    expect((refused as NonFiniteError).code).toBe('ERR_NON_FINITE');
    expectBitwiseEqual(await allParams(model), before);
    await model.dispose();
  });

  it('standalone clipGradNorm/clipGradValue and createOptimizer', async () => {
    const g = [new Float32Array([3, 4]), { data: new Float32Array([0, 12]), shape: [1, 2] }];
    const r = await recur.clipGradNorm(g, 6.5);
    expect(r.totalNorm).toBeCloseTo(13, 5);
    expect(Array.from(r.grads[0]!.data)).toEqual([expect.closeTo(1.5, 5), expect.closeTo(2, 5)]);
    expect(r.grads[1]!.shape).toEqual([1, 2]);
    const v = await recur.clipGradValue([new Float32Array([-3, 0.5, 9])], 1);
    expect(Array.from(v[0]!.data)).toEqual([-1, 0.5, 1]);
    // no tensors: PyTorch's clip_grad_norm_ returns 0 and clip_grad_value_ does nothing
    expect(await recur.clipGradNorm([], 1)).toEqual({ grads: [], totalNorm: 0 });
    expect(await recur.clipGradValue([], 1)).toEqual([]);
    // but an optimizer over no tensors is an error, as torch.optim's "empty parameter list"
    await expect(recur.createOptimizer({ type: 'sgd', lr: 0.1 }, [])).rejects.toBeInstanceOf(InputTypeError);
    const opt = await recur.createOptimizer({ type: 'sgd', lr: 0.1 }, [new Float32Array([1, 2])]);
    const [p] = await opt.step([new Float32Array([10, -10])]);
    expect(Array.from(p!.data)).toEqual([0, 3]);
    await expect(opt.step([new Float32Array(3)])).rejects.toBeInstanceOf(ShapeError);
    await expect(recur.createOptimizer({ type: 'adam', lr: 0.1, beta: 1 } as never, [new Float32Array(1)])).rejects.toBeInstanceOf(UnsupportedError);
    await opt.dispose();
  });
});

describe('reproducibility', () => {
  it('the same seed and data give bitwise-identical weights after fit in worker and in-process modes', async () => {
    const results = [];
    for (const mode of ['worker', 'inprocess', 'worker'] as const) {
      const recur = createRecur({ mode });
      try {
        expect((await recur.init()).mode).toBe(mode);
        results.push(await runFitCase(recur));
      } finally {
        await recur.dispose();
      }
    }
    expect(results[0].losses.at(-1)).toBeLessThan(results[0].losses[0]);
    expect(results[1].hash).toBe(results[0].hash);
    expect(results[2].hash).toBe(results[0].hash);
    expect(FIT_CONFIG.seed).toBe(7);
    expect(fitData().x.shape).toEqual([48, 10, 2]);
  });
});
