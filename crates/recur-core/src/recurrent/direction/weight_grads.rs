//! The parameter gradients of one direction that sum over every step and batch row, after the
//! backward time loop: `dW_hh += dRᵀ · H_prev`, `dW_ih += dPᵀ · X`, and the bias sums, as one
//! pool job split by gate rows (a thread computes rows `i0..i1` of both weight gradients and
//! columns `i0..i1` of the bias sums), instead of one fork/join per product and sum.
//!
//! Bits do not depend on the split: a row range of a product is computed with the operations of
//! the whole product (see `kernels::gemm`), and each bias column adds its rows in order.

use crate::kernels::gemm;
use crate::kernels::rows::add_row_cols_to;
use crate::parallel;
use std::sync::Mutex;

/// Fewest multiply-adds of the job for which it is split over the pool (as `kernels::gemm`
/// splits a product).
const SPLIT_MIN: usize = 1 << 18;

/// Gate rows of a task are a multiple of this: whole register tiles of the products and whole
/// vectors of the bias sums.
const ROW_ALIGN: usize = 16;

/// The operands of the sums (rows `T·B`, time order; widths `G·H`, `H` and `in`).
pub(super) struct Operands<'a> {
    pub hidden: usize,
    pub input_size: usize,
    pub gh: usize,
    pub rows: usize,
    /// Reset-before GRU: the `n` rows of `dW_hh` multiply `r ⊙ h_prev` (`aux`), not `h_prev`.
    pub reset_before: bool,
    /// Gradient of the recurrent projection `[rows, G·H]`.
    pub drec: &'a [f32],
    /// States each step started from, `[rows, H]`.
    pub h_prevs: &'a [f32],
    /// `r ⊙ h_prev` of reset-before GRUs, `[rows, H]` (else unused).
    pub aux: &'a [f32],
    /// Gradient of the input projection `[rows, G·H]`.
    pub dxp: &'a [f32],
    /// The layer's input `[rows, in]`.
    pub x: &'a [f32],
}

/// The gradients to accumulate into; `None` skips one.
#[derive(Default)]
pub(super) struct Targets<'a> {
    /// `[G·H, H]`, from `drec` and `h_prevs` (`aux`).
    pub w_hh: Option<&'a mut [f32]>,
    /// `[G·H]`, the column sums of `drec`.
    pub b_hh: Option<&'a mut [f32]>,
    /// `[G·H]`, the column sums of `dxp`.
    pub b_ih: Option<&'a mut [f32]>,
    /// `[G·H, in]`, from `dxp` and `x`.
    pub w_ih: Option<&'a mut [f32]>,
}

/// One task's gate rows `i0..` of every target.
struct Part<'a> {
    i0: usize,
    w_hh: Option<&'a mut [f32]>,
    b_hh: Option<&'a mut [f32]>,
    b_ih: Option<&'a mut [f32]>,
    w_ih: Option<&'a mut [f32]>,
}

/// Accumulates `targets` from `ops`, split by gate rows over the pool when large.
pub(super) fn accumulate(ops: &Operands<'_>, targets: Targets<'_>) {
    let (hd, inp, gh) = (ops.hidden, ops.input_size, ops.gh);
    let width = targets.w_hh.as_ref().map_or(0, |_| hd) + targets.w_ih.as_ref().map_or(0, |_| inp) + 2;
    let work = ops.rows.saturating_mul(gh).saturating_mul(width);
    let threads = if work < SPLIT_MIN { 1 } else { parallel::threads() };
    let per = gh.div_ceil(threads).next_multiple_of(ROW_ALIGN).min(gh).max(1);
    let tasks = gh.div_ceil(per);
    let Targets { w_hh, b_hh, b_ih, w_ih } = targets;
    // (An empty gradient has no rows to split.)
    let mut w_hh = w_hh.filter(|_| hd > 0).map(|w| w.chunks_mut(per * hd));
    let mut b_hh = b_hh.map(|b| b.chunks_mut(per));
    let mut b_ih = b_ih.map(|b| b.chunks_mut(per));
    let mut w_ih = w_ih.filter(|_| inp > 0).map(|w| w.chunks_mut(per * inp));
    let parts: Vec<Mutex<Option<Part<'_>>>> = (0..tasks)
        .map(|t| {
            Mutex::new(Some(Part {
                i0: t * per,
                w_hh: w_hh.as_mut().and_then(Iterator::next),
                b_hh: b_hh.as_mut().and_then(Iterator::next),
                b_ih: b_ih.as_mut().and_then(Iterator::next),
                w_ih: w_ih.as_mut().and_then(Iterator::next),
            }))
        })
        .collect();
    parallel::run(tasks, &|t| {
        let part = parts[t].lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(part) = part {
            task(ops, part);
        }
    });
}

/// Rows `i0..i0 + len` of every target (the length from the part's bias or weight rows).
fn task(ops: &Operands<'_>, part: Part<'_>) {
    let (hd, inp, gh, n) = (ops.hidden, ops.input_size, ops.gh, ops.rows);
    let Part { i0, w_hh, b_hh, b_ih, w_ih } = part;
    if let Some(w) = w_hh {
        let i1 = i0 + w.len() / hd;
        // Reset-before GRU: rows below 2H (r, z) multiply h_prev, the n rows r ⊙ h_prev.
        let split = if ops.reset_before { (2 * hd).clamp(i0, i1) } else { i1 };
        let (w_h, w_aux) = w.split_at_mut((split - i0) * hd);
        if split > i0 {
            gemm(split - i0, n, hd, 1.0, &ops.drec[i0..], 1, gh, ops.h_prevs, hd, 1, 1.0, w_h, hd, 1);
        }
        if i1 > split {
            gemm(i1 - split, n, hd, 1.0, &ops.drec[split..], 1, gh, ops.aux, hd, 1, 1.0, w_aux, hd, 1);
        }
    }
    if let Some(b) = b_hh {
        add_row_cols_to(b, ops.drec, gh, i0);
    }
    if let Some(b) = b_ih {
        add_row_cols_to(b, ops.dxp, gh, i0);
    }
    if let Some(w) = w_ih {
        let m = w.len() / inp;
        gemm(m, n, inp, 1.0, &ops.dxp[i0..], 1, gh, ops.x, inp, 1, 1.0, w, inp, 1);
    }
}
