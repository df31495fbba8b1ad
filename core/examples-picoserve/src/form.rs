//! The `POST /add` form (`application/x-www-form-urlencoded`), decoded **in place**: the
//! decoded text is never longer than the encoded one, so each field is decoded inside its
//! own bytes of picoserve's HTTP buffer and borrowed from there. No copy, no heap, no
//! length limit beyond the buffer's.

use core::fmt;

use herald_core::Level;
use herald_core::level::DEFAULT_TAGS;

/// The fields of the add-message form, borrowed from the decoded body. Missing fields are
/// empty; unknown fields are ignored. When a field repeats, the last one wins, as with
/// Django's `QueryDict.get`.
///
/// There is deliberately no field that marks the text as trusted HTML (a message's `safe`
/// flag): whatever the request sends, its text is escaped on the page. A form field
/// called `safe` is just another unknown field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddForm<'a> {
    /// `level`: a level tag (`debug` … `error`) or a number.
    pub level: &'a str,
    /// `message`: the text.
    pub message: &'a str,
    /// `extra_tags`: extra CSS classes for the message.
    pub extra_tags: &'a str,
}

/// Why a form body could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormError {
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// A decoded field is not UTF-8.
    NotUtf8,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FormError::BadEscape => "bad %-escape in form",
            FormError::NotUtf8 => "form field is not UTF-8",
        })
    }
}

impl core::error::Error for FormError {}

impl<'a> AddForm<'a> {
    /// Decodes `body` in place and returns the fields, borrowed from it.
    ///
    /// ```
    /// use herald_picoserve_example::form::AddForm;
    ///
    /// let mut body = *b"level=success&message=Profile+saved%21&extra_tags=big";
    /// let form = AddForm::parse(&mut body).unwrap();
    /// assert_eq!((form.level, form.message, form.extra_tags), ("success", "Profile saved!", "big"));
    /// ```
    ///
    /// # Errors
    /// [`FormError`] for a bad `%`-escape or a field that is not UTF-8 once decoded.
    pub fn parse(body: &'a mut [u8]) -> Result<Self, FormError> {
        let mut form = AddForm::default();
        for pair in body.split_mut(|&b| b == b'&') {
            let eq = pair.iter().position(|&b| b == b'=').unwrap_or(pair.len());
            let (name, value) = pair.split_at_mut(eq);
            let value = value.get_mut(1..).unwrap_or_default();
            let name = decode_in_place(name)?;
            let value = decode_in_place(value)?;
            match name {
                "level" => form.level = value,
                "message" => form.message = value,
                "extra_tags" => form.extra_tags = value,
                _ => {}
            }
        }
        Ok(form)
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// URL-decodes `buf` in place (`+` is a space, `%XX` a byte) and returns the decoded
/// prefix as text.
fn decode_in_place(buf: &mut [u8]) -> Result<&str, FormError> {
    let mut read = 0;
    let mut written = 0;
    while let Some(&b) = buf.get(read) {
        let (byte, used) = match b {
            b'+' => (b' ', 1),
            b'%' => {
                let digit = |i: usize| buf.get(read + i).copied().and_then(hex);
                match (digit(1), digit(2)) {
                    (Some(hi), Some(lo)) => (hi << 4 | lo, 3),
                    _ => return Err(FormError::BadEscape),
                }
            }
            other => (other, 1),
        };
        if let Some(slot) = buf.get_mut(written) {
            *slot = byte;
        }
        written += 1;
        read += used;
    }
    let decoded = buf.get(..written).unwrap_or_default();
    core::str::from_utf8(decoded).map_err(|_| FormError::NotUtf8)
}

/// Reads a level from the form: one of Django's level tags (`debug`, `info`, `success`,
/// `warning`, `error`, any case) or an integer.
///
/// ```
/// use herald_core::Level;
/// use herald_picoserve_example::form::parse_level;
///
/// assert_eq!(parse_level("Warning"), Some(Level::WARNING));
/// assert_eq!(parse_level("35"), Some(Level(35)));
/// assert_eq!(parse_level("loud"), None);
/// ```
pub fn parse_level(text: &str) -> Option<Level> {
    let text = text.trim();
    DEFAULT_TAGS
        .iter()
        .find(|(_, tag)| tag.eq_ignore_ascii_case(text))
        .map(|&(level, _)| level)
        .or_else(|| text.parse::<i32>().ok().map(Level))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::string::{String, ToString};

    use super::*;

    /// (level, message, extra_tags) of a parsed body.
    fn parse(body: &str) -> Result<(String, String, String), FormError> {
        let mut buf = body.as_bytes().to_vec();
        AddForm::parse(&mut buf).map(|f| {
            (
                f.level.to_string(),
                f.message.to_string(),
                f.extra_tags.to_string(),
            )
        })
    }

    #[test]
    fn decodes_plus_percent_and_utf8() {
        let (level, message, extra) =
            parse("message=caf%C3%A9+%26+%3Cb%3E&level=info&extra_tags=a+b").unwrap();
        assert_eq!((level.as_str(), message.as_str()), ("info", "café & <b>"));
        assert_eq!(extra, "a b");
    }

    #[test]
    fn missing_repeated_and_unknown_fields() {
        let (_, message, _) = parse("message=a&message=b&other&=x&&").unwrap();
        assert_eq!(message, "b");
        assert_eq!(parse(""), Ok((String::new(), String::new(), String::new())));
    }

    #[test]
    fn a_safe_field_is_ignored() {
        // The form cannot mark its text as trusted HTML: `safe` is an unknown field and
        // changes nothing, whatever its value.
        let plain = parse("level=info&message=%3Cem%3Ehi%3C%2Fem%3E").unwrap();
        for body in [
            "level=info&message=%3Cem%3Ehi%3C%2Fem%3E&safe=on",
            "safe=1&level=info&message=%3Cem%3Ehi%3C%2Fem%3E",
            "level=info&safe=true&message=%3Cem%3Ehi%3C%2Fem%3E&safe=yes",
        ] {
            assert_eq!(parse(body).unwrap(), plain, "{body}");
        }
    }

    #[test]
    fn rejects_bad_escapes_and_bad_utf8() {
        assert_eq!(parse("message=%zz"), Err(FormError::BadEscape));
        assert_eq!(parse("message=%4"), Err(FormError::BadEscape));
        assert_eq!(parse("message=%ff"), Err(FormError::NotUtf8));
    }

    #[test]
    fn levels() {
        assert_eq!(parse_level("debug"), Some(Level::DEBUG));
        assert_eq!(parse_level(" ERROR "), Some(Level::ERROR));
        assert_eq!(parse_level("-3"), Some(Level(-3)));
        assert_eq!(parse_level(""), None);
    }
}
