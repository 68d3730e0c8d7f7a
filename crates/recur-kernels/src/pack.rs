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
    let full = rows / w;
    let rest = rows % w;
    let mut out = dst;
    // Whole panels. Two loop orders: when the W rows are contiguous in memory (rs == 1) each
    // step p copies W adjacent values; otherwise walk each row along p (contiguous when cs == 1)
    // and scatter it with stride W, which keeps W read streams instead of one gather per value.
    for q in 0..full {
        let base = src.add(q * w * rs);
        if rs == 1 {
            for p in 0..kc {
                let s = base.add(p * cs);
                let d = out.add(p * w);
                for r in 0..w {
                    *d.add(r) = *s.add(r);
                }
            }
        } else if cs == 1 {
            pack_rows_contiguous(w, kc, base, rs, out);
        } else {
            for p in 0..kc {
                let d = out.add(p * w);
                for r in 0..w {
                    *d.add(r) = *base.add(r * rs + p * cs);
                }
            }
        }
        out = out.add(w * kc);
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

/// One full panel whose rows are contiguous along `p` (`cs == 1`): a `W × kc` → `kc × W`
/// transpose, done four steps of `p` at a time so each row is read in short runs.
#[inline(always)]
unsafe fn pack_rows_contiguous(w: usize, kc: usize, base: *const f32, rs: usize, out: *mut f32) {
    let mut p = 0;
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
