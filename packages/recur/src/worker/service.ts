/**
 * The service: owns the wasm instance (and, later, every model's memory). The same object runs
 * inside a Worker (exposed through comlink) or in-process on runtimes without workers.
 *
 * Every method converts whatever it throws into a {@link RecurError} with a stable code, so the
 * in-process path and the worker path reject with the same classes.
 * @module
 */
import { errorFromCode, InitError, RecurError, StateError, ValueRangeError, InputTypeError, toRecurError } from '../errors.js';
import { loadWasm, type HelperHandle, type HelperInit, type HelperSpawner, type LoadedWasm } from '../loader/wasm.js';
import { moduleSource, type WasmSource } from '../loader/sources.js';
import { detectRuntime } from '../runtime.js';
import type { WasmVariant } from '../env.js';
import { runSteps } from './chunks.js';
import type { BusyOptions, ChunkProgress, MemoryInfo, ProgressCallback, RuntimeInfo, ServiceApi, ServiceInitOptions } from './protocol.js';
import type { BatchLogs, EpochLogs, GradCheckResult, History, MetricName } from '../model-api.js';
import { ModelStore, type BackwardReply, type FitRequest, type ForwardReply, type SeqData, type TargetData } from './models.js';
import type { ModelHandleInfo, ModelOp, ServiceInitReply } from './protocol.js';
import type { PoolWakeWords } from './pool-wake.js';

/** Marks a value's buffers for transfer (comlink's `transfer` in a worker, identity in-process). */
export type TransferFn = <T>(value: T, transferables: Transferable[]) => T;

/** How the service is set up by its host (the worker entry or the in-process endpoint). */
export interface ServiceHost {
  /** Where the wasm comes from in this runtime. */
  source: WasmSource;
  /** How results are marked for transfer. */
  transfer: TransferFn;
  /**
   * Frees a callback the client passed (across a worker: releases comlink's proxy, closing its
   * MessagePort, which would otherwise keep a Node process alive). Called when the call ends.
   */
  release?: (callback: unknown) => void;
  /**
   * Starts a helper worker for the `threads` build (worker hosts that can share memory with a
   * nested worker). Without it the service computes on one thread.
   */
  spawnHelper?: HelperSpawner;
  /** Threads when `numThreads` is not given (worker hosts: `min(hardwareConcurrency, 4)`). */
  defaultThreads?: () => number;
  /**
   * Hands the module to a helper worker the client started already, through its port
   * ({@link ServiceInitOptions.helperPorts}); the same contract as a {@link HelperSpawner}.
   */
  helperOnPort?: (port: unknown, index: number, init: Promise<HelperInit>) => Promise<HelperHandle>;
}

/** Where the pool's wake-up words are, when the wasm memory is shared (threads builds). */
function poolWakeWords(api: LoadedWasm['api']): PoolWakeWords | undefined {
  const memory = (api.wasmMemory() as WebAssembly.Memory).buffer;
  if (typeof SharedArrayBuffer === 'undefined' || !(memory instanceof SharedArrayBuffer)) return undefined;
  const [primed, sleepers, wake] = api.poolWakeWords();
  if (primed === undefined || sleepers === undefined || wake === undefined) return undefined;
  return { memory, primed, sleepers, wake };
}

/** Most milliseconds idle helpers may be told to spin between calls. */
const MAX_IDLE_SPIN_MS = 1000;

/** `idleSpinMs` checked (`InitError` unless a number from 0 to {@link MAX_IDLE_SPIN_MS}). */
function checkIdleSpin(ms: unknown): number | undefined {
  if (ms === undefined) return undefined;
  if (typeof ms !== 'number' || !(ms >= 0 && ms <= MAX_IDLE_SPIN_MS)) {
    throw new InitError(`idleSpinMs must be a number of milliseconds from 0 to ${MAX_IDLE_SPIN_MS}, got ${String(ms)}`, {
      details: { reason: 'bad-idle-spin', idleSpinMs: typeof ms === 'number' ? ms : String(ms) },
    });
  }
  return ms;
}

/** `min(hardwareConcurrency, 4)`, or 1 when the runtime does not say. */
export function defaultThreadCount(hardwareConcurrency: number | undefined): number {
  const n = Number.isSafeInteger(hardwareConcurrency) && hardwareConcurrency! > 0 ? hardwareConcurrency! : 1;
  return Math.min(n, 4);
}

/** The service object. See {@link ServiceApi} for what each method does. */
export class RecurService implements ServiceApi {
  private wasm: Promise<LoadedWasm> | undefined;
  private readonly active = new Map<number, { aborted: boolean }>();
  private busySteps = 0;
  /** Wakes the pool's sleeping helper threads (threads builds with helpers running; else unset). */
  private wakeHelpers: (() => void) | undefined;
  private readonly store = new ModelStore(async () => (await this.ready()).api);

  /** @param host - the runtime's wasm source and transfer function. */
  constructor(private readonly host: ServiceHost) {}

  // ---------------------------------------------------------------------------------------
  // Models
  // ---------------------------------------------------------------------------------------

  async modelCreate(configJson: string): Promise<ModelHandleInfo> {
    return guard(() => this.store.create(configJson));
  }

  async modelLoad(bytes: Uint8Array): Promise<ModelHandleInfo> {
    return guard(() => this.store.load(bytes));
  }

  async modelDispose(id: number): Promise<void> {
    return guard(async () => this.store.dispose(id));
  }

  async modelOp(id: number, op: ModelOp, name?: string, data?: Float32Array | Uint8Array | number | string | boolean): Promise<unknown> {
    return guard(async () => {
      const m = this.store.entry(id).model;
      switch (op) {
        case 'getParam':
          return this.out(m.getParam(name!));
        case 'getGrad':
          return this.out(m.getGrad(name!));
        case 'setParam':
          return m.setParam(name!, data as Float32Array);
        case 'zeroGrad':
          return m.zeroGrad();
        case 'clipGradNorm':
          return m.clipGradNorm(data as number);
        case 'clipGradValue':
          return m.clipGradValue(data as number);
        case 'setOptimizer':
          m.setOptimizer(data as string);
          this.store.entry(id).optimizerJson = data as string;
          return undefined;
        case 'setLearningRate':
          return m.setLearningRate(data as number);
        case 'optimizerStep':
          return m.optimizerStep();
        case 'resetStates':
          return m.resetStates();
        case 'stepGradNorms':
          return m.stepGradNormsJson();
        case 'paramGradNorms':
          return this.store.paramGradNorms(id);
        case 'buffers':
          return m.buffersJson();
        case 'save':
          return this.out(m.save(data as boolean));
        case 'loadWeights':
          return m.loadWeights(data as Uint8Array);
        default:
          throw new InputTypeError(`unknown model operation ${String(op)}`);
      }
    });
  }

  async modelForward(id: number, seq: SeqData, h0: Float32Array, c0: Float32Array, training: boolean, stateful: boolean, batchMajor: boolean): Promise<ForwardReply> {
    this.wakeHelpers?.();
    return guard(async () => {
      const r = this.store.forward(id, seq, h0, c0, training, stateful, batchMajor);
      return this.host.transfer(r, [r.output.buffer, ...r.hN.map((a) => a.buffer), ...r.cN.map((a) => a.buffer)]);
    });
  }

  async modelBackward(id: number, dOutput: Float32Array, dHn: Float32Array, dCn: Float32Array, tbptt: number, batchMajor: boolean): Promise<BackwardReply> {
    return guard(async () => {
      const r = this.store.backward(id, dOutput, dHn, dCn, tbptt, batchMajor);
      return this.host.transfer(r, [r.x.buffer, r.h0.buffer, r.c0.buffer, ...r.grads.map(([, g]) => g.buffer)]);
    });
  }

  async modelPredict(callId: number, id: number, seq: SeqData, batchSize: number, batchMajor: boolean): Promise<{ output: Float32Array; shape: number[] }> {
    this.wakeHelpers?.();
    return guard(() =>
      this.track(callId, async (isAborted) => {
        const r = await this.store.predict(id, seq, batchSize, isAborted, batchMajor);
        return this.host.transfer(r, [r.output.buffer]);
      }),
    );
  }

  async modelEvaluate(
    callId: number,
    id: number,
    seq: SeqData,
    target: TargetData,
    loss: string,
    metrics: MetricName[],
    batchSize: number,
  ): Promise<{ loss: number; metrics: Record<string, number> }> {
    this.wakeHelpers?.();
    return guard(() => this.track(callId, (isAborted) => this.store.evaluate(id, seq, target, loss, metrics, batchSize, isAborted)));
  }

  async modelFit(
    callId: number,
    id: number,
    req: FitRequest,
    onBatch?: ProgressCallback<BatchLogs>,
    onEpoch?: ProgressCallback<EpochLogs>,
  ): Promise<History> {
    this.wakeHelpers?.();
    try {
      return await guard(() => this.track(callId, (isAborted) => this.store.fit(id, req, isAborted, onBatch, onEpoch)));
    } finally {
      if (onBatch !== undefined) this.host.release?.(onBatch);
      if (onEpoch !== undefined) this.host.release?.(onEpoch);
    }
  }

  async modelGradCheck(
    id: number,
    seq: SeqData,
    opts: { eps: number; samples: number; params: string[] | undefined; tolerance: number; seed: number },
  ): Promise<GradCheckResult> {
    return guard(async () => this.store.gradCheck(id, seq, opts));
  }

  async clipNorm(grads: Float32Array, sizes: Uint32Array, maxNorm: number): Promise<{ grads: Float32Array; totalNorm: number }> {
    return guard(async () => {
      const { api } = await this.ready();
      const totalNorm = api.clipGradNorm(grads, sizes, maxNorm);
      return this.host.transfer({ grads, totalNorm }, [grads.buffer]);
    });
  }

  async clipValue(grads: Float32Array, value: number): Promise<Float32Array> {
    return guard(async () => {
      const { api } = await this.ready();
      api.clipGradValue(grads, value);
      return this.out(grads);
    });
  }

  async optimizerCreate(configJson: string, shapesJson: string, values: Float32Array): Promise<number> {
    return guard(() => this.store.createOptimizer(configJson, shapesJson, values));
  }

  async optimizerStep(id: number, grads: Float32Array): Promise<Float32Array> {
    return guard(async () => this.out(this.store.optimizerStep(id, grads)));
  }

  async optimizerDispose(id: number): Promise<void> {
    return guard(async () => this.store.disposeOptimizer(id));
  }

  private out<T extends Float32Array | Uint8Array>(a: T): T {
    return this.host.transfer(a, [a.buffer]);
  }

  async init(options: ServiceInitOptions = {}): Promise<ServiceInitReply> {
    return guard(async () => {
      const idleSpinMs = checkIdleSpin(options.idleSpinMs);
      let source = options.modules !== undefined ? moduleSource(options.modules) : this.host.source;
      const pre = options.modules === undefined ? options.precompiled : undefined;
      if (pre !== undefined) {
        const base = source;
        source = async (variant, opts) => (variant === pre.variant ? { kind: 'module', module: pre.module } : base(variant, opts));
      }
      let spawnHelper = this.host.spawnHelper;
      const ports = options.helperPorts ?? [];
      const onPort = this.host.helperOnPort;
      if (spawnHelper !== undefined && onPort !== undefined && ports.length > 0) {
        const own = spawnHelper;
        spawnHelper = (index, init) => (index <= ports.length ? onPort(ports[index - 1], index, init) : own(index, init));
      }
      const given = options.modules === undefined ? undefined : (Object.keys(options.modules) as WasmVariant[]);
      this.wasm ??= loadWasm(source, {
        simd: options.simd,
        relaxedSimd: options.relaxedSimd,
        variant: options.variant,
        wasmPaths: options.wasmPaths,
        initTimeout: options.initTimeout,
        numThreads: options.numThreads,
        defaultThreads: this.host.defaultThreads?.(),
        spawnHelper,
        available: given,
        noThreadsBuild:
          given !== undefined && !given.includes('threads') && !given.includes('relaxed-threads')
            ? "precompiled modules were given without the threads build (wasm.module.threads or wasm.module['relaxed-threads'])"
            : undefined,
      });
      const { api, variant, threads, threadsFallback } = await this.wasm;
      if (threads > 1 && idleSpinMs !== undefined) api.setIdleSpin(Math.round(idleSpinMs * 1000));
      // A compute request wakes the helpers first, so their wake-up (tens of microseconds after
      // an idle gap) overlaps this thread's unpacking of the request instead of the first job.
      this.wakeHelpers = threads > 1 ? () => api.wakeThreads() : undefined;
      // ...and the client, given where the wake-up words are, does the same as soon as a call
      // starts (pool-wake.ts).
      const poolWake = threads > 1 ? poolWakeWords(api) : undefined;
      return {
        version: api.version(),
        variant,
        threads,
        ...(threadsFallback === undefined ? {} : { threadsFallback }),
        runtime: detectRuntime(),
        ...(poolWake === undefined ? {} : { poolWake }),
      };
    });
  }

  async version(): Promise<string> {
    return guard(async () => (await this.ready()).api.version());
  }

  async echo(data: Float32Array): Promise<Float32Array> {
    return guard(async () => {
      if (!(data instanceof Float32Array)) throw new InputTypeError('echo expects a Float32Array');
      return this.host.transfer(data, [data.buffer]);
    });
  }

  async busy(callId: number, options: BusyOptions, onProgress?: ProgressCallback<ChunkProgress>): Promise<ChunkProgress> {
    return this.releasing(onProgress, () =>
      this.track(callId, (isAborted) => {
        const { steps, stepMs } = options;
        if (!Number.isSafeInteger(steps) || steps < 0) throw new ValueRangeError('steps must be an integer >= 0', { details: { steps } });
        if (!Number.isFinite(stepMs) || stepMs < 0 || stepMs > 60_000) {
          throw new ValueRangeError('stepMs must be between 0 and 60000', { details: { stepMs } });
        }
        return runSteps({
          totalSteps: steps,
          isAborted,
          onProgress,
          step: () => {
            // Synchronous work, as a training batch inside wasm is: nothing else runs meanwhile.
            const end = Date.now() + stepMs;
            while (Date.now() < end) {
              /* spin */
            }
            this.busySteps++;
          },
        });
      }),
    );
  }

  async busyCounter(): Promise<number> {
    return this.busySteps;
  }

  async memory(): Promise<MemoryInfo> {
    return guard(async () => ({ wasmBytes: (await this.ready()).api.wasmMemoryBytes() }));
  }

  async raise(code: string, message: string, details?: Record<string, unknown>, asPlainObject = false): Promise<never> {
    return guard(async () => {
      if (asPlainObject) throw Object.assign(new Error(message), { code, details });
      throw errorFromCode(code, message, details === undefined ? {} : { details });
    });
  }

  async abort(callId: number): Promise<void> {
    const call = this.active.get(callId);
    if (call !== undefined) call.aborted = true;
  }

  private async ready(): Promise<LoadedWasm> {
    if (this.wasm === undefined) throw new StateError('The service was used before init()');
    return this.wasm;
  }

  /** Runs `fn` through {@link guard}, then releases the call's callback. */
  private async releasing<T>(callback: unknown, fn: () => Promise<T>): Promise<T> {
    try {
      return await guard(fn);
    } finally {
      if (callback !== undefined) this.host.release?.(callback);
    }
  }

  private async track<T>(callId: number, run: (isAborted: () => boolean) => Promise<T>): Promise<T> {
    const entry = { aborted: false };
    this.active.set(callId, entry);
    try {
      return await run(() => entry.aborted);
    } finally {
      this.active.delete(callId);
    }
  }
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof RecurError ? e : toRecurError(e);
  }
}
