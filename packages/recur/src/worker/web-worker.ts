/**
 * The worker script for browsers and Deno: exposes one {@link RecurService} through comlink.
 * @module
 */
import { expose, releaseProxy, transfer } from 'comlink/dist/esm/comlink.mjs';
import { webSource } from '../loader/sources.js';
import { spawnWebHelper, webDefaultThreads } from './helpers-web.js';
import { RecurService } from './service.js';
import './transfer-handlers.js';

/** Releases a comlink proxy the client sent (closes its port). */
function releaseCallback(callback: unknown): void {
  const release = (callback as { [releaseProxy]?: () => void } | null)?.[releaseProxy];
  if (typeof release === 'function') release.call(callback);
}

expose(
  new RecurService({
    source: webSource,
    transfer: (value, list) => transfer(value, list),
    release: releaseCallback,
    spawnHelper: spawnWebHelper,
    defaultThreads: webDefaultThreads,
  }),
);
