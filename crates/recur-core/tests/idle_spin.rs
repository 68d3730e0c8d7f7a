//! How long idle pool workers spin before they sleep (`parallel::set_idle_spin`): with no spin a
//! worker sleeps as soon as a job is done; with a long one it stays awake between jobs. Its own
//! test binary: the pool and the setting are process-wide.

use recur_core::parallel;
use std::time::{Duration, Instant};

/// A job of two empty tasks: it wakes the worker, which then waits again with the current setting.
fn job() {
    parallel::run(2, &|_| {});
}

/// Whether `cond` holds at some poll within `within`.
fn becomes(within: Duration, cond: impl Fn() -> bool) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    cond()
}

#[test]
fn idle_workers_spin_as_long_as_the_host_sets() {
    assert_eq!(parallel::start_native_pool(2), 2);
    assert!(becomes(Duration::from_secs(5), || parallel::started_workers() == 1));
    assert_eq!(parallel::idle_spin(), parallel::SPIN_IDLE);

    // No spin: the worker is asleep soon after each job.
    assert_eq!(parallel::set_idle_spin(0), parallel::SPIN_IDLE);
    job();
    assert!(becomes(Duration::from_secs(5), || parallel::sleeping_workers() == 1), "the worker did not go to sleep");

    // A spin far longer than the test: after a job the worker stays awake.
    assert_eq!(parallel::set_idle_spin(u32::MAX), 0);
    job();
    assert!(becomes(Duration::from_secs(5), || parallel::sleeping_workers() == 0), "the job did not wake the worker");
    assert!(!becomes(Duration::from_millis(300), || parallel::sleeping_workers() != 0), "the worker slept while it should spin");

    // Back to the default: jobs still run, and the worker sleeps again after its short spin.
    assert_eq!(parallel::set_idle_spin(parallel::SPIN_IDLE), u32::MAX);
    job();
    let sum = std::sync::atomic::AtomicUsize::new(0);
    parallel::run(64, &|i| {
        sum.fetch_add(i, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(sum.into_inner(), 64 * 63 / 2);
    assert!(becomes(Duration::from_secs(5), || parallel::sleeping_workers() == 1), "the worker did not go back to sleep");
}
