//! Compute kernels: one strided GEMM entry point (dispatching to a packed, register-blocked
//! implementation, split among the threads of [`crate::parallel`] when large) and the naive
//! reference it is tested against.
//!
//! The kernels themselves (micro-kernels, packing, the blocked driver, and the vectorizable
//! [`math`]) are the `recur-kernels` crate, re-exported here: a crate of its own, so that wasm
//! builds compile them at opt-level 3 and the rest of recur-core for size (the workspace's
//! `Cargo.toml`). This module calls them only through that crate's non-generic entry points, so
//! none of their code is compiled in recur-core.
//!
//! [`gemm`] uses the best kernel compiled in; [`gemm_with`] picks one by [`KernelKind`] so the
//! kernels can be compared against each other.

pub use recur_kernels::{adam, checksum, finite, kernel, math, reference, rmsprop, rows, scalar, sgd, squares, tiny, GemmKernel, KernelKind};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use recur_kernels::simd128;

use recur_kernels::{is_compiled, DepthConcat, Strided, BEST, BEST_MR, BEST_NR};

use crate::{parallel, Error, Result};

/// Below this many multiply-adds (`m · n · k`), [`gemm`] runs a direct loop instead of packing.
///
/// Measured with `examples/gemm_bench.rs` (native) and in Node 20 (simd128): the direct loop
/// wins up to about 4×8×8 = 256 (≈130 ns native, ≈280 ns wasm, where packing's fixed cost is
/// 85–120 ns), and loses by 2× at 1024 and 5–7× at 4096.
const SMALL_PRODUCT: usize = 256;

/// From this many multiply-adds (`m · n · k`) on, [`gemm`] and [`gemm_prepacked`] split the
/// product among the threads of the pool ([`crate::parallel`]), when there is one.
///
/// Measured in Node 20 with the `threads` build, 2 threads against 1, on products of the
/// per-step recurrent shapes `[B, H] · [H, 4H]` (2 cores, one of them partly busy with another
/// process): 2¹⁸ (16×64×256) 21 → 17 µs, 2¹⁹ (32×64×256) 34 → 20 µs, 2²¹ (32×128×512)
/// 124 → 71 µs. A wake-up and join costs a few µs when the helper still spins, more when it
/// sleeps, so products much below 2¹⁸ (≈ 20 µs on one core) stay on one thread.
const PARALLEL_MIN: usize = 1 << 18;

/// The kernels this build contains, the best one last ([`gemm`] uses the last).
pub fn compiled_kernels() -> Vec<KernelKind> {
    [KernelKind::Reference, KernelKind::Scalar, KernelKind::Simd128, KernelKind::RelaxedSimd]
        .into_iter()
        .filter(|&kind| is_compiled(kind))
        .collect()
}

/// `C = alpha · A · B + beta · C` for strided matrices, in the style of `matrixmultiply::sgemm`.
///
/// `A` is `m × k` with element `(i, p)` at `a[i * rsa + p * csa]`, `B` is `k × n` with `(p, j)`
/// at `b[p * rsb + j * csb]`, `C` is `m × n` with `(i, j)` at `c[i * rsc + j * csc]`.
/// Transposes are expressed by swapping strides. When `beta == 0`, `C` is never read (it may
/// hold NaN). Callers inside the core guarantee the slices are long enough (a slice too short
/// for its dimensions and strides panics; [`gemm_with`] reports it as an error instead).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    beta: f32,
    c: &mut [f32],
    rsc: usize,
    csc: usize,
) {
    if let Err(short) = check_bounds(m, k, n, a, rsa, csa, b, rsb, csb, c, rsc, csc) {
        panic!("kernels::gemm: operand {} too short for its dimensions and strides", short.name);
    }
    if m.saturating_mul(n).saturating_mul(k) < SMALL_PRODUCT {
        // SAFETY: bounds checked above.
        unsafe {
            recur_kernels::gemm_small(m, k, n, alpha, a.as_ptr(), rsa, csa, b.as_ptr(), rsb, csb, beta, c.as_mut_ptr(), rsc, csc)
        };
        return;
    }
    let threads = parallel::threads();
    if threads > 1 && m.saturating_mul(n).saturating_mul(k) >= PARALLEL_MIN {
        let (ap, bp, cp) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
        // SAFETY: bounds checked above; `C` does not alias itself (the contract of `gemm`).
        unsafe {
            par_gemm(threads, m, k, n, alpha, ap, rsa, csa, bp, rsb, csb, beta, cp, rsc, csc)
        }
        return;
    }
    // SAFETY: bounds checked above, and `BEST` is compiled in.
    unsafe { run(BEST, m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) };
}

/// Raw operand pointers shared with the pool's threads for one product (`A` as a pointer, or as
/// a [`DepthConcat`] of pointers for the prepacked products).
#[derive(Clone, Copy)]
struct Operands<A = *const f32> {
    a: A,
    b: *const f32,
    c: *mut f32,
}
// SAFETY: the tasks of one product read `A` and `B` and write disjoint parts of `C`.
unsafe impl<A> Sync for Operands<A> {}
unsafe impl<A> Send for Operands<A> {}

/// Task `t` of `tasks`: its whole panels `p0..p1` out of `panels`.
#[inline]
fn panel_range(panels: usize, tasks: usize, t: usize) -> (usize, usize) {
    (panels * t / tasks, panels * (t + 1) / tasks)
}

/// [`recur_kernels::gemm_best`] split among `threads` participants, by rows of `C` in whole
/// `BEST_MR`-row panels when `m ≥ n` (each task then packs the smaller `B` again) and by columns
/// in whole `BEST_NR`-column panels otherwise (each task packs `A`). Each task runs the blocked
/// loop on its rows or columns: the cache blocks and tiles of every element, and so its
/// operations and their order, are those of the whole product, whatever the split.
///
/// # Safety
/// As [`recur_kernels::gemm_best`].
#[allow(clippy::too_many_arguments)]
unsafe fn par_gemm(
    threads: usize,
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: *const f32,
    rsa: usize,
    csa: usize,
    b: *const f32,
    rsb: usize,
    csb: usize,
    beta: f32,
    c: *mut f32,
    rsc: usize,
    csc: usize,
) {
    let by_rows = m >= n;
    let panels = if by_rows { m.div_ceil(BEST_MR) } else { n.div_ceil(BEST_NR) };
    let tasks = threads.min(panels);
    if tasks < 2 {
        return recur_kernels::gemm_best(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
    }
    let ops = Operands { a, b, c };
    parallel::run(tasks, &move |t| {
        let ops = ops;
        let (p0, p1) = panel_range(panels, tasks, t);
        // SAFETY: the task's rows (or columns) lie inside the product, and no two tasks share one.
        unsafe {
            if by_rows {
                let (i0, i1) = (p0 * BEST_MR, (p1 * BEST_MR).min(m));
                recur_kernels::gemm_best(i1 - i0, k, n, alpha, ops.a.add(i0 * rsa), rsa, csa, ops.b, rsb, csb, beta, ops.c.add(i0 * rsc), rsc, csc)
            } else {
                let (j0, j1) = (p0 * BEST_NR, (p1 * BEST_NR).min(n));
                recur_kernels::gemm_best(m, k, j1 - j0, alpha, ops.a, rsa, csa, ops.b.add(j0 * csb), rsb, csb, beta, ops.c.add(j0 * csc), rsc, csc)
            }
        }
    });
}

/// [`recur_kernels::gemm_prepacked_best`] split among `threads` participants by columns of `C`, in
/// whole `BEST_NR`-column panels of the prepacked `B` (the per-step recurrent product: each
/// thread reads only its part of the weights). Bitwise the same as one thread.
///
/// # Safety
/// As [`recur_kernels::gemm_prepacked_best`].
#[allow(clippy::too_many_arguments)]
unsafe fn par_gemm_prepacked(
    threads: usize,
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: DepthConcat,
    bpacked: *const f32,
    beta: f32,
    c: *mut f32,
    rsc: usize,
    csc: usize,
) {
    let panels = n.div_ceil(BEST_NR);
    let tasks = threads.min(panels);
    if tasks < 2 || m.saturating_mul(n).saturating_mul(k) < PARALLEL_MIN {
        return recur_kernels::gemm_prepacked_best(m, k, n, 0, n, alpha, a, bpacked, beta, c, rsc, csc);
    }
    let ops = Operands { a, b: bpacked, c };
    parallel::run(tasks, &move |t| {
        let ops = ops;
        let (p0, p1) = panel_range(panels, tasks, t);
        let (j0, j1) = (p0 * BEST_NR, (p1 * BEST_NR).min(n));
        // SAFETY: columns j0..j1 lie inside the product, and no two tasks share one.
        unsafe { recur_kernels::gemm_prepacked_best(m, k, n, j0, j1, alpha, ops.a, ops.b, beta, ops.c, rsc, csc) }
    });
}

/// A `k × n` right-hand operand packed once for the default kernel, to be multiplied many
/// times by [`gemm_prepacked`] (the recurrent weights, reused at every time step). The
/// allocation is kept and reused by later [`PackedB::pack`] calls of the same or smaller size.
#[derive(Debug, Clone, Default)]
pub struct PackedB {
    k: usize,
    n: usize,
    /// Depth of the first of two stacked operands ([`PackedB::pack_concat`]); `k` otherwise.
    k1: usize,
    data: Vec<f32>,
}

impl PackedB {
    /// An empty operand (pack before use).
    pub fn new() -> Self {
        PackedB::default()
    }

    /// Floats held by the packed buffer (what packing reuses before it allocates).
    pub fn capacity(&self) -> usize {
        self.data.capacity()
    }

    /// Floats a `k × n` operand takes packed.
    pub fn len_for(k: usize, n: usize) -> usize {
        packed_len(k, n)
    }

    /// Packs `B` (`k × n`, element `(p, j)` at `b[p * rsb + j * csb]`). Panics, like [`gemm`],
    /// when `b` is too short for the dimensions and strides.
    pub fn pack(&mut self, k: usize, n: usize, b: &[f32], rsb: usize, csb: usize) {
        check_packable("PackedB::pack: B", k, n, b, rsb, csb);
        // Packing writes every element (panels are padded with zeros), so the buffer is only
        // sized here: not cleared first, which would zero it all again on every call.
        self.data.resize(packed_len(k, n), 0.0);
        self.k = k;
        self.n = n;
        self.k1 = k;
        // SAFETY: bounds checked above; `data` holds `packed_len` floats.
        unsafe { pack_all(k, n, b.as_ptr(), rsb, csb, self.data.as_mut_ptr()) };
    }

    /// Packs `B = [B1; B2]`, a `k1 × n` and a `k2 × n` operand stacked along the depth (element
    /// `(p, j)` of `B1` at `b1[p * rsb1 + j * csb1]`, of `B2` likewise), as one `(k1 + k2) × n`
    /// operand, for [`gemm_prepacked_concat`] (or [`gemm_prepacked`] with an `A` of `k1 + k2`
    /// columns). Panics when a part is too short for its dimensions and strides.
    #[allow(clippy::too_many_arguments)]
    pub fn pack_concat(&mut self, k1: usize, k2: usize, n: usize, b1: &[f32], rsb1: usize, csb1: usize, b2: &[f32], rsb2: usize, csb2: usize) {
        check_packable("PackedB::pack_concat: B1", k1, n, b1, rsb1, csb1);
        check_packable("PackedB::pack_concat: B2", k2, n, b2, rsb2, csb2);
        let k = k1 + k2;
        self.data.resize(packed_len(k, n), 0.0);
        (self.k, self.n, self.k1) = (k, n, k1);
        let b = DepthConcat { first: Strided { ptr: b1.as_ptr(), rs: csb1, cs: rsb1 }, second: Strided { ptr: b2.as_ptr(), rs: csb2, cs: rsb2 }, k1 };
        // SAFETY: bounds checked above; `data` holds `packed_len` floats.
        unsafe { recur_kernels::pack_b_concat_best(k, n, b, self.data.as_mut_ptr()) };
    }

    /// Packs each operand of `operands` into the `PackedB` beside it, as [`PackedB::pack`] does,
    /// in one pool job whose tasks are the operands' cache blocks (claimed as threads come free):
    /// an operand that is packed once for a whole job is packed by every thread at once instead
    /// of by one while the others wait (or by each for itself). The same bits as [`PackedB::pack`].
    /// Panics, like [`PackedB::pack`], when an operand is too short for its dimensions and strides.
    pub fn pack_each(operands: &mut [(&mut PackedB, BOperand<'_>)]) {
        let mut jobs = Vec::with_capacity(operands.len());
        let mut blocks = 0;
        for (packed, op) in operands.iter_mut() {
            let (k, n) = (op.k, op.n);
            let part = op.checked_part("PackedB::pack_each: B");
            packed.data.resize(packed_len(k, n), 0.0);
            (packed.k, packed.n, packed.k1) = (k, n, k);
            let first = blocks;
            blocks += recur_kernels::packed_b_blocks(k, n);
            jobs.push(PackJob { first, k, n, part, dst: packed.data.as_mut_ptr() });
        }
        let jobs = SharedJobs(jobs);
        parallel::run(blocks, &|t| {
            let jobs = &jobs;
            // The operand whose blocks include `t` (operands are few: a linear search).
            if let Some(job) = jobs.0.iter().rev().find(|j| j.first <= t) {
                let block = t - job.first;
                // SAFETY: bounds checked above; `dst` holds `packed_len` floats, and no two tasks
                // write the same block.
                unsafe { recur_kernels::pack_b_blocks_best(job.k, job.n, job.part, job.dst, block, block + 1) };
            }
        });
    }

    /// Depth `k` of the packed operand.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns `n` of the packed operand.
    pub fn n(&self) -> usize {
        self.n
    }
}

/// A `k × n` right-hand operand to pack ([`PackedB::pack_each`]): element `(p, j)` at
/// `b[p * rsb + j * csb]`.
#[derive(Clone, Copy, Debug)]
pub struct BOperand<'a> {
    /// Depth.
    pub k: usize,
    /// Columns.
    pub n: usize,
    /// The elements.
    pub b: &'a [f32],
    /// Step between depths `p`.
    pub rsb: usize,
    /// Step between columns `j`.
    pub csb: usize,
}

impl BOperand<'_> {
    /// The operand as the packing reads it (a "row" of the [`DepthConcat`] is a column `j`),
    /// after checking that `b` holds every element; panics naming `what` when it does not.
    fn checked_part(&self, what: &str) -> DepthConcat {
        let BOperand { k, n, b, rsb, csb } = *self;
        check_packable(what, k, n, b, rsb, csb);
        DepthConcat::single(b.as_ptr(), csb, rsb, k)
    }
}

/// One operand of [`PackedB::pack_each`]: its first block among the job's tasks, and where it
/// goes.
struct PackJob {
    first: usize,
    k: usize,
    n: usize,
    part: DepthConcat,
    dst: *mut f32,
}

/// The operands of one [`PackedB::pack_each`] job, shared with the pool's threads.
struct SharedJobs(Vec<PackJob>);
// SAFETY: the tasks read the operands and write disjoint blocks of the packed buffers, which
// outlive the job.
unsafe impl Sync for SharedJobs {}

/// Panics (naming `what`) when `b` is too short for a `k × n` operand with these strides.
fn check_packable(what: &str, k: usize, n: usize, b: &[f32], rsb: usize, csb: usize) {
    if k > 0 && n > 0 {
        let last = (k - 1) * rsb + (n - 1) * csb;
        assert!(last < b.len(), "{what} needs {} elements, has {}", last + 1, b.len());
    }
}

fn packed_len(k: usize, n: usize) -> usize {
    recur_kernels::packed_b_len(k, n)
}

unsafe fn pack_all(k: usize, n: usize, b: *const f32, rsb: usize, csb: usize, dst: *mut f32) {
    recur_kernels::pack_b_best(k, n, b, rsb, csb, dst)
}

/// The right-hand operand of one product of [`gemm_shared_a`].
#[derive(Clone, Copy, Debug)]
pub enum SharedOperand<'a> {
    /// Packed whole by [`PackedB::pack`] or [`PackedB::pack_each`] (once for a pool job's tasks).
    Packed(&'a PackedB),
    /// Strided, packed one cache block at a time while the product runs (no packed copy of
    /// the whole operand is kept).
    Strided(BOperand<'a>),
}

/// `C_q += A · B_q` for each `(B_q, C_q)` of `products` (at most 4), packing `A` (`m × k`,
/// rows adjacent: element `(i, p)` at `a[i + p * csa]`, as `dGᵀ` read from `dG`) once for all of
/// them, on the calling thread: each `B_q` of depth `k`, each `C_q` `m × n_q` with contiguous
/// rows. With `row_sums` (`m` values), also `row_sums[i] += A[i, p]` for `p` in order. Each
/// product gets the bits of [`gemm_prepacked`] with `beta = 1`, and each sum those of
/// [`rows::add_row_cols_to`] over the columns of `Aᵀ`. Panics when a slice is too short, an
/// operand has another depth or was packed as two parts, or there are more than 4 products.
pub fn gemm_shared_a(m: usize, k: usize, a: &[f32], csa: usize, products: &mut [(SharedOperand<'_>, &mut [f32])], row_sums: Option<&mut [f32]>) {
    if m > 0 && k > 0 {
        assert!((m - 1) + (k - 1) * csa < a.len(), "gemm_shared_a: A too short");
    }
    assert!(products.len() <= recur_kernels::MAX_SHARED_A_PRODUCTS, "gemm_shared_a: more than 4 products");
    let unused = recur_kernels::SharedAProduct { n: 0, b: recur_kernels::SharedB::Packed(std::ptr::null()), c: std::ptr::null_mut(), rsc: 0 };
    let mut shared = [unused; recur_kernels::MAX_SHARED_A_PRODUCTS];
    for ((b, c), slot) in products.iter_mut().zip(&mut shared) {
        let (n, b) = match *b {
            SharedOperand::Packed(p) => {
                assert!(p.k == k && p.k1 == k, "gemm_shared_a: B packed for another depth, or in two parts");
                (p.n, recur_kernels::SharedB::Packed(p.data.as_ptr()))
            }
            SharedOperand::Strided(op) => {
                assert!(op.k == k, "gemm_shared_a: B of another depth");
                (op.n, recur_kernels::SharedB::Strided(op.checked_part("gemm_shared_a: B")))
            }
        };
        assert!(c.len() >= m * n, "gemm_shared_a: C too short");
        *slot = recur_kernels::SharedAProduct { n, b, c: c.as_mut_ptr(), rsc: n };
    }
    let sums = match row_sums {
        Some(s) => {
            assert!(s.len() >= m, "gemm_shared_a: row_sums too short");
            s.as_mut_ptr()
        }
        None => std::ptr::null_mut(),
    };
    // SAFETY: bounds checked above; packed operands were packed for `BEST` with this `k` and
    // their `n`, and the `C_q` are distinct `&mut` slices.
    unsafe { recur_kernels::gemm_shared_a_best(m, k, a.as_ptr(), csa, &shared[..products.len()], sums) }
}

/// `C = alpha · A · B + beta · C` with `B` packed by [`PackedB::pack`]; `A` is `m × b.k()`
/// and `C` `m × b.n()`, strided as in [`gemm`]. Panics when a slice is too short.
#[allow(clippy::too_many_arguments)]
pub fn gemm_prepacked(m: usize, alpha: f32, a: &[f32], rsa: usize, csa: usize, b: &PackedB, beta: f32, c: &mut [f32], rsc: usize, csc: usize) {
    let (k, n) = (b.k, b.n);
    if m > 0 && k > 0 {
        assert!((m - 1) * rsa + (k - 1) * csa < a.len(), "gemm_prepacked: A too short");
    }
    if m > 0 && n > 0 {
        assert!((m - 1) * rsc + (n - 1) * csc < c.len(), "gemm_prepacked: C too short");
    }
    let a = DepthConcat::single(a.as_ptr(), rsa, csa, k);
    let t = parallel::threads();
    // SAFETY: bounds checked above; `b` was packed for `BEST` with these `k`, `n`.
    unsafe { par_gemm_prepacked(t, m, k, n, alpha, a, b.data.as_ptr(), beta, c.as_mut_ptr(), rsc, csc) }
}

/// `C = [A1 | A2] · B + beta · C` with `B` packed by [`PackedB::pack_concat`]: `A1` is the
/// `m × k1` part (row `i` at `a1[i * rsa1..][..k1]`), `A2` the `m × k2` part, `C` is `m × n`
/// with rows `rsc` apart. One product over the whole depth, so the same bits as the product of
/// the concatenated `A` (an LSTM step: `[x_t | h_{t-1}] · [W_ih | W_hh]ᵀ` without copying `x_t`
/// and `h_{t-1}` side by side). Panics when a slice is too short.
#[allow(clippy::too_many_arguments)]
pub fn gemm_prepacked_concat(m: usize, a1: &[f32], rsa1: usize, a2: &[f32], rsa2: usize, b: &PackedB, beta: f32, c: &mut [f32], rsc: usize) {
    let (k, n, k1) = (b.k, b.n, b.k1);
    if m > 0 {
        assert!(k1 == 0 || (m - 1) * rsa1 + k1 <= a1.len(), "gemm_prepacked_concat: A1 too short");
        assert!(k == k1 || (m - 1) * rsa2 + (k - k1) <= a2.len(), "gemm_prepacked_concat: A2 too short");
        assert!(n == 0 || (m - 1) * rsc + n <= c.len(), "gemm_prepacked_concat: C too short");
    }
    let a = DepthConcat { first: Strided { ptr: a1.as_ptr(), rs: rsa1, cs: 1 }, second: Strided { ptr: a2.as_ptr(), rs: rsa2, cs: 1 }, k1 };
    let t = parallel::threads();
    // SAFETY: bounds checked above; `b` was packed for `BEST` with these `k`, `n`.
    unsafe { par_gemm_prepacked(t, m, k, n, 1.0, a, b.data.as_ptr(), beta, c.as_mut_ptr(), rsc, 1) }
}

/// [`gemm`] with an explicit implementation, for tests and benchmarks that compare kernels.
///
/// Unlike [`gemm`] it never takes the small-product shortcut, and it reports a kernel not
/// compiled into this build ([`Error::Unsupported`]) or a slice too short for the given
/// dimensions and strides ([`Error::Shape`]) as an error.
#[allow(clippy::too_many_arguments)]
pub fn gemm_with(
    kind: KernelKind,
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    beta: f32,
    c: &mut [f32],
    rsc: usize,
    csc: usize,
) -> Result<()> {
    if !is_compiled(kind) {
        return Err(Error::unsupported(format!("GEMM kernel {kind:?} is not compiled into this build")));
    }
    check_bounds(m, k, n, a, rsa, csa, b, rsb, csb, c, rsc, csc).map_err(ShortOperand::error)?;
    // SAFETY: bounds checked above, and `kind` is compiled in.
    unsafe { run(kind, m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc) };
    Ok(())
}

/// Runs one compiled-in kernel.
///
/// # Safety
/// The slices must hold every element the dimensions and strides address ([`check_bounds`]),
/// and `kind` must be compiled in (others are unreachable).
#[allow(clippy::too_many_arguments)]
unsafe fn run(
    kind: KernelKind,
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    beta: f32,
    c: &mut [f32],
    rsc: usize,
    csc: usize,
) {
    let (ap, bp, cp) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    match kind {
        KernelKind::Reference => reference::gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc),
        // SAFETY: as this function's.
        _ => recur_kernels::gemm_blocked(kind, m, k, n, alpha, ap, rsa, csa, bp, rsb, csb, beta, cp, rsc, csc),
    }
}

/// An operand too short for its dimensions and strides, as [`check_bounds`] found it (formatted
/// into an error only where one is reported: [`gemm`] just panics, and keeps no message code).
#[derive(Clone, Copy)]
struct ShortOperand {
    name: &'static str,
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
    /// Elements needed (`None`: more than `usize::MAX`).
    need: Option<usize>,
    len: usize,
}

impl ShortOperand {
    fn error(self) -> Error {
        let ShortOperand { name, rows, cols, rs, cs, need, len } = self;
        Error::shape(
            format!("GEMM operand {name} ({rows}×{cols}, strides {rs}, {cs})"),
            format!("at least {} elements", need.map_or("usize::MAX+".to_string(), |v| v.to_string())),
            len,
        )
    }
}

/// Checks that every element addressed by `m, k, n` and the strides lies inside its slice.
#[allow(clippy::too_many_arguments)]
fn check_bounds(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    c: &[f32],
    rsc: usize,
    csc: usize,
) -> std::result::Result<(), ShortOperand> {
    /// Index one past the last element of a `rows × cols` strided matrix (0 when empty).
    fn extent(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
        if rows == 0 || cols == 0 {
            return Some(0);
        }
        (rows - 1).checked_mul(rs)?.checked_add((cols - 1).checked_mul(cs)?)?.checked_add(1)
    }
    let mk = if m == 0 || n == 0 { 0 } else { k };
    for (name, rows, cols, rs, cs, len) in [
        ("A", m, mk, rsa, csa, a.len()),
        ("B", mk, n, rsb, csb, b.len()),
        ("C", m, n, rsc, csc, c.len()),
    ] {
        match extent(rows, cols, rs, cs) {
            Some(need) if need <= len => {}
            need => return Err(ShortOperand { name, rows, cols, rs, cs, need, len }),
        }
    }
    Ok(())
}

/// `C[m×n] = A[m×k] · B[n×k]ᵀ + beta · C`, all row-major contiguous (the shape of `X · Wᵀ`).
pub fn gemm_nt(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    gemm(m, k, n, 1.0, a, k, 1, b, 1, k, beta, c, n, 1)
}

/// `C[m×n] = A[m×k] · B[k×n] + beta · C`, all row-major contiguous (the shape of `dA · W`).
pub fn gemm_nn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    gemm(m, k, n, 1.0, a, k, 1, b, n, 1, beta, c, n, 1)
}

/// `C[m×n] = A[k×m]ᵀ · B[k×n] + beta · C`, all row-major contiguous (the shape of `dAᵀ · X`).
pub fn gemm_tn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    gemm(m, k, n, 1.0, a, 1, m, b, n, 1, beta, c, n, 1)
}
