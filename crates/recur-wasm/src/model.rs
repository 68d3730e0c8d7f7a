//! `Model`: a handle over `recur_core::model::Model`. Sequences are time-major flat arrays;
//! the SDK converts from what users give it.

use crate::errors::{js, JsResult};
use crate::layout::time_major;
use recur_core::json::Writer;
use recur_core::loss::{LossKind, LossTarget};
use recur_core::model::{load_model, FinalStateGrads, ForwardOptions, InitialState, Input, Model, OutputShape, TrainOptions};
use recur_core::optim::OptimizerConfig;
use recur_core::Error;
use wasm_bindgen::prelude::*;

/// A model living in wasm memory.
#[wasm_bindgen(js_name = Model)]
pub struct WasmModel {
    inner: Model,
    shape: Option<OutputShape>,
    d_initial: Vec<(Vec<f32>, Vec<f32>)>,
}

fn input<'a>(x: &'a [f32], tokens: &'a [u32]) -> Input<'a> {
    if tokens.is_empty() {
        Input::Features(x)
    } else {
        Input::Tokens(tokens)
    }
}

fn lengths(l: &[u32]) -> Option<Vec<usize>> {
    (!l.is_empty()).then(|| l.iter().map(|&v| v as usize).collect())
}

fn target<'a>(values: &'a [f32], classes: &'a [u32]) -> LossTarget<'a> {
    if classes.is_empty() {
        LossTarget::Values(values)
    } else {
        LossTarget::Classes(classes)
    }
}

/// A copy of `values` (when they could be read) to return to JavaScript, or a range error naming
/// `what` when the runtime cannot allocate it: in wasm a failed allocation aborts, and the model
/// would stay borrowed.
#[inline(never)]
fn copy_out(what: &str, values: recur_core::Result<&[f32]>) -> JsResult<Vec<f32>> {
    js(values.and_then(|v| {
        let mut copy = recur_core::param::reserved(what, v.len())?;
        copy.extend_from_slice(v);
        Ok(copy)
    }))
}

/// `[{...}, ...]`: one object per item, written by `member` (JSON outputs list their members
/// in key order, as the earlier writer's sorted maps did; their `f32`s are written as `f64`s).
fn json_list<T>(items: &[T], member: impl Fn(&mut Writer, &T)) -> String {
    let mut w = Writer::new();
    w.open_array();
    for item in items {
        w.open_object();
        member(&mut w, item);
        w.close_object();
    }
    w.close_array();
    w.finish()
}

fn shape_json(w: &mut Writer, shape: &[usize]) {
    w.key("shape").open_array();
    shape.iter().for_each(|&d| {
        w.u64(d as u64);
    });
    w.close_array();
}

fn floats_json(w: &mut Writer, key: &str, values: &[f32]) {
    w.key(key).open_array();
    values.iter().for_each(|&v| {
        w.f32_as_f64(v);
    });
    w.close_array();
}

impl WasmModel {
    fn wrap(inner: Model) -> WasmModel {
        WasmModel { inner, shape: None, d_initial: Vec::new() }
    }

    /// Sizes `[L·D·B·H]` of the state of every recurrent layer for batch `batch`; with
    /// `cell`, `None` for the layers without a cell state (RNN, GRU).
    fn state_sizes(&self, batch: usize, cell: bool) -> Vec<Option<usize>> {
        self.inner
            .config()
            .layers
            .iter()
            .filter_map(|l| match l {
                recur_core::model::LayerConfig::Rnn(c) | recur_core::model::LayerConfig::Gru(c) => Some(
                    (!cell).then(|| c.num_layers * if c.bidirectional { 2 } else { 1 } * batch * c.hidden_size),
                ),
                recur_core::model::LayerConfig::Lstm(c) => Some(Some(c.num_layers * if c.bidirectional { 2 } else { 1 } * batch * c.hidden_size)),
                _ => None,
            })
            .collect()
    }

    /// Splits a concatenation of per-layer states (empty = none) into per-layer slices; cell
    /// states (`cell`) are concatenated over the LSTM layers only.
    fn split<'a>(&self, what: &str, flat: &'a [f32], batch: usize, cell: bool) -> recur_core::Result<Vec<Option<&'a [f32]>>> {
        let sizes = self.state_sizes(batch, cell);
        if flat.is_empty() {
            return Ok(vec![None; sizes.len()]);
        }
        let total: usize = sizes.iter().flatten().sum();
        if flat.len() != total {
            return Err(Error::shape(what, [total], [flat.len()]));
        }
        let mut out = Vec::new();
        let mut at = 0;
        for s in sizes {
            out.push(s.map(|s| {
                at += s;
                &flat[at - s..at]
            }));
        }
        Ok(out)
    }
}

#[wasm_bindgen(js_class = Model)]
impl WasmModel {
    /// Builds a model from its JSON configuration.
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: &str) -> JsResult<WasmModel> {
        Ok(WasmModel::wrap(js(Model::from_json(config_json))?))
    }

    /// Rebuilds a model saved with [`WasmModel::save`].
    pub fn load(bytes: &[u8]) -> JsResult<WasmModel> {
        Ok(WasmModel::wrap(js(load_model(bytes))?))
    }

    /// The configuration as JSON.
    #[wasm_bindgen(js_name = configJson)]
    pub fn config_json(&self) -> String {
        self.inner.config().to_json()
    }

    /// Names and shapes of every parameter, as JSON `[{name, shape}]`.
    #[wasm_bindgen(js_name = paramsJson)]
    pub fn params_json(&self) -> String {
        json_list(&self.inner.params(), |w, p| {
            w.key("name").string(&p.name);
            shape_json(w, &p.shape);
        })
    }

    /// The values of parameter `name`.
    #[wasm_bindgen(js_name = getParam)]
    pub fn get_param(&self, name: &str) -> JsResult<Vec<f32>> {
        copy_out(name, self.inner.param(name).map(|p| &p.value[..]))
    }

    /// The accumulated gradient of parameter `name`.
    #[wasm_bindgen(js_name = getGrad)]
    pub fn get_grad(&self, name: &str) -> JsResult<Vec<f32>> {
        copy_out(name, self.inner.param(name).map(|p| &p.grad[..]))
    }

    /// Replaces the values of parameter `name`.
    #[wasm_bindgen(js_name = setParam)]
    pub fn set_param(&mut self, name: &str, data: &[f32]) -> JsResult<()> {
        js(self.inner.set_param(name, data))
    }

    /// Buffers (batch-norm running statistics) as JSON `[{name, shape, data}]`.
    #[wasm_bindgen(js_name = buffersJson)]
    pub fn buffers_json(&self) -> String {
        json_list(&self.inner.buffers(), |w, b| {
            floats_json(w, "data", &b.data);
            w.key("name").string(&b.name);
            shape_json(w, &b.shape);
        })
    }

    /// Sets every gradient to zero.
    #[wasm_bindgen(js_name = zeroGrad)]
    pub fn zero_grad(&mut self) {
        self.inner.zero_grad();
    }

    /// Forward pass over `x` (`[T, B, F]` time-major) or `tokens` (`[T, B]`; pass an empty `x`).
    /// `lengths` empty = full length; `h0`/`c0` are the recurrent layers' initial states
    /// concatenated in layer order (empty = zeros; `c0` over the LSTM layers only). Returns the output; its shape is
    /// [`WasmModel::output_shape`]. With `batch_major` true, `x` is batch-major (`[B, T, F]`, as
    /// callers give it; reordered here into a time-major copy in wasm memory, whose allocator
    /// reuses the previous call's block); the output is time-major either way.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &mut self,
        x: &[f32],
        tokens: &[u32],
        steps: usize,
        batch: usize,
        lengths_: &[u32],
        h0: &[f32],
        c0: &[f32],
        training: bool,
        stateful: bool,
        batch_major: Option<bool>,
    ) -> JsResult<Vec<f32>> {
        let lens = lengths(lengths_);
        let hs = js(self.split("h0", h0, batch, false))?;
        let cs = js(self.split("c0", c0, batch, true))?;
        let initial: Vec<InitialState> = hs.iter().zip(&cs).map(|(h, c)| InitialState { h: *h, c: *c }).collect();
        let opts = ForwardOptions { lengths: lens.as_deref(), initial: &initial, training, stateful };
        let tm = if batch_major.unwrap_or(false) { js(time_major(x, batch, steps))? } else { None };
        let (out, shape) = js(self.inner.forward_copy(input(tm.as_deref().unwrap_or(x), tokens), steps, batch, opts))?;
        self.shape = Some(shape);
        Ok(out)
    }

    /// Shape of the last output: `[T, B, width]`, or `[0, B, width]` for one row per sequence.
    #[wasm_bindgen(js_name = outputShape)]
    pub fn output_shape(&self) -> Vec<u32> {
        match self.shape {
            Some(s) => vec![s.steps.unwrap_or(0) as u32, s.batch as u32, s.width as u32],
            None => Vec::new(),
        }
    }

    /// Final hidden states of recurrent layer `index` after the last forward, `[L·D, B, H]`.
    #[wasm_bindgen(js_name = finalH)]
    pub fn final_h(&self, index: usize) -> JsResult<Vec<f32>> {
        copy_out("final hidden state", self.inner.final_states(index).map(|s| s.0))
    }

    /// Final cell states of recurrent layer `index` (empty for RNN and GRU).
    #[wasm_bindgen(js_name = finalC)]
    pub fn final_c(&self, index: usize) -> JsResult<Vec<f32>> {
        copy_out("final cell state", self.inner.final_states(index).map(|s| s.1))
    }

    /// Backward pass for the last training forward: accumulates parameter gradients and
    /// returns `∂L/∂x` (empty for token inputs). `d_hn`/`d_cn`: concatenated final-state
    /// gradients (empty = zero). `tbptt` 0 = full BPTT. The initial-state gradients are then
    /// in [`WasmModel::grad_h0`] / [`WasmModel::grad_c0`].
    pub fn backward(&mut self, d_output: &[f32], d_hn: &[f32], d_cn: &[f32], tbptt: usize) -> JsResult<Vec<f32>> {
        let batch = self.shape.map(|s| s.batch).ok_or_else(|| crate::errors::to_js(Error::state("backward called before a forward pass")))?;
        let hs = js(self.split("d_h_n", d_hn, batch, false))?;
        let cs = js(self.split("d_c_n", d_cn, batch, true))?;
        let finals: Vec<FinalStateGrads<'_>> = hs.into_iter().zip(cs).collect();
        let g = js(self.inner.backward(d_output, &finals, (tbptt > 0).then_some(tbptt)))?;
        self.d_initial = g.initial;
        Ok(g.x)
    }

    /// `∂L/∂h0` of every recurrent layer, concatenated, after the last backward.
    #[wasm_bindgen(js_name = gradH0)]
    pub fn grad_h0(&self) -> Vec<f32> {
        self.d_initial.iter().flat_map(|(h, _)| h.iter().copied()).collect()
    }

    /// `∂L/∂c0` of every recurrent layer, concatenated, after the last backward.
    #[wasm_bindgen(js_name = gradC0)]
    pub fn grad_c0(&self) -> Vec<f32> {
        self.d_initial.iter().flat_map(|(_, c)| c.iter().copied()).collect()
    }

    /// Installs the optimizer, e.g. `{"type":"adam","lr":0.001}`.
    #[wasm_bindgen(js_name = setOptimizer)]
    pub fn set_optimizer(&mut self, json: &str) -> JsResult<()> {
        let config = js(OptimizerConfig::from_json(json))?;
        js(self.inner.set_optimizer(config))
    }

    /// Changes the optimizer's learning rate.
    #[wasm_bindgen(js_name = setLearningRate)]
    pub fn set_learning_rate(&mut self, lr: f64) -> JsResult<()> {
        let opt = js(self.inner.optimizer_mut().ok_or_else(|| Error::state("no optimizer set")))?;
        js(opt.set_lr(lr))
    }

    /// One optimizer step with the current gradients.
    #[wasm_bindgen(js_name = optimizerStep)]
    pub fn optimizer_step(&mut self) -> JsResult<()> {
        js(self.inner.optimizer_step())
    }

    /// Clips the current gradients by global L2 norm; returns the norm before clipping.
    #[wasm_bindgen(js_name = clipGradNorm)]
    pub fn clip_grad_norm(&mut self, max_norm: f32) -> JsResult<f32> {
        js(recur_core::clip::clip_grad_norm(&mut self.inner.params_mut(), max_norm))
    }

    /// Clamps the current gradients to `[-v, v]`.
    #[wasm_bindgen(js_name = clipGradValue)]
    pub fn clip_grad_value(&mut self, v: f32) -> JsResult<()> {
        js(recur_core::clip::clip_grad_value(&mut self.inner.params_mut(), v))
    }

    /// One training step on a batch. `target_values` (`[T,B,out]`/`[B,out]`) or
    /// `target_classes` (`[T,B]`/`[B]`); `options_json` is the core's `TrainOptions`
    /// (`{"loss":"mse","clip_norm":1.0,"non_finite":"skip","tbptt":20,"stateful":false}`).
    /// Returns the report as three `f32`s, `[loss, grad_norm, skipped]` (`skipped` 1 or 0; a
    /// non-finite loss or norm as it is), not as JSON text: the shortest digits of a float cost
    /// about 5 µs each in wasm, and decoding the text in JS a few more: about 2 % of a small
    /// LSTM's step. Every parameter's gradient norm after the step is
    /// [`WasmModel::param_grad_norms`] until the next change of the gradients. With
    /// `batch_major` true, the features `x` are batch-major as in [`WasmModel::forward`] (tokens
    /// and targets stay time-major).
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = trainStep)]
    pub fn train_step(
        &mut self,
        x: &[f32],
        tokens: &[u32],
        steps: usize,
        batch: usize,
        lengths_: &[u32],
        target_values: &[f32],
        target_classes: &[u32],
        options_json: &str,
        batch_major: Option<bool>,
    ) -> JsResult<Vec<f32>> {
        let opts = js(TrainOptions::from_json(options_json))?;
        let lens = lengths(lengths_);
        let tm = if batch_major.unwrap_or(false) { js(time_major(x, batch, steps))? } else { None };
        let report = js(self.inner.train_step(input(tm.as_deref().unwrap_or(x), tokens), steps, batch, lens.as_deref(), target(target_values, target_classes), &opts))?;
        self.shape = None;
        Ok(vec![report.loss, report.grad_norm, if report.skipped { 1.0 } else { 0.0 }])
    }

    /// The loss of a batch in inference mode.
    #[allow(clippy::too_many_arguments)]
    pub fn evaluate(
        &mut self,
        x: &[f32],
        tokens: &[u32],
        steps: usize,
        batch: usize,
        lengths_: &[u32],
        target_values: &[f32],
        target_classes: &[u32],
        loss: &str,
    ) -> JsResult<f32> {
        let kind = js(LossKind::from_name(loss).ok_or_else(|| Error::unsupported(format!("loss '{loss}' (mse, cross_entropy, bce)"))))?;
        let lens = lengths(lengths_);
        js(self.inner.evaluate(input(x, tokens), steps, batch, lens.as_deref(), target(target_values, target_classes), kind))
    }

    /// Forgets the states carried by stateful calls.
    #[wasm_bindgen(js_name = resetStates)]
    pub fn reset_states(&mut self) {
        self.inner.reset_states();
    }

    /// `‖∂L/∂h_t‖` per step of every recurrent layer and direction after the last backward,
    /// as JSON `[{name, norms}]`.
    #[wasm_bindgen(js_name = stepGradNormsJson)]
    pub fn step_grad_norms_json(&self) -> String {
        json_list(&self.inner.step_grad_norms(), |w, (name, norms)| {
            w.key("name").string(name);
            floats_json(w, "norms", norms);
        })
    }

    /// Gradient L2 norm per parameter, in [`WasmModel::params_json`] order (after a `trainStep`,
    /// the norms of that step's gradients; not finite where a gradient is not).
    #[wasm_bindgen(js_name = paramGradNorms)]
    pub fn param_grad_norms(&self) -> Vec<f32> {
        self.inner.param_grad_norms().into_iter().map(|(_, norm)| norm).collect()
    }

    /// The model as safetensors bytes (optionally with the optimizer's state).
    pub fn save(&self, include_optimizer: bool) -> JsResult<Vec<u8>> {
        js(self.inner.save(include_optimizer))
    }

    /// Loads weights by PyTorch name from safetensors bytes (strict).
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&mut self, bytes: &[u8]) -> JsResult<()> {
        js(self.inner.load_weights(bytes))
    }
}
