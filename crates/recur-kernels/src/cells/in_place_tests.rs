//! The backward kernels give the same bits whether the gates come in their own buffer or in
//! `dxp`, overwritten by their gradients (`StepBackward::gates_in_dxp`), padding rows included.

use super::*;
use crate::updates::values;

const BATCH: usize = 3;
const HIDDEN: usize = 6;
/// The middle row is padding.
const VALID: [bool; BATCH] = [true, false, true];

/// The outputs of one backward step: `dxp`, `drec`, `dh_prev`, and the cell's extra (`dc_prev`).
type Outputs = [Vec<f32>; 4];

/// Runs `kernel` on one step of `gates` (`G·H` per row) twice, with the gates apart and with them
/// in `dxp`, from the same inputs; `dxp` and `drec` start as garbage apart.
fn both_ways(gates_per_row: usize, drec_len: usize, kernel: impl Fn(StepBackward<'_>, &mut Vec<f32>)) -> (Outputs, Outputs) {
    let bg = BATCH * gates_per_row * HIDDEN;
    let bh = BATCH * HIDDEN;
    let (gates, h_prev, dh) = (values(bg, 3, 0.9), values(bh, 5, 1.0), values(bh, 7, 0.5));
    let run = |in_place: bool| -> Outputs {
        let mut dxp = if in_place { gates.clone() } else { values(bg, 11, 9.0) };
        let mut drec = values(drec_len, 13, 9.0);
        let mut dh_prev = values(bh, 17, 9.0);
        let mut extra = Vec::new();
        let s = StepBackward {
            batch: BATCH,
            hidden: HIDDEN,
            valid: &VALID,
            gates: if in_place { &[] } else { &gates },
            h_prev: &h_prev,
            dh: &dh,
            dxp: &mut dxp,
            drec: &mut drec,
            dh_prev: &mut dh_prev,
        };
        assert_eq!(s.gates_in_dxp(), in_place);
        kernel(s, &mut extra);
        [dxp, drec, dh_prev, extra]
    };
    (run(false), run(true))
}

fn assert_same_bits(what: &str, (apart, in_place): (Outputs, Outputs)) {
    for (name, (a, b)) in ["dxp", "drec", "dh_prev", "extra"].iter().zip(apart.iter().zip(&in_place)) {
        assert_eq!(a.len(), b.len(), "{what}: {name} length");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert_eq!(x.to_bits(), y.to_bits(), "{what}: {name}[{i}] is {y} in place, {x} apart");
        }
    }
    // The gradients are not all zero: the comparison compares something.
    assert!(apart[0].iter().any(|v| *v != 0.0), "{what}: dxp is all zero");
}

#[test]
fn lstm_backward_in_place_gives_the_same_bits() {
    let bh = BATCH * HIDDEN;
    let (c_prev, c, tanh_c, dc) = (values(bh, 19, 1.0), values(bh, 23, 1.0), values(bh, 29, 0.9), values(bh, 31, 0.3));
    for keeps_drec in [false, true] {
        let drec_len = if keeps_drec { BATCH * 4 * HIDDEN } else { 0 };
        let out = both_ways(4, drec_len, |s, dc_prev| {
            dc_prev.resize(bh, f32::NAN);
            lstm_backward(s, &c_prev, &c, &tanh_c, &dc, dc_prev, None);
        });
        assert_same_bits(&format!("LSTM, drec kept {keeps_drec}"), out);
    }
    // Peepholes (the scalar kernel, in every build), which also accumulate their gradients.
    let p: Vec<Vec<f32>> = (0..3).map(|k| values(HIDDEN, 37 + k, 0.5)).collect();
    let out = both_ways(4, 0, |s, extra| {
        let mut dc_prev = vec![f32::NAN; bh];
        let mut dp = vec![vec![0.0f32; HIDDEN]; 3];
        let [d0, d1, d2] = &mut dp[..] else { unreachable!() };
        let peep = PeepholeGrads { p: (&p[0], &p[1], &p[2]), dp: (d0, d1, d2) };
        lstm_backward(s, &c_prev, &c, &tanh_c, &dc, &mut dc_prev, Some(peep));
        extra.extend(dc_prev.iter().chain(dp.iter().flatten()));
    });
    assert_same_bits("peephole LSTM", out);
}

#[test]
fn gru_backward_in_place_gives_the_same_bits() {
    let bh = BATCH * HIDDEN;
    let rec_n = values(bh, 41, 1.0);
    let out = both_ways(3, BATCH * 3 * HIDDEN, |s, _| gru_backward_reset_after(s, &rec_n));
    assert_same_bits("GRU reset-after", out);
    let w_hn = values(HIDDEN * HIDDEN, 43, 0.4);
    let out = both_ways(3, BATCH * 3 * HIDDEN, |mut s, extra| {
        gru_reset_before_backward_n(&mut s);
        // d(r ⊙ h) = drec_n · W_hn, as the caller forms it.
        let mut drh = vec![0.0f32; bh];
        for b in 0..BATCH {
            for j in 0..HIDDEN {
                drh[b * HIDDEN + j] = (0..HIDDEN).map(|k| s.drec[b * 3 * HIDDEN + 2 * HIDDEN + k] * w_hn[k * HIDDEN + j]).sum();
            }
        }
        extra.extend_from_slice(&drh);
        gru_reset_before_backward_rz(s, &drh);
    });
    assert_same_bits("GRU reset-before", out);
}
