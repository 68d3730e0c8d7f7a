//! Fused elementwise kernels of one time step of the LSTM and GRU cells, over a whole batch
//! (recur-core's `recurrent::cells` re-exports them, next to the RNN's, which take an activation).
//!
//! Forward kernels take the input projection `xp` (`W_ih x + b_ih`, `[B, G·H]`) and the
//! recurrent projection `rec` (`W_hh h + b_hh`, `[B, G·H]`; the RNN, LSTM and reset-after GRU
//! kernels add `b_hh` themselves when given it, as `xp + (rec + b_hh)`, the same sum as a
//! separate pass over `rec` would make), and write the gates and new states
//! that backward needs. Backward kernels turn the gradient of the step's output into the
//! gradients of the two projections (`dxp`, `drec`) and the direct parts of the gradients of
//! the previous states. Rows whose `valid` flag is false are padding: state carried, gradient
//! passed through unchanged, projection gradients zero.

use crate::math;

/// Per-step views for the forward kernels.
pub struct StepForward<'a> {
    /// Rows `B` of the batch.
    pub batch: usize,
    /// Hidden size `H`.
    pub hidden: usize,
    /// Per row: false for padding (past the row's length).
    pub valid: &'a [bool],
    /// Input projection `W_ih x + b_ih`, `[B, G·H]`; empty when it is already in `rec` (LSTM
    /// and RNN: `rec = [x | h_prev] · [W_ih | W_hh]ᵀ`, `b_rec = b_ih + b_hh`). GRU needs it.
    pub xp: &'a [f32],
    /// Recurrent projection `W_hh h` (`+ b_hh` unless [`StepForward::b_rec`]), `[B, G·H]`.
    pub rec: &'a [f32],
    /// `b_hh` (`[G·H]`) when it is not in `rec` yet: the kernel adds it to `rec` first.
    pub b_rec: Option<&'a [f32]>,
    /// Previous hidden state, `[B, H]`.
    pub h_prev: &'a [f32],
    /// Gates after their nonlinearities (RNN: the pre-activation), `[B, G·H]`.
    pub gates: &'a mut [f32],
    /// New hidden state, `[B, H]` (written).
    pub h: &'a mut [f32],
}

/// `dst[j] = x[j] + (y[j] + b[j])`, or `x[j] + y[j]` without `b`; an empty `x` (the input
/// projection already in `y`) adds nothing: `y[j] + b[j]`, or `y[j]`.
pub fn add_pre(dst: &mut [f32], x: &[f32], y: &[f32], b: Option<&[f32]>) {
    match (b, x.is_empty()) {
        (Some(b), false) => dst.iter_mut().zip(x).zip(y).zip(b).for_each(|(((a, x), y), b)| *a = x + (y + b)),
        (None, false) => dst.iter_mut().zip(x).zip(y).for_each(|((a, x), y)| *a = x + y),
        (Some(b), true) => dst.iter_mut().zip(y).zip(b).for_each(|((a, y), b)| *a = y + b),
        (None, true) => dst.copy_from_slice(&y[..dst.len()]),
    }
}

/// Rows `r` of the input projection `xp`, or nothing when it is empty (already in `rec`).
#[inline]
pub fn xp_rows(xp: &[f32], r: core::ops::Range<usize>) -> &[f32] {
    if xp.is_empty() {
        xp
    } else {
        &xp[r]
    }
}

/// LSTM forward (gate blocks `i, f, g, o`), with optional peepholes `(p_i, p_f, p_o)`.
/// Each stage is a pass over a contiguous block, so the nonlinearities vectorize.
#[inline(never)]
pub fn lstm_forward(
    s: StepForward<'_>,
    c_prev: &[f32],
    c: &mut [f32],
    tanh_c: &mut [f32],
    peep: Option<(&[f32], &[f32], &[f32])>,
) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if peep.is_none() {
        return simd::lstm_forward(s, c_prev, c, tanh_c);
    }
    let hd = s.hidden;
    let g4 = 4 * hd;
    for b in 0..s.batch {
        let hs = b * hd;
        let gs = b * g4;
        if !s.valid[b] {
            s.h[hs..hs + hd].copy_from_slice(&s.h_prev[hs..hs + hd]);
            c[hs..hs + hd].copy_from_slice(&c_prev[hs..hs + hd]);
            s.gates[gs..gs + g4].iter_mut().for_each(|v| *v = 0.0);
            tanh_c[hs..hs + hd].iter_mut().for_each(|v| *v = 0.0);
            continue;
        }
        let gates = &mut s.gates[gs..gs + g4];
        add_pre(gates, xp_rows(s.xp, gs..gs + g4), &s.rec[gs..gs + g4], s.b_rec);
        let cp = &c_prev[hs..hs + hd];
        let cn = &mut c[hs..hs + hd];
        let (i_f, rest) = gates.split_at_mut(2 * hd);
        let (g, o) = rest.split_at_mut(hd);
        if let Some((pi, pf, _)) = peep {
            let (i, f) = i_f.split_at_mut(hd);
            for j in 0..hd {
                i[j] += pi[j] * cp[j];
                f[j] += pf[j] * cp[j];
            }
        }
        math::sigmoid_in_place(i_f);
        math::tanh_in_place(g);
        let (i, f) = i_f.split_at(hd);
        for j in 0..hd {
            cn[j] = f[j] * cp[j] + i[j] * g[j];
        }
        if let Some((_, _, po)) = peep {
            for j in 0..hd {
                o[j] += po[j] * cn[j];
            }
        }
        math::sigmoid_in_place(o);
        let tc = &mut tanh_c[hs..hs + hd];
        tc.copy_from_slice(cn);
        math::tanh_in_place(tc);
        let h = &mut s.h[hs..hs + hd];
        for j in 0..hd {
            h[j] = o[j] * tc[j];
        }
    }
}

/// GRU forward, reset-after form: `n = tanh(xp_n + r ⊙ rec_n)`; `rec_n` (which includes
/// `b_hn`) is kept in `rec_n_out` for backward.
#[inline(never)]
pub fn gru_forward_reset_after(s: StepForward<'_>, rec_n_out: &mut [f32]) {
    let hd = s.hidden;
    let g3 = 3 * hd;
    for b in 0..s.batch {
        let hs = b * hd;
        let gs = b * g3;
        if !s.valid[b] {
            s.h[hs..hs + hd].copy_from_slice(&s.h_prev[hs..hs + hd]);
            s.gates[gs..gs + g3].iter_mut().for_each(|v| *v = 0.0);
            rec_n_out[hs..hs + hd].iter_mut().for_each(|v| *v = 0.0);
            continue;
        }
        let gates = &mut s.gates[gs..gs + g3];
        // GRU always gets its input projection (its n gate adds it apart from rec).
        let (xp, rec) = (&s.xp[gs..gs + g3], &s.rec[gs..gs + g3]);
        let (rz, n) = gates.split_at_mut(2 * hd);
        add_pre(rz, &xp[..2 * hd], &rec[..2 * hd], s.b_rec.map(|b| &b[..2 * hd]));
        math::sigmoid_in_place(rz);
        let rn = &mut rec_n_out[hs..hs + hd];
        match s.b_rec {
            Some(b) => rn.iter_mut().zip(&rec[2 * hd..]).zip(&b[2 * hd..]).for_each(|((v, r), b)| *v = r + b),
            None => rn.copy_from_slice(&rec[2 * hd..]),
        }
        for j in 0..hd {
            n[j] = xp[2 * hd + j] + rz[j] * rn[j];
        }
        math::tanh_in_place(n);
        let (z, hp) = (&rz[hd..], &s.h_prev[hs..hs + hd]);
        let h = &mut s.h[hs..hs + hd];
        for j in 0..hd {
            h[j] = (1.0 - z[j]) * n[j] + z[j] * hp[j];
        }
    }
}

/// GRU reset-before, first half: the gates `r`, `z` from `xp + rec` (only the first `2H`
/// columns of `rec` are read) and `rh = r ⊙ h_prev`, the input of the `W_hn` product.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
#[allow(clippy::needless_range_loop)] // rows and columns index several arrays at once
pub fn gru_reset_before_gates(
    batch: usize,
    hd: usize,
    valid: &[bool],
    xp: &[f32],
    rec: &[f32],
    h_prev: &[f32],
    gates: &mut [f32],
    rh: &mut [f32],
) {
    let g3 = 3 * hd;
    for b in 0..batch {
        let hs = b * hd;
        let gs = b * g3;
        let rz = &mut gates[gs..gs + 2 * hd];
        if !valid[b] {
            rz.iter_mut().for_each(|v| *v = 0.0);
            rh[hs..hs + hd].iter_mut().for_each(|v| *v = 0.0);
            continue;
        }
        for ((a, x), r) in rz.iter_mut().zip(&xp[gs..gs + 2 * hd]).zip(&rec[gs..gs + 2 * hd]) {
            *a = x + r;
        }
        math::sigmoid_in_place(rz);
        for j in 0..hd {
            rh[hs + j] = rz[j] * h_prev[hs + j];
        }
    }
}

/// GRU reset-before, second half: `n = tanh(xp_n + rec_n)` where `rec_n = W_hn (r ⊙ h) + b_hn`
/// sits in the last `H` columns of `rec`; then `h`.
#[inline(never)]
#[allow(clippy::needless_range_loop)] // rows and columns index several arrays at once
pub fn gru_reset_before_output(s: StepForward<'_>) {
    let hd = s.hidden;
    let g3 = 3 * hd;
    for b in 0..s.batch {
        let hs = b * hd;
        let gs = b * g3;
        if !s.valid[b] {
            s.h[hs..hs + hd].copy_from_slice(&s.h_prev[hs..hs + hd]);
            s.gates[gs..gs + g3].iter_mut().for_each(|v| *v = 0.0);
            continue;
        }
        let (rz, n) = s.gates[gs..gs + g3].split_at_mut(2 * hd);
        for j in 0..hd {
            n[j] = s.xp[gs + 2 * hd + j] + s.rec[gs + 2 * hd + j];
        }
        math::tanh_in_place(n);
        let z = &rz[hd..];
        for j in 0..hd {
            s.h[hs + j] = (1.0 - z[j]) * n[j] + z[j] * s.h_prev[hs + j];
        }
    }
}

/// Per-step views for the backward kernels.
pub struct StepBackward<'a> {
    /// Rows `B` of the batch.
    pub batch: usize,
    /// Hidden size `H`.
    pub hidden: usize,
    /// Per row: false for padding (past the row's length).
    pub valid: &'a [bool],
    /// The gates the forward kernel wrote, `[B, G·H]`; empty when they are in `dxp` instead
    /// ([`StepBackward::gates_in_dxp`]).
    pub gates: &'a [f32],
    /// Previous hidden state, `[B, H]`.
    pub h_prev: &'a [f32],
    /// Total gradient of the step's new `h` (carried plus from the output), `[B, H]`.
    pub dh: &'a [f32],
    /// Gradient of the input projection, `[B, G·H]` (written; it may hold the gates on entry,
    /// each overwritten by its gradient: [`StepBackward::gates_in_dxp`]).
    pub dxp: &'a mut [f32],
    /// Gradient of the recurrent projection, `[B, G·H]` (written). The LSTM and RNN kernels take
    /// it empty and skip it when the caller reads `dxp` instead (the two gradients are equal for
    /// these cells: a copy per step would only cost stores); the GRU kernels always write it.
    pub drec: &'a mut [f32],
    /// Direct part of the gradient of `h_prev`, `[B, H]` (written; the GEMM part is added later).
    pub dh_prev: &'a mut [f32],
}

impl StepBackward<'_> {
    /// Whether `dxp` holds the gates on entry (`gates` is empty), which the kernel overwrites
    /// with their gradients (every kernel supports it; recur-core uses it for layers without
    /// layer norm). The backward pass then reads each step's gates from cache lines it writes
    /// anyway, instead of also fetching the lines of a dead buffer only to overwrite them (the
    /// backward cells wait on memory at medium sizes), and training keeps no input projection.
    pub fn gates_in_dxp(&self) -> bool {
        self.gates.is_empty()
    }
}

/// Peephole gradients accumulated by [`lstm_backward`].
pub struct PeepholeGrads<'a> {
    /// The peephole weights `(p_i, p_f, p_o)`, `[H]` each.
    pub p: (&'a [f32], &'a [f32], &'a [f32]),
    /// Their gradients (accumulated into).
    pub dp: (&'a mut [f32], &'a mut [f32], &'a mut [f32]),
}

/// LSTM backward; `dc` is the carried gradient of the new `c` and `dc_prev` receives the
/// gradient of `c_prev`.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub fn lstm_backward(
    s: StepBackward<'_>,
    c_prev: &[f32],
    c: &[f32],
    tanh_c: &[f32],
    dc: &[f32],
    dc_prev: &mut [f32],
    mut peep: Option<PeepholeGrads<'_>>,
) {
    // Peepholes in the vector loop only for whole vectors (its scalar tail has none).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if peep.is_none() || s.hidden % 4 == 0 {
        return simd::lstm_backward(s, c_prev, c, tanh_c, dc, dc_prev, peep);
    }
    let hd = s.hidden;
    let g4 = 4 * hd;
    let keeps_drec = !s.drec.is_empty();
    let in_place = s.gates_in_dxp();
    for b in 0..s.batch {
        let hs = b * hd;
        let gs = b * g4;
        if !s.valid[b] {
            s.dh_prev[hs..hs + hd].copy_from_slice(&s.dh[hs..hs + hd]);
            dc_prev[hs..hs + hd].copy_from_slice(&dc[hs..hs + hd]);
            s.dxp[gs..gs + g4].iter_mut().for_each(|v| *v = 0.0);
            if keeps_drec {
                s.drec[gs..gs + g4].iter_mut().for_each(|v| *v = 0.0);
            }
            continue;
        }
        for j in 0..hd {
            let (i, f, g, o) = {
                let gates: &[f32] = if in_place { s.dxp } else { s.gates };
                (gates[gs + j], gates[gs + hd + j], gates[gs + 2 * hd + j], gates[gs + 3 * hd + j])
            };
            let tc = tanh_c[hs + j];
            let cp = c_prev[hs + j];
            let dh = s.dh[hs + j];
            let dao = dh * tc * o * (1.0 - o);
            let mut dct = dc[hs + j] + dh * o * (1.0 - tc * tc);
            if let Some(pg) = peep.as_mut() {
                dct += dao * pg.p.2[j];
                pg.dp.2[j] += dao * c[hs + j];
            }
            let dai = dct * g * i * (1.0 - i);
            let daf = dct * cp * f * (1.0 - f);
            let dag = dct * i * (1.0 - g * g);
            let mut dcp = dct * f;
            if let Some(pg) = peep.as_mut() {
                dcp += dai * pg.p.0[j] + daf * pg.p.1[j];
                pg.dp.0[j] += dai * cp;
                pg.dp.1[j] += daf * cp;
            }
            dc_prev[hs + j] = dcp;
            s.dh_prev[hs + j] = 0.0;
            for (k, v) in [dai, daf, dag, dao].into_iter().enumerate() {
                s.dxp[gs + k * hd + j] = v;
                if keeps_drec {
                    s.drec[gs + k * hd + j] = v;
                }
            }
        }
    }
}

/// GRU backward, reset-after form. In place (`gates` empty), the gates `r, z, n` are read from
/// `dxp`, each element before its gradient is written over it.
#[inline(never)]
pub fn gru_backward_reset_after(s: StepBackward<'_>, rec_n: &[f32]) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    return simd::gru_backward_reset_after(s, rec_n);
    #[allow(unreachable_code)]
    let hd = s.hidden;
    let g3 = 3 * hd;
    let in_place = s.gates_in_dxp();
    for b in 0..s.batch {
        let hs = b * hd;
        let gs = b * g3;
        if !s.valid[b] {
            s.dh_prev[hs..hs + hd].copy_from_slice(&s.dh[hs..hs + hd]);
            s.dxp[gs..gs + g3].iter_mut().for_each(|v| *v = 0.0);
            s.drec[gs..gs + g3].iter_mut().for_each(|v| *v = 0.0);
            continue;
        }
        for j in 0..hd {
            let (r, z, n) = {
                let gates: &[f32] = if in_place { s.dxp } else { s.gates };
                (gates[gs + j], gates[gs + hd + j], gates[gs + 2 * hd + j])
            };
            let dh = s.dh[hs + j];
            let hp = s.h_prev[hs + j];
            let dan = dh * (1.0 - z) * (1.0 - n * n);
            let daz = dh * (hp - n) * z * (1.0 - z);
            let dar = dan * rec_n[hs + j] * r * (1.0 - r);
            s.dh_prev[hs + j] = dh * z;
            s.dxp[gs + j] = dar;
            s.dxp[gs + hd + j] = daz;
            s.dxp[gs + 2 * hd + j] = dan;
            s.drec[gs + j] = dar;
            s.drec[gs + hd + j] = daz;
            s.drec[gs + 2 * hd + j] = dan * r;
        }
    }
}

/// GRU reset-before, first half of backward: the gradient of `n`'s pre-activation, written to
/// the `n` block of `drec` (the caller then forms `d(r ⊙ h) = drec_n · W_hn`) and of `dxp`; in
/// place (`gates` empty: they are in `dxp`) only to `drec`, as [`gru_reset_before_backward_rz`]
/// still reads `n` there and then copies the gradient over it.
#[inline(never)]
pub fn gru_reset_before_backward_n(s: &mut StepBackward<'_>) {
    let hd = s.hidden;
    let g3 = 3 * hd;
    let in_place = s.gates_in_dxp();
    for b in 0..s.batch {
        let hs = b * hd;
        let gs = b * g3;
        for j in 0..hd {
            let dan = if s.valid[b] {
                let gates: &[f32] = if in_place { s.dxp } else { s.gates };
                let z = gates[gs + hd + j];
                let n = gates[gs + 2 * hd + j];
                s.dh[hs + j] * (1.0 - z) * (1.0 - n * n)
            } else {
                0.0
            };
            if !in_place {
                s.dxp[gs + 2 * hd + j] = dan;
            }
            s.drec[gs + 2 * hd + j] = dan;
        }
    }
}

/// GRU reset-before, second half of backward, given `drh = d(r ⊙ h_prev)`. In place (`gates`
/// empty), the gates are read from `dxp` and overwritten by their gradients, `n`'s copied from
/// `drec` (where [`gru_reset_before_backward_n`] left it; the caller must not have changed it).
#[inline(never)]
pub fn gru_reset_before_backward_rz(s: StepBackward<'_>, drh: &[f32]) {
    let hd = s.hidden;
    let g3 = 3 * hd;
    let in_place = s.gates_in_dxp();
    for b in 0..s.batch {
        let hs = b * hd;
        let gs = b * g3;
        if !s.valid[b] {
            s.dh_prev[hs..hs + hd].copy_from_slice(&s.dh[hs..hs + hd]);
            for k in 0..2 {
                s.dxp[gs + k * hd..gs + (k + 1) * hd].iter_mut().for_each(|v| *v = 0.0);
                s.drec[gs + k * hd..gs + (k + 1) * hd].iter_mut().for_each(|v| *v = 0.0);
            }
            if in_place {
                s.dxp[gs + 2 * hd..gs + g3].iter_mut().for_each(|v| *v = 0.0);
            }
            continue;
        }
        for j in 0..hd {
            let (r, z, n) = {
                let gates: &[f32] = if in_place { s.dxp } else { s.gates };
                (gates[gs + j], gates[gs + hd + j], gates[gs + 2 * hd + j])
            };
            let dh = s.dh[hs + j];
            let hp = s.h_prev[hs + j];
            let daz = dh * (hp - n) * z * (1.0 - z);
            let dar = drh[hs + j] * hp * r * (1.0 - r);
            s.dh_prev[hs + j] = dh * z + drh[hs + j] * r;
            s.dxp[gs + j] = dar;
            s.dxp[gs + hd + j] = daz;
            if in_place {
                s.dxp[gs + 2 * hd + j] = s.drec[gs + 2 * hd + j];
            }
            s.drec[gs + j] = dar;
            s.drec[gs + hd + j] = daz;
        }
    }
}

/// The LSTM kernels (forward without peepholes, backward with them too for hidden sizes that are
/// multiples of 4) and the reset-after GRU's backward (`gru.rs`) over each batch row, four
/// hidden units at a time in `v128` registers (the scalar code above stores and reloads every
/// intermediate, and its nonlinearities vectorize less well). Each lane does the operations of
/// the scalar code in the same order (`math::x4` mirrors [`math`]), so results are bitwise
/// those of the scalar build (the relaxed builds' four-lane nonlinearities fuse their
/// multiply-adds: see `math::x4`); the last `hidden % 4` units take the scalar formulas.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::{PeepholeGrads, StepBackward, StepForward};
    use crate::math::{self, x4};
    use core::arch::wasm32::*;

    mod gru;
    pub(super) use gru::gru_backward_reset_after;

    #[inline(always)]
    unsafe fn ld(p: *const f32) -> v128 {
        v128_load(p as *const v128)
    }

    #[inline(always)]
    unsafe fn st(p: *mut f32, v: v128) {
        v128_store(p as *mut v128, v)
    }

    /// `dst[j] = f(x[j] + (y[j] + b[j]))` for `j < n`, or `f(y[j] + b[j])` without `has_x` (the
    /// input projection already in `y`): four lanes at a time, then the scalar tail.
    ///
    /// # Safety
    /// `x` (with `has_x`), `y`, `b` valid for `n` reads and `dst` for `n` writes.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    unsafe fn map_sum(has_x: bool, n: usize, x: *const f32, y: *const f32, b: *const f32, dst: *mut f32, fv: impl Fn(v128) -> v128, fs: impl Fn(f32) -> f32) {
        let mut j = 0;
        while j + 4 <= n {
            let yb = f32x4_add(ld(y.add(j)), ld(b.add(j)));
            st(dst.add(j), fv(if has_x { f32x4_add(ld(x.add(j)), yb) } else { yb }));
            j += 4;
        }
        while j < n {
            let yb = *y.add(j) + *b.add(j);
            *dst.add(j) = fs(if has_x { *x.add(j) + yb } else { yb });
            j += 1;
        }
    }

    /// Two short passes per batch row (the gates, then the state) rather than one long one: each
    /// nonlinearity is a long chain of dependent operations, and shorter iterations let the CPU
    /// overlap more of them. Measured in Node 20 (simd build, CPU time, interleaved): large
    /// forward 86 → 82 ms, medium 11.3 → 11.2 ms, small 0.74 → 0.76 ms against one fused pass.
    pub(super) fn lstm_forward(s: StepForward<'_>, c_prev: &[f32], c: &mut [f32], tanh_c: &mut [f32]) {
        // One copy of the loop for both cases (a copy per case added about 7 KB to the build):
        // `has_x` is a branch that goes the same way for the whole call.
        let has_x = !s.xp.is_empty();
        let hd = s.hidden;
        let g4 = 4 * hd;
        let (b, n4) = (s.batch, hd / 4 * 4);
        assert!(s.valid.len() >= b && (!has_x || s.xp.len() >= b * g4) && s.rec.len() >= b * g4 && s.gates.len() >= b * g4);
        // One loop for both cases (a second copy of the inlined nonlinearities measured slower):
        // without b_hh, -0.0, as `y + -0.0` is `y` bit for bit (y = +0.0 and -0.0 included).
        // Only models without bias pay this small allocation per step.
        let no_bias;
        let bias = match s.b_rec {
            Some(bias) => bias,
            None => {
                no_bias = vec![-0.0f32; g4];
                &no_bias[..]
            }
        };
        assert!(bias.len() >= g4);
        let bias = bias.as_ptr();
        assert!(s.h_prev.len() >= b * hd && s.h.len() >= b * hd && c_prev.len() >= b * hd && c.len() >= b * hd && tanh_c.len() >= b * hd);
        for r in 0..b {
            let (hs, gs) = (r * hd, r * g4);
            if !s.valid[r] {
                s.h[hs..hs + hd].copy_from_slice(&s.h_prev[hs..hs + hd]);
                c[hs..hs + hd].copy_from_slice(&c_prev[hs..hs + hd]);
                s.gates[gs..gs + g4].iter_mut().for_each(|v| *v = 0.0);
                tanh_c[hs..hs + hd].iter_mut().for_each(|v| *v = 0.0);
                continue;
            }
            // SAFETY: every index below is < gs + g4 or < hs + hd, inside the slices (asserted).
            unsafe {
                // Without has_x, `xp` is never read (wrapping_add: no pointer into an empty slice).
                let (xp, rec, ga) = (s.xp.as_ptr().wrapping_add(gs), s.rec.as_ptr().add(gs), s.gates.as_mut_ptr().add(gs));
                // Gates: i and f (contiguous), g, o.
                map_sum(has_x, 2 * hd, xp, rec, bias, ga, x4::sigmoid, math::sigmoid);
                map_sum(has_x, hd, xp.wrapping_add(2 * hd), rec.add(2 * hd), bias.add(2 * hd), ga.add(2 * hd), x4::tanh, math::tanh);
                map_sum(has_x, hd, xp.wrapping_add(3 * hd), rec.add(3 * hd), bias.add(3 * hd), ga.add(3 * hd), x4::sigmoid, math::sigmoid);
                let ga = ga as *const f32;
                let (cp, cn, tc, h) =
                    (c_prev.as_ptr().add(hs), c.as_mut_ptr().add(hs), tanh_c.as_mut_ptr().add(hs), s.h.as_mut_ptr().add(hs));
                let mut j = 0;
                while j < n4 {
                    let (i, f, g, o) = (ld(ga.add(j)), ld(ga.add(hd + j)), ld(ga.add(2 * hd + j)), ld(ga.add(3 * hd + j)));
                    let cnew = f32x4_add(f32x4_mul(f, ld(cp.add(j))), f32x4_mul(i, g));
                    let t = x4::tanh(cnew);
                    st(cn.add(j), cnew);
                    st(tc.add(j), t);
                    st(h.add(j), f32x4_mul(o, t));
                    j += 4;
                }
                while j < hd {
                    let (i, f, g, o) = (*ga.add(j), *ga.add(hd + j), *ga.add(2 * hd + j), *ga.add(3 * hd + j));
                    let cnew = f * *cp.add(j) + i * g;
                    let t = math::tanh(cnew);
                    *cn.add(j) = cnew;
                    *tc.add(j) = t;
                    *h.add(j) = o * t;
                    j += 1;
                }
            }
        }
    }

    /// With peepholes only for a hidden size that is a multiple of 4 (the scalar tail has none).
    /// Their gradients add the rows in order, each lane its own unit, as the scalar kernel does.
    pub(super) fn lstm_backward(s: StepBackward<'_>, c_prev: &[f32], c: &[f32], tanh_c: &[f32], dc: &[f32], dc_prev: &mut [f32], peep: Option<PeepholeGrads<'_>>) {
        let hd = s.hidden;
        let g4 = 4 * hd;
        let (b, n4) = (s.batch, hd / 4 * 4);
        let (keeps_drec, in_place) = (!s.drec.is_empty(), s.gates_in_dxp());
        // The peepholes' weights `(p_i, p_f, p_o)` and gradients, `[H]` each.
        let peep = peep.map(|p| {
            assert!(n4 == hd && c.len() >= b * hd && [p.p.0.len(), p.p.1.len(), p.p.2.len(), p.dp.0.len(), p.dp.1.len(), p.dp.2.len()].iter().all(|&n| n >= hd));
            ([p.p.0.as_ptr(), p.p.1.as_ptr(), p.p.2.as_ptr()], [p.dp.0.as_mut_ptr(), p.dp.1.as_mut_ptr(), p.dp.2.as_mut_ptr()])
        });
        assert!(s.valid.len() >= b && (in_place || s.gates.len() >= b * g4) && s.dxp.len() >= b * g4 && (!keeps_drec || s.drec.len() >= b * g4));
        assert!(s.dh.len() >= b * hd && s.dh_prev.len() >= b * hd && c_prev.len() >= b * hd && tanh_c.len() >= b * hd);
        assert!(dc.len() >= b * hd && dc_prev.len() >= b * hd);
        for r in 0..b {
            let (hs, gs) = (r * hd, r * g4);
            if !s.valid[r] {
                s.dh_prev[hs..hs + hd].copy_from_slice(&s.dh[hs..hs + hd]);
                dc_prev[hs..hs + hd].copy_from_slice(&dc[hs..hs + hd]);
                s.dxp[gs..gs + g4].iter_mut().for_each(|v| *v = 0.0);
                if keeps_drec {
                    s.drec[gs..gs + g4].iter_mut().for_each(|v| *v = 0.0);
                }
                continue;
            }
            // SAFETY: every index below is < gs + g4 or < hs + hd, inside the slices (asserted;
            // `drec` only written with keeps_drec, wrapping_add: no pointer into an empty slice).
            // In place, the gates are read through `dxp`'s pointer, each vector before the
            // stores of the same lanes.
            unsafe {
                let (dxp, drec) = (s.dxp.as_mut_ptr().add(gs), s.drec.as_mut_ptr().wrapping_add(gs));
                let ga = if in_place { dxp as *const f32 } else { s.gates.as_ptr().add(gs) };
                let (tc, cp, dh, dcn) = (tanh_c.as_ptr().add(hs), c_prev.as_ptr().add(hs), s.dh.as_ptr().add(hs), dc.as_ptr().add(hs));
                let (dcp, dhp) = (dc_prev.as_mut_ptr().add(hs), s.dh_prev.as_mut_ptr().add(hs));
                // (c is read only with peepholes, which asserted its length.)
                let cn = c.as_ptr().wrapping_add(hs);
                let one = f32x4_splat(1.0);
                let mut j = 0;
                while j < n4 {
                    let (i, f, g, o) = (ld(ga.add(j)), ld(ga.add(hd + j)), ld(ga.add(2 * hd + j)), ld(ga.add(3 * hd + j)));
                    let (t, c0, d) = (ld(tc.add(j)), ld(cp.add(j)), ld(dh.add(j)));
                    let dao = f32x4_mul(f32x4_mul(f32x4_mul(d, t), o), f32x4_sub(one, o));
                    let mut dct = f32x4_add(ld(dcn.add(j)), f32x4_mul(f32x4_mul(d, o), f32x4_sub(one, f32x4_mul(t, t))));
                    if let Some(([_, _, po], [_, _, dpo])) = peep {
                        dct = f32x4_add(dct, f32x4_mul(dao, ld(po.add(j))));
                        st(dpo.add(j), f32x4_add(ld(dpo.add(j)), f32x4_mul(dao, ld(cn.add(j)))));
                    }
                    let dai = f32x4_mul(f32x4_mul(f32x4_mul(dct, g), i), f32x4_sub(one, i));
                    let daf = f32x4_mul(f32x4_mul(f32x4_mul(dct, c0), f), f32x4_sub(one, f));
                    let dag = f32x4_mul(f32x4_mul(dct, i), f32x4_sub(one, f32x4_mul(g, g)));
                    let mut dcp_v = f32x4_mul(dct, f);
                    if let Some(([pi, pf, _], [dpi, dpf, _])) = peep {
                        dcp_v = f32x4_add(dcp_v, f32x4_add(f32x4_mul(dai, ld(pi.add(j))), f32x4_mul(daf, ld(pf.add(j)))));
                        st(dpi.add(j), f32x4_add(ld(dpi.add(j)), f32x4_mul(dai, c0)));
                        st(dpf.add(j), f32x4_add(ld(dpf.add(j)), f32x4_mul(daf, c0)));
                    }
                    st(dcp.add(j), dcp_v);
                    st(dhp.add(j), f32x4_splat(0.0));
                    for (k, v) in [dai, daf, dag, dao].into_iter().enumerate() {
                        st(dxp.add(k * hd + j), v);
                        if keeps_drec {
                            st(drec.add(k * hd + j), v);
                        }
                    }
                    j += 4;
                }
                while j < hd {
                    let (i, f, g, o) = (*ga.add(j), *ga.add(hd + j), *ga.add(2 * hd + j), *ga.add(3 * hd + j));
                    let (t, c0, d) = (*tc.add(j), *cp.add(j), *dh.add(j));
                    let dao = d * t * o * (1.0 - o);
                    let dct = *dcn.add(j) + d * o * (1.0 - t * t);
                    let dai = dct * g * i * (1.0 - i);
                    let daf = dct * c0 * f * (1.0 - f);
                    let dag = dct * i * (1.0 - g * g);
                    *dcp.add(j) = dct * f;
                    *dhp.add(j) = 0.0;
                    for (k, v) in [dai, daf, dag, dao].into_iter().enumerate() {
                        *dxp.add(k * hd + j) = v;
                        if keeps_drec {
                            *drec.add(k * hd + j) = v;
                        }
                    }
                    j += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod in_place_tests;
