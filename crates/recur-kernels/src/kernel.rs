//! The micro-kernel trait every optimized GEMM path implements (after
//! `matrixmultiply`'s `src/kernel.rs`): one register-blocked `MR × NR` tile update over
//! packed panels, plus the cache-blocking sizes the driver uses around it.

/// A register-blocked GEMM micro-kernel over packed panels.
///
/// The driver ([`super::blocked`]) packs `A` into panels of `MR` rows and `B` into panels of
/// `NR` columns, both laid out "k-major": element `(i, p)` of an `A` panel is at
/// `a[p * MR + i]` and element `(p, j)` of a `B` panel at `b[p * NR + j]`. Panels are padded
/// with zeros, so the kernel always computes a full `MR × NR` tile; edge tiles are written to a
/// scratch tile and copied back under a mask by the driver.
pub trait GemmKernel {
    /// Rows of the register tile (rows of one packed `A` panel).
    const MR: usize;
    /// Columns of the register tile (columns of one packed `B` panel).
    const NR: usize;
    /// Depth of one cache block: `k` is split in chunks of `KC` (packed panels hold `KC` steps).
    const KC: usize;
    /// Rows of one cache block of `A` (one packed `A` block is `MC × KC`); multiple of `MR`.
    const MC: usize;
    /// Columns of one cache block of `B` (one packed `B` block is `KC × NC`); multiple of `NR`.
    const NC: usize;

    /// `C ← alpha · A·B + beta · C` on one `MR × NR` tile.
    ///
    /// + `k`: depth, the number of packed steps in `a` and `b`;
    /// + `a`: packed `A` panel, `k · MR` values; `b`: packed `B` panel, `k · NR` values;
    /// + `c`: the tile's first element, element `(i, j)` at `c[i * rsc + j * csc]`.
    ///
    /// When `beta == 0`, `C` must not be read (it may hold NaN or be uninitialized scratch).
    ///
    /// # Safety
    /// `a` and `b` must be valid for `k · MR` and `k · NR` reads, and every `c` element of the
    /// full tile must be valid for reads and writes and not alias `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel(
        k: usize,
        alpha: f32,
        a: *const f32,
        b: *const f32,
        beta: f32,
        c: *mut f32,
        rsc: usize,
        csc: usize,
    );
}
