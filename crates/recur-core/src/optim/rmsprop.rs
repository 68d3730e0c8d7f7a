//! RMSprop, PyTorch's `torch.optim.RMSprop` (Hinton's variant: `eps` is added outside the square
//! root), with optional momentum, centering and weight decay.

use super::{check_hyper, check_non_negative};
use crate::error::Result;
use crate::kernels::rmsprop::{rmsprop_update, RmspropCoeffs};

/// Hyperparameters of [`torch.optim.RMSprop`](https://pytorch.org/docs/stable/generated/torch.optim.RMSprop.html),
/// with PyTorch's names and defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RmspropConfig {
    /// Learning rate (default 1e-2).
    pub lr: f64,
    /// Smoothing constant of the squared-gradient average (default 0.99).
    pub alpha: f64,
    /// Added to the denominator, outside the square root (default 1e-8).
    pub eps: f64,
    /// L2 penalty: `wd · p` is added to the gradient (default 0).
    pub weight_decay: f64,
    /// Momentum factor (default 0).
    pub momentum: f64,
    /// Normalise by an estimate of the gradient's variance instead of its second moment
    /// (default false).
    pub centered: bool,
}

impl Default for RmspropConfig {
    fn default() -> Self {
        RmspropConfig { lr: 1e-2, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.0, centered: false }
    }
}

impl RmspropConfig {
    /// Checks the hyperparameters as PyTorch's constructor does (plus finiteness).
    pub fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("rmsprop.lr", self.lr),
            ("rmsprop.alpha", self.alpha),
            ("rmsprop.eps", self.eps),
            ("rmsprop.weight_decay", self.weight_decay),
            ("rmsprop.momentum", self.momentum),
        ] {
            check_hyper(what, v)?;
            check_non_negative(what, v)?;
        }
        Ok(())
    }

    /// Names of the per-parameter state buffers this configuration keeps.
    pub(crate) fn buffer_names(&self) -> &'static [&'static str] {
        match (self.momentum > 0.0, self.centered) {
            (false, false) => &["square_avg"],
            (true, false) => &["square_avg", "momentum_buffer"],
            (false, true) => &["square_avg", "grad_avg"],
            (true, true) => &["square_avg", "momentum_buffer", "grad_avg"],
        }
    }

    /// One update of one parameter, following PyTorch's `_single_tensor_rmsprop` (the loop is
    /// [`rmsprop_update`], in recur-kernels to be vectorized in the wasm builds).
    pub(crate) fn update(&self, p: &mut [f32], g: &[f32], bufs: &mut [Vec<f32>]) {
        let c = RmspropCoeffs { lr: self.lr, alpha: self.alpha, eps: self.eps, weight_decay: self.weight_decay, momentum: self.momentum };
        // The buffers in the order of `buffer_names`.
        let (sq, rest) = bufs.split_at_mut(1);
        let (mom, rest) = rest.split_at_mut(usize::from(self.momentum > 0.0));
        let mom = mom.first_mut().map(|b| &mut b[..]);
        let grad_avg = if self.centered { Some(&mut rest[0][..]) } else { None };
        rmsprop_update(&c, p, g, &mut sq[0], mom, grad_avg);
    }
}
