//! # recur-kernels
//!
//! The hot compute kernels of `recur-core`: the packed, register-blocked GEMM (driver, packing,
//! micro-kernels), the vectorizable `exp`/`sigmoid`/`tanh`, the per-step LSTM/GRU cell kernels
//! and the optimizers' elementwise updates. They live in a crate of their own so that the wasm
//! builds can compile them at opt-level 3 while the rest of `recur-core` is compiled for size (the
//! workspace's `Cargo.toml`, `[profile.release.package.*]`).
//!
//! Generic code is compiled in the crate that instantiates it, at that crate's opt-level: so
//! `recur-core` calls the GEMM only through the non-generic entry points below (instantiated
//! here), never through the driver's generic functions. The entry points (and the cell kernels,
//! and `math`'s slice functions) are `#[inline(never)]`: with fat LTO, LLVM would otherwise
//! inline them into their callers in `recur-core`, whose functions are optimized for size, and
//! the inlined copy would be optimized again with them (the LSTM training step was 5% slower).
//! `recur-core` re-exports this crate's public modules as `recur_core::kernels::*` (the cell
//! kernels as `recurrent::cells`); use it through there.
//!
//! Layout, after `matrixmultiply`:
//! + [`kernel`]: the [`GemmKernel`] trait (`MR × NR` micro-kernel over packed panels);
//! + `blocked` and `pack`: the cache-blocked driver and the packing of strided operands;
//! + [`scalar`]: the portable kernel (always compiled);
//! + `simd128`: the WebAssembly SIMD kernels (only with `target_feature = "simd128"`);
//! + [`reference`](mod@reference): the naive triple loop every kernel is tested against;
//! + [`math`]: branch-free `exp`, `sigmoid`, `tanh` (and their four-lane versions);
//! + [`cells`]: the fused elementwise kernels of one LSTM or GRU time step;
//! + [`activation_grads`]: the gradient through the RNN cell's activation;
//! + [`layer_norm`]: one block of the recurrent cells' layer normalization;
//! + [`rows`]: bias adds and bias gradients over the rows of a matrix;
//! + [`adam`]: the elementwise update of Adam and AdamW;
//! + [`rmsprop`]: the elementwise update of RMSprop;
//! + [`sgd`]: the elementwise update of SGD;
//! + [`squares`]: the sum of squares behind every gradient norm;
//! + [`updates`]: what the three updates' tests share.
#![warn(missing_docs)]
#![allow(clippy::too_many_arguments, clippy::missing_safety_doc)]

pub mod activation_grads;
pub mod adam;
mod blocked;
pub mod cells;
pub mod checksum;
pub mod finite;
pub mod kernel;
pub mod layer_norm;
pub mod math;
mod pack;
pub mod reference;
pub mod rmsprop;
pub mod rows;
pub mod scalar;
pub mod sgd;
pub mod squares;
pub mod tiny;
pub mod updates;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128;

pub use blocked::{SharedAProduct, SharedB, MAX_SHARED_A_PRODUCTS};
pub use kernel::GemmKernel;
pub use pack::{DepthConcat, Strided};

/// A GEMM implementation that can be asked for by name (`recur_core::kernels::gemm_with`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelKind {
    /// The naive triple loop of [`reference::gemm`]; always available.
    Reference,
    /// The blocked driver with the portable [`scalar::Scalar`] micro-kernel; always available.
    Scalar,
    /// The blocked driver with the wasm `simd128` micro-kernel (`+simd128` builds for wasm32).
    Simd128,
    /// The blocked driver with the `f32x4_relaxed_madd` kernel (`+relaxed-simd` builds).
    RelaxedSimd,
}

/// Whether `kind` is compiled into this build.
pub const fn is_compiled(kind: KernelKind) -> bool {
    match kind {
        KernelKind::Reference | KernelKind::Scalar => true,
        KernelKind::Simd128 => cfg!(all(target_arch = "wasm32", target_feature = "simd128")),
        KernelKind::RelaxedSimd => {
            cfg!(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"))
        }
    }
}

/// The kernel the entry points `*_best` use: the fastest compiled in (relaxed-SIMD only when
/// the build opts in with `+relaxed-simd`, since its rounding then depends on the host CPU).
pub const BEST: KernelKind = if is_compiled(KernelKind::RelaxedSimd) {
    KernelKind::RelaxedSimd
} else if is_compiled(KernelKind::Simd128) {
    KernelKind::Simd128
} else {
    KernelKind::Scalar
};

#[cfg(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"))]
type Best = simd128::RelaxedSimd;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128", not(target_feature = "relaxed-simd")))]
type Best = simd128::Simd128;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
type Best = scalar::Scalar;

/// Rows of [`BEST`]'s register tile (a split of `C` by rows in multiples of it changes no bit).
pub const BEST_MR: usize = <Best as GemmKernel>::MR;
/// Columns of [`BEST`]'s register tile (a split of `C` by columns in multiples of it changes no bit).
pub const BEST_NR: usize = <Best as GemmKernel>::NR;

/// `C ← alpha · A·B + beta · C` by the blocked driver with kernel `kind` (not
/// [`KernelKind::Reference`]): strides and contract of `recur_core::kernels::gemm`, on raw
/// pointers (`beta == 0` never reads `C`).
///
/// # Safety
/// Every element addressed by the dimensions and strides must lie inside its operand, `C`'s
/// strides must not make two elements alias, and `kind` must be compiled in (others are
/// unreachable).
#[inline(never)]
pub unsafe fn gemm_blocked(
    kind: KernelKind,
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
    match kind {
        KernelKind::Scalar => blocked::gemm_loop::<scalar::Scalar>(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc),
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        KernelKind::Simd128 => {
            blocked::gemm_loop::<simd128::Simd128>(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128", target_feature = "relaxed-simd"))]
        KernelKind::RelaxedSimd => {
            blocked::gemm_loop::<simd128::RelaxedSimd>(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
        #[allow(unreachable_patterns)]
        _ => unreachable!("kernel {kind:?} is not compiled in"),
    }
}

/// [`gemm_blocked`] with [`BEST`].
///
/// # Safety
/// As [`gemm_blocked`].
#[inline(never)]
pub unsafe fn gemm_best(
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
    blocked::gemm_loop::<Best>(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
}

/// Floats that [`pack_b_best`] writes for a `k × n` operand.
pub fn packed_b_len(k: usize, n: usize) -> usize {
    blocked::packed_b_len::<Best>(k, n)
}

/// Packs `B` (`k × n`, element `(p, j)` at `b[p * rsb + j * csb]`) for [`BEST`] into `dst`.
///
/// # Safety
/// `b` must hold every addressed element and `dst` [`packed_b_len`]`(k, n)` floats.
#[inline(never)]
pub unsafe fn pack_b_best(k: usize, n: usize, b: *const f32, rsb: usize, csb: usize, dst: *mut f32) {
    blocked::pack_b_blocks::<Best>(k, n, DepthConcat::single(b, csb, rsb, k), dst, 0, packed_b_blocks(k, n))
}

/// [`pack_b_best`] for `B` made of two matrices stacked along the depth: rows `p < k1` of `B`
/// from `b.first`, the rest from `b.second` (in [`DepthConcat`]'s terms a "row" of `B` is a
/// column `j`: element `(p, j)` of a part is at `ptr[j * rs + p * cs]`).
///
/// # Safety
/// Every addressed element of both parts must be readable, and `dst` hold
/// [`packed_b_len`]`(k, n)` floats.
#[inline(never)]
pub unsafe fn pack_b_concat_best(k: usize, n: usize, b: DepthConcat, dst: *mut f32) {
    blocked::pack_b_blocks::<Best>(k, n, b, dst, 0, packed_b_blocks(k, n))
}

/// Number of cache blocks [`pack_b_blocks_best`] numbers for a `k × n` operand.
pub fn packed_b_blocks(k: usize, n: usize) -> usize {
    blocked::packed_b_blocks::<Best>(k, n)
}

/// Blocks `lo..hi` of what [`pack_b_concat_best`] writes (all of it for `lo = 0, hi =`
/// [`packed_b_blocks`]), each into its place in `dst`: disjoint ranges may be packed by
/// different threads.
///
/// # Safety
/// As [`pack_b_concat_best`]; `lo <= hi <=` [`packed_b_blocks`]`(k, n)`.
#[inline(never)]
pub unsafe fn pack_b_blocks_best(k: usize, n: usize, b: DepthConcat, dst: *mut f32, lo: usize, hi: usize) {
    blocked::pack_b_blocks::<Best>(k, n, b, dst, lo, hi)
}

/// Columns `j0..j1` of `C ← alpha · A·B + beta · C` with `B` (`k × n`) packed by
/// [`pack_b_best`] or [`pack_b_concat_best`] (`c` points to column 0; the whole product is
/// `j0 = 0, j1 = n`). `A` is one strided matrix ([`DepthConcat::single`]) or two side by side
/// along the depth (`[A1 | A2]`), packed into the same panels as one `m × k` operand, so the bits
/// are those of the product of the concatenation. With `j0` a multiple of [`BEST_NR`], every
/// element is computed by the same operations, in the same order, as in the whole product.
///
/// # Safety
/// As [`gemm_blocked`], for every addressed element of both parts of `a`; `bpacked` holds what
/// [`pack_b_best`] (or [`pack_b_concat_best`]) wrote for this `k × n`; `j0 <= j1 <= n` and
/// `j0 % BEST_NR == 0`.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub unsafe fn gemm_prepacked_best(
    m: usize,
    k: usize,
    n: usize,
    j0: usize,
    j1: usize,
    alpha: f32,
    a: DepthConcat,
    bpacked: *const f32,
    beta: f32,
    c: *mut f32,
    rsc: usize,
    csc: usize,
) {
    blocked::gemm_loop_prepacked_cols::<Best>(m, k, n, j0, j1, alpha, a, bpacked, beta, c, rsc, csc)
}

/// `C_q ← A·B_q + C_q` for each of `products` (each `B_q` packed by [`pack_b_best`] for this
/// `k`, or strided) with one packing of `A` (`m × k`, rows adjacent: element `(i, p)` at `a[i + p * csa]`) for all of
/// them, and `row_sums[i] += A[i, p]` over `p` in order unless `row_sums` is null: see
/// `blocked::gemm_shared_a` (the bits are those of [`gemm_prepacked_best`] with `beta = 1`
/// for each product, and of `rows::add_row_cols_to` for the sums).
///
/// # Safety
/// As `blocked::gemm_shared_a`.
#[inline(never)]
pub unsafe fn gemm_shared_a_best(m: usize, k: usize, a: *const f32, csa: usize, products: &[SharedAProduct], row_sums: *mut f32) {
    blocked::gemm_shared_a::<Best>(m, k, a, csa, products, row_sums)
}

/// Direct loop for tiny products, where packing costs more than it saves: one strided dot
/// product per element of `C` (the reference's loop, without bounds checks).
///
/// # Safety
/// Every element addressed by the dimensions and strides must lie inside its operand.
#[inline(never)]
pub unsafe fn gemm_small(
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
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                acc += *a.add(i * rsa + p * csa) * *b.add(p * rsb + j * csb);
            }
            let dst = c.add(i * rsc + j * csc);
            *dst = if beta == 0.0 { alpha * acc } else { alpha * acc + beta * *dst };
        }
    }
}
