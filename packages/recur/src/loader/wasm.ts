/**
 * The init state machine of the WebAssembly module: one per variant and JS realm (per worker,
 * or per process in in-process mode).
 *
 * `idle → loading → ready`, or `loading → failed`. Concurrent callers share one load. A failure
 * is reported as an {@link InitError}; the runtime that saw it (`ServiceBridge`) keeps rethrowing
 * it on every later call, as onnxruntime-web's wasm-factory does. In this realm a later load (from
 * a new runtime, perhaps with other options) may try again: a failed load never leaves the glue
 * half-initialized (wasm-bindgen sets its instance only on success).
 * @module
 */
import * as simdGlue from '../../wasm/simd/recur_wasm.js';
import * as scalarGlue from '../../wasm/scalar/recur_wasm.js';
import type { WasmVariant } from '../env.js';
import { InitError, RecurError } from '../errors.js';
import { hasSimd, hasWebAssembly } from './simd.js';
import type { SourceOptions, WasmInput, WasmSource } from './sources.js';

/** The functions of the wasm bindings (`crates/recur-wasm`), as the glue exports them. */
export type WasmApi = Omit<typeof simdGlue, 'default' | 'initSync'>;

/** Options of {@link loadWasm}. */
export interface LoadOptions extends SourceOptions {
  /** Force (`true`/`false`) or auto-detect (`undefined`) the SIMD build. */
  simd?: boolean | undefined;
  /** Milliseconds before giving up; `0`/`undefined`: no limit. */
  initTimeout?: number | undefined;
}

/** A loaded module. */
export interface LoadedWasm {
  /** The build that was loaded. */
  variant: WasmVariant;
  /** The bindings. */
  api: WasmApi;
}

/** Where the state machine is. */
export type LoadState = 'idle' | 'loading' | 'ready' | 'failed';

interface Slot {
  state: LoadState;
  pending?: Promise<LoadedWasm> | undefined;
  loaded?: LoadedWasm | undefined;
}

/** One state machine per variant: each variant has its own glue module and instance. */
const slots: Record<WasmVariant, Slot> = { simd: { state: 'idle' }, scalar: { state: 'idle' } };

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
 * Loads and instantiates the chosen variant once per realm. Later calls for the same variant
 * return the same instance (the source options of the first successful load win); after a
 * failure, the next call tries again.
 */
export async function loadWasm(source: WasmSource, options: LoadOptions = {}): Promise<LoadedWasm> {
  let variant: WasmVariant;
  try {
    variant = chooseVariant(options.simd);
  } catch (e) {
    throw e instanceof InitError ? e : new InitError(messageOf(e), { cause: e });
  }
  const slot = slots[variant];
  if (slot.state === 'ready' && slot.loaded !== undefined) return slot.loaded;
  if (slot.state === 'loading' && slot.pending !== undefined) return slot.pending;
  slot.state = 'loading';
  slot.pending = withTimeout(doLoad(variant, source, options), options.initTimeout).then(
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
  return slot.pending;
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
  return { variant, api };
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
