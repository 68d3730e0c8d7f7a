//! A stack of `L` recurrent layers, each with one or two directions (PyTorch's `nn.RNN`,
//! `nn.LSTM`, `nn.GRU`), with dropout between layers.

use crate::buffers::{copy_into, fit, zeroed};
use super::{Direction, DirectionSpec, RecurrentConfig};
use crate::error::{check_finite, check_len, checked_numel, Error, Result};
use crate::init::RecurrentInit;
use crate::param::Param;
use crate::rng::Rng;

/// Largest sequence length or batch accepted by one call.
pub const MAX_STEPS: usize = 1 << 20;

/// Gradients of the stack's inputs after [`RecurrentStack::backward`].
#[derive(Debug, Clone, Copy)]
pub struct StackGradients<'a> {
    /// `∂L/∂x`, `[T, B, in]` time-major (empty if not requested).
    pub x: &'a [f32],
    /// `∂L/∂h0`, `[L·D, B, H]`.
    pub h0: &'a [f32],
    /// `∂L/∂c0`, `[L·D, B, H]` (empty for cells without a cell state).
    pub c0: &'a [f32],
}

/// Where the dropout masks between layers come from in a forward pass.
#[derive(Debug, Clone, Copy)]
enum DropoutMasks<'a> {
    /// Drawn from the stack's generator (training with dropout > 0), or none.
    Draw,
    /// Given by the caller, one per layer but the last.
    Fixed(&'a [Vec<f32>]),
}

/// `L` layers × `D` directions of one cell type.
#[derive(Debug, Clone)]
pub struct RecurrentStack {
    config: RecurrentConfig,
    /// Directions, index `2k + d` for layer k (PyTorch's state order).
    dirs: Vec<Direction>,
    rng: Rng,
    /// Shape of the last forward and whether it was a training one: `(T, B, training)`; `None`
    /// before the first or after a failed one.
    last: Option<(usize, usize, bool)>,
    /// `inputs[k]`: the input sequence of layer k: layer 0's is a copy of x, layer k's the
    /// output of layer k-1 after dropout.
    inputs: Vec<Vec<f32>>,
    /// The last layer's output `[T, B, D·H]`, as [`RecurrentStack::forward`] returns it.
    output: Vec<f32>,
    /// Dropout masks (already scaled by 1/(1-p)) applied to layer k's output for k < L-1.
    masks: Vec<Vec<f32>>,
    /// `d_inputs[k]`: the gradient of `inputs[k]` after backward (k ≥ 1: already through the
    /// dropout of layer k-1, i.e. the gradient of that layer's output).
    h_n: Vec<f32>,
    c_n: Vec<f32>,
    d_inputs: Vec<Vec<f32>>,
    d_h0: Vec<f32>,
    d_c0: Vec<f32>,
    /// Element count of every parameter, as built (their fields are public, so a caller could
    /// replace a value or gradient vector with one of another length).
    numels: Vec<usize>,
}

/// The input of one forward pass of a [`RecurrentStack`]: `x` (`[T, B, in]`, time-major),
/// optional per-sequence `lengths` (PyTorch's packed-sequence semantics) and initial states
/// `h0`/`c0` (`[L·D, B, H]`, zeros when `None`; `c0` for an LSTM only).
#[derive(Debug, Clone, Copy)]
pub struct SequenceInput<'a> {
    /// The input sequence, `[steps, batch, in]`.
    pub x: &'a [f32],
    /// Time steps `T`.
    pub steps: usize,
    /// Batch rows `B`.
    pub batch: usize,
    /// Length of each row's sequence (`1..=T`), or every row full.
    pub lengths: Option<&'a [usize]>,
    /// Initial hidden states, or zeros.
    pub h0: Option<&'a [f32]>,
    /// Initial cell states (LSTM), or zeros.
    pub c0: Option<&'a [f32]>,
}

impl<'a> SequenceInput<'a> {
    /// `x` of `steps × batch` rows, full lengths, zero initial states.
    pub fn new(x: &'a [f32], steps: usize, batch: usize) -> Self {
        SequenceInput { x, steps, batch, lengths: None, h0: None, c0: None }
    }
}

impl RecurrentStack {
    /// A stack initialized like PyTorch (`U(-1/√H, 1/√H)`), names prefixed with `prefix`
    /// (e.g. `"lstm."`, or `""` for PyTorch's bare `weight_ih_l0`).
    pub fn new(config: RecurrentConfig, prefix: &str, seed: u64) -> Result<Self> {
        Self::with_init(config, &RecurrentInit::default(), prefix, seed)
    }

    /// A stack initialized by `init` (weights per gate block, see [`RecurrentInit`]), every
    /// draw from the generator seeded with `seed`; the default `init` gives exactly
    /// [`RecurrentStack::new`]. Checks `init` against the cell (`forget_bias` is LSTM only).
    pub fn with_init(config: RecurrentConfig, init: &RecurrentInit, prefix: &str, seed: u64) -> Result<Self> {
        config.validate()?;
        init.validate(config.cell, config.bias)?;
        let mut rng = Rng::new(seed);
        let mut dirs = Vec::new();
        for k in 0..config.num_layers {
            let input = if k == 0 { config.input_size } else { config.output_size() };
            for d in 0..config.directions() {
                let spec = DirectionSpec {
                    cell: config.cell,
                    input_size: input,
                    hidden: config.hidden_size,
                    bias: config.bias,
                    layer: k,
                    reverse: d == 1,
                    layer_norm: config.layer_norm,
                };
                dirs.push(Direction::with_init(spec, prefix, init, &mut rng)?);
            }
        }
        let l = config.num_layers;
        let numels = dirs.iter().flat_map(|d| d.params()).map(|p| p.value.len()).collect();
        Ok(RecurrentStack {
            config,
            dirs,
            rng,
            last: None,
            inputs: vec![Vec::new(); l],
            output: Vec::new(),
            masks: vec![Vec::new(); l],
            h_n: Vec::new(),
            c_n: Vec::new(),
            d_inputs: vec![Vec::new(); l],
            d_h0: Vec::new(),
            d_c0: Vec::new(),
            numels,
        })
    }

    /// The dropout generator's state (saved and restored around a failed call).
    pub fn rng(&self) -> &Rng {
        &self.rng
    }

    /// Restores the dropout generator's state.
    pub fn set_rng(&mut self, rng: Rng) {
        self.rng = rng;
    }

    /// The configuration.
    pub fn config(&self) -> &RecurrentConfig {
        &self.config
    }

    /// Every parameter, layer by layer, forward direction first (PyTorch's order).
    pub fn params(&self) -> Vec<&Param> {
        self.dirs.iter().flat_map(|d| d.params()).collect()
    }

    /// Mutable access to every parameter, same order as [`RecurrentStack::params`].
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.dirs.iter_mut().flat_map(|d| d.params_mut()).collect()
    }

    /// Number of state slots `L·D`.
    pub fn state_slots(&self) -> usize {
        self.config.num_layers * self.config.directions()
    }

    /// `‖∂L/∂h_t‖` per time step for every layer and direction (`(name, norms)`, names like
    /// `l0` and `l0_reverse`), from the last backward pass.
    pub fn step_grad_norms(&self) -> Vec<(String, Vec<f32>)> {
        let dcount = self.config.directions();
        self.dirs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let name = format!("l{}{}", i / dcount, if i % dcount == 1 { "_reverse" } else { "" });
                (name, d.step_grad_norms().to_vec())
            })
            .collect()
    }

    /// Checks that every parameter's value and gradient still have the length they were built
    /// with (the kernels index them by the configured shapes).
    fn check_params(&self) -> Result<()> {
        for (p, &n) in self.params().into_iter().zip(&self.numels) {
            if p.value.len() != n {
                return Err(Error::shape(p.name.clone(), [n], [p.value.len()]));
            }
            if p.grad.len() != n {
                return Err(Error::shape(format!("{}.grad", p.name), [n], [p.grad.len()]));
            }
        }
        Ok(())
    }

    /// Checks optional hidden- and cell-state tensors (initial states or their gradients):
    /// `[L·D, B, H]` each, finite, and no cell state for a cell without one.
    fn check_states(&self, (h_name, h): (&str, Option<&[f32]>), (c_name, c): (&str, Option<&[f32]>), batch: usize) -> Result<()> {
        let state = [self.state_slots(), batch, self.config.hidden_size];
        if let Some(h) = h {
            check_len(h_name, h, &state)?;
            check_finite(h_name, h)?;
        }
        match (c, self.config.cell.has_cell_state()) {
            (Some(_), false) => Err(Error::unsupported(format!("{c_name} given for a cell without a cell state"))),
            (Some(c), true) => {
                check_len(c_name, c, &state)?;
                check_finite(c_name, c)
            }
            _ => Ok(()),
        }
    }

    /// Checks the input of a forward pass without changing anything. With `lengths`, the values
    /// at padded steps are not checked (they have no effect, whatever they are).
    pub fn validate_forward(&self, seq: &SequenceInput<'_>) -> Result<()> {
        self.check_forward(seq).map(|_| ())
    }

    /// [`RecurrentStack::validate_forward`], returning whether the values at padded steps (if
    /// any) are finite too, so that `x` can be used as it is.
    fn check_forward(&self, seq: &SequenceInput<'_>) -> Result<bool> {
        let SequenceInput { x, steps, batch, lengths, h0, c0 } = *seq;
        let c = &self.config;
        self.check_params()?;
        crate::error::check_size("sequence length", steps, MAX_STEPS)?;
        crate::error::check_size("batch size", batch, MAX_STEPS)?;
        check_len("x", x, &[steps, batch, c.input_size])?;
        if let Some(l) = lengths {
            crate::padding::check_lengths(l, batch, steps)?;
        }
        let padding_is_finite = match lengths {
            // values at padded steps are not validated (see `crate::padding`)
            Some(l) => crate::padding::check_valid_steps(x, c.input_size, l)?,
            None => check_finite("x", x).map(|()| true)?,
        };
        // Every buffer of the workspace must stay addressable.
        checked_numel("workspace", &[steps + 1, batch, c.cell.gates() * c.hidden_size * c.directions(), 4])?;
        self.check_states(("h0", h0), ("c0", c0), batch)?;
        Ok(padding_is_finite)
    }

    /// Runs the stack over `x` (`[T, B, in]`, time-major) from `h0`/`c0` (`[L·D, B, H]`,
    /// zeros when `None`), with per-sequence `lengths` (padding semantics of PyTorch's packed
    /// sequences). Returns the last layer's output `[T, B, D·H]`; the final states are in
    /// [`RecurrentStack::h_n`] and [`RecurrentStack::c_n`]. With `training`, dropout is applied
    /// between layers and everything backward needs is kept; without, only what the next step
    /// needs is (less memory traffic), and [`RecurrentStack::backward`] is an error.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &mut self,
        x: &[f32],
        steps: usize,
        batch: usize,
        lengths: Option<&[usize]>,
        h0: Option<&[f32]>,
        c0: Option<&[f32]>,
        training: bool,
    ) -> Result<&[f32]> {
        let mut out = std::mem::take(&mut self.output);
        let seq = SequenceInput { x, steps, batch, lengths, h0, c0 };
        let done = self.forward_into(&seq, training, Some(&mut out));
        self.output = out;
        done.map(|()| self.output.as_slice())
    }

    /// [`RecurrentStack::forward`] that writes the last layer's output (`[T, B, D·H]`) into
    /// `out` (resized), or nowhere when `out` is `None`: when only the final states
    /// ([`RecurrentStack::h_n`], [`RecurrentStack::c_n`]) are wanted, the output sequence is
    /// neither stored nor copied. On error nothing changes.
    pub fn forward_into(&mut self, seq: &SequenceInput<'_>, training: bool, out: Option<&mut Vec<f32>>) -> Result<()> {
        let padding_is_finite = self.check_forward(seq)?;
        let clean_copy = seq.lengths.is_some() && !padding_is_finite;
        crate::param::check_allocatable("workspace", self.forward_growth(seq, training, out.is_some(), clean_copy, training))?;
        // NaN or ±∞ at padded steps: the pass runs on a copy with zeros there (`crate::padding`)
        let clean;
        let seq = match seq.lengths {
            Some(l) if !padding_is_finite => {
                clean = crate::padding::zeroed_padding(seq.x, self.config.input_size, l);
                SequenceInput { x: &clean, ..*seq }
            }
            _ => *seq,
        };
        self.run_forward(&seq, training, DropoutMasks::Draw, out);
        Ok(())
    }

    /// Floats a forward pass of `seq` allocates beyond what the stack holds, which the caller
    /// checks before it starts (a failed allocation in wasm aborts, see `check_allocatable`):
    /// the copy of x and each layer's output (the last one's only with `out`), a copy of x with
    /// its padding cleaned (`clean_copy`), the final states and a zero state, the dropout masks
    /// between layers when the pass draws them (`draws_masks`, in training), and the directions'
    /// workspaces (with `keep`, what the pass keeps for backward).
    fn forward_growth(&self, seq: &SequenceInput<'_>, keep: bool, out: bool, clean_copy: bool, draws_masks: bool) -> usize {
        let c = &self.config;
        let layer_outputs = c.num_layers - 1 + usize::from(out);
        let outputs = seq.steps.saturating_mul(seq.batch).saturating_mul(c.output_size()).saturating_mul(layer_outputs).saturating_add(seq.x.len());
        let held = self.inputs.iter().fold(self.output.capacity(), |n, v| n + v.capacity());
        let cleaned = if clean_copy { seq.x.len() } else { 0 };
        let (bh, width) = (seq.batch * c.hidden_size, c.output_size());
        let slots = self.state_slots() * bh;
        let c_n = if c.cell.has_cell_state() { slots.saturating_sub(self.c_n.capacity()) } else { 0 };
        let states = bh + slots.saturating_sub(self.h_n.capacity()) + c_n;
        let mask_len = if draws_masks && c.dropout > 0.0 { seq.steps.saturating_mul(seq.batch).saturating_mul(width) } else { 0 };
        let masks: usize = self.masks[..c.num_layers - 1].iter().map(|m| mask_len.saturating_sub(m.capacity())).sum();
        let own = (outputs.saturating_sub(held) + cleaned).saturating_add(states).saturating_add(masks);
        self.dirs.iter().fold(own, |n, d| n.saturating_add(d.forward_growth(seq.steps, seq.batch, keep)))
    }

    /// A training forward pass (zero initial states, full lengths) with fixed dropout masks
    /// instead of drawn ones: `masks[k]` multiplies the output of layer k < L-1 (values already
    /// scaled by 1/(1-p)), whatever the configured dropout. For gradient checks with dropout.
    pub fn forward_with_masks(&mut self, x: &[f32], steps: usize, batch: usize, masks: &[Vec<f32>]) -> Result<&[f32]> {
        let seq = SequenceInput::new(x, steps, batch);
        self.validate_forward(&seq)?;
        let l = self.config.num_layers;
        let n = steps * batch * self.config.output_size();
        if masks.len() + 1 != l || masks.iter().any(|m| m.len() != n) {
            return Err(Error::shape("dropout masks", [l.saturating_sub(1), n], [masks.len()]));
        }
        crate::param::check_allocatable("workspace", self.forward_growth(&seq, true, true, false, false))?;
        let mut out = std::mem::take(&mut self.output);
        self.run_forward(&seq, true, DropoutMasks::Fixed(masks), Some(&mut out));
        self.output = out;
        Ok(&self.output)
    }

    /// The forward pass proper, on validated arguments. Layer k < L-1 writes its output
    /// straight into the next layer's input (then masked by dropout in place); the last layer
    /// writes into `top_out`, if any.
    fn run_forward(&mut self, seq: &SequenceInput<'_>, training: bool, dropout: DropoutMasks<'_>, mut top_out: Option<&mut Vec<f32>>) {
        let SequenceInput { x, steps, batch, lengths, h0, c0 } = *seq;
        let c = self.config.clone();
        let (hd, dcount, l) = (c.hidden_size, c.directions(), c.num_layers);
        let bh = batch * hd;
        let width = c.output_size();
        let zeros = vec![0.0f32; bh];
        let cell_state = c.cell.has_cell_state();
        // Sized exactly, as `forward_into`'s allocation check counts them.
        let states = self.state_slots() * bh;
        zeroed(&mut self.h_n, states);
        zeroed(&mut self.c_n, if cell_state { states } else { 0 });
        self.inputs[0].clear();
        self.inputs[0].extend_from_slice(x);
        for k in 0..l {
            // Every element of a layer's output is written by one of its directions.
            let mut out = match (k + 1 < l, top_out.as_deref_mut()) {
                (true, _) => std::mem::take(&mut self.inputs[k + 1]),
                (false, Some(top)) => std::mem::take(top),
                (false, None) => Vec::new(),
            };
            if k + 1 < l || top_out.is_some() {
                fit(&mut out, steps * batch * width);
            }
            for d in 0..dcount {
                let slot = k * dcount + d;
                let h0s = h0.map_or(&zeros[..], |h| &h[slot * bh..(slot + 1) * bh]);
                let c0s = if cell_state { c0.map_or(&zeros[..], |cc| &cc[slot * bh..(slot + 1) * bh]) } else { &[][..] };
                let dir = &mut self.dirs[slot];
                dir.forward(&self.inputs[k], steps, batch, lengths, h0s, c0s, &mut out, width, d * hd, training);
                let (hn, cn) = dir.final_states();
                self.h_n[slot * bh..(slot + 1) * bh].copy_from_slice(hn);
                if cell_state {
                    self.c_n[slot * bh..(slot + 1) * bh].copy_from_slice(cn);
                }
            }
            if k + 1 < l {
                let mask = &mut self.masks[k];
                match dropout {
                    DropoutMasks::Fixed(fixed) => copy_into(mask, &fixed[k]),
                    DropoutMasks::Draw if training && c.dropout > 0.0 => {
                        let keep = 1.0 / (1.0 - c.dropout);
                        fit(mask, out.len());
                        mask.iter_mut().for_each(|m| *m = if self.rng.uniform() < c.dropout { 0.0 } else { keep });
                    }
                    DropoutMasks::Draw => mask.clear(),
                }
                if !mask.is_empty() {
                    out.iter_mut().zip(mask.iter()).for_each(|(v, m)| *v *= m);
                }
                self.inputs[k + 1] = out;
            } else if let Some(top) = top_out.as_deref_mut() {
                *top = out;
            }
        }
        self.last = Some((steps, batch, training));
    }

    /// Final hidden states of the last forward, `[L·D, B, H]`.
    pub fn h_n(&self) -> &[f32] {
        &self.h_n
    }

    /// Final cell states of the last forward, `[L·D, B, H]` (empty for RNN and GRU).
    pub fn c_n(&self) -> &[f32] {
        &self.c_n
    }

    /// Backpropagation through time for the last training forward. `d_out` is the gradient
    /// of the output (`[T, B, D·H]`), `d_hn`/`d_cn` of the final states (`[L·D, B, H]`, or
    /// `None` for zero). Parameter gradients are accumulated. `tbptt = Some(k)` detaches the
    /// state every k steps. With `want_dx`, the input gradient is computed too. One backward
    /// per training forward (it overwrites what the forward kept): a second is an
    /// [`Error::State`](crate::Error).
    pub fn backward(
        &mut self,
        d_out: &[f32],
        d_hn: Option<&[f32]>,
        d_cn: Option<&[f32]>,
        tbptt: Option<usize>,
        want_dx: bool,
    ) -> Result<StackGradients<'_>> {
        self.backward_wanting(Some(d_out), d_hn, d_cn, tbptt, want_dx, true)
    }

    /// [`RecurrentStack::backward`] when the output sequence was not used, only the final
    /// states (e.g. after [`RecurrentStack::forward_into`] without an output): the gradient
    /// reaches the stack through `d_hn`/`d_cn` alone, without a `[T, B, D·H]` array of zeros.
    pub fn backward_from_final_states(
        &mut self,
        d_hn: Option<&[f32]>,
        d_cn: Option<&[f32]>,
        tbptt: Option<usize>,
        want_dx: bool,
    ) -> Result<StackGradients<'_>> {
        self.backward_wanting(None, d_hn, d_cn, tbptt, want_dx, true)
    }

    /// Floats a backward pass after the last training forward allocates (an estimate from
    /// above, 0 without such a forward): every layer's input gradient beyond what is held (the
    /// first layer's only `want_dx`), the initial states' gradients (`want_initial`), and each
    /// direction's own ([`Direction::backward_growth`]). Probed before any backward changes
    /// anything, as a failed allocation in wasm aborts.
    pub(crate) fn backward_growth(&self, want_dx: bool, want_initial: bool) -> usize {
        let Some((steps, batch, true)) = self.last else { return 0 };
        let c = &self.config;
        let first = if want_dx { c.input_size } else { 0 };
        let inputs = steps * batch * (first + c.output_size() * (c.num_layers - 1));
        let held = self.d_inputs.iter().fold(0, |n, v| n + v.capacity());
        let states = if want_initial { self.state_floats() } else { 0 };
        let d_c0 = if c.cell.has_cell_state() { states.saturating_sub(self.d_c0.capacity()) } else { 0 };
        let initial = states.saturating_sub(self.d_h0.capacity()) + d_c0;
        self.dirs.iter().fold(inputs.saturating_sub(held) + initial, |n, d| n + d.backward_growth(steps, batch))
    }

    /// Floats of one set of states (`[L·D, B, H]`) for the batch of the last forward (0 before one).
    pub(crate) fn state_floats(&self) -> usize {
        self.last.map_or(0, |(_, batch, _)| self.state_slots() * batch * self.config.hidden_size)
    }

    /// `(T, B)` of the last forward, which backward needs to have been a training one.
    fn last_training(&self) -> Result<(usize, usize)> {
        match self.last {
            None => Err(Error::state("backward needs a forward pass in training mode, one per backward (as in PyTorch)")),
            Some((_, _, false)) => Err(Error::state("backward needs a forward pass in training mode (an inference pass keeps nothing for it)")),
            Some((steps, batch, true)) => Ok((steps, batch)),
        }
    }

    /// Whether backward can run: the last forward was in training mode and no backward has
    /// used it yet (an error otherwise, the one backward would give).
    pub(crate) fn check_ready_for_backward(&self) -> Result<()> {
        self.last_training().map(|_| ())
    }

    /// [`RecurrentStack::backward`] (with `d_out`) or
    /// [`RecurrentStack::backward_from_final_states`] (without: zero). Without `want_initial`
    /// the gradients of the initial states are not computed, and returned empty: a training
    /// step does not use them, and the first step's product by `W_hh` serves only them.
    pub(crate) fn backward_wanting(
        &mut self,
        d_out: Option<&[f32]>,
        d_hn: Option<&[f32]>,
        d_cn: Option<&[f32]>,
        tbptt: Option<usize>,
        want_dx: bool,
        want_initial: bool,
    ) -> Result<StackGradients<'_>> {
        let (steps, batch) = self.last_training()?;
        if let Some(d_out) = d_out {
            check_len("d_output", d_out, &[steps, batch, self.config.output_size()])?;
            check_finite("d_output", d_out)?;
        }
        self.check_params()?;
        let c = self.config.clone();
        let (hd, dcount, l) = (c.hidden_size, c.directions(), c.num_layers);
        let bh = batch * hd;
        let width = c.output_size();
        self.check_states(("d_h_n", d_hn), ("d_c_n", d_cn), batch)?;
        if let Some(k) = tbptt {
            crate::error::check_size("tbptt", k, MAX_STEPS)?;
        }
        crate::param::check_allocatable("backward", self.backward_growth(want_dx, want_initial))?;
        // Backward overwrites what the forward kept (without layer norm every cell writes the
        // gradients over its gates), so the next backward needs a new forward.
        self.last = None;
        let states = if want_initial { self.state_slots() * bh } else { 0 };
        zeroed(&mut self.d_h0, states);
        zeroed(&mut self.d_c0, if c.cell.has_cell_state() { states } else { 0 });
        for k in (0..l).rev() {
            let in_width = if k == 0 { c.input_size } else { width };
            let need_dx = k > 0 || want_dx;
            // The directions accumulate into dx.
            let mut dx = std::mem::take(&mut self.d_inputs[k]);
            zeroed(&mut dx, if need_dx { steps * batch * in_width } else { 0 });
            // The gradient of this layer's output: the caller's, or (already through the
            // dropout) the next layer's input gradient.
            let upstream: &[f32] = if k + 1 == l { d_out.unwrap_or(&[]) } else { &self.d_inputs[k + 1] };
            for d in 0..dcount {
                let slot = k * dcount + d;
                let dhn = d_hn.map_or(&[][..], |g| &g[slot * bh..(slot + 1) * bh]);
                let dcn = d_cn.map_or(&[][..], |g| &g[slot * bh..(slot + 1) * bh]);
                let dx_arg = if need_dx { Some(&mut dx[..]) } else { None };
                let dir = &mut self.dirs[slot];
                dir.backward(&self.inputs[k], upstream, width, d * hd, dhn, dcn, tbptt, dx_arg, want_initial);
                if !want_initial {
                    continue;
                }
                let (dh0, dc0) = dir.initial_state_grads();
                self.d_h0[slot * bh..(slot + 1) * bh].copy_from_slice(dh0);
                if !dc0.is_empty() {
                    self.d_c0[slot * bh..(slot + 1) * bh].copy_from_slice(dc0);
                }
            }
            if k > 0 && !self.masks[k - 1].is_empty() {
                // Through the dropout applied to layer k-1's output.
                dx.iter_mut().zip(&self.masks[k - 1]).for_each(|(g, m)| *g *= m);
            }
            self.d_inputs[k] = dx;
        }
        Ok(StackGradients { x: &self.d_inputs[0], h0: &self.d_h0, c0: &self.d_c0 })
    }
}
