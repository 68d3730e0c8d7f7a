//! Passes between a row-major matrix and one row-sized vector (bias adds and bias gradients over
//! `[T·B, G·H]`: a million elements per LSTM layer and step of the medium benchmark). They are
//! here, not at their callers, to be compiled for speed and vectorized in the wasm builds.

/// `m[r, j] += v[j]` for every row `r` of `m` (`v.len()` columns; a last partial row is left).
#[inline(never)]
pub fn add_to_rows(m: &mut [f32], v: &[f32]) {
    m.chunks_exact_mut(v.len()).for_each(|row| row.iter_mut().zip(v).for_each(|(x, b)| *x += b));
}

/// `acc[j] += m[r, j]` for the rows `r` of `m` in order (`acc.len()` columns; a last partial
/// row is left): every `acc[j]` sums its column from the first row to the last.
#[inline(never)]
pub fn add_rows_to(acc: &mut [f32], m: &[f32]) {
    m.chunks_exact(acc.len()).for_each(|row| acc.iter_mut().zip(row).for_each(|(g, d)| *g += d));
}

/// [`add_rows_to`] on the columns `c0..c0 + acc.len()` of `m` (rows of `width` columns):
/// `acc[j] += m[r, c0 + j]` for the rows `r` in order (one task's share of a split bias sum).
#[inline(never)]
pub fn add_row_cols_to(acc: &mut [f32], m: &[f32], width: usize, c0: usize) {
    m.chunks_exact(width).for_each(|row| acc.iter_mut().zip(&row[c0..]).for_each(|(g, d)| *g += d));
}
