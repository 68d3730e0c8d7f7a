//! RMSprop, PyTorch's `torch.optim.RMSprop` (Hinton's variant: `eps` is added outside the square
//! root), with optional momentum, centering and weight decay.

use super::{check_hyper, check_non_negative};
use crate::error::Result;

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

    /// One update of one parameter, following PyTorch's `_single_tensor_rmsprop`.
    pub(crate) fn update(&self, p: &mut [f32], g: &[f32], bufs: &mut [Vec<f32>]) {
        let alpha = self.alpha;
        let use_mom = self.momentum > 0.0;
        let (sq, rest) = bufs.split_at_mut(1);
        let sq = &mut sq[0];
        let (mom, rest) = if use_mom { rest.split_at_mut(1) } else { rest.split_at_mut(0) };
        for i in 0..p.len() {
            let pv = p[i] as f64;
            let gv = g[i] as f64 + self.weight_decay * pv;
            let s = alpha * sq[i] as f64 + (1.0 - alpha) * gv * gv;
            sq[i] = s as f32;
            let avg = if self.centered {
                let ga = rest[0][i] as f64;
                let ga = ga + (1.0 - alpha) * (gv - ga);
                rest[0][i] = ga as f32;
                // Mathematically non-negative; clamp rounding noise instead of taking sqrt(<0).
                (s - ga * ga).max(0.0).sqrt() + self.eps
            } else {
                s.sqrt() + self.eps
            };
            let upd = if use_mom {
                let b = self.momentum * mom[0][i] as f64 + gv / avg;
                mom[0][i] = b as f32;
                b
            } else {
                gv / avg
            };
            p[i] = (pv - self.lr * upd) as f32;
        }
    }
}
