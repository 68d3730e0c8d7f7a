/**
 * The init state machine of the WebAssembly module: one per variant and JS realm (per worker,
 * or per process in in-process mode).
 *
 * `idle → loading → ready`, or `loading → failed`. Concurrent callers share one load. A failure
 * is reported as an {@link InitError}; the runtime that saw it (`ServiceBridge`) keeps rethrowing
 * it on every later call, as onnxruntime-web's wasm-factory does. In this realm a later load (from
 * a new runtime, perhaps with other options) may try again: a failed load never leaves the glue
 * half-initialized (wasm-bindgen sets its instance only on success).
 *
 * Threads: with `numThreads > 1` and a host that can start helper workers, the `threads` build
 * is compiled once, instantiated here (creating its shared memory), and handed with that memory
 * to `numThreads - 1` helpers that instantiate it too and run the pool's thread entry. Where
 * threads cannot run, the single-thread builds load as before and the reason is reported.
 * @module
 */
import * as simdGlue from '../../wasm/simd/recur_wasm.js';
import * as scalarGlue from '../../wasm/scalar/recur_wasm.js';
import * as threadsGlue from '../../wasm/threads/recur_wasm.js';
import type { WasmVariant } from '../env.js';
import { InitError, RecurError } from '../errors.js';
import { hasSimd, hasWebAssembly, threadsUnsupported } from './simd.js';
import type { SourceOptions, WasmInput, WasmSource } from './sources.js';

/** The functions of the wasm bindings (`crates/recur-wasm`), as the glue exports them. */
export type WasmApi = Omit<typeof simdGlue, 'default' | 'initSync'>;

/** Options of {@link loadWasm}. */
export interface LoadOptions extends SourceOptions {
  /** Force (`true`/`false`) or auto-detect (`undefined`) the SIMD build. */
  simd?: boolean | undefined;
  /** Milliseconds before giving up; `0`/`undefined`: no limit. */
  initTimeout?: number | undefined;
  /** Threads asked for (`undefined`: {@link LoadOptions.defaultThreads}). */
  numThreads?: number | undefined;
  /** Threads when none are asked for (the host's default; 1 when absent). */
  defaultThreads?: number | undefined;
  /** Starts helper workers (hosts that can; without it, one thread). */
  spawnHelper?: HelperSpawner | undefined;
  /** Why the source cannot give the threads build (one thread then), e.g. modules without it. */
  noThreadsBuild?: string | undefined;
}

/** What a helper worker receives: the compiled threads build, its shared memory, its index. */
export interface HelperInit {
  /** The compiled `threads` build. */
  module: WebAssembly.Module;
  /** The shared memory of the instance that owns the models. */
  memory: WebAssembly.Memory;
  /** The helper's index in the pool (`1..numThreads`). */
  index: number;
}

/** A started helper worker. */
export interface HelperHandle {
  /** Stops the helper. */
  terminate(): void;
}

/**
 * Starts one helper worker that instantiates `init.module` on `init.memory` and calls
 * `threadMain(init.index)`; resolves once the helper is instantiated (it then blocks in the
 * pool's loop for good), rejects if it could not start.
 */
export type HelperSpawner = (init: HelperInit) => Promise<HelperHandle>;

/** A loaded module. */
export interface LoadedWasm {
  /** The build that was loaded. */
  variant: WasmVariant;
  /** The bindings. */
  api: WasmApi;
  /** Threads computing: 1, or this one and its running helpers (`threads` build). */
  threads: number;
  /** Why fewer threads run than were asked for (absent when all run). */
  threadsFallback?: string | undefined;
}

/** Where the state machine is. */
export type LoadState = 'idle' | 'loading' | 'ready' | 'failed';

interface Slot {
  state: LoadState;
  pending?: Promise<LoadedWasm> | undefined;
  loaded?: LoadedWasm | undefined;
}

/** One state machine per variant: each variant has its own glue module and instance. */
const slots: Record<WasmVariant, Slot> = { simd: { state: 'idle' }, scalar: { state: 'idle' }, threads: { state: 'idle' } };

/** Most threads one runtime uses (the pool's own limit is 64). */
const MAX_THREADS = 16;

/** The current state of the loader for `variant` in this realm (`failed` until a new load is tried). */
export function loadState(variant: WasmVariant): LoadState {
  return slots[variant].state;
}

/** Which build to load: forced by `simd`, else chosen by feature detection. */
export function chooseVariant(simd: boolean | undefined): WasmVariant {
  if (!hasWebAssembly()) {
    throw new InitError('This runtime has no usable WebAssembly support', { details: { reason: 'no-webassembly' } });
  }
  const supported = hasSimd();
  if (simd === true && !supported) {
    throw new InitError('env.wasm.simd is true but this runtime does not support WebAssembly SIMD', {
      details: { reason: 'no-simd' },
    });
  }
  if (simd === false) return 'scalar';
  return supported ? 'simd' : 'scalar';
}

/**
 * How many threads to run, and why fewer than wanted: asked for (or the host default), then
 * checked against what this runtime and host can do. Throws `InitError` for a bad `numThreads`.
 */
export function chooseThreads(options: LoadOptions): { want: number; threads: number; fallback?: string } {
  const asked = options.numThreads;
  if (asked !== undefined && (!Number.isSafeInteger(asked) || asked < 1)) {
    throw new InitError(`numThreads must be an integer >= 1, got ${String(asked)}`, { details: { reason: 'bad-num-threads', numThreads: asked } });
  }
  const want = Math.min(asked ?? options.defaultThreads ?? 1, MAX_THREADS);
  if (want <= 1) return { want, threads: 1 };
  let why: string | undefined;
  if (options.spawnHelper === undefined) {
    why = 'in-process: this runtime runs on the calling thread, which may not block, so no helper threads are started';
  } else if (options.noThreadsBuild !== undefined) {
    why = options.noThreadsBuild;
  } else if (options.simd === false) {
    why = 'env.wasm.simd is false and the threads build needs SIMD';
  } else {
    why = threadsUnsupported();
  }
  return why === undefined ? { want, threads: want } : { want, threads: 1, fallback: why };
}

/**
 * Loads and instantiates the chosen variant once per realm. Later calls for the same variant
 * return the same instance (the source options and thread count of the first successful load
 * win); after a failure, the next call tries again.
 */
export async function loadWasm(source: WasmSource, options: LoadOptions = {}): Promise<LoadedWasm> {
  let variant: WasmVariant;
  let plan: { want: number; threads: number; fallback?: string };
  try {
    variant = chooseVariant(options.simd);
    plan = chooseThreads(options);
    if (plan.threads > 1) variant = 'threads';
  } catch (e) {
    throw e instanceof InitError ? e : new InitError(messageOf(e), { cause: e });
  }
  // A single-thread build is shared by every load in this realm; why it runs one thread is
  // this load's own answer.
  const fallback = plan.fallback;
  const report = (l: LoadedWasm): LoadedWasm => (l.variant === 'threads' ? l : { ...l, threadsFallback: fallback });
  const slot = slots[variant];
  if (slot.state === 'ready' && slot.loaded !== undefined) return report(slot.loaded);
  if (slot.state === 'loading' && slot.pending !== undefined) return slot.pending.then(report);
  slot.state = 'loading';
  const load = variant === 'threads' ? doLoadThreads(source, options, plan.threads) : doLoad(variant, source, options);
  slot.pending = withTimeout(load, options.initTimeout).then(
    (result) => {
      slot.state = 'ready';
      slot.loaded = result;
      return result;
    },
    (thrown: unknown) => {
      slot.state = 'failed';
      throw thrown instanceof InitError
        ? thrown
        : new InitError(`Loading the recur WebAssembly module (${variant}) failed: ${messageOf(thrown)}`, {
            cause: thrown,
            details: { variant, ...(thrown instanceof RecurError ? { causeCode: thrown.code } : {}) },
          });
    },
  );
  return slot.pending.then(report);
}

async function doLoad(variant: WasmVariant, source: WasmSource, options: LoadOptions): Promise<LoadedWasm> {
  const glue = variant === 'simd' ? simdGlue : scalarGlue;
  const input: WasmInput = await source(variant, { wasmPaths: options.wasmPaths });
  switch (input.kind) {
    case 'module':
      glue.initSync({ module: input.module });
      break;
    case 'bytes':
      await glue.default({ module_or_path: input.bytes });
      break;
    case 'response':
      await glue.default({ module_or_path: input.response });
      break;
  }
  const { default: _init, initSync: _initSync, ...api } = glue;
  return { variant, api, threads: 1 };
}

/**
 * The threads build: compile it, instantiate it here (wasm-bindgen creates the shared memory
 * and initializes it), declare the pool, then start the helpers on the same module and memory.
 * Helpers that fail to start lower the thread count (reported), never the results.
 */
async function doLoadThreads(source: WasmSource, options: LoadOptions, want: number): Promise<LoadedWasm> {
  const input: WasmInput = await source('threads', { wasmPaths: options.wasmPaths });
  let module: WebAssembly.Module;
  switch (input.kind) {
    case 'module':
      module = input.module;
      break;
    case 'bytes':
      module = await WebAssembly.compile(input.bytes as BufferSource);
      break;
    case 'response':
      module = await compileResponse(input.response);
      break;
  }
  threadsGlue.initSync({ module });
  const { default: _init, initSync: _initSync, ...api } = threadsGlue;
  const memory = api.wasmMemory() as WebAssembly.Memory;
  const size = api.initThreadPool(want);
  const spawn = options.spawnHelper!;
  const results = await Promise.allSettled(Array.from({ length: size - 1 }, (_, i) => spawn({ module, memory, index: i + 1 })));
  // Helpers with indices 1..k run the pool's work; a gap would idle the ones after it.
  let running = 0;
  while (running < results.length && results[running]!.status === 'fulfilled') running++;
  let fallback: string | undefined;
  if (running < results.length) {
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    fallback = `${results.length - running} of ${results.length} helper threads did not start: ${messageOf(failed?.reason)}`;
    for (const r of results.slice(running)) if (r.status === 'fulfilled') r.value.terminate();
  }
  const threads = api.setNumThreads(running + 1);
  return { variant: 'threads', api, threads, threadsFallback: fallback };
}

async function compileResponse(response: Response): Promise<WebAssembly.Module> {
  if (typeof WebAssembly.compileStreaming === 'function' && response.headers.get('content-type')?.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

function withTimeout<T>(p: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined || ms <= 0) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new InitError(`Loading the recur WebAssembly module timed out after ${ms} ms`, { details: { timeoutMs: ms } })),
      ms,
    );
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
