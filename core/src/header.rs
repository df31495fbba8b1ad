//! The header every herald body starts with (format version, issued-at time, the
//! not-finished marker) and the errors of reading a body. Shared by the signer, which
//! checks a verified value's age, and the codec, which reads and writes whole bodies.

use core::fmt;

use crate::level::Level;
use crate::list::CapacityError;
use crate::message::Message;

/// Bit 0 of a format-2 message's flags byte: `is_safe`.
pub(crate) const FLAG_SAFE: u8 = 1;
/// Bit 1 of a format-2 message's flags byte: an expiry follows.
pub(crate) const FLAG_EXPIRES: u8 = 2;

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
    /// Any other malformation. This crate's decoder names every case above; the variant
    /// is kept for other decoders of the format.
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
    Reader::new(rest).varint_u64()
}

/// Reads the fields of a body as postcard encodes them (and with postcard's errors: a
/// varint longer than its type or overflowing it is `BadVarint`, bytes that end early are
/// `Truncated`), directly rather than through serde. `codec::tests::matches_postcard_decoding`
/// checks the two agree on valid, truncated and corrupted bodies.
pub(crate) struct Reader<'b> {
    rest: &'b [u8],
    /// A UTF-8-checked prefix of the bytes from the point [`Reader::check_utf8_ahead`]
    /// was called, and how many bytes there were then: texts that lie inside it are
    /// sliced from it instead of being checked one by one.
    checked: &'b str,
    checked_from_len: usize,
}

impl<'b> Reader<'b> {
    pub(crate) const fn new(rest: &'b [u8]) -> Self {
        Reader {
            rest,
            checked: "",
            checked_from_len: 0,
        }
    }

    /// Checks the UTF-8 of all the bytes not read yet in one pass, up to the first byte
    /// that is not valid UTF-8 there. A body's messages are mostly text, and their framing
    /// (levels, lengths under 128, option and flag bytes) is ASCII, so this usually covers
    /// every text to come: one long check instead of one call per text. The result of
    /// reading is the same either way; a text outside the checked prefix is checked alone.
    pub(crate) fn check_utf8_ahead(&mut self) {
        let valid = match core::str::from_utf8(self.rest) {
            Ok(all) => all,
            // Safe Rust has no unchecked `&str`: the valid prefix is checked a second time,
            // which only bodies whose framing is not all ASCII pay.
            Err(e) => core::str::from_utf8(&self.rest[..e.valid_up_to()]).unwrap_or_default(),
        };
        self.checked = valid;
        self.checked_from_len = self.rest.len();
    }

    /// The bytes not read yet.
    pub(crate) const fn remaining(&self) -> usize {
        self.rest.len()
    }

    #[inline(always)]
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let (&b, rest) = self.rest.split_first().ok_or(DecodeError::Truncated)?;
        self.rest = rest;
        Ok(b)
    }

    /// A varint of at most `max_len` bytes whose last byte is at most `max_last`.
    #[inline(always)]
    fn varint(&mut self, max_len: usize, max_last: u8) -> Result<u64, DecodeError> {
        let first = self.byte()?;
        if first < 0x80 {
            return Ok(u64::from(first));
        }
        let mut out = u64::from(first & 0x7f);
        for i in 1..max_len {
            let b = self.byte()?;
            out |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if i == max_len - 1 && b > max_last {
                    return Err(DecodeError::BadVarint);
                }
                return Ok(out);
            }
        }
        Err(DecodeError::BadVarint)
    }

    pub(crate) fn varint_u64(&mut self) -> Result<u64, DecodeError> {
        self.varint(10, 0x01)
    }

    #[inline(always)]
    pub(crate) fn varint_usize(&mut self) -> Result<usize, DecodeError> {
        const BITS: usize = usize::BITS as usize;
        let v = self.varint(BITS.div_ceil(7), (1u8 << (BITS % 7)) - 1)?;
        usize::try_from(v).map_err(|_| DecodeError::BadVarint)
    }

    #[inline(always)]
    fn zigzag_i32(&mut self) -> Result<i32, DecodeError> {
        let n = self.varint(5, 0x0f)? as u32;
        Ok(((n >> 1) as i32) ^ -((n & 1) as i32))
    }

    pub(crate) fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::BadBool),
        }
    }

    #[inline(always)]
    fn str(&mut self) -> Result<&'b str, DecodeError> {
        let len = self.varint_usize()?;
        if self.rest.len() < len {
            return Err(DecodeError::Truncated);
        }
        // Where the text starts in the checked prefix (`rest` is always a suffix of the
        // bytes that prefix was taken from).
        let at = self.checked_from_len - self.rest.len();
        let (text, rest) = self.rest.split_at(len);
        self.rest = rest;
        match self.checked.get(at..at + len) {
            // Inside the checked prefix and on character boundaries: valid UTF-8.
            Some(checked) => Ok(checked),
            // Outside it (or cut inside a character, which `from_utf8` refuses too).
            None => core::str::from_utf8(text).map_err(|_| DecodeError::BadUtf8),
        }
    }

    #[inline(always)]
    pub(crate) fn message(
        &mut self,
        version: u8,
        issued_at: u64,
    ) -> Result<Message<'b>, DecodeError> {
        let level = Level(self.zigzag_i32()?);
        let message = self.str()?;
        let extra_tags = match self.byte()? {
            0 => None,
            1 => Some(self.str()?),
            _ => return Err(DecodeError::BadOption),
        };
        let (is_safe, expires_at) = if version == 1 {
            (self.bool()?, None)
        } else {
            let flags = self.byte()?;
            if flags & !(FLAG_SAFE | FLAG_EXPIRES) != 0 {
                return Err(DecodeError::BadFlags);
            }
            let expires_at = if flags & FLAG_EXPIRES != 0 {
                let delta = self.varint_u64()?;
                Some(issued_at.checked_add(delta).ok_or(DecodeError::BadExpiry)?)
            } else {
                None
            };
            (flags & FLAG_SAFE != 0, expires_at)
        };
        Ok(Message {
            level,
            message,
            extra_tags,
            is_safe,
            expires_at,
        })
    }
}
