//! One layer of a model: what it owns, and how it runs forward and backward on rows.

use super::{ModelConfig, OutputShape};
use super::config::LayerConfig;
use super::{FinalStateGrads, InitialState};
use crate::error::{Error, Result};
use crate::layers::{BatchNorm, Buffer, Dense, Dropout, Embedding};
use crate::param::Param;
use crate::recurrent::{RecurrentStack, SequenceInput};
use crate::rng::Rng;

/// A recurrent stack inside a model.
#[derive(Debug, Clone)]
pub(crate) struct RecurrentLayer {
    pub stack: RecurrentStack,
    pub return_sequences: bool,
    /// States carried between stateful calls: `(h, c, batch)`.
    pub carried: Option<(Vec<f32>, Vec<f32>, usize)>,
}

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Embedding(Embedding),
    BatchNorm(BatchNorm),
    Recurrent(Box<RecurrentLayer>),
    Dropout(Dropout),
    Dense(Dense),
}

/// A layer with its name and the input shape of the last forward.
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    name: String,
    kind: Kind,
    input_shape: Option<OutputShape>,
}

/// Per-call context of [`Layer::forward`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub shape: OutputShape,
    pub tokens: Option<&'a [u32]>,
    pub lengths: Option<&'a [usize]>,
    pub mask: Option<&'a [f32]>,
    pub initial: InitialState<'a>,
    pub training: bool,
    pub stateful: bool,
}

/// State that a call changes before it can fail: running statistics and random generators.
/// (Carried states change only once a call has succeeded: [`Layer::carry_states`].)
#[derive(Debug, Clone)]
pub(crate) enum Volatile {
    None,
    Buffers(Vec<Buffer>),
    Rng(Rng),
}

/// Builds the layers of `config`, checking that each one fits its input.
pub(crate) fn build(config: &ModelConfig) -> Result<Vec<Layer>> {
    let mut rng = Rng::new(config.seed);
    let mut layers = Vec::new();
    // Width of the rows flowing into the next layer, and whether they are still a sequence.
    let mut width = config.input_size.unwrap_or(0);
    let mut sequence = true;
    let mut used: Vec<String> = Vec::new();
    for (i, lc) in config.layers.iter().enumerate() {
        let default_name = |kind: &str| if used.iter().any(|u| u == kind) { format!("{kind}{i}") } else { kind.to_string() };
        let (name, kind) = match lc {
            LayerConfig::Embedding(c) => {
                let name = c.name.clone().unwrap_or_else(|| default_name("embedding"));
                let e = Embedding::new(&name, c.vocab_size, c.dim, &mut rng)?;
                width = c.dim;
                (name, Kind::Embedding(e))
            }
            LayerConfig::BatchNorm(c) => {
                let name = c.name.clone().unwrap_or_else(|| default_name("batch_norm"));
                let bn = BatchNorm::with_config(&name, width, c.affine, c.eps, Some(c.momentum))?;
                (name, Kind::BatchNorm(bn))
            }
            LayerConfig::Rnn(c) | LayerConfig::Lstm(c) | LayerConfig::Gru(c) => {
                let kind = match lc {
                    LayerConfig::Rnn(_) => "rnn",
                    LayerConfig::Lstm(_) => "lstm",
                    _ => "gru",
                };
                if !sequence {
                    return Err(Error::unsupported(format!(
                        "layer {i} ({kind}) after a recurrent layer with return_sequences: false has no sequence to read"
                    )));
                }
                let name = c.name.clone().unwrap_or_else(|| default_name(kind));
                let rc = c.to_recurrent(kind, width)?;
                let prefix = if name.is_empty() { String::new() } else { format!("{name}.") };
                let seed = rng.next_u32() as u64 | ((rng.next_u32() as u64) << 32);
                let stack = RecurrentStack::with_init(rc.clone(), &c.init, &prefix, seed)?;
                width = rc.output_size();
                sequence = c.return_sequences;
                (name, Kind::Recurrent(Box::new(RecurrentLayer { stack, return_sequences: c.return_sequences, carried: None })))
            }
            LayerConfig::Dropout(c) => {
                let seed = rng.next_u32() as u64 | ((rng.next_u32() as u64) << 32);
                (format!("dropout{i}"), Kind::Dropout(Dropout::new(c.p, seed)?))
            }
            LayerConfig::Dense(c) => {
                let name = c.name.clone().unwrap_or_else(|| default_name("dense"));
                let d = Dense::with_init(&name, width, c.units, c.bias, c.activation, &c.init, &mut rng)?;
                width = c.units;
                (name, Kind::Dense(d))
            }
        };
        used.push(name.clone());
        layers.push(Layer { name, kind, input_shape: None });
    }
    if layers.is_empty() {
        return Err(Error::unsupported("a model needs at least one layer"));
    }
    Ok(layers)
}

impl Layer {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn params(&self) -> Vec<&Param> {
        match &self.kind {
            Kind::Embedding(e) => e.params(),
            Kind::BatchNorm(b) => b.params(),
            Kind::Recurrent(r) => r.stack.params(),
            Kind::Dropout(_) => Vec::new(),
            Kind::Dense(d) => d.params(),
        }
    }

    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        match &mut self.kind {
            Kind::Embedding(e) => e.params_mut(),
            Kind::BatchNorm(b) => b.params_mut(),
            Kind::Recurrent(r) => r.stack.params_mut(),
            Kind::Dropout(_) => Vec::new(),
            Kind::Dense(d) => d.params_mut(),
        }
    }

    pub fn buffers(&self) -> Vec<Buffer> {
        match &self.kind {
            Kind::BatchNorm(b) => b.buffers(),
            _ => Vec::new(),
        }
    }

    pub fn set_buffer(&mut self, name: &str, data: &[f32]) -> Result<()> {
        match &mut self.kind {
            Kind::BatchNorm(b) => b.set_buffer(name, data),
            _ => Err(Error::unsupported(format!("no buffer named '{name}'"))),
        }
    }

    /// Floats a training forward of `rows` rows of `width_in` features adds to the caches this
    /// layer keeps for backward, beyond what they hold (a recurrent layer counts its own with its
    /// workspace, see `RecurrentStack::forward_into`).
    pub fn training_cache_growth(&self, rows: usize, width_in: usize) -> usize {
        match &self.kind {
            Kind::Dense(d) => d.cache_growth(rows),
            Kind::BatchNorm(b) => b.cache_growth(rows),
            Kind::Dropout(d) => d.cache_growth(rows.saturating_mul(width_in)),
            Kind::Embedding(e) => e.cache_growth(rows),
            Kind::Recurrent(_) => 0,
        }
    }

    /// Floats of the input gradient this layer's backward returns for an input of `input_len`
    /// values (0 when it makes none: an embedding, or a dense or recurrent first layer whose
    /// input gradient is not wanted).
    pub fn input_grad_len(&self, input_len: usize, want_dx: bool) -> usize {
        match &self.kind {
            Kind::Embedding(_) => 0,
            Kind::BatchNorm(_) | Kind::Dropout(_) => input_len,
            Kind::Dense(_) | Kind::Recurrent(_) => {
                if want_dx {
                    input_len
                } else {
                    0
                }
            }
        }
    }

    /// Floats this layer's backward adds to the buffers it keeps, beyond what they hold (a
    /// recurrent layer's workspace, a dense layer's activation gradient), and the floats of the
    /// short-lived vectors it makes besides its input gradient (a final-state layer's `d_h_n`,
    /// the initial states' gradients): `(kept, temporary)`.
    pub fn backward_growth(&self, want_dx: bool, want_initial: bool) -> (usize, usize) {
        match &self.kind {
            Kind::Dense(d) => (d.backward_growth(), 0),
            Kind::Recurrent(r) => {
                let states = r.stack.state_floats();
                let temporary = if r.return_sequences { 0 } else { states } + if want_initial { 2 * states } else { 0 };
                (r.stack.backward_growth(want_dx, want_initial), temporary)
            }
            _ => (0, 0),
        }
    }

    pub fn as_recurrent(&self) -> Option<&RecurrentStack> {
        match &self.kind {
            Kind::Recurrent(r) => Some(&r.stack),
            _ => None,
        }
    }

    /// The random generator of this layer (dropout masks), if it has one.
    pub fn rng(&self) -> Option<&Rng> {
        match &self.kind {
            Kind::Dropout(d) => Some(d.rng()),
            Kind::Recurrent(r) => Some(r.stack.rng()),
            _ => None,
        }
    }

    /// Replaces the random generator (no-op for layers without one).
    pub fn set_rng(&mut self, rng: Rng) {
        match &mut self.kind {
            Kind::Dropout(d) => d.set_rng(rng),
            Kind::Recurrent(r) => r.stack.set_rng(rng),
            _ => {}
        }
    }

    pub fn reset_state(&mut self) {
        if let Kind::Recurrent(r) = &mut self.kind {
            r.carried = None;
        }
    }

    /// Floats [`Layer::carry_states`] allocates after a stateful call of `batch` rows: the
    /// states of a recurrent layer that carries none yet (one that does has them at this batch
    /// size, or the call is refused).
    pub fn carry_growth(&self, batch: usize) -> usize {
        match &self.kind {
            Kind::Recurrent(r) if r.carried.is_none() => {
                let c = r.stack.config();
                let states = r.stack.state_slots().saturating_mul(batch).saturating_mul(c.hidden_size);
                if c.cell.has_cell_state() { states.saturating_mul(2) } else { states }
            }
            _ => 0,
        }
    }

    /// Keeps a recurrent layer's final states of the last forward (`batch` rows) for the next
    /// stateful call, once the call that made them has succeeded (in the buffers of the states
    /// carried before, which have the same size).
    pub fn carry_states(&mut self, batch: usize) {
        if let Kind::Recurrent(r) = &mut self.kind {
            let (h, c) = (r.stack.h_n(), r.stack.c_n());
            match &mut r.carried {
                Some((carried_h, carried_c, b)) => {
                    carried_h.clear();
                    carried_h.extend_from_slice(h);
                    carried_c.clear();
                    carried_c.extend_from_slice(c);
                    *b = batch;
                }
                None => r.carried = Some((h.to_vec(), c.to_vec(), batch)),
            }
        }
    }

    /// Floats the carried states hold (for tests of [`Layer::carry_growth`]).
    #[cfg(test)]
    pub fn carried_capacity(&self) -> usize {
        match &self.kind {
            Kind::Recurrent(r) => r.carried.as_ref().map_or(0, |(h, c, _)| h.capacity() + c.capacity()),
            _ => 0,
        }
    }

    pub fn volatile(&self) -> Volatile {
        match &self.kind {
            Kind::BatchNorm(b) => Volatile::Buffers(b.buffers()),
            Kind::Dropout(d) => Volatile::Rng(d.rng().clone()),
            Kind::Recurrent(r) => Volatile::Rng(r.stack.rng().clone()),
            _ => Volatile::None,
        }
    }

    pub fn restore(&mut self, v: Volatile) {
        match (&mut self.kind, v) {
            (Kind::BatchNorm(b), Volatile::Buffers(bufs)) => {
                for buf in bufs {
                    // Restoring what the layer itself reported cannot fail.
                    let _ = b.set_buffer(&buf.name, &buf.data);
                }
            }
            (Kind::Dropout(d), Volatile::Rng(rng)) => d.set_rng(rng),
            (Kind::Recurrent(r), Volatile::Rng(rng)) => r.stack.set_rng(rng),
            _ => {}
        }
    }

    /// Shape of this layer's output for an input of `shape`.
    pub fn output_shape(&self, shape: OutputShape) -> OutputShape {
        match &self.kind {
            Kind::Embedding(e) => OutputShape { width: e.dim(), ..shape },
            Kind::BatchNorm(_) | Kind::Dropout(_) => shape,
            Kind::Recurrent(r) => {
                let width = r.stack.config().output_size();
                if r.return_sequences {
                    OutputShape { width, ..shape }
                } else {
                    OutputShape { steps: None, width, ..shape }
                }
            }
            Kind::Dense(d) => OutputShape { width: d.out_features(), ..shape },
        }
    }

    /// Runs the layer on `x` (`shape.rows() × shape.width`), writing `out`.
    pub fn forward(&mut self, x: &[f32], ctx: Ctx<'_>, out: &mut Vec<f32>) -> Result<OutputShape> {
        let shape = ctx.shape;
        let rows = shape.rows();
        let out_shape = self.output_shape(shape);
        match &mut self.kind {
            Kind::Embedding(e) => {
                let ids = ctx.tokens.ok_or_else(|| Error::unsupported("embedding layer without token ids"))?;
                if ctx.training {
                    e.forward(ids, out)?
                } else {
                    e.infer(ids, out)?
                }
            }
            Kind::BatchNorm(b) => b.forward(x, rows, ctx.mask, ctx.training, out)?,
            Kind::Dropout(d) => d.forward(x, ctx.training, out)?,
            Kind::Dense(d) => {
                if ctx.training {
                    d.forward(x, rows, out)?
                } else {
                    d.infer(x, rows, out)?
                }
            }
            Kind::Recurrent(r) => {
                let steps = shape.steps.ok_or_else(|| Error::unsupported("recurrent layer without a sequence input"))?;
                let batch = shape.batch;
                // The carried states are read where they are: they change only after the whole
                // call has succeeded (`carry_states`).
                let (h0, c0) = match (&r.carried, ctx.stateful) {
                    (Some((h, c, b)), true) => {
                        if *b != batch {
                            return Err(Error::state(format!(
                                "stateful call with batch size {batch} while states of batch size {b} are carried (reset the states first)"
                            )));
                        }
                        if ctx.initial.h.is_some() || ctx.initial.c.is_some() {
                            return Err(Error::unsupported("initial states given to a stateful call that carries states"));
                        }
                        (Some(&h[..]), if c.is_empty() { None } else { Some(&c[..]) })
                    }
                    _ => (ctx.initial.h, ctx.initial.c),
                };
                let seq = SequenceInput { x, steps, batch, lengths: ctx.lengths, h0, c0 };
                if r.return_sequences {
                    r.stack.forward_into(&seq, ctx.training, Some(out))?;
                } else {
                    // Only the final states are used: the output sequence is not even written.
                    r.stack.forward_into(&seq, ctx.training, None)?;
                    out.clear();
                    let c = r.stack.config();
                    let (hd, dcount) = (c.hidden_size, c.directions());
                    let top = (c.num_layers - 1) * dcount;
                    let hn = r.stack.h_n();
                    for b in 0..batch {
                        for d in 0..dcount {
                            out.extend_from_slice(&hn[((top + d) * batch + b) * hd..][..hd]);
                        }
                    }
                }
            }
        }
        self.input_shape = Some(shape);
        Ok(out_shape)
    }

    /// Backward of the last forward: returns `∂L/∂x` (empty for an embedding or when
    /// `want_dx` is false on the first layer) and, for a recurrent layer when `want_initial`,
    /// the gradients of the initial states.
    #[allow(clippy::type_complexity)]
    pub fn backward(
        &mut self,
        dy: &[f32],
        finals: FinalStateGrads<'_>,
        tbptt: Option<usize>,
        want_dx: bool,
        want_initial: bool,
    ) -> Result<(Vec<f32>, Option<(Vec<f32>, Vec<f32>)>)> {
        let shape = self.input_shape.ok_or_else(|| Error::state("backward called before a forward pass"))?;
        let mut dx = Vec::new();
        match &mut self.kind {
            Kind::Embedding(e) => e.backward(dy)?,
            Kind::BatchNorm(b) => b.backward(dy, Some(&mut dx))?,
            Kind::Dropout(d) => d.backward(dy, &mut dx)?,
            Kind::Dense(d) => d.backward(dy, if want_dx { Some(&mut dx) } else { None })?,
            Kind::Recurrent(r) => {
                let c = r.stack.config().clone();
                let (hd, dcount) = (c.hidden_size, c.directions());
                let batch = shape.batch;
                let slots = c.num_layers * dcount;
                let grads = if r.return_sequences {
                    r.stack.backward_wanting(Some(dy), finals.0, finals.1, tbptt, want_dx, want_initial)?
                } else {
                    // The output was the top layer's final states: route dy into d_h_n.
                    let mut d_hn = finals.0.map(|g| g.to_vec()).unwrap_or_else(|| vec![0.0; slots * batch * hd]);
                    if d_hn.len() != slots * batch * hd {
                        return Err(Error::shape("d_h_n", [slots, batch, hd], [d_hn.len()]));
                    }
                    let top = (c.num_layers - 1) * dcount;
                    for b in 0..batch {
                        for d in 0..dcount {
                            let src = &dy[(b * dcount + d) * hd..][..hd];
                            d_hn[((top + d) * batch + b) * hd..][..hd].iter_mut().zip(src).for_each(|(g, s)| *g += s);
                        }
                    }
                    r.stack.backward_wanting(None, Some(&d_hn), finals.1, tbptt, want_dx, want_initial)?
                };
                dx = grads.x.to_vec();
                return Ok((dx, want_initial.then(|| (grads.h0.to_vec(), grads.c0.to_vec()))));
            }
        }
        Ok((dx, None))
    }
}
