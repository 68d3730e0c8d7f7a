/**
 * The interface between the client (calling thread) and the service (worker or in-process).
 * Everything here is plain data that survives structured clone.
 * @module
 */
import type { ExecutionMode, WasmVariant } from '../env.js';
import type { RuntimeName } from '../runtime.js';

/** Options sent to the service's `init`. */
export interface ServiceInitOptions {
  /** Force (`true`/`false`) or auto-detect (`undefined`) the SIMD build. */
  simd?: boolean | undefined;
  /** Base URL of the wasm folder (browsers, Deno). */
  wasmPaths?: string | undefined;
  /** Precompiled modules, if the caller has them. */
  modules?: { simd?: WebAssembly.Module; scalar?: WebAssembly.Module } | undefined;
  /** Milliseconds before init gives up. */
  initTimeout?: number | undefined;
}

/** What a runtime reports once its wasm is loaded. */
export interface RuntimeInfo {
  /** The version of the wasm bindings (`recur-wasm`, and so of the bundled core). */
  version: string;
  /** The build that was loaded. */
  variant: WasmVariant;
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

/** Options of the `busy` diagnostic. */
export interface BusyOptions {
  /** Number of steps. */
  steps: number;
  /** Milliseconds of synchronous work per step (a stand-in for one training batch). */
  stepMs: number;
}

/** A progress callback; across a worker it is a comlink proxy (its result is not awaited). */
export type ProgressCallback<P> = (progress: P) => void | Promise<void>;

/** The service's methods, as the client calls them (always async). */
export interface ServiceApi {
  /** Loads the wasm (once) and reports the runtime. */
  init(options: ServiceInitOptions): Promise<Omit<RuntimeInfo, 'mode'>>;
  /** The version string of the wasm bindings. */
  version(): Promise<string>;
  /** Diagnostic: returns the array it was given (transferred both ways across a worker). */
  echo(data: Float32Array): Promise<Float32Array>;
  /** Diagnostic: a long call made of `steps` blocking steps, abortable between steps. */
  busy(callId: number, options: BusyOptions, onProgress?: ProgressCallback<ChunkProgress>): Promise<ChunkProgress>;
  /** Diagnostic: how many `busy` steps have completed in this service since it started. */
  busyCounter(): Promise<number>;
  /**
   * Diagnostic: throws the error of `code` inside the service, either as a {@link RecurError}
   * or, with `asPlainObject`, as the wasm bindings throw (`{ code, message }`).
   */
  raise(code: string, message: string, details?: Record<string, unknown>, asPlainObject?: boolean): Promise<never>;
  /** Asks the call `callId` to stop at its next step boundary. */
  abort(callId: number): Promise<void>;
}
