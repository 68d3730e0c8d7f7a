//! Elementwise activations shared by the RNN cell and the dense layer, with derivatives.

use crate::error::{Error, Result};

/// An elementwise activation function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// The identity.
    Linear,
    /// Hyperbolic tangent.
    Tanh,
    /// `max(0, x)`.
    Relu,
    /// The logistic function `1 / (1 + e^-x)`.
    Sigmoid,
    /// `x` for `x >= 0`, `slope · x` otherwise (PyTorch's `negative_slope`, default 0.01).
    LeakyRelu {
        /// Slope for negative inputs.
        slope: f32,
    },
    /// `x` for `x > 0`, `alpha · (e^x - 1)` otherwise (PyTorch's ELU, default alpha 1).
    Elu {
        /// Scale of the negative part.
        alpha: f32,
    },
}

/// Logistic sigmoid (the vectorizable [`crate::kernels::math::sigmoid`]).
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    crate::kernels::math::sigmoid(x)
}

impl Activation {
    /// Checks the parameters are finite.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Activation::LeakyRelu { slope } if !slope.is_finite() => {
                Err(Error::range("leaky_relu slope", slope, "a finite number"))
            }
            Activation::Elu { alpha } if !alpha.is_finite() => {
                Err(Error::range("elu alpha", alpha, "a finite number"))
            }
            _ => Ok(()),
        }
    }

    /// `f(x)`.
    #[inline]
    pub fn apply(&self, x: f32) -> f32 {
        match *self {
            Activation::Linear => x,
            Activation::Tanh => crate::kernels::math::tanh(x),
            Activation::Relu => x.max(0.0),
            Activation::Sigmoid => sigmoid(x),
            Activation::LeakyRelu { slope } => {
                if x >= 0.0 {
                    x
                } else {
                    slope * x
                }
            }
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
        }
    }

    /// `v ← f(v)` for every element (a vectorizable pass for tanh and sigmoid).
    pub fn apply_in_place(&self, v: &mut [f32]) {
        match *self {
            Activation::Linear => {}
            Activation::Tanh => crate::kernels::math::tanh_in_place(v),
            Activation::Sigmoid => crate::kernels::math::sigmoid_in_place(v),
            act => v.iter_mut().for_each(|x| *x = act.apply(*x)),
        }
    }

    /// `f'(x)`, given the input `x` and the output `y = f(x)` (whichever is cheaper is used).
    #[inline]
    pub fn derivative(&self, x: f32, y: f32) -> f32 {
        match *self {
            Activation::Linear => 1.0,
            Activation::Tanh => 1.0 - y * y,
            Activation::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Sigmoid => y * (1.0 - y),
            Activation::LeakyRelu { slope } => {
                if x > 0.0 {
                    1.0
                } else {
                    slope
                }
            }
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    1.0
                } else {
                    y + alpha
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        let acts = [
            Activation::Linear,
            Activation::Tanh,
            Activation::Relu,
            Activation::Sigmoid,
            Activation::LeakyRelu { slope: 0.1 },
            Activation::Elu { alpha: 1.3 },
        ];
        for act in acts {
            for &x in &[-2.5f32, -0.7, -0.1, 0.2, 0.9, 3.0] {
                let h = 1e-3f64;
                let f = |v: f64| act.apply(v as f32) as f64;
                let numeric = (f(x as f64 + h) - f(x as f64 - h)) / (2.0 * h);
                let analytic = act.derivative(x, act.apply(x)) as f64;
                assert!((numeric - analytic).abs() < 2e-3, "{act:?} at {x}: {numeric} vs {analytic}");
            }
        }
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert!((0.0..1e-38).contains(&sigmoid(-200.0)));
        assert_eq!(sigmoid(200.0), 1.0);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
    }
}
