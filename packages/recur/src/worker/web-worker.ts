/**
 * The worker script for browsers and Deno: serves one {@link RecurService} through comlink and the
 * lean channel of `rpc.ts`.
 * @module
 */
import { expose } from 'comlink/dist/esm/comlink.mjs';
import { releaseCallback, transferOnBoth } from './callbacks.js';
import { webSource } from '../loader/sources.js';
import { spawnWebHelper, webDefaultThreads } from './helpers-web.js';
import { serveRpc } from './rpc.js';
import { RecurService } from './service.js';
// Imported for its side effect: registers comlink's error handlers (listed under "sideEffects" in
// package.json, so that bundlers keep it).
import './transfer-handlers.js';

const service = new RecurService({
  source: webSource,
  transfer: transferOnBoth,
  release: releaseCallback,
  spawnHelper: spawnWebHelper,
  defaultThreads: webDefaultThreads,
});
expose(service);
const scope = globalThis as unknown as { postMessage(m: unknown, t: Transferable[]): void; addEventListener(type: 'message', l: (ev: MessageEvent) => void): void };
serveRpc({ postMessage: (m, t) => scope.postMessage(m, t), listen: (h) => scope.addEventListener('message', (ev) => h(ev.data)) }, service);
