//! The header every herald body starts with (format version, issued-at time, the
//! not-finished marker) and the errors of reading a body. Shared by the signer, which
//! checks a verified value's age, and the codec, which reads and writes whole bodies.

use core::fmt;

use crate::list::CapacityError;

/// The version byte that starts every body this crate writes. Version 2 added the
/// per-message expiry; see [`codec`](crate::codec) for both layouts.
pub const FORMAT_VERSION: u8 = 2;

/// The oldest version the decoder still reads: bodies of versions
/// `MIN_READ_VERSION..=FORMAT_VERSION` decode, so values written before an upgrade are
/// still shown after it.
pub const MIN_READ_VERSION: u8 = 1;

/// Whether bodies starting with `version` can be read.
pub const fn is_readable_version(version: u8) -> bool {
    version >= MIN_READ_VERSION && version <= FORMAT_VERSION
}

/// What a body says besides its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// When the body was written, in seconds (the caller's clock; Unix time in practice).
    pub issued_at: u64,
    /// The not-finished marker: more messages are stored in the session (RULES ).
    pub continued: bool,
}

/// Why bytes could not be decoded as a body. Every kind of malformed input has its own
/// variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// No bytes at all.
    Empty,
    /// The version byte is not one this decoder reads ([`MIN_READ_VERSION`] to
    /// [`FORMAT_VERSION`]).
    UnsupportedVersion(u8),
    /// The input ends in the middle of a field.
    Truncated,
    /// A varint is longer than its type allows or overflows it.
    BadVarint,
    /// A bool byte is neither 0 nor 1.
    BadBool,
    /// An option tag is neither 0 nor 1.
    BadOption,
    /// A text or extra-tags field is not valid UTF-8.
    BadUtf8,
    /// A message has an empty text, which no encoder writes.
    EmptyText,
    /// A message's flags byte (format 2) has bits no encoder sets.
    BadFlags,
    /// A message's expiry does not fit in 64 bits once added to the issued-at time.
    BadExpiry,
    /// Bytes remain after the last message.
    TrailingBytes,
    /// The messages do not fit in the destination list.
    Capacity(CapacityError),
    /// Any other malformation reported by the postcard decoder.
    Malformed,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("empty message body"),
            DecodeError::UnsupportedVersion(v) => write!(f, "unsupported format version {v}"),
            DecodeError::Truncated => f.write_str("message body is truncated"),
            DecodeError::BadVarint => f.write_str("bad varint in message body"),
            DecodeError::BadBool => f.write_str("bad bool in message body"),
            DecodeError::BadOption => f.write_str("bad option tag in message body"),
            DecodeError::BadUtf8 => f.write_str("message text is not valid UTF-8"),
            DecodeError::EmptyText => f.write_str("message with empty text"),
            DecodeError::BadFlags => f.write_str("unknown bits in a message's flags"),
            DecodeError::BadExpiry => f.write_str("a message's expiry overflows"),
            DecodeError::TrailingBytes => f.write_str("trailing bytes after the messages"),
            DecodeError::Capacity(e) => write!(f, "decoded messages do not fit: {e}"),
            DecodeError::Malformed => f.write_str("malformed message body"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Reads just the version and issued-at time at the start of a body.
///
/// # Errors
/// [`DecodeError::Empty`], [`DecodeError::UnsupportedVersion`], [`DecodeError::Truncated`]
/// or [`DecodeError::BadVarint`].
pub fn peek_issued_at(body: &[u8]) -> Result<u64, DecodeError> {
    let (&version, rest) = body.split_first().ok_or(DecodeError::Empty)?;
    if !is_readable_version(version) {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    postcard::take_from_bytes::<u64>(rest)
        .map(|(v, _)| v)
        .map_err(map_postcard)
}

pub(crate) fn map_postcard(e: postcard::Error) -> DecodeError {
    use postcard::Error as E;
    match e {
        E::DeserializeUnexpectedEnd => DecodeError::Truncated,
        E::DeserializeBadVarint => DecodeError::BadVarint,
        E::DeserializeBadBool => DecodeError::BadBool,
        E::DeserializeBadOption => DecodeError::BadOption,
        E::DeserializeBadUtf8 => DecodeError::BadUtf8,
        _ => DecodeError::Malformed,
    }
}
