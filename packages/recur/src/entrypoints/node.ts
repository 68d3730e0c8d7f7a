/**
 * recur for Node 20+: a `worker_threads` Worker through comlink's node adapter; the wasm is read
 * from the package folder.
 * @module
 */
import { nodeSource } from '../loader/source-node.js';
import { createNodeWorkerEndpoint } from '../worker/endpoint-node.js';
import { spawnNodeHelper } from '../worker/helpers-node.js';
import { makeEntry } from './shared.js';

export * from '../public.js';

// In-process, Node's calling thread may block (`Atomics.wait`) while it waits for the helpers, so
// `numThreads > 1` runs the threads build there too.
const entry = makeEntry({ runtime: 'node', createWorker: createNodeWorkerEndpoint, hasWorker: () => true, source: nodeSource, inProcessHelpers: spawnNodeHelper });

/**
 * Creates a runtime: one worker thread (or in-process with `mode: 'inprocess'`, with helper threads
 * when `wasm.numThreads > 1`), started on first use.
 */
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
