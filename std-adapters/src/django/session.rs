//! Django's `SessionStorage` value: the JSON string under the session's `_messages` key
//! (RULES §5).

use super::json::{self, JsonStyle, ToDjangoJson};
use super::{DecodeError, DjangoItem};

/// `SessionStorage.serialize_messages`: the JSON string Django stores under
/// [`SESSION_KEY`](super::SESSION_KEY), written with Python's default separators
/// `", "` and `": "` and `ensure_ascii` (R-5.2), e.g.
/// `[["__json_message", 0, 20, "Hello", ""]]`.
///
/// Returns `None` for an empty list: Django then removes the key instead (R-5.2).
///
/// ```
/// use herald_flash::django::{encode_session, DjangoMessage};
/// let s = encode_session(&[DjangoMessage::new(20, "Hello")]).unwrap();
/// assert_eq!(s, r#"[["__json_message", 0, 20, "Hello", ""]]"#);
/// ```
pub fn encode_session<T: ToDjangoJson>(items: &[T]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item.write_django_json(&mut out, JsonStyle::Spaced);
    }
    out.push(']');
    Some(out)
}

/// `SessionStorage.deserialize_messages` on the string stored under `_messages` (R-5.3):
/// JSON with Django's message post-processing (R-4.14). There is no signature, no
/// latin-1 step, no size limit, and a sentinel is not special here (`all_retrieved` is
/// always true for the session).
///
/// An empty string gives `Ok(Some(vec![]))` (Django returns it unchanged and the storage
/// reads it as no messages); a JSON `null` gives `Ok(None)`.
///
/// # Errors
/// [`DecodeError::BadJson`] for text that is not JSON (Django raises
/// `JSONDecodeError` here: the session storage does not catch it);
/// [`DecodeError::BadMessage`], [`DecodeError::Unsupported`] and
/// [`DecodeError::NotAList`] as for the cookie.
pub fn decode_session(data: &str) -> Result<Option<Vec<DjangoItem>>, DecodeError> {
    if data.is_empty() {
        return Ok(Some(Vec::new()));
    }
    json::parse_payload(data)
}
