//! The thread pool of the `threads` build (`+atomics`, shared memory): the worker that owns the
//! models calls `initThreadPool(n)`, then starts `n - 1` helper workers that instantiate the same
//! module with the same memory and call `threadMain(i)` for `i` in `1..n`. Every build exports
//! these functions; without atomics (the `simd`, `scalar`, `relaxed` builds) the pool stays at
//! one thread and `threadMain` refuses to run.

use wasm_bindgen::prelude::*;

/// True when this build has wasm threads (atomics and shared memory), so a pool can be started.
#[wasm_bindgen(js_name = hasThreads)]
pub fn has_threads() -> bool {
    cfg!(target_feature = "atomics")
}

/// Declares a pool of `n` threads (this one and `n - 1` helpers to be started with
/// `threadMain(1..n)`) and uses all of them; returns the pool size (1 in a build without
/// threads, or for `n <= 1`). Products are split only among helpers that have started.
#[wasm_bindgen(js_name = initThreadPool)]
pub fn init_thread_pool(n: u32) -> u32 {
    if !has_threads() {
        return 1;
    }
    recur_core::parallel::init_pool(n.max(1) as usize) as u32
}

/// Uses `n` threads of the pool from now on (clamped to its size); returns the number in use.
#[wasm_bindgen(js_name = setNumThreads)]
pub fn set_num_threads(n: u32) -> u32 {
    recur_core::parallel::set_threads(n.max(1) as usize) as u32
}

/// Wakes the pool's sleeping helpers ahead of work about to come (a `forward` or `trainStep`),
/// so their wake-up overlaps the caller's own preparation; they spin a while for the first job,
/// then sleep again. Nothing happens with one thread or when no helper sleeps.
#[wasm_bindgen(js_name = wakeThreads)]
pub fn wake_threads() {
    recur_core::parallel::prepare();
}

/// Turns of the pool's wait loop per microsecond (one atomic load each: about 2.3 ns in Node 20
/// on x64, as `recur_core::parallel`'s spin counts assume).
const TURNS_PER_MICROSECOND: u32 = 435;

/// Sets about how many microseconds idle helpers keep spinning (busy) for the next job before
/// they sleep, between calls (inside a training step or forward they spin longer anyway);
/// returns the previous setting. The default is about 38 µs. A longer spin lets calls separated
/// by short idle gaps find the helpers awake (a sleeping helper takes from tens of µs to about
/// 1 ms to wake), at the cost of a core kept busy through the gaps.
#[wasm_bindgen(js_name = setIdleSpin)]
pub fn set_idle_spin(micros: u32) -> u32 {
    recur_core::parallel::set_idle_spin(micros.saturating_mul(TURNS_PER_MICROSECOND)) / TURNS_PER_MICROSECOND
}

/// Byte addresses in this module's memory of the words `wakeThreads` uses: `[primed (u8),
/// sleepers (u32), wake (u32)]`. With the shared memory of the threads builds, another thread
/// (the one that sends this worker its requests) can do what `wakeThreads` does with `Atomics`,
/// before the request even arrives: store 1 at `primed`, and if `sleepers` is not 0, add 1 at
/// `wake` and notify its waiters.
#[wasm_bindgen(js_name = poolWakeWords)]
pub fn pool_wake_words() -> Vec<u32> {
    recur_core::parallel::prepare_words().iter().map(|&a| a as u32).collect()
}

/// The entry of helper `index` (`1..n`): waits for work and does it, forever (it never returns,
/// so the helper worker handles no more messages). Throws in a build without threads.
#[wasm_bindgen(js_name = threadMain)]
pub fn thread_main(index: u32) -> Result<(), JsError> {
    if !has_threads() {
        return Err(JsError::new("threadMain: this build has no wasm threads (use the threads build)"));
    }
    let size = recur_core::parallel::pool_size() as u32;
    if index == 0 || index >= size {
        return Err(JsError::new(&format!("threadMain: index {index} is outside the pool's helpers 1..{size}")));
    }
    recur_core::parallel::worker_main(index as usize)
}

/// The pool as JSON: `{"threads", "poolSize", "startedWorkers", "jobs", "workerTasks",
/// "atomics"}` (jobs split so far, and tasks of them the helpers ran).
#[wasm_bindgen(js_name = threadPoolInfo)]
pub fn thread_pool_info() -> String {
    let (jobs, worker_tasks) = recur_core::parallel::stats();
    format!(
        "{{\"threads\":{},\"poolSize\":{},\"startedWorkers\":{},\"jobs\":{},\"workerTasks\":{},\"atomics\":{}}}",
        recur_core::parallel::threads(),
        recur_core::parallel::pool_size(),
        recur_core::parallel::started_workers(),
        jobs,
        worker_tasks,
        has_threads()
    )
}

/// The module's memory (a shared `WebAssembly.Memory` in the threads build), to hand to helpers.
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}
