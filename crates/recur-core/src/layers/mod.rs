//! Non-recurrent layers: [`Dense`] (PyTorch `nn.Linear` plus an activation), [`Embedding`],
//! [`BatchNorm`] (`nn.BatchNorm1d` over features, with an optional padding mask), the block
//! layer-norm kernels used inside recurrent cells, and [`Dropout`].
//!
//! Every layer works on rows: an input of `rows × features`, row-major `f32`. A time-major
//! sequence `[T, B, F]` is simply `T·B` rows. Layers own their caches and reuse them, so a
//! training loop with a repeating row count does not allocate after the first step.

pub mod batch_norm;
pub mod dense;
pub mod dropout;
pub mod embedding;
pub mod layer_norm;

pub use batch_norm::BatchNorm;
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use layer_norm::{layer_norm_backward, layer_norm_forward};

use crate::error::{Error, Result};

/// The full name of a parameter or buffer: `"{prefix}.{name}"`, or just `name` when `prefix` is
/// empty (PyTorch's `state_dict` naming).
pub fn param_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A non-trainable tensor saved with a model (PyTorch's `register_buffer`), e.g. batch norm's
/// running statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Buffer {
    /// Full name, e.g. `"bn.running_mean"`.
    pub name: String,
    /// Row-major shape (`[]` for a scalar such as `num_batches_tracked`).
    pub shape: Vec<usize>,
    /// Values (a scalar holds one element).
    pub data: Vec<f32>,
}

/// Checks `rows ≥ 1` and `rows · width` within [`crate::error::MAX_ELEMENTS`]; returns the product.
pub(crate) fn checked_rows(what: &str, rows: usize, width: usize) -> Result<usize> {
    if rows == 0 {
        return Err(Error::range(format!("{what} rows"), rows, "at least 1"));
    }
    crate::error::checked_numel(what, &[rows, width])
}

/// Checks a row mask: one value per row, each exactly 0 (padding) or 1 (real row). Returns the
/// number of real rows.
pub(crate) fn check_mask(mask: &[f32], rows: usize) -> Result<usize> {
    if mask.len() != rows {
        return Err(Error::shape("mask", [rows], [mask.len()]));
    }
    let mut count = 0;
    for (i, &m) in mask.iter().enumerate() {
        if m == 1.0 {
            count += 1;
        } else if m != 0.0 {
            return Err(Error::range(format!("mask[{i}]"), m, "0 (padding) or 1 (real row)"));
        }
    }
    Ok(count)
}

/// Checks that a parameter's value and gradient still have `numel` elements (its fields are
/// public, so a caller could have replaced them); avoids panics on slicing.
pub(crate) fn check_param(p: &crate::param::Param, numel: usize) -> Result<()> {
    if p.value.len() != numel {
        return Err(Error::shape(p.name.clone(), [numel], [p.value.len()]));
    }
    if p.grad.len() != numel {
        return Err(Error::shape(format!("{}.grad", p.name), [numel], [p.grad.len()]));
    }
    Ok(())
}

/// Helpers shared by the layers' gradient tests.
#[cfg(test)]
pub(crate) mod testutil {
    use crate::rng::Rng;

    /// `n` values uniform in `[-scale, scale)`.
    pub fn rand_vec(rng: &mut Rng, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| rng.uniform_range(-scale, scale)).collect()
    }

    /// Random loss weights `w` for the scalar loss `L = Σ y·w` (so `dL/dy = w`).
    pub fn loss_weights(rng: &mut Rng, n: usize) -> Vec<f64> {
        (0..n).map(|_| rng.uniform_range(-1.0, 1.0) as f64).collect()
    }

    /// `Σ y·w` computed in f64.
    pub fn loss(y: &[f32], w: &[f64]) -> f64 {
        assert_eq!(y.len(), w.len());
        y.iter().zip(w).map(|(&a, &b)| a as f64 * b).sum()
    }

    /// The f32 copy of the loss weights, used as the upstream gradient `dy`.
    pub fn as_f32(w: &[f64]) -> Vec<f32> {
        w.iter().map(|&v| v as f32).collect()
    }

    /// Compares `analytic[i]` with the central difference `(L(+eps) − L(−eps)) / 2eps`, where
    /// `loss_at(i, delta)` perturbs element `i` by `delta`, runs the f32 forward, returns the f64
    /// loss and restores the element. Passes when `|num − ana| ≤ atol + rtol · max(|num|, |ana|)`.
    pub fn check_grad(
        what: &str,
        analytic: &[f32],
        eps: f32,
        atol: f64,
        rtol: f64,
        mut loss_at: impl FnMut(usize, f32) -> f64,
    ) {
        assert!(!analytic.is_empty(), "{what}: nothing to check");
        let mut nonzero = 0;
        for (i, &ana) in analytic.iter().enumerate() {
            let plus = loss_at(i, eps);
            let minus = loss_at(i, -eps);
            let num = (plus - minus) / (2.0 * eps as f64);
            let ana = ana as f64;
            if ana.abs() > 1e-6 {
                nonzero += 1;
            }
            let tol = atol + rtol * num.abs().max(ana.abs());
            assert!((num - ana).abs() <= tol, "{what}[{i}]: numeric {num} vs analytic {ana} (tol {tol})");
        }
        // A check against an all-zero gradient would prove little.
        assert!(nonzero > 0, "{what}: analytic gradient is identically zero");
    }
}
