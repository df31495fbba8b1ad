//! herald's own wire format for a message list, encoded with `postcard`.
//!
//! A *body* is what both storages carry (the cookie signs it, the session stores it as is):
//!
//! ```text
//! body    = version:u8  issued_at:varint(u64)  continued:bool  count:varint  message*count
//! message = level:zigzag-varint(i32)  text:str  extra_tags:option<str>  safe:bool
//! str     = len:varint  utf8-bytes          option<str> = 0x00 | 0x01 str
//! ```
//!
//! All integers are postcard varints (LEB128, 7 bits a byte). `version` is
//! [`FORMAT_VERSION`]; a decoder refuses any other, so the format can evolve. `continued`
//! is the not-finished marker of fallback storage: more messages follow in the session.
//!
//! [`body_len`] predicts the exact encoded size without encoding, which is what lets
//! truncation choose what fits in one pass.

use core::fmt;

use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};
use serde::{Serialize, Serializer};

use crate::header::map_postcard;
pub use crate::header::{DecodeError, FORMAT_VERSION, Header, peek_issued_at};
use crate::list::{ListView, MessageStore};
use crate::message::Message;
use crate::signer::{SealError, SealWriter, Signer};

/// Why a list could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is smaller than the encoded body; `needed` is its exact size.
    BufferTooSmall {
        /// The exact number of bytes the body needs.
        needed: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed } => {
                write!(
                    f,
                    "output buffer too small: the encoded body needs {needed} bytes"
                )
            }
        }
    }
}

impl core::error::Error for EncodeError {}

/// Bytes a postcard varint of `v` takes.
pub const fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

const fn zigzag(v: i32) -> u64 {
    ((v << 1) ^ (v >> 31)) as u32 as u64
}

fn str_len(s: &str) -> usize {
    varint_len(s.len() as u64) + s.len()
}

/// The exact encoded size of one message.
pub fn message_len(m: &Message<'_>) -> usize {
    varint_len(zigzag(m.level.0))
        + str_len(m.message)
        + m.extra_tags.map_or(1, |e| 1 + str_len(e))
        + 1
}

/// The exact size of a body's framing (everything but the messages) for `count` messages.
pub fn framing_len(header: &Header, count: usize) -> usize {
    1 + varint_len(header.issued_at) + 1 + varint_len(count as u64)
}

/// The exact encoded size of a body holding `messages`, computed without encoding.
pub fn body_len(header: &Header, messages: ListView<'_>) -> usize {
    framing_len(header, messages.len()) + messages.iter().map(|m| message_len(&m)).sum::<usize>()
}

struct SeqOf<'a>(ListView<'a>);

impl Serialize for SeqOf<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

#[derive(Serialize)]
struct BodyOut<'a> {
    issued_at: u64,
    continued: bool,
    messages: SeqOf<'a>,
}

/// Encodes `messages` with `header` into `out` and returns the number of bytes written.
///
/// # Errors
/// [`EncodeError::BufferTooSmall`] when `out` is shorter than [`body_len`].
pub fn encode_body(
    header: &Header,
    messages: ListView<'_>,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let needed = body_len(header, messages);
    if out.len() < needed {
        return Err(EncodeError::BufferTooSmall { needed });
    }
    let (version, rest) = out[..needed].split_at_mut(1);
    version[0] = FORMAT_VERSION;
    let body = BodyOut {
        issued_at: header.issued_at,
        continued: header.continued,
        messages: SeqOf(messages),
    };
    let written = postcard::to_slice(&body, rest)
        .map_err(|_| EncodeError::BufferTooSmall { needed })?
        .len();
    debug_assert_eq!(
        written + 1,
        needed,
        "body_len must predict the encoding exactly"
    );
    Ok(written + 1)
}

struct SealFlavor<'w, 'o>(&'w mut SealWriter<'o>);

impl postcard::ser_flavors::Flavor for SealFlavor<'_, '_> {
    type Output = ();
    #[inline]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.write_byte(byte);
        Ok(())
    }
    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.write(data);
        Ok(())
    }
    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Encodes `messages` with `header` and signs the body in one pass, writing the signed
/// value (`base64url(body || mac)`) into `out`. The body is never held whole in memory.
///
/// # Errors
/// [`SealError::BufferTooSmall`] when `out` is shorter than the signed value
/// ([`truncate::signed_len`](crate::truncate::signed_len)).
pub fn seal_body<'o, const F: usize>(
    header: &Header,
    messages: ListView<'_>,
    signer: &Signer<F>,
    out: &'o mut [u8],
) -> Result<&'o str, SealError> {
    let mut writer = signer.seal_writer(out);
    writer.write(&[FORMAT_VERSION]);
    let body = BodyOut {
        issued_at: header.issued_at,
        continued: header.continued,
        messages: SeqOf(messages),
    };
    // The flavor never fails; a short output is reported by `finish`.
    let _ = postcard::serialize_with_flavor(&body, SealFlavor(&mut writer));
    writer.finish()
}

/// Decodes a body, appending its messages to `into`, and returns its header.
///
/// On error `into` is left exactly as it was (messages appended before the error are
/// removed), so a bad body loses nothing that was already there.
///
/// # Errors
/// A [`DecodeError`] naming the malformation; [`DecodeError::Capacity`] when the messages
/// do not fit in `into`.
pub fn decode_body<S: MessageStore>(bytes: &[u8], into: &mut S) -> Result<Header, DecodeError> {
    let before = into.len();
    let result = decode_inner(bytes, into);
    if result.is_err() {
        into.truncate(before);
    }
    result
}

fn decode_inner<S: MessageStore>(bytes: &[u8], into: &mut S) -> Result<Header, DecodeError> {
    let (&version, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let mut problem = None;
    let mut de = postcard::Deserializer::from_bytes(rest);
    let seed = BodySeed {
        list: into,
        problem: &mut problem,
        remaining: rest.len(),
    };
    let header = match seed.deserialize(&mut de) {
        Ok(h) => h,
        Err(e) => return Err(problem.unwrap_or_else(|| map_postcard(e))),
    };
    let remaining = de.finalize().map_err(map_postcard)?;
    if !remaining.is_empty() {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(header)
}

struct BodySeed<'l, 'p, S> {
    list: &'l mut S,
    problem: &'p mut Option<DecodeError>,
    /// The body's length after the version byte: an upper bound on the text it holds.
    remaining: usize,
}

impl<'de, S: MessageStore> DeserializeSeed<'de> for BodySeed<'_, '_, S> {
    type Value = Header;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Header, D::Error> {
        d.deserialize_tuple(3, self)
    }
}

impl<'de, S: MessageStore> Visitor<'de> for BodySeed<'_, '_, S> {
    type Value = Header;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a herald message body")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Header, A::Error> {
        let missing = || de::Error::custom("truncated");
        let issued_at: u64 = seq.next_element()?.ok_or_else(missing)?;
        let continued: bool = seq.next_element()?.ok_or_else(missing)?;
        seq.next_element_seed(MessagesSeed {
            list: self.list,
            problem: self.problem,
            remaining: self.remaining,
        })?
        .ok_or_else(missing)?;
        Ok(Header {
            issued_at,
            continued,
        })
    }
}

struct MessagesSeed<'l, 'p, S> {
    list: &'l mut S,
    problem: &'p mut Option<DecodeError>,
    remaining: usize,
}

impl<'de, S: MessageStore> DeserializeSeed<'de> for MessagesSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: MessageStore> Visitor<'de> for MessagesSeed<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence of messages")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // The body's bytes bound the text it holds: one reservation instead of regrowing.
        // A message takes at least 5 bytes, so a hostile count reserves nothing extra.
        let count = seq.size_hint().unwrap_or(0).min(self.remaining / 5);
        self.list.reserve(count, self.remaining);
        while let Some(m) = seq.next_element::<Message<'de>>()? {
            if m.message.is_empty() {
                *self.problem = Some(DecodeError::EmptyText);
                return Err(de::Error::custom("empty text"));
            }
            if let Err(e) = self.list.push(m) {
                *self.problem = Some(DecodeError::Capacity(e));
                return Err(de::Error::custom("capacity"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use crate::list::{CapacityError, MessageList};

    fn list(msgs: &[Message<'_>]) -> MessageList<512, 16> {
        let mut l = MessageList::new();
        for m in msgs {
            l.push(*m).unwrap();
        }
        l
    }

    #[test]
    fn varint_len_matches_leb128() {
        for (v, n) in [
            (0u64, 1),
            (127, 1),
            (128, 2),
            (16383, 2),
            (16384, 3),
            (u64::MAX, 10),
        ] {
            assert_eq!(varint_len(v), n, "{v}");
        }
    }

    #[test]
    fn roundtrip_and_exact_size() {
        let l = list(&[
            Message::new(Level::INFO, "Profile saved."),
            Message {
                level: Level(-1_000_000),
                message: "ünïcode 😀",
                extra_tags: None,
                is_safe: true,
            },
            Message::new(Level(i32::MAX), "x").with_extra_tags("a b"),
        ]);
        let h = Header {
            issued_at: 1_700_000_000,
            continued: true,
        };
        let mut out = [0u8; 256];
        let n = encode_body(&h, l.view(), &mut out).unwrap();
        assert_eq!(n, body_len(&h, l.view()));
        let mut back: MessageList<512, 16> = MessageList::new();
        assert_eq!(decode_body(&out[..n], &mut back), Ok(h));
        assert_eq!(back.len(), 3);
        for (a, b) in l.iter().zip(back.iter()) {
            assert_eq!(
                (a.level, a.message, a.extra_tags, a.is_safe),
                (b.level, b.message, b.extra_tags, b.is_safe)
            );
        }
        // Exact layout of a small body.
        let one = list(&[Message::new(Level::INFO, "Hi")]);
        let n = encode_body(&Header::default(), one.view(), &mut out).unwrap();
        assert_eq!(&out[..n], &[1, 0, 0, 1, 40, 2, b'H', b'i', 1, 0, 0]);
    }

    #[test]
    fn buffer_too_small_reports_exact_need() {
        let l = list(&[Message::new(Level::INFO, "Hello")]);
        let need = body_len(&Header::default(), l.view());
        let mut out = [0u8; 64];
        assert_eq!(
            encode_body(&Header::default(), l.view(), &mut out[..need - 1]),
            Err(EncodeError::BufferTooSmall { needed: need })
        );
        assert_eq!(
            encode_body(&Header::default(), l.view(), &mut out[..0]),
            Err(EncodeError::BufferTooSmall { needed: need })
        );
        assert_eq!(
            encode_body(&Header::default(), l.view(), &mut out[..need]),
            Ok(need)
        );
    }

    #[test]
    fn every_malformation_has_its_own_error() {
        let mut l: MessageList<64, 4> = MessageList::new();
        let mut d = |b: &[u8]| decode_body(b, &mut l);
        assert_eq!(d(&[]), Err(DecodeError::Empty));
        assert_eq!(d(&[2, 0, 0, 0]), Err(DecodeError::UnsupportedVersion(2)));
        assert_eq!(d(&[1, 0, 0]), Err(DecodeError::Truncated));
        assert_eq!(
            d(&[
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0
            ]),
            Err(DecodeError::BadVarint)
        );
        assert_eq!(d(&[1, 0, 2, 0]), Err(DecodeError::BadBool));
        assert_eq!(
            d(&[1, 0, 0, 1, 40, 1, b'x', 2, 0]),
            Err(DecodeError::BadOption)
        );
        assert_eq!(
            d(&[1, 0, 0, 1, 40, 1, 0xff, 0, 0]),
            Err(DecodeError::BadUtf8)
        );
        assert_eq!(d(&[1, 0, 0, 1, 40, 0, 0, 0]), Err(DecodeError::EmptyText));
        assert_eq!(d(&[1, 0, 0, 0, 9]), Err(DecodeError::TrailingBytes));
        assert_eq!(
            d(&[1, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, b'x', 0, 0]),
            Err(DecodeError::BadVarint)
        );
        assert_eq!(
            d(&[
                1, 0, 0, 5, 40, 1, b'a', 0, 0, 40, 1, b'b', 0, 0, 40, 1, b'c', 0, 0, 40, 1, b'd',
                0, 0, 40, 1, b'e', 0, 0
            ]),
            Err(DecodeError::Capacity(CapacityError::TooManyMessages))
        );
        assert_eq!(d(&[1, 0, 0, 0]), Ok(Header::default()));
        assert!(l.is_empty(), "a failed decode appends nothing");
    }
}
