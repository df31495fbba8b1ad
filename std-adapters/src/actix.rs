//! The actix-web adapter: [`MessagesMiddleware`] for `App::wrap` and the [`Messages`]
//! extractor (`FromRequest`), thin shims over the same http-level layer as the tower
//! adapter.
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, web};
//! use herald_flash::{Config, Messages, actix::MessagesMiddleware};
//!
//! async fn save(messages: Messages) -> HttpResponse {
//!     let _ = messages.success("Profile saved.");
//!     HttpResponse::SeeOther().insert_header(("Location", "/")).finish()
//! }
//!
//! # fn main() -> Result<(), herald_flash::ConfigError> {
//! let config = Config::builder().secret(std::env::var("SECRET").unwrap()).build()?;
//! let middleware = MessagesMiddleware::new(config)?;
//! let app = App::new().wrap(middleware).route("/save", web::post().to(save));
//! # Ok(()) }
//! ```

use std::future::{Ready, ready};
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{COOKIE, HeaderMap, HeaderValue, SET_COOKIE};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use herald_core::Storage;
use herald_core::list::{DEFAULT_BYTES, DEFAULT_MSGS};

use crate::config::{Config, ConfigError};
use crate::messages::{FailSilently, Messages, MessagesError};
use crate::session::{
    MemorySession, MemorySessions, NoSession, NoSessionHandle, SessionBackend, SessionError,
};
use crate::state::{self, RequestState, SessionWrite};

/// The name the missing-middleware error gives.
pub(crate) const MIDDLEWARE_NAME: &str = "herald_flash::actix::MessagesMiddleware";

/// Where the actix middleware finds the session of a request.
///
/// Implemented by [`MemorySessions`], [`ActixSessions`](crate::session::ActixSessions)
/// (feature `actix-session`) and [`NoSession`].
pub trait ActixSessionSource: Clone + 'static {
    /// The per-request session handle.
    type Session: SessionBackend + 'static;

    /// The session of `req`.
    ///
    /// # Errors
    /// [`SessionError::Missing`] when the request has no session.
    fn session(&self, req: &HttpRequest) -> Result<Self::Session, SessionError>;
}

impl ActixSessionSource for NoSession {
    type Session = NoSessionHandle;
    fn session(&self, _: &HttpRequest) -> Result<NoSessionHandle, SessionError> {
        Err(SessionError::Missing("no session backend is configured"))
    }
}

impl ActixSessionSource for MemorySessions {
    type Session = MemorySession;
    fn session(&self, req: &HttpRequest) -> Result<MemorySession, SessionError> {
        Ok(MemorySessions::session(
            self,
            req.headers().get_all(COOKIE).map(HeaderValue::as_bytes),
        ))
    }
}

/// The actix-web middleware (`App::wrap`): loads the request's messages before the handler
/// and writes the cookie (and session) after it, as the core decides.
///
/// `S` is the session source ([`NoSession`] for cookie storage only); `B` and `M` are the
/// inbox capacities, which the handlers' [`Messages`] must repeat if not the defaults.
pub struct MessagesMiddleware<
    S = NoSession,
    const B: usize = DEFAULT_BYTES,
    const M: usize = DEFAULT_MSGS,
> {
    config: Config,
    storage: Storage,
    source: S,
}

impl<S: Clone, const B: usize, const M: usize> Clone for MessagesMiddleware<S, B, M> {
    fn clone(&self) -> Self {
        MessagesMiddleware {
            config: self.config.clone(),
            storage: self.storage,
            source: self.source.clone(),
        }
    }
}

impl<S, const B: usize, const M: usize> std::fmt::Debug for MessagesMiddleware<S, B, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagesMiddleware")
            .field("storage", &self.storage)
            .field("capacities", &(B, M))
            .finish_non_exhaustive()
    }
}

impl MessagesMiddleware {
    /// A middleware without session storage: messages live in the signed cookie.
    ///
    /// # Errors
    /// [`ConfigError::SessionRequired`] when the configuration asks for session or fallback
    /// storage.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        Self::with_session(config, NoSession)
    }
}

impl<S: ActixSessionSource> MessagesMiddleware<S> {
    /// A middleware with a session backend: fallback storage unless the configuration
    /// chooses another. With [`ActixSessions`](crate::session::ActixSessions), wrap
    /// actix-session's `SessionMiddleware` after this one (so it is outside).
    ///
    /// # Errors
    /// [`ConfigError::SessionRequired`] when `source` is [`NoSession`] and the configuration
    /// asks for session or fallback storage.
    pub fn with_session(config: Config, source: S) -> Result<Self, ConfigError> {
        let storage = config.storage_for::<S>()?;
        Ok(MessagesMiddleware {
            config,
            storage,
            source,
        })
    }
}

impl<S, const B: usize, const M: usize> MessagesMiddleware<S, B, M> {
    /// The same middleware with other inbox capacities (`B2` bytes of text, at most 65535,
    /// and `M2` messages). Handlers must then extract `Messages<B2, M2>`.
    pub fn with_capacity<const B2: usize, const M2: usize>(self) -> MessagesMiddleware<S, B2, M2> {
        MessagesMiddleware {
            config: self.config,
            storage: self.storage,
            source: self.source,
        }
    }

    /// The storage this middleware uses.
    pub fn storage(&self) -> Storage {
        self.storage
    }
}

impl<Svc, Body, S, const B: usize, const M: usize> Transform<Svc, ServiceRequest>
    for MessagesMiddleware<S, B, M>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<Body>, Error = actix_web::Error>
        + 'static,
    Body: MessageBody + 'static,
    S: ActixSessionSource,
{
    type Response = ServiceResponse<Body>;
    type Error = actix_web::Error;
    type Transform = MessagesMiddlewareService<Svc, S, B, M>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: Svc) -> Self::Future {
        ready(Ok(MessagesMiddlewareService {
            service: Rc::new(service),
            middleware: self.clone(),
        }))
    }
}

/// The service [`MessagesMiddleware`] wraps around the inner service.
pub struct MessagesMiddlewareService<
    Svc,
    S = NoSession,
    const B: usize = DEFAULT_BYTES,
    const M: usize = DEFAULT_MSGS,
> {
    service: Rc<Svc>,
    middleware: MessagesMiddleware<S, B, M>,
}

impl<Svc, S, const B: usize, const M: usize> std::fmt::Debug
    for MessagesMiddlewareService<Svc, S, B, M>
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagesMiddlewareService")
            .field("middleware", &self.middleware)
            .finish_non_exhaustive()
    }
}

impl<Svc, Body, S, const B: usize, const M: usize> Service<ServiceRequest>
    for MessagesMiddlewareService<Svc, S, B, M>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<Body>, Error = actix_web::Error>
        + 'static,
    Body: MessageBody + 'static,
    S: ActixSessionSource,
{
    type Response = ServiceResponse<Body>;
    type Error = actix_web::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<ServiceResponse<Body>, actix_web::Error>>>,
    >;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let mw = &self.middleware;
        let mut state = RequestState::<B, M>::begin(
            &mw.config,
            mw.storage,
            req.headers().get_all(COOKIE).map(HeaderValue::as_bytes),
        );
        let session = (mw.storage != Storage::Cookie).then(|| mw.source.session(req.request()));
        let service = Rc::clone(&self.service);
        Box::pin(async move {
            if state.needs_session()
                && let Some(session) = &session
            {
                state.load_session(session.as_ref()).await;
            }
            let (messages, handle) = Messages::attached(state);
            req.extensions_mut().insert(messages);
            let mut res = service.call(req).await?;
            let (write, unstored) =
                state::lock(&handle).finish(|line| append_set_cookie(res.headers_mut(), line));
            let (cookie, unstored) = if matches!(write, SessionWrite::Keep) {
                (None, unstored)
            } else {
                let missing = Err(SessionError::Missing("no session backend is configured"));
                let session = session.unwrap_or(missing);
                state::write_session::<S::Session, B, M>(&handle, session.as_ref(), write, unstored)
                    .await
            };
            if let Some(line) = cookie {
                append_set_cookie(res.headers_mut(), line.into_bytes());
            }
            if let Some(u) = unstored {
                res.response_mut().extensions_mut().insert(u);
            }
            Ok(res)
        })
    }
}

/// Appends a `Set-Cookie` line; the bytes become the header value without a copy.
fn append_set_cookie(headers: &mut HeaderMap, line: Vec<u8>) {
    match HeaderValue::from_maybe_shared(bytes::Bytes::from(line)) {
        Ok(v) => headers.append(SET_COOKIE, v),
        Err(e) => tracing::error!(error = %e, "herald: invalid Set-Cookie value"),
    }
}

fn extract<const B: usize, const M: usize>(
    req: &HttpRequest,
) -> Result<Option<Messages<B, M>>, MessagesError> {
    match req.extensions().get::<Messages<B, M>>() {
        None => Ok(None),
        Some(m) => match m.session_error() {
            Some(e) => Err(MessagesError::Session(e)),
            None => Ok(Some(m.clone())),
        },
    }
}

/// Fails with [`MessagesError::MissingLayer`] without the middleware, and with
/// [`MessagesError::Session`] when the session could not be read. `Option<Messages>` gives
/// `None` instead of either error.
impl<const B: usize, const M: usize> FromRequest for Messages<B, M> {
    type Error = MessagesError;
    type Future = Ready<Result<Self, MessagesError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req).and_then(|m| m.ok_or(MessagesError::MissingLayer(MIDDLEWARE_NAME))))
    }
}

/// Detached messages without the middleware; session errors still fail.
impl<const B: usize, const M: usize> FromRequest for FailSilently<B, M> {
    type Error = MessagesError;
    type Future = Ready<Result<Self, MessagesError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req).map(|m| FailSilently(m.unwrap_or_else(Messages::detached))))
    }
}

impl ResponseError for MessagesError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(self.to_string())
    }
}
