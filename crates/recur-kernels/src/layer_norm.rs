//! One block of the recurrent cells' layer normalization (recur-core's `recurrent::norm` walks
//! the blocks): compiled here at opt-level 3. In recur-core, compiled for size, the two passes
//! took about 38 % of a medium layer-normalized LSTM training step, one value at a time.
//!
//! The means and variances are `f64` sums in four lanes (element `j` in lane `j % 4`, the last
//! `len % 4` in a fifth, summed as `(l0 + l1) + (l2 + l3) + tail`: `squares::lane_sum`, the
//! gradient norms' sum), so that LLVM keeps them in two `f64x2` sums; the lanes are part of the
//! definition, so every build (scalar or SIMD, native or wasm) gives the same bits. The
//! elementwise passes are plain loops over the block.

use crate::squares::lane_sum;

/// `x ← γ ⊙ x̂ + β` for one block `x`, with `x̂ = (x − mean) · rstd` written to `xhat`, and
/// `rstd = 1 / sqrt(var + eps)` (mean and biased variance over the block, in `f64`) returned.
/// `gamma`, `beta` and `xhat` must be at least as long as `x`.
#[inline(never)]
pub fn normalize_block(x: &mut [f32], gamma: &[f32], beta: &[f32], xhat: &mut [f32], eps: f64) -> f32 {
    let n = x.len();
    let (gamma, beta, xhat) = (&gamma[..n], &beta[..n], &mut xhat[..n]);
    let mean = lane_sum(n, |j| x[j] as f64) / n as f64;
    let var = lane_sum(n, |j| {
        let d = x[j] as f64 - mean;
        d * d
    }) / n as f64;
    let rs = (1.0 / (var + eps).sqrt()) as f32;
    let mean = mean as f32;
    for (((v, xh), g), b) in x.iter_mut().zip(xhat.iter_mut()).zip(gamma).zip(beta) {
        *xh = (*v - mean) * rs;
        *v = g * *xh + b;
    }
    rs
}

/// Backward of [`normalize_block`]: `dy` (the gradient of the block's output) is replaced by
/// the gradient of its input, given the `x̂` and `rstd` the forward kept; `dgamma` and `dbeta`
/// accumulate `dy ⊙ x̂` and `dy`.
#[inline(never)]
pub fn normalize_block_backward(dy: &mut [f32], gamma: &[f32], xhat: &[f32], rstd: f32, dgamma: &mut [f32], dbeta: &mut [f32]) {
    let n = dy.len();
    let (gamma, xhat, dgamma, dbeta) = (&gamma[..n], &xhat[..n], &mut dgamma[..n], &mut dbeta[..n]);
    for (((g, xh), dg), db) in dy.iter().zip(xhat).zip(dgamma.iter_mut()).zip(dbeta.iter_mut()) {
        *dg += g * xh;
        *db += g;
    }
    let mean_g = lane_sum(n, |j| (dy[j] * gamma[j]) as f64) / n as f64;
    let mean_gx = lane_sum(n, |j| (dy[j] * gamma[j]) as f64 * xhat[j] as f64) / n as f64;
    let rs = rstd as f64;
    for ((d, g), xh) in dy.iter_mut().zip(gamma).zip(xhat) {
        let dxh = (*d * g) as f64;
        *d = (rs * (dxh - mean_g - *xh as f64 * mean_gx)) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::updates::values;

    /// The sums are the lanes' (compared with the sum written out), and the block comes out with
    /// mean 0 and variance 1 before `γ`, `β`, for lengths around the lane count.
    #[test]
    fn normalizes_each_block_with_lane_sums() {
        for n in 1..=19 {
            let x0: Vec<f32> = values(n, 7 + n as u32, 3.0).iter().map(|v| v + 1.5).collect();
            let (gamma, beta) = (values(n, 11, 1.0), values(n, 13, 0.5));
            let (mut x, mut xhat) = (x0.clone(), vec![0.0f32; n]);
            let rs = normalize_block(&mut x, &gamma, &beta, &mut xhat, 1e-5);
            let by_lane = |f: &dyn Fn(usize) -> f64| {
                let lane = |l: usize| (l..n / 4 * 4).step_by(4).fold(0.0, |s, j| s + f(j));
                (lane(0) + lane(1)) + (lane(2) + lane(3)) + (n / 4 * 4..n).fold(0.0, |s, j| s + f(j))
            };
            let mean = by_lane(&|j| x0[j] as f64) / n as f64;
            let var = by_lane(&|j| (x0[j] as f64 - mean).powi(2)) / n as f64;
            assert_eq!(rs.to_bits(), ((1.0 / (var + 1e-5).sqrt()) as f32).to_bits(), "rstd, n {n}");
            for j in 0..n {
                let xh = (x0[j] - mean as f32) * rs;
                assert_eq!(xhat[j].to_bits(), xh.to_bits(), "xhat[{j}], n {n}");
                assert_eq!(x[j].to_bits(), (gamma[j] * xh + beta[j]).to_bits(), "x[{j}], n {n}");
            }
            if n > 1 {
                let m = xhat.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
                let v = xhat.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / n as f64;
                assert!(m.abs() < 1e-5 && (v - 1.0).abs() < 1e-3, "n {n}: mean {m}, var {v}");
            }
        }
    }

    /// The backward pass against central differences of `L = Σ w ⊙ y` through the forward, in
    /// `f64` on the `f32` block (step 1e-2 of inputs of size ~1; tolerance for f32 rounding).
    #[test]
    fn backward_matches_finite_differences() {
        let n = 9;
        let x0: Vec<f32> = values(n, 17, 2.0);
        let (gamma, beta, w) = (values(n, 19, 1.0), values(n, 23, 0.5), values(n, 29, 1.0));
        let loss = |x: &[f32]| {
            let (mut y, mut xh) = (x.to_vec(), vec![0.0f32; n]);
            normalize_block(&mut y, &gamma, &beta, &mut xh, 1e-5);
            y.iter().zip(&w).map(|(a, b)| *a as f64 * *b as f64).sum::<f64>()
        };
        let (mut y, mut xhat) = (x0.clone(), vec![0.0f32; n]);
        let rs = normalize_block(&mut y, &gamma, &beta, &mut xhat, 1e-5);
        let (mut dy, mut dgamma, mut dbeta) = (w.clone(), vec![0.0f32; n], vec![0.0f32; n]);
        normalize_block_backward(&mut dy, &gamma, &xhat, rs, &mut dgamma, &mut dbeta);
        for j in 0..n {
            let h = 1e-2f32;
            let (mut up, mut down) = (x0.clone(), x0.clone());
            up[j] += h;
            down[j] -= h;
            let numeric = (loss(&up) - loss(&down)) / (2.0 * h as f64);
            assert!((numeric - dy[j] as f64).abs() < 2e-3, "dx[{j}]: {numeric} vs {}", dy[j]);
            assert_eq!(dgamma[j].to_bits(), (w[j] * xhat[j]).to_bits(), "dgamma[{j}]");
            assert_eq!(dbeta[j].to_bits(), w[j].to_bits(), "dbeta[{j}]");
        }
    }
}
