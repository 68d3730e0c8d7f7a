//! The gate nonlinearities of `recur_core::kernels::math` against f64 on a dense sweep of f32
//! inputs (every 7th float with 1e-10 <= |x| <= 100, about 2.4e8 / 7 per sign): the accuracy
//! bounds documented in the module, monotonicity, the limits and NaN. (The four-lane versions
//! give bitwise these results: `crates/recur-wasm/tests/kernels_wasm.rs`.)

use recur_core::kernels::math::{sigmoid, tanh};

/// Every `step`-th f32 from 1e-10 to 100, with the given sign, in increasing magnitude.
fn sweep(sign: f32, step: u32) -> impl Iterator<Item = f32> {
    (1e-10f32.to_bits()..=100f32.to_bits()).step_by(step as usize).map(move |b| sign * f32::from_bits(b))
}

fn sigmoid64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn sigmoid_is_within_4e7_relative_and_monotonic() {
    for sign in [1.0f32, -1.0] {
        let mut prev = 0.5f32;
        for x in sweep(sign, 7) {
            let (got, want) = (sigmoid(x), sigmoid64(x as f64));
            // Below -87.6 the argument is clamped (results 9e-39, not the true value); near it
            // the results are subnormal.
            if x >= -87.3 {
                let rel = ((got as f64 - want) / want).abs();
                assert!(rel <= 4e-7, "sigmoid({x}) = {got}, want {want} (relative error {rel:e})");
            }
            // Growing |x|: up to 1 for x > 0, down to 0 for x < 0, never a step back.
            assert!(if sign > 0.0 { got >= prev } else { got <= prev }, "sigmoid not monotonic at {x}: {got} after {prev}");
            prev = got;
        }
    }
}

#[test]
fn tanh_is_within_2e7_absolute_and_3e7_relative_and_monotonic() {
    for sign in [1.0f32, -1.0] {
        let mut prev = 0.0f32;
        for x in sweep(sign, 7) {
            let (got, want) = (tanh(x), (x as f64).tanh());
            let err = (got as f64 - want).abs();
            assert!(err <= 2e-7 && err <= 3e-7 * want.abs(), "tanh({x}) = {got}, want {want} (error {err:e})");
            assert!(got.abs() >= prev, "tanh not monotonic at {x}: {got} after {prev}");
            prev = got.abs();
        }
    }
}

#[test]
fn limits_symmetry_and_nan() {
    for x in [20.0f32, 87.0, 88.0, 1e3, 1e30, f32::MAX, f32::INFINITY] {
        assert_eq!(sigmoid(x), 1.0, "sigmoid({x})");
        let s = sigmoid(-x);
        assert!(s > 0.0 && s < 2.1e-9, "sigmoid({}) = {s}", -x);
    }
    assert!(sigmoid(f32::NEG_INFINITY) > 0.0 && sigmoid(f32::NEG_INFINITY) < 1e-38);
    assert_eq!(sigmoid(0.0), 0.5);
    assert_eq!(sigmoid(-0.0), 0.5);
    for x in [9.011f32, 9.1, 20.0, 1e30, f32::INFINITY] {
        assert_eq!(tanh(x), 1.0, "tanh({x})");
        assert_eq!(tanh(-x), -1.0, "tanh({})", -x);
    }
    assert_eq!(tanh(0.0).to_bits(), 0.0f32.to_bits());
    assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(tanh(1e-30), 1e-30);
    // tanh is exactly odd (the magnitude is computed from |x|).
    for x in sweep(1.0, 1001) {
        assert_eq!(tanh(-x), -tanh(x), "tanh(-{x})");
    }
    for x in [f32::NAN, -f32::NAN] {
        assert!(sigmoid(x).is_nan() && tanh(x).is_nan());
    }
}
