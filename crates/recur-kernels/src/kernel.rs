//! The micro-kernel trait every optimized GEMM path implements (after
//! `matrixmultiply`'s `src/kernel.rs`): one register-blocked `MR × NR` tile update over
//! packed panels, plus the cache-blocking sizes the driver uses around it.

/// The depth of a cache block (`KC`) of every kernel. One value for all of them: a product's
/// elements are summed block by block, so kernels with the same depth blocks give the same bits
/// (the scalar and the simd128 builds train identically). 512 rather than 256: the large LSTM's
/// step product (k = I + H = 320) runs as one depth block, with no second pass that reloads and
/// adds C, and the backward products of k = 4H need half as many passes (one at medium, two at
/// large). A 16 KB `B~` panel and an 8 KB `A~` tile of the simd128 kernel still fit a 32 KB L1d.
/// Against 256, paired in one Node 20 process: 64×320×1024 and 1024×4096×256 about 1–3.5 %
/// faster, a large forward 2.5 %.
pub const DEPTH_BLOCK: usize = 512;

/// A register-blocked GEMM micro-kernel over packed panels.
///
/// The driver (`blocked`) packs `A` into panels of `MR` rows and `B` into panels of
/// `NR` columns, both laid out "k-major": element `(i, p)` of an `A` panel is at
/// `a[p * MR + i]` and element `(p, j)` of a `B` panel at `b[p * NR + j]`. Panels are padded
/// with zeros, so the kernel always computes a full `MR × NR` tile; edge tiles are written to a
/// scratch tile and copied back under a mask by the driver, but for the rows of a partial tile
/// over full panels, which go to [`GemmKernel::row`] where the kernel has one.
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
    /// + `k`: depth, the number of packed steps in `a` and `b`, at least 1 (the first step
    ///   sets the accumulators);
    /// + `a`: packed `A` panel, `k · MR` values; `b`: packed `B` panel, `k · NR` values;
    /// + `c`: the tile's first element, element `(i, j)` at `c[i * rsc + j * csc]`.
    ///
    /// When `beta == 0`, `C` must not be read (it may hold NaN or be uninitialized scratch).
    ///
    /// # Safety
    /// `k >= 1`; `a` and `b` must be valid for `k · MR` and `k · NR` reads, and every `c` element of the
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

    /// Whether [`GemmKernel::row`] is worth calling: the driver then computes the rows of a
    /// partial tile of at most `MR / 2` rows (such as a recurrent step with a batch of 1) one row
    /// at a time over several `B` panels, instead of as a zero-padded tile whose padding rows
    /// cost as much as real ones.
    const HAS_ROW: bool = false;

    /// `C ← alpha · A·B + beta · C` on one row of `C`, contiguous, over `panels` (1 to
    /// [`ROW_PANELS`]) consecutive full `B` panels: every element computed by the same
    /// operations, in the same order, as [`GemmKernel::kernel`] computes it in a tile.
    ///
    /// + `a`: the row's values in a packed `A` panel (element `p` at `a[p * MR]`);
    /// + `b`: the first packed `B` panel (`k · NR` values), the next ones `k · NR` apart;
    /// + `c`: the row's first element (`panels · NR` contiguous values).
    ///
    /// # Safety
    /// As [`GemmKernel::kernel`] for the `panels` tiles of that row.
    #[allow(clippy::too_many_arguments)]
    unsafe fn row(k: usize, alpha: f32, a: *const f32, b: *const f32, panels: usize, beta: f32, c: *mut f32) {
        // Not used unless `HAS_ROW` (the driver pads the rows into a tile instead).
        let _ = (k, alpha, a, b, panels, beta, c);
        unreachable!("GemmKernel::row without HAS_ROW")
    }
}

/// Most `B` panels one [`GemmKernel::row`] call covers.
pub const ROW_PANELS: usize = 4;
