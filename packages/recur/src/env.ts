/**
 * Global flags, read when a runtime starts (as onnxruntime-web's `env`). Change them before the
 * first call; per-runtime options given to `createRecur()` take precedence.
 * @module
 */

/**
 * Which WebAssembly build to load: `simd` (simd128), `scalar` (no SIMD), or `threads` (simd128
 * with wasm threads: a shared memory and a pool of helper workers).
 */
export type WasmVariant = 'simd' | 'scalar' | 'threads';

/** A precompiled module for each variant, or one module (taken as the SIMD build unless told). */
export type WasmModuleInput =
  | WebAssembly.Module
  | {
      /** The SIMD build (`wasm/simd/recur_wasm_bg.wasm`). */
      simd?: WebAssembly.Module;
      /** The scalar build (`wasm/scalar/recur_wasm_bg.wasm`), for runtimes without SIMD. */
      scalar?: WebAssembly.Module;
      /** The threads build (`wasm/threads/recur_wasm_bg.wasm`), used when `numThreads > 1`. */
      threads?: WebAssembly.Module;
    };

/** Flags of the WebAssembly loader. */
export interface WasmFlags {
  /**
   * `undefined` (default): use the SIMD build when `WebAssembly.validate` accepts a SIMD module.
   * `false`: always load the scalar build. `true`: require the SIMD build (init fails with
   * `ERR_INIT` if the runtime lacks SIMD).
   */
  simd?: boolean;
  /**
   * Base URL of the folder holding `simd/` and `scalar/` (browsers, Deno). Defaults to the
   * package's own `wasm/` folder, resolved relative to `import.meta.url`.
   */
  wasmPaths?: string | URL;
  /**
   * Precompiled modules (required on workerd / Cloudflare Workers, where the `.wasm` is imported
   * as a module; optional elsewhere).
   */
  module?: WasmModuleInput;
  /** Milliseconds before init gives up with `ERR_INIT`; `0` or `undefined`: no limit. */
  initTimeout?: number;
  /**
   * Threads the worker that owns the models computes with: itself and `numThreads - 1` helper
   * workers sharing its memory. Products are split among them, with bitwise the same results
   * as one thread. `undefined` (default): `min(hardwareConcurrency, 4)` in a worker, 1
   * in-process. More than one needs SharedArrayBuffer and Atomics (Node, Deno; browsers only
   * when `crossOriginIsolated`), WebAssembly SIMD and threads, and a worker (an in-process
   * runtime's calling thread may not block); otherwise the runtime runs one thread on the
   * single-thread builds, and `init()` reports it (`threads`, `threadsFallback`).
   */
  numThreads?: number;
}

/** How the work is run. */
export type ExecutionMode = 'auto' | 'worker' | 'inprocess';

/** Flags of the worker bridge. */
export interface WorkerFlags {
  /**
   * `'auto'` (default): a Worker where the runtime has one, in-process otherwise (edge runtimes).
   * `'worker'`: always a Worker (fails with `ERR_WORKER` where there is none).
   * `'inprocess'`: run on the calling thread, in chunks that yield.
   */
  mode?: ExecutionMode;
}

/** The shape of {@link env}. */
export interface Env {
  /** Loader flags. */
  wasm: WasmFlags;
  /** Worker flags. */
  worker: WorkerFlags;
}

/** Global flags. Example: `env.wasm.simd = false` forces the scalar build. */
export const env: Env = { wasm: {}, worker: {} };
