//! The reset-after GRU's (PyTorch's GRU) backward kernel four hidden units at a time, as the
//! LSTM's is: each lane does the operations of the scalar kernel in the same order, so the
//! results are bitwise its; the last `hidden % 4` units take the scalar formulas.
//!
//! Only backward: the scalar kernel there did not vectorize (its gates, gradients and `drec`
//! go through one struct's slices, which LLVM cannot prove apart) and took about 6 % of a
//! medium training step; this one made the step 0.96 of the time. The scalar forward kernel's
//! nonlinearities already vectorize (`math::sigmoid_in_place`): a four-lane version of it
//! gained about 1 % in training and 0.6 % in inference for 1.9 KB of every simd build.

use super::{ld, st};
use crate::cells::StepBackward;
use core::arch::wasm32::*;

/// [`crate::cells::gru_backward_reset_after`], in place too (the gates read through `dxp`'s
/// pointer, each vector before the stores of the same lanes).
pub(in crate::cells) fn gru_backward_reset_after(s: StepBackward<'_>, rec_n: &[f32]) {
    let hd = s.hidden;
    let g3 = 3 * hd;
    let (b, n4) = (s.batch, hd / 4 * 4);
    let in_place = s.gates_in_dxp();
    assert!(s.valid.len() >= b && (in_place || s.gates.len() >= b * g3) && s.dxp.len() >= b * g3 && s.drec.len() >= b * g3);
    assert!(s.dh.len() >= b * hd && s.dh_prev.len() >= b * hd && s.h_prev.len() >= b * hd && rec_n.len() >= b * hd);
    for r in 0..b {
        let (hs, gs) = (r * hd, r * g3);
        if !s.valid[r] {
            s.dh_prev[hs..hs + hd].copy_from_slice(&s.dh[hs..hs + hd]);
            s.dxp[gs..gs + g3].iter_mut().for_each(|v| *v = 0.0);
            s.drec[gs..gs + g3].iter_mut().for_each(|v| *v = 0.0);
            continue;
        }
        // SAFETY: every index below is < gs + g3 or < hs + hd, inside the slices (asserted).
        unsafe {
            let (dxp, drec) = (s.dxp.as_mut_ptr().add(gs), s.drec.as_mut_ptr().add(gs));
            let ga = if in_place { dxp as *const f32 } else { s.gates.as_ptr().add(gs) };
            let (dh, hp, rn, dhp) = (s.dh.as_ptr().add(hs), s.h_prev.as_ptr().add(hs), rec_n.as_ptr().add(hs), s.dh_prev.as_mut_ptr().add(hs));
            let one = f32x4_splat(1.0);
            let mut j = 0;
            while j < n4 {
                let (rg, z, n) = (ld(ga.add(j)), ld(ga.add(hd + j)), ld(ga.add(2 * hd + j)));
                let (d, h0) = (ld(dh.add(j)), ld(hp.add(j)));
                let dan = f32x4_mul(f32x4_mul(d, f32x4_sub(one, z)), f32x4_sub(one, f32x4_mul(n, n)));
                let daz = f32x4_mul(f32x4_mul(f32x4_mul(d, f32x4_sub(h0, n)), z), f32x4_sub(one, z));
                let dar = f32x4_mul(f32x4_mul(f32x4_mul(dan, ld(rn.add(j))), rg), f32x4_sub(one, rg));
                st(dhp.add(j), f32x4_mul(d, z));
                st(dxp.add(j), dar);
                st(dxp.add(hd + j), daz);
                st(dxp.add(2 * hd + j), dan);
                st(drec.add(j), dar);
                st(drec.add(hd + j), daz);
                st(drec.add(2 * hd + j), f32x4_mul(dan, rg));
                j += 4;
            }
            while j < hd {
                let (rg, z, n) = (*ga.add(j), *ga.add(hd + j), *ga.add(2 * hd + j));
                let (d, h0) = (*dh.add(j), *hp.add(j));
                let dan = d * (1.0 - z) * (1.0 - n * n);
                let daz = d * (h0 - n) * z * (1.0 - z);
                let dar = dan * *rn.add(j) * rg * (1.0 - rg);
                *dhp.add(j) = d * z;
                *dxp.add(j) = dar;
                *dxp.add(hd + j) = daz;
                *dxp.add(2 * hd + j) = dan;
                *drec.add(j) = dar;
                *drec.add(hd + j) = daz;
                *drec.add(2 * hd + j) = dan * rg;
                j += 1;
            }
        }
    }
}
