/**
 * Builds an entry point's `createRecur` and default-runtime functions from its {@link Platform}.
 * @module
 */
import { Recur, type Platform, type RecurOptions } from '../recur.js';
import type { ClipNormResult, Model, ModelConfig, Optimizer, OptimizerConfig } from '../model-api.js';
import type { Tensor, TensorLike } from '../tensor.js';
import type { RuntimeInfo } from '../worker/protocol.js';

/** The functions every entry point exports besides the shared ones. */
export interface EntryApi {
  /** Creates a runtime (one worker, started on first use). */
  createRecur(options?: RecurOptions): Recur;
  /** Starts the default runtime and loads the wasm. */
  init(): Promise<RuntimeInfo>;
  /** The version of the bundled WebAssembly core, from the default runtime. */
  version(): Promise<string>;
  /** Disposes the default runtime (a later call starts a new one). */
  dispose(): Promise<void>;
  /** {@link Recur.createModel} on the default runtime. */
  createModel(config: ModelConfig): Promise<Model>;
  /** {@link Recur.loadModel} on the default runtime. */
  loadModel(bytes: Uint8Array): Promise<Model>;
  /** {@link Recur.clipGradNorm} on the default runtime. */
  clipGradNorm(tensors: TensorLike[], maxNorm: number): Promise<ClipNormResult>;
  /** {@link Recur.clipGradValue} on the default runtime. */
  clipGradValue(tensors: TensorLike[], value: number): Promise<Tensor[]>;
  /** {@link Recur.createOptimizer} on the default runtime. */
  createOptimizer(config: OptimizerConfig, tensors: TensorLike[]): Promise<Optimizer>;
}

/** Makes the entry point API for a platform. */
export function makeEntry(platform: Platform): EntryApi {
  let fallback: Recur | undefined;
  const get = (): Recur => (fallback ??= new Recur(platform));
  return {
    createRecur: (options) => new Recur(platform, options),
    init: () => get().init(),
    version: () => get().version(),
    createModel: (config) => get().createModel(config),
    loadModel: (bytes) => get().loadModel(bytes),
    clipGradNorm: (tensors, maxNorm) => get().clipGradNorm(tensors, maxNorm),
    clipGradValue: (tensors, value) => get().clipGradValue(tensors, value),
    createOptimizer: (config, tensors) => get().createOptimizer(config, tensors),
    dispose: async () => {
      const r = fallback;
      fallback = undefined;
      await r?.dispose();
    },
  };
}
