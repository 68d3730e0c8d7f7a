//! Adam's and AdamW's update of all parameters split over the thread pool: the same bits for
//! any thread count (every element's update is independent). Its own test binary: it starts a native pool.

use recur_core::optim::{Optimizer, OptimizerConfig};
use recur_core::param::Param;
use recur_core::parallel;
use recur_core::rng::Rng;

/// Deterministic values in [-1, 1), from the project's own generator.
fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.uniform_range(-1.0, 1.0)).collect()
}

/// Parameters after 4 steps, as bits. The update cuts the elements of all parameters, in
/// order, into one share per thread: with 2 and 3 threads the first share spans the first two
/// parameters and ends inside the third, which the other shares split.
fn train(config: &str) -> Vec<Vec<u32>> {
    let mut opt = Optimizer::new(OptimizerConfig::from_json(config).unwrap()).unwrap();
    let sizes = [30_001usize, 37, 70_003];
    let mut params: Vec<Param> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| Param { name: format!("w{i}"), shape: vec![n], value: values(i as u64, n), grad: vec![0.0; n] })
        .collect();
    for step in 0..4u64 {
        for (i, p) in params.iter_mut().enumerate() {
            // Shrinking gradients, so that AMSGrad's running maximum differs from `v`.
            p.grad = values(100 + 10 * step + i as u64, p.value.len()).iter().map(|g| g / (1.0 + step as f32)).collect();
        }
        opt.step(&mut params.iter_mut().collect::<Vec<_>>()).unwrap();
    }
    params.iter().map(|p| p.value.iter().map(|v| v.to_bits()).collect()).collect()
}

#[test]
fn split_updates_give_the_same_bits_for_any_thread_count() {
    let configs = [
        r#"{"type":"adam","lr":0.01}"#,
        r#"{"type":"adam","lr":0.01,"weight_decay":0.1,"amsgrad":true}"#,
        r#"{"type":"adamw","lr":0.01,"weight_decay":0.1}"#,
        r#"{"type":"adamw","lr":0.01,"amsgrad":true}"#,
    ];
    let one: Vec<_> = configs.iter().map(|c| train(c)).collect();
    assert_eq!(parallel::start_native_pool(3), 3);
    for threads in [2, 3] {
        assert_eq!(parallel::set_threads(threads), threads);
        let jobs = parallel::stats().0;
        for (c, want) in configs.iter().zip(&one) {
            assert!(train(c) == *want, "{c} with {threads} threads");
        }
        assert!(parallel::stats().0 > jobs, "the updates were split over the pool ({threads} threads)");
    }
}
