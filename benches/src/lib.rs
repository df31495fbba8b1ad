//! Shared workloads for herald's benchmarks: the message lists every row uses, and the
//! physical limit (HMAC-SHA256 + base64url over the same bytes) that the core is measured
//! against.
#![deny(missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub mod adapters;
pub mod alloc_count;
pub mod core_work;
pub mod run_args;

/// The secret every benchmark signs with.
pub const SECRET: &[u8] = b"benchmark secret benchmark secret!";
/// The time every benchmark signs at.
pub const NOW: u64 = 1_700_000_000;

/// `n` message texts of about 60 characters each, distinct and deterministic.
pub fn texts(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("Message {i:03}: your profile was saved and your changes are live."))
        .collect()
}

/// The floor every signed value must pay: a keyed HMAC-SHA256 (key schedule precomputed,
/// as herald's signer does) over `raw`, then base64url without padding of `raw || mac`.
#[derive(Clone)]
pub struct Limit {
    keyed: Hmac<Sha256>,
}

impl Default for Limit {
    fn default() -> Self {
        Self::new()
    }
}

impl Limit {
    /// A limit keyed with [`SECRET`].
    pub fn new() -> Self {
        Limit {
            keyed: Hmac::new_from_slice(SECRET).expect("any key length"),
        }
    }

    /// Signs: MAC over `raw` (in `buf[..raw_len]`, with 32 spare bytes after it) and
    /// base64url of `raw || mac` into `out`; returns the text length.
    pub fn sign(&self, buf: &mut [u8], raw_len: usize, out: &mut [u8]) -> usize {
        let mut mac = self.keyed.clone();
        mac.update(&buf[..raw_len]);
        buf[raw_len..raw_len + 32].copy_from_slice(&mac.finalize().into_bytes());
        URL_SAFE_NO_PAD
            .encode_slice(&buf[..raw_len + 32], out)
            .expect("output large enough")
    }

    /// Verifies: base64url-decodes `value` into `scratch` and checks the trailing MAC in
    /// constant time; returns the raw body length.
    pub fn verify(&self, value: &[u8], scratch: &mut [u8]) -> Option<usize> {
        let n = URL_SAFE_NO_PAD.decode_slice(value, scratch).ok()?;
        let (body, tag) = scratch[..n].split_at(n - 32);
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac.verify_slice(tag).ok()?;
        Some(body.len())
    }
}

/// The physical limit of an encrypted value: XChaCha20-Poly1305 in place over the raw
/// bytes and base64url of `nonce || ciphertext || tag`, keyed with a key derived like
/// herald's (one HMAC at set-up, none per value): what herald's encrypted rows are divided by.
pub struct AeadLimit {
    cipher: chacha20poly1305::XChaCha20Poly1305,
}

impl Default for AeadLimit {
    fn default() -> Self {
        Self::new()
    }
}

impl AeadLimit {
    /// A limit keyed from [`SECRET`].
    pub fn new() -> Self {
        let mut kdf = <Hmac<Sha256> as Mac>::new_from_slice(SECRET).expect("any key length");
        kdf.update(b"limit key");
        let key: [u8; 32] = kdf.finalize().into_bytes().into();
        AeadLimit {
            cipher: <chacha20poly1305::XChaCha20Poly1305 as chacha20poly1305::KeyInit>::new(
                &key.into(),
            ),
        }
    }

    /// Encrypts `buf[24..24 + raw_len]` in place under the nonce in `buf[..24]`, puts the
    /// tag after it and base64url-encodes the whole into `out`; returns the text length.
    pub fn encrypt(&self, buf: &mut [u8], raw_len: usize, out: &mut [u8]) -> usize {
        use chacha20poly1305::aead::AeadInPlace;
        let (nonce, rest) = buf.split_at_mut(24);
        let (body, tag) = rest.split_at_mut(raw_len);
        let t = self
            .cipher
            .encrypt_in_place_detached(chacha20poly1305::XNonce::from_slice(nonce), b"", body)
            .expect("short enough");
        tag[..16].copy_from_slice(&t);
        URL_SAFE_NO_PAD
            .encode_slice(&buf[..24 + raw_len + 16], out)
            .expect("output large enough")
    }

    /// Decodes `value` into `scratch` and decrypts it in place (tag checked first);
    /// returns the body length.
    pub fn decrypt(&self, value: &[u8], scratch: &mut [u8]) -> Option<usize> {
        use chacha20poly1305::aead::AeadInPlace;
        let n = URL_SAFE_NO_PAD.decode_slice(value, scratch).ok()?;
        let (nonce, rest) = scratch[..n].split_at_mut(24);
        let (body, tag) = rest.split_at_mut(rest.len() - 16);
        self.cipher
            .decrypt_in_place_detached(
                chacha20poly1305::XNonce::from_slice(nonce),
                b"",
                body,
                chacha20poly1305::Tag::from_slice(tag),
            )
            .ok()?;
        Some(body.len())
    }
}
