/**
 * Global flags, read when a runtime starts (as onnxruntime-web's `env`). Change them before the
 * first call; per-runtime options given to `createRecur()` take precedence.
 * @module
 */

/**
 * Which WebAssembly build to load:
 * - `relaxed-threads`: relaxed SIMD (`f32x4.relaxed_madd`, a fused multiply-add where the CPU has
 *   one) with wasm threads;
 * - `threads`: simd128 with wasm threads (a shared memory and a pool of helper workers);
 * - `relaxed`: relaxed SIMD, one thread;
 * - `simd`: simd128, one thread;
 * - `scalar`: no SIMD, for runtimes without it.
 *
 * By default the loader picks the first of these the runtime can run, in that order (threads
 * only when more than one thread is to run), by feature detection with `WebAssembly.validate`.
 * `simd`, `threads` and `scalar` compute bitwise the same results (whatever the thread count);
 * the relaxed builds round the products' multiply-adds once instead of twice where the CPU has
 * FMA, so their results differ from those in the last bits (well inside the PyTorch
 * conformance tolerances), and `relaxed` and `relaxed-threads` agree bitwise with each other.
 */
export type WasmVariant = 'simd' | 'scalar' | 'threads' | 'relaxed' | 'relaxed-threads';

/** Every build variant, in the order the loader prefers them. */
export const WASM_VARIANTS: readonly WasmVariant[] = ['relaxed-threads', 'threads', 'relaxed', 'simd', 'scalar'];

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
      /** The relaxed-SIMD build (`wasm/relaxed/recur_wasm_bg.wasm`), where relaxed SIMD validates. */
      relaxed?: WebAssembly.Module;
      /** The relaxed-SIMD threads build (`wasm/relaxed-threads/recur_wasm_bg.wasm`). */
      'relaxed-threads'?: WebAssembly.Module;
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
   * `undefined` (default): use a relaxed-SIMD build (`relaxed`, `relaxed-threads`) when
   * `WebAssembly.validate` accepts a module with `f32x4.relaxed_madd` (Chromium, Deno, Node 22+;
   * Node 20 only with `--experimental-wasm-relaxed-simd`). `false`: never (results then match
   * the `simd` build bitwise). `true`: require it (init fails with `ERR_INIT` without it).
   */
  relaxedSimd?: boolean;
  /**
   * Forces one build instead of feature detection: `'relaxed-threads'`, `'threads'`,
   * `'relaxed'`, `'simd'` or `'scalar'` (`'auto'` or `undefined`: detect). A forced build the
   * runtime cannot run fails init with `ERR_INIT` (never a silent fallback). A threads build runs
   * `numThreads` threads (one is allowed, with no helper); a single-thread build runs one, and
   * `init()` reports why in `threadsFallback` when more were asked for. Examples:
   * `env.wasm.variant = 'scalar'`, `createRecur({ wasm: { variant: 'relaxed', numThreads: 1 } })`.
   */
  variant?: WasmVariant | 'auto';
  /**
   * Base URL of the folder holding the builds' folders (`simd/`, `scalar/`, `threads/`,
   * `relaxed/`, `relaxed-threads/`) (browsers, Deno). Defaults to the
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
   * Threads the thread that owns the models (the worker, or in-process the calling thread)
   * computes with: itself and `numThreads - 1` helper workers sharing its memory. Products are
   * split among them, with bitwise the same results as one thread. `undefined` (default):
   * `min(hardwareConcurrency, 4)` in a worker, 1 in-process. More than one needs
   * SharedArrayBuffer and Atomics (Node, Deno; browsers only when `crossOriginIsolated`),
   * WebAssembly SIMD and threads, and an owning thread that may block while it waits for the
   * helpers: a worker, or in-process Node's calling thread (in-process elsewhere, e.g. a
   * browser page's main thread, the runtime runs one thread); otherwise the runtime runs one
   * thread on the single-thread builds, and `init()` reports it (`threads`, `threadsFallback`).
   */
  numThreads?: number;
  /**
   * Milliseconds the helper threads keep spinning (busy-waiting) for the next call before they
   * go to sleep, from 0 to 1000 (`undefined`: about 0.04). Only with more than one thread. A
   * sleeping helper takes time to wake (tens of microseconds, up to about a millisecond on a
   * busy or virtual machine), which a call of a millisecond or less feels; calls that come
   * back to back within `idleSpinMs` find the helpers awake, at the cost of cores kept busy
   * between the calls (as ONNX Runtime's thread pool does by default). It pays where the calls
   * run on the calling thread (`mode: 'inprocess'` in Node); with a worker on a machine with
   * few cores, helpers spinning through the reply's message hops mostly cost time. One setting
   * per loaded threads build: per worker, or per process in-process.
   */
  idleSpinMs?: number;
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

/**
 * Global flags. Examples: `env.wasm.simd = false` forces the scalar build,
 * `env.wasm.relaxedSimd = false` keeps the results bitwise those of the simd build,
 * `env.wasm.variant = 'threads'` forces the threads build.
 */
export const env: Env = { wasm: {}, worker: {} };
