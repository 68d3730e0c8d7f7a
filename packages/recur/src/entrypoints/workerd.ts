/**
 * recur for workerd / Cloudflare Workers and other edge runtimes without workers: the service
 * runs in-process, in steps that yield. These runtimes cannot fetch or read the `.wasm` at run
 * time: import it as a precompiled module and pass it in.
 *
 * ```ts
 * import { createRecur } from 'recur';
 * import simd from 'recur/wasm/simd/recur_wasm_bg.wasm';
 * const recur = createRecur({ wasm: { module: { simd } } });
 * ```
 * @module
 */
import { InitError } from '../errors.js';
import type { WasmSource } from '../loader/sources.js';
import { makeEntry } from './shared.js';

export * from '../public.js';

const noModule: WasmSource = async () => {
  throw new InitError(
    "On workerd the wasm must be passed in: import wasm from 'recur/wasm/simd/recur_wasm_bg.wasm' and call " +
      'createRecur({ wasm: { module: { simd: wasm } } }) (or set env.wasm.module)',
    { details: { reason: 'no-module' } },
  );
};

const entry = makeEntry({ runtime: 'workerd', hasWorker: () => false, source: noModule });

/** Creates a runtime (in-process). Pass the precompiled module as `wasm.module`. */
export const createRecur = entry.createRecur;
/** Starts the default runtime (needs `env.wasm.module`) and loads the wasm. */
export const init = entry.init;
/** The version of the bundled WebAssembly core (from the default runtime). */
export const version = entry.version;
/** Disposes the default runtime. */
export const dispose = entry.dispose;
/** Builds a model on the default runtime (see `Recur.createModel`). */
export const createModel = entry.createModel;
/** Rebuilds a saved model on the default runtime (see `Recur.loadModel`). */
export const loadModel = entry.loadModel;
/** Clips tensors by global L2 norm on the default runtime (see `Recur.clipGradNorm`). */
export const clipGradNorm = entry.clipGradNorm;
/** Clamps tensors elementwise on the default runtime (see `Recur.clipGradValue`). */
export const clipGradValue = entry.clipGradValue;
/** A standalone optimizer on the default runtime (see `Recur.createOptimizer`). */
export const createOptimizer = entry.createOptimizer;
