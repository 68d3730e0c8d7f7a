//! Mean squared error, PyTorch's `mse_loss(reduction='mean')`: the mean of `(pred - target)²`
//! over the counted elements.

use super::{check_common, first_non_finite, is_counted};
use crate::error::{Error, Result};

/// The loss in `f64`; generic over the prediction type so tests can differentiate it in `f64`.
pub(crate) fn run<T: Copy + Into<f64>>(
    pred: &[T],
    target: &[f32],
    rows: usize,
    width: usize,
    row_mask: Option<&[f32]>,
    mut grad: Option<&mut [f32]>,
) -> Result<f64> {
    let counted = check_common(pred, rows, width, row_mask, grad.as_deref())?;
    if target.len() != pred.len() {
        return Err(Error::shape("mse target", [rows, width], [target.len()]));
    }
    for r in 0..rows {
        if is_counted(row_mask, r) && target[r * width..(r + 1) * width].iter().any(|v| !v.is_finite()) {
            return Err(first_non_finite("mse target", target, r, width));
        }
    }
    let denom = (counted * width) as f64;
    let mut sum = 0.0f64;
    for r in 0..rows {
        let span = r * width..(r + 1) * width;
        if !is_counted(row_mask, r) {
            if let Some(g) = grad.as_deref_mut() {
                g[span].iter_mut().for_each(|v| *v = 0.0);
            }
            continue;
        }
        for i in span {
            let d = pred[i].into() - target[i] as f64;
            sum += d * d;
            if let Some(g) = grad.as_deref_mut() {
                g[i] = (2.0 * d / denom) as f32;
            }
        }
    }
    Ok(sum / denom)
}

/// The loss, and `d loss / d pred` written to `grad` (`2 (pred - target) / N`, zero on masked
/// rows), where `N` = counted rows × `width`. `pred`, `target` and `grad` are `rows × width`.
///
/// Errors: sizes ([`Error::Shape`]), zero `rows`/`width`, a mask value other than 0/1 or every
/// row masked ([`Error::Range`]), NaN/infinity in a counted row's `pred` or `target`
/// ([`Error::NonFinite`]).
pub fn forward_backward(
    pred: &[f32],
    target: &[f32],
    rows: usize,
    width: usize,
    row_mask: Option<&[f32]>,
    grad: &mut [f32],
) -> Result<f32> {
    run(pred, target, rows, width, row_mask, Some(grad)).map(|l| l as f32)
}

/// The loss only; same inputs and errors as [`forward_backward`].
pub fn forward(pred: &[f32], target: &[f32], rows: usize, width: usize, row_mask: Option<&[f32]>) -> Result<f32> {
    run(pred, target, rows, width, row_mask, None).map(|l| l as f32)
}
