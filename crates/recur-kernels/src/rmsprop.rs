//! The elementwise update of RMSprop (recur-core's `optim::rmsprop` picks the buffers; this is
//! the loop over the elements). It lives here, like [`crate::adam`], so that the wasm builds
//! compile it at opt-level 3: in recur-core, compiled for size, LLVM did not vectorize it and ran
//! one `sqrtsd` and one `divsd` per element. The arithmetic is `f64`, in the order of PyTorch's
//! `_single_tensor_rmsprop` as recur-core had it, so the vectorized loop gives the same bits as
//! the scalar one.

/// The constants of an update: `torch.optim.RMSprop`'s hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmspropCoeffs {
    /// The learning rate.
    pub lr: f64,
    /// The smoothing constant of the averages.
    pub alpha: f64,
    /// Added to the denominator, outside the square root.
    pub eps: f64,
    /// The L2 penalty `wd`, added to the gradient as `wd · p` (also when 0, as before).
    pub weight_decay: f64,
    /// The momentum factor (used only with a momentum buffer).
    pub momentum: f64,
}

impl RmspropCoeffs {
    /// One loop per variant, with no branch inside, so it vectorizes. `buf` (momentum) and `ga`
    /// (centered) are as long as `p`, or empty when their variant is off.
    #[inline(always)]
    fn run<const MOMENTUM: bool, const CENTERED: bool>(&self, p: &mut [f32], g: &[f32], sq: &mut [f32], buf: &mut [f32], ga: &mut [f32]) {
        let n = p.len();
        // Exact lengths, so that LLVM drops the bounds checks (which would stop the vectorizer).
        let (g, sq) = (&g[..n], &mut sq[..n]);
        let buf = &mut buf[..if MOMENTUM { n } else { 0 }];
        let ga = &mut ga[..if CENTERED { n } else { 0 }];
        let alpha = self.alpha;
        for i in 0..n {
            let pv = p[i] as f64;
            let gv = g[i] as f64 + self.weight_decay * pv;
            let s = alpha * sq[i] as f64 + (1.0 - alpha) * gv * gv;
            sq[i] = s as f32;
            let avg = if CENTERED {
                let a = ga[i] as f64;
                let a = a + (1.0 - alpha) * (gv - a);
                ga[i] = a as f32;
                // Mathematically non-negative; clamp rounding noise instead of taking sqrt(<0).
                non_negative(s - a * a).sqrt() + self.eps
            } else {
                s.sqrt() + self.eps
            };
            let upd = if MOMENTUM {
                let b = self.momentum * buf[i] as f64 + gv / avg;
                buf[i] = b as f32;
                b
            } else {
                gv / avg
            };
            p[i] = (pv - self.lr * upd) as f32;
        }
    }
}

/// `x.max(0.0)`, bit for bit (NaN gives 0, and -0 stays -0 as in libm's `fmax` and x86's
/// `maxsd` lowering), as a compare and a select: wasm has no `fmax` instruction, so `max` was a
/// call to libm's `fmax`, and in the vectorized loop one call per lane.
#[inline(always)]
fn non_negative(x: f64) -> f64 {
    if x >= 0.0 {
        x
    } else {
        0.0
    }
}

/// One RMSprop update of a run of elements: parameters `p` with gradient `g`, the squared
/// gradients' average `square_avg`, the momentum buffer `momentum_buffer` when given (momentum),
/// and the gradients' average `grad_avg` when given (centered). Only the first `p.len()` elements
/// of the other slices are used; they must not be shorter.
#[inline(never)]
pub fn rmsprop_update(c: &RmspropCoeffs, p: &mut [f32], g: &[f32], square_avg: &mut [f32], momentum_buffer: Option<&mut [f32]>, grad_avg: Option<&mut [f32]>) {
    match (momentum_buffer, grad_avg) {
        (None, None) => c.run::<false, false>(p, g, square_avg, &mut [], &mut []),
        (Some(b), None) => c.run::<true, false>(p, g, square_avg, b, &mut []),
        (None, Some(a)) => c.run::<false, true>(p, g, square_avg, &mut [], a),
        (Some(b), Some(a)) => c.run::<true, true>(p, g, square_avg, b, a),
    }
}

/// For the tests (native, and in wasm in recur-wasm): the variants [`run_against_elements`] is
/// checked for, as `(momentum, centered, weight decay)`.
#[doc(hidden)]
pub const TEST_VARIANTS: [(bool, bool, f64); 6] =
    [(false, false, 0.0), (true, false, 0.0), (false, true, 0.0), (true, true, 0.0), (false, false, 0.05), (true, true, 0.05)];

/// For the tests (native, and compiled to wasm in recur-wasm): updates copies of the state once as
/// a whole run ([`rmsprop_update`]'s vectorized loop) and once one element per call (its scalar
/// remainder); returns the new parameters of the run, or the first element whose bits differ, as
/// `"square_avg[3]"`. `momentum_buffer` and `grad_avg` select the variants.
#[doc(hidden)]
pub fn run_against_elements(c: &RmspropCoeffs, p: &[f32], g: &[f32], square_avg: &[f32], momentum_buffer: Option<&[f32]>, grad_avg: Option<&[f32]>) -> Result<Vec<f32>, String> {
    let n = p.len();
    let (momentum, centered) = (momentum_buffer.is_some(), grad_avg.is_some());
    let or_zeros = |b: Option<&[f32]>| b.map_or_else(|| vec![0.0; n], <[f32]>::to_vec);
    let state = [p.to_vec(), square_avg.to_vec(), or_zeros(momentum_buffer), or_zeros(grad_avg)];
    let (mut run, mut one) = (state.clone(), state);
    let [rp, rs, rb, ra] = &mut run;
    rmsprop_update(c, rp, g, rs, momentum.then_some(&mut rb[..]), centered.then_some(&mut ra[..]));
    let [op, os, ob, oa] = &mut one;
    for i in 0..n {
        let (b, a) = (momentum.then_some(&mut ob[i..i + 1]), centered.then_some(&mut oa[i..i + 1]));
        rmsprop_update(c, &mut op[i..i + 1], &g[i..i + 1], &mut os[i..i + 1], b, a);
    }
    crate::updates::first_difference(&["p", "square_avg", "momentum_buffer", "grad_avg"], &run, &one)?;
    let [p, ..] = run;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::updates::values;

    /// The clamp of the centered variant is `max(0.0)`, for every sign, zero, infinity and NaN.
    #[test]
    fn non_negative_is_max_zero() {
        let xs = [0.0, -0.0, 1.0, -1.0, 1e-310, -1e-310, f64::MIN_POSITIVE, f64::MAX, f64::MIN, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -f64::NAN];
        for x in xs {
            let want = std::hint::black_box(x).max(std::hint::black_box(0.0));
            assert_eq!(non_negative(x).to_bits(), want.to_bits(), "{x:e}: {} vs {want}", non_negative(x));
        }
    }

    /// A whole run updated in one call (the vectorized loop) gives the bits of the same elements
    /// updated one at a time, for every variant and for run lengths around the vector widths.
    #[test]
    fn a_run_updates_like_its_elements_one_by_one() {
        let base = RmspropCoeffs { lr: 1e-2, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.9 };
        for (momentum, centered, weight_decay) in TEST_VARIANTS {
            let c = RmspropCoeffs { weight_decay, ..base };
            for n in (0..=37).chain([300, 301]) {
                let (p0, g) = (values(n, 1 + n as u32, 1.0), values(n, 99 + n as u32, 0.1));
                let sq = values(n, 13 + n as u32, 1e-2).iter().map(|x| x * x).collect::<Vec<_>>();
                let (b, a) = (values(n, 7 + n as u32, 0.1), values(n, 21 + n as u32, 1e-3));
                let what = format!("n {n}, momentum {momentum}, centered {centered}, weight decay {weight_decay}");
                let p = run_against_elements(&c, &p0, &g, &sq, momentum.then_some(&b[..]), centered.then_some(&a[..]))
                    .unwrap_or_else(|e| panic!("{e}: {what}"));
                assert!(p.iter().zip(&p0).all(|(a, b)| a != b), "an element did not move: {what}");
            }
        }
    }
}
