/**
 * An endpoint is one running service as the client sees it: a Worker wrapped by comlink (and the
 * lean channel of `rpc.ts`), or the service object itself (in-process).
 * @module
 */
import type { WorkerError } from '../errors.js';
import type { ServiceApi } from './protocol.js';
import type { TransferFn } from './service.js';

/** One running service. */
export interface Endpoint {
  /** Where the service runs. */
  readonly mode: 'worker' | 'inprocess';
  /** The service's methods (comlink remote or the object itself). */
  readonly service: ServiceApi;
  /** Wraps a callback so the service can call it (comlink `proxy` across a worker). */
  proxy<F extends (...args: any[]) => any>(fn: F): F;
  /** Marks buffers for transfer (comlink `transfer` across a worker). */
  transfer: TransferFn;
  /**
   * Marks SDK-owned buffers for transfer that the service only reads during the call: across a
   * worker they come back with the reply, for the next call's inputs (`scratch.ts`).
   */
  lend: TransferFn;
  /** Registers the one listener told when the worker dies or fails to start. */
  onCrash(listener: (error: WorkerError) => void): void;
  /** Keeps the process alive while calls are pending (Node); no-op elsewhere. */
  ref(): void;
  /** Lets the process exit while idle (Node); no-op elsewhere. */
  unref(): void;
  /** Stops the worker and frees the service. */
  terminate(): Promise<void>;
}

/** Creates an endpoint (a new worker, or a new in-process service). */
export type EndpointFactory = () => Endpoint;
