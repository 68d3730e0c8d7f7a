//! The `init` option of recurrent and dense layers: every kind's statistics against its formula,
//! orthogonality per gate block, the LSTM forget-gate bias, the default being exactly the
//! initialization that existed before the option (weights and saved bytes), JSON round trips,
//! and the errors.

use recur_core::init::{DenseInit, FanMode, Init, Nonlinearity, RecurrentInit};
use recur_core::model::{load_model, Model};
use recur_core::rng::Rng;
use serde_json::{json, Value};

fn model(config: &Value) -> Model {
    Model::from_json(&config.to_string()).unwrap()
}

fn err_code(config: &Value) -> &'static str {
    Model::from_json(&config.to_string()).map(|_| ()).unwrap_err().code()
}

fn param(m: &Model, name: &str) -> Vec<f32> {
    m.param(name).unwrap().value.clone()
}

fn bits(m: &Model) -> Vec<(String, Vec<u32>)> {
    m.params().iter().map(|p| (p.name.clone(), p.value.iter().map(|v| v.to_bits()).collect())).collect()
}

fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn mean_var(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

/// Mean within `4σ/√n` of `mean`, variance within 3 % of `var`.
fn assert_stats(what: &str, v: &[f32], mean: f64, var: f64) {
    let (m, s2) = mean_var(v);
    let tol = 4.0 * (var / v.len() as f64).sqrt() + 1e-12;
    assert!((m - mean).abs() <= tol, "{what}: mean {m}, expected {mean} ± {tol}");
    assert!((s2 - var).abs() <= 0.03 * var + 1e-12, "{what}: variance {s2}, expected {var}");
}

fn fill(init: Init, rows: usize, cols: usize, seed: u64) -> Vec<f32> {
    let mut out = vec![f32::NAN; rows * cols];
    init.fill_matrix(&mut out, rows, cols, 0.123, &mut Rng::new(seed));
    out
}

/// Max |AᵀA − g²I| over the columns (`cols = true`) or |AAᵀ − g²I| over the rows of a
/// row-major `[rows, cols]` block.
fn ortho_err(a: &[f32], rows: usize, cols: usize, by_cols: bool, gain: f64) -> f64 {
    let (n, len) = if by_cols { (cols, rows) } else { (rows, cols) };
    let at = |vec: usize, k: usize| if by_cols { a[k * cols + vec] as f64 } else { a[vec * cols + k] as f64 };
    let mut worst = 0f64;
    for i in 0..n {
        for j in 0..=i {
            let d: f64 = (0..len).map(|k| at(i, k) * at(j, k)).sum();
            let want = if i == j { gain * gain } else { 0.0 };
            worst = worst.max((d - want).abs());
        }
    }
    worst
}

// ------------------------------------------------------------------------------------------
// The default is what existed before
// ------------------------------------------------------------------------------------------

const LSTM_CONFIG: &str = r#"{"input_size":3,"seed":42,"layers":[{"type":"lstm","hidden_size":6,"num_layers":2,"bidirectional":true,"peephole":true},{"type":"dense","units":2}]}"#;
const MIXED_CONFIG: &str = r#"{"input_size":4,"seed":7,"layers":[{"type":"gru","hidden_size":5,"reset_after":false,"layer_norm":true},{"type":"rnn","hidden_size":3,"activation":{"type":"relu"}},{"type":"dense","units":3,"activation":{"type":"tanh"}},{"type":"dense","units":1,"bias":false}]}"#;

/// FNV-1a of every parameter's bits and of `save(false)`, recorded with the code before the
/// `init` option existed.
const BEFORE: [(&str, u64, u64); 2] =
    [(LSTM_CONFIG, 0x1e0d_4141_8638_96b1, 0xb192_ee20_ad67_1711), (MIXED_CONFIG, 0xa013_e312_f499_cc84, 0x37bc_51f3_dabe_dc56)];

fn param_hash(m: &Model) -> u64 {
    let mut all = Vec::new();
    for p in m.params() {
        for v in &p.value {
            all.extend_from_slice(&v.to_bits().to_le_bytes());
        }
    }
    fnv(&all)
}

#[test]
fn default_init_is_bit_for_bit_what_it_was() {
    for (config, params, saved) in BEFORE {
        let m = Model::from_json(config).unwrap();
        assert_eq!(param_hash(&m), params, "weights of {config}");
        assert_eq!(fnv(&m.save(false).unwrap()), saved, "saved bytes of {config}");
    }
}

/// Adds `init` to every recurrent and dense layer of a config.
fn with_init(config: &str, recurrent: Value, dense: Value) -> Value {
    let mut v: Value = serde_json::from_str(config).unwrap();
    for l in v["layers"].as_array_mut().unwrap() {
        let t = l["type"].as_str().unwrap().to_string();
        if t == "dense" {
            l["init"] = dense.clone();
        } else if ["rnn", "lstm", "gru"].contains(&t.as_str()) {
            l["init"] = recurrent.clone();
        }
    }
    v
}

#[test]
fn empty_or_explicit_default_init_changes_nothing() {
    for (config, _, _) in BEFORE {
        let plain = Model::from_json(config).unwrap();
        let explicit = with_init(
            config,
            json!({"weight_ih": "pytorch_default", "weight_hh": "pytorch_default", "bias": "pytorch_default"}),
            json!({"weight": "pytorch_default", "bias": "pytorch_default"}),
        );
        for cfg in [with_init(config, json!({}), json!({})), explicit] {
            let m = model(&cfg);
            assert_eq!(bits(&m), bits(&plain), "{cfg}");
            // The default is not written, so the saved bytes (config included) are the same.
            assert_eq!(m.save(false).unwrap(), plain.save(false).unwrap(), "{cfg}");
            assert_eq!(m.config().to_json(), plain.config().to_json());
        }
    }
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let cfg = |seed: u64| {
        json!({"input_size": 5, "seed": seed, "layers": [
            {"type": "gru", "hidden_size": 8, "init": {"weight_ih": "xavier_normal", "weight_hh": "orthogonal", "bias": {"normal": {"std": 0.1}}}},
            {"type": "dense", "units": 3, "init": {"weight": "kaiming_normal", "bias": {"uniform": {"a": -0.5, "b": 0.5}}}}
        ]})
    };
    assert_eq!(bits(&model(&cfg(3))), bits(&model(&cfg(3))));
    let (a, b) = (bits(&model(&cfg(3))), bits(&model(&cfg(4))));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert_ne!(x, y, "{name} should depend on the seed");
    }
}

// ------------------------------------------------------------------------------------------
// Statistics of each kind
// ------------------------------------------------------------------------------------------

#[test]
fn xavier_statistics() {
    let (rows, cols) = (300, 500);
    let fan_sum = (rows + cols) as f64;
    for gain in [1.0f32, 5.0 / 3.0] {
        let g = gain as f64;
        let v = fill(Init::XavierUniform { gain }, rows, cols, 1);
        let a = g * (6.0 / fan_sum).sqrt();
        assert!(v.iter().all(|&x| (x as f64).abs() <= a * (1.0 + 1e-6)));
        assert!(v.iter().any(|&x| (x as f64).abs() > 0.99 * a));
        assert_stats("xavier_uniform", &v, 0.0, a * a / 3.0);
        let v = fill(Init::XavierNormal { gain }, rows, cols, 2);
        assert_stats("xavier_normal", &v, 0.0, g * g * 2.0 / fan_sum);
    }
}

#[test]
fn kaiming_statistics() {
    let (rows, cols) = (250, 600);
    let cases = [
        (0.0f32, FanMode::FanIn, Nonlinearity::LeakyRelu, 2.0 / cols as f64),
        (0.2, FanMode::FanIn, Nonlinearity::LeakyRelu, 2.0 / (1.04 * cols as f64)),
        (0.0, FanMode::FanOut, Nonlinearity::Relu, 2.0 / rows as f64),
        (0.0, FanMode::FanIn, Nonlinearity::Tanh, 25.0 / 9.0 / cols as f64),
        (0.0, FanMode::FanOut, Nonlinearity::Linear, 1.0 / rows as f64),
        (0.0, FanMode::FanIn, Nonlinearity::Selu, 0.5625 / cols as f64),
    ];
    for (i, (a, mode, nonlinearity, var)) in cases.into_iter().enumerate() {
        let v = fill(Init::KaimingUniform { a, mode, nonlinearity }, rows, cols, 10 + i as u64);
        let bound = (3.0 * var).sqrt();
        assert!(v.iter().all(|&x| (x as f64).abs() <= bound * (1.0 + 1e-6)), "{nonlinearity:?}");
        assert_stats(&format!("kaiming_uniform {mode:?} {nonlinearity:?}"), &v, 0.0, var);
        let v = fill(Init::KaimingNormal { a, mode, nonlinearity }, rows, cols, 20 + i as u64);
        assert_stats(&format!("kaiming_normal {mode:?} {nonlinearity:?}"), &v, 0.0, var);
    }
}

#[test]
fn uniform_normal_constant_zeros_and_default_statistics() {
    let (rows, cols) = (400, 300);
    let v = fill(Init::Uniform { a: -0.3, b: 0.7 }, rows, cols, 3);
    assert!(v.iter().all(|&x| (-0.3..0.7).contains(&x)));
    assert_stats("uniform", &v, 0.2, 1.0 / 12.0);
    let v = fill(Init::Normal { mean: 0.5, std: 0.02 }, rows, cols, 4);
    assert_stats("normal", &v, 0.5, 0.0004);
    let v = fill(Init::Normal { mean: -1.0, std: 0.0 }, 3, 4, 4);
    assert!(v.iter().all(|&x| x == -1.0));
    assert!(fill(Init::Zeros, 7, 9, 5).iter().all(|&x| x == 0.0));
    assert!(fill(Init::Constant { value: 0.25 }, 7, 9, 5).iter().all(|&x| x == 0.25));
    // PyTorch's default takes the layer's bound (0.123 in `fill`).
    let v = fill(Init::PytorchDefault, rows, cols, 6);
    assert!(v.iter().all(|&x| x.abs() <= 0.123));
    assert_stats("pytorch_default", &v, 0.0, 0.123f64 * 0.123 / 3.0);
}

#[test]
fn orthogonal_matrices_square_tall_and_wide() {
    for (rows, cols, gain) in [(64usize, 64usize, 1.0f32), (90, 40, 1.0), (30, 70, 2.0), (1, 5, 1.0), (5, 1, 1.0)] {
        let v = fill(Init::Orthogonal { gain }, rows, cols, 7);
        let by_cols = rows >= cols;
        let e = ortho_err(&v, rows, cols, by_cols, gain as f64);
        assert!(e < 1e-5 * (gain * gain) as f64, "{rows}x{cols}: orthogonality error {e}");
        assert!(v.iter().all(|x| x.is_finite()));
    }
    // A square orthogonal matrix is not a signed identity or anything degenerate: entries spread.
    let v = fill(Init::Orthogonal { gain: 1.0 }, 64, 64, 8);
    let (m, s2) = mean_var(&v);
    assert!(m.abs() < 0.01 && (s2 - 1.0 / 64.0).abs() < 1e-3, "mean {m}, var {s2}");
}

// ------------------------------------------------------------------------------------------
// Per gate block in recurrent layers; whole matrix in dense layers
// ------------------------------------------------------------------------------------------

#[test]
fn recurrent_weights_are_initialized_per_gate_block() {
    let (inp, h) = (120, 40);
    let cfg = json!({"input_size": inp, "seed": 5, "layers": [
        {"type": "lstm", "hidden_size": h, "bidirectional": true, "num_layers": 2,
         "init": {"weight_ih": "xavier_uniform", "weight_hh": "orthogonal"}},
        {"type": "gru", "hidden_size": 30, "init": {"weight_ih": {"orthogonal": {"gain": 1.5}}, "weight_hh": {"kaiming_normal": {"mode": "fan_out"}}}}
    ]});
    let m = model(&cfg);
    for sfx in ["_l0", "_l0_reverse"] {
        // xavier_uniform per [H, in] block: a = √(6/(in + H)), not √(6/(in + 4H)).
        let w = param(&m, &format!("lstm.weight_ih{sfx}"));
        let a = (6.0 / (inp + h) as f64).sqrt();
        assert!(w.iter().all(|&x| (x as f64).abs() <= a * (1.0 + 1e-6)));
        assert!(w.iter().any(|&x| (x as f64).abs() > 0.98 * a), "bound of the whole [4H, in] matrix would be smaller");
        assert_stats("lstm weight_ih", &w, 0.0, a * a / 3.0);
        // Every [H, H] block of weight_hh is orthogonal (the whole [4H, H] is not square).
        let w = param(&m, &format!("lstm.weight_hh{sfx}"));
        for (g, block) in w.chunks_exact(h * h).enumerate() {
            let e = ortho_err(block, h, h, true, 1.0);
            assert!(e < 1e-5, "gate {g} of weight_hh{sfx}: {e}");
        }
    }
    // Layer 1 reads 2H = 80 features: [H, 2H] blocks of weight_ih, xavier with fans (80, 40).
    let w = param(&m, "lstm.weight_ih_l1");
    assert_eq!(w.len(), 4 * h * 2 * h);
    let a = (6.0 / (2 * h + h) as f64).sqrt();
    assert!(w.iter().all(|&x| (x as f64).abs() <= a * (1.0 + 1e-6)));
    assert!(w.iter().any(|&x| (x as f64).abs() > 0.98 * a));
    // GRU: weight_ih blocks [30, 80] (wide) have orthonormal rows times 1.5.
    let w = param(&m, "gru.weight_ih_l0");
    for block in w.chunks_exact(30 * 80) {
        assert!(ortho_err(block, 30, 80, false, 1.5) < 1e-5 * 2.25);
    }
    // weight_hh: kaiming_normal with fan_out = H per block (30), leaky_relu(0) gain √2.
    let w = param(&m, "gru.weight_hh_l0");
    let (mean, var) = mean_var(&w);
    assert!(mean.abs() < 0.03 && (var - 2.0 / 30.0).abs() < 0.15 * 2.0 / 30.0, "mean {mean}, var {var}");
}

#[test]
fn recurrent_bias_kinds_and_untouched_peepholes_and_layer_norm() {
    let cfg = json!({"input_size": 3, "seed": 9, "layers": [
        {"type": "lstm", "hidden_size": 4, "peephole": true, "layer_norm": true, "init": {"bias": "zeros", "weight_ih": "zeros"}}
    ]});
    let m = model(&cfg);
    for name in ["lstm.bias_ih_l0", "lstm.bias_hh_l0", "lstm.weight_ih_l0"] {
        assert!(param(&m, name).iter().all(|&x| x == 0.0), "{name}");
    }
    let w = param(&m, "lstm.weight_hh_l0");
    assert!(w.iter().all(|&x| x.abs() <= 0.5) && w.iter().any(|&x| x != 0.0));
    for p in ["i", "f", "o"] {
        let v = param(&m, &format!("lstm.peephole_{p}_l0"));
        assert!(v.iter().all(|&x| x.abs() <= 0.5) && v.iter().any(|&x| x != 0.0), "peephole {p}");
    }
    assert!(param(&m, "lstm.layer_norm_ih_weight_l0").iter().all(|&x| x == 1.0));
    assert!(param(&m, "lstm.layer_norm_hh_bias_l0").iter().all(|&x| x == 0.0));
    // A constant bias.
    let m = model(&json!({"input_size": 2, "layers": [{"type": "rnn", "hidden_size": 3, "init": {"bias": {"constant": {"value": 0.1}}}}]}));
    assert!(param(&m, "rnn.bias_ih_l0").iter().chain(&param(&m, "rnn.bias_hh_l0")).all(|&x| x == 0.1));
}

#[test]
fn forget_bias_sets_the_forget_block_of_bias_ih_and_zeroes_that_of_bias_hh() {
    let h = 5;
    let base = json!({"input_size": 3, "seed": 11, "layers": [
        {"type": "lstm", "hidden_size": h, "num_layers": 2, "bidirectional": true}
    ]});
    let mut with = base.clone();
    with["layers"][0]["init"] = json!({"forget_bias": 1.0});
    let (plain, m) = (model(&base), model(&with));
    for sfx in ["_l0", "_l0_reverse", "_l1", "_l1_reverse"] {
        let (bi, bh) = (param(&m, &format!("lstm.bias_ih{sfx}")), param(&m, &format!("lstm.bias_hh{sfx}")));
        let (pi, ph) = (param(&plain, &format!("lstm.bias_ih{sfx}")), param(&plain, &format!("lstm.bias_hh{sfx}")));
        for gate in 0..4 {
            let r = gate * h..(gate + 1) * h;
            if gate == 1 {
                assert!(bi[r.clone()].iter().all(|&x| x == 1.0), "bias_ih{sfx} forget block");
                assert!(bh[r].iter().all(|&x| x == 0.0), "bias_hh{sfx} forget block");
            } else {
                // The other gates are drawn exactly as without forget_bias.
                assert_eq!(bi[r.clone()], pi[r.clone()], "bias_ih{sfx} gate {gate}");
                assert_eq!(bh[r.clone()], ph[r], "bias_hh{sfx} gate {gate}");
            }
        }
        assert_eq!(param(&m, &format!("lstm.weight_hh{sfx}")), param(&plain, &format!("lstm.weight_hh{sfx}")));
    }
    // With zero biases the sum b_ih + b_hh of the forget gate is exactly the value.
    let m = model(&json!({"input_size": 2, "layers": [{"type": "lstm", "hidden_size": 3, "init": {"bias": "zeros", "forget_bias": 2.5}}]}));
    assert_eq!(param(&m, "lstm.bias_ih_l0"), vec![0.0, 0.0, 0.0, 2.5, 2.5, 2.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    assert!(param(&m, "lstm.bias_hh_l0").iter().all(|&x| x == 0.0));
}

#[test]
fn dense_init_uses_the_whole_matrix() {
    let (inp, out) = (200, 300);
    let cfg = json!({"input_size": inp, "seed": 1, "layers": [
        {"type": "dense", "units": out, "name": "a", "init": {"weight": "kaiming_uniform", "bias": "zeros"}},
        {"type": "dense", "units": 100, "name": "b", "init": {"weight": "orthogonal"}},
        {"type": "dense", "units": 50, "name": "c", "init": {"weight": {"xavier_normal": {"gain": 2.0}}, "bias": {"normal": {"mean": 1.0, "std": 0.5}}}}
    ]});
    let m = model(&cfg);
    let w = param(&m, "a.weight");
    let bound = (6.0 / inp as f64).sqrt();
    assert!(w.iter().all(|&x| (x as f64).abs() <= bound * (1.0 + 1e-6)));
    assert_stats("dense kaiming_uniform", &w, 0.0, 2.0 / inp as f64);
    assert!(param(&m, "a.bias").iter().all(|&x| x == 0.0));
    // b.weight: [100, 300], wide → orthonormal rows; its bias keeps PyTorch's U(±1/√300).
    assert!(ortho_err(&param(&m, "b.weight"), 100, out, false, 1.0) < 1e-5);
    assert!(param(&m, "b.bias").iter().all(|&x| (x as f64).abs() <= 1.0 / (out as f64).sqrt()));
    let w = param(&m, "c.weight");
    assert_stats("dense xavier_normal", &w, 0.0, 4.0 * 2.0 / 150.0);
}

#[test]
fn rust_api_with_init_matches_the_json_option() {
    use recur_core::activation::Activation;
    use recur_core::layers::Dense;
    let init = DenseInit { weight: Init::Orthogonal { gain: 1.0 }, bias: Init::Zeros };
    let d = Dense::with_init("fc", 6, 4, true, Activation::Linear, &init, &mut Rng::new(3)).unwrap();
    assert!(ortho_err(&d.weight.value, 4, 6, false, 1.0) < 1e-5);
    // Default `with_init` is `new`.
    let a = Dense::with_init("fc", 6, 4, true, Activation::Linear, &DenseInit::default(), &mut Rng::new(3)).unwrap();
    let b = Dense::new("fc", 6, 4, true, Activation::Linear, &mut Rng::new(3)).unwrap();
    assert_eq!(a.weight.value, b.weight.value);
    assert_eq!(a.bias.unwrap().value, b.bias.unwrap().value);
    let bad = DenseInit { weight: Init::Normal { mean: 0.0, std: f32::NAN }, bias: Init::Zeros };
    assert_eq!(Dense::with_init("fc", 6, 4, true, Activation::Linear, &bad, &mut Rng::new(3)).unwrap_err().code(), "ERR_RANGE");
    let bad = RecurrentInit { weight_ih: Init::XavierUniform { gain: f32::INFINITY }, ..Default::default() };
    assert_eq!(bad.validate(recur_core::recurrent::CellKind::Gru { reset_after: true }, true).unwrap_err().code(), "ERR_RANGE");
}

// ------------------------------------------------------------------------------------------
// JSON form and errors
// ------------------------------------------------------------------------------------------

#[test]
fn json_round_trips_and_writes_defaults_as_names() {
    let cfg = json!({"input_size": 3, "seed": 2, "layers": [
        {"type": "lstm", "hidden_size": 4, "init": {
            "weight_ih": {"xavier_uniform": {"gain": 1.0}},
            "weight_hh": {"orthogonal": {"gain": 2.0}},
            "bias": {"normal": {"std": 0.5}},
            "forget_bias": 1.0}},
        {"type": "dense", "units": 2, "init": {"weight": {"kaiming_normal": {"mode": "fan_out", "nonlinearity": "relu"}}, "bias": {"constant": {"value": 0.0}}}}
    ]});
    let m = model(&cfg);
    let written: Value = serde_json::from_str(&m.config().to_json()).unwrap();
    assert_eq!(
        written["layers"][0]["init"],
        json!({"weight_ih": "xavier_uniform", "weight_hh": {"orthogonal": {"gain": 2.0}}, "bias": {"normal": {"mean": 0.0, "std": 0.5}}, "forget_bias": 1.0})
    );
    assert_eq!(
        written["layers"][1]["init"],
        json!({"weight": {"kaiming_normal": {"a": 0.0, "mode": "fan_out", "nonlinearity": "relu"}}, "bias": {"constant": {"value": 0.0}}})
    );
    // Parsing what was written gives the same config; a saved model reloads with it.
    let again = model(&written);
    assert_eq!(again.config(), m.config());
    assert_eq!(bits(&again), bits(&m));
    let loaded = load_model(&m.save(false).unwrap()).unwrap();
    assert_eq!(loaded.config(), m.config());
    assert_eq!(bits(&loaded), bits(&m));
    // Each name parses to torch.nn.init's defaults.
    for (name, want) in [
        ("xavier_normal", Init::XavierNormal { gain: 1.0 }),
        ("kaiming_uniform", Init::KaimingUniform { a: 0.0, mode: FanMode::FanIn, nonlinearity: Nonlinearity::LeakyRelu }),
        ("uniform", Init::Uniform { a: 0.0, b: 1.0 }),
        ("normal", Init::Normal { mean: 0.0, std: 1.0 }),
        ("zeros", Init::Zeros),
        ("pytorch_default", Init::PytorchDefault),
    ] {
        assert_eq!(recur_core::json::from_str::<Init>(&json!(name).to_string()).unwrap(), want);
        let mut w = recur_core::json::Writer::new();
        want.write_json(&mut w);
        assert_eq!(w.finish(), json!(name).to_string());
    }
}

#[test]
fn bad_init_options_are_typed_errors() {
    let rec = |t: &str, init: Value| json!({"input_size": 3, "layers": [{"type": t, "hidden_size": 4, "init": init}]});
    let dense = |init: Value| json!({"input_size": 3, "layers": [{"type": "dense", "units": 2, "init": init}]});
    let cases = [
        ("unknown kind", rec("lstm", json!({"weight_hh": "glorot"})), "ERR_UNSUPPORTED"),
        ("unknown kind in object", rec("lstm", json!({"weight_hh": {"he": {}}})), "ERR_UNSUPPORTED"),
        ("unknown field", rec("gru", json!({"weight": "zeros"})), "ERR_UNSUPPORTED"),
        ("dense unknown field", dense(json!({"weight_ih": "zeros"})), "ERR_UNSUPPORTED"),
        ("unknown parameter", rec("rnn", json!({"weight_ih": {"xavier_uniform": {"gian": 2}}})), "ERR_UNSUPPORTED"),
        ("two keys", rec("rnn", json!({"weight_ih": {"zeros": {}, "uniform": {}}})), "ERR_UNSUPPORTED"),
        ("number kind", rec("rnn", json!({"weight_ih": 1.0})), "ERR_UNSUPPORTED"),
        ("string parameter", rec("rnn", json!({"weight_ih": {"normal": {"std": "1"}}})), "ERR_UNSUPPORTED"),
        ("constant without value", rec("rnn", json!({"bias": "constant"})), "ERR_UNSUPPORTED"),
        ("unknown mode", dense(json!({"weight": {"kaiming_uniform": {"mode": "fan_avg"}}})), "ERR_UNSUPPORTED"),
        ("unknown nonlinearity", dense(json!({"weight": {"kaiming_normal": {"nonlinearity": "gelu"}}})), "ERR_UNSUPPORTED"),
        ("negative std", rec("gru", json!({"weight_hh": {"normal": {"std": -0.1}}})), "ERR_RANGE"),
        ("dense negative std", dense(json!({"bias": {"normal": {"std": -1}}})), "ERR_RANGE"),
        ("uniform a > b", rec("rnn", json!({"bias": {"uniform": {"a": 1, "b": 0}}})), "ERR_RANGE"),
        ("infinite gain", rec("rnn", json!({"weight_ih": {"orthogonal": {"gain": 1e39}}})), "ERR_RANGE"),
        ("infinite constant", dense(json!({"weight": {"constant": {"value": -1e40}}})), "ERR_RANGE"),
        ("infinite forget_bias", rec("lstm", json!({"forget_bias": 1e39})), "ERR_RANGE"),
        ("matrix kind on a bias", rec("lstm", json!({"bias": "xavier_uniform"})), "ERR_UNSUPPORTED"),
        ("orthogonal dense bias", dense(json!({"bias": "orthogonal"})), "ERR_UNSUPPORTED"),
        ("forget_bias on gru", rec("gru", json!({"forget_bias": 1.0})), "ERR_UNSUPPORTED"),
        ("forget_bias on rnn", rec("rnn", json!({"forget_bias": 1.0})), "ERR_UNSUPPORTED"),
    ];
    for (what, cfg, code) in cases {
        assert_eq!(err_code(&cfg), code, "{what}");
    }
    let no_bias = json!({"input_size": 3, "layers": [{"type": "lstm", "hidden_size": 4, "bias": false, "init": {"forget_bias": 1.0}}]});
    assert_eq!(err_code(&no_bias), "ERR_UNSUPPORTED");
    // Messages name the problem.
    let msg = Model::from_json(&rec("lstm", json!({"weight_hh": "glorot"})).to_string()).map(|_| ()).unwrap_err().to_string();
    assert!(msg.contains("unknown init kind 'glorot'") && msg.contains("orthogonal"), "{msg}");
    let msg = Model::from_json(&rec("gru", json!({"forget_bias": 1.0})).to_string()).map(|_| ()).unwrap_err().to_string();
    assert!(msg.contains("forget_bias"), "{msg}");
}
