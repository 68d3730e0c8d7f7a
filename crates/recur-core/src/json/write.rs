//! Compact JSON output, written in order (object members are written in the order given).

use super::number::{write_f32, write_f64};
use super::{Kind, Value};

/// Builds a JSON text. Separators are automatic: every value, key or opening bracket after
/// another value gets its comma.
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    /// An empty text.
    pub fn new() -> Self {
        Writer { out: String::new() }
    }

    /// The text.
    pub fn finish(self) -> String {
        self.out
    }

    /// A comma unless at the start, after an opening bracket or after a key.
    fn sep(&mut self) {
        if let Some(b) = self.out.as_bytes().last() {
            if !matches!(b, b'{' | b'[' | b':') {
                self.out.push(',');
            }
        }
    }

    /// `{`.
    pub fn open_object(&mut self) -> &mut Self {
        self.sep();
        self.out.push('{');
        self
    }

    /// `}`.
    pub fn close_object(&mut self) -> &mut Self {
        self.out.push('}');
        self
    }

    /// `[`.
    pub fn open_array(&mut self) -> &mut Self {
        self.sep();
        self.out.push('[');
        self
    }

    /// `]`.
    pub fn close_array(&mut self) -> &mut Self {
        self.out.push(']');
        self
    }

    /// `"key":` inside an object; the value follows.
    pub fn key(&mut self, key: &str) -> &mut Self {
        self.string(key);
        self.out.push(':');
        self
    }

    /// A string, escaped as `serde_json` escapes (`"`, `\`, and control characters only).
    pub fn string(&mut self, s: &str) -> &mut Self {
        self.sep();
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                '\u{8}' => self.out.push_str("\\b"),
                '\u{c}' => self.out.push_str("\\f"),
                c if (c as u32) < 0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.out.push_str("\\u00");
                    self.out.push(HEX[(c as usize) >> 4] as char);
                    self.out.push(HEX[(c as usize) & 15] as char);
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
        self
    }

    /// A JSON text written elsewhere, inserted as a value.
    pub fn raw(&mut self, json: &str) -> &mut Self {
        self.sep();
        self.out.push_str(json);
        self
    }

    /// `null`.
    pub fn null(&mut self) -> &mut Self {
        self.sep();
        self.out.push_str("null");
        self
    }

    /// `true` or `false`.
    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.sep();
        self.out.push_str(if b { "true" } else { "false" });
        self
    }

    /// An unsigned integer.
    pub fn u64(&mut self, n: u64) -> &mut Self {
        self.sep();
        self.out.push_str(&n.to_string());
        self
    }

    /// An `f64` (`null` when not finite, as `serde_json`).
    pub fn f64(&mut self, x: f64) -> &mut Self {
        self.sep();
        if x.is_finite() {
            write_f64(&mut self.out, x);
        } else {
            self.out.push_str("null");
        }
        self
    }

    /// An `f32` as a struct field of type `f32` is written: its own shortest digits (`0.1`).
    pub fn f32(&mut self, x: f32) -> &mut Self {
        self.sep();
        if x.is_finite() {
            write_f32(&mut self.out, x);
        } else {
            self.out.push_str("null");
        }
        self
    }

    /// An `f32` as `serde_json` writes one held in a `Value`: widened to `f64` first
    /// (`0.10000000149011612`). The JSON outputs built from values (`json!`) used this form.
    pub fn f32_as_f64(&mut self, x: f32) -> &mut Self {
        self.f64(x as f64)
    }

    /// `Some(x)` via `write`, `None` as `null`.
    pub fn option<T>(&mut self, v: Option<T>, write: impl FnOnce(&mut Self, T)) -> &mut Self {
        match v {
            Some(v) => write(self, v),
            None => {
                self.null();
            }
        }
        self
    }

    /// A parsed value, members in document order.
    pub fn value(&mut self, v: &Value) -> &mut Self {
        match &v.kind {
            Kind::Null => self.null(),
            Kind::Bool(b) => self.bool(*b),
            Kind::UInt(n) => self.u64(*n),
            Kind::NegInt(n) => {
                self.sep();
                self.out.push_str(&n.to_string());
                self
            }
            Kind::Float(x) => self.f64(*x),
            Kind::Str(s) => self.string(s),
            Kind::Array(items) => {
                self.open_array();
                items.iter().for_each(|i| {
                    self.value(i);
                });
                self.close_array()
            }
            Kind::Object(members) => {
                self.open_object();
                for (k, v) in members {
                    self.key(k).value(v);
                }
                self.close_object()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_escapes() {
        let mut w = Writer::new();
        w.open_object().key("a").u64(1).key("b\"\n\u{1}é").open_array().f32(0.1).f32_as_f64(0.1).null().close_array();
        w.key("c").open_object().close_object().key("d").open_array().close_array().close_object();
        assert_eq!(w.finish(), r#"{"a":1,"b\"\n\u0001é":[0.1,0.10000000149011612,null],"c":{},"d":[]}"#);
    }
}
