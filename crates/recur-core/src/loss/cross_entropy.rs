//! Softmax cross-entropy from logits with class indices, PyTorch's
//! `cross_entropy(logits, classes, reduction='mean')`: per row `logsumexp(x) - x[class]`,
//! averaged over the counted rows. The log-sum-exp subtracts the row maximum first.

use super::{check_common, is_counted};
use crate::error::{Error, Result};

/// The loss in `f64`; generic over the prediction type so tests can differentiate it in `f64`.
pub(crate) fn run<T: Copy + Into<f64>>(
    pred: &[T],
    target: &[u32],
    rows: usize,
    width: usize,
    row_mask: Option<&[f32]>,
    mut grad: Option<&mut [f32]>,
) -> Result<f64> {
    let counted = check_common(pred, rows, width, row_mask, grad.as_deref())?;
    if target.len() != rows {
        return Err(Error::shape("cross_entropy target", [rows], [target.len()]));
    }
    for (r, &c) in target.iter().enumerate() {
        if is_counted(row_mask, r) && c as usize >= width {
            return Err(Error::range(format!("cross_entropy target[{r}]"), c, format!("a class index in 0..{width}")));
        }
    }
    let denom = counted as f64;
    let mut sum = 0.0f64;
    for r in 0..rows {
        let row = &pred[r * width..(r + 1) * width];
        if !is_counted(row_mask, r) {
            if let Some(g) = grad.as_deref_mut() {
                g[r * width..(r + 1) * width].iter_mut().for_each(|v| *v = 0.0);
            }
            continue;
        }
        let max = row.iter().fold(f64::NEG_INFINITY, |m: f64, &v| m.max(v.into()));
        let sum_exp: f64 = row.iter().map(|&v| (v.into() - max).exp()).sum();
        let lse = max + sum_exp.ln();
        let c = target[r] as usize;
        sum += lse - row[c].into();
        if let Some(g) = grad.as_deref_mut() {
            let g = &mut g[r * width..(r + 1) * width];
            for (j, (gj, &x)) in g.iter_mut().zip(row).enumerate() {
                let p = (x.into() - lse).exp();
                let onehot = if j == c { 1.0 } else { 0.0 };
                *gj = ((p - onehot) / denom) as f32;
            }
        }
    }
    Ok(sum / denom)
}

/// The loss, and `d loss / d logits` written to `grad` (`(softmax(x) - onehot(class)) / N`, zero
/// on masked rows), where `N` = counted rows. `pred` and `grad` are `rows × width` logits
/// (`width` = number of classes); `target` holds one class index per row.
///
/// Errors: sizes ([`Error::Shape`]), zero `rows`/`width`, a mask value other than 0/1, every row
/// masked or a counted row's class index `>= width` ([`Error::Range`]), NaN/infinity in a
/// counted row's logits ([`Error::NonFinite`]).
pub fn forward_backward(
    pred: &[f32],
    target: &[u32],
    rows: usize,
    width: usize,
    row_mask: Option<&[f32]>,
    grad: &mut [f32],
) -> Result<f32> {
    run(pred, target, rows, width, row_mask, Some(grad)).map(|l| l as f32)
}

/// The loss only; same inputs and errors as [`forward_backward`].
pub fn forward(pred: &[f32], target: &[u32], rows: usize, width: usize, row_mask: Option<&[f32]>) -> Result<f32> {
    run(pred, target, rows, width, row_mask, None).map(|l| l as f32)
}
