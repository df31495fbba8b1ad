//! actix-session's `Session` as a session backend, for each supported major
//! ([`actix_session_0_11`](crate::session::actix_session_0_11) and
//! [`actix_session_0_10`](crate::session::actix_session_0_10)).

use std::fmt;

/// An actix-session error, as text (its errors are not `Send`).
#[derive(Debug)]
pub(crate) struct ActixSessionError(pub(crate) String);

impl fmt::Display for ActixSessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actix-session: {}", self.0)
    }
}

impl std::error::Error for ActixSessionError {}

/// The backend and the source for one major of actix-session, as the module `$module`.
macro_rules! actix_session_major {
    ($module:ident, $krate:ident, $feature:literal, $version:literal) => {
        #[doc = concat!("actix-session ", $version, " (feature `", $feature, "`): the `ActixSessions` source and the")]
        #[doc = "[`SessionBackend`](crate::session::SessionBackend) for its `Session`, with any store"]
        #[doc = "(cookie, Redis through actix-session's `redis-session`)."]
        #[doc = ""]
        #[doc = "`SessionMiddleware` must wrap herald's middleware (`.wrap(herald)` first, then"]
        #[doc = "`.wrap(SessionMiddleware)`, so the session middleware is outside)."]
        #[doc = ""]
        #[doc = "The crate is re-exported as `actix_session`."]
        #[cfg(feature = $feature)]
        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        pub mod $module {
            use std::future::{Future, ready};

            use base64::Engine as _;
            use base64::engine::general_purpose::URL_SAFE_NO_PAD;

            use super::super::actix_session::ActixSessionError;
            use crate::session::{ActixSessionSource, SessionBackend, SessionError};

            #[doc = concat!("actix-session ", $version, ", the crate herald binds to.")]
            pub use ::$krate as actix_session;

            use ::$krate::{Session, SessionExt as _};

            fn backend(e: impl std::fmt::Display) -> SessionError {
                SessionError::backend(ActixSessionError(e.to_string()))
            }

            /// Stores the encoded messages in the session as one base64url string; values
            /// that are not base64 are handed to the core unchanged (and rejected there).
            /// actix-session loads and saves the whole session in its middleware, so these
            /// calls complete at once.
            impl SessionBackend for Session {
                fn get(
                    &self,
                    key: &str,
                ) -> impl Future<Output = Result<Option<Vec<u8>>, SessionError>> + Send {
                    ready(
                        Session::get::<String>(self, key)
                            .map(|v| {
                                v.map(|t| {
                                    URL_SAFE_NO_PAD
                                        .decode(&t)
                                        .unwrap_or_else(|_| t.into_bytes())
                                })
                            })
                            .map_err(backend),
                    )
                }

                fn set(
                    &self,
                    key: &str,
                    value: Vec<u8>,
                ) -> impl Future<Output = Result<(), SessionError>> + Send {
                    ready(Session::insert(self, key, URL_SAFE_NO_PAD.encode(value)).map_err(backend))
                }

                /// Django's JSON string is stored as a session string, exactly as Django's
                /// session holds it; `get` hands it back unchanged (it is never base64).
                fn set_text(
                    &self,
                    key: &str,
                    value: String,
                ) -> impl Future<Output = Result<(), SessionError>> + Send {
                    ready(Session::insert(self, key, value).map_err(backend))
                }

                fn remove(&self, key: &str) -> impl Future<Output = Result<(), SessionError>> + Send {
                    Session::remove(self, key);
                    ready(Ok(()))
                }
            }

            #[doc = concat!("The session source for actix-session ", $version, ": the request's `Session`.")]
            #[doc = ""]
            #[doc = "actix-session hands a request without its middleware an empty session that is"]
            #[doc = "never saved, and offers no way to tell the two apart, so a missing"]
            #[doc = "`SessionMiddleware` cannot be detected here: what herald stores in the session"]
            #[doc = "is then not kept. Install it outside herald's middleware."]
            #[derive(Clone, Copy, Debug, Default)]
            pub struct ActixSessions;

            impl ActixSessionSource for ActixSessions {
                type Session = Session;

                fn session(&self, req: &actix_web::HttpRequest) -> Result<Session, SessionError> {
                    Ok(req.get_session())
                }
            }
        }
    };
}

actix_session_major!(
    actix_session_0_11,
    actix_session_0_11,
    "actix-session-0-11",
    "0.11"
);
actix_session_major!(
    actix_session_0_10,
    actix_session_0_10,
    "actix-session-0-10",
    "0.10"
);
