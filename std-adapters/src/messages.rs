//! The request-side API shared by every framework: [`Messages`] (add, read, keep, level),
//! the [`Snapshot`] a read returns, and the handler's error type.
//!
//! ## Locking, and why it cannot deadlock
//! A request's messages sit behind one short-lived lock. Every method takes it, does its
//! work and releases it before returning; no method hands out a guard and none calls
//! user code while holding it. Reading returns an owned [`Snapshot`] (it is `Send` and
//! `'static`, so it may be held across an `.await`), so a handler can read, then call
//! [`Messages::len`], [`Messages::add`], [`Messages::keep`] or format `{:?}` while it
//! still holds what it read.

use std::fmt;
use std::sync::{Arc, Mutex};

use herald_core::list::{GrowableList, MessageStore};
use herald_core::{CapacityError, Level, Message, TagTable};
use serde::Serialize;

use crate::config::Config;
use crate::session::SessionError;
use crate::state::{Handle, RequestState, lock};
use crate::view::{MessageView, OwnedMessage};

/// What [`Messages::try_add`] did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Added {
    /// Queued: it will be shown (this request, if read later) or stored for the next one.
    Queued,
    /// The text was empty, so nothing was queued (Django ignores empty messages).
    IgnoredEmpty,
    /// The level is below the minimum level in force, so nothing was queued.
    IgnoredBelowLevel,
    /// The message's expiry is not after the request's time, so nothing was queued: it
    /// could never be shown (RULES R-11.5).
    IgnoredExpired,
    /// No messages layer is installed and the extractor was asked to fail silently
    /// ([`FailSilently`]), so nothing was queued (Django's `fail_silently=True`).
    Silenced,
}

impl From<herald_core::Added> for Added {
    fn from(a: herald_core::Added) -> Self {
        match a {
            herald_core::Added::Queued => Added::Queued,
            herald_core::Added::IgnoredEmpty => Added::IgnoredEmpty,
            herald_core::Added::IgnoredBelowLevel => Added::IgnoredBelowLevel,
            herald_core::Added::IgnoredExpired => Added::IgnoredExpired,
        }
    }
}

/// Everything that can go wrong for a handler using messages. Typed, never a panic.
///
/// As a rejection (axum `IntoResponse`, actix `ResponseError`) it is a response with a
/// generic body: **500** for a programming error (the messages layer, or the session
/// layer it needs, is not installed), **503** when the session backend fails (for example
/// Redis is down). The details go to `tracing` only, never to the client. To answer
/// differently, extract `Result<Messages, MessagesError>` and build your own response.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum MessagesError {
    /// The extractor was used without the layer or middleware (named in the message).
    #[error(
        "herald: cannot use messages: {0} is not installed for this route; add it, or extract FailSilently to ignore messages when it is missing"
    )]
    MissingLayer(&'static str),
    /// The session holding the messages could not be used: its layer is missing
    /// ([`SessionError::Missing`], a 500) or its backend failed (a 503).
    #[error("herald: the messages could not be read from the session: {0}")]
    Session(#[from] SessionError),
    /// The request's [`MessageStorage`](crate::storage::MessageStorage) could not be read
    /// (a 503).
    #[error("herald: the messages could not be read from the message storage: {0}")]
    Storage(#[from] crate::storage::StorageError),
    /// The message does not fit the request's limits (see
    /// [`ConfigBuilder::request_limits`](crate::ConfigBuilder::request_limits)); it was
    /// not queued. Only [`Messages::try_add`] returns it.
    #[error("herald: message at level {level} not queued: {reason}")]
    Capacity {
        /// The level of the message that was not queued.
        level: Level,
        /// Which limit was reached.
        reason: CapacityError,
    },
    /// The message has an expiry (RULES R-11.5) and the wire format is Django's, which
    /// cannot carry one; it was not queued. Only [`Messages::try_add_message`] returns it.
    #[error("herald: a message with an expiry cannot be stored in Django's wire format")]
    ExpiryNotSupported,
}

impl MessagesError {
    /// The HTTP status this error maps to: 503 for a failing session backend or message
    /// storage, 500 for everything else (a missing layer is a programming error, not an
    /// outage).
    pub fn status(&self) -> http::StatusCode {
        match self {
            MessagesError::Session(SessionError::Backend(_)) | MessagesError::Storage(_) => {
                http::StatusCode::SERVICE_UNAVAILABLE
            }
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response body: the status's generic reason phrase, nothing from the error.
    pub fn body(&self) -> &'static str {
        self.status().canonical_reason().unwrap_or("Error")
    }
}

#[derive(Clone)]
enum Inner {
    Attached(Handle),
    /// No layer: adds are ignored; the level is the one given.
    Detached(Level),
}

/// The flash messages of the current request: the extractor of both adapters (axum via
/// `FromRequestParts`, actix-web via `FromRequest`), with no type parameters.
///
/// Cheap to clone (one reference count); all clones see the same messages.
///
/// Adding is infallible and chainable: a message that cannot be stored is logged and
/// reported in the response's [`Unstored`](crate::Unstored) extension, never dropped silently.
/// [`try_add`](Self::try_add) returns the typed error instead.
///
/// Reading follows Django: [`read`](Self::read), [`iter`](Self::iter) and
/// [`to_vec`](Self::to_vec) mark the messages used, so they are cleared when this
/// response is sent, unless [`keep`](Self::keep) is called; [`len`](Self::len) and
/// [`contains`](Self::contains) do not.
///
/// ```
/// use herald_flash::{Level, Messages};
///
/// fn save(messages: &Messages, name: &str) {
///     messages.success(format!("Saved {name}.")).info("Changes are live.");
/// }
///
/// fn page(messages: &Messages) -> String {
///     let shown = messages.read(); // an owned snapshot: no lock is held
///     let mut html = String::new();
///     for m in &shown {
///         html += &format!("<li class=\"{}\">{}</li>", m.tags(), m.message());
///     }
///     messages.keep(); // optional: show them again on the next request
///     html
/// }
///
/// let messages = Messages::detached(); // outside a request: adds are ignored
/// save(&messages, "profile");
/// assert_eq!(page(&messages), "");
/// assert_eq!(messages.level(), Level::INFO);
/// ```
#[derive(Clone)]
pub struct Messages {
    inner: Inner,
}

impl fmt::Debug for Messages {
    /// Formats a copy taken under the lock, then released: formatting never holds it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Attached(h) => {
                let inbox = lock(h).inbox.clone();
                fmt::Debug::fmt(&inbox, f)
            }
            Inner::Detached(_) => f.write_str("Messages(detached)"),
        }
    }
}

impl Messages {
    /// Messages of the request whose state `handle` holds.
    pub(crate) fn of(handle: &Handle) -> Self {
        Messages {
            inner: Inner::Attached(Arc::clone(handle)),
        }
    }

    pub(crate) fn attached(state: RequestState) -> (Self, Handle) {
        let handle = Arc::new(Mutex::new(state));
        (
            Messages {
                inner: Inner::Attached(handle.clone()),
            },
            handle,
        )
    }

    /// Messages that are not connected to any request: adds are ignored
    /// ([`Added::Silenced`]), there is nothing to read, and the minimum level is INFO
    /// (Django's default). This is what [`FailSilently`] yields when the layer is missing.
    pub fn detached() -> Self {
        Messages {
            inner: Inner::Detached(Level::INFO),
        }
    }

    /// Like [`detached`](Self::detached), with the minimum level of `config`.
    pub fn detached_with(config: &Config) -> Self {
        Messages {
            inner: Inner::Detached(config.min_level()),
        }
    }

    /// Whether these messages belong to a request (a layer is installed).
    pub fn is_attached(&self) -> bool {
        matches!(self.inner, Inner::Attached(_))
    }

    /// The error the layer met while loading, if any: a session error
    /// ([`MessagesError::Session`]) or a message storage's ([`MessagesError::Storage`]).
    /// Extractors reject with it.
    #[cfg(any(feature = "axum", feature = "actix"))]
    pub(crate) fn load_error(&self) -> Option<MessagesError> {
        match &self.inner {
            Inner::Attached(h) => {
                let state = lock(h);
                if let Some(e) = state.session_error() {
                    return Some(MessagesError::Session(e.clone()));
                }
                state.storage_error().cloned().map(MessagesError::Storage)
            }
            Inner::Detached(_) => None,
        }
    }

    fn with<R>(&self, detached: R, f: impl FnOnce(&mut RequestState) -> R) -> R {
        match &self.inner {
            Inner::Attached(h) => f(&mut lock(h)),
            Inner::Detached(_) => detached,
        }
    }

    /// Adds a message at `level` (Django's `add_message`): an empty text or a level below
    /// the minimum is ignored. Accepts `&str`, `String`, `format!(..)`, anything
    /// `AsRef<str>`.
    ///
    /// A message past the request's limits is not queued: it is logged at WARN and
    /// reported in the response's [`Unstored`](crate::Unstored) extension.
    pub fn add(&self, level: Level, message: impl AsRef<str>) -> &Self {
        self.add_message(Message::new(level, message.as_ref()))
    }

    /// Adds a complete [`Message`], for example with extra tags or the safe-HTML flag:
    /// `messages.add_message(Message::new(Level::ERROR, "<b>No.</b>").with_extra_tags("banner").with_safe(true))`.
    /// Reported like [`add`](Self::add) when it does not fit.
    pub fn add_message(&self, message: Message<'_>) -> &Self {
        self.with((), |s| s.add_reported(message));
        self
    }

    /// Adds a message like [`add`](Self::add), but says what happened and returns the
    /// typed error instead of reporting it.
    ///
    /// # Errors
    /// [`MessagesError::Capacity`] when the message does not fit the request's limits; it
    /// is then not queued and not reported in [`Unstored`](crate::Unstored) (the caller has the error).
    pub fn try_add(&self, level: Level, message: impl AsRef<str>) -> Result<Added, MessagesError> {
        self.try_add_message(Message::new(level, message.as_ref()))
    }

    /// [`try_add`](Self::try_add) for a complete [`Message`].
    ///
    /// # Errors
    /// As [`try_add`](Self::try_add).
    pub fn try_add_message(&self, message: Message<'_>) -> Result<Added, MessagesError> {
        self.with(Ok(Added::Silenced), |s| {
            if s.refuses_expiry(&message) {
                return Err(MessagesError::ExpiryNotSupported);
            }
            match s.inbox.add_message(message) {
                Ok(a) => Ok(a.into()),
                Err(e) => Err(MessagesError::Capacity {
                    level: e.message.level,
                    reason: e.reason,
                }),
            }
        })
    }

    /// Adds a message that is shown only if a request reads it within `ttl` (RULES
    /// R-11.5, "shown within ten minutes or never"): it expires `ttl` after the request's
    /// clock ([`ConfigBuilder::clock`](crate::ConfigBuilder::clock)), in whole seconds
    /// (a fraction of a second is dropped, so it is never shown late), and an expired
    /// message is dropped when loaded and never shown. A `ttl` under a second is already
    /// expired: the message is ignored, as [`try_add_message`](Self::try_add_message) says
    /// ([`Added::IgnoredExpired`]). Chainable and reported like [`add`](Self::add); under
    /// Django's wire format, which cannot carry an expiry, it is reported unstored
    /// ([`UnstoredReason::ExpiryNotSupported`](crate::UnstoredReason::ExpiryNotSupported)).
    ///
    /// ```
    /// # fn f(messages: herald_flash::Messages) {
    /// use std::time::Duration;
    /// use herald_flash::Level;
    /// messages.add_expiring(Level::INFO, "Your export is ready.", Duration::from_secs(600));
    /// # }
    /// ```
    pub fn add_expiring(
        &self,
        level: Level,
        message: impl AsRef<str>,
        ttl: std::time::Duration,
    ) -> &Self {
        self.with((), |s| {
            let expires_at = s.config.now().saturating_add(ttl.as_secs());
            s.add_reported(Message::new(level, message.as_ref()).with_expires_at(expires_at));
        });
        self
    }

    /// Adds a DEBUG (10) message (shown only if the minimum level allows it).
    pub fn debug(&self, message: impl AsRef<str>) -> &Self {
        self.add(Level::DEBUG, message)
    }

    /// Adds an INFO (20) message.
    pub fn info(&self, message: impl AsRef<str>) -> &Self {
        self.add(Level::INFO, message)
    }

    /// Adds a SUCCESS (25) message.
    pub fn success(&self, message: impl AsRef<str>) -> &Self {
        self.add(Level::SUCCESS, message)
    }

    /// Adds a WARNING (30) message.
    pub fn warning(&self, message: impl AsRef<str>) -> &Self {
        self.add(Level::WARNING, message)
    }

    /// Adds an ERROR (40) message.
    pub fn error(&self, message: impl AsRef<str>) -> &Self {
        self.add(Level::ERROR, message)
    }

    /// Reads the messages (loaded, then added in this request) and marks them used, so
    /// they are cleared by this response, as iterating Django's storage does.
    ///
    /// Returns an owned [`Snapshot`]: no lock is held while you use it, so it can cross an
    /// `.await` and every other method stays callable. Messages added after the read are
    /// not in it (read again to see them).
    pub fn read(&self) -> Snapshot {
        match &self.inner {
            Inner::Attached(h) => {
                let mut s = lock(h);
                let _ = s.inbox.iter();
                Snapshot {
                    list: s.inbox.store().clone(),
                    config: Some(s.config.clone()),
                }
            }
            Inner::Detached(_) => Snapshot {
                list: GrowableList::default(),
                config: None,
            },
        }
    }

    /// Adds a message for this request only (RULES R-11.1, Rails' `flash.now`): a read in
    /// this request shows it, in order with the others, but it is never stored, never
    /// reported in [`Unstored`](crate::Unstored), and does not count as a change (a request
    /// that only adds such messages leaves the stored ones alone). Chainable like
    /// [`add`](Self::add); ignored when empty or below the level; one past the request's
    /// limits is logged at WARN and not shown.
    ///
    /// ```
    /// # fn f(messages: herald_flash::Messages) {
    /// use herald_flash::Level;
    /// messages.now(Level::ERROR, "Please correct the errors below.");
    /// let shown = messages.read(); // includes it; the next request will not
    /// # }
    /// ```
    pub fn now(&self, level: Level, message: impl AsRef<str>) -> &Self {
        self.now_message(Message::new(level, message.as_ref()))
    }

    /// [`now`](Self::now) for a complete [`Message`] (extra tags, safe flag).
    pub fn now_message(&self, message: Message<'_>) -> &Self {
        self.with((), |s| {
            if let Err(e) = s.inbox.add_message_now(message) {
                tracing::warn!(level = e.message.level.0, text = %e.message.message, reason = %e.reason, "herald: request-only message not queued");
            }
        });
        self
    }

    /// Discards every message held now (RULES R-11.2, Rails' `flash.discard`): loaded or
    /// added, read or not. They can still be read in this request, but none is stored, so
    /// the stored messages are cleared; messages added afterwards are stored as usual.
    /// [`keep`](Self::keep) does not undo it.
    pub fn discard(&self) {
        self.with((), |s| s.inbox.discard());
    }

    /// Discards the messages read so far (RULES R-11.2), by [`read`](Self::read) or a
    /// filtered read: a later [`keep`](Self::keep) no longer brings them back. Unread
    /// messages are not affected.
    pub fn discard_read(&self) {
        self.with((), |s| s.inbox.discard_read());
    }

    /// Reads only the messages `filter` accepts (RULES R-11.3, Flask's `category_filter`),
    /// in order, and marks just those read: the others stay unread and are stored for a
    /// later request, in order. [`keep`](Self::keep) undoes it.
    ///
    /// ```
    /// # fn f(messages: herald_flash::Messages) {
    /// use herald_flash::Level;
    /// // The form's banner shows the errors; the rest waits for the page's message list.
    /// let errors = messages.read_filtered(|m| m.level >= Level::ERROR);
    /// # }
    /// ```
    pub fn read_filtered(&self, filter: impl Fn(&Message<'_>) -> bool) -> Snapshot {
        match &self.inner {
            Inner::Attached(h) => {
                let mut s = lock(h);
                let mut list = s.inbox.store().clone();
                list.truncate(0);
                for m in s.inbox.read_where(filter) {
                    // Cannot fail: a subset of what the store holds, under the same limits.
                    let _ = list.push(m);
                }
                Snapshot {
                    list,
                    config: Some(s.config.clone()),
                }
            }
            Inner::Detached(_) => Snapshot {
                list: GrowableList::default(),
                config: None,
            },
        }
    }

    /// [`read_filtered`](Self::read_filtered) for the messages whose level is one of
    /// `levels`.
    pub fn read_levels(&self, levels: &[Level]) -> Snapshot {
        self.read_filtered(|m| levels.contains(&m.level))
    }

    /// Reads the messages as owned copies (marks them used, like [`read`](Self::read)).
    pub fn to_vec(&self) -> Vec<OwnedMessage> {
        self.read().to_vec()
    }

    /// Reads the messages and iterates owned copies: the same as
    /// [`to_vec`](Self::to_vec)`().into_iter()`. Like Django's iteration, it marks them
    /// all used at once, even if the iterator is not run to the end.
    pub fn iter(&self) -> std::vec::IntoIter<OwnedMessage> {
        self.to_vec().into_iter()
    }

    /// The number of messages, loaded and added. Does not mark them used.
    pub fn len(&self) -> usize {
        self.with(0, |s| s.inbox.len())
    }

    /// Whether there are no messages. Does not mark them used.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a message with this level and text exists (extra tags are ignored, as in
    /// Django's message equality). Does not mark them used.
    pub fn contains(&self, level: Level, message: &str) -> bool {
        self.with(false, |s| s.inbox.contains(&Message::new(level, message)))
    }

    /// Keeps the messages read so far for the next request (Django's `storage.used =
    /// False`).
    ///
    /// ```
    /// # fn f(messages: herald_flash::Messages) {
    /// let shown = messages.read();
    /// if shown.is_empty() { /* nothing to show */ }
    /// messages.keep(); // the same messages are shown again on the next page
    /// # }
    /// ```
    pub fn keep(&self) {
        self.with((), |s| s.inbox.keep());
    }

    /// The minimum level in force (Django's `get_level`): the per-request override, else
    /// the configured default.
    pub fn level(&self) -> Level {
        match &self.inner {
            Inner::Attached(h) => lock(h).inbox.level(),
            Inner::Detached(level) => *level,
        }
    }

    /// Sets the minimum level for this request; `None` goes back to the configured default
    /// (Django's `set_level`). Returns false, doing nothing, when detached.
    ///
    /// ```
    /// # fn f(messages: herald_flash::Messages) {
    /// use herald_flash::Level;
    /// messages.set_level(Some(Level::DEBUG));
    /// messages.debug("shown on this request's pages too");
    /// # }
    /// ```
    pub fn set_level(&self, level: Option<Level>) -> bool {
        self.with(false, |s| {
            s.inbox.set_level(level);
            true
        })
    }

    /// The template context (Django's messages context processor): `messages` and
    /// `DEFAULT_MESSAGE_LEVELS`, see [`crate::context`]. Taking it reads the messages and
    /// marks them used, like [`read`](Self::read).
    ///
    /// ```
    /// # fn handler(messages: herald_flash::Messages) {
    /// let context = messages.context();
    /// for m in &context.messages {
    ///     println!("<li class=\"{}\">{m}</li>", m.tags); // `m` displays as escaped HTML
    /// }
    /// # }
    /// ```
    pub fn context(&self) -> crate::context::Context {
        crate::context::Context::new(&self.read())
    }
}

impl IntoIterator for &Messages {
    type Item = OwnedMessage;
    type IntoIter = std::vec::IntoIter<OwnedMessage>;
    /// Reads and marks used, as [`Messages::iter`].
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The messages of a request as one read saw them: an owned copy, from
/// [`Messages::read`]. Holds no lock; `Send`, `Sync` and `'static`.
///
/// Iterate it by reference for [`MessageView`]s (text, level, tags), or serialize it as a
/// JSON array of `{level, level_tag, tags, message, extra_tags, is_safe}`.
#[derive(Clone)]
pub struct Snapshot {
    list: GrowableList,
    /// The configuration whose tag table the views resolve tags in (`None`: detached).
    config: Option<Config>,
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Snapshot {
    /// The messages, oldest first, with their tags.
    pub fn iter(&self) -> SnapshotIter<'_> {
        SnapshotIter {
            messages: self.list.view().iter(),
            tags: match &self.config {
                Some(c) => c.tags(),
                None => TagTable::defaults(),
            },
        }
    }

    /// The number of messages.
    pub fn len(&self) -> usize {
        MessageStore::len(&self.list)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Owned copies of the messages.
    pub fn to_vec(&self) -> Vec<OwnedMessage> {
        self.iter().map(|m| m.to_owned()).collect()
    }
}

impl<'a> IntoIterator for &'a Snapshot {
    type Item = MessageView<'a>;
    type IntoIter = SnapshotIter<'a>;
    fn into_iter(self) -> SnapshotIter<'a> {
        self.iter()
    }
}

/// Iterator over the [`MessageView`]s of a [`Snapshot`], oldest first.
#[derive(Clone, Debug)]
pub struct SnapshotIter<'a> {
    messages: herald_core::Messages<'a>,
    tags: TagTable<'a>,
}

impl<'a> Iterator for SnapshotIter<'a> {
    type Item = MessageView<'a>;
    fn next(&mut self) -> Option<MessageView<'a>> {
        let tags = self.tags;
        self.messages
            .next()
            .map(|message| MessageView::new(message, tags))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.messages.size_hint()
    }
}

impl ExactSizeIterator for SnapshotIter<'_> {}

impl Serialize for Snapshot {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// An extractor that never fails for a missing layer: it yields detached messages instead
/// (adds are ignored with [`Added::Silenced`]), like Django's `fail_silently=True`. Other
/// errors (a failing session) are still reported.
///
/// ```
/// use herald_flash::FailSilently;
/// async fn handler(FailSilently(messages): FailSilently) -> &'static str {
///     messages.info("shown if the layer is installed, ignored if not");
///     "ok"
/// }
/// ```
#[derive(Clone, Debug)]
pub struct FailSilently(pub Messages);

impl std::ops::Deref for FailSilently {
    type Target = Messages;
    fn deref(&self) -> &Messages {
        &self.0
    }
}

/// The herald extensions (RULES §11) through `Messages`, over cookie storage, request
/// after request: the handler side and the response's `Set-Cookie` as the adapters do.
#[cfg(test)]
mod extension_tests {
    use super::*;
    use crate::state::RequestState;
    use herald_core::Storage;

    fn config() -> Config {
        Config::builder()
            .secret("a secret for the extension tests, 32+ bytes")
            .build()
            .unwrap()
    }

    /// One request carrying `cookie`: runs `handler`, returns the cookie the client keeps.
    fn request(
        config: &Config,
        cookie: &Option<String>,
        handler: impl FnOnce(&Messages),
    ) -> Option<String> {
        let header = cookie.as_ref().map(|v| format!("messages={v}"));
        let headers = header.iter().map(|h| h.as_bytes());
        let state = RequestState::begin(config, Storage::Cookie, headers);
        let (messages, handle) = Messages::attached(state);
        handler(&messages);
        let mut line = None;
        let (_, unstored) = lock(&handle).finish(|l| line = l.into_bytes().map(|l| l.to_vec()));
        assert!(unstored.is_empty(), "nothing unstored");
        match line {
            None => cookie.clone(),
            Some(l) => {
                let l = String::from_utf8(l).unwrap();
                let value = l
                    .split(';')
                    .next()
                    .unwrap()
                    .strip_prefix("messages=")
                    .unwrap();
                // A deletion cookie has the empty value `""`.
                let value = value.trim_matches('"');
                (!value.is_empty()).then(|| value.to_owned())
            }
        }
    }

    fn texts(s: &Snapshot) -> Vec<String> {
        s.iter().map(|m| m.message().to_owned()).collect()
    }

    #[test]
    fn now_is_shown_once_and_never_stored() {
        let config = config();
        let cookie = request(&config, &None, |m| {
            m.info("stored").now(Level::ERROR, "now only");
            assert_eq!(texts(&m.read()), ["stored", "now only"]);
            m.keep();
        });
        let cookie = request(&config, &cookie, |m| {
            assert_eq!(texts(&m.read()), ["stored"]);
        });
        assert_eq!(cookie, None, "read: cleared");
        // Only a `now` message: nothing is written.
        let cookie = request(&config, &None, |m| {
            m.now(Level::INFO, "now");
        });
        assert_eq!(cookie, None);
    }

    #[test]
    fn discard_clears_and_keeps_later_adds() {
        let config = config();
        let cookie = request(&config, &None, |m| {
            m.info("a").info("b");
        });
        let cookie = request(&config, &cookie, |m| {
            m.discard();
            m.keep();
            m.info("after");
        });
        let cookie = request(&config, &cookie, |m| {
            assert_eq!(texts(&m.read()), ["after"]);
        });
        assert_eq!(cookie, None);
        // discard_read: a later keep brings back only the unread messages.
        let cookie = request(&config, &None, |m| {
            m.info("info").error("error");
        });
        let cookie = request(&config, &cookie, |m| {
            assert_eq!(texts(&m.read_levels(&[Level::ERROR])), ["error"]);
            m.discard_read();
            m.keep();
        });
        request(&config, &cookie, |m| {
            assert_eq!(texts(&m.read()), ["info"]);
        });
    }

    #[test]
    fn filtered_reads_leave_the_rest_in_order() {
        let config = config();
        let cookie = request(&config, &None, |m| {
            m.info("i1").error("e1").warning("w1").error("e2");
        });
        let cookie = request(&config, &cookie, |m| {
            let errors = m.read_filtered(|x| x.level >= Level::ERROR);
            assert_eq!(texts(&errors), ["e1", "e2"]);
            assert_eq!(m.len(), 4, "the others are still there");
        });
        let cookie = request(&config, &cookie, |m| {
            assert!(m.read_levels(&[Level::ERROR]).is_empty(), "not shown twice");
            assert_eq!(texts(&m.read()), ["i1", "w1"]);
        });
        assert_eq!(cookie, None);
        // Detached: nothing.
        assert!(Messages::detached().read_levels(&[Level::INFO]).is_empty());
    }
}
