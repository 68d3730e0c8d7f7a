//! Branch-free `exp`, `sigmoid` and `tanh` in f32, written so that LLVM vectorizes loops over
//! slices (simd128 in wasm, SSE natively) instead of calling libm once per element: in an LSTM
//! step the five transcendental functions per hidden unit cost about as much as the recurrent
//! GEMM when they go through scalar libm calls.
//!
//! `exp` uses Cephes' polynomial. `sigmoid` and `tanh`, the gate nonlinearities, follow XNNPACK's
//! wasmsimd kernels (`f32-vsigmoid` rr2-p5-div, `f32-vtanh` expm1minus-rr1-p6h5ts-div): one
//! short polynomial each on an argument that needs no clamping at both ends, 11-12 constants,
//! no branch and no select between two formulas (25 simd128 operations each). In the simd build
//! the medium LSTM forward (B32 T64 I16 H128, Node 20, best-of-10 CPU time, interleaved A/B)
//! went 10.9 → 9.8 ms, large (B64 T64 I64 H256) 80.0 → 76.0 ms, against Cephes-based versions
//! (sigmoid through `exp`, tanh as an odd polynomial or `1 - 2/(e^2x + 1)`, both computed).
//! In V8's x64 code for the cell kernels' loops (Node 20, `--print-wasm-code`, loop overhead
//! included) a four-lane tanh went from 74-79 instructions, 15 of them reloads of spilled
//! constants, to 38-44 with 2-4 reloads; a sigmoid stayed at 40-47 → 43-44 (3 → 2 reloads).
//! A sigmoid `1 / (1 + e^-x)` with `x` clamped on both sides (no `|x|`, no select) was 1-2%
//! faster still, but one layer-norm gradient check case (tests/gradcheck.rs, GRU seed 53) then
//! missed its bound, 4.2e-3 against 4.0e-3 (that test's f32 noise is ~1e-3), so it was not kept.
//!
//! Accuracy against f64, measured on every 4th f32 with 1e-10 <= |x| <= 100 (both signs):
//! - `exp`: within 2 ulp (relative error < 3e-7) on [-87, 88].
//! - `sigmoid`: relative error <= 2.8e-7 (3.5 ulp) for x >= -87.3, absolute <= 9.4e-8; exactly
//!   1 from x = 16.64 on; below -87.6 the argument is clamped
//!   (the result stays 9.0e-39, never 0).
//!   (The Cephes-based version: 1.5e-7 relative, 2.5 ulp.)
//! - `tanh`: absolute error <= 1.5e-7, relative <= 2.1e-7 (2.7 ulp); exactly ±1 from
//!   |x| = 8.49 on; exactly odd; tanh(±0) = ±0. (The Cephes-based version: 7.9e-8 absolute,
//!   1.4e-7 relative, 1.3 ulp.)
//! - both non-decreasing on the sweep; NaN in gives NaN out.
//!
//! These errors are three orders of magnitude below the conformance tolerances
//! (`test/conformance/`: rtol 1e-4, atol 1e-5 for the recurrent cases); `tests/math.rs` checks
//! the bounds on a dense sweep.
//!
//! With `simd128`, `x4` holds the same functions on four lanes (`core::arch::wasm32`), for the
//! fused cell kernels. Every lane does exactly the operations of the scalar function, in the same
//! order (no FMA in simd128), so both give bitwise the same results (tested in
//! `crates/recur-wasm/tests/kernels_wasm.rs`). The relaxed-SIMD builds fuse the multiply-adds of
//! the four-lane versions (`f32x4.relaxed_madd`): within 4 ulp of the exact functions there,
//! tested in the same file's relaxed run.

// The polynomial constants are written as their sources give them (Cephes, XNNPACK), digits
// beyond f32 precision included (and rounded as they round, not as std's LOG2_E or LN_2), so
// they can be checked against them.
#![allow(clippy::excessive_precision, clippy::approx_constant)]

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
/// sigmoid (XNNPACK f32-vsigmoid rr2-p5): `-log2 e`; 1.5·2^23 + 127 (rounds to an integer
/// and adds the exponent bias); ln 2 in a short part (`n·LN2_HI` exact) and the rest; `p` from the highest
/// degree down (its constant term is ≈ -1: `e^-t ≈ 1 + t·p(t)`); the largest `|x|` used (then
/// `n = -126`, `2^n` still normal, and sigmoid(-87.6) ≈ 9.0e-39: subnormal, below 1e-38, not 0).
const SIG_MINUS_LOG2E: f32 = -1.442_695;
const SIG_MAGIC: f32 = 12_583_039.0;
const SIG_LN2_HI: f32 = 0.693_145_75;
const SIG_LN2_LO: f32 = 1.428_606_8e-6;
const SIG_P: [f32; 5] = [-8.289_291e-3, 4.189_782_2e-2, -1.666_765_2e-1, 4.999_915e-1, -9.999_997e-1];
const SIG_Z_MAX: f32 = 87.6;
/// tanh (XNNPACK f32-vtanh expm1minus-rr1-p6h5): 1.5·2^22 + 127/2 (rounds to a multiple of
/// 1/2, biased so that `bits << 23` is `2^2n`); ln 2 rounded to 20 significant bits (`n·ln2`
/// exact for the `n` used); `p` from degree 6 down to the `t` term, then the constant -2;
/// XNNPACK's saturation cutoff (results are exactly 1 from |x| = 8.49 on).
const TANH_MAGIC: f32 = 6_291_519.5;
const TANH_LN2: f32 = 0.693_147_2;
const TANH_P: [f32; 5] = [8.873_293e-2, -2.677_29e-1, 6.666_800_4e-1, -1.333_323_5, 1.999_999_9];
const MINUS_TWO: f32 = -2.0;
const TANH_Z_MAX: f32 = 9.010_914;

/// `e^x`, clamped to the normal range of f32 (`x` below -87.3 gives 2^-126, above 88 gives
/// e^88 ≈ 1.65e38).
#[inline(always)]
pub fn exp(arg: f32) -> f32 {
    let x = arg.clamp(EXP_LO, EXP_HI);
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
    keep_nan(arg, y * f32::from_bits(t.to_bits().wrapping_sub(MAGIC_BITS).wrapping_add(127) << 23))
}

/// The logistic function `1 / (1 + e^-x)`: `e^-|x|` from `exp_minus`, then `1 / (1 + e)` for
/// `x >= 0` and `e / (1 + e)` for `x < 0` (relative accuracy also where the result is tiny).
/// The scheme is XNNPACK's `f32-vsigmoid` wasmsimd `rr2-p5-div` kernel (its constants), with the
/// sign handled by choosing the numerator instead of computing `1 - f`, and `|x|` clamped instead
/// of the result masked: `x` below -87.6 gives sigmoid(-87.6) ≈ 9.0e-39.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp_minus(pmin(x.abs(), SIG_Z_MAX));
    let num = if x.is_sign_negative() { e } else { 1.0 };
    keep_nan(x, num / (1.0 + e))
}

/// `e^-z` for `z` in `[0, 87.6]` (NaN stays NaN): `z = -n·ln2 + t`, `n` an integer rounded to
/// nearest (the magic constant also adds the exponent bias 127, so `bits << 23` is `2^n`), `t`
/// within ±ln2/2 (ln2 in two parts, so `n·LN2_HI` is exact), `e^-t ≈ 1 + t·p(t)` with `p` of
/// degree 4: `2^n·e^-t = s + (t·s)·p`.
#[inline(always)]
fn exp_minus(z: f32) -> f32 {
    let n = z * SIG_MINUS_LOG2E + SIG_MAGIC;
    let s = f32::from_bits(n.to_bits() << 23);
    let n = n - SIG_MAGIC;
    let t = n * SIG_LN2_HI + z;
    let t = n * SIG_LN2_LO + t;
    let mut p = SIG_P[0] * t + SIG_P[1];
    for c in &SIG_P[2..] {
        p = p * t + c;
    }
    let ts = t * s;
    ts * p + s
}

/// Hyperbolic tangent, XNNPACK's `f32-vtanh` wasmsimd `expm1minus-rr1-p6h5ts-div` scheme (its
/// constants): with `z = min(|x|, 9.01)`, `e^-2z - 1` from a reduction `z = -n·ln2 + t` with `n`
/// a multiple of 1/2 (so `s = 2^2n`, `|t| <= ln2/4`) and a degree-6 polynomial,
/// then `tanh z = -(e^-2z - 1) / (e^-2z + 1)` and `x`'s sign. Near 0 (`n = 0`, `s = 1`)
/// `e^-2z - 1 = t·p(t)` with `p(0) = -2`, no cancellation; from 8.49 on the result is exactly 1.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let z = pmin(x.abs(), TANH_Z_MAX);
    let n = z * SIG_MINUS_LOG2E + TANH_MAGIC;
    let s = f32::from_bits(n.to_bits() << 23);
    let n = n - TANH_MAGIC;
    let t = n * TANH_LN2 + z;
    let mut p = TANH_P[0] * t + TANH_P[1];
    for c in &TANH_P[2..] {
        p = p * t + c;
    }
    let p = p * t + MINUS_TWO;
    let ts = t * s;
    let smo = s - 1.0;
    let emo = p * ts + smo;
    let epo = emo - MINUS_TWO;
    // emo / epo = -tanh(z) (<= 0): its magnitude with x's sign.
    keep_nan(x, (emo / epo).copysign(x))
}

/// `r`, or `x` when it is NaN, in the relaxed-SIMD builds: there LLVM vectorizes the clamps
/// (`pmin`, `f32::clamp`) of loops over these functions to `f32x4.relaxed_min`/`max`, whose
/// result for a NaN operand is the host's choice (V8's `minps` on x64 returns the bound), so NaN
/// in would give a finite result. Elsewhere the clamps keep NaN and this is `r`.
#[inline(always)]
fn keep_nan(x: f32, r: f32) -> f32 {
    if cfg!(target_feature = "relaxed-simd") && x.is_nan() {
        x
    } else {
        r
    }
}

/// wasm's `f32x4.pmin(a, b)` on one lane: `b < a ? b : a` (a NaN `a` stays).
#[inline(always)]
fn pmin(a: f32, b: f32) -> f32 {
    if b < a {
        b
    } else {
        a
    }
}

/// `v ← sigmoid(v)` for every element (never inlined: see the crate's docs).
#[inline(never)]
pub fn sigmoid_in_place(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = sigmoid(*x));
}

/// `v ← tanh(v)` for every element (never inlined: see the crate's docs).
#[inline(never)]
pub fn tanh_in_place(v: &mut [f32]) {
    v.iter_mut().for_each(|x| *x = tanh(*x));
}

/// The functions above on four lanes of a `v128` (wasm `simd128` builds only): lane for lane
/// the same operations, so bitwise the same results as the scalar versions. In the relaxed-SIMD
/// builds the multiply-adds of the argument reductions and polynomials (all of them in `sigmoid`
/// and `tanh`; in `exp` the polynomial's and the rounding to `n`) are one `f32x4.relaxed_madd`
/// each instead (fused where the host has FMA, as the relaxed builds' GEMM is): fewer
/// instructions in the LSTM's forward cell, and results within 4 ulp of the exact functions but
/// not bitwise the scalar ones.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod x4 {
    use super::*;
    use core::arch::wasm32::*;

    /// `a · b + c`: `f32x4.mul` then `f32x4.add`, the scalar functions' two roundings.
    #[cfg(not(target_feature = "relaxed-simd"))]
    #[inline(always)]
    fn madd(a: v128, b: v128, c: v128) -> v128 {
        f32x4_add(f32x4_mul(a, b), c)
    }

    /// `a · b + c` as one `f32x4.relaxed_madd` (one rounding where the host fuses it).
    #[cfg(target_feature = "relaxed-simd")]
    #[inline(always)]
    fn madd(a: v128, b: v128, c: v128) -> v128 {
        f32x4_relaxed_madd(a, b, c)
    }

    /// `r`, or `x` in the lanes where `x` is NaN. With `+relaxed-simd` LLVM compiles the clamps'
    /// `f32x4.pmin`/`pmax` to `f32x4.relaxed_min`/`max`, whose result for a NaN operand is the
    /// host's choice (on x64, V8's `minps` returns the bound): without this, NaN in gave a
    /// finite result in the relaxed builds only.
    #[cfg(target_feature = "relaxed-simd")]
    #[inline(always)]
    fn keep_nan(x: v128, r: v128) -> v128 {
        v128_bitselect(x, r, f32x4_ne(x, x))
    }

    /// `r`: the clamps keep NaN without `+relaxed-simd`.
    #[cfg(not(target_feature = "relaxed-simd"))]
    #[inline(always)]
    fn keep_nan(_x: v128, r: v128) -> v128 {
        r
    }

    /// [`super::exp`] on four lanes.
    #[inline(always)]
    pub fn exp(arg: v128) -> v128 {
        // pmax/pmin with `x` first return `x` when it is NaN, as `f32::clamp` does (but see
        // `keep_nan`).
        let x = f32x4_pmin(f32x4_pmax(arg, f32x4_splat(EXP_LO)), f32x4_splat(EXP_HI));
        let t = madd(x, f32x4_splat(LOG2E), f32x4_splat(MAGIC));
        let n = f32x4_sub(t, f32x4_splat(MAGIC));
        let r = f32x4_sub(f32x4_sub(x, f32x4_mul(n, f32x4_splat(LN2_HI))), f32x4_mul(n, f32x4_splat(LN2_LO)));
        let mut p = f32x4_splat(EXP_P[0]);
        for &c in &EXP_P[1..] {
            p = madd(p, r, f32x4_splat(c));
        }
        let y = f32x4_add(f32x4_add(f32x4_mul(f32x4_mul(p, r), r), r), f32x4_splat(1.0));
        let scale = i32x4_shl(i32x4_add(t, i32x4_splat(127i32.wrapping_sub(MAGIC_BITS as i32))), 23);
        keep_nan(arg, f32x4_mul(y, scale))
    }

    /// [`super::sigmoid`] on four lanes.
    #[inline(always)]
    pub fn sigmoid(x: v128) -> v128 {
        let one = f32x4_splat(1.0);
        let e = exp_minus(f32x4_pmin(f32x4_abs(x), f32x4_splat(SIG_Z_MAX)));
        // Lanes with the sign bit set take `e`, the others 1.
        let num = v128_bitselect(e, one, i32x4_shr(x, 31));
        keep_nan(x, f32x4_div(num, f32x4_add(one, e)))
    }

    /// [`super::exp_minus`] on four lanes.
    #[inline(always)]
    fn exp_minus(z: v128) -> v128 {
        let magic = f32x4_splat(SIG_MAGIC);
        let n = madd(z, f32x4_splat(SIG_MINUS_LOG2E), magic);
        let s = i32x4_shl(n, 23);
        let n = f32x4_sub(n, magic);
        let t = madd(n, f32x4_splat(SIG_LN2_HI), z);
        let t = madd(n, f32x4_splat(SIG_LN2_LO), t);
        let mut p = madd(f32x4_splat(SIG_P[0]), t, f32x4_splat(SIG_P[1]));
        for &c in &SIG_P[2..] {
            p = madd(p, t, f32x4_splat(c));
        }
        let ts = f32x4_mul(t, s);
        madd(ts, p, s)
    }

    /// [`super::tanh`] on four lanes.
    #[inline(always)]
    pub fn tanh(x: v128) -> v128 {
        let z = f32x4_pmin(f32x4_abs(x), f32x4_splat(TANH_Z_MAX));
        let magic = f32x4_splat(TANH_MAGIC);
        let n = madd(z, f32x4_splat(SIG_MINUS_LOG2E), magic);
        let s = i32x4_shl(n, 23);
        let n = f32x4_sub(n, magic);
        let t = madd(n, f32x4_splat(TANH_LN2), z);
        let mut p = madd(f32x4_splat(TANH_P[0]), t, f32x4_splat(TANH_P[1]));
        for &c in &TANH_P[2..] {
            p = madd(p, t, f32x4_splat(c));
        }
        let minus_two = f32x4_splat(MINUS_TWO);
        let p = madd(p, t, minus_two);
        let ts = f32x4_mul(t, s);
        let smo = f32x4_sub(s, f32x4_splat(1.0));
        let emo = madd(p, ts, smo);
        let epo = f32x4_sub(emo, minus_two);
        // copysign(emo / epo, x): the quotient's magnitude bits with x's sign bit.
        keep_nan(x, v128_bitselect(x, f32x4_div(emo, epo), f32x4_splat(-0.0)))
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
