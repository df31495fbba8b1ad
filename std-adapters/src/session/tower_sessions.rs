//! tower-sessions' `Session` as a session backend, for each supported major
//! ([`tower_sessions_0_15`](crate::session::tower_sessions_0_15) and
//! [`tower_sessions_0_14`](crate::session::tower_sessions_0_14)): the same code, bound to
//! each major's `Session` type.

/// The backend and the source for one major of tower-sessions, as the module `$module`.
macro_rules! tower_sessions_major {
    ($module:ident, $krate:ident, $feature:literal, $version:literal) => {
        #[doc = concat!("tower-sessions ", $version, " (feature `", $feature, "`): the `TowerSessions` source and the")]
        #[doc = "[`SessionBackend`](crate::session::SessionBackend) for its `Session`, with any store"]
        #[doc = "(memory, Redis, a database)."]
        #[doc = ""]
        #[doc = "`SessionManagerLayer` must wrap herald's layer (add it after, so it is outside):"]
        #[doc = "the messages written at response time are then saved with the session."]
        #[doc = ""]
        #[doc = concat!("The crate is re-exported as `tower_sessions`, so the layer")]
        #[doc = "is built from the very version herald binds to."]
        #[cfg(feature = $feature)]
        #[cfg_attr(docsrs, doc(cfg(feature = $feature)))]
        pub mod $module {
            use base64::Engine as _;
            use base64::engine::general_purpose::URL_SAFE_NO_PAD;
            use serde::de::IgnoredAny;

            use crate::session::{SessionBackend, SessionError, TowerSessionSource};

            #[doc = concat!("tower-sessions ", $version, ", the crate herald binds to.")]
            pub use ::$krate as tower_sessions;

            use ::$krate::Session;

            /// Stores the encoded messages in the session as one base64url string; values
            /// that are not base64 are handed to the core unchanged (and rejected there).
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

                /// Django's JSON string is stored as a session string, exactly as Django's
                /// session holds it; `get` hands it back unchanged (it is never base64).
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

            #[doc = concat!("The session source for tower-sessions ", $version, ": takes the `Session` that")]
            #[doc = "`SessionManagerLayer` put in the request."]
            #[doc = ""]
            #[doc = "A request without it (the layer is missing, inside herald's instead of outside,"]
            #[doc = "or of another major of tower-sessions) fails loudly: a 500 and one ERROR line"]
            #[doc = "naming the fix, at the first request that uses messages."]
            #[derive(Clone, Copy, Debug, Default)]
            pub struct TowerSessions;

            const MISSING: &str = concat!(
                "the request has no tower-sessions ",
                $version,
                " Session: add tower_sessions::SessionManagerLayer (tower-sessions ",
                $version,
                ") after herald's MessagesLayer so that it is outside it; if the app uses another major of tower-sessions, enable the matching herald-flash feature instead of `",
                $feature,
                "`"
            );

            impl TowerSessionSource for TowerSessions {
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
        }
    };
}

tower_sessions_major!(
    tower_sessions_0_15,
    tower_sessions_0_15,
    "tower-sessions-0-15",
    "0.15"
);
tower_sessions_major!(
    tower_sessions_0_14,
    tower_sessions_0_14,
    "tower-sessions-0-14",
    "0.14"
);
