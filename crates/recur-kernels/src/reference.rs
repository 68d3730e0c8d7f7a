//! The naive triple loop: the definition every optimized kernel is tested against.

/// Reference `C = alpha · A · B + beta · C`; same contract as `recur_core::kernels::gemm`.
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
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                acc += a[i * rsa + p * csa] * b[p * rsb + j * csb];
            }
            let dst = &mut c[i * rsc + j * csc];
            *dst = if beta == 0.0 { alpha * acc } else { alpha * acc + beta * *dst };
        }
    }
}
