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
 * Variants: `relaxed-threads` > `threads` and `relaxed` > `simd` > `scalar`, the first one the
 * runtime validates (`WebAssembly.validate` on tiny probe modules, `simd.ts`), a threads build
 * only when more than one thread is to run; `env.wasm.variant` forces one (failing init when the
 * runtime cannot run it), `env.wasm.simd` / `env.wasm.relaxedSimd` = `false` exclude SIMD /
 * relaxed SIMD.
 *
 * Threads: with `numThreads > 1` and a host that can start helper workers, the threads build
 * is compiled once, instantiated here (creating its shared memory), and handed with that memory
 * to `numThreads - 1` helpers that instantiate it too and run the pool's thread entry. The
 * helper workers are started first, so that their start overlaps the fetch and compilation of
 * the module. Where threads cannot run, the single-thread builds load as before and the reason
 * is reported.
 * @module
 */
import * as simdGlue from '../../wasm/simd/recur_wasm.js';
import * as scalarGlue from '../../wasm/scalar/recur_wasm.js';
import * as threadsGlue from '../../wasm/threads/recur_wasm.js';
import * as relaxedGlue from '../../wasm/relaxed/recur_wasm.js';
import * as relaxedThreadsGlue from '../../wasm/relaxed-threads/recur_wasm.js';
import type { WasmVariant } from '../env.js';
import { InitError, RecurError } from '../errors.js';
import { guardArgumentCopies } from './argument-copies.js';
import { hasRelaxedSimd, hasSimd, hasWebAssembly, threadsUnsupported } from './simd.js';
import type { SourceOptions, WasmInput, WasmSource } from './sources.js';

/** The functions of the wasm bindings (`crates/recur-wasm`), as the glue exports them. */
export type WasmApi = Omit<typeof simdGlue, 'default' | 'initSync'>;

/**
 * The wasm-bindgen glue of each build (each has its own module state). The threads builds'
 * `initSync` returns exports of another shape (`__wbindgen_start` takes the stack size), which
 * the loader does not use.
 */
const GLUES: Record<WasmVariant, typeof simdGlue> = {
  simd: simdGlue,
  scalar: scalarGlue,
  threads: threadsGlue as unknown as typeof simdGlue,
  relaxed: relaxedGlue,
  'relaxed-threads': relaxedThreadsGlue as unknown as typeof simdGlue,
};

/** The builds with wasm threads. */
export type ThreadsVariant = 'threads' | 'relaxed-threads';

/** True for `threads` and `relaxed-threads`. */
export function isThreadsVariant(v: WasmVariant): v is ThreadsVariant {
  return v === 'threads' || v === 'relaxed-threads';
}

const ALL_VARIANTS: readonly WasmVariant[] = ['relaxed-threads', 'threads', 'relaxed', 'simd', 'scalar'];

/** Options of {@link loadWasm}. */
export interface LoadOptions extends SourceOptions {
  /** Force (`true`/`false`) or auto-detect (`undefined`) the SIMD builds. */
  simd?: boolean | undefined;
  /** Force (`true`/`false`) or auto-detect (`undefined`) the relaxed-SIMD builds. */
  relaxedSimd?: boolean | undefined;
  /** Force one build (`'auto'`/`undefined`: feature detection). */
  variant?: WasmVariant | 'auto' | undefined;
  /** Milliseconds before giving up; `0`/`undefined`: no limit. */
  initTimeout?: number | undefined;
  /** Threads asked for (`undefined`: {@link LoadOptions.defaultThreads}). */
  numThreads?: number | undefined;
  /** Threads when none are asked for (the host's default; 1 when absent). */
  defaultThreads?: number | undefined;
  /** Starts helper workers (hosts that can; without it, one thread). */
  spawnHelper?: HelperSpawner | undefined;
  /**
   * The builds the source can give (`undefined`: all), e.g. the keys of precompiled modules;
   * detection chooses among these only.
   */
  available?: readonly WasmVariant[] | undefined;
  /** Why the source cannot give a threads build (one thread then), e.g. modules without one. */
  noThreadsBuild?: string | undefined;
}

/** What a helper worker receives: the compiled threads build, its shared memory, its index. */
export interface HelperInit {
  /** Which threads build `module` is (the helper instantiates it with that build's glue). */
  variant: ThreadsVariant;
  /** The compiled threads build. */
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
 * Starts helper worker `index` at once, then, when `init` resolves, hands it the module and the
 * memory; it instantiates `init.module` on `init.memory` and calls `threadMain(index)`.
 * Resolves once the helper is instantiated (it then blocks in the pool's loop for good),
 * rejects if it could not start (or `init` rejected: the helper is then stopped).
 */
export type HelperSpawner = (index: number, init: Promise<HelperInit>) => Promise<HelperHandle>;

/** A loaded module. */
export interface LoadedWasm {
  /** The build that was loaded. */
  variant: WasmVariant;
  /** The bindings. */
  api: WasmApi;
  /** Threads computing: 1, or this one and its running helpers (threads builds). */
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
const slots = Object.fromEntries(ALL_VARIANTS.map((v) => [v, { state: 'idle' }])) as Record<WasmVariant, Slot>;

/** Most threads one runtime uses (the pool's own limit is 64). */
const MAX_THREADS = 16;

/** The current state of the loader for `variant` in this realm (`failed` until a new load is tried). */
export function loadState(variant: WasmVariant): LoadState {
  return slots[variant].state;
}

/**
 * Which single-thread build to load: `relaxed` where relaxed SIMD validates, else `simd` where
 * SIMD does, else `scalar`; `simd` / `relaxedSimd` = `false` exclude those, `true` requires them
 * (`InitError` without). `available` limits the choice (precompiled modules).
 */
export function chooseVariant(simd: boolean | undefined, relaxedSimd?: boolean, available?: readonly WasmVariant[]): WasmVariant {
  if (!hasWebAssembly()) {
    throw new InitError('This runtime has no usable WebAssembly support', { details: { reason: 'no-webassembly' } });
  }
  const simdOk = hasSimd();
  if (simd === true && !simdOk) {
    throw new InitError('env.wasm.simd is true but this runtime does not support WebAssembly SIMD', {
      details: { reason: 'no-simd' },
    });
  }
  const relaxedOk = simdOk && hasRelaxedSimd();
  if (relaxedSimd === true) {
    if (simd === false) {
      throw new InitError('env.wasm.relaxedSimd is true but env.wasm.simd is false', { details: { reason: 'conflicting-flags' } });
    }
    if (!relaxedOk) {
      throw new InitError(
        'env.wasm.relaxedSimd is true but this runtime does not validate WebAssembly relaxed SIMD (Node 20: run node with --experimental-wasm-relaxed-simd)',
        { details: { reason: 'no-relaxed-simd' } },
      );
    }
  }
  const has = (v: WasmVariant): boolean => available === undefined || available.includes(v);
  if (simd === false) return 'scalar';
  if (relaxedSimd === true) return 'relaxed';
  if (relaxedOk && relaxedSimd !== false && has('relaxed')) return 'relaxed';
  if (simdOk && has('simd')) return 'simd';
  if (has('scalar')) return 'scalar';
  return simdOk ? 'simd' : 'scalar';
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
  const why = threadsBlocker(options);
  return why === undefined ? { want, threads: want } : { want, threads: 1, fallback: why };
}

/** Why a threads build cannot run here (with these options), or `undefined`. */
function threadsBlocker(options: LoadOptions): string | undefined {
  if (options.spawnHelper === undefined) {
    return "in-process: this runtime's calling thread may not block to wait for helper threads, so none are started (Node's in-process mode and workers can)";
  }
  if (options.noThreadsBuild !== undefined) return options.noThreadsBuild;
  if (options.simd === false) return 'env.wasm.simd is false and the threads builds need SIMD';
  if (options.variant !== undefined && options.variant !== 'auto' && !isThreadsVariant(options.variant)) {
    return `env.wasm.variant is '${options.variant}', a single-thread build`;
  }
  return threadsUnsupported();
}

/**
 * The build and thread plan of a load: feature detection, or the forced `variant` (checked:
 * `InitError` when this runtime cannot run it).
 */
export function choosePlan(options: LoadOptions): { variant: WasmVariant; want: number; threads: number; fallback?: string } {
  const forced = options.variant === 'auto' ? undefined : options.variant;
  if (forced === undefined) {
    const single = chooseVariant(options.simd, options.relaxedSimd, options.available);
    const plan = chooseThreads(options);
    if (plan.threads <= 1) return { variant: single, ...plan };
    const has = (v: WasmVariant): boolean => options.available === undefined || options.available.includes(v);
    const variant: WasmVariant = single === 'relaxed' && has('relaxed-threads') ? 'relaxed-threads' : 'threads';
    if (variant === 'threads' && !has('threads')) return { variant: single, want: plan.want, threads: 1, fallback: 'no threads build was given' };
    return { variant, ...plan };
  }
  if (!ALL_VARIANTS.includes(forced)) {
    throw new InitError(`env.wasm.variant must be one of ${ALL_VARIANTS.join(', ')} or 'auto', got ${String(forced)}`, {
      details: { reason: 'bad-variant', variant: forced },
    });
  }
  const fail = (why: string): never => {
    throw new InitError(`env.wasm.variant is '${forced}' but ${why}`, { details: { reason: 'variant-unsupported', variant: forced } });
  };
  if (!hasWebAssembly()) fail('this runtime has no usable WebAssembly support');
  const relaxed = forced.startsWith('relaxed');
  if (forced !== 'scalar') {
    if (options.simd === false) fail('env.wasm.simd is false');
    if (!hasSimd()) fail('this runtime does not support WebAssembly SIMD');
  }
  if (relaxed && options.relaxedSimd === false) fail('env.wasm.relaxedSimd is false');
  if (!relaxed && options.relaxedSimd === true) fail('env.wasm.relaxedSimd is true');
  if (forced === 'scalar' && options.simd === true) fail('env.wasm.simd is true');
  if (relaxed && !hasRelaxedSimd()) {
    fail('this runtime does not validate WebAssembly relaxed SIMD (Node 20: run node with --experimental-wasm-relaxed-simd)');
  }
  const plan = chooseThreads(options);
  if (!isThreadsVariant(forced)) return { variant: forced, ...plan };
  const blocker = threadsBlocker(options);
  if (blocker !== undefined) fail(blocker);
  // A threads build may run one thread (no helper): the pool then stays at one.
  return { variant: forced, want: plan.want, threads: plan.want };
}

/**
 * Loads and instantiates the chosen variant once per realm. Later calls for the same variant
 * return the same instance (the source options and thread count of the first successful load
 * win); after a failure, the next call tries again.
 */
export async function loadWasm(source: WasmSource, options: LoadOptions = {}): Promise<LoadedWasm> {
  let plan: { variant: WasmVariant; want: number; threads: number; fallback?: string };
  try {
    plan = choosePlan(options);
  } catch (e) {
    throw e instanceof InitError ? e : new InitError(messageOf(e), { cause: e });
  }
  const variant = plan.variant;
  // A single-thread build is shared by every load in this realm; why it runs one thread is
  // this load's own answer.
  const fallback = plan.fallback;
  const report = (l: LoadedWasm): LoadedWasm => (isThreadsVariant(l.variant) ? l : { ...l, threadsFallback: fallback });
  const slot = slots[variant];
  if (slot.state === 'ready' && slot.loaded !== undefined) return report(slot.loaded);
  if (slot.state === 'loading' && slot.pending !== undefined) return slot.pending.then(report);
  slot.state = 'loading';
  const load = isThreadsVariant(variant) ? doLoadThreads(variant, source, options, plan.threads) : doLoad(variant, source, options);
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
  const glue = GLUES[variant];
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
  return { variant, api: guardArgumentCopies(api), threads: 1 };
}

/**
 * A threads build: start the helper workers, meanwhile compile the module and instantiate it
 * here (wasm-bindgen creates the shared memory and initializes it), declare the pool, then hand
 * the module and memory to the helpers and wait until they run. Helpers that fail to start
 * lower the thread count (reported), never the results.
 */
async function doLoadThreads(variant: ThreadsVariant, source: WasmSource, options: LoadOptions, want: number): Promise<LoadedWasm> {
  const glue = GLUES[variant];
  let handOver!: { resolve: (init: Omit<HelperInit, 'index'>) => void; reject: (e: unknown) => void };
  const shared = new Promise<Omit<HelperInit, 'index'>>((resolve, reject) => {
    handOver = { resolve, reject };
  });
  shared.catch(() => undefined);
  // The helpers' workers start now: their start-up overlaps the fetch and compilation below.
  const spawn = options.spawnHelper!;
  const started = Array.from({ length: want - 1 }, (_, i) => spawn(i + 1, shared.then((s) => ({ ...s, index: i + 1 }))));
  let api: WasmApi;
  try {
    const input: WasmInput = await source(variant, { wasmPaths: options.wasmPaths });
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
    glue.initSync({ module });
    const { default: _init, initSync: _initSync, ...rest } = glue;
    api = guardArgumentCopies(rest);
    const memory = api.wasmMemory() as WebAssembly.Memory;
    api.initThreadPool(want);
    // Until the helpers run, every product runs on this thread alone.
    api.setNumThreads(1);
    handOver.resolve({ variant, module, memory });
  } catch (e) {
    handOver.reject(e);
    await Promise.allSettled(started);
    throw e;
  }
  const results = await Promise.allSettled(started);
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
  return { variant, api, threads, threadsFallback: fallback };
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
