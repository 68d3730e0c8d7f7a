//! WebAssembly bindings of recur-core: handles and flat `f32` slices, nothing else. Every
//! core error becomes a JS `Error` with the core's stable `code`.
//!
//! Built by `scripts/build-wasm.sh` into `packages/recur/wasm/{simd,scalar}/`.

mod errors;
mod layout;
mod memory;
mod model;
mod standalone;
mod threads;

pub use model::WasmModel;
pub use standalone::{clip_grad_norm, clip_grad_value, compiled_kernels, gemm_repeat, WasmOptimizer};

use wasm_bindgen::prelude::*;

/// The version of the recur-wasm crate (and so of the bundled recur-core), e.g. `"0.1.0"`.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
