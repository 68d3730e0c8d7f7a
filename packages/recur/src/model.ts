/**
 * The client side of {@link Model} and {@link Optimizer}: validates every input against the
 * model's configuration, converts it once to the time-major float32/uint32 arrays the core
 * wants, sends it to the service (transferred, not copied) and converts results back.
 * The public types are in `model-api.ts`.
 * @module
 */
import { DisposedError, InputTypeError, NonFiniteError, ShapeError, StateError, UnsupportedError, ValueRangeError } from './errors.js';
import type {
  BackwardOptions,
  BackwardResult,
  EvaluateOptions,
  EvaluateResult,
  FitOptions,
  ForwardOptions,
  ForwardResult,
  GradCheckOptions,
  GradCheckResult,
  History,
  Model,
  ModelConfig,
  Optimizer,
  OptimizerConfig,
  ParameterInfo,
  PredictOptions,
  SaveOptions,
  StatesInput,
  StepGradNorms,
} from './model-api.js';
import {
  checkBool,
  checkInt,
  checkMetrics,
  checkNumber,
  checkOptions,
  fromCoreConfig,
  lossToCore,
  modelInfo,
  optimizerToCore,
  type ModelInfo,
} from './model-config.js';
import { scratchF32, scratchU32 } from './scratch.js';
import { swap01, toExactTensor, toSequenceBatchAsGiven, toSequenceBatchWith, toTensor, toTensorWith, type Layout, type Tensor, type TensorLike } from './tensor.js';
import type { ServiceBridge } from './worker/bridge.js';
import type { FitRequest, SeqData, TargetData } from './worker/models.js';
import type { ModelHandleInfo } from './worker/protocol.js';

const INT_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array] as const;

function isIntArray(v: unknown): v is ArrayLike<number> {
  return INT_ARRAYS.some((C) => v instanceof C);
}

/**
 * Like {@link toTensor}, also accepting integer typed arrays (for ids), checking integers in
 * [0, max). `paddingOf(shape)` may name the flat indices that are padded steps: those are not
 * checked and come out as 0.
 */
export function toIdTensor(
  input: TensorLike | ArrayLike<number>,
  name: string,
  rank: number,
  max: number,
  shape?: readonly number[],
  paddingOf?: (shape: readonly number[]) => ((index: number) => boolean) | undefined,
): { data: Uint32Array; shape: number[] } {
  let like: TensorLike;
  if (isIntArray(input)) like = { data: Float64Array.from(input), ...(shape ? { shape } : {}) };
  else if (typeof input === 'object' && input !== null && 'data' in input && isIntArray((input as { data: unknown }).data)) {
    const s = input as { data: ArrayLike<number>; shape?: readonly number[] };
    like = { data: Float64Array.from(s.data), ...(s.shape ? { shape: s.shape } : {}) };
  } else like = input as TensorLike;
  // float64, not float32: an id above 2^24 must not round to a neighbouring (valid) id.
  const t = toExactTensor(like, { name, rank, allowNonFinite: paddingOf !== undefined, ...(shape && !(typeof like === 'object' && 'shape' in like) ? { shape } : {}) });
  // ids at padded steps are not checked and become 0 (a model never reads them)
  const isPadding = paddingOf?.(t.shape);
  const out = new Uint32Array(t.data.length);
  for (let i = 0; i < t.data.length; i++) {
    const v = t.data[i]!;
    if (isPadding?.(i)) continue;
    if (!Number.isFinite(v)) throw new NonFiniteError(`${name}: element ${i} is ${v}`, { details: { name, index: i, value: String(v) } });
    if (!Number.isInteger(v) || v < 0 || v >= max) {
      throw new ValueRangeError(`${name}: element ${i} is ${v}, expected an integer in 0..${max - 1}`, { details: { name, index: i, value: v, max } });
    }
    out[i] = v;
  }
  return { data: out, shape: t.shape };
}

/** `[n, steps]` of a rank-2 (or higher) sequence tensor's shape in `layout`. */
function stepAxes(shape: readonly number[], layout: Layout): [number, number] {
  return layout === 'batch-major' ? [shape[0]!, shape[1]!] : [shape[1]!, shape[0]!];
}

/** Whether flat index `i` of `[n, steps]` (batch-major) or `[steps, n]` ids is a padded step. */
function paddedIds(lengths: Uint32Array, layout: Layout, n: number, steps: number): (i: number) => boolean {
  return layout === 'batch-major' ? (i) => i % steps >= lengths[Math.floor(i / steps)]! : (i) => Math.floor(i / n) >= lengths[i % n]!;
}

function checkLayout(layout: unknown): Layout {
  if (layout === undefined) return 'batch-major';
  if (layout !== 'batch-major' && layout !== 'time-major') {
    throw new InputTypeError(`layout must be 'batch-major' or 'time-major', got ${JSON.stringify(layout)}`, { details: { what: 'layout' } });
  }
  return layout;
}

function checkLengths(lengths: ArrayLike<number> | undefined, n: number, steps: number): Uint32Array | undefined {
  if (lengths === undefined) return undefined;
  if (typeof lengths !== 'object' || lengths === null || typeof (lengths as ArrayLike<number>).length !== 'number') {
    throw new InputTypeError('lengths must be an array of integers', { details: { what: 'lengths' } });
  }
  if (lengths.length !== n) throw new ShapeError(`lengths has ${lengths.length} entries but the batch has ${n} sequences`, { details: { what: 'lengths', expected: n, actual: lengths.length } });
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const v = lengths[i];
    if (typeof v !== 'number') throw new InputTypeError(`lengths[${i}] must be a number`, { details: { what: 'lengths', index: i } });
    if (!Number.isInteger(v) || v < 1 || v > steps) throw new ValueRangeError(`lengths[${i}] = ${v} must be an integer in 1..${steps}`, { details: { what: 'lengths', index: i, value: v } });
    out[i] = v;
  }
  return out;
}

function buffersOf(...arrays: (ArrayBufferView | undefined)[]): Transferable[] {
  const set = new Set<ArrayBuffer>();
  for (const a of arrays) if (a !== undefined && a.buffer.byteLength > 0) set.add(a.buffer as ArrayBuffer);
  return [...set];
}

function seqBuffers(s: SeqData): (ArrayBufferView | undefined)[] {
  return [s.x, s.tokens, s.lengths];
}

function targetBuffers(t: TargetData): (ArrayBufferView | undefined)[] {
  return [t.values, t.classes];
}

/** @internal The model handle. Create with `recur.createModel()` / `recur.loadModel()`. */
export class ModelImpl implements Model {
  readonly config: ModelConfig;
  readonly output: { sequence: boolean; width: number };
  private readonly info: ModelInfo;
  private readonly params: ParameterInfo[];
  private disposed = false;
  private lastForward: { layout: Layout; shape: number[]; steps: number; batch: number; features: number; tokens: boolean } | undefined;

  /** @internal */
  constructor(
    private readonly bridge: ServiceBridge,
    private readonly id: number,
    handle: ModelHandleInfo,
  ) {
    this.config = fromCoreConfig(JSON.parse(handle.configJson) as Record<string, unknown>);
    this.info = modelInfo(this.config);
    this.output = { ...this.info.output };
    this.params = (JSON.parse(handle.paramsJson) as ParameterInfo[]).map((p) => ({ name: p.name, shape: [...p.shape] }));
  }

  parameters(): ParameterInfo[] {
    return this.params.map((p) => ({ name: p.name, shape: [...p.shape] }));
  }

  // ------------------------------------------------------------------------------------
  // Inputs
  // ------------------------------------------------------------------------------------

  private alive(): void {
    if (this.disposed) throw new DisposedError('This model has been disposed');
  }

  /**
   * Validates and converts a sequence batch to time-major; batch-major features stay batch-major
   * (`batchMajor`: the service reorders them in wasm, or in the worker when it batches them).
   */
  private seq(x: TensorLike, layout: Layout, lengths: ArrayLike<number> | undefined, name = 'x'): SeqData {
    let lens: Uint32Array | undefined;
    if (this.info.vocabSize !== null) {
      const t = toIdTensor(x, name, 2, this.info.vocabSize, undefined, lengths === undefined ? undefined : (shape) => {
        const [n, steps] = stepAxes(shape, layout);
        lens = checkLengths(lengths, n, steps);
        return paddedIds(lens!, layout, n, steps);
      });
      const [a, b] = t.shape as [number, number];
      const [n, steps] = stepAxes(t.shape, layout);
      const tokens = layout === 'batch-major' ? swap01(t.data, a, b, 1, scratchU32) : t.data;
      return { tokens, steps, n, features: 1, lengths: lens };
    }
    const lengthsFor = (batch: number, steps: number): Uint32Array | undefined => (lens = checkLengths(lengths, batch, steps));
    // A finite-looking batch-major Float32Array is copied unscanned: the service checks it.
    const s = toSequenceBatchAsGiven(x, { name, layout, features: this.info.inputSize!, lengthsFor, deferFiniteCheck: true }, scratchF32);
    return {
      x: s.data,
      steps: s.steps,
      n: s.batch,
      features: s.features,
      lengths: lens,
      ...(s.batchMajor ? { batchMajor: true } : {}),
      ...(s.unchecked ? { unchecked: name } : {}),
    };
  }

  /** Validates targets against the model's output and the loss; converts to time-major. */
  private target(y: TensorLike, loss: string, layout: Layout, seq: SeqData, name = 'y'): TargetData {
    const { n, steps, lengths } = seq;
    const { sequence, width } = this.info.output;
    // targets at padded steps are not read (the loss skips those rows)
    const padding = sequence ? lengths : undefined;
    if (loss === 'cross_entropy') {
      const t = toIdTensor(y, name, sequence ? 2 : 1, width, undefined, padding && ((shape) => {
        const [tn, tsteps] = stepAxes(shape, layout);
        return tn === n && tsteps === steps ? paddedIds(padding, layout, n, steps) : undefined;
      }));
      const want = sequence ? (layout === 'batch-major' ? [n, steps] : [steps, n]) : [n];
      if (t.shape.some((d, i) => d !== want[i])) {
        throw new ShapeError(`${name} (class ids) has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`, { details: { name, shape: t.shape, expected: want } });
      }
      const classes = sequence && layout === 'batch-major' ? swap01(t.data, n, steps, 1, scratchU32) : t.data;
      return { classes, width: 1, sequence };
    }
    if (sequence) {
      const lengthsFor = (batch: number, ySteps: number): Uint32Array | undefined => (batch === n && ySteps === steps ? padding : undefined);
      const s = toSequenceBatchWith(y, { name, layout, features: width, lengthsFor }, scratchF32);
      if (s.batch !== n || s.steps !== steps) {
        throw new ShapeError(`${name} has ${s.batch} sequences of ${s.steps} steps, x has ${n} of ${steps}`, { details: { name, expected: [n, steps, width], actual: [s.batch, s.steps, s.features] } });
      }
      return { values: s.data, width, sequence };
    }
    const t = toTensorWith(y, { name, rank: 2 }, scratchF32);
    if (t.shape[0] !== n || t.shape[1] !== width) {
      throw new ShapeError(`${name} has shape [${t.shape.join(', ')}], expected [${n}, ${width}] (the model outputs one row per sequence)`, { details: { name, shape: t.shape, expected: [n, width] } });
    }
    return { values: t.data, width, sequence };
  }

  /** Concatenated states of every recurrent layer for batch `batch`. */
  private states(input: StatesInput | undefined, batch: number, what: string, cell: boolean): Float32Array {
    if (input === undefined) return new Float32Array(0);
    const layers = this.info.recurrent;
    let perLayer: (TensorLike | null)[];
    if (typeof input === 'object' && input !== null && !Array.isArray(input) && 'perLayer' in input) {
      if (!Array.isArray(input.perLayer) || input.perLayer.length !== layers.length) {
        throw new ShapeError(`${what}.perLayer must have one entry per recurrent layer (${layers.length})`, { details: { what, expected: layers.length } });
      }
      perLayer = input.perLayer;
    } else {
      if (layers.length !== 1) throw new ShapeError(`${what}: this model has ${layers.length} recurrent layers: give { perLayer: [...] }`, { details: { what, layers: layers.length } });
      perLayer = [input as TensorLike];
    }
    // Cell states are concatenated over the LSTM layers only (the others have none).
    const sizes = layers.map((l) => (cell && l.type !== 'lstm' ? 0 : l.stateRows * batch * l.hiddenSize));
    const out = new Float32Array(sizes.reduce((a, b) => a + b, 0));
    let at = 0;
    layers.forEach((l, i) => {
      const v = perLayer[i];
      if (v !== null && v !== undefined) {
        if (cell && l.type !== 'lstm') throw new UnsupportedError(`${what}: recurrent layer ${i} is a ${l.type}, which has no cell state`, { details: { what, layer: i } });
        const want = [l.stateRows, batch, l.hiddenSize];
        const t = toTensor(v, { name: `${what}[${i}]`, rank: 3 });
        if (t.shape.some((d, k) => d !== want[k])) {
          throw new ShapeError(`${what}[${i}] has shape [${t.shape.join(', ')}], expected [${want.join(', ')}] ([layers·directions, batch, hidden])`, { details: { what, layer: i, shape: t.shape, expected: want } });
        }
        out.set(t.data, at);
      }
      at += sizes[i]!;
    });
    return out;
  }

  private call<T>(fn: Parameters<ServiceBridge['call']>[0], signal?: AbortSignal): Promise<T> {
    return this.bridge.call(fn, { signal }) as Promise<T>;
  }

  /**
   * {@link call} for the compute calls (fit, evaluate, predict, forward, predictStep): the worker's
   * compute threads are woken from this thread right after the request is posted (pool-wake.ts).
   */
  private computeCall<T>(fn: Parameters<ServiceBridge['call']>[0], signal?: AbortSignal): Promise<T> {
    return this.call<T>((s, ctx) => {
      const reply = fn(s, ctx);
      this.bridge.wakePool();
      return reply;
    }, signal);
  }

  private paramInfo(name: unknown): ParameterInfo {
    if (typeof name !== 'string') throw new InputTypeError('a parameter name must be a string', { details: { what: 'name' } });
    const p = this.params.find((q) => q.name === name);
    if (p === undefined) throw new UnsupportedError(`no parameter named '${name}' (known: ${this.params.map((q) => q.name).join(', ')})`, { details: { name } });
    return p;
  }

  // ------------------------------------------------------------------------------------
  // Training and inference
  // ------------------------------------------------------------------------------------

  async fit(x: TensorLike, y: TensorLike, options: FitOptions = {}): Promise<History> {
    this.alive();
    const o = checkOptions(options, [
      'epochs', 'batchSize', 'shuffle', 'seed', 'validationSplit', 'validationData', 'optimizer', 'loss', 'metrics', 'clip', 'bptt',
      'onBatchEnd', 'onEpochEnd', 'progressIntervalMs', 'signal', 'earlyStopping', 'layout', 'lengths',
    ], 'fit options') as FitOptions;
    const layout = checkLayout(o.layout);
    const loss = lossToCore(o.loss ?? 'mse');
    const metrics = checkMetrics(o.metrics);
    this.checkMetricsForLoss(metrics, loss);
    const epochs = o.epochs === undefined ? 1 : checkInt(o.epochs, 'epochs', 0, 1e7);
    const batchSize = o.batchSize === undefined ? 32 : checkInt(o.batchSize, 'batchSize', 1);
    const clip = checkOptions(o.clip, ['value', 'norm', 'nonFinite'], 'clip') as NonNullable<FitOptions['clip']>;
    const bptt = checkOptions(o.bptt, ['truncate', 'stateful'], 'bptt') as NonNullable<FitOptions['bptt']>;
    const stateful = bptt.stateful === undefined ? false : checkBool(bptt.stateful, 'bptt.stateful');
    const shuffle = o.shuffle === undefined ? !stateful : checkBool(o.shuffle, 'shuffle');
    if (stateful && shuffle) throw new UnsupportedError('bptt.stateful carries states from one batch to the next: it needs shuffle: false', { details: { what: 'shuffle' } });
    const nonFinite = clip.nonFinite ?? 'error';
    if (nonFinite !== 'error' && nonFinite !== 'skip') throw new UnsupportedError(`clip.nonFinite must be 'error' or 'skip', got ${JSON.stringify(nonFinite)}`, { details: { what: 'clip.nonFinite' } });
    const trainOptions: FitRequest['trainOptions'] = { loss, non_finite: nonFinite, stateful };
    if (clip.value !== undefined) trainOptions.clip_value = checkNumber(clip.value, 'clip.value', Number.MIN_VALUE);
    if (clip.norm !== undefined) trainOptions.clip_norm = checkNumber(clip.norm, 'clip.norm', Number.MIN_VALUE);
    if (bptt.truncate !== undefined) trainOptions.tbptt = checkInt(bptt.truncate, 'bptt.truncate', 1);
    const optimizerJson = o.optimizer === undefined ? undefined : optimizerToCore(o.optimizer);
    const seed = o.seed === undefined ? (this.config.seed ?? 0) : checkInt(o.seed, 'seed', 0, 2 ** 32 - 1);
    const validationSplit = o.validationSplit === undefined ? 0 : checkNumber(o.validationSplit, 'validationSplit', 0, 1);
    if (validationSplit >= 1) throw new ValueRangeError('validationSplit must be < 1', { details: { what: 'validationSplit' } });
    if (validationSplit > 0 && o.validationData !== undefined) throw new UnsupportedError('give validationSplit or validationData, not both', { details: { what: 'validationData' } });
    const progressIntervalMs = o.progressIntervalMs === undefined ? 50 : checkNumber(o.progressIntervalMs, 'progressIntervalMs', 0);
    for (const k of ['onBatchEnd', 'onEpochEnd'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'function') throw new InputTypeError(`${k} must be a function`, { details: { what: k } });
    }
    let earlyStopping: FitRequest['earlyStopping'];
    if (o.earlyStopping !== undefined) {
      const es = checkOptions(o.earlyStopping, ['patience', 'minDelta', 'restoreBestWeights', 'monitor'], 'earlyStopping') as NonNullable<FitOptions['earlyStopping']>;
      const hasVal = validationSplit > 0 || o.validationData !== undefined;
      const monitor = es.monitor ?? (hasVal ? 'valLoss' : 'loss');
      if (monitor !== 'loss' && monitor !== 'valLoss') throw new UnsupportedError(`earlyStopping.monitor must be 'loss' or 'valLoss'`, { details: { what: 'earlyStopping.monitor' } });
      if (monitor === 'valLoss' && !hasVal) throw new UnsupportedError("earlyStopping.monitor 'valLoss' needs validation data", { details: { what: 'earlyStopping.monitor' } });
      earlyStopping = {
        patience: es.patience === undefined ? 0 : checkInt(es.patience, 'earlyStopping.patience', 0),
        minDelta: es.minDelta === undefined ? 0 : checkNumber(es.minDelta, 'earlyStopping.minDelta', 0),
        restoreBestWeights: es.restoreBestWeights === undefined ? false : checkBool(es.restoreBestWeights, 'earlyStopping.restoreBestWeights'),
        monitor,
      };
    }
    const seq = this.seq(x, layout, o.lengths);
    const target = this.target(y, loss, layout, seq);
    let validation: FitRequest['validation'];
    if (o.validationData !== undefined) {
      if (!Array.isArray(o.validationData) || o.validationData.length < 2 || o.validationData.length > 3) {
        throw new InputTypeError('validationData must be [x, y] or [x, y, lengths]', { details: { what: 'validationData' } });
      }
      const vs = this.seq(o.validationData[0], layout, o.validationData[2], 'validationData[0]');
      validation = { seq: vs, target: this.target(o.validationData[1], loss, layout, vs, 'validationData[1]') };
    }
    if (stateful) {
      const nTrain = seq.n - Math.floor(seq.n * validationSplit);
      if (nTrain % batchSize !== 0) {
        throw new UnsupportedError(`bptt.stateful needs equal batches: ${nTrain} training sequences are not a multiple of batchSize ${batchSize}`, { details: { what: 'batchSize' } });
      }
    }
    const req: FitRequest = {
      train: { seq, target },
      validation,
      validationSplit,
      epochs,
      batchSize,
      shuffle,
      seed,
      optimizerJson,
      trainOptions,
      metrics,
      earlyStopping,
      progressIntervalMs,
    };
    const transfers = buffersOf(...seqBuffers(seq), ...targetBuffers(target), ...(validation ? [...seqBuffers(validation.seq), ...targetBuffers(validation.target)] : []));
    const { onBatchEnd, onEpochEnd } = o;
    return this.computeCall<History>(
      (s, ctx) =>
        s.modelFit(
          ctx.callId,
          this.id,
          ctx.lend(req, transfers),
          onBatchEnd === undefined ? undefined : ctx.proxy(onBatchEnd),
          onEpochEnd === undefined ? undefined : ctx.proxy(onEpochEnd),
        ),
      o.signal,
    );
  }

  private checkMetricsForLoss(metrics: string[], loss: string): void {
    for (const m of metrics) {
      if (m === 'accuracy' && loss === 'mse') throw new UnsupportedError("metric 'accuracy' needs loss 'crossEntropy' or 'bce'", { details: { what: 'metrics' } });
      if (m !== 'accuracy' && loss === 'cross_entropy') throw new UnsupportedError(`metric '${m}' needs real-valued targets (loss 'mse' or 'bce')`, { details: { what: 'metrics' } });
    }
  }

  async evaluate(x: TensorLike, y: TensorLike, options: EvaluateOptions = {}): Promise<EvaluateResult> {
    this.alive();
    const o = checkOptions(options, ['loss', 'batchSize', 'metrics', 'signal', 'layout', 'lengths'], 'evaluate options') as EvaluateOptions;
    const layout = checkLayout(o.layout);
    const loss = lossToCore(o.loss ?? 'mse');
    const metrics = checkMetrics(o.metrics);
    this.checkMetricsForLoss(metrics, loss);
    const batchSize = o.batchSize === undefined ? 32 : checkInt(o.batchSize, 'batchSize', 1);
    const seq = this.seq(x, layout, o.lengths);
    const target = this.target(y, loss, layout, seq);
    return this.computeCall(
      (s, ctx) =>
        s.modelEvaluate(ctx.callId, this.id, ctx.lend(seq, buffersOf(...seqBuffers(seq), ...targetBuffers(target))), target, loss, metrics, batchSize),
      o.signal,
    );
  }

  async predict(x: TensorLike, options: PredictOptions = {}): Promise<Tensor> {
    this.alive();
    const o = checkOptions(options, ['batchSize', 'signal', 'layout', 'lengths'], 'predict options') as PredictOptions;
    const layout = checkLayout(o.layout);
    const batchSize = o.batchSize === undefined ? 32 : checkInt(o.batchSize, 'batchSize', 1);
    const seq = this.seq(x, layout, o.lengths);
    // the worker returns the output in `layout` (it reorders a batch-major one, not this thread)
    const r = await this.computeCall<{ output: Float32Array; shape: number[] }>(
      (s, ctx) => s.modelPredict(ctx.callId, this.id, ctx.lend(seq, buffersOf(...seqBuffers(seq))), batchSize, layout === 'batch-major'),
      o.signal,
    );
    return { data: r.output, shape: r.shape };
  }

  async predictStep(xStep: TensorLike): Promise<Tensor> {
    this.alive();
    let seq: SeqData;
    if (this.info.vocabSize !== null) {
      const t = toIdTensor(xStep, 'xStep', 1, this.info.vocabSize);
      seq = { tokens: t.data, steps: 1, n: t.shape[0]!, features: 1 };
    } else {
      const t = toTensor(xStep, { name: 'xStep', rank: 2 });
      if (t.shape[1] !== this.info.inputSize) {
        throw new ShapeError(`xStep has shape [${t.shape.join(', ')}], expected [batch, ${this.info.inputSize}]`, { details: { name: 'xStep', shape: t.shape, features: this.info.inputSize } });
      }
      seq = { x: t.data, steps: 1, n: t.shape[0]!, features: t.shape[1]! };
    }
    const r = await this.computeCall<{ output: Float32Array; shape: number[] }>((s, ctx) =>
      s.modelForward(this.id, ctx.transfer(seq, buffersOf(...seqBuffers(seq))), new Float32Array(0), new Float32Array(0), false, true, false),
    );
    this.lastForward = undefined;
    return { data: r.output, shape: [seq.n, this.info.output.width] };
  }

  async resetStates(): Promise<void> {
    this.alive();
    await this.call((s) => s.modelOp(this.id, 'resetStates'));
  }

  // ------------------------------------------------------------------------------------
  // Low level
  // ------------------------------------------------------------------------------------

  async getParam(name: string): Promise<Tensor> {
    this.alive();
    const p = this.paramInfo(name);
    const data = await this.call<Float32Array>((s) => s.modelOp(this.id, 'getParam', name));
    return { data, shape: [...p.shape] };
  }

  async setParam(name: string, data: TensorLike): Promise<void> {
    this.alive();
    const p = this.paramInfo(name);
    const t = toTensor(data, { name });
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n || (t.shape.length > 1 && t.shape.some((d, i) => d !== p.shape[i]))) {
      throw new ShapeError(`${name} has shape [${p.shape.join(', ')}], got [${t.shape.join(', ')}]`, { details: { name, expected: p.shape, actual: t.shape } });
    }
    await this.call((s, ctx) => s.modelOp(this.id, 'setParam', name, ctx.transfer(t.data, [t.data.buffer])));
  }

  async getGrad(name: string): Promise<Tensor> {
    this.alive();
    const p = this.paramInfo(name);
    const data = await this.call<Float32Array>((s) => s.modelOp(this.id, 'getGrad', name));
    return { data, shape: [...p.shape] };
  }

  async zeroGrad(): Promise<void> {
    this.alive();
    await this.call((s) => s.modelOp(this.id, 'zeroGrad'));
  }

  async forward(options: ForwardOptions): Promise<ForwardResult> {
    this.alive();
    const o = checkOptions(options, ['x', 'h0', 'c0', 'lengths', 'layout', 'training', 'stateful'], 'forward options') as ForwardOptions;
    if (o.x === undefined) throw new InputTypeError('forward needs { x }', { details: { what: 'x' } });
    const layout = checkLayout(o.layout);
    const training = o.training === undefined ? false : checkBool(o.training, 'training');
    const stateful = o.stateful === undefined ? false : checkBool(o.stateful, 'stateful');
    const seq = this.seq(o.x, layout, o.lengths);
    const h0 = this.states(o.h0, seq.n, 'h0', false);
    const c0 = this.states(o.c0, seq.n, 'c0', true);
    return this.runForward(seq, h0, c0, training, stateful, layout);
  }

  private async runForward(seq: SeqData, h0: Float32Array, c0: Float32Array, training: boolean, stateful: boolean, layout: Layout): Promise<ForwardResult> {
    const steps = seq.steps;
    const batch = seq.n;
    const features = seq.features;
    const tokens = seq.tokens !== undefined;
    const r = await this.computeCall<{ output: Float32Array; shape: number[]; hN: Float32Array[]; cN: Float32Array[] }>((s, ctx) =>
      s.modelForward(this.id, ctx.lend(seq, buffersOf(...seqBuffers(seq))), ctx.transfer(h0, buffersOf(h0)), ctx.transfer(c0, buffersOf(c0)), training, stateful, layout === 'batch-major'),
    );
    const output = { data: r.output, shape: r.shape };
    this.lastForward = training ? { layout, shape: output.shape, steps, batch, features, tokens } : undefined;
    return {
      output,
      hN: r.hN.map((h, i) => ({ data: h, shape: [this.info.recurrent[i]!.stateRows, batch, this.info.recurrent[i]!.hiddenSize] })),
      cN: r.cN.map((c, i) => (c.length === 0 ? null : { data: c, shape: [this.info.recurrent[i]!.stateRows, batch, this.info.recurrent[i]!.hiddenSize] })),
    };
  }

  async backward(options: BackwardOptions): Promise<BackwardResult> {
    this.alive();
    const o = checkOptions(options, ['dOutput', 'dHn', 'dCn', 'tbptt'], 'backward options') as BackwardOptions;
    const last = this.lastForward;
    if (last === undefined) {
      throw new StateError('backward needs a forward({ training: true }) first, one per backward (as in PyTorch)', { details: { what: 'backward' } });
    }
    if (o.dOutput === undefined) throw new InputTypeError('backward needs { dOutput }', { details: { what: 'dOutput' } });
    const d = toTensor(o.dOutput, { name: 'dOutput', shape: isShapeless(o.dOutput) ? last.shape : undefined });
    if (d.shape.length !== last.shape.length || d.shape.some((v, i) => v !== last.shape[i])) {
      throw new ShapeError(`dOutput has shape [${d.shape.join(', ')}], the last output was [${last.shape.join(', ')}]`, { details: { what: 'dOutput', shape: d.shape, expected: last.shape } });
    }
    const tbptt = o.tbptt === undefined || o.tbptt === null ? 0 : checkInt(o.tbptt, 'tbptt', 1);
    const dHn = this.states(o.dHn, last.batch, 'dHn', false);
    const dCn = this.states(o.dCn, last.batch, 'dCn', true);
    const r = await this.call<{ grads: [string, Float32Array][]; x: Float32Array; h0: Float32Array; c0: Float32Array }>((s, ctx) =>
      s.modelBackward(this.id, ctx.transfer(d.data, buffersOf(d.data)), ctx.transfer(dHn, buffersOf(dHn)), ctx.transfer(dCn, buffersOf(dCn)), tbptt, last.layout === 'batch-major'),
    );
    // Backward used up what the forward kept (the core refuses a second backward too).
    this.lastForward = undefined;
    const grads: Record<string, Tensor> = {};
    for (const [name, g] of r.grads) grads[name] = { data: g, shape: [...this.paramInfo(name).shape] };
    let x: Tensor | null = null;
    if (!last.tokens) {
      x = { data: r.x, shape: last.layout === 'batch-major' ? [last.batch, last.steps, last.features] : [last.steps, last.batch, last.features] };
    }
    const h0: Tensor[] = [];
    const c0: (Tensor | null)[] = [];
    let atH = 0;
    let atC = 0;
    for (const l of this.info.recurrent) {
      const size = l.stateRows * last.batch * l.hiddenSize;
      const shape = [l.stateRows, last.batch, l.hiddenSize];
      h0.push({ data: r.h0.slice(atH, atH + size), shape });
      atH += size;
      if (l.type === 'lstm') {
        c0.push({ data: r.c0.slice(atC, atC + size), shape });
        atC += size;
      } else c0.push(null);
    }
    return { grads, x, h0, c0 };
  }

  async clipGradNorm(maxNorm: number): Promise<number> {
    this.alive();
    const v = checkNumber(maxNorm, 'maxNorm', Number.MIN_VALUE);
    return this.call<number>((s) => s.modelOp(this.id, 'clipGradNorm', undefined, v));
  }

  async clipGradValue(value: number): Promise<void> {
    this.alive();
    const v = checkNumber(value, 'value', Number.MIN_VALUE);
    await this.call((s) => s.modelOp(this.id, 'clipGradValue', undefined, v));
  }

  async setOptimizer(config: OptimizerConfig): Promise<void> {
    this.alive();
    const json = optimizerToCore(config);
    await this.call((s) => s.modelOp(this.id, 'setOptimizer', undefined, json));
  }

  async setLearningRate(lr: number): Promise<void> {
    this.alive();
    const v = checkNumber(lr, 'lr', 0);
    await this.call((s) => s.modelOp(this.id, 'setLearningRate', undefined, v));
  }

  async optimizerStep(): Promise<void> {
    this.alive();
    await this.call((s) => s.modelOp(this.id, 'optimizerStep'));
  }

  async stepGradNorms(): Promise<StepGradNorms[]> {
    this.alive();
    const json = await this.call<string>((s) => s.modelOp(this.id, 'stepGradNorms'));
    return (JSON.parse(json) as { name: string; norms: (number | null)[] }[]).map((e) => ({ name: e.name, norms: e.norms.map((v) => v ?? NaN) }));
  }

  async paramGradNorms(): Promise<Record<string, number>> {
    this.alive();
    return this.call<Record<string, number>>((s) => s.modelOp(this.id, 'paramGradNorms'));
  }

  async gradCheck(options: GradCheckOptions): Promise<GradCheckResult> {
    this.alive();
    const o = checkOptions(options, ['x', 'eps', 'samples', 'params', 'tolerance', 'seed', 'layout', 'lengths'], 'gradCheck options') as GradCheckOptions;
    if (o.x === undefined) throw new InputTypeError('gradCheck needs { x }', { details: { what: 'x' } });
    if (this.info.hasDropout) throw new UnsupportedError('gradCheck needs a deterministic training forward: this model has dropout > 0', { details: { what: 'dropout' } });
    const seq = this.seq(o.x, checkLayout(o.layout), o.lengths);
    const params = o.params === undefined ? undefined : o.params.map((n) => this.paramInfo(n).name);
    const opts = {
      eps: o.eps === undefined ? 1e-2 : checkNumber(o.eps, 'eps', Number.MIN_VALUE, 1),
      samples: o.samples === undefined ? 16 : o.samples === Infinity ? 2 ** 31 - 1 : checkInt(o.samples, 'samples', 1),
      params,
      tolerance: o.tolerance === undefined ? 2e-2 : checkNumber(o.tolerance, 'tolerance', 0),
      seed: o.seed === undefined ? 1 : checkInt(o.seed, 'seed', 0, 2 ** 32 - 1),
    };
    return this.call((s, ctx) => s.modelGradCheck(this.id, ctx.lend(seq, buffersOf(...seqBuffers(seq))), opts));
  }

  async save(options: SaveOptions = {}): Promise<Uint8Array> {
    this.alive();
    const o = checkOptions(options, ['includeOptimizer'], 'save options') as SaveOptions;
    const include = o.includeOptimizer === undefined ? false : checkBool(o.includeOptimizer, 'includeOptimizer');
    return this.call<Uint8Array>((s) => s.modelOp(this.id, 'save', undefined, include));
  }

  async loadWeights(bytes: Uint8Array): Promise<void> {
    this.alive();
    const copy = checkBytes(bytes);
    await this.call((s, ctx) => s.modelOp(this.id, 'loadWeights', undefined, ctx.transfer(copy, [copy.buffer])));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.bridge.isDisposed) return;
    await this.bridge.call((s) => s.modelDispose(this.id)).catch(() => undefined);
  }
}

function isShapeless(v: TensorLike): boolean {
  return v instanceof Float32Array || v instanceof Float64Array || (typeof v === 'object' && v !== null && 'data' in v && (v as { shape?: unknown }).shape === undefined && !Array.isArray((v as { data: unknown }).data));
}

/** Checks saved bytes and copies them (the copy is transferred; the caller's array is untouched). */
export function checkBytes(bytes: unknown): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new InputTypeError('expected the saved bytes as a Uint8Array', { details: { what: 'bytes' } });
  return bytes.slice();
}

/** @internal A standalone optimizer handle. */
export class OptimizerImpl implements Optimizer {
  private disposed = false;

  /** @internal */
  constructor(
    private readonly bridge: ServiceBridge,
    private readonly id: number,
    private readonly shapes: number[][],
  ) {}

  async step(grads: TensorLike[]): Promise<Tensor[]> {
    if (this.disposed) throw new DisposedError('This optimizer has been disposed');
    const flat = flattenTensors(grads, 'grads', this.shapes);
    const values = await this.bridge.call((s, ctx) => s.optimizerStep(this.id, ctx.transfer(flat.data, [flat.data.buffer])));
    return splitTensors(values, this.shapes);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.bridge.isDisposed) return;
    await this.bridge.call((s) => s.optimizerDispose(this.id)).catch(() => undefined);
  }
}

/** Validates a list of tensors (against `shapes` when given; an empty list only with `allowEmpty`) and concatenates them. */
export function flattenTensors(list: TensorLike[], name: string, shapes?: number[][], allowEmpty = false): { data: Float32Array; shapes: number[][] } {
  if (!Array.isArray(list) || (list.length === 0 && !allowEmpty)) {
    throw new InputTypeError(`${name} must be a${allowEmpty ? 'n' : ' non-empty'} array of tensors`, { details: { what: name } });
  }
  if (shapes !== undefined && list.length !== shapes.length) {
    throw new ShapeError(`${name} has ${list.length} tensors, expected ${shapes.length}`, { details: { what: name, expected: shapes.length, actual: list.length } });
  }
  const tensors = list.map((t, i) => toTensor(t, { name: `${name}[${i}]` }));
  if (shapes !== undefined) {
    tensors.forEach((t, i) => {
      const want = shapes[i]!;
      const n = want.reduce((a, b) => a * b, 1);
      if (t.data.length !== n || (t.shape.length > 1 && t.shape.some((d, k) => d !== want[k]))) {
        throw new ShapeError(`${name}[${i}] has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`, { details: { what: name, index: i, expected: want, actual: t.shape } });
      }
    });
  }
  const data = new Float32Array(tensors.reduce((a, t) => a + t.data.length, 0));
  let at = 0;
  for (const t of tensors) {
    data.set(t.data, at);
    at += t.data.length;
  }
  return { data, shapes: shapes ?? tensors.map((t) => t.shape) };
}

/** Splits concatenated values into tensors of `shapes`. */
export function splitTensors(flat: Float32Array, shapes: number[][]): Tensor[] {
  let at = 0;
  return shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = { data: flat.slice(at, at + n), shape: [...shape] };
    at += n;
    return t;
  });
}
