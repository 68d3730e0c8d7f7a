//! The one error type of the core. Every public function that can fail on user input returns
//! [`Result`]; none of them panics on bad input.

use crate::decimal::Text;
use std::fmt;

/// Everything that can go wrong in the core. Each variant has a stable [`Error::code`] that the
/// bindings carry to JavaScript unchanged.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A tensor has the wrong number of elements or dimensions.
    Shape {
        /// What was being checked, e.g. `"x"` or `"weight_ih_l0"`.
        what: String,
        /// The shape that was required.
        expected: String,
        /// The shape that was given.
        got: String,
    },
    /// A NaN or an infinity where only finite numbers are allowed.
    NonFinite {
        /// Which input held it.
        what: String,
        /// Flat index of the first offending element.
        index: usize,
    },
    /// A number outside its allowed range (zero sizes, absurd sizes, lengths, rates, ...).
    Range {
        /// Which value.
        what: String,
        /// The value given, formatted.
        value: String,
        /// What would have been accepted.
        allowed: String,
    },
    /// A configuration or option that is not known or not supported in this combination.
    Unsupported {
        /// What was asked for.
        what: String,
    },
    /// A call that is not valid in the current state (e.g. backward before forward).
    State {
        /// What was wrong.
        what: String,
    },
    /// Saved bytes that cannot be read: bad header, truncated data, wrong version.
    Format {
        /// What was wrong.
        what: String,
    },
}

impl Error {
    /// The stable machine-readable code of this error, e.g. `"ERR_SHAPE"`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Shape { .. } => "ERR_SHAPE",
            Error::NonFinite { .. } => "ERR_NON_FINITE",
            Error::Range { .. } => "ERR_RANGE",
            Error::Unsupported { .. } => "ERR_UNSUPPORTED",
            Error::State { .. } => "ERR_STATE",
            Error::Format { .. } => "ERR_FORMAT",
        }
    }

    /// Shorthand for [`Error::Shape`].
    pub fn shape(what: impl Into<String>, expected: impl ShapeText, got: impl ShapeText) -> Self {
        Error::Shape { what: what.into(), expected: expected.shape_text(), got: got.shape_text() }
    }

    /// Shorthand for [`Error::Range`]; `value` is written as `{}` writes it (floats through
    /// [`Text`], not std's float formatting).
    pub fn range(what: impl Into<String>, value: impl Text, allowed: impl Into<String>) -> Self {
        Error::Range { what: what.into(), value: value.text(), allowed: allowed.into() }
    }

    /// Shorthand for [`Error::Unsupported`].
    pub fn unsupported(what: impl Into<String>) -> Self {
        Error::Unsupported { what: what.into() }
    }

    /// Shorthand for [`Error::State`].
    pub fn state(what: impl Into<String>) -> Self {
        Error::State { what: what.into() }
    }

    /// Shorthand for [`Error::Format`].
    pub fn format(what: impl Into<String>) -> Self {
        Error::Format { what: what.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape { what, expected, got } => {
                write!(f, "{what}: expected shape {expected}, got {got}")
            }
            Error::NonFinite { what, index } => {
                write!(f, "{what}: element {index} is NaN or infinite")
            }
            Error::Range { what, value, allowed } => {
                write!(f, "{what}: {value} is out of range (allowed: {allowed})")
            }
            Error::Unsupported { what } => write!(f, "unsupported: {what}"),
            Error::State { what } => write!(f, "invalid state: {what}"),
            Error::Format { what } => write!(f, "invalid model bytes: {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// The core's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Largest number of elements one tensor may have (1 Gi floats = 4 GiB: more than wasm32 can
/// address). Sizes are checked against it before anything is allocated.
pub const MAX_ELEMENTS: usize = 1 << 30;

/// Checks that every element is finite.
pub fn check_finite(what: &str, data: &[f32]) -> Result<()> {
    // The vectorized scan first; the search for the index only when it fails.
    if recur_kernels::finite::all_finite(data) {
        return Ok(());
    }
    match data.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(Error::NonFinite { what: what.to_string(), index }),
        None => Ok(()),
    }
}

/// Checks that `data` has exactly the number of elements of `shape`.
pub fn check_len(what: &str, data: &[f32], shape: &[usize]) -> Result<()> {
    let want = checked_numel(what, shape)?;
    if data.len() != want {
        return Err(Error::shape(what, shape, [data.len()]));
    }
    Ok(())
}

/// A shape or a size as [`Error::shape`] writes it, which is what `{:?}` writes (`[2, 3]`, `5`),
/// made without std's `Debug` machinery: its list builders and padding adapter are about 1.5 KB of
/// wasm that nothing else needs.
pub trait ShapeText {
    /// The text.
    fn shape_text(&self) -> String;
}

impl ShapeText for usize {
    fn shape_text(&self) -> String {
        self.to_string()
    }
}

/// A description of the shape in words, e.g. `"at least 12 elements"`, written as it is.
impl ShapeText for String {
    fn shape_text(&self) -> String {
        self.clone()
    }
}

impl ShapeText for [usize] {
    fn shape_text(&self) -> String {
        let dims: Vec<String> = self.iter().map(usize::to_string).collect();
        format!("[{}]", dims.join(", "))
    }
}

impl<const N: usize> ShapeText for [usize; N] {
    fn shape_text(&self) -> String {
        self[..].shape_text()
    }
}

impl ShapeText for Vec<usize> {
    fn shape_text(&self) -> String {
        self[..].shape_text()
    }
}

impl<T: ShapeText + ?Sized> ShapeText for &T {
    fn shape_text(&self) -> String {
        (**self).shape_text()
    }
}

/// The product of `shape`, or a range error if it overflows or exceeds [`MAX_ELEMENTS`].
pub fn checked_numel(what: &str, shape: &[usize]) -> Result<usize> {
    let mut n: usize = 1;
    for &d in shape {
        n = n
            .checked_mul(d)
            .filter(|&n| n <= MAX_ELEMENTS)
            .ok_or_else(|| Error::range(what, shape.shape_text(), format!("at most {MAX_ELEMENTS} elements")))?;
    }
    Ok(n)
}

/// Checks `1 <= value <= max`.
pub fn check_size(what: &str, value: usize, max: usize) -> Result<()> {
    if value == 0 || value > max {
        return Err(Error::range(what, value, format!("1..={max}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_text_writes_what_debug_writes() {
        let dims: Vec<usize> = vec![2, 30, 4];
        assert_eq!(dims.shape_text(), format!("{dims:?}"));
        assert_eq!([7usize].shape_text(), format!("{:?}", [7usize]));
        assert_eq!(Vec::<usize>::new().shape_text(), "[]");
        assert_eq!((&&dims[..2]).shape_text(), "[2, 30]");
        assert_eq!(12usize.shape_text(), "12");
        let e = Error::shape("x", [2usize, 3], vec![2usize, 4]);
        assert_eq!(e.to_string(), "x: expected shape [2, 3], got [2, 4]");
    }
}
