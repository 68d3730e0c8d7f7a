//! Typed reading of parsed values, with the rules and messages of the serde derive the options
//! used before: numbers must fit their type (`usize` takes no `2.5` nor `-3`; an `f32` takes any
//! number, rounded), `null` is only an absent `Option`, objects may reject unknown fields and
//! never take a field twice, tagged enums name the variants they know.

use super::number::write_f64;
use super::{parse, JsonError, Kind, Value};

/// Result of reading a value.
pub type JResult<T> = Result<T, JsonError>;

/// A type read from a JSON value.
pub trait FromJson: Sized {
    /// Reads `v`, or says what is wrong and where.
    fn from_value(v: &Value) -> JResult<Self>;
}

/// Parses `text` and reads a `T`; the error message ends with `at line L column C`.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, String> {
    read_str(text, T::from_value)
}

/// Parses `text` and reads it with `read`; the error message ends with `at line L column C`.
pub fn read_str<T>(text: &str, read: fn(&Value) -> JResult<T>) -> Result<T, String> {
    parse(text).and_then(|v| read(&v)).map_err(|e| e.describe(text))
}

/// `` `a`, `b` or `c` `` for messages: "expected one of ...", as serde words it.
pub fn one_of(names: &[&str]) -> String {
    match names {
        [] => "there are none".to_string(),
        [one] => format!("expected `{one}`"),
        [a, b] => format!("expected `{a}` or `{b}`"),
        _ => format!("expected one of {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
    }
}

impl Value {
    /// What this value is, for messages: ``integer `-3` ``, `string "big"`, `map`, ...
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Null => "null".to_string(),
            Kind::Bool(b) => format!("boolean `{b}`"),
            Kind::UInt(n) => format!("integer `{n}`"),
            Kind::NegInt(n) => format!("integer `{n}`"),
            Kind::Float(x) => {
                let mut s = String::new();
                write_f64(&mut s, *x);
                format!("floating point `{s}`")
            }
            Kind::Str(s) => format!("string \"{s}\""),
            Kind::Array(_) => "sequence".to_string(),
            Kind::Object(_) => "map".to_string(),
        }
    }

    /// ``invalid type: <what this is>, expected <expected>``.
    #[cold]
    pub fn invalid_type(&self, expected: &str) -> JsonError {
        JsonError::new(format!("invalid type: {}, expected {expected}", self.describe()), self.at)
    }

    #[cold]
    fn invalid_value(&self, expected: &str) -> JsonError {
        JsonError::new(format!("invalid value: {}, expected {expected}", self.describe()), self.at)
    }

    /// A boolean.
    pub fn to_bool(&self) -> JResult<bool> {
        match self.kind {
            Kind::Bool(b) => Ok(b),
            _ => Err(self.invalid_type("a boolean")),
        }
    }

    /// A string.
    pub fn to_string_value(&self) -> JResult<String> {
        self.as_str().map(str::to_string).ok_or_else(|| self.invalid_type("a string"))
    }

    /// A non-negative integer of at most `max` (named `ty` in messages).
    fn to_unsigned(&self, max: u64, ty: &str) -> JResult<u64> {
        match self.kind {
            Kind::UInt(n) if n <= max => Ok(n),
            Kind::UInt(_) | Kind::NegInt(_) => Err(self.invalid_value(ty)),
            _ => Err(self.invalid_type(ty)),
        }
    }

    /// A `u64`.
    pub fn to_u64(&self) -> JResult<u64> {
        self.to_unsigned(u64::MAX, "u64")
    }

    /// A `u32`.
    pub fn to_u32(&self) -> JResult<u32> {
        self.to_unsigned(u32::MAX as u64, "u32").map(|n| n as u32)
    }

    /// A `usize` (on wasm32 at most 2³² − 1).
    pub fn to_usize(&self) -> JResult<usize> {
        self.to_unsigned(usize::MAX as u64, "usize").map(|n| n as usize)
    }

    /// Any number as an `f64`.
    pub fn to_f64(&self) -> JResult<f64> {
        match self.kind {
            Kind::UInt(n) => Ok(n as f64),
            Kind::NegInt(n) => Ok(n as f64),
            Kind::Float(x) => Ok(x),
            _ => Err(self.invalid_type("f64")),
        }
    }

    /// Any number as an `f32` (integers converted directly, floats rounded from `f64`; out of
    /// range becomes infinite, for the option's own check to reject).
    pub fn to_f32(&self) -> JResult<f32> {
        match self.kind {
            Kind::UInt(n) => Ok(n as f32),
            Kind::NegInt(n) => Ok(n as f32),
            Kind::Float(x) => Ok(x as f32),
            _ => Err(self.invalid_type("f32")),
        }
    }

    /// The elements of an array (`expected` names it in the message).
    pub fn to_items(&self, expected: &str) -> JResult<&[Value]> {
        self.as_array().ok_or_else(|| self.invalid_type(expected))
    }

    /// An array of `T`.
    pub fn to_vec<T>(&self, read: fn(&Value) -> JResult<T>) -> JResult<Vec<T>> {
        self.to_items("a sequence")?.iter().map(read).collect()
    }

    /// An array of exactly `N` elements of `T`.
    pub fn to_array<T: Copy + Default, const N: usize>(&self, read: fn(&Value) -> JResult<T>) -> JResult<[T; N]> {
        let expected = format!("an array of length {N}");
        let items = self.to_items(&expected)?;
        if items.len() != N {
            return Err(JsonError::new(format!("invalid length {}, expected {expected}", items.len()), self.at));
        }
        let mut out = [T::default(); N];
        for (o, v) in out.iter_mut().zip(items) {
            *o = read(v)?;
        }
        Ok(out)
    }
}

/// The members of an object being read as a struct: each field is taken once, a repeated one is
/// an error, and [`Fields::deny_unknown`] rejects the members no field names.
#[derive(Debug)]
pub struct Fields<'a> {
    members: &'a [(String, Value)],
    at: usize,
    /// The tag of an internally tagged enum: read, and not a field of the variant.
    tag: Option<&'static str>,
}

impl<'a> Fields<'a> {
    /// The members of `v`, which must be an object (`expected` names the struct in the message).
    pub fn of(v: &'a Value, expected: &str) -> JResult<Self> {
        match &v.kind {
            Kind::Object(members) => Ok(Fields { members, at: v.at, tag: None }),
            _ => Err(v.invalid_type(expected)),
        }
    }

    /// An internally tagged enum `{"<tag>": "<variant>", ...fields}`: the members and the
    /// variant's index in `variants`.
    pub fn tagged(v: &'a Value, tag: &'static str, expected: &str, variants: &[&str]) -> JResult<(Self, usize)> {
        let mut fields = Fields::of(v, expected)?;
        let name = fields.required(tag)?;
        let index = match name.as_str() {
            Some(s) => variants
                .iter()
                .position(|&n| n == s)
                .ok_or_else(|| JsonError::new(format!("unknown variant `{s}`, {}", one_of(variants)), name.at))?,
            None => return Err(name.invalid_type("variant identifier")),
        };
        fields.tag = Some(tag);
        Ok((fields, index))
    }

    /// The member `key`, if present (`null` included).
    pub fn get(&mut self, key: &str) -> JResult<Option<&'a Value>> {
        let mut found = None;
        for (k, v) in self.members {
            if k == key {
                if found.is_some() {
                    return Err(JsonError::new(format!("duplicate field `{key}`"), v.at));
                }
                found = Some(v);
            }
        }
        Ok(found)
    }

    /// The member `key`, which must be present.
    pub fn required(&mut self, key: &str) -> JResult<&'a Value> {
        self.get(key)?.ok_or_else(|| JsonError::new(format!("missing field `{key}`"), self.at))
    }

    /// Field `key` read by `read`, or `default` when absent.
    pub fn or<T>(&mut self, key: &str, default: T, read: fn(&Value) -> JResult<T>) -> JResult<T> {
        self.get(key)?.map_or(Ok(default), read)
    }

    /// An optional field: absent or `null` is `None`.
    pub fn opt<T>(&mut self, key: &str, read: fn(&Value) -> JResult<T>) -> JResult<Option<T>> {
        match self.get(key)? {
            None => Ok(None),
            Some(v) if v.is_null() => Ok(None),
            Some(v) => read(v).map(Some),
        }
    }

    /// A required field read by `read`.
    pub fn req<T>(&mut self, key: &str, read: fn(&Value) -> JResult<T>) -> JResult<T> {
        read(self.required(key)?)
    }

    /// Rejects the first member whose key is not in `known` (nor the tag).
    pub fn deny_unknown(&self, known: &[&str]) -> JResult<()> {
        for (k, v) in self.members {
            if Some(k.as_str()) != self.tag && !known.contains(&k.as_str()) {
                // serde points at the key; the value's start is close enough.
                return Err(JsonError::new(format!("unknown field `{k}`, {}", one_of(known)), v.at));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: JResult<impl std::fmt::Debug>) -> String {
        r.unwrap_err().msg
    }

    #[test]
    fn numbers_keep_their_types() {
        let v = |t: &str| parse(t).unwrap();
        assert_eq!(v("3").to_usize(), Ok(3));
        assert_eq!(msg(v("-3").to_usize()), "invalid value: integer `-3`, expected usize");
        assert_eq!(msg(v("2.5").to_usize()), "invalid type: floating point `2.5`, expected usize");
        assert_eq!(msg(v("3.0").to_u64()), "invalid type: floating point `3.0`, expected u64");
        assert_eq!(msg(v("\"big\"").to_usize()), "invalid type: string \"big\", expected usize");
        assert_eq!(msg(v("4294967296").to_u32()), "invalid value: integer `4294967296`, expected u32");
        assert_eq!(v("-0").kind, Kind::Float(-0.0));
        assert_eq!(v("18446744073709551616").kind, Kind::Float(18446744073709551616.0));
        assert_eq!(v("-9223372036854775808").kind, Kind::NegInt(i64::MIN));
        assert_eq!(v("1e2").to_f32(), Ok(100.0));
        assert_eq!(v("0.30000000000000004").to_f64(), Ok(0.1 + 0.2));
        assert_eq!(v("1e39").to_f32(), Ok(f32::INFINITY));
        assert_eq!(msg(v("null").to_f32()), "invalid type: null, expected f32");
        assert_eq!(v("[1,2]").to_array::<u32, 2>(Value::to_u32), Ok([1, 2]));
        assert_eq!(msg(v("[1,2,3]").to_array::<u32, 2>(Value::to_u32)), "invalid length 3, expected an array of length 2");
    }

    #[test]
    fn fields_are_checked() {
        let v = parse(r#"{"type": "a", "x": 1, "x": 2}"#).unwrap();
        let (mut f, i) = Fields::tagged(&v, "type", "enum E", &["b", "a"]).unwrap();
        assert_eq!(i, 1);
        assert_eq!(msg(f.get("x")), "duplicate field `x`");
        assert_eq!(msg(f.deny_unknown(&["y", "z"])), "unknown field `x`, expected `y` or `z`");
        assert!(f.deny_unknown(&["x"]).is_ok());
        assert_eq!(msg(f.required("w")), "missing field `w`");
        assert_eq!(f.opt("w", Value::to_f32), Ok(None));
        let v = parse(r#"{"type": "c"}"#).unwrap();
        assert_eq!(msg(Fields::tagged(&v, "type", "enum E", &["a", "b", "d"])), "unknown variant `c`, expected one of `a`, `b`, `d`");
        let v = parse(r#"[1]"#).unwrap();
        assert_eq!(msg(Fields::of(&v, "struct S")), "invalid type: sequence, expected struct S");
    }

    #[test]
    fn syntax_errors_say_where() {
        for (text, want) in [
            ("", "EOF while parsing a value at line 1 column 1"),
            ("{\"a\":1,}", "trailing comma at line 1 column 8"),
            ("[1,\n 2 x]", "expected `,` or `]` at line 2 column 4"),
            ("01", "invalid number at line 1 column 2"),
            ("1.", "EOF while parsing a value at line 1 column 3"),
            ("{1:2}", "key must be a string at line 1 column 2"),
            ("\"a\u{1}\"", "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 3"),
            ("\"\\ud800\"", "unexpected end of hex escape at line 1 column 8"),
            ("\"\\x\"", "invalid escape at line 1 column 3"),
            ("1e999", "number out of range at line 1 column 1"),
            ("nul", "EOF while parsing a value at line 1 column 4"),
            ("[] 1", "trailing characters at line 1 column 4"),
        ] {
            assert_eq!(parse(text).unwrap_err().describe(text), want, "{text:?}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(parse(&deep).unwrap_err().msg, "recursion limit exceeded");
        let ok = "[".repeat(128) + &"]".repeat(128);
        assert!(parse(&ok).is_ok());
        assert_eq!(parse("\"\\ud83d\\ude00\\u00e9\\n\"").unwrap().as_str(), Some("😀é\n"));
    }

    /// The parser accepts and rejects what serde_json does, and reads the same values (serde_json
    /// rounds some long mantissas off by one ulp, e.g. `-123456789012345678901234`; this parser
    /// rounds them correctly, so those are left out).
    #[test]
    fn agrees_with_serde_json() {
        let texts = [
            "null", "true", " [1, -2, 3.5e-3, \"x\\u0041\", {\"k\": [] }] ", "{\"a\":{\"b\":{}}}", "-0.0", "1E+2", "[1,]", "{,}",
            "[01]", "[-]", "[1.e5]", "[.5]", "+1", "\"\\u12\"", "tru", "[1 2]", "{\"a\" 1}", "\u{feff}1", "\"\t\"", "1 ",
            "123456789012345678901234567890", "[\"\\/\"]", "NaN", "Infinity", "{\"a\":1}}",
        ];
        for t in texts {
            let ours = parse(t);
            let theirs = serde_json::from_str::<serde_json::Value>(t);
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{t:?}: {ours:?} vs {theirs:?}");
            if let (Ok(a), Ok(b)) = (ours, theirs) {
                assert_eq!(a.to_string(), b.to_string(), "{t:?}");
            }
        }
    }
}
