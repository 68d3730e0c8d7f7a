//! Packing of strided operands into the k-major panels the micro-kernels read.
//!
//! Every transpose is absorbed here: the kernels only ever see contiguous panels. Panels are
//! padded with zeros up to the full panel width, so edge tiles need no special kernel.

/// Packs, for panel width `w` (written `W` below), the `rows × kc` block at `src` (element `(r, p)` at `src[r * rs + p * cs]`) into
/// `ceil(rows / W)` panels of `W` rows: panel `q`, element `(r, p)` goes to
/// `dst[q * W * kc + p * W + r]`, and the rows past `rows` in the last panel are zero.
///
/// Used for `A` (`W = MR`, rows are rows of `A`) and, with the strides swapped, for `B`
/// (`W = NR`, "rows" are columns of `B`).
///
/// # Safety
/// `src` must be valid for reads at every `r * rs + p * cs` with `r < rows`, `p < kc`, and
/// `dst` for `ceil(rows / W) · W · kc` writes.
#[inline(always)]
pub(crate) unsafe fn pack(
    w: usize,
    kc: usize,
    rows: usize,
    dst: *mut f32,
    src: *const f32,
    rs: usize,
    cs: usize,
) {
    pack_panels(w, kc, w * kc, rows, dst, src, rs, cs)
}

/// A strided operand of a product seen along its depth `p` (the `k` of the product) as two
/// matrices one after the other: `p < k1` in `first`, `p ≥ k1` in `second` (at `p − k1`). An
/// LSTM step's `[x_t | h_{t-1}] · [W_ih | W_hh]ᵀ` is one product this way, without copying
/// `x_t` and `h_{t-1}` side by side first. Element `(r, p)` of a part is at `ptr[r * rs + p * cs]`
/// (`r`: a row of `A`, or a column of `B`).
#[derive(Clone, Copy, Debug)]
pub struct DepthConcat {
    /// Depths `0..k1`.
    pub first: Strided,
    /// Depths `k1..` (`second`'s own depth `p − k1`).
    pub second: Strided,
    /// Depth of `first`.
    pub k1: usize,
}

/// One strided part of a [`DepthConcat`].
#[derive(Clone, Copy, Debug)]
pub struct Strided {
    /// Element `(0, 0)`.
    pub ptr: *const f32,
    /// Step between rows `r`.
    pub rs: usize,
    /// Step along the depth `p`.
    pub cs: usize,
}

impl DepthConcat {
    /// One matrix of depth `k` (no second part).
    pub fn single(ptr: *const f32, rs: usize, cs: usize, k: usize) -> Self {
        let part = Strided { ptr, rs, cs };
        DepthConcat { first: part, second: part, k1: k }
    }

    /// The same operand from row `r` on.
    ///
    /// # Safety
    /// Row `r` must lie inside both parts (as pointer arithmetic on them).
    pub(crate) unsafe fn offset_rows(self, r: usize) -> Self {
        let at = |s: Strided| Strided { ptr: s.ptr.add(r * s.rs), ..s };
        DepthConcat { first: at(self.first), second: at(self.second), ..self }
    }

    /// Packs depths `p0..p0 + kc` of `rows` rows as [`pack`] does (panel `q`, element `(r, p)`
    /// at `dst[q * w * kc + (p − p0) * w + r]`): the depths of each part go to their places
    /// within every panel.
    ///
    /// # Safety
    /// As [`pack`], for every addressed element of either part.
    #[inline(always)]
    pub(crate) unsafe fn pack(self, w: usize, p0: usize, kc: usize, rows: usize, dst: *mut f32) {
        let kc1 = self.k1.saturating_sub(p0).min(kc);
        let Strided { ptr, rs, cs } = self.first;
        if kc1 > 0 {
            pack_panels(w, kc1, w * kc, rows, dst, ptr.add(p0 * cs), rs, cs);
        }
        if kc1 < kc {
            let Strided { ptr, rs, cs } = self.second;
            let q0 = p0 + kc1 - self.k1;
            pack_panels(w, kc - kc1, w * kc, rows, dst.add(w * kc1), ptr.add(q0 * cs), rs, cs);
        }
    }
}

/// [`pack`] with panels `panel` floats apart in `dst` (`w · kc` for a whole block; more when
/// `kc` depths are only part of each panel, see [`DepthConcat::pack`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn pack_panels(w: usize, kc: usize, panel: usize, rows: usize, dst: *mut f32, src: *const f32, rs: usize, cs: usize) {
    let full = rows / w;
    let rest = rows % w;
    let mut out = dst;
    // Whole panels. With the rows adjacent in memory (rs == 1), each step p copies W adjacent
    // values, a few steps at a time across all the panels: one panel's steps are `cs` apart, and
    // at a power-of-two `cs` (dGᵀ of a weight gradient: 2 KB for the medium LSTM; a row-major
    // `B` of 128 or 512 columns) they share a handful of L1 sets, so walking one panel's `kc`
    // steps, then the next panel's (the next W values of the same lines), missed L1 at each step.
    if rs == 1 {
        const STEPS: usize = 16;
        for p0 in (0..kc).step_by(STEPS) {
            for q in 0..full {
                let (base, out) = (src.add(q * w), dst.add(q * panel));
                for p in p0..kc.min(p0 + STEPS) {
                    copy_adjacent(w, base.add(p * cs), out.add(p * w));
                }
            }
        }
        out = dst.add(full * panel);
    } else {
        // Otherwise walk each row along p (contiguous when cs == 1) and scatter it with stride
        // W, which keeps W read streams instead of one gather per value.
        for q in 0..full {
            let base = src.add(q * w * rs);
            if cs == 1 {
                pack_rows_contiguous(w, kc, base, rs, out);
            } else {
                for p in 0..kc {
                    let d = out.add(p * w);
                    for r in 0..w {
                        *d.add(r) = *base.add(r * rs + p * cs);
                    }
                }
            }
            out = out.add(panel);
        }
    }
    // The last, partial panel: copy `rest` rows, zero the padding.
    if rest > 0 {
        let base = src.add(full * w * rs);
        for p in 0..kc {
            let d = out.add(p * w);
            for r in 0..rest {
                *d.add(r) = *base.add(r * rs + p * cs);
            }
            for r in rest..w {
                *d.add(r) = 0.0;
            }
        }
    }
}

/// Copies the `w` adjacent values at `src` to `dst`: one step of a panel whose rows are adjacent
/// (`rs == 1`: a row-major `B`, or a transposed `A` such as `dGᵀ`). With simd128 and `w` a
/// multiple of 4 (every kernel's `MR` and `NR`), whole-vector moves: the scalar loop stayed
/// scalar, four loads and four stores for the four values of an `A` step.
#[inline(always)]
unsafe fn copy_adjacent(w: usize, src: *const f32, dst: *mut f32) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if w.is_multiple_of(4) {
        use core::arch::wasm32::*;
        for r in (0..w).step_by(4) {
            v128_store(dst.add(r) as *mut v128, v128_load(src.add(r) as *const v128));
        }
        return;
    }
    for r in 0..w {
        *dst.add(r) = *src.add(r);
    }
}

/// One full panel whose rows are contiguous along `p` (`cs == 1`): a `W × kc` → `kc × W`
/// transpose, done four steps of `p` at a time so each row is read in short runs (with simd128,
/// four rows at a time too, as 4 × 4 blocks transposed in registers).
#[inline(always)]
unsafe fn pack_rows_contiguous(w: usize, kc: usize, base: *const f32, rs: usize, out: *mut f32) {
    let mut p = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if w.is_multiple_of(4) {
        while p + 4 <= kc {
            for r in (0..w).step_by(4) {
                transpose4(base.add(r * rs + p), rs, out.add(p * w + r), w);
            }
            p += 4;
        }
    }
    while p + 4 <= kc {
        for r in 0..w {
            let s = base.add(r * rs + p);
            let d = out.add(p * w + r);
            *d = *s;
            *d.add(w) = *s.add(1);
            *d.add(2 * w) = *s.add(2);
            *d.add(3 * w) = *s.add(3);
        }
        p += 4;
    }
    while p < kc {
        for r in 0..w {
            *out.add(p * w + r) = *base.add(r * rs + p);
        }
        p += 1;
    }
}

/// Writes the transpose of the 4 × 4 block at `src` (rows `rs` apart, each 4 contiguous values)
/// to the 4 × 4 block at `dst` (rows `ds` apart): `dst[i * ds + r] = src[r * rs + i]`. Moves only,
/// so the packed values are bitwise those of the scalar loop.
///
/// # Safety
/// Both blocks must be valid (for reads, for writes) at every addressed element.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn transpose4(src: *const f32, rs: usize, dst: *mut f32, ds: usize) {
    use core::arch::wasm32::*;
    let row = |r: usize| v128_load(src.add(r * rs) as *const v128);
    let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
    // Interleave rows 0/1 and 2/3, then take halves: column i of the block becomes vector i.
    let (lo01, lo23) = (i32x4_shuffle::<0, 4, 1, 5>(r0, r1), i32x4_shuffle::<0, 4, 1, 5>(r2, r3));
    let (hi01, hi23) = (i32x4_shuffle::<2, 6, 3, 7>(r0, r1), i32x4_shuffle::<2, 6, 3, 7>(r2, r3));
    v128_store(dst as *mut v128, i32x4_shuffle::<0, 1, 4, 5>(lo01, lo23));
    v128_store(dst.add(ds) as *mut v128, i32x4_shuffle::<2, 3, 6, 7>(lo01, lo23));
    v128_store(dst.add(2 * ds) as *mut v128, i32x4_shuffle::<0, 1, 4, 5>(hi01, hi23));
    v128_store(dst.add(3 * ds) as *mut v128, i32x4_shuffle::<2, 3, 6, 7>(hi01, hi23));
}
