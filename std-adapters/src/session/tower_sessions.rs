//! tower-sessions 0.14 (`tower_sessions::Session`) as a session backend.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::IgnoredAny;
use tower_sessions_core::Session;

use super::{SessionBackend, SessionError};

/// Stores the encoded messages in the session as one base64url string; values that are not
/// base64 are handed to the core unchanged (and rejected there).
impl SessionBackend for Session {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SessionError> {
        let text: Option<String> = Session::get(self, key)
            .await
            .map_err(SessionError::backend)?;
        Ok(text.map(|t| {
            URL_SAFE_NO_PAD
                .decode(&t)
                .unwrap_or_else(|_| t.into_bytes())
        }))
    }

    async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), SessionError> {
        Session::insert(self, key, URL_SAFE_NO_PAD.encode(value))
            .await
            .map_err(SessionError::backend)
    }

    /// Django's JSON string is stored as a session string, exactly as Django's session
    /// holds it; `get` hands it back unchanged (it is never base64).
    async fn set_text(&self, key: &str, value: String) -> Result<(), SessionError> {
        Session::insert(self, key, value)
            .await
            .map_err(SessionError::backend)
    }

    async fn remove(&self, key: &str) -> Result<(), SessionError> {
        Session::remove::<IgnoredAny>(self, key)
            .await
            .map(|_| ())
            .map_err(SessionError::backend)
    }
}

/// The session source for tower-sessions: takes the `tower_sessions::Session` (0.14) that
/// `SessionManagerLayer` put in the request, with any store — memory, Redis
/// (`tower-sessions-redis-store` 0.16), a database.
///
/// `SessionManagerLayer` must wrap herald's layer (add it after, so it is outside), so that
/// the messages written at response time are saved with the session.
#[derive(Clone, Copy, Debug, Default)]
pub struct TowerSessions;

/// The error a request gets when `SessionManagerLayer` is missing.
pub(crate) const MISSING: &str = "tower_sessions::SessionManagerLayer (tower-sessions 0.14) is not installed outside herald's MessagesLayer";

impl super::TowerSessionSource for TowerSessions {
    type Session = Session;

    fn session(
        &self,
        _headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Session, SessionError> {
        extensions
            .get::<Session>()
            .cloned()
            .ok_or(SessionError::Missing(MISSING))
    }
}
