/**
 * Conversion between the public camelCase {@link ModelConfig} and the core's snake_case JSON,
 * with validation of every field before anything reaches the worker, and what the client needs
 * to know about a model's shapes.
 * @module
 */
import { InputTypeError, UnsupportedError, ValueRangeError } from './errors.js';
import type { Activation, LayerConfig, LossName, MetricName, ModelConfig, OptimizerConfig } from './model-api.js';

/** What the client knows about a model's shapes (derived from the config). */
export interface ModelInfo {
  /** Features per step, or `null` for token-id inputs. */
  inputSize: number | null;
  /** Vocabulary size of the embedding (token inputs). */
  vocabSize: number | null;
  /** The recurrent layers in order. */
  recurrent: { type: 'rnn' | 'lstm' | 'gru'; stateRows: number; hiddenSize: number }[];
  /** The output. */
  output: { sequence: boolean; width: number };
  /** True when any dropout is active in training. */
  hasDropout: boolean;
}

type Json = Record<string, unknown>;

const RECURRENT_KEYS = ['type', 'hiddenSize', 'numLayers', 'bias', 'bidirectional', 'dropout', 'returnSequences', 'layerNorm', 'name', 'init'];
const LAYER_KEYS: Record<LayerConfig['type'], string[]> = {
  rnn: [...RECURRENT_KEYS, 'activation'],
  lstm: [...RECURRENT_KEYS, 'peephole'],
  gru: [...RECURRENT_KEYS, 'resetAfter'],
  batchNorm: ['type', 'eps', 'momentum', 'affine', 'name'],
  dropout: ['type', 'p'],
  dense: ['type', 'units', 'activation', 'bias', 'name', 'init'],
  embedding: ['type', 'vocabSize', 'dim', 'name'],
};

/** camelCase → snake_case (`hiddenSize` → `hidden_size`). */
export function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** snake_case → camelCase. */
export function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function checkObject(v: unknown, what: string): asserts v is Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new InputTypeError(`${what} must be an object`, { details: { what } });
  }
}

function checkKeys(o: Json, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(o)) {
    if (o[k] === undefined) continue;
    if (!allowed.includes(k)) {
      throw new UnsupportedError(`${what}: unknown option '${k}' (known: ${allowed.join(', ')})`, { details: { what, option: k } });
    }
  }
}

/** Checks an integer option within [min, max]. */
export function checkInt(v: unknown, what: string, min: number, max = 2 ** 31 - 1): number {
  if (typeof v !== 'number') throw new InputTypeError(`${what} must be a number, got ${typeof v}`, { details: { what } });
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ValueRangeError(`${what} must be an integer in ${min}..${max}, got ${v}`, { details: { what, value: v, min, max } });
  }
  return v;
}

/** Checks a finite number option within [min, max]. */
export function checkNumber(v: unknown, what: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number') throw new InputTypeError(`${what} must be a number, got ${typeof v}`, { details: { what } });
  if (!Number.isFinite(v) || v < min || v > max) {
    // An open side is not written out: "≥ 0", "> 0" (for min = Number.MIN_VALUE), or just "a
    // finite number" (not "in [-Infinity, Infinity]").
    const lower = min === Number.MIN_VALUE ? ' > 0' : ` ≥ ${min}`;
    const range = min === -Infinity ? (max === Infinity ? '' : ` ≤ ${max}`) : max === Infinity ? lower : ` in [${min}, ${max}]`;
    throw new ValueRangeError(`${what} must be a finite number${range}, got ${v}`, { details: { what, value: v, min, max } });
  }
  return v;
}

/** Checks a boolean option. */
export function checkBool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new InputTypeError(`${what} must be a boolean, got ${typeof v}`, { details: { what } });
  return v;
}

function checkName(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new InputTypeError(`${what} must be a string`, { details: { what } });
  return v;
}

function activationToCore(a: unknown, what: string): Json {
  if (typeof a === 'string') {
    if (!['linear', 'tanh', 'relu', 'sigmoid'].includes(a)) {
      throw new UnsupportedError(`${what}: unknown activation '${a}' (linear, tanh, relu, sigmoid, leaky_relu, elu)`, { details: { what, activation: a } });
    }
    return { type: a };
  }
  checkObject(a, what);
  const t = a.type;
  if (t === 'leaky_relu' || t === 'leakyRelu') {
    checkKeys(a, ['type', 'slope'], what);
    return { type: 'leaky_relu', slope: a.slope === undefined ? 0.01 : checkNumber(a.slope, `${what}.slope`) };
  }
  if (t === 'elu') {
    checkKeys(a, ['type', 'alpha'], what);
    return { type: 'elu', alpha: a.alpha === undefined ? 1 : checkNumber(a.alpha, `${what}.alpha`) };
  }
  if (typeof t === 'string' && ['linear', 'tanh', 'relu', 'sigmoid'].includes(t)) {
    checkKeys(a, ['type'], what);
    return { type: t };
  }
  throw new UnsupportedError(`${what}: unknown activation type ${JSON.stringify(t)}`, { details: { what } });
}

function activationFromCore(a: Json): Activation {
  if (a.type === 'leaky_relu') return { type: 'leaky_relu', slope: a.slope as number };
  if (a.type === 'elu') return { type: 'elu', alpha: a.alpha as number };
  return a.type as 'linear' | 'tanh' | 'relu' | 'sigmoid';
}

/** Initialization kinds (snake_case, as the core names them) that a bare name may give. */
const INIT_NAMES = ['pytorch_default', 'xavier_uniform', 'xavier_normal', 'kaiming_uniform', 'kaiming_normal', 'orthogonal', 'zeros', 'uniform', 'normal'];
/** Parameters of each initialization kind (camelCase = snake_case here). */
const INIT_PARAMS: Record<string, string[]> = {
  pytorch_default: [],
  zeros: [],
  xavier_uniform: ['gain'],
  xavier_normal: ['gain'],
  orthogonal: ['gain'],
  kaiming_uniform: ['a', 'mode', 'nonlinearity'],
  kaiming_normal: ['a', 'mode', 'nonlinearity'],
  constant: ['value'],
  uniform: ['a', 'b'],
  normal: ['mean', 'std'],
};
const KAIMING_NONLINEARITIES = ['linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'];

/** One parameter initialization (`'xavierUniform'`, `{ normal: { std: 0.1 } }`, ...) → the core's form. */
function paramInitToCore(v: unknown, what: string): unknown {
  const known = `${INIT_NAMES.map(camel).join(', ')}, or { constant: { value } }`;
  if (typeof v === 'string') {
    const kind = snake(v);
    if (kind === 'constant') {
      throw new UnsupportedError(`${what}: 'constant' needs its value: { constant: { value: ... } }`, { details: { what, init: v } });
    }
    if (!INIT_NAMES.includes(kind)) {
      throw new UnsupportedError(`${what}: unknown initialization '${v}' (${known})`, { details: { what, init: v } });
    }
    return kind;
  }
  checkObject(v, what);
  const keys = Object.keys(v).filter((k) => v[k] !== undefined);
  if (keys.length !== 1) {
    throw new UnsupportedError(`${what}: an initialization object has exactly one key, the kind (${known})`, { details: { what } });
  }
  const key = keys[0]!;
  const kind = snake(key);
  const allowed = INIT_PARAMS[kind];
  if (allowed === undefined) {
    throw new UnsupportedError(`${what}: unknown initialization '${key}' (${known})`, { details: { what, init: key } });
  }
  const w = `${what}.${key}`;
  const params = v[key];
  checkObject(params, w);
  checkKeys(params, allowed, w);
  const core: Json = {};
  for (const p of allowed) {
    const pv = params[p];
    if (pv === undefined) {
      if (p === 'value') throw new InputTypeError(`${w}.value must be a number, got undefined`, { details: { what: `${w}.value` } });
      continue;
    }
    if (p === 'mode') {
      const mode = typeof pv === 'string' ? snake(pv) : pv;
      if (mode !== 'fan_in' && mode !== 'fan_out') {
        throw new UnsupportedError(`${w}.mode must be 'fanIn' or 'fanOut', got ${JSON.stringify(pv)}`, { details: { what: `${w}.mode` } });
      }
      core.mode = mode;
    } else if (p === 'nonlinearity') {
      const nl = typeof pv === 'string' ? snake(pv) : pv;
      if (typeof nl !== 'string' || !KAIMING_NONLINEARITIES.includes(nl)) {
        throw new UnsupportedError(`${w}.nonlinearity: unknown ${JSON.stringify(pv)} (${KAIMING_NONLINEARITIES.map(camel).join(', ')})`, { details: { what: `${w}.nonlinearity` } });
      }
      core.nonlinearity = nl;
    } else {
      core[p] = checkNumber(pv, `${w}.${p}`, p === 'std' ? 0 : -Infinity);
    }
  }
  if (kind === 'uniform' && typeof core.a === 'number' && typeof core.b === 'number' && core.a > core.b) {
    throw new ValueRangeError(`${w}: a must be <= b, got a = ${core.a}, b = ${core.b}`, { details: { what: w, a: core.a, b: core.b } });
  }
  return { [kind]: core };
}

/** A layer's `init` option → the core's form (recurrent: weightIh, weightHh, bias, forgetBias; dense: weight, bias). */
function initToCore(v: unknown, what: string, dense: boolean): Json {
  checkObject(v, what);
  const allowed = dense ? ['weight', 'bias'] : ['weightIh', 'weightHh', 'bias', 'forgetBias'];
  checkKeys(v, allowed, what);
  const core: Json = {};
  for (const k of allowed) {
    if (v[k] === undefined) continue;
    core[snake(k)] = k === 'forgetBias' ? checkNumber(v[k], `${what}.${k}`) : paramInitToCore(v[k], `${what}.${k}`);
  }
  return core;
}

/** The core's `init` option → the public form (camelCase keys and kind names). */
function initFromCore(core: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(core)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'string') out[camel(k)] = camel(v);
    else if (typeof v === 'object') {
      const [[kind, params]] = Object.entries(v as Json) as [[string, Json]];
      const p: Json = {};
      for (const [pk, pv] of Object.entries(params)) p[pk] = typeof pv === 'string' ? camel(pv) : pv;
      out[camel(k)] = { [camel(kind)]: p };
    } else out[camel(k)] = v;
  }
  return out;
}

/** Validates a public config and converts it to the core's JSON object. */
export function toCoreConfig(config: ModelConfig): Json {
  checkObject(config, 'model config');
  checkKeys(config as unknown as Json, ['inputSize', 'layers', 'seed'], 'model config');
  if (!Array.isArray(config.layers) || config.layers.length === 0) {
    throw new InputTypeError('model config: layers must be a non-empty array', { details: { what: 'layers' } });
  }
  const out: Json = {};
  if (config.inputSize !== undefined) out.input_size = checkInt(config.inputSize, 'inputSize', 1);
  if (config.seed !== undefined) out.seed = checkInt(config.seed, 'seed', 0, Number.MAX_SAFE_INTEGER);
  out.layers = config.layers.map((layer, i) => {
    const what = `layers[${i}]`;
    checkObject(layer, what);
    const type = (layer as Json).type as LayerConfig['type'];
    const allowed = LAYER_KEYS[type];
    if (allowed === undefined) {
      throw new UnsupportedError(`${what}: unknown layer type ${JSON.stringify(type)} (${Object.keys(LAYER_KEYS).join(', ')})`, { details: { what } });
    }
    checkKeys(layer as unknown as Json, allowed, what);
    const l = layer as unknown as Json;
    const core: Json = { type: type === 'batchNorm' ? 'batch_norm' : type };
    for (const k of allowed) {
      if (k === 'type' || l[k] === undefined) continue;
      const v = l[k];
      const w = `${what}.${k}`;
      switch (k) {
        case 'hiddenSize':
        case 'numLayers':
        case 'units':
        case 'vocabSize':
        case 'dim':
          core[snake(k)] = checkInt(v, w, 1);
          break;
        case 'dropout':
        case 'p':
          core[snake(k)] = checkNumber(v, w, 0, 1);
          break;
        case 'eps':
        case 'momentum':
          core[k] = checkNumber(v, w, 0);
          break;
        case 'name':
          core.name = checkName(v, w);
          break;
        case 'activation':
          core.activation = activationToCore(v, w);
          break;
        case 'init':
          core.init = initToCore(v, w, type === 'dense');
          break;
        default:
          core[snake(k)] = checkBool(v, w);
      }
    }
    return core;
  });
  return out;
}

/** Converts the core's JSON config (as `configJson()` gives it) back to the public form. */
export function fromCoreConfig(core: Json): ModelConfig {
  const layers = (core.layers as Json[]).map((l) => {
    const out: Json = {};
    for (const [k, v] of Object.entries(l)) {
      if (v === null || v === undefined) continue;
      if (k === 'type') out.type = v === 'batch_norm' ? 'batchNorm' : v;
      else if (k === 'activation') out.activation = activationFromCore(v as Json);
      else if (k === 'init') out.init = initFromCore(v as Json);
      else out[camel(k)] = v;
    }
    // Keep only the options of this layer type (the core fills every field of every stack).
    const allowed = LAYER_KEYS[out.type as LayerConfig['type']] ?? Object.keys(out);
    for (const k of Object.keys(out)) if (!allowed.includes(k)) delete out[k];
    return out as unknown as LayerConfig;
  });
  const config: ModelConfig = { layers };
  if (typeof core.input_size === 'number') config.inputSize = core.input_size;
  if (typeof core.seed === 'number') config.seed = core.seed;
  return config;
}

/** Derives what the client needs from a (core-filled) config. */
export function modelInfo(config: ModelConfig): ModelInfo {
  let width = config.inputSize ?? 0;
  let sequence = true;
  let vocabSize: number | null = null;
  let hasDropout = false;
  const recurrent: ModelInfo['recurrent'] = [];
  for (const layer of config.layers) {
    switch (layer.type) {
      case 'embedding':
        vocabSize = layer.vocabSize;
        width = layer.dim;
        break;
      case 'rnn':
      case 'lstm':
      case 'gru': {
        const dirs = layer.bidirectional ? 2 : 1;
        recurrent.push({ type: layer.type, stateRows: (layer.numLayers ?? 1) * dirs, hiddenSize: layer.hiddenSize });
        width = layer.hiddenSize * dirs;
        sequence = layer.returnSequences ?? true;
        if ((layer.dropout ?? 0) > 0 && (layer.numLayers ?? 1) > 1) hasDropout = true;
        break;
      }
      case 'dense':
        width = layer.units;
        break;
      case 'dropout':
        if (layer.p > 0) hasDropout = true;
        break;
      default:
        break;
    }
  }
  return { inputSize: config.inputSize ?? null, vocabSize, recurrent, output: { sequence, width }, hasDropout };
}

const OPTIMIZER_KEYS: Record<string, string[]> = {
  sgd: ['type', 'lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'],
  adam: ['type', 'lr', 'betas', 'eps', 'weightDecay', 'amsgrad'],
  adamw: ['type', 'lr', 'betas', 'eps', 'weightDecay', 'amsgrad'],
  rmsprop: ['type', 'lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered'],
};

/** Validates an optimizer config and returns the core's JSON string. */
export function optimizerToCore(config: OptimizerConfig): string {
  checkObject(config, 'optimizer');
  const o = config as unknown as Json;
  const allowed = OPTIMIZER_KEYS[o.type as string];
  if (allowed === undefined) {
    throw new UnsupportedError(`optimizer: unknown type ${JSON.stringify(o.type)} (sgd, adam, adamw, rmsprop)`, { details: { what: 'optimizer' } });
  }
  checkKeys(o, allowed, `optimizer (${String(o.type)})`);
  const core: Json = { type: o.type };
  for (const k of allowed) {
    if (k === 'type' || o[k] === undefined) continue;
    const v = o[k];
    if (k === 'nesterov' || k === 'amsgrad' || k === 'centered') core[snake(k)] = checkBool(v, `optimizer.${k}`);
    else if (k === 'betas') {
      if (!Array.isArray(v) || v.length !== 2) throw new InputTypeError('optimizer.betas must be [beta1, beta2]', { details: { what: 'betas' } });
      core.betas = [checkNumber(v[0], 'optimizer.betas[0]'), checkNumber(v[1], 'optimizer.betas[1]')];
    } else core[snake(k)] = checkNumber(v, `optimizer.${k}`);
  }
  return JSON.stringify(core);
}

/** The core's name of a loss. */
export function lossToCore(loss: unknown): 'mse' | 'cross_entropy' | 'bce' {
  if (loss === 'mse' || loss === 'bce') return loss;
  if (loss === 'crossEntropy' || loss === 'cross_entropy') return 'cross_entropy';
  throw new UnsupportedError(`loss must be 'mse', 'crossEntropy' or 'bce', got ${JSON.stringify(loss)}`, { details: { what: 'loss' } });
}

/** Validates a metrics list. */
export function checkMetrics(metrics: unknown): MetricName[] {
  if (metrics === undefined) return [];
  if (!Array.isArray(metrics)) throw new InputTypeError('metrics must be an array', { details: { what: 'metrics' } });
  for (const m of metrics) {
    if (m !== 'accuracy' && m !== 'mae' && m !== 'rmse') {
      throw new UnsupportedError(`unknown metric ${JSON.stringify(m)} (accuracy, mae, rmse)`, { details: { what: 'metrics', metric: String(m) } });
    }
  }
  return metrics as MetricName[];
}

/** Checks the keys of an options object (unknown options are errors, never ignored). */
export function checkOptions(o: unknown, allowed: readonly string[], what: string): unknown {
  if (o === undefined) return {};
  checkObject(o, what);
  checkKeys(o, allowed, what);
  return o;
}

/** Re-exported for the implementation. */
export type { LossName };
