//! The parameter gradients of one direction that sum over every step and batch row, after the
//! backward time loop: `dW_hh += dRᵀ · H_prev`, `dW_ih += dPᵀ · X`, and the bias sums, as one
//! pool job split by gate rows (a task computes rows `i0..i1` of both weight gradients and
//! columns `i0..i1` of the bias sums), instead of one fork/join per product and sum.
//!
//! Split over a pool, the job has many small tasks (a few dozen gate rows each), claimed as
//! threads come free: a thread that starts late or is slowed by the host leaves more of the job
//! to the others, where halves fixed in advance made the first thread wait for the second's.
//! The right-hand operands (`H_prev`, `X`) are therefore packed once, by all threads (a pool job
//! of their cache blocks), not by every task.
//!
//! Bits do not depend on the split: a row range of a product is computed with the operations of
//! the whole product (see `kernels::gemm`; a product over a prepacked operand runs the same
//! blocked loop), and each bias column adds its rows in order.

use crate::kernels::{gemm, gemm_prepacked, gemm_shared_a, BOperand, PackedB, SharedOperand};
use crate::kernels::rows::add_row_cols_to;
use crate::parallel;
use std::cell::RefCell;
use std::sync::Mutex;

/// Fewest multiply-adds of the job for which it is split over the pool (as `kernels::gemm`
/// splits a product).
const SPLIT_MIN: usize = 1 << 18;

/// Gate rows of a task are a multiple of this: whole register tiles of the products and whole
/// vectors of the bias sums.
const ROW_ALIGN: usize = 16;

/// Fewest gate rows of a task in a split job (more when that would make more than
/// [`TASKS_PER_THREAD`] tasks per thread): enough rows that packing their block of `dRᵀ` stays
/// a small part of the task's work.
const MIN_TASK_ROWS: usize = 32;

/// Most tasks per thread in a split job.
const TASKS_PER_THREAD: usize = 8;

thread_local! {
    /// `H_prev`, `r ⊙ h_prev` (reset-before GRU) and `X`, packed for a split job (reused from
    /// call to call: after the first training step no call allocates).
    static PACKED: RefCell<[PackedB; 3]> = RefCell::default();
}

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

impl Operands<'_> {
    /// Whether the two projections have one gradient (LSTM and RNN without a kept `drec`): then
    /// `dW_hh` and `dW_ih` multiply the same `dᵀ`, and the biases sum the same rows.
    fn shares_grad(&self) -> bool {
        !self.reset_before && std::ptr::eq(self.drec, self.dxp)
    }
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

/// The right-hand operands packed once for a split job (`None`: each product packs its own).
#[derive(Clone, Copy)]
struct Packed<'a> {
    h_prevs: &'a PackedB,
    aux: &'a PackedB,
    x: &'a PackedB,
}

/// Floats [`accumulate`] may allocate for `rows` rows (an estimate from above): with a pool, the
/// right-hand operands packed once for the job, beyond what the thread's buffers hold.
pub(super) fn packing_growth(rows: usize, hidden: usize, input_size: usize, reset_before: bool) -> usize {
    if parallel::threads() < 2 {
        return 0;
    }
    let need = PackedB::len_for(rows, hidden) * (1 + usize::from(reset_before)) + PackedB::len_for(rows, input_size);
    need.saturating_sub(PACKED.with_borrow(|p| p.iter().map(PackedB::capacity).sum()))
}

/// Accumulates `targets` from `ops`, split by gate rows over the pool when large.
pub(super) fn accumulate(ops: &Operands<'_>, targets: Targets<'_>) {
    let (hd, inp, gh) = (ops.hidden, ops.input_size, ops.gh);
    let width = targets.w_hh.as_ref().map_or(0, |_| hd) + targets.w_ih.as_ref().map_or(0, |_| inp) + 2;
    let work = ops.rows.saturating_mul(gh).saturating_mul(width);
    let threads = if work < SPLIT_MIN { 1 } else { parallel::threads() };
    let Targets { w_hh, b_hh, b_ih, w_ih } = targets;
    // (An empty gradient has no rows to split.)
    let (w_hh, w_ih) = (w_hh.filter(|_| hd > 0), w_ih.filter(|_| inp > 0));
    if threads == 1 {
        return task(ops, Part { i0: 0, w_hh, b_hh, b_ih, w_ih }, None);
    }
    let per = gh.div_ceil(threads * TASKS_PER_THREAD).max(MIN_TASK_ROWS).next_multiple_of(ROW_ALIGN).min(gh);
    let tasks = gh.div_ceil(per);
    let mut w_hh_rows = w_hh.map(|w| w.chunks_mut(per * hd));
    let mut b_hh = b_hh.map(|b| b.chunks_mut(per));
    let mut b_ih = b_ih.map(|b| b.chunks_mut(per));
    let mut w_ih_rows = w_ih.map(|w| w.chunks_mut(per * inp));
    let parts: Vec<Mutex<Option<Part<'_>>>> = (0..tasks)
        .map(|t| {
            Mutex::new(Some(Part {
                i0: t * per,
                w_hh: w_hh_rows.as_mut().and_then(Iterator::next),
                b_hh: b_hh.as_mut().and_then(Iterator::next),
                b_ih: b_ih.as_mut().and_then(Iterator::next),
                w_ih: w_ih_rows.as_mut().and_then(Iterator::next),
            }))
        })
        .collect();
    let (with_h, with_x) = (w_hh_rows.is_some(), w_ih_rows.is_some());
    PACKED.with_borrow_mut(|[h_prevs, aux, x]| {
        let rows = ops.rows;
        let mut operands = Vec::with_capacity(3);
        if with_h {
            operands.push((&mut *h_prevs, BOperand { k: rows, n: hd, b: ops.h_prevs, rsb: hd, csb: 1 }));
            if ops.reset_before {
                operands.push((&mut *aux, BOperand { k: rows, n: hd, b: ops.aux, rsb: hd, csb: 1 }));
            }
        }
        if with_x {
            operands.push((&mut *x, BOperand { k: rows, n: inp, b: ops.x, rsb: inp, csb: 1 }));
        }
        PackedB::pack_each(&mut operands);
        let packed = Packed { h_prevs, aux, x };
        parallel::run(tasks, &|t| {
            let part = parts[t].lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(part) = part {
                task(ops, part, Some(packed));
            }
        });
    });
}

/// Rows `i0..i0 + len` of every target (the length from the part's bias or weight rows), with
/// the right-hand operands `packed` once for the job, or packed by each product.
fn task(ops: &Operands<'_>, part: Part<'_>, packed: Option<Packed<'_>>) {
    let (hd, inp, gh, n) = (ops.hidden, ops.input_size, ops.gh, ops.rows);
    let Part { i0, w_hh, mut b_hh, mut b_ih, w_ih } = part;
    // The right-hand operands packed for the job, or block by block as the product goes.
    let h_operand = || match packed {
        Some(p) => SharedOperand::Packed(p.h_prevs),
        None => SharedOperand::Strided(BOperand { k: n, n: hd, b: ops.h_prevs, rsb: hd, csb: 1 }),
    };
    let x_operand = || match packed {
        Some(p) => SharedOperand::Packed(p.x),
        None => SharedOperand::Strided(BOperand { k: n, n: inp, b: ops.x, rsb: inp, csb: 1 }),
    };
    // Each weight gradient and its bias sum share one packing of their rows of `dᵀ`, which
    // also sums them (see `kernels::gemm_shared_a`; the same bits as the products and sums
    // below); one gradient for both projections (LSTM, RNN) shares it for both products.
    // Not for reset-before GRUs, whose `dW_hh` rows multiply two operands.
    let (w_hh, w_ih) = match (ops.reset_before, ops.shares_grad(), w_hh, w_ih) {
        (false, true, Some(w_h), Some(w_x)) => {
            gemm_shared_a(w_h.len() / hd, n, &ops.drec[i0..], gh, &mut [(h_operand(), w_h), (x_operand(), w_x)], b_hh.as_deref_mut());
            if let Some(b) = b_ih {
                add_row_cols_to(b, ops.dxp, gh, i0);
            }
            return;
        }
        (false, _, w_hh, w_ih) => {
            if let Some(w_h) = w_hh {
                gemm_shared_a(w_h.len() / hd, n, &ops.drec[i0..], gh, &mut [(h_operand(), w_h)], b_hh.take());
            }
            if let Some(w_x) = w_ih {
                gemm_shared_a(w_x.len() / inp, n, &ops.dxp[i0..], gh, &mut [(x_operand(), w_x)], b_ih.take());
            }
            (None, None)
        }
        (true, _, w_hh, w_ih) => (w_hh, w_ih),
    };
    // `C[m × width] += dᵀ[m × n] · B[n × width]` for the gate rows of `d` from `i0`.
    let product = |m: usize, d: &[f32], i0: usize, b: &[f32], b_packed: Option<&PackedB>, width: usize, c: &mut [f32]| match b_packed {
        Some(bp) => gemm_prepacked(m, 1.0, &d[i0..], 1, gh, bp, 1.0, c, width, 1),
        None => gemm(m, n, width, 1.0, &d[i0..], 1, gh, b, width, 1, 1.0, c, width, 1),
    };
    if let Some(w) = w_hh {
        let i1 = i0 + w.len() / hd;
        // Reset-before GRU: rows below 2H (r, z) multiply h_prev, the n rows r ⊙ h_prev.
        let split = if ops.reset_before { (2 * hd).clamp(i0, i1) } else { i1 };
        let (w_h, w_aux) = w.split_at_mut((split - i0) * hd);
        if split > i0 {
            product(split - i0, ops.drec, i0, ops.h_prevs, packed.map(|p| p.h_prevs), hd, w_h);
        }
        if i1 > split {
            product(i1 - split, ops.drec, split, ops.aux, packed.map(|p| p.aux), hd, w_aux);
        }
    }
    if let Some(b) = b_hh {
        add_row_cols_to(b, ops.drec, gh, i0);
    }
    if let Some(b) = b_ih {
        add_row_cols_to(b, ops.dxp, gh, i0);
    }
    if let Some(w) = w_ih {
        product(w.len() / inp, ops.dxp, i0, ops.x, packed.map(|p| p.x), inp, w);
    }
}
