//! The gradient through an elementwise activation over a run of values, `da = dh · f'(a)`, for
//! the RNN cell's backward: compiled here at opt-level 3, where LLVM vectorizes the loops, and
//! not in recur-core, compiled for size, where its generic per-element loop (a `match` on the
//! activation for every element) took about 13 % of a medium RNN training step. Each element
//! gets the operations of recur-core's `Activation::derivative` and the product with it, in the
//! same order, so the bits are the same.

/// tanh, from its output `y`: `da[j] = dh[j] · (1 − y[j]²)`.
#[inline(never)]
pub fn tanh_grad(da: &mut [f32], dh: &[f32], y: &[f32]) {
    let n = da.len();
    for ((d, g), y) in da.iter_mut().zip(&dh[..n]).zip(&y[..n]) {
        *d = g * (1.0 - y * y);
    }
}

/// The logistic function, from its output `y`: `da[j] = dh[j] · (y[j] · (1 − y[j]))`.
#[inline(never)]
pub fn sigmoid_grad(da: &mut [f32], dh: &[f32], y: &[f32]) {
    let n = da.len();
    for ((d, g), y) in da.iter_mut().zip(&dh[..n]).zip(&y[..n]) {
        *d = g * (y * (1.0 - y));
    }
}

/// `max(0, a)`, with the pre-activation `a` read from `a_da` and overwritten by its gradient:
/// `dh · 1` where `a > 0`, else `dh · 0` (a product, as the generic loop makes it: `−0` for a
/// negative `dh`, NaN for an infinite one).
#[inline(never)]
pub fn relu_grad_in_place(a_da: &mut [f32], dh: &[f32]) {
    let n = a_da.len();
    for (a, g) in a_da.iter_mut().zip(&dh[..n]) {
        *a = g * if *a > 0.0 { 1.0 } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::updates::values;

    /// Each function gives, element for element, the bits of the formula it documents, on runs
    /// around the vector widths (the vectorized body and its remainder), with extreme values.
    #[test]
    fn runs_give_the_bits_of_the_elementwise_formula() {
        let specials = [0.0f32, -0.0, 1.0, -1.0, 1e-30, -1e-30, f32::INFINITY, f32::NEG_INFINITY, f32::NAN];
        for n in 0..=37 {
            let mut a = values(n, 3 + n as u32, 2.0);
            let mut dh = values(n, 5 + n as u32, 1.5);
            for (i, s) in specials.iter().enumerate().filter(|(i, _)| *i < n) {
                a[(i * 7) % n] = *s;
                dh[(i * 5 + 1) % n] = -*s;
            }
            let y: Vec<f32> = a.iter().map(|v| v.tanh()).collect();
            let mut got = vec![f32::NAN; n];
            tanh_grad(&mut got, &dh, &y);
            for j in 0..n {
                assert_eq!(got[j].to_bits(), (dh[j] * (1.0 - y[j] * y[j])).to_bits(), "tanh_grad n {n} [{j}]");
            }
            sigmoid_grad(&mut got, &dh, &y);
            for j in 0..n {
                assert_eq!(got[j].to_bits(), (dh[j] * (y[j] * (1.0 - y[j]))).to_bits(), "sigmoid_grad n {n} [{j}]");
            }
            let mut got = a.clone();
            relu_grad_in_place(&mut got, &dh);
            for j in 0..n {
                let want = dh[j] * if a[j] > 0.0 { 1.0 } else { 0.0 };
                assert_eq!(got[j].to_bits(), want.to_bits(), "relu_grad_in_place n {n} [{j}]: a {} dh {}", a[j], dh[j]);
            }
        }
    }
}
