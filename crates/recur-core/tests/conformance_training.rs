//! Replays every conformance case of kind "training" through the core's `Model`: a recurrent
//! layer plus a linear head, several optimizer steps with loss, clipping and updates, compared
//! with PyTorch's losses and final parameters.

mod common;

use common::*;
use recur_core::loss::{LossKind, LossTarget};
use recur_core::model::{Input, Model, TrainOptions};
use serde_json::{json, Value};

const KNOWN_FIELDS: &[&str] = &[
    "name", "kind", "cell", "input_size", "hidden_size", "seq_len", "batch", "head", "output_size", "loss",
    "optimizer", "hyperparams", "clip_norm", "steps", "params", "x", "y", "expected_losses", "expected_params",
    "tolerance",
];

fn run_case(case: &Value) -> Result<(), String> {
    for key in case.as_object().unwrap().keys() {
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            return Err(format!("unknown field {key}"));
        }
    }
    let (rtol, atol) = tolerance(case);
    let us = |k: &str| case[k].as_u64().map(|v| v as usize).ok_or(format!("missing {k}"));
    let cell = case["cell"].as_str().ok_or("no cell")?;
    if !["rnn", "lstm", "gru"].contains(&cell) {
        return Err(format!("unknown cell {cell}"));
    }
    let sequence = match case["head"].as_str() {
        Some("sequence") => true,
        Some("last") => false,
        other => return Err(format!("unknown head {other:?}")),
    };
    let config = json!({
        "input_size": us("input_size")?,
        "layers": [
            {"type": cell, "name": "", "hidden_size": us("hidden_size")?, "return_sequences": sequence},
            {"type": "dense", "name": "head", "units": us("output_size")?},
        ],
    });
    let mut model = Model::from_json(&config.to_string()).map_err(|e| e.to_string())?;
    let given = case["params"].as_object().ok_or("no params")?;
    if given.len() != model.params().len() {
        return Err(format!("case has {} params, model {}", given.len(), model.params().len()));
    }
    for (name, t) in given {
        model.set_param(name, &tensor(t).1).map_err(|e| e.to_string())?;
    }
    let mut opt = case["hyperparams"].clone();
    opt["type"] = case["optimizer"].clone();
    model.set_optimizer(recur_core::optim::OptimizerConfig::from_json(&opt.to_string()).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let loss: LossKind = recur_core::json::from_str(&case["loss"].to_string())?;
    let mut opts = TrainOptions::new(loss);
    opts.clip_norm = case["clip_norm"].as_f64().map(|v| v as f32);
    let (steps, batch) = (us("seq_len")?, us("batch")?);
    let x = tensor(&case["x"]).1;
    let y = tensor(&case["y"]).1;
    let classes: Vec<u32> = y.iter().map(|v| *v as u32).collect();
    let target = if loss == LossKind::CrossEntropy { LossTarget::Classes(&classes) } else { LossTarget::Values(&y) };
    let want_losses: Vec<f64> = case["expected_losses"].as_array().ok_or("no losses")?.iter().map(|v| v.as_f64().unwrap()).collect();
    let mut losses = Vec::new();
    for _ in 0..us("steps")? {
        let report = model.train_step(Input::Features(&x), steps, batch, None, target, &opts).map_err(|e| e.to_string())?;
        losses.push(report.loss);
    }
    compare("losses", &losses, &want_losses, rtol, atol)?;
    for (name, t) in case["expected_params"].as_object().ok_or("no expected_params")? {
        let p = model.param(name).map_err(|e| e.to_string())?;
        compare(name, &p.value, &tensor_f64(t), rtol, atol)?;
    }
    Ok(())
}

#[test]
fn every_training_case_matches_pytorch() {
    replay_kind("training", 3, run_case);
}
