//! A forward pass reuses the weights the previous one packed (`Packed` in `direction.rs`) only
//! while they are current: these checks compare a stack that has run before with a fresh copy of
//! the same parameters, bit for bit. The last one checks that a batch of one or two, whose step
//! keeps its projections apart (`Direction::fuses_step`), computes what the fused step does.

use super::*;
use crate::activation::Activation;
use crate::rng::Rng;

fn stack(cell: CellKind, layer_norm: bool) -> RecurrentStack {
    let config = RecurrentConfig { cell, input_size: 3, hidden_size: 5, num_layers: 2, bias: true, bidirectional: true, dropout: 0.0, layer_norm };
    RecurrentStack::new(config, "", 11).unwrap()
}

const CELLS: [CellKind; 5] = [
    CellKind::Lstm { peephole: false },
    CellKind::Lstm { peephole: true },
    CellKind::Gru { reset_after: true },
    CellKind::Gru { reset_after: false },
    CellKind::Rnn { activation: Activation::Tanh },
];

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.uniform_range(-1.0, 1.0)).collect()
}

/// Output, `h_n` and `c_n` of an inference pass from `h0` (zero when `None`).
fn run(s: &mut RecurrentStack, x: &[f32], steps: usize, batch: usize, h0: Option<&[f32]>) -> Vec<u32> {
    let c0 = h0.filter(|_| s.config().cell.has_cell_state());
    let mut bits: Vec<u32> = s.forward(x, steps, batch, None, h0, c0, false).unwrap().iter().map(|v| v.to_bits()).collect();
    bits.extend(s.h_n().iter().chain(s.c_n()).map(|v| v.to_bits()));
    bits
}

/// A copy of `s`'s parameters in a stack that has never run.
fn fresh_copy(s: &RecurrentStack) -> RecurrentStack {
    let mut copy = RecurrentStack::new(s.config().clone(), "", 99).unwrap();
    for (dst, src) in copy.params_mut().into_iter().zip(s.params()) {
        dst.value.copy_from_slice(&src.value);
    }
    copy
}

#[test]
fn changed_parameters_are_packed_again() {
    let (steps, batch) = (3, 2);
    for cell in CELLS {
        for layer_norm in [false, true] {
            let mut s = stack(cell, layer_norm);
            let x = values(steps * batch * 3, 1);
            let h0 = values(s.state_slots() * batch * 5, 2);
            // Packed from a zero state and from a nonzero one (a fused step packs `W_ihᵀ` alone
            // only for the first).
            run(&mut s, &x, steps, batch, None);
            run(&mut s, &x, steps, batch, Some(&h0));
            // Every parameter changes, as an optimizer step changes them.
            for (i, p) in s.params_mut().into_iter().enumerate() {
                p.value.iter_mut().for_each(|v| *v = *v * 0.9 + 0.01 * i as f32);
            }
            let mut copy = fresh_copy(&s);
            // A nonzero state first: a fused step then packs only its concatenated operand, and
            // the zero-state pass after it must still pack `W_ihᵀ`.
            for h in [Some(&h0[..]), None, Some(&h0[..])] {
                assert_eq!(run(&mut s, &x, steps, batch, h), run(&mut copy, &x, steps, batch, h), "{cell:?} layer norm {layer_norm} h0 {}", h.is_some());
            }
        }
    }
}

#[test]
fn backward_leaves_the_next_forward_as_it_was() {
    // Backward packs W_hh over the forward's operand in the other orientation; the next forward
    // must pack again, and from then on reuse its own packing.
    let (steps, batch) = (4, 3);
    for cell in CELLS {
        for layer_norm in [false, true] {
            let mut s = stack(cell, layer_norm);
            let x = values(steps * batch * 3, 3);
            let before = run(&mut s, &x, steps, batch, None);
            let out_len = s.forward(&x, steps, batch, None, None, None, true).unwrap().len();
            s.backward(&values(out_len, 4), None, None, None, false).unwrap();
            assert_eq!(run(&mut s, &x, steps, batch, None), before, "{cell:?} layer norm {layer_norm}: first forward after backward");
            assert_eq!(run(&mut s, &x, steps, batch, None), before, "{cell:?} layer norm {layer_norm}: second forward after backward");
        }
    }
}

#[test]
fn a_batch_that_changes_the_step_operand_is_packed_again() {
    // A pass over at most two rows projects the input apart (`Direction::fuses_step`): the step
    // operand is `W_hhᵀ` alone there and `[W_ih | W_hh]ᵀ` for larger batches.
    let steps = 3;
    for cell in CELLS {
        let mut s = stack(cell, false);
        let mut copy = fresh_copy(&s);
        for batch in [3, 2, 1, 4, 1] {
            let x = values(steps * batch * 3, batch as u64);
            assert_eq!(run(&mut s, &x, steps, batch, None), run(&mut fresh_copy(&copy), &x, steps, batch, None), "{cell:?} batch {batch}");
        }
        // The same sequence of batches on the copy, for its own packings.
        for batch in [1, 3, 1] {
            let x = values(steps * batch * 3, 7);
            assert_eq!(run(&mut copy, &x, steps, batch, None), run(&mut fresh_copy(&s), &x, steps, batch, None), "{cell:?} batch {batch}");
        }
    }
}

#[test]
fn unfused_small_batches_agree_with_the_fused_step() {
    // Rows alone (B = 1, 2: unfused) against the same rows in a batch of 4 (fused): the same
    // function, summed in another order. A training pass of the rows alone gives the bits of
    // the inference pass.
    let (steps, batch) = (6, 4);
    for cell in CELLS {
        let mut s = stack(cell, false);
        let x = values(steps * batch * 3, 5);
        let width = s.config().output_size();
        let all = s.forward(&x, steps, batch, None, None, None, false).unwrap().to_vec();
        for rows in [1, 2] {
            for b0 in (0..batch).step_by(rows) {
                let part: Vec<f32> = (0..steps).flat_map(|t| x[(t * batch + b0) * 3..(t * batch + b0 + rows) * 3].to_vec()).collect();
                let alone = s.forward(&part, steps, rows, None, None, None, false).unwrap().to_vec();
                let trained = s.forward(&part, steps, rows, None, None, None, true).unwrap().to_vec();
                assert_eq!(trained, alone, "{cell:?} rows {rows}: training and inference passes");
                for t in 0..steps {
                    for r in 0..rows {
                        for j in 0..width {
                            let want = all[(t * batch + b0 + r) * width + j];
                            let got = alone[(t * rows + r) * width + j];
                            assert!((got - want).abs() <= 1e-6 + 1e-5 * want.abs(), "{cell:?} rows {rows} b {} t {t} j {j}: {got} vs {want}", b0 + r);
                        }
                    }
                }
            }
        }
    }
}
