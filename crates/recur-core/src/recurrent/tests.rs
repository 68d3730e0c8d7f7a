//! Finite-difference checks of the in-cell layer normalization for every cell type.

use super::*;
use crate::activation::Activation;
use crate::rng::Rng;

/// `Σ out·w_out + Σ h_n·w_h` in f64 after a forward pass.
/// Random nonzero initial states keep `W_hh h0` away from an all-zero block, where layer norm's
/// 1/σ is 1/√eps and finite differences would need a tiny step.
fn loss(stack: &mut RecurrentStack, x: &[f32], h0: &[f32], steps: usize, batch: usize, w_out: &[f64], w_h: &[f64]) -> f64 {
    let c0 = stack.config().cell.has_cell_state().then_some(h0);
    let out = stack.forward(x, steps, batch, None, Some(h0), c0, true).unwrap().to_vec();
    let a: f64 = out.iter().zip(w_out).map(|(o, w)| *o as f64 * w).sum();
    a + stack.h_n().iter().zip(w_h).map(|(o, w)| *o as f64 * w).sum::<f64>()
}

fn check(cell: CellKind, bidirectional: bool) {
    let config = RecurrentConfig {
        cell,
        input_size: 3,
        hidden_size: 4,
        num_layers: 2,
        bias: true,
        bidirectional,
        dropout: 0.0,
        layer_norm: true,
    };
    let (steps, batch) = (4, 2);
    let mut stack = RecurrentStack::new(config.clone(), "", 7).unwrap();
    let mut rng = Rng::new(3);
    // Move γ and β away from 1 and 0 so their gradients are exercised in general position.
    for p in stack.params_mut() {
        if p.name.starts_with("layer_norm") {
            p.value.iter_mut().for_each(|v| *v += rng.uniform_range(-0.3, 0.3));
        }
    }
    let x: Vec<f32> = (0..steps * batch * 3).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let w_out: Vec<f64> = (0..steps * batch * config.output_size()).map(|_| rng.uniform_range(-1.0, 1.0) as f64).collect();
    let w_h: Vec<f64> = (0..stack.state_slots() * batch * 4).map(|_| rng.uniform_range(-1.0, 1.0) as f64).collect();
    let h0: Vec<f32> = (0..stack.state_slots() * batch * 4).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    loss(&mut stack, &x, &h0, steps, batch, &w_out, &w_h);
    let d_out: Vec<f32> = w_out.iter().map(|v| *v as f32).collect();
    let d_hn: Vec<f32> = w_h.iter().map(|v| *v as f32).collect();
    stack.backward(&d_out, Some(&d_hn), None, None, false).unwrap();
    let analytic: Vec<(String, Vec<f32>)> = stack.params().iter().map(|p| (p.name.clone(), p.grad.clone())).collect();
    // f32 forward with ε = 1e-3: truncation error O(ε²), rounding ≈ 1e-7·|loss|/ε ≈ 1e-3 (smaller steps drown in rounding, larger ones in layer norm's curvature).
    let eps = 1e-3f32;
    for (pi, (name, grad)) in analytic.iter().enumerate() {
        for i in (0..grad.len()).step_by(3) {
            let orig = stack.params()[pi].value[i];
            stack.params_mut()[pi].value[i] = orig + eps;
            let up = loss(&mut stack, &x, &h0, steps, batch, &w_out, &w_h);
            stack.params_mut()[pi].value[i] = orig - eps;
            let down = loss(&mut stack, &x, &h0, steps, batch, &w_out, &w_h);
            stack.params_mut()[pi].value[i] = orig;
            let numeric = (up - down) / (2.0 * eps as f64);
            let err = (numeric - grad[i] as f64).abs();
            assert!(err <= 2e-3 + 2e-2 * numeric.abs(), "{cell:?} {name}[{i}]: numeric {numeric} analytic {}", grad[i]);
        }
    }
}

#[test]
fn layer_norm_gradients_match_finite_differences_for_every_cell() {
    check(CellKind::Lstm { peephole: false }, false);
    check(CellKind::Lstm { peephole: true }, true);
    check(CellKind::Gru { reset_after: true }, true);
    check(CellKind::Gru { reset_after: false }, false);
    check(CellKind::Rnn { activation: Activation::Tanh }, true);
}

/// The final-states-only path (no output sequence written, no output gradient) gives the same
/// states and gradients, bit for bit, as the full path with a zero output gradient.
#[test]
fn final_states_only_path_matches_the_full_path() {
    for cell in [CellKind::Lstm { peephole: true }, CellKind::Gru { reset_after: false }, CellKind::Rnn { activation: Activation::Tanh }] {
        let config = RecurrentConfig { cell, input_size: 3, hidden_size: 5, num_layers: 2, bias: true, bidirectional: true, dropout: 0.0, layer_norm: false };
        let (steps, batch) = (4, 3);
        let lengths = [4, 2, 3];
        let mut rng = Rng::new(5);
        let x: Vec<f32> = (0..steps * batch * 3).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
        let d_hn: Vec<f32> = (0..4 * batch * 5).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
        let mut full = RecurrentStack::new(config.clone(), "", 9).unwrap();
        let mut states = full.clone();
        full.forward(&x, steps, batch, Some(&lengths), None, None, true).unwrap();
        let zeros = vec![0.0; steps * batch * 10];
        let g_full = full.backward(&zeros, Some(&d_hn), None, None, true).unwrap();
        let (dx_full, dh0_full) = (g_full.x.to_vec(), g_full.h0.to_vec());
        let seq = SequenceInput { lengths: Some(&lengths), ..SequenceInput::new(&x, steps, batch) };
        states.forward_into(&seq, true, None).unwrap();
        assert_eq!(full.h_n(), states.h_n(), "{cell:?}");
        let g = states.backward_from_final_states(Some(&d_hn), None, None, true).unwrap();
        assert_eq!(dx_full, g.x, "{cell:?}");
        assert_eq!(dh0_full, g.h0, "{cell:?}");
        for (a, b) in full.params().iter().zip(states.params()) {
            assert_eq!(a.grad, b.grad, "{cell:?} {}", a.name);
        }
    }
}

/// An inference pass (two state slots, one step of gates) gives the same outputs and final
/// states, bit for bit, as a training pass; backward after it is a state error.
#[test]
fn inference_pass_matches_the_training_pass() {
    let cells = [
        CellKind::Lstm { peephole: false },
        CellKind::Lstm { peephole: true },
        CellKind::Gru { reset_after: true },
        CellKind::Gru { reset_after: false },
        CellKind::Rnn { activation: Activation::Relu },
    ];
    for cell in cells {
        for (steps, layer_norm) in [(5, false), (4, true)] {
            let config = RecurrentConfig { cell, input_size: 3, hidden_size: 6, num_layers: 2, bias: true, bidirectional: true, dropout: 0.0, layer_norm };
            let batch = 3;
            let lengths = [steps, 2, steps - 1];
            let mut rng = Rng::new(11);
            let x: Vec<f32> = (0..steps * batch * 3).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let h0: Vec<f32> = (0..4 * batch * 6).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
            let c0 = cell.has_cell_state().then_some(&h0[..]);
            let mut stack = RecurrentStack::new(config, "", 4).unwrap();
            let train = stack.forward(&x, steps, batch, Some(&lengths), Some(&h0), c0, true).unwrap().to_vec();
            let (h_train, c_train) = (stack.h_n().to_vec(), stack.c_n().to_vec());
            let infer = stack.forward(&x, steps, batch, Some(&lengths), Some(&h0), c0, false).unwrap().to_vec();
            let what = format!("{cell:?} T={steps} layer_norm={layer_norm}");
            assert_eq!(train.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), infer.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "{what}");
            assert_eq!(h_train, stack.h_n(), "{what}");
            assert_eq!(c_train, stack.c_n(), "{what}");
            let err = stack.backward(&infer, None, None, None, false).unwrap_err();
            assert!(matches!(err, crate::error::Error::State { .. }), "{what}: {err:?}");
        }
    }
}

/// The gradient reaching early steps of a long sequence shrinks geometrically; backward flushes
/// it to zero under `TINY` instead of carrying it down through subnormal floats (each operation
/// on which costs a microcode assist on x86: a 256-step LSTM step took 20 times as long). So
/// every step's `‖∂L/∂h_t‖` is zero or at least `TINY` (without the flush, steps 50–100 of this
/// one are subnormal), for every cell and both directions, while the late steps, far above it,
/// keep their gradients.
#[test]
fn long_sequences_carry_no_subnormal_gradients() {
    use crate::kernels::tiny::TINY;
    let cells = [CellKind::Lstm { peephole: false }, CellKind::Gru { reset_after: true }, CellKind::Gru { reset_after: false }, CellKind::Rnn { activation: Activation::Tanh }];
    for cell in cells {
        let config = RecurrentConfig { cell, input_size: 4, hidden_size: 8, num_layers: 1, bias: true, bidirectional: true, dropout: 0.0, layer_norm: false };
        let (steps, batch) = (300, 2);
        let mut rng = Rng::new(5);
        let x: Vec<f32> = (0..steps * batch * 4).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
        let mut stack = RecurrentStack::new(config, "", 3).unwrap();
        let out = stack.forward(&x, steps, batch, None, None, None, true).unwrap().to_vec();
        // The loss reads the outputs of the last step only.
        let mut d_out = vec![0.0f32; out.len()];
        let last = (steps - 1) * batch * 16;
        d_out[last..].iter_mut().for_each(|v| *v = 1.0);
        stack.backward(&d_out, None, None, None, true).unwrap();
        for (name, norms) in stack.step_grad_norms() {
            assert!(norms.iter().all(|&v| v == 0.0 || v >= TINY), "{cell:?} {name}: {:?}", norms.iter().find(|&&v| v != 0.0 && v < TINY));
            assert!(norms.iter().any(|&v| v > 1e-3), "{cell:?} {name}: no gradient left");
        }
    }
}
