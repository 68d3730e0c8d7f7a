//! The elementwise update of Adam and AdamW (recur-core's `optim::adam` plans the update and
//! splits it over the pool; this is the loop over the elements). It lives here so that the wasm
//! builds compile it at opt-level 3: in recur-core, compiled for size, LLVM did not vectorize it.
//!
//! The arithmetic is PyTorch's: `_single_tensor_adam` on `f32` parameters runs every tensor op
//! in `f32` (the Python-float hyperparameters rounded to `f32` once), in this order:
//! `m.lerp_(g, 1 − β1)`, `v.mul_(β2).addcmul_(g, g, value = 1 − β2)`,
//! `denom = v.sqrt() / sqrt(1 − β2^t) + eps`, `p.addcdiv_(m, denom, value = −lr / (1 − β1^t))`.
//! Until 2026-11-27 it ran in `f64`, rounding only the stored results: two lanes per vector
//! instead of four, and an `f64` square root and division per element (the update was about
//! 1.4 % of a medium LSTM training step; in `f32` the step takes about 1 % less time). Without
//! FMA in wasm, the vectorized loop gives the bits of the scalar one.

/// The per-step constants of an update, after PyTorch's `_single_tensor_adam` (computed in `f64`,
/// as Python does; the update rounds each to `f32` once, as PyTorch's kernels do).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamCoeffs {
    /// `β1`, the first moment's decay.
    pub b1: f64,
    /// `β2`, the second moment's decay.
    pub b2: f64,
    /// `sqrt(1 − β2^t)`.
    pub bc2_sqrt: f64,
    /// `lr / (1 − β1^t)`.
    pub step_size: f64,
    /// AdamW's decoupled decay factor `1 − lr·wd` (applied only when asked for).
    pub decay: f64,
    /// Adam's L2 penalty `wd`, added to the gradient as `wd · p`.
    pub l2: f64,
    /// Added to the denominator, outside the square root.
    pub eps: f64,
}

/// [`AdamCoeffs`] as the `f32` scalars PyTorch's kernels use.
#[derive(Clone, Copy)]
struct Scalars {
    /// `lerp`'s weight `1 − β1`, or with a weight of 0.5 or more, `−(1 − weight)` (see
    /// [`Scalars::new`]).
    lerp_w: f32,
    /// `lerp` starts from the gradient instead of `m` (weight of 0.5 or more).
    lerp_from_end: bool,
    b2: f32,
    one_minus_b2: f32,
    bc2_sqrt: f32,
    neg_step_size: f32,
    decay: f32,
    l2: f32,
    eps: f32,
}

impl Scalars {
    fn new(c: &AdamCoeffs) -> Self {
        let w = (1.0 - c.b1) as f32;
        // ATen's lerp: `self + w·(end − self)` for |w| < 0.5, else `end − (end − self)·(1 − w)`,
        // written here as `end + (end − self)·(−(1 − w))` (the same bits: negation is exact).
        let lerp_from_end = w.abs() >= 0.5;
        Scalars {
            lerp_w: if lerp_from_end { -(1.0 - w) } else { w },
            lerp_from_end,
            b2: c.b2 as f32,
            one_minus_b2: (1.0 - c.b2) as f32,
            bc2_sqrt: c.bc2_sqrt as f32,
            neg_step_size: (-c.step_size) as f32,
            decay: c.decay as f32,
            l2: c.l2 as f32,
            eps: c.eps as f32,
        }
    }

    /// The parameter (after decoupled decay), the gradient (with the L2 term) and the new first
    /// and second moments of one element.
    #[inline(always)]
    fn moments(&self, decoupled: bool, p: f32, g: f32, m: f32, v: f32) -> (f32, f32, f32) {
        let p = if decoupled { p * self.decay } else { p };
        // `grad.add(param, alpha = wd)`, skipped by PyTorch when wd is 0 (`g + 0·p` would turn
        // `-0.0` into `+0.0` and an infinite `p` into NaN).
        let g = if self.l2 != 0.0 { g + self.l2 * p } else { g };
        let base = if self.lerp_from_end { g } else { m };
        let m = base + self.lerp_w * (g - m);
        let v = v * self.b2 + self.one_minus_b2 * g * g;
        (p, m, v)
    }

    /// `p.addcdiv_(m, sqrt(second) / bc2_sqrt + eps, value = −step_size)`.
    #[inline(always)]
    fn apply(&self, p: f32, m: f32, second: f32) -> f32 {
        let denom = second.sqrt() / self.bc2_sqrt + self.eps;
        p + self.neg_step_size * m / denom
    }

    /// The update without AMSGrad: one loop per variant, with no branch inside, so it vectorizes.
    #[inline(always)]
    fn run<const DECOUPLED: bool>(&self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let (pv, mv, vv) = self.moments(DECOUPLED, *p, *g, *m, *v);
            *m = mv;
            *v = vv;
            *p = self.apply(pv, mv, vv);
        }
    }
}

/// One Adam (AdamW with `decoupled`) update of a run of elements: parameters `p` with gradient
/// `g`, first and second moments `m` and `v`, and AMSGrad's running maximum `vmax` when given.
/// Only the first `p.len()` elements of the other slices are used; they must not be shorter.
#[inline(never)]
pub fn adam_update(c: &AdamCoeffs, decoupled: bool, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], vmax: Option<&mut [f32]>) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    let c = Scalars::new(c);
    match (decoupled, vmax) {
        (false, None) => c.run::<false>(p, g, m, v),
        (true, None) => c.run::<true>(p, g, m, v),
        (decoupled, Some(vmax)) => {
            let vmax = &mut vmax[..n];
            for i in 0..n {
                let (pv, mv, vv) = c.moments(decoupled, p[i], g[i], m[i], v[i]);
                m[i] = mv;
                v[i] = vv;
                // `torch.maximum(vmax, v)`.
                let mx = vmax[i].max(vv);
                vmax[i] = mx;
                p[i] = c.apply(pv, mv, mx);
            }
        }
    }
}

/// For the tests (native, and in wasm in recur-wasm): the variants [`run_against_elements`] is
/// checked for, as `(decoupled, l2, amsgrad)`.
#[doc(hidden)]
pub const TEST_VARIANTS: [(bool, f64, bool); 5] = [(false, 0.0, false), (false, 0.05, false), (true, 0.0, false), (false, 0.0, true), (true, 0.0, true)];

/// For the tests (native, and compiled to wasm in recur-wasm): updates copies of the state once as
/// a whole run ([`adam_update`]'s vectorized loop) and once one element per call (its scalar
/// path); returns the new parameters of the run, or the first element whose bits differ, as
/// `"m[3]"`. `vmax` selects AMSGrad.
#[doc(hidden)]
pub fn run_against_elements(c: &AdamCoeffs, decoupled: bool, p: &[f32], g: &[f32], m: &[f32], v: &[f32], vmax: Option<&[f32]>) -> Result<Vec<f32>, String> {
    let n = p.len();
    let amsgrad = vmax.is_some();
    let vmax = vmax.map_or_else(|| vec![0.0; n], <[f32]>::to_vec);
    let (mut run, mut one) = ([p.to_vec(), m.to_vec(), v.to_vec(), vmax.clone()], [p.to_vec(), m.to_vec(), v.to_vec(), vmax]);
    let [rp, rm, rv, rx] = &mut run;
    adam_update(c, decoupled, rp, g, rm, rv, amsgrad.then_some(&mut rx[..]));
    let [op, om, ov, ox] = &mut one;
    for i in 0..n {
        let x = amsgrad.then_some(&mut ox[i..i + 1]);
        adam_update(c, decoupled, &mut op[i..i + 1], &g[i..i + 1], &mut om[i..i + 1], &mut ov[i..i + 1], x);
    }
    crate::updates::first_difference(&["p", "m", "v", "vmax"], &run, &one)?;
    let [p, ..] = run;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::updates::values;

    /// A whole run updated in one call (the vectorized loop) gives the bits of the same elements
    /// updated one at a time, for every variant and for run lengths around the vector widths.
    #[test]
    fn a_run_updates_like_its_elements_one_by_one() {
        let c = AdamCoeffs { b1: 0.9, b2: 0.999, bc2_sqrt: (1.0f64 - 0.999f64.powi(3)).sqrt(), step_size: 1e-3 / (1.0 - 0.9f64.powi(3)), decay: 1.0 - 1e-3 * 0.01, l2: 0.0, eps: 1e-8 };
        for (decoupled, l2, amsgrad) in TEST_VARIANTS {
            let c = AdamCoeffs { l2, ..c };
            for n in 0..=37 {
                let (p0, g) = (values(n, 1 + n as u32, 1.0), values(n, 99 + n as u32, 0.1));
                let (m0, v0) = (values(n, 7 + n as u32, 0.01), values(n, 13 + n as u32, 1e-4).iter().map(|x| x.abs()).collect::<Vec<_>>());
                let vmax0: Vec<f32> = v0.iter().enumerate().map(|(i, v)| if i % 2 == 0 { v * 2.0 } else { *v }).collect();
                let what = format!("n {n}, decoupled {decoupled}, l2 {l2}, amsgrad {amsgrad}");
                let p = run_against_elements(&c, decoupled, &p0, &g, &m0, &v0, amsgrad.then_some(&vmax0[..])).unwrap_or_else(|e| panic!("{e}: {what}"));
                assert!(p.iter().zip(&p0).all(|(a, b)| a != b), "an element did not move: {what}");
            }
        }
    }

    /// Each element follows PyTorch's `f32` tensor ops in their order, bit for bit: written out
    /// here one op at a time, for both forms of `lerp` (β1 = 0.9: weight 0.1; β1 = 0.3: weight
    /// 0.7, computed from the end), with Adam's L2 term and AdamW's decay.
    #[test]
    fn each_element_follows_pytorchs_f32_ops_in_order() {
        for (b1, l2, decoupled) in [(0.9f64, 0.0f64, false), (0.3, 0.0, false), (0.9, 0.02, false), (0.9, 0.0, true)] {
            let (b2, lr, eps, t) = (0.999f64, 3e-3f64, 1e-8f64, 4);
            let decay = 1.0 - lr * 0.01;
            let c = AdamCoeffs { b1, b2, bc2_sqrt: (1.0 - b2.powi(t)).sqrt(), step_size: lr / (1.0 - b1.powi(t)), decay, l2, eps };
            let n = 23;
            // Parameters about as small as a step, so that the step's last bits show in the result.
            let (p0, g0) = (values(n, 3, 1e-3), values(n, 5, 0.1));
            let (m0, v0) = (values(n, 7, 0.01), values(n, 11, 1e-4).iter().map(|x| x.abs()).collect::<Vec<_>>());
            let (mut p, mut m, mut v) = (p0.clone(), m0.clone(), v0.clone());
            adam_update(&c, decoupled, &mut p, &g0, &mut m, &mut v, None);
            for i in 0..n {
                let mut pi = p0[i];
                if decoupled {
                    pi *= decay as f32; // param.mul_(1 - lr * wd)
                }
                let mut g = g0[i];
                if l2 != 0.0 {
                    g += l2 as f32 * pi; // grad.add(param, alpha = wd)
                }
                let w = (1.0 - b1) as f32; // exp_avg.lerp_(grad, 1 - beta1)
                let mi = if w < 0.5 { m0[i] + w * (g - m0[i]) } else { g - (g - m0[i]) * (1.0 - w) };
                let vi = v0[i] * b2 as f32 + (1.0 - b2) as f32 * g * g; // mul_(beta2).addcmul_(g, g, 1 - beta2)
                let denom = vi.sqrt() / c.bc2_sqrt as f32 + eps as f32;
                let want = pi + (-c.step_size) as f32 * mi / denom; // addcdiv_(m, denom, -step_size)
                let what = format!("element {i}, b1 {b1}, l2 {l2}, decoupled {decoupled}");
                assert_eq!(m[i].to_bits(), mi.to_bits(), "m: {what}");
                assert_eq!(v[i].to_bits(), vi.to_bits(), "v: {what}");
                assert_eq!(p[i].to_bits(), want.to_bits(), "p: {what}");
            }
        }
    }

    /// The first step from zero moments moves every parameter by about `lr` against its gradient's
    /// sign (PyTorch's Adam: `m̂ = g`, `v̂ = g²`, so the step is `lr · g / (|g| + eps)`).
    #[test]
    fn the_first_step_moves_each_parameter_by_about_lr() {
        let (b1, b2, lr) = (0.9f64, 0.999f64, 1e-3);
        let c = AdamCoeffs { b1, b2, bc2_sqrt: (1.0 - b2).sqrt(), step_size: lr / (1.0 - b1), decay: 1.0, l2: 0.0, eps: 1e-8 };
        let g = values(19, 5, 0.5);
        let mut p = vec![1.0f32; 19];
        let (mut m, mut v) = (vec![0.0f32; 19], vec![0.0f32; 19]);
        adam_update(&c, false, &mut p, &g, &mut m, &mut v, None);
        for (i, (p, g)) in p.iter().zip(&g).enumerate() {
            let want = 1.0 - lr * (*g as f64) / ((*g as f64).abs() + 1e-8);
            assert!((*p as f64 - want).abs() < 1e-7, "element {i}: {p} vs {want}");
        }
    }
}
