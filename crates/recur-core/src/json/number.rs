//! Floats written as `serde_json` writes them: the shortest digits that read back to the same
//! value, laid out in fixed notation when the decimal exponent `e` (of the first digit) is in
//! `-5..=15` for `f64` or `-6..=12` for `f32` (`0.00001`, `12.5`, `100.0`), and otherwise as
//! `d.ddde±x` (`1e-7`, `1.5e+20`); integral values keep a `.0`. Saved files and configurations
//! therefore keep the bytes that earlier versions (which used `serde_json`) wrote.

use crate::decimal::{shortest_f32, shortest_f64, write_fixed, Tie};

/// Appends `x` (finite) formatted as `serde_json` formats an `f64`.
pub fn write_f64(out: &mut String, x: f64) {
    let (digits, k) = shortest_f64(x, Tie::Even);
    write_digits(out, x.is_sign_negative(), &digits, k, -5..=15);
}

/// Appends `x` (finite) formatted as `serde_json` formats an `f32`.
pub fn write_f32(out: &mut String, x: f32) {
    let (digits, k) = shortest_f32(x, Tie::Even);
    write_digits(out, x.is_sign_negative(), &digits, k, -6..=12);
}

/// Lays out the shortest round-trip digits (`serde_json` breaks a tie between two of them to
/// the even one) with the decimal exponent `k` of the first digit in `serde_json`'s notation
/// (`fixed` is the range of exponents written without an exponent).
fn write_digits(out: &mut String, negative: bool, digits: &[u8], k: i32, fixed: std::ops::RangeInclusive<i32>) {
    if negative {
        out.push('-');
    }
    if fixed.contains(&k) {
        write_fixed(out, digits, k, true);
    } else {
        // 1234e30 -> 1.234e+33
        out.push(digits[0] as char);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(std::str::from_utf8(&digits[1..]).expect("ASCII digits"));
        }
        out.push('e');
        out.push(if k < 0 { '-' } else { '+' });
        out.push_str(&k.unsigned_abs().to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn f64s(x: f64) -> String {
        let mut s = String::new();
        write_f64(&mut s, x);
        s
    }

    fn f32s(x: f32) -> String {
        let mut s = String::new();
        write_f32(&mut s, x);
        s
    }

    /// The layout against serde_json (the library earlier versions wrote with) on chosen values
    /// and on random bit patterns of every magnitude.
    #[test]
    fn same_text_as_serde_json() {
        let mut values: Vec<f64> = vec![0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1e-5, 1e-6, 1e-7, 1e15, 1e16, 1e17, 123456.789, 1e300, 5e-324, f64::MAX, f64::MIN_POSITIVE, 0.30000000000000004, 1e-8, 0.001, 0.999, 2.5e-5, 12345678901234567.0, 681804282101041.25];
        let mut rng = Rng::new(7);
        for _ in 0..20000 {
            let bits = ((rng.next_u32() as u64) << 32) | rng.next_u32() as u64;
            let x = f64::from_bits(bits);
            if x.is_finite() {
                values.push(x);
            }
            // Also short decimals of every scale, as configurations hold.
            let scale = 10f64.powi((rng.next_u32() % 40) as i32 - 20);
            values.push((rng.next_u32() % 1000) as f64 * scale);
        }
        for &x in &values {
            assert_eq!(f64s(x), serde_json::to_string(&x).unwrap(), "f64 {x:e}");
            let y = x as f32;
            if y.is_finite() {
                assert_eq!(f32s(y), serde_json::to_string(&y).unwrap(), "f32 {y:e}");
            }
        }
        // Values with short binary fractions near the end of the precision, where a shortest
        // form can tie between two neighbours (681804282101041.25: ...041.2 or ...041.3).
        for _ in 0..20000 {
            let k = 1 + rng.next_u32() % 6;
            let m = (((rng.next_u32() as u64) << 32) | rng.next_u32() as u64) >> 11;
            let x = m as f64 / (1u64 << k) as f64;
            assert_eq!(f64s(x), serde_json::to_string(&x).unwrap(), "f64 {x:e}");
            let y = (rng.next_u32() >> 8) as f32 / (1u32 << k) as f32;
            assert_eq!(f32s(y), serde_json::to_string(&y).unwrap(), "f32 {y:e}");
        }
        for _ in 0..20000 {
            let y = f32::from_bits(rng.next_u32());
            if y.is_finite() {
                assert_eq!(f32s(y), serde_json::to_string(&y).unwrap(), "f32 {y:e}");
            }
        }
    }
}
