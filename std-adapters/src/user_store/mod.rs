//! Messages for a signed-in user wherever they are: per-user stores built on
//! [`MessageStorage`], and the [`Outbox`] that code outside any request (a background
//! export, a payment webhook) uses to tell a user something.
//!
//! A per-user store keeps each signed-in user's messages under the [`UserId`] a small
//! hook gives per request (from the application's own auth extractor or session), so a
//! message reaches the user on the next page view, on any device and, with
//! `RedisUserStore` (feature `user-store-redis`), on any app instance. Two stores share
//! one behaviour (and one test suite):
//!
//! * [`MemoryUserStore`]: in process, for single-server apps;
//! * `RedisUserStore`: on Redis, over the same fail-fast client as the Redis session store
//!   (`herald_flash::redis`).
//!
//! # The rules
//! * **Anonymous requests are not keyed.** The hook answers `None` for them and the
//!   layer's built-in storage (cookie, session or fallback) serves them: anonymous
//!   visitors never share one blank key (the pitfall of Django's cache-storage exercise).
//!   [`UserId::new`] refuses an empty id.
//! * **Signing in keeps the messages.** A keyed request carries over what the messages
//!   cookie holds (the message the login view added, before its redirect): it is shown or
//!   moved into the user's entry, and the cookie is deleted once the store has it. Only
//!   the cookie is carried over: under fallback storage, an anonymous overflow in the
//!   session stays there (it is shown when the visitor is anonymous again).
//! * **Exactly once.** A keyed request *takes* the user's entries when it begins (an
//!   atomic read-and-clear: one Lua script in Redis, one lock in process), and at response
//!   time puts back *in front* what the core decided stays stored (messages it did not
//!   read, kept ones, those below the minimum level, its own new ones), before anything a
//!   background job added meanwhile. Two requests — two devices, two instances — never
//!   both see a message: a request running while another holds the user's messages sees
//!   the ones added since, and the held ones once they are put back (an inner service
//!   that fails still gets them put back). A process that dies, or a handler that panics,
//!   between the take and the put-back loses what it held (the messages were taken, not
//!   shown): the price of never showing a message twice.
//! * **Expiry and bound.** Each user's entry expires [`UserStoreOptions::ttl`] after its
//!   last write (abandoned messages go away), and keeps at most
//!   [`UserStoreOptions::max_entries`] messages: past it the oldest are dropped and
//!   reported ([`UnstoredReason::StorageFull`](crate::UnstoredReason::StorageFull) in a
//!   response's [`Unstored`](crate::Unstored), [`Sent::dropped`] for the [`Outbox`]).
//! * **Failures are fast and typed.** A store that cannot be reached answers
//!   [`StorageError`] within the Redis client's command timeout: the request's `Messages`
//!   extractor answers 503, and a failing put-back turns the response into a 503 with
//!   every message it held reported unstored.
//!
//! Entries are herald's own encoded form (one message each, the session entry's format),
//! whatever [`WireFormat`](crate::WireFormat) the cookie uses.
//!
//! # Example
//! ```
//! use herald_flash::user_store::{MemoryUserStore, Outbox, UserId};
//! use herald_flash::{Config, tower::MessagesLayer};
//!
//! #[derive(Clone)]
//! struct CurrentUser(u64); // put into the extensions by the app's auth layer
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::builder().secret([7u8; 32]).build()?;
//! let users = MemoryUserStore::new();
//! let layer = MessagesLayer::cookie(config.clone()).with_message_storage(users.clone(), |_, ext| {
//!     UserId::new(ext.get::<CurrentUser>()?.0.to_string()).ok()
//! });
//!
//! // A background job, with no request in flight:
//! let outbox = Outbox::new(config, users);
//! outbox.to_user(UserId::new("42")?).success("Your export is ready").await?;
//! # let _ = layer; Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use herald_core::inbox::SessionAction;
use herald_core::list::GrowableList;
use herald_core::{CapacityError, Inbox, Level, Message, MessageStore, Storage, codec};

use crate::config::Config;
use crate::messages::Added;
use crate::storage::{MessageStorage, StorageError, Stored};
use crate::view::OwnedMessage;

mod memory;
#[cfg(feature = "user-store-redis")]
mod redis;

pub use self::memory::MemoryUserStore;
#[cfg(feature = "user-store-redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "user-store-redis")))]
pub use self::redis::RedisUserStore;

/// The longest [`UserId`] accepted, in bytes.
pub const MAX_USER_ID_LEN: usize = 256;

/// Who a per-user store keeps messages for: the application's user id, as text. Never
/// empty (an empty id would make every anonymous visitor share one entry). Cheap to clone.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Arc<str>);

/// Why a [`UserId`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserIdError {
    /// The id is empty.
    #[error("herald: a user id must not be empty (anonymous requests have no user id)")]
    Empty,
    /// The id is longer than [`MAX_USER_ID_LEN`] bytes.
    #[error("herald: a user id is at most {MAX_USER_ID_LEN} bytes long; this one is {0}")]
    TooLong(usize),
}

impl UserId {
    /// The user id `id`.
    ///
    /// # Errors
    /// [`UserIdError::Empty`] for an empty id, [`UserIdError::TooLong`] past
    /// [`MAX_USER_ID_LEN`] bytes.
    ///
    /// ```
    /// use herald_flash::user_store::{UserId, UserIdError};
    /// assert_eq!(UserId::new("42").unwrap().as_str(), "42");
    /// assert_eq!(UserId::new("").unwrap_err(), UserIdError::Empty);
    /// ```
    pub fn new(id: impl Into<String>) -> Result<Self, UserIdError> {
        let id = id.into();
        if id.is_empty() {
            return Err(UserIdError::Empty);
        }
        if id.len() > MAX_USER_ID_LEN {
            return Err(UserIdError::TooLong(id.len()));
        }
        Ok(UserId(id.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UserId").field(&&*self.0).finish()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The settings both per-user stores share.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserStoreOptions {
    /// The prefix of each user's Redis key (the key is the prefix then the user id);
    /// default `herald:messages:`. The in-process store has no keys and ignores it.
    pub key_prefix: String,
    /// How long a user's entry lives after its last write; default 14 days (Django's
    /// default session age). At least 1 ms.
    pub ttl: Duration,
    /// The most messages a user's entry keeps; past it the oldest are dropped and
    /// reported. Default 100; at least 1.
    pub max_entries: usize,
}

impl Default for UserStoreOptions {
    fn default() -> Self {
        UserStoreOptions {
            key_prefix: "herald:messages:".into(),
            ttl: Duration::from_secs(14 * 24 * 60 * 60),
            max_entries: 100,
        }
    }
}

impl UserStoreOptions {
    /// These options with the key prefix `prefix`.
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// These options with the time to live `ttl` (raised to 1 ms).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(1));
        self
    }

    /// These options with the bound `max_entries` (raised to 1).
    #[must_use]
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries.max(1);
        self
    }
}

/// A per-user store: a [`MessageStorage`] keyed by [`UserId`] that loads by taking (read
/// and clear, atomically) and stores by putting back in front, plus [`append`](Self::append)
/// for messages from outside a request ([`Outbox`]).
pub trait UserStore: MessageStorage<Key = UserId> {
    /// Appends `entries` (oldest first) after the user's stored entries, refreshes the
    /// entry's time to live and drops the oldest past the bound, reporting them.
    ///
    /// # Errors
    /// [`StorageError`] when the backend fails (nothing was appended then).
    fn append(
        &self,
        user: &UserId,
        entries: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Stored, StorageError>> + Send;
}

/// What a message sent through the [`Outbox`] became.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Sent {
    /// What the core made of the message: [`Added::Queued`] (stored for the user), or
    /// ignored as an empty text or below the minimum level (R-2.1), as an add in a
    /// request.
    pub added: Added,
    /// Messages the user's entry dropped to stay within its bound (the oldest), if any.
    pub dropped: Vec<OwnedMessage>,
}

/// Why the [`Outbox`] could not store a message.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The store failed (nothing was stored).
    #[error("herald: the message could not be stored for the user: {0}")]
    Storage(#[from] StorageError),
    /// The message exceeds the request limits the configuration sets.
    #[error("herald: the message does not fit: {0}")]
    Capacity(CapacityError),
}

/// Messages from outside a request: a background task tells a user something, and the
/// user sees it once, on the next page view, on any device (and, with a shared store, on
/// any app instance). Cheap to clone.
///
/// The core decides as for an add in a request: empty texts and levels below the
/// configuration's minimum level are ignored ([`Sent::added`]).
#[derive(Clone)]
pub struct Outbox<U> {
    config: Config,
    store: U,
}

impl<U> fmt::Debug for Outbox<U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox")
            .field("store", &std::any::type_name::<U>())
            .finish_non_exhaustive()
    }
}

impl<U: UserStore> Outbox<U> {
    /// An outbox writing to `store` with `config`'s levels and limits.
    pub fn new(config: Config, store: U) -> Self {
        Outbox { config, store }
    }

    /// The messages for `user`.
    pub fn to_user(&self, user: UserId) -> UserOutbox<'_, U> {
        UserOutbox { outbox: self, user }
    }
}

/// One user's messages in an [`Outbox`]: `outbox.to_user(id).success("...").await`.
#[derive(Debug)]
pub struct UserOutbox<'a, U> {
    outbox: &'a Outbox<U>,
    user: UserId,
}

impl<U: UserStore> UserOutbox<'_, U> {
    /// Stores `message` for the user, after the ones stored before.
    ///
    /// # Errors
    /// [`OutboxError::Storage`] when the store fails, [`OutboxError::Capacity`] for a
    /// message past the configuration's request limits.
    pub async fn add_message(&self, message: Message<'_>) -> Result<Sent, OutboxError> {
        let inner = &self.outbox.config.inner;
        let mut inbox = Inbox::with_store(
            GrowableList::new(inner.limits),
            Storage::Session,
            inner.min_level,
        );
        let now = self.outbox.config.now();
        // Nothing is loaded: only the new message is planned (at the outbox's time, so an
        // already expired message is ignored, RULES R-11.5).
        let _ = inbox.load_session(None, now);
        let added = Added::from(
            inbox
                .add_message(message)
                .map_err(|e| OutboxError::Capacity(e.reason))?,
        );
        let plan = inbox.plan(inner.max_cookie_size, now);
        let SessionAction::Set { messages } = plan.session else {
            return Ok(Sent {
                added,
                dropped: Vec::new(),
            });
        };
        let mut bytes = vec![0u8; inbox.session_len(messages.clone(), plan.issued_at)];
        let n = inbox
            .encode_session(messages, plan.issued_at, &mut bytes)
            .map_err(|_| OutboxError::Capacity(CapacityError::TooManyBytes))?;
        bytes.truncate(n);
        let stored = self.outbox.store.append(&self.user, vec![bytes]).await?;
        Ok(Sent {
            added,
            dropped: decode_all(&self.outbox.config, &stored.dropped),
        })
    }

    /// Stores a message at `level` for the user.
    ///
    /// # Errors
    /// As [`add_message`](Self::add_message).
    pub async fn add(&self, level: Level, text: impl AsRef<str>) -> Result<Sent, OutboxError> {
        self.add_message(Message::new(level, text.as_ref())).await
    }

    /// Stores a message at `level` that the user sees only if a page shows it within `ttl`
    /// (RULES R-11.5, "your export is ready" that is stale after an hour): it expires
    /// `ttl` after the outbox configuration's clock, in whole seconds, and is never shown
    /// after that, whichever device or instance asks. Also bounded by the store's time to
    /// live, whichever comes first.
    ///
    /// # Errors
    /// As [`add_message`](Self::add_message).
    pub async fn add_expiring(
        &self,
        level: Level,
        text: impl AsRef<str>,
        ttl: Duration,
    ) -> Result<Sent, OutboxError> {
        let expires_at = self.outbox.config.now().saturating_add(ttl.as_secs());
        self.add_message(Message::new(level, text.as_ref()).with_expires_at(expires_at))
            .await
    }

    /// A DEBUG message (ignored under the default minimum level, INFO).
    ///
    /// # Errors
    /// As [`add_message`](Self::add_message).
    pub async fn debug(&self, text: impl AsRef<str>) -> Result<Sent, OutboxError> {
        self.add(Level::DEBUG, text).await
    }

    /// An INFO message.
    ///
    /// # Errors
    /// As [`add_message`](Self::add_message).
    pub async fn info(&self, text: impl AsRef<str>) -> Result<Sent, OutboxError> {
        self.add(Level::INFO, text).await
    }

    /// A SUCCESS message.
    ///
    /// # Errors
    /// As [`add_message`](Self::add_message).
    pub async fn success(&self, text: impl AsRef<str>) -> Result<Sent, OutboxError> {
        self.add(Level::SUCCESS, text).await
    }

    /// A WARNING message.
    ///
    /// # Errors
    /// As [`add_message`](Self::add_message).
    pub async fn warning(&self, text: impl AsRef<str>) -> Result<Sent, OutboxError> {
        self.add(Level::WARNING, text).await
    }

    /// An ERROR message.
    ///
    /// # Errors
    /// As [`add_message`](Self::add_message).
    pub async fn error(&self, text: impl AsRef<str>) -> Result<Sent, OutboxError> {
        self.add(Level::ERROR, text).await
    }
}

/// The messages of `entries`, for a report (entries that do not decode are left out).
fn decode_all(config: &Config, entries: &[Vec<u8>]) -> Vec<OwnedMessage> {
    let tags = config.tags();
    let mut out = Vec::new();
    for entry in entries {
        let mut one = GrowableList::new(config.inner.limits);
        if codec::decode_body(entry, &mut one).is_ok() {
            out.extend(one.view().iter().map(|m| OwnedMessage::new(m, &tags)));
        }
    }
    out
}
