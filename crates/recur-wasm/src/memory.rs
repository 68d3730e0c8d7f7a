//! The size of this module's linear memory, for diagnostics and the benchmark.

use wasm_bindgen::prelude::*;

/// The wasm linear memory's size in bytes (`memory.size` × 64 KiB). Wasm memory never shrinks,
/// so after a training step this is the high-water mark of the module's heap (in the threads
/// builds, of the memory all threads share). 0 outside wasm32.
#[wasm_bindgen(js_name = wasmMemoryBytes)]
pub fn wasm_memory_bytes() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        (core::arch::wasm32::memory_size(0) as f64) * 65536.0
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0.0
    }
}
