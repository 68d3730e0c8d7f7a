/**
 * A helper thread of the threads builds (`threads`, `relaxed-threads`) in Node (`worker_threads`):
 * receives the compiled module and which build it is, the shared memory and its pool index from
 * the worker that owns the models, instantiates the module on that memory with that build's
 * glue, says so, and enters the pool's loop for good.
 * @module
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import * as threadsGlue from '../../wasm/threads/recur_wasm.js';
import * as relaxedThreadsGlue from '../../wasm/relaxed-threads/recur_wasm.js';
import type { HelperInit } from '../loader/wasm.js';

if (parentPort === null) throw new Error('recur: thread-helper-node.js must run inside a worker thread');
// Started by the service's worker: its parent port; started by the client next to that worker
// (`prestartNode`): a port to the service, in `workerData`.
const port: MessagePort = (workerData as { port?: MessagePort } | null)?.port ?? parentPort;
port.once('message', (init: HelperInit) => {
  const { initSync, threadMain } = init.variant === 'relaxed-threads' ? relaxedThreadsGlue : threadsGlue;
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
