//! Functions over raw tensors: clipping and optimizers outside a model, and the GEMM for the
//! benchmark.

use crate::errors::{js, JsResult};
use recur_core::json::Value;
use recur_core::optim::{Optimizer, OptimizerConfig};
use recur_core::{Error, Param};
use wasm_bindgen::prelude::*;

/// Splits `flat` into tensors of `sizes` elements (checking the total).
fn split_sizes(what: &str, flat_len: usize, sizes: &[u32]) -> recur_core::Result<Vec<(usize, usize)>> {
    let total: usize = sizes.iter().map(|&s| s as usize).sum();
    if total != flat_len {
        return Err(Error::shape(what, [total], [flat_len]));
    }
    let mut at = 0;
    Ok(sizes
        .iter()
        .map(|&s| {
            let r = (at, at + s as usize);
            at += s as usize;
            r
        })
        .collect())
}

/// Clips a list of gradient tensors (concatenated in `grads`, element counts in `sizes`) by
/// their global L2 norm, in place; returns the norm before clipping (`clip_grad_norm_`).
#[wasm_bindgen(js_name = clipGradNorm)]
pub fn clip_grad_norm(grads: &mut [f32], sizes: &[u32], max_norm: f32) -> JsResult<f32> {
    let ranges = js(split_sizes("grads", grads.len(), sizes))?;
    let mut rest: &mut [f32] = grads;
    let mut parts: Vec<&mut [f32]> = Vec::new();
    let mut consumed = 0;
    for (a, b) in ranges {
        let (head, tail) = rest.split_at_mut(b - consumed);
        parts.push(&mut head[a - consumed..]);
        consumed = b;
        rest = tail;
    }
    js(recur_core::clip::clip_norm_slices(&mut parts, max_norm))
}

/// Clamps every gradient element to `[-v, v]`, in place.
#[wasm_bindgen(js_name = clipGradValue)]
pub fn clip_grad_value(grads: &mut [f32], v: f32) -> JsResult<()> {
    js(recur_core::clip::clip_value_slices(&mut [grads], v))
}

/// An optimizer over a fixed list of tensors.
#[wasm_bindgen(js_name = Optimizer)]
pub struct WasmOptimizer {
    inner: Optimizer,
    params: Vec<Param>,
}

#[wasm_bindgen(js_class = Optimizer)]
impl WasmOptimizer {
    /// An optimizer from its JSON config (`{"type":"sgd","lr":0.1,"momentum":0.9}`) for tensors
    /// whose shapes are given as JSON (`[[3,4],[4]]`) and initial values concatenated.
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: &str, shapes_json: &str, values: &[f32]) -> JsResult<WasmOptimizer> {
        let config = js(OptimizerConfig::from_json(config_json))?;
        let shapes = js(recur_core::json::read_str(shapes_json, |v| v.to_vec(|s| s.to_vec(Value::to_usize)))
            .map_err(|e| Error::unsupported(format!("shapes: {e}"))))?;
        let sizes: Vec<u32> = shapes
            .iter()
            .map(|s| recur_core::error::checked_numel("shape", s).map(|n| n as u32))
            .collect::<recur_core::Result<_>>()
            .map_err(crate::errors::to_js)?;
        let ranges = js(split_sizes("values", values.len(), &sizes))?;
        js(recur_core::error::check_finite("values", values))?;
        // each tensor gets a value and a gradient
        js(recur_core::param::check_allocatable("optimizer tensors", 2 * values.len()))?;
        let params = shapes
            .iter()
            .zip(ranges)
            .enumerate()
            .map(|(i, (shape, (a, b)))| {
                let mut p = Param::zeros(format!("p{i}"), shape);
                p.value.copy_from_slice(&values[a..b]);
                p
            })
            .collect();
        Ok(WasmOptimizer { inner: js(Optimizer::new(config))?, params })
    }

    /// Applies one step with `grads` (concatenated like the values); returns the new values.
    pub fn step(&mut self, grads: &[f32]) -> JsResult<Vec<f32>> {
        let total: usize = self.params.iter().map(|p| p.numel()).sum();
        if grads.len() != total {
            return Err(crate::errors::to_js(Error::shape("grads", [total], [grads.len()])));
        }
        let mut at = 0;
        for p in &mut self.params {
            let n = p.numel();
            p.grad.copy_from_slice(&grads[at..at + n]);
            at += n;
        }
        // The returned copy is allocated before the step changes anything.
        let mut values = js(recur_core::param::reserved("optimizer values", total))?;
        let mut refs: Vec<&mut Param> = self.params.iter_mut().collect();
        js(self.inner.step(&mut refs))?;
        self.params.iter().for_each(|p| values.extend_from_slice(&p.value));
        Ok(values)
    }
}

/// Names of the GEMM kernels compiled into this build (e.g. `["Reference","Scalar","Simd128"]`).
#[wasm_bindgen(js_name = compiledKernels)]
pub fn compiled_kernels() -> Vec<String> {
    recur_core::kernels::compiled_kernels().iter().map(|k| format!("{k:?}")).collect()
}

/// `gemmRepeat`'s operands, kept from one call to the next with the same shape `(m, k, n)`.
struct GemmOperands {
    shape: (usize, usize, usize),
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

thread_local! {
    static GEMM_OPERANDS: std::cell::RefCell<GemmOperands> =
        const { std::cell::RefCell::new(GemmOperands { shape: (0, 0, 0), a: Vec::new(), b: Vec::new(), c: Vec::new() }) };
}

/// Runs `C = A·B` (`m×k` by `k×n`, deterministic inputs) `iterations` times with the default
/// kernel, for the benchmark to time; returns a checksum of C so the work cannot be skipped. The
/// operands are filled on the first call with a shape and reused by later calls with the same
/// shape, so that a timed call times the products (as TF.js's `matMul` on existing tensors
/// does), not filling the inputs and zeroing C (a serial sum of all of a 4096 × 1024 C also took
/// longer than the product).
#[wasm_bindgen(js_name = gemmRepeat)]
pub fn gemm_repeat(m: usize, k: usize, n: usize, b_transposed: bool, iterations: usize) -> JsResult<f32> {
    for (what, v) in [("m", m), ("k", k), ("n", n)] {
        js(recur_core::error::check_size(what, v, 1 << 14))?;
    }
    GEMM_OPERANDS.with_borrow_mut(|GemmOperands { shape, a, b, c }| {
        if *shape != (m, k, n) {
            *a = (0..m * k).map(|i| ((i % 13) as f32 - 6.0) * 0.01).collect();
            *b = (0..k * n).map(|i| ((i % 7) as f32 - 3.0) * 0.01).collect();
            *c = vec![0.0f32; m * n];
            *shape = (m, k, n);
        }
        for _ in 0..iterations {
            if b_transposed {
                recur_core::kernels::gemm_nt(m, n, k, a, b, 0.0, c);
            } else {
                recur_core::kernels::gemm_nn(m, n, k, a, b, 0.0, c);
            }
        }
        // Every row of C up to 2^18 elements (1 MiB, the L2 cache here); of a larger C every 16th
        // row, as reading all of it back from memory took as long as the product itself. Summed
        // by recur-kernels, where the loop is vectorized (see `checksum`).
        let step = if m * n <= 1 << 18 { 1 } else { 16 };
        let mut lanes = [0.0f32; 16];
        for row in c.chunks_exact(n).step_by(step) {
            recur_core::kernels::checksum::add_lane_sums(row, &mut lanes);
        }
        Ok(lanes.iter().sum())
    })
}
