//! Bad input to every public function of the core: wrong lengths, zero and absurd sizes
//! (including products that overflow), NaN/Inf in data, states, targets and parameters, lengths
//! out of range, token ids out of range, unknown or misplaced configuration, corrupt
//! safetensors bytes (hand-made corruptions and thousands of seeded random mutations). Each call
//! must return an `Err` with the expected `code()`, and nothing may panic: every call runs under
//! `catch_unwind`.

use recur_core::activation::Activation;
use recur_core::clip;
use recur_core::layers::{layer_norm_forward, BatchNorm, Dense, Dropout, Embedding};
use recur_core::loss::{bce, cross_entropy, mse, LossKind, LossTarget};
use recur_core::model::{load_model, ForwardOptions, InitialState, Input, Model, TrainOptions};
use recur_core::optim::{Optimizer, OptimizerConfig};
use recur_core::recurrent::{CellKind, RecurrentConfig, RecurrentStack, SequenceInput};
use recur_core::rng::Rng;
use recur_core::{Error, Param};
use serde_json::{json, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f` under `catch_unwind` and asserts it returned an error with `code`.
fn expect_err<T>(what: &str, code: &str, f: impl FnOnce() -> Result<T, Error>) {
    match catch_unwind(AssertUnwindSafe(f)) {
        Err(_) => panic!("{what}: panicked"),
        Ok(Ok(_)) => panic!("{what}: succeeded, expected {code}"),
        Ok(Err(e)) => assert_eq!(e.code(), code, "{what}: {e}"),
    }
}

const HUGE: usize = 1 << 40;

fn rc(cell: CellKind) -> RecurrentConfig {
    RecurrentConfig {
        cell,
        input_size: 3,
        hidden_size: 4,
        num_layers: 2,
        bias: true,
        bidirectional: true,
        dropout: 0.0,
        layer_norm: false,
    }
}

const LSTM: CellKind = CellKind::Lstm { peephole: true };
const GRU: CellKind = CellKind::Gru { reset_after: true };

#[test]
fn recurrent_config_and_constructor() {
    let bad: Vec<(&str, &str, RecurrentConfig)> = vec![
        ("input 0", "ERR_RANGE", RecurrentConfig { input_size: 0, ..rc(LSTM) }),
        ("hidden 0", "ERR_RANGE", RecurrentConfig { hidden_size: 0, ..rc(LSTM) }),
        ("layers 0", "ERR_RANGE", RecurrentConfig { num_layers: 0, ..rc(LSTM) }),
        ("input huge", "ERR_RANGE", RecurrentConfig { input_size: HUGE, ..rc(LSTM) }),
        ("hidden huge", "ERR_RANGE", RecurrentConfig { hidden_size: HUGE, ..rc(GRU) }),
        ("hidden usize::MAX", "ERR_RANGE", RecurrentConfig { hidden_size: usize::MAX, ..rc(GRU) }),
        ("layers 1000", "ERR_RANGE", RecurrentConfig { num_layers: 1000, ..rc(GRU) }),
        // 4·H·H overflows the element budget although H itself is allowed.
        ("weights too large", "ERR_RANGE", RecurrentConfig { hidden_size: 1 << 16, ..rc(LSTM) }),
        ("dropout 1", "ERR_RANGE", RecurrentConfig { dropout: 1.0, ..rc(LSTM) }),
        ("dropout -0.1", "ERR_RANGE", RecurrentConfig { dropout: -0.1, ..rc(LSTM) }),
        ("dropout NaN", "ERR_RANGE", RecurrentConfig { dropout: f32::NAN, ..rc(LSTM) }),
        ("rnn linear", "ERR_UNSUPPORTED", rc(CellKind::Rnn { activation: Activation::Linear })),
        ("leaky slope NaN", "ERR_RANGE", rc(CellKind::Rnn { activation: Activation::LeakyRelu { slope: f32::NAN } })),
        ("elu alpha inf", "ERR_RANGE", rc(CellKind::Rnn { activation: Activation::Elu { alpha: f32::INFINITY } })),
    ];
    for (what, code, cfg) in bad {
        expect_err(what, code, || cfg.validate());
        expect_err(what, code, || RecurrentStack::new(cfg.clone(), "", 0));
    }
}

#[test]
fn recurrent_stack_forward_backward() {
    for cell in [LSTM, GRU, CellKind::Rnn { activation: Activation::Relu }] {
        let mut s = RecurrentStack::new(rc(cell), "", 1).unwrap();
        let lstm = cell.has_cell_state();
        let (t, b) = (3, 2);
        let x = vec![0.1f32; t * b * 3];
        let st = vec![0.0f32; 4 * b * 4];
        // Backward before any forward.
        expect_err("backward first", "ERR_STATE", || s.backward(&vec![0.0; t * b * 8], None, None, None, true).map(|_| ()));
        let mut nan = x.clone();
        nan[4] = f32::NAN;
        let mut inf = st.clone();
        inf[1] = f32::NEG_INFINITY;
        let f = |s: &mut RecurrentStack, x: &[f32], t: usize, b: usize, l: Option<&[usize]>, h: Option<&[f32]>, c: Option<&[f32]>| {
            s.forward(x, t, b, l, h, c, true).map(|_| ())
        };
        expect_err("x short", "ERR_SHAPE", || f(&mut s, &x[1..], t, b, None, None, None));
        expect_err("x long", "ERR_SHAPE", || f(&mut s, &[x.clone(), vec![0.0]].concat(), t, b, None, None, None));
        expect_err("steps 0", "ERR_RANGE", || f(&mut s, &[], 0, b, None, None, None));
        expect_err("batch 0", "ERR_RANGE", || f(&mut s, &[], t, 0, None, None, None));
        expect_err("steps huge", "ERR_RANGE", || f(&mut s, &x, HUGE, b, None, None, None));
        expect_err("batch huge", "ERR_RANGE", || f(&mut s, &x, t, usize::MAX, None, None, None));
        expect_err("steps·batch overflow", "ERR_RANGE", || f(&mut s, &x, 1 << 20, 1 << 20, None, None, None));
        expect_err("x NaN", "ERR_NON_FINITE", || f(&mut s, &nan, t, b, None, None, None));
        expect_err("h0 short", "ERR_SHAPE", || f(&mut s, &x, t, b, None, Some(&st[1..]), None));
        expect_err("h0 inf", "ERR_NON_FINITE", || f(&mut s, &x, t, b, None, Some(&inf), None));
        if lstm {
            expect_err("c0 short", "ERR_SHAPE", || f(&mut s, &x, t, b, None, None, Some(&st[..3])));
            expect_err("c0 inf", "ERR_NON_FINITE", || f(&mut s, &x, t, b, None, None, Some(&inf)));
        } else {
            expect_err("c0 on a cell without c", "ERR_UNSUPPORTED", || f(&mut s, &x, t, b, None, None, Some(&st)));
        }
        expect_err("lengths count", "ERR_SHAPE", || f(&mut s, &x, t, b, Some(&[3]), None, None));
        expect_err("lengths 0", "ERR_RANGE", || f(&mut s, &x, t, b, Some(&[3, 0]), None, None));
        expect_err("lengths > T", "ERR_RANGE", || f(&mut s, &x, t, b, Some(&[4, 1]), None, None));
        expect_err("lengths usize::MAX", "ERR_RANGE", || f(&mut s, &x, t, b, Some(&[usize::MAX, 1]), None, None));
        expect_err("validate_forward", "ERR_SHAPE", || s.validate_forward(&SequenceInput::new(&x, t, b + 1)));

        // A good forward, then bad backward arguments.
        f(&mut s, &x, t, b, None, None, None).unwrap();
        let d = vec![0.5f32; t * b * 8];
        let mut dn = d.clone();
        dn[0] = f32::NAN;
        expect_err("d_out short", "ERR_SHAPE", || s.backward(&d[1..], None, None, None, true).map(|_| ()));
        expect_err("d_out NaN", "ERR_NON_FINITE", || s.backward(&dn, None, None, None, true).map(|_| ()));
        expect_err("d_hn short", "ERR_SHAPE", || s.backward(&d, Some(&st[1..]), None, None, true).map(|_| ()));
        expect_err("d_hn inf", "ERR_NON_FINITE", || s.backward(&d, Some(&inf), None, None, true).map(|_| ()));
        if lstm {
            expect_err("d_cn short", "ERR_SHAPE", || s.backward(&d, None, Some(&st[2..]), None, true).map(|_| ()));
        } else {
            expect_err("d_cn on a cell without c", "ERR_UNSUPPORTED", || s.backward(&d, None, Some(&st), None, true).map(|_| ()));
        }
        expect_err("tbptt 0", "ERR_RANGE", || s.backward(&d, None, None, Some(0), true).map(|_| ()));
        expect_err("tbptt huge", "ERR_RANGE", || s.backward(&d, None, None, Some(HUGE), true).map(|_| ()));

        // Dropout masks of the wrong number or size.
        let m = vec![1.0f32; t * b * 8];
        expect_err("masks count", "ERR_SHAPE", || s.forward_with_masks(&x, t, b, &[]).map(|_| ()));
        expect_err("masks count 2", "ERR_SHAPE", || s.forward_with_masks(&x, t, b, &[m.clone(), m.clone()]).map(|_| ()));
        expect_err("mask size", "ERR_SHAPE", || s.forward_with_masks(&x, t, b, &[m[1..].to_vec()]).map(|_| ()));
        expect_err("masks with bad x", "ERR_SHAPE", || s.forward_with_masks(&x[1..], t, b, std::slice::from_ref(&m)).map(|_| ()));
        expect_err("masks with zero steps", "ERR_RANGE", || s.forward_with_masks(&[], 0, b, &[vec![]]).map(|_| ()));
    }
}

#[test]
fn recurrent_stack_with_corrupted_public_params_does_not_panic() {
    // Param fields are public: a caller can replace a value or gradient vector with one of the
    // wrong length. The stack must refuse, not index out of bounds.
    for cell in [LSTM, GRU] {
        for which in 0..3 {
            let mut s = RecurrentStack::new(rc(cell), "", 1).unwrap();
            let x = vec![0.1f32; 2 * 3];
            match which {
                0 => s.params_mut()[0].value.truncate(2),
                1 => s.params_mut()[1].grad.clear(),
                _ => s.params_mut()[3].value.push(1.0),
            }
            let r = catch_unwind(AssertUnwindSafe(|| {
                s.forward(&x, 2, 1, None, None, None, true).map(|_| ())?;
                s.backward(&[0.0; 2 * 8], None, None, None, true).map(|_| ())
            }));
            match r {
                Err(_) => panic!("{cell:?} corruption {which}: panicked"),
                Ok(res) => assert_eq!(res.unwrap_err().code(), "ERR_SHAPE", "{cell:?} corruption {which}"),
            }
        }
    }
}

fn cfg(layers: Value) -> String {
    json!({"input_size": 3, "layers": layers}).to_string()
}

#[test]
fn model_configs() {
    let cases: Vec<(&str, &str, String)> = vec![
        ("not JSON", "ERR_UNSUPPORTED", "{input_size: 3".into()),
        ("empty string", "ERR_UNSUPPORTED", "".into()),
        ("array", "ERR_UNSUPPORTED", "[]".into()),
        ("unknown top field", "ERR_UNSUPPORTED", json!({"input_size": 3, "layers": [], "lr": 1}).to_string()),
        ("unknown layer type", "ERR_UNSUPPORTED", cfg(json!([{"type": "transformer", "hidden_size": 3}]))),
        ("layer without type", "ERR_UNSUPPORTED", cfg(json!([{"hidden_size": 3}]))),
        ("unknown layer field", "ERR_UNSUPPORTED", cfg(json!([{"type": "lstm", "hidden_size": 3, "hiden": 1}]))),
        ("unknown dense field", "ERR_UNSUPPORTED", cfg(json!([{"type": "dense", "units": 3, "kernel": 1}]))),
        ("hidden_size string", "ERR_UNSUPPORTED", cfg(json!([{"type": "gru", "hidden_size": "big"}]))),
        ("hidden_size negative", "ERR_UNSUPPORTED", cfg(json!([{"type": "gru", "hidden_size": -3}]))),
        ("hidden_size float", "ERR_UNSUPPORTED", cfg(json!([{"type": "gru", "hidden_size": 2.5}]))),
        ("hidden_size missing", "ERR_UNSUPPORTED", cfg(json!([{"type": "rnn"}]))),
        ("unknown activation", "ERR_UNSUPPORTED", cfg(json!([{"type": "rnn", "hidden_size": 3, "activation": {"type": "swish"}}]))),
        ("activation as string", "ERR_UNSUPPORTED", cfg(json!([{"type": "rnn", "hidden_size": 3, "activation": "tanh"}]))),
        ("peephole on gru", "ERR_UNSUPPORTED", cfg(json!([{"type": "gru", "hidden_size": 3, "peephole": true}]))),
        ("peephole on rnn", "ERR_UNSUPPORTED", cfg(json!([{"type": "rnn", "hidden_size": 3, "peephole": true}]))),
        ("reset_after on lstm", "ERR_UNSUPPORTED", cfg(json!([{"type": "lstm", "hidden_size": 3, "reset_after": false}]))),
        ("activation on lstm", "ERR_UNSUPPORTED", cfg(json!([{"type": "lstm", "hidden_size": 3, "activation": {"type": "relu"}}]))),
        ("rnn linear", "ERR_UNSUPPORTED", cfg(json!([{"type": "rnn", "hidden_size": 3, "activation": {"type": "linear"}}]))),
        ("hidden 0", "ERR_RANGE", cfg(json!([{"type": "lstm", "hidden_size": 0}]))),
        ("hidden huge", "ERR_RANGE", cfg(json!([{"type": "lstm", "hidden_size": 1u64 << 40}]))),
        ("layers 0", "ERR_RANGE", cfg(json!([{"type": "lstm", "hidden_size": 3, "num_layers": 0}]))),
        ("dropout 1", "ERR_RANGE", cfg(json!([{"type": "lstm", "hidden_size": 3, "dropout": 1.0}]))),
        ("dropout layer p 2", "ERR_RANGE", cfg(json!([{"type": "dropout", "p": 2.0}]))),
        ("dense units 0", "ERR_RANGE", cfg(json!([{"type": "dense", "units": 0}]))),
        ("dense too large", "ERR_RANGE", json!({"input_size": 65536, "layers": [{"type": "dense", "units": 65536}]}).to_string()),
        ("batch norm eps 0", "ERR_RANGE", cfg(json!([{"type": "batch_norm", "eps": 0.0}]))),
        ("batch norm momentum 2", "ERR_RANGE", cfg(json!([{"type": "batch_norm", "momentum": 2.0}]))),
        ("no layers", "ERR_RANGE", cfg(json!([]))),
        ("input_size 0", "ERR_RANGE", json!({"input_size": 0, "layers": [{"type": "dense", "units": 1}]}).to_string()),
        ("input_size huge", "ERR_RANGE", json!({"input_size": 1u64 << 40, "layers": [{"type": "dense", "units": 1}]}).to_string()),
        ("input_size missing", "ERR_UNSUPPORTED", json!({"layers": [{"type": "dense", "units": 1}]}).to_string()),
        ("input_size with embedding", "ERR_UNSUPPORTED", cfg(json!([{"type": "embedding", "vocab_size": 5, "dim": 2}]))),
        ("embedding not first", "ERR_UNSUPPORTED", cfg(json!([{"type": "dense", "units": 2}, {"type": "embedding", "vocab_size": 5, "dim": 2}]))),
        ("vocab 0", "ERR_RANGE", json!({"layers": [{"type": "embedding", "vocab_size": 0, "dim": 2}]}).to_string()),
        ("embedding too large", "ERR_RANGE", json!({"layers": [{"type": "embedding", "vocab_size": 1u64 << 20, "dim": 1u64 << 20}]}).to_string()),
        ("recurrent after final state", "ERR_UNSUPPORTED", cfg(json!([
            {"type": "lstm", "hidden_size": 3, "return_sequences": false}, {"type": "gru", "hidden_size": 3}]))),
        ("duplicate names", "ERR_UNSUPPORTED", cfg(json!([
            {"type": "dense", "name": "a", "units": 3}, {"type": "dense", "name": "a", "units": 3}]))),
        ("seed negative", "ERR_UNSUPPORTED", json!({"input_size": 3, "seed": -1, "layers": [{"type": "dense", "units": 1}]}).to_string()),
    ];
    for (what, code, json) in cases {
        expect_err(what, code, || Model::from_json(&json));
    }
}

fn small_model() -> Model {
    let mut m = Model::from_json(
        &json!({"input_size": 2, "seed": 1, "layers": [
            {"type": "batch_norm"}, {"type": "lstm", "hidden_size": 3}, {"type": "dense", "units": 2}]})
        .to_string(),
    )
    .unwrap();
    m.set_optimizer(recur_core::optim::OptimizerConfig::from_json(&json!({"type": "adam"}).to_string()).unwrap()).unwrap();
    m
}

#[test]
fn model_calls() {
    let (t, b) = (3, 2);
    let x = vec![0.3f32; t * b * 2];
    let y = vec![0.1f32; t * b * 2];
    let mut m = small_model();
    let fwd = ForwardOptions { training: true, ..Default::default() };
    let st = vec![0.0f32; b * 3];
    expect_err("final_states before forward", "ERR_RANGE", || m.final_states(1).map(|_| ()));
    expect_err("forward too many initial", "ERR_SHAPE", || {
        let init = [InitialState::default(), InitialState::default()];
        m.forward(Input::Features(&x), t, b, ForwardOptions { initial: &init, ..fwd }).map(|_| ())
    });
    expect_err("forward c0 short", "ERR_SHAPE", || {
        let init = [InitialState { h: Some(&st), c: Some(&st[1..]) }];
        m.forward(Input::Features(&x), t, b, ForwardOptions { initial: &init, ..fwd }).map(|_| ())
    });
    expect_err("forward h0 NaN", "ERR_NON_FINITE", || {
        let h = vec![f32::NAN; b * 3];
        let init = [InitialState { h: Some(&h), c: None }];
        m.forward(Input::Features(&x), t, b, ForwardOptions { initial: &init, ..fwd }).map(|_| ())
    });
    expect_err("forward x inf", "ERR_NON_FINITE", || {
        let mut xi = x.clone();
        xi[11] = f32::INFINITY;
        m.forward(Input::Features(&xi), t, b, fwd).map(|_| ())
    });
    expect_err("forward steps·batch overflow", "ERR_RANGE", || m.forward(Input::Features(&x), 1 << 20, 1 << 20, fwd).map(|_| ()));
    expect_err("forward huge steps", "ERR_RANGE", || m.forward(Input::Features(&x), usize::MAX, 1, fwd).map(|_| ()));
    expect_err("forward tokens", "ERR_UNSUPPORTED", || m.forward(Input::Tokens(&[0; 6]), t, b, fwd).map(|_| ()));
    // Batch norm in training needs two real rows.
    expect_err("batch norm single row", "ERR_RANGE", || m.forward(Input::Features(&x[..2]), 1, 1, fwd).map(|_| ()));
    expect_err("predict lengths", "ERR_RANGE", || m.predict(Input::Features(&x), t, b, Some(&[0, 1]), false).map(|_| ()));
    expect_err("predict lengths count", "ERR_SHAPE", || m.predict(Input::Features(&x), t, b, Some(&[1, 1, 1]), false).map(|_| ()));
    let mse = TrainOptions::new(LossKind::Mse);
    let ts = |m: &mut Model, x: &[f32], target: LossTarget<'_>, o: &TrainOptions| m.train_step(Input::Features(x), t, b, None, target, o).map(|_| ());
    expect_err("target short", "ERR_SHAPE", || ts(&mut m, &x, LossTarget::Values(&y[1..]), &mse));
    expect_err("target NaN", "ERR_NON_FINITE", || ts(&mut m, &x, LossTarget::Values(&[f32::NAN; 12]), &mse));
    expect_err("classes for mse", "ERR_UNSUPPORTED", || ts(&mut m, &x, LossTarget::Classes(&[0; 6]), &mse));
    let ce = TrainOptions::new(LossKind::CrossEntropy);
    expect_err("class out of range", "ERR_RANGE", || ts(&mut m, &x, LossTarget::Classes(&[0, 1, 2, 0, 1, 0]), &ce));
    expect_err("class count", "ERR_SHAPE", || ts(&mut m, &x, LossTarget::Classes(&[0; 5]), &ce));
    let bce_o = TrainOptions::new(LossKind::Bce);
    expect_err("bce target > 1", "ERR_RANGE", || ts(&mut m, &x, LossTarget::Values(&[2.0; 12]), &bce_o));
    expect_err("clip_value 0", "ERR_RANGE", || ts(&mut m, &x, LossTarget::Values(&y), &TrainOptions { clip_value: Some(0.0), ..mse }));
    expect_err("clip_norm NaN", "ERR_RANGE", || ts(&mut m, &x, LossTarget::Values(&y), &TrainOptions { clip_norm: Some(f32::NAN), ..mse }));
    expect_err("evaluate target", "ERR_SHAPE", || m.evaluate(Input::Features(&x), t, b, None, LossTarget::Values(&y[2..]), LossKind::Mse));
    // NaN in the parameters (written through the public fields): the output is not finite,
    // which the loss refuses.
    let mut bad = small_model();
    let n = bad.params().len();
    bad.params_mut()[n - 1].value[0] = f32::NAN;
    expect_err("NaN parameter, train_step", "ERR_NON_FINITE", || ts(&mut bad, &x, LossTarget::Values(&y), &mse));
    expect_err("NaN parameter, evaluate", "ERR_NON_FINITE", || bad.evaluate(Input::Features(&x), t, b, None, LossTarget::Values(&y), LossKind::Mse));
    // Parameter and buffer setters.
    expect_err("set_param inf", "ERR_NON_FINITE", || m.set_param("dense.bias", &[1.0, f32::INFINITY]));
    expect_err("set_param short", "ERR_SHAPE", || m.set_param("dense.bias", &[1.0]));
    expect_err("param unknown", "ERR_UNSUPPORTED", || m.param("nope").map(|_| ()));
    expect_err("set_buffer unknown", "ERR_UNSUPPORTED", || m.set_buffer("batch_norm.nope", &[0.0]));
    expect_err("set_buffer NaN", "ERR_NON_FINITE", || m.set_buffer("batch_norm.running_mean", &[f32::NAN, 0.0]));
    expect_err("set_buffer count fraction", "ERR_RANGE", || m.set_buffer("batch_norm.num_batches_tracked", &[1.5]));
    // Optimizers.
    for opt in [json!({"type": "adam", "lr": -1.0}), json!({"type": "adam", "betas": [1.0, 0.9]}), json!({"type": "sgd", "nesterov": true}), json!({"type": "rmsprop", "alpha": -0.5})] {
        let oc = OptimizerConfig::from_json(&opt.to_string()).unwrap();
        let code = if opt["type"] == "sgd" { "ERR_UNSUPPORTED" } else { "ERR_RANGE" };
        expect_err(&opt.to_string(), code, || m.set_optimizer(oc));
        expect_err(&opt.to_string(), code, || Optimizer::new(oc));
    }
    assert!(OptimizerConfig::from_json(&json!({"type": "adam", "momentum": 0.9}).to_string()).is_err());
    expect_err("set_lr negative", "ERR_RANGE", || m.optimizer_mut().unwrap().set_lr(-1.0));
    let mut no_opt = Model::from_json(&json!({"input_size": 2, "layers": [{"type": "dense", "units": 1}]}).to_string()).unwrap();
    expect_err("optimizer_step without optimizer", "ERR_STATE", || no_opt.optimizer_step());
}

#[test]
fn embedding_models() {
    let mut m = Model::from_json(
        &json!({"layers": [{"type": "embedding", "vocab_size": 5, "dim": 2}, {"type": "gru", "hidden_size": 3}]}).to_string(),
    )
    .unwrap();
    let fwd = ForwardOptions { training: true, ..Default::default() };
    expect_err("id out of range", "ERR_RANGE", || m.forward(Input::Tokens(&[0, 1, 5, 2]), 2, 2, fwd).map(|_| ()));
    expect_err("id u32::MAX", "ERR_RANGE", || m.forward(Input::Tokens(&[u32::MAX; 4]), 2, 2, fwd).map(|_| ()));
    expect_err("ids count", "ERR_SHAPE", || m.forward(Input::Tokens(&[0, 1, 2]), 2, 2, fwd).map(|_| ()));
    expect_err("features to embedding", "ERR_UNSUPPORTED", || m.forward(Input::Features(&[0.0; 4]), 2, 2, fwd).map(|_| ()));
    expect_err("predict id", "ERR_RANGE", || m.predict(Input::Tokens(&[9; 4]), 2, 2, None, false).map(|_| ()));
}

#[test]
fn layers_losses_clipping_and_optimizer_directly() {
    let mut rng = Rng::new(1);
    expect_err("dense in 0", "ERR_RANGE", || Dense::new("d", 0, 3, true, Activation::Tanh, &mut rng));
    expect_err("dense huge", "ERR_RANGE", || Dense::new("d", 1 << 20, 1 << 20, true, Activation::Tanh, &mut rng));
    expect_err("dense bad activation", "ERR_RANGE", || Dense::new("d", 2, 3, true, Activation::LeakyRelu { slope: f32::NAN }, &mut rng));
    let mut d = Dense::new("d", 2, 3, true, Activation::Tanh, &mut rng).unwrap();
    let mut y = Vec::new();
    expect_err("dense x short", "ERR_SHAPE", || d.forward(&[1.0; 3], 2, &mut y));
    expect_err("dense rows 0", "ERR_RANGE", || d.forward(&[], 0, &mut y));
    expect_err("dense x NaN", "ERR_NON_FINITE", || d.forward(&[f32::NAN, 0.0], 1, &mut y));
    expect_err("dense backward first", "ERR_STATE", || d.backward(&[0.0; 3], None));
    expect_err("embedding vocab 0", "ERR_RANGE", || Embedding::new("e", 0, 3, &mut rng));
    let mut e = Embedding::new("e", 4, 3, &mut rng).unwrap();
    expect_err("embedding id", "ERR_RANGE", || e.forward(&[4], &mut y));
    expect_err("embedding empty", "ERR_RANGE", || e.forward(&[], &mut y));
    expect_err("embedding backward first", "ERR_STATE", || e.backward(&[0.0; 3]));
    expect_err("batch norm 0 features", "ERR_RANGE", || BatchNorm::new("b", 0, true));
    expect_err("batch norm eps NaN", "ERR_RANGE", || BatchNorm::with_config("b", 2, true, f32::NAN, None));
    let mut bn = BatchNorm::new("b", 2, true).unwrap();
    expect_err("batch norm mask value", "ERR_RANGE", || bn.forward(&[1.0; 4], 2, Some(&[1.0, 0.5]), true, &mut y));
    expect_err("batch norm one real row", "ERR_RANGE", || bn.forward(&[1.0; 4], 2, Some(&[1.0, 0.0]), true, &mut y));
    expect_err("batch norm backward first", "ERR_STATE", || bn.backward(&[0.0; 4], None));
    expect_err("dropout p 1", "ERR_RANGE", || Dropout::new(1.0, 0));
    let mut dr = Dropout::new(0.5, 0).unwrap();
    expect_err("dropout mask value", "ERR_RANGE", || dr.set_fixed_mask(Some(&[0.5])));
    expect_err("dropout x inf", "ERR_NON_FINITE", || dr.forward(&[f32::INFINITY], true, &mut y));
    let (mut o, mut h, mut r) = (vec![0.0; 4], vec![0.0; 4], vec![0.0; 2]);
    expect_err("layer norm width 0", "ERR_RANGE", || layer_norm_forward(&[0.0; 4], 2, 0, &[1.0; 2], &[0.0; 2], 1e-5, &mut o, &mut h, &mut r));
    expect_err("layer norm gamma", "ERR_SHAPE", || layer_norm_forward(&[0.0; 4], 2, 2, &[1.0; 3], &[0.0; 3], 1e-5, &mut o, &mut h, &mut r));
    expect_err("layer norm eps", "ERR_RANGE", || layer_norm_forward(&[0.0; 4], 2, 2, &[1.0; 2], &[0.0; 2], -1.0, &mut o, &mut h, &mut r));
    expect_err("layer norm rows overflow", "ERR_RANGE", || layer_norm_forward(&[0.0; 4], usize::MAX, 2, &[1.0; 2], &[0.0; 2], 1e-5, &mut o, &mut h, &mut r));

    let mut g = vec![0.0f32; 4];
    expect_err("mse rows 0", "ERR_RANGE", || mse::forward_backward(&[], &[], 0, 2, None, &mut g));
    expect_err("mse overflow", "ERR_RANGE", || mse::forward(&[0.0; 4], &[0.0; 4], usize::MAX, 2, None));
    expect_err("mse target", "ERR_SHAPE", || mse::forward(&[0.0; 4], &[0.0; 3], 2, 2, None));
    expect_err("mse pred inf", "ERR_NON_FINITE", || mse::forward(&[f32::INFINITY, 0.0], &[0.0; 2], 1, 2, None));
    expect_err("mse grad size", "ERR_SHAPE", || mse::forward_backward(&[0.0; 2], &[0.0; 2], 1, 2, None, &mut g));
    expect_err("mse all masked", "ERR_RANGE", || mse::forward(&[0.0; 4], &[0.0; 4], 2, 2, Some(&[0.0, 0.0])));
    expect_err("mse mask value", "ERR_RANGE", || mse::forward(&[0.0; 4], &[0.0; 4], 2, 2, Some(&[0.0, 2.0])));
    expect_err("ce class", "ERR_RANGE", || cross_entropy::forward(&[0.0; 4], &[0, 2], 2, 2, None));
    expect_err("ce count", "ERR_SHAPE", || cross_entropy::forward(&[0.0; 4], &[0], 2, 2, None));
    expect_err("bce target NaN", "ERR_NON_FINITE", || bce::forward(&[0.0; 2], &[f32::NAN, 0.0], 1, 2, None));
    expect_err("bce target -1", "ERR_RANGE", || bce::forward(&[0.0; 2], &[-1.0, 0.0], 1, 2, None));

    let mut p = Param::zeros("w", &[2]);
    p.grad = vec![f32::NAN, 1.0];
    expect_err("clip norm NaN grad", "ERR_NON_FINITE", || clip::clip_grad_norm(&mut [&mut p], 1.0));
    expect_err("clip value NaN grad", "ERR_NON_FINITE", || clip::clip_grad_value(&mut [&mut p], 1.0));
    expect_err("grad_norm", "ERR_NON_FINITE", || clip::grad_norm(&[&p]));
    p.grad = vec![1.0, 1.0];
    expect_err("clip norm negative", "ERR_RANGE", || clip::clip_grad_norm(&mut [&mut p], -1.0));
    expect_err("clip norm inf", "ERR_NON_FINITE", || clip::clip_grad_norm(&mut [&mut p], f32::INFINITY));
    expect_err("clip slices", "ERR_NON_FINITE", || clip::clip_norm_slices(&mut [&mut [f32::NAN][..]], 1.0));
    expect_err("clip value slices", "ERR_RANGE", || clip::clip_value_slices(&mut [&mut [1.0][..]], -1.0));

    let mut opt = Optimizer::new(recur_core::optim::OptimizerConfig::from_json(&json!({"type": "adam"}).to_string()).unwrap()).unwrap();
    let mut short = Param::zeros("w", &[3]);
    short.grad.pop();
    expect_err("optimizer grad short", "ERR_SHAPE", || opt.step(&mut [&mut short]));
    let mut ok = Param::zeros("w", &[3]);
    opt.step(&mut [&mut ok]).unwrap();
    let mut other = Param::zeros("v", &[3]);
    expect_err("optimizer other param", "ERR_STATE", || opt.step(&mut [&mut other]));
    expect_err("optimizer state garbage", "ERR_FORMAT", || opt.load_state(&[&ok], &[("optim.w.bogus".into(), vec![3], vec![0.0; 3])]));
    expect_err("optimizer state step NaN", "ERR_NON_FINITE", || {
        opt.load_state(
            &[&ok],
            &[
                ("optim.w.step".into(), vec![], vec![f32::NAN]),
                ("optim.w.exp_avg".into(), vec![3], vec![0.0; 3]),
                ("optim.w.exp_avg_sq".into(), vec![3], vec![0.0; 3]),
            ],
        )
    });
}

// ---------------------------------------------------------------------------------------------
// Corrupt safetensors bytes

fn header_of(bytes: &[u8]) -> (Value, Vec<u8>) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (serde_json::from_slice(&bytes[8..8 + n]).unwrap(), bytes[8 + n..].to_vec())
}

fn assemble(header: &Value, data: &[u8]) -> Vec<u8> {
    let text = serde_json::to_vec(header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(data);
    out
}

fn saved() -> (Model, Vec<u8>) {
    let mut m = small_model();
    let x = vec![0.2f32; 3 * 2 * 2];
    m.train_step(Input::Features(&x), 3, 2, None, LossTarget::Values(&[0.5; 12]), &TrainOptions::new(LossKind::Mse)).unwrap();
    let bytes = m.save(true).unwrap();
    (m, bytes)
}

/// Calls both loaders on `bytes` and asserts both fail with `code` (load_weights into a fresh
/// model, which must stay unchanged).
fn both_fail(what: &str, code: &str, bytes: &[u8]) {
    expect_err(&format!("load_model: {what}"), code, || load_model(bytes));
    let mut m = small_model();
    let before: Vec<Vec<f32>> = m.params().iter().map(|p| p.value.clone()).collect();
    expect_err(&format!("load_weights: {what}"), code, || m.load_weights(bytes));
    let after: Vec<Vec<f32>> = m.params().iter().map(|p| p.value.clone()).collect();
    assert_eq!(before, after, "{what}: load_weights changed the model");
}

#[test]
fn corrupt_safetensors() {
    let (_, good) = saved();
    load_model(&good).unwrap();
    let (header, data) = header_of(&good);
    let tensor = header.as_object().unwrap().keys().find(|k| k.starts_with("lstm.weight_ih")).unwrap().clone();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut h = header.clone();
        f(&mut h);
        assemble(&h, &data)
    };
    both_fail("empty", "ERR_FORMAT", &[]);
    both_fail("7 bytes", "ERR_FORMAT", &good[..7]);
    both_fail("header only", "ERR_FORMAT", &good[..8]);
    both_fail("truncated data", "ERR_FORMAT", &good[..good.len() - 1]);
    both_fail("truncated header", "ERR_FORMAT", &good[..40]);
    let mut huge = good.clone();
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    both_fail("header length u64::MAX", "ERR_FORMAT", &huge);
    huge[..8].copy_from_slice(&((good.len() - 7) as u64).to_le_bytes());
    both_fail("header length past the end", "ERR_FORMAT", &huge);
    huge[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    both_fail("header length 1<<40", "ERR_FORMAT", &huge);
    both_fail("not JSON", "ERR_FORMAT", &assemble_raw(b"{\"a\": [1, 2", &data));
    both_fail("not UTF-8", "ERR_FORMAT", &assemble_raw(&[0xff, 0xfe, 0x7b, 0x7d], &data));
    both_fail("JSON array", "ERR_FORMAT", &assemble_raw(b"[1, 2, 3]", &data));
    both_fail("metadata not an object", "ERR_FORMAT", &with(&|h| h["__metadata__"] = json!(3)));
    both_fail("offsets out of range", "ERR_FORMAT", &with(&|h| h[&tensor]["data_offsets"] = json!([0, data.len() + 4])));
    both_fail("offsets reversed", "ERR_FORMAT", &with(&|h| h[&tensor]["data_offsets"] = json!([8, 4])));
    both_fail("offsets huge", "ERR_FORMAT", &with(&|h| h[&tensor]["data_offsets"] = json!([u64::MAX - 1, u64::MAX])));
    both_fail("offsets negative", "ERR_FORMAT", &with(&|h| h[&tensor]["data_offsets"] = json!([-4, 0])));
    both_fail("offsets three", "ERR_FORMAT", &with(&|h| h[&tensor]["data_offsets"] = json!([0, 4, 8])));
    both_fail("no offsets", "ERR_FORMAT", &with(&|h| {
        h[&tensor].as_object_mut().unwrap().remove("data_offsets");
    }));
    both_fail("no dtype", "ERR_FORMAT", &with(&|h| {
        h[&tensor].as_object_mut().unwrap().remove("dtype");
    }));
    both_fail("dtype F16", "ERR_FORMAT", &with(&|h| h[&tensor]["dtype"] = json!("F16")));
    // A state dict of PyTorch's LSTM with proj_size > 0 (here only the projection's weight
    // added): named as unsupported by load_weights.
    let projected = {
        let mut h = header.clone();
        h["lstm.weight_hr_l0"] = json!({"dtype": "F32", "shape": [2, 3], "data_offsets": [data.len(), data.len() + 24]});
        let mut d = data.clone();
        d.extend_from_slice(&[0; 24]);
        assemble(&h, &d)
    };
    let mut m = small_model();
    let e = m.load_weights(&projected).unwrap_err();
    assert_eq!(e.code(), "ERR_UNSUPPORTED", "{e}");
    assert!(e.to_string().contains("proj_size") && e.to_string().contains("lstm.weight_hr_l0"), "{e}");
    both_fail("dtype number", "ERR_FORMAT", &with(&|h| h[&tensor]["dtype"] = json!(7)));
    both_fail("shape not sizes", "ERR_FORMAT", &with(&|h| h[&tensor]["shape"] = json!([-1, 2])));
    both_fail("shape product overflow", "ERR_FORMAT", &with(&|h| h[&tensor]["shape"] = json!([1u64 << 40, 1u64 << 40])));
    both_fail("shape vs bytes", "ERR_FORMAT", &with(&|h| h[&tensor]["shape"] = json!([1])));
    // Overlapping: one tensor's range made to cover its neighbour's too, so the ranges overlap
    // and the byte count no longer fits the shape; and two tensors pointing at the same bytes.
    both_fail("overlapping ranges", "ERR_FORMAT", &with(&|h| {
        let o = h[&tensor]["data_offsets"].clone();
        h[&tensor]["data_offsets"] = json!([o[0], o[1].as_u64().unwrap() + 4]);
    }));
    let names: Vec<String> = header.as_object().unwrap().keys().filter(|k| *k != "__metadata__").cloned().collect();
    let same_size: Option<(String, String)> = names.iter().find_map(|a| {
        names
            .iter()
            .find(|b| *b != a && header[*b]["shape"] == header[a]["shape"] && header[*b]["dtype"] == header[a]["dtype"])
            .map(|b| (a.clone(), b.clone()))
    });
    let (a, b) = same_size.expect("two tensors of one shape");
    both_fail("two tensors on the same bytes", "ERR_FORMAT", &with(&|h| h[&b]["data_offsets"] = h[&a]["data_offsets"].clone()));
    both_fail("trailing bytes", "ERR_FORMAT", &[good.clone(), vec![0; 8]].concat());
    both_fail("missing tensor", "ERR_FORMAT", &with(&|h| {
        h.as_object_mut().unwrap().remove(&tensor);
    }));
    both_fail("unknown tensor", "ERR_FORMAT", &{
        let mut h = header.clone();
        h["extra"] = json!({"dtype": "F32", "shape": [1], "data_offsets": [data.len(), data.len() + 4]});
        assemble(&h, &[data.clone(), vec![0; 4]].concat())
    });
    // Shape mismatch with a consistent byte count: a [G·H, in] weight relabelled [in, G·H].
    both_fail("shape mismatch", "ERR_SHAPE", &with(&|h| {
        let s = h[&tensor]["shape"].clone();
        h[&tensor]["shape"] = json!([s[1], s[0]]);
    }));
    // A NaN written into a weight's bytes.
    let begin = header[&tensor]["data_offsets"][0].as_u64().unwrap() as usize;
    let mut nan_data = data.clone();
    nan_data[begin..begin + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    both_fail("NaN weight", "ERR_NON_FINITE", &assemble(&header, &nan_data));

    // load_model only: metadata problems.
    let meta = |f: &dyn Fn(&mut Value)| with(&|h| f(&mut h["__metadata__"]));
    expect_err("no metadata", "ERR_FORMAT", || load_model(&with(&|h| {
        h.as_object_mut().unwrap().remove("__metadata__");
    })));
    expect_err("format", "ERR_FORMAT", || load_model(&meta(&|m| m["format"] = json!("pt"))));
    expect_err("version", "ERR_FORMAT", || load_model(&meta(&|m| m["format_version"] = json!("2"))));
    expect_err("config not JSON", "ERR_FORMAT", || load_model(&meta(&|m| m["config"] = json!("{"))));
    expect_err("config invalid", "ERR_FORMAT", || {
        load_model(&meta(&|m| m["config"] = json!(json!({"input_size": 2, "layers": [{"type": "gru", "hidden_size": 3, "peephole": true}]}).to_string())))
    });
    // A valid config of another model: its parameters do not fit the stored tensors.
    expect_err("config of another model", "ERR_SHAPE", || {
        load_model(&meta(&|m| m["config"] = json!(json!({"input_size": 2, "layers": [{"type": "dense", "units": 1}]}).to_string())))
    });
    expect_err("optimizer not JSON", "ERR_FORMAT", || load_model(&meta(&|m| m["optimizer"] = json!("{\"type\": "))));
    expect_err("optimizer invalid", "ERR_RANGE", || load_model(&meta(&|m| m["optimizer"] = json!("{\"type\": \"adam\", \"lr\": -1}"))));
    let step_name = header.as_object().unwrap().keys().find(|k| k.ends_with(".step")).unwrap().clone();
    expect_err("optimizer state missing", "ERR_FORMAT", || {
        load_model(&with(&|h| {
            h.as_object_mut().unwrap().remove(&step_name);
        }))
    });
}

fn assemble_raw(header: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header);
    out.extend_from_slice(data);
    out
}

#[test]
fn random_mutations_of_a_valid_file_never_panic() {
    let (_, good) = saved();
    let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut rng = Rng::new(2024);
    let codes = ["ERR_FORMAT", "ERR_SHAPE", "ERR_NON_FINITE", "ERR_RANGE", "ERR_UNSUPPORTED", "ERR_STATE"];
    let x = vec![0.1f32; 3 * 2 * 2];
    let (mut ok, mut failed) = (0, 0);
    for i in 0..3000 {
        let mut bytes = good.clone();
        match rng.below(6) {
            // Flip bits anywhere (header or data).
            0 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(bytes.len());
                    bytes[at] ^= 1 << rng.below(8);
                }
            }
            // Replace a header byte with a JSON-significant character.
            1 => {
                let at = 8 + rng.below(n);
                bytes[at] = b"{}[]\",:0123456789-eE. "[rng.below(22)];
            }
            // Truncate.
            2 => bytes.truncate(rng.below(bytes.len())),
            // Insert random bytes.
            3 => {
                let at = rng.below(bytes.len());
                let extra: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next_u32() as u8).collect();
                bytes.splice(at..at, extra);
            }
            // Change the header length.
            4 => {
                let v = match rng.below(3) {
                    0 => n as u64 + rng.below(64) as u64 - 32,
                    1 => rng.next_u32() as u64,
                    _ => ((rng.next_u32() as u64) << 32) | rng.next_u32() as u64,
                };
                bytes[..8].copy_from_slice(&v.to_le_bytes());
            }
            // Random garbage of a random length.
            _ => bytes = (0..rng.below(256)).map(|_| rng.next_u32() as u8).collect(),
        }
        let r = catch_unwind(AssertUnwindSafe(|| {
            let loaded = load_model(&bytes);
            let mut m = small_model();
            let weights = m.load_weights(&bytes);
            (loaded, weights)
        }));
        let (loaded, weights) = r.unwrap_or_else(|_| panic!("mutation {i} panicked"));
        for res in [loaded.as_ref().map(|_| ()), weights.as_ref().map(|_| ())] {
            match res {
                Ok(()) => ok += 1,
                Err(e) => {
                    failed += 1;
                    assert!(codes.contains(&e.code()));
                }
            }
        }
        // A file that loads gives a model with finite weights that can predict without panic.
        if let Ok(mut m) = loaded {
            assert!(m.params().iter().all(|p| p.value.iter().all(|v| v.is_finite())), "mutation {i}: non-finite weight loaded");
            let r = catch_unwind(AssertUnwindSafe(|| m.predict(Input::Features(&x), 3, 2, None, false).map(|_| ())));
            assert!(r.is_ok(), "mutation {i}: predict panicked");
        }
    }
    assert!(failed > 3000, "most mutations must be refused ({failed} refused, {ok} loaded)");
}
