//! Files saved by earlier versions load and save again to the same bytes: the JSON of the
//! header, the configuration and the optimizer (member order, number layout) is unchanged.
//!
//! `tests/fixtures/*.safetensors` were saved (with the optimizer, after two training steps) by
//! the version that wrote JSON with serde_json: every layer type, non-default options, inits
//! with parameters, each optimizer; `examples/edge/model.safetensors` is the edge example's.

use recur_core::model::load_model;
use std::path::PathBuf;

fn fixtures() -> Vec<(PathBuf, bool)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<(PathBuf, bool)> =
        ["adam", "adamw", "rmsprop", "sgd"].iter().map(|n| (dir.join(format!("tests/fixtures/{n}.safetensors")), true)).collect();
    files.push((dir.join("../../examples/edge/model.safetensors"), false));
    files
}

fn header(bytes: &[u8]) -> &str {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    std::str::from_utf8(&bytes[8..8 + n]).unwrap()
}

#[test]
fn saved_files_round_trip_byte_for_byte() {
    for (path, with_optimizer) in fixtures() {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let model = load_model(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(model.optimizer().is_some(), with_optimizer, "{}", path.display());
        let again = model.save(with_optimizer).unwrap();
        assert_eq!(header(&again), header(&bytes), "{}", path.display());
        assert!(again == bytes, "{}: tensor data differs", path.display());
    }
}

#[test]
fn configurations_read_back_as_written() {
    for (path, _) in fixtures() {
        let bytes = std::fs::read(&path).unwrap();
        let meta: serde_json::Value = serde_json::from_str(header(&bytes)).unwrap();
        let config = meta["__metadata__"]["config"].as_str().unwrap();
        let model = recur_core::model::Model::from_json(config).unwrap();
        assert_eq!(model.config().to_json(), config, "{}", path.display());
        if let Some(opt) = meta["__metadata__"]["optimizer"].as_str() {
            assert_eq!(recur_core::optim::OptimizerConfig::from_json(opt).unwrap().to_json(), opt);
        }
    }
}
