//! Whether a slice holds only finite values: the input check of every forward pass (`x` of a
//! large benchmark batch is a quarter million values, scanned before each forward). Branch-free
//! over the whole slice, so LLVM vectorizes it (four lanes of `i32x4` in the simd builds) where a
//! search for the first bad value stops to test every element; callers find where the bad value
//! is only after this says there is one.

/// Exponent bits of an f32: all set for ±∞ and NaN, and only for them.
const EXPONENT: u32 = 0x7f80_0000;

/// Whether every value of `data` is finite (not NaN, not ±∞). True for an empty slice.
#[inline(never)]
pub fn all_finite(data: &[f32]) -> bool {
    // OR of "exponent all ones" over every value, as 0 or 1: no early exit, no branch per value.
    data.iter().fold(0u32, |bad, v| bad | ((v.to_bits() & EXPONENT) == EXPONENT) as u32) == 0
}

/// Checks [`all_finite`] against `is_finite` for slices of each length in `lens`, with each
/// non-finite kind and each finite extreme at every position among finite values, and for the
/// empty slice; returns the first disagreement. The native and the wasm tests run it.
#[doc(hidden)]
pub fn check_against_is_finite(lens: &[usize]) -> Result<(), String> {
    const VALUES: [f32; 10] =
        [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN, f32::MIN_POSITIVE, 1e-45, -0.0, 0.0];
    if !all_finite(&[]) {
        return Err("the empty slice is not all finite".into());
    }
    for &len in lens {
        for &v in &VALUES {
            for at in 0..len {
                let mut data = vec![0.5f32; len];
                data[at] = v;
                if all_finite(&data) != v.is_finite() {
                    return Err(format!("{v} at {at} of {len}: all_finite says {}", all_finite(&data)));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn agrees_with_is_finite_for_each_value_at_each_position() {
        super::check_against_is_finite(&[1, 3, 4, 5, 8, 17, 33]).unwrap();
    }
}
