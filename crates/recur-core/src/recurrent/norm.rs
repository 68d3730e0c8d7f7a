//! Layer normalization of gate pre-activations inside the recurrent cells, in place, on
//! `H`-wide blocks of strided rows (each gate block is normalized on its own, as in layer-
//! normalized LSTMs, Ba et al. 2016).

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
/// `gamma`/`beta` are indexed by column.
pub(crate) fn forward_in_place(x: &mut [f32], w: Blocks, gamma: &[f32], beta: &[f32], xhat: &mut [f32], rstd: &mut [f32]) {
    let blocks_in_row = w.stride / w.hidden;
    for r in 0..w.rows {
        for k in 0..w.per_row() {
            let c0 = w.col0 + k * w.hidden;
            let base = r * w.stride + c0;
            let v = &x[base..base + w.hidden];
            let mean = v.iter().map(|&a| a as f64).sum::<f64>() / w.hidden as f64;
            let var = v.iter().map(|&a| (a as f64 - mean).powi(2)).sum::<f64>() / w.hidden as f64;
            let rs = (1.0 / (var + LN_EPS as f64).sqrt()) as f32;
            rstd[r * blocks_in_row + c0 / w.hidden] = rs;
            for j in 0..w.hidden {
                let xh = (x[base + j] - mean as f32) * rs;
                xhat[base + j] = xh;
                x[base + j] = gamma[c0 + j] * xh + beta[c0 + j];
            }
        }
    }
}

/// Backward of [`forward_in_place`]: `dy` (the gradient of the normalized output) is replaced
/// by the gradient of the raw input; `dgamma`/`dbeta` accumulate.
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
    let n = w.hidden as f64;
    for r in 0..w.rows {
        for k in 0..w.per_row() {
            let c0 = w.col0 + k * w.hidden;
            let base = r * w.stride + c0;
            let rs = rstd[r * blocks_in_row + c0 / w.hidden];
            let (mut sum_g, mut sum_gx) = (0.0f64, 0.0f64);
            for j in 0..w.hidden {
                let g = dy[base + j];
                let xh = xhat[base + j];
                dgamma[c0 + j] += g * xh;
                dbeta[c0 + j] += g;
                let dxh = (g * gamma[c0 + j]) as f64;
                sum_g += dxh;
                sum_gx += dxh * xh as f64;
            }
            let (mean_g, mean_gx) = (sum_g / n, sum_gx / n);
            for j in 0..w.hidden {
                let dxh = (dy[base + j] * gamma[c0 + j]) as f64;
                dy[base + j] = (rs as f64 * (dxh - mean_g - xhat[base + j] as f64 * mean_gx)) as f32;
            }
        }
    }
}
