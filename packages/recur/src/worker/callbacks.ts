/**
 * How the worker entries (`node-worker.ts`, `web-worker.ts`) hand values and callbacks across the
 * boundary: shared by both so that the comlink path and the lean `rpc.ts` channel transfer the
 * same buffers and release the same proxies.
 * @module
 */
import { releaseProxy, transfer } from 'comlink/dist/esm/comlink.mjs';
import { markTransfer } from './rpc.js';

/** Releases a comlink proxy the client sent (closes its port). */
export function releaseCallback(callback: unknown): void {
  const release = (callback as { [releaseProxy]?: () => void } | null)?.[releaseProxy];
  if (typeof release === 'function') release.call(callback);
}

/** Marks `list` for transfer on both channels: comlink's (`transfer`) and the lean one (`markTransfer`). */
export function transferOnBoth<T>(value: T, list: Transferable[]): T {
  return markTransfer(transfer(value, list), list);
}
