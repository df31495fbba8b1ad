//! Signing: HMAC-SHA256 over a body, bound to a purpose and a cookie name, with key
//! rotation, written as base64url without padding.
//!
//! A signed value is `base64url_nopad(body || mac)`, where `body` is a
//! [codec](crate::codec) body (version byte, issued-at time, messages) and
//!
//! ```text
//! mac = HMAC-SHA256(K, body)
//! K   = HMAC-SHA256(secret, "herald-v1 message signing key\0"
//!                           || u64le(len(purpose)) || purpose
//!                           || u64le(len(cookie_name)) || cookie_name)
//! ```
//!
//! Binding the purpose and the cookie name into the key (domain separation) means a value
//! signed for another purpose or another cookie never verifies here, even under the same
//! secret; the secret may have any length. The keyed HMAC state is computed once in
//! [`Signer::new`] and cloned per value, so signing a value costs exactly one HMAC pass
//! over its bytes — the same compressions as a bare HMAC-SHA256 of the body.
//!
//! Verification decodes strict base64url (no padding, canonical trailing bits), then
//! checks the MAC in constant time (`verify_slice`) with the current key and then each
//! fallback key in order, and reports which one matched ([`KeyUsed`]).

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::header::{self, DecodeError};

type HmacSha256 = Hmac<Sha256>;

/// Length in bytes of the MAC appended to every signed body.
pub const MAC_LEN: usize = 32;
/// The longest signed value accepted or written, in characters: browsers keep at most
/// 4096 bytes per cookie.
pub const MAX_VALUE_LEN: usize = 4096;
/// The longest raw (base64-decoded) signed value: `MAX_VALUE_LEN * 3 / 4`.
pub const MAX_RAW_LEN: usize = MAX_VALUE_LEN / 4 * 3;
/// Default maximum number of fallback keys a [`Signer`] holds.
pub const DEFAULT_FALLBACKS: usize = 4;

/// The length of the base64url (unpadded) text of `raw_len` bytes.
pub const fn encoded_len(raw_len: usize) -> usize {
    (raw_len * 4).div_ceil(3)
}

/// The largest raw length whose base64url text is at most `value_len` characters.
pub const fn max_raw_len(value_len: usize) -> usize {
    value_len * 3 / 4
}

/// The scratch space [`Signer::open`] needs for a value of `value_len` characters.
pub const fn scratch_len(value_len: usize) -> usize {
    value_len.div_ceil(4) * 3
}

/// Which key verified a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyUsed {
    /// The current key: the value is up to date.
    Current,
    /// The fallback key at this index: the value should be re-signed with the current key.
    Fallback(usize),
}

/// The shortest secret a [`Signer`] accepts, in bytes: 256 bits, the size of the HMAC-SHA256
/// key it derives. Use random bytes (for example 32 from the operating system's generator),
/// not a password.
pub const MIN_SECRET_LEN: usize = 32;

/// Why a [`Signer`] could not be built from the keys it was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// More fallback keys than the signer's capacity.
    TooManyFallbacks {
        /// The signer's fallback capacity.
        capacity: usize,
    },
    /// The current secret is shorter than [`MIN_SECRET_LEN`].
    SecretTooShort {
        /// Its length in bytes.
        len: usize,
    },
    /// A fallback secret is shorter than [`MIN_SECRET_LEN`].
    FallbackTooShort {
        /// Its position among the fallbacks.
        index: usize,
        /// Its length in bytes.
        len: usize,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::TooManyFallbacks { capacity } => write!(
                f,
                "too many fallback keys: this signer holds at most {capacity}"
            ),
            KeyError::SecretTooShort { len } => write!(
                f,
                "the secret is {len} bytes long; at least {MIN_SECRET_LEN} random bytes are required"
            ),
            KeyError::FallbackTooShort { index, len } => write!(
                f,
                "fallback secret #{index} is {len} bytes long; at least {MIN_SECRET_LEN} random bytes are required"
            ),
        }
    }
}

impl core::error::Error for KeyError {}

/// Why a value could not be signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The output buffer is shorter than the sealed value; `needed` is its exact length.
    BufferTooSmall {
        /// The exact number of characters the sealed value needs.
        needed: usize,
    },
    /// The body is longer than the cipher can encrypt under one nonce (XChaCha20's
    /// 256 GiB; never a cookie).
    TooLong,
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SealError::BufferTooSmall { needed } => {
                write!(
                    f,
                    "output buffer too small: the sealed value needs {needed} bytes"
                )
            }
            SealError::TooLong => f.write_str("body too long for one encrypted value"),
        }
    }
}

impl core::error::Error for SealError {}

/// Why a sealed (signed or encrypted) value was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// The value is longer than the scratch buffer allows (for an inbox: longer than
    /// [`MAX_VALUE_LEN`]).
    TooLong,
    /// The value is not canonical unpadded base64url.
    BadBase64,
    /// The decoded value is too short to hold a body and a MAC.
    TooShort,
    /// No key authenticates the value (its MAC or its AEAD tag): tampered, truncated,
    /// sealed with an unknown key, or sealed for another purpose or cookie.
    BadSignature,
    /// The value verified but is older than the allowed maximum age.
    Expired {
        /// When the value was issued.
        issued_at: u64,
        /// The current time the caller passed in.
        now: u64,
    },
    /// The value verified but its body header is malformed (for example an unknown
    /// format version); only a key holder can produce this.
    Body(DecodeError),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::TooLong => f.write_str("signed value is too long"),
            OpenError::BadBase64 => f.write_str("signed value is not canonical base64url"),
            OpenError::TooShort => f.write_str("signed value is too short"),
            OpenError::BadSignature => f.write_str("signature does not match any key"),
            OpenError::Expired { issued_at, now } => {
                write!(f, "signed value expired (issued at {issued_at}, now {now})")
            }
            OpenError::Body(e) => write!(f, "signed body is malformed: {e}"),
        }
    }
}

impl core::error::Error for OpenError {}

/// A verified value: its body (borrowed from the caller's scratch buffer) and the key
/// that verified it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opened<'s> {
    /// The verified body, ready for [`codec::decode_body`](crate::codec::decode_body).
    pub body: &'s [u8],
    /// When the body says it was issued.
    pub issued_at: u64,
    /// Which key verified it.
    pub key: KeyUsed,
}

/// Derives a 256-bit key for `label` (what the key is for), `purpose` and `cookie_name`
/// from a secret of any length: `HMAC-SHA256(secret, label || u64le(len(purpose)) ||
/// purpose || u64le(len(cookie_name)) || cookie_name)`. Signing and encryption use
/// different labels, so one secret never yields the same key for both.
pub(crate) fn derive_key(
    secret: &[u8],
    label: &[u8],
    purpose: &str,
    cookie_name: &str,
) -> [u8; 32] {
    let mut kdf = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    kdf.update(label);
    kdf.update(&(purpose.len() as u64).to_le_bytes());
    kdf.update(purpose.as_bytes());
    kdf.update(&(cookie_name.len() as u64).to_le_bytes());
    kdf.update(cookie_name.as_bytes());
    kdf.finalize().into_bytes().into()
}

/// Checks the secrets' lengths and count for a sealer with `capacity` fallback keys.
pub(crate) fn check_secrets(
    secret: &[u8],
    fallbacks: &[&[u8]],
    capacity: usize,
) -> Result<(), KeyError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(KeyError::SecretTooShort { len: secret.len() });
    }
    if fallbacks.len() > capacity {
        return Err(KeyError::TooManyFallbacks { capacity });
    }
    match fallbacks.iter().position(|f| f.len() < MIN_SECRET_LEN) {
        Some(index) => Err(KeyError::FallbackTooShort {
            index,
            len: fallbacks[index].len(),
        }),
        None => Ok(()),
    }
}

/// The keyed HMAC state for `purpose` and `cookie_name`.
fn bound_state(secret: &[u8], purpose: &str, cookie_name: &str) -> HmacSha256 {
    let key = derive_key(
        secret,
        b"herald-v1 message signing key\0",
        purpose,
        cookie_name,
    );
    HmacSha256::new_from_slice(&key).expect("HMAC accepts keys of any length")
}

/// Signs with one current key and verifies with it or any of up to `FALLBACKS` fallback
/// keys (key rotation: move the old secret to the fallbacks, sign with the new one).
///
/// The signer owns precomputed HMAC states, so it is built once (at start-up) and shared;
/// it allocates nothing.
///
/// ```
/// use herald_core::signer::{Signer, KeyUsed};
/// let old_secret = b"the old secret: 32 random bytes or more";
/// let old = Signer::<4>::new(old_secret, "flash", "messages", &[]).unwrap();
/// let new = Signer::<4>::new(b"the new secret: 32 random bytes or more", "flash", "messages", &[old_secret]).unwrap();
/// let mut out = [0u8; 128];
/// let value = old.seal(&[1, 0, 0, 0], &mut out).unwrap();
/// let mut scratch = [0u8; 128];
/// let opened = new.open(value.as_bytes(), 0, None, &mut scratch).unwrap();
/// assert_eq!(opened.key, KeyUsed::Fallback(0));
/// ```
#[derive(Clone)]
pub struct Signer<const FALLBACKS: usize = DEFAULT_FALLBACKS> {
    current: HmacSha256,
    fallbacks: arrayvec::ArrayVec<HmacSha256, FALLBACKS>,
}

impl<const FALLBACKS: usize> fmt::Debug for Signer<FALLBACKS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("fallback_keys", &self.fallbacks.len())
            .finish_non_exhaustive()
    }
}

impl<const FALLBACKS: usize> Signer<FALLBACKS> {
    /// A signer for `purpose` and `cookie_name`, signing with `secret` and also accepting
    /// values signed with any of `fallbacks` (in order).
    ///
    /// A compromised key is removed, never kept as a fallback: a fallback key verifies
    /// everything it ever signed.
    ///
    /// # Errors
    /// [`KeyError::SecretTooShort`] / [`KeyError::FallbackTooShort`] for a secret shorter
    /// than [`MIN_SECRET_LEN`] bytes, [`KeyError::TooManyFallbacks`] when `fallbacks` has
    /// more than `FALLBACKS` entries.
    pub fn new(
        secret: &[u8],
        purpose: &str,
        cookie_name: &str,
        fallbacks: &[&[u8]],
    ) -> Result<Self, KeyError> {
        check_secrets(secret, fallbacks, FALLBACKS)?;
        let mut states = arrayvec::ArrayVec::new();
        for fallback in fallbacks {
            // Cannot fail: the count was checked above.
            let _ = states.try_push(bound_state(fallback, purpose, cookie_name));
        }
        Ok(Signer {
            current: bound_state(secret, purpose, cookie_name),
            fallbacks: states,
        })
    }

    /// The number of fallback keys.
    pub fn fallback_count(&self) -> usize {
        self.fallbacks.len()
    }

    /// The MAC of `body` under the current key.
    pub fn mac(&self, body: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = self.current.clone();
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// Checks `tag` against the MAC of `body` under the current key, then each fallback key,
    /// in constant time per key.
    ///
    /// # Errors
    /// [`OpenError::BadSignature`] when no key matches.
    pub fn verify(&self, body: &[u8], tag: &[u8]) -> Result<KeyUsed, OpenError> {
        let check = |state: &HmacSha256| {
            let mut mac = state.clone();
            mac.update(body);
            mac.verify_slice(tag).is_ok()
        };
        if check(&self.current) {
            return Ok(KeyUsed::Current);
        }
        self.fallbacks
            .iter()
            .position(check)
            .map(KeyUsed::Fallback)
            .ok_or(OpenError::BadSignature)
    }

    /// Writes `base64url_nopad(body || mac(body))` into `out` and returns it.
    ///
    /// # Errors
    /// [`SealError::BufferTooSmall`] when `out` is shorter than
    /// `encoded_len(body.len() + MAC_LEN)`.
    pub fn seal<'o>(&self, body: &[u8], out: &'o mut [u8]) -> Result<&'o str, SealError> {
        if body.len() <= SEAL_BUF - MAC_LEN {
            let mut writer = self.seal_writer(out);
            writer.write(body);
            writer.finish()
        } else {
            let mut writer = self.seal_writer_long(out);
            writer.write(body);
            writer.finish()
        }
    }

    /// Starts a streaming seal into `out`: write the body in pieces, then
    /// [`SealWriter::finish`]. The body is MACed and base64-encoded in one pass, without
    /// ever being held whole in memory.
    #[inline(always)]
    pub fn seal_writer<'o>(&self, out: &'o mut [u8]) -> SealWriter<'o> {
        SealWriter::new(self, out)
    }

    /// [`seal_writer`](Self::seal_writer) with 768-byte blocks, for a body longer than a
    /// few hundred bytes: the same value, computed in fewer, longer MAC updates.
    ///
    /// ```
    /// use herald_core::Signer;
    /// let signer: Signer = Signer::new(b"a key for the example, 32 bytes!", "p", "c", &[]).unwrap();
    /// let body = [7u8; 2000];
    /// let (mut a, mut b) = ([0u8; 3000], [0u8; 3000]);
    /// let mut long = signer.seal_writer_long(&mut a);
    /// long.write(&body);
    /// assert_eq!(long.finish().unwrap(), signer.seal(&body, &mut b).unwrap());
    /// ```
    #[inline(always)]
    pub fn seal_writer_long<'o>(&self, out: &'o mut [u8]) -> SealWriter<'o, SEAL_BUF_LONG> {
        SealWriter::new(self, out)
    }

    /// Verifies a signed value and returns its body, decoded into `scratch`, which needs
    /// [`scratch_len`]`(value.len())` bytes ([`MAX_RAW_LEN`] covers every value).
    ///
    /// `now` is the caller's current time in seconds; with `max_age = Some(age)` a value
    /// issued more than `age` seconds before `now` is rejected. Values issued in the future
    /// (clock skew between servers) are accepted.
    ///
    /// # Errors
    /// [`OpenError::TooLong`] when the value does not fit in `scratch`;
    /// [`OpenError::BadBase64`] for non-canonical base64url; [`OpenError::TooShort`];
    /// [`OpenError::BadSignature`] when no key matches; [`OpenError::Body`] when the
    /// verified body's header is malformed; [`OpenError::Expired`] past `max_age`.
    pub fn open<'s>(
        &self,
        value: &[u8],
        now: u64,
        max_age: Option<u64>,
        scratch: &'s mut [u8],
    ) -> Result<Opened<'s>, OpenError> {
        if scratch_len(value.len()) > scratch.len() {
            return Err(OpenError::TooLong);
        }
        let n = decode_canonical(value, scratch)?;
        let raw = &scratch[..n];
        if raw.len() <= MAC_LEN {
            return Err(OpenError::TooShort);
        }
        let (body, tag) = raw.split_at(raw.len() - MAC_LEN);
        let key = self.verify(body, tag)?;
        let issued_at = header::peek_issued_at(body).map_err(OpenError::Body)?;
        if let Some(age) = max_age
            && now > issued_at.saturating_add(age)
        {
            return Err(OpenError::Expired { issued_at, now });
        }
        Ok(Opened {
            body,
            issued_at,
            key,
        })
    }
}

/// Decodes strict unpadded base64url (canonical trailing bits) into `scratch`.
pub(crate) fn decode_canonical(value: &[u8], scratch: &mut [u8]) -> Result<usize, OpenError> {
    URL_SAFE_NO_PAD
        .decode_slice(value, scratch)
        .map_err(|_| OpenError::BadBase64)
}

/// The buffer of a [`SealWriter`] for a short body: blocks of 192 body bytes (a multiple
/// of 3 for base64 and of 64 for SHA-256) and room for the tag.
pub const SEAL_BUF: usize = 192 + MAC_LEN;
/// The buffer [`Signer::seal_writer_long`] uses for a long body: blocks of 768 bytes.
pub const SEAL_BUF_LONG: usize = 768 + MAC_LEN;

/// A streaming sealer: bytes written to it are MACed and base64url-encoded in blocks of
/// `BUF - MAC_LEN` bytes (192 by default; `BUF` must exceed [`MAC_LEN`] by a multiple of
/// 192), so a body can be serialized straight into its signed form. Made by
/// [`Signer::seal_writer`] and [`Signer::seal_writer_long`].
///
/// Larger blocks mean fewer, longer MAC updates: SHA-256 then runs at its full rate (in
/// software, 192-byte updates of bytes written just before ran ~30 % slower than 768-byte
/// ones), at the price of zeroing a larger buffer for every value.
pub struct SealWriter<'o, const BUF: usize = SEAL_BUF> {
    mac: HmacSha256,
    out: &'o mut [u8],
    written: usize,
    raw_len: usize,
    /// Pending body bytes (fewer than a block), with room for the tag after them.
    buf: [u8; BUF],
    buf_len: usize,
    overflow: bool,
}

impl<'o, const BUF: usize> SealWriter<'o, BUF> {
    /// The block: body bytes MACed and encoded at a time.
    const BLOCK: usize = {
        assert!(BUF > MAC_LEN && (BUF - MAC_LEN).is_multiple_of(192));
        BUF - MAC_LEN
    };

    #[inline(always)]
    fn new<const F: usize>(signer: &Signer<F>, out: &'o mut [u8]) -> Self {
        SealWriter {
            mac: signer.current.clone(),
            out,
            written: 0,
            raw_len: 0,
            buf: [0; BUF],
            buf_len: 0,
            overflow: false,
        }
    }

    /// Appends body bytes. A too-small output is reported by [`SealWriter::finish`].
    #[inline]
    pub fn write(&mut self, data: &[u8]) {
        // Fast path: most writes are a few bytes of framing or one text, and fit in the
        // block without filling it.
        let end = self.buf_len + data.len();
        if end < Self::BLOCK {
            self.raw_len += data.len();
            self.buf[self.buf_len..end].copy_from_slice(data);
            self.buf_len = end;
        } else {
            self.write_blocks(data);
        }
    }

    /// Appends one body byte (the serializer's varints and tags): [`write`](Self::write)
    /// without the slice copy.
    #[inline]
    pub fn write_byte(&mut self, byte: u8) {
        if self.buf_len + 1 < Self::BLOCK {
            self.raw_len += 1;
            self.buf[self.buf_len] = byte;
            self.buf_len += 1;
        } else {
            self.write_blocks(&[byte]);
        }
    }

    /// The slow path of [`write`](Self::write): fills, MACs and encodes whole blocks.
    #[inline(never)]
    fn write_blocks(&mut self, mut data: &[u8]) {
        self.raw_len += data.len();
        while !data.is_empty() {
            let take = (Self::BLOCK - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len == Self::BLOCK {
                self.mac.update(&self.buf[..Self::BLOCK]);
                self.flush_block();
            }
        }
    }

    /// Encodes the full block (already MACed) and empties it.
    fn flush_block(&mut self) {
        if !self.overflow {
            match URL_SAFE_NO_PAD
                .encode_slice(&self.buf[..Self::BLOCK], &mut self.out[self.written..])
            {
                Ok(n) => self.written += n,
                Err(_) => self.overflow = true,
            }
        }
        self.buf_len = 0;
    }

    /// Appends the MAC, finishes the base64 text and returns it.
    ///
    /// # Errors
    /// [`SealError::BufferTooSmall`] when the output buffer was too short.
    #[inline]
    pub fn finish(mut self) -> Result<&'o str, SealError> {
        // Worked on in place: the writer (its block and MAC state) is not moved.
        let needed = encoded_len(self.raw_len + MAC_LEN);
        let pending = self.buf_len;
        self.mac.update(&self.buf[..pending]);
        // The buffer keeps room for the tag after the pending bytes (fewer than a block):
        // the last base64 piece is encoded in one call.
        let tag = self.mac.clone().finalize().into_bytes();
        self.buf[pending..pending + MAC_LEN].copy_from_slice(&tag);
        let out = core::mem::take(&mut self.out);
        let written = self.written;
        match (self.overflow, out.get_mut(written..)) {
            (false, Some(rest)) => {
                match URL_SAFE_NO_PAD.encode_slice(&self.buf[..pending + MAC_LEN], rest) {
                    Ok(n) => {
                        debug_assert_eq!(written + n, needed);
                        let out: &'o [u8] = out;
                        Ok(core::str::from_utf8(&out[..written + n]).expect("base64 is ASCII"))
                    }
                    Err(_) => Err(SealError::BufferTooSmall { needed }),
                }
            }
            _ => Err(SealError::BufferTooSmall { needed }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid secret (32 bytes or more) named after `name`.
    fn key(name: &[u8]) -> [u8; 40] {
        let mut k = [b'.'; 40];
        k[..name.len()].copy_from_slice(name);
        k
    }

    fn signer(secret: &[u8], fallbacks: &[&[u8]]) -> Signer {
        Signer::new(secret, "flash", "messages", fallbacks).unwrap()
    }

    #[test]
    fn seal_matches_plain_hmac_and_base64() {
        let s = signer(&key(b"k"), &[]);
        for len in [
            1usize, 2, 3, 100, 191, 192, 193, 383, 384, 385, 767, 768, 769, 1500, 1535, 1536, 1537,
            2000,
        ] {
            let body: [u8; 2000] = core::array::from_fn(|i| (i * 7 + len) as u8);
            let body = &body[..len];
            let mut out = [0u8; 4096];
            let value = s.seal(body, &mut out).unwrap();
            let mut raw = [0u8; 2100];
            raw[..len].copy_from_slice(body);
            raw[len..len + MAC_LEN].copy_from_slice(&s.mac(body));
            let mut expect = [0u8; 4096];
            let n = URL_SAFE_NO_PAD
                .encode_slice(&raw[..len + MAC_LEN], &mut expect)
                .unwrap();
            assert_eq!(value.as_bytes(), &expect[..n], "len {len}");
            assert_eq!(value.len(), encoded_len(len + MAC_LEN));
            let need = value.len();
            assert_eq!(
                s.seal(body, &mut out[..need - 1]),
                Err(SealError::BufferTooSmall { needed: need })
            );
        }
    }

    /// Both writers, fed in pieces of every size from 1 to 200 bytes, write what `seal`
    /// writes, across their block boundaries.
    #[test]
    fn short_and_long_writers_agree_in_any_pieces() {
        let s = signer(&key(b"k"), &[]);
        let body: [u8; 1700] = core::array::from_fn(|i| (i * 13 + 5) as u8);
        for len in [0usize, 191, 192, 193, 767, 768, 769, 1536, 1537, 1700] {
            let body = &body[..len];
            let mut expect = [0u8; 2400];
            let expect = s.seal(body, &mut expect).unwrap();
            for piece in 1..=200 {
                let (mut a, mut b) = ([0u8; 2400], [0u8; 2400]);
                let mut short = s.seal_writer(&mut a);
                let mut long = s.seal_writer_long(&mut b);
                for chunk in body.chunks(piece) {
                    short.write(chunk);
                    long.write(chunk);
                }
                assert_eq!(
                    short.finish().unwrap(),
                    expect,
                    "short, len {len}, pieces {piece}"
                );
                assert_eq!(
                    long.finish().unwrap(),
                    expect,
                    "long, len {len}, pieces {piece}"
                );
            }
        }
    }

    #[test]
    fn open_accepts_own_and_fallback_and_rejects_others() {
        let body = [1u8, 200, 1, 0, 0];
        let (mut a, mut b) = ([0u8; 128], [0u8; 128]);
        let mut scratch = [0u8; 128];
        let v = signer(&key(b"one"), &[]).seal(&body, &mut a).unwrap();
        let ok = signer(&key(b"one"), &[])
            .open(v.as_bytes(), 0, None, &mut scratch)
            .unwrap();
        assert_eq!(
            (ok.body, ok.key, ok.issued_at),
            (&body[..], KeyUsed::Current, 200)
        );
        let rotated = signer(&key(b"two"), &[&key(b"zero"), &key(b"one")]);
        assert_eq!(
            rotated
                .open(v.as_bytes(), 0, None, &mut scratch)
                .unwrap()
                .key,
            KeyUsed::Fallback(1)
        );
        assert_eq!(
            signer(&key(b"two"), &[&key(b"zero")]).open(v.as_bytes(), 0, None, &mut scratch),
            Err(OpenError::BadSignature)
        );
        // Domain separation: same secret, other purpose or cookie name.
        let other_purpose: Signer = Signer::new(&key(b"one"), "other", "messages", &[]).unwrap();
        let other_cookie: Signer = Signer::new(&key(b"one"), "flash", "msgs", &[]).unwrap();
        assert_eq!(
            other_purpose.open(v.as_bytes(), 0, None, &mut scratch),
            Err(OpenError::BadSignature)
        );
        assert_eq!(
            other_cookie.open(v.as_bytes(), 0, None, &mut scratch),
            Err(OpenError::BadSignature)
        );
        // Ambiguity of the domain encoding: "ab"+"c" differs from "a"+"bc".
        let x = Signer::<0>::new(&key(b"k"), "ab", "c", &[])
            .unwrap()
            .seal(&body, &mut b)
            .unwrap();
        assert_eq!(
            Signer::<0>::new(&key(b"k"), "a", "bc", &[]).unwrap().open(
                x.as_bytes(),
                0,
                None,
                &mut scratch
            ),
            Err(OpenError::BadSignature)
        );
    }

    #[test]
    fn max_age_and_malformed_inputs() {
        let s = signer(&key(b"k"), &[]);
        let mut out = [0u8; 128];
        let mut scratch = [0u8; 128];
        let v = s.seal(&[1, 100, 0, 0], &mut out).unwrap();
        assert!(s.open(v.as_bytes(), 110, Some(10), &mut scratch).is_ok());
        assert_eq!(
            s.open(v.as_bytes(), 111, Some(10), &mut scratch),
            Err(OpenError::Expired {
                issued_at: 100,
                now: 111
            })
        );
        assert!(
            s.open(v.as_bytes(), 0, Some(10), &mut scratch).is_ok(),
            "future is accepted"
        );
        assert_eq!(s.open(b"", 0, None, &mut scratch), Err(OpenError::TooShort));
        assert_eq!(
            s.open(b"a=", 0, None, &mut scratch),
            Err(OpenError::BadBase64)
        );
        assert_eq!(
            s.open(b"a+b/", 0, None, &mut scratch),
            Err(OpenError::BadBase64)
        );
        assert_eq!(
            s.open(b"AAAA", 0, None, &mut scratch),
            Err(OpenError::TooShort)
        );
        let mut padded = [0u8; 130];
        padded[..v.len()].copy_from_slice(v.as_bytes());
        padded[v.len()] = b'=';
        assert_eq!(
            s.open(&padded[..v.len() + 1], 0, None, &mut scratch),
            Err(OpenError::BadBase64)
        );
        let long = [b'A'; MAX_VALUE_LEN + 4];
        assert_eq!(
            s.open(&long, 0, None, &mut scratch),
            Err(OpenError::TooLong)
        );
        assert_eq!(
            s.open(&long[..400], 0, None, &mut scratch),
            Err(OpenError::TooLong)
        );
        // A verified body with a bad header is a body error, not a panic.
        let v = s.seal(&[9, 0], &mut out).unwrap();
        assert_eq!(
            s.open(v.as_bytes(), 0, None, &mut scratch),
            Err(OpenError::Body(DecodeError::UnsupportedVersion(9)))
        );
    }

    #[test]
    fn every_single_bit_flip_is_rejected() {
        let s = signer(&key(b"k"), &[&key(b"old")]);
        let mut out = [0u8; 256];
        let body: [u8; 100] = core::array::from_fn(|i| if i == 0 { 1 } else { i as u8 });
        let v = s.seal(&body, &mut out).unwrap();
        let mut value = [0u8; 256];
        let n = v.len();
        value[..n].copy_from_slice(v.as_bytes());
        let mut scratch = [0u8; 256];
        for i in 0..n {
            for bit in 0..8 {
                value[i] ^= 1 << bit;
                assert!(
                    s.open(&value[..n], 0, None, &mut scratch).is_err(),
                    "byte {i} bit {bit}"
                );
                value[i] ^= 1 << bit;
            }
        }
        assert!(s.open(&value[..n], 0, None, &mut scratch).is_ok());
    }

    #[test]
    fn secrets_shorter_than_32_bytes_are_refused_with_a_typed_error() {
        let ok = [7u8; MIN_SECRET_LEN];
        for len in [0, 1, MIN_SECRET_LEN - 1] {
            assert_eq!(
                Signer::<4>::new(&ok[..len], "p", "c", &[]).err(),
                Some(KeyError::SecretTooShort { len })
            );
            assert_eq!(
                Signer::<4>::new(&ok, "p", "c", &[&ok, &ok[..len]]).err(),
                Some(KeyError::FallbackTooShort { index: 1, len })
            );
        }
        assert_eq!(
            Signer::<1>::new(&ok, "p", "c", &[&ok, &ok]).err(),
            Some(KeyError::TooManyFallbacks { capacity: 1 })
        );
        assert!(Signer::<1>::new(&ok, "p", "c", &[&ok]).is_ok());
    }
}
