//! How a cookie value is protected: the [`Open`] and [`Seal`] traits over signing
//! ([`Signer`], HMAC-SHA256) and, with the `encryption` feature, encryption
//! (`cipher::Cipher`, XChaCha20-Poly1305), so that the inbox loads, plans and writes
//! either with the same rules.
//!
//! Both are *sealings*: a value is `base64url(…)` of the body plus a fixed number of bytes
//! ([`Open::overhead`]: 32 for a MAC, 40 for a nonce and a tag), so its exact length is
//! known before it is written and truncation chooses what fits in one pass.

use crate::codec::{self, Header};
use crate::list::ListView;
use crate::signer::{MAC_LEN, OpenError, Opened, SealError, Signer};

/// Verifies (and, for encryption, decrypts) cookie values: what
/// [`Inbox::load_cookie`](crate::Inbox::load_cookie) and
/// [`Inbox::plan_for`](crate::Inbox::plan_for) take.
pub trait Open {
    /// The raw bytes a sealed value adds to its body before base64.
    fn overhead(&self) -> usize;

    /// Opens `value` into `scratch` (which needs
    /// [`signer::scratch_len`](crate::signer::scratch_len)`(value.len())` bytes) and
    /// returns the body, its issued-at and the key that opened it; `max_age` is checked
    /// against `now`.
    ///
    /// # Errors
    /// An [`OpenError`] saying why the value was rejected.
    fn open<'s>(
        &self,
        value: &[u8],
        now: u64,
        max_age: Option<u64>,
        scratch: &'s mut [u8],
    ) -> Result<Opened<'s>, OpenError>;
}

/// Writes sealed cookie values: what [`Inbox::seal_cookie`](crate::Inbox::seal_cookie)
/// takes. A [`Signer`] seals any number of values; a cipher seals one value per nonce
/// (`Cipher::with_nonce`).
pub trait Seal: Open {
    /// Encodes `messages` with `header` and seals the body into `out`, returning the
    /// value, whose exact length is
    /// [`truncate::sealed_len`](crate::truncate::sealed_len)`(header, messages,
    /// self.overhead())`.
    ///
    /// # Errors
    /// [`SealError::BufferTooSmall`] when `out` is shorter than the value.
    fn seal_messages<'o>(
        &self,
        header: &Header,
        messages: ListView<'_>,
        out: &'o mut [u8],
    ) -> Result<&'o str, SealError>;
}

impl<const F: usize> Open for Signer<F> {
    fn overhead(&self) -> usize {
        MAC_LEN
    }

    fn open<'s>(
        &self,
        value: &[u8],
        now: u64,
        max_age: Option<u64>,
        scratch: &'s mut [u8],
    ) -> Result<Opened<'s>, OpenError> {
        Signer::open(self, value, now, max_age, scratch)
    }
}

impl<const F: usize> Seal for Signer<F> {
    fn seal_messages<'o>(
        &self,
        header: &Header,
        messages: ListView<'_>,
        out: &'o mut [u8],
    ) -> Result<&'o str, SealError> {
        codec::seal_body(header, messages, self, out)
    }
}

#[cfg(feature = "encryption")]
mod encryption {
    use super::{Header, ListView, Open, OpenError, Opened, Seal, SealError};
    use crate::cipher::{Cipher, CipherWithNonce, OVERHEAD};

    impl<const F: usize> Open for Cipher<F> {
        fn overhead(&self) -> usize {
            OVERHEAD
        }

        fn open<'s>(
            &self,
            value: &[u8],
            now: u64,
            max_age: Option<u64>,
            scratch: &'s mut [u8],
        ) -> Result<Opened<'s>, OpenError> {
            Cipher::open(self, value, now, max_age, scratch)
        }
    }

    impl<const F: usize> Open for CipherWithNonce<'_, F> {
        fn overhead(&self) -> usize {
            OVERHEAD
        }

        fn open<'s>(
            &self,
            value: &[u8],
            now: u64,
            max_age: Option<u64>,
            scratch: &'s mut [u8],
        ) -> Result<Opened<'s>, OpenError> {
            self.cipher().open(value, now, max_age, scratch)
        }
    }

    impl<const F: usize> Seal for CipherWithNonce<'_, F> {
        fn seal_messages<'o>(
            &self,
            header: &Header,
            messages: ListView<'_>,
            out: &'o mut [u8],
        ) -> Result<&'o str, SealError> {
            self.cipher()
                .encrypt_messages(header, messages, self.nonce(), out)
        }
    }
}
