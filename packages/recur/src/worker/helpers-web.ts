/**
 * Browsers and Deno: helper threads of the threads builds, as nested module Workers (they end
 * with the worker that started them).
 * @module
 */
import type { HelperSpawner } from '../loader/wasm.js';
import { defaultThreadCount } from './service.js';

/**
 * Starts helper `index` at once; posts it the module and memory when `init` resolves, and
 * resolves once it has instantiated the module.
 */
export const spawnWebHelper: HelperSpawner = (index, init) =>
  new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      // Kept literal, so that bundlers find and bundle the helper script.
      worker = new Worker(new URL('./thread-helper-web.js', import.meta.url), { type: 'module', name: `recur-thread-${index}` });
    } catch (e) {
      reject(e);
      return;
    }
    const fail = (e: unknown): void => {
      worker.terminate();
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    worker.addEventListener('error', (ev: ErrorEvent) => {
      ev.preventDefault?.();
      fail(new Error(`helper thread ${index} failed: ${ev.message || 'error event (the script may not have loaded)'}`));
    });
    worker.addEventListener('message', (ev: MessageEvent<{ ready?: number; error?: string }>) => {
      if (ev.data?.ready === index) resolve({ terminate: () => worker.terminate() });
      else fail(new Error(`helper thread ${index} failed: ${ev.data?.error ?? 'unexpected message'}`));
    });
    init.then((i) => worker.postMessage(i), fail);
  });

/** `min(navigator.hardwareConcurrency, 4)`. */
export const webDefaultThreads = (): number =>
  defaultThreadCount((globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency);
