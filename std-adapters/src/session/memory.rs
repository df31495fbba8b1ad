//! [`MemorySessions`]: an in-process session store with its own session-id cookie, the
//! default session backend of the demo and the tests. One process only: use a Redis-backed
//! session system for several servers.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, ready};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use herald_core::cookie_header::{self, CookieAttributes};

use super::{SessionBackend, SessionError};
use crate::config::SameSite;
use crate::cookies;

type Id = [u8; 16];
type Sessions = HashMap<Id, HashMap<Box<str>, Vec<u8>>>;

/// An in-memory session store shared by all requests of one process (cheap to clone).
///
/// Each browser gets a random 128-bit session id in its own cookie (default name
/// `herald_session`, `HttpOnly`, `SameSite=Lax`, `Path=/`), issued the first time
/// something is stored. Ids the store did not issue are never adopted (no session
/// fixation), and an entry is freed as soon as its messages are removed.
#[derive(Clone)]
pub struct MemorySessions {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    sessions: Mutex<Sessions>,
    cookie_name: Box<str>,
    secure: bool,
    same_site: Option<SameSite>,
    domain: Option<Box<str>>,
    max_sessions: usize,
}

impl fmt::Debug for MemorySessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySessions")
            .field("cookie_name", &self.inner.cookie_name)
            .field("sessions", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemorySessions {
    fn default() -> Self {
        Self::new()
    }
}

/// The store is full: it already holds its maximum number of sessions.
#[derive(Debug, thiserror::Error)]
#[error("the in-memory session store is full ({0} sessions)")]
pub struct StoreFull(pub usize);

impl MemorySessions {
    /// A store with the defaults (cookie `herald_session`, at most 100 000 sessions).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for the session cookie's attributes and the store's size limit.
    pub fn builder() -> MemorySessionsBuilder {
        MemorySessionsBuilder {
            cookie_name: "herald_session".into(),
            secure: false,
            same_site: Some(SameSite::Lax),
            domain: None,
            max_sessions: 100_000,
        }
    }

    /// The number of sessions holding data.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session holds data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The session of a request, found from its `Cookie` header values.
    pub fn session<'h>(&self, cookie_headers: impl IntoIterator<Item = &'h [u8]>) -> MemorySession {
        let id = cookies::find(cookie_headers, &self.inner.cookie_name).and_then(parse_id);
        MemorySession {
            store: self.clone(),
            state: Mutex::new(HandleState { id, issued: false }),
        }
    }
}

/// Builds a [`MemorySessions`] store.
#[derive(Clone, Debug)]
pub struct MemorySessionsBuilder {
    cookie_name: String,
    secure: bool,
    same_site: Option<SameSite>,
    domain: Option<String>,
    max_sessions: usize,
}

impl MemorySessionsBuilder {
    /// The session-id cookie's name (default `herald_session`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }
    /// Whether the session-id cookie is `Secure` (default off).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }
    /// The session-id cookie's `SameSite` (default Lax).
    pub fn same_site(mut self, same_site: Option<SameSite>) -> Self {
        self.same_site = same_site;
        self
    }
    /// The session-id cookie's `Domain` (default none).
    pub fn domain(mut self, domain: Option<String>) -> Self {
        self.domain = domain;
        self
    }
    /// The most sessions the store holds; storing into a new session beyond it fails with
    /// a [`SessionError::Backend`] wrapping [`StoreFull`] (default 100 000).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max;
        self
    }
    /// The store.
    pub fn build(self) -> MemorySessions {
        MemorySessions {
            inner: Arc::new(StoreInner {
                sessions: Mutex::new(HashMap::new()),
                cookie_name: self.cookie_name.into(),
                secure: self.secure,
                same_site: self.same_site,
                domain: self.domain.map(Into::into),
                max_sessions: self.max_sessions,
            }),
        }
    }
}

fn parse_id(text: &str) -> Option<Id> {
    let mut id = [0u8; 16];
    match URL_SAFE_NO_PAD.decode_slice(text, &mut id) {
        Ok(16) if text.len() == 22 => Some(id),
        _ => None,
    }
}

struct HandleState {
    id: Option<Id>,
    issued: bool,
}

/// One request's session in a [`MemorySessions`] store.
pub struct MemorySession {
    store: MemorySessions,
    state: Mutex<HandleState>,
}

impl fmt::Debug for MemorySession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySession").finish_non_exhaustive()
    }
}

impl MemorySession {
    fn state(&self) -> MutexGuard<'_, HandleState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get_now(&self, key: &str) -> Option<Vec<u8>> {
        let id = self.state().id?;
        self.store.lock().get(&id)?.get(key).cloned()
    }

    fn set_now(&self, key: &str, value: Vec<u8>) -> Result<(), SessionError> {
        let mut state = self.state();
        let mut sessions = self.store.lock();
        let id = match state.id.filter(|id| sessions.contains_key(id)) {
            Some(id) => id,
            None => {
                if sessions.len() >= self.store.inner.max_sessions {
                    return Err(SessionError::backend(StoreFull(sessions.len())));
                }
                let mut id = [0u8; 16];
                getrandom::fill(&mut id).map_err(|e| SessionError::backend(RandomError(e)))?;
                state.id = Some(id);
                state.issued = true;
                id
            }
        };
        sessions.entry(id).or_default().insert(key.into(), value);
        Ok(())
    }

    fn remove_now(&self, key: &str) {
        let Some(id) = self.state().id else {
            return;
        };
        let mut sessions = self.store.lock();
        if let Some(entries) = sessions.get_mut(&id) {
            entries.remove(key);
            if entries.is_empty() {
                sessions.remove(&id);
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
struct RandomError(getrandom::Error);

impl SessionBackend for MemorySession {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, SessionError>> + Send {
        ready(Ok(self.get_now(key)))
    }

    fn set(
        &self,
        key: &str,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), SessionError>> + Send {
        ready(self.set_now(key, value))
    }

    fn remove(&self, key: &str) -> impl Future<Output = Result<(), SessionError>> + Send {
        self.remove_now(key);
        ready(Ok(()))
    }

    fn response_cookie(&self) -> Option<String> {
        let state = self.state();
        if !state.issued {
            return None;
        }
        let id = URL_SAFE_NO_PAD.encode(state.id?);
        let inner = &self.store.inner;
        let attrs = CookieAttributes {
            path: "/",
            domain: inner.domain.as_deref(),
            secure: inner.secure,
            http_only: true,
            same_site: inner.same_site,
            max_age: None,
        };
        let mut buf = [0u8; 512];
        match cookie_header::write_set_cookie(&mut buf, &inner.cookie_name, &id, attrs) {
            Ok(line) => Some(line.to_owned()),
            Err(e) => {
                tracing::error!(error = ?e, "herald: cannot write the session cookie (check its name and domain)");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<T>(f: impl Future<Output = T>) -> T {
        // The memory backend's futures are always ready.
        let mut f = std::pin::pin!(f);
        let waker = std::task::Waker::noop();
        match f.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => unreachable!("memory futures are ready"),
        }
    }

    #[test]
    fn issues_an_id_on_first_store_and_finds_it_again() {
        let store = MemorySessions::new();
        let s = store.session([]);
        assert_eq!(block(s.get("k")).unwrap(), None);
        assert!(s.response_cookie().is_none());
        block(s.set("k", vec![1, 2, 3])).unwrap();
        let line = s.response_cookie().unwrap();
        assert!(line.starts_with("herald_session="), "{line}");
        assert!(
            line.contains("HttpOnly") && line.contains("SameSite=Lax") && line.contains("Path=/")
        );
        let value = line.split(';').next().unwrap();
        let again = store.session([value.as_bytes()]);
        assert_eq!(block(again.get("k")).unwrap(), Some(vec![1, 2, 3]));
        block(again.set("k", vec![4])).unwrap();
        assert!(
            again.response_cookie().is_none(),
            "a known id is reused, no new cookie"
        );
        block(again.remove("k")).unwrap();
        assert!(store.is_empty(), "an emptied session is freed");
    }

    #[test]
    fn unknown_ids_are_not_adopted_and_the_store_is_bounded() {
        let store = MemorySessions::builder().max_sessions(1).build();
        let forged = "herald_session=AAAAAAAAAAAAAAAAAAAAAA";
        let s = store.session([forged.as_bytes()]);
        block(s.set("k", vec![1])).unwrap();
        let line = s.response_cookie().unwrap();
        assert!(
            !line.contains("AAAAAAAAAAAAAAAAAAAAAA"),
            "a forged id is replaced"
        );
        let other = store.session([]);
        assert!(matches!(
            block(other.set("k", vec![2])),
            Err(SessionError::Backend(_))
        ));
    }
}
