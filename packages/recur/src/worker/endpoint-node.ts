/**
 * Node: a `worker_threads` Worker running `node-worker.js`, wrapped by comlink through its node
 * adapter, with the lean channel of `rpc.ts` for the calls without callbacks. The worker is
 * `unref`'d while idle, so a script that forgets `dispose()` still exits.
 * @module
 */
import { Worker } from 'node:worker_threads';
import { proxy, releaseProxy, transfer, wrap } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { WorkerError } from '../errors.js';
import type { Endpoint } from './endpoint.js';
import { prestartNode } from './helpers-node.js';
import type { ServiceApi, ServiceInitOptions } from './protocol.js';
import { leanService, markLend, markTransfer, RpcClient } from './rpc.js';
import './transfer-handlers.js';

/** Starts a worker thread and wraps it. */
export function createNodeWorkerEndpoint(): Endpoint {
  let worker: Worker;
  try {
    worker = new Worker(new URL('./node-worker.js', import.meta.url), { name: 'recur' });
  } catch (e) {
    throw new WorkerError(`Could not start the recur worker thread: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  worker.unref();
  const remote = wrap<ServiceApi>(nodeEndpoint(worker as never));
  // While the worker boots, this thread compiles the wasm and starts the helper workers
  // (prestartNode); init hands both to the service.
  const helpers: Worker[] = [];
  const init = async (options: ServiceInitOptions): ReturnType<ServiceApi['init']> => {
    const pre = await prestartNode(options);
    if (pre === undefined) return remote.init(options);
    helpers.push(...pre.helpers);
    return remote.init(transfer(pre.options, pre.ports as unknown as Transferable[]));
  };
  const rpc = new RpcClient({ postMessage: (m, t) => worker.postMessage(m, t as never), listen: (h) => worker.on('message', h) });
  const service = leanService(remote as unknown as ServiceApi, rpc, init);
  let crashListener: ((e: WorkerError) => void) | undefined;
  let terminated = false;
  worker.on('error', (e: Error) => {
    if (!terminated) crashListener?.(new WorkerError(`The recur worker thread failed: ${e.message}`, { cause: e }));
  });
  worker.on('exit', (code: number) => {
    if (!terminated) crashListener?.(new WorkerError(`The recur worker thread exited (code ${code})`, { details: { exitCode: code } }));
  });
  return {
    mode: 'worker',
    service,
    proxy: (fn) => proxy(fn) as typeof fn,
    transfer: (value, list) => markTransfer(transfer(value, list), list),
    lend: (value, list) => markLend(transfer(value, list), list as ArrayBuffer[]),
    onCrash: (listener) => {
      crashListener = listener;
    },
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    terminate: async () => {
      terminated = true;
      remote[releaseProxy]();
      rpc.close();
      await Promise.all([worker.terminate(), ...helpers.map((h) => h.terminate())]);
    },
  };
}
