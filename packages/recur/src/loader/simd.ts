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
