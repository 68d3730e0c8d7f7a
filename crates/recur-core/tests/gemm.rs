//! GEMM kernels against an f64 evaluation of the definition: every shape around the register
//! and cache block edges, every transpose, strided operands, `beta = 0` with `C` full of NaN.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use recur_core::kernels::{self, compiled_kernels, gemm_with, KernelKind, SharedOperand};

/// Counts this thread's allocations, to check that `gemm` reuses its packing buffers.
struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a const thread-local Cell.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Deterministic values in [-1, 1) (a 64-bit LCG; independent of the crate's own RNG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn fill(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.next()).collect()
    }
}

/// A strided matrix: `rows × cols` with element `(r, c)` at `data[r * rs + c * cs]`; the gaps
/// between elements hold junk (or NaN) that must never leak into the result.
struct Mat {
    data: Vec<f32>,
    rs: usize,
    cs: usize,
}

impl Mat {
    /// Row-major (`trans = false`) or column-major (`trans = true`) storage with leading
    /// dimension padded by `pad` and elements spaced by `step` along the contiguous axis.
    fn new(rng: &mut Lcg, rows: usize, cols: usize, trans: bool, pad: usize, step: usize) -> Mat {
        let (outer, inner) = if trans { (cols, rows) } else { (rows, cols) };
        let ld = inner * step + pad;
        let len = if outer == 0 { 0 } else { (outer - 1) * ld + inner.max(1) * step };
        let data = rng.fill(len);
        let (rs, cs) = if trans { (step, ld) } else { (ld, step) };
        Mat { data, rs, cs }
    }
    fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.rs + c * self.cs]
    }
}

/// One product to check: `C = alpha·A·B + beta·C`.
struct Case {
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    beta: f32,
    a: Mat,
    b: Mat,
    c: Mat,
}

impl Case {
    /// Builds a case; `ta`/`tb` store A/B transposed, `step` spaces elements of every operand
    /// (non-unit column strides) and `pad` pads their leading dimensions.
    #[allow(clippy::too_many_arguments)]
    fn new(seed: u64, m: usize, k: usize, n: usize, ta: bool, tb: bool, step: usize, pad: usize, alpha: f32, beta: f32) -> Case {
        let mut rng = Lcg(seed ^ ((m * 7919 + k * 104729 + n * 1299709) as u64));
        let a = Mat::new(&mut rng, m, k, ta, pad, step);
        let b = Mat::new(&mut rng, k, n, tb, pad, step);
        let mut c = Mat::new(&mut rng, m, n, false, pad, step);
        if beta == 0.0 {
            // beta = 0 must never read C: NaN here would poison any product that does.
            c.data.iter_mut().for_each(|v| *v = f32::NAN);
        }
        Case { m, k, n, alpha, beta, a, b, c }
    }

    /// The exact result and its error tolerance for every element of C, by index into C.
    fn expected(&self) -> Vec<(usize, f64, f64)> {
        let (a, b) = (&self.a, &self.b);
        let (alpha, beta) = (self.alpha as f64, self.beta as f64);
        let mut out = Vec::with_capacity(self.m * self.n);
        for i in 0..self.m {
            for j in 0..self.n {
                let (mut exact, mut scale) = (0.0f64, 0.0f64);
                for p in 0..self.k {
                    let t = a.at(i, p) as f64 * b.at(p, j) as f64;
                    exact += t;
                    scale += t.abs();
                }
                let idx = i * self.c.rs + j * self.c.cs;
                let c0 = self.c.data[idx] as f64;
                let (want, scale) = if self.beta == 0.0 {
                    (alpha * exact, alpha.abs() * scale)
                } else {
                    (alpha * exact + beta * c0, alpha.abs() * scale + beta.abs() * c0.abs())
                };
                // Rounding bound of a k-term f32 sum plus the final scaling (γ_{k+3}).
                let tol = (self.k as f64 + 3.0) * f32::EPSILON as f64 * scale + 1e-30;
                out.push((idx, want, tol));
            }
        }
        out
    }

    /// Runs `kind` (`None`: the dispatching [`kernels::gemm`]) on a copy of C and checks every
    /// element against `expected`, and that the gaps between C's elements are untouched.
    fn check(&self, kind: Option<KernelKind>, expected: &[(usize, f64, f64)]) {
        let mut c = self.c.data.clone();
        let (a, b) = (&self.a, &self.b);
        let (m, k, n, alpha, beta) = (self.m, self.k, self.n, self.alpha, self.beta);
        match kind {
            Some(kind) => {
                gemm_with(kind, m, k, n, alpha, &a.data, a.rs, a.cs, &b.data, b.rs, b.cs, beta, &mut c, self.c.rs, self.c.cs)
                    .unwrap()
            }
            None => kernels::gemm(m, k, n, alpha, &a.data, a.rs, a.cs, &b.data, b.rs, b.cs, beta, &mut c, self.c.rs, self.c.cs),
        }
        let mut written = vec![false; c.len()];
        for &(idx, want, tol) in expected {
            written[idx] = true;
            let got = c[idx] as f64;
            assert!(
                (got - want).abs() <= tol,
                "{kind:?} m={m} k={k} n={n} alpha={alpha} beta={beta} strides a=({},{}) b=({},{}) c=({},{}): \
                 C[{idx}] = {got}, want {want} (tol {tol})",
                a.rs, a.cs, b.rs, b.cs, self.c.rs, self.c.cs
            );
        }
        for (idx, w) in written.iter().enumerate() {
            if !w {
                assert!(c[idx].to_bits() == self.c.data[idx].to_bits(), "{kind:?}: C gap at {idx} was overwritten");
            }
        }
    }

    /// Checks the public dispatcher and every compiled kernel.
    fn check_all(&self) {
        let expected = self.expected();
        self.check(None, &expected);
        for kind in compiled_kernels() {
            self.check(Some(kind), &expected);
        }
    }
}

#[test]
fn every_shape_to_33_nn_nt_tn() {
    // The three layouts the layers use, contiguous, beta = 0 with C full of NaN.
    for m in 1..=33 {
        for k in 1..=33 {
            for n in 1..=33 {
                for (ta, tb) in [(false, false), (false, true), (true, false)] {
                    Case::new(1, m, k, n, ta, tb, 1, 0, 1.0, 0.0).check_all();
                }
            }
        }
    }
}

#[test]
fn wrappers_match_their_strides() {
    let (m, n, k) = (13, 21, 17);
    let mut rng = Lcg(9);
    let a = rng.fill(m * k);
    let bt = rng.fill(n * k);
    let b = rng.fill(k * n);
    let at = rng.fill(k * m);
    let mut want = vec![0.0; m * n];
    let mut got = vec![f32::NAN; m * n];
    kernels::reference::gemm(m, k, n, 1.0, &a, k, 1, &bt, 1, k, 0.0, &mut want, n, 1);
    kernels::gemm_nt(m, n, k, &a, &bt, 0.0, &mut got);
    assert_close(&got, &want);
    kernels::reference::gemm(m, k, n, 1.0, &a, k, 1, &b, n, 1, 0.0, &mut want, n, 1);
    kernels::gemm_nn(m, n, k, &a, &b, 0.0, &mut got);
    assert_close(&got, &want);
    // beta = 1 accumulates into what the last call left.
    let prev = got.clone();
    kernels::reference::gemm(m, k, n, 1.0, &at, 1, m, &b, n, 1, 0.0, &mut want, n, 1);
    kernels::gemm_tn(m, n, k, &at, &b, 1.0, &mut got);
    let want: Vec<f32> = want.iter().zip(&prev).map(|(w, p)| w + p).collect();
    assert_close(&got, &want);
}

fn assert_close(got: &[f32], want: &[f32]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "element {i}: {g} vs {w}");
    }
}

/// Sizes around the register tiles (4, 6, 8) and a few beyond.
const EDGES: [usize; 12] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17];

#[test]
fn all_transposes_with_strides_alpha_beta() {
    for &m in &EDGES {
        for &k in &EDGES {
            for &n in &EDGES {
                for ta in [false, true] {
                    for tb in [false, true] {
                        // Padded leading dimensions, element step 2 (non-unit column strides),
                        // and the alpha/beta combinations: NaN C with beta 0, beta 1, general.
                        Case::new(2, m, k, n, ta, tb, 2, 3, 1.0, 0.0).check_all();
                        Case::new(3, m, k, n, ta, tb, 1, 5, 0.75, 1.0).check_all();
                        Case::new(4, m, k, n, ta, tb, 3, 0, -1.5, 0.5).check_all();
                    }
                }
            }
        }
    }
}

#[test]
fn empty_dimensions() {
    for kind in compiled_kernels() {
        // k = 0: C = beta·C, and with beta = 0 the NaN is overwritten by zero, never read.
        let mut c = vec![f32::NAN; 6];
        gemm_with(kind, 2, 0, 3, 1.0, &[], 1, 1, &[], 1, 1, 0.0, &mut c, 3, 1).unwrap();
        assert!(c.iter().all(|&v| v == 0.0), "{kind:?}: {c:?}");
        let mut c = vec![2.0; 6];
        gemm_with(kind, 2, 0, 3, 1.0, &[], 1, 1, &[], 1, 1, 0.5, &mut c, 3, 1).unwrap();
        assert!(c.iter().all(|&v| v == 1.0), "{kind:?}: {c:?}");
        // m = 0 or n = 0: nothing is touched.
        let mut c = vec![f32::NAN; 2];
        gemm_with(kind, 0, 4, 3, 1.0, &[], 4, 1, &[1.0; 12], 3, 1, 0.0, &mut c, 3, 1).unwrap();
        gemm_with(kind, 3, 4, 0, 1.0, &[1.0; 12], 4, 1, &[], 1, 1, 0.0, &mut c, 1, 1).unwrap();
        assert!(c.iter().all(|v| v.is_nan()));
    }
}

#[test]
fn errors_instead_of_panics() {
    let all = [KernelKind::Reference, KernelKind::Scalar, KernelKind::Simd128, KernelKind::RelaxedSimd];
    let compiled = compiled_kernels();
    assert!(compiled.contains(&KernelKind::Reference) && compiled.contains(&KernelKind::Scalar));
    let (a, b) = (vec![1.0; 6], vec![1.0; 6]);
    for kind in all {
        let mut c = vec![0.0; 4];
        let r = gemm_with(kind, 2, 3, 2, 1.0, &a, 3, 1, &b, 2, 1, 0.0, &mut c, 2, 1);
        if compiled.contains(&kind) {
            r.unwrap();
            assert_eq!(c, vec![3.0; 4]);
            // A slice one element too short is an error, not a panic or an overrun.
            let e = gemm_with(kind, 2, 3, 2, 1.0, &a[..5], 3, 1, &b, 2, 1, 0.0, &mut c, 2, 1).unwrap_err();
            assert!(matches!(e, recur_core::Error::Shape { .. }), "{e}");
            let e = gemm_with(kind, 2, 3, 2, 1.0, &a, 3, 1, &b, 2, 1, 0.0, &mut c[..3], 2, 1).unwrap_err();
            assert!(matches!(e, recur_core::Error::Shape { .. }), "{e}");
        } else {
            let e = r.unwrap_err();
            assert!(matches!(e, recur_core::Error::Unsupported { .. }), "{e}");
        }
    }
}

#[test]
fn large_shapes_cross_cache_blocks() {
    // (m, k, n, A transposed, B transposed): across KC = 512, MC and NC = 1024 borders, and
    // the LSTM products for B = 64, H = 256 (X·Wᵀ for the input projection of T·B rows, the
    // recurrent product, and the weight gradient dAᵀ·X).
    let shapes = [
        (130, 517, 259, false, false),
        (130, 517, 259, true, true),
        (67, 300, 1100, false, true),
        (64, 256, 1024, false, true),
        (4096, 64, 1024, false, true),
        (1024, 64, 256, true, false),
    ];
    for (i, &(m, k, n, ta, tb)) in shapes.iter().enumerate() {
        let (alpha, beta) = if i % 2 == 0 { (1.0, 0.0) } else { (0.5, 1.0) };
        let case = Case::new(5, m, k, n, ta, tb, 1, 0, alpha, beta);
        let expected = case.expected();
        case.check(None, &expected);
        for kind in compiled_kernels().into_iter().filter(|&k| k != KernelKind::Reference) {
            case.check(Some(kind), &expected);
        }
    }
}

#[test]
fn no_allocation_once_warm() {
    // A recurrent layer calls gemm once per time step: after the first call of the largest
    // shape, no call may allocate (packing buffers are thread-local and reused).
    let mut rng = Lcg(11);
    let (m, k, n) = (130, 517, 259);
    let a = rng.fill(m * k);
    let b = rng.fill(k * n);
    let mut c = vec![0.0; m * n];
    kernels::gemm_nt(m, n, k, &a, &b, 0.0, &mut c);
    let before = ALLOCATIONS.with(|n| n.get());
    for step in 0..5 {
        kernels::gemm_nt(m, n, k, &a, &b, 1.0, &mut c);
        kernels::gemm_nn(32, 64, 128, &a, &b, 0.0, &mut c);
        kernels::gemm_tn(64, 32, 128, &a, &b, 0.0, &mut c);
        kernels::gemm_nt(2, 3, 4, &a, &b, 0.0, &mut c); // the direct-loop path
        gemm_with(KernelKind::Scalar, 8, 8, 8, 1.0, &a, 8, 1, &b, 8, 1, 0.0, &mut c, 8, 1).unwrap();
        assert_eq!(ALLOCATIONS.with(|n| n.get()), before, "allocation in step {step}");
    }
    assert!(c.iter().all(|v| v.is_finite()));
}

#[test]
fn prepacked_b_matches_reference_for_both_weight_layouts() {
    // The recurrent layers pack W once per sequence: as Wᵀ (forward, `h · W_hhᵀ`) and as W
    // (backward, `drec · W_hh`). Shapes cover tiles' edges and the KC / NC block borders.
    let mut packed = kernels::PackedB::new();
    for &(m, k, n) in &[(1, 1, 1), (3, 5, 7), (4, 8, 8), (13, 33, 17), (32, 128, 512), (5, 300, 1100), (64, 257, 1030), (9, 530, 40)] {
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 23) as f32 - 11.0) * 0.05).collect();
        let w: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 19) as f32 - 9.0) * 0.03).collect();
        for transposed in [false, true] {
            // B (k × n) is either w as row-major k × n, or w read as the transpose of n × k.
            let (rsb, csb) = if transposed { (1, k) } else { (n, 1) };
            let mut want = vec![0.5f32; m * n];
            kernels::reference::gemm(m, k, n, 1.5, &a, k, 1, &w, rsb, csb, 0.25, &mut want, n, 1);
            packed.pack(k, n, &w, rsb, csb);
            let mut got = vec![0.5f32; m * n];
            kernels::gemm_prepacked(m, 1.5, &a, k, 1, &packed, 0.25, &mut got, n, 1);
            assert_close(&got, &want);
            // beta = 0 must not read C.
            let mut nan = vec![f32::NAN; m * n];
            kernels::gemm_prepacked(m, 1.0, &a, k, 1, &packed, 0.0, &mut nan, n, 1);
            let mut want0 = vec![0.0f32; m * n];
            kernels::reference::gemm(m, k, n, 1.0, &a, k, 1, &w, rsb, csb, 0.0, &mut want0, n, 1);
            assert_close(&nan, &want0);
        }
    }
}

#[test]
fn depth_concatenated_product_is_the_product_of_the_concatenation_bit_for_bit() {
    // An LSTM/RNN step: [x_t | h_{t-1}] · [W_ih | W_hh]ᵀ with the parts read in place (x and h
    // rows with their own strides, the weights packed once as one operand). Depths cross the KC
    // block (512 deep) inside either part or at the border; m and n cover tile edges.
    let mut concat = kernels::PackedB::new();
    let mut whole = kernels::PackedB::new();
    for &(m, k1, k2, n) in &[(1, 1, 1, 1), (3, 5, 7, 9), (32, 16, 128, 512), (13, 64, 256, 1030), (5, 256, 3, 17), (7, 300, 40, 33), (6, 300, 250, 20), (5, 520, 3, 17), (3, 512, 4, 9), (4, 0, 9, 8)] {
        let k = k1 + k2;
        let fill = |len: usize, mul: usize| -> Vec<f32> { (0..len).map(|i| ((i * mul % 23) as f32 - 11.0) * 0.05).collect() };
        // x rows of stride k1 + 2 (a padded buffer), h rows of stride k2.
        let (rsx, rsh) = (k1 + 2, k2);
        let x = fill(m * rsx, 7);
        let h = fill(m * rsh, 5);
        let (w_ih, w_hh) = (fill(n * k1, 3), fill(n * k2, 11)); // [n, k1] and [n, k2]
        let a: Vec<f32> = (0..m).flat_map(|i| x[i * rsx..i * rsx + k1].iter().chain(&h[i * rsh..i * rsh + k2]).copied()).collect();
        let w: Vec<f32> = (0..n).flat_map(|j| w_ih[j * k1..(j + 1) * k1].iter().chain(&w_hh[j * k2..(j + 1) * k2]).copied()).collect();
        whole.pack(k, n, &w, 1, k);
        concat.pack_concat(k1, k2, n, &w_ih, 1, k1, &w_hh, 1, k2);
        for beta in [0.0, 1.0] {
            let mut want = fill(m * n, 13);
            kernels::gemm_prepacked(m, 1.0, &a, k, 1, &whole, beta, &mut want, n, 1);
            let mut got = fill(m * n, 13);
            kernels::gemm_prepacked_concat(m, &x, rsx, &h, rsh, &concat, beta, &mut got, n);
            let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "m {m}, k1 {k1}, k2 {k2}, n {n}, beta {beta}");
            let mut reference = fill(m * n, 13);
            kernels::reference::gemm(m, k, n, 1.0, &a, k, 1, &w, 1, k, beta, &mut reference, n, 1);
            assert_close(&got, &reference);
        }
    }
}

#[test]
#[should_panic(expected = "A2 too short")]
fn depth_concatenated_product_checks_each_part() {
    let mut packed = kernels::PackedB::new();
    packed.pack_concat(2, 3, 4, &[0.0; 8], 1, 2, &[0.0; 12], 1, 3);
    let mut c = vec![0.0; 8];
    // Two rows need 2 · 3 floats of h; 5 given.
    kernels::gemm_prepacked_concat(2, &[0.0; 4], 2, &[0.0; 5], 3, &packed, 0.0, &mut c, 4);
}

#[test]
fn operands_packed_together_as_cache_blocks_match_each_packed_alone_bit_for_bit() {
    // Several operands packed in one job of cache blocks (KC = 512 deep, NC = 1024 wide in the
    // simd128 build): depths and widths that cross both, and empty ones.
    let shapes: &[(usize, usize, bool)] = &[(600, 1030, false), (257, 16, true), (2048, 128, false), (0, 9, false), (5, 0, true), (1, 1, false)];
    let fill = |len: usize, mul: usize| -> Vec<f32> { (0..len).map(|i| ((i * mul % 29) as f32 - 14.0) * 0.03).collect() };
    let ws: Vec<Vec<f32>> = shapes.iter().enumerate().map(|(s, &(k, n, _))| fill(k * n, 7 + 2 * s)).collect();
    let strides = |k: usize, n: usize, transposed: bool| if transposed { (1, k) } else { (n, 1) };
    let mut together: Vec<kernels::PackedB> = shapes.iter().map(|_| kernels::PackedB::new()).collect();
    let mut operands: Vec<(&mut kernels::PackedB, kernels::BOperand<'_>)> = together
        .iter_mut()
        .zip(shapes.iter().zip(&ws))
        .map(|(p, (&(k, n, t), w))| {
            let (rsb, csb) = strides(k, n, t);
            (p, kernels::BOperand { k, n, b: w, rsb, csb })
        })
        .collect();
    kernels::PackedB::pack_each(&mut operands);
    for ((&(k, n, t), w), packed) in shapes.iter().zip(&ws).zip(&together) {
        let (rsb, csb) = strides(k, n, t);
        let mut alone = kernels::PackedB::new();
        alone.pack(k, n, w, rsb, csb);
        assert_eq!((packed.k(), packed.n()), (k, n));
        let m = 37;
        let a = fill(m * k, 5);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        let (mut got, mut want) = (fill(m * n, 3), fill(m * n, 3));
        kernels::gemm_prepacked(m, 1.0, &a, k, 1, packed, 1.0, &mut got, n, 1);
        kernels::gemm_prepacked(m, 1.0, &a, k, 1, &alone, 1.0, &mut want, n, 1);
        assert_eq!(bits(&got), bits(&want), "k {k}, n {n}");
        let mut reference = fill(m * n, 3);
        kernels::reference::gemm(m, k, n, 1.0, &a, k, 1, w, rsb, csb, 1.0, &mut reference, n, 1);
        assert_close(&got, &reference);
    }
}

#[test]
#[should_panic(expected = "pack_each: B needs 12 elements, has 11")]
fn operands_packed_together_are_checked() {
    let mut packed = kernels::PackedB::new();
    kernels::PackedB::pack_each(&mut [(&mut packed, kernels::BOperand { k: 3, n: 4, b: &[0.0; 11], rsb: 4, csb: 1 })]);
}

#[test]
fn transposed_a_gives_the_bits_of_a_row_major_copy() {
    // A stored transposed (row stride 1, as dGᵀ in a weight gradient) and the same A stored
    // row-major are packed by different loops into the same panels: the same operations in the
    // same order, so the same bits, for every kernel and on the prepacked-B path too. Shapes
    // cover a partial last row panel (m % 4 != 0), row blocks past MC, and depths past KC = 512.
    let fill = |len: usize, mul: usize| -> Vec<f32> { (0..len).map(|i| ((i * mul % 29) as f32 - 14.0) * 0.03).collect() };
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    for &(m, k, n) in &[(1, 3, 5), (4, 8, 8), (7, 9, 17), (64, 40, 16), (130, 600, 24), (67, 1030, 9), (512, 64, 33)] {
        let at = fill(k * m, 7); // Aᵀ, k × m row-major: A's element (i, p) at at[p * m + i]
        let a: Vec<f32> = (0..m).flat_map(|i| (0..k).map(|p| at[p * m + i]).collect::<Vec<_>>()).collect();
        let b = fill(k * n, 5);
        for kind in compiled_kernels().into_iter().filter(|&kind| kind != KernelKind::Reference) {
            for beta in [0.0, 1.0] {
                let mut want = fill(m * n, 3);
                gemm_with(kind, m, k, n, 1.0, &a, k, 1, &b, n, 1, beta, &mut want, n, 1).unwrap();
                let mut got = fill(m * n, 3);
                gemm_with(kind, m, k, n, 1.0, &at, 1, m, &b, n, 1, beta, &mut got, n, 1).unwrap();
                assert_eq!(bits(&got), bits(&want), "{kind:?}: m {m}, k {k}, n {n}, beta {beta}");
            }
        }
        let mut packed = kernels::PackedB::new();
        packed.pack(k, n, &b, n, 1);
        let mut want = fill(m * n, 3);
        kernels::gemm_prepacked(m, 1.0, &a, k, 1, &packed, 1.0, &mut want, n, 1);
        let mut got = fill(m * n, 3);
        kernels::gemm_prepacked(m, 1.0, &at, 1, m, &packed, 1.0, &mut got, n, 1);
        assert_eq!(bits(&got), bits(&want), "prepacked B: m {m}, k {k}, n {n}");
        let mut reference = fill(m * n, 3);
        kernels::reference::gemm(m, k, n, 1.0, &a, k, 1, &b, n, 1, 1.0, &mut reference, n, 1);
        assert_close(&got, &reference);
    }
}

#[test]
fn products_sharing_a_give_the_bits_of_each_product_and_of_the_column_sums() {
    // A weight gradient's job: dGᵀ (read from dG, row stride 1) times H_prev and times X, and
    // the bias sums of dG's columns, with dGᵀ packed once for all three. Shapes cross the MC and
    // KC blocks, a partial row panel, and one product wider than NC = 1024 columns.
    let fill = |len: usize, mul: usize| -> Vec<f32> { (0..len).map(|i| ((i * mul % 31) as f32 - 15.0) * 0.02).collect() };
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    for &(m, k, n1, n2) in &[(1, 1, 1, 1), (7, 9, 17, 3), (64, 600, 128, 16), (130, 1030, 40, 9), (21, 40, 1030, 5)] {
        let width = m + 3; // dG's row: the m gate columns of this task and three more
        let d = fill(k * width, 7);
        let (b1, b2) = (fill(k * n1, 5), fill(k * n2, 11));
        let (mut p1, mut p2) = (kernels::PackedB::new(), kernels::PackedB::new());
        p1.pack(k, n1, &b1, n1, 1);
        p2.pack(k, n2, &b2, n2, 1);
        let (mut want1, mut want2, mut want_sums) = (fill(m * n1, 3), fill(m * n2, 13), fill(m, 17));
        let (mut got1, mut got2, mut got_sums) = (want1.clone(), want2.clone(), want_sums.clone());
        kernels::gemm_prepacked(m, 1.0, &d, 1, width, &p1, 1.0, &mut want1, n1, 1);
        kernels::gemm_prepacked(m, 1.0, &d, 1, width, &p2, 1.0, &mut want2, n2, 1);
        kernels::rows::add_row_cols_to(&mut want_sums, &d, width, 0);
        let case = format!("m {m}, k {k}, n {n1} and {n2}");
        // B packed whole ahead (a pool job), or strided and packed block by block (one thread).
        let (packed1, packed2) = (SharedOperand::Packed(&p1), SharedOperand::Packed(&p2));
        let strided1 = SharedOperand::Strided(kernels::BOperand { k, n: n1, b: &b1, rsb: n1, csb: 1 });
        let strided2 = SharedOperand::Strided(kernels::BOperand { k, n: n2, b: &b2, rsb: n2, csb: 1 });
        for (how, b1s, b2s) in [("packed", packed1, packed2), ("strided", strided1, strided2), ("mixed", strided1, packed2)] {
            let (mut got1, mut got2, mut got_sums) = (got1.clone(), got2.clone(), got_sums.clone());
            kernels::gemm_shared_a(m, k, &d, width, &mut [(b1s, &mut got1[..]), (b2s, &mut got2[..])], Some(&mut got_sums));
            assert_eq!(bits(&got1), bits(&want1), "first product, {how}, {case}");
            assert_eq!(bits(&got2), bits(&want2), "second product, {how}, {case}");
            assert_eq!(bits(&got_sums), bits(&want_sums), "sums, {how}, {case}");
        }
        kernels::gemm_shared_a(m, k, &d, width, &mut [(strided1, &mut got1[..]), (packed2, &mut got2[..])], Some(&mut got_sums));
        let mut reference = fill(m * n1, 3);
        kernels::reference::gemm(m, k, n1, 1.0, &d, 1, width, &b1, n1, 1, 1.0, &mut reference, n1, 1);
        assert_close(&got1, &reference);
    }
}
