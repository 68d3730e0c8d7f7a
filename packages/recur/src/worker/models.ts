/**
 * The model side of the service: wasm `Model`/`Optimizer` handles by id, and the loops that run
 * next to them (fit, predict, evaluate, gradient check), so that a whole training run is one
 * call from the client, with no round trip per step.
 *
 * Sequence data here is time-major (`[T, N, F]`), as the core wants it, except batch-major
 * features as the caller gave them (`batchMajor`): they stay batch-major, and each batch goes to
 * the bindings so (they reorder it in wasm). A batch of consecutive sequences is a view of the
 * caller's array, any other gathers whole sequences ({@link gatherSeq}); evaluate reorders each
 * batch, and the gradient check its data, to time-major ({@link timeMajorSeq}).
 * @module
 */
import { AbortError, StateError, ValueRangeError } from '../errors.js';
import type { WasmApi } from '../loader/wasm.js';
import type { BatchLogs, EpochLogs, GradCheckResult, History, MetricName, ParamGradCheck } from '../model-api.js';
import { checkDeferred, swap01, timeMajorCopy } from '../tensor.js';
import { yieldToEventLoop } from './chunks.js';
import type { ProgressCallback } from './protocol.js';

type WasmModel = InstanceType<WasmApi['Model']>;
type WasmOptimizer = InstanceType<WasmApi['Optimizer']>;

/** A batch of sequences, time-major (unless `batchMajor`). */
export interface SeqData {
  /** Features `[T, N, F]`, or `[N, T, F]` when `batchMajor` (absent for token inputs). */
  x?: Float32Array | undefined;
  /** True when `x` is batch-major `[N, T, F]`. */
  batchMajor?: boolean | undefined;
  /** Token ids `[T, N]` (embedding models). */
  tokens?: Uint32Array | undefined;
  /** T. */
  steps: number;
  /** N. */
  n: number;
  /** F (1 for tokens). */
  features: number;
  /** Valid steps per sequence `[N]`. */
  lengths?: Uint32Array | undefined;
  /**
   * Set when the calling thread did not check that `x` (batch-major) is finite: the name to give
   * in the error. The service checks it ({@link checkSeq}) before the data can change anything.
   */
  unchecked?: string | undefined;
}

/**
 * Checks the values the calling thread left unchecked (`seq.unchecked`): throws the
 * `NonFiniteError` the calling thread would have thrown. A pass over the data, made here (the
 * worker) instead of on the calling thread.
 */
export function checkSeq(seq: SeqData): void {
  if (seq.unchecked !== undefined && seq.x !== undefined) checkDeferred(seq.x, seq.n, seq.steps, seq.features, seq.unchecked);
}

/** Targets: values `[T, N, W]`/`[N, W]` or class ids `[T, N]`/`[N]`. */
export interface TargetData {
  /** Real targets (mse, bce). */
  values?: Float32Array | undefined;
  /** Class ids (crossEntropy). */
  classes?: Uint32Array | undefined;
  /** W (1 for classes). */
  width: number;
  /** True for per-step targets. */
  sequence: boolean;
}

/** What the service needs to run `fit`. */
export interface FitRequest {
  /** Training data. */
  train: { seq: SeqData; target: TargetData };
  /** Validation data, if given separately. */
  validation?: { seq: SeqData; target: TargetData } | undefined;
  /** Fraction of the training samples (from the end) to hold out. */
  validationSplit: number;
  /** Epochs. */
  epochs: number;
  /** Batch size. */
  batchSize: number;
  /** Shuffle every epoch. */
  shuffle: boolean;
  /** Shuffle seed. */
  seed: number;
  /** The optimizer config as core JSON; `undefined`: keep the installed one (default Adam 1e-3 if none). */
  optimizerJson: string | undefined;
  /** The core's TrainOptions. */
  trainOptions: { loss: string; clip_value?: number; clip_norm?: number; non_finite: 'error' | 'skip'; tbptt?: number; stateful: boolean };
  /** Metrics. */
  metrics: MetricName[];
  /** Early stopping. */
  earlyStopping?: { patience: number; minDelta: number; restoreBestWeights: boolean; monitor: 'loss' | 'valLoss' } | undefined;
  /** Milliseconds between batch events. */
  progressIntervalMs: number;
}

/** The output of a forward pass, time-major. */
export interface ForwardReply {
  /** The output values. */
  output: Float32Array;
  /** `[T, B, W]` or `[B, W]`. */
  shape: number[];
  /** Final hidden states per recurrent layer. */
  hN: Float32Array[];
  /** Final cell states per recurrent layer (empty for RNN/GRU). */
  cN: Float32Array[];
}

/** What backward gives. */
export interface BackwardReply {
  /** Parameter gradients in PyTorch order. */
  grads: [string, Float32Array][];
  /** ∂L/∂x time-major (empty for tokens). */
  x: Float32Array;
  /** ∂L/∂h0 of every recurrent layer, concatenated. */
  h0: Float32Array;
  /** ∂L/∂c0 of every recurrent layer, concatenated. */
  c0: Float32Array;
}

/** A model with what the loops keep beside it. */
interface Entry {
  model: WasmModel;
  /** The optimizer config last installed (fit keeps its state while the config is the same). */
  optimizerJson: string | undefined;
  /** Recurrent layers (for final states). */
  recurrentLayers: number;
  /** Parameter names in the core's order (of the per-parameter gradient norms of a step). */
  paramNames: string[];
  /** `[T, B, F]` of the last training forward's input (for backward's batch-major gradients). */
  lastInput?: [number, number, number];
}

const EMPTY_F32 = new Float32Array(0);

/**
 * A new `Float32Array` of `n` values for a result (an output, a gradient) whose size follows from
 * the input and the model, or a {@link ValueRangeError} when JavaScript cannot allocate one that
 * large (beyond the engine's typed-array length, or out of memory), instead of the engine's bare
 * `RangeError`.
 */
function resultArray(n: number): Float32Array {
  try {
    return new Float32Array(n);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new ValueRangeError(`a result of ${n} values cannot be allocated here (${e.message}): pass fewer sequences per call`, { details: { values: n } });
  }
}

/**
 * A time-major sequence output `[T, B, W]` as `[B, T, W]` when `batchMajor` (reordered here, in
 * the worker, so the calling thread only receives it); anything else as it is.
 */
function inLayout(output: Float32Array, shape: number[], batchMajor: boolean): { output: Float32Array; shape: number[] } {
  if (!batchMajor || shape.length !== 3) return { output, shape };
  const [t, b, w] = shape as [number, number, number];
  return { output: swap01(output, t, b, w, resultArray), shape: [b, t, w] };
}

const DEFAULT_OPTIMIZER = '{"type":"adam","lr":0.001}';

/** The optimizer config saved in a model's safetensors metadata, if any. */
function savedOptimizer(bytes: Uint8Array): string | undefined {
  try {
    const len = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as { __metadata__?: { optimizer?: unknown } };
    const opt = header.__metadata__?.optimizer;
    return typeof opt === 'string' ? opt : undefined;
  } catch {
    return undefined;
  }
}
const EMPTY_U32 = new Uint32Array(0);

/** A small deterministic PRNG (mulberry32): the same stream in every runtime. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** True when `idx` is `0, 1, …, n − 1`: gathering it would copy the data unchanged. */
export function isIdentity(idx: ArrayLike<number>, n: number): boolean {
  if (idx.length !== n) return false;
  for (let i = 0; i < n; i++) if (idx[i] !== i) return false;
  return true;
}

/**
 * Copies rows `idx` of `[rowsT, n, w]` time-major data into `[rowsT, idx.length, w]`. Short rows
 * are copied element by element (a `subarray` per row would cost more than the copy).
 */
function gatherRows<A extends Float32Array | Uint32Array>(src: A, out: A, rowsT: number, n: number, w: number, idx: ArrayLike<number>): A {
  const b = idx.length;
  for (let t = 0; t < rowsT; t++) {
    for (let j = 0; j < b; j++) {
      const s = (t * n + idx[j]!) * w;
      const d = (t * b + j) * w;
      if (w >= 64) out.set(src.subarray(s, s + w), d);
      else for (let k = 0; k < w; k++) out[d + k] = src[s + k]!;
    }
  }
  return out;
}

/** `seq` time-major: a reordered copy of batch-major features, else `seq` itself. */
export function timeMajorSeq(seq: SeqData): SeqData {
  if (!seq.batchMajor || seq.x === undefined) return seq;
  return { x: timeMajorCopy(seq.x, seq.n, seq.steps, seq.features), steps: seq.steps, n: seq.n, features: seq.features, lengths: seq.lengths };
}

/**
 * Gathers sequences `idx` (`seq` itself when `idx` takes every sequence in order). Batch-major
 * features stay batch-major: each sequence is one `[T, F]` block, so consecutive sequences are a
 * view and others a copy of whole blocks (no transpose of all the data for every batch).
 */
export function gatherSeq(seq: SeqData, idx: ArrayLike<number>): SeqData {
  if (isIdentity(idx, seq.n)) return seq;
  const b = idx.length;
  const { steps, n, features } = seq;
  const out: SeqData = { steps, n: b, features };
  if (seq.x !== undefined) {
    if (seq.batchMajor) {
      out.x = gatherBlocks(seq.x, steps * features, idx);
      out.batchMajor = true;
    } else {
      out.x = gatherRows(seq.x, new Float32Array(steps * b * features), steps, n, features, idx);
    }
  }
  if (seq.tokens !== undefined) out.tokens = gatherRows(seq.tokens, new Uint32Array(steps * b), steps, n, 1, idx);
  if (seq.lengths !== undefined) out.lengths = Uint32Array.from(idx, (i) => seq.lengths![i]!);
  return out;
}

/** Blocks `idx` of `block` values each: a view when they are consecutive, else a copy. */
function gatherBlocks(x: Float32Array, block: number, idx: ArrayLike<number>): Float32Array {
  const b = idx.length;
  const first = idx[0] ?? 0;
  let consecutive = true;
  for (let j = 1; j < b && consecutive; j++) consecutive = idx[j] === first + j;
  if (consecutive) return x.subarray(first * block, (first + b) * block);
  const out = new Float32Array(b * block);
  for (let j = 0; j < b; j++) out.set(x.subarray(idx[j]! * block, (idx[j]! + 1) * block), j * block);
  return out;
}

/** Gathers targets `idx` (`target` itself when `idx` takes every sequence in order). */
export function gatherTarget(target: TargetData, steps: number, n: number, idx: ArrayLike<number>): TargetData {
  if (isIdentity(idx, n)) return target;
  const b = idx.length;
  const w = target.width;
  const rowsT = target.sequence ? steps : 1;
  return {
    width: w,
    sequence: target.sequence,
    values: target.values === undefined ? undefined : gatherRows(target.values, new Float32Array(rowsT * b * w), rowsT, n, w, idx),
    classes: target.classes === undefined ? undefined : gatherRows(target.classes, new Uint32Array(rowsT * b * w), rowsT, n, w, idx),
  };
}

/** Counted rows of a batch (for weighting means): Σ lengths for per-step targets, else N. */
function countedRows(seq: SeqData, sequence: boolean): number {
  if (!sequence) return seq.n;
  if (seq.lengths === undefined) return seq.n * seq.steps;
  let s = 0;
  for (const l of seq.lengths) s += l;
  return s;
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i < b; i++) out.push(i);
  return out;
}

function now(): number {
  return typeof performance === 'object' ? performance.now() : Date.now();
}

/** The model and optimizer handles of one service. */
export class ModelStore {
  private readonly models = new Map<number, Entry>();
  private readonly optimizers = new Map<number, WasmOptimizer>();
  private nextId = 1;

  /** @param api - the loaded wasm bindings. */
  constructor(private readonly api: () => Promise<WasmApi>) {}

  private add(model: WasmModel, optimizerJson?: string): { id: number; configJson: string; paramsJson: string } {
    const id = this.nextId++;
    const config = JSON.parse(model.configJson()) as { layers: { type: string }[] };
    const recurrentLayers = config.layers.filter((l) => l.type === 'rnn' || l.type === 'lstm' || l.type === 'gru').length;
    const paramsJson = model.paramsJson();
    const paramNames = (JSON.parse(paramsJson) as { name: string }[]).map((p) => p.name);
    this.models.set(id, { model, optimizerJson, recurrentLayers, paramNames });
    return { id, configJson: model.configJson(), paramsJson };
  }

  /**
   * Every parameter's gradient norm by name, as its gradients are now (non-finite norms as NaN):
   * `model.paramGradNorms()` and the `perParam` of an epoch's logs.
   */
  paramGradNorms(id: number): Record<string, number> {
    const e = this.entry(id);
    const norms = e.model.paramGradNorms();
    const out: Record<string, number> = {};
    e.paramNames.forEach((name, i) => {
      const v = norms[i]!;
      out[name] = Number.isFinite(v) ? v : NaN;
    });
    return out;
  }

  /** The entry of model `id`. */
  entry(id: number): Entry {
    const e = this.models.get(id);
    if (e === undefined) throw new StateError(`Model ${id} does not exist in this runtime (disposed, or the worker restarted)`, { details: { id } });
    return e;
  }

  /** Builds a model from its core JSON config. */
  async create(configJson: string): Promise<{ id: number; configJson: string; paramsJson: string }> {
    const api = await this.api();
    return this.add(new api.Model(configJson));
  }

  /** Rebuilds a saved model. */
  async load(bytes: Uint8Array): Promise<{ id: number; configJson: string; paramsJson: string }> {
    const api = await this.api();
    const model = api.Model.load(bytes);
    // A model saved with its optimizer keeps training with it (fit without `optimizer`).
    return this.add(model, savedOptimizer(bytes) === undefined ? undefined : 'saved');
  }

  /** Frees a model (no-op if already gone). */
  dispose(id: number): void {
    const e = this.models.get(id);
    if (e === undefined) return;
    this.models.delete(id);
    e.model.free();
  }

  /** Forward pass; returns the output (a sequence batch-major `[B, T, W]` with `batchMajor`) and the final states. */
  forward(id: number, seq: SeqData, h0: Float32Array, c0: Float32Array, training: boolean, stateful: boolean, batchMajor: boolean): ForwardReply {
    const e = this.entry(id);
    checkSeq(seq);
    const m = e.model;
    const raw = m.forward(seq.x ?? EMPTY_F32, seq.tokens ?? EMPTY_U32, seq.steps, seq.n, seq.lengths ?? EMPTY_U32, h0, c0, training, stateful, seq.batchMajor === true);
    e.lastInput = training ? [seq.steps, seq.n, seq.features] : undefined;
    const s = Array.from(m.outputShape());
    const { output, shape } = inLayout(raw, s[0] === 0 ? [s[1]!, s[2]!] : s, batchMajor);
    const hN: Float32Array[] = [];
    const cN: Float32Array[] = [];
    for (let i = 0; i < e.recurrentLayers; i++) {
      hN.push(m.finalH(i));
      cN.push(m.finalC(i));
    }
    return { output, shape, hN, cN };
  }

  /**
   * Backward pass for the last training forward. With `batchMajor`, a sequence `dOutput` is
   * `[B, T, W]` and the input gradient comes back `[B, T, F]`.
   */
  backward(id: number, dOutput: Float32Array, dHn: Float32Array, dCn: Float32Array, tbptt: number, batchMajor: boolean): BackwardReply {
    const e = this.entry(id);
    const m = e.model;
    const s = Array.from(m.outputShape());
    const dims = e.lastInput;
    const sequenceOut = s[0] !== 0 && dOutput.length === s[0]! * s[1]! * s[2]!;
    const dOut = batchMajor && sequenceOut ? swap01(dOutput, s[1]!, s[0]!, s[2]!, resultArray) : dOutput;
    const dx = m.backward(dOut, dHn, dCn, tbptt);
    e.lastInput = undefined;
    const x = batchMajor && dims !== undefined && dx.length === dims[0] * dims[1] * dims[2] ? swap01(dx, dims[0], dims[1], dims[2], resultArray) : dx;
    const names = (JSON.parse(m.paramsJson()) as { name: string }[]).map((p) => p.name);
    return { grads: names.map((n) => [n, m.getGrad(n)]), x, h0: m.gradH0(), c0: m.gradC0() };
  }

  /** Inference over batches; returns the output `[N, W]`, or `[T, N, W]` (`[N, T, W]` with `batchMajor`). */
  async predict(id: number, seq: SeqData, batchSize: number, isAborted: () => boolean, batchMajor: boolean): Promise<{ output: Float32Array; shape: number[] }> {
    try {
      return await this.predictBatches(id, seq, batchSize, isAborted, batchMajor);
    } catch (e) {
      // The core checks every input before it computes (an inference pass changes nothing), so
      // unchecked features need no pass of their own here unless it refused them: then the
      // check names the first bad value as the calling thread would have.
      if ((e as { code?: unknown } | null)?.code === 'ERR_NON_FINITE') checkSeq(seq);
      throw e;
    }
  }

  private async predictBatches(id: number, seq: SeqData, batchSize: number, isAborted: () => boolean, batchMajor: boolean): Promise<{ output: Float32Array; shape: number[] }> {
    const m = this.entry(id).model;
    let output: Float32Array | undefined;
    let shape: number[] = [];
    let lastYield = now();
    for (let start = 0; start < seq.n; start += batchSize) {
      if (isAborted()) throw new AbortError('predict was aborted', { details: { completedSequences: start } });
      const idx = range(start, Math.min(seq.n, start + batchSize));
      const b = gatherSeq(seq, idx);
      const out = m.forward(b.x ?? EMPTY_F32, b.tokens ?? EMPTY_U32, b.steps, b.n, b.lengths ?? EMPTY_U32, EMPTY_F32, EMPTY_F32, false, false, b.batchMajor === true);
      const s = Array.from(m.outputShape());
      const width = s[2]!;
      const rowsT = s[0] === 0 ? 1 : s[0]!;
      if (b === seq) {
        // one batch of every sequence: the bindings' fresh array is the whole output
        output = out;
        shape = s[0] === 0 ? [seq.n, width] : [rowsT, seq.n, width];
        break;
      }
      if (output === undefined) {
        output = resultArray(rowsT * seq.n * width);
        shape = s[0] === 0 ? [seq.n, width] : [rowsT, seq.n, width];
      }
      for (let t = 0; t < rowsT; t++) output.set(out.subarray(t * b.n * width, (t + 1) * b.n * width), (t * seq.n + start) * width);
      if (now() - lastYield > 8) {
        await yieldToEventLoop();
        lastYield = now();
      }
    }
    return inLayout(output ?? EMPTY_F32, shape, batchMajor);
  }

  /** Mean loss and metrics over data in inference mode. */
  async evaluate(
    id: number,
    seq: SeqData,
    target: TargetData,
    loss: string,
    metrics: MetricName[],
    batchSize: number,
    isAborted: () => boolean,
  ): Promise<{ loss: number; metrics: Record<string, number> }> {
    const m = this.entry(id).model;
    checkSeq(seq);
    let sum = 0;
    let rows = 0;
    const acc = new MetricAccumulator(loss, metrics);
    let lastYield = now();
    for (let start = 0; start < seq.n; start += batchSize) {
      if (isAborted()) throw new AbortError('evaluate was aborted', { details: { completedSequences: start } });
      const idx = range(start, Math.min(seq.n, start + batchSize));
      // The bindings' evaluate takes time-major features: each batch reordered on its own.
      const b = timeMajorSeq(gatherSeq(seq, idx));
      const t = gatherTarget(target, seq.steps, seq.n, idx);
      const l = m.evaluate(b.x ?? EMPTY_F32, b.tokens ?? EMPTY_U32, b.steps, b.n, b.lengths ?? EMPTY_U32, t.values ?? EMPTY_F32, t.classes ?? EMPTY_U32, loss);
      const r = countedRows(b, target.sequence);
      sum += l * r;
      rows += r;
      if (metrics.length > 0) {
        const out = m.forward(b.x ?? EMPTY_F32, b.tokens ?? EMPTY_U32, b.steps, b.n, b.lengths ?? EMPTY_U32, EMPTY_F32, EMPTY_F32, false, false);
        acc.add(out, b, t);
      }
      if (now() - lastYield > 8) {
        await yieldToEventLoop();
        lastYield = now();
      }
    }
    return { loss: rows === 0 ? NaN : sum / rows, metrics: acc.result() };
  }

  /** The whole training loop. */
  async fit(
    id: number,
    req: FitRequest,
    isAborted: () => boolean,
    onBatch: ProgressCallback<BatchLogs> | undefined,
    onEpoch: ProgressCallback<EpochLogs> | undefined,
  ): Promise<History> {
    const e = this.entry(id);
    const m = e.model;
    checkSeq(req.train.seq);
    if (req.validation !== undefined) checkSeq(req.validation.seq);
    let { seq, target } = req.train;
    let validation = req.validation;
    if (req.validationSplit > 0) {
      const nVal = Math.floor(seq.n * req.validationSplit);
      const nTrain = seq.n - nVal;
      if (nVal < 1 || nTrain < 1) {
        throw new ValueRangeError(`validationSplit ${req.validationSplit} of ${seq.n} samples leaves an empty set`, { details: { validationSplit: req.validationSplit, samples: seq.n } });
      }
      const valIdx = range(nTrain, seq.n);
      const trainIdx = range(0, nTrain);
      validation = { seq: gatherSeq(seq, valIdx), target: gatherTarget(target, seq.steps, seq.n, valIdx) };
      target = gatherTarget(target, seq.steps, seq.n, trainIdx);
      seq = gatherSeq(seq, trainIdx);
    }
    const wanted = req.optimizerJson ?? (e.optimizerJson === undefined ? DEFAULT_OPTIMIZER : undefined);
    if (wanted !== undefined && wanted !== e.optimizerJson) {
      m.setOptimizer(wanted);
      e.optimizerJson = wanted;
    }
    const optionsJson = JSON.stringify(req.trainOptions);
    const rng = mulberry32(req.seed);
    const order = range(0, seq.n);
    const batches = Math.ceil(seq.n / req.batchSize);
    const history: History = { history: { loss: [] }, epochs: [], steps: 0 };
    if (validation !== undefined) history.history.valLoss = [];
    const es = req.earlyStopping;
    let best = Infinity;
    let bestBytes: Uint8Array | undefined;
    let wait = 0;
    let lastBatchCall: Promise<unknown> | undefined;
    let lastBatchSent = -Infinity;
    let lastYield = now();
    // Waits for the last progress callback (callers skip the await when there is none).
    const flush = async (): Promise<void> => {
      await lastBatchCall?.catch(() => undefined);
    };
    const callBatch = (logs: BatchLogs): void => {
      if (onBatch === undefined) return;
      lastBatchSent = now();
      try {
        const r = onBatch(logs);
        lastBatchCall = Promise.resolve(r);
        lastBatchCall.catch(() => undefined);
      } catch {
        // A throwing progress callback must not break training.
      }
    };
    for (let epoch = 0; epoch < req.epochs; epoch++) {
      const t0 = now();
      if (req.trainOptions.stateful) m.resetStates();
      if (req.shuffle) {
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rng() * (i + 1));
          const tmp = order[i]!;
          order[i] = order[j]!;
          order[j] = tmp;
        }
      }
      let lossSum = 0;
      let rows = 0;
      let gnSum = 0;
      let gnMax = 0;
      let gnCount = 0;
      let skipped = 0;
      // The per-parameter gradient norms of the epoch's last step.
      let perParam: Record<string, number> = {};
      for (let bi = 0; bi < batches; bi++) {
        if (isAborted()) {
          if (lastBatchCall !== undefined) await flush();
          throw new AbortError(`fit was aborted after ${history.steps} steps (epoch ${epoch}, batch ${bi})`, {
            details: { epoch, batch: bi, completedSteps: history.steps },
          });
        }
        const idx = order.slice(bi * req.batchSize, Math.min(seq.n, (bi + 1) * req.batchSize));
        const b = gatherSeq(seq, idx);
        const t = gatherTarget(target, seq.steps, seq.n, idx);
        // [loss, grad_norm, skipped (1 or 0)]
        const report = m.trainStep(
          b.x ?? EMPTY_F32,
          b.tokens ?? EMPTY_U32,
          b.steps,
          b.n,
          b.lengths ?? EMPTY_U32,
          t.values ?? EMPTY_F32,
          t.classes ?? EMPTY_U32,
          optionsJson,
          b.batchMajor === true,
        );
        history.steps++;
        const loss = report[0]!;
        const gradNorm = report[1]!;
        const skippedStep = report[2] !== 0;
        const r = countedRows(b, target.sequence);
        lossSum += loss * r;
        rows += r;
        if (Number.isFinite(gradNorm)) {
          gnSum += gradNorm;
          gnCount++;
          gnMax = Math.max(gnMax, gradNorm);
        }
        if (skippedStep) skipped++;
        const last = bi === batches - 1;
        // The epoch's logs give the last step's per-parameter norms: read once, not every step.
        if (last) perParam = this.paramGradNorms(id);
        if (onBatch !== undefined && (last || now() - lastBatchSent >= req.progressIntervalMs)) {
          callBatch({ epoch, batch: bi, batches, step: history.steps, loss, gradNorm, skipped: skippedStep });
        }
        // (not after the very last step: the call returns right away)
        if (!(last && epoch === req.epochs - 1) && now() - lastYield > 8) {
          await yieldToEventLoop();
          lastYield = now();
        }
      }
      const logs: EpochLogs = {
        epoch,
        loss: lossSum / rows,
        metrics: {},
        gradNorm: { mean: gnCount === 0 ? NaN : gnSum / gnCount, max: gnCount === 0 ? NaN : gnMax, perParam },
        skippedBatches: skipped,
        durationMs: 0,
      };
      history.history.loss!.push(logs.loss);
      const never = (): boolean => false;
      if (req.metrics.length > 0) {
        const trainEval = await this.evaluate(id, seq, target, req.trainOptions.loss, req.metrics, req.batchSize, never);
        Object.assign(logs.metrics, trainEval.metrics);
      }
      if (validation !== undefined) {
        const v = await this.evaluate(id, validation.seq, validation.target, req.trainOptions.loss, req.metrics, req.batchSize, never);
        logs.valLoss = v.loss;
        history.history.valLoss!.push(v.loss);
        for (const [k, val] of Object.entries(v.metrics)) logs.metrics[`val${k[0]!.toUpperCase()}${k.slice(1)}`] = val;
      }
      for (const [k, val] of Object.entries(logs.metrics)) (history.history[k] ??= []).push(val);
      logs.durationMs = now() - t0;
      history.epochs.push(logs);
      if (req.trainOptions.stateful) m.resetStates();
      if (lastBatchCall !== undefined) await flush();
      if (onEpoch !== undefined) await onEpoch(logs);
      if (es !== undefined) {
        const current = es.monitor === 'valLoss' ? (logs.valLoss ?? NaN) : logs.loss;
        if (current < best - es.minDelta) {
          best = current;
          wait = 0;
          history.bestEpoch = epoch;
          if (es.restoreBestWeights) bestBytes = m.save(false);
        } else {
          wait++;
          if (wait > es.patience) {
            history.stoppedEpoch = epoch;
            break;
          }
        }
      }
    }
    if (es?.restoreBestWeights && bestBytes !== undefined && history.bestEpoch !== history.epochs.length - 1) m.loadWeights(bestBytes);
    if (lastBatchCall !== undefined) await flush();
    return history;
  }

  /**
   * Central finite differences of `L = Σ w ⊙ output` against backward, on a copy: the model
   * saved and loaded again (weights, buffers and dropout generators; the saving and loading are
   * probed for memory, where a copy in place was not).
   */
  async gradCheck(id: number, seq: SeqData, opts: { eps: number; samples: number; params: string[] | undefined; tolerance: number; seed: number }): Promise<GradCheckResult> {
    const saved = this.entry(id).model.save(false);
    checkSeq(seq);
    const m = (await this.api()).Model.load(saved);
    seq = timeMajorSeq(seq);
    try {
      const run = (): Float32Array =>
        m.forward(seq.x ?? EMPTY_F32, seq.tokens ?? EMPTY_U32, seq.steps, seq.n, seq.lengths ?? EMPTY_U32, EMPTY_F32, EMPTY_F32, true, false);
      m.zeroGrad();
      const out = run();
      const rng = mulberry32(opts.seed);
      const w = Float32Array.from(out, () => rng() * 2 - 1);
      const lossOf = (): number => {
        const o = run();
        let s = 0;
        for (let i = 0; i < o.length; i++) s += o[i]! * w[i]!;
        return s;
      };
      m.backward(w, EMPTY_F32, EMPTY_F32, 0);
      const all = (JSON.parse(m.paramsJson()) as { name: string }[]).map((p) => p.name);
      const names = opts.params ?? all;
      for (const n of names) if (!all.includes(n)) throw new ValueRangeError(`gradCheck: no parameter named '${n}'`, { details: { name: n } });
      const analytic = new Map(names.map((n) => [n, m.getGrad(n)] as const));
      const result: GradCheckResult = { ok: true, maxRelError: 0, params: {} };
      for (const name of names) {
        const values = m.getParam(name);
        const a = analytic.get(name)!;
        const count = Math.min(values.length, opts.samples);
        const r: ParamGradCheck = { checked: count, maxRelError: 0, maxAbsError: 0 };
        for (let k = 0; k < count; k++) {
          const i = count === values.length ? k : Math.floor(((k + 0.5) * values.length) / count);
          const v = values[i]!;
          values[i] = v + opts.eps;
          const up = values[i]!;
          m.setParam(name, values);
          const lp = lossOf();
          values[i] = v - opts.eps;
          const down = values[i]!;
          m.setParam(name, values);
          const lm = lossOf();
          values[i] = v;
          m.setParam(name, values);
          const numeric = (lp - lm) / (up - down);
          const abs = Math.abs(a[i]! - numeric);
          const rel = abs / Math.max(Math.abs(a[i]!), Math.abs(numeric), 1e-3);
          r.maxAbsError = Math.max(r.maxAbsError, abs);
          r.maxRelError = Math.max(r.maxRelError, rel);
        }
        result.params[name] = r;
        result.maxRelError = Math.max(result.maxRelError, r.maxRelError);
      }
      result.ok = result.maxRelError <= opts.tolerance;
      return result;
    } finally {
      m.free();
    }
  }

  /** A standalone optimizer. */
  async createOptimizer(configJson: string, shapesJson: string, values: Float32Array): Promise<number> {
    const api = await this.api();
    const opt = new api.Optimizer(configJson, shapesJson, values);
    const id = this.nextId++;
    this.optimizers.set(id, opt);
    return id;
  }

  /** One step of a standalone optimizer. */
  optimizerStep(id: number, grads: Float32Array): Float32Array {
    const opt = this.optimizers.get(id);
    if (opt === undefined) throw new StateError(`Optimizer ${id} does not exist in this runtime`, { details: { id } });
    return opt.step(grads);
  }

  /** Frees a standalone optimizer. */
  disposeOptimizer(id: number): void {
    const opt = this.optimizers.get(id);
    this.optimizers.delete(id);
    opt?.free();
  }
}

/** Accumulates metrics over batches (rows at padded steps are skipped). */
class MetricAccumulator {
  private correct = 0;
  private count = 0;
  private absSum = 0;
  private sqSum = 0;
  private elems = 0;

  constructor(
    private readonly loss: string,
    private readonly metrics: MetricName[],
  ) {}

  add(out: Float32Array, seq: SeqData, t: TargetData): void {
    const rowsT = t.sequence ? seq.steps : 1;
    const b = seq.n;
    const width = out.length / (rowsT * b);
    for (let step = 0; step < rowsT; step++) {
      for (let j = 0; j < b; j++) {
        if (t.sequence && seq.lengths !== undefined && step >= seq.lengths[j]!) continue;
        const row = step * b + j;
        const o = out.subarray(row * width, (row + 1) * width);
        if (this.loss === 'cross_entropy') {
          let arg = 0;
          for (let k = 1; k < width; k++) if (o[k]! > o[arg]!) arg = k;
          if (arg === t.classes![row]) this.correct++;
          this.count++;
        } else {
          for (let k = 0; k < width; k++) {
            const y = t.values![row * width + k]!;
            const d = o[k]! - y;
            this.absSum += Math.abs(d);
            this.sqSum += d * d;
            this.elems++;
            if (this.loss === 'bce') {
              if (o[k]! > 0 === y >= 0.5) this.correct++;
              this.count++;
            }
          }
        }
      }
    }
  }

  result(): Record<string, number> {
    const r: Record<string, number> = {};
    for (const name of this.metrics) {
      if (name === 'accuracy') r.accuracy = this.count === 0 ? NaN : this.correct / this.count;
      else if (name === 'mae') r.mae = this.elems === 0 ? NaN : this.absSum / this.elems;
      else r.rmse = this.elems === 0 ? NaN : Math.sqrt(this.sqSum / this.elems);
    }
    return r;
  }
}
