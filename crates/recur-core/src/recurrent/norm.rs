//! Layer normalization of gate pre-activations inside the recurrent cells, in place, on
//! `H`-wide blocks of strided rows (each gate block is normalized on its own, as in layer-
//! normalized LSTMs, Ba et al. 2016).

use recur_kernels::layer_norm;

/// Epsilon added to the variance (PyTorch's `nn.LayerNorm` default).
pub(crate) const LN_EPS: f32 = 1e-5;

/// A window of `rows` rows of a matrix with row stride `stride`, covering columns
/// `col0 .. col0 + cols`, where `cols` is a multiple of the block width `hidden`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Blocks {
    pub rows: usize,
    pub stride: usize,
    pub col0: usize,
    pub cols: usize,
    pub hidden: usize,
}

impl Blocks {
    fn per_row(&self) -> usize {
        self.cols / self.hidden
    }
}

/// `x ← γ ⊙ x̂ + β` with `x̂ = (x − mean) · rstd` per block. Stores `x̂` in `xhat` (same
/// layout as `x`) and `rstd` per block (`[rows, stride / hidden]`, block index `col / hidden`).
/// `gamma`/`beta` are indexed by column. Each block is `recur_kernels::layer_norm`'s.
pub(crate) fn forward_in_place(x: &mut [f32], w: Blocks, gamma: &[f32], beta: &[f32], xhat: &mut [f32], rstd: &mut [f32]) {
    let blocks_in_row = w.stride / w.hidden;
    for r in 0..w.rows {
        for k in 0..w.per_row() {
            let c0 = w.col0 + k * w.hidden;
            let cols = base_cols(r, c0, w);
            let (g, b) = (&gamma[c0..c0 + w.hidden], &beta[c0..c0 + w.hidden]);
            rstd[r * blocks_in_row + c0 / w.hidden] = layer_norm::normalize_block(&mut x[cols.clone()], g, b, &mut xhat[cols], LN_EPS as f64);
        }
    }
}

/// Backward of [`forward_in_place`]: `dy` (the gradient of the normalized output) is replaced
/// by the gradient of the raw input; `dgamma`/`dbeta` accumulate (rows in order).
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward_in_place(
    dy: &mut [f32],
    w: Blocks,
    gamma: &[f32],
    xhat: &[f32],
    rstd: &[f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let blocks_in_row = w.stride / w.hidden;
    for r in 0..w.rows {
        for k in 0..w.per_row() {
            let c0 = w.col0 + k * w.hidden;
            let cols = base_cols(r, c0, w);
            let p = c0..c0 + w.hidden;
            let rs = rstd[r * blocks_in_row + c0 / w.hidden];
            layer_norm::normalize_block_backward(&mut dy[cols.clone()], &gamma[p.clone()], &xhat[cols], rs, &mut dgamma[p.clone()], &mut dbeta[p]);
        }
    }
}

/// The elements of row `r`'s block from column `c0`.
fn base_cols(r: usize, c0: usize, w: Blocks) -> std::ops::Range<usize> {
    let base = r * w.stride + c0;
    base..base + w.hidden
}
