//! Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and weight
//! decay: PyTorch's `torch.optim.SGD`.

use super::{check_hyper, check_non_negative};
use crate::error::{Error, Result};
use crate::kernels::sgd::{sgd_update, SgdCoeffs};

/// Hyperparameters of [`torch.optim.SGD`](https://pytorch.org/docs/stable/generated/torch.optim.SGD.html),
/// with PyTorch's names and defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// Momentum factor (default 0: plain SGD).
    pub momentum: f64,
    /// Dampening of the momentum: the gradient enters the buffer scaled by `1 - dampening`
    /// (default 0).
    pub dampening: f64,
    /// L2 penalty: `wd · p` is added to the gradient (default 0).
    pub weight_decay: f64,
    /// Nesterov momentum (default false); needs `momentum > 0` and `dampening == 0`.
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig { lr: 1e-3, momentum: 0.0, dampening: 0.0, weight_decay: 0.0, nesterov: false }
    }
}

impl SgdConfig {
    /// Checks the hyperparameters as PyTorch's constructor does (plus finiteness).
    pub fn validate(&self) -> Result<()> {
        check_hyper("sgd.lr", self.lr)?;
        check_hyper("sgd.momentum", self.momentum)?;
        check_hyper("sgd.dampening", self.dampening)?;
        check_hyper("sgd.weight_decay", self.weight_decay)?;
        check_non_negative("sgd.lr", self.lr)?;
        check_non_negative("sgd.momentum", self.momentum)?;
        check_non_negative("sgd.weight_decay", self.weight_decay)?;
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::unsupported("sgd: Nesterov momentum requires a momentum and zero dampening"));
        }
        Ok(())
    }

    /// Names of the per-parameter state buffers this configuration keeps.
    pub(crate) fn buffer_names(&self) -> &'static [&'static str] {
        if self.momentum != 0.0 {
            &["momentum_buffer"]
        } else {
            &[]
        }
    }

    /// One update of one parameter. `first` is true on the parameter's first step, when PyTorch
    /// initialises the momentum buffer to the (weight-decayed) gradient itself. The loop is
    /// [`sgd_update`], in recur-kernels to be vectorized in the wasm builds.
    pub(crate) fn update(&self, first: bool, p: &mut [f32], g: &[f32], bufs: &mut [Vec<f32>]) {
        let c = SgdCoeffs { lr: self.lr, weight_decay: self.weight_decay, momentum: self.momentum, damp: 1.0 - self.dampening };
        let buf = if self.momentum == 0.0 { None } else { Some(&mut bufs[0][..]) };
        sgd_update(&c, self.nesterov, first, p, g, buf);
    }
}
