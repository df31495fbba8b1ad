//! The report of messages no storage took: [`Unstored`], in the response extensions.

use std::fmt;

use herald_core::CapacityError;

use crate::session::SessionError;
use crate::storage::StorageError;
use crate::view::OwnedMessage;

/// Why a message was not stored.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum UnstoredReason {
    /// It did not fit in the cookie (cookie storage drops the oldest that do not fit).
    CookieFull,
    /// The session backend failed when it was written.
    Session(SessionError),
    /// It was added past the request's limits
    /// ([`ConfigBuilder::request_limits`](crate::ConfigBuilder::request_limits)).
    Limit(CapacityError),
    /// It has an expiry (RULES R-11.5), which Django's wire format
    /// ([`WireFormat::Django`](crate::WireFormat::Django)) cannot carry: it was refused
    /// rather than stored without it.
    ExpiryNotSupported,
    /// The encrypted cookie could not be written: the operating system's random generator
    /// gave no nonce (the message says why).
    Encryption(String),
    /// The [`MessageStorage`](crate::storage::MessageStorage) failed when it was written.
    Storage(StorageError),
    /// The message storage's bound was reached (a per-user store keeps at most so many
    /// entries a user): the oldest entries were dropped.
    StorageFull,
}

impl fmt::Display for UnstoredReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnstoredReason::CookieFull => f.write_str("it does not fit in the messages cookie"),
            UnstoredReason::Session(e) => write!(f, "the session write failed: {e}"),
            UnstoredReason::Limit(e) => write!(f, "{e}"),
            UnstoredReason::ExpiryNotSupported => {
                f.write_str("Django's wire format cannot carry a message's expiry")
            }
            UnstoredReason::Encryption(e) => write!(f, "the cookie could not be encrypted: {e}"),
            UnstoredReason::Storage(e) => write!(f, "the message storage write failed: {e}"),
            UnstoredReason::StorageFull => {
                f.write_str("the message storage's bound was reached; the oldest were dropped")
            }
        }
    }
}

/// One message no storage took, and why.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UnstoredMessage {
    /// The message.
    pub message: OwnedMessage,
    /// Why it was not stored.
    pub reason: UnstoredReason,
}

/// Messages no storage took, returned to the caller in the **response extensions** (and
/// logged with `tracing` at WARN): nothing is dropped silently. An outer middleware can
/// turn it into an error, a header or a metric.
///
/// ```
/// # fn f(response: http::Response<()>) {
/// use herald_flash::Unstored;
/// if let Some(unstored) = response.extensions().get::<Unstored>() {
///     for u in &unstored.messages {
///         eprintln!("not stored: {} ({})", u.message, u.reason);
///     }
/// }
/// # }
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Unstored {
    /// The messages, oldest first, each with its reason.
    pub messages: Vec<UnstoredMessage>,
}

impl Unstored {
    /// Whether some of the messages were lost because the session backend failed while
    /// they were written (not because a cookie was full or a limit reached). The layer
    /// then answers **503** instead of the handler's response (its status is replaced and
    /// any `Location` removed) and takes back the messages cookie of the same write (the
    /// browser keeps the cookie it had), so that no client is told "saved" for messages
    /// that were not kept and nothing of the failed write is half applied; every message
    /// of the write is in the report, which stays in the response extensions. A failing
    /// [`MessageStorage`](crate::storage::MessageStorage) counts as a failing backend too
    /// ([`UnstoredReason::Storage`]).
    pub fn lost_to_the_session_backend(&self) -> bool {
        self.messages.iter().any(|m| {
            matches!(
                m.reason,
                UnstoredReason::Session(SessionError::Backend(_)) | UnstoredReason::Storage(_)
            )
        })
    }

    /// The texts, oldest first.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        self.messages.iter().map(|u| u.message.message.as_str())
    }
}
