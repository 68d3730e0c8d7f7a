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

/// Values every test of [`all_finite`] places among finite ones (natively and in wasm): each
/// non-finite kind and the finite extremes next to them.
#[doc(hidden)]
pub const TEST_VALUES: [f32; 10] =
    [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, f32::MIN, f32::MIN_POSITIVE, 1e-45, -0.0, 0.0];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_is_finite_for_each_value_at_each_position() {
        for len in [1usize, 3, 4, 5, 8, 17, 33] {
            for &v in &TEST_VALUES {
                for at in 0..len {
                    let mut data = vec![0.5f32; len];
                    data[at] = v;
                    assert_eq!(all_finite(&data), v.is_finite(), "{v} at {at} of {len}");
                }
            }
        }
        assert!(all_finite(&[]));
    }
}
