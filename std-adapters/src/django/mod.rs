//! Django wire compatibility: Django's `messages` cookie and session entry, byte for byte.
//!
//! A Rust service and a Django service sharing one `SECRET_KEY` can hand flash messages
//! to each other: whatever one writes, the other reads, in both directions. This module
//! implements RULES §3 – §6 (Django 6.1 / 5.2 `contrib.messages`):
//!
//! * [`DjangoCodec`]: the signed `messages` cookie: Python's compact `ensure_ascii` JSON
//!   of each message (R-4.1, R-4.2), zlib compression when it saves at least 2 bytes and
//!   the `.` prefix (R-3.6), base64url, the `TimestampSigner` layout with a base62
//!   timestamp and the `django.http.cookies` + `SECRET_KEY` key derivation (R-3.2 –
//!   R-3.5), `SECRET_KEY_FALLBACKS` on verify, the 2048-character limit and Django's exact
//!   bisection for what fits (R-4.5, R-4.7), the not-finished sentinel, and Django's
//!   reading rules including the latin-1 quirk (R-4.12 – R-4.21).
//! * [`CookieSettings`]: the `Set-Cookie` header text, exactly as Django sends it, for
//!   setting (R-4.10) and deleting (R-4.11) the cookie.
//! * [`encode_session`] / [`decode_session`]: the JSON string under the session's
//!   `_messages` key (R-5.2, R-5.3).
//!
//! In herald's own storages, [`WireFormat::Django`](crate::WireFormat::Django) (see
//! [`ConfigBuilder::wire_format`](crate::ConfigBuilder::wire_format)) makes the cookie,
//! session and fallback storages read and write this format, with every storage decision
//! still taken by the core inbox; list items that are not messages (plain JSON values, a
//! misplaced sentinel, empty texts) are left out of the inbox and reported with `tracing`.
//!
//! Compressed values are byte-identical to CPython's only with a deflate identical to
//! classic zlib's at level 6: this crate uses `flate2` on the system zlib (`libz-sys`).
//!
//! # What herald reads differently from Django
//!
//! Only values signed with the secret key can reach these cases (Django never writes
//! them for messages a view adds); herald reports each one as an error that
//! [`DecodeError::marks_used`] says Django would *not* treat as invalid:
//!
//! * a message whose text is not a string, whose extra tags are neither a string nor
//!   null, or whose level is outside `i32` ([`DecodeError::Unsupported`]);
//! * a truthy payload that is not a list, e.g. `"abc"` or `{"a": 1}` (Django iterates a
//!   string character by character and raises on the others; [`DecodeError::NotAList`]);
//! * JSON that Python accepts but `serde_json` does not: lone surrogate escapes, numbers
//!   beyond the `f64` range, nesting deeper than 128 ([`DecodeError::Unsupported`]);
//!   `NaN`/`Infinity` literals are reported as [`DecodeError::BadJson`];
//! * integers beyond 64 bits in a raw (non-message) item are read as floats.
//!
//! Two limits of herald's own bound the work any cookie can cause, signed or not; Django
//! has neither, and herald's storages treat a value past either as invalid:
//!
//! * a cookie value longer than [`MAX_VALUE_LEN`] (4096) bytes is refused before its
//!   signature is even looked at ([`DecodeError::TooLong`]); Django's cookie storage
//!   never writes more than 2048 characters;
//! * a compressed payload stops inflating at [`MAX_INFLATED_LEN`] (64 KiB) and is then
//!   refused ([`DecodeError::InflatedTooLarge`]). Django writes such a value only for a
//!   list of well over a thousand messages that compress into one cookie (1821
//!   identical `"Saved."` messages are the first to pass it).
//!
//! Every other value Django writes for messages, and every vector of the conformance
//! suite, reads exactly as in Django.
//!
//! [`DjangoCodec`]: crate::django::DjangoCodec
//! [`CookieSettings`]: crate::django::CookieSettings
//! [`encode_session`]: crate::django::encode_session
//! [`decode_session`]: crate::django::decode_session
//! [`DecodeError::marks_used`]: crate::django::DecodeError::marks_used
//! [`DecodeError::Unsupported`]: crate::django::DecodeError::Unsupported
//! [`DecodeError::NotAList`]: crate::django::DecodeError::NotAList
//! [`DecodeError::BadJson`]: crate::django::DecodeError::BadJson
//! [`DecodeError::TooLong`]: crate::django::DecodeError::TooLong
//! [`DecodeError::InflatedTooLarge`]: crate::django::DecodeError::InflatedTooLarge
//! [`MAX_VALUE_LEN`]: crate::django::MAX_VALUE_LEN
//! [`MAX_INFLATED_LEN`]: crate::django::MAX_INFLATED_LEN
//!
//! ```
//! use herald_flash::django::{CookieSettings, DjangoCodec, DjangoItem, DjangoMessage};
//! use herald_core::Message;
//!
//! let codec = DjangoCodec::new("django-insecure-secret");
//! // Anything Django can store: herald messages, Django messages, raw JSON items.
//! let messages = [Message::new(herald_core::Level::SUCCESS, "Profile saved.")];
//! let stored = codec.encode(&messages, true, 1_700_000_000, herald_flash::django::MAX_COOKIE_SIZE);
//! let header = stored.set_cookie_header(&CookieSettings::default());
//! assert!(header.starts_with("messages=W1siX19qc29uX21lc3NhZ2UiLDAsMjUs"));
//! assert!(header.ends_with("; HttpOnly; Path=/; SameSite=Lax"));
//!
//! let read = codec.decode(stored.value.as_deref().unwrap()).unwrap().unwrap();
//! let DjangoItem::Message(m) = &read.items[0] else { unreachable!() };
//! assert_eq!(m.as_message(), messages[0]);
//! ```

mod cookie;
pub(crate) mod json;
mod session;
mod signing;

use herald_core::level::TagTable;
use herald_core::{Level, Message};

pub use cookie::{
    CookieSettings, Decoded, DjangoCodec, Encoded, InvalidSameSite, decode_payload,
    messages_cookie_from_header,
};
pub use herald_core::signer::KeyUsed;
pub use json::{JsonStyle, ToDjangoJson};
pub use session::{decode_session, encode_session};

// Building blocks of the codec, public only for herald's own tests, fuzz targets and
// command-line tool; they are not part of the supported API.
pub(crate) use cookie::python_cookie_quote;
#[doc(hidden)]
pub use cookie::{
    bisect_keep_left, bisect_keep_right, cookie_size, fits_default_limit, python_cookie_unquote,
};
#[doc(hidden)]
pub use json::{python_float_repr, to_python_json};
#[cfg(feature = "fuzzing")]
pub(crate) use signing::zlib_decompress_into;
#[doc(hidden)]
pub use signing::{b62_decode, b62_encode, python_b64_decode};

/// The cookie's name, `CookieStorage.cookie_name`.
pub const COOKIE_NAME: &str = "messages";
/// Django's size limit for the cookie value, inclusive (R-4.5).
pub const MAX_COOKIE_SIZE: usize = 2048;
/// The not-finished sentinel: a cookie ending with it has more messages in the session.
pub const NOT_FINISHED: &str = "__messagesnotfinished__";
/// The first element of a serialized message array.
pub const MESSAGE_KEY: &str = "__json_message";
/// The signing salt of the messages cookie, `CookieStorage.key_salt`.
pub const KEY_SALT: &str = "django.contrib.messages";
/// The session key of `SessionStorage`.
pub const SESSION_KEY: &str = "_messages";
/// The longest cookie value [`DjangoCodec::decode`] looks at, in bytes (characters, for
/// the ASCII values Django writes): herald's own limit, as browsers keep at most 4096
/// bytes per cookie. A longer value is refused with [`DecodeError::TooLong`] before any
/// signature, base64 or zlib work, so a forged value costs no more than a real one.
pub const MAX_VALUE_LEN: usize = herald_core::signer::MAX_VALUE_LEN;
/// The most bytes a compressed payload may inflate to: 64 KiB. Django sets no such
/// limit; without one, a signed value of about 1.4 KiB inflates to a megabyte on every
/// request (and one of [`MAX_VALUE_LEN`] bytes to about 3 MiB). Inflation stops as soon
/// as the output passes the limit, and the payload is refused with
/// [`DecodeError::InflatedTooLarge`]. Real lists of messages stay far below it; only a
/// list of more than 1800 near-identical messages compresses into one cookie and
/// inflates past it.
pub const MAX_INFLATED_LEN: usize = 64 * 1024;

/// One Django `Message`, owned: what a Django cookie or session entry holds.
///
/// `PartialEq` here is structural (all four fields). Django's own equality (R-1.8: level
/// and text only) is that of [`herald_core::Message`]; compare
/// [`DjangoMessage::as_message`] views for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DjangoMessage {
    /// The level, `int(level)` (R-1.6).
    pub level: i32,
    /// The text.
    pub message: String,
    /// Extra tags; `None` is written by omitting the element (R-4.1), `Some("")` is kept.
    pub extra_tags: Option<String>,
    /// Whether the text is a `SafeData` (`mark_safe`) string.
    pub is_safe: bool,
}

impl DjangoMessage {
    /// A message as `storage.add(level, message)` makes it: extra tags `""`, not safe.
    pub fn new(level: i32, message: impl Into<String>) -> Self {
        DjangoMessage {
            level,
            message: message.into(),
            extra_tags: Some(String::new()),
            is_safe: false,
        }
    }

    /// The same message with `extra_tags` set (`None` omits the element on the wire).
    pub fn with_extra_tags(self, extra_tags: Option<&str>) -> Self {
        DjangoMessage {
            extra_tags: extra_tags.map(str::to_owned),
            ..self
        }
    }

    /// The same message with the safe flag set to `is_safe`.
    pub fn with_safe(self, is_safe: bool) -> Self {
        DjangoMessage { is_safe, ..self }
    }

    /// A borrowed herald view of this message.
    pub fn as_message(&self) -> Message<'_> {
        Message {
            level: Level(self.level),
            message: &self.message,
            extra_tags: self.extra_tags.as_deref(),
            is_safe: self.is_safe,
            expires_at: None,
        }
    }

    /// The level's tag in `table` (R-1.4).
    pub fn level_tag<'t>(&self, table: &TagTable<'t>) -> &'t str {
        table.level_tag(Level(self.level))
    }

    /// The full tag string in `table` (R-1.5): extra tags, then the level tag.
    pub fn tags(&self, table: &TagTable<'_>) -> String {
        table
            .tags(Level(self.level), self.extra_tags.as_deref())
            .to_string()
    }

    /// The canonical JSON array Django writes for this message (R-4.1).
    pub fn to_json_array(&self) -> serde_json::Value {
        let mut v = vec![
            serde_json::Value::from(MESSAGE_KEY),
            serde_json::Value::from(u8::from(self.is_safe)),
            serde_json::Value::from(self.level),
            serde_json::Value::from(self.message.as_str()),
        ];
        if let Some(extra) = &self.extra_tags {
            v.push(serde_json::Value::from(extra.as_str()));
        }
        serde_json::Value::Array(v)
    }

    /// The message Django reads from a JSON value, when the value is a message array
    /// (`["__json_message", ...]`, R-4.14); `None` for any other value or a malformed
    /// array. Messages nested in [`DjangoItem::Raw`] values are kept in this form.
    pub fn from_json_array(value: &serde_json::Value) -> Option<Self> {
        let items = value.as_array()?;
        if items.first()?.as_str()? != MESSAGE_KEY {
            return None;
        }
        json::message_from_elements(items).ok()
    }
}

impl From<Message<'_>> for DjangoMessage {
    fn from(m: Message<'_>) -> Self {
        DjangoMessage {
            level: m.level.0,
            message: m.message.to_owned(),
            extra_tags: m.extra_tags.map(str::to_owned),
            is_safe: m.is_safe,
        }
    }
}

impl<'a> From<&'a DjangoMessage> for Message<'a> {
    fn from(m: &'a DjangoMessage) -> Self {
        m.as_message()
    }
}

/// One element of a Django message list: a message, or any other JSON value stored next
/// to messages (the not-finished sentinel, or the plain strings of Django's own tests).
///
/// In a raw value, nested messages (Django decodes them anywhere inside lists and dict
/// values) are kept as their canonical arrays, which is exactly what Django writes back;
/// [`DjangoMessage::from_json_array`] reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DjangoItem {
    /// A message.
    Message(DjangoMessage),
    /// A plain JSON value.
    Raw(serde_json::Value),
}

impl DjangoItem {
    /// The message, if this item is one.
    pub fn as_message(&self) -> Option<&DjangoMessage> {
        match self {
            DjangoItem::Message(m) => Some(m),
            DjangoItem::Raw(_) => None,
        }
    }

    /// The not-finished sentinel item, `"__messagesnotfinished__"`.
    pub fn not_finished() -> Self {
        DjangoItem::Raw(serde_json::Value::from(NOT_FINISHED))
    }

    /// Whether this item is the not-finished sentinel string.
    pub fn is_not_finished(&self) -> bool {
        matches!(self, DjangoItem::Raw(serde_json::Value::String(s)) if s == NOT_FINISHED)
    }

    /// Django's equality between stored items (R-1.8): two messages are equal when level
    /// and text are; a message never equals a raw value; raw values compare as JSON.
    pub fn django_eq(&self, other: &DjangoItem) -> bool {
        match (self, other) {
            (DjangoItem::Message(a), DjangoItem::Message(b)) => a.as_message() == b.as_message(),
            (DjangoItem::Raw(a), DjangoItem::Raw(b)) => a == b,
            _ => false,
        }
    }
}

impl From<DjangoMessage> for DjangoItem {
    fn from(m: DjangoMessage) -> Self {
        DjangoItem::Message(m)
    }
}

impl From<Message<'_>> for DjangoItem {
    fn from(m: Message<'_>) -> Self {
        DjangoItem::Message(m.into())
    }
}

/// Why a Django value was not read.
///
/// [`DecodeError::marks_used`] separates the values Django itself rejects as invalid
/// (it returns no messages and deletes the cookie on the next `update()`, R-4.20) from
/// correctly signed values on which Django raises an exception (R-4.21) or that herald
/// cannot represent; a storage may treat both as invalid.
///
/// More variants may be added, so a `match` on it needs a catch-all arm.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// No `:` in the value, or no key (current or fallback) produces its signature: a
    /// tampered or truncated value, another key, another salt, another algorithm
    /// (R-4.19). Django: `BadSignature`, invalid.
    #[error(
        "bad signature: the value is not signed by any configured key for Django's messages cookie"
    )]
    BadSignature,
    /// The signed part is not valid base64 (R-3.1). Django: `binascii.Error`, invalid.
    #[error("bad base64 in the signed value: {0}")]
    BadBase64(String),
    /// The payload is not JSON. Django: `JSONDecodeError`, invalid.
    #[error("the payload is not valid JSON: {0}")]
    BadJson(String),
    /// The signature is valid but there is no timestamp part or it is not base62.
    /// Django raises `ValueError` (R-4.21).
    #[error(
        "the signature is valid but the timestamp is missing or not base62 (Django raises ValueError)"
    )]
    BadTimestamp,
    /// The value has the `.` prefix but is not a zlib stream. Django raises `zlib.error`
    /// (R-4.21).
    #[error(
        "the payload is marked compressed but does not inflate: {0} (Django raises zlib.error)"
    )]
    BadCompression(String),
    /// A message array Django cannot build a `Message` from (wrong number of elements, a
    /// level that is not an integer). Django raises `TypeError`, `IndexError` or
    /// `ValueError` (R-4.14, R-4.21).
    #[error("malformed message array: {0}")]
    BadMessage(String),
    /// A message Django accepts but herald cannot represent: a text that is not a string,
    /// extra tags that are neither a string nor null, a level outside `i32`.
    #[error("message not representable in herald: {0}")]
    Unsupported(String),
    /// The payload is a truthy JSON value that is not a list (an object, a non-empty
    /// string, a non-zero number, `true`). Django raises on most of these and would
    /// iterate a string character by character; herald refuses them.
    #[error("the payload is not a list of messages: {0}")]
    NotAList(serde_json::Value),
    /// The cookie value is longer than [`MAX_VALUE_LEN`] bytes (the length is given).
    /// It is refused before its signature is checked, so it may or may not be signed.
    /// Django reads values of any length; herald refuses them.
    #[error(
        "the cookie value is {0} bytes long, more than the {max} herald reads",
        max = MAX_VALUE_LEN
    )]
    TooLong(usize),
    /// The value is signed and marked compressed, but its payload inflates to more than
    /// [`MAX_INFLATED_LEN`] bytes; inflation stopped there. Django inflates without a
    /// limit; herald refuses it.
    #[error(
        "the compressed payload inflates to more than {max} bytes",
        max = MAX_INFLATED_LEN
    )]
    InflatedTooLarge,
}

impl DecodeError {
    /// Whether Django catches this error, returns no messages and marks the storage used
    /// so that the next `update()` deletes the cookie (R-4.20): a bad signature, bad
    /// base64 or bad JSON. For the other variants Django raises, or herald refuses a
    /// value Django would read (too long, inflating past the limit, or not
    /// representable); herald's storages still treat all of them but
    /// [`DecodeError::Unsupported`] as invalid, and clear them.
    pub fn marks_used(&self) -> bool {
        matches!(
            self,
            DecodeError::BadSignature | DecodeError::BadBase64(_) | DecodeError::BadJson(_)
        )
    }
}

/// Python's `str.isspace` (what `str.strip()` removes): Rust's `char::is_whitespace`
/// plus the four information separators U+001C – U+001F.
pub(crate) fn py_is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// What the crate keeps to itself, checked by doctests that must not compile (only built
/// for `cargo test --doc`).
///
/// The cookie quoting helper is internal to the crate:
///
/// ```compile_fail,E0603
/// let _ = herald_flash::django::python_cookie_quote("a b");
/// ```
///
/// and so is the JSON string writer:
///
/// ```compile_fail,E0603
/// let mut out = String::new();
/// herald_flash::django::json::write_str(&mut out, "a");
/// ```
///
/// [`DecodeError`] may grow, so a `match` naming every variant without a catch-all arm
/// is refused outside the crate:
///
/// ```compile_fail,E0004
/// use herald_flash::django::DecodeError;
/// fn name(e: &DecodeError) -> &'static str {
///     match e {
///         DecodeError::BadSignature => "signature",
///         DecodeError::BadBase64(_) => "base64",
///         DecodeError::BadJson(_) => "json",
///         DecodeError::BadTimestamp => "timestamp",
///         DecodeError::BadCompression(_) => "compression",
///         DecodeError::BadMessage(_) => "message",
///         DecodeError::Unsupported(_) => "unsupported",
///         DecodeError::NotAList(_) => "not a list",
///         DecodeError::TooLong(_) => "too long",
///         DecodeError::InflatedTooLarge => "too large",
///     }
/// }
/// ```
///
/// while the same `match` with one compiles, as do the hidden helpers the crate's own
/// tools use:
///
/// ```
/// use herald_flash::django::DecodeError;
/// fn name(e: &DecodeError) -> &'static str {
///     match e {
///         DecodeError::TooLong(_) => "too long",
///         DecodeError::InflatedTooLarge => "too large",
///         _ => "other",
///     }
/// }
/// assert_eq!(name(&DecodeError::TooLong(5000)), "too long");
/// assert_eq!(herald_flash::django::python_cookie_unquote("\"a\\073\""), "a;");
/// assert_eq!(herald_flash::django::b62_decode("1r31eq"), Some(1_700_000_000));
/// ```
#[cfg(doctest)]
pub struct VisibilityChecks;

#[cfg(test)]
mod tests {
    use super::*;

    const _: () = assert!(MAX_INFLATED_LEN > MAX_VALUE_LEN);

    #[test]
    fn the_codec_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<super::DjangoCodec>();
        assert_send_sync::<super::CookieSettings>();
        assert_send_sync::<super::DjangoItem>();
    }

    #[test]
    fn the_limits_are_herald_refusals_not_django_ones() {
        assert_eq!(MAX_VALUE_LEN, herald_core::signer::MAX_VALUE_LEN);
        assert_eq!(MAX_INFLATED_LEN, 64 * 1024);
        for e in [DecodeError::TooLong(5000), DecodeError::InflatedTooLarge] {
            assert!(!e.marks_used(), "{e}");
        }
        assert_eq!(
            DecodeError::TooLong(5000).to_string(),
            "the cookie value is 5000 bytes long, more than the 4096 herald reads"
        );
    }
}
