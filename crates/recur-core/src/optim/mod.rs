//! Optimizers with PyTorch's exact update rules and defaults: [`sgd`], [`adam`], [`adamw`] and
//! [`rmsprop`], selected by an [`OptimizerConfig`] (read from JSON with [`OptimizerConfig::from_json`]) and driven by
//! [`Optimizer`], which keeps the per-parameter state and can save and restore it.
//!
//! Arithmetic: parameters and state are stored in `f32`; bias corrections and other per-step
//! constants are computed in `f64` (as Python does). Adam and AdamW then run PyTorch's `f32`
//! tensor ops in its order (`kernels::adam`); SGD and RMSprop compute each element's update in
//! `f64` from the stored values and round once.

pub mod adam;
pub mod adamw;
pub mod rmsprop;
pub mod sgd;

pub use adam::AdamConfig;
pub use adamw::AdamWConfig;
pub use rmsprop::RmspropConfig;
pub use sgd::SgdConfig;

use crate::error::{Error, Result};
use crate::param::Param;

/// Which optimizer, with its hyperparameters. JSON form: `{"type": "adam", "lr": 0.01}`; every
/// omitted hyperparameter takes PyTorch's default and unknown names are rejected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerConfig {
    /// `torch.optim.SGD`.
    Sgd(SgdConfig),
    /// `torch.optim.Adam`.
    Adam(AdamConfig),
    /// `torch.optim.AdamW`.
    Adamw(AdamWConfig),
    /// `torch.optim.RMSprop`.
    Rmsprop(RmspropConfig),
}

impl OptimizerConfig {
    /// Checks the hyperparameters: the errors PyTorch's constructors raise (negative rates,
    /// betas outside `[0, 1)`, Nesterov without momentum or with dampening) plus non-finite values.
    pub fn validate(&self) -> Result<()> {
        match self {
            OptimizerConfig::Sgd(c) => c.validate(),
            OptimizerConfig::Adam(c) => c.validate(),
            OptimizerConfig::Adamw(c) => c.validate(),
            OptimizerConfig::Rmsprop(c) => c.validate(),
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            OptimizerConfig::Sgd(c) => c.lr,
            OptimizerConfig::Adam(c) => c.lr,
            OptimizerConfig::Adamw(c) => c.lr,
            OptimizerConfig::Rmsprop(c) => c.lr,
        }
    }

    fn lr_mut(&mut self) -> &mut f64 {
        match self {
            OptimizerConfig::Sgd(c) => &mut c.lr,
            OptimizerConfig::Adam(c) => &mut c.lr,
            OptimizerConfig::Adamw(c) => &mut c.lr,
            OptimizerConfig::Rmsprop(c) => &mut c.lr,
        }
    }

    /// Names of the state buffers kept per parameter, in storage order.
    pub fn buffer_names(&self) -> &'static [&'static str] {
        match self {
            OptimizerConfig::Sgd(c) => c.buffer_names(),
            OptimizerConfig::Adam(c) => adam::buffer_names(c.amsgrad),
            OptimizerConfig::Adamw(c) => adam::buffer_names(c.amsgrad),
            OptimizerConfig::Rmsprop(c) => c.buffer_names(),
        }
    }
}

/// Checks that a hyperparameter is finite.
pub(crate) fn check_hyper(what: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::NonFinite { what: what.to_string(), index: 0 })
    }
}

/// Checks that a hyperparameter is `>= 0`.
pub(crate) fn check_non_negative(what: &str, v: f64) -> Result<()> {
    if v >= 0.0 {
        Ok(())
    } else {
        Err(Error::range(what, v, ">= 0"))
    }
}

/// The state kept for one parameter.
#[derive(Debug, Clone, PartialEq)]
struct Slot {
    name: String,
    shape: Vec<usize>,
    /// Number of updates applied so far.
    step: u64,
    /// One buffer per name of [`OptimizerConfig::buffer_names`], each of the parameter's size.
    bufs: Vec<Vec<f32>>,
}

/// An optimizer over a fixed, ordered list of parameters.
///
/// The state of each parameter is created on the first [`Optimizer::step`]; later steps must pass
/// parameters with the same names and shapes in the same order. The state can be exported with
/// [`Optimizer::state_tensors`] and restored with [`Optimizer::load_state`].
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    config: OptimizerConfig,
    slots: Vec<Slot>,
}

/// Suffix of the step-count entry of [`Optimizer::state_tensors`].
pub const STEP_SUFFIX: &str = "step";

impl Optimizer {
    /// A new optimizer with empty state, after validating `config`.
    pub fn new(config: OptimizerConfig) -> Result<Self> {
        config.validate()?;
        Ok(Optimizer { config, slots: Vec::new() })
    }

    /// The configuration, including the current learning rate.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.config.lr()
    }

    /// Sets the learning rate used by the following steps (for schedules). Must be finite and `>= 0`.
    pub fn set_lr(&mut self, lr: f64) -> Result<()> {
        check_hyper("lr", lr)?;
        check_non_negative("lr", lr)?;
        *self.config.lr_mut() = lr;
        Ok(())
    }

    /// Number of steps taken (0 before the first step or after [`Optimizer::reset`]).
    pub fn step_count(&self) -> u64 {
        self.slots.first().map(|s| s.step).unwrap_or(0)
    }

    /// Forgets all state: the next step behaves like the first.
    pub fn reset(&mut self) {
        self.slots.clear();
    }

    /// Checks `params` against the state (or, before the first step, for consistency) without
    /// changing anything: lengths, shapes, names, and finite gradients.
    fn check_params(&self, params: &[&mut Param], check_grads: bool) -> Result<()> {
        for (i, p) in params.iter().enumerate() {
            let what = format!("param {} ({})", i, p.name);
            let n = crate::error::checked_numel(&what, &p.shape)?;
            if p.value.len() != n {
                return Err(Error::shape(format!("{what}.value"), &p.shape, [p.value.len()]));
            }
            if p.grad.len() != n {
                return Err(Error::shape(format!("{what}.grad"), &p.shape, [p.grad.len()]));
            }
            if !check_grads {
                continue;
            }
            if let Some(index) = p.grad.iter().position(|g| !g.is_finite()) {
                return Err(Error::NonFinite { what: format!("grad of {}", p.name), index });
            }
        }
        if self.slots.is_empty() {
            for (i, p) in params.iter().enumerate() {
                if params[..i].iter().any(|q| q.name == p.name) {
                    return Err(Error::state(format!(
                        "two parameters are named \"{}\": optimizer state needs unique names",
                        p.name
                    )));
                }
            }
            return Ok(());
        }
        if params.len() != self.slots.len() {
            return Err(Error::state(format!(
                "optimizer state holds {} parameters, step was given {}",
                self.slots.len(),
                params.len()
            )));
        }
        for (p, s) in params.iter().zip(&self.slots) {
            if p.name != s.name {
                return Err(Error::state(format!(
                    "optimizer state is for parameter \"{}\", step was given \"{}\" in its place",
                    s.name, p.name
                )));
            }
            if p.shape != s.shape {
                return Err(Error::shape(format!("optimizer state of {}", p.name), &s.shape, &p.shape));
            }
        }
        Ok(())
    }

    /// Applies one update to every parameter from its `grad`, in place.
    ///
    /// Everything is checked before anything changes: value and gradient sizes against the shape,
    /// finite gradients (else [`Error::NonFinite`] naming the parameter), and, after the first
    /// step, the same number of parameters with the same names and shapes in the same order.
    /// Allocates only on the first step (the state).
    pub fn step(&mut self, params: &mut [&mut Param]) -> Result<()> {
        self.check_params(params, true)?;
        self.check_state_allocatable(params)?;
        self.apply(params);
        Ok(())
    }

    /// [`Optimizer::step`] for gradients the caller has just checked to be finite (a training
    /// step's own pass over them): everything else is still checked.
    pub(crate) fn step_finite_grads(&mut self, params: &mut [&mut Param]) -> Result<()> {
        self.check_params(params, false)?;
        self.check_state_allocatable(params)?;
        self.apply(params);
        Ok(())
    }

    /// Before the first step, which allocates the state: a range error (and no state) when this
    /// runtime cannot allocate it (see [`crate::param::check_allocatable`]).
    fn check_state_allocatable(&self, params: &[&mut Param]) -> Result<()> {
        if !self.slots.is_empty() {
            return Ok(());
        }
        let per_param = self.config.buffer_names().len();
        let floats = params.iter().fold(0usize, |n, p| n.saturating_add(p.value.len().saturating_mul(per_param)));
        crate::param::check_allocatable("optimizer state", floats)
    }

    /// The update of checked parameters.
    fn apply(&mut self, params: &mut [&mut Param]) {
        if self.slots.is_empty() {
            let names = self.config.buffer_names();
            self.slots = params
                .iter()
                .map(|p| Slot {
                    name: p.name.clone(),
                    shape: p.shape.clone(),
                    step: 0,
                    bufs: names.iter().map(|_| vec![0.0; p.value.len()]).collect(),
                })
                .collect();
        }
        let config = self.config;
        let adam = match &config {
            OptimizerConfig::Adam(c) => Some(adam::AdamStep { lr: c.lr, betas: c.betas, eps: c.eps, l2: c.weight_decay, decoupled: 0.0, amsgrad: c.amsgrad }),
            OptimizerConfig::Adamw(c) => Some(adam::AdamStep { lr: c.lr, betas: c.betas, eps: c.eps, l2: 0.0, decoupled: c.weight_decay, amsgrad: c.amsgrad }),
            _ => None,
        };
        if let Some(adam) = adam {
            // Every parameter in one update (one pool job when large).
            let items = params
                .iter_mut()
                .zip(self.slots.iter_mut())
                .map(|(p, slot)| {
                    slot.step = slot.step.saturating_add(1);
                    let Param { value, grad, .. } = &mut **p;
                    adam::Item { step: slot.step, p: value, g: grad, bufs: &mut slot.bufs }
                })
                .collect();
            adam.update_all(items);
            return;
        }
        for (p, slot) in params.iter_mut().zip(self.slots.iter_mut()) {
            let first = slot.step == 0;
            slot.step = slot.step.saturating_add(1);
            let Param { value, grad, .. } = &mut **p;
            match &config {
                OptimizerConfig::Sgd(c) => c.update(first, value, grad, &mut slot.bufs),
                OptimizerConfig::Rmsprop(c) => c.update(value, grad, &mut slot.bufs),
                OptimizerConfig::Adam(_) | OptimizerConfig::Adamw(_) => {} // updated above
            }
        }
    }

    /// The state as named tensors `(name, shape, data)`, per parameter in order: first
    /// `optim.<param>.step` (shape `[]`, the step count as one `f32`; exact up to 2^24 steps,
    /// beyond which rounding it cannot change any update), then one tensor per buffer, e.g.
    /// `optim.<param>.exp_avg` with the parameter's shape. Empty before the first step.
    pub fn state_tensors(&self) -> Vec<(String, Vec<usize>, Vec<f32>)> {
        let names = self.config.buffer_names();
        let mut out = Vec::with_capacity(self.slots.len() * (1 + names.len()));
        for s in &self.slots {
            out.push((format!("optim.{}.{STEP_SUFFIX}", s.name), Vec::new(), vec![s.step as f32]));
            for (b, n) in s.bufs.iter().zip(names) {
                out.push((format!("optim.{}.{}", s.name, n), s.shape.clone(), b.clone()));
            }
        }
        out
    }

    /// The number of floats [`Optimizer::state_tensors`] returns (what saving the state copies).
    pub fn state_floats(&self) -> usize {
        self.slots.iter().map(|s| 1 + s.bufs.len() * s.bufs.first().map_or(0, Vec::len)).sum()
    }

    /// Restores state saved by [`Optimizer::state_tensors`] (of an optimizer with the same kind of
    /// configuration: the same buffers) for `params`, in their order. An empty `state` resets
    /// to a fresh optimizer.
    ///
    /// Everything is validated before anything changes: every parameter needs its step entry and
    /// every buffer, with the parameter's shape ([`Error::Shape`]), finite values
    /// ([`Error::NonFinite`]), a whole non-negative step count and non-negative second moments
    /// ([`Error::Range`]); missing, duplicate, unknown or extra entries are [`Error::Format`].
    pub fn load_state(&mut self, params: &[&Param], state: &[(String, Vec<usize>, Vec<f32>)]) -> Result<()> {
        if state.is_empty() {
            self.slots.clear();
            return Ok(());
        }
        let names = self.config.buffer_names();
        for (i, p) in params.iter().enumerate() {
            if params[..i].iter().any(|q| q.name == p.name) {
                return Err(Error::state(format!("two parameters are named \"{}\"", p.name)));
            }
        }
        let find = |key: &str| -> Result<&(String, Vec<usize>, Vec<f32>)> {
            let mut hits = state.iter().filter(|(n, _, _)| n == key);
            let first = hits.next().ok_or_else(|| Error::format(format!("optimizer state lacks {key}")))?;
            if hits.next().is_some() {
                return Err(Error::format(format!("optimizer state holds {key} twice")));
            }
            Ok(first)
        };
        let mut slots = Vec::with_capacity(params.len());
        let mut step_all: Option<u64> = None;
        for p in params {
            let key = format!("optim.{}.{STEP_SUFFIX}", p.name);
            let (_, shape, data) = find(&key)?;
            if !(shape.is_empty() || shape == &[1]) || data.len() != 1 {
                return Err(Error::shape(&key, Vec::<usize>::new(), shape));
            }
            let v = data[0];
            crate::error::check_finite(&key, data)?;
            if v < 1.0 || v.fract() != 0.0 {
                return Err(Error::range(&key, v, "a whole number >= 1"));
            }
            let step = v as u64;
            match step_all {
                None => step_all = Some(step),
                Some(s) if s != step => {
                    return Err(Error::format(format!("{key} is {step} but another parameter's step is {s}")))
                }
                _ => {}
            }
            let n = crate::error::checked_numel(&p.name, &p.shape)?;
            let mut bufs = Vec::with_capacity(names.len());
            for bn in names {
                let key = format!("optim.{}.{}", p.name, bn);
                let (_, shape, data) = find(&key)?;
                if shape != &p.shape {
                    return Err(Error::shape(&key, &p.shape, shape));
                }
                if data.len() != n {
                    return Err(Error::shape(&key, &p.shape, [data.len()]));
                }
                crate::error::check_finite(&key, data)?;
                if matches!(*bn, "exp_avg_sq" | "max_exp_avg_sq" | "square_avg") {
                    if let Some(i) = data.iter().position(|&x| x < 0.0) {
                        return Err(Error::range(format!("{key}[{i}]"), data[i], ">= 0"));
                    }
                }
                bufs.push(data.clone());
            }
            slots.push(Slot { name: p.name.clone(), shape: p.shape.clone(), step, bufs });
        }
        let expected = params.len() * (1 + names.len());
        if state.len() != expected {
            let unknown = state
                .iter()
                .find(|(n, _, _)| {
                    !params.iter().any(|p| {
                        n.strip_prefix("optim.")
                            .and_then(|r| r.strip_prefix(p.name.as_str()))
                            .and_then(|r| r.strip_prefix('.'))
                            .map(|b| b == STEP_SUFFIX || names.contains(&b))
                            .unwrap_or(false)
                    })
                })
                .map(|(n, _, _)| n.clone())
                .unwrap_or_default();
            return Err(Error::format(format!(
                "optimizer state has {} entries, expected {expected} (unexpected entry \"{unknown}\")",
                state.len()
            )));
        }
        self.slots = slots;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
