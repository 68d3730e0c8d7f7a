/**
 * The bridge: one service (worker or in-process) per {@link ServiceBridge}, started lazily on the
 * first call, initialized once, with calls queued one after another (as squoosh's worker bridge).
 *
 * Abort: each call may carry an `AbortSignal`. A call still waiting in the queue rejects at once
 * and is never sent. A running call is asked to stop (`service.abort(callId)`, sent around the
 * queue); the service stops at its next step boundary and rejects with `AbortError`, so the
 * state is that of the last completed step. Unlike squoosh, the worker is not terminated: it
 * holds the models.
 * @module
 */
import { AbortError, DisposedError, RecurError, toRecurError, type WorkerError } from '../errors.js';
import type { Endpoint, EndpointFactory } from './endpoint.js';
import { recycle } from '../scratch.js';
import { poolWaker } from './pool-wake.js';
import type { RuntimeInfo, ServiceApi, ServiceInitOptions } from './protocol.js';
import type { TransferFn } from './service.js';

/** What a call receives besides the service. */
export interface CallContext {
  /** The id the service knows this call by (for `abort`). */
  callId: number;
  /** Wraps a callback for the service (comlink `proxy` across a worker). */
  proxy<F extends (...args: any[]) => any>(fn: F): F;
  /** Marks buffers for transfer. */
  transfer: TransferFn;
  /** Marks SDK-owned buffers for transfer that come back after the call (see {@link Endpoint.lend}). */
  lend: TransferFn;
}

/** Options of one call. */
export interface CallOptions {
  /** Cancels the call. */
  signal?: AbortSignal | undefined;
}

interface Running {
  endpoint: Endpoint;
  info: Promise<RuntimeInfo>;
  /** Wakes the service's compute threads from this thread (threads builds; see pool-wake.ts). */
  wakePool?: () => void;
  /** Rejecters of the calls now running, told when the service crashes. */
  crashListeners: Set<(e: WorkerError) => void>;
  /** The crash, once it happened. */
  crash?: WorkerError;
}

/** A lazily started, queued, abortable connection to one service. */
export class ServiceBridge {
  private running: Running | undefined;
  private initFailure: RecurError | undefined;
  private tail: Promise<unknown> = Promise.resolve();
  private nextCallId = 1;
  private pending = 0;
  private disposed = false;
  private readonly disposeListeners = new Set<(e: DisposedError) => void>();

  /**
   * @param factory - starts the endpoint (called on first use, and again after a crash).
   * @param initOptions - sent to the service's `init`.
   */
  constructor(
    private readonly factory: EndpointFactory,
    private readonly initOptions: ServiceInitOptions,
  ) {}

  /**
   * Wakes the service's sleeping compute threads now, for a compute call just sent, so that their
   * wake-up overlaps the message hop and the worker's unpacking of the call (threads builds
   * across a worker; nothing otherwise, or before the service has started).
   */
  wakePool(): void {
    this.running?.wakePool?.();
  }

  /** True once {@link dispose} was called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Starts the service and loads the wasm, if not done yet. Rethrows an earlier init failure. */
  start(): Promise<RuntimeInfo> {
    if (this.disposed) return Promise.reject(new DisposedError());
    if (this.initFailure !== undefined) return Promise.reject(this.initFailure);
    return this.ensureRunning().info;
  }

  /**
   * Queues `fn` after every earlier call, runs it once the service is ready, and settles with
   * its result. Errors are always {@link RecurError}s.
   */
  call<T>(fn: (service: ServiceApi, ctx: CallContext) => Promise<T>, options: CallOptions = {}): Promise<T> {
    const { signal } = options;
    if (this.disposed) return Promise.reject(new DisposedError());
    if (signal?.aborted) return Promise.reject(abortErrorFrom(signal));
    return new Promise<T>((resolve, reject) => {
      let started = false;
      let settled = false;
      const settle = (ok: boolean, value: unknown): void => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onQueuedAbort);
        if (ok) resolve(value as T);
        else reject(toRecurError(value));
      };
      const onQueuedAbort = (): void => {
        if (!started) settle(false, abortErrorFrom(signal!));
      };
      signal?.addEventListener('abort', onQueuedAbort, { once: true });
      const run = this.tail.then(async () => {
        if (settled) return; // aborted while queued: never sent
        started = true;
        try {
          settle(true, await this.execute(fn, signal));
        } catch (e) {
          settle(false, e);
        }
      });
      this.tail = run.catch(() => undefined);
    });
  }

  /**
   * Stops the service. Calls still queued or running reject with {@link DisposedError}; later
   * calls too. Safe to call twice.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const err = new DisposedError();
    for (const l of this.disposeListeners) l(err);
    this.disposeListeners.clear();
    const running = this.running;
    this.running = undefined;
    if (running !== undefined) await running.endpoint.terminate();
  }

  private ensureRunning(): Running {
    if (this.running !== undefined) return this.running;
    const endpoint = this.factory();
    const running: Running = { endpoint, crashListeners: new Set(), info: Promise.resolve() as never };
    endpoint.onCrash((e) => {
      if (this.running === running) this.running = undefined; // the next call starts a new service
      running.crash = e;
      for (const reject of running.crashListeners) reject(e);
      running.crashListeners.clear();
    });
    endpoint.ref();
    const crash = interruption(running);
    running.info = Promise.race([endpoint.service.init(this.initOptions), crash.promise]).then(
      ({ poolWake, ...info }) => {
        crash.end();
        endpoint.unref();
        // Across a worker only: in-process, the service's own wake-up runs on this thread anyway.
        if (poolWake !== undefined && endpoint.mode === 'worker') running.wakePool = poolWaker(poolWake);
        return { ...info, mode: endpoint.mode };
      },
      async (e: unknown) => {
        crash.end();
        const err = toRecurError(e);
        if (err.code === 'ERR_INIT') {
          this.initFailure = err;
          if (this.running === running) this.running = undefined;
          await endpoint.terminate().catch(() => undefined);
        } else if (this.running === running) {
          this.running = undefined;
        }
        throw err;
      },
    );
    running.info.catch(() => undefined);
    this.running = running;
    return running;
  }

  private async execute<T>(fn: (service: ServiceApi, ctx: CallContext) => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    if (this.disposed) throw new DisposedError();
    if (signal?.aborted) throw abortErrorFrom(signal);
    const running = await this.startRunning();
    const { endpoint } = running;
    const callId = this.nextCallId++;
    const onAbort = (): void => {
      endpoint.service.abort(callId).catch(() => undefined);
    };
    // Made for this call: edge runtimes (workerd) refuse to let a request await a promise created
    // by an earlier request, so nothing long-lived is raced here.
    const interrupted = interruption(running, this.disposeListeners);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (this.pending++ === 0) endpoint.ref();
    // In-process, the buffers lent to a call come back here once it has settled by itself (a
    // worker hands them back with its reply, `rpc.ts`): the service keeps none of them.
    const lent: ArrayBuffer[] = [];
    let settled = false;
    try {
      const ctx: CallContext = {
        callId,
        proxy: (f) => endpoint.proxy(f),
        transfer: endpoint.transfer,
        lend:
          endpoint.mode === 'inprocess'
            ? (value, list) => {
                for (const b of list) if (b instanceof ArrayBuffer) lent.push(b);
                return endpoint.lend(value, list);
              }
            : endpoint.lend,
      };
      const call = fn(endpoint.service, ctx);
      call.then(
        (value) => {
          settled = true;
          forgetReferenced(lent, value);
        },
        () => {
          settled = true;
        },
      );
      return await Promise.race([call, interrupted.promise]);
    } catch (e) {
      const err = toRecurError(e);
      // An abort that raced with the end of the call's last step still reports the signal's reason.
      if (err instanceof AbortError && signal?.aborted && err.cause === undefined) {
        throw new AbortError(err.message, { details: err.details, cause: signal.reason });
      }
      throw err;
    } finally {
      if (settled) for (const b of lent) recycle(b);
      signal?.removeEventListener('abort', onAbort);
      interrupted.end();
      if (--this.pending === 0 && this.running?.endpoint === endpoint) endpoint.unref();
    }
  }

  private async startRunning(): Promise<Running> {
    if (this.initFailure !== undefined) throw this.initFailure;
    const running = this.ensureRunning();
    await running.info;
    return running;
  }
}

/**
 * Removes from `lent` the buffers that `value` (a call's result) holds, as a typed array or
 * one a level or two down in its objects and arrays: those belong to the caller now.
 */
function forgetReferenced(lent: ArrayBuffer[], value: unknown, depth = 0): void {
  if (lent.length === 0 || typeof value !== 'object' || value === null) return;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    const buffer = value instanceof ArrayBuffer ? value : value.buffer;
    const i = lent.indexOf(buffer as ArrayBuffer);
    if (i >= 0) lent.splice(i, 1);
    return;
  }
  if (depth < 3) for (const v of Object.values(value)) forgetReferenced(lent, v, depth + 1);
}

function abortErrorFrom(signal: AbortSignal): AbortError {
  return new AbortError('The operation was aborted', { cause: signal.reason });
}

/**
 * A promise that rejects when `running`'s service crashes (at once if it already has) and, given
 * the bridge's dispose listeners, when the bridge is disposed; `end()` unregisters it (a call that
 * ended leaves no listener behind).
 */
function interruption(running: Running, disposeListeners?: Set<(e: DisposedError) => void>): { promise: Promise<never>; end: () => void } {
  let reject!: (e: WorkerError | DisposedError) => void;
  const promise = new Promise<never>((_, r) => {
    reject = r;
  });
  promise.catch(() => undefined);
  if (running.crash !== undefined) reject(running.crash);
  else running.crashListeners.add(reject);
  disposeListeners?.add(reject);
  return {
    promise,
    end: () => {
      running.crashListeners.delete(reject);
      disposeListeners?.delete(reject);
    },
  };
}
