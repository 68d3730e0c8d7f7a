//! A fixed pool of threads that is cheap to wake, for splitting one product over a few cores.
//!
//! The pool has no threads of its own: a host starts them. Natively, [`start_native_pool`]
//! spawns `std` threads; on wasm (`+atomics`, shared memory), the JavaScript side starts workers
//! that instantiate the same module with the same memory and call the exported entry, which
//! runs [`worker_main`] forever. With no pool (the default) [`run`] works every task on the
//! calling thread, in order, exactly as a plain loop.
//!
//! # Protocol
//! One job at a time: a `&dyn Fn(usize)` and a number of tasks. The caller publishes it by
//! storing the job, then one 64-bit state word `epoch | tasks | next`, then bumping a 32-bit
//! wake word that idle workers wait on. Every participant (the caller included) claims task
//! indices by compare-and-swap on the state word, so a task runs exactly once, and a worker
//! that wakes late for an old job finds its epoch gone and claims nothing. The caller returns
//! once the job's completed-task counter reaches `tasks`: no participant can then still hold the
//! job, because it reads the job only after claiming a task that was not yet complete.
//!
//! Waiting: workers spin on the wake word for a while (long enough to span the serial parts
//! between the jobs of a training step), then sleep on it: `memory.atomic.wait32` on wasm32 with
//! atomics, a mutex and condition variable elsewhere. The caller only notifies when a worker
//! sleeps; [`prepare`] wakes sleeping workers ahead of a job, without one.
//!
//! Determinism is the caller's business: [`run`] promises only that every task runs once.
//! The kernels split work so that each output element is computed by the same operations in the
//! same order whichever thread computes it (see `kernels`).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

/// Most tasks one job may have (the task fields of the state word are 16 bits wide).
pub const MAX_TASKS: usize = 0xffff;

/// Most threads a pool may have (the caller included).
pub const MAX_THREADS: usize = 64;

/// Turns an idle worker spins on the wake word before sleeping on it during a [`burst`] (or after
/// [`prepare`]): in wasm (Node 20) a turn is an atomic load, about 2.3 ns, so about 0.6 ms;
/// natively a `pause` of tens of cycles. Long enough to span the serial parts between the jobs
/// of a training step (loss, head, packing the recurrent weights: 0.1–0.3 ms at medium size), so
/// the next job finds the worker awake: a worker asleep in `memory.atomic.wait32` took about
/// 0.1 ms to start on a job.
const SPIN: u32 = if cfg!(target_arch = "wasm32") { 1 << 18 } else { 1 << 12 };

/// Turns an idle worker spins outside a burst by default (about 40 µs in wasm): enough for the
/// jobs of one product issued back to back, short enough that a worker which spun on after a
/// call's last job does not keep a core from the threads that handle the call's reply (the
/// calling thread and the host's message loop: with 2 cores, a 0.6 ms spin after every small
/// `forward` made it slower than one thread). A host may change it ([`set_idle_spin`]).
pub const SPIN_IDLE: u32 = if cfg!(target_arch = "wasm32") { 1 << 14 } else { 1 << 10 };

/// Turns the caller spins waiting for the other threads' tasks before sleeping: their work is
/// under way and usually ends soon, and a sleeping caller wakes late (about 4× [`SPIN`]).
const CALLER_SPIN: u32 = SPIN << 2;

/// Participants of the pool (the calling thread included); 1 = no pool.
static THREADS: AtomicUsize = AtomicUsize::new(1);
/// Participants used by [`run`] now (≤ `THREADS`); workers with a higher index stay idle.
static ACTIVE: AtomicUsize = AtomicUsize::new(1);
/// Workers that have entered [`worker_main`].
static STARTED: AtomicUsize = AtomicUsize::new(0);
/// Held by the thread running a job: a second caller runs its tasks alone.
static BUSY: AtomicBool = AtomicBool::new(false);
/// The job: points to a `&dyn Fn(usize)` on the caller's stack while the job runs.
static JOB: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());
/// `epoch << 32 | tasks << 16 | next`.
static STATE: AtomicU64 = AtomicU64::new(0);
/// Tasks of the current job that have completed.
static DONE: AtomicU32 = AtomicU32::new(0);
/// Bumped once per job; idle workers wait on it.
static WAKE: AtomicU32 = AtomicU32::new(0);
/// Bursts under way ([`burst`]): workers spin [`SPIN`] turns, not [`SPIN_IDLE`], before sleeping.
static BURSTS: AtomicU32 = AtomicU32::new(0);
/// Set by [`prepare`] until a burst begins: workers spin long for the burst announced.
static PRIMED: AtomicBool = AtomicBool::new(false);
/// Turns an idle worker spins outside a burst before sleeping ([`SPIN_IDLE`] unless set).
static IDLE_SPIN: AtomicU32 = AtomicU32::new(SPIN_IDLE);
/// Workers asleep on `WAKE` (the caller notifies only when there are some).
static SLEEPERS: AtomicU32 = AtomicU32::new(0);
/// 1 while the caller sleeps on `DONE`.
static CALLER_SLEEPS: AtomicU32 = AtomicU32::new(0);
/// Jobs split among threads so far, and tasks of them that pool workers ran (diagnostics).
static JOBS: AtomicUsize = AtomicUsize::new(0);
static WORKER_TASKS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// True on pool workers and inside a running job: nested [`run`] calls go sequential.
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Declares a pool of `n` participants (the calling thread and `n - 1` workers, which the host
/// must start with indices `1..n` calling [`worker_main`]) and uses all of them. Returns the
/// pool size, clamped to `1..=MAX_THREADS`. A pool never shrinks: a smaller `n` later only
/// lowers the number used ([`set_threads`]).
pub fn init_pool(n: usize) -> usize {
    let n = n.clamp(1, MAX_THREADS);
    let size = THREADS.fetch_max(n, SeqCst).max(n);
    ACTIVE.store(n, SeqCst);
    size
}

/// Uses `n` participants of the pool from now on (clamped to `1..=` the pool size); returns
/// the number in use. One participant runs everything on the calling thread.
pub fn set_threads(n: usize) -> usize {
    let n = n.clamp(1, THREADS.load(SeqCst));
    ACTIVE.store(n, SeqCst);
    n
}

/// Participants [`run`] uses now: 1 with no pool, and inside a job (on a pool worker or in a
/// task), where a nested [`run`] works its tasks on its own thread, so code that plans a split
/// sees no pool.
pub fn threads() -> usize {
    if INSIDE.with(Cell::get) {
        1
    } else {
        ACTIVE.load(Relaxed)
    }
}

/// Size of the pool (1 with no pool).
pub fn pool_size() -> usize {
    THREADS.load(Relaxed)
}

/// Workers that have entered [`worker_main`] so far.
pub fn started_workers() -> usize {
    STARTED.load(SeqCst)
}

/// Jobs [`run`] has split among threads so far, and how many of their tasks pool workers (not
/// the calling thread) ran: diagnostics, to see that the pool is used.
pub fn stats() -> (usize, usize) {
    (JOBS.load(Relaxed), WORKER_TASKS.load(Relaxed))
}

/// Wakes sleeping workers ahead of jobs the caller is about to publish (a host that is about to
/// call a training step or a forward), so that their wake-up overlaps the caller's serial work
/// instead of delaying the first job. They find no job, and spin for the next one (the long
/// spin, until a [`burst`] has begun and ended) before sleeping again.
pub fn prepare() {
    if threads() > 1 {
        PRIMED.store(true, SeqCst);
        if SLEEPERS.load(SeqCst) > 0 {
            WAKE.fetch_add(1, SeqCst);
            futex::wake_all(&WAKE);
        }
    }
}

/// Sets how many turns idle workers spin for the next job outside a [`burst`] before they sleep
/// (default [`SPIN_IDLE`]); returns the previous count. A worker that sleeps takes a while to
/// wake (from tens of µs to about 1 ms on a 2-core VM), so a host that calls in short bursts
/// separated by idle gaps gets its jobs started sooner when the workers spin through the gaps,
/// at the price of a busy core in between (as ONNX Runtime's thread pool does by default). It
/// applies from each worker's next wait.
pub fn set_idle_spin(turns: u32) -> u32 {
    IDLE_SPIN.swap(turns, SeqCst)
}

/// Turns idle workers spin outside a burst before they sleep ([`set_idle_spin`]).
pub fn idle_spin() -> u32 {
    IDLE_SPIN.load(Relaxed)
}

/// Workers asleep now, waiting for a job (diagnostics).
pub fn sleeping_workers() -> u32 {
    SLEEPERS.load(SeqCst)
}

/// Addresses of the words [`prepare`] uses (`PRIMED`, a byte; `SLEEPERS` and `WAKE`, 32-bit), for
/// a thread outside the pool that shares this memory (wasm: the JavaScript thread that sends the
/// work, through the shared memory's buffer) to do what [`prepare`] does with atomics of its own:
/// store 1 to `PRIMED`, and if `SLEEPERS` is not 0, add 1 to `WAKE` and wake its waiters.
pub fn prepare_words() -> [usize; 3] {
    [&PRIMED as *const AtomicBool as usize, &SLEEPERS as *const AtomicU32 as usize, &WAKE as *const AtomicU32 as usize]
}

/// Marks a stretch of work with several jobs and serial parts between them (a training step, a
/// forward): wakes sleeping workers as [`prepare`] does, and until the returned guard drops
/// they spin long between jobs; after it they soon sleep. Bursts may nest.
pub fn burst() -> Burst {
    BURSTS.fetch_add(1, SeqCst);
    prepare();
    PRIMED.store(false, SeqCst);
    Burst(())
}

/// The guard of a [`burst`]: the burst ends when it drops.
#[must_use = "the burst ends when the guard drops"]
pub struct Burst(());

impl Drop for Burst {
    fn drop(&mut self) {
        BURSTS.fetch_sub(1, SeqCst);
    }
}

/// Whether idle workers should spin long: a burst is under way or announced.
fn hot() -> bool {
    BURSTS.load(Relaxed) > 0 || PRIMED.load(Relaxed)
}

/// Runs `f(0)`, …, `f(tasks - 1)`, each exactly once, on the calling thread and the pool's
/// workers; returns when all are done. Sequential, in order, on the calling thread when there
/// is no pool, one task, a nested call, or another job already running.
pub fn run(tasks: usize, f: &(dyn Fn(usize) + Sync)) {
    if tasks <= 1 || threads() <= 1 || INSIDE.with(Cell::get) || BUSY.swap(true, Acquire) {
        (0..tasks).for_each(f);
        return;
    }
    assert!(tasks <= MAX_TASKS, "parallel::run: {tasks} tasks (at most {MAX_TASKS})");
    INSIDE.with(|c| c.set(true));
    // A panic in a task (a bug: the kernels do not panic) would leave workers with a dangling
    // job; abort rather than unwind past it.
    struct AbortOnUnwind;
    impl Drop for AbortOnUnwind {
        fn drop(&mut self) {
            if std::thread::panicking() {
                std::process::abort();
            }
        }
    }
    let guard = AbortOnUnwind;

    JOBS.fetch_add(1, Relaxed);
    let job: &(dyn Fn(usize) + Sync) = f;
    JOB.store(&job as *const &(dyn Fn(usize) + Sync) as *mut (), Relaxed);
    DONE.store(0, Relaxed);
    let epoch = (STATE.load(Relaxed) >> 32).wrapping_add(1) & 0xffff_ffff;
    STATE.store(epoch << 32 | (tasks as u64) << 16, SeqCst);
    WAKE.fetch_add(1, SeqCst);
    if SLEEPERS.load(SeqCst) > 0 {
        futex::wake_all(&WAKE);
    }

    work(usize::MAX);

    // Wait for the tasks other threads claimed.
    let tasks = tasks as u32;
    let mut spins = 0;
    loop {
        if DONE.load(Acquire) == tasks {
            break;
        }
        if spins < CALLER_SPIN {
            spins += 1;
            std::hint::spin_loop();
            continue;
        }
        CALLER_SLEEPS.store(1, SeqCst);
        let done = DONE.load(SeqCst);
        if done != tasks {
            futex::wait(&DONE, done);
        }
        CALLER_SLEEPS.store(0, SeqCst);
    }
    JOB.store(std::ptr::null_mut(), Relaxed);
    drop(guard);
    INSIDE.with(|c| c.set(false));
    BUSY.store(false, Release);
}

/// Claims and runs tasks of the current job until none is left. `index` is the worker's
/// (`usize::MAX` for the caller); workers past the active count claim nothing.
fn work(index: usize) {
    if index != usize::MAX && index >= ACTIVE.load(Relaxed) {
        return;
    }
    let mut state = STATE.load(Acquire);
    loop {
        let tasks = (state >> 16) & 0xffff;
        let next = state & 0xffff;
        if next >= tasks {
            return;
        }
        match STATE.compare_exchange_weak(state, state + 1, AcqRel, Acquire) {
            Ok(_) => {
                // SAFETY: task `next` of this epoch is claimed and not complete, so the job's
                // caller is still inside `run` and `JOB` points to its live `&dyn Fn`.
                let job = unsafe { *(JOB.load(Relaxed) as *const &(dyn Fn(usize) + Sync)) };
                job(next as usize);
                if index != usize::MAX {
                    WORKER_TASKS.fetch_add(1, Relaxed);
                }
                let done = DONE.fetch_add(1, SeqCst) + 1;
                if done as u64 == tasks && CALLER_SLEEPS.load(SeqCst) != 0 {
                    futex::wake_all(&DONE);
                }
                state = STATE.load(Acquire);
            }
            Err(now) => state = now,
        }
    }
}

/// The loop of pool worker `index` (`1..` the pool size): waits for jobs and works them,
/// forever. Hosts start one thread per worker index and call this from it.
pub fn worker_main(index: usize) -> ! {
    INSIDE.with(|c| c.set(true));
    STARTED.fetch_add(1, SeqCst);
    let mut seen = WAKE.load(SeqCst);
    loop {
        let mut spins = 0;
        let idle_spin = IDLE_SPIN.load(Relaxed);
        loop {
            let now = WAKE.load(Acquire);
            if now != seen {
                seen = now;
                break;
            }
            if spins < idle_spin || (spins < SPIN && hot()) {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            // An announcement no burst followed (a request that failed before its forward)
            // buys one long spin, not one after every later job.
            PRIMED.store(false, SeqCst);
            SLEEPERS.fetch_add(1, SeqCst);
            if WAKE.load(SeqCst) == seen {
                futex::wait(&WAKE, seen);
            }
            SLEEPERS.fetch_sub(1, SeqCst);
        }
        work(index);
    }
}

/// Starts a native pool of `n` participants: `n - 1` `std` threads running [`worker_main`].
/// Returns the pool size. Calling it again with a larger `n` starts the missing workers.
#[cfg(not(target_arch = "wasm32"))]
pub fn start_native_pool(n: usize) -> usize {
    use std::sync::Mutex;
    static SPAWNED: Mutex<usize> = Mutex::new(1);
    let n = n.clamp(1, MAX_THREADS);
    let mut spawned = SPAWNED.lock().unwrap_or_else(|e| e.into_inner());
    THREADS.fetch_max(n, SeqCst);
    while *spawned < n {
        let index = *spawned;
        std::thread::Builder::new()
            .name(format!("recur-pool-{index}"))
            .spawn(move || worker_main(index))
            .expect("spawning a pool thread");
        *spawned += 1;
    }
    set_threads(n)
}

/// Sleeping on a 32-bit word until another thread changes it and wakes the sleepers.
mod futex {
    use std::sync::atomic::AtomicU32;

    /// Sleeps while `word == expected` (may return spuriously).
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    pub fn wait(word: &AtomicU32, expected: u32) {
        // SAFETY: `word` is a valid, aligned 32-bit location of shared memory.
        unsafe {
            core::arch::wasm32::memory_atomic_wait32(word.as_ptr() as *mut i32, expected as i32, -1);
        }
    }

    /// Wakes every thread sleeping on `word`.
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    pub fn wake_all(word: &AtomicU32) {
        // SAFETY: as above.
        unsafe {
            core::arch::wasm32::memory_atomic_notify(word.as_ptr() as *mut i32, u32::MAX);
        }
    }

    #[cfg(not(all(target_arch = "wasm32", target_feature = "atomics")))]
    mod parking {
        use std::sync::{Condvar, Mutex};
        pub static LOCK: Mutex<()> = Mutex::new(());
        pub static CV: Condvar = Condvar::new();
    }

    /// Sleeps while `word == expected` (may return spuriously).
    #[cfg(not(all(target_arch = "wasm32", target_feature = "atomics")))]
    pub fn wait(word: &AtomicU32, expected: u32) {
        use std::sync::atomic::Ordering::SeqCst;
        let guard = parking::LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if word.load(SeqCst) == expected {
            // A timeout bounds the cost of any lost wake-up to a millisecond.
            let _ = parking::CV.wait_timeout(guard, std::time::Duration::from_millis(1));
        }
    }

    /// Wakes every thread sleeping on `word` (here: on any word).
    #[cfg(not(all(target_arch = "wasm32", target_feature = "atomics")))]
    pub fn wake_all(_word: &AtomicU32) {
        let _guard = parking::LOCK.lock().unwrap_or_else(|e| e.into_inner());
        parking::CV.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_pool_tasks_run_in_order_on_the_caller() {
        let seen = std::sync::Mutex::new(Vec::new());
        let me = std::thread::current().id();
        run(5, &|i| {
            assert_eq!(std::thread::current().id(), me);
            seen.lock().unwrap().push(i);
        });
        assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }
}
