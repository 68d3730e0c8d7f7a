/**
 * The interface between the client (calling thread) and the service (worker or in-process).
 * Everything here is plain data that survives structured clone.
 * @module
 */
import type { PoolWakeWords } from './pool-wake.js';
import type { ExecutionMode, WasmVariant } from '../env.js';
import type { RuntimeName } from '../runtime.js';
import type { BatchLogs, EpochLogs, GradCheckResult, History, MetricName } from '../model-api.js';
import type { BackwardReply, FitRequest, ForwardReply, SeqData, TargetData } from './models.js';

/** What the service returns for a new model. */
export interface ModelHandleInfo {
  /** The model's id in this service. */
  id: number;
  /** The core's config with defaults filled in. */
  configJson: string;
  /** `[{name, shape}]`. */
  paramsJson: string;
}

/** The small model operations, by name. */
export type ModelOp =
  | 'getParam'
  | 'getGrad'
  | 'setParam'
  | 'zeroGrad'
  | 'clipGradNorm'
  | 'clipGradValue'
  | 'setOptimizer'
  | 'setLearningRate'
  | 'optimizerStep'
  | 'resetStates'
  | 'stepGradNorms'
  | 'paramGradNorms'
  | 'buffers'
  | 'save'
  | 'loadWeights';

/** Options sent to the service's `init`. */
export interface ServiceInitOptions {
  /** Force (`true`/`false`) or auto-detect (`undefined`) the SIMD build. */
  simd?: boolean | undefined;
  /** Force (`true`/`false`) or auto-detect (`undefined`) the relaxed-SIMD builds. */
  relaxedSimd?: boolean | undefined;
  /** Force one build (`'auto'`/`undefined`: feature detection). */
  variant?: WasmVariant | 'auto' | undefined;
  /** Base URL of the wasm folder (browsers, Deno). */
  wasmPaths?: string | undefined;
  /** Precompiled modules, if the caller has them. */
  modules?: Partial<Record<WasmVariant, WebAssembly.Module>> | undefined;
  /**
   * The build the client expects the service to load, compiled already (Node: on the calling
   * thread while the worker starts): used when the service's choice is that build.
   */
  precompiled?: { variant: WasmVariant; module: WebAssembly.Module } | undefined;
  /**
   * Ports to helper workers the client started already (Node: at the same time as the worker,
   * so that they boot side by side), for pool indices 1, 2, …; the service starts any more it
   * needs itself.
   */
  helperPorts?: unknown[] | undefined;
  /** Milliseconds before init gives up. */
  initTimeout?: number | undefined;
  /** Threads to compute with (`undefined`: the service's default). */
  numThreads?: number | undefined;
  /** Milliseconds idle helper threads spin before they sleep (`undefined`: the pool's default). */
  idleSpinMs?: number | undefined;
}

/** What a runtime reports once its wasm is loaded. */
export interface RuntimeInfo {
  /** The version of the wasm bindings (`recur-wasm`, and so of the bundled core). */
  version: string;
  /** The build that was loaded. */
  variant: WasmVariant;
  /**
   * Threads the service computes with: 1, or the owner of the models and its running helper
   * workers (the `threads` and `relaxed-threads` builds).
   */
  threads: number;
  /**
   * Why the service runs fewer threads than asked for (or than the default would give), e.g.
   * no SharedArrayBuffer (a browser page that is not cross-origin isolated), in-process mode,
   * or helpers that failed to start; absent when it runs what was asked.
   */
  threadsFallback?: string;
  /** The runtime the service runs in. */
  runtime: RuntimeName;
  /** Where the work runs: a worker, or the calling thread. */
  mode: Exclude<ExecutionMode, 'auto'>;
}

/** Progress of a chunked call. */
export interface ChunkProgress {
  /** Steps completed so far. */
  completedSteps: number;
  /** Steps in the whole call. */
  totalSteps: number;
}

/** The service's wasm memory, from the `memory` diagnostic. */
export interface MemoryInfo {
  /**
   * Size in bytes of the wasm module's linear memory (a multiple of 64 KiB). Wasm memory never
   * shrinks, so after a training step this is the high-water mark of the module's heap: every
   * model, activation, gradient and optimizer state in the service lives in it. In the threads
   * builds the memory is shared by all threads of the pool.
   */
  wasmBytes: number;
}

/** Options of the `busy` diagnostic. */
export interface BusyOptions {
  /** Number of steps. */
  steps: number;
  /** Milliseconds of synchronous work per step (a stand-in for one training batch). */
  stepMs: number;
}

/** A progress callback; across a worker it is a comlink proxy (its result is not awaited). */
export type ProgressCallback<P> = (progress: P) => void | Promise<void>;

/**
 * What the service's `init` answers: the runtime (without the mode, which the client knows), and
 * with the threads builds where memory is shared, where the client can wake the compute threads
 * itself ({@link PoolWakeWords}; kept by the client, never shown to users).
 */
export type ServiceInitReply = Omit<RuntimeInfo, 'mode'> & { poolWake?: PoolWakeWords };

/** The service's methods, as the client calls them (always async). */
export interface ServiceApi {
  /** Loads the wasm (once) and reports the runtime. */
  init(options: ServiceInitOptions): Promise<ServiceInitReply>;
  /** The version string of the wasm bindings. */
  version(): Promise<string>;
  /** Diagnostic: returns the array it was given (transferred both ways across a worker). */
  echo(data: Float32Array): Promise<Float32Array>;
  /** Diagnostic: a long call made of `steps` blocking steps, abortable between steps. */
  busy(callId: number, options: BusyOptions, onProgress?: ProgressCallback<ChunkProgress>): Promise<ChunkProgress>;
  /** Diagnostic: how many `busy` steps have completed in this service since it started. */
  busyCounter(): Promise<number>;
  /** Diagnostic: the size of the wasm linear memory (loads the wasm if it is not loaded yet). */
  memory(): Promise<MemoryInfo>;
  /**
   * Diagnostic: throws the error of `code` inside the service, either as a {@link RecurError}
   * or, with `asPlainObject`, as the wasm bindings throw (`{ code, message }`).
   */
  raise(code: string, message: string, details?: Record<string, unknown>, asPlainObject?: boolean): Promise<never>;
  /** Asks the call `callId` to stop at its next step boundary. */
  abort(callId: number): Promise<void>;
  /** Builds a model from the core's JSON config. */
  modelCreate(configJson: string): Promise<ModelHandleInfo>;
  /** Rebuilds a saved model. */
  modelLoad(bytes: Uint8Array): Promise<ModelHandleInfo>;
  /** Frees a model. */
  modelDispose(id: number): Promise<void>;
  /** A small operation on a model (see {@link ModelOp}). */
  modelOp(id: number, op: ModelOp, name?: string, data?: Float32Array | Uint8Array | number | string | boolean): Promise<unknown>;
  /** Forward pass; a sequence output comes back batch-major `[B, T, W]` with `batchMajor`, else time-major. */
  modelForward(id: number, seq: SeqData, h0: Float32Array, c0: Float32Array, training: boolean, stateful: boolean, batchMajor: boolean): Promise<ForwardReply>;
  /** Backward pass; with `batchMajor`, a sequence `dOutput` is `[B, T, W]` and the input gradient comes back `[B, T, F]`. */
  modelBackward(id: number, dOutput: Float32Array, dHn: Float32Array, dCn: Float32Array, tbptt: number, batchMajor: boolean): Promise<BackwardReply>;
  /** Batched inference; a sequence output comes back batch-major with `batchMajor`, else time-major. */
  modelPredict(callId: number, id: number, seq: SeqData, batchSize: number, batchMajor: boolean): Promise<{ output: Float32Array; shape: number[] }>;
  /** Batched loss and metrics. */
  modelEvaluate(callId: number, id: number, seq: SeqData, target: TargetData, loss: string, metrics: MetricName[], batchSize: number): Promise<{ loss: number; metrics: Record<string, number> }>;
  /** The whole training loop. */
  modelFit(callId: number, id: number, req: FitRequest, onBatch?: ProgressCallback<BatchLogs>, onEpoch?: ProgressCallback<EpochLogs>): Promise<History>;
  /** Finite-difference gradient check on a copy of the model. */
  modelGradCheck(id: number, seq: SeqData, opts: { eps: number; samples: number; params: string[] | undefined; tolerance: number; seed: number }): Promise<GradCheckResult>;
  /** Standalone clip by global norm (concatenated tensors). */
  clipNorm(grads: Float32Array, sizes: Uint32Array, maxNorm: number): Promise<{ grads: Float32Array; totalNorm: number }>;
  /** Standalone clip by value. */
  clipValue(grads: Float32Array, value: number): Promise<Float32Array>;
  /** A standalone optimizer; resolves with its id. */
  optimizerCreate(configJson: string, shapesJson: string, values: Float32Array): Promise<number>;
  /** One standalone optimizer step; resolves with the new values. */
  optimizerStep(id: number, grads: Float32Array): Promise<Float32Array>;
  /** Frees a standalone optimizer. */
  optimizerDispose(id: number): Promise<void>;
}
