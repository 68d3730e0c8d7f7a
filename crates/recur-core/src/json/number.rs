//! Floats written as `serde_json` writes them: the shortest digits that read back to the same
//! value, laid out in fixed notation when the decimal exponent `e` (of the first digit) is in
//! `-5..=15` for `f64` or `-6..=12` for `f32` (`0.00001`, `12.5`, `100.0`), and otherwise as
//! `d.ddde±x` (`1e-7`, `1.5e+20`); integral values keep a `.0`. Saved files and configurations
//! therefore keep the bytes that earlier versions (which used `serde_json`) wrote.

/// Appends `x` (finite) formatted as `serde_json` formats an `f64`.
pub fn write_f64(out: &mut String, x: f64) {
    let sci = ties_to_even(format!("{x:e}"), |s| s.parse() == Ok(x), || format!("{x:.1100e}"));
    write_digits(out, &sci, -5..=15);
}

/// Appends `x` (finite) formatted as `serde_json` formats an `f32`.
pub fn write_f32(out: &mut String, x: f32) {
    let sci = ties_to_even(format!("{x:e}"), |s| s.parse() == Ok(x), || format!("{x:.200e}"));
    write_digits(out, &sci, -6..=12);
}

/// Rust's shortest form `sci` (`d.ddde-x`), or its neighbour with an even last digit when both
/// read back to the value and the value lies exactly halfway between them: `serde_json` breaks
/// that (rare) tie to even, Rust's formatter upwards. `reads_back` parses a candidate; `exact`
/// gives the value's exact decimal expansion in scientific form.
fn ties_to_even(sci: String, reads_back: impl Fn(&str) -> bool, exact: impl Fn() -> String) -> String {
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let last = mantissa.as_bytes()[mantissa.len() - 1];
    if last % 2 == 0 || !last.is_ascii_digit() {
        return sci;
    }
    let with_last = |d: u8| {
        let mut m = mantissa.as_bytes().to_vec();
        *m.last_mut().expect("a digit") = d;
        format!("{}e{exp}", String::from_utf8(m).expect("ASCII"))
    };
    let digits = |s: &str| -> String { s.split_once('e').expect("exponent").0.chars().filter(char::is_ascii_digit).collect() };
    let exact = digits(&exact());
    let n = digits(&sci).len();
    for alt in [last - 1, last + 1] {
        // A neighbour whose digit count or leading digit differs is not a same-length tie.
        if alt > b'9' || (n == 1 && alt == b'0') {
            continue;
        }
        let candidate = with_last(alt);
        if !reads_back(&candidate) {
            continue;
        }
        let low = digits(&sci)[..n - 1].to_string() + &((last.min(alt)) as char).to_string();
        let halfway = exact.starts_with(&low) && exact[n..].starts_with('5') && exact[n + 1..].bytes().all(|b| b == b'0');
        if halfway {
            return candidate;
        }
    }
    sci
}

/// Lays out Rust's shortest round-trip scientific form (`-1.25e-7`, `3e0`) in `serde_json`'s
/// notation (`fixed` is the range of decimal exponents written without an exponent).
fn write_digits(out: &mut String, sci: &str, fixed: std::ops::RangeInclusive<i32>) {
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    let n = digits.len() as i32;
    out.push_str(sign);
    if fixed.contains(&exp) {
        if exp >= n - 1 {
            // 1234e7 -> 12340000000.0
            out.push_str(&digits);
            (0..exp - (n - 1)).for_each(|_| out.push('0'));
            out.push_str(".0");
        } else if exp >= 0 {
            // 1234e-2 -> 12.34
            let (int, frac) = digits.split_at(exp as usize + 1);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        } else {
            // 1234e-6 -> 0.001234
            out.push_str("0.");
            (0..-exp - 1).for_each(|_| out.push('0'));
            out.push_str(&digits);
        }
    } else {
        // 1234e30 -> 1.234e+33
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&exp.unsigned_abs().to_string());
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
