//! Layer normalization over fixed-width blocks of each row, as used inside layer-normalized
//! recurrent cells (each gate block normalized on its own, like `nn.LayerNorm(width)` applied
//! to every block). The functions never allocate: the caller owns every buffer.

use crate::error::{Error, Result};

fn check_common(what: &str, rows: usize, width: usize, gamma: &[f32], beta_len: usize) -> Result<usize> {
    if rows == 0 {
        return Err(Error::range(format!("{what} rows"), rows, "at least 1"));
    }
    if width == 0 {
        return Err(Error::range(format!("{what} width"), width, "at least 1"));
    }
    let row_len = gamma.len();
    if row_len == 0 || !row_len.is_multiple_of(width) {
        return Err(Error::shape(format!("{what} gamma"), format!("a positive multiple of {width}"), [row_len]));
    }
    if beta_len != row_len {
        return Err(Error::shape(format!("{what} beta/dbeta"), [row_len], [beta_len]));
    }
    rows.checked_mul(row_len)
        .filter(|&n| n <= crate::error::MAX_ELEMENTS)
        .ok_or_else(|| Error::range(format!("{what} rows"), rows, "rows · row length within MAX_ELEMENTS"))
}

fn check_len(what: &str, got: usize, want: usize) -> Result<()> {
    if got != want {
        return Err(Error::shape(what, [want], [got]));
    }
    Ok(())
}

/// Forward layer norm of each `width`-wide block of each row.
///
/// `x` and `y` are `rows × L` with `L = gamma.len()` a multiple of `width`; `gamma` and `beta`
/// (`L` each) cover the whole row, so every block has its own affine parameters. For each block
/// `b` (mean `μ`, biased variance `σ²`, as PyTorch): `xhat = (x − μ) / √(σ² + eps)`,
/// `y = gamma · xhat + beta`. Saves `xhat` (`rows × L`) and `rstd = 1/√(σ² + eps)`
/// (`rows × L/width`, one per block) for [`layer_norm_backward`]. Statistics are accumulated in
/// f64. Only lengths are checked: NaN or infinities in `x` propagate to `y`.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_forward(
    x: &[f32],
    rows: usize,
    width: usize,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
    y: &mut [f32],
    xhat: &mut [f32],
    rstd: &mut [f32],
) -> Result<()> {
    let n = check_common("layer_norm", rows, width, gamma, beta.len())?;
    if !(eps.is_finite() && eps >= 0.0) {
        return Err(Error::range("layer_norm eps", eps, "finite and ≥ 0"));
    }
    check_len("layer_norm x", x.len(), n)?;
    check_len("layer_norm y", y.len(), n)?;
    check_len("layer_norm xhat", xhat.len(), n)?;
    check_len("layer_norm rstd", rstd.len(), n / width)?;
    let inv_w = 1.0 / width as f64;
    let blocks = x.chunks_exact(width).zip(y.chunks_exact_mut(width)).zip(xhat.chunks_exact_mut(width));
    for (b, ((xb, yb), hb)) in blocks.enumerate() {
        let off = (b * width) % gamma.len();
        let (g, be) = (&gamma[off..off + width], &beta[off..off + width]);
        let mean = xb.iter().map(|&v| v as f64).sum::<f64>() * inv_w;
        let var = xb.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() * inv_w;
        let rs = 1.0 / (var + eps as f64).sqrt();
        rstd[b] = rs as f32;
        for i in 0..width {
            let h = ((xb[i] as f64 - mean) * rs) as f32;
            hb[i] = h;
            yb[i] = g[i] * h + be[i];
        }
    }
    Ok(())
}

/// Backward of [`layer_norm_forward`]: given `dy` (`rows × L`) and the saved `xhat`, `rstd`,
/// writes `dx` (`rows × L`) and accumulates `dgamma += Σ_rows dy·xhat`, `dbeta += Σ_rows dy`
/// (`L` each). Per block, with `g = dy·gamma`:
/// `dx = rstd · (g − mean(g) − xhat · mean(g·xhat))`.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_backward(
    dy: &[f32],
    xhat: &[f32],
    rstd: &[f32],
    gamma: &[f32],
    rows: usize,
    width: usize,
    dx: &mut [f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) -> Result<()> {
    let n = check_common("layer_norm backward", rows, width, gamma, dbeta.len())?;
    check_len("layer_norm dgamma", dgamma.len(), gamma.len())?;
    check_len("layer_norm dy", dy.len(), n)?;
    check_len("layer_norm xhat", xhat.len(), n)?;
    check_len("layer_norm rstd", rstd.len(), n / width)?;
    check_len("layer_norm dx", dx.len(), n)?;
    let inv_w = 1.0 / width as f64;
    let blocks = dy.chunks_exact(width).zip(xhat.chunks_exact(width)).zip(dx.chunks_exact_mut(width));
    for (b, ((dyb, hb), dxb)) in blocks.enumerate() {
        let off = (b * width) % gamma.len();
        let g = &gamma[off..off + width];
        let (mut sum_g, mut sum_gh) = (0.0f64, 0.0f64);
        for i in 0..width {
            let gi = dyb[i] as f64 * g[i] as f64;
            sum_g += gi;
            sum_gh += gi * hb[i] as f64;
            dgamma[off + i] += dyb[i] * hb[i];
            dbeta[off + i] += dyb[i];
        }
        let (mean_g, mean_gh, rs) = (sum_g * inv_w, sum_gh * inv_w, rstd[b] as f64);
        for i in 0..width {
            let gi = dyb[i] as f64 * g[i] as f64;
            dxb[i] = (rs * (gi - mean_g - hb[i] as f64 * mean_gh)) as f32;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::*;
    use crate::rng::Rng;

    struct Case {
        rows: usize,
        width: usize,
        row_len: usize,
        x: Vec<f32>,
        gamma: Vec<f32>,
        beta: Vec<f32>,
    }

    fn case(seed: u64, rows: usize, width: usize, blocks: usize) -> Case {
        let mut rng = Rng::new(seed);
        let row_len = width * blocks;
        Case {
            rows,
            width,
            row_len,
            x: rand_vec(&mut rng, rows * row_len, 2.0),
            gamma: (0..row_len).map(|_| rng.uniform_range(0.5, 1.5)).collect(),
            beta: rand_vec(&mut rng, row_len, 0.5),
        }
    }

    fn fwd(c: &Case, x: &[f32], gamma: &[f32], beta: &[f32]) -> Vec<f32> {
        let n = c.rows * c.row_len;
        let (mut y, mut h, mut r) = (vec![0.0; n], vec![0.0; n], vec![0.0; n / c.width]);
        layer_norm_forward(x, c.rows, c.width, gamma, beta, 1e-5, &mut y, &mut h, &mut r).unwrap();
        y
    }

    /// eps = 1e-2 on inputs of spread ~1 (block std ≈ 1.15 for U(−2, 2)): rstd ≈ 0.9, so the
    /// loss's third derivative is O(1) and the truncation error eps²/6·O(1) ≈ 2e-5; f32 rounding
    /// of a 24-term loss contributes ≲ 1e-4 after dividing by 2·eps. atol 1e-3 + rtol 1e-2.
    #[test]
    fn gradients_match_finite_differences() {
        for (seed, rows, width, blocks) in [(1, 3, 4, 2), (2, 2, 5, 1), (3, 1, 2, 3)] {
            let c = case(seed, rows, width, blocks);
            let n = rows * c.row_len;
            let w = loss_weights(&mut Rng::new(seed + 50), n);
            let (mut y, mut h, mut r) = (vec![0.0; n], vec![0.0; n], vec![0.0; n / width]);
            layer_norm_forward(&c.x, rows, width, &c.gamma, &c.beta, 1e-5, &mut y, &mut h, &mut r).unwrap();
            let mut dx = vec![f32::NAN; n];
            let mut dgamma = vec![0.5; c.row_len]; // accumulates on top of existing values
            let mut dbeta = vec![0.25; c.row_len];
            let dy = as_f32(&w);
            layer_norm_backward(&dy, &h, &r, &c.gamma, rows, width, &mut dx, &mut dgamma, &mut dbeta).unwrap();
            dgamma.iter_mut().for_each(|v| *v -= 0.5);
            dbeta.iter_mut().for_each(|v| *v -= 0.25);
            let (eps, atol, rtol) = (1e-2, 1e-3, 1e-2);
            check_grad("layer_norm dx", &dx, eps, atol, rtol, |i, d| {
                let mut xp = c.x.clone();
                xp[i] += d;
                loss(&fwd(&c, &xp, &c.gamma, &c.beta), &w)
            });
            check_grad("layer_norm dgamma", &dgamma, eps, atol, rtol, |i, d| {
                let mut gp = c.gamma.clone();
                gp[i] += d;
                loss(&fwd(&c, &c.x, &gp, &c.beta), &w)
            });
            check_grad("layer_norm dbeta", &dbeta, eps, atol, rtol, |i, d| {
                let mut bp = c.beta.clone();
                bp[i] += d;
                loss(&fwd(&c, &c.x, &c.gamma, &bp), &w)
            });
        }
    }

    #[test]
    fn each_block_is_normalized_independently() {
        let c = case(4, 2, 3, 2);
        let ones = vec![1.0; c.row_len];
        let zeros = vec![0.0; c.row_len];
        let y = fwd(&c, &c.x, &ones, &zeros);
        for (xb, yb) in c.x.chunks(3).zip(y.chunks(3)) {
            let xb: Vec<f64> = xb.iter().map(|&v| v as f64).collect();
            let mean = xb.iter().sum::<f64>() / 3.0;
            let var = xb.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0;
            for (xv, &yv) in xb.iter().zip(yb) {
                assert!(((xv - mean) / (var + 1e-5).sqrt() - yv as f64).abs() < 1e-5);
            }
        }
        // gamma/beta apply per position in the row.
        let y2 = fwd(&c, &c.x, &c.gamma, &c.beta);
        for (k, (&a, &b)) in y.iter().zip(&y2).enumerate() {
            let j = k % c.row_len;
            assert!((c.gamma[j] * a + c.beta[j] - b).abs() < 1e-6);
        }
    }

    #[test]
    fn bad_lengths_return_shape_or_range_errors() {
        let c = case(5, 2, 3, 2);
        let n = 12;
        let (mut y, mut h, mut r) = (vec![0.0; n], vec![0.0; n], vec![0.0; 4]);
        let f = |x: &[f32], rows, width, gamma: &[f32], eps, y: &mut [f32], h: &mut [f32], r: &mut [f32]| {
            layer_norm_forward(x, rows, width, gamma, &c.beta[..gamma.len().min(6)], eps, y, h, r)
                .unwrap_err()
                .code()
        };
        assert_eq!(f(&c.x, 0, 3, &c.gamma, 1e-5, &mut y, &mut h, &mut r), "ERR_RANGE");
        assert_eq!(f(&c.x, 2, 0, &c.gamma, 1e-5, &mut y, &mut h, &mut r), "ERR_RANGE");
        assert_eq!(f(&c.x, 2, 4, &c.gamma, 1e-5, &mut y, &mut h, &mut r), "ERR_SHAPE");
        assert_eq!(f(&c.x, 2, 3, &c.gamma, f32::NAN, &mut y, &mut h, &mut r), "ERR_RANGE");
        assert_eq!(f(&c.x[..11], 2, 3, &c.gamma, 1e-5, &mut y, &mut h, &mut r), "ERR_SHAPE");
        assert_eq!(f(&c.x, 2, 3, &c.gamma, 1e-5, &mut y, &mut h, &mut r[..3]), "ERR_SHAPE");
        assert_eq!(f(&c.x, usize::MAX, 3, &c.gamma, 1e-5, &mut y, &mut h, &mut r), "ERR_RANGE");
        assert_eq!(
            layer_norm_forward(&c.x, 2, 3, &c.gamma, &c.beta[..3], 1e-5, &mut y, &mut h, &mut r).unwrap_err().code(),
            "ERR_SHAPE"
        );
        layer_norm_forward(&c.x, 2, 3, &c.gamma, &c.beta, 1e-5, &mut y, &mut h, &mut r).unwrap();
        let (mut dx, mut dg, mut db) = (vec![0.0; n], vec![0.0; 6], vec![0.0; 6]);
        let e = layer_norm_backward(&y[..10], &h, &r, &c.gamma, 2, 3, &mut dx, &mut dg, &mut db).unwrap_err();
        assert_eq!(e.code(), "ERR_SHAPE");
        let e = layer_norm_backward(&y, &h, &r, &c.gamma, 2, 3, &mut dx, &mut dg[..5], &mut db).unwrap_err();
        assert_eq!(e.code(), "ERR_SHAPE");
        let e = layer_norm_backward(&y, &h, &r, &c.gamma, 2, 3, &mut dx[..3], &mut dg, &mut db).unwrap_err();
        assert_eq!(e.code(), "ERR_SHAPE");
        assert!(dg.iter().all(|&v| v == 0.0), "a failed backward must not accumulate");
    }
}
