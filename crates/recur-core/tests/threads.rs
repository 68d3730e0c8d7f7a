//! The thread pool (`recur_core::parallel`) and the kernels' parallel paths: the same bits for
//! every thread count. GEMMs of many shapes and strides, prepacked products by column range, and
//! whole training steps (forward, BPTT, Adam) of RNN, LSTM and GRU models, with 1, 2 and 3
//! threads of a native pool: per-step products split by columns, time loops split by batch
//! rows (with padding, truncated BPTT, both directions, row ranges that end mid-tile), and the
//! weight and bias gradients' sums over every step split by gate rows.
//!
//! One test function: the pool and its thread count are process-wide.

use recur_core::kernels::{gemm, gemm_prepacked, PackedB};
use recur_core::loss::{LossKind, LossTarget};
use recur_core::model::{ForwardOptions, Input, Model, TrainOptions};
use recur_core::parallel;
use recur_core::rng::Rng;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

fn rand_vec(rng: &mut Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.uniform_range(-1.0, 1.0)).collect()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// `C` of one strided product, for the current thread count.
#[allow(clippy::too_many_arguments)]
fn product(m: usize, k: usize, n: usize, trans_a: bool, trans_b: bool, beta: f32, seed: u64) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    let a = rand_vec(&mut rng, m * k);
    let b = rand_vec(&mut rng, k * n);
    let mut c = rand_vec(&mut rng, m * n);
    let (rsa, csa) = if trans_a { (1, m) } else { (k, 1) };
    let (rsb, csb) = if trans_b { (1, k) } else { (n, 1) };
    gemm(m, k, n, 0.75, &a, rsa, csa, &b, rsb, csb, beta, &mut c, n, 1);
    bits(&c)
}

fn prepacked(m: usize, k: usize, n: usize, beta: f32, seed: u64) -> Vec<u32> {
    let mut rng = Rng::new(seed);
    let a = rand_vec(&mut rng, m * k);
    let w = rand_vec(&mut rng, n * k); // [n, k]: B = Wᵀ, as the recurrent weights
    let mut c = rand_vec(&mut rng, m * n);
    let mut packed = PackedB::new();
    packed.pack(k, n, &w, 1, k);
    gemm_prepacked(m, 1.0, &a, k, 1, &packed, beta, &mut c, n, 1);
    bits(&c)
}

fn train(config: &Value, steps: usize, batch: usize, inp: usize, out: usize, seq_out: bool) -> (Vec<f32>, Vec<(String, Vec<u32>)>) {
    train_with(config, steps, batch, inp, out, seq_out, None, None)
}

/// Three training steps with optional per-sequence lengths and truncated BPTT; the losses and
/// the weights after them, bit for bit (with the per-step gradient norms of the last step
/// appended to the weights).
#[allow(clippy::too_many_arguments)]
fn train_with(
    config: &Value,
    steps: usize,
    batch: usize,
    inp: usize,
    out: usize,
    seq_out: bool,
    lengths: Option<&[usize]>,
    tbptt: Option<usize>,
) -> (Vec<f32>, Vec<(String, Vec<u32>)>) {
    let mut m = Model::from_json(&config.to_string()).unwrap();
    m.set_optimizer(recur_core::optim::OptimizerConfig::from_json(&json!({"type": "adam", "lr": 0.01}).to_string()).unwrap()).unwrap();
    let mut rng = Rng::new(99);
    let x = rand_vec(&mut rng, steps * batch * inp);
    let y = rand_vec(&mut rng, if seq_out { steps } else { 1 } * batch * out);
    let opts = TrainOptions { tbptt, ..TrainOptions::new(LossKind::Mse) };
    let losses = (0..3)
        .map(|_| m.train_step(Input::Features(&x), steps, batch, lengths, LossTarget::Values(&y), &opts).unwrap().loss)
        .collect();
    let mut state: Vec<(String, Vec<u32>)> = m.params().iter().map(|p| (p.name.clone(), bits(&p.value))).collect();
    state.extend(m.step_grad_norms().into_iter().map(|(name, norms)| (name, bits(&norms))));
    (losses, state)
}

/// Inference outputs (`training: false`) of a fresh model, then the same forward in training
/// mode, bit for bit: inference projects the input step by step inside the time loop (or all at
/// once with the prepacked kernel), training with one whole-sequence GEMM, for the same bits.
fn infer(config: &Value, steps: usize, batch: usize, inp: usize, lengths: Option<&[usize]>) -> (Vec<u32>, Vec<u32>) {
    let mut m = Model::from_json(&config.to_string()).unwrap();
    let mut rng = Rng::new(98);
    let x = rand_vec(&mut rng, steps * batch * inp);
    let mut run = |training: bool| {
        let opts = ForwardOptions { lengths, initial: &[], training, stateful: false };
        bits(m.forward(Input::Features(&x), steps, batch, opts).unwrap().0)
    };
    let inference = run(false);
    (inference, run(true))
}

#[test]
fn every_thread_count_gives_the_same_bits() {
    // Before any pool: one thread, nothing split.
    assert_eq!(parallel::threads(), 1);
    let ran = AtomicUsize::new(0);
    parallel::run(7, &|_| {
        ran.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(ran.load(Ordering::Relaxed), 7);
    assert_eq!(parallel::stats().0, 0);

    assert_eq!(parallel::start_native_pool(3), 3);
    // Every task exactly once, over many jobs (the wake/claim/complete protocol).
    for tasks in [2, 3, 5, 64] {
        let hits: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..500 {
            parallel::run(tasks, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
        }
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 500), "tasks={tasks}");
    }
    // A nested call runs on the calling thread.
    parallel::run(2, &|_| parallel::run(3, &|_| {}));

    let gemm_shapes: &[(usize, usize, usize)] = &[(64, 64, 64), (300, 70, 33), (32, 512, 257), (1024, 4096, 64), (37, 300, 1025), (4, 3000, 90)];
    let prepacked_shapes: &[(usize, usize, usize)] = &[(32, 128, 512), (64, 256, 1024), (16, 70, 280), (7, 300, 1100), (64, 1024, 256)];
    let configs = [
        (json!({"input_size": 16, "seed": 1, "layers": [{"type": "lstm", "hidden_size": 70, "return_sequences": false}, {"type": "dense", "units": 3}]}), 12, 16, 16, 3, false),
        (json!({"input_size": 8, "seed": 2, "layers": [
            {"type": "lstm", "hidden_size": 64, "num_layers": 2, "peephole": true, "bidirectional": true, "layer_norm": true},
            {"type": "dense", "units": 2}]}), 6, 20, 8, 2, true),
        (json!({"input_size": 10, "seed": 3, "layers": [{"type": "gru", "hidden_size": 90, "return_sequences": false}, {"type": "dense", "units": 1}]}), 8, 24, 10, 1, false),
        // Reset-before GRU: 2H = 200 falls inside a task of the weight-gradient job (32 gate
        // rows each), whose rows below it multiply h_prev and the rest r ⊙ h_prev.
        (json!({"input_size": 10, "seed": 4, "layers": [{"type": "gru", "hidden_size": 100, "reset_after": false, "return_sequences": false}, {"type": "dense", "units": 1}]}), 8, 24, 10, 1, false),
        (json!({"input_size": 12, "seed": 5, "layers": [{"type": "rnn", "hidden_size": 130, "return_sequences": false}, {"type": "dense", "units": 2}]}), 10, 32, 12, 2, false),
        // A batch too small to split the time loop: each step's product is split by columns.
        (json!({"input_size": 5, "seed": 10, "layers": [{"type": "lstm", "hidden_size": 64, "return_sequences": false}, {"type": "dense", "units": 2}]}), 10, 4, 5, 2, false),
        // The same for a GRU, whose loop projects the input a block of steps at a time (5 steps
        // of 3 rows), in both directions.
        (json!({"input_size": 5, "seed": 12, "layers": [{"type": "gru", "hidden_size": 48, "bidirectional": true, "return_sequences": false}, {"type": "dense", "units": 2}]}), 10, 3, 5, 2, false),
        // One sequence: the LSTM step projects its input apart (a block of 6 steps) and only
        // W_hh's product (1 × 256 × 1024) is split by columns.
        (json!({"input_size": 20, "seed": 13, "layers": [{"type": "lstm", "hidden_size": 256, "return_sequences": false}, {"type": "dense", "units": 2}]}), 6, 1, 20, 2, false),
    ];

    // Batches whose time loops are split by rows (3 row ranges with 3 threads, the last one not
    // a whole register tile), with padding, truncated BPTT and both directions.
    let lengths: Vec<usize> = (0..26).map(|b| 9 - b % 5).collect();
    let lengths_50: Vec<usize> = (0..50).map(|b| 9 - b % 7).collect();
    let split_configs = [
        (json!({"input_size": 6, "seed": 6, "layers": [{"type": "lstm", "hidden_size": 40, "num_layers": 2, "bidirectional": true}, {"type": "dense", "units": 2}]}), true),
        (json!({"input_size": 6, "seed": 7, "layers": [{"type": "gru", "hidden_size": 48, "reset_after": false, "return_sequences": false}, {"type": "dense", "units": 2}]}), false),
        (json!({"input_size": 6, "seed": 8, "layers": [{"type": "gru", "hidden_size": 48, "bidirectional": true, "return_sequences": false}, {"type": "dense", "units": 2}]}), false),
        (json!({"input_size": 6, "seed": 9, "layers": [{"type": "rnn", "hidden_size": 64, "activation": {"type": "relu"}}, {"type": "dense", "units": 2}]}), true),
        // Recurrent weights over 512 KiB (4 · 184² floats): inference also runs its loop in
        // chunks of steps (9 = 8 + 1), both directions.
        (json!({"input_size": 6, "seed": 11, "layers": [{"type": "lstm", "hidden_size": 184, "bidirectional": true, "return_sequences": false}, {"type": "dense", "units": 2}]}), false),
    ];

    let run_all = |threads: usize| {
        assert_eq!(parallel::set_threads(threads), threads);
        let mut g = Vec::new();
        for (s, &(m, k, n)) in gemm_shapes.iter().enumerate() {
            for (ta, tb, beta) in [(false, false, 0.0), (true, false, 1.0), (false, true, 0.5)] {
                g.push(product(m, k, n, ta, tb, beta, s as u64));
            }
        }
        for (s, &(m, k, n)) in prepacked_shapes.iter().enumerate() {
            g.push(prepacked(m, k, n, 0.0, 10 + s as u64));
            g.push(prepacked(m, k, n, 1.0, 20 + s as u64));
        }
        let mut t: Vec<_> = configs.iter().map(|(c, st, b, i, o, seq)| train(c, *st, *b, *i, *o, *seq)).collect();
        for (c, seq) in &split_configs {
            t.push(train_with(c, 9, 26, 6, 2, *seq, Some(&lengths), Some(4)));
        }
        let mut f: Vec<_> = configs.iter().map(|(c, st, b, i, _, _)| infer(c, *st, *b, *i, None)).collect();
        for (c, _) in &split_configs {
            f.push(infer(c, 9, 26, 6, Some(&lengths)));
            // 6 row ranges, the large ones first (`GuidedRanges`), the last one 2 rows.
            f.push(infer(c, 9, 50, 6, Some(&lengths_50)));
        }
        for (i, (inference, training)) in f.iter().enumerate() {
            assert!(inference == training, "model {i}, {threads} threads: inference and training forward differ");
        }
        (g, t, f)
    };

    let before = parallel::stats();
    let one = run_all(1);
    assert_eq!(parallel::stats().0, before.0, "one thread splits nothing");
    for threads in [2, 3] {
        let before = parallel::stats();
        let many = run_all(threads);
        let after = parallel::stats();
        assert!(after.0 > before.0 + 100, "{threads} threads: products were split ({before:?} → {after:?})");
        assert!(after.1 > before.1, "{threads} threads: workers ran tasks ({before:?} → {after:?})");
        for (i, (a, b)) in one.0.iter().zip(&many.0).enumerate() {
            assert!(a == b, "GEMM case {i}: {threads} threads differ from 1");
        }
        for (i, (a, b)) in one.1.iter().zip(&many.1).enumerate() {
            assert_eq!(a.0.iter().map(|l| l.to_bits()).collect::<Vec<_>>(), b.0.iter().map(|l| l.to_bits()).collect::<Vec<_>>(), "model {i}: losses");
            assert!(a.1 == b.1, "model {i}: weights after 3 steps differ with {threads} threads");
        }
        for (i, (a, b)) in one.2.iter().zip(&many.2).enumerate() {
            assert!(a == b, "model {i}: inference outputs differ with {threads} threads");
        }
    }
}
