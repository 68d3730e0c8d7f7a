//! The time loops of one direction over a range of batch rows.
//!
//! Rows of a batch are independent through time: the per-step recurrent GEMM and the cell
//! kernels of rows `b0..b1` read and write only those rows of every per-step buffer. So the
//! pool's threads can each run the time loop for their own contiguous rows, with no
//! synchronization per step ([`split`] decides when that pays). Cross-row reductions inside
//! the loop (the layer-norm γ/β and `b_hh` gradients, the peephole gradients) need the whole
//! batch in one task: they are passed in [`CrossRowGrads`], which only a single task gets.
//!
//! A training loop runs each row range in chunks of a few steps, and a thread that finishes a
//! chunk takes the next chunk of the least advanced range no other thread holds
//! ([`for_row_ranges`]): the ranges advance together, and when a thread starts late or the host
//! slows it down, the others take more chunks, where a range fixed per thread made the first
//! thread wait at the end for the other's whole remaining loop.
//!
//! Bits do not depend on the split: the GEMM computes every element of a row with the same
//! operations in the same order whatever the number of rows in the product and the row's
//! position in its register tile, and the per-step `‖∂L/∂h‖` is reduced after the loop from
//! per-row partial sums in row order.

use super::super::cells::{self, PeepholeGrads, StepBackward, StepForward};
use super::super::norm::{self, Blocks};
use super::super::CellKind;
use super::recurrent_norm_backward;
use crate::kernels::tiny::flush_tiny;
use crate::kernels::{gemm_prepacked, gemm_prepacked_concat, PackedB};
use crate::param::Param;
use crate::parallel;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::*};

/// Fewest rows a task of a split time loop gets: below that the per-step products get too
/// thin for the GEMM kernel's register tiles.
const MIN_ROWS: usize = 8;

/// Fewest multiply-adds of the recurrent products over a whole sequence (`T·B·G·H·H`) for which
/// the time loop is split by rows: one pool wake-up and join (a few µs) per pass.
const MIN_WORK: usize = 1 << 18;

/// Row ranges per thread of a split inference time loop whose recurrent weights fit
/// [`FINE_MAX_WEIGHTS`]: tasks are claimed as threads come free, so a helper that wakes late (a
/// sleeping thread takes tens of µs to wake) or loses its core for a while (to the calling
/// thread's timers, on a 2-core machine) leaves its share to the others.
const TASKS_PER_THREAD: usize = 4;

/// Bytes of recurrent weights (`G·H × H` floats) up to which a split inference loop gets
/// [`TASKS_PER_THREAD`] row ranges per thread: every task reads all of the weights at every step,
/// which costs little while they stay in a core's L2 cache (commonly 1–2 MiB). Measured on the
/// 2-core machine (Node 20, SDK, 2 threads, fresh processes, interleaved): medium (H = 128,
/// 256 KiB) 5.09–5.18 → 4.88–4.95 ms median with 4 ranges per thread; large (H = 256, 1 MiB)
/// 38.6–40.3 → 39.9–40.7 ms, so larger weights get fewer, chunked ranges instead (see [`split`]).
/// (Before, the sequence's multiply-adds decided: fine below 2^24, which was only small.)
const FINE_MAX_WEIGHTS: usize = 512 << 10;

/// Row ranges per thread of a split training time loop, run in chunks of [`CHUNK_STEPS`].
const RANGES_PER_THREAD: usize = 2;

/// Steps per chunk of a split training time loop: short enough that the last chunks, which one
/// thread may finish while the other has nothing left, take little time (about 0.3 ms for the
/// 8 rows of a range at B = 32, H = 128), long enough that claiming one (a few atomic operations,
/// and the rows' states coming from the other core's cache) is a small part of it.
const CHUNK_STEPS: usize = 8;
// Even: a backward chunk then starts with the carried gradients where the loop started them
// (`BackwardLoop::run`).
const _: () = assert!(CHUNK_STEPS.is_multiple_of(2));

/// Rows of the GEMM kernel's register tile: row ranges start at multiples of it, so every task's
/// products are made of whole tiles but the last.
const ROW_ALIGN: usize = 4;

/// How a time loop of `steps` steps is split: `ranges` row ranges, each run in chunks of `chunk`
/// steps (the last may be shorter). One range of one chunk is the whole loop on one thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Split {
    pub ranges: usize,
    pub chunk: usize,
    pub steps: usize,
}

impl Split {
    /// Chunks of each range.
    fn chunks(&self) -> usize {
        self.steps.div_ceil(self.chunk.max(1))
    }

    /// Steps `s` of chunk `c` of a forward loop, which runs `s` from 0 up.
    pub(super) fn forward_steps(&self, c: usize) -> std::ops::Range<usize> {
        (c * self.chunk).min(self.steps)..((c + 1) * self.chunk).min(self.steps)
    }

    /// Steps `s` of chunk `c` of a backward loop, which runs `s` from `steps - 1` down to 0:
    /// chunk 0 holds the last steps.
    pub(super) fn backward_steps(&self, c: usize) -> std::ops::Range<usize> {
        self.steps.saturating_sub((c + 1) * self.chunk)..self.steps.saturating_sub(c * self.chunk)
    }
}

/// How to split a time loop of `steps × batch` rows and `gh × hd` recurrent weights: one range
/// (no split) without a pool, for small batches or little work. `fine` (the inference pass): up
/// to [`TASKS_PER_THREAD`] ranges per thread while the weights fit [`FINE_MAX_WEIGHTS`], each
/// run whole; training, and inference with larger weights: [`RANGES_PER_THREAD`] ranges per
/// thread in chunks of [`CHUNK_STEPS`].
pub(super) fn split(steps: usize, batch: usize, gh: usize, hd: usize, fine: bool) -> Split {
    let threads = parallel::threads();
    let work = steps.saturating_mul(batch).saturating_mul(gh).saturating_mul(hd);
    let whole = Split { ranges: 1, chunk: steps, steps };
    if threads < 2 || work < MIN_WORK {
        return whole;
    }
    let weight_bytes = gh.saturating_mul(hd).saturating_mul(std::mem::size_of::<f32>());
    // Inference with larger weights is chunked as training is: one whole range per thread is
    // fastest on an idle machine, but then a thread that loses its core for a while (to another
    // process, or to the host of a VM) holds the whole call up, where chunks let the other thread
    // take over its rows. On the 2-core VM (large LSTM, SDK, 2 threads, interleaved pairs of
    // fresh processes): idle, 35.1–35.5 → 35.1–35.9 ms median (about 1 % slower); with the host
    // busy, 40–88 → 39–54 ms, lower in 12 of 14 pairs.
    let (per_thread, chunk) = if fine && weight_bytes <= FINE_MAX_WEIGHTS {
        (TASKS_PER_THREAD, steps)
    } else {
        (RANGES_PER_THREAD, CHUNK_STEPS)
    };
    let ranges = (threads * per_thread).min(batch / MIN_ROWS).max(1);
    if ranges == 1 {
        return whole;
    }
    Split { ranges, chunk, steps }
}

/// Rows `b0..b1` of task `i` of `tasks` over `batch` rows (tile-aligned starts).
pub(super) fn row_range(batch: usize, tasks: usize, i: usize) -> (usize, usize) {
    let tiles = batch.div_ceil(ROW_ALIGN);
    let at = |j: usize| (tiles * j / tasks * ROW_ALIGN).min(batch);
    (at(i), at(i + 1))
}

/// The row ranges of a split whose ranges run whole (one task each, claimed in order as threads
/// come free): with at least two ranges per thread, the first `threads` tasks share three
/// quarters of the rows and the others the rest, so that a helper that wakes late (on a 2-core
/// VM, from 0.1 ms to about 1 ms) takes a small task at the end of the call instead of a
/// quarter of the rows. For 32 rows and 2 threads: 12, 12, 4 and 4 rows where the even split
/// had 4 × 8. Fewer ranges: the even split ([`row_range`]). Measured on the 2-core VM (threads build, SDK,
/// 2 threads, 2 ms between calls, one process alternating the two splits call by call, medians
/// of 150–300 calls each, a busy host): the median lower in 12 of 12 runs, by 0.1–15 %. Small
/// (B = 32, H = 32) through the worker 0.769 / 0.932 / 0.982 / 1.073 → 0.737 / 0.885 / 0.981 /
/// 1.041 ms, in-process 1.440 / 1.762 → 1.390 / 1.751; medium (B = 32, H = 128) through the
/// worker 7.58 / 7.95 / 8.49 / 8.77 → 6.88 / 7.88 / 8.36 / 8.62 ms, in-process 7.26 / 8.25 →
/// 6.21 / 8.22.
/// The rows of each range give the same bits whatever the split (see the module's doc).
#[derive(Clone, Copy, Debug)]
pub(super) struct GuidedRanges {
    batch: usize,
    /// Tasks of the even split, or `threads` large ones and then the small ones.
    tasks: usize,
    /// Large tasks (0: the even split of `tasks` ranges).
    threads: usize,
    /// Register tiles of rows in the large tasks together.
    large_tiles: usize,
}

impl GuidedRanges {
    /// The ranges of `batch` rows split into `ranges` for `threads` threads.
    pub(super) fn new(batch: usize, ranges: usize, threads: usize) -> Self {
        let tiles = batch.div_ceil(ROW_ALIGN);
        let large_tiles = tiles * 3 / 4;
        if threads < 2 || ranges < 2 * threads || large_tiles < threads {
            return GuidedRanges { batch, tasks: ranges, threads: 0, large_tiles: 0 };
        }
        // No empty small task: at most one per remaining tile.
        let small = (ranges - threads).min(tiles - large_tiles);
        GuidedRanges { batch, tasks: threads + small, threads, large_tiles }
    }

    /// Number of ranges.
    pub(super) fn tasks(&self) -> usize {
        self.tasks
    }

    /// Rows `b0..b1` of task `i` (tile-aligned starts; together the ranges cover `0..batch` in
    /// order).
    pub(super) fn range(&self, i: usize) -> (usize, usize) {
        let GuidedRanges { batch, tasks, threads, large_tiles } = *self;
        if threads == 0 {
            return row_range(batch, tasks, i);
        }
        let (tiles, small) = (batch.div_ceil(ROW_ALIGN), tasks - threads);
        let at = |j: usize| {
            let t = if j <= threads { large_tiles * j / threads } else { large_tiles + (tiles - large_tiles) * (j - threads) / small };
            (t * ROW_ALIGN).min(batch)
        };
        (at(i), at(i + 1))
    }
}

/// Runs `f(b0, b1, c)` for every row range `b0..b1` of `split` and every chunk `c` of it, the
/// chunks of a range in order and one at a time; on the pool when there is more than one range.
/// With one chunk per range, the ranges are the pool's tasks, the large ones first
/// ([`GuidedRanges`]). With more, every participant takes the least advanced range that no one
/// holds, runs its next chunk, and lets it go, until every chunk has run.
pub(super) fn for_row_ranges(batch: usize, split: Split, f: &(dyn Fn(usize, usize, usize) + Sync)) {
    let (ranges, chunks) = (split.ranges, split.chunks());
    if ranges <= 1 {
        return (0..chunks).for_each(|c| f(0, batch, c));
    }
    if chunks <= 1 {
        let guided = GuidedRanges::new(batch, ranges, parallel::threads());
        return parallel::run(guided.tasks(), &|i| {
            let (b0, b1) = guided.range(i);
            if b0 < b1 {
                f(b0, b1, 0)
            }
        });
    }
    // Per range: `next chunk << 1 | held`.
    let state: Vec<AtomicU32> = (0..ranges).map(|_| AtomicU32::new(0)).collect();
    let left = AtomicUsize::new(ranges * chunks);
    let chunks = chunks as u32;
    parallel::run(parallel::threads().min(ranges), &|_| {
        while left.load(Acquire) > 0 {
            // The least advanced free range with chunks left.
            let pick = state
                .iter()
                .enumerate()
                .map(|(i, s)| (i, s.load(Acquire)))
                .filter(|&(_, s)| s & 1 == 0 && s >> 1 < chunks)
                .min_by_key(|&(_, s)| s);
            let Some((i, s)) = pick else {
                // Every range with chunks left is held by another thread: its chunk ends soon.
                std::hint::spin_loop();
                continue;
            };
            if state[i].compare_exchange(s, s | 1, AcqRel, Acquire).is_err() {
                continue;
            }
            let (b0, b1) = row_range(batch, ranges, i);
            if b0 < b1 {
                f(b0, b1, (s >> 1) as usize);
            }
            state[i].store(s + 2, Release);
            left.fetch_sub(1, AcqRel);
        }
    });
}

/// A buffer that the tasks of one time loop share, each touching only its own rows.
#[derive(Clone, Copy)]
pub(super) struct Shared<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: a `Shared` is only dereferenced through `rows`/`rows_mut`, whose callers guarantee
// that concurrent tasks use disjoint row ranges (and that the buffer outlives the loop).
unsafe impl<T: Send> Send for Shared<T> {}
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    pub(super) fn new(buf: &mut [T]) -> Self {
        Shared { ptr: buf.as_mut_ptr(), len: buf.len() }
    }

    /// `len` elements from `start`, mutable.
    ///
    /// # Safety
    /// No other live reference may overlap them while the result lives, and the buffer must
    /// outlive it.
    #[allow(clippy::mut_from_ref)]
    unsafe fn at_mut<'a>(&self, start: usize, len: usize) -> &'a mut [T] {
        assert!(start + len <= self.len, "row range outside its buffer");
        std::slice::from_raw_parts_mut(self.ptr.add(start), len)
    }

    /// Rows `b0..b1` (of `width` elements) of `[batch, width]` block `t`, mutable.
    ///
    /// # Safety
    /// As [`Shared::at_mut`].
    #[allow(clippy::mut_from_ref)]
    unsafe fn rows_mut<'a>(&self, t: usize, batch: usize, width: usize, (b0, b1): (usize, usize)) -> &'a mut [T] {
        self.at_mut((t * batch + b0) * width, (b1 - b0) * width)
    }
}

/// Rows `b0..b1` (of `width` elements) of `[batch, width]` block `t` of a read-only buffer.
fn rows<T>(buf: &[T], t: usize, batch: usize, width: usize, (b0, b1): (usize, usize)) -> &[T] {
    &buf[(t * batch + b0) * width..(t * batch + b1) * width]
}

/// The input of a pass that the time loop projects itself as it goes:
/// `xp[t] = x[t] · W_ihᵀ + b_ih`, or `LN(x[t] · W_ihᵀ) + b_ih` with layer norm, into an `xp` of
/// [`InputSteps::block_steps`] steps. A task with the whole batch projects that many steps at
/// once (their rows are adjacent in `x` and in `xp`: one product of `block_steps · B` rows, not
/// one of `B` rows per step, which wastes most of the kernel's register tile for a small
/// batch); a task with a row range projects one step at a time.
pub(super) struct InputSteps<'a> {
    /// `[T, B, input_size]`, time-major.
    pub x: &'a [f32],
    pub input_size: usize,
    /// `W_ihᵀ`, `input_size × G·H`.
    pub packed_ih: &'a PackedB,
    pub b_ih: Option<&'a [f32]>,
    /// Steps `xp` holds (see [`projection_block_steps`]); 1 for a loop split by rows.
    pub block_steps: usize,
    /// The input projection's layer norm (inference only: training projects before the loop).
    pub layer_norm: Option<InputNorm<'a>>,
}

/// Layer norm of the input projection in a loop that projects its input: `(γ, β)` and the
/// `x̂`, `1/σ` caches of the step (`[B, G·H]` and `[B, G]`, rows as `xp`'s).
pub(super) struct InputNorm<'a> {
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub xhat: Shared<f32>,
    pub rstd: Shared<f32>,
}

/// Rows of the input projection a time loop that projects its input makes at once, with the
/// whole batch: whole register tiles for a batch of 1–3 (a step of one row would use a quarter of
/// the kernel's), and an `xp` that stays in L1 (blocks of 128 rows were 2–5 % slower at B = 4 and
/// 32). A batch over 16 projects one step at a time.
const PROJECTION_BLOCK_ROWS: usize = 16;

/// Steps of `xp` ([`InputSteps::block_steps`]) for a loop of `steps × batch` rows run as
/// `ranges` row ranges: a block of about [`PROJECTION_BLOCK_ROWS`] rows with the whole batch,
/// one step for a loop split by rows.
pub(super) fn projection_block_steps(steps: usize, batch: usize, ranges: usize) -> usize {
    if ranges > 1 {
        1
    } else {
        (PROJECTION_BLOCK_ROWS / batch.max(1)).clamp(1, steps.max(1))
    }
}

/// Where a forward time loop's step gets its input projection.
pub(super) enum StepInput<'a> {
    /// Already in `xp`, for every step (computed before the loop).
    Projected,
    /// Projected by the loop itself into `xp`, a block of steps at a time.
    Steps(InputSteps<'a>),
    /// In the step's one product (LSTM, RNN): `packed_hh` holds `[W_ih | W_hh]ᵀ`, the product
    /// is `[x_t | h_{t-1}] ·` that, `xp` is not used and `b_hh` is `b_ih + b_hh`. `x` is
    /// time-major; `packed_ih` (`W_ihᵀ` alone) is given for a loop from a zero state, whose
    /// first step multiplies `x_t` alone.
    Fused { x: &'a [f32], input_size: usize, packed_ih: Option<&'a PackedB> },
}

/// What the forward time loop reads and writes (see `Workspace` in `direction.rs`).
pub(super) struct ForwardLoop<'a> {
    pub cell: CellKind,
    pub hidden: usize,
    pub steps: usize,
    pub batch: usize,
    pub reverse: bool,
    /// Whether every step's states, gates and caches are stored (for backward), or only the
    /// current step's in two alternating state slots (inference).
    pub keep: bool,
    pub valid: &'a [bool],
    /// Whether the initial state is zero: then the first step's recurrent product is skipped.
    pub zero_start: bool,
    /// The input projection with `b_ih`: `[T, B, G·H]` (`StepInput::Projected`), or the block of
    /// steps the loop projects (`StepInput::Steps`).
    pub xp: Shared<f32>,
    pub input: StepInput<'a>,
    pub b_hh: Option<&'a [f32]>,
    /// `(γ, β)` of the recurrent projection's layer norm.
    pub layer_norm: Option<(&'a [f32], &'a [f32])>,
    pub peepholes: Option<(&'a [f32], &'a [f32], &'a [f32])>,
    pub packed_hh: &'a PackedB,
    pub packed_hn: &'a PackedB,
    pub hs: Shared<f32>,
    pub cs: Shared<f32>,
    pub gates: Shared<f32>,
    pub aux: Shared<f32>,
    pub rec: Shared<f32>,
    pub xhat_h: Shared<f32>,
    pub rstd_h: Shared<f32>,
    /// `(out, stride, offset)`: `h_t` of row b goes to `out[(t·B + b)·stride + offset..][..H]`;
    /// an empty `out` gets nothing.
    pub out: (Shared<f32>, usize, usize),
}

impl ForwardLoop<'_> {
    /// Steps `s` in `chunk` (in order; all of them: `0..steps`) of the time loop for rows
    /// `b0..b1`, whose earlier steps have run.
    ///
    /// # Safety
    /// Concurrent calls must have disjoint row ranges; the buffers must be sized for
    /// `steps × batch` (as the workspace sizes them).
    pub(super) unsafe fn run(&self, b0: usize, b1: usize, chunk: std::ops::Range<usize>) {
        let (hd, batch, n) = (self.hidden, self.batch, b1 - b0);
        let r = (b0, b1);
        let g = self.cell.gates();
        let gh = g * hd;
        let reset_before = matches!(self.cell, CellKind::Gru { reset_after: false });
        let rec_cols = if reset_before { 2 * hd } else { gh };
        let rec = self.rec.rows_mut(0, batch, gh, r);
        // Time steps whose input projection `xp` holds (`StepInput::Steps`).
        let mut block = 0..0;
        let chunk_end = chunk.end;
        for s in chunk {
            let t = if self.reverse { self.steps - 1 - s } else { s };
            let (prev, new, at) = match (self.keep, self.reverse) {
                (true, false) => (t, t + 1, t),
                (true, true) => (t + 1, t, t),
                (false, _) => (s % 2, (s + 1) % 2, 0),
            };
            let h_prev: &[f32] = self.hs.rows_mut(prev, batch, hd, r);
            let h_new = self.hs.rows_mut(new, batch, hd, r);
            // rec[:, ..rec_cols] = h_prev · W_hh[..rec_cols]ᵀ (+ b_hh, below or in the cell), or
            // fused: rec = [x_t | h_prev] · [W_ih | W_hh]ᵀ. The first step from a zero state:
            // rec[:, ..rec_cols] = 0, or fused: rec = x_t · W_ihᵀ.
            let from_zero = s == 0 && self.zero_start;
            match self.input {
                StepInput::Fused { x, input_size: inp, packed_ih: Some(packed_ih) } if from_zero => {
                    gemm_prepacked(n, 1.0, rows(x, t, batch, inp, r), inp, 1, packed_ih, 0.0, rec, gh, 1)
                }
                StepInput::Fused { x, input_size: inp, .. } => {
                    gemm_prepacked_concat(n, rows(x, t, batch, inp, r), inp, h_prev, hd, self.packed_hh, 0.0, rec, gh)
                }
                _ if from_zero => rec.chunks_exact_mut(gh).for_each(|row| row[..rec_cols].fill(0.0)),
                _ => gemm_prepacked(n, 1.0, h_prev, hd, 1, self.packed_hh, 0.0, rec, gh, 1),
            }
            if let Some((gamma, beta)) = self.layer_norm {
                let w = Blocks { rows: n, stride: gh, col0: 0, cols: rec_cols, hidden: hd };
                let (xhat, rstd) = (self.xhat_h.rows_mut(at, batch, gh, r), self.rstd_h.rows_mut(at, batch, g, r));
                norm::forward_in_place(rec, w, gamma, beta, xhat, rstd);
            }
            // The cell kernels add b_hh themselves (in the same order); reset-before GRUs here.
            let b_rec = if reset_before { None } else { self.b_hh };
            if let (Some(bhh), true) = (self.b_hh, reset_before) {
                for row in rec.chunks_exact_mut(gh) {
                    row[..rec_cols].iter_mut().zip(bhh).for_each(|(v, b)| *v += b);
                }
            }
            let valid = rows(self.valid, t, batch, 1, r);
            let xp: &[f32] = match &self.input {
                StepInput::Fused { .. } => &[],
                StepInput::Steps(p) => {
                    if !block.contains(&t) {
                        // The next steps in loop order, in time order in `x` and `xp`: a block
                        // with the whole batch, one step for a row range.
                        let k = if n == batch { p.block_steps.min(chunk_end - s) } else { 1 };
                        block = if self.reverse { t + 1 - k..t + 1 } else { t..t + k };
                        let inp = p.input_size;
                        let x = &p.x[(block.start * batch + b0) * inp..][..k * n * inp];
                        let xp = self.xp.at_mut(b0 * gh, k * n * gh);
                        gemm_prepacked(k * n, 1.0, x, inp, 1, p.packed_ih, 0.0, xp, gh, 1);
                        if let Some(ln) = &p.layer_norm {
                            // (Inference: one step's worth of x̂ and 1/σ, reused step by step.)
                            let w = Blocks { rows: n, stride: gh, col0: 0, cols: gh, hidden: hd };
                            for step in xp.chunks_exact_mut(n * gh) {
                                let (xhat, rstd) = (ln.xhat.rows_mut(at, batch, gh, r), ln.rstd.rows_mut(at, batch, g, r));
                                norm::forward_in_place(step, w, ln.gamma, ln.beta, xhat, rstd);
                            }
                        }
                        if let Some(b) = p.b_ih {
                            crate::kernels::rows::add_to_rows(xp, b);
                        }
                    }
                    &*self.xp.at_mut((b0 + (t - block.start) * n) * gh, n * gh)
                }
                StepInput::Projected => self.xp.rows_mut(t, batch, gh, r),
            };
            let gates = self.gates.rows_mut(at, batch, gh, r);
            if reset_before {
                let aux = self.aux.rows_mut(at, batch, hd, r);
                cells::gru_reset_before_gates(n, hd, valid, xp, rec, h_prev, gates, aux);
                // rec[:, 2H..] = (r ⊙ h_prev) · W_hnᵀ + b_hn
                gemm_prepacked(n, 1.0, aux, hd, 1, self.packed_hn, 0.0, &mut rec[2 * hd..], gh, 1);
                if let Some((gamma, beta)) = self.layer_norm {
                    let w = Blocks { rows: n, stride: gh, col0: 2 * hd, cols: hd, hidden: hd };
                    let (xhat, rstd) = (self.xhat_h.rows_mut(at, batch, gh, r), self.rstd_h.rows_mut(at, batch, g, r));
                    norm::forward_in_place(rec, w, gamma, beta, xhat, rstd);
                }
                if let Some(bhh) = self.b_hh {
                    for row in rec.chunks_exact_mut(gh) {
                        row[2 * hd..].iter_mut().zip(&bhh[2 * hd..]).for_each(|(v, b)| *v += b);
                    }
                }
                cells::gru_reset_before_output(StepForward { batch: n, hidden: hd, valid, xp, rec, b_rec: None, h_prev, gates, h: h_new });
            } else {
                let step = StepForward { batch: n, hidden: hd, valid, xp, rec, b_rec, h_prev, gates, h: h_new };
                match self.cell {
                    CellKind::Rnn { activation } => cells::rnn_forward(step, activation),
                    CellKind::Lstm { .. } => {
                        let c_prev: &[f32] = self.cs.rows_mut(prev, batch, hd, r);
                        let c_new = self.cs.rows_mut(new, batch, hd, r);
                        cells::lstm_forward(step, c_prev, c_new, self.aux.rows_mut(at, batch, hd, r), self.peepholes);
                    }
                    CellKind::Gru { .. } => cells::gru_forward_reset_after(step, self.aux.rows_mut(at, batch, hd, r)),
                }
            }
            let (out, stride, offset) = self.out;
            if out.len == 0 {
                continue;
            }
            let h_new: &[f32] = self.hs.rows_mut(new, batch, hd, r);
            // Rows b0..b1 of time t: from row b0's first element to row b1-1's last.
            let base = (t * batch + b0) * stride + offset;
            let dst = out.at_mut(base, (n - 1) * stride + hd);
            for (i, &ok) in valid.iter().enumerate() {
                let d = &mut dst[i * stride..i * stride + hd];
                if ok {
                    d.copy_from_slice(&h_new[i * hd..(i + 1) * hd]);
                } else {
                    d.iter_mut().for_each(|v| *v = 0.0);
                }
            }
        }
    }
}

/// Gradients that a step accumulates over every row of the batch: only a task that has the
/// whole batch may get them.
#[derive(Default)]
pub(super) struct CrossRowGrads<'a> {
    /// The layer-norm parameters (ih weight, ih bias, hh weight, hh bias).
    pub layer_norm: Option<&'a mut [Param; 4]>,
    /// `b_hh`, whose gradient is accumulated per step under layer norm.
    pub b_hh: Option<&'a mut Param>,
    /// The peepholes `p_i, p_f, p_o`.
    pub peepholes: Option<&'a mut [Param; 3]>,
}

impl CrossRowGrads<'_> {
    /// Whether there is anything to accumulate (then the loop must not be split).
    pub(super) fn any(&self) -> bool {
        self.layer_norm.is_some() || self.peepholes.is_some()
    }
}

/// What the backward time loop reads and writes.
pub(super) struct BackwardLoop<'a> {
    pub cell: CellKind,
    pub hidden: usize,
    pub steps: usize,
    pub batch: usize,
    pub reverse: bool,
    pub tbptt: Option<usize>,
    /// Whether the initial states' gradients are wanted: else the last step (`s = 0`) skips
    /// the product `drec · W_hh` that only they need.
    pub initial_grads: bool,
    pub valid: &'a [bool],
    /// The gates of every step; empty when they are in `dxp` (without layer norm: see
    /// [`StepBackward::gates_in_dxp`]).
    pub gates: &'a [f32],
    pub hs: &'a [f32],
    pub cs: &'a [f32],
    pub aux: &'a [f32],
    pub xhat_h: &'a [f32],
    pub rstd_h: &'a [f32],
    /// `(d_out, stride, offset)`, read like the forward loop's `out` (empty: zero).
    pub d_out: (&'a [f32], usize, usize),
    pub packed_hh: &'a PackedB,
    pub packed_hn: &'a PackedB,
    /// The input projection's gradient, `[T, B, G·H]`: written over the gates (when `gates` is
    /// empty), or with layer norm over the dead projection.
    pub dxp: Shared<f32>,
    /// The recurrent projection's gradient, `[T, B, G·H]`, when `keeps_drec`; else unused (it
    /// equals the input projection's, read from `dxp`).
    pub drec: Shared<f32>,
    pub keeps_drec: bool,
    pub dh: Shared<f32>,
    pub dc: Shared<f32>,
    pub dh_prev: Shared<f32>,
    pub dc_prev: Shared<f32>,
    pub drh: Shared<f32>,
    /// `Σ_j (∂L/∂h_t)²` per row, `[T, B]`, f64.
    pub norm_parts: Shared<f64>,
}

impl BackwardLoop<'_> {
    /// Steps `s` in `chunk` (from the last down; all of them: `0..steps`) of the backward time
    /// loop for rows `b0..b1`, whose later steps have run (an even number of them). The carried
    /// gradients start in `dh` (`dc`), trade places with `dh_prev` (`dc_prev`) after every step,
    /// and so end in `dh` after an even number of steps, in `dh_prev` after an odd one.
    ///
    /// # Safety
    /// As [`ForwardLoop::run`]; a call that gets non-empty `grads` must cover the whole batch.
    pub(super) unsafe fn run(&self, b0: usize, b1: usize, chunk: std::ops::Range<usize>, grads: CrossRowGrads<'_>) {
        let (hd, batch, n) = (self.hidden, self.batch, b1 - b0);
        debug_assert!(!grads.any() || (b0, b1) == (0, batch));
        let r = (b0, b1);
        let g = self.cell.gates();
        let gh = g * hd;
        let lstm = self.cell.has_cell_state();
        let reset_before = matches!(self.cell, CellKind::Gru { reset_after: false });
        // Rows of W_hh the per-step GEMM multiplies (reset-before: r, z only; n went through rh).
        let rec_rows = if reset_before { 2 * hd } else { gh };
        let CrossRowGrads { mut layer_norm, mut b_hh, mut peepholes } = grads;
        // This task's rows of the carried gradients; `dh`/`dh_prev` (`dc`/`dc_prev`) trade
        // places after every step.
        let (mut dh, mut dh_prev) = (self.dh.rows_mut(0, batch, hd, r), self.dh_prev.rows_mut(0, batch, hd, r));
        let (mut dc, mut dc_prev): (&mut [f32], &mut [f32]) = if lstm {
            (self.dc.rows_mut(0, batch, hd, r), self.dc_prev.rows_mut(0, batch, hd, r))
        } else {
            (&mut [], &mut [])
        };
        // The gradients carried into this chunk are in `dh` (`dc`): an even number of steps ran
        // before it (chunks other than the first to run start after whole chunks of an even
        // length, `CHUNK_STEPS`).
        debug_assert!((self.steps - chunk.end).is_multiple_of(2));
        let drh = self.drh.rows_mut(0, batch, hd, r);
        let (d_out, stride, offset) = self.d_out;
        for s in chunk.rev() {
            let t = if self.reverse { self.steps - 1 - s } else { s };
            let (prev, new) = if self.reverse { (t + 1, t) } else { (t, t + 1) };
            let valid = rows(self.valid, t, batch, 1, r);
            // Total gradient of this step's h: carried from later steps plus the output's.
            if !d_out.is_empty() {
                for (i, &ok) in valid.iter().enumerate() {
                    if ok {
                        let src = &d_out[(t * batch + b0 + i) * stride + offset..][..hd];
                        crate::kernels::rows::add_rows_to(&mut dh[i * hd..(i + 1) * hd], src);
                    }
                }
            }
            let parts = self.norm_parts.rows_mut(t, batch, 1, r);
            for (p, row) in parts.iter_mut().zip(dh.chunks_exact(hd)) {
                *p = crate::kernels::squares::sum_squares(row);
            }
            let dxp = self.dxp.rows_mut(t, batch, gh, r);
            let drec: &mut [f32] = if self.keeps_drec { self.drec.rows_mut(t, batch, gh, r) } else { &mut [] };
            let step = StepBackward {
                batch: n,
                hidden: hd,
                valid,
                gates: if self.gates.is_empty() { &[] } else { rows(self.gates, t, batch, gh, r) },
                h_prev: rows(self.hs, prev, batch, hd, r),
                dh: &*dh,
                dxp: &mut *dxp,
                drec: &mut *drec,
                dh_prev: &mut *dh_prev,
            };
            let aux = || rows(self.aux, t, batch, hd, r);
            let xhat = || rows(self.xhat_h, t, batch, gh, r);
            let rstd = || rows(self.rstd_h, t, batch, g, r);
            match self.cell {
                CellKind::Rnn { activation } => cells::rnn_backward(step, rows(self.hs, new, batch, hd, r), activation),
                CellKind::Lstm { .. } => {
                    let peep = peepholes.as_deref_mut().map(|[pi, pf, po]| PeepholeGrads {
                        p: (&pi.value[..], &pf.value[..], &po.value[..]),
                        dp: (&mut pi.grad[..], &mut pf.grad[..], &mut po.grad[..]),
                    });
                    let (c_prev, c) = (rows(self.cs, prev, batch, hd, r), rows(self.cs, new, batch, hd, r));
                    cells::lstm_backward(step, c_prev, c, aux(), dc, dc_prev, peep);
                }
                CellKind::Gru { reset_after: true } => cells::gru_backward_reset_after(step, aux()),
                CellKind::Gru { reset_after: false } => {
                    let mut step = step;
                    cells::gru_reset_before_backward_n(&mut step);
                    if let Some(ln) = layer_norm.as_deref_mut() {
                        let w = Blocks { rows: n, stride: gh, col0: 2 * hd, cols: hd, hidden: hd };
                        recurrent_norm_backward(ln, b_hh.as_deref_mut(), step.drec, w, xhat(), rstd());
                    }
                    // d(r ⊙ h) = drec_n · W_hn
                    gemm_prepacked(n, 1.0, &step.drec[2 * hd..], gh, 1, self.packed_hn, 0.0, drh, hd, 1);
                    cells::gru_reset_before_backward_rz(step, drh);
                }
            }
            if let Some(ln) = layer_norm.as_deref_mut() {
                let w = Blocks { rows: n, stride: gh, col0: 0, cols: rec_rows, hidden: hd };
                recurrent_norm_backward(ln, b_hh.as_deref_mut(), drec, w, xhat(), rstd());
            }
            // dh_prev += drec · W_hh (only the r, z rows for reset-before: n went through rh),
            // `drec` read from `dxp` where the two are equal.
            if s > 0 || self.initial_grads {
                let drec: &[f32] = if self.keeps_drec { drec } else { dxp };
                gemm_prepacked(n, 1.0, drec, gh, 1, self.packed_hh, 1.0, dh_prev, hd, 1);
            }
            // Truncated BPTT: nothing crosses a border at a time index that is a multiple of k
            // (between steps k-1 and k, 2k-1 and 2k, ...), in either direction: this step's state
            // came from step t-1 (forward) or t+1 (reverse), so the border crossed is at t or t+1.
            // A reverse direction's first window is then its last T mod k steps, not k of them.
            if let Some(k) = self.tbptt {
                let border = if self.reverse { t + 1 } else { t };
                if s > 0 && border % k == 0 {
                    dh_prev.iter_mut().for_each(|v| *v = 0.0);
                    dc_prev.iter_mut().for_each(|v| *v = 0.0);
                }
            }
            // Gradients too small to matter are zero from here on (`kernels::tiny`): carried
            // down as subnormal floats, they made every product with them about 20 times slower.
            flush_tiny(dh_prev);
            flush_tiny(dc_prev);
            std::mem::swap(&mut dh, &mut dh_prev);
            std::mem::swap(&mut dc, &mut dc_prev);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges_of(g: &GuidedRanges) -> Vec<(usize, usize)> {
        (0..g.tasks()).map(|i| g.range(i)).collect()
    }

    #[test]
    fn guided_ranges_put_the_large_ones_first() {
        assert_eq!(ranges_of(&GuidedRanges::new(32, 4, 2)), [(0, 12), (12, 24), (24, 28), (28, 32)]);
        // Fewer than two ranges per thread: the even split.
        assert_eq!(ranges_of(&GuidedRanges::new(32, 3, 2)), [(0, 8), (8, 20), (20, 32)]);
        assert_eq!(ranges_of(&GuidedRanges::new(32, 4, 1)), [(0, 8), (8, 16), (16, 24), (24, 32)]);
    }

    #[test]
    fn guided_ranges_cover_the_batch_in_order_without_empty_ranges() {
        for batch in 1..=130 {
            for threads in 1..=4 {
                for ranges in 1..=16 {
                    let g = GuidedRanges::new(batch, ranges, threads);
                    let r = ranges_of(&g);
                    let even: Vec<_> = (0..ranges).map(|i| row_range(batch, ranges, i)).collect();
                    assert_eq!(r.first().map(|p| p.0), Some(0), "{batch} {ranges} {threads}");
                    assert_eq!(r.last().map(|p| p.1), Some(batch), "{batch} {ranges} {threads}");
                    assert!(r.windows(2).all(|w| w[0].1 == w[1].0), "{batch} {ranges} {threads}: {r:?}");
                    assert!(r.iter().all(|&(b0, _)| b0 % ROW_ALIGN == 0), "{batch} {ranges} {threads}: {r:?}");
                    if g.threads == 0 {
                        assert_eq!(r, even);
                        continue;
                    }
                    assert!(r.iter().all(|&(b0, b1)| b0 < b1), "{batch} {ranges} {threads}: {r:?}");
                    assert!(r.len() <= ranges);
                    let smallest_large = r[..threads].iter().map(|p| p.1 - p.0).min().unwrap();
                    let largest_small = r[threads..].iter().map(|p| p.1 - p.0).max().unwrap();
                    assert!(smallest_large >= largest_small, "{batch} {ranges} {threads}: {r:?}");
                }
            }
        }
    }
}
