/**
 * Browsers and Deno: helper threads of the threads builds, as nested module Workers (they end
 * with the worker that started them). From another origin than the page's, through a `blob:`
 * module, as the worker itself ({@link crossOriginWorkerUrl}).
 * @module
 */
import type { HelperSpawner } from '../loader/wasm.js';
import { crossOriginHint, crossOriginWorkerUrl } from './endpoint-web.js';
import { defaultThreadCount } from './service.js';

/**
 * Starts helper `index` at once; posts it the module and memory when `init` resolves, and
 * resolves once it has instantiated the module.
 */
export const spawnWebHelper: HelperSpawner = (index, init) =>
  new Promise((resolve, reject) => {
    let worker: Worker;
    // Read for its origin only (not the literal form: bundlers would take it for an asset).
    const script = new URL('thread-helper-web.js', String(import.meta.url));
    // From another origin than the page's (a CDN): a same-origin blob: module importing it.
    const viaBlob = crossOriginWorkerUrl(script);
    const name = `recur-thread-${index}`;
    try {
      worker =
        viaBlob !== undefined
          ? new Worker(viaBlob, { type: 'module', name })
          : // Kept literal, so that bundlers find and bundle the helper script.
            new Worker(new URL('./thread-helper-web.js', import.meta.url), { type: 'module', name });
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
      const hint = viaBlob !== undefined ? crossOriginHint(script) : '';
      fail(new Error(`helper thread ${index} failed: ${ev.message || 'error event (the script may not have loaded)'}${hint}`));
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
