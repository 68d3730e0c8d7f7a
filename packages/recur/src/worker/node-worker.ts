/**
 * The worker script for Node (`worker_threads`): serves one {@link RecurService} on its port,
 * through comlink's node adapter and the lean channel of `rpc.ts`.
 * @module
 */
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink/dist/esm/comlink.mjs';
import { releaseCallback, transferOnBoth } from './callbacks.js';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { nodeSource } from '../loader/source-node.js';
import { nodeDefaultThreads, nodeHelperOnPort, spawnNodeHelper } from './helpers-node.js';
import { serveRpc } from './rpc.js';
import { RecurService } from './service.js';
// Imported for its side effect: registers comlink's error handlers (listed under "sideEffects" in
// package.json, so that bundlers keep it).
import './transfer-handlers.js';

if (parentPort === null) throw new Error('recur: node-worker.js must run inside a worker thread');
const port = parentPort;
const service = new RecurService({
  source: nodeSource,
  transfer: transferOnBoth,
  release: releaseCallback,
  spawnHelper: spawnNodeHelper,
  helperOnPort: nodeHelperOnPort,
  defaultThreads: nodeDefaultThreads,
});
expose(service, nodeEndpoint(port as never));
serveRpc({ postMessage: (m, t) => port.postMessage(m, t as never), listen: (h) => port.on('message', h) }, service);
