//! Encrypted cookies (feature `encryption`): XChaCha20-Poly1305 over a body, bound to a
//! purpose and a cookie name, with key rotation, written as base64url without padding. The
//! client can neither read nor change the messages.
//!
//! An encrypted value is
//!
//! ```text
//! value = base64url_nopad(nonce || ciphertext || tag)
//! nonce = 24 bytes, fresh for every value (random, from the caller)
//! ciphertext, tag = XChaCha20-Poly1305(K, nonce, aad = "", body)     tag: 16 bytes
//! K     = HMAC-SHA256(secret, "herald-v1 message encryption key\0"
//!                             || u64le(len(purpose)) || purpose
//!                             || u64le(len(cookie_name)) || cookie_name)
//! ```
//!
//! where `body` is a [codec] body, as a signed value carries it. The value
//! is [`OVERHEAD`] = 40 bytes longer than the body before base64 (a signed one is 32), so
//! its exact length is known before encrypting and truncation still chooses in one pass
//! ([`truncate::fit_sealed`](crate::truncate::fit_sealed)).
//!
//! **Why XChaCha20-Poly1305.** Its 192-bit nonce can be drawn at random for every value,
//! by every server, with no counter to share: random 96-bit nonces (AES-GCM,
//! ChaCha20-Poly1305) must stop well before 2³² values per key, and a repeated nonce
//! reveals both texts. It is constant-time and fast in plain software on every target,
//! including the microcontrollers this `no_std` core runs on, where AES without hardware
//! support is slow or leaks timing through tables. It comes from RustCrypto's
//! `chacha20poly1305`, which encrypts in place without a heap.
//!
//! **Keys.** The key is derived like the signing key, with another label, so the same
//! secret gives unrelated signing and encryption keys, and a value encrypted for another
//! purpose or cookie name never opens here. Fallback keys are tried in order after the
//! current one, as for signing ([`KeyUsed`]).

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{KeyInit, Tag, XChaCha20Poly1305, XNonce};

use crate::codec::{self, Header};
use crate::header;
use crate::list::ListView;
use crate::signer::{
    self, DEFAULT_FALLBACKS, KeyError, KeyUsed, OpenError, Opened, SealError, encoded_len,
    scratch_len,
};

/// Length in bytes of the nonce that starts every encrypted value.
pub const NONCE_LEN: usize = 24;
/// Length in bytes of the authentication tag that ends every encrypted value.
pub const TAG_LEN: usize = 16;
/// Bytes an encrypted value adds to its body before base64: the nonce and the tag.
pub const OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// XChaCha20-Poly1305 refuses more than 2³² blocks of 64 bytes under one nonce.
const MAX_BODY_LEN: u64 = (1 << 32) * 64;

const LABEL: &[u8] = b"herald-v1 message encryption key\0";

/// Encrypts with one current key and decrypts with it or any of up to `FALLBACKS`
/// fallback keys (key rotation: move the old secret to the fallbacks, encrypt with the new
/// one). Built once at start-up and shared; it allocates nothing. `Debug` shows no key.
///
/// Encrypting needs a fresh nonce per value, which this crate cannot make (it has no
/// randomness): [`Cipher::with_nonce`] pairs the cipher with 24 random bytes from the
/// caller for one value.
///
/// ```
/// use herald_core::cipher::Cipher;
/// use herald_core::signer::KeyUsed;
/// let old_secret = b"the old secret: 32 random bytes or more";
/// let old = Cipher::<4>::new(old_secret, "flash", "messages", &[]).unwrap();
/// let new = Cipher::<4>::new(b"the new secret: 32 random bytes or more", "flash", "messages", &[old_secret]).unwrap();
/// let nonce = [7u8; 24]; // in a real server: 24 bytes from the OS generator, per value
/// let mut out = [0u8; 128];
/// let value = old.encrypt(&[2, 0, 0, 0], &nonce, &mut out).unwrap();
/// let mut scratch = [0u8; 128];
/// let opened = new.open(value.as_bytes(), 0, None, &mut scratch).unwrap();
/// assert_eq!((opened.body, opened.key), (&[2u8, 0, 0, 0][..], KeyUsed::Fallback(0)));
/// ```
#[derive(Clone)]
pub struct Cipher<const FALLBACKS: usize = DEFAULT_FALLBACKS> {
    current: XChaCha20Poly1305,
    fallbacks: arrayvec::ArrayVec<XChaCha20Poly1305, FALLBACKS>,
}

impl<const FALLBACKS: usize> fmt::Debug for Cipher<FALLBACKS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cipher")
            .field("fallback_keys", &self.fallbacks.len())
            .finish_non_exhaustive()
    }
}

fn bound_cipher(secret: &[u8], purpose: &str, cookie_name: &str) -> XChaCha20Poly1305 {
    let key = signer::derive_key(secret, LABEL, purpose, cookie_name);
    XChaCha20Poly1305::new(&key.into())
}

impl<const FALLBACKS: usize> Cipher<FALLBACKS> {
    /// A cipher for `purpose` and `cookie_name`, encrypting with `secret` and also
    /// accepting values encrypted with any of `fallbacks` (in order).
    ///
    /// # Errors
    /// As [`Signer::new`](crate::signer::Signer::new): [`KeyError::SecretTooShort`] /
    /// [`KeyError::FallbackTooShort`] for a secret shorter than
    /// [`MIN_SECRET_LEN`](crate::signer::MIN_SECRET_LEN) bytes,
    /// [`KeyError::TooManyFallbacks`] past `FALLBACKS`.
    pub fn new(
        secret: &[u8],
        purpose: &str,
        cookie_name: &str,
        fallbacks: &[&[u8]],
    ) -> Result<Self, KeyError> {
        signer::check_secrets(secret, fallbacks, FALLBACKS)?;
        let mut ciphers = arrayvec::ArrayVec::new();
        for fallback in fallbacks {
            // Cannot fail: the count was checked above.
            let _ = ciphers.try_push(bound_cipher(fallback, purpose, cookie_name));
        }
        Ok(Cipher {
            current: bound_cipher(secret, purpose, cookie_name),
            fallbacks: ciphers,
        })
    }

    /// The number of fallback keys.
    pub fn fallback_count(&self) -> usize {
        self.fallbacks.len()
    }

    /// This cipher with `nonce` for one value: what [`Inbox::seal_cookie`] takes
    /// (through [`Seal`](crate::seal::Seal)). The nonce must never be used for a second
    /// value: take 24 fresh bytes from the operating system's generator for each.
    ///
    /// [`Inbox::seal_cookie`]: crate::Inbox::seal_cookie
    pub fn with_nonce(&self, nonce: [u8; NONCE_LEN]) -> CipherWithNonce<'_, FALLBACKS> {
        CipherWithNonce {
            cipher: self,
            nonce,
        }
    }

    /// Writes `base64url_nopad(nonce || ciphertext || tag)` of `body` into `out` and
    /// returns it; `nonce` must be fresh for this value.
    ///
    /// # Errors
    /// [`SealError::BufferTooSmall`] when `out` is shorter than
    /// `encoded_len(body.len() + OVERHEAD)`.
    pub fn encrypt<'o>(
        &self,
        body: &[u8],
        nonce: &[u8; NONCE_LEN],
        out: &'o mut [u8],
    ) -> Result<&'o str, SealError> {
        self.seal_with(nonce, body.len(), |b| b.copy_from_slice(body), out)
    }

    /// Encodes `messages` with `header` and encrypts the body, writing the value into
    /// `out`: the body is encoded straight into `out`, encrypted there and base64-encoded
    /// in place, so nothing but `out` is written.
    ///
    /// # Errors
    /// [`SealError::BufferTooSmall`] when `out` is shorter than the value
    /// ([`truncate::sealed_len`](crate::truncate::sealed_len) with [`OVERHEAD`]).
    pub fn encrypt_messages<'o>(
        &self,
        header: &Header,
        messages: ListView<'_>,
        nonce: &[u8; NONCE_LEN],
        out: &'o mut [u8],
    ) -> Result<&'o str, SealError> {
        let body_len = codec::body_len(header, messages);
        self.seal_with(
            nonce,
            body_len,
            |body| codec::write_body_exact(header, messages, body),
            out,
        )
    }

    /// Lays out `nonce || body || tag` at the end of the value's room in `out`, has
    /// `write_body` fill the body, encrypts it in place and base64-encodes the whole
    /// forwards into the front of `out`.
    fn seal_with<'o>(
        &self,
        nonce: &[u8; NONCE_LEN],
        body_len: usize,
        write_body: impl FnOnce(&mut [u8]),
        out: &'o mut [u8],
    ) -> Result<&'o str, SealError> {
        if body_len as u64 > MAX_BODY_LEN {
            return Err(SealError::TooLong);
        }
        let raw_len = body_len + OVERHEAD;
        let needed = encoded_len(raw_len);
        if out.len() < needed {
            return Err(SealError::BufferTooSmall { needed });
        }
        let out = &mut out[..needed];
        let start = needed - raw_len;
        let (nonce_out, rest) = out[start..].split_at_mut(NONCE_LEN);
        nonce_out.copy_from_slice(nonce);
        let (body, tag_out) = rest.split_at_mut(body_len);
        write_body(body);
        let tag = self
            .current
            .encrypt_in_place_detached(XNonce::from_slice(nonce), b"", body)
            .map_err(|_| SealError::TooLong)?;
        tag_out.copy_from_slice(&tag);
        encode_forwards(out, start);
        Ok(core::str::from_utf8(out).expect("base64 is ASCII"))
    }

    /// Decrypts an encrypted value and returns its body, decrypted in `scratch`, which
    /// needs [`scratch_len`]`(value.len())` bytes ([`MAX_RAW_LEN`](crate::signer::MAX_RAW_LEN)
    /// covers every value). `now` and `max_age` as for
    /// [`Signer::open`](crate::signer::Signer::open).
    ///
    /// # Errors
    /// [`OpenError::TooLong`] when the value does not fit in `scratch`;
    /// [`OpenError::BadBase64`]; [`OpenError::TooShort`] when it cannot hold a nonce, a
    /// tag and a body; [`OpenError::BadSignature`] when no key authenticates it;
    /// [`OpenError::Body`] for a malformed header; [`OpenError::Expired`] past `max_age`.
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
        let n = signer::decode_canonical(value, scratch)?;
        if n <= OVERHEAD {
            return Err(OpenError::TooShort);
        }
        let (nonce, rest) = scratch[..n].split_at_mut(NONCE_LEN);
        let (body, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
        let (nonce, tag) = (XNonce::from_slice(nonce), Tag::from_slice(tag));
        // A failed attempt leaves the ciphertext as it was (the tag is checked before
        // anything is decrypted), so the next key sees the same bytes.
        let key = if self
            .current
            .decrypt_in_place_detached(nonce, b"", body, tag)
            .is_ok()
        {
            KeyUsed::Current
        } else {
            self.fallbacks
                .iter()
                .position(|c| c.decrypt_in_place_detached(nonce, b"", body, tag).is_ok())
                .map(KeyUsed::Fallback)
                .ok_or(OpenError::BadSignature)?
        };
        let body: &'s [u8] = body;
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

/// Base64url-encodes `buf[start..]` into `buf` from its front, where `buf.len()` is the
/// encoded length. Safe in place: after `k` input bytes the text is `4k/3` long, and
/// `4k/3 <= start + k` because `start = buf.len() - raw_len >= raw_len / 3`.
///
/// While the text written so far ends well before the first byte not read yet, the next
/// chunk is encoded straight from `buf` (its text fits in the gap); the gap shrinks by a
/// quarter of each chunk, and the last few hundred bytes go through a small copy.
fn encode_forwards(buf: &mut [u8], start: usize) {
    /// Below this, a direct chunk is not worth its call: the rest is copied out.
    const CHUNK: usize = 192;
    let raw_len = buf.len() - start;
    let (mut read, mut written) = (0, 0);
    while read < raw_len {
        let left = raw_len - read;
        // The text may grow up to the first unread byte.
        let gap = start + read - written;
        let take = if encoded_len(left) <= gap {
            left
        } else {
            // Whole 3-byte groups only, so that `written` stays `4 * read / 3`.
            gap / 4 * 3
        };
        if take < CHUNK && take < left {
            break;
        }
        let n = encoded_len(take);
        let (text, input) = buf.split_at_mut(start + read);
        URL_SAFE_NO_PAD
            .encode_slice(&input[..take], &mut text[written..written + n])
            .expect("the gap holds the encoded chunk");
        read += take;
        written += n;
    }
    let mut chunk = [0u8; CHUNK];
    while read < raw_len {
        let take = CHUNK.min(raw_len - read);
        chunk[..take].copy_from_slice(&buf[start + read..start + read + take]);
        let n = encoded_len(take);
        URL_SAFE_NO_PAD
            .encode_slice(&chunk[..take], &mut buf[written..written + n])
            .expect("the room is sized to the encoded chunk");
        read += take;
        written += n;
    }
}

/// A [`Cipher`] with the nonce for one value ([`Cipher::with_nonce`]): it seals one value
/// through [`Seal`](crate::seal::Seal) and opens like its cipher.
#[derive(Clone, Copy)]
pub struct CipherWithNonce<'c, const FALLBACKS: usize = DEFAULT_FALLBACKS> {
    cipher: &'c Cipher<FALLBACKS>,
    nonce: [u8; NONCE_LEN],
}

impl<const FALLBACKS: usize> fmt::Debug for CipherWithNonce<'_, FALLBACKS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CipherWithNonce")
            .field("cipher", self.cipher)
            .finish_non_exhaustive()
    }
}

impl<'c, const FALLBACKS: usize> CipherWithNonce<'c, FALLBACKS> {
    /// The cipher.
    pub fn cipher(&self) -> &'c Cipher<FALLBACKS> {
        self.cipher
    }

    /// The nonce this value is sealed with.
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signer::MAX_RAW_LEN;

    fn key(name: &[u8]) -> [u8; 40] {
        let mut k = [b'.'; 40];
        k[..name.len()].copy_from_slice(name);
        k
    }

    fn cipher(secret: &[u8], fallbacks: &[&[u8]]) -> Cipher {
        Cipher::new(secret, "flash", "messages", fallbacks).unwrap()
    }

    #[test]
    fn encoding_in_place_equals_a_plain_encoding_at_every_length() {
        let mut buf = [0u8; 3000];
        let mut expect = [0u8; 3000];
        for raw_len in 0..=2200 {
            let raw: [u8; 2200] = core::array::from_fn(|i| (i * 31 + raw_len) as u8);
            let raw = &raw[..raw_len];
            let needed = encoded_len(raw_len);
            let start = needed - raw_len;
            buf[start..needed].copy_from_slice(raw);
            encode_forwards(&mut buf[..needed], start);
            let n = URL_SAFE_NO_PAD.encode_slice(raw, &mut expect).unwrap();
            assert_eq!(&buf[..needed], &expect[..n], "raw_len {raw_len}");
        }
    }

    #[test]
    fn layout_is_nonce_ciphertext_tag_and_the_length_is_exact() {
        let c = cipher(&key(b"k"), &[]);
        for len in [
            1usize, 2, 3, 4, 100, 191, 192, 193, 383, 384, 385, 1500, 3000,
        ] {
            let body: [u8; 3000] = core::array::from_fn(|i| (i * 7 + len) as u8);
            let body = &body[..len];
            let nonce: [u8; NONCE_LEN] = core::array::from_fn(|i| i as u8 ^ len as u8);
            let mut out = [0u8; 4096];
            let value = c.encrypt(body, &nonce, &mut out).unwrap();
            assert_eq!(value.len(), encoded_len(len + OVERHEAD), "len {len}");
            // The in-place encoding equals a plain encoding of nonce || ct || tag.
            let mut raw = [0u8; 3100];
            raw[..NONCE_LEN].copy_from_slice(&nonce);
            raw[NONCE_LEN..NONCE_LEN + len].copy_from_slice(body);
            let (head, tail) = raw.split_at_mut(NONCE_LEN + len);
            let tag = c
                .current
                .encrypt_in_place_detached(XNonce::from_slice(&nonce), b"", &mut head[NONCE_LEN..])
                .unwrap();
            tail[..TAG_LEN].copy_from_slice(&tag);
            let mut expect = [0u8; 4200];
            let n = URL_SAFE_NO_PAD
                .encode_slice(&raw[..len + OVERHEAD], &mut expect)
                .unwrap();
            assert_eq!(value.as_bytes(), &expect[..n], "len {len}");
            assert_ne!(
                &raw[NONCE_LEN..NONCE_LEN + len],
                body,
                "the text is not readable"
            );
            let need = value.len();
            let value: arrayvec::ArrayVec<u8, 4096> = value.as_bytes().iter().copied().collect();
            assert_eq!(
                c.encrypt(body, &nonce, &mut out[..need - 1]),
                Err(SealError::BufferTooSmall { needed: need })
            );
            let mut scratch = [0u8; MAX_RAW_LEN];
            // The tag verifies; only a body with a readable header opens.
            match c.open(&value, 0, None, &mut scratch) {
                Ok(opened) => assert_eq!(opened.body, body),
                Err(e) => assert!(matches!(e, OpenError::Body(_)), "len {len}: {e:?}"),
            }
        }
    }

    #[test]
    fn fallbacks_domain_separation_and_signing_keys_are_kept_apart() {
        let body = [2u8, 200, 1, 0, 0];
        let nonce = [9u8; NONCE_LEN];
        let mut out = [0u8; 128];
        let mut scratch = [0u8; 128];
        let v = cipher(&key(b"one"), &[])
            .encrypt(&body, &nonce, &mut out)
            .unwrap();
        let ok = cipher(&key(b"one"), &[])
            .open(v.as_bytes(), 0, None, &mut scratch)
            .unwrap();
        assert_eq!(
            (ok.body, ok.key, ok.issued_at),
            (&body[..], KeyUsed::Current, 200)
        );
        let rotated = cipher(&key(b"two"), &[&key(b"zero"), &key(b"one")]);
        assert_eq!(
            rotated
                .open(v.as_bytes(), 0, None, &mut scratch)
                .unwrap()
                .key,
            KeyUsed::Fallback(1)
        );
        for other in [
            cipher(&key(b"two"), &[&key(b"zero")]),
            Cipher::new(&key(b"one"), "other", "messages", &[]).unwrap(),
            Cipher::new(&key(b"one"), "flash", "msgs", &[]).unwrap(),
        ] {
            assert_eq!(
                other.open(v.as_bytes(), 0, None, &mut scratch),
                Err(OpenError::BadSignature)
            );
        }
        // A value signed with the same secret does not open, and the reverse.
        let signer: signer::Signer =
            signer::Signer::new(&key(b"one"), "flash", "messages", &[]).unwrap();
        let mut signed = [0u8; 128];
        let s = signer
            .seal(&[2, 200, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], &mut signed)
            .unwrap();
        assert_eq!(
            cipher(&key(b"one"), &[]).open(s.as_bytes(), 0, None, &mut scratch),
            Err(OpenError::BadSignature)
        );
        assert_eq!(
            signer.open(v.as_bytes(), 0, None, &mut scratch),
            Err(OpenError::BadSignature)
        );
    }

    #[test]
    fn every_single_bit_flip_of_a_full_size_value_is_rejected() {
        let c = cipher(&key(b"k"), &[&key(b"old")]);
        // The largest body a 4096-character value holds.
        let body_len = signer::max_raw_len(signer::MAX_VALUE_LEN) - OVERHEAD;
        let mut body = [0u8; MAX_RAW_LEN];
        body[0] = 2;
        for (i, b) in body[1..body_len].iter_mut().enumerate() {
            *b = i as u8;
        }
        let mut out = [0u8; signer::MAX_VALUE_LEN];
        let v = c
            .encrypt(&body[..body_len], &[3; NONCE_LEN], &mut out)
            .unwrap();
        let n = v.len();
        assert!(n <= signer::MAX_VALUE_LEN && n > signer::MAX_VALUE_LEN - 4);
        let mut value = [0u8; signer::MAX_VALUE_LEN];
        value[..n].copy_from_slice(v.as_bytes());
        let mut scratch = [0u8; MAX_RAW_LEN];
        for i in 0..n {
            for bit in 0..8 {
                value[i] ^= 1 << bit;
                assert!(
                    c.open(&value[..n], 0, None, &mut scratch).is_err(),
                    "byte {i} bit {bit}"
                );
                value[i] ^= 1 << bit;
            }
        }
        assert!(c.open(&value[..n], 0, None, &mut scratch).is_ok());
    }

    #[test]
    fn malformed_values_and_max_age() {
        let c = cipher(&key(b"k"), &[]);
        let mut scratch = [0u8; 256];
        assert_eq!(c.open(b"", 0, None, &mut scratch), Err(OpenError::TooShort));
        assert_eq!(
            c.open(b"a=", 0, None, &mut scratch),
            Err(OpenError::BadBase64)
        );
        // 40 raw bytes: a nonce and a tag, no body.
        let empty = [b'A'; 54];
        assert_eq!(
            c.open(&empty[..53], 0, None, &mut scratch),
            Err(OpenError::BadBase64)
        );
        assert_eq!(
            c.open(&[b'A'; 52], 0, None, &mut scratch),
            Err(OpenError::TooShort)
        );
        assert_eq!(
            c.open(&[b'A'; 400], 0, None, &mut scratch),
            Err(OpenError::TooLong)
        );
        let mut out = [0u8; 128];
        let v = c
            .encrypt(&[2, 100, 0, 0], &[1; NONCE_LEN], &mut out)
            .unwrap();
        assert!(c.open(v.as_bytes(), 110, Some(10), &mut scratch).is_ok());
        assert_eq!(
            c.open(v.as_bytes(), 111, Some(10), &mut scratch),
            Err(OpenError::Expired {
                issued_at: 100,
                now: 111
            })
        );
        assert_eq!(
            Cipher::<1>::new(&key(b"k"), "p", "c", &[&key(b"a"), &key(b"b")]).err(),
            Some(KeyError::TooManyFallbacks { capacity: 1 })
        );
        assert_eq!(
            Cipher::<1>::new(b"short", "p", "c", &[]).err(),
            Some(KeyError::SecretTooShort { len: 5 })
        );
    }
}
