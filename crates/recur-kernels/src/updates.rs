//! What the elementwise optimizer updates ([`crate::adam`], [`crate::rmsprop`], [`crate::sgd`])
//! share for their tests: comparing the state a run of elements ends with against the same
//! elements updated one at a time.

/// For the tests: `Err` naming the first element whose bits differ between the buffers of `run`
/// and of `one` (buffer `names[k]` is `run[k]` / `one[k]`), as `"m[3]: … as a run, … one by one"`.
#[doc(hidden)]
pub fn first_difference(names: &[&str], run: &[Vec<f32>], one: &[Vec<f32>]) -> Result<(), String> {
    for (name, (a, b)) in names.iter().zip(run.iter().zip(one)) {
        if let Some(i) = (0..a.len()).find(|&i| a[i].to_bits() != b[i].to_bits()) {
            return Err(format!("{name}[{i}]: {} as a run, {} one by one", a[i], b[i]));
        }
    }
    Ok(())
}

/// `n` values in `[-scale, scale)` from an xorshift32 seeded with `seed` (the unit tests' data).
#[cfg(test)]
pub(crate) fn values(n: usize, seed: u32, scale: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            ((s >> 8) as f32 / (1u32 << 23) as f32 - 1.0) * scale
        })
        .collect()
}
