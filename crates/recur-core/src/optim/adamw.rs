//! AdamW, PyTorch's `torch.optim.AdamW`: Adam with decoupled weight decay `p -= lr·wd·p`,
//! applied before the Adam update.

use super::adam::validate_adam;
use crate::error::Result;

/// Hyperparameters of [`torch.optim.AdamW`](https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html),
/// with PyTorch's names and defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// Decay rates of the first and second moment averages (default `[0.9, 0.999]`).
    pub betas: [f64; 2],
    /// Added to the denominator, outside the square root (default 1e-8).
    pub eps: f64,
    /// Decoupled weight decay: `p -= lr · wd · p` at every step (default 0.01).
    pub weight_decay: f64,
    /// Use the AMSGrad variant (default false).
    pub amsgrad: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        AdamWConfig { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 1e-2, amsgrad: false }
    }
}

impl AdamWConfig {
    /// Checks the hyperparameters as PyTorch's constructor does (plus finiteness).
    pub fn validate(&self) -> Result<()> {
        validate_adam("adamw", self.lr, self.betas, self.eps, self.weight_decay)
    }
}
