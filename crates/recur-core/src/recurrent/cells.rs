//! Fused elementwise kernels of one time step, per cell type, over a whole batch: those of the
//! LSTM and GRU are `recur_kernels::cells` (compiled for speed in the wasm builds, see that
//! crate), re-exported here; the RNN's, which take an [`Activation`], are below.
//!
//! Forward kernels take the input projection `xp` (`W_ih x + b_ih`, `[B, G·H]`) and the
//! recurrent projection `rec` (`W_hh h + b_hh`, `[B, G·H]`; the RNN, LSTM and reset-after GRU
//! kernels add `b_hh` themselves when given it, as `xp + (rec + b_hh)`, the same sum as a
//! separate pass over `rec` would make), and write the gates and new states
//! that backward needs. Backward kernels turn the gradient of the step's output into the
//! gradients of the two projections (`dxp`, `drec`) and the direct parts of the gradients of
//! the previous states. Rows whose `valid` flag is false are padding: state carried, gradient
//! passed through unchanged, projection gradients zero.

use crate::activation::Activation;

pub(crate) use recur_kernels::cells::*;

/// RNN forward: `h = act(xp + rec)`; `gates` keeps the pre-activation for the derivative.
pub(crate) fn rnn_forward(s: StepForward<'_>, act: Activation) {
    let hd = s.hidden;
    for b in 0..s.batch {
        let r = b * hd..(b + 1) * hd;
        if !s.valid[b] {
            s.h[r.clone()].copy_from_slice(&s.h_prev[r.clone()]);
            s.gates[r].iter_mut().for_each(|v| *v = 0.0);
            continue;
        }
        let (a, h) = (&mut s.gates[r.clone()], &mut s.h[r.clone()]);
        add_pre(a, xp_rows(s.xp, r.clone()), &s.rec[r], s.b_rec);
        h.copy_from_slice(a);
        act.apply_in_place(h);
    }
}

/// RNN backward (`drec` written only when given: see [`StepBackward::drec`]; the gates may be
/// in `dxp`: [`StepBackward::gates_in_dxp`]). tanh, sigmoid and ReLU go through
/// `recur_kernels::activation_grads` (vectorized, the same bits as the generic loop).
pub(crate) fn rnn_backward(s: StepBackward<'_>, h: &[f32], act: Activation) {
    use recur_kernels::activation_grads as grads;
    let hd = s.hidden;
    let keeps_drec = !s.drec.is_empty();
    let in_place = s.gates_in_dxp();
    for b in 0..s.batch {
        let r = b * hd..(b + 1) * hd;
        if !s.valid[b] {
            s.dh_prev[r.clone()].copy_from_slice(&s.dh[r.clone()]);
            s.dxp[r.clone()].iter_mut().for_each(|v| *v = 0.0);
            if keeps_drec {
                s.drec[r].iter_mut().for_each(|v| *v = 0.0);
            }
            continue;
        }
        let (da, dh) = (&mut s.dxp[r.clone()], &s.dh[r.clone()]);
        match act {
            Activation::Tanh => grads::tanh_grad(da, dh, &h[r.clone()]),
            Activation::Sigmoid => grads::sigmoid_grad(da, dh, &h[r.clone()]),
            Activation::Relu => {
                if !in_place {
                    da.copy_from_slice(&s.gates[r.clone()]);
                }
                grads::relu_grad_in_place(da, dh);
            }
            _ => {
                for j in r.clone() {
                    let a = if in_place { s.dxp[j] } else { s.gates[j] };
                    s.dxp[j] = s.dh[j] * act.derivative(a, h[j]);
                }
            }
        }
        s.dh_prev[r.clone()].fill(0.0);
        if keeps_drec {
            s.drec[r.clone()].copy_from_slice(&s.dxp[r]);
        }
    }
}
