//! Unsigned big integers with just the operations exact float <-> decimal conversion needs
//! (scaling by powers of 2 and 10, addition, subtraction, comparison).

use std::cmp::Ordering;

/// An unsigned integer of any size: 32-bit limbs, least significant first (high zero limbs
/// allowed).
#[derive(Clone, Debug)]
pub struct Big(Vec<u32>);

impl Big {
    /// The integer `v`.
    pub fn from_u64(v: u64) -> Self {
        Big(vec![v as u32, (v >> 32) as u32])
    }

    /// `self * m`.
    pub fn mul_small(&mut self, m: u32) -> &mut Self {
        let mut carry = 0u64;
        for limb in &mut self.0 {
            let t = *limb as u64 * m as u64 + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self
    }

    /// `self * 2^n`.
    pub fn mul_pow2(&mut self, n: u32) -> &mut Self {
        let (limbs, bits) = ((n / 32) as usize, n % 32);
        if bits != 0 {
            let mut carry = 0u32;
            for limb in &mut self.0 {
                let t = *limb;
                *limb = (t << bits) | carry;
                carry = t >> (32 - bits);
            }
            if carry != 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, limbs));
        self
    }

    /// `self * 10^n`.
    pub fn mul_pow10(&mut self, mut n: u32) -> &mut Self {
        self.mul_pow2(n);
        // 5^13 is the largest power of five that fits a u32.
        while n >= 13 {
            self.mul_small(1_220_703_125);
            n -= 13;
        }
        self.mul_small(5u32.pow(n))
    }

    /// `self + other`.
    pub fn add(&mut self, other: &Big) -> &mut Self {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        let mut carry = 0u64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let t = *limb as u64 + *other.0.get(i).unwrap_or(&0) as u64 + carry;
            *limb = t as u32;
            carry = t >> 32;
        }
        if carry != 0 {
            self.0.push(carry as u32);
        }
        self
    }

    /// `self - other`; `other` must not be larger.
    pub fn sub(&mut self, other: &Big) -> &mut Self {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let t = *limb as i64 - *other.0.get(i).unwrap_or(&0) as i64 - borrow;
            *limb = t as u32;
            borrow = (t < 0) as i64;
        }
        debug_assert_eq!(borrow, 0, "Big::sub underflow");
        self
    }

    /// The numeric order of `self` and `other`.
    pub fn cmp(&self, other: &Big) -> Ordering {
        let n = self.0.len().max(other.0.len());
        let limb = |b: &Big, i: usize| *b.0.get(i).unwrap_or(&0);
        (0..n).rev().map(|i| limb(self, i).cmp(&limb(other, i))).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
    }
}
