/**
 * A helper thread of the threads builds (`threads`, `relaxed-threads`) in browsers and Deno (a
 * nested module Worker): receives the compiled module and which build it is, the shared memory
 * and its pool index, instantiates the module on that memory with that build's glue, says so,
 * and enters the pool's loop.
 * @module
 */
import * as threadsGlue from '../../wasm/threads/recur_wasm.js';
import * as relaxedThreadsGlue from '../../wasm/relaxed-threads/recur_wasm.js';
import type { HelperInit } from '../loader/wasm.js';

interface Scope {
  onmessage: ((ev: MessageEvent<HelperInit>) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as Scope;
scope.onmessage = (ev) => {
  scope.onmessage = null;
  const init = ev.data;
  const { initSync, threadMain } = init.variant === 'relaxed-threads' ? relaxedThreadsGlue : threadsGlue;
  try {
    initSync({ module: init.module, memory: init.memory });
  } catch (e) {
    scope.postMessage({ error: e instanceof Error ? e.message : String(e) });
    return;
  }
  scope.postMessage({ ready: init.index });
  threadMain(init.index); // never returns
};
