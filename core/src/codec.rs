//! herald's own wire format for a message list: postcard's encoding of the layout below,
//! written and read directly (no serde on the request path; the tests check both
//! directions against postcard itself).
//!
//! A *body* is what both storages carry (the cookie signs or encrypts it, the session
//! stores it as is). This crate writes format 2:
//!
//! ```text
//! body    = version:u8  issued_at:varint(u64)  continued:bool  count:varint  message*count
//! message = level:zigzag-varint(i32)  text:str  extra_tags:option<str>  flags:u8  [expires_in]
//! flags   = bit 0: is_safe    bit 1: an expiry follows    (every other bit 0)
//! expires_in = varint(u64): expires_at - issued_at (0 when the message expires earlier)
//! str     = len:varint  utf8-bytes          option<str> = 0x00 | 0x01 str
//! ```
//!
//! All integers are postcard varints (LEB128, 7 bits a byte). `version` is
//! [`FORMAT_VERSION`]; the decoder also reads format 1, whose message ends with
//! `safe:bool` in place of `flags` and has no expiry (a format-2 body without expiries is
//! format 1 with another version byte), and refuses any other version, so the format can
//! evolve. `continued` is the not-finished marker of fallback storage: more messages follow
//! in the session. The expiry (R-11.5) is stored relative to the body's issued-at, so a
//! message shown within ten minutes costs two bytes.
//!
//! [`body_len`] predicts the exact encoded size without encoding, which is what lets
//! truncation choose what fits in one pass.

use core::fmt;

pub use crate::header::{
    DecodeError, FORMAT_VERSION, Header, MIN_READ_VERSION, is_readable_version, peek_issued_at,
};
use crate::header::{FLAG_EXPIRES, FLAG_SAFE, Reader};
use crate::list::{ListView, MessageStore, RawSizes};
use crate::message::Message;
use crate::signer::{MAC_LEN, SEAL_BUF, SealError, SealWriter, Signer};

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
#[inline]
pub const fn varint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    // ceil(bits / 7) for 1..=64 bits, without a division: (9 * bits + 64) / 64.
    (9 * bits + 64) >> 6
}

const fn zigzag(v: i32) -> u64 {
    ((v << 1) ^ (v >> 31)) as u32 as u64
}

/// The expiry as stored in a body issued at `issued_at`: seconds after it, 0 for a
/// message that expires earlier (it is then expired for every reader whose clock has
/// reached `issued_at`; an inbox never stores such a message, R-11.5).
const fn expires_in(expires_at: Option<u64>, issued_at: u64) -> Option<u64> {
    match expires_at {
        Some(t) => Some(t.saturating_sub(issued_at)),
        None => None,
    }
}

/// The exact encoded size of one message in a body issued at `issued_at` (the expiry is
/// stored relative to it).
pub fn message_len(m: &Message<'_>, issued_at: u64) -> usize {
    sizes_message_len(
        &RawSizes {
            level: m.level.0,
            text_len: m.message.len(),
            extra_len: m.extra_tags.map(str::len),
            expires_at: m.expires_at,
        },
        issued_at,
    )
}

fn bytes_len(len: usize) -> usize {
    varint_len(len as u64) + len
}

/// [`message_len`] from the stored sizes: the one formula every size prediction uses.
#[inline]
pub(crate) fn sizes_message_len(m: &RawSizes, issued_at: u64) -> usize {
    varint_len(zigzag(m.level))
        + bytes_len(m.text_len)
        + m.extra_len.map_or(1, |e| 1 + bytes_len(e))
        + 1
        + expires_in(m.expires_at, issued_at).map_or(0, varint_len)
}

/// The exact size of a body's framing (everything but the messages) for `count` messages.
pub fn framing_len(header: &Header, count: usize) -> usize {
    1 + varint_len(header.issued_at) + 1 + varint_len(count as u64)
}

/// The exact encoded size of a body holding `messages`, computed without encoding.
pub fn body_len(header: &Header, messages: ListView<'_>) -> usize {
    framing_len(header, messages.len())
        + messages
            .sizes()
            .map(|m| sizes_message_len(&m, header.issued_at))
            .sum::<usize>()
}

/// Where [`write_body`] puts a body's bytes: a slice of the exact size, or a sealing
/// writer that MACs and base64-encodes as it goes.
trait Sink {
    fn byte(&mut self, b: u8);
    fn bytes(&mut self, b: &[u8]);
}

/// A slice the body was sized for ([`body_len`]); never written past.
struct SliceSink<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn byte(&mut self, b: u8) {
        self.out[self.at] = b;
        self.at += 1;
    }
    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        self.out[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }
}

impl<const BUF: usize> Sink for SealWriter<'_, BUF> {
    #[inline]
    fn byte(&mut self, b: u8) {
        self.write_byte(b);
    }
    #[inline]
    fn bytes(&mut self, b: &[u8]) {
        self.write(b);
    }
}

/// A postcard varint (LEB128). The one-byte case (levels, most lengths and counts) is
/// inlined into the writer's loop; longer ones take a call.
#[inline(always)]
fn put_varint(s: &mut impl Sink, v: u64) {
    if v < 0x80 {
        s.byte(v as u8);
    } else {
        put_long_varint(s, v);
    }
}

#[inline(never)]
fn put_long_varint(s: &mut impl Sink, mut v: u64) {
    // Byte by byte: a copy of a few bytes would be a `memcpy` call.
    while v >= 0x80 {
        s.byte((v as u8) | 0x80);
        v >>= 7;
    }
    s.byte(v as u8);
}

#[inline(always)]
fn put_bytes(s: &mut impl Sink, text: &[u8]) {
    put_varint(s, text.len() as u64);
    s.bytes(text);
}

/// Writes the format-2 body of `messages` with `header`: exactly the bytes postcard
/// writes for the layout in the module docs (varints, `bool` and `option` bytes, strings
/// with their length), written directly rather than through serde, which is what the
/// encoding costs on top of the MAC or the cipher. `tests::matches_postcard` checks the
/// two agree.
fn write_body(header: &Header, messages: ListView<'_>, s: &mut impl Sink) {
    s.byte(FORMAT_VERSION);
    put_varint(s, header.issued_at);
    s.byte(u8::from(header.continued));
    put_varint(s, messages.len() as u64);
    for m in messages.raw() {
        put_varint(s, zigzag(m.level));
        put_bytes(s, m.text);
        match m.extra_tags {
            None => s.byte(0),
            Some(e) => {
                s.byte(1);
                put_bytes(s, e);
            }
        }
        let expires_in = expires_in(m.expires_at, header.issued_at);
        let flags = if m.is_safe { FLAG_SAFE } else { 0 }
            | if expires_in.is_some() {
                FLAG_EXPIRES
            } else {
                0
            };
        s.byte(flags);
        if let Some(e) = expires_in {
            put_varint(s, e);
        }
    }
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
    write_body_exact(header, messages, &mut out[..needed]);
    Ok(needed)
}

/// Writes the body of `messages` into `out`, which is exactly [`body_len`] bytes long.
pub(crate) fn write_body_exact(header: &Header, messages: ListView<'_>, out: &mut [u8]) {
    let mut sink = SliceSink { out, at: 0 };
    write_body(header, messages, &mut sink);
    debug_assert_eq!(
        sink.at,
        sink.out.len(),
        "body_len must predict the encoding exactly"
    );
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
    // A short output is reported by `finish`. A body that outgrows one 192-byte block is
    // MACed in 768-byte blocks (fewer, longer SHA-256 updates).
    if messages.text_len() + 8 * messages.len() <= SEAL_BUF - MAC_LEN {
        let mut writer = signer.seal_writer(out);
        write_body(header, messages, &mut writer);
        writer.finish()
    } else {
        let mut writer = signer.seal_writer_long(out);
        write_body(header, messages, &mut writer);
        writer.finish()
    }
}

/// What [`decode_body_at`] read besides the messages it appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The body's header.
    pub header: Header,
    /// How many messages the body holds, expired ones included.
    pub count: usize,
    /// How many of them had expired at the `now` passed in and were not appended (R-11.5).
    pub expired: usize,
}

/// Decodes a body, appending all its messages (expired or not: no time is known here) to
/// `into`, and returns its header. [`decode_body_at`] drops the expired ones.
///
/// On error `into` is left exactly as it was (messages appended before the error are
/// removed), so a bad body loses nothing that was already there.
///
/// # Errors
/// A [`DecodeError`] naming the malformation; [`DecodeError::Capacity`] when the messages
/// do not fit in `into`.
pub fn decode_body<S: MessageStore>(bytes: &[u8], into: &mut S) -> Result<Header, DecodeError> {
    decode_with(bytes, into, None).map(|d| d.header)
}

/// Decodes a body as [`decode_body`] does, but appends only the messages that have not
/// expired at `now` (R-11.5: an expired message is dropped when loaded and never shown).
///
/// # Errors
/// As [`decode_body`]; an expired message is still checked for malformation.
pub fn decode_body_at<S: MessageStore>(
    bytes: &[u8],
    into: &mut S,
    now: u64,
) -> Result<Decoded, DecodeError> {
    decode_with(bytes, into, Some(now))
}

fn decode_with<S: MessageStore>(
    bytes: &[u8],
    into: &mut S,
    now: Option<u64>,
) -> Result<Decoded, DecodeError> {
    let before = into.len();
    let result = decode_inner(bytes, into, now);
    if result.is_err() {
        into.truncate(before);
    }
    result
}

fn decode_inner<S: MessageStore>(
    bytes: &[u8],
    into: &mut S,
    now: Option<u64>,
) -> Result<Decoded, DecodeError> {
    let (&version, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if !is_readable_version(version) {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    let mut r = Reader::new(rest);
    let issued_at = r.varint_u64()?;
    let continued = r.bool()?;
    let count = r.varint_usize()?;
    r.check_utf8_ahead();
    // The body's bytes bound the text it holds: one reservation instead of regrowing.
    // A message takes at least 5 bytes, so a hostile count reserves nothing extra.
    let hint = if r.remaining() < count { 0 } else { count };
    into.reserve(hint.min(rest.len() / 5), rest.len());
    let mut expired = 0;
    for _ in 0..count {
        let m = r.message(version, issued_at)?;
        if m.message.is_empty() {
            return Err(DecodeError::EmptyText);
        }
        if now.is_some_and(|now| m.is_expired(now)) {
            expired += 1;
            continue;
        }
        into.push(m).map_err(DecodeError::Capacity)?;
    }
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(Decoded {
        header: Header {
            issued_at,
            continued,
        },
        count,
        expired,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};

    fn map_postcard(e: postcard::Error) -> DecodeError {
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

    // The serde description of the decoder, through postcard: the reference the
    // hand-written reader is checked against.
    fn decode_postcard<S: MessageStore>(
        bytes: &[u8],
        into: &mut S,
        now: Option<u64>,
    ) -> Result<Decoded, DecodeError> {
        let (&version, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
        if !is_readable_version(version) {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let mut problem = None;
        let mut de = postcard::Deserializer::from_bytes(rest);
        let seed = BodySeed {
            list: into,
            problem: &mut problem,
            remaining: rest.len(),
            version,
            now,
        };
        let decoded = match seed.deserialize(&mut de) {
            Ok(d) => d,
            Err(e) => return Err(problem.unwrap_or_else(|| map_postcard(e))),
        };
        let remaining = de.finalize().map_err(map_postcard)?;
        if !remaining.is_empty() {
            return Err(DecodeError::TrailingBytes);
        }
        Ok(decoded)
    }

    struct BodySeed<'l, 'p, S> {
        list: &'l mut S,
        problem: &'p mut Option<DecodeError>,
        /// The body's length after the version byte: an upper bound on the text it holds.
        remaining: usize,
        version: u8,
        now: Option<u64>,
    }

    impl<'de, S: MessageStore> DeserializeSeed<'de> for BodySeed<'_, '_, S> {
        type Value = Decoded;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Decoded, D::Error> {
            d.deserialize_tuple(3, self)
        }
    }

    impl<'de, S: MessageStore> Visitor<'de> for BodySeed<'_, '_, S> {
        type Value = Decoded;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a herald message body")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Decoded, A::Error> {
            let missing = || de::Error::custom("truncated");
            let issued_at: u64 = seq.next_element()?.ok_or_else(missing)?;
            let continued: bool = seq.next_element()?.ok_or_else(missing)?;
            let (count, expired) = seq
                .next_element_seed(MessagesSeed {
                    list: self.list,
                    problem: self.problem,
                    remaining: self.remaining,
                    version: self.version,
                    issued_at,
                    now: self.now,
                })?
                .ok_or_else(missing)?;
            Ok(Decoded {
                header: Header {
                    issued_at,
                    continued,
                },
                count,
                expired,
            })
        }
    }

    struct MessagesSeed<'l, 'p, S> {
        list: &'l mut S,
        problem: &'p mut Option<DecodeError>,
        remaining: usize,
        version: u8,
        issued_at: u64,
        now: Option<u64>,
    }

    impl<'de, S: MessageStore> DeserializeSeed<'de> for MessagesSeed<'_, '_, S> {
        type Value = (usize, usize);
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(usize, usize), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de, S: MessageStore> Visitor<'de> for MessagesSeed<'_, '_, S> {
        type Value = (usize, usize);
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a sequence of messages")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(usize, usize), A::Error> {
            // The body's bytes bound the text it holds: one reservation instead of regrowing.
            // A message takes at least 5 bytes, so a hostile count reserves nothing extra.
            let count = seq.size_hint().unwrap_or(0).min(self.remaining / 5);
            self.list.reserve(count, self.remaining);
            let (mut count, mut expired) = (0, 0);
            loop {
                let seed = MessageSeed {
                    problem: &mut *self.problem,
                    version: self.version,
                    issued_at: self.issued_at,
                };
                let Some(m) = seq.next_element_seed(seed)? else {
                    break;
                };
                count += 1;
                if m.message.is_empty() {
                    *self.problem = Some(DecodeError::EmptyText);
                    return Err(de::Error::custom("empty text"));
                }
                if self.now.is_some_and(|now| m.is_expired(now)) {
                    expired += 1;
                    continue;
                }
                if let Err(e) = self.list.push(m) {
                    *self.problem = Some(DecodeError::Capacity(e));
                    return Err(de::Error::custom("capacity"));
                }
            }
            Ok((count, expired))
        }
    }

    /// One message of a body of format `version` issued at `issued_at`.
    struct MessageSeed<'p> {
        problem: &'p mut Option<DecodeError>,
        version: u8,
        issued_at: u64,
    }

    impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
        type Value = Message<'de>;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Message<'de>, D::Error> {
            // Five elements at most; postcard reads only those the visitor asks for.
            d.deserialize_tuple(5, self)
        }
    }

    impl<'de> Visitor<'de> for MessageSeed<'_> {
        type Value = Message<'de>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a herald message")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Message<'de>, A::Error> {
            let missing = || de::Error::custom("truncated");
            let level: Level = seq.next_element()?.ok_or_else(missing)?;
            let message: &'de str = seq.next_element()?.ok_or_else(missing)?;
            let extra_tags: Option<&'de str> = seq.next_element()?.ok_or_else(missing)?;
            let (is_safe, expires_at) = if self.version == 1 {
                (seq.next_element::<bool>()?.ok_or_else(missing)?, None)
            } else {
                let flags: u8 = seq.next_element()?.ok_or_else(missing)?;
                if flags & !(FLAG_SAFE | FLAG_EXPIRES) != 0 {
                    *self.problem = Some(DecodeError::BadFlags);
                    return Err(de::Error::custom("bad flags"));
                }
                let expires_at = if flags & FLAG_EXPIRES != 0 {
                    let delta: u64 = seq.next_element()?.ok_or_else(missing)?;
                    match self.issued_at.checked_add(delta) {
                        Some(t) => Some(t),
                        None => {
                            *self.problem = Some(DecodeError::BadExpiry);
                            return Err(de::Error::custom("bad expiry"));
                        }
                    }
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

    /// The reference decode with `decode_body_at`'s contract (nothing appended on error).
    fn reference<S: MessageStore>(
        b: &[u8],
        into: &mut S,
        now: u64,
    ) -> Result<Decoded, DecodeError> {
        let before = into.len();
        let r = decode_postcard(b, into, Some(now));
        if r.is_err() {
            into.truncate(before);
        }
        r
    }

    #[test]
    fn matches_postcard_decoding() {
        let mut l: MessageList<4096, 64> = MessageList::new();
        // A text over 127 bytes has a two-byte length whose first byte is not ASCII: the
        // decoder's one-pass UTF-8 check stops there and the texts after it are checked
        // one by one (and the levels' long varints stop it too).
        let long = "ü".repeat(70);
        for (i, t) in ["a", "Profile saved.", "ünïcode 😀", "x", long.as_str()]
            .iter()
            .cycle()
            .take(12)
            .enumerate()
        {
            let mut m = Message::new(Level((i as i32 - 6) * 40_000), t).with_safe(i % 2 == 0);
            if i % 3 == 0 {
                m.extra_tags = None;
            } else if i % 3 == 1 {
                m = m.with_extra_tags("tags");
            }
            if i % 4 == 0 {
                m = m.with_expires_at(1_700_000_000 + 300 * i as u64);
            }
            l.push(m).unwrap();
        }
        let mut bodies: arrayvec::ArrayVec<arrayvec::ArrayVec<u8, 1024>, 16> =
            arrayvec::ArrayVec::new();
        for (issued_at, n) in [
            (0u64, 0usize),
            (1_700_000_000, 1),
            (1_700_000_000, 12),
            (u64::MAX - 5, 5),
        ] {
            let header = Header {
                issued_at,
                continued: n % 2 == 0,
            };
            let mut out = [0u8; 1024];
            let k = encode_body(&header, l.view().slice(0..n), &mut out).unwrap();
            bodies.push(out[..k].iter().copied().collect());
            // The same body as format 1 (its `safe` bytes are bools; flags bit 1 is not).
            let mut v1: arrayvec::ArrayVec<u8, 1024> = out[..k].iter().copied().collect();
            v1[0] = 1;
            bodies.push(v1);
        }
        let mut checked = 0;
        for body in &bodies {
            let body = &body[..];
            let mut case = |bytes: &[u8]| {
                for now in [0u64, 1_700_000_001, u64::MAX] {
                    let (mut a, mut b): (MessageList<4096, 64>, MessageList<4096, 64>) =
                        (MessageList::new(), MessageList::new());
                    let (ra, rb) = (
                        decode_body_at(bytes, &mut a, now),
                        reference(bytes, &mut b, now),
                    );
                    assert_eq!(ra, rb, "{bytes:?} at {now}");
                    assert_eq!(a.len(), b.len());
                    for (x, y) in a.iter().zip(b.iter()) {
                        assert_eq!(
                            (x.level, x.message, x.extra_tags, x.is_safe, x.expires_at),
                            (y.level, y.message, y.extra_tags, y.is_safe, y.expires_at)
                        );
                    }
                    // A small list: the same capacity errors.
                    let (mut a, mut b): (MessageList<8, 2>, MessageList<8, 2>) =
                        (MessageList::new(), MessageList::new());
                    assert_eq!(
                        decode_body_at(bytes, &mut a, now),
                        reference(bytes, &mut b, now)
                    );
                    checked += 1;
                }
            };
            for cut in 0..=body.len() {
                case(&body[..cut]);
            }
            let mut changed = [0u8; 1024];
            for i in 0..body.len() {
                for v in [0u8, 1, 2, 3, 4, 0x7f, 0x80, 0xff, body[i] ^ 0x40] {
                    changed[..body.len()].copy_from_slice(body);
                    changed[i] = v;
                    case(&changed[..body.len()]);
                }
            }
            let mut longer = [0u8; 1025];
            longer[..body.len()].copy_from_slice(body);
            case(&longer[..body.len() + 1]);
        }
        assert!(checked > 1000, "{checked}");
    }
    use serde::ser::SerializeTuple;
    use serde::{Serialize, Serializer};

    // The serde description of format 2, as postcard serializes it: the reference the
    // hand-written writer is checked against.
    /// One message as format 2 writes it.
    struct WireMessage<'m> {
        message: Message<'m>,
        issued_at: u64,
    }

    impl Serialize for WireMessage<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let m = &self.message;
            let expires_in = expires_in(m.expires_at, self.issued_at);
            let flags = if m.is_safe { FLAG_SAFE } else { 0 }
                | if expires_in.is_some() {
                    FLAG_EXPIRES
                } else {
                    0
                };
            // postcard writes no tuple length, so the optional fifth element costs nothing
            // when absent.
            let mut t = s.serialize_tuple(4 + usize::from(expires_in.is_some()))?;
            t.serialize_element(&m.level)?;
            t.serialize_element(m.message)?;
            t.serialize_element(&m.extra_tags)?;
            t.serialize_element(&flags)?;
            if let Some(e) = expires_in {
                t.serialize_element(&e)?;
            }
            t.end()
        }
    }

    struct SeqOf<'a> {
        messages: ListView<'a>,
        issued_at: u64,
    }

    impl Serialize for SeqOf<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.messages.iter().map(|message| WireMessage {
                message,
                issued_at: self.issued_at,
            }))
        }
    }

    #[derive(serde::Serialize)]
    struct BodyOut<'a> {
        issued_at: u64,
        continued: bool,
        messages: SeqOf<'a>,
    }

    #[test]
    fn matches_postcard() {
        let texts = ["a", "Profile saved.", "ünïcode 😀", &"long ".repeat(60)];
        let mut l: MessageList<4096, 64> = MessageList::new();
        for (i, t) in texts.iter().cycle().take(40).enumerate() {
            let mut m = Message::new(Level((i as i32 - 20) * 997), t).with_safe(i % 3 == 0);
            if i % 4 == 1 {
                m.extra_tags = None;
            } else if i % 4 == 2 {
                m = m.with_extra_tags("x y");
            }
            if i % 5 == 0 {
                m = m.with_expires_at(1_700_000_000 + (i as u64) * 1000);
            } else if i % 5 == 1 {
                m = m.with_expires_at(3);
            }
            l.push(m).unwrap();
        }
        for issued_at in [0, 127, 128, 1_700_000_000, u64::MAX] {
            for continued in [false, true] {
                for n in [0, 1, 7, 40] {
                    let header = Header {
                        issued_at,
                        continued,
                    };
                    let view = l.view().slice(0..n);
                    let mut ours = [0u8; 8192];
                    let k = encode_body(&header, view, &mut ours).unwrap();
                    let mut reference = [0u8; 8192];
                    reference[0] = FORMAT_VERSION;
                    let body = BodyOut {
                        issued_at,
                        continued,
                        messages: SeqOf {
                            messages: view,
                            issued_at,
                        },
                    };
                    let r = postcard::to_slice(&body, &mut reference[1..])
                        .unwrap()
                        .len()
                        + 1;
                    assert_eq!(&ours[..k], &reference[..r], "{issued_at} {continued} {n}");
                }
            }
        }
    }
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
        // Every bit length, at both ends: against counting LEB128's 7-bit groups.
        let groups = |mut v: u64| {
            let mut n = 1;
            while v >= 0x80 {
                v >>= 7;
                n += 1;
            }
            n
        };
        for bits in 0..64 {
            for v in [1u64 << bits, (1u64 << bits) - 1, (1u64 << bits) | 1] {
                assert_eq!(varint_len(v), groups(v), "{v}");
            }
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
                expires_at: Some(1_700_000_600),
            },
            Message::new(Level(i32::MAX), "x").with_extra_tags("a b"),
            Message::new(Level::INFO, "expired before issue").with_expires_at(5),
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
        assert_eq!(back.len(), 4);
        for (a, b) in l.iter().zip(back.iter()).take(3) {
            assert_eq!(
                (a.level, a.message, a.extra_tags, a.is_safe, a.expires_at),
                (b.level, b.message, b.extra_tags, b.is_safe, b.expires_at)
            );
        }
        // A message that expired before the body's issued-at is stored as expiring at it.
        assert_eq!(back.get(3).unwrap().expires_at, Some(1_700_000_000));
        // Exact layout of a small body, then of one with an expiry 600 s after issue.
        let one = list(&[Message::new(Level::INFO, "Hi")]);
        let n = encode_body(&Header::default(), one.view(), &mut out).unwrap();
        assert_eq!(&out[..n], &[2, 0, 0, 1, 40, 2, b'H', b'i', 1, 0, 0]);
        let h = Header {
            issued_at: 1000,
            continued: false,
        };
        let one = list(&[Message::new(Level::INFO, "Hi")
            .with_expires_at(1600)
            .with_safe(true)]);
        let n = encode_body(&h, one.view(), &mut out).unwrap();
        assert_eq!(n, body_len(&h, one.view()));
        assert_eq!(
            &out[..n],
            &[2, 0xe8, 0x07, 0, 1, 40, 2, b'H', b'i', 1, 0, 3, 0xd8, 0x04]
        );
    }

    #[test]
    fn format_1_is_still_read() {
        // The format-1 layout of the small body above: `safe:bool`, no expiry.
        let mut back: MessageList<64, 4> = MessageList::new();
        let v1 = [1, 0, 0, 2, 40, 2, b'H', b'i', 1, 0, 1, 40, 1, b'x', 0, 0];
        assert_eq!(decode_body(&v1, &mut back), Ok(Header::default()));
        let (a, b) = (back.get(0).unwrap(), back.get(1).unwrap());
        assert_eq!((a.message, a.is_safe, a.expires_at), ("Hi", true, None));
        assert_eq!((b.message, b.extra_tags, b.is_safe), ("x", None, false));
        // In format 1 the last byte is a bool: 3 is not one.
        let mut l: MessageList<64, 4> = MessageList::new();
        assert_eq!(
            decode_body(&[1, 0, 0, 1, 40, 1, b'x', 0, 3, 0], &mut l),
            Err(DecodeError::BadBool)
        );
        // A format-2 body without expiries is format 1 with another version byte.
        let mut out = [0u8; 64];
        let n = encode_body(&Header::default(), back.view(), &mut out).unwrap();
        assert_eq!((out[0], &out[1..n]), (2, &v1[1..]));
    }

    #[test]
    fn decode_at_drops_expired_messages_and_counts_them() {
        let h = Header {
            issued_at: 100,
            continued: true,
        };
        let l = list(&[
            Message::new(Level::INFO, "a").with_expires_at(150),
            Message::new(Level::INFO, "b"),
            Message::new(Level::INFO, "c").with_expires_at(151),
        ]);
        let mut out = [0u8; 64];
        let n = encode_body(&h, l.view(), &mut out).unwrap();
        for (now, shown, expired) in [
            (149, &["a", "b", "c"][..], 0),
            (150, &["b", "c"][..], 1),
            (151, &["b"][..], 2),
            (u64::MAX, &["b"][..], 2),
        ] {
            let mut back: MessageList<64, 4> = MessageList::new();
            let d = decode_body_at(&out[..n], &mut back, now).unwrap();
            assert_eq!((d.header, d.count, d.expired), (h, 3, expired), "now {now}");
            let texts: arrayvec::ArrayVec<&str, 4> = back.iter().map(|m| m.message).collect();
            assert_eq!(&texts[..], shown, "now {now}");
        }
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
        assert_eq!(d(&[3, 0, 0, 0]), Err(DecodeError::UnsupportedVersion(3)));
        assert_eq!(d(&[0, 0, 0, 0]), Err(DecodeError::UnsupportedVersion(0)));
        assert_eq!(
            d(&[2, 0, 0, 1, 40, 1, b'x', 0, 4]),
            Err(DecodeError::BadFlags)
        );
        assert_eq!(
            d(&[2, 0, 0, 1, 40, 1, b'x', 0, 2]),
            Err(DecodeError::Truncated)
        );
        assert_eq!(
            d(&[
                2, 2, 0, 1, 40, 1, b'x', 0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                0xff, 0x01
            ]),
            Err(DecodeError::BadExpiry)
        );
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
