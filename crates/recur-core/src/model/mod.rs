//! A whole model: an optional embedding, then any sequence of batch norm, recurrent stacks,
//! dropout and dense layers, with a loss and an optimizer for training.
//!
//! Sequences inside the model are time-major `[T, B, F]`, stored as `T·B` rows, so every
//! non-recurrent layer is a row-wise operation. A recurrent layer with `return_sequences:
//! false` turns the sequence into one row per batch entry (its final states).

mod config;
mod format;
mod layer;
mod train;

pub use config::{
    BatchNormConfig, DenseConfig, DropoutConfig, EmbeddingConfig, LayerConfig, ModelConfig, RecurrentLayerConfig,
};
pub use format::{load_model, SAVE_FORMAT_VERSION};
pub use train::{StepReport, TrainOptions};

/// The gradients of one recurrent layer's final states `(d_h_n, d_c_n)`, each optional (`d_c_n`
/// for an LSTM only): what [`Model::backward`] takes per recurrent layer.
pub type FinalStateGrads<'a> = (Option<&'a [f32]>, Option<&'a [f32]>);

use crate::error::{check_len, Error, Result};
use crate::optim::Optimizer;
use crate::padding;
use crate::param::Param;
use layer::Layer;

/// The input of a forward pass.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// Real features, `[T, B, input_size]` time-major.
    Features(&'a [f32]),
    /// Token ids, `[T, B]` time-major (the first layer is an embedding).
    Tokens(&'a [u32]),
}

/// Shape of a model output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputShape {
    /// `Some(T)` for a sequence `[T, B, width]`, `None` for one row per batch entry `[B, width]`.
    pub steps: Option<usize>,
    /// Batch size.
    pub batch: usize,
    /// Features per row.
    pub width: usize,
}

impl OutputShape {
    /// Number of rows (`T·B` or `B`).
    pub fn rows(&self) -> usize {
        self.steps.unwrap_or(1) * self.batch
    }
}

/// Initial states for one recurrent layer (`[L·D, B, H]` each; `None` = zeros).
#[derive(Debug, Clone, Copy, Default)]
pub struct InitialState<'a> {
    /// Hidden state.
    pub h: Option<&'a [f32]>,
    /// Cell state (LSTM).
    pub c: Option<&'a [f32]>,
}

/// Options of [`Model::forward`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ForwardOptions<'a> {
    /// Per-sequence lengths `[B]` (padding semantics of PyTorch's packed sequences).
    pub lengths: Option<&'a [usize]>,
    /// Initial states, one entry per recurrent layer in model order (missing = zeros).
    pub initial: &'a [InitialState<'a>],
    /// Training mode: dropout active, batch statistics, everything kept for backward.
    pub training: bool,
    /// Start from the states carried from the previous call (if any) and carry the final ones
    /// on: stateful training and step-by-step generation.
    pub stateful: bool,
}

/// Gradients of the last backward with respect to the model's inputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputGradients {
    /// `∂L/∂x`, `[T, B, input_size]` (empty for token inputs).
    pub x: Vec<f32>,
    /// Per recurrent layer: `(∂L/∂h0, ∂L/∂c0)`, each `[L·D, B, H]` (`c` empty for RNN/GRU).
    pub initial: Vec<(Vec<f32>, Vec<f32>)>,
}

/// A model: layers, optional optimizer, and the workspace of the last forward pass.
#[derive(Debug, Clone)]
pub struct Model {
    config: ModelConfig,
    layers: Vec<Layer>,
    optimizer: Option<Optimizer>,
    /// Output of every layer of the last forward (reused buffers).
    outs: Vec<Vec<f32>>,
    /// Shape of the last forward's output, and `(steps, batch)` of its input.
    last: Option<(OutputShape, usize, usize, bool)>,
    /// Row mask of the last forward's sequence rows (1 = real step, 0 = padding).
    mask: Vec<f32>,
    has_mask: bool,
}

impl Model {
    /// Builds and initializes a model (PyTorch's default initializations, seeded).
    pub fn new(config: ModelConfig) -> Result<Self> {
        config.validate_top()?;
        let layers = layer::build(&config)?;
        let names: Vec<&str> = layers.iter().flat_map(|l| l.params()).map(|p| p.name.as_str()).collect();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(Error::unsupported(format!("two parameters named '{n}': give the layers distinct names")));
            }
        }
        let n = layers.len();
        Ok(Model { config, layers, optimizer: None, outs: vec![Vec::new(); n], last: None, mask: Vec::new(), has_mask: false })
    }

    /// Builds a model from its JSON configuration.
    pub fn from_json(json: &str) -> Result<Self> {
        Model::new(ModelConfig::from_json(json)?)
    }

    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Every parameter, layer by layer, in PyTorch's order.
    pub fn params(&self) -> Vec<&Param> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }

    /// Mutable access to every parameter.
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers.iter_mut().flat_map(|l| l.params_mut()).collect()
    }

    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Result<&Param> {
        self.params()
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::unsupported(format!("no parameter named '{name}'")))
    }

    /// Replaces the values of parameter `name` (same number of elements, finite).
    pub fn set_param(&mut self, name: &str, value: &[f32]) -> Result<()> {
        let p = self
            .params_mut()
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::unsupported(format!("no parameter named '{name}'")))?;
        check_len(name, value, &p.shape)?;
        crate::error::check_finite(name, value)?;
        p.value.copy_from_slice(value);
        Ok(())
    }

    /// Sets every gradient to zero.
    pub fn zero_grad(&mut self) {
        self.params_mut().into_iter().for_each(|p| p.zero_grad());
    }

    /// Number of recurrent layers.
    pub fn recurrent_layers(&self) -> usize {
        self.layers.iter().filter(|l| l.as_recurrent().is_some()).count()
    }

    /// Non-trainable tensors saved with the model (batch norm running statistics).
    pub fn buffers(&self) -> Vec<crate::layers::Buffer> {
        self.layers.iter().flat_map(|l| l.buffers()).collect()
    }

    /// Sets the buffer called `name`.
    pub fn set_buffer(&mut self, name: &str, data: &[f32]) -> Result<()> {
        for l in &mut self.layers {
            if l.buffers().iter().any(|b| b.name == name) {
                return l.set_buffer(name, data);
            }
        }
        Err(Error::unsupported(format!("no buffer named '{name}'")))
    }

    /// Installs (or replaces) the optimizer used by [`Model::train_step`].
    pub fn set_optimizer(&mut self, config: crate::optim::OptimizerConfig) -> Result<()> {
        self.optimizer = Some(Optimizer::new(config)?);
        Ok(())
    }

    /// The installed optimizer.
    pub fn optimizer(&self) -> Option<&Optimizer> {
        self.optimizer.as_ref()
    }

    /// Mutable access to the installed optimizer (e.g. to change its learning rate).
    pub fn optimizer_mut(&mut self) -> Option<&mut Optimizer> {
        self.optimizer.as_mut()
    }

    /// Applies one optimizer step with the current gradients.
    pub fn optimizer_step(&mut self) -> Result<()> {
        let mut opt = self.optimizer.take().ok_or_else(|| Error::state("no optimizer set"))?;
        let result = opt.step(&mut self.params_mut());
        self.optimizer = Some(opt);
        result
    }

    /// States of the random generators (dropout masks), one per layer that has one, in
    /// layer order: saved with the model so that training resumes exactly.
    pub fn rng_states(&self) -> Vec<[u32; 4]> {
        self.layers.iter().filter_map(|l| l.rng()).map(|r| r.state()).collect()
    }

    /// Restores [`Model::rng_states`]; the count must match.
    pub fn set_rng_states(&mut self, states: &[[u32; 4]]) -> Result<()> {
        let n = self.layers.iter().filter(|l| l.rng().is_some()).count();
        if states.len() != n {
            return Err(Error::shape("rng states", [n], [states.len()]));
        }
        let mut it = states.iter();
        for l in self.layers.iter_mut().filter(|l| l.rng().is_some()) {
            l.set_rng(crate::rng::Rng::from_state(*it.next().expect("counted")));
        }
        Ok(())
    }

    /// Forgets the states carried by stateful calls.
    pub fn reset_states(&mut self) {
        self.layers.iter_mut().for_each(|l| l.reset_state());
    }

    /// Final states `(h_n, c_n)` (`[L·D, B, H]`) of recurrent layer `index` after the last forward.
    pub fn final_states(&self, index: usize) -> Result<(&[f32], &[f32])> {
        let stack = self
            .layers
            .iter()
            .filter_map(|l| l.as_recurrent())
            .nth(index)
            .ok_or_else(|| Error::range("recurrent layer index", index, format!("0..{}", self.recurrent_layers())))?;
        Ok((stack.h_n(), stack.c_n()))
    }

    /// `‖∂L/∂h_t‖` per time step of every recurrent layer and direction after the last
    /// backward, named like `lstm.l0_reverse`: the view of vanishing and exploding gradients.
    pub fn step_grad_norms(&self) -> Vec<(String, Vec<f32>)> {
        let mut out = Vec::new();
        for l in &self.layers {
            if let Some(stack) = l.as_recurrent() {
                let prefix = l.name();
                for (name, norms) in stack.step_grad_norms() {
                    let full = if prefix.is_empty() { name } else { format!("{prefix}.{name}") };
                    out.push((full, norms));
                }
            }
        }
        out
    }

    /// L2 norm of every parameter's gradient, by name.
    pub fn param_grad_norms(&self) -> Vec<(String, f32)> {
        self.params()
            .iter()
            .map(|p| (p.name.clone(), crate::kernels::squares::sum_squares(&p.grad).sqrt() as f32))
            .collect()
    }

    /// Shape the output would have for an input of `steps × batch`.
    pub fn output_shape(&self, steps: usize, batch: usize) -> OutputShape {
        let mut shape = OutputShape { steps: Some(steps), batch, width: self.config.input_size.unwrap_or(0) };
        for l in &self.layers {
            shape = l.output_shape(shape);
        }
        shape
    }

    /// Runs the model. Inputs are validated before anything changes; on error the model is
    /// as it was. With `lengths`, the values at padded steps are neither validated nor used:
    /// NaN, ±∞ or any token id there has no effect. Returns the output (`[T, B, width]` or
    /// `[B, width]`, see [`OutputShape`]).
    pub fn forward(&mut self, input: Input<'_>, steps: usize, batch: usize, opts: ForwardOptions<'_>) -> Result<(&[f32], OutputShape)> {
        // The pool's sleeping workers wake while the input is checked and the weights packed.
        let _burst = crate::parallel::burst();
        let snapshot = self.volatile_snapshot();
        match self.forward_inner(input, steps, batch, opts) {
            Ok(shape) => {
                if opts.stateful {
                    self.carry_states(batch);
                }
                Ok((&self.outs[self.layers.len() - 1], shape))
            }
            Err(e) => {
                self.restore_volatile(snapshot);
                self.last = None;
                Err(e)
            }
        }
    }

    fn forward_inner(&mut self, input: Input<'_>, steps: usize, batch: usize, opts: ForwardOptions<'_>) -> Result<OutputShape> {
        crate::error::check_size("sequence length", steps, crate::recurrent::MAX_STEPS)?;
        crate::error::check_size("batch size", batch, crate::recurrent::MAX_STEPS)?;
        if opts.initial.len() > self.recurrent_layers() {
            return Err(Error::shape("initial states", [self.recurrent_layers()], [opts.initial.len()]));
        }
        if let Some(l) = opts.lengths {
            padding::check_lengths(l, batch, steps)?;
        }
        // Copies of the input with its padded steps set to 0, made only when they held NaN, ±∞
        // or token ids other than 0 (see `padding`).
        let mut clean_x = None;
        let mut clean_ids = None;
        match (input, self.config.input_size) {
            (Input::Features(x), Some(f)) => {
                check_len("x", x, &[steps, batch, f])?;
                match opts.lengths {
                    Some(l) if !padding::check_valid_steps(x, f, l)? => clean_x = Some(padding::zeroed_padding(x, f, l)),
                    Some(_) => {}
                    None => crate::error::check_finite("x", x)?,
                }
            }
            (Input::Tokens(ids), None) => {
                if ids.len() != steps * batch {
                    return Err(Error::shape("token ids", [steps, batch], [ids.len()]));
                }
                clean_ids = opts.lengths.and_then(|l| padding::clean_tokens(ids, l));
            }
            (Input::Features(_), None) => return Err(Error::unsupported("real-valued input to a model that starts with an embedding (give token ids)")),
            (Input::Tokens(_), Some(_)) => return Err(Error::unsupported("token ids to a model without an embedding layer")),
        };
        let first = match input {
            Input::Tokens(ids) => Some(clean_ids.as_deref().unwrap_or(ids)),
            Input::Features(_) => None,
        };
        let mut shape = OutputShape { steps: Some(steps), batch, width: self.config.input_size.unwrap_or(0) };
        // What the row mask and the other layers' outputs must grow by, and in training their
        // caches (a dense layer's input and, with an activation, its pre-activation and output;
        // a batch-norm input, a dropout mask, token ids), probed at once (a recurrent layer
        // probes its own with its workspace): in wasm a failed allocation aborts, halfway
        // through. Exact: the probe allocates what it counts, and more would stay in the wasm
        // heap's high-water mark.
        let mut growth = if opts.lengths.is_some() { (steps * batch).saturating_sub(self.mask.capacity()) } else { 0 };
        let mut planned = shape;
        for (l, out) in self.layers.iter().zip(&self.outs) {
            let rows = planned.steps.unwrap_or(1).saturating_mul(batch);
            let width_in = planned.width.max(1);
            planned = l.output_shape(planned);
            let cache = if opts.training { l.training_cache_growth(rows, width_in) } else { 0 };
            if l.as_recurrent().is_none() {
                growth = growth.saturating_add(rows.saturating_mul(planned.width).saturating_sub(out.capacity())).saturating_add(cache);
            } else if opts.stateful {
                growth = growth.saturating_add(l.carry_growth(batch));
            }
        }
        crate::param::check_allocatable("layer outputs", growth)?;
        // The row mask `[T, B]` of a call with lengths: 1 at valid steps, 0 at padded ones.
        self.has_mask = opts.lengths.is_some();
        crate::buffers::fit(&mut self.mask, if self.has_mask { steps * batch } else { 0 });
        if let Some(l) = opts.lengths {
            for (row, m) in self.mask.iter_mut().enumerate() {
                *m = if row / batch < l[row % batch] { 1.0 } else { 0.0 };
            }
        }
        let mut recurrent_index = 0;
        for i in 0..self.layers.len() {
            let (before, rest) = self.outs.split_at_mut(i);
            let out = &mut rest[0];
            let x: &[f32] = if i == 0 {
                match input {
                    Input::Features(x) => clean_x.as_deref().unwrap_or(x),
                    Input::Tokens(_) => &[],
                }
            } else {
                &before[i - 1]
            };
            let mask = if self.has_mask && shape.steps.is_some() { Some(&self.mask[..]) } else { None };
            let initial = opts.initial.get(recurrent_index).copied().unwrap_or_default();
            let ctx = layer::Ctx { shape, tokens: if i == 0 { first } else { None }, lengths: opts.lengths, mask, initial, training: opts.training, stateful: opts.stateful };
            if self.layers[i].as_recurrent().is_some() {
                recurrent_index += 1;
            }
            shape = self.layers[i].forward(x, ctx, out)?;
        }
        self.last = Some((shape, steps, batch, opts.training));
        Ok(shape)
    }

    /// Backpropagates `d_output` (shaped like the last forward's output) through the last
    /// training forward, accumulating every parameter's gradient. `d_final[i]` optionally gives
    /// the gradients of recurrent layer i's final states `(d_h_n, d_c_n)`. `tbptt` truncates
    /// BPTT every k steps. One backward per training forward, as in PyTorch (backward overwrites
    /// what the forward kept): a second one is an `ERR_STATE` error that changes nothing; an
    /// error in the arguments leaves the forward usable.
    pub fn backward(
        &mut self,
        d_output: &[f32],
        d_final: &[FinalStateGrads<'_>],
        tbptt: Option<usize>,
    ) -> Result<InputGradients> {
        self.backward_inner(d_output, d_final, tbptt, true)
    }

    /// [`Model::backward`]; without `input_grads`, the gradients of the model's inputs (the
    /// first layer's `dx`, a `[T, B, in]` product, and the recurrent layers' initial states) are
    /// not computed, and returned empty.
    pub(crate) fn backward_inner(
        &mut self,
        d_output: &[f32],
        d_final: &[FinalStateGrads<'_>],
        tbptt: Option<usize>,
        input_grads: bool,
    ) -> Result<InputGradients> {
        let (shape, steps, batch, training) = self.last.ok_or_else(|| Error::state("backward called before a forward pass"))?;
        if !training {
            return Err(Error::state("backward needs a forward pass in training mode"));
        }
        check_len("d_output", d_output, &[shape.rows(), shape.width])?;
        crate::error::check_finite("d_output", d_output)?;
        if d_final.len() > self.recurrent_layers() {
            return Err(Error::shape("final state gradients", [self.recurrent_layers()], [d_final.len()]));
        }
        // A recurrent layer's forward serves one backward: refused before any layer has run.
        for stack in self.layers.iter().filter_map(|l| l.as_recurrent()) {
            stack.check_ready_for_backward()?;
        }
        // What backward allocates, probed before any layer runs (in wasm a failed allocation
        // aborts, halfway through the layers): what each layer keeps (a recurrent layer's
        // workspace, a dense layer's activation gradient), and at the layer where it is most,
        // its input gradient, a new vector, and its temporaries while the input gradient from
        // the layer above is alive. Not more: the probe allocates what it counts.
        let wants_dx = |i: usize| i > 0 || (input_grads && self.config.input_size.is_some());
        let input_len = |i: usize| if i == 0 { steps * batch * self.config.input_size.unwrap_or(0) } else { self.outs[i - 1].len() };
        let dx_len = |i: usize| self.layers.get(i).map_or(0, |l| l.input_grad_len(input_len(i), wants_dx(i)));
        let (mut kept, mut peak) = (0usize, 0usize);
        for (i, l) in self.layers.iter().enumerate() {
            let (keeps, temporary) = l.backward_growth(wants_dx(i), input_grads);
            kept = kept.saturating_add(keeps);
            peak = peak.max(dx_len(i).saturating_add(temporary).saturating_add(dx_len(i + 1)));
        }
        crate::param::check_allocatable("backward", kept.saturating_add(peak))?;
        // The gradient flowing down: `d_output` for the last layer, then each layer's `dx`.
        let mut grad = Vec::new();
        let mut initial = vec![(Vec::new(), Vec::new()); self.recurrent_layers()];
        let mut recurrent_index = self.recurrent_layers();
        for i in (0..self.layers.len()).rev() {
            let is_rec = self.layers[i].as_recurrent().is_some();
            if is_rec {
                recurrent_index -= 1;
            }
            let finals = if is_rec { d_final.get(recurrent_index).copied().unwrap_or((None, None)) } else { (None, None) };
            let want_dx = wants_dx(i);
            let dy = if i + 1 == self.layers.len() { d_output } else { &grad[..] };
            let (dx, d0) = self.layers[i].backward(dy, finals, tbptt, want_dx, input_grads)?;
            if let Some(d0) = d0 {
                initial[recurrent_index] = d0;
            }
            grad = dx;
        }
        Ok(InputGradients { x: if input_grads && self.config.input_size.is_some() { grad } else { Vec::new() }, initial })
    }

    /// Runs the model for inference (no dropout, running statistics) and returns a copy of the
    /// output with its shape.
    pub fn predict(&mut self, input: Input<'_>, steps: usize, batch: usize, lengths: Option<&[usize]>, stateful: bool) -> Result<(Vec<f32>, OutputShape)> {
        let opts = ForwardOptions { lengths, initial: &[], training: false, stateful };
        self.forward_copy(input, steps, batch, opts)
    }

    /// The number of output values for `steps × batch` rows; 0 for sizes that overflow or pass
    /// the element limit, which the forward's own checks refuse.
    pub(crate) fn output_len(&self, steps: usize, batch: usize) -> usize {
        let planned = self.output_shape(steps, batch);
        planned.steps.unwrap_or(1).checked_mul(batch).and_then(|r| r.checked_mul(planned.width)).filter(|&n| n <= crate::error::MAX_ELEMENTS).unwrap_or(0)
    }

    /// [`Model::forward`], returning a copy of the output. The copy's memory is taken before the
    /// forward runs, so when it cannot be allocated the error comes first and the model is as it
    /// was (in wasm a failed allocation aborts, and a copy made after a stateful or training
    /// forward would leave the model changed by a call that failed).
    pub fn forward_copy(&mut self, input: Input<'_>, steps: usize, batch: usize, opts: ForwardOptions<'_>) -> Result<(Vec<f32>, OutputShape)> {
        let mut copy = crate::param::reserved("output", self.output_len(steps, batch))?;
        let (out, shape) = self.forward(input, steps, batch, opts)?;
        copy.extend_from_slice(out);
        Ok((copy, shape))
    }

    /// The row mask of the last forward (empty when every sequence had full length).
    pub(crate) fn last_mask(&self) -> Option<&[f32]> {
        self.has_mask.then_some(&self.mask[..])
    }

    /// Keeps the final states of the last forward (`batch` rows) for the next stateful call:
    /// once a stateful call has succeeded, so that a call that fails leaves them as they were.
    fn carry_states(&mut self, batch: usize) {
        self.layers.iter_mut().for_each(|l| l.carry_states(batch));
    }

    fn volatile_snapshot(&self) -> Vec<layer::Volatile> {
        self.layers.iter().map(|l| l.volatile()).collect()
    }

    fn restore_volatile(&mut self, snapshot: Vec<layer::Volatile>) {
        self.layers.iter_mut().zip(snapshot).for_each(|(l, v)| l.restore(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a stateful call's allocation check counts for the carried states is what carrying
    /// them allocates (the check allocates what it counts, so more would stay in the wasm heap's
    /// high-water mark), and nothing once states of that batch size are carried.
    #[test]
    fn carry_growth_is_what_carrying_allocates() {
        for cell in ["lstm", "gru", "rnn"] {
            let json = format!(
                r#"{{"input_size": 2, "layers": [{{"type": "{cell}", "hidden_size": 3, "num_layers": 2, "bidirectional": true}}, {{"type": "dense", "units": 1}}]}}"#
            );
            let mut m = Model::from_json(&json).unwrap();
            let (steps, batch) = (4, 5);
            let x = vec![0.5f32; steps * batch * 2];
            let growth = |m: &Model| m.layers.iter().map(|l| l.carry_growth(batch)).sum::<usize>();
            let held = |m: &Model| m.layers.iter().map(Layer::carried_capacity).sum::<usize>();
            let expected = growth(&m);
            assert!(expected > 0, "{cell}");
            m.predict(Input::Features(&x), steps, batch, None, true).unwrap();
            assert_eq!(held(&m), expected, "{cell}: first stateful call");
            assert_eq!(growth(&m), 0, "{cell}: states carried");
            m.predict(Input::Features(&x), steps, batch, None, true).unwrap();
            assert_eq!(held(&m), expected, "{cell}: the next call reuses the buffers");
        }
    }
}
