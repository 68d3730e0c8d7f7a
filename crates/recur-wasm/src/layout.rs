//! Batch-major input: the SDK sends features `[B, T, F]` as the caller gave them, and the
//! bindings write the core's time-major `[T, B, F]` (in wasm memory, whose allocator reuses the
//! block from one call to the next: no pass over the data on the JS side, no new pages).

/// `src` (`[batch, steps, width]`) time-major (`[steps, batch, width]`), or `None` when `src`
/// is not whole rows of `batch · steps`: the caller then passes `src` on as it is and the
/// core's shape check reports it. A range error when the copy cannot be allocated (in wasm a
/// failed allocation would abort).
pub fn time_major(src: &[f32], batch: usize, steps: usize) -> recur_core::Result<Option<Vec<f32>>> {
    let rows = batch * steps;
    if rows == 0 || src.is_empty() || !src.len().is_multiple_of(rows) {
        return Ok(None);
    }
    let width = src.len() / rows;
    let mut out = recur_core::param::reserved("x", src.len())?;
    for t in 0..steps {
        for b in 0..batch {
            let s = (b * steps + t) * width;
            out.extend_from_slice(&src[s..s + width]);
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::time_major;

    #[test]
    fn transposes_the_first_two_axes() {
        // [B=2, T=3, W=2]: value = 100·b + 10·t + w
        let src: Vec<f32> = (0..2).flat_map(|b| (0..3).flat_map(move |t| (0..2).map(move |w| (100 * b + 10 * t + w) as f32))).collect();
        let want: Vec<f32> = (0..3).flat_map(|t| (0..2).flat_map(move |b| (0..2).map(move |w| (100 * b + 10 * t + w) as f32))).collect();
        assert_eq!(time_major(&src, 2, 3), Ok(Some(want)));
        // width 1: [B=2, T=3]
        assert_eq!(time_major(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3), Ok(Some(vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0])));
    }

    #[test]
    fn leaves_lengths_that_do_not_fit_to_the_core() {
        assert_eq!(time_major(&[1.0, 2.0, 3.0, 4.0, 5.0], 2, 2), Ok(None));
        assert_eq!(time_major(&[1.0, 2.0], 0, 2), Ok(None));
        assert_eq!(time_major(&[], 2, 2), Ok(None));
    }
}
