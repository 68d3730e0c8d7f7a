// The `init` option of recurrent and dense layers through the public SDK: camelCase options
// converted for the core, orthogonal recurrent weights per gate block, the LSTM forget-gate bias,
// the default being the same weights as without the option, the config round trip, and the
// errors (unknown kinds and options, bad values) with their codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRecur,
  InputTypeError,
  RecurError,
  UnsupportedError,
  ValueRangeError,
  type ModelConfig,
  type Recur,
} from '../../dist/entrypoints/node.js';
import { rejection } from './rejection.js';

/** Max |AᵀA − g²I| over the columns (or AAᵀ over the rows) of a row-major [rows, cols] block. */
function orthoError(a: Float32Array, rows: number, cols: number, byCols: boolean, gain = 1): number {
  const [n, len] = byCols ? [cols, rows] : [rows, cols];
  const at = (v: number, k: number): number => (byCols ? a[k * cols + v]! : a[v * cols + k]!);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let d = 0;
      for (let k = 0; k < len; k++) d += at(i, k) * at(j, k);
      worst = Math.max(worst, Math.abs(d - (i === j ? gain * gain : 0)));
    }
  }
  return worst;
}

describe.each(['worker', 'inprocess'] as const)('layer init (%s)', (mode) => {
  let recur: Recur;
  beforeAll(async () => {
    recur = createRecur({ mode });
    await recur.init();
  });
  afterAll(async () => {
    await recur.dispose();
  });

  it('orthogonal recurrent weights per gate block, xavier input weights, zero biases, forgetBias', async () => {
    const h = 12;
    const model = await recur.createModel({
      inputSize: 30,
      seed: 3,
      layers: [
        { type: 'lstm', hiddenSize: h, bidirectional: true, init: { weightIh: 'xavierUniform', weightHh: 'orthogonal', bias: 'zeros', forgetBias: 1 } },
        { type: 'dense', units: 2, init: { weight: { kaimingNormal: { mode: 'fanOut', nonlinearity: 'relu' } }, bias: { constant: { value: 0.5 } } } },
      ],
    });
    for (const sfx of ['_l0', '_l0_reverse']) {
      const whh = (await model.getParam(`lstm.weight_hh${sfx}`)).data;
      expect(whh.length).toBe(4 * h * h);
      for (let g = 0; g < 4; g++) {
        expect(orthoError(whh.subarray(g * h * h, (g + 1) * h * h), h, h, true), `gate ${g}`).toBeLessThan(1e-5);
      }
      const wih = (await model.getParam(`lstm.weight_ih${sfx}`)).data;
      const a = Math.sqrt(6 / (30 + h)); // per [H, in] block: fan_out = H
      expect(Math.max(...wih.map(Math.abs))).toBeLessThanOrEqual(a * (1 + 1e-6));
      expect(Math.max(...wih.map(Math.abs))).toBeGreaterThan(0.9 * a);
      const bih = Array.from((await model.getParam(`lstm.bias_ih${sfx}`)).data);
      const bhh = Array.from((await model.getParam(`lstm.bias_hh${sfx}`)).data);
      // Gate order i, f, g, o: the forget block of bias_ih is forgetBias, everything else 0.
      expect(bih).toEqual([...Array(h).fill(0), ...Array(h).fill(1), ...Array(2 * h).fill(0)]);
      expect(bhh).toEqual(Array(4 * h).fill(0));
    }
    expect(Array.from((await model.getParam('dense.bias')).data)).toEqual([0.5, 0.5]);
    // The config comes back camelCase and rebuilds the same weights.
    expect(model.config.layers[0]).toMatchObject({ init: { weightIh: 'xavierUniform', weightHh: 'orthogonal', bias: 'zeros', forgetBias: 1 } });
    expect(model.config.layers[1]).toMatchObject({
      init: { weight: { kaimingNormal: { a: 0, mode: 'fanOut', nonlinearity: 'relu' } }, bias: { constant: { value: 0.5 } } },
    });
    const again = await recur.createModel(model.config);
    for (const p of model.parameters()) {
      expect((await again.getParam(p.name)).data, p.name).toEqual((await model.getParam(p.name)).data);
    }
    // Saved and loaded, the model keeps its init option and weights.
    const loaded = await recur.loadModel(await model.save());
    expect(loaded.config).toEqual(model.config);
    await Promise.all([again.dispose(), loaded.dispose(), model.dispose()]);
  });

  it('snake_case kinds are accepted, and the default is the same model as no init', async () => {
    const base: ModelConfig = { inputSize: 4, seed: 9, layers: [{ type: 'gru', hiddenSize: 6 }, { type: 'dense', units: 3 }] };
    const explicit: ModelConfig = {
      ...base,
      layers: [
        { type: 'gru', hiddenSize: 6, init: { weightIh: 'pytorch_default', weightHh: 'pytorchDefault' } },
        { type: 'dense', units: 3, init: {} },
      ],
    };
    const [a, b] = await Promise.all([recur.createModel(base), recur.createModel(explicit)]);
    for (const p of a.parameters()) expect((await b.getParam(p.name)).data, p.name).toEqual((await a.getParam(p.name)).data);
    expect(await b.save()).toEqual(await a.save());
    expect(b.config.layers[0]).not.toHaveProperty('init');
    const snakeCase = await recur.createModel({
      inputSize: 5,
      layers: [{ type: 'rnn', hiddenSize: 5, init: { weightHh: { orthogonal: { gain: 2 } }, bias: { normal: { mean: 0, std: 0 } } } }],
    });
    const whh = (await snakeCase.getParam('rnn.weight_hh_l0')).data;
    expect(orthoError(whh, 5, 5, true, 2)).toBeLessThan(1e-4);
    expect(Array.from((await snakeCase.getParam('rnn.bias_ih_l0')).data)).toEqual([0, 0, 0, 0, 0]);
    await Promise.all([a.dispose(), b.dispose(), snakeCase.dispose()]);
  });

  it('rejects unknown kinds, unknown options and bad values with the SDK codes', async () => {
    const lstm = (init: unknown): ModelConfig => ({ inputSize: 3, layers: [{ type: 'lstm', hiddenSize: 4, init } as never] });
    const gru = (init: unknown): ModelConfig => ({ inputSize: 3, layers: [{ type: 'gru', hiddenSize: 4, init } as never] });
    const dense = (init: unknown): ModelConfig => ({ inputSize: 3, layers: [{ type: 'dense', units: 2, init } as never] });
    const cases: [ModelConfig, new (...args: never[]) => RecurError, string][] = [
      [lstm({ weightHh: 'glorot' }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [lstm({ weightHh: { he: {} } }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [lstm({ weightHH: 'zeros' }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [dense({ weightIh: 'zeros' }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [lstm({ weightIh: { xavierUniform: { gian: 2 } } }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [lstm({ weightIh: { zeros: {}, normal: {} } }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [lstm({ bias: 'constant' }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [dense({ weight: { kaimingUniform: { mode: 'fanAvg' } } }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [lstm('orthogonal'), InputTypeError, 'ERR_TYPE'],
      [lstm({ weightIh: { normal: { std: -1 } } }), ValueRangeError, 'ERR_RANGE'],
      [lstm({ weightIh: { uniform: { a: 1, b: -1 } } }), ValueRangeError, 'ERR_RANGE'],
      [lstm({ forgetBias: Infinity }), ValueRangeError, 'ERR_RANGE'],
      [lstm({ weightIh: { orthogonal: { gain: 'two' } } }), InputTypeError, 'ERR_TYPE'],
      // Checked by the core (inside the wasm).
      [lstm({ bias: 'xavierUniform' }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [dense({ bias: 'orthogonal' }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [gru({ forgetBias: 1 }), UnsupportedError, 'ERR_UNSUPPORTED'],
      [{ inputSize: 3, layers: [{ type: 'lstm', hiddenSize: 4, bias: false, init: { forgetBias: 1 } }] }, UnsupportedError, 'ERR_UNSUPPORTED'],
      [lstm({ weightIh: { xavierNormal: { gain: 1e39 } } }), ValueRangeError, 'ERR_RANGE'],
    ];
    for (const [config, cls, code] of cases) {
      const e = await rejection(recur.createModel(config));
      expect(e, `${JSON.stringify(config.layers[0])}: ${e.message}`).toBeInstanceOf(cls);
      expect(e.code).toBe(code);
    }
    const e = await rejection(recur.createModel(gru({ forgetBias: 1 })));
    expect(e.message).toContain('forget_bias');
  });
});
