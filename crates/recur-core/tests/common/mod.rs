//! Helpers shared by the integration tests: reading the PyTorch conformance vectors kept in
//! `test/conformance/vectors` and comparing with their tolerances.
#![allow(dead_code)]

use serde_json::Value;
use std::path::PathBuf;

/// The repository's copy of the conformance vectors.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test/conformance/vectors")
}

/// Every case file in the vectors folder whose `kind` equals `kind`, as (file name, case).
pub fn cases_of_kind(kind: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(vectors_dir())
        .expect("conformance vectors folder")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().map(|e| e == "json").unwrap_or(false))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap();
        let case: Value = serde_json::from_str(&text).unwrap();
        if case["kind"] == kind {
            out.push((path.file_name().unwrap().to_string_lossy().into_owned(), case));
        }
    }
    out
}

/// A `{"shape": [...], "data": [...]}` tensor as (shape, f32 data).
pub fn tensor(v: &Value) -> (Vec<usize>, Vec<f32>) {
    let shape = v["shape"].as_array().expect("shape").iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let data = v["data"].as_array().expect("data").iter().map(|d| d.as_f64().unwrap() as f32).collect();
    (shape, data)
}

/// The data of a tensor, as f64 for comparisons.
pub fn tensor_f64(v: &Value) -> Vec<f64> {
    v["data"].as_array().expect("data").iter().map(|d| d.as_f64().unwrap()).collect()
}

/// The case's `(rtol, atol)`.
pub fn tolerance(case: &Value) -> (f64, f64) {
    (case["tolerance"]["rtol"].as_f64().unwrap(), case["tolerance"]["atol"].as_f64().unwrap())
}

/// Largest violation of `|got - want| <= atol + rtol |want|`, as `Err(message)`.
pub fn compare(what: &str, got: &[f32], want: &[f64], rtol: f64, atol: f64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!("{what}: length {} != expected {}", got.len(), want.len()));
    }
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        let excess = err - (atol + rtol * w.abs());
        // NaN counts as a failure.
        if (excess > 0.0 || excess.is_nan()) && worst.map(|(_, e)| excess > e).unwrap_or(true) {
            worst = Some((i, excess));
        }
    }
    match worst {
        None => Ok(()),
        Some((i, _)) => Err(format!(
            "{what}: element {i}: got {} want {} (|diff| {:e})",
            got[i],
            want[i],
            (got[i] as f64 - want[i]).abs()
        )),
    }
}

/// Runs `run` on every case of `kind` (at least `min_cases` must exist), printing `ok FILE` or
/// `FAIL FILE: why` for each, and fails listing every failed case.
pub fn replay_kind(kind: &str, min_cases: usize, run: impl Fn(&Value) -> Result<(), String>) {
    let cases = cases_of_kind(kind);
    assert!(cases.len() >= min_cases, "expected at least {min_cases} '{kind}' vectors, found {}", cases.len());
    let mut failures = Vec::new();
    for (file, case) in &cases {
        match run(case) {
            Ok(()) => println!("ok {file}"),
            Err(e) => {
                println!("FAIL {file}: {e}");
                failures.push(format!("{file}: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
