//! Replays every conformance case of kind "optimizer" and "clip" found in
//! `test/conformance/vectors`, comparing with each case's own tolerance.

mod common;

use common::{cases_of_kind, compare, tensor, tensor_f64, tolerance};
use recur_core::clip::{clip_grad_norm, clip_grad_value, clip_norm_slices};
use recur_core::optim::{Optimizer, OptimizerConfig};
use recur_core::Param;
use serde_json::Value;

fn tensors(v: &Value) -> Vec<(Vec<usize>, Vec<f32>)> {
    v.as_array().expect("list of tensors").iter().map(tensor).collect()
}

/// The optimizer of a case: `{"type": <optimizer>, ...hyperparams}`; an unknown optimizer or
/// hyperparameter name makes deserialization (and so the test) fail.
fn config_of(file: &str, case: &Value) -> OptimizerConfig {
    let mut obj = case["hyperparams"].as_object().cloned().unwrap_or_default();
    let name = case["optimizer"].as_str().unwrap_or_else(|| panic!("{file}: no optimizer name"));
    obj.insert("type".into(), Value::String(name.to_string()));
    OptimizerConfig::from_json(&Value::Object(obj).to_string())
        .unwrap_or_else(|e| panic!("{file}: optimizer {name:?} with {}: {e}", case["hyperparams"]))
}

#[test]
fn optimizer_cases() {
    let cases = cases_of_kind("optimizer");
    assert!(!cases.is_empty(), "no optimizer cases found");
    let mut failures = Vec::new();
    for (file, case) in &cases {
        let (rtol, atol) = tolerance(case);
        let config = config_of(file, case);
        let mut opt = Optimizer::new(config).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut params: Vec<Param> = tensors(&case["params"])
            .into_iter()
            .enumerate()
            .map(|(i, (shape, data))| {
                let n = data.len();
                Param { name: format!("p{i}"), shape, value: data, grad: vec![0.0; n] }
            })
            .collect();
        let grads = case["grads"].as_array().expect("grads");
        let expected = case["expected"].as_array().expect("expected");
        assert_eq!(grads.len(), expected.len(), "{file}: grads and expected differ in length");
        assert!(!grads.is_empty(), "{file}: no steps");
        for (s, (g, want)) in grads.iter().zip(expected).enumerate() {
            let g = tensors(g);
            assert_eq!(g.len(), params.len(), "{file}: step {s} has {} grads", g.len());
            for (p, (shape, data)) in params.iter_mut().zip(g) {
                assert_eq!(p.shape, shape, "{file}: step {s}: grad shape");
                p.grad = data;
            }
            let mut refs: Vec<&mut Param> = params.iter_mut().collect();
            opt.step(&mut refs).unwrap_or_else(|e| panic!("{file}: step {s}: {e}"));
            let want = want.as_array().expect("expected step");
            assert_eq!(want.len(), params.len(), "{file}: step {s}: expected count");
            for (p, w) in params.iter().zip(want) {
                if let Err(e) = compare(&format!("{file} step {s} {}", p.name), &p.value, &tensor_f64(w), rtol, atol) {
                    failures.push(e);
                }
            }
        }
        eprintln!("{file}: {} steps checked", grads.len());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn clip_cases() {
    let cases = cases_of_kind("clip");
    assert!(!cases.is_empty(), "no clip cases found");
    let mut failures = Vec::new();
    for (file, case) in &cases {
        let (rtol, atol) = tolerance(case);
        let grads = tensors(&case["grads"]);
        let expected = case["expected"].as_array().expect("expected");
        assert_eq!(expected.len(), grads.len(), "{file}: expected count");
        let mut params: Vec<Param> = grads
            .iter()
            .enumerate()
            .map(|(i, (shape, data))| Param {
                name: format!("g{i}"),
                shape: shape.clone(),
                value: vec![0.0; data.len()],
                grad: data.clone(),
            })
            .collect();
        let mut refs: Vec<&mut Param> = params.iter_mut().collect();
        let mode = case["mode"].as_str().unwrap_or_else(|| panic!("{file}: no mode"));
        match mode {
            "norm" => {
                let max_norm = case["max_norm"].as_f64().expect("max_norm") as f32;
                let norm = clip_grad_norm(&mut refs, max_norm).unwrap_or_else(|e| panic!("{file}: {e}"));
                let want_norm = case["expected_total_norm"].as_f64().expect("expected_total_norm");
                if let Err(e) = compare(&format!("{file} total_norm"), &[norm], &[want_norm], rtol, atol) {
                    failures.push(e);
                }
                // The slice-based variant must agree with the parameter-based one.
                let mut raw: Vec<Vec<f32>> = grads.iter().map(|(_, d)| d.clone()).collect();
                let mut slices: Vec<&mut [f32]> = raw.iter_mut().map(|v| v.as_mut_slice()).collect();
                let norm2 = clip_norm_slices(&mut slices, max_norm).unwrap();
                assert_eq!(norm, norm2, "{file}: slice norm");
                for (p, r) in params.iter().zip(&raw) {
                    assert_eq!(&p.grad, r, "{file}: slice clipping differs for {}", p.name);
                }
            }
            "value" => {
                let clip_value = case["clip_value"].as_f64().expect("clip_value") as f32;
                clip_grad_value(&mut refs, clip_value).unwrap_or_else(|e| panic!("{file}: {e}"));
            }
            other => panic!("{file}: unknown clip mode {other:?}"),
        }
        for (p, w) in params.iter().zip(expected) {
            if let Err(e) = compare(&format!("{file} {}", p.name), &p.grad, &tensor_f64(w), rtol, atol) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
