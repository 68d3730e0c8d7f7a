//! One direction of one recurrent layer: its parameters, its workspace, and the forward and
//! backward passes over a whole sequence.

mod rows;
mod weight_grads;

use super::norm::{self, Blocks};
use super::CellKind;
use crate::buffers::{fit, zeroed};
use crate::kernels::{gemm_nn, gemm_prepacked, PackedB};
use rows::{BackwardLoop, CrossRowGrads, ForwardLoop, InputNorm, InputSteps, Shared, StepInput};
use crate::error::Result;
use crate::init::RecurrentInit;
use crate::param::Param;
use crate::rng::Rng;

/// Largest batch whose forward pass projects the input apart from the recurrent product where
/// the two could be fused (see `Direction::fuses_step`): the rows the GEMM's row path takes
/// instead of a register tile (at most half the kernel's 4 rows).
const UNFUSED_MAX_BATCH: usize = 2;

/// Buffers of one direction, sized for one `(T, B)` and reused while the shape repeats.
///
/// Per-step buffers are indexed by time `t` (the reverse direction processes `t = T-1` first).
/// The states `hs`/`cs` have `T+1` slots laid out so that `h_{prev}(t)` (the state step `t`
/// starts from) is slot `t + r` and the state it produces is slot `t + 1 - r`, where `r = 1`
/// for the reverse direction: the `T` previous states of every step are then contiguous
/// (slots `r..T+r`) in time order for both directions, as the whole-sequence weight-gradient
/// GEMM wants them.
#[derive(Debug, Default, Clone)]
struct Workspace {
    steps: usize,
    batch: usize,
    /// Whether the last forward kept what backward needs; without, `hs`/`cs` have two slots
    /// (step `s` in processing order reads slot `s % 2` and writes the other) and `gates`,
    /// `aux` and the layer-norm caches of the recurrent projection hold one step.
    kept: bool,
    /// Input projection `W_ih x + b_ih`, `[T, B, G·H]` when it is computed before the time loop
    /// or with layer norm, else one step `[B, G·H]` (none for the fused LSTM/RNN step); with
    /// layer norm, after backward, the gradient of that projection (the buffer is reused: the
    /// projection is dead by then).
    xp: Vec<f32>,
    /// States `h`, `[T+1, B, H]`, slots as described above.
    hs: Vec<f32>,
    /// Cell states (LSTM), `[T+1, B, H]`, same slots as `hs`.
    cs: Vec<f32>,
    /// Gates after their nonlinearities, `[T, B, G·H]`; after backward of a layer without
    /// layer norm, the gradient of the input projection (each gate overwritten by its own
    /// gradient, see `StepBackward::gates_in_dxp` and `Direction::grads_over_gates`).
    gates: Vec<f32>,
    /// Per-cell extra: `tanh(c)` (LSTM), `W_hn h + b_hn` (GRU reset-after), `r ⊙ h` (GRU
    /// reset-before); `[T, B, H]` (empty for RNN).
    aux: Vec<f32>,
    /// Recurrent projection of the current step, `[B, G·H]`.
    rec: Vec<f32>,
    /// Which rows are real (not padding), `[T, B]`.
    valid: Vec<bool>,
    /// Gradient of the recurrent projection: `[T, B, G·H]` where it differs from the gradient
    /// of the input projection (GRU, layer norm); otherwise (LSTM, RNN without layer norm,
    /// where both projections enter the same pre-activation) empty: the per-step and the
    /// whole-sequence products read the input projection's gradient (over `gates`) instead.
    drec: Vec<f32>,
    dh: Vec<f32>,
    dc: Vec<f32>,
    dh_prev: Vec<f32>,
    dc_prev: Vec<f32>,
    drh: Vec<f32>,
    /// `‖∂L/∂h_t‖` for every time step of the last backward.
    grad_norms: Vec<f32>,
    /// Its square per row, `[T, B]` (summed in row order after the loop, whatever the split).
    norm_parts: Vec<f64>,
    /// Layer norm caches: normalized input projection `[T, B, G·H]` and its per-block `1/σ`
    /// `[T, B, G]`; the same for the recurrent projection.
    xhat_x: Vec<f32>,
    rstd_x: Vec<f32>,
    xhat_h: Vec<f32>,
    rstd_h: Vec<f32>,
    /// The recurrent weights packed once per pass for the per-step GEMM: `W_hh` (the rows the
    /// step multiplies by `h`; transposed in forward), and `W_hn` alone for reset-before GRUs.
    packed_hh: PackedB,
    packed_hn: PackedB,
    /// `W_ihᵀ` packed for the input projection: the time loop's, the one of every step before it
    /// (training with layer norm), or the fused step's first product from a zero state.
    packed_ih: PackedB,
    /// `b_ih + b_hh` (`[G·H]`) for the fused step product (see `Direction::forward`).
    b_sum: Vec<f32>,
    /// Which of the packed operands above hold the forward pass's packing of the current
    /// parameters (see [`Packed`]).
    packed: Packed,
}

/// Which packings of the current parameters a [`Workspace`] holds, so that a forward pass
/// reuses them instead of packing again. Packing reads every weight and writes as much: for a
/// stream of one step at a time (a stateful `predictStep`) that was more than half of each
/// call. [`Direction::params_mut`], the only way to change a parameter, clears both; backward
/// clears `step`, as it packs `W_hh` over `packed_hh` (and `packed_hn`) in the other orientation.
#[derive(Debug, Clone, Copy, Default)]
struct Packed {
    /// `packed_ih` holds `W_ihᵀ`.
    ih: bool,
    /// `Some(fused)`: `packed_hh` holds the forward step's operand (`[W_ih | W_hh]ᵀ` for a
    /// fused step, else the rows of `W_hhᵀ` it multiplies), `packed_hn` `W_hnᵀ` (reset-before
    /// GRU) and, for a fused step, `b_sum` the summed biases.
    step: Option<bool>,
}

/// The shape of one direction of one layer: what [`Direction::with_init`] builds.
#[derive(Debug, Clone, Copy)]
pub struct DirectionSpec {
    /// The cell.
    pub cell: CellKind,
    /// Features of this layer's input.
    pub input_size: usize,
    /// Hidden size `H`.
    pub hidden: usize,
    /// Whether the layer has `bias_ih` and `bias_hh`.
    pub bias: bool,
    /// The layer's index `k` (the `_l{k}` of the parameter names).
    pub layer: usize,
    /// The reverse direction of a bidirectional layer (names end in `_reverse`).
    pub reverse: bool,
    /// Layer norm of the gate pre-activations.
    pub layer_norm: bool,
}

/// One direction of one layer. Its parameters are reached through [`Direction::params`] and
/// [`Direction::params_mut`] (the latter also forgets the weights packed for the time loop).
#[derive(Debug, Clone)]
pub struct Direction {
    cell: CellKind,
    input_size: usize,
    hidden: usize,
    reverse: bool,
    /// `weight_ih_l{k}[_reverse]`, `[G·H, in]`.
    w_ih: Param,
    /// `weight_hh_l{k}[_reverse]`, `[G·H, H]`.
    w_hh: Param,
    /// `bias_ih_l{k}[_reverse]`, `[G·H]`.
    b_ih: Option<Param>,
    /// `bias_hh_l{k}[_reverse]`, `[G·H]`.
    b_hh: Option<Param>,
    /// `peephole_{i,f,o}_l{k}[_reverse]`, each `[H]` (LSTM with peepholes only).
    peepholes: Option<[Param; 3]>,
    /// Layer norm of the gate pre-activations: `layer_norm_{ih,hh}_{weight,bias}_l{k}[_reverse]`,
    /// each `[G·H]` (γ initialized to 1, β to 0), in the order ih weight, ih bias, hh weight,
    /// hh bias.
    layer_norm: Option<[Param; 4]>,
    ws: Workspace,
}

impl Direction {
    /// A direction of the shape `spec`, initialized by `init` (see [`RecurrentInit`]; the
    /// default is PyTorch's `U(-1/√H, 1/√H)` for every parameter): the weights per gate block
    /// (`[H, in]` and `[H, H]`), drawn from `rng` in PyTorch's order — `weight_ih` block by
    /// block, `weight_hh`, `bias_ih`, `bias_hh`, then the peepholes (always `U(-1/√H, 1/√H)`).
    /// `prefix` is prepended to the parameter names (e.g. `"lstm."`). The kinds are not
    /// validated here beyond what cannot apply (a matrix kind on a bias).
    pub fn with_init(spec: DirectionSpec, prefix: &str, init: &RecurrentInit, rng: &mut Rng) -> Result<Self> {
        let DirectionSpec { cell, input_size, hidden, bias, layer, reverse, layer_norm } = spec;
        let g = cell.gates();
        // values and gradients of the weights and of up to 8 vectors of `G·H` (biases,
        // peepholes, layer norm)
        let floats = (g * hidden).saturating_mul(input_size.saturating_add(hidden).saturating_add(8)).saturating_mul(2);
        crate::param::check_allocatable("recurrent layer weights", floats)?;
        let sfx = if reverse { "_reverse" } else { "" };
        let bound = 1.0 / (hidden as f32).sqrt();
        let weight = |name: String, cols: usize, rng: &mut Rng, kind: &crate::init::Init| {
            let mut p = Param::zeros(name, &[g * hidden, cols]);
            for block in p.value.chunks_exact_mut(hidden * cols) {
                kind.fill_matrix(block, hidden, cols, bound, rng);
            }
            p
        };
        let w_ih = weight(format!("{prefix}weight_ih_l{layer}{sfx}"), input_size, rng, &init.weight_ih);
        let w_hh = weight(format!("{prefix}weight_hh_l{layer}{sfx}"), hidden, rng, &init.weight_hh);
        let vector = |name: String, len: usize, rng: &mut Rng, kind: &crate::init::Init| -> Result<Param> {
            let mut p = Param::zeros(name, &[len]);
            kind.fill_vector(&format!("init of {}", p.name), &mut p.value, bound, rng)?;
            Ok(p)
        };
        let (b_ih, b_hh) = if bias {
            let mut b_ih = vector(format!("{prefix}bias_ih_l{layer}{sfx}"), g * hidden, rng, &init.bias)?;
            let mut b_hh = vector(format!("{prefix}bias_hh_l{layer}{sfx}"), g * hidden, rng, &init.bias)?;
            if let (Some(v), CellKind::Lstm { .. }) = (init.forget_bias, cell) {
                // Gate order i, f, g, o: the forget gate is the second block.
                b_ih.value[hidden..2 * hidden].iter_mut().for_each(|b| *b = v);
                b_hh.value[hidden..2 * hidden].iter_mut().for_each(|b| *b = 0.0);
            }
            (Some(b_ih), Some(b_hh))
        } else {
            (None, None)
        };
        let default = crate::init::Init::PytorchDefault;
        let peepholes = match cell {
            CellKind::Lstm { peephole: true } => Some([
                vector(format!("{prefix}peephole_i_l{layer}{sfx}"), hidden, rng, &default)?,
                vector(format!("{prefix}peephole_f_l{layer}{sfx}"), hidden, rng, &default)?,
                vector(format!("{prefix}peephole_o_l{layer}{sfx}"), hidden, rng, &default)?,
            ]),
            _ => None,
        };
        let layer_norm = layer_norm.then(|| {
            let named = |part: &str, fill: f32| {
                let mut p = Param::zeros(format!("{prefix}layer_norm_{part}_l{layer}{sfx}"), &[g * hidden]);
                p.value.iter_mut().for_each(|v| *v = fill);
                p
            };
            [named("ih_weight", 1.0), named("ih_bias", 0.0), named("hh_weight", 1.0), named("hh_bias", 0.0)]
        });
        Ok(Direction { cell, input_size, hidden, reverse, w_ih, w_hh, b_ih, b_hh, peepholes, layer_norm, ws: Workspace::default() })
    }

    /// Floats a forward pass of `steps × batch` rows allocates for this direction's workspace
    /// beyond what its buffers already hold (`keep`: a training pass): each buffer's length after
    /// the pass ([`Direction::forward_sizes`], what `forward` sizes them to) less its capacity,
    /// and the row flags (a byte each). What a caller checks can be allocated before the pass,
    /// since a failed allocation in wasm aborts (see [`crate::param::check_allocatable`]). Exact,
    /// not an estimate from above: the check allocates what it counts, so anything counted beyond
    /// the need would raise the wasm heap's high-water mark for good.
    pub(super) fn forward_growth(&self, steps: usize, batch: usize, keep: bool) -> usize {
        let split = rows::split(steps, batch, self.cell.gates() * self.hidden, self.hidden, !keep);
        let sizes = self.forward_sizes(steps, batch, keep, &split);
        let buffers: usize = sizes.iter().zip(self.forward_buffers()).map(|(&len, buf)| len.saturating_sub(buf.capacity())).sum();
        buffers + (steps * batch).saturating_sub(self.ws.valid.capacity()).div_ceil(4)
    }

    /// The workspace buffers a forward pass sizes, in the order of [`Direction::forward_sizes`].
    fn forward_buffers(&self) -> [&Vec<f32>; 10] {
        let ws = &self.ws;
        [&ws.xp, &ws.hs, &ws.gates, &ws.aux, &ws.rec, &ws.cs, &ws.xhat_x, &ws.rstd_x, &ws.xhat_h, &ws.rstd_h]
    }

    /// Whether a forward pass projects the input inside its time loop, a block of steps at a
    /// time (else before it, for every step at once, or not at all for the fused LSTM/RNN
    /// step): always but for training with layer norm, whose backward works on the projection
    /// of every step (see `forward`).
    fn projects_in_loop(&self, keep: bool, batch: usize) -> bool {
        (self.layer_norm.is_none() || !keep) && !self.fuses_step(batch)
    }

    /// Lengths of the workspace buffers `xp, hs, gates, aux, rec, cs, xhat_x, rstd_x, xhat_h,
    /// rstd_h` after a forward pass of `steps × batch` rows split as `split` (`keep`: a training
    /// pass, which keeps every step for backward; otherwise two state slots and one step of the
    /// rest).
    fn forward_sizes(&self, steps: usize, batch: usize, keep: bool, split: &rows::Split) -> [usize; 10] {
        let (hd, g) = (self.hidden, self.cell.gates());
        let (bh, bg) = (batch * hd, batch * g * hd);
        let (kept_steps, slots) = if keep { (steps, steps + 1) } else { (1, 2) };
        let xp = if self.fuses_step(batch) {
            0
        } else if self.projects_in_loop(keep, batch) {
            rows::projection_block_steps(steps, batch, split.ranges) * bg
        } else {
            steps * bg
        };
        let aux = if matches!(self.cell, CellKind::Rnn { .. }) { 0 } else { kept_steps * bh };
        let cs = if self.cell.has_cell_state() { slots * bh } else { 0 };
        // Layer norm's x̂ and 1/σ, of the input and of the recurrent projection: every step for
        // backward, else one (inference normalizes the input projection a step at a time).
        let [xhat, rstd] = if self.layer_norm.is_some() { [kept_steps * bg, kept_steps * batch * g] } else { [0, 0] };
        [xp, slots * bh, kept_steps * bg, aux, bg, cs, xhat, rstd, xhat, rstd]
    }

    /// Floats a backward pass of `steps × batch` rows allocates beyond what the workspace holds
    /// (an estimate from above): the recurrent projection's gradient where it is kept, the
    /// per-row norm parts (f64: two floats each), the per-step norms, the carried state
    /// gradients, and the weight gradients' packed operands.
    pub(super) fn backward_growth(&self, steps: usize, batch: usize) -> usize {
        let rows = steps * batch;
        let drec = if self.keeps_drec() { rows * self.cell.gates() * self.hidden } else { 0 };
        let reset_before = matches!(self.cell, CellKind::Gru { reset_after: false });
        let packing = weight_grads::packing_growth(rows, self.hidden, self.input_size, reset_before);
        (drec + 2 * rows + steps + 6 * batch * self.hidden).saturating_sub(self.ws.drec.capacity() + 2 * self.ws.norm_parts.capacity()) + packing
    }

    /// The parameters, in PyTorch's order (weights, biases, then peepholes).
    pub fn params(&self) -> Vec<&Param> {
        let mut v = vec![&self.w_ih, &self.w_hh];
        v.extend(self.b_ih.iter());
        v.extend(self.b_hh.iter());
        if let Some(p) = &self.peepholes {
            v.extend(p.iter());
        }
        if let Some(p) = &self.layer_norm {
            v.extend(p.iter());
        }
        v
    }

    /// Mutable access to the parameters, same order as [`Direction::params`]. Forgets the
    /// packed weights (the next forward packs them again).
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.ws.packed = Packed::default();
        let mut v = vec![&mut self.w_ih, &mut self.w_hh];
        v.extend(self.b_ih.iter_mut());
        v.extend(self.b_hh.iter_mut());
        if let Some(p) = &mut self.peepholes {
            v.extend(p.iter_mut());
        }
        if let Some(p) = &mut self.layer_norm {
            v.extend(p.iter_mut());
        }
        v
    }

    /// `‖∂L/∂h_t‖` (over the batch) for every time step of the last backward pass.
    pub fn step_grad_norms(&self) -> &[f32] {
        &self.ws.grad_norms
    }

    /// Slots of `hs`/`cs` that step `t` reads and writes: `(prev, new)` (see [`Workspace`]).
    fn slots(&self, t: usize) -> (usize, usize) {
        if self.reverse {
            (t + 1, t)
        } else {
            (t, t + 1)
        }
    }

    /// Whether both projections enter one pre-activation as they are (LSTM and RNN without layer
    /// norm): the forward step is then one fused product (see [`Direction::forward`]), there is
    /// no `xp`, and backward has one gradient for both projections, written over the gates.
    fn fuses_projections(&self) -> bool {
        self.layer_norm.is_none() && matches!(self.cell, CellKind::Lstm { .. } | CellKind::Rnn { .. })
    }

    /// Whether a forward pass of `batch` rows makes each step as one fused product (see
    /// [`Direction::forward`]): where the projections can be fused, but for at most
    /// [`UNFUSED_MAX_BATCH`] rows. Such a step runs on the GEMM's row path, which reads every
    /// weight once per row, so the fused product read all of `W_ih` again at every step;
    /// unfused, the loop projects a block of 16 steps at once in whole register tiles
    /// (`InputSteps`), and a step reads `W_hh` alone. Inference through the bindings, simd
    /// build, T = 64, two builds interleaved in one process, time unfused / fused: LSTM
    /// I = 256, H = 64: B = 1 0.60, B = 2 0.67; I = 64, H = 256: B = 1 0.88, B = 2 0.90;
    /// I = 16, H = 128 (weights that stay in L2): B = 1 0.90, B = 2 1.00; RNN I = 64, H = 256,
    /// B = 1 0.94. Backward is the same either way (one gradient for both projections). The
    /// choice depends on the batch only, never on the build, the thread count or training, so
    /// those still agree bit for bit.
    fn fuses_step(&self, batch: usize) -> bool {
        self.fuses_projections() && batch > UNFUSED_MAX_BATCH
    }

    /// Whether backward keeps the recurrent projection's gradient for every step (it differs
    /// from the input projection's: GRU, or layer norm on the projections).
    fn keeps_drec(&self) -> bool {
        !self.fuses_projections()
    }

    /// Whether backward writes the input projection's gradient over the gates (every cell
    /// without layer norm), so that training needs the input projection only while a step
    /// runs. Layer norm's backward works on the projection's buffer, which it keeps.
    fn grads_over_gates(&self) -> bool {
        self.layer_norm.is_none()
    }

    /// Runs the sequence `x` (`[T, B, in]`, time-major) from `h0` (and `c0`), writing `h_t` (or
    /// 0 at padded steps) into `out[(t·B + b)·out_stride + out_offset ..][..H]` (nothing when
    /// `out` is empty). With `keep`, everything backward needs is stored; without (inference),
    /// only the current step's gates and two state slots, which [`Direction::backward`] cannot
    /// follow. Shapes were checked by the caller.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn forward(
        &mut self,
        x: &[f32],
        steps: usize,
        batch: usize,
        lengths: Option<&[usize]>,
        h0: &[f32],
        c0: &[f32],
        out: &mut [f32],
        out_stride: usize,
        out_offset: usize,
        keep: bool,
    ) {
        let (hd, gh, inp) = (self.hidden, self.cell.gates() * self.hidden, self.input_size);
        let bh = batch * hd;
        self.ws.steps = steps;
        self.ws.batch = batch;
        self.ws.kept = keep;
        let first = if keep { self.slots(if self.reverse { steps - 1 } else { 0 }).0 } else { 0 };
        let split = rows::split(steps, batch, gh, hd, !keep);
        let [xp_len, hs_len, gates_len, aux_len, rec_len, cs_len, xhat_x_len, rstd_x_len, xhat_h_len, rstd_h_len] = self.forward_sizes(steps, batch, keep, &split);
        // The time loop projects the input itself (`InputSteps`): a task with the whole batch a
        // block of about 16 rows at a time, a task with a row range step by step. One fork/join
        // per pass instead of two when split by rows, `b_ih` added by each task to its rows (not
        // in a pass of one thread over every step), the projection still in cache when the cells
        // read it, and an `xp` of one block whatever the sequence length (backward writes the
        // projection's gradient over the gates, see `grads_over_gates`). Not for training with
        // layer norm, whose backward needs every step's projection: that is made below, for every
        // step at once. Both use the prepacked kernel, so the bits are the same either way.
        let in_loop = self.projects_in_loop(keep, batch);
        // LSTM and RNN without layer norm go further: both projections enter the same
        // pre-activation, so each step is one product `[x_t | h_{t-1}] · [W_ih | W_hh]ᵀ` (the two
        // weights packed once as one operand, `x_t` and `h_{t-1}` read in place), with
        // `b_ih + b_hh` added by the cell: no separate input product per step (a short-depth
        // product with its own stores of C), no pass adding `b_ih`, no `xp` for the cell to
        // read. On one pool task too, where the per-step product is split by columns as the
        // recurrent one was: the bits do not depend on the thread count.
        let fused = self.fuses_step(batch);
        // From a zero state (the default) the first step's recurrent product is zero: it is
        // skipped (for a fused step, the product takes `x_t · W_ihᵀ` alone). The same bits: the
        // skipped terms are `±0` added to sums that are never `-0`.
        let zero_start = h0.iter().all(|&v| v == 0.0);
        let ws = &mut self.ws;
        // Every step's `xp` only when it is projected before the loop (training with layer norm,
        // whose backward writes the projection's gradient there; the others write it over the
        // gates); one block when the loop projects; none for the fused cells.
        fit(&mut ws.xp, xp_len);
        fit(&mut ws.hs, hs_len);
        fit(&mut ws.gates, gates_len);
        fit(&mut ws.aux, aux_len);
        fit(&mut ws.rec, rec_len);
        if self.cell.has_cell_state() {
            fit(&mut ws.cs, cs_len);
            ws.cs[first * bh..][..bh].copy_from_slice(c0);
        }
        ws.hs[first * bh..][..bh].copy_from_slice(h0);
        fit(&mut ws.valid, steps * batch);
        for (row, v) in ws.valid.iter_mut().enumerate() {
            *v = lengths.is_none_or(|l| row / batch < l[row % batch]);
        }

        // 1. Input projection of every step at once, unless the time loop makes it:
        // xp = LN(X · W_ihᵀ) + b_ih (with the prepacked kernel, as the time loop does it, for the
        // same bits).
        // (Nothing to project ahead for a fused step: the time loop's product does it, packed
        // below, but for the first step from a zero state.)
        if (!fused || zero_start) && !ws.packed.ih {
            ws.packed_ih.pack(inp, gh, &self.w_ih.value, 1, inp);
            ws.packed.ih = true;
        }
        if !fused {
            if !in_loop {
                gemm_prepacked(steps * batch, 1.0, x, inp, 1, &ws.packed_ih, 0.0, &mut ws.xp, gh, 1);
            }
        }
        if let Some(ln) = &self.layer_norm {
            fit(&mut ws.xhat_x, xhat_x_len);
            fit(&mut ws.rstd_x, rstd_x_len);
            fit(&mut ws.xhat_h, xhat_h_len);
            fit(&mut ws.rstd_h, rstd_h_len);
            // Training keeps x̂ and 1/σ of every step for backward (the projection made above);
            // inference keeps one step's worth, and the time loop normalizes each step's
            // projection as it makes it.
            if !in_loop {
                let w = Blocks { rows: steps * batch, stride: gh, col0: 0, cols: gh, hidden: hd };
                norm::forward_in_place(&mut ws.xp, w, &ln[0].value, &ln[1].value, &mut ws.xhat_x, &mut ws.rstd_x);
            }
        }
        if let (Some(b), false) = (&self.b_ih, in_loop || fused) {
            crate::kernels::rows::add_to_rows(&mut ws.xp, &b.value);
        }

        // 2. The time loop: one recurrent GEMM and one fused kernel per step, split by rows
        // among the pool's threads when that pays.
        let w_hh = &self.w_hh.value;
        let reset_before = matches!(self.cell, CellKind::Gru { reset_after: false });
        let rec_cols = if reset_before { 2 * hd } else { gh };
        if ws.packed.step != Some(fused) {
            if fused {
                ws.packed_hh.pack_concat(inp, hd, gh, &self.w_ih.value, 1, inp, w_hh, 1, hd);
                ws.b_sum.clear();
                match (&self.b_ih, &self.b_hh) {
                    (Some(bi), Some(bh)) => ws.b_sum.extend(bi.value.iter().zip(&bh.value).map(|(a, b)| a + b)),
                    (Some(b), None) | (None, Some(b)) => ws.b_sum.extend_from_slice(&b.value),
                    (None, None) => {}
                }
            } else {
                ws.packed_hh.pack(hd, rec_cols, w_hh, 1, hd);
            }
            if reset_before {
                ws.packed_hn.pack(hd, hd, &w_hh[2 * hd * hd..], 1, hd);
            }
            ws.packed.step = Some(fused);
        }
        let time_loop = ForwardLoop {
            cell: self.cell,
            hidden: hd,
            steps,
            batch,
            reverse: self.reverse,
            keep,
            valid: &ws.valid,
            xp: Shared::new(&mut ws.xp),
            zero_start,
            input: if fused {
                StepInput::Fused { x, input_size: inp, packed_ih: zero_start.then_some(&ws.packed_ih) }
            } else if in_loop {
                StepInput::Steps(InputSteps {
                    x,
                    input_size: inp,
                    packed_ih: &ws.packed_ih,
                    b_ih: self.b_ih.as_ref().map(|p| p.value.as_slice()),
                    block_steps: rows::projection_block_steps(steps, batch, split.ranges),
                    layer_norm: self.layer_norm.as_ref().map(|ln| InputNorm {
                        gamma: &ln[0].value,
                        beta: &ln[1].value,
                        xhat: Shared::new(&mut ws.xhat_x),
                        rstd: Shared::new(&mut ws.rstd_x),
                    }),
                })
            } else {
                StepInput::Projected
            },
            b_hh: if fused {
                (self.b_ih.is_some() || self.b_hh.is_some()).then_some(&ws.b_sum[..])
            } else {
                self.b_hh.as_ref().map(|p| p.value.as_slice())
            },
            layer_norm: self.layer_norm.as_ref().map(|ln| (&ln[2].value[..], &ln[3].value[..])),
            peepholes: self.peepholes.as_ref().map(|p| (&p[0].value[..], &p[1].value[..], &p[2].value[..])),
            packed_hh: &ws.packed_hh,
            packed_hn: &ws.packed_hn,
            hs: Shared::new(&mut ws.hs),
            cs: Shared::new(&mut ws.cs),
            gates: Shared::new(&mut ws.gates),
            aux: Shared::new(&mut ws.aux),
            rec: Shared::new(&mut ws.rec),
            xhat_h: Shared::new(&mut ws.xhat_h),
            rstd_h: Shared::new(&mut ws.rstd_h),
            out: (Shared::new(out), out_stride, out_offset),
        };
        // SAFETY: the row ranges of a split are disjoint, and every buffer was sized above for
        // `steps × batch` (the layer-norm caches only with layer norm, the only case that reads
        // them; `out` by the caller, for every row it gets written).
        rows::for_row_ranges(batch, split, &|b0, b1, c| unsafe { time_loop.run(b0, b1, split.forward_steps(c)) });
    }

    /// Final states after the last forward (`[B, H]` each; `c` empty for cells without it).
    pub(crate) fn final_states(&self) -> (&[f32], &[f32]) {
        let bh = self.ws.batch * self.hidden;
        let last = if self.ws.kept { self.slots(if self.reverse { 0 } else { self.ws.steps - 1 }).1 } else { self.ws.steps % 2 };
        let c = if self.cell.has_cell_state() { &self.ws.cs[last * bh..(last + 1) * bh] } else { &[][..] };
        (&self.ws.hs[last * bh..(last + 1) * bh], c)
    }

    /// Gradients of the initial states after the last backward (`[B, H]` each).
    pub(crate) fn initial_state_grads(&self) -> (&[f32], &[f32]) {
        (&self.ws.dh, if self.cell.has_cell_state() { &self.ws.dc } else { &[][..] })
    }

    /// Backpropagation through time for the last forward. `d_out` is read like `out` was
    /// written (empty: no gradient reaches the outputs, only the final states); `d_hn`/`d_cn`
    /// are the gradients of the final states (`[B, H]`, may be empty for zero). Parameter
    /// gradients are accumulated; `dx` (`[T, B, in]`), when given, is accumulated too.
    /// `tbptt = Some(k)` stops the gradient at every border at a time index that is a multiple
    /// of k (between steps k-1 and k, ...), the same borders for a reverse direction (whose
    /// first window is then its last `T mod k` steps). Without `initial_grads`
    /// the gradients of the initial states are not finished ([`Direction::initial_state_grads`]
    /// then holds only part of them): the first step's product by `W_hh` is skipped.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn backward(
        &mut self,
        x: &[f32],
        d_out: &[f32],
        out_stride: usize,
        out_offset: usize,
        d_hn: &[f32],
        d_cn: &[f32],
        tbptt: Option<usize>,
        dx: Option<&mut [f32]>,
        initial_grads: bool,
    ) {
        let (hd, gh, inp) = (self.hidden, self.cell.gates() * self.hidden, self.input_size);
        let (steps, batch) = (self.ws.steps, self.ws.batch);
        let (bh, bg) = (batch * hd, batch * gh);
        let lstm = self.cell.has_cell_state();
        let keeps_drec = self.keeps_drec();
        let over_gates = self.grads_over_gates();
        assert!(self.ws.kept, "Direction::backward after a forward that kept nothing for it");
        {
            let ws = &mut self.ws;
            // Each step's gates are dead once its backward cell has run (and `xp` once the
            // forward pass is done): backward writes the gradient of the input projection over
            // the gates, or with layer norm over `xp` (every element, padding included), which
            // saves one `[T, B, G·H]` array per direction.
            debug_assert!(over_gates || ws.xp.len() == steps * bg);
            fit(&mut ws.drec, if keeps_drec { steps * bg } else { 0 });
            zeroed(&mut ws.dh, bh);
            zeroed(&mut ws.dc, if lstm { bh } else { 0 });
            fit(&mut ws.dh_prev, bh);
            fit(&mut ws.dc_prev, if lstm { bh } else { 0 });
            fit(&mut ws.drh, bh);
            fit(&mut ws.grad_norms, steps);
            fit(&mut ws.norm_parts, steps * batch);
            if !d_hn.is_empty() {
                ws.dh.copy_from_slice(d_hn);
            }
            if lstm && !d_cn.is_empty() {
                ws.dc.copy_from_slice(d_cn);
            }
        }
        let w_hh = &self.w_hh.value;
        let reset_before = matches!(self.cell, CellKind::Gru { reset_after: false });
        // Rows of W_hh the per-step GEMM multiplies (reset-before: r, z only; n went through rh).
        let rec_rows = if reset_before { 2 * hd } else { gh };
        let ws = &mut self.ws;
        ws.packed.step = None;
        ws.packed_hh.pack(rec_rows, hd, w_hh, hd, 1);
        if reset_before {
            ws.packed_hn.pack(hd, hd, &w_hh[2 * hd * hd..], hd, 1);
        }
        // The pre-activations' gradient goes over the gates (`StepBackward::gates_in_dxp`), or
        // with layer norm over the dead input projection. Either way backward consumes the
        // forward pass: the model asks for a new one before the next.
        let (gates, dg): (&[f32], &mut Vec<f32>) = if over_gates { (&[], &mut ws.gates) } else { (&ws.gates, &mut ws.xp) };
        let time_loop = BackwardLoop {
            cell: self.cell,
            hidden: hd,
            steps,
            batch,
            reverse: self.reverse,
            tbptt,
            initial_grads,
            valid: &ws.valid,
            gates,
            hs: &ws.hs,
            cs: &ws.cs,
            aux: &ws.aux,
            xhat_h: &ws.xhat_h,
            rstd_h: &ws.rstd_h,
            d_out: (d_out, out_stride, out_offset),
            packed_hh: &ws.packed_hh,
            packed_hn: &ws.packed_hn,
            dxp: Shared::new(dg),
            drec: Shared::new(&mut ws.drec),
            keeps_drec,
            dh: Shared::new(&mut ws.dh),
            dc: Shared::new(&mut ws.dc),
            dh_prev: Shared::new(&mut ws.dh_prev),
            dc_prev: Shared::new(&mut ws.dc_prev),
            drh: Shared::new(&mut ws.drh),
            norm_parts: Shared::new(&mut ws.norm_parts),
        };
        // Layer norm's and the peepholes' gradients are sums over the batch inside the loop:
        // they keep the whole batch in one task (whose products may still be split).
        let cross = CrossRowGrads {
            b_hh: if self.layer_norm.is_some() { self.b_hh.as_mut() } else { None },
            layer_norm: self.layer_norm.as_mut(),
            peepholes: self.peepholes.as_mut(),
        };
        // SAFETY: as in forward; only the single task gets the cross-row gradients.
        if cross.any() {
            unsafe { time_loop.run(0, batch, 0..steps, cross) };
        } else {
            let split = rows::split(steps, batch, gh, hd, false);
            rows::for_row_ranges(batch, split, &|b0, b1, c| unsafe { time_loop.run(b0, b1, split.backward_steps(c), CrossRowGrads::default()) });
        }
        let ws = &mut self.ws;
        if steps % 2 == 1 {
            // The carried gradients ended in the `_prev` buffers (see `BackwardLoop::run`).
            std::mem::swap(&mut ws.dh, &mut ws.dh_prev);
            std::mem::swap(&mut ws.dc, &mut ws.dc_prev);
        }
        for (norm, parts) in ws.grad_norms.iter_mut().zip(ws.norm_parts.chunks_exact(batch)) {
            *norm = parts.iter().sum::<f64>().sqrt() as f32;
        }

        // 3. Weight and bias gradients: sums over every step and row, in one pool job (two
        // with layer norm, whose backward turns `xp` into the raw projection's gradient between
        // b_ih's sum and W_ih's).
        let (prev0, _) = self.slots(0);
        let ws = &mut self.ws;
        let tb = steps * batch;
        let shape = GradShape { hidden: hd, input_size: inp, gh, rows: tb, prev0, reset_before, keeps_drec, over_gates };
        // Without a kept `drec` both biases get the same sum of the same rows: when their
        // gradients also start equal (after zero_grad), b_ih's result is b_hh's, bit for bit.
        let ln = self.layer_norm.is_some();
        let copy_b_hh = match (&self.b_ih, &self.b_hh) {
            (Some(bi), Some(bh)) if !keeps_drec && !ln => bi.grad.iter().zip(&bh.grad).all(|(x, y)| x.to_bits() == y.to_bits()),
            _ => false,
        };
        let targets = weight_grads::Targets {
            w_hh: Some(&mut self.w_hh.grad),
            // Under layer norm b_hh's gradient was summed inside the time loop.
            b_hh: self.b_hh.as_mut().filter(|_| !ln).map(|b| &mut b.grad[..]),
            b_ih: self.b_ih.as_mut().filter(|_| !copy_b_hh).map(|b| &mut b.grad[..]),
            w_ih: (!ln).then_some(&mut self.w_ih.grad[..]),
        };
        weight_grads::accumulate(&shape.operands(ws, x), targets);
        if let (Some(bi), Some(bh), true) = (&mut self.b_ih, &self.b_hh, copy_b_hh) {
            bi.grad.copy_from_slice(&bh.grad);
        }
        if let Some(ln) = &mut self.layer_norm {
            let [gw, gb, _, _] = ln;
            let w = Blocks { rows: tb, stride: gh, col0: 0, cols: gh, hidden: hd };
            norm::backward_in_place(&mut ws.xp, w, &gw.value, &ws.xhat_x, &ws.rstd_x, &mut gw.grad, &mut gb.grad);
            let targets = weight_grads::Targets { w_ih: Some(&mut self.w_ih.grad), ..Default::default() };
            weight_grads::accumulate(&shape.operands(ws, x), targets);
        }
        if let Some(dx) = dx {
            gemm_nn(tb, inp, gh, shape.dg(ws), &self.w_ih.value, 1.0, dx);
        }
    }
}

/// With layer norm on the recurrent projection: accumulates `b_hh`'s gradient over the window
/// (the bias is added after the normalization), then turns the window of `drec` into the
/// gradient of the raw projection `W_hh h`, accumulating γ and β gradients.
fn recurrent_norm_backward(ln: &mut [Param; 4], b_hh: Option<&mut Param>, drec: &mut [f32], w: Blocks, xhat: &[f32], rstd: &[f32]) {
    if let Some(b) = b_hh {
        for r in 0..w.rows {
            for c in w.col0..w.col0 + w.cols {
                b.grad[c] += drec[r * w.stride + c];
            }
        }
    }
    let [_, _, gw, gb] = ln;
    norm::backward_in_place(drec, w, &gw.value, xhat, rstd, &mut gw.grad, &mut gb.grad);
}

/// Shapes of the sums after the backward time loop (see [`weight_grads`]).
struct GradShape {
    hidden: usize,
    input_size: usize,
    gh: usize,
    rows: usize,
    /// The state slot the first step starts from.
    prev0: usize,
    reset_before: bool,
    keeps_drec: bool,
    /// [`Direction::grads_over_gates`].
    over_gates: bool,
}

impl GradShape {
    /// Where backward left the input projection's gradient: over the gates, or with layer norm
    /// over the projection.
    fn dg<'a>(&self, ws: &'a Workspace) -> &'a [f32] {
        if self.over_gates {
            &ws.gates
        } else {
            &ws.xp
        }
    }

    /// The operands in `ws` and `x`: without a kept `drec`, the recurrent projection's gradient
    /// is the input projection's.
    fn operands<'a>(&self, ws: &'a Workspace, x: &'a [f32]) -> weight_grads::Operands<'a> {
        let (hd, rows) = (self.hidden, self.rows);
        weight_grads::Operands {
            hidden: hd,
            input_size: self.input_size,
            gh: self.gh,
            rows,
            reset_before: self.reset_before,
            drec: if self.keeps_drec { &ws.drec } else { self.dg(ws) },
            h_prevs: &ws.hs[self.prev0 * ws.batch * hd..][..rows * hd],
            aux: &ws.aux,
            dxp: self.dg(ws),
            x,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::Activation;

    const CELLS: [CellKind; 5] = [
        CellKind::Rnn { activation: Activation::Tanh },
        CellKind::Lstm { peephole: false },
        CellKind::Lstm { peephole: true },
        CellKind::Gru { reset_after: true },
        CellKind::Gru { reset_after: false },
    ];

    /// Capacity of the buffers a forward pass sizes.
    fn forward_capacity(d: &Direction) -> usize {
        d.forward_buffers().iter().map(|b| b.capacity()).sum::<usize>() + d.ws.valid.capacity().div_ceil(4)
    }

    /// An inference pass keeps one step of every workspace buffer (one block of steps of the
    /// input projection, which the loop makes and normalizes itself), layer norm's included, so
    /// its workspace does not grow with the sequence (but for the row flags, a byte per row).
    #[test]
    fn inference_workspace_does_not_grow_with_the_sequence() {
        for cell in CELLS {
            for layer_norm in [false, true] {
                let (inp, hd, batch) = (3, 5, 4);
                let spec = DirectionSpec { cell, input_size: inp, hidden: hd, bias: true, layer: 0, reverse: false, layer_norm };
                let d = Direction::with_init(spec, "", &RecurrentInit::default(), &mut crate::rng::Rng::new(1)).unwrap();
                let gh = cell.gates() * hd;
                let sizes = |steps| d.forward_sizes(steps, batch, false, &rows::split(steps, batch, gh, hd, true));
                assert_eq!(sizes(300), sizes(30_000), "{cell:?} layer_norm {layer_norm}");
            }
        }
    }

    /// `forward_growth` is what a forward pass makes its buffers grow by, exactly (the
    /// allocation check allocates what it counts, so more would raise the wasm heap for good),
    /// for training and inference passes, from an empty workspace and after other passes.
    #[test]
    fn forward_growth_is_what_a_forward_allocates() {
        for cell in CELLS {
            for layer_norm in [false, true] {
                let (inp, hd) = (3, 5);
                let spec = DirectionSpec { cell, input_size: inp, hidden: hd, bias: true, layer: 0, reverse: false, layer_norm };
                let mut d = Direction::with_init(spec, "", &RecurrentInit::default(), &mut crate::rng::Rng::new(1)).unwrap();
                // (steps, batch, keep), row counts that are multiples of 4 (the row flags count
                // as a quarter of a float each); batches of 1 and 2 project their input apart
                for (steps, batch, keep) in [(4, 2, true), (8, 3, false), (8, 3, true), (2, 2, true), (12, 4, false), (8, 3, true), (12, 3, true), (8, 2, false), (8, 1, false), (20, 1, true)] {
                    let x = vec![0.25f32; steps * batch * inp];
                    let zeros = vec![0.0f32; batch * hd];
                    let growth = d.forward_growth(steps, batch, keep);
                    let before = forward_capacity(&d);
                    d.forward(&x, steps, batch, None, &zeros, &zeros, &mut [], 0, 0, keep);
                    let what = format!("{cell:?} layer_norm {layer_norm}, {steps}×{batch} keep {keep}");
                    assert_eq!(growth, forward_capacity(&d) - before, "{what}");
                    assert_eq!(d.forward_growth(steps, batch, keep), 0, "{what}: nothing more for the same pass");
                }
            }
        }
    }
}
