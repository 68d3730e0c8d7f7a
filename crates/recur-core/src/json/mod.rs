//! A small JSON reader and writer for the configurations, the options and the safetensors
//! header (the core's only JSON needs; a general library cost ~130 KB of wasm).
//!
//! - [`parse`](fn@parse) reads strict JSON (RFC 8259: no comments, no trailing commas, at most
//!   [`MAX_DEPTH`] nested arrays/objects) into a [`Value`] that remembers where each value
//!   starts, so errors can say `at line L column C`.
//! - [`read`] turns values into typed options with serde-like messages
//!   (`unknown field`, `missing field`, `invalid type`, ...).
//! - [`Writer`] writes compact JSON; numbers are laid out as `serde_json` writes them (see
//!   [`number`]), so saved files stay byte for byte what earlier versions wrote.

pub mod number;
mod options;
mod parse;
pub mod read;
mod write;

pub use parse::parse;
pub use read::{from_str, read_str, Fields, FromJson};
pub use write::Writer;

use std::fmt;

/// Deepest nesting of arrays and objects accepted (as `serde_json`).
pub const MAX_DEPTH: usize = 128;

/// A JSON value and the byte offset where it starts in the parsed text.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The value.
    pub kind: Kind,
    /// Byte offset of its first character in the text it was parsed from.
    pub at: usize,
}

/// The kinds of JSON values. Numbers keep `serde_json`'s three forms: an integer that fits a
/// `u64` (non-negative) or an `i64` (negative), and otherwise a float.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A non-negative integer that fits in a `u64`.
    UInt(u64),
    /// A negative integer that fits in an `i64`.
    NegInt(i64),
    /// Any other number (with a fraction or exponent, `-0`, or out of the integer ranges).
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Value>),
    /// An object's members in document order (duplicates kept; see [`Value::get`]).
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match self.kind {
            Kind::UInt(n) => Some(n),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match &self.kind {
            Kind::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The members, if this is an object (in document order, duplicates kept).
    pub fn as_object(&self) -> Option<&[(String, Value)]> {
        match &self.kind {
            Kind::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The member `key` of an object; the last one when the key repeats (as a map keeps it).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object()?.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        self.kind == Kind::Null
    }
}

/// The members of an object as a map has them: sorted by key, the last of repeated keys.
pub fn map_entries(members: &[(String, Value)]) -> Vec<&(String, Value)> {
    // Stable: repeats stay in document order, the last one wins.
    let order = crate::sort::sorted_order(members.len(), &|a, b| (&members[a].0, a) < (&members[b].0, b));
    let mut out: Vec<&(String, Value)> = Vec::with_capacity(members.len());
    for m in order.into_iter().map(|i| &members[i]) {
        match out.last_mut() {
            Some(last) if last.0 == m.0 => *last = m,
            _ => out.push(m),
        }
    }
    out
}

/// Compact JSON, as it would be written (numbers as `serde_json` writes them).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut w = Writer::new();
        w.value(self);
        f.write_str(&w.finish())
    }
}

/// A JSON error: what is wrong and the byte offset where it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonError {
    /// What is wrong, e.g. ``missing field `layers` ``.
    pub msg: String,
    /// Byte offset in the text.
    pub at: usize,
}

impl JsonError {
    /// An error at byte offset `at`.
    pub fn new(msg: impl Into<String>, at: usize) -> Self {
        JsonError { msg: msg.into(), at }
    }

    /// The message with the position in `text`: `... at line 1 column 17` (lines and columns
    /// counted from 1, columns in characters).
    pub fn describe(&self, text: &str) -> String {
        let at = self.at.min(text.len());
        let before = text.get(..at).unwrap_or(text);
        let line = 1 + before.matches('\n').count();
        let column = 1 + before.rsplit('\n').next().map_or(0, |l| l.chars().count());
        format!("{} at line {line} column {column}", self.msg)
    }
}
