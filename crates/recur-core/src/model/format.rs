//! Saving and loading models as safetensors: an 8-byte little-endian header length, a JSON
//! header of tensor names, dtypes, shapes and offsets, then raw little-endian data. Parameters
//! keep PyTorch's names, so `safetensors.torch.load_file` + `load_state_dict` reads a saved
//! model's weights directly; the model config, the format version and the optimizer config go
//! in `__metadata__`, and optimizer state in tensors named `optim.*`.

use super::{Model, ModelConfig};
use crate::error::{Error, Result};
use crate::optim::OptimizerConfig;
use crate::json::{self, map_entries, Value, Writer};

/// Version written into `__metadata__.format_version`; loading rejects other versions.
pub const SAVE_FORMAT_VERSION: &str = "1";

/// Largest header accepted (the header is JSON describing tensors, never large).
const MAX_HEADER: usize = 16 << 20;

/// A tensor read from a file: shape and values as f32.
struct Entry {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// Header entries: a name and its JSON text.
type Header = Vec<(String, String)>;

fn push_tensor(header: &mut Header, data: &mut Vec<u8>, name: &str, shape: &[usize], values: &[f32], as_i64: bool) {
    let begin = data.len();
    if as_i64 {
        values.iter().for_each(|v| data.extend_from_slice(&(*v as i64).to_le_bytes()));
    } else {
        values.iter().for_each(|v| data.extend_from_slice(&v.to_le_bytes()));
    }
    let dtype = if as_i64 { "I64" } else { "F32" };
    let mut w = Writer::new();
    w.open_object().key("data_offsets").open_array().u64(begin as u64).u64(data.len() as u64).close_array();
    w.key("dtype").string(dtype).key("shape").open_array();
    shape.iter().for_each(|&d| {
        w.u64(d as u64);
    });
    w.close_array().close_object();
    header.push((name.to_string(), w.finish()));
}

/// `[[a, b, c, d], ...]`.
fn rng_states_json(states: &[[u32; 4]]) -> String {
    let mut w = Writer::new();
    w.open_array();
    for s in states {
        w.open_array();
        s.iter().for_each(|&v| {
            w.u64(v as u64);
        });
        w.close_array();
    }
    w.close_array();
    w.finish()
}

impl Model {
    /// The model as safetensors bytes: parameters, batch-norm buffers, and (with
    /// `include_optimizer`) the optimizer's configuration and state.
    ///
    /// What that takes in memory is probed first: in wasm a failed allocation aborts, and saving
    /// holds the tensors' bytes twice (the data, then the file) besides a copy of the optimizer's
    /// state. When it cannot be allocated, this is a range error.
    pub fn save(&self, include_optimizer: bool) -> Result<Vec<u8>> {
        let state_floats = self.optimizer.as_ref().filter(|_| include_optimizer).map_or(0, |o| o.state_floats());
        let buffers = self.buffers();
        // (buffers counted as 8-byte values: `num_batches_tracked` is written as I64)
        let floats = self.params().iter().map(|p| p.numel()).sum::<usize>() + state_floats + buffers.iter().map(|b| 2 * b.data.len()).sum::<usize>();
        crate::param::check_allocatable("saved model", 2 * floats + state_floats)?;
        let mut header = Header::new();
        // Room for all the data at once: a vector that grows by doubling would take up to twice it.
        let mut data = Vec::with_capacity(4 * floats);
        for p in self.params() {
            push_tensor(&mut header, &mut data, &p.name, &p.shape, &p.value, false);
        }
        for b in buffers {
            let as_i64 = b.name.ends_with("num_batches_tracked");
            push_tensor(&mut header, &mut data, &b.name, &b.shape, &b.data, as_i64);
        }
        // Members of both objects in key order (as the earlier writer's sorted maps had them).
        let mut meta = Writer::new();
        meta.open_object().key("config").string(&self.config.to_json());
        meta.key("format").string("recur").key("format_version").string(SAVE_FORMAT_VERSION);
        if let (true, Some(opt)) = (include_optimizer, &self.optimizer) {
            meta.key("optimizer").string(&opt.config().to_json());
            for (name, shape, values) in opt.state_tensors() {
                push_tensor(&mut header, &mut data, &name, &shape, &values, false);
            }
        }
        meta.key("rng_states").string(&rng_states_json(&self.rng_states())).close_object();
        header.push(("__metadata__".into(), meta.finish()));
        let order = crate::sort::sorted_order(header.len(), &|a, b| (&header[a].0, a) < (&header[b].0, b));
        let mut w = Writer::new();
        w.open_object();
        for (name, entry) in order.into_iter().map(|i| &header[i]) {
            w.key(name).raw(entry);
        }
        w.close_object();
        let mut text = w.finish().into_bytes();
        // Pad the header with spaces so the data starts 8-byte aligned, as safetensors does.
        while !text.len().is_multiple_of(8) {
            text.push(b' ');
        }
        let mut bytes = Vec::with_capacity(8 + text.len() + data.len());
        bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&text);
        bytes.extend_from_slice(&data);
        Ok(bytes)
    }

    /// Loads weights (and batch-norm buffers) by name from safetensors bytes, e.g. a PyTorch
    /// `state_dict` saved with `safetensors.torch.save_file`. Every parameter of the model must
    /// be present with its shape; unknown tensors are an error (PyTorch's strict loading);
    /// `optim.*` entries are ignored. Nothing changes unless everything checks out.
    pub fn load_weights(&mut self, bytes: &[u8]) -> Result<()> {
        let (entries, _) = parse(bytes)?;
        self.apply_weights(&entries)
    }

    fn apply_weights(&mut self, entries: &[(String, Entry)]) -> Result<()> {
        let find = |name: &str| entries.iter().find(|(n, _)| n == name).map(|(_, e)| e);
        // A PyTorch LSTM with `proj_size > 0` has `weight_hr_l{k}` and a narrower `weight_hh`:
        // named as what it is rather than as a shape error on `weight_hh`.
        if let Some((name, _)) = entries.iter().find(|(n, _)| n.rsplit('.').next().is_some_and(|last| last.starts_with("weight_hr_l"))) {
            return Err(Error::unsupported(format!("LSTM projections (PyTorch's proj_size > 0, tensor {name})")));
        }
        for p in self.params() {
            let e = find(&p.name).ok_or_else(|| Error::format(format!("missing parameter {}", p.name)))?;
            if e.shape != p.shape {
                return Err(Error::shape(&p.name, &p.shape, &e.shape));
            }
            crate::error::check_finite(&p.name, &e.data)?;
        }
        let buffers = self.buffers();
        for b in &buffers {
            let e = find(&b.name).ok_or_else(|| Error::format(format!("missing buffer {}", b.name)))?;
            if e.data.len() != b.data.len() {
                return Err(Error::shape(&b.name, &b.shape, &e.shape));
            }
        }
        for (name, _) in entries {
            let known = name.starts_with("optim.") || self.params().iter().any(|p| &p.name == name) || buffers.iter().any(|b| &b.name == name);
            if !known {
                return Err(Error::format(format!("unexpected tensor {name}")));
            }
        }
        // Buffers are checked by their layer as they are set: after an error the ones already
        // set get their values back (`buffers` holds them; no copy of the whole model, which
        // would take twice its memory).
        for b in &buffers {
            if let Err(e) = self.set_buffer(&b.name, &find(&b.name).expect("checked").data) {
                for old in &buffers {
                    let _ = self.set_buffer(&old.name, &old.data);
                }
                return Err(e);
            }
        }
        for p in self.params_mut() {
            p.value.copy_from_slice(&find(&p.name).expect("checked").data);
        }
        Ok(())
    }
}

/// Rebuilds a model saved by [`Model::save`]: configuration, weights, buffers and, when
/// present, the optimizer. Corrupt or foreign bytes give [`Error::Format`].
pub fn load_model(bytes: &[u8]) -> Result<Model> {
    let (entries, meta) = parse(bytes)?;
    let meta = meta.ok_or_else(|| Error::format("no __metadata__: not a recur model (use load_weights for bare weights)"))?;
    let field = |k: &str| meta.get(k).and_then(|v| v.as_str());
    if field("format") != Some("recur") {
        return Err(Error::format("__metadata__.format is not 'recur'"));
    }
    match field("format_version") {
        Some(SAVE_FORMAT_VERSION) => {}
        Some(other) => return Err(Error::format(format!("unsupported format_version \"{other}\" (this build reads {SAVE_FORMAT_VERSION})"))),
        None => return Err(Error::format(format!("no format_version (this build reads {SAVE_FORMAT_VERSION})"))),
    }
    let config = ModelConfig::from_json(field("config").ok_or_else(|| Error::format("no config in __metadata__"))?)
        .map_err(|e| Error::format(format!("config in __metadata__: {e}")))?;
    // A model too large for this runtime's memory is a range error, not a fault of the file:
    // its parameters and their gradients (about twice the file's tensors) are probed first.
    let floats: usize = entries.iter().map(|(_, e)| e.data.len()).sum();
    crate::param::check_allocatable("loaded model", 2 * floats)?;
    let mut model = Model::new(config).map_err(|e| Error::format(format!("config in __metadata__: {e}")))?;
    model.apply_weights(&entries)?;
    if let Some(text) = field("rng_states") {
        let states = json::read_str(text, |v| v.to_vec(|s| s.to_array(Value::to_u32)))
            .map_err(|e| Error::format(format!("rng_states in __metadata__: {e}")))?;
        model.set_rng_states(&states).map_err(|e| Error::format(format!("rng_states in __metadata__: {e}")))?;
    }
    if let Some(opt) = field("optimizer") {
        let oc: OptimizerConfig =
            json::from_str(opt).map_err(|e| Error::format(format!("optimizer in __metadata__: {e}")))?;
        model.set_optimizer(oc)?;
        let state: Vec<(String, Vec<usize>, Vec<f32>)> = entries
            .iter()
            .filter(|(n, _)| n.starts_with("optim."))
            .map(|(n, e)| (n.clone(), e.shape.clone(), e.data.clone()))
            .collect();
        let mut opt = model.optimizer.take().expect("just set");
        opt.load_state(&model.params(), &state)?;
        model.optimizer = Some(opt);
    }
    Ok(model)
}

/// The tensors of a safetensors file by name, in the header's order, and its `__metadata__` map.
type Parsed = (Vec<(String, Entry)>, Option<Value>);

/// Parses safetensors bytes into named f32 tensors (F32 as is; I64/F64 converted) and the
/// `__metadata__` map, checking every offset.
fn parse(bytes: &[u8]) -> Result<Parsed> {
    if bytes.len() < 8 {
        return Err(Error::format(format!("{} bytes is too short for a safetensors file", bytes.len())));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if n > MAX_HEADER as u64 || n as usize > bytes.len() - 8 {
        return Err(Error::format(format!("header length {n} exceeds the file ({} bytes)", bytes.len())));
    }
    let n = n as usize;
    let header: Value = std::str::from_utf8(&bytes[8..8 + n])
        .ok()
        .and_then(|t| json::parse(t).ok())
        .ok_or_else(|| Error::format("header is not valid JSON"))?;
    let header = header.as_object().ok_or_else(|| Error::format("header is not a JSON object"))?;
    let data = &bytes[8 + n..];
    // The tensors are read into floats, at most one per 4 data bytes (in wasm a failed
    // allocation aborts).
    crate::param::check_allocatable("model file tensors", data.len() / 4)?;
    let mut meta = None;
    let mut entries = Vec::new();
    let mut covered = 0usize;
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    // As a map: in key order, the last of repeated names.
    for (name, info) in map_entries(header) {
        if name == "__metadata__" {
            info.as_object().ok_or_else(|| Error::format("__metadata__ is not an object"))?;
            meta = Some(info.clone());
            continue;
        }
        let bad = |what: &str| Error::format(format!("tensor {name}: {what}"));
        let dtype = info.get("dtype").and_then(|d| d.as_str()).ok_or_else(|| bad("no dtype"))?;
        let shape: Vec<usize> = info
            .get("shape")
            .and_then(|s| s.as_array())
            .ok_or_else(|| bad("no shape"))?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize).ok_or_else(|| bad("shape is not a list of sizes")))
            .collect::<Result<_>>()?;
        let offs = info.get("data_offsets").and_then(|o| o.as_array()).ok_or_else(|| bad("no data_offsets"))?;
        let (begin, end) = match offs {
            [a, b] => (
                a.as_u64().ok_or_else(|| bad("bad offset"))? as usize,
                b.as_u64().ok_or_else(|| bad("bad offset"))? as usize,
            ),
            _ => return Err(bad("data_offsets must be [begin, end]")),
        };
        if begin > end || end > data.len() {
            return Err(bad(&format!("data_offsets [{begin}, {end}] outside the {} data bytes", data.len())));
        }
        let numel = crate::error::checked_numel(name, &shape).map_err(|_| bad("shape too large"))?;
        let width = match dtype {
            "F32" => 4,
            "I64" | "F64" => 8,
            other => return Err(bad(&format!("dtype {other} is not supported (F32, F64, I64)"))),
        };
        if end - begin != numel * width {
            return Err(bad(&format!("{} bytes for {numel} {dtype} values", end - begin)));
        }
        let raw = &data[begin..end];
        let values: Vec<f32> = match dtype {
            "F32" => raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4"))).collect(),
            "F64" => raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8")) as f32).collect(),
            _ => raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8")) as f32).collect(),
        };
        covered += end - begin;
        ranges.push((begin, end));
        entries.push((name.clone(), Entry { shape, data: values }));
    }
    if covered != data.len() {
        return Err(Error::format(format!("tensors cover {covered} of {} data bytes (overlapping or trailing data)", data.len())));
    }
    // Equal totals do not rule out two tensors on the same bytes (leaving a gap elsewhere):
    // the ranges must tile the data exactly.
    let order = crate::sort::sorted_order(ranges.len(), &|a, b| ranges[a] < ranges[b]);
    let mut at = 0;
    for (begin, end) in order.into_iter().map(|i| ranges[i]) {
        if begin != at {
            return Err(Error::format(format!("tensor data ranges overlap or leave a gap at byte {at}")));
        }
        at = end;
    }
    Ok((entries, meta))
}
