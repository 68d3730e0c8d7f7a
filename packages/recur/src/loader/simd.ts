/**
 * Feature detection with `WebAssembly.validate`.
 * @module
 */

/**
 * The smallest module that uses SIMD128: `(func (result v128) i32.const 0 i8x16.splat i8x16.popcnt)`.
 * (The same probe as wasm-feature-detect's.)
 */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/**
 * A module that uses relaxed SIMD: `(func (result v128) i32.const 0 i8x16.splat i32.const 0
 * i8x16.splat i32.const 0 i8x16.splat f32x4.relaxed_madd)`, the instruction the relaxed builds'
 * GEMM kernel is made of. Validates in V8 11.4+ (Chromium 114+, Deno, Node 22+), and in Node 20
 * only under `--experimental-wasm-relaxed-simd`.
 */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17, 0, 65, 0, 253, 15, 65, 0, 253, 15, 65, 0, 253, 15, 253, 133, 2,
  11,
]);

/** The smallest valid module with one function: `(func)`. */
const MVP_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 11]);

/** True when the runtime has a usable `WebAssembly` object at all. */
export function hasWebAssembly(): boolean {
  try {
    return typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function' && WebAssembly.validate(MVP_PROBE);
  } catch {
    return false;
  }
}

/** True when the runtime validates a SIMD128 module, so the `simd` build can be loaded. */
export function hasSimd(): boolean {
  try {
    return hasWebAssembly() && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/**
 * True when the runtime validates a relaxed-SIMD module (`f32x4.relaxed_madd`), so the
 * `relaxed` and `relaxed-threads` builds can be loaded.
 */
export function hasRelaxedSimd(): boolean {
  try {
    return hasSimd() && WebAssembly.validate(RELAXED_SIMD_PROBE);
  } catch {
    return false;
  }
}

/** The smallest module with a shared memory: `(memory 1 1 shared)`; validates where wasm threads exist. */
const SHARED_MEMORY_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 4, 1, 3, 1, 1]);

/**
 * Why this runtime cannot run the `threads` build (SIMD, shared memory, SharedArrayBuffer and
 * Atomics, and in browsers cross-origin isolation), or `undefined` when it can.
 */
export function threadsUnsupported(): string | undefined {
  const g = globalThis as { SharedArrayBuffer?: unknown; Atomics?: unknown; crossOriginIsolated?: boolean };
  if (g.crossOriginIsolated === false) {
    return 'the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp), so SharedArrayBuffer is unavailable';
  }
  if (typeof g.SharedArrayBuffer !== 'function' || typeof g.Atomics !== 'object') return 'SharedArrayBuffer or Atomics is unavailable';
  if (!hasSimd()) return 'WebAssembly SIMD is unavailable (the threads build needs it)';
  try {
    if (!WebAssembly.validate(SHARED_MEMORY_PROBE)) return 'WebAssembly threads (shared memory) are unavailable';
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
  } catch (e) {
    return `WebAssembly shared memory is unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
  return undefined;
}
