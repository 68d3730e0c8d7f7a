//! The cache-blocked GEMM loop around a [`GemmKernel`] (the five loops of BLIS, as in
//! `matrixmultiply`'s `src/gemm.rs`), with packing buffers that live in a thread-local and are
//! reused from call to call: a recurrent layer calls GEMM once per time step, and after the
//! first step no call allocates.

use std::cell::RefCell;

use super::kernel::{GemmKernel, ROW_PANELS};
use super::pack::{pack, DepthConcat};

/// Largest `MR · NR` of any kernel: the size of the scratch tile for masked edge stores.
const MAX_TILE: usize = 128;

/// Packed panels are aligned to this many bytes (a cache line; also any SIMD width we use).
const ALIGN: usize = 64;

thread_local! {
    /// One growable buffer holding packed `A` then packed `B`; grown, never shrunk.
    static PACK_BUF: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a 64-byte aligned scratch slice of at least `len` floats, taken from the
/// thread-local buffer (allocated only when it must grow). Contents are unspecified.
fn with_pack_buffer<R>(len: usize, f: impl FnOnce(*mut f32) -> R) -> R {
    let pad = ALIGN / std::mem::size_of::<f32>();
    let mut f = Some(f);
    let reused = PACK_BUF.try_with(|cell| {
        // A nested call (impossible today: kernels never call back into gemm) would find the
        // buffer borrowed and fall through to a private allocation below.
        let mut buf = cell.try_borrow_mut().ok()?;
        if buf.len() < len + pad {
            buf.resize(len + pad, 0.0);
        }
        let off = buf.as_ptr().align_offset(ALIGN);
        // SAFETY: `off < pad`, so `off + len <= buf.len()`.
        let ptr = unsafe { buf.as_mut_ptr().add(off) };
        Some((f.take().unwrap())(ptr))
    });
    match reused {
        Ok(Some(r)) => r,
        _ => {
            let mut buf = vec![0.0f32; len + pad];
            let off = buf.as_ptr().align_offset(ALIGN);
            // SAFETY: as above.
            let ptr = unsafe { buf.as_mut_ptr().add(off) };
            (f.take().unwrap())(ptr)
        }
    }
}

/// `n` split in chunks of `size`: yields `(index, length)` for each chunk.
#[inline]
fn chunks(n: usize, size: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n.div_ceil(size)).map(move |l| (l, size.min(n - l * size)))
}

/// `C ← alpha · A·B + beta · C` with kernel `K`; same strides and contract as
/// `recur_core::kernels::gemm` (`beta == 0` never reads `C`).
///
/// # Safety
/// Every element addressed by the dimensions and strides must lie inside `a`, `b`, `c`
/// (checked by the caller), and `C`'s strides must not make two elements alias.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_loop<K: GemmKernel>(
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
    debug_assert!(K::MR * K::NR <= MAX_TILE);
    debug_assert!(K::MC % K::MR == 0 && K::NC % K::NR == 0);
    if m == 0 || n == 0 {
        return;
    }
    // Nothing to multiply: C ← beta · C (and C is only written when beta == 0).
    if k == 0 {
        return scale_c(m, n, beta, c, rsc, csc);
    }

    // Packing buffer sizes, trimmed to this product: A~ holds one MC × KC block, B~ one
    // KC × NC block, each rounded up to whole panels.
    let kc_max = k.min(K::KC);
    let ap_len = kc_max * m.min(K::MC).next_multiple_of(K::MR);
    let bp_len = kc_max * n.min(K::NC).next_multiple_of(K::NR);
    // Keep B~ on its own cache line.
    let ap_len = ap_len.next_multiple_of(ALIGN / 4);

    with_pack_buffer(ap_len + bp_len, |app| {
        let bpp = app.add(ap_len);

        // LOOP 5: split n into NC-column blocks (B, C). Each packed B~ block is reused by
        // every row block of A below, so it is the one that should stay in the outer cache.
        for (l5, nc) in chunks(n, K::NC) {
            let b = b.add(l5 * K::NC * csb);
            let c = c.add(l5 * K::NC * csc);

            // LOOP 4: split k into KC-deep blocks (A, B). This loop accumulates into the same
            // C block, so it cannot be reordered: the first block applies the caller's beta,
            // the following ones add (beta = 1).
            for (l4, kc) in chunks(k, K::KC) {
                let a = a.add(l4 * K::KC * csa);
                let b = b.add(l4 * K::KC * rsb);

                // Pack B → B~: columns become NR-wide panels ("rows" of the pack are columns
                // of B, so the strides are passed swapped).
                pack(K::NR, kc, nc, bpp, b, csb, rsb);

                let betap = if l4 == 0 { beta } else { 1.0 };

                // LOOP 3: split m into MC-row blocks (A, C).
                for (l3, mc) in chunks(m, K::MC) {
                    let a = a.add(l3 * K::MC * rsa);
                    let c = c.add(l3 * K::MC * rsc);

                    // Pack A → A~: MR-row panels.
                    pack(K::MR, kc, mc, app, a, rsa, csa);

                    // LOOPS 2 and 1 around the micro-kernel.
                    gemm_packed::<K>(nc, kc, mc, alpha, app, bpp, betap, c, rsc, csc);
                }
            }
        }
    })
}

/// Loops 1 and 2: every `MR × NR` tile of one `mc × nc` block of `C`, from packed `A~`
/// (`mc × kc`) and `B~` (`kc × nc`).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
unsafe fn gemm_packed<K: GemmKernel>(
    nc: usize,
    kc: usize,
    mc: usize,
    alpha: f32,
    app: *const f32,
    bpp: *const f32,
    beta: f32,
    c: *mut f32,
    rsc: usize,
    csc: usize,
) {
    let (mr, nr) = (K::MR, K::NR);
    // Scratch tile for edge tiles, written by the kernel with beta = 0 (never read first).
    let mut tile = [0.0f32; MAX_TILE];
    // The rows of a partial tile over the full panels go to the kernel's row path where it has
    // one, for contiguous rows of C, when they are at most half a tile: each row reads the
    // panels again, so three rows of a 4-row tile cost about what the padded tile does (simd128,
    // a recurrent step of 1 / 2 / 3 rows: 0.42 / 0.73 / 1.03 of the time).
    let (partial_rows, full_panels) = (mc % mr, nc / nr);
    let by_rows = K::HAS_ROW && csc == 1 && partial_rows > 0 && 2 * partial_rows <= mr;
    if by_rows {
        let ap = app.add((mc - partial_rows) * kc);
        let ct = c.add((mc - partial_rows) * rsc);
        for r in 0..partial_rows {
            for p0 in (0..full_panels).step_by(ROW_PANELS) {
                let panels = (full_panels - p0).min(ROW_PANELS);
                K::row(kc, alpha, ap.add(r), bpp.add(p0 * kc * nr), panels, beta, ct.add(r * rsc + p0 * nr));
            }
        }
    }

    // LOOP 2: through the NR-column panels of B~ (and column strips of C). One B~ panel
    // (kc × NR) stays in L1 while loop 1 sweeps the A~ block (which stays in L2) over it.
    for (l2, nr_) in chunks(nc, nr) {
        let bp = bpp.add(l2 * kc * nr);
        let c = c.add(l2 * nr * csc);

        // LOOP 1: through the MR-row panels of A~ (and the tiles of the C strip).
        // Full tiles first, in place, with no test per tile: with a short depth (an input
        // projection's k = 8) a per-tile edge test and chunk bookkeeping around the kernel cost
        // 10–15 % of the product in V8. (Pointers stepped, not recomputed from an index: the
        // indexed form lost that gain again in V8's code.)
        let full = if nr_ == nr { mc / mr } else { 0 };
        let mut ap = app;
        let mut ct = c;
        for _ in 0..full {
            K::kernel(kc, alpha, ap, bp, beta, ct, rsc, csc);
            ap = ap.add(kc * mr);
            ct = ct.add(mr * rsc);
        }
        if by_rows && nr_ == nr {
            // The partial tile of a full panel: row by row, above.
            continue;
        }
        for (l1, mr_) in chunks(mc, mr).skip(full) {
            let ap = app.add(l1 * kc * mr);
            let c = c.add(l1 * mr * rsc);
            // An edge tile (past the last row or column of C) goes to the scratch tile and is
            // copied back under a mask.
            K::kernel(kc, alpha, ap, bp, 0.0, tile.as_mut_ptr(), nr, 1);
            store_masked(&tile, nr, beta, c, rsc, csc, mr_, nr_);
        }
    }
}

/// `C ← T + beta · C` on the top-left `rows × cols` of a tile `T` (row stride `tr`);
/// `C` is not read when `beta == 0`.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
unsafe fn store_masked(
    tile: &[f32],
    tr: usize,
    beta: f32,
    c: *mut f32,
    rsc: usize,
    csc: usize,
    rows: usize,
    cols: usize,
) {
    for i in 0..rows {
        for j in 0..cols {
            let t = tile[i * tr + j];
            let dst = c.add(i * rsc + j * csc);
            *dst = if beta == 0.0 { t } else { t + beta * *dst };
        }
    }
}

/// `C ← beta · C`, writing zeros without reading when `beta == 0`.
unsafe fn scale_c(m: usize, n: usize, beta: f32, c: *mut f32, rsc: usize, csc: usize) {
    for i in 0..m {
        for j in 0..n {
            let dst = c.add(i * rsc + j * csc);
            *dst = if beta == 0.0 { 0.0 } else { beta * *dst };
        }
    }
}

/// Number of floats [`pack_b_blocks`] writes for a `k × n` operand: every `KC × NC` block of B
/// packed into NR-column panels, blocks in the order the driver's loops 5 and 4 visit them.
pub(crate) fn packed_b_len<K: GemmKernel>(k: usize, n: usize) -> usize {
    chunks(n, K::NC).map(|(_, nc)| k * nc.next_multiple_of(K::NR)).sum()
}

/// Number of `KC × NC` blocks [`pack_b_blocks`] numbers for a `k × n` operand.
pub(crate) fn packed_b_blocks<K: GemmKernel>(k: usize, n: usize) -> usize {
    n.div_ceil(K::NC) * k.div_ceil(K::KC)
}

/// Packs blocks `lo..hi` of `B` (`k × n`) into their places in `dst`, the buffer
/// [`gemm_loop_prepacked_cols`] reads: every `KC × NC` block packed into NR-column panels, blocks
/// numbered and placed in the order the driver's loops 5 and 4 visit them. All blocks
/// (`0..`[`packed_b_blocks`]) pack the whole operand; disjoint ranges may be packed by different
/// threads. A recurrent layer multiplies by the same weights at every time step, so packing them
/// once per sequence instead of once per step removes a full pass over the weights per step.
///
/// # Safety
/// `b` must be valid for every element the dimensions address, and `dst` for
/// [`packed_b_len`] writes; `lo <= hi <=` [`packed_b_blocks`].
#[inline(never)]
pub(crate) unsafe fn pack_b_blocks<K: GemmKernel>(k: usize, n: usize, b: DepthConcat, dst: *mut f32, lo: usize, hi: usize) {
    let k_blocks = k.div_ceil(K::KC);
    for block in lo..hi {
        let (l5, l4) = (block / k_blocks, block % k_blocks);
        pack_b_block::<K>(k, n, b, l5, l4, dst.add(packed_block_offset::<K>(k, n, l5, l4)));
    }
}

/// Where [`pack_b_blocks`] puts the cache block `(l5, l4)` of a `k × n` operand: after the
/// blocks of the earlier column blocks (each `k` deep), then the earlier depth blocks of this one
/// (each `KC` deep, all its columns rounded up to panels).
#[inline(always)]
fn packed_block_offset<K: GemmKernel>(k: usize, n: usize, l5: usize, l4: usize) -> usize {
    let nc = K::NC.min(n - l5 * K::NC);
    l5 * k * K::NC + l4 * K::KC * nc.next_multiple_of(K::NR)
}

/// Packs the cache block `(l5, l4)` (columns `l5·NC..`, depths `l4·KC..`) of `B` (`k × n`)
/// into NR-column panels at `dst`. Not inlined: the one copy of the packing loops for `B`.
///
/// # Safety
/// As [`pack_b_blocks`] for that block, with `dst` valid for its `kc · nc` (rounded up to
/// panels) writes.
#[inline(never)]
unsafe fn pack_b_block<K: GemmKernel>(k: usize, n: usize, b: DepthConcat, l5: usize, l4: usize, dst: *mut f32) {
    let nc = K::NC.min(n - l5 * K::NC);
    let kc = K::KC.min(k - l4 * K::KC);
    b.offset_rows(l5 * K::NC).pack(K::NR, l4 * K::KC, kc, nc, dst);
}

/// [`gemm_loop`] with `B` already packed by [`pack_b_blocks`] (same `K`, `k`, `n`), for the columns
/// `j0..j1` of the product: `C[:, j0..j1]` from the panels of the prepacked `B` that hold those
/// columns (`c` still points to column 0; `j0 = 0, j1 = n` is the whole product). With `j0` a
/// multiple of `K::NR`, every element is computed by exactly the operations, in the same order,
/// as in the whole product, so splitting the columns among threads changes no bit.
///
/// # Safety
/// As [`gemm_loop`]; `bpacked` must hold what [`pack_b_blocks`] wrote for this `k × n`;
/// `j0 <= j1 <= n` and `j0 % K::NR == 0`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_loop_prepacked_cols<K: GemmKernel>(
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
    debug_assert!(j0 <= j1 && j1 <= n && j0.is_multiple_of(K::NR));
    if m == 0 || j0 == j1 {
        return;
    }
    if k == 0 {
        return scale_c(m, j1 - j0, beta, c.add(j0 * csc), rsc, csc);
    }
    let kc_max = k.min(K::KC);
    let ap_len = kc_max * m.min(K::MC).next_multiple_of(K::MR);
    with_pack_buffer(ap_len, |app| {
        let mut off = 0;
        // LOOP 5 and LOOP 4 as in `gemm_loop`, taking each B~ block from the prepacked buffer;
        // within an NC block only the panels of columns j0..j1 are used.
        for (l5, nc) in chunks(n, K::NC) {
            let (b0, b1) = (l5 * K::NC, l5 * K::NC + nc);
            let (lo, hi) = (j0.max(b0), j1.min(b1));
            if lo >= hi {
                off += k * nc.next_multiple_of(K::NR);
                continue;
            }
            let c = c.add(lo * csc);
            for (l4, kc) in chunks(k, K::KC) {
                // Panel (lo - b0) / NR of this KC × NC block.
                let bpp = bpacked.add(off + (lo - b0) * kc);
                off += kc * nc.next_multiple_of(K::NR);
                let betap = if l4 == 0 { beta } else { 1.0 };
                for (l3, mc) in chunks(m, K::MC) {
                    let c = c.add(l3 * K::MC * rsc);
                    a.offset_rows(l3 * K::MC).pack(K::MR, l4 * K::KC, kc, mc, app);
                    gemm_packed::<K>(hi - lo, kc, mc, alpha, app, bpp, betap, c, rsc, csc);
                }
            }
        }
    })
}

/// The right-hand operand of one product of [`crate::gemm_shared_a_best`] (`k × n`).
#[derive(Clone, Copy, Debug)]
pub enum SharedB {
    /// Packed whole by [`crate::pack_b_blocks_best`] (every block) for the same `k`: a pool job's operand,
    /// packed once for all its tasks.
    Packed(*const f32),
    /// Strided as [`crate::pack_b_blocks_best`] reads it (a "row" of the [`DepthConcat`] is a column of `B`):
    /// packed one depth block at a time into the thread's packing buffer, so that no copy of
    /// the whole operand is kept (an `H_prev` of every step is as large as the layer's `h`).
    Strided(DepthConcat),
}

/// One product of [`crate::gemm_shared_a_best`]: `C ← A·B + C` with `B` (`k × n`) and `C` (`m × n`) at
/// `c`, rows `rsc` apart.
#[derive(Clone, Copy, Debug)]
pub struct SharedAProduct {
    /// Columns of `B` and `C`.
    pub n: usize,
    /// `B`.
    pub b: SharedB,
    /// `C`'s element `(0, 0)`.
    pub c: *mut f32,
    /// Step between rows of `C` (columns are contiguous).
    pub rsc: usize,
}

/// Most products of one [`crate::gemm_shared_a_best`] call.
pub const MAX_SHARED_A_PRODUCTS: usize = 4;

/// `C_q ← A·B_q + C_q` for every product `q`, all with the same `A` (`m × k`, rows adjacent:
/// element `(i, p)` at `a[i + p * csa]`), and, with `row_sums`, `row_sums[i] += A[i, p]` for `p`
/// in order: the two weight gradients and the bias gradient of a layer whose input and
/// recurrent projections have the same gradient (`dGᵀ · H_prev`, `dGᵀ · X` and the column sums
/// of `dG`). Each block of `A` is packed once for all the products, where a product each packed
/// it (and the sums read all of `A` once more): for the medium LSTM, `dG` is 4 MB, more than a
/// core's L2.
///
/// Bits: every element of a `C_q` adds the same depth blocks, in the same order, with the same
/// kernel, as [`gemm_loop_prepacked_cols`] with `beta = 1` (the order of the loops around the
/// kernel changes no element's sum), and every row sum adds its elements in order of `p`, as
/// `rows::add_row_cols_to` over the columns of `Aᵀ` does.
///
/// # Safety
/// `a` must be valid for every element the dimensions and strides address; each product's `B`
/// must be valid as its [`SharedB`] says for this `k` and its `n`, and its `C` be valid for
/// reads and writes of every element and alias nothing else; at most
/// [`MAX_SHARED_A_PRODUCTS`] products; `row_sums` (may be null) must be valid for `m` reads
/// and writes.
pub(crate) unsafe fn gemm_shared_a<K: GemmKernel>(
    m: usize,
    k: usize,
    a: *const f32,
    csa: usize,
    products: &[SharedAProduct],
    row_sums: *mut f32,
) {
    assert!(products.len() <= MAX_SHARED_A_PRODUCTS, "gemm_shared_a: more than {MAX_SHARED_A_PRODUCTS} products");
    if m == 0 || k == 0 {
        return;
    }
    let kc_max = k.min(K::KC);
    let ap_len = (kc_max * m.min(K::MC).next_multiple_of(K::MR)).next_multiple_of(ALIGN / 4);
    // One depth block of every strided B, its column blocks one after the other.
    let strided_len: usize = products.iter().filter(|q| matches!(q.b, SharedB::Strided(_))).map(|q| kc_max * q.n.next_multiple_of(K::NR)).sum();
    with_pack_buffer(ap_len + strided_len, |app| {
        let mut blocks = [std::ptr::null::<f32>(); MAX_SHARED_A_PRODUCTS];
        for (l4, kc) in chunks(k, K::KC) {
            let mut free = app.add(ap_len);
            for (q, block) in products.iter().zip(&mut blocks) {
                if let SharedB::Strided(b) = q.b {
                    for (l5, _) in chunks(q.n, K::NC) {
                        pack_b_block::<K>(k, q.n, b, l5, l4, free.add(l5 * kc * K::NC));
                    }
                    *block = free;
                    free = free.add(kc * q.n.next_multiple_of(K::NR));
                }
            }
            let a = a.add(l4 * K::KC * csa);
            for (l3, mc) in chunks(m, K::MC) {
                // (Rows adjacent: only `pack`'s loop for that case is compiled in.)
                pack(K::MR, kc, mc, app, a.add(l3 * K::MC), 1, csa);
                if !row_sums.is_null() {
                    add_panel_sums::<K>(app, kc, mc, row_sums.add(l3 * K::MC));
                }
                for (q, &block) in products.iter().zip(&blocks) {
                    // Every NC-column block of B_q's depth block l4.
                    for (l5, nc) in chunks(q.n, K::NC) {
                        let bpp = match q.b {
                            SharedB::Packed(whole) => whole.add(packed_block_offset::<K>(k, q.n, l5, l4)),
                            SharedB::Strided(_) => block.add(l5 * kc * K::NC),
                        };
                        let c = q.c.add(l3 * K::MC * q.rsc + l5 * K::NC);
                        gemm_packed::<K>(nc, kc, mc, 1.0, app, bpp, 1.0, c, q.rsc, 1);
                    }
                }
            }
        }
    })
}

/// `sums[i] += A~[i, p]` for the `rows` rows of a packed `kc`-deep block, `p` in order.
///
/// # Safety
/// `app` must hold the block's panels ([`pack`] with `MR`), `sums` be valid for `rows` reads
/// and writes.
#[inline(always)]
unsafe fn add_panel_sums<K: GemmKernel>(app: *const f32, kc: usize, rows: usize, sums: *mut f32) {
    assert!(K::MR <= 8, "add_panel_sums: a register tile of more than 8 rows");
    for (q, mr_) in chunks(rows, K::MR) {
        let panel = app.add(q * K::MR * kc);
        let mut acc = [0.0f32; 8];
        for (r, s) in acc.iter_mut().enumerate().take(mr_) {
            *s = *sums.add(q * K::MR + r);
        }
        // The padding rows of the panel are zero and their sums are not stored.
        for p in 0..kc {
            let step = panel.add(p * K::MR);
            for (r, s) in acc.iter_mut().enumerate().take(K::MR) {
                *s += *step.add(r);
            }
        }
        for (r, s) in acc.iter().enumerate().take(mr_) {
            *sums.add(q * K::MR + r) = *s;
        }
    }
}
