//! One training step (zero grad, forward, loss, BPTT, clip, optimizer step) and evaluation.

use super::{ForwardOptions, Input, Model};
use crate::clip::{self, NonFinitePolicy};
use crate::error::{Error, Result};
use crate::loss::{LossKind, LossTarget};

/// Options of [`Model::train_step`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    /// The loss.
    pub loss: LossKind,
    /// Clamp every gradient element to `[-v, v]` (applied before `clip_norm`).
    pub clip_value: Option<f32>,
    /// Scale the gradients so their global L2 norm is at most this (PyTorch's `clip_grad_norm_`).
    pub clip_norm: Option<f32>,
    /// What to do with a NaN or infinite gradient.
    pub non_finite: NonFinitePolicy,
    /// Truncated BPTT: stop the gradient every k steps.
    pub tbptt: Option<usize>,
    /// Carry the recurrent states from one batch to the next (detached).
    pub stateful: bool,
}

impl TrainOptions {
    /// Plain options for a loss: no clipping, full BPTT, not stateful.
    pub fn new(loss: LossKind) -> Self {
        TrainOptions { loss, clip_value: None, clip_norm: None, non_finite: NonFinitePolicy::Error, tbptt: None, stateful: false }
    }

    fn validate(&self) -> Result<()> {
        for (what, v) in [("clip_value", self.clip_value), ("clip_norm", self.clip_norm)] {
            if let Some(v) = v {
                if !v.is_finite() || v <= 0.0 {
                    return Err(Error::range(what, v, "a finite number > 0"));
                }
            }
        }
        if let Some(k) = self.tbptt {
            crate::error::check_size("tbptt", k, crate::recurrent::MAX_STEPS)?;
        }
        Ok(())
    }
}

/// What one training step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepReport {
    /// The loss of the batch, computed before the update.
    pub loss: f32,
    /// Global L2 norm of the gradients before clipping (NaN or ∞ when they were not finite).
    pub grad_norm: f32,
    /// True when the update was skipped because a gradient was not finite.
    pub skipped: bool,
}

/// What one training step did, with the gradient norm of every parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct StepDetails {
    /// The step's report.
    pub report: StepReport,
    /// The L2 norm of every parameter's gradient as the step left it (after clipping; not
    /// finite when the gradient is not), in [`Model::params`] order: what
    /// [`Model::param_grad_norms`] gives right after the step.
    pub param_grad_norms: Vec<f32>,
}

impl Model {
    /// One optimizer step on one batch. `target` is `[T, B, out]` values or `[T, B]` classes
    /// for a sequence output, `[B, out]` / `[B]` for a final-state output; padded steps
    /// (`lengths`) add no loss. On error the model is exactly as it was.
    pub fn train_step(
        &mut self,
        input: Input<'_>,
        steps: usize,
        batch: usize,
        lengths: Option<&[usize]>,
        target: LossTarget<'_>,
        opts: &TrainOptions,
    ) -> Result<StepReport> {
        self.train_step_detailed(input, steps, batch, lengths, target, opts).map(|d| d.report)
    }

    /// [`Model::train_step`], also giving every parameter's gradient norm after the step (from
    /// the step's own pass over the gradients when it did not clip them).
    pub fn train_step_detailed(
        &mut self,
        input: Input<'_>,
        steps: usize,
        batch: usize,
        lengths: Option<&[usize]>,
        target: LossTarget<'_>,
        opts: &TrainOptions,
    ) -> Result<StepDetails> {
        if self.optimizer.is_none() {
            return Err(Error::state("no optimizer set: call set_optimizer first"));
        }
        opts.validate()?;
        let snapshot = self.volatile_snapshot();
        let result = self.train_step_inner(input, steps, batch, lengths, target, opts);
        if result.is_err() {
            self.restore_volatile(snapshot);
            self.last = None;
        }
        result
    }

    fn train_step_inner(
        &mut self,
        input: Input<'_>,
        steps: usize,
        batch: usize,
        lengths: Option<&[usize]>,
        target: LossTarget<'_>,
        opts: &TrainOptions,
    ) -> Result<StepDetails> {
        // The pool's workers wake while the step zeroes the gradients and prepares the forward,
        // and spin between the step's jobs until it ends.
        let _burst = crate::parallel::burst();
        self.zero_grad();
        let fopts = ForwardOptions { lengths, initial: &[], training: true, stateful: opts.stateful };
        let (out, shape) = self.forward(input, steps, batch, fopts)?;
        let out = out.to_vec();
        let mut grad = vec![0.0f32; out.len()];
        let mask = if shape.steps.is_some() { self.last_mask().map(|m| m.to_vec()) } else { None };
        let loss = opts.loss.forward_backward(&out, target, shape.rows(), shape.width, mask.as_deref(), &mut grad)?;
        // Every input was validated by the forward pass and the loss, so a non-finite error from
        // backward is an overflow inside it (an infinite gradient reaching a layer that refuses
        // it): the non-finite policy applies to it like to a non-finite parameter gradient.
        // The input's gradient is not needed for a step.
        match self.backward_inner(&grad, &[], opts.tbptt, false) {
            Ok(_) => {}
            Err(Error::NonFinite { .. }) if opts.non_finite == NonFinitePolicy::Skip => {
                return Ok(self.details(StepReport { loss, grad_norm: f32::NAN, skipped: true }, None));
            }
            Err(e) => return Err(e),
        }
        // One pass gives the global norm, the finiteness check and the per-parameter norms.
        let sums = match clip::grad_sums_of_squares(&self.params()) {
            Ok(sums) => sums,
            Err(_) if opts.non_finite == NonFinitePolicy::Skip => {
                return Ok(self.details(StepReport { loss, grad_norm: f32::NAN, skipped: true }, None));
            }
            Err(e) => return Err(e),
        };
        let grad_norm = sums.iter().fold(0.0f64, |total, s| total + s).sqrt() as f32;
        let clipped = opts.clip_value.is_some() || opts.clip_norm.is_some();
        if let Some(v) = opts.clip_value {
            clip::clip_grad_value(&mut self.params_mut(), v)?;
        }
        if let Some(n) = opts.clip_norm {
            clip::clip_grad_norm(&mut self.params_mut(), n)?;
        }
        // The gradients were checked above, and clipping keeps them finite.
        let mut opt = self.optimizer.take().ok_or_else(|| Error::state("no optimizer set"))?;
        let result = opt.step_finite_grads(&mut self.params_mut());
        self.optimizer = Some(opt);
        result?;
        let report = StepReport { loss, grad_norm, skipped: false };
        Ok(self.details(report, (!clipped).then_some(&sums[..])))
    }

    /// `report` with the per-parameter gradient norms: the square roots of `sums` when the
    /// gradients are still the ones they were computed from, else a new pass.
    fn details(&self, report: StepReport, sums: Option<&[f64]>) -> StepDetails {
        let param_grad_norms = match sums {
            Some(sums) => sums.iter().map(|s| s.sqrt() as f32).collect(),
            None => self.param_grad_norms().into_iter().map(|(_, n)| n).collect(),
        };
        StepDetails { report, param_grad_norms }
    }

    /// The loss of a batch in inference mode (no dropout, running statistics), without
    /// changing anything but the carried states of a stateful call.
    pub fn evaluate(
        &mut self,
        input: Input<'_>,
        steps: usize,
        batch: usize,
        lengths: Option<&[usize]>,
        target: LossTarget<'_>,
        loss: LossKind,
    ) -> Result<f32> {
        let fopts = ForwardOptions { lengths, initial: &[], training: false, stateful: false };
        let (out, shape) = self.forward(input, steps, batch, fopts)?;
        let out = out.to_vec();
        let mask = if shape.steps.is_some() { self.last_mask().map(|m| m.to_vec()) } else { None };
        loss.forward(&out, target, shape.rows(), shape.width, mask.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-parameter norms a step gives are the ones `param_grad_norms` gives after it, bit
    /// for bit, with and without clipping; the report is `train_step`'s.
    #[test]
    fn step_details_give_the_norms_of_the_gradients_after_the_step() {
        let config = r#"{"input_size":3,"seed":4,"layers":[{"type":"lstm","hidden_size":5},{"type":"dense","units":2}]}"#;
        let mut m = Model::from_json(config).unwrap();
        m.set_optimizer(crate::optim::OptimizerConfig::from_json(r#"{"type":"adam","lr":0.01}"#).unwrap()).unwrap();
        let (t, b) = (4, 3);
        let x: Vec<f32> = (0..t * b * 3).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
        let y: Vec<f32> = (0..t * b * 2).map(|i| ((i * 5 % 7) as f32 - 3.0) / 3.0).collect();
        let plain = TrainOptions::new(LossKind::Mse);
        for opts in [plain, TrainOptions { clip_norm: Some(1e-3), ..plain }, TrainOptions { clip_value: Some(1e-4), ..plain }] {
            let mut twin = m.clone();
            let d = m.train_step_detailed(Input::Features(&x), t, b, None, LossTarget::Values(&y), &opts).unwrap();
            let r = twin.train_step(Input::Features(&x), t, b, None, LossTarget::Values(&y), &opts).unwrap();
            assert_eq!(d.report.loss.to_bits(), r.loss.to_bits());
            assert_eq!(d.report.grad_norm.to_bits(), r.grad_norm.to_bits());
            assert!(!d.report.skipped);
            let after: Vec<u32> = m.param_grad_norms().iter().map(|(_, n)| n.to_bits()).collect();
            assert_eq!(d.param_grad_norms.iter().map(|n| n.to_bits()).collect::<Vec<_>>(), after, "{opts:?}");
        }
    }
}
