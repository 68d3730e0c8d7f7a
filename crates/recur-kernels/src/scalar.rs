//! The portable micro-kernel: plain arrays of accumulators, written so LLVM keeps them in
//! registers and vectorizes the `NR`-wide rows for whatever the native target offers (SSE2,
//! NEON, or simd128 when built with it). Always compiled: it is the fallback everywhere.

use super::kernel::{GemmKernel, DEPTH_BLOCK};

/// Portable register-blocked kernel with an `MR × NR` tile of scalar accumulators.
pub struct ScalarKernel<const MR: usize, const NR: usize>;

/// The portable kernel's tile used by `recur_core::kernels::gemm`: 4 rows × 8 columns keeps 8 four-wide
/// vector accumulators in the 16 registers of SSE2 or NEON.
pub type Scalar = ScalarKernel<4, 8>;

impl<const MR: usize, const NR: usize> GemmKernel for ScalarKernel<MR, NR> {
    const MR: usize = MR;
    const NR: usize = NR;
    const KC: usize = DEPTH_BLOCK;
    const MC: usize = 64;
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
        // One rank-1 update per step of k: a column of A~ times a row of B~. The first sets the
        // accumulators, as the simd128 kernel's does (the same bits, signs of zero included).
        let mut acc = [[0.0f32; NR]; MR];
        {
            let av = &*(a as *const [f32; MR]);
            let bv = &*(b as *const [f32; NR]);
            for i in 0..MR {
                for j in 0..NR {
                    acc[i][j] = av[i] * bv[j];
                }
            }
        }
        for p in 1..k {
            let av = &*(a.add(p * MR) as *const [f32; MR]);
            let bv = &*(b.add(p * NR) as *const [f32; NR]);
            for i in 0..MR {
                for j in 0..NR {
                    acc[i][j] += av[i] * bv[j];
                }
            }
        }
        // Store: contiguous rows get a loop LLVM vectorizes; other strides go element-wise.
        for (i, row) in acc.iter().enumerate() {
            let ci = c.add(i * rsc);
            if csc == 1 {
                let cr = &mut *(ci as *mut [f32; NR]);
                if beta == 0.0 {
                    for j in 0..NR {
                        cr[j] = alpha * row[j];
                    }
                } else {
                    for j in 0..NR {
                        cr[j] = alpha * row[j] + beta * cr[j];
                    }
                }
            } else {
                for (j, &v) in row.iter().enumerate() {
                    let dst = ci.add(j * csc);
                    *dst = if beta == 0.0 { alpha * v } else { alpha * v + beta * *dst };
                }
            }
        }
    }
}
