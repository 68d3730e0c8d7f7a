/**
 * The worker script for browsers and Deno: serves one {@link RecurService} through comlink and the
 * lean channel of `rpc.ts`.
 * @module
 */
import { expose, releaseProxy, transfer } from 'comlink/dist/esm/comlink.mjs';
import { webSource } from '../loader/sources.js';
import { spawnWebHelper, webDefaultThreads } from './helpers-web.js';
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

const service = new RecurService({
  source: webSource,
  transfer: (value, list) => markTransfer(transfer(value, list), list),
  release: releaseCallback,
  spawnHelper: spawnWebHelper,
  defaultThreads: webDefaultThreads,
});
expose(service);
const scope = globalThis as unknown as { postMessage(m: unknown, t: Transferable[]): void; addEventListener(type: 'message', l: (ev: MessageEvent) => void): void };
serveRpc({ postMessage: (m, t) => scope.postMessage(m, t), listen: (h) => scope.addEventListener('message', (ev) => h(ev.data)) }, service);
