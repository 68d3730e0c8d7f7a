//! Gradients too small to matter, set to zero as backward makes them.
//!
//! Through many time steps the gradient reaching early steps shrinks geometrically (about half
//! per step for an LSTM at initialization) and goes subnormal after some 120 steps. x86 cores
//! take a microcode assist of about a hundred cycles for every multiply or add with a subnormal
//! operand or result, and wasm cannot turn that off (its float semantics keep subnormals), so
//! the products of those steps ran about twenty times slower: an LSTM training step over 256
//! steps (B = 32, I = 16, H = 128, simd build) took 1840 ms, 81 times one over 64 steps. Backward
//! therefore flushes the gradients it carries from step to step (`∂L/∂h`, `∂L/∂c`) to zero below
//! [`TINY`]: 91 ms, and 184 ms over 512 steps. (Flushing each step's pre-activation gradients
//! too gained nothing more; flushing only subnormals, below `f32::MIN_POSITIVE` as a CPU's
//! flush-to-zero mode does, left 480 ms: products of gradients just above that with weights
//! below 1 still came out subnormal.) The two passes over `[B, H]` per step cost about 0.7 % of a
//! 64-step training step, where nothing gets that small.

/// Magnitude under which a gradient is flushed to zero by [`flush_tiny`]. Far under anything that
/// can move a sum of float32 gradients of ordinary size, and high enough that the products of a
/// flushed gradient with weights of ordinary size stay normal floats.
pub const TINY: f32 = 1e-30;

/// Sets every value of `v` of magnitude under [`TINY`] to a zero of its sign (NaN and ±∞ stay).
/// Integer operations on the bits: no float operation touches a subnormal.
#[inline(never)]
pub fn flush_tiny(v: &mut [f32]) {
    let limit = TINY.to_bits();
    for x in v.iter_mut() {
        let b = x.to_bits();
        *x = f32::from_bits(if b & 0x7fff_ffff < limit { b & 0x8000_0000 } else { b });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushes_magnitudes_under_tiny_to_a_zero_of_their_sign() {
        let sub = f32::from_bits(1);
        let mut v = [1e-31, -1e-31, sub, -sub, f32::MIN_POSITIVE, TINY, -TINY, 2e-30, 1.0, -0.5, 0.0, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        flush_tiny(&mut v);
        let bits: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
        let want = [0.0, -0.0, 0.0, -0.0, 0.0, TINY, -TINY, 2e-30, 1.0, -0.5, 0.0, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        assert_eq!(bits, want.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
    }
}
