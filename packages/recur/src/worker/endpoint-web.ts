/**
 * Browsers and Deno: a module Web Worker running `web-worker.js`, wrapped by comlink, with the
 * lean channel of `rpc.ts` for the calls without callbacks. From a package on another origin than
 * the page (a CDN), the worker starts from a same-origin `blob:` module that imports the script
 * ({@link crossOriginWorkerUrl}).
 * @module
 */
import { proxy, releaseProxy, transfer, wrap } from 'comlink/dist/esm/comlink.mjs';
import { WorkerError } from '../errors.js';
import type { Endpoint } from './endpoint.js';
import type { ServiceApi } from './protocol.js';
import { leanService, markLend, markTransfer, RpcClient } from './rpc.js';
import './transfer-handlers.js';

/** True when this runtime has module Workers. */
export function hasWebWorker(): boolean {
  return typeof (globalThis as { Worker?: unknown }).Worker === 'function';
}

/** `blob:` URLs made by {@link crossOriginWorkerUrl}, by script URL. */
const blobUrls = new Map<string, string>();

/**
 * Where to start a module worker whose script is `script`. Browsers start workers from scripts of
 * the page's own origin only; when `script` is on another origin (the package served from a CDN),
 * this returns a same-origin `blob:` module whose only line is `import '<script>'`: a module
 * worker may import a cross-origin script where CORS allows it (the server sends
 * `Access-Control-Allow-Origin`). The imported script keeps its own `import.meta.url`, so what it
 * resolves against it (the helper workers' script, the `.wasm` files) still comes from that origin.
 *
 * `undefined` (start from `script` itself) when it is on the page's origin, is not `http(s):`, or
 * there is no origin to compare with (Deno without `--location`). One `blob:` URL per script,
 * kept for the realm's lifetime (a few bytes; later workers reuse it). In a worker started from a
 * `blob:` URL, `location.origin` is still the page's, so nested workers (the thread helpers) take
 * the same path.
 */
export function crossOriginWorkerUrl(script: URL): string | undefined {
  let origin: string | undefined;
  try {
    origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  } catch {
    return undefined; // Deno without --location: `location` throws
  }
  if (origin === undefined || (script.protocol !== 'http:' && script.protocol !== 'https:') || script.origin === origin) return undefined;
  if (typeof Blob !== 'function' || typeof URL.createObjectURL !== 'function') return undefined;
  let url = blobUrls.get(script.href);
  if (url === undefined) {
    url = URL.createObjectURL(new Blob([`import ${JSON.stringify(script.href)};\n`], { type: 'text/javascript' }));
    blobUrls.set(script.href, url);
  }
  return url;
}

/** What to add to a worker's load error when it was started through a `blob:` module. */
export function crossOriginHint(script: URL): string {
  return ` (${script.origin} is another origin: it must send Access-Control-Allow-Origin, and Cross-Origin-Resource-Policy: cross-origin on cross-origin isolated pages)`;
}

/** Starts a module Worker and wraps it. */
export function createWebWorkerEndpoint(): Endpoint {
  let worker: Worker;
  // Not the literal form below (bundlers would take this for an asset): only read for its origin.
  const script = new URL('web-worker.js', String(import.meta.url));
  const viaBlob = crossOriginWorkerUrl(script);
  try {
    worker =
      viaBlob !== undefined
        ? new Worker(viaBlob, { type: 'module', name: 'recur' })
        : // Kept literal, so that bundlers (Vite, webpack 5) find and bundle the worker script.
          new Worker(new URL('./web-worker.js', import.meta.url), { type: 'module', name: 'recur' });
  } catch (e) {
    throw new WorkerError(`Could not start the recur worker: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const remote = wrap<ServiceApi>(worker);
  const rpc = new RpcClient({ postMessage: (m, t) => worker.postMessage(m, t), listen: (h) => worker.addEventListener('message', (ev) => h(ev.data)) });
  let crashListener: ((e: WorkerError) => void) | undefined;
  let terminated = false;
  const crash = (message: string, cause?: unknown): void => {
    if (!terminated) crashListener?.(new WorkerError(message, { cause }));
  };
  worker.addEventListener('error', (ev: ErrorEvent) => {
    ev.preventDefault?.();
    const hint = viaBlob !== undefined ? crossOriginHint(script) : '';
    crash(`The recur worker failed: ${ev.message || 'error event (the worker script may not have loaded)'}${hint}`, ev.error);
  });
  worker.addEventListener('messageerror', () => crash('A message from the recur worker could not be deserialized'));
  return {
    mode: 'worker',
    service: leanService(remote as unknown as ServiceApi, rpc),
    proxy: (fn) => proxy(fn) as typeof fn,
    transfer: (value, list) => markTransfer(transfer(value, list), list),
    lend: (value, list) => markLend(transfer(value, list), list as ArrayBuffer[]),
    onCrash: (listener) => {
      crashListener = listener;
    },
    ref: () => undefined,
    unref: () => undefined,
    terminate: async () => {
      terminated = true;
      remote[releaseProxy]();
      rpc.close();
      worker.terminate();
    },
  };
}
