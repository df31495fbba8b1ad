//! Your own storage: the [`MessageStorage`] trait, the counterpart of Django's
//! `BaseStorage._get` and `BaseStorage._store`.
//!
//! A storage keeps a request's messages between requests somewhere herald does not know
//! about (a cache, a database, a per-user store). It only moves bytes: every decision —
//! what is shown, what is read once, what stays stored, what is below the minimum level,
//! what is reported unstored — is made by the core inbox, exactly as for the built-in
//! cookie, session and fallback storages. A storage sees *entries*: opaque byte strings,
//! each the herald-encoded body of one message (the session entry's format, see
//! [`Inbox::encode_session`](herald_core::Inbox::encode_session)); herald decodes them with
//! the core codec (so its limits apply) and never trusts them further: an entry that does
//! not decode is logged and left out.
//!
//! A storage is plugged into the tower layer with
//! [`MessagesLayer::with_message_storage`](crate::tower::MessagesLayer::with_message_storage)
//! and into the actix middleware with `MessagesMiddleware::with_message_storage`, beside the
//! layer's built-in storage: a small hook picks, per request, the [`MessageStorage::Key`]
//! the request's messages live under (Django's cache-storage exercise keys by user), and a
//! request for which it answers `None` (an anonymous visitor) uses the built-in storage.
//!
//! # The contract
//! * [`load`](MessageStorage::load) returns the entries stored under the key, oldest
//!   first. It runs before the handler, once per request that has a key.
//! * [`store`](MessageStorage::store) runs at response time with every entry that must
//!   remain stored after this request, oldest first (possibly none: everything was
//!   read). It replaces what `load` returned. It is skipped when `load` returned nothing
//!   and nothing is to be stored.
//! * A storage that others write to while a request runs (a per-user store that a
//!   background job adds to, see [`crate::user_store`]) implements `load` as an atomic
//!   *take* (read and clear) and `store` as *put back in front* of whatever was added
//!   meanwhile: then two requests never show the same message.
//! * Errors are [`StorageError`]s and must come fast (bounded timeouts): a failing `load`
//!   makes the `Messages` extractor answer 503; a failing `store` turns the response into
//!   a 503 with the messages reported in [`Unstored`](crate::Unstored), as a failing
//!   session backend does.
//!
//! # Example: a storage keyed by user, on a shared map
//! The classic exercise (Django's cache, keyed per user), with a map standing in for the
//! cache. Anonymous requests (no `x-user` header here; your auth extractor in a real app)
//! keep their messages in the cookie.
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::{Arc, Mutex};
//!
//! use herald_flash::storage::{MessageStorage, StorageError, Stored};
//! use herald_flash::{Config, tower::MessagesLayer};
//!
//! #[derive(Clone, Default)]
//! struct ByUser(Arc<Mutex<HashMap<String, Vec<Vec<u8>>>>>);
//!
//! impl MessageStorage for ByUser {
//!     type Key = String;
//!
//!     async fn load(&self, user: &String) -> Result<Vec<Vec<u8>>, StorageError> {
//!         // Django's `_get`: what is stored for this user.
//!         Ok(self.0.lock().unwrap().get(user).cloned().unwrap_or_default())
//!     }
//!
//!     async fn store(&self, user: &String, entries: Vec<Vec<u8>>) -> Result<Stored, StorageError> {
//!         // Django's `_store`: replace it with what the core decided stays stored.
//!         let mut map = self.0.lock().unwrap();
//!         if entries.is_empty() {
//!             map.remove(user);
//!         } else {
//!             map.insert(user.clone(), entries);
//!         }
//!         Ok(Stored::default())
//!     }
//! }
//!
//! let config = Config::builder().secret([7u8; 32]).build().unwrap();
//! let layer = MessagesLayer::cookie(config).with_message_storage(ByUser::default(), |headers, _| {
//!     let user = headers.get("x-user")?.to_str().ok()?;
//!     // Never one blank key shared by every anonymous visitor: no user, no key.
//!     (!user.is_empty()).then(|| user.to_owned())
//! });
//! # let _ = layer;
//! ```

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::sync::Arc;

/// Why a [`MessageStorage`] could not load or store. Typed, cloneable, never a panic.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The storage's backend failed, timed out or is unreachable (for example its Redis
    /// server is down).
    #[error("message storage backend error: {0}")]
    Backend(Arc<dyn StdError + Send + Sync>),
}

impl StorageError {
    /// Wraps any backend error.
    pub fn backend(error: impl StdError + Send + Sync + 'static) -> Self {
        StorageError::Backend(Arc::new(error))
    }
}

/// What a [`MessageStorage::store`] could not keep.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stored {
    /// Entries the storage dropped instead of storing (for example the oldest ones past a
    /// per-user bound), oldest first: herald reports their messages as unstored
    /// ([`UnstoredReason::StorageFull`](crate::UnstoredReason::StorageFull)).
    pub dropped: Vec<Vec<u8>>,
}

impl Stored {
    /// A report of `dropped` entries.
    pub fn dropped(dropped: Vec<Vec<u8>>) -> Self {
        Stored { dropped }
    }
}

/// A storage for the messages of requests that have a key (Django's `BaseStorage`, with
/// `load` for `_get` and `store` for `_store`). See the [module docs](self) for the
/// contract and a complete example.
pub trait MessageStorage: Clone + Send + Sync + 'static {
    /// What a request's messages are stored under (for a per-user store, the user id).
    type Key: Clone + Send + Sync + 'static;

    /// The entries stored under `key`, oldest first.
    ///
    /// # Errors
    /// [`StorageError`] when the backend fails; the request's `Messages` extractor then
    /// answers 503.
    fn load(
        &self,
        key: &Self::Key,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StorageError>> + Send;

    /// Stores `entries` (oldest first) under `key`, replacing what [`load`](Self::load)
    /// returned; reports in [`Stored::dropped`] what it did not keep.
    ///
    /// # Errors
    /// [`StorageError`] when the backend fails; the response becomes a 503 and the
    /// messages are reported unstored.
    fn store(
        &self,
        key: &Self::Key,
        entries: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Stored, StorageError>> + Send;
}

/// The storage of a layer without its own storage: the built-in one serves every request.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStorage;

impl MessageStorage for NoStorage {
    type Key = Infallible;

    #[allow(clippy::manual_async_fn)]
    fn load(
        &self,
        key: &Infallible,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StorageError>> + Send {
        let never = *key;
        async move { match never {} }
    }

    #[allow(clippy::manual_async_fn)]
    fn store(
        &self,
        key: &Infallible,
        _: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Stored, StorageError>> + Send {
        let never = *key;
        async move { match never {} }
    }
}
