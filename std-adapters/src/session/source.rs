//! Where an adapter finds a request's session: [`TowerSessionSource`] for the tower layer,
//! [`ActixSessionSource`] for the actix middleware, with the implementations for
//! [`NoSession`] and [`MemorySessions`] (the session crates' own are beside their backends).

use super::{
    MemorySession, MemorySessions, NoSession, NoSessionHandle, SessionBackend, SessionError,
};

/// Where a tower service finds the session of a request.
///
/// Implemented by [`MemorySessions`], the tower-sessions `TowerSessions` sources
/// (feature `tower-sessions`) and [`NoSession`].
pub trait TowerSessionSource: Clone + Send + Sync + 'static {
    /// The per-request session handle.
    type Session: SessionBackend + Send + Sync + 'static;

    /// The session of the request with these headers and extensions.
    ///
    /// # Errors
    /// [`SessionError::Missing`] when the request has no session (its layer is missing).
    fn session(
        &self,
        headers: &http::HeaderMap,
        extensions: &http::Extensions,
    ) -> Result<Self::Session, SessionError>;
}

impl TowerSessionSource for NoSession {
    type Session = NoSessionHandle;
    fn session(
        &self,
        _: &http::HeaderMap,
        _: &http::Extensions,
    ) -> Result<NoSessionHandle, SessionError> {
        Err(SessionError::Missing("no session backend is configured"))
    }
}

impl TowerSessionSource for MemorySessions {
    type Session = MemorySession;
    fn session(
        &self,
        headers: &http::HeaderMap,
        _: &http::Extensions,
    ) -> Result<MemorySession, SessionError> {
        Ok(MemorySessions::session(
            self,
            headers
                .get_all(http::header::COOKIE)
                .iter()
                .map(http::HeaderValue::as_bytes),
        ))
    }
}

#[cfg(feature = "actix")]
pub use self::actix_source::ActixSessionSource;

#[cfg(feature = "actix")]
mod actix_source {
    use super::*;

    /// Where the actix middleware finds the session of a request.
    ///
    /// Implemented by [`MemorySessions`], the actix-session `ActixSessions` sources
    /// (feature `actix-session`) and [`NoSession`].
    pub trait ActixSessionSource: Clone + 'static {
        /// The per-request session handle.
        type Session: SessionBackend + 'static;

        /// The session of `req`.
        ///
        /// # Errors
        /// [`SessionError::Missing`] when the request has no session.
        fn session(&self, req: &actix_web::HttpRequest) -> Result<Self::Session, SessionError>;
    }

    impl ActixSessionSource for NoSession {
        type Session = NoSessionHandle;
        fn session(&self, _: &actix_web::HttpRequest) -> Result<NoSessionHandle, SessionError> {
            Err(SessionError::Missing("no session backend is configured"))
        }
    }

    impl ActixSessionSource for MemorySessions {
        type Session = MemorySession;
        fn session(&self, req: &actix_web::HttpRequest) -> Result<MemorySession, SessionError> {
            Ok(MemorySessions::session(
                self,
                req.headers()
                    .get_all(actix_web::http::header::COOKIE)
                    .map(actix_web::http::header::HeaderValue::as_bytes),
            ))
        }
    }
}
