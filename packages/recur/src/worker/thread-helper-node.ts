/**
 * A helper thread of the `threads` build in Node (`worker_threads`): receives the compiled
 * module, the shared memory and its pool index from the worker that owns the models,
 * instantiates the module on that memory, says so, and enters the pool's loop for good.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { initSync, threadMain } from '../../wasm/threads/recur_wasm.js';
import type { HelperInit } from '../loader/wasm.js';

if (parentPort === null) throw new Error('recur: thread-helper-node.js must run inside a worker thread');
const port = parentPort;
port.once('message', (init: HelperInit) => {
  try {
    initSync({ module: init.module, memory: init.memory });
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? e.message : String(e) });
    return;
  }
  port.postMessage({ ready: init.index });
  port.close();
  threadMain(init.index); // never returns
});
