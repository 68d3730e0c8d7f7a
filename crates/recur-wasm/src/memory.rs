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

/// Whether `bytes` more bytes can be allocated in wasm memory at once now: a probe allocation,
/// freed at once (see `recur_core::param::check_allocatable`). The SDK asks before it passes
/// large arrays, because the copy into wasm memory that the glue makes for each argument aborts
/// (a trap) when its allocation fails, before any of recur's checks run.
#[wasm_bindgen(js_name = canAllocate)]
pub fn can_allocate(bytes: f64) -> bool {
    // `as` saturates: a negative or NaN count is 0, a huge one usize::MAX (which fails).
    let bytes = if bytes > usize::MAX as f64 { usize::MAX } else { bytes as usize };
    Vec::<u8>::new().try_reserve_exact(bytes).is_ok()
}
