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
