/**
 * The in-process endpoint: the service on the calling thread, behind the same async interface
 * (for edge runtimes without workers, or `mode: 'inprocess'`). Long calls still run in steps that
 * yield, so the caller's event loop keeps turning between steps.
 * @module
 */
import type { WasmSource } from '../loader/sources.js';
import type { HelperSpawner } from '../loader/wasm.js';
import type { Endpoint } from './endpoint.js';
import { RecurService } from './service.js';

/**
 * Creates an in-process endpoint whose wasm comes from `source`. With `spawnHelper` (runtimes
 * whose calling thread may block while it waits for helper threads: Node), `numThreads > 1`
 * runs the threads build with helper workers, as a worker does; without it, one thread.
 */
export function createInProcessEndpoint(source: WasmSource, spawnHelper?: HelperSpawner): Endpoint {
  const service = new RecurService({ source, transfer: (value) => value, ...(spawnHelper === undefined ? {} : { spawnHelper }) });
  return {
    mode: 'inprocess',
    service,
    proxy: (fn) => fn,
    transfer: (value) => value,
    lend: (value) => value,
    onCrash: () => undefined,
    ref: () => undefined,
    unref: () => undefined,
    terminate: async () => undefined,
  };
}
