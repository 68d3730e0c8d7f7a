//! Floats to decimal text and back, with the crate's own code instead of std's float
//! formatting and parsing (`{}`/`{:?}`/`{:e}` of a float, `str::parse::<f64>`): those bring
//! Grisu, Dragon, Eisel-Lemire and their tables into the wasm build. Routing every float of
//! the JSON code and of messages through this module took the threads build from 306,494 to
//! 277,100 bytes (`scripts/build-wasm.sh`, build-std toolchain), and that script now fails a
//! build that links std's float code again. Slower than std (exact big-integer arithmetic,
//! no tables), which only the few floats of configurations, reports and messages meet.
//!
//! - [`shortest_f64`]/[`shortest_f32`]: the shortest digits that read back to the value.
//! - [`parse_f64`]: decimal text to the nearest `f64`.
//! - [`Text`]: values as Rust's `{}` writes them, for messages.

mod big;
mod parse;
mod shortest;

pub use parse::parse_f64;
pub use shortest::Tie;

/// The shortest digits of `|x|` (finite) that read back to it as an `f64`, and the decimal
/// exponent of the first digit (`x = ±d.ddd · 10^k`); zero gives `("0", 0)`.
pub fn shortest_f64(x: f64, tie: Tie) -> (Vec<u8>, i32) {
    shortest::digits(x.abs().to_bits(), 52, 11, tie)
}

/// As [`shortest_f64`] for an `f32` (digits that read back as an `f32`).
pub fn shortest_f32(x: f32, tie: Tie) -> (Vec<u8>, i32) {
    shortest::digits(x.abs().to_bits() as u64, 23, 8, tie)
}

/// Appends `digits` (ASCII) scaled so that the first one has decimal exponent `k`, without an
/// exponent: `1234`, `k = 1` gives `12.34`; `k = 5` gives `123400`, or `123400.0` with
/// `point_zero`; `k = -3` gives `0.001234`.
pub fn write_fixed(out: &mut String, digits: &[u8], k: i32, point_zero: bool) {
    let n = digits.len() as i32;
    let zeros = |out: &mut String, count: i32| (0..count).for_each(|_| out.push('0'));
    let ascii = |d: &[u8]| std::str::from_utf8(d).expect("ASCII digits").to_owned();
    if k >= n - 1 {
        out.push_str(&ascii(digits));
        zeros(out, k - (n - 1));
        if point_zero {
            out.push_str(".0");
        }
    } else if k >= 0 {
        let (int, frac) = digits.split_at(k as usize + 1);
        out.push_str(&ascii(int));
        out.push('.');
        out.push_str(&ascii(frac));
    } else {
        out.push_str("0.");
        zeros(out, -k - 1);
        out.push_str(&ascii(digits));
    }
}

/// A number as Rust's `{}` writes it, for messages: integers and floats (`0.1`, `-0`, `1e-7`
/// as `0.0000001`, `NaN`, `inf`), without linking std's float formatting.
pub trait Text {
    /// The text.
    fn text(&self) -> String;
}

/// Rust's `{}` of a float: the shortest digits that read back (a tie rounds up), in fixed
/// notation, no `.0` on integral values.
fn float_text(negative: bool, finite: bool, nan: bool, digits: impl FnOnce() -> (Vec<u8>, i32)) -> String {
    if nan {
        return "NaN".into();
    }
    let mut out = String::from(if negative { "-" } else { "" });
    if finite {
        let (d, k) = digits();
        write_fixed(&mut out, &d, k, false);
    } else {
        out.push_str("inf");
    }
    out
}

impl Text for f32 {
    fn text(&self) -> String {
        float_text(self.is_sign_negative(), self.is_finite(), self.is_nan(), || shortest_f32(*self, Tie::Up))
    }
}

impl Text for f64 {
    fn text(&self) -> String {
        float_text(self.is_sign_negative(), self.is_finite(), self.is_nan(), || shortest_f64(*self, Tie::Up))
    }
}

macro_rules! text_by_display {
    ($($t:ty),*) => {$(
        impl Text for $t {
            fn text(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
text_by_display!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, str, String);

impl<T: Text + ?Sized> Text for &T {
    fn text(&self) -> String {
        (**self).text()
    }
}

#[cfg(test)]
mod tests;
