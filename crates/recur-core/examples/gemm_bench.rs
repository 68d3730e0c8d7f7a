//! GEMM throughput on the LSTM shapes, per compiled kernel (native; not a test, never gates CI).
//!
//! `cargo run -p recur-core --release --example gemm_bench [-- reps_scale]`
//!
//! Prints GFLOP/s (2·m·k·n flops per product) for the three layouts the layers use:
//! NT (`X · Wᵀ`, forward), NN (`dA · W`, input gradient), TN (`dAᵀ · X`, weight gradient).

use std::time::Instant;

use recur_core::kernels::{self, compiled_kernels, gemm_with, KernelKind};

/// (label, m, k, n): batch rows × input width × gate columns.
const SHAPES: [(&str, usize, usize, usize); 5] = [
    ("B=32 H=128 rec", 32, 128, 512),
    ("T*B=2048 F=16 in", 2048, 16, 512),
    ("B=64 H=256 rec", 64, 256, 1024),
    ("B=64 H=64 rec", 64, 64, 256),
    ("B=8 H=32 rec", 8, 32, 128),
];

fn main() {
    let scale: f64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    println!("{:<18} {:>6} {:>5} {:>5}  layout  {:>10} {:>10} {:>10}", "shape", "m", "k", "n", "gemm", "Scalar", "Reference");
    for &(label, m, k, n) in &SHAPES {
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 13) as f32 - 6.0) / 7.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 5.0).collect();
        let mut c = vec![0.0f32; m * n];
        let flops = 2.0 * (m * k * n) as f64;
        // Enough repetitions for ~0.2 s per measurement at 10 GFLOP/s.
        let reps = ((2e9 / flops) * scale).ceil().max(3.0) as usize;
        // (layout, rsa, csa, rsb, csb)
        for (layout, rsa, csa, rsb, csb) in [("NT", k, 1, 1, k), ("NN", k, 1, n, 1), ("TN", 1, m, n, 1)] {
            let mut row = Vec::new();
            for kind in [None, Some(KernelKind::Scalar), Some(KernelKind::Reference)] {
                let reps = if kind == Some(KernelKind::Reference) { reps.div_ceil(20) } else { reps };
                let mut run = || match kind {
                    None => kernels::gemm(m, k, n, 1.0, &a, rsa, csa, &b, rsb, csb, 0.0, &mut c, n, 1),
                    Some(kind) => gemm_with(kind, m, k, n, 1.0, &a, rsa, csa, &b, rsb, csb, 0.0, &mut c, n, 1).unwrap(),
                };
                run();
                let t = Instant::now();
                for _ in 0..reps {
                    run();
                }
                let secs = t.elapsed().as_secs_f64();
                row.push(flops * reps as f64 / secs / 1e9);
            }
            println!(
                "{label:<18} {m:>6} {k:>5} {n:>5}  {layout:<6}  {:>10.2} {:>10.2} {:>10.2}",
                row[0], row[1], row[2]
            );
        }
    }
    // Tiny products: the direct loop (the reference's loop order) against packing with the best
    // kernel, to place the threshold under which `gemm` skips packing.
    let best = *compiled_kernels().last().unwrap();
    println!("\ntiny NT products (ns per call): direct loop vs packed {best:?}");
    for &(m, k, n) in &[(1, 1, 1), (2, 4, 8), (4, 8, 8), (8, 8, 8), (4, 16, 16), (8, 16, 16), (16, 16, 16), (8, 32, 32), (16, 16, 64), (32, 32, 32)] {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0.0f32; m * n];
        let reps = (2e8 / (2.0 * (m * k * n) as f64 + 200.0)) as usize * scale.max(0.01) as usize + 100;
        let mut ns = Vec::new();
        for kind in [KernelKind::Reference, best] {
            let t = Instant::now();
            for _ in 0..reps {
                gemm_with(kind, m, k, n, 1.0, &a, k, 1, &b, 1, k, 0.0, &mut c, n, 1).unwrap();
            }
            ns.push(t.elapsed().as_secs_f64() * 1e9 / reps as f64);
        }
        println!("  m={m:<3} k={k:<3} n={n:<3} mnk={:<6} direct {:>9.1} ns   packed {:>9.1} ns", m * k * n, ns[0], ns[1]);
    }
    println!("kernels compiled: {:?} (gemm uses the last)", compiled_kernels());
}
