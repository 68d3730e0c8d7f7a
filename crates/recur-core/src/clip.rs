//! Gradient clipping with PyTorch's semantics (`torch.nn.utils.clip_grad_norm_` and
//! `clip_grad_value_`) and the policy for non-finite gradients.
//!
//! Clipping never spreads a NaN or an infinity: given a non-finite gradient it returns
//! [`Error::NonFinite`] and leaves every gradient unchanged (PyTorch's `error_if_nonfinite=True`).

use crate::error::{Error, Result};
use crate::param::Param;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;

/// The constant PyTorch adds to the total norm before dividing: `max_norm / (norm + 1e-6)`.
pub const NORM_EPS: f64 = 1e-6;

/// What a training step does when a gradient holds NaN or an infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonFinitePolicy {
    /// Fail with [`Error::NonFinite`] naming the parameter (the default).
    #[default]
    Error,
    /// Leave the weights and optimizer state unchanged and carry on.
    Skip,
}

impl NonFinitePolicy {
    /// Applies the policy to `params`' gradients: `Ok(true)` if they are all finite and the
    /// update may go ahead, `Ok(false)` if it must be skipped ([`NonFinitePolicy::Skip`]), or the
    /// error of [`check_grads_finite`] ([`NonFinitePolicy::Error`]).
    pub fn check<P: Borrow<Param>>(self, params: &[P]) -> Result<bool> {
        match (check_grads_finite(params), self) {
            (Ok(()), _) => Ok(true),
            (Err(_), NonFinitePolicy::Skip) => Ok(false),
            (Err(e), NonFinitePolicy::Error) => Err(e),
        }
    }
}

/// True when every gradient element of every parameter is finite.
pub fn grads_are_finite<P: Borrow<Param>>(params: &[P]) -> bool {
    params.iter().all(|p| p.borrow().grad.iter().all(|g| g.is_finite()))
}

/// `Ok(())` when every gradient is finite, else [`Error::NonFinite`] with `what` =
/// `"grad of <param name>"` and the flat index of the first offending element.
pub fn check_grads_finite<P: Borrow<Param>>(params: &[P]) -> Result<()> {
    for p in params {
        let p = p.borrow();
        if let Some(index) = p.grad.iter().position(|g| !g.is_finite()) {
            return Err(Error::NonFinite { what: format!("grad of {}", p.name), index });
        }
    }
    Ok(())
}

fn check_limit(what: &str, v: f32) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::NonFinite { what: what.to_string(), index: 0 });
    }
    if v < 0.0 {
        return Err(Error::range(what, v, ">= 0"));
    }
    Ok(())
}

/// Sum of squares in `f64`, or the position of the first non-finite element.
fn sum_squares(g: &[f32]) -> std::result::Result<f64, usize> {
    let mut s = 0.0f64;
    for (i, &x) in g.iter().enumerate() {
        if !x.is_finite() {
            return Err(i);
        }
        s += (x as f64) * (x as f64);
    }
    Ok(s)
}

/// The clipping coefficient `min(1, max_norm / (norm + 1e-6))`.
fn coefficient(norm: f64, max_norm: f32) -> f64 {
    (max_norm as f64 / (norm + NORM_EPS)).min(1.0)
}

fn scale(g: &mut [f32], coef: f64) {
    if coef < 1.0 {
        g.iter_mut().for_each(|x| *x = (*x as f64 * coef) as f32);
    }
}

/// The global L2 norm of all gradients together (accumulated in `f64`); [`Error::NonFinite`]
/// naming the parameter if one holds NaN or an infinity.
pub fn grad_norm<P: Borrow<Param>>(params: &[P]) -> Result<f64> {
    let mut total = 0.0f64;
    for p in params {
        let p = p.borrow();
        total += sum_squares(&p.grad).map_err(|index| Error::NonFinite { what: format!("grad of {}", p.name), index })?;
    }
    Ok(total.sqrt())
}

/// PyTorch's `clip_grad_norm_(params, max_norm)` with the L2 norm: scales every gradient by
/// `min(1, max_norm / (total_norm + 1e-6))`, where `total_norm` is the L2 norm of all gradients
/// together, and returns `total_norm` (before clipping).
///
/// Errors, with nothing changed: `max_norm` negative ([`Error::Range`]) or not finite, or a
/// gradient holding NaN/infinity ([`Error::NonFinite`] naming the parameter).
pub fn clip_grad_norm(params: &mut [&mut Param], max_norm: f32) -> Result<f32> {
    check_limit("max_norm", max_norm)?;
    let norm = grad_norm(params)?;
    let coef = coefficient(norm, max_norm);
    for p in params.iter_mut() {
        scale(&mut p.grad, coef);
    }
    Ok(norm as f32)
}

/// PyTorch's `clip_grad_value_(params, clip_value)`: clamps every gradient element to
/// `[-clip_value, clip_value]`.
///
/// Errors, with nothing changed: `clip_value` negative or not finite, or a non-finite gradient.
pub fn clip_grad_value(params: &mut [&mut Param], clip_value: f32) -> Result<()> {
    check_limit("clip_value", clip_value)?;
    check_grads_finite(params)?;
    for p in params.iter_mut() {
        p.grad.iter_mut().for_each(|x| *x = x.clamp(-clip_value, clip_value));
    }
    Ok(())
}

/// [`clip_grad_norm`] on raw gradient slices: scales them together so their global L2 norm is at
/// most `max_norm` and returns the norm before clipping. A non-finite element gives
/// [`Error::NonFinite`] (`what` = `"grads[k]"`) with nothing changed.
pub fn clip_norm_slices(grads: &mut [&mut [f32]], max_norm: f32) -> Result<f32> {
    check_limit("max_norm", max_norm)?;
    let mut total = 0.0f64;
    for (k, g) in grads.iter().enumerate() {
        total += sum_squares(g).map_err(|index| Error::NonFinite { what: format!("grads[{k}]"), index })?;
    }
    let norm = total.sqrt();
    let coef = coefficient(norm, max_norm);
    for g in grads.iter_mut() {
        scale(g, coef);
    }
    Ok(norm as f32)
}

/// [`clip_grad_value`] on raw gradient slices.
pub fn clip_value_slices(grads: &mut [&mut [f32]], clip_value: f32) -> Result<()> {
    check_limit("clip_value", clip_value)?;
    for (k, g) in grads.iter().enumerate() {
        if let Some(index) = g.iter().position(|x| !x.is_finite()) {
            return Err(Error::NonFinite { what: format!("grads[{k}]"), index });
        }
    }
    for g in grads.iter_mut() {
        g.iter_mut().for_each(|x| *x = x.clamp(-clip_value, clip_value));
    }
    Ok(())
}
