/**
 * recur for browser. Browsers: a module Web Worker; the wasm is fetched by URL relative to this package (bundlers copy it).
 * @module
 */
import { webSource } from '../loader/sources.js';
import { createWebWorkerEndpoint, hasWebWorker } from '../worker/endpoint-web.js';
import { makeEntry } from './shared.js';

export * from '../public.js';

const entry = makeEntry({ runtime: 'browser', createWorker: createWebWorkerEndpoint, hasWorker: hasWebWorker, source: webSource });

/** Creates a runtime: one service (a Worker where there is one), started on first use. */
export const createRecur = entry.createRecur;
/** Starts the default runtime and loads the wasm; resolves with what was loaded where. */
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
