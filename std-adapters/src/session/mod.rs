//! Session storage: a small backend trait for the encoded messages under the session key,
//! and its implementations — [`MemorySessions`] (in-process, the default for the demo and
//! tests), tower-sessions' `Session` and actix-session's `Session`.
//!
//! The adapters never interpret what a backend returns: the bytes go straight to the core
//! inbox, which rejects anything it did not write.

use std::error::Error as StdError;
use std::future::Future;
use std::sync::Arc;

mod memory;
mod source;

#[cfg(any(feature = "actix-session-0-10", feature = "actix-session-0-11"))]
mod actix_session;
mod tower_sessions;

#[cfg(feature = "actix-session-0-10")]
pub use self::actix_session::actix_session_0_10;
#[cfg(feature = "actix-session-0-11")]
pub use self::actix_session::actix_session_0_11;
pub use self::memory::{MemorySession, MemorySessions, MemorySessionsBuilder};
#[cfg(feature = "actix")]
pub use self::source::ActixSessionSource;
pub use self::source::TowerSessionSource;
#[cfg(feature = "tower-sessions-0-14")]
pub use self::tower_sessions::tower_sessions_0_14;
#[cfg(feature = "tower-sessions-0-15")]
pub use self::tower_sessions::tower_sessions_0_15;

/// Why a session could not be used. Typed, cloneable, and never a panic.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SessionError {
    /// The request has no session: the session layer or middleware it needs is not
    /// installed (the message names it).
    #[error("no session for this request: {0}")]
    Missing(&'static str),
    /// The session backend failed (for example its Redis server is down).
    #[error("session backend error: {0}")]
    Backend(Arc<dyn StdError + Send + Sync>),
}

impl SessionError {
    /// Wraps any backend error.
    pub fn backend(error: impl StdError + Send + Sync + 'static) -> Self {
        SessionError::Backend(Arc::new(error))
    }
}

/// One request's access to its session: get, set and remove the encoded messages (opaque
/// bytes) under a key. Implement it to plug in another session system.
///
/// `get` returns exactly the bytes `set` stored; a backend that stores text may return
/// undecodable text unchanged, because the core rejects bytes it did not write.
///
/// A backend comes with a source ([`TowerSessionSource`] for the tower layer,
/// `ActixSessionSource` for actix-web) that finds a request's session; a source whose
/// session layer is missing answers [`SessionError::Missing`], which makes the request a
/// 500 with one ERROR line. A complete backend over a shared map, keyed by a header the
/// application sets (a real one would read its own session cookie or auth state):
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
///
/// use herald_flash::session::{SessionBackend, SessionError, TowerSessionSource};
/// use herald_flash::{Config, tower::MessagesLayer};
///
/// type Entries = Arc<Mutex<HashMap<(String, String), Vec<u8>>>>;
///
/// /// One request's view: the entries of the user named by the `x-user` header.
/// struct UserEntries {
///     user: String,
///     entries: Entries,
/// }
///
/// impl SessionBackend for UserEntries {
///     async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SessionError> {
///         let entries = self.entries.lock().unwrap();
///         Ok(entries.get(&(self.user.clone(), key.to_owned())).cloned())
///     }
///     async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), SessionError> {
///         let mut entries = self.entries.lock().unwrap();
///         entries.insert((self.user.clone(), key.to_owned()), value);
///         Ok(())
///     }
///     async fn remove(&self, key: &str) -> Result<(), SessionError> {
///         self.entries.lock().unwrap().remove(&(self.user.clone(), key.to_owned()));
///         Ok(())
///     }
/// }
///
/// #[derive(Clone, Default)]
/// struct ByUser(Entries);
///
/// impl TowerSessionSource for ByUser {
///     type Session = UserEntries;
///     fn session(
///         &self,
///         headers: &http::HeaderMap,
///         _: &http::Extensions,
///     ) -> Result<UserEntries, SessionError> {
///         let user = headers
///             .get("x-user")
///             .and_then(|v| v.to_str().ok())
///             .ok_or(SessionError::Missing("no x-user header: is the auth layer installed?"))?;
///         Ok(UserEntries { user: user.to_owned(), entries: self.0.clone() })
///     }
/// }
///
/// let config = Config::builder().secret([7u8; 32]).build().unwrap();
/// let layer = MessagesLayer::session(config, ByUser::default());
/// # let _ = layer;
/// ```
pub trait SessionBackend {
    /// The bytes stored under `key`, if any.
    ///
    /// # Errors
    /// [`SessionError`] when the backend cannot be reached or fails.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, SessionError>> + Send;

    /// Stores `value` under `key`, replacing what was there.
    ///
    /// # Errors
    /// [`SessionError`] when the backend cannot be reached or fails.
    fn set(
        &self,
        key: &str,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// Stores the text `value` under `key`, replacing what was there: the session entry of
    /// [`WireFormat::Django`](crate::WireFormat::Django), Django's JSON string. Backends
    /// that keep text store it as is (so the session holds exactly what Django's
    /// `SessionStorage` puts under `_messages`) and `get` returns its UTF-8 bytes; the
    /// default stores the bytes with [`set`](Self::set).
    ///
    /// # Errors
    /// [`SessionError`] when the backend cannot be reached or fails.
    fn set_text(
        &self,
        key: &str,
        value: String,
    ) -> impl Future<Output = Result<(), SessionError>> + Send {
        self.set(key, value.into_bytes())
    }

    /// Removes `key`; removing a missing key is not an error.
    ///
    /// # Errors
    /// [`SessionError`] when the backend cannot be reached or fails.
    fn remove(&self, key: &str) -> impl Future<Output = Result<(), SessionError>> + Send;

    /// A `Set-Cookie` header value the response must carry for this session, if any.
    /// Only backends that keep their own session cookie (like [`MemorySession`]) return one;
    /// called once, after the session was written.
    fn response_cookie(&self) -> Option<String> {
        None
    }
}

/// The session source of adapters without session storage: cookie storage only.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSession;

/// The (uninhabited) session handle of [`NoSession`]: it never exists.
#[derive(Clone, Copy, Debug)]
pub enum NoSessionHandle {}

impl SessionBackend for NoSessionHandle {
    #[allow(clippy::manual_async_fn)]
    fn get(&self, _: &str) -> impl Future<Output = Result<Option<Vec<u8>>, SessionError>> + Send {
        async { match *self {} }
    }
    #[allow(clippy::manual_async_fn)]
    fn set(&self, _: &str, _: Vec<u8>) -> impl Future<Output = Result<(), SessionError>> + Send {
        async { match *self {} }
    }
    #[allow(clippy::manual_async_fn)]
    fn remove(&self, _: &str) -> impl Future<Output = Result<(), SessionError>> + Send {
        async { match *self {} }
    }
}
