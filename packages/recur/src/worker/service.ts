/**
 * The service: owns the wasm instance (and, later, every model's memory). The same object runs
 * inside a Worker (exposed through comlink) or in-process on runtimes without workers.
 *
 * Every method converts whatever it throws into a {@link RecurError} with a stable code, so the
 * in-process path and the worker path reject with the same classes.
 * @module
 */
import { errorFromCode, RecurError, StateError, ValueRangeError, InputTypeError, toRecurError } from '../errors.js';
import { loadWasm, type LoadedWasm } from '../loader/wasm.js';
import { moduleSource, type WasmSource } from '../loader/sources.js';
import { detectRuntime } from '../runtime.js';
import { runSteps } from './chunks.js';
import type { BusyOptions, ChunkProgress, ProgressCallback, RuntimeInfo, ServiceApi, ServiceInitOptions } from './protocol.js';

/** Marks a value's buffers for transfer (comlink's `transfer` in a worker, identity in-process). */
export type TransferFn = <T>(value: T, transferables: Transferable[]) => T;

/** How the service is set up by its host (the worker entry or the in-process endpoint). */
export interface ServiceHost {
  /** Where the wasm comes from in this runtime. */
  source: WasmSource;
  /** How results are marked for transfer. */
  transfer: TransferFn;
  /**
   * Frees a callback the client passed (across a worker: releases comlink's proxy, closing its
   * MessagePort, which would otherwise keep a Node process alive). Called when the call ends.
   */
  release?: (callback: unknown) => void;
}

/** The service object. See {@link ServiceApi} for what each method does. */
export class RecurService implements ServiceApi {
  private wasm: Promise<LoadedWasm> | undefined;
  private readonly active = new Map<number, { aborted: boolean }>();
  private busySteps = 0;

  /** @param host - the runtime's wasm source and transfer function. */
  constructor(private readonly host: ServiceHost) {}

  async init(options: ServiceInitOptions = {}): Promise<Omit<RuntimeInfo, 'mode'>> {
    return guard(async () => {
      const source = options.modules !== undefined ? moduleSource(options.modules) : this.host.source;
      this.wasm ??= loadWasm(source, {
        simd: options.simd,
        wasmPaths: options.wasmPaths,
        initTimeout: options.initTimeout,
      });
      const { api, variant } = await this.wasm;
      return { version: api.version(), variant, runtime: detectRuntime() };
    });
  }

  async version(): Promise<string> {
    return guard(async () => (await this.ready()).api.version());
  }

  async echo(data: Float32Array): Promise<Float32Array> {
    return guard(async () => {
      if (!(data instanceof Float32Array)) throw new InputTypeError('echo expects a Float32Array');
      return this.host.transfer(data, [data.buffer]);
    });
  }

  async busy(callId: number, options: BusyOptions, onProgress?: ProgressCallback<ChunkProgress>): Promise<ChunkProgress> {
    return this.releasing(onProgress, () =>
      this.track(callId, (isAborted) => {
        const { steps, stepMs } = options;
        if (!Number.isSafeInteger(steps) || steps < 0) throw new ValueRangeError('steps must be an integer >= 0', { details: { steps } });
        if (!Number.isFinite(stepMs) || stepMs < 0 || stepMs > 60_000) {
          throw new ValueRangeError('stepMs must be between 0 and 60000', { details: { stepMs } });
        }
        return runSteps({
          totalSteps: steps,
          isAborted,
          onProgress,
          step: () => {
            // Synchronous work, as a training batch inside wasm is: nothing else runs meanwhile.
            const end = Date.now() + stepMs;
            while (Date.now() < end) {
              /* spin */
            }
            this.busySteps++;
          },
        });
      }),
    );
  }

  async busyCounter(): Promise<number> {
    return this.busySteps;
  }

  async raise(code: string, message: string, details?: Record<string, unknown>, asPlainObject = false): Promise<never> {
    return guard(async () => {
      if (asPlainObject) throw Object.assign(new Error(message), { code, details });
      throw errorFromCode(code, message, details === undefined ? {} : { details });
    });
  }

  async abort(callId: number): Promise<void> {
    const call = this.active.get(callId);
    if (call !== undefined) call.aborted = true;
  }

  private async ready(): Promise<LoadedWasm> {
    if (this.wasm === undefined) throw new StateError('The service was used before init()');
    return this.wasm;
  }

  /** Runs `fn` through {@link guard}, then releases the call's callback. */
  private async releasing<T>(callback: unknown, fn: () => Promise<T>): Promise<T> {
    try {
      return await guard(fn);
    } finally {
      if (callback !== undefined) this.host.release?.(callback);
    }
  }

  private async track<T>(callId: number, run: (isAborted: () => boolean) => Promise<T>): Promise<T> {
    const entry = { aborted: false };
    this.active.set(callId, entry);
    try {
      return await run(() => entry.aborted);
    } finally {
      this.active.delete(callId);
    }
  }
}

async function guard<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw e instanceof RecurError ? e : toRecurError(e);
  }
}
