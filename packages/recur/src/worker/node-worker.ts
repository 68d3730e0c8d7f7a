/**
 * The worker script for Node (`worker_threads`): serves one {@link RecurService} on its port,
 * through comlink's node adapter and the lean channel of `rpc.ts`.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { expose, releaseProxy, transfer } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { nodeSource } from '../loader/source-node.js';
import { nodeDefaultThreads, nodeHelperOnPort, spawnNodeHelper } from './helpers-node.js';
import { markTransfer, serveRpc } from './rpc.js';
import { RecurService } from './service.js';
// A bare import for its side effect (comlink's error handlers): importing names from it instead let
// the production browser bundle drop the registration (package "sideEffects": false).
import './transfer-handlers.js';

/** Releases a comlink proxy the client sent (closes its port). */
function releaseCallback(callback: unknown): void {
  const release = (callback as { [releaseProxy]?: () => void } | null)?.[releaseProxy];
  if (typeof release === 'function') release.call(callback);
}

if (parentPort === null) throw new Error('recur: node-worker.js must run inside a worker thread');
const port = parentPort;
const service = new RecurService({
  source: nodeSource,
  transfer: (value, list) => markTransfer(transfer(value, list), list),
  release: releaseCallback,
  spawnHelper: spawnNodeHelper,
  helperOnPort: nodeHelperOnPort,
  defaultThreads: nodeDefaultThreads,
});
expose(service, nodeEndpoint(port as never));
serveRpc({ postMessage: (m, t) => port.postMessage(m, t as never), listen: (h) => port.on('message', h) }, service);
