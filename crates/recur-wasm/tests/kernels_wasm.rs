//! The core's GEMM kernels compiled to WebAssembly and run under Node (wasm-bindgen-test's
//! default runner mode): every compiled kernel — above all the `simd128` one — against the naive
//! reference, for every `m, n, k` in `1..=33` and for larger, blocked shapes.
//!
//! Run with `bash scripts/test-wasm.sh` (a `+simd128` build with `wasm-bindgen-test-runner` as
//! the cargo runner). Natively this file compiles to nothing: the native kernel tests live in
//! recur-core.
#![cfg(target_arch = "wasm32")]

use recur_core::kernels::{compiled_kernels, gemm_with, KernelKind};
use wasm_bindgen_test::wasm_bindgen_test;

/// Deterministic values in [-1, 1) (xorshift32), so failures reproduce.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }
    fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.next()).collect()
    }
}

/// One GEMM problem: `C = alpha · op(A) · op(B) + beta · C`, with `op` a transpose or not.
struct Case {
    m: usize,
    n: usize,
    k: usize,
    trans_a: bool,
    trans_b: bool,
    alpha: f32,
    beta: f32,
}

/// Runs `kind` and the reference on the same inputs and checks them element by element within
/// the usual bound for a sum of `k` products: `|err| <= c · k · eps · Σ|a·b| (+ |beta·c|)`.
fn check(kind: KernelKind, case: &Case, rng: &mut Rng) {
    let Case { m, n, k, trans_a, trans_b, alpha, beta } = *case;
    let a = rng.vec(m * k);
    let b = rng.vec(k * n);
    // A is m×k: row-major (rsa = k, csa = 1) or stored as its transpose k×m (rsa = 1, csa = m).
    let (rsa, csa) = if trans_a { (1, m) } else { (k, 1) };
    let (rsb, csb) = if trans_b { (1, k) } else { (n, 1) };
    // With beta == 0 the kernels must not read C: prefill it with NaN to prove it.
    let c0 = if beta == 0.0 { vec![f32::NAN; m * n] } else { rng.vec(m * n) };

    let mut got = c0.clone();
    gemm_with(kind, m, k, n, alpha, &a, rsa, csa, &b, rsb, csb, beta, &mut got, n, 1)
        .unwrap_or_else(|e| panic!("{kind:?} m={m} n={n} k={k}: {e}"));
    let mut want = c0.clone();
    gemm_with(KernelKind::Reference, m, k, n, alpha, &a, rsa, csa, &b, rsb, csb, beta, &mut want, n, 1)
        .unwrap();

    // Magnitude of each sum, for the error bound.
    let abs = |v: &[f32]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
    let c_abs = if beta == 0.0 { vec![0.0; m * n] } else { abs(&c0) };
    let mut mag = c_abs;
    gemm_with(
        KernelKind::Reference, m, k, n, alpha.abs(), &abs(&a), rsa, csa, &abs(&b), rsb, csb, beta.abs(), &mut mag, n, 1,
    )
    .unwrap();

    for i in 0..m {
        for j in 0..n {
            let (g, w, s) = (got[i * n + j], want[i * n + j], mag[i * n + j]);
            let tol = 2.0 * (k as f32 + 2.0) * f32::EPSILON * s + f32::MIN_POSITIVE;
            assert!(
                g.is_finite() && (g - w).abs() <= tol,
                "{kind:?} m={m} n={n} k={k} trans_a={trans_a} trans_b={trans_b} alpha={alpha} beta={beta}: \
                 C[{i},{j}] = {g}, reference {w} (tolerance {tol})"
            );
        }
    }
}

/// The kernels under test: all compiled in but the reference itself.
fn kernels_under_test() -> Vec<KernelKind> {
    compiled_kernels().into_iter().filter(|&k| k != KernelKind::Reference).collect()
}

#[wasm_bindgen_test]
fn simd128_kernel_is_compiled_in() {
    // The test build uses `-C target-feature=+simd128`: if the SIMD kernel were missing, the
    // other tests would silently test only the scalar one.
    assert!(
        compiled_kernels().contains(&KernelKind::Simd128),
        "this wasm test build lacks the simd128 kernel: compiled_kernels() = {:?}",
        compiled_kernels()
    );
}

/// The relaxed-SIMD run (`scripts/test-wasm.sh`, `+relaxed-simd`) tests the relaxed kernel too.
#[cfg(target_feature = "relaxed-simd")]
#[wasm_bindgen_test]
fn relaxed_kernel_is_compiled_in() {
    assert!(compiled_kernels().contains(&KernelKind::RelaxedSimd), "compiled_kernels() = {:?}", compiled_kernels());
}

#[wasm_bindgen_test]
fn every_small_shape_matches_reference() {
    let mut rng = Rng(0x9E37_79B9);
    for kind in kernels_under_test() {
        for m in 1..=33 {
            for n in 1..=33 {
                for k in 1..=33 {
                    // Every shape plain, with beta = 0 over a NaN-filled C.
                    let plain = Case { m, n, k, trans_a: false, trans_b: false, alpha: 1.0, beta: 0.0 };
                    check(kind, &plain, &mut rng);
                    // A quarter of them again with transposed operands, alpha and beta.
                    if (m + 2 * n + 3 * k) % 4 == 0 {
                        let trans_a = (m + k) % 2 == 0;
                        let trans_b = (n + k) % 2 == 1;
                        let strided = Case { m, n, k, trans_a, trans_b, alpha: -1.5, beta: 0.75 };
                        check(kind, &strided, &mut rng);
                    }
                    // Another quarter accumulating into C (alpha = 1, beta = 1: what BPTT does).
                    if (m + 2 * n + 3 * k) % 4 == 1 {
                        let acc = Case { m, n, k, trans_a: false, trans_b: false, alpha: 1.0, beta: 1.0 };
                        check(kind, &acc, &mut rng);
                    }
                }
            }
        }
    }
}

#[wasm_bindgen_test]
fn large_blocked_shapes_match_reference() {
    let mut rng = Rng(0x1234_5678);
    let shapes = [(64, 64, 64), (128, 96, 200), (257, 129, 67), (100, 300, 50), (37, 515, 260), (512, 8, 300), (37, 60, 530)];
    for kind in kernels_under_test() {
        for (i, &(m, n, k)) in shapes.iter().enumerate() {
            for (trans_a, trans_b, alpha, beta) in [(false, false, 1.0, 0.0), (i % 2 == 0, i % 2 == 1, 0.5, -1.0), (false, true, 1.0, 1.0)] {
                check(kind, &Case { m, n, k, trans_a, trans_b, alpha, beta }, &mut rng);
            }
        }
    }
}

#[wasm_bindgen_test]
fn version_is_the_crate_version() {
    assert_eq!(recur_wasm::version(), env!("CARGO_PKG_VERSION"));
}

/// The four-lane `exp`, `sigmoid` and `tanh` of the fused cell kernels give bitwise the scalar
/// functions' results (so the simd build computes what the scalar build does), on a dense grid,
/// the ends of the ranges, the clamps and the reductions' rounding steps, a sample of all bit
/// patterns and special values. In a relaxed-SIMD build, whose four-lane functions fuse their
/// multiply-adds where the host does, each result is instead within 4 ulp of the exact value
/// (the scalar functions' bounds are 2, 3.5 and 2.7 ulp), with the scalar one's NaNs,
/// infinities and zeros.
#[cfg(target_feature = "simd128")]
#[wasm_bindgen_test]
fn four_lane_math_is_bitwise_the_scalar_math() {
    use core::arch::wasm32::{f32x4, f32x4_extract_lane};
    use recur_core::kernels::math::{self, x4};
    let mut xs: Vec<f32> = (0..=400_000).map(|i| -100.0 + 200.0 * i as f32 / 400_000.0).collect();
    xs.extend((0..=2_000).map(|i| -1e-3 + 2e-3 * i as f32 / 2_000.0));
    xs.extend([0.0, -0.0, 0.625, -0.625, 88.0, 88.7, -87.34, -87.4, 1e30, -1e30, f32::MIN_POSITIVE, f32::INFINITY, f32::NEG_INFINITY]);
    // The clamps of sigmoid (|x| = 87.6) and tanh (|x| = 9.010914) and the first points
    // where a rounding step of the reductions changes `n` (|x|·log2 e near k/2), either side.
    for edge in [87.6f32, 87.336_54, 9.010_914, 0.173_286_8, 0.346_573_6, 1.039_720_8, 16.635_532, 8.491_054] {
        for d in -3i32..=3 {
            let v = f32::from_bits((edge.to_bits() as i32 + d) as u32);
            xs.extend([v, -v]);
        }
    }
    // Every 4099th f32 bit pattern: all magnitudes, subnormals and NaNs included.
    xs.extend((0..=u32::MAX).step_by(4099).map(f32::from_bits));
    let lanes = |v| [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)];
    for chunk in xs.chunks(4) {
        let x: [f32; 4] = core::array::from_fn(|l| chunk[l % chunk.len()]);
        let v = f32x4(x[0], x[1], x[2], x[3]);
        let funcs: [(&str, fn(f32) -> f32, [f32; 4]); 3] = [
            ("exp", math::exp, lanes(x4::exp(v))),
            ("sigmoid", math::sigmoid, lanes(x4::sigmoid(v))),
            ("tanh", math::tanh, lanes(x4::tanh(v))),
        ];
        for (name, scalar, got) in funcs {
            for l in 0..4 {
                let want = scalar(x[l]);
                // NaN results: both NaN (wasm leaves NaN payloads nondeterministic), else the same bits.
                let same = if want.is_nan() { got[l].is_nan() } else { got[l].to_bits() == want.to_bits() };
                #[cfg(target_feature = "relaxed-simd")]
                let same = same || within_four_ulp_of_exact(name, x[l], got[l], want);
                assert!(same, "{name}({}): four-lane {} vs scalar {want}", x[l], got[l]);
            }
        }
    }
}

/// The slice functions (`sigmoid_in_place`, `tanh_in_place`: loops LLVM vectorizes, the GRU's
/// and the RNN's nonlinearities) give the scalar function's bits for every element, and NaN for
/// NaN, also in the relaxed-SIMD build, where LLVM turns their clamps into `relaxed_min`.
#[wasm_bindgen_test]
fn slice_math_is_the_scalar_math_nan_included() {
    use recur_core::kernels::math;
    let mut xs: Vec<f32> = (0..=20_000).map(|i| -100.0 + 200.0 * i as f32 / 20_000.0).collect();
    xs.extend([f32::NAN, -f32::NAN, 0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30]);
    // NaN in every lane position of a vector, and beside finite values.
    for k in 0..8 {
        xs.extend((0..8).map(|i| if i == k { f32::NAN } else { i as f32 - 3.5 }));
    }
    let funcs: [(&str, fn(&mut [f32]), fn(f32) -> f32); 2] = [("sigmoid", math::sigmoid_in_place, math::sigmoid), ("tanh", math::tanh_in_place, math::tanh)];
    for (name, in_place, scalar) in funcs {
        let mut got = xs.clone();
        in_place(&mut got);
        for (x, g) in xs.iter().zip(&got) {
            let want = scalar(*x);
            let same = if x.is_nan() { g.is_nan() } else { g.to_bits() == want.to_bits() };
            assert!(same, "{name}_in_place({x}): {g}, scalar {want}");
        }
    }
}

/// For the relaxed-SIMD builds' four-lane math: `got` is within 4 ulp of the exact value of
/// function `name` at `x`, with its argument clamped as the scalar function clamps it, where the
/// scalar result `want` is finite and not zero (NaNs, infinities and zeros must be those bits).
#[cfg(target_feature = "relaxed-simd")]
fn within_four_ulp_of_exact(name: &str, x: f32, got: f32, want: f32) -> bool {
    if want.is_nan() || !want.is_finite() || want == 0.0 {
        return false;
    }
    let xd = x as f64;
    let exact = match name {
        "exp" => xd.clamp(-87.336_54, 88.0).exp(),
        "sigmoid" => {
            let e = (-xd.abs().min(87.6)).exp();
            if x < 0.0 { e / (1.0 + e) } else { 1.0 / (1.0 + e) }
        }
        "tanh" => xd.abs().min(9.010_914).tanh().copysign(xd),
        other => panic!("no exact reference for {other}"),
    };
    let e32 = exact.abs() as f32;
    let ulp = (f32::from_bits(e32.to_bits() + 1) - e32) as f64;
    (got as f64 - exact).abs() <= 4.0 * ulp
}

/// Adam's elementwise update compiled to wasm: a run updated in one call (the vectorized `f32x4`
/// loop) gives the bits of its elements updated one at a time (the scalar path), for every
/// variant and for run lengths around the vector width.
#[wasm_bindgen_test]
fn adam_update_of_a_run_is_bitwise_its_elements_one_by_one() {
    use recur_core::kernels::adam::{run_against_elements, AdamCoeffs, TEST_VARIANTS};
    let mut rng = Rng(0x2545_f491);
    let base = AdamCoeffs { b1: 0.9, b2: 0.999, bc2_sqrt: (1.0f64 - 0.999f64.powi(5)).sqrt(), step_size: 1e-3 / (1.0 - 0.9f64.powi(5)), decay: 1.0 - 1e-5, l2: 0.0, eps: 1e-8 };
    for (decoupled, l2, amsgrad) in TEST_VARIANTS {
        let c = AdamCoeffs { l2, ..base };
        for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 63, 64, 65, 1000] {
            let (p, g, m) = (rng.vec(n), rng.vec(n), rng.vec(n));
            let v: Vec<f32> = rng.vec(n).iter().map(|x| x.abs() * 1e-3).collect();
            let vmax: Vec<f32> = v.iter().map(|v| v * 1.5).collect();
            if let Err(e) = run_against_elements(&c, decoupled, &p, &g, &m, &v, amsgrad.then_some(&vmax[..])) {
                panic!("{e} (n {n}, decoupled {decoupled}, l2 {l2}, amsgrad {amsgrad})");
            }
        }
    }
}

/// RMSprop's elementwise update compiled to wasm: a run updated in one call (the vectorized
/// `f64x2` loop) gives the bits of its elements updated one at a time (the scalar remainder), for
/// every variant (momentum, centered, weight decay) and for run lengths around the vector width.
#[wasm_bindgen_test]
fn rmsprop_update_of_a_run_is_bitwise_its_elements_one_by_one() {
    use recur_core::kernels::rmsprop::{run_against_elements, RmspropCoeffs, TEST_VARIANTS};
    let mut rng = Rng(0x6c07_8965);
    let base = RmspropCoeffs { lr: 1e-2, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.9 };
    for (momentum, centered, weight_decay) in TEST_VARIANTS {
        let c = RmspropCoeffs { weight_decay, ..base };
        for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 63, 64, 65, 301, 1000] {
            let (p, g, b) = (rng.vec(n), rng.vec(n), rng.vec(n));
            let sq: Vec<f32> = rng.vec(n).iter().map(|x| x * x * 1e-2).collect();
            let a: Vec<f32> = rng.vec(n).iter().map(|x| x * 1e-3).collect();
            if let Err(e) = run_against_elements(&c, &p, &g, &sq, momentum.then_some(&b[..]), centered.then_some(&a[..])) {
                panic!("{e} (n {n}, momentum {momentum}, centered {centered}, weight decay {weight_decay})");
            }
        }
    }
}

/// SGD's elementwise update compiled to wasm: a run updated in one call (the vectorized `f64x2`
/// loop) gives the bits of its elements updated one at a time (the scalar remainder), for every
/// variant (plain, momentum with dampening, Nesterov, the first step, weight decay) and for run
/// lengths around the vector width.
#[wasm_bindgen_test]
fn sgd_update_of_a_run_is_bitwise_its_elements_one_by_one() {
    use recur_core::kernels::sgd::{run_against_elements, SgdCoeffs, TEST_VARIANTS};
    let mut rng = Rng(0x1b87_3593);
    for (momentum, nesterov, first, dampening, weight_decay) in TEST_VARIANTS {
        let c = SgdCoeffs { lr: 0.1, weight_decay, momentum: 0.9, damp: 1.0 - dampening };
        for n in [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 63, 64, 65, 301, 1000] {
            let (p, g, b) = (rng.vec(n), rng.vec(n), rng.vec(n));
            if let Err(e) = run_against_elements(&c, nesterov, first, &p, &g, momentum.then_some(&b[..])) {
                panic!("{e} (n {n}, momentum {momentum}, nesterov {nesterov}, first {first}, dampening {dampening}, weight decay {weight_decay})");
            }
        }
    }
}

/// The vectorized finiteness scan (every forward's input check) agrees with `is_finite` for each
/// non-finite kind and finite extreme, at every position of slices around the vector width.
#[wasm_bindgen_test]
fn finite_scan_agrees_with_is_finite() {
    recur_core::kernels::finite::check_against_is_finite(&[1, 3, 4, 5, 8, 15, 16, 17, 33, 64, 65]).unwrap();
}

/// The rows of a partial register tile (a product of fewer than 4 rows, such as a recurrent step
/// with a batch of 1, or the last rows of a longer one) are computed by the kernel's row path:
/// bitwise what the same rows give inside full tiles (the split of a batch among threads, or
/// inference against training, must not change a bit). Products over a prepacked `B`, as the
/// time loops make them, with two depth blocks and a partial last panel among the shapes.
#[wasm_bindgen_test]
fn partial_tile_rows_are_bitwise_the_full_tile_rows() {
    use recur_core::kernels::{gemm_prepacked, PackedB};
    let mut rng = Rng(0x0bad_cafe);
    for &k in &[1usize, 5, 17, 300, 600] {
        for &n in &[8usize, 24, 32, 40, 45, 130] {
            let b = rng.vec(k * n);
            let mut packed = PackedB::new();
            packed.pack(k, n, &b, n, 1);
            let a = rng.vec(8 * k);
            let c0 = rng.vec(8 * n);
            for (alpha, beta) in [(1.0, 0.0), (1.0, 1.0), (0.5, -0.25)] {
                let mut full = c0.clone();
                gemm_prepacked(8, alpha, &a, k, 1, &packed, beta, &mut full, n, 1);
                for m in 1..8 {
                    let mut part = c0[..m * n].to_vec();
                    gemm_prepacked(m, alpha, &a[..m * k], k, 1, &packed, beta, &mut part, n, 1);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&part), bits(&full[..m * n]), "m={m} n={n} k={k} alpha={alpha} beta={beta}");
                }
            }
        }
    }
}
