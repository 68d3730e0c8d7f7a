//! With `lengths`, the values at padded steps have no effect whatever they are (FORMAT.md:
//! "`x` holds arbitrary values at padded steps"): NaN, ±∞ and huge values in `x` or in
//! per-step targets, out-of-vocabulary token ids. A model fed such padding trains, predicts and
//! backpropagates bit for bit as one fed zeros there; a non-finite value at a valid step is
//! still an error.

use recur_core::loss::{LossKind, LossTarget};
use recur_core::model::{ForwardOptions, Input, Model, TrainOptions};
use recur_core::optim::OptimizerConfig;
use recur_core::Error;

const T: usize = 5;
const B: usize = 3;
const LENGTHS: [usize; B] = [5, 2, 3];
const GARBAGE: [f32; 4] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 3.0e38];

fn is_padding(t: usize, b: usize) -> bool {
    t >= LENGTHS[b]
}

/// `[T, B, width]` time-major values, with `fill(i)` at padded steps.
fn sequence(width: usize, fill: impl Fn(usize) -> f32) -> Vec<f32> {
    (0..T * B * width)
        .map(|i| {
            let (t, b) = (i / (B * width), i / width % B);
            if is_padding(t, b) {
                fill(i)
            } else {
                ((i * 7 % 13) as f32 - 6.0) * 0.15
            }
        })
        .collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn trained(config: &str, x: &[f32], y: &[f32]) -> (Vec<u32>, Vec<Vec<u32>>) {
    let mut m = Model::from_json(config).unwrap();
    m.set_optimizer(OptimizerConfig::from_json(r#"{"type":"adam","lr":0.01}"#).unwrap()).unwrap();
    let opts = TrainOptions::new(LossKind::Mse);
    let losses = (0..3)
        .map(|_| m.train_step(Input::Features(x), T, B, Some(&LENGTHS), LossTarget::Values(y), &opts).unwrap().loss.to_bits())
        .collect();
    (losses, m.params().iter().map(|p| bits(&p.value)).collect())
}

/// A batch-norm input layer (its statistics skip padded rows), a bidirectional LSTM and a GRU
/// returning sequences, and a per-step head: every layer sees the padded rows.
const SEQUENCE_MODEL: &str = r#"{"input_size":2,"seed":4,"layers":[
    {"type":"batch_norm"},
    {"type":"lstm","hidden_size":4,"bidirectional":true,"peephole":true},
    {"type":"gru","hidden_size":3},
    {"type":"dense","units":2}]}"#;

#[test]
fn garbage_in_padded_inputs_and_targets_trains_bit_for_bit_as_zeros() {
    let zeros = (sequence(2, |_| 0.0), sequence(2, |_| 0.0));
    let garbage = (sequence(2, |i| GARBAGE[i % 4]), sequence(2, |i| GARBAGE[(i + 1) % 4]));
    let (loss_z, params_z) = trained(SEQUENCE_MODEL, &zeros.0, &zeros.1);
    let (loss_g, params_g) = trained(SEQUENCE_MODEL, &garbage.0, &garbage.1);
    assert_eq!(loss_z, loss_g);
    assert!(f32::from_bits(loss_g[2]).is_finite());
    assert_eq!(params_z, params_g);
}

#[test]
fn garbage_in_padded_inputs_gives_the_same_forward_and_gradients() {
    let run = |x: &[f32]| {
        let mut m = Model::from_json(SEQUENCE_MODEL).unwrap();
        let opts = ForwardOptions { lengths: Some(&LENGTHS), initial: &[], training: true, stateful: false };
        let out = bits(m.forward(Input::Features(x), T, B, opts).unwrap().0);
        let d_out: Vec<f32> = (0..T * B * 2).map(|i| (i % 5) as f32 * 0.1 - 0.2).collect();
        let grads = m.backward(&d_out, &[], None).unwrap();
        let params: Vec<Vec<u32>> = m.params().iter().map(|p| bits(&p.grad)).collect();
        (out, bits(&grads.x), params)
    };
    let zeros = run(&sequence(2, |_| 0.0));
    let garbage = run(&sequence(2, |i| GARBAGE[i % 4]));
    assert_eq!(zeros, garbage);
    // the input gradient is 0 at every padded step
    let dx = &garbage.1;
    for (i, &g) in dx.iter().enumerate() {
        if is_padding(i / (B * 2), i / 2 % B) {
            assert_eq!(f32::from_bits(g), 0.0, "dx[{i}]");
        }
    }
}

#[test]
fn a_non_finite_value_at_a_valid_step_is_still_an_error() {
    let mut x = sequence(2, |_| f32::NAN);
    let valid = (B + 2) * 2 + 1; // row t·B + b with t = 1, b = 2 (length 3): a valid step
    x[valid] = f32::INFINITY;
    let mut m = Model::from_json(SEQUENCE_MODEL).unwrap();
    let err = m.predict(Input::Features(&x), T, B, Some(&LENGTHS), false).unwrap_err();
    assert_eq!(err, Error::NonFinite { what: "x".into(), index: valid });
    // without lengths every step is valid: the first NaN is the error
    let err = m.predict(Input::Features(&x), T, B, None, false).unwrap_err();
    assert_eq!(err.code(), "ERR_NON_FINITE");
}

#[test]
fn token_ids_at_padded_steps_are_not_looked_up() {
    let config = r#"{"seed":2,"layers":[
        {"type":"embedding","vocab_size":6,"dim":3},
        {"type":"gru","hidden_size":4,"return_sequences":false},
        {"type":"dense","units":2}]}"#;
    let ids = |padding: u32| -> Vec<u32> { (0..T * B).map(|i| if is_padding(i / B, i % B) { padding } else { (i % 6) as u32 }).collect() };
    let mut m = Model::from_json(config).unwrap();
    let (zeros, _) = m.predict(Input::Tokens(&ids(0)), T, B, Some(&LENGTHS), false).unwrap();
    let (far, _) = m.predict(Input::Tokens(&ids(u32::MAX)), T, B, Some(&LENGTHS), false).unwrap();
    assert_eq!(bits(&zeros), bits(&far));
    // at a valid step an id out of the vocabulary is an error
    assert_eq!(m.predict(Input::Tokens(&ids(0).iter().map(|&v| v + 6).collect::<Vec<_>>()), T, B, Some(&LENGTHS), false).unwrap_err().code(), "ERR_RANGE");
}

#[test]
fn a_recurrent_stack_alone_ignores_garbage_padding_too() {
    use recur_core::recurrent::{CellKind, RecurrentConfig, RecurrentStack};
    let config = RecurrentConfig {
        cell: CellKind::Lstm { peephole: false },
        input_size: 2,
        hidden_size: 3,
        num_layers: 2,
        bias: true,
        bidirectional: true,
        dropout: 0.0,
        layer_norm: false,
    };
    let run = |x: &[f32]| {
        let mut stack = RecurrentStack::new(config.clone(), "", 7).unwrap();
        let out = bits(stack.forward(x, T, B, Some(&LENGTHS), None, None, true).unwrap());
        let d_out: Vec<f32> = (0..T * B * 6).map(|i| (i % 7) as f32 * 0.1 - 0.3).collect();
        let dx = bits(stack.backward(&d_out, None, None, Some(2), true).unwrap().x);
        let grads: Vec<Vec<u32>> = stack.params().iter().map(|p| bits(&p.grad)).collect();
        (out, dx, grads)
    };
    assert_eq!(run(&sequence(2, |_| 0.0)), run(&sequence(2, |i| GARBAGE[i % 4])));
}
