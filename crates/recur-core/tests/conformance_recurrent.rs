//! Replays every conformance case of kind "recurrent" (PyTorch reference values) through the
//! core's recurrent stack: forward outputs and final states, then every gradient.

mod common;

use common::*;
use recur_core::activation::Activation;
use recur_core::recurrent::{CellKind, RecurrentConfig, RecurrentStack};
use serde_json::Value;

fn cell_of(case: &Value) -> Result<CellKind, String> {
    let param = case["activation_param"].as_f64();
    Ok(match case["cell"].as_str().ok_or("no cell")? {
        "rnn" => CellKind::Rnn {
            activation: match case["activation"].as_str().ok_or("rnn without activation")? {
                "tanh" => Activation::Tanh,
                "relu" => Activation::Relu,
                "sigmoid" => Activation::Sigmoid,
                "leaky_relu" => Activation::LeakyRelu { slope: param.unwrap_or(0.01) as f32 },
                "elu" => Activation::Elu { alpha: param.unwrap_or(1.0) as f32 },
                other => return Err(format!("unknown activation {other}")),
            },
        },
        "lstm" => CellKind::Lstm { peephole: false },
        "lstm_peephole" => CellKind::Lstm { peephole: true },
        "gru" => CellKind::Gru { reset_after: case["gru_reset_after"].as_bool().unwrap_or(true) },
        other => return Err(format!("unknown cell {other}")),
    })
}

const KNOWN_FIELDS: &[&str] = &[
    "name", "kind", "cell", "activation", "activation_param", "num_layers", "input_size", "hidden_size",
    "seq_len", "batch", "bias", "tbptt", "tolerance", "params", "x", "h0", "c0", "expected",
    "loss_weights", "expected_grads", "bidirectional", "lengths", "gru_reset_after",
];

fn run_case(case: &Value) -> Result<(), String> {
    for key in case.as_object().unwrap().keys() {
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            return Err(format!("unknown field {key}"));
        }
    }
    let (rtol, atol) = tolerance(case);
    let us = |k: &str| case[k].as_u64().map(|v| v as usize).ok_or(format!("missing {k}"));
    let config = RecurrentConfig {
        cell: cell_of(case)?,
        input_size: us("input_size")?,
        hidden_size: us("hidden_size")?,
        num_layers: us("num_layers")?,
        bias: case["bias"].as_bool().ok_or("missing bias")?,
        bidirectional: case["bidirectional"].as_bool().unwrap_or(false),
        dropout: 0.0,
        layer_norm: false,
    };
    let (steps, batch) = (us("seq_len")?, us("batch")?);
    let mut stack = RecurrentStack::new(config, "", 0).map_err(|e| e.to_string())?;
    let given = case["params"].as_object().ok_or("no params")?;
    for p in stack.params_mut() {
        let v = given.get(&p.name).ok_or(format!("case lacks parameter {}", p.name))?;
        let (shape, data) = tensor(v);
        if shape != p.shape {
            return Err(format!("{}: shape {:?} vs {:?}", p.name, shape, p.shape));
        }
        p.value = data;
    }
    if given.len() != stack.params().len() {
        return Err(format!("case has {} params, model {}", given.len(), stack.params().len()));
    }
    let x = tensor(&case["x"]).1;
    let h0 = tensor(&case["h0"]).1;
    let c0 = if case["c0"].is_null() { None } else { Some(tensor(&case["c0"]).1) };
    let lengths: Option<Vec<usize>> =
        case["lengths"].as_array().map(|a| a.iter().map(|v| v.as_u64().unwrap() as usize).collect());
    let out = stack
        .forward(&x, steps, batch, lengths.as_deref(), Some(&h0), c0.as_deref(), true)
        .map_err(|e| e.to_string())?
        .to_vec();
    compare("output", &out, &tensor_f64(&case["expected"]["output"]), rtol, atol)?;
    compare("h_n", stack.h_n(), &tensor_f64(&case["expected"]["h_n"]), rtol, atol)?;
    if !case["expected"]["c_n"].is_null() {
        compare("c_n", stack.c_n(), &tensor_f64(&case["expected"]["c_n"]), rtol, atol)?;
    }
    let lw = &case["loss_weights"];
    let d_out = tensor(&lw["output"]).1;
    let d_hn = tensor(&lw["h_n"]).1;
    let d_cn = if lw["c_n"].is_null() { None } else { Some(tensor(&lw["c_n"]).1) };
    let tbptt = case["tbptt"].as_u64().map(|v| v as usize);
    let grads = stack.backward(&d_out, Some(&d_hn), d_cn.as_deref(), tbptt, true).map_err(|e| e.to_string())?;
    let eg = &case["expected_grads"];
    compare("grad x", grads.x, &tensor_f64(&eg["x"]), rtol, atol)?;
    compare("grad h0", grads.h0, &tensor_f64(&eg["h0"]), rtol, atol)?;
    if !eg["c0"].is_null() {
        compare("grad c0", grads.c0, &tensor_f64(&eg["c0"]), rtol, atol)?;
    }
    for p in stack.params() {
        let want = eg.get(&p.name).ok_or(format!("expected_grads lacks {}", p.name))?;
        compare(&format!("grad {}", p.name), &p.grad, &tensor_f64(want), rtol, atol)?;
    }
    Ok(())
}

#[test]
fn every_recurrent_case_matches_pytorch() {
    replay_kind("recurrent", 19, run_case);
}
