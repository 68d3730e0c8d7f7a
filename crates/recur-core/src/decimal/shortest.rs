//! The shortest decimal digits that read back to a float (Steele & White's free-format
//! algorithm, "Dragon4", on exact big integers).

use super::big::Big;
use std::cmp::Ordering;

/// How to choose between two shortest digit strings that lie exactly as far from the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tie {
    /// The one with the even last digit (`serde_json`, i.e. Ryū).
    Even,
    /// The larger one (Rust's `{}` and `{:?}`).
    Up,
}

/// A finite float's exact value `mant · 2^exp` and its rounding interval: the numbers that
/// read back to it lie strictly between `(mant - minus) · 2^exp` and `(mant + plus) · 2^exp`,
/// or also on those bounds when `inclusive` (an even mantissa wins round-half-even ties).
struct Decoded {
    mant: u64,
    minus: u64,
    plus: u64,
    exp: i32,
    inclusive: bool,
}

/// Splits `bits` of a positive finite float with `frac_bits` stored fraction bits and
/// `exp_bits` exponent bits.
fn decode(bits: u64, frac_bits: u32, exp_bits: u32) -> Decoded {
    let frac = bits & ((1 << frac_bits) - 1);
    let biased = ((bits >> frac_bits) & ((1 << exp_bits) - 1)) as i32;
    let bias = (1 << (exp_bits - 1)) - 1 + frac_bits as i32;
    let (m, e) = if biased == 0 { (frac, 1 - bias) } else { (frac | 1 << frac_bits, biased - bias) };
    let inclusive = m % 2 == 0;
    if frac == 0 && biased > 1 {
        // A power of two: the float below is half as far away as the one above.
        Decoded { mant: m << 2, minus: 1, plus: 2, exp: e - 2, inclusive }
    } else {
        Decoded { mant: m << 1, minus: 1, plus: 1, exp: e - 1, inclusive }
    }
}

/// The shortest digits (`1`-`9` first, no trailing zeros unless the number is 0) that read
/// back to the positive finite float with these `bits` (`frac_bits` fraction bits, `exp_bits`
/// exponent bits), and the decimal exponent `k` of the first digit: the value is
/// `d.ddd · 10^k`. Among equally short strings the nearest wins, a tie as `tie` says.
/// Zero gives `("0", 0)`.
pub fn digits(bits: u64, frac_bits: u32, exp_bits: u32, tie: Tie) -> (Vec<u8>, i32) {
    if bits == 0 {
        return (vec![b'0'], 0);
    }
    let d = decode(bits, frac_bits, exp_bits);
    // The value is r/s, its interval (r - minus)/s .. (r + plus)/s.
    let (mut r, mut minus, mut plus) = (Big::from_u64(d.mant), Big::from_u64(d.minus), Big::from_u64(d.plus));
    let mut s = Big::from_u64(1);
    if d.exp >= 0 {
        for b in [&mut r, &mut minus, &mut plus] {
            b.mul_pow2(d.exp as u32);
        }
    } else {
        s.mul_pow2(d.exp.unsigned_abs());
    }
    // k such that the upper bound is below 10^k (at most 10^k when inclusive), and above 10^(k-1):
    // estimated from the bit length (log10 2 ≈ 0.30103), then corrected.
    let top = 64 - (d.mant + d.plus).leading_zeros() as i32 + d.exp;
    let mut k = (top as f64 * std::f64::consts::LOG10_2).ceil() as i32;
    if k >= 0 {
        s.mul_pow10(k as u32);
    } else {
        for b in [&mut r, &mut minus, &mut plus] {
            b.mul_pow10(k.unsigned_abs());
        }
    }
    let limit = if d.inclusive { Ordering::Equal } else { Ordering::Greater };
    let reaches = |r: &Big, plus: &Big, s: &Big| r.clone().add(plus).cmp(s) >= limit;
    while reaches(&r, &plus, &s) {
        s.mul_small(10);
        k += 1;
    }
    while !reaches(r.clone().mul_small(10), plus.clone().mul_small(10), &s) {
        for b in [&mut r, &mut minus, &mut plus] {
            b.mul_small(10);
        }
        k -= 1;
    }
    // Digit by digit: r/s is what remains below the digits so far (a fraction of the last
    // digit's unit); stop once the digits, or the digits with the last one raised, read back.
    let mut out = Vec::new();
    let (low, high) = loop {
        for b in [&mut r, &mut minus, &mut plus] {
            b.mul_small(10);
        }
        let mut digit = b'0';
        while r.cmp(&s).is_ge() {
            r.sub(&s);
            digit += 1;
        }
        out.push(digit);
        let low = if d.inclusive { r.cmp(&minus).is_le() } else { r.cmp(&minus).is_lt() };
        let high = r.clone().add(&plus).cmp(&s) >= limit;
        if low || high {
            break (low, high);
        }
    };
    let round_up = high
        && (!low
            || match r.clone().mul_small(2).cmp(&s) {
                Ordering::Greater => true,
                Ordering::Less => false,
                Ordering::Equal => tie == Tie::Up || out.last().is_some_and(|d| d % 2 == 1),
            });
    if round_up {
        // Carry through trailing nines; all nines become 1 and the exponent grows.
        while out.last() == Some(&b'9') {
            out.pop();
        }
        match out.last_mut() {
            Some(d) => *d += 1,
            None => {
                out.push(b'1');
                k += 1;
            }
        }
    }
    (out, k - 1)
}
