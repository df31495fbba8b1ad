//! Python-compatible JSON: the writer reproduces `json.dumps(..., ensure_ascii=True)` byte
//! for byte (RULES R-4.1, R-4.2, R-5.2); the reader applies Django's `MessageDecoder`
//! post-processing (R-4.14) to a `serde_json` parse.

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

use super::{DecodeError, DjangoItem, DjangoMessage, MESSAGE_KEY};

/// The separators of a JSON document, as Python's `json.dumps(separators=...)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum JsonStyle {
    /// `(",", ":")`: the cookie payload (R-4.1).
    #[default]
    Compact,
    /// Python's default `(", ", ": ")`: the session's `_messages` string (R-5.2).
    Spaced,
}

impl JsonStyle {
    fn item_sep(self) -> &'static str {
        match self {
            JsonStyle::Compact => ",",
            JsonStyle::Spaced => ", ",
        }
    }

    fn key_sep(self) -> &'static str {
        match self {
            JsonStyle::Compact => ":",
            JsonStyle::Spaced => ": ",
        }
    }
}

/// Something Django's `MessageEncoder` can serialize: a message, a plain JSON value, or an
/// item that is either.
///
/// Implemented for [`DjangoItem`], [`DjangoMessage`], [`herald_core::Message`],
/// [`serde_json::Value`] and references to them, so every encoder in this module accepts
/// a slice of any of these.
pub trait ToDjangoJson {
    /// Appends the item's JSON text, exactly as Python's `json.dumps` with
    /// `ensure_ascii=True` and the separators of `style` writes it, to `out`.
    fn write_django_json(&self, out: &mut String, style: JsonStyle);
}

impl<T: ToDjangoJson + ?Sized> ToDjangoJson for &T {
    fn write_django_json(&self, out: &mut String, style: JsonStyle) {
        (**self).write_django_json(out, style);
    }
}

impl ToDjangoJson for DjangoMessage {
    fn write_django_json(&self, out: &mut String, style: JsonStyle) {
        write_message(
            out,
            style,
            self.level,
            &self.message,
            self.extra_tags.as_deref(),
            self.is_safe,
        );
    }
}

impl ToDjangoJson for herald_core::Message<'_> {
    fn write_django_json(&self, out: &mut String, style: JsonStyle) {
        write_message(
            out,
            style,
            self.level.0,
            self.message,
            self.extra_tags,
            self.is_safe,
        );
    }
}

impl ToDjangoJson for Value {
    fn write_django_json(&self, out: &mut String, style: JsonStyle) {
        write_value(out, style, self);
    }
}

impl ToDjangoJson for DjangoItem {
    fn write_django_json(&self, out: &mut String, style: JsonStyle) {
        match self {
            DjangoItem::Message(m) => m.write_django_json(out, style),
            DjangoItem::Raw(v) => write_value(out, style, v),
        }
    }
}

/// `["__json_message", S, LEVEL, TEXT(, EXTRA)]` (R-4.1).
fn write_message(
    out: &mut String,
    style: JsonStyle,
    level: i32,
    text: &str,
    extra_tags: Option<&str>,
    safe: bool,
) {
    let sep = style.item_sep();
    out.push_str("[\"");
    out.push_str(MESSAGE_KEY);
    out.push('"');
    out.push_str(sep);
    out.push(if safe { '1' } else { '0' });
    out.push_str(sep);
    let _ = write!(out, "{level}");
    out.push_str(sep);
    write_str(out, text);
    if let Some(extra) = extra_tags {
        out.push_str(sep);
        write_str(out, extra);
    }
    out.push(']');
}

/// Serializes one value as Python's `json.dumps(value, ensure_ascii=True)` with the
/// separators of `style`.
///
/// Object members keep their order (the `preserve_order` feature of `serde_json` is on,
/// as in a Python dict). Floats are written as Python's `repr` writes them.
#[doc(hidden)]
pub fn to_python_json(value: &Value, style: JsonStyle) -> String {
    let mut out = String::new();
    write_value(&mut out, style, value);
    out
}

fn write_value(out: &mut String, style: JsonStyle, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.item_sep());
                }
                write_value(out, style, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.item_sep());
                }
                write_str(out, k);
                out.push_str(style.key_sep());
                write_value(out, style, v);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        out.push_str(&python_float_repr(f));
    }
}

/// Python's `repr(float)` (also what `json.dumps` writes for a finite float): the
/// shortest round-tripping digits, positional notation when the decimal exponent is in
/// `-4 <= e < 16`, otherwise `d.ddde+XX` with at least two exponent digits; a positional
/// integer value keeps a trailing `.0`. `NaN` and the infinities are written as Python's
/// `json` module writes them (`NaN`, `Infinity`, `-Infinity`).
#[doc(hidden)]
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-7", "0e0", "1e16".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` writes a decimal exponent");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    // Python: value = 0.DIGITS * 10^decpt.
    let decpt = exp + 1;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if (-4 < decpt) && decpt <= 16 {
        if decpt <= 0 {
            out.push_str("0.");
            for _ in 0..(-decpt) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let decpt = decpt as usize;
            if digits.len() <= decpt {
                out.push_str(&digits);
                for _ in digits.len()..decpt {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..decpt]);
                out.push('.');
                out.push_str(&digits[decpt..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        let _ = write!(out, "e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string literal exactly as Python's `ensure_ascii` encoder writes
/// it (R-4.2): `"` and `\` backslash-escaped, `\n \r \t \b \f` in short form, every other
/// character outside `' '..='~'` (including DEL) as `\uXXXX` with lower-case hex, astral
/// characters as a surrogate pair; `/` is not escaped.
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let b = c as u32;
        if (0x20..0x7f).contains(&b) && c != '"' && c != '\\' {
            continue;
        }
        out.push_str(&s[start..i]);
        start = i + c.len_utf8();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let u = *unit;
                    let esc = [
                        b'\\',
                        b'u',
                        HEX[usize::from(u >> 12)],
                        HEX[usize::from((u >> 8) & 0xf)],
                        HEX[usize::from((u >> 4) & 0xf)],
                        HEX[usize::from(u & 0xf)],
                    ];
                    out.push_str(std::str::from_utf8(&esc).expect("ASCII"));
                }
            }
        }
    }
    out.push_str(std::str::from_utf8(&bytes[start..]).expect("slice at a char boundary"));
    out.push('"');
}

/// Parses JSON text as Python's `json.loads(text, cls=MessageDecoder)` does and returns
/// the top-level value after Django's post-processing (R-4.14).
///
/// Returns `Ok(None)` for a JSON `null` (Django's "absent", R-4.16).
pub(crate) fn parse_payload(text: &str) -> Result<Option<Vec<DjangoItem>>, DecodeError> {
    let value: Value = serde_json::from_str(text).map_err(|e| classify_json_error(e, text))?;
    match value {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .into_iter()
            .map(|item| match process(item)? {
                Processed::Message(m) => Ok(DjangoItem::Message(m)),
                Processed::Value(v) => Ok(DjangoItem::Raw(v)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        other if !python_truthy(&other) => Ok(Some(Vec::new())),
        other => Err(DecodeError::NotAList(other)),
    }
}

/// A JSON error, or for JSON that Python's parser accepts but `serde_json` does not (a
/// lone surrogate escape, a number beyond the `f64` range, nesting deeper than 128), an
/// [`DecodeError::Unsupported`]: Django would read such a payload.
fn classify_json_error(e: serde_json::Error, text: &str) -> DecodeError {
    let msg = e.to_string();
    let surrogate_escape = text.as_bytes().windows(4).any(|w| {
        w[0] == b'\\'
            && w[1] == b'u'
            && w[2].eq_ignore_ascii_case(&b'd')
            && matches!(w[3].to_ascii_lowercase(), b'8'..=b'9' | b'a'..=b'f')
    });
    if surrogate_escape
        || ["number out of range", "recursion limit"]
            .iter()
            .any(|k| msg.contains(k))
    {
        DecodeError::Unsupported(format!(
            "JSON that Python accepts but herald does not: {msg}"
        ))
    } else {
        DecodeError::BadJson(msg)
    }
}

/// Python truthiness of a JSON value.
pub(crate) fn python_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

enum Processed {
    Message(DjangoMessage),
    Value(Value),
}

/// `MessageDecoder.process_messages` (R-4.14).
fn process(value: Value) -> Result<Processed, DecodeError> {
    match value {
        Value::Array(items) if items.first().and_then(Value::as_str) == Some(MESSAGE_KEY) => {
            message_from_elements(&items).map(Processed::Message)
        }
        Value::Array(items) => items
            .into_iter()
            .map(|v| process(v).map(Processed::into_value))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| Processed::Value(Value::Array(v))),
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                out.insert(k, process(v)?.into_value());
            }
            Ok(Processed::Value(Value::Object(out)))
        }
        scalar => Ok(Processed::Value(scalar)),
    }
}

impl Processed {
    /// A nested message stays in the raw value in its canonical array form, which is what
    /// Django writes back when it stores the value again.
    fn into_value(self) -> Value {
        match self {
            Processed::Message(m) => m.to_json_array(),
            Processed::Value(v) => v,
        }
    }
}

/// Builds the message Django builds from `["__json_message", S, LEVEL, TEXT(, EXTRA)]`:
/// `if obj[1]: obj[3] = mark_safe(obj[3])` then `Message(*obj[2:])`.
pub(crate) fn message_from_elements(items: &[Value]) -> Result<DjangoMessage, DecodeError> {
    let flag = items
        .get(1)
        .ok_or_else(|| bad_message("message array has no safe flag (IndexError)"))?;
    let is_safe = python_truthy(flag);
    if is_safe && items.len() < 4 {
        return Err(bad_message("message array has no text (IndexError)"));
    }
    let args = &items[2..];
    if args.len() != 2 && args.len() != 3 {
        return Err(bad_message(&format!(
            "Message() takes 2 or 3 arguments, the array holds {} (TypeError)",
            args.len()
        )));
    }
    let level = python_int(&args[0])?;
    let message = match &args[1] {
        Value::String(s) => s.clone(),
        other => {
            return Err(DecodeError::Unsupported(format!(
                "message text is not a string: {other}"
            )));
        }
    };
    let extra_tags = match args.get(2) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(DecodeError::Unsupported(format!(
                "extra_tags is neither a string nor null: {other}"
            )));
        }
    };
    Ok(DjangoMessage {
        level,
        message,
        extra_tags,
        is_safe,
    })
}

fn bad_message(what: &str) -> DecodeError {
    DecodeError::BadMessage(what.to_owned())
}

/// Python's `int(value)` for the JSON values a level can be, limited to the `i32` range.
fn python_int(v: &Value) -> Result<i32, DecodeError> {
    let out_of_range = || DecodeError::Unsupported(format!("level {v} is outside the i32 range"));
    match v {
        Value::Bool(b) => Ok(i32::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i32::try_from(i).map_err(|_| out_of_range())
            } else if n.as_u64().is_some() {
                Err(out_of_range())
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                let t = f.trunc();
                if !t.is_finite() {
                    return Err(bad_message("level is not a finite number (ValueError)"));
                }
                if t < f64::from(i32::MIN) || t > f64::from(i32::MAX) {
                    return Err(out_of_range());
                }
                Ok(t as i32)
            }
        }
        Value::String(s) => parse_python_int_str(s)
            .ok_or_else(|| bad_message(&format!("invalid literal for int(): {s:?} (ValueError)")))?
            .try_into()
            .map_err(|_| out_of_range()),
        _ => Err(bad_message(&format!(
            "int() argument must be a string or a number, not {v} (TypeError)"
        ))),
    }
}

/// `int(str)` for ASCII input: surrounding whitespace, an optional sign, decimal digits
/// with single underscores between them.
fn parse_python_int_str(s: &str) -> Option<i64> {
    let t = s.trim_matches(super::py_is_space);
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    let mut value: i64 = 0;
    let mut prev_underscore = false;
    for b in digits.bytes() {
        match b {
            b'_' if !prev_underscore => prev_underscore = true,
            b'0'..=b'9' => {
                prev_underscore = false;
                value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
            }
            _ => return None,
        }
    }
    Some(if neg { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        let mut out = String::new();
        write_str(&mut out, x);
        out
    }

    #[test]
    fn r_4_2_string_escaping() {
        assert_eq!(s("a/b<>&';,"), "\"a/b<>&';,\"");
        assert_eq!(s("\"\\\n\r\t\u{8}\u{c}"), "\"\\\"\\\\\\n\\r\\t\\b\\f\"");
        assert_eq!(s("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\\u007f\"");
        assert_eq!(s("é€\u{2028}\u{feff}"), "\"\\u00e9\\u20ac\\u2028\\ufeff\"");
        assert_eq!(s("😀"), "\"\\ud83d\\ude00\"");
        assert_eq!(s(""), "\"\"");
    }

    #[test]
    fn python_float_repr_matches_cpython() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (123.456, "123.456"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e16, "1.5e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.25e-7, "1.25e-07"),
            (1e300, "1e+300"),
            (-2.5e-300, "-2.5e-300"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (f64::INFINITY, "Infinity"),
        ];
        for (f, want) in cases {
            assert_eq!(python_float_repr(f), want, "{f:e}");
        }
    }

    #[test]
    fn json_python_accepts_is_unsupported_not_invalid() {
        for text in [
            "[\"\\ud800\"]",
            "[\"\\udc00x\"]",
            "[\"\\ud800\\u0041\"]",
            "[1e400]",
            &format!("{}{}", "[".repeat(200), "]".repeat(200)),
        ] {
            let e = parse_payload(text).unwrap_err();
            assert!(matches!(e, DecodeError::Unsupported(_)), "{text}: {e:?}");
            assert!(!e.marks_used());
        }
        for text in ["[", "[1,]", "NaN", "[True]", "{'a': 1}", "[\"\t\"]"] {
            let e = parse_payload(text).unwrap_err();
            assert!(matches!(e, DecodeError::BadJson(_)), "{text}: {e:?}");
        }
        assert_eq!(
            parse_payload("[\"\\ud83d\\ude00\"]").unwrap().unwrap()[0],
            DjangoItem::Raw("😀".into())
        );
    }

    #[test]
    fn python_int_parsing() {
        assert_eq!(parse_python_int_str(" 30 "), Some(30));
        assert_eq!(parse_python_int_str("-1_000"), Some(-1000));
        assert_eq!(parse_python_int_str("+7"), Some(7));
        assert_eq!(parse_python_int_str("1__0"), None);
        assert_eq!(parse_python_int_str("_1"), None);
        assert_eq!(parse_python_int_str("3.0"), None);
        assert_eq!(parse_python_int_str(""), None);
    }
}
