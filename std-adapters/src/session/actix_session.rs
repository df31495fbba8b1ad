//! actix-session 0.10 (`actix_session::Session`) as a session backend.

use std::future::{Future, ready};

use actix_session::{Session, SessionExt as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{SessionBackend, SessionError};

/// Stores the encoded messages in the session as one base64url string; values that are not
/// base64 are handed to the core unchanged (and rejected there). actix-session loads and
/// saves the whole session in its middleware, so these calls complete at once.
impl SessionBackend for Session {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, SessionError>> + Send {
        ready(
            Session::get::<String>(self, key)
                .map(|v| {
                    v.map(|t| {
                        URL_SAFE_NO_PAD
                            .decode(&t)
                            .unwrap_or_else(|_| t.into_bytes())
                    })
                })
                .map_err(|e| SessionError::backend(ActixSessionError(e.to_string()))),
        )
    }

    fn set(
        &self,
        key: &str,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), SessionError>> + Send {
        ready(
            Session::insert(self, key, URL_SAFE_NO_PAD.encode(value))
                .map_err(|e| SessionError::backend(ActixSessionError(e.to_string()))),
        )
    }

    /// Django's JSON string is stored as a session string, exactly as Django's session
    /// holds it; `get` hands it back unchanged (it is never base64).
    fn set_text(
        &self,
        key: &str,
        value: String,
    ) -> impl Future<Output = Result<(), SessionError>> + Send {
        ready(
            Session::insert(self, key, value)
                .map_err(|e| SessionError::backend(ActixSessionError(e.to_string()))),
        )
    }

    fn remove(&self, key: &str) -> impl Future<Output = Result<(), SessionError>> + Send {
        Session::remove(self, key);
        ready(Ok(()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("actix-session: {0}")]
struct ActixSessionError(String);

/// The session source for actix-session: the request's `actix_session::Session`, with any
/// store (cookie, Redis via the `redis-session` feature of actix-session).
///
/// `SessionMiddleware` must wrap herald's middleware (`.wrap(herald)` first, then
/// `.wrap(SessionMiddleware)`, so the session middleware is outside). actix-session gives a
/// request without its middleware an empty, unsaved session, so a missing
/// `SessionMiddleware` cannot be detected here: messages stored in the session are then lost.
#[derive(Clone, Copy, Debug, Default)]
pub struct ActixSessions;

impl super::ActixSessionSource for ActixSessions {
    type Session = Session;

    fn session(&self, req: &actix_web::HttpRequest) -> Result<Session, SessionError> {
        Ok(req.get_session())
    }
}
