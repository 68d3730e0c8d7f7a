//! The elementwise update of Adam and AdamW (recur-core's `optim::adam` plans the update and
//! splits it over the pool; this is the loop over the elements). It lives here so that the wasm
//! builds compile it at opt-level 3: in recur-core, compiled for size, LLVM did not vectorize it,
//! and V8 ran one `sqrtsd` and two `divsd` per element (0.77 ms for the 76k parameters of the
//! medium LSTM, about 3% of its training step). The arithmetic is `f64`, as before, so the
//! vectorized loop gives the same bits as the scalar one.

/// The per-step constants of an update, after PyTorch's `_single_tensor_adam`.
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

impl AdamCoeffs {
    /// The parameter (after decoupled decay) and the new moments `m`, `v` of one element.
    #[inline(always)]
    fn moments(&self, decoupled: bool, p: f32, g: f32, m: f32, v: f32) -> (f64, f64, f64) {
        let mut pv = p as f64;
        if decoupled {
            pv *= self.decay;
        }
        let gv = g as f64 + self.l2 * pv;
        let mv = m as f64;
        let mv = mv + (1.0 - self.b1) * (gv - mv);
        let vv = self.b2 * v as f64 + (1.0 - self.b2) * gv * gv;
        (pv, mv, vv)
    }

    /// The updated parameter, given the second moment to divide by.
    #[inline(always)]
    fn apply(&self, pv: f64, mv: f64, second: f64) -> f32 {
        let denom = second.sqrt() / self.bc2_sqrt + self.eps;
        (pv - self.step_size * mv / denom) as f32
    }

    /// The update without AMSGrad: one loop per variant, with no branch inside, so it vectorizes.
    #[inline(always)]
    fn run<const DECOUPLED: bool>(&self, p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32]) {
        for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            let (pv, mv, vv) = self.moments(DECOUPLED, *p, *g, *m, *v);
            *m = mv as f32;
            *v = vv as f32;
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
    match (decoupled, vmax) {
        (false, None) => c.run::<false>(p, g, m, v),
        (true, None) => c.run::<true>(p, g, m, v),
        (decoupled, Some(vmax)) => {
            let vmax = &mut vmax[..n];
            for i in 0..n {
                let (pv, mv, vv) = c.moments(decoupled, p[i], g[i], m[i], v[i]);
                m[i] = mv as f32;
                v[i] = vv as f32;
                let mx = (vmax[i] as f64).max(vv);
                vmax[i] = mx as f32;
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
