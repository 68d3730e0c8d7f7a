//! The sum of squares of a slice in `f64`: gradient norms (every parameter's after each training
//! step, and `‖∂L/∂h_t‖` of every step and batch row inside the backward time loop: a quarter
//! million values per step of the medium LSTM). In `recur-core`, compiled for size, the loop ran
//! one value at a time (about 0.2 ms of a 24 ms medium training step); here four interleaved
//! lanes let LLVM keep two `f64x2` sums in the wasm builds. The lanes are part of the
//! definition, so every build (scalar or SIMD, native or wasm) gives the same bits.

/// `Σ data[i]²`, accumulated in `f64` in four lanes (element `i` in lane `i % 4`, the last
/// `len % 4` in a fifth), summed as `(l0 + l1) + (l2 + l3) + tail`. Not finite exactly when
/// some value is not: the squares of finite `f32` values cannot overflow an `f64` sum of fewer
/// than 2^231 of them.
#[inline(never)]
pub fn sum_squares(data: &[f32]) -> f64 {
    lane_sum(data.len(), |i| (data[i] as f64) * (data[i] as f64))
}

/// `Σ f(i)` for `i < n` in `f64`, in the four lanes of [`sum_squares`] (term `i` in lane `i % 4`,
/// the last `n % 4` in a fifth, summed as `(l0 + l1) + (l2 + l3) + tail`): LLVM keeps the lanes
/// in two `f64x2` sums, and every build gives the same bits. Also layer norm's sums.
#[inline(always)]
pub(crate) fn lane_sum(n: usize, f: impl Fn(usize) -> f64) -> f64 {
    let mut lanes = [0.0f64; 4];
    let n4 = n / 4 * 4;
    let mut i = 0;
    while i < n4 {
        for (l, lane) in lanes.iter_mut().enumerate() {
            *lane += f(i + l);
        }
        i += 4;
    }
    let tail = (n4..n).fold(0.0f64, |s, i| s + f(i));
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_the_squares_by_lane() {
        let data: Vec<f32> = (0..11).map(|i| i as f32 - 4.5).collect();
        let sq = |i: usize| (data[i] as f64) * (data[i] as f64);
        let lane = |l: usize| (l..8).step_by(4).fold(0.0, |s, i| s + sq(i));
        let want = (lane(0) + lane(1)) + (lane(2) + lane(3)) + ((sq(8) + sq(9)) + sq(10));
        assert_eq!(sum_squares(&data).to_bits(), want.to_bits());
        assert_eq!(sum_squares(&[]), 0.0);
        assert_eq!(sum_squares(&[3.0]), 9.0);
    }

    #[test]
    fn is_not_finite_exactly_when_a_value_is_not() {
        for len in [1, 4, 7, 9] {
            let mut data = vec![f32::MAX; len];
            assert!(sum_squares(&data).is_finite(), "{len} × f32::MAX");
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                data[len - 1] = bad;
                assert!(!sum_squares(&data).is_finite(), "{bad} at the end of {len}");
                data[len - 1] = f32::MAX;
            }
        }
    }
}
