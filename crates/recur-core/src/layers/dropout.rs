//! Inverted dropout, as PyTorch's `nn.Dropout`.

use super::checked_rows;
use crate::error::{check_finite, Error, Result};
use crate::rng::Rng;

/// Zeroes each element with probability `p` during training and scales the survivors by
/// `1/(1−p)` (inverted dropout, PyTorch's convention), so inference is the identity. Masks are
/// drawn from an owned, seeded [`Rng`] (keep the element if `uniform() ≥ p`, i.e. with
/// probability `1−p`), making runs reproducible.
#[derive(Debug, Clone)]
pub struct Dropout {
    p: f32,
    scale: f32,
    rng: Rng,
    /// Keep flags (0/1) to use instead of random draws, for tests.
    fixed: Option<Vec<f32>>,
    /// Multiplier per element of the last forward (0 or `1/(1−p)`; all 1 after inference).
    mask: Vec<f32>,
    /// Whether a forward has run (and in which mode).
    last_training: Option<bool>,
    len: usize,
}

impl Dropout {
    /// Dropout with drop probability `p ∈ [0, 1)` and a generator seeded with `seed`.
    ///
    /// PyTorch also accepts `p = 1` (all zeros); it is refused here because it makes the
    /// layer's output and gradient identically zero, which is never intended.
    pub fn new(p: f32, seed: u64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::range("dropout p", p, "[0, 1)"));
        }
        Ok(Dropout {
            p,
            scale: 1.0 / (1.0 - p),
            rng: Rng::new(seed),
            fixed: None,
            mask: Vec::new(),
            last_training: None,
            len: 0,
        })
    }

    /// The mask generator's state.
    pub fn rng(&self) -> &Rng {
        &self.rng
    }

    /// Restores the mask generator (e.g. from a saved model), so training continues exactly.
    pub fn set_rng(&mut self, rng: Rng) {
        self.rng = rng;
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }

    /// Fixes the keep pattern (one 0 = drop / 1 = keep per element) used by every training
    /// forward instead of random draws, for tests and reproducing a step; `None` returns to
    /// random masks. Kept elements are still scaled by `1/(1−p)`.
    pub fn set_fixed_mask(&mut self, keep: Option<&[f32]>) -> Result<()> {
        self.fixed = match keep {
            None => None,
            Some(k) => {
                if let Some(i) = k.iter().position(|&v| v != 0.0 && v != 1.0) {
                    return Err(Error::range(format!("dropout mask[{i}]"), k[i], "0 (drop) or 1 (keep)"));
                }
                Some(k.to_vec())
            }
        };
        Ok(())
    }

    /// Floats a forward of `len` values adds to the mask it keeps, beyond what it holds.
    pub(crate) fn cache_growth(&self, len: usize) -> usize {
        len.saturating_sub(self.mask.capacity())
    }

    /// `y = x · mask` with a fresh mask when `training` (and `p > 0`), `y = x` otherwise; `y`
    /// is resized to `x.len()`. The mask is kept for [`Dropout::backward`].
    pub fn forward(&mut self, x: &[f32], training: bool, y: &mut Vec<f32>) -> Result<()> {
        checked_rows("dropout x", x.len(), 1)?;
        check_finite("dropout x", x)?;
        let n = x.len();
        if let (true, Some(keep)) = (training, &self.fixed) {
            if keep.len() != n {
                return Err(Error::shape("dropout fixed mask", [n], [keep.len()]));
            }
        }
        // Sized exactly (`fit`), as the model's allocation check counts them.
        crate::buffers::fit(&mut self.mask, n);
        if !training || (self.fixed.is_none() && self.p == 0.0) {
            self.mask.fill(1.0);
        } else if let Some(keep) = &self.fixed {
            self.mask.iter_mut().zip(keep).for_each(|(m, &k)| *m = k * self.scale);
        } else {
            let (p, scale, rng) = (self.p, self.scale, &mut self.rng);
            self.mask.iter_mut().for_each(|m| *m = if rng.uniform() >= p { scale } else { 0.0 });
        }
        crate::buffers::fit(y, n);
        y.iter_mut().zip(x.iter().zip(&self.mask)).for_each(|(o, (&v, &m))| *o = v * m);
        self.last_training = Some(training);
        self.len = n;
        Ok(())
    }

    /// Backward of the last forward: `dx = dy · mask` (`dx` resized to `dy.len()`).
    pub fn backward(&mut self, dy: &[f32], dx: &mut Vec<f32>) -> Result<()> {
        if self.last_training.is_none() {
            return Err(Error::state("dropout backward before forward"));
        }
        if dy.len() != self.len {
            return Err(Error::shape("dropout dy", [self.len], [dy.len()]));
        }
        check_finite("dropout dy", dy)?;
        dx.clear();
        dx.extend(dy.iter().zip(&self.mask).map(|(&g, &m)| g * m));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::*;

    /// The allocation check counts exactly what a forward adds to the mask.
    #[test]
    fn cache_growth_is_what_a_forward_allocates() {
        for p in [0.0, 0.5] {
            let mut d = Dropout::new(p, 3).unwrap();
            for (n, training) in [(6, true), (6, true), (20, false), (35, true), (3, true)] {
                let (growth, before) = (d.cache_growth(n), d.mask.capacity());
                d.forward(&vec![1.0f32; n], training, &mut Vec::new()).unwrap();
                assert_eq!(growth, d.mask.capacity() - before, "p {p}, {n} values");
            }
        }
    }

    #[test]
    fn gradient_with_fixed_mask_matches_finite_differences() {
        let mut rng = Rng::new(21);
        let x = rand_vec(&mut rng, 12, 1.0);
        let keep: Vec<f32> = (0..12).map(|i| if i % 3 == 1 { 0.0 } else { 1.0 }).collect();
        let w = loss_weights(&mut rng, 12);
        let mut d = Dropout::new(0.25, 1).unwrap();
        d.set_fixed_mask(Some(&keep)).unwrap();
        let (mut y, mut dx) = (Vec::new(), Vec::new());
        d.forward(&x, true, &mut y).unwrap();
        for i in 0..12 {
            assert_eq!(y[i], x[i] * keep[i] * (1.0 / 0.75));
        }
        d.backward(&as_f32(&w), &mut dx).unwrap();
        // Linear in x: the central difference is exact up to f32 rounding (≲ 1e-5 here).
        let mut probe = d.clone();
        check_grad("dropout dx", &dx, 1e-2, 1e-4, 1e-4, |i, dd| {
            let mut xp = x.clone();
            xp[i] += dd;
            probe.forward(&xp, true, &mut y).unwrap();
            loss(&y, &w)
        });
        assert!(dx.iter().zip(&keep).all(|(&g, &k)| k == 1.0 || g == 0.0));
    }

    #[test]
    fn random_masks_are_seeded_bernoulli_and_inference_is_identity() {
        let x = vec![1.0f32; 20_000];
        let (mut a, mut b) = (Dropout::new(0.3, 7).unwrap(), Dropout::new(0.3, 7).unwrap());
        let (mut ya, mut yb) = (Vec::new(), Vec::new());
        a.forward(&x, true, &mut ya).unwrap();
        b.forward(&x, true, &mut yb).unwrap();
        assert_eq!(ya, yb, "same seed, same mask");
        let scale = 1.0 / 0.7f32;
        assert!(ya.iter().all(|&v| v == 0.0 || v == scale));
        let kept = ya.iter().filter(|&&v| v != 0.0).count() as f64 / 20_000.0;
        // Binomial(20000, 0.7): standard error 0.0032; 5 sigma.
        assert!((kept - 0.7).abs() < 0.016, "kept fraction {kept}");
        let mean = ya.iter().map(|&v| v as f64).sum::<f64>() / 20_000.0;
        assert!((mean - 1.0).abs() < 0.025, "inverted dropout keeps the mean: {mean}");
        // Next step draws a different mask.
        a.forward(&x, true, &mut yb).unwrap();
        assert_ne!(ya, yb);
        // Inference: identity, and backward passes gradients through.
        a.forward(&[1.5, -2.0], false, &mut ya).unwrap();
        assert_eq!(ya, vec![1.5, -2.0]);
        let mut dx = Vec::new();
        a.backward(&[0.25, 4.0], &mut dx).unwrap();
        assert_eq!(dx, vec![0.25, 4.0]);
        // p = 0 in training is the identity too.
        let mut z = Dropout::new(0.0, 1).unwrap();
        z.forward(&[3.0, 4.0], true, &mut ya).unwrap();
        assert_eq!(ya, vec![3.0, 4.0]);
        assert_eq!(z.p(), 0.0);
    }

    #[test]
    fn bad_inputs_return_typed_errors() {
        for p in [-0.1, 1.0, 1.5, f32::NAN] {
            assert_eq!(Dropout::new(p, 0).unwrap_err().code(), "ERR_RANGE", "p = {p}");
        }
        let mut d = Dropout::new(0.5, 0).unwrap();
        let (mut y, mut dx) = (Vec::new(), Vec::new());
        assert_eq!(d.backward(&[1.0], &mut dx).unwrap_err().code(), "ERR_STATE");
        assert_eq!(d.forward(&[], true, &mut y).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(d.forward(&[1.0, f32::NAN], false, &mut y).unwrap_err().code(), "ERR_NON_FINITE");
        assert_eq!(d.set_fixed_mask(Some(&[1.0, 0.5])).unwrap_err().code(), "ERR_RANGE");
        d.set_fixed_mask(Some(&[1.0, 0.0, 1.0])).unwrap();
        assert_eq!(d.forward(&[1.0, 2.0], true, &mut y).unwrap_err().code(), "ERR_SHAPE");
        d.forward(&[1.0, 2.0], false, &mut y).unwrap(); // inference ignores the fixed mask
        assert_eq!(d.backward(&[1.0], &mut dx).unwrap_err().code(), "ERR_SHAPE");
        d.set_fixed_mask(None).unwrap();
        d.forward(&[1.0, 2.0], true, &mut y).unwrap();
    }
}
