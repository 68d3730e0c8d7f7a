//! Binary cross-entropy on logits, PyTorch's `binary_cross_entropy_with_logits(reduction='mean')`,
//! in its stable form `max(x, 0) - x·y + ln(1 + e^-|x|)`, averaged over the counted elements.

use super::{check_common, first_non_finite, is_counted};
use crate::error::{Error, Result};

/// Logistic sigmoid in `f64`, finite and accurate for large `|x|`.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

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
        return Err(Error::shape("bce target", [rows, width], [target.len()]));
    }
    for r in 0..rows {
        if !is_counted(row_mask, r) {
            continue;
        }
        let row = &target[r * width..(r + 1) * width];
        if row.iter().any(|v| !v.is_finite()) {
            return Err(first_non_finite("bce target", target, r, width));
        }
        if let Some(j) = row.iter().position(|&v| !(0.0..=1.0).contains(&v)) {
            return Err(Error::range(format!("bce target[{}]", r * width + j), row[j], "0 <= target <= 1"));
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
            let x: f64 = pred[i].into();
            let y = target[i] as f64;
            sum += x.max(0.0) - x * y + (-x.abs()).exp().ln_1p();
            if let Some(g) = grad.as_deref_mut() {
                g[i] = ((sigmoid(x) - y) / denom) as f32;
            }
        }
    }
    Ok(sum / denom)
}

/// The loss, and `d loss / d pred` written to `grad` (`(σ(x) - y) / N`, zero on masked rows),
/// where `N` = counted rows × `width`. `pred` (logits), `target` (probabilities in `[0, 1]`) and
/// `grad` are `rows × width`.
///
/// Errors: sizes ([`Error::Shape`]), zero `rows`/`width`, a mask value other than 0/1, every row
/// masked or a target outside `[0, 1]` ([`Error::Range`]), NaN/infinity in a counted row's
/// `pred` or `target` ([`Error::NonFinite`]).
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
