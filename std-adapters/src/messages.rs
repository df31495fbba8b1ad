//! The request-side API shared by every framework: [`Messages`] (add, read, keep, level),
//! message views for templates and JSON, and the error and report types.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use herald_core::list::{DEFAULT_BYTES, DEFAULT_MSGS};
use herald_core::{CapacityError, Level, Message, TagTable};
use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::session::SessionError;
use crate::state::{self, Handle, RequestState};

/// What [`Messages::add`] did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// Queued: it will be shown (this request, if read later) or stored for the next one.
    Queued,
    /// The text was empty, so nothing was queued.
    IgnoredEmpty,
    /// The level is below the minimum level in force, so nothing was queued.
    IgnoredBelowLevel,
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
        }
    }
}

/// Everything that can go wrong for a handler using messages. Typed, never a panic.
///
/// As a response (axum `IntoResponse`, actix `ResponseError`) it is a plain-text error:
/// 500 for a missing layer or a full inbox, 503 for a failing session backend.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MessagesError {
    /// The extractor was used without the layer or middleware (named in the message).
    #[error(
        "herald: cannot use messages: {0} is not installed for this route (or it was built with other capacities); add it, or extract FailSilently<Messages> to ignore messages when it is missing"
    )]
    MissingLayer(&'static str),
    /// The session holding the messages could not be read (for example Redis is down).
    #[error("herald: the messages could not be read from the session: {0}")]
    Session(#[from] SessionError),
    /// The message does not fit in the request's inbox (its capacities are full). The
    /// message was not queued.
    #[error("herald: message at level {level} not queued: {reason}")]
    Capacity {
        /// The level of the message that was not queued.
        level: Level,
        /// Which capacity was full.
        reason: CapacityError,
    },
}

impl MessagesError {
    /// The HTTP status this error maps to.
    pub fn status(&self) -> http::StatusCode {
        match self {
            MessagesError::Session(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A message with its tags resolved, owning its strings: for templates, JSON responses and
/// reports of unstored messages.
///
/// Serializes (serde) as `{"level", "level_tag", "tags", "message", "extra_tags"}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedMessage {
    /// The level.
    pub level: Level,
    /// The level's tag, `""` when it has none.
    pub level_tag: String,
    /// The full tag string: extra tags, then the level tag.
    pub tags: String,
    /// The text.
    pub message: String,
    /// The extra tags as given (`None` and `Some("")` render alike).
    pub extra_tags: Option<String>,
    /// Whether the text is trusted HTML (render it unescaped).
    pub safe: bool,
}

impl OwnedMessage {
    /// Copies `message`, resolving its tags in `tags`.
    pub fn new(message: Message<'_>, tags: &TagTable<'_>) -> Self {
        OwnedMessage {
            level: message.level,
            level_tag: tags.level_tag(message.level).to_owned(),
            tags: tags.tags(message.level, message.extra_tags).to_string(),
            message: message.text.to_owned(),
            extra_tags: message.extra_tags.map(str::to_owned),
            safe: message.safe,
        }
    }
}

impl fmt::Display for OwnedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Serialize for OwnedMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Message", 5)?;
        st.serialize_field("level", &self.level.0)?;
        st.serialize_field("level_tag", &self.level_tag)?;
        st.serialize_field("tags", &self.tags)?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("extra_tags", &self.extra_tags)?;
        st.end()
    }
}

/// A borrowed message with the tag table in force: what [`Read::iter`] yields. Serializes
/// like [`OwnedMessage`] without copying.
#[derive(Clone, Copy, Debug)]
pub struct MessageView<'a> {
    message: Message<'a>,
    tags: TagTable<'a>,
}

impl<'a> MessageView<'a> {
    /// The core message (level, text, extra tags, safe flag).
    pub fn message(&self) -> Message<'a> {
        self.message
    }
    /// The level.
    pub fn level(&self) -> Level {
        self.message.level
    }
    /// The text.
    pub fn text(&self) -> &'a str {
        self.message.text
    }
    /// The extra tags as given.
    pub fn extra_tags(&self) -> Option<&'a str> {
        self.message.extra_tags
    }
    /// Whether the text is trusted HTML.
    pub fn safe(&self) -> bool {
        self.message.safe
    }
    /// The level's tag.
    pub fn level_tag(&self) -> &'a str {
        self.tags.level_tag(self.message.level)
    }
    /// The full tag string, rendered without allocating.
    pub fn tags(&self) -> herald_core::Tags<'a> {
        self.tags.tags(self.message.level, self.message.extra_tags)
    }
    /// An owned copy.
    pub fn to_owned(&self) -> OwnedMessage {
        OwnedMessage::new(self.message, &self.tags)
    }
}

impl fmt::Display for MessageView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.text)
    }
}

impl Serialize for MessageView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Message", 5)?;
        st.serialize_field("level", &self.message.level.0)?;
        st.serialize_field("level_tag", self.level_tag())?;
        st.serialize_field("tags", &self.tags().to_string())?;
        st.serialize_field("message", self.message.text)?;
        st.serialize_field("extra_tags", &self.message.extra_tags)?;
        st.end()
    }
}

/// Why messages were not stored.
#[derive(Clone, Debug)]
pub enum UnstoredReason {
    /// They did not fit in the cookie (cookie storage drops the oldest, R-4.7).
    CookieFull,
    /// The session backend failed when they were written.
    Session(SessionError),
}

impl fmt::Display for UnstoredReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnstoredReason::CookieFull => f.write_str("they do not fit in the messages cookie"),
            UnstoredReason::Session(e) => write!(f, "the session write failed: {e}"),
        }
    }
}

/// Messages no storage took, returned to the caller in the **response extensions** (and
/// logged with `tracing` at WARN): nothing is dropped silently. An outer middleware can
/// turn it into an error, a header or a metric.
#[derive(Clone, Debug)]
pub struct Unstored {
    /// The messages, oldest first.
    pub messages: Vec<OwnedMessage>,
    /// Why.
    pub reason: UnstoredReason,
}

/// The flash messages of the current request: the extractor of both adapters (axum via
/// `FromRequestParts`, actix-web via `FromRequest`).
///
/// Cheap to clone (one reference count); all clones see the same messages. `B` and `M` are
/// the inbox capacities (bytes of text, number of messages) and must match the layer's.
///
/// Reading follows Django: [`iter`](Self::iter)/[`read`](Self::read)/[`to_vec`](Self::to_vec)
/// mark the messages used, so they are cleared when this response is sent, unless
/// [`keep`](Self::keep) is called; [`len`](Self::len) and [`contains`](Self::contains) do not.
#[derive(Clone)]
pub struct Messages<const B: usize = DEFAULT_BYTES, const M: usize = DEFAULT_MSGS> {
    handle: Option<Handle<B, M>>,
}

impl<const B: usize, const M: usize> fmt::Debug for Messages<B, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.handle {
            Some(h) => fmt::Debug::fmt(&state::lock(h).inbox, f),
            None => f.write_str("Messages(detached)"),
        }
    }
}

impl<const B: usize, const M: usize> Messages<B, M> {
    pub(crate) fn attached(state: RequestState<B, M>) -> (Self, Handle<B, M>) {
        let handle = Arc::new(Mutex::new(state));
        (
            Messages {
                handle: Some(handle.clone()),
            },
            handle,
        )
    }

    /// Messages that are not connected to any request: adds are ignored
    /// ([`Added::Silenced`]) and there is nothing to read. This is what [`FailSilently`]
    /// yields when the layer is missing.
    pub fn detached() -> Self {
        Messages { handle: None }
    }

    /// Whether these messages belong to a request (a layer is installed).
    pub fn is_attached(&self) -> bool {
        self.handle.is_some()
    }

    /// The session error the layer met while loading, if any (extractors turn it into
    /// [`MessagesError::Session`]).
    pub(crate) fn session_error(&self) -> Option<SessionError> {
        self.handle
            .as_ref()
            .and_then(|h| state::lock(h).session_error.clone())
    }

    fn with<R>(&self, detached: R, f: impl FnOnce(&mut RequestState<B, M>) -> R) -> R {
        match &self.handle {
            Some(h) => f(&mut state::lock(h)),
            None => detached,
        }
    }

    /// Adds a message (Django's `add_message`): an empty text or a level below the minimum
    /// is ignored, and the result says so.
    ///
    /// # Errors
    /// [`MessagesError::Capacity`] when the inbox is full; the message is logged and not
    /// queued.
    pub fn add(&self, level: Level, text: &str, extra_tags: &str) -> Result<Added, MessagesError> {
        self.add_message(Message::new(level, text).with_extra_tags(extra_tags))
    }

    /// Adds a complete [`Message`] (for example with the safe flag set, or `extra_tags:
    /// None`).
    ///
    /// # Errors
    /// [`MessagesError::Capacity`] when the inbox is full; the message is logged and not
    /// queued.
    pub fn add_message(&self, message: Message<'_>) -> Result<Added, MessagesError> {
        self.with(Ok(Added::Silenced), |s| match s.inbox.add_message(message) {
            Ok(a) => Ok(a.into()),
            Err(e) => {
                tracing::warn!(level = e.message.level.0, text = e.message.text, reason = %e.reason, "herald: message not queued");
                Err(MessagesError::Capacity {
                    level: e.message.level,
                    reason: e.reason,
                })
            }
        })
    }

    /// Adds a DEBUG (10) message.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn debug(&self, text: &str) -> Result<Added, MessagesError> {
        self.add(Level::DEBUG, text, "")
    }

    /// Adds an INFO (20) message.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn info(&self, text: &str) -> Result<Added, MessagesError> {
        self.add(Level::INFO, text, "")
    }

    /// Adds a SUCCESS (25) message.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn success(&self, text: &str) -> Result<Added, MessagesError> {
        self.add(Level::SUCCESS, text, "")
    }

    /// Adds a WARNING (30) message.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn warning(&self, text: &str) -> Result<Added, MessagesError> {
        self.add(Level::WARNING, text, "")
    }

    /// Adds an ERROR (40) message.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn error(&self, text: &str) -> Result<Added, MessagesError> {
        self.add(Level::ERROR, text, "")
    }

    /// Reads the messages (loaded, then added in this request) and marks them used, so they
    /// are cleared by this response. The guard borrows them without copying; do not
    /// hold it across an `.await`.
    pub fn read(&self) -> Read<'_, B, M> {
        let guard = self.handle.as_ref().map(|h| {
            let mut g = state::lock(h);
            let _ = g.inbox.iter();
            g
        });
        Read { guard }
    }

    /// Reads the messages as owned copies (marks them used, like [`read`](Self::read)).
    pub fn to_vec(&self) -> Vec<OwnedMessage> {
        self.read().iter().map(|m| m.to_owned()).collect()
    }

    /// The same as [`to_vec`](Self::to_vec)`().into_iter()`: reads and marks used.
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

    /// Whether a message with this level and text exists (R-2.5; extra tags are ignored).
    /// Does not mark them used.
    pub fn contains(&self, level: Level, text: &str) -> bool {
        self.with(false, |s| s.inbox.contains(&Message::new(level, text)))
    }

    /// Keeps the messages read so far for the next request (Django's `storage.used =
    /// False`).
    pub fn keep(&self) {
        self.with((), |s| s.inbox.keep());
    }

    /// The minimum level in force (Django's `get_level`).
    pub fn level(&self) -> Level {
        self.with(Level::INFO, |s| s.inbox.level())
    }

    /// Sets the minimum level for this request; `None` goes back to the configured default
    /// (Django's `set_level`). Returns false, doing nothing, when detached.
    pub fn set_level(&self, level: Option<Level>) -> bool {
        self.with(false, |s| {
            s.inbox.set_level(level);
            true
        })
    }
}

impl<const B: usize, const M: usize> IntoIterator for Messages<B, M> {
    type Item = OwnedMessage;
    type IntoIter = std::vec::IntoIter<OwnedMessage>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<const B: usize, const M: usize> IntoIterator for &Messages<B, M> {
    type Item = OwnedMessage;
    type IntoIter = std::vec::IntoIter<OwnedMessage>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Read access to the messages, from [`Messages::read`]. Holds the request's lock.
pub struct Read<'a, const B: usize = DEFAULT_BYTES, const M: usize = DEFAULT_MSGS> {
    guard: Option<MutexGuard<'a, RequestState<B, M>>>,
}

impl<const B: usize, const M: usize> fmt::Debug for Read<'_, B, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<const B: usize, const M: usize> Read<'_, B, M> {
    /// The messages, oldest first, with their tags.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = MessageView<'_>> + '_ {
        let (view, tags) = match &self.guard {
            Some(g) => (g.inbox.messages(0..usize::MAX), g.config.tags()),
            None => (herald_core::ListView::empty(), TagTable::defaults()),
        };
        view.iter()
            .map(move |message| MessageView { message, tags })
    }

    /// The number of messages.
    pub fn len(&self) -> usize {
        self.iter().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<const B: usize, const M: usize> Serialize for Read<'_, B, M> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// An extractor that never fails for a missing layer: it yields detached messages instead
/// (adds are ignored with [`Added::Silenced`]), like Django's `fail_silently=True`. Other
/// errors (a failing session) are still reported.
#[derive(Clone, Debug)]
pub struct FailSilently<const B: usize = DEFAULT_BYTES, const M: usize = DEFAULT_MSGS>(
    pub Messages<B, M>,
);

impl<const B: usize, const M: usize> std::ops::Deref for FailSilently<B, M> {
    type Target = Messages<B, M>;
    fn deref(&self) -> &Messages<B, M> {
        &self.0
    }
}
