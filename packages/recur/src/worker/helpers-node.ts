/**
 * Node: helper threads of the `threads` build, as `worker_threads` Workers (unref'd: a helper
 * never keeps the process alive; it ends with the worker that started it).
 * @module
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HelperSpawner } from '../loader/wasm.js';
import { defaultThreadCount } from './service.js';

/** Starts one helper and resolves once it has instantiated the module. */
export const spawnNodeHelper: HelperSpawner = (init) =>
  new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = new Worker(new URL('./thread-helper-node.js', import.meta.url), { name: `recur-thread-${init.index}` });
    } catch (e) {
      reject(e);
      return;
    }
    worker.unref();
    const fail = (e: unknown): void => {
      void worker.terminate();
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    worker.once('error', fail);
    worker.once('exit', (code) => reject(new Error(`helper thread ${init.index} exited (code ${code})`)));
    worker.once('message', (m: { ready?: number; error?: string }) => {
      if (m.ready === init.index) resolve({ terminate: () => void worker.terminate() });
      else fail(new Error(`helper thread ${init.index} failed: ${m.error ?? 'unexpected message'}`));
    });
    worker.postMessage(init);
  });

/** `min(os.availableParallelism(), 4)`. */
export const nodeDefaultThreads = (): number => defaultThreadCount(availableParallelism());
