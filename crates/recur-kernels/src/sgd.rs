//! The elementwise update of SGD (recur-core's `optim::sgd` picks the buffer; this is the loop
//! over the elements). It lives here, like [`crate::adam`], so that the wasm builds compile it at
//! opt-level 3, where LLVM vectorizes it (in recur-core, compiled for size, it did not). The
//! arithmetic is `f64`, in the order of PyTorch's `_single_tensor_sgd` as recur-core had it, so
//! the vectorized loop gives the same bits as the scalar one.

/// The constants of an update: `torch.optim.SGD`'s hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdCoeffs {
    /// The learning rate.
    pub lr: f64,
    /// The L2 penalty `wd`, added to the gradient as `wd · p` (also when 0, as before).
    pub weight_decay: f64,
    /// The momentum factor (used only with a momentum buffer).
    pub momentum: f64,
    /// `1 − dampening`: the weight of the gradient in the momentum buffer after the first step.
    pub damp: f64,
}

impl SgdCoeffs {
    /// Plain SGD: one loop with no branch inside, so it vectorizes.
    #[inline(always)]
    fn run_plain(&self, p: &mut [f32], g: &[f32]) {
        for (p, &g) in p.iter_mut().zip(g) {
            let pv = *p as f64;
            let d = g as f64 + self.weight_decay * pv;
            *p = (pv - self.lr * d) as f32;
        }
    }

    /// SGD with momentum: one loop per variant, with no branch inside, so it vectorizes. On the
    /// `FIRST` step the buffer is set to the (weight-decayed) gradient itself, as PyTorch does.
    #[inline(always)]
    fn run_momentum<const FIRST: bool, const NESTEROV: bool>(&self, p: &mut [f32], g: &[f32], buf: &mut [f32]) {
        for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
            let pv = *p as f64;
            let d = g as f64 + self.weight_decay * pv;
            let bv = if FIRST { d } else { self.momentum * *b as f64 + self.damp * d };
            *b = bv as f32;
            let step = if NESTEROV { d + self.momentum * bv } else { bv };
            *p = (pv - self.lr * step) as f32;
        }
    }
}

/// One SGD update of a run of elements: parameters `p` with gradient `g`, and the momentum
/// buffer `momentum_buffer` when given (momentum; without it `nesterov` and `first` are ignored).
/// `first` is the parameter's first step (the buffer is then initialised, not read). Only the
/// first `p.len()` elements of the other slices are used; they must not be shorter.
#[inline(never)]
pub fn sgd_update(c: &SgdCoeffs, nesterov: bool, first: bool, p: &mut [f32], g: &[f32], momentum_buffer: Option<&mut [f32]>) {
    let n = p.len();
    let g = &g[..n];
    let Some(buf) = momentum_buffer else {
        return c.run_plain(p, g);
    };
    let buf = &mut buf[..n];
    match (first, nesterov) {
        (false, false) => c.run_momentum::<false, false>(p, g, buf),
        (false, true) => c.run_momentum::<false, true>(p, g, buf),
        (true, false) => c.run_momentum::<true, false>(p, g, buf),
        (true, true) => c.run_momentum::<true, true>(p, g, buf),
    }
}

/// For the tests (native, and in wasm in recur-wasm): the variants [`run_against_elements`] is
/// checked for, as `(momentum, nesterov, first, dampening, weight decay)`.
#[doc(hidden)]
pub const TEST_VARIANTS: [(bool, bool, bool, f64, f64); 8] = [
    (false, false, false, 0.0, 0.0),
    (false, false, false, 0.0, 0.05),
    (true, false, true, 0.0, 0.0),
    (true, false, false, 0.0, 0.0),
    (true, false, false, 0.3, 0.05),
    (true, true, true, 0.0, 0.0),
    (true, true, false, 0.0, 0.0),
    (true, true, false, 0.0, 0.05),
];

/// For the tests (native, and compiled to wasm in recur-wasm): updates copies of the state once as
/// a whole run ([`sgd_update`]'s vectorized loop) and once one element per call (its scalar
/// remainder); returns the new parameters of the run, or the first element whose bits differ, as
/// `"momentum_buffer[3]"`. `momentum_buffer` selects momentum.
#[doc(hidden)]
pub fn run_against_elements(c: &SgdCoeffs, nesterov: bool, first: bool, p: &[f32], g: &[f32], momentum_buffer: Option<&[f32]>) -> Result<Vec<f32>, String> {
    let n = p.len();
    let momentum = momentum_buffer.is_some();
    let state = [p.to_vec(), momentum_buffer.map_or_else(|| vec![0.0; n], <[f32]>::to_vec)];
    let (mut run, mut one) = (state.clone(), state);
    let [rp, rb] = &mut run;
    sgd_update(c, nesterov, first, rp, g, momentum.then_some(&mut rb[..]));
    let [op, ob] = &mut one;
    for i in 0..n {
        sgd_update(c, nesterov, first, &mut op[i..i + 1], &g[i..i + 1], momentum.then_some(&mut ob[i..i + 1]));
    }
    crate::updates::first_difference(&["p", "momentum_buffer"], &run, &one)?;
    let [p, _] = run;
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
        for (momentum, nesterov, first, dampening, weight_decay) in TEST_VARIANTS {
            let c = SgdCoeffs { lr: 0.1, weight_decay, momentum: 0.9, damp: 1.0 - dampening };
            for n in (0..=37).chain([300, 301]) {
                let (p0, g, b) = (values(n, 1 + n as u32, 1.0), values(n, 99 + n as u32, 0.1), values(n, 7 + n as u32, 0.1));
                let what = format!("n {n}, momentum {momentum}, nesterov {nesterov}, first {first}, dampening {dampening}, weight decay {weight_decay}");
                let p = run_against_elements(&c, nesterov, first, &p0, &g, momentum.then_some(&b[..])).unwrap_or_else(|e| panic!("{e}: {what}"));
                assert!(p.iter().zip(&p0).all(|(a, b)| a != b), "an element did not move: {what}");
            }
        }
    }
}
