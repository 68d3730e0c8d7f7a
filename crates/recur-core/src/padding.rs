//! Values at padded steps have no effect, whatever they are (FORMAT.md: "`x` holds arbitrary
//! values at padded steps"): NaN or ±∞ there is not an error, and an out-of-vocabulary token id
//! there is not looked up. Only the valid steps (`t < lengths[b]`) are validated.
//!
//! Finite values at padded steps are harmless to the kernels (the state is carried, the output
//! and the gradients there are 0), but a NaN would not be: the whole-sequence products, such as
//! the weight gradient `Σ_t dgates_tᵀ · x_t`, multiply it by those zeros, and `0 · NaN` is NaN.
//! So an input whose padding is not all finite (token ids: not all 0) is copied with its padded
//! steps set to 0; any other input is used as it is, with no copy.

use crate::error::{Error, Result};

/// Checks per-sequence lengths: one per batch row, each in `1..=steps`.
pub(crate) fn check_lengths(lengths: &[usize], batch: usize, steps: usize) -> Result<()> {
    if lengths.len() != batch {
        return Err(Error::shape("lengths", [batch], [lengths.len()]));
    }
    if let Some((b, &v)) = lengths.iter().enumerate().find(|(_, &v)| v == 0 || v > steps) {
        return Err(Error::range(format!("lengths[{b}]"), v, format!("1..={steps}")));
    }
    Ok(())
}

/// Whether row `r` of time-major `[T, B, …]` data (`B = lengths.len()`) is a padded step.
#[inline]
fn is_padded_row(lengths: &[usize], r: usize) -> bool {
    r / lengths.len() >= lengths[r % lengths.len()]
}

/// Checks that every value at a valid step of `x` (`[T, B, width]`, time-major, `B =
/// lengths.len()`) is finite (else [`Error::NonFinite`] with the flat index of the first bad
/// one). Returns whether the padded values are finite too, so that `x` can be used as it is.
#[inline(never)]
pub(crate) fn check_valid_steps(x: &[f32], width: usize, lengths: &[usize]) -> Result<bool> {
    if recur_kernels::finite::all_finite(x) {
        return Ok(true);
    }
    match x.iter().enumerate().position(|(i, v)| !v.is_finite() && !is_padded_row(lengths, i / width)) {
        Some(index) => Err(Error::NonFinite { what: "x".into(), index }),
        None => Ok(false),
    }
}

/// A copy of `data` (`[T, B, width]`, time-major) with every padded step set to 0.
#[inline(never)]
pub(crate) fn zeroed_padding<V: Copy + Default>(data: &[V], width: usize, lengths: &[usize]) -> Vec<V> {
    let mut out = data.to_vec();
    for (i, v) in out.iter_mut().enumerate() {
        if is_padded_row(lengths, i / width) {
            *v = V::default();
        }
    }
    out
}

/// Token ids `[T, B]` (time-major, `B = lengths.len()`) with every padded id set to 0, or
/// `None` when they already are.
pub(crate) fn clean_tokens(ids: &[u32], lengths: &[usize]) -> Option<Vec<u32>> {
    let dirty = ids.iter().enumerate().any(|(r, &id)| id != 0 && is_padded_row(lengths, r));
    dirty.then(|| zeroed_padding(ids, 1, lengths))
}

#[cfg(test)]
mod tests {
    use super::*;

    // T = 3, B = 2, width 2; sequence 0 has 3 valid steps, sequence 1 has 1.
    const LENGTHS: [usize; 2] = [3, 1];

    fn x() -> Vec<f32> {
        (0..12).map(|v| v as f32).collect()
    }

    #[test]
    fn finite_input_is_used_as_it_is() {
        assert_eq!(check_valid_steps(&x(), 2, &LENGTHS), Ok(true));
    }

    #[test]
    fn non_finite_padding_is_reported_and_replaced_by_zeros() {
        let mut x = x();
        x[6] = f32::NAN; // t = 1, b = 1: padding
        x[11] = f32::NEG_INFINITY; // t = 2, b = 1: padding
        assert_eq!(check_valid_steps(&x, 2, &LENGTHS), Ok(false));
        assert_eq!(zeroed_padding(&x, 2, &LENGTHS), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0, 8.0, 9.0, 0.0, 0.0]);
    }

    #[test]
    fn non_finite_valid_step_is_an_error_naming_its_index() {
        let mut x = x();
        x[6] = f32::NAN; // padding: not reported
        x[9] = f32::INFINITY; // t = 2, b = 0: valid
        assert_eq!(check_valid_steps(&x, 2, &LENGTHS), Err(Error::NonFinite { what: "x".into(), index: 9 }));
    }

    #[test]
    fn padded_token_ids_become_zero() {
        assert_eq!(clean_tokens(&[1, 0, 2, 0, 3, 0], &LENGTHS), None);
        assert_eq!(clean_tokens(&[1, 7, 2, 99, 3, 5], &LENGTHS), Some(vec![1, 7, 2, 0, 3, 0]));
    }
}
