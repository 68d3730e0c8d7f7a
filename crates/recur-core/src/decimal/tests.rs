//! Checked against std's float formatting and parsing (linked natively, where tests run).

use super::*;
use crate::rng::Rng;

fn bits64(rng: &mut Rng) -> u64 {
    ((rng.next_u32() as u64) << 32) | rng.next_u32() as u64
}

/// `parse_f64` against `str::parse::<f64>` (both must give the same bits, infinities included).
fn same_parse(text: &str) {
    let want: f64 = text.parse().unwrap_or_else(|e| panic!("std rejects {text:?}: {e}"));
    let got = parse_f64(text).unwrap_or_else(|| panic!("rejected {text:?}"));
    assert_eq!(got.to_bits(), want.to_bits(), "{text:?}: got {got:e}, std {want:e}");
}

#[test]
fn parses_edge_cases_as_std() {
    for t in [
        "0", "-0", "0.0", "-0.0e5", "1", "-1", "0.1", "0.30000000000000004", "9007199254740993", "9007199254740992",
        "9007199254740994", "9007199254740995", "9007199254740993.0000000000001", "1e-320", "-1e-320", "5e-324",
        "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324", "2.47032822920623272e-324",
        "1e-400", "1e-324", "2.2250738585072011e-308", "2.2250738585072012e-308", "2.2250738585072014e-308",
        "1.7976931348623157e308", "1.7976931348623158e308", "1.7976931348623159e308", "1e308", "1e309", "-1e400",
        "1e22", "1e23", "123456789012345678901234567890", "0.000000000000000000000000000001", "1E+2", "1e-0",
        "1.00000000000000011102230246251565404236316680908203125", "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126", "7.2057594037927933e16", "0.1e1000000000000",
        "100000000000000000000000000000000000000e-40", "3.0517578125e-05", "8.98846567431158e307",
        "1448997445238699", "2.225073858507201136057409796709131975934819546351645648e-308",
    ] {
        same_parse(t);
    }
    // Long digit strings: more digits than are kept, every digit mattering for the sticky tail.
    let mut long = "1.".to_string() + &"0".repeat(1000) + "1";
    same_parse(&long);
    long.push_str("e-310");
    same_parse(&long);
    same_parse(&("9".repeat(900) + "e-600"));
    same_parse(&("0.".to_string() + &"0".repeat(300) + &"7".repeat(900)));
}

#[test]
fn rejects_what_is_not_a_decimal_number() {
    for t in ["", "-", ".5", "1.", "1.e5", "e5", "1e", "1e+", "+1", "1x", "1.2.3", "--1", "1e5.0", "inf", "NaN"] {
        assert_eq!(parse_f64(t), None, "{t:?}");
    }
    assert_eq!(parse_f64("007.50e+0"), Some(7.5));
}

#[test]
fn parses_random_numbers_as_std() {
    let mut rng = Rng::new(11);
    for _ in 0..20000 {
        // Random floats of every magnitude, printed shortest, with 17 and with 40 digits.
        let x = f64::from_bits(bits64(&mut rng));
        if x.is_finite() {
            for t in [format!("{x:e}"), format!("{x:.16e}"), format!("{x:.40e}"), format!("{x}")] {
                same_parse(&t);
            }
        }
        // Random digit strings with random exponents.
        let n = 1 + rng.next_u32() % 30;
        let digits: String = (0..n).map(|_| (b'0' + (rng.next_u32() % 10) as u8) as char).collect();
        let e = (rng.next_u32() % 700) as i32 - 350;
        same_parse(&format!("{digits}e{e}"));
        same_parse(&format!("0.{digits}E{e}"));
    }
}

/// Exact midpoints between neighbouring floats, and numbers a hair above and below them.
#[test]
fn parses_halfway_cases_as_std() {
    let mut rng = Rng::new(12);
    for _ in 0..20000 {
        let m = (1u128 << 52) | (bits64(&mut rng) as u128 & ((1 << 52) - 1));
        let mid = 2 * m + 1;
        // mid · 2^j for j up to 73 (an integer), or mid / 2^j = mid · 5^j / 10^j for j up to 31.
        let j = rng.next_u32() % 32;
        let (text, e) = if rng.next_u32().is_multiple_of(2) {
            ((mid << (j + rng.next_u32() % 42)).to_string(), 0)
        } else {
            ((mid * 5u128.pow(j)).to_string(), -(j as i32))
        };
        same_parse(&format!("{text}e{e}"));
        same_parse(&format!("{text}000000000000000000001e{}", e - 21));
        let below = (text.parse::<u128>().unwrap() - 1).to_string();
        same_parse(&format!("{below}999999999999999999999e{}", e - 21));
    }
    // f32 midpoints are f64 values: their exact decimal expansions at every magnitude.
    for _ in 0..5000 {
        let a = f32::from_bits(rng.next_u32() & 0x7f7f_ffff);
        let b = f32::from_bits(a.to_bits() + 1);
        let mid = (a as f64 + b as f64) / 2.0;
        same_parse(&format!("{mid:.200e}"));
    }
}

#[test]
fn formats_as_std_and_reads_back() {
    let mut rng = Rng::new(13);
    let mut f64s: Vec<f64> = vec![0.0, -0.0, 1.0, 0.1, 1e-7, 1e21, 5e-324, f64::MAX, f64::MIN_POSITIVE, f64::NAN, f64::INFINITY, -f64::INFINITY, 9007199254740993.0, 0.3];
    let mut f32s: Vec<f32> = vec![0.0, -0.0, 1.0, 0.1, 1e-7, 1e21, 1e-45, f32::MAX, f32::MIN_POSITIVE, f32::NAN, f32::INFINITY, 16777217.0, 3.4028235e38];
    for _ in 0..50000 {
        f64s.push(f64::from_bits(bits64(&mut rng)));
        f32s.push(f32::from_bits(rng.next_u32()));
        // Short decimals and short binary fractions, where shortest forms can tie.
        let k = 1 + rng.next_u32() % 6;
        f64s.push((bits64(&mut rng) >> 11) as f64 / (1u64 << k) as f64);
        f32s.push((rng.next_u32() >> 8) as f32 / (1u32 << k) as f32);
        f64s.push((rng.next_u32() % 1000) as f64 * 10f64.powi((rng.next_u32() % 40) as i32 - 20));
    }
    for x in f64s {
        assert_eq!(x.text(), format!("{x}"), "f64 bits {:x}", x.to_bits());
        if x.is_finite() {
            assert_eq!(parse_f64(&x.text()).map(f64::to_bits), Some(x.to_bits()), "{x:e}");
        }
    }
    for x in f32s {
        assert_eq!(x.text(), format!("{x}"), "f32 bits {:x}", x.to_bits());
        if x.is_finite() {
            assert_eq!(x.text().parse::<f32>().map(f32::to_bits), Ok(x.to_bits()), "{x:e}");
        }
    }
    assert_eq!(7usize.text(), "7");
    assert_eq!((-3i64).text(), "-3");
    assert_eq!("x".text(), "x");
}
