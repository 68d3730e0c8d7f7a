//! WebAssembly SIMD micro-kernels (`core::arch::wasm32`, compiled only with `+simd128`).
//!
//! The tile is `MR` rows × `4·NV` columns held in `MR · NV` independent `v128` accumulators.
//! Each step of k loads `NV` vectors of the packed `B~` row once, splats each of the `MR`
//! values of the packed `A~` column (`v128_load32_splat`, one `vbroadcastss` in V8 on x64) and
//! does `MR · NV` multiply-adds. `MR · NV + NV + 1` must fit the vector registers the engine
//! allocates (V8 on x64: 16 xmm, one kept as scratch). Measured in Node 20 on the LSTM shapes,
//! 4 × 8 (8 accumulators) does 33–38 GFLOP/s; 6 × 8, 5 × 8, 4 × 12, 8 × 4 and 3 × 12 were all
//! slower (10–25 GFLOP/s: V8 spills the larger tiles).
//!
//! The rows of a partial tile of at most two rows (a recurrent step with a batch of 1 or 2) go
//! through a row kernel instead, one row over four `B` panels at a time, with the same
//! operations per element.
//!
//! Two variants share the code through [`Madd`]: plain `f32x4_mul` + `f32x4_add` (same rounding
//! as the scalar path), and, with `+relaxed-simd`, `f32x4_relaxed_madd` (fused or not, as the
//! host CPU chooses).

use core::arch::wasm32::*;
use core::marker::PhantomData;

use super::kernel::{GemmKernel, DEPTH_BLOCK, ROW_PANELS};

/// How one multiply-add `acc + a · b` is done on four lanes.
pub trait Madd {
    /// Returns `acc + a · b`.
    fn madd(acc: v128, a: v128, b: v128) -> v128;
}

/// `f32x4_add(acc, f32x4_mul(a, b))`: two roundings, identical on every host.
pub struct MulAdd;

impl Madd for MulAdd {
    #[inline(always)]
    fn madd(acc: v128, a: v128, b: v128) -> v128 {
        f32x4_add(acc, f32x4_mul(a, b))
    }
}

/// `f32x4_relaxed_madd`: one fused instruction where the host has FMA.
#[cfg(target_feature = "relaxed-simd")]
pub struct RelaxedMadd;

#[cfg(target_feature = "relaxed-simd")]
impl Madd for RelaxedMadd {
    #[inline(always)]
    fn madd(acc: v128, a: v128, b: v128) -> v128 {
        f32x4_relaxed_madd(a, b, acc)
    }
}

/// simd128 kernel with an `MR × 4·NV` tile, multiply-add done by `M`.
pub struct Simd128Kernel<const MR: usize, const NV: usize, M>(PhantomData<M>);

/// The simd128 kernel used by `recur_core::kernels::gemm`.
pub type Simd128 = Simd128Kernel<4, 2, MulAdd>;

/// The relaxed-SIMD kernel used by `recur_core::kernels::gemm` when built with `+relaxed-simd`.
#[cfg(target_feature = "relaxed-simd")]
pub type RelaxedSimd = Simd128Kernel<4, 2, RelaxedMadd>;

impl<const MR: usize, const NV: usize, M: Madd> GemmKernel for Simd128Kernel<MR, NV, M> {
    const MR: usize = MR;
    const NR: usize = 4 * NV;
    const KC: usize = DEPTH_BLOCK;
    const MC: usize = 16 * MR;
    const NC: usize = 1024;

    #[inline(always)]
    unsafe fn kernel(
        k: usize,
        alpha: f32,
        a: *const f32,
        b: *const f32,
        beta: f32,
        c: *mut f32,
        rsc: usize,
        csc: usize,
    ) {
        // The first step of k sets the accumulators (no zeroing, no adds to zero): 6 % of the
        // arithmetic at k = 8. Bits as summing from +0 except the sign of a zero sum of only
        // -0 products; the scalar kernel does the same, so the builds still agree bit for bit.
        let mut acc = [[f32x4_splat(0.0); NV]; MR];
        first_step::<MR, NV>(&mut acc, a, b);
        let mut ap = a.add(MR);
        let mut bp = b.add(4 * NV);
        // One step of k per trip: unrolling (by 2 or 4) let LLVM hoist the loads of later steps
        // above the arithmetic of earlier ones, and V8 then spilled accumulators (slower).
        for _ in 1..k {
            step::<MR, NV, M>(&mut acc, ap, bp);
            ap = ap.add(MR);
            bp = bp.add(4 * NV);
        }

        if csc == 1 {
            // Contiguous rows: whole-vector (unaligned) loads and stores. The common cases
            // (alpha = 1 with beta = 0 or 1) skip the scaling multiplies, which matters when k
            // is short (the input projection: k = input size).
            if alpha == 1.0 && beta == 0.0 {
                for (i, row) in acc.iter().enumerate() {
                    for (v, x) in row.iter().enumerate() {
                        v128_store(c.add(i * rsc + 4 * v) as *mut v128, *x);
                    }
                }
            } else if alpha == 1.0 && beta == 1.0 {
                for (i, row) in acc.iter().enumerate() {
                    for (v, x) in row.iter().enumerate() {
                        let cp = c.add(i * rsc + 4 * v) as *mut v128;
                        v128_store(cp, f32x4_add(*x, v128_load(cp)));
                    }
                }
            } else {
                let (alphav, betav) = (f32x4_splat(alpha), f32x4_splat(beta));
                for (i, row) in acc.iter().enumerate() {
                    for (v, x) in row.iter().enumerate() {
                        let cp = c.add(i * rsc + 4 * v) as *mut v128;
                        let ab = f32x4_mul(alphav, *x);
                        let out = if beta == 0.0 { ab } else { f32x4_add(ab, f32x4_mul(betav, v128_load(cp))) };
                        v128_store(cp, out);
                    }
                }
            }
        } else {
            let alphav = f32x4_splat(alpha);
            for (i, row) in acc.iter().enumerate() {
                let ci = c.add(i * rsc);
                for (v, x) in row.iter().enumerate() {
                    let ab = f32x4_mul(alphav, *x);
                    let lanes = [
                        f32x4_extract_lane::<0>(ab),
                        f32x4_extract_lane::<1>(ab),
                        f32x4_extract_lane::<2>(ab),
                        f32x4_extract_lane::<3>(ab),
                    ];
                    for (l, &t) in lanes.iter().enumerate() {
                        let dst = ci.add((4 * v + l) * csc);
                        *dst = if beta == 0.0 { t } else { t + beta * *dst };
                    }
                }
            }
        }
    }

    const HAS_ROW: bool = true;

    #[inline(always)]
    unsafe fn row(k: usize, alpha: f32, a: *const f32, b: *const f32, panels: usize, beta: f32, c: *mut f32) {
        // Four panels at a time (8 accumulators, as the tile kernel), one at a time after them.
        if panels == ROW_PANELS {
            row_panels::<NV, ROW_PANELS, M>(k, alpha, a, MR, b, beta, c)
        } else {
            for p in 0..panels {
                row_panels::<NV, 1, M>(k, alpha, a, MR, b.add(p * k * 4 * NV), beta, c.add(p * 4 * NV))
            }
        }
    }
}

/// One row of `A` times `P` consecutive packed `B` panels of `4·NV` columns (`GemmKernel::row`):
/// per step of k one splat of the row's value and `P · NV` multiply-adds, all of them useful,
/// where a tile whose other rows are padding wastes three quarters of them. The same operations
/// per element as the tile kernel: the first step's product, then `M::madd` in order of k, then
/// the same epilogue.
#[inline(always)]
unsafe fn row_panels<const NV: usize, const P: usize, M: Madd>(k: usize, alpha: f32, a: *const f32, a_step: usize, b: *const f32, beta: f32, c: *mut f32) {
    let panel = k * 4 * NV;
    let mut acc = [[f32x4_splat(0.0); NV]; P];
    let a0 = v128_load32_splat(a as *const u32);
    for (p, row) in acc.iter_mut().enumerate() {
        for (v, x) in row.iter_mut().enumerate() {
            *x = f32x4_mul(a0, v128_load(b.add(p * panel + 4 * v) as *const v128));
        }
    }
    let mut ap = a.add(a_step);
    let mut bp = b.add(4 * NV);
    for _ in 1..k {
        let ai = v128_load32_splat(ap as *const u32);
        for (p, row) in acc.iter_mut().enumerate() {
            for (v, x) in row.iter_mut().enumerate() {
                *x = M::madd(*x, ai, v128_load(bp.add(p * panel + 4 * v) as *const v128));
            }
        }
        ap = ap.add(a_step);
        bp = bp.add(4 * NV);
    }
    // The tile kernel's epilogue for contiguous rows.
    for (p, row) in acc.iter().enumerate() {
        for (v, x) in row.iter().enumerate() {
            let cp = c.add(p * 4 * NV + 4 * v) as *mut v128;
            let out = if alpha == 1.0 && beta == 0.0 {
                *x
            } else if alpha == 1.0 && beta == 1.0 {
                f32x4_add(*x, v128_load(cp))
            } else {
                let ab = f32x4_mul(f32x4_splat(alpha), *x);
                if beta == 0.0 { ab } else { f32x4_add(ab, f32x4_mul(f32x4_splat(beta), v128_load(cp))) }
            };
            v128_store(cp, out);
        }
    }
}

/// The first step of k: `acc[i][v] = a[i] · b[4v..4v+4]` (as [`step`], without adding).
#[inline(always)]
unsafe fn first_step<const MR: usize, const NV: usize>(acc: &mut [[v128; NV]; MR], a: *const f32, b: *const f32) {
    let mut bv = [f32x4_splat(0.0); NV];
    for (v, slot) in bv.iter_mut().enumerate() {
        *slot = v128_load(b.add(4 * v) as *const v128);
    }
    for (i, row) in acc.iter_mut().enumerate() {
        let ai = v128_load32_splat(a.add(i) as *const u32);
        for v in 0..NV {
            row[v] = f32x4_mul(ai, bv[v]);
        }
    }
}

/// One step of k: `acc[i][v] += a[i] · b[4v..4v+4]` for the packed column `a` (`MR` values)
/// and row `b` (`NV` vectors).
#[inline(always)]
unsafe fn step<const MR: usize, const NV: usize, M: Madd>(acc: &mut [[v128; NV]; MR], a: *const f32, b: *const f32) {
    let mut bv = [f32x4_splat(0.0); NV];
    for (v, slot) in bv.iter_mut().enumerate() {
        *slot = v128_load(b.add(4 * v) as *const v128);
    }
    for (i, row) in acc.iter_mut().enumerate() {
        let ai = v128_load32_splat(a.add(i) as *const u32);
        for v in 0..NV {
            row[v] = M::madd(row[v], ai, bv[v]);
        }
    }
}
