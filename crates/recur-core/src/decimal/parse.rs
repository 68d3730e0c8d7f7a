//! Decimal text to the nearest `f64` (round half to even), for JSON numbers.

use super::big::Big;
use std::cmp::Ordering;

/// Significant digits kept; later ones only matter as "some were not zero". A float's
/// rounding boundaries (the midpoints between neighbours) have at most 767 significant digits,
/// so with more than that kept, a dropped nonzero tail never decides a comparison with one.
const MAX_DIGITS: usize = 780;

/// The `f64` nearest to the decimal number `text`, ties to even, infinite beyond the largest
/// finite value, as Rust's `str::parse::<f64>`. `text` is `-?digits[.digits][(e|E)[+-]digits]`
/// (JSON's number grammar, except that leading zeros, which the JSON parser rejects first, are
/// accepted); `None` for anything else.
pub fn parse_f64(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let negative = b.first() == Some(&b'-');
    let mut i = negative as usize;
    // The number is (the integer of `digits`) · 10^exp10.
    let mut digits: Vec<u8> = Vec::new();
    let mut exp10: i64 = 0;
    let mut sticky = false;
    let mut seen = false;
    let mut fraction = false;
    while i < b.len() {
        match b[i] {
            b'.' if !fraction && seen => fraction = true,
            c @ b'0'..=b'9' => {
                seen = true;
                if digits.len() < MAX_DIGITS {
                    if !(digits.is_empty() && c == b'0') {
                        digits.push(c - b'0');
                    }
                    exp10 -= fraction as i64;
                } else {
                    sticky |= c != b'0';
                    exp10 += !fraction as i64;
                }
            }
            b'e' | b'E' if seen && b[i - 1] != b'.' => break,
            _ => return None,
        }
        i += 1;
    }
    if !seen || b.last() == Some(&b'.') {
        return None;
    }
    if i < b.len() {
        i += 1;
        let minus = b.get(i) == Some(&b'-');
        i += matches!(b.get(i), Some(b'-' | b'+')) as usize;
        if i == b.len() {
            return None;
        }
        let mut e: i64 = 0;
        for &c in &b[i..] {
            if !c.is_ascii_digit() {
                return None;
            }
            // Beyond any float's range either way, and far from overflowing.
            e = (e * 10 + (c - b'0') as i64).min(1 << 40);
        }
        exp10 += if minus { -e } else { e };
    }
    if sticky {
        digits.push(1);
        exp10 -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
        exp10 += 1;
    }
    let x = magnitude(&digits, exp10);
    Some(if negative { -x } else { x })
}

/// The `f64` nearest to `digits · 10^exp10` (`digits` without leading or trailing zeros).
fn magnitude(digits: &[u8], exp10: i64) -> f64 {
    if digits.is_empty() {
        return 0.0;
    }
    // 10^(lead - 1) <= value < 10^lead.
    let lead = digits.len() as i64 + exp10;
    if lead > 310 {
        return f64::INFINITY;
    }
    if lead < -324 {
        return 0.0;
    }
    let exp10 = exp10 as i32;
    let head = digits.iter().take(19).fold(0u64, |n, &d| n * 10 + d as u64);
    // Exact: the digits and the power of ten are floats exactly, and one operation rounds once.
    if digits.len() <= 19 && head < 1 << 53 && exp10.abs() <= 22 {
        let p = pow10(exp10.unsigned_abs());
        return if exp10 < 0 { head as f64 / p } else { head as f64 * p };
    }
    // Otherwise start near it and step to the nearest float by exact comparisons with the
    // midpoints between neighbours (Clinger's AlgorithmR).
    let mut n = Big::from_u64(0);
    for &d in digits {
        n.mul_small(10).add(&Big::from_u64(d as u64));
    }
    let mut z = head as f64;
    let mut e = exp10 + digits.len().saturating_sub(19) as i32;
    while e != 0 {
        let step = e.clamp(-22, 22);
        let p = pow10(step.unsigned_abs());
        z = if step < 0 { z / p } else { z * p };
        e -= step;
    }
    let z = z.min(f64::MAX);
    let mut bits = z.to_bits();
    loop {
        let (m, e) = split(bits);
        // Above the midpoint with the next float (ties to the even mantissa)?
        match compare(&n, exp10, 2 * m + 1, e - 1) {
            Ordering::Greater => {}
            Ordering::Equal if m % 2 == 1 => {}
            _ => break,
        }
        bits += 1;
        if bits == f64::INFINITY.to_bits() {
            return f64::INFINITY;
        }
    }
    loop {
        let (m, e) = split(bits);
        if m == 0 {
            break;
        }
        // Below the midpoint with the previous float (half as far below a power of two)?
        let (mid, q) = if m == 1 << 52 && e > -1074 { (4 * m - 1, e - 2) } else { (2 * m - 1, e - 1) };
        match compare(&n, exp10, mid, q) {
            Ordering::Less => {}
            Ordering::Equal if m % 2 == 1 => {}
            _ => break,
        }
        bits -= 1;
    }
    f64::from_bits(bits)
}

/// `10^n` for `n <= 22` (exact).
fn pow10(n: u32) -> f64 {
    (0..n).fold(1.0, |p, _| p * 10.0)
}

/// A positive finite float's bits as `m · 2^e` (integer `m`).
fn split(bits: u64) -> (u64, i32) {
    let frac = bits & ((1 << 52) - 1);
    let biased = (bits >> 52) as i32;
    if biased == 0 {
        (frac, -1074)
    } else {
        (frac | 1 << 52, biased - 1075)
    }
}

/// The order of `n · 10^exp10` and `m · 2^q`.
fn compare(n: &Big, exp10: i32, m: u64, q: i32) -> Ordering {
    let (mut lhs, mut rhs) = (n.clone(), Big::from_u64(m));
    if exp10 >= 0 {
        lhs.mul_pow10(exp10 as u32);
    } else {
        rhs.mul_pow10(exp10.unsigned_abs());
    }
    if q >= 0 {
        rhs.mul_pow2(q as u32);
    } else {
        lhs.mul_pow2(q.unsigned_abs());
    }
    lhs.cmp(&rhs)
}
