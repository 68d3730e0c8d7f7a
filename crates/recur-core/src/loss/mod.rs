//! Losses with PyTorch's `reduction='mean'` semantics, each computing the loss and its gradient
//! with respect to the predictions in one pass: [`mse`], [`cross_entropy`] (softmax cross-entropy
//! from logits with class indices) and [`bce`] (binary cross-entropy with logits).
//!
//! Inputs are `rows × width` row-major matrices. An optional `row_mask` (one value per row,
//! `1` = counted, `0` = padding) removes rows entirely: their predictions and targets are neither
//! read nor validated, their gradient is zero, and the mean is taken over counted rows only.
//! Sums are accumulated in `f64`.

pub mod bce;
pub mod cross_entropy;
pub mod mse;

use crate::error::{Error, Result};

/// Which loss, as named in configurations (`"mse"`, `"cross_entropy"`, `"bce"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossKind {
    /// Mean squared error over counted elements ([`mse`]).
    Mse,
    /// Softmax cross-entropy from logits with class indices, mean over counted rows
    /// ([`cross_entropy`]).
    CrossEntropy,
    /// Binary cross-entropy with logits, mean over counted elements ([`bce`]).
    Bce,
}

/// Targets of a loss: real values (MSE, BCE) or class indices (cross-entropy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LossTarget<'a> {
    /// One value per prediction, `rows × width`.
    Values(&'a [f32]),
    /// One class index per row.
    Classes(&'a [u32]),
}

impl LossKind {
    /// Dispatches to the loss's `forward_backward`; the target must be of the loss's kind
    /// ([`Error::Unsupported`] otherwise).
    pub fn forward_backward(
        self,
        pred: &[f32],
        target: LossTarget<'_>,
        rows: usize,
        width: usize,
        row_mask: Option<&[f32]>,
        grad: &mut [f32],
    ) -> Result<f32> {
        match (self, target) {
            (LossKind::Mse, LossTarget::Values(t)) => mse::forward_backward(pred, t, rows, width, row_mask, grad),
            (LossKind::Bce, LossTarget::Values(t)) => bce::forward_backward(pred, t, rows, width, row_mask, grad),
            (LossKind::CrossEntropy, LossTarget::Classes(t)) => {
                cross_entropy::forward_backward(pred, t, rows, width, row_mask, grad)
            }
            (kind, _) => Err(Error::unsupported(format!("{kind:?} loss with this kind of target"))),
        }
    }

    /// Dispatches to the loss's `forward` (the loss only, no gradient).
    pub fn forward(
        self,
        pred: &[f32],
        target: LossTarget<'_>,
        rows: usize,
        width: usize,
        row_mask: Option<&[f32]>,
    ) -> Result<f32> {
        match (self, target) {
            (LossKind::Mse, LossTarget::Values(t)) => mse::forward(pred, t, rows, width, row_mask),
            (LossKind::Bce, LossTarget::Values(t)) => bce::forward(pred, t, rows, width, row_mask),
            (LossKind::CrossEntropy, LossTarget::Classes(t)) => cross_entropy::forward(pred, t, rows, width, row_mask),
            (kind, _) => Err(Error::unsupported(format!("{kind:?} loss with this kind of target"))),
        }
    }
}

/// Validates the common inputs and returns the number of counted rows (at least one).
pub(crate) fn check_common<T: Copy + Into<f64>>(
    pred: &[T],
    rows: usize,
    width: usize,
    row_mask: Option<&[f32]>,
    grad: Option<&[f32]>,
) -> Result<usize> {
    if rows == 0 {
        return Err(Error::range("loss rows", 0, ">= 1"));
    }
    if width == 0 {
        return Err(Error::range("loss width", 0, ">= 1"));
    }
    let n = crate::error::checked_numel("loss pred", &[rows, width])?;
    if pred.len() != n {
        return Err(Error::shape("loss pred", [rows, width], [pred.len()]));
    }
    if let Some(g) = grad {
        if g.len() != n {
            return Err(Error::shape("loss grad", [rows, width], [g.len()]));
        }
    }
    let counted = match row_mask {
        None => rows,
        Some(m) => {
            if m.len() != rows {
                return Err(Error::shape("row_mask", [rows], [m.len()]));
            }
            if let Some(i) = m.iter().position(|&v| v != 0.0 && v != 1.0) {
                return Err(Error::range(format!("row_mask[{i}]"), m[i], "0 or 1"));
            }
            m.iter().filter(|&&v| v == 1.0).count()
        }
    };
    if counted == 0 {
        return Err(Error::range("row_mask", "all rows masked", "at least one counted row"));
    }
    // Predictions of counted rows must be finite.
    for r in 0..rows {
        if is_counted(row_mask, r) && pred[r * width..(r + 1) * width].iter().any(|&v| !v.into().is_finite()) {
            return Err(first_non_finite("loss pred", pred, r, width));
        }
    }
    Ok(counted)
}

/// Whether row `r` is counted.
#[inline]
pub(crate) fn is_counted(row_mask: Option<&[f32]>, r: usize) -> bool {
    row_mask.map(|m| m[r] == 1.0).unwrap_or(true)
}

/// The [`Error::NonFinite`] for the first non-finite element of row `r`, with a flat index.
pub(crate) fn first_non_finite<T: Copy + Into<f64>>(what: &str, data: &[T], r: usize, width: usize) -> Error {
    let row = &data[r * width..(r + 1) * width];
    let j = row.iter().position(|&v| !v.into().is_finite()).unwrap_or(0);
    Error::NonFinite { what: what.to_string(), index: r * width + j }
}

#[cfg(test)]
mod tests;
