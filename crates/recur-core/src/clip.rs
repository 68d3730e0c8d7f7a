//! Gradient clipping with PyTorch's semantics (`torch.nn.utils.clip_grad_norm_` and
//! `clip_grad_value_`) and the policy for non-finite gradients.
//!
//! Clipping never spreads a NaN or an infinity: given a non-finite gradient it returns
//! [`Error::NonFinite`] and leaves every gradient unchanged (PyTorch's `error_if_nonfinite=True`).

use crate::error::{Error, Result};
use crate::param::Param;
use std::borrow::Borrow;

/// The constant PyTorch adds to the total norm before dividing: `max_norm / (norm + 1e-6)`.
pub const NORM_EPS: f64 = 1e-6;

/// What a training step does when a gradient holds NaN or an infinity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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

/// Sum of squares in `f64` ([`crate::kernels::squares::sum_squares`]), or the position of the
/// first non-finite element.
fn sum_squares(g: &[f32]) -> std::result::Result<f64, usize> {
    let s = crate::kernels::squares::sum_squares(g);
    if s.is_finite() {
        Ok(s)
    } else {
        Err(g.iter().position(|x| !x.is_finite()).unwrap_or(0))
    }
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
        total +=
            sum_squares(&p.grad).map_err(|index| Error::NonFinite { what: format!("grad of {}", p.name), index })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<Param> {
        vec![
            Param { name: "w".into(), shape: vec![2, 2], value: vec![0.0; 4], grad: vec![3.0, -4.0, 1.5, 0.25] },
            Param { name: "b".into(), shape: vec![3], value: vec![0.0; 3], grad: vec![-2.0, 0.5, 7.0] },
        ]
    }

    fn reference_norm(ps: &[Param]) -> f64 {
        ps.iter().flat_map(|p| p.grad.iter()).map(|&g| (g as f64) * (g as f64)).sum::<f64>().sqrt()
    }

    #[test]
    fn norm_clipping_scales_all_grads_together() {
        let mut ps = params();
        let orig = ps.clone();
        let want_norm = reference_norm(&orig);
        let mut refs: Vec<&mut Param> = ps.iter_mut().collect();
        let norm = clip_grad_norm(&mut refs, 2.0).unwrap();
        assert!((norm as f64 - want_norm).abs() <= 1e-6 * want_norm);
        let coef = 2.0 / (want_norm + 1e-6);
        for (p, o) in ps.iter().zip(&orig) {
            for (&g, &o) in p.grad.iter().zip(&o.grad) {
                assert!((g as f64 - o as f64 * coef).abs() <= 1e-6, "{g} vs {}", o as f64 * coef);
            }
        }
        let after = reference_norm(&ps);
        assert!((after - 2.0).abs() < 1e-5, "norm after clipping {after}");
    }

    #[test]
    fn norm_below_limit_leaves_grads_unchanged() {
        let mut ps = params();
        let orig = ps.clone();
        let n = reference_norm(&orig) as f32;
        let mut refs: Vec<&mut Param> = ps.iter_mut().collect();
        assert_eq!(clip_grad_norm(&mut refs, n * 2.0).unwrap(), n);
        assert_eq!(ps, orig);
    }

    #[test]
    fn slices_agree_with_params() {
        let mut ps = params();
        let mut raw: Vec<Vec<f32>> = ps.iter().map(|p| p.grad.clone()).collect();
        let mut refs: Vec<&mut Param> = ps.iter_mut().collect();
        let a = clip_grad_norm(&mut refs, 1.0).unwrap();
        let mut slices: Vec<&mut [f32]> = raw.iter_mut().map(|v| v.as_mut_slice()).collect();
        let b = clip_norm_slices(&mut slices, 1.0).unwrap();
        assert_eq!(a, b);
        assert_eq!(ps[0].grad, raw[0]);
        assert_eq!(ps[1].grad, raw[1]);
        let mut slices: Vec<&mut [f32]> = raw.iter_mut().map(|v| v.as_mut_slice()).collect();
        clip_value_slices(&mut slices, 0.1).unwrap();
        assert!(raw.iter().flatten().all(|g| g.abs() <= 0.1));
    }

    #[test]
    fn value_clipping_clamps_each_element() {
        let mut ps = params();
        let orig = ps.clone();
        let mut refs: Vec<&mut Param> = ps.iter_mut().collect();
        clip_grad_value(&mut refs, 1.0).unwrap();
        for (p, o) in ps.iter().zip(&orig) {
            for (&g, &o) in p.grad.iter().zip(&o.grad) {
                assert_eq!(g, o.clamp(-1.0, 1.0));
            }
        }
    }

    #[test]
    fn non_finite_grads_error_or_skip_without_changes() {
        let mut ps = params();
        ps[1].grad[2] = f32::INFINITY;
        assert!(!grads_are_finite(&ps));
        assert!(grads_are_finite(&params()));
        let want = Error::NonFinite { what: "grad of b".into(), index: 2 };
        assert_eq!(check_grads_finite(&ps).unwrap_err(), want);
        assert_eq!(NonFinitePolicy::Error.check(&ps).unwrap_err(), want);
        assert!(!NonFinitePolicy::Skip.check(&ps).unwrap());
        assert!(NonFinitePolicy::Skip.check(&params()).unwrap());
        assert!(NonFinitePolicy::Error.check(&params()).unwrap());
        let orig = ps.clone();
        let mut refs: Vec<&mut Param> = ps.iter_mut().collect();
        assert_eq!(clip_grad_norm(&mut refs, 1.0).unwrap_err(), want);
        assert_eq!(clip_grad_value(&mut refs, 1.0).unwrap_err(), want);
        assert_eq!(ps, orig, "grads changed by a failed clip");
        let mut raw = vec![1.0f32, f32::NAN];
        let mut slices: Vec<&mut [f32]> = vec![raw.as_mut_slice()];
        assert_eq!(clip_norm_slices(&mut slices, 1.0).unwrap_err().code(), "ERR_NON_FINITE");
        assert_eq!(clip_value_slices(&mut slices, 1.0).unwrap_err().code(), "ERR_NON_FINITE");
        assert_eq!(raw[0], 1.0);
        let p: NonFinitePolicy = crate::json::from_str("\"skip\"").unwrap();
        assert_eq!(p, NonFinitePolicy::Skip);
    }

    #[test]
    fn bad_limits_are_errors() {
        let mut ps = params();
        let mut refs: Vec<&mut Param> = ps.iter_mut().collect();
        assert_eq!(clip_grad_norm(&mut refs, -1.0).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(clip_grad_norm(&mut refs, f32::NAN).unwrap_err().code(), "ERR_NON_FINITE");
        assert_eq!(clip_grad_value(&mut refs, -0.5).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(ps, params());
    }
}
