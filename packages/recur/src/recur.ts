/**
 * The public client: one {@link Recur} per service (one worker, or one in-process service).
 * Everything heavy happens in the service; this class validates inputs, owns nothing heavy and
 * returns promises.
 * @module
 */
import { env, type ExecutionMode, type WasmFlags, type WasmModuleInput } from './env.js';
import { InputTypeError, WorkerError } from './errors.js';
import type { WasmSource } from './loader/sources.js';
import type { HelperSpawner } from './loader/wasm.js';
import type { RuntimeName } from './runtime.js';
import { ServiceBridge } from './worker/bridge.js';
import type { Endpoint } from './worker/endpoint.js';
import { createInProcessEndpoint } from './worker/endpoint-inprocess.js';
import type { BusyOptions, ChunkProgress, MemoryInfo, RuntimeInfo, ServiceInitOptions } from './worker/protocol.js';
import type { ClipNormResult, Model, ModelConfig, Optimizer, OptimizerConfig } from './model-api.js';
import { checkBytes, flattenTensors, ModelImpl, OptimizerImpl, splitTensors } from './model.js';
import { clearScratch } from './scratch.js';
import { checkNumber, optimizerToCore, toCoreConfig } from './model-config.js';
import type { Tensor, TensorLike } from './tensor.js';

/** Options of `createRecur`. Unset fields fall back to the global {@link env} flags. */
export interface RecurOptions {
  /** Where the work runs (default `env.worker.mode`, else `'auto'`). */
  mode?: ExecutionMode;
  /** Loader flags for this runtime (default `env.wasm`). */
  wasm?: WasmFlags;
}

/** Options of a cancellable call. */
export interface AbortOptions {
  /** Cancels the call: it rejects with `AbortError` and leaves the state of its last completed step. */
  signal?: AbortSignal;
}

/** Options of {@link Diagnostics.busy}. */
export interface BusyCallOptions extends BusyOptions, AbortOptions {
  /** Called (throttled) with the number of completed steps. */
  onProgress?: (progress: ChunkProgress) => void;
}

/**
 * Calls that exercise the bridge itself (transfer, long calls, abort, progress) or report on the
 * service (its wasm memory). They do no model work; they exist to test and to measure the
 * runtime's plumbing.
 */
export interface Diagnostics {
  /**
   * Sends `data` to the service and back. Across a worker the buffer is transferred both ways:
   * after the call, `data.buffer` is detached and the result holds the values.
   */
  echo(data: Float32Array): Promise<Float32Array>;
  /**
   * A long call of `steps` blocking steps of `stepMs` ms each, abortable between steps.
   * Resolves with the number of completed steps.
   */
  busy(options: BusyCallOptions): Promise<ChunkProgress>;
  /** How many `busy` steps the service has completed since it started. */
  busyCounter(): Promise<number>;
  /**
   * The size of the service's wasm linear memory, in bytes (loads the wasm if needed). Wasm
   * memory never shrinks, so read after training it is the peak of the module's heap so far,
   * e.g. `(await recur.diagnostics.memory()).wasmBytes / 2 ** 20` MB.
   */
  memory(): Promise<MemoryInfo>;
  /**
   * Makes the service throw an error with `code` (as a `RecurError`, or as the wasm bindings
   * throw: an `Error` with a `code` property), to check what reaches the caller.
   */
  raise(code: string, message: string, options?: { details?: Record<string, unknown>; asPlainObject?: boolean }): Promise<never>;
}

/** What a runtime entry point supplies (internal). */
export interface Platform {
  /** The runtime this entry point is for. */
  runtime: RuntimeName;
  /** Starts a worker, if this runtime has workers. */
  createWorker?: (() => Endpoint) | undefined;
  /** True when workers can be started here (checked at first use). */
  hasWorker: () => boolean;
  /** Where an in-process service gets its wasm. */
  source: WasmSource;
  /**
   * Starts helper workers for an in-process service's threads build, where the calling thread
   * may block while it waits for them (Node); without it, in-process runs one thread.
   */
  inProcessHelpers?: HelperSpawner | undefined;
}

/** A recur runtime: one service, started lazily on the first call. */
export class Recur {
  /** Bridge-level calls that exercise the plumbing. */
  readonly diagnostics: Diagnostics;
  private readonly bridge: ServiceBridge;
  private readonly requestedMode: ExecutionMode;

  /** @internal Use `createRecur()` from the package. */
  constructor(platform: Platform, options: RecurOptions = {}) {
    const mode = options.mode ?? env.worker.mode ?? 'auto';
    if (mode !== 'auto' && mode !== 'worker' && mode !== 'inprocess') {
      throw new InputTypeError(`mode must be 'auto', 'worker' or 'inprocess', got ${String(mode)}`);
    }
    this.requestedMode = mode;
    const flags: WasmFlags = { ...env.wasm, ...options.wasm };
    const initOptions: ServiceInitOptions = {
      simd: flags.simd,
      relaxedSimd: flags.relaxedSimd,
      variant: flags.variant,
      wasmPaths: flags.wasmPaths === undefined ? undefined : String(flags.wasmPaths),
      modules: normalizeModules(flags.module),
      initTimeout: flags.initTimeout,
      numThreads: flags.numThreads,
      idleSpinMs: flags.idleSpinMs,
    };
    const factory = (): Endpoint => {
      const useWorker = mode === 'worker' || (mode === 'auto' && platform.createWorker !== undefined && platform.hasWorker());
      if (!useWorker) return createInProcessEndpoint(platform.source, platform.inProcessHelpers);
      if (platform.createWorker === undefined || !platform.hasWorker()) {
        throw new WorkerError(`mode 'worker' was asked for, but this runtime (${platform.runtime}) has no workers`);
      }
      return platform.createWorker();
    };
    this.bridge = new ServiceBridge(factory, initOptions);
    const bridge = this.bridge;
    this.diagnostics = {
      echo: (data) => {
        if (!(data instanceof Float32Array)) throw new InputTypeError('echo expects a Float32Array');
        return bridge.call((s, ctx) => s.echo(ctx.transfer(data, [data.buffer])));
      },
      busy: ({ steps, stepMs, signal, onProgress }) =>
        bridge.call(
          (s, ctx) => s.busy(ctx.callId, { steps, stepMs }, onProgress === undefined ? undefined : ctx.proxy(onProgress)),
          { signal },
        ),
      busyCounter: () => bridge.call((s) => s.busyCounter()),
      memory: () => bridge.call((s) => s.memory()),
      raise: (code, message, options = {}) => bridge.call((s) => s.raise(code, message, options.details, options.asPlainObject)),
    };
  }

  /** The execution mode asked for (`'auto'` is resolved when the service starts; see {@link init}). */
  get mode(): ExecutionMode {
    return this.requestedMode;
  }

  /**
   * Starts the service and loads the wasm now rather than on the first call. Resolves with what
   * was loaded where; rejects with `InitError` (then and on every later call) if loading failed.
   */
  init(): Promise<RuntimeInfo> {
    return this.bridge.start();
  }

  /** The version of the bundled WebAssembly core, e.g. `'0.1.0'`. */
  version(): Promise<string> {
    return this.bridge.call((s) => s.version());
  }

  /**
   * Builds a model in the service, initialized from `config.seed` (PyTorch's initializations).
   *
   * ```ts
   * const model = await recur.createModel({ inputSize: 3, layers: [
   *   { type: 'lstm', hiddenSize: 32, returnSequences: false }, { type: 'dense', units: 1 }], seed: 42 });
   * ```
   * @throws InputTypeError, ValueRangeError or UnsupportedError for a bad config (before any work).
   */
  async createModel(config: ModelConfig): Promise<Model> {
    const json = JSON.stringify(toCoreConfig(config));
    const handle = await this.bridge.call((s) => s.modelCreate(json));
    return new ModelImpl(this.bridge, handle.id, handle);
  }

  /**
   * Rebuilds a model saved with `model.save()` (config, weights, buffers, optimizer state).
   * @throws FormatError for bytes that are not a saved recur model.
   */
  async loadModel(bytes: Uint8Array): Promise<Model> {
    const copy = checkBytes(bytes);
    const handle = await this.bridge.call((s, ctx) => s.modelLoad(ctx.transfer(copy, [copy.buffer])));
    return new ModelImpl(this.bridge, handle.id, handle);
  }

  /**
   * Clips tensors by their global L2 norm (PyTorch's `clip_grad_norm_`): scales all of them by
   * `min(1, maxNorm / (norm + 1e-6))`. Resolves with new arrays and the norm before clipping
   * (0 for an empty list, as PyTorch's).
   */
  async clipGradNorm(tensors: TensorLike[], maxNorm: number): Promise<ClipNormResult> {
    const flat = flattenTensors(tensors, 'tensors', undefined, true);
    const max = checkNumber(maxNorm, 'maxNorm', 0);
    const sizes = Uint32Array.from(flat.shapes, (s) => s.reduce((a, b) => a * b, 1));
    const r = await this.bridge.call((s, ctx) => s.clipNorm(ctx.transfer(flat.data, [flat.data.buffer]), sizes, max));
    return { grads: splitTensors(r.grads, flat.shapes), totalNorm: r.totalNorm };
  }

  /** Clamps every element to `[-value, value]` (PyTorch's `clip_grad_value_`); resolves with new arrays. */
  async clipGradValue(tensors: TensorLike[], value: number): Promise<Tensor[]> {
    const flat = flattenTensors(tensors, 'tensors', undefined, true);
    const v = checkNumber(value, 'value', 0);
    const out = await this.bridge.call((s, ctx) => s.clipValue(ctx.transfer(flat.data, [flat.data.buffer]), v));
    return splitTensors(out, flat.shapes);
  }

  /**
   * A standalone optimizer over `tensors` (their initial values), e.g.
   * `createOptimizer({ type: 'sgd', lr: 0.1, momentum: 0.9 }, [w, b])`; `step(grads)` resolves
   * with the new values.
   */
  async createOptimizer(config: OptimizerConfig, tensors: TensorLike[]): Promise<Optimizer> {
    const json = optimizerToCore(config);
    const flat = flattenTensors(tensors, 'tensors');
    const shapesJson = JSON.stringify(flat.shapes);
    const id = await this.bridge.call((s, ctx) => s.optimizerCreate(json, shapesJson, ctx.transfer(flat.data, [flat.data.buffer])));
    return new OptimizerImpl(this.bridge, id, flat.shapes);
  }

  /** Stops the worker and frees everything. Later calls reject with `DisposedError`. */
  dispose(): Promise<void> {
    // (the calling thread's input buffers too: shared by the runtimes of this thread, kept again on demand)
    clearScratch();
    return this.bridge.dispose();
  }
}

function normalizeModules(m: WasmModuleInput | undefined): ServiceInitOptions['modules'] {
  if (m === undefined) return undefined;
  if (m instanceof WebAssembly.Module) return { simd: m, scalar: m };
  if (typeof m !== 'object' || m === null) throw new InputTypeError('wasm.module must be a WebAssembly.Module or { simd, scalar, threads, relaxed, ... }');
  const out: NonNullable<ServiceInitOptions['modules']> = {};
  for (const v of ['simd', 'scalar', 'threads', 'relaxed', 'relaxed-threads'] as const) {
    const mod = m[v];
    if (mod) out[v] = mod;
  }
  return out;
}
