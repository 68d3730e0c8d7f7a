/**
 * Browsers and Deno: a module Web Worker running `web-worker.js`, wrapped by comlink.
 * @module
 */
import { proxy, releaseProxy, transfer, wrap } from 'comlink/dist/esm/comlink.mjs';
import { WorkerError } from '../errors.js';
import type { Endpoint } from './endpoint.js';
import type { ServiceApi } from './protocol.js';
import './transfer-handlers.js';

/** True when this runtime has module Workers. */
export function hasWebWorker(): boolean {
  return typeof (globalThis as { Worker?: unknown }).Worker === 'function';
}

/** Starts a module Worker and wraps it. */
export function createWebWorkerEndpoint(): Endpoint {
  let worker: Worker;
  try {
    // Kept literal, so that bundlers (Vite, webpack 5) find and bundle the worker script.
    worker = new Worker(new URL('./web-worker.js', import.meta.url), { type: 'module', name: 'recur' });
  } catch (e) {
    throw new WorkerError(`Could not start the recur worker: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const remote = wrap<ServiceApi>(worker);
  let crashListener: ((e: WorkerError) => void) | undefined;
  let terminated = false;
  const crash = (message: string, cause?: unknown): void => {
    if (!terminated) crashListener?.(new WorkerError(message, { cause }));
  };
  worker.addEventListener('error', (ev: ErrorEvent) => {
    ev.preventDefault?.();
    crash(`The recur worker failed: ${ev.message || 'error event (the worker script may not have loaded)'}`, ev.error);
  });
  worker.addEventListener('messageerror', () => crash('A message from the recur worker could not be deserialized'));
  return {
    mode: 'worker',
    service: remote as unknown as ServiceApi,
    proxy: (fn) => proxy(fn) as typeof fn,
    transfer: (value, list) => transfer(value, list),
    onCrash: (listener) => {
      crashListener = listener;
    },
    ref: () => undefined,
    unref: () => undefined,
    terminate: async () => {
      terminated = true;
      remote[releaseProxy]();
      worker.terminate();
    },
  };
}
