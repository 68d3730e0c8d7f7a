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
        if self.optimizer.is_none() {
            return Err(Error::state("no optimizer set: call set_optimizer first"));
        }
        opts.validate()?;
        let snapshot = self.volatile_snapshot();
        let result = self.train_step_inner(input, steps, batch, lengths, target, opts);
        match &result {
            Ok(_) if opts.stateful => self.carry_states(batch),
            Ok(_) => {}
            Err(_) => {
                self.restore_volatile(snapshot);
                self.last = None;
            }
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
    ) -> Result<StepReport> {
        // The pool's workers wake while the step zeroes the gradients and prepares the forward,
        // and spin between the step's jobs until it ends.
        let _burst = crate::parallel::burst();
        self.zero_grad();
        let fopts = ForwardOptions { lengths, initial: &[], training: true, stateful: opts.stateful };
        // The loss gradient's memory is taken before the forward (in wasm a failed allocation
        // aborts); the output and the mask are read where the forward left them.
        let mut grad = crate::param::reserved("loss gradient", self.output_len(steps, batch))?;
        // (Not `forward`, which would carry a stateful call's states on before the step succeeds.)
        let shape = self.forward_inner(input, steps, batch, fopts)?;
        let out = &self.outs[self.layers.len() - 1];
        grad.resize(out.len(), 0.0);
        let mask = if shape.steps.is_some() { self.last_mask() } else { None };
        let loss = opts.loss.forward_backward(out, target, shape.rows(), shape.width, mask, &mut grad)?;
        // Every input was validated by the forward pass and the loss, so a non-finite error from
        // backward is an overflow inside it (an infinite gradient reaching a layer that refuses
        // it): the non-finite policy applies to it like to a non-finite parameter gradient.
        // The input's gradient is not needed for a step.
        match self.backward_inner(&grad, &[], opts.tbptt, false) {
            Ok(_) => {}
            Err(Error::NonFinite { .. }) if opts.non_finite == NonFinitePolicy::Skip => {
                return Ok(StepReport { loss, grad_norm: f32::NAN, skipped: true });
            }
            Err(e) => return Err(e),
        }
        // One pass gives the global norm and the finiteness check.
        let grad_norm = match clip::grad_norm(&self.params()) {
            Ok(norm) => norm as f32,
            Err(_) if opts.non_finite == NonFinitePolicy::Skip => {
                return Ok(StepReport { loss, grad_norm: f32::NAN, skipped: true });
            }
            Err(e) => return Err(e),
        };
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
        Ok(StepReport { loss, grad_norm, skipped: false })
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
        let (_, shape) = self.forward(input, steps, batch, fopts)?;
        let mask = if shape.steps.is_some() { self.last_mask() } else { None };
        loss.forward(&self.outs[self.layers.len() - 1], target, shape.rows(), shape.width, mask)
    }
}
