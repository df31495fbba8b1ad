//! The actix-web adapter: [`MessagesMiddleware`] for `App::wrap` and the [`Messages`]
//! extractor (`FromRequest`), thin shims over the same http-level layer as the tower
//! adapter.
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, web};
//! use herald_flash::{Config, Messages, actix::MessagesMiddleware};
//!
//! async fn save(messages: Messages) -> HttpResponse {
//!     messages.success("Profile saved.");
//!     HttpResponse::SeeOther().insert_header(("Location", "/")).finish()
//! }
//!
//! # fn main() -> Result<(), herald_flash::ConfigError> {
//! let config = Config::builder().secret(std::env::var("SECRET").unwrap()).build()?;
//! let middleware = MessagesMiddleware::cookie(config);
//! let app = App::new().wrap(middleware).route("/save", web::post().to(save));
//! # Ok(()) }
//! ```

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::StatusCode;
use actix_web::http::header::{COOKIE, HeaderMap, HeaderValue, SET_COOKIE};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
use herald_core::Storage;

use crate::config::Config;
use crate::keyed;
use crate::messages::{FailSilently, Messages, MessagesError};
use crate::session::{NoSession, SessionError};
use crate::state::{self, Handle, RequestState, SessionWrite, SetCookie, Setup, lock};
use crate::storage::{MessageStorage, NoStorage};
use crate::unstored::UnstoredMessage;

/// The name the missing-middleware error gives.
pub(crate) const MIDDLEWARE_NAME: &str = "herald_flash::actix::MessagesMiddleware";

pub use crate::session::ActixSessionSource;

/// The actix-web middleware (`App::wrap`): loads the request's messages before the handler
/// and writes the cookie (and session) after it, as the core decides.
///
/// Built for one storage, infallibly (only [`ConfigBuilder::build`](crate::ConfigBuilder::build) can fail):
/// [`cookie`](Self::cookie), [`session`](Self::session) or [`fallback`](Self::fallback).
/// `S` is where the middleware finds a request's session ([`NoSession`] for cookie
/// storage).
///
/// ```
/// use herald_flash::{Config, actix::MessagesMiddleware, session::MemorySessions};
/// let config = Config::builder().secret([7u8; 32]).build().unwrap();
/// let cookie_only = MessagesMiddleware::cookie(config.clone());
/// let with_overflow = MessagesMiddleware::fallback(config, MemorySessions::new());
/// # let _ = (cookie_only, with_overflow);
/// ```
///
/// `M` is the middleware's own [`MessageStorage`], if it has one (see
/// [`with_message_storage`](Self::with_message_storage)).
#[derive(Clone, Debug)]
pub struct MessagesMiddleware<S = NoSession, M: MessageStorage = NoStorage> {
    setup: Setup<S>,
    keyed: Option<KeyedSetup<M>>,
}

/// The hook that picks a request's key in a [`MessageStorage`] (`None`: the built-in
/// storage serves the request).
type Select<K> = std::sync::Arc<dyn Fn(&HttpRequest) -> Option<K> + Send + Sync>;

/// A middleware's own message storage and the hook that picks a request's key in it.
#[derive(Clone)]
struct KeyedSetup<M: MessageStorage> {
    storage: M,
    select: Select<M::Key>,
}

impl<M: MessageStorage> std::fmt::Debug for KeyedSetup<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedSetup")
            .field("storage", &std::any::type_name::<M>())
            .finish_non_exhaustive()
    }
}

impl MessagesMiddleware {
    /// Messages in the signed cookie only (Django's `CookieStorage`).
    pub fn cookie(config: Config) -> Self {
        Self::with_storage(config, Storage::Cookie, NoSession)
    }
}

impl<S: ActixSessionSource> MessagesMiddleware<S> {
    /// Messages in the session only (Django's `SessionStorage`), found through `source`.
    /// With `ActixSessions` (the `actix-session-*` features), wrap actix-session's
    /// `SessionMiddleware` after this one (so it is outside).
    pub fn session(config: Config, source: S) -> Self {
        Self::with_storage(config, Storage::Session, source)
    }

    /// The signed cookie first, the overflow in the session (Django's `FallbackStorage`).
    pub fn fallback(config: Config, source: S) -> Self {
        Self::with_storage(config, Storage::Fallback, source)
    }

    /// The storage chosen at run time. With [`Storage::Cookie`] the session source is
    /// never asked.
    pub fn with_storage(config: Config, storage: Storage, source: S) -> Self {
        MessagesMiddleware {
            setup: Setup {
                config,
                storage,
                source,
            },
            keyed: None,
        }
    }
}

impl<S> MessagesMiddleware<S> {
    /// Adds your own [`MessageStorage`] beside the built-in storage: `select` picks the
    /// key a request's messages live under in `storage` (from your auth extractor or
    /// session: actix-identity's `Identity`, actix-session's `Session`); a request for
    /// which it answers `None` uses the built-in storage. As
    /// [`MessagesLayer::with_message_storage`](crate::tower::MessagesLayer::with_message_storage),
    /// including the carry-over of the messages cookie.
    ///
    /// ```
    /// use actix_web::HttpMessage as _;
    /// use herald_flash::user_store::{MemoryUserStore, UserId};
    /// use herald_flash::{Config, actix::MessagesMiddleware};
    ///
    /// #[derive(Clone)]
    /// struct CurrentUser(u64);
    ///
    /// let config = Config::builder().secret([7u8; 32]).build().unwrap();
    /// let middleware = MessagesMiddleware::cookie(config)
    ///     .with_message_storage(MemoryUserStore::new(), |req| {
    ///         let user = req.extensions().get::<CurrentUser>()?.0;
    ///         UserId::new(user.to_string()).ok()
    ///     });
    /// # let _ = middleware;
    /// ```
    pub fn with_message_storage<M: MessageStorage>(
        self,
        storage: M,
        select: impl Fn(&HttpRequest) -> Option<M::Key> + Send + Sync + 'static,
    ) -> MessagesMiddleware<S, M> {
        MessagesMiddleware {
            setup: self.setup,
            keyed: Some(KeyedSetup {
                storage,
                select: std::sync::Arc::new(select),
            }),
        }
    }
}

impl<S, M: MessageStorage> MessagesMiddleware<S, M> {
    /// The built-in storage this middleware uses (for requests without a key in its own
    /// message storage, if it has one).
    pub fn storage(&self) -> Storage {
        self.setup.storage
    }
}

impl<Svc, Body, S, M> Transform<Svc, ServiceRequest> for MessagesMiddleware<S, M>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<Body>, Error = actix_web::Error>
        + 'static,
    Body: MessageBody + 'static,
    S: ActixSessionSource,
    M: MessageStorage,
{
    type Response = ServiceResponse<Body>;
    type Error = actix_web::Error;
    type Transform = MessagesMiddlewareService<Svc, S, M>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, ()>>;

    fn new_transform(&self, service: Svc) -> Self::Future {
        ready(Ok(MessagesMiddlewareService {
            service: Rc::new(service),
            setup: self.setup.clone(),
            keyed: self.keyed.clone(),
        }))
    }
}

/// The service [`MessagesMiddleware`] wraps around the inner service.
pub struct MessagesMiddlewareService<Svc, S = NoSession, M: MessageStorage = NoStorage> {
    service: Rc<Svc>,
    setup: Setup<S>,
    keyed: Option<KeyedSetup<M>>,
}

impl<Svc, S, M: MessageStorage> std::fmt::Debug for MessagesMiddlewareService<Svc, S, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagesMiddlewareService")
            .field("setup", &self.setup)
            .finish_non_exhaustive()
    }
}

impl<Svc, Body, S, M> Service<ServiceRequest> for MessagesMiddlewareService<Svc, S, M>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<Body>, Error = actix_web::Error>
        + 'static,
    Body: MessageBody + 'static,
    S: ActixSessionSource,
    M: MessageStorage,
{
    type Response = ServiceResponse<Body>;
    type Error = actix_web::Error;
    type Future = ResponseFuture<Svc::Future, S, Body>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if let Some(keyed) = &self.keyed
            && let Some(key) = (keyed.select)(req.request())
        {
            let storage = keyed.storage.clone();
            let config = self.setup.config.clone();
            let (mut state, carried) = keyed::begin(
                &config,
                req.headers().get_all(COOKIE).map(HeaderValue::as_bytes),
            );
            let service = Rc::clone(&self.service);
            return ResponseFuture::boxed(async move {
                let pending = keyed::load(&mut state, storage, key, carried).await;
                let (messages, handle) = Messages::attached(state);
                req.extensions_mut().insert(messages);
                let res = service.call(req).await;
                // Even when the inner service fails: what the request took is put back.
                let done = keyed::finish(&handle, pending).await;
                let mut res = res?;
                if let Some(line) = done.delete_cookie {
                    append_line(res.headers_mut(), SetCookie::Line(line));
                }
                if let Some(u) = done.unstored {
                    if u.lost_to_the_session_backend() {
                        unavailable(&mut res, &config.inner.cookie_name);
                    }
                    res.response_mut().extensions_mut().insert(u);
                }
                Ok(res)
            });
        }
        let mw = &self.setup;
        let handle = RequestState::begin_shared(
            &mw.config,
            mw.storage,
            req.headers().get_all(COOKIE).map(HeaderValue::as_bytes),
        );
        let session = (mw.storage != Storage::Cookie).then(|| mw.source.session(req.request()));
        // Cookie storage reads no session: the state is not locked again.
        let needs_session = session.as_ref().is_some_and(|found| {
            let mut state = lock(&handle);
            if let Err(e) = found {
                state.session_unavailable(e);
            }
            state.needs_session()
        });
        if !needs_session {
            req.extensions_mut().insert(Messages::of(&handle));
            return ResponseFuture {
                kind: Kind::Direct {
                    inner: self.service.call(req),
                    pending: Some((handle, session)),
                },
            };
        }
        // The session entry must be read first: an async step before the inner service.
        let service = Rc::clone(&self.service);
        ResponseFuture::boxed(async move {
            if let Some(session) = &session {
                state::load_session(&handle, session.as_ref()).await;
            }
            req.extensions_mut().insert(Messages::of(&handle));
            let mut res = service.call(req).await?;
            Ok(match finish_sync(&handle, &mut res) {
                None => res,
                Some(work) => finish_session::<S, Body>(handle, session, res, work).await,
            })
        })
    }
}

/// A boxed response future (actix's futures are not `Send`).
type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;
type SessionSlot<S> = Option<Result<<S as ActixSessionSource>::Session, SessionError>>;

pin_project_lite::pin_project! {
    /// The response future of [`MessagesMiddlewareService`]: no allocation of its own on
    /// the cookie path (the inner service's future is held as it is); boxed only when
    /// the session must be read or written.
    pub struct ResponseFuture<F, S: ActixSessionSource, Body> {
        #[pin]
        kind: Kind<F, S, Body>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F, S: ActixSessionSource, Body> {
        Direct {
            #[pin]
            inner: F,
            pending: Option<(Handle, SessionSlot<S>)>,
        },
        Boxed {
            fut: LocalBoxFuture<Result<ServiceResponse<Body>, actix_web::Error>>,
        },
    }
}

impl<F, S: ActixSessionSource, Body> ResponseFuture<F, S, Body> {
    fn boxed(
        fut: impl Future<Output = Result<ServiceResponse<Body>, actix_web::Error>> + 'static,
    ) -> Self {
        ResponseFuture {
            kind: Kind::Boxed { fut: Box::pin(fut) },
        }
    }
}

impl<F, S: ActixSessionSource, Body> std::fmt::Debug for ResponseFuture<F, S, Body> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, S, Body> Future for ResponseFuture<F, S, Body>
where
    F: Future<Output = Result<ServiceResponse<Body>, actix_web::Error>>,
    S: ActixSessionSource,
    Body: MessageBody + 'static,
{
    type Output = Result<ServiceResponse<Body>, actix_web::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut kind = self.as_mut().project().kind;
            let next = match kind.as_mut().project() {
                KindProj::Boxed { fut } => return fut.as_mut().poll(cx),
                KindProj::Direct { inner, pending } => {
                    let mut res = std::task::ready!(inner.poll(cx))?;
                    let Some((handle, session)) = pending.take() else {
                        panic!("ResponseFuture polled after completion");
                    };
                    match finish_sync(&handle, &mut res) {
                        None => {
                            // The request's own copy goes with the response's request: the
                            // state can be kept for the next request on this thread.
                            res.request().extensions_mut().remove::<Messages>();
                            state::release(handle);
                            return Poll::Ready(Ok(res));
                        }
                        Some(work) => Kind::Boxed {
                            fut: Box::pin(async move {
                                Ok(finish_session::<S, Body>(handle, session, res, work).await)
                            }),
                        },
                    }
                }
            };
            kind.set(next);
        }
    }
}

/// The synchronous part of the response: the cookie header and, when the session is not
/// touched, the report. Returns the session work left, if any.
fn finish_sync<Body>(
    handle: &Handle,
    res: &mut ServiceResponse<Body>,
) -> Option<(SessionWrite, Vec<UnstoredMessage>)> {
    let (write, unstored) = lock(handle).finish(|line| append_line(res.headers_mut(), line));
    if matches!(write, SessionWrite::Keep) {
        if let Some(u) = state::report(unstored) {
            attach_report(handle, res, u);
        }
        None
    } else {
        Some((write, unstored))
    }
}

/// The session write and what follows it.
async fn finish_session<S: ActixSessionSource, Body>(
    handle: Handle,
    session: SessionSlot<S>,
    mut res: ServiceResponse<Body>,
    (write, unstored): (SessionWrite, Vec<UnstoredMessage>),
) -> ServiceResponse<Body> {
    let missing = Err(SessionError::Missing("no session backend is configured"));
    let session = session.unwrap_or(missing);
    let (cookie, unstored) =
        state::write_session::<S::Session>(&handle, session.as_ref(), write, unstored).await;
    if let Some(line) = cookie {
        append_line(res.headers_mut(), SetCookie::Line(bytes::Bytes::from(line)));
    }
    if let Some(u) = unstored {
        attach_report(&handle, &mut res, u);
    }
    res
}

/// Puts the report of what was not stored into the response (a 503 when the session
/// backend lost messages).
fn attach_report<Body>(
    handle: &Handle,
    res: &mut ServiceResponse<Body>,
    u: crate::unstored::Unstored,
) {
    if u.lost_to_the_session_backend() {
        let name = lock(handle).config.inner.cookie_name.clone();
        unavailable(res, &name);
    }
    res.response_mut().extensions_mut().insert(u);
}

/// As in the tower layer: not the handler's answer but a 503, and none of this write (the
/// messages cookie is taken back too).
fn unavailable<Body>(res: &mut ServiceResponse<Body>, cookie_name: &str) {
    res.response_mut().head_mut().status = StatusCode::SERVICE_UNAVAILABLE;
    let prefix = format!("{cookie_name}=");
    let headers = res.headers_mut();
    headers.remove(actix_web::http::header::LOCATION);
    let kept: Vec<HeaderValue> = headers
        .get_all(SET_COOKIE)
        .filter(|v| !v.as_bytes().starts_with(prefix.as_bytes()))
        .cloned()
        .collect();
    headers.remove(SET_COOKIE);
    for v in kept {
        headers.append(SET_COOKIE, v);
    }
}

/// Appends a `Set-Cookie` line [`RequestState::finish`] decided (or the session's own):
/// the deletion line as the header value kept in the configuration (a reference count), a
/// written line as its bytes, without a copy.
fn append_line(headers: &mut HeaderMap, line: SetCookie<'_>) {
    if let Some(v) = line.header_value(
        |inner| &inner.deletion_values.actix,
        HeaderValue::from_maybe_shared::<bytes::Bytes>,
    ) {
        headers.append(SET_COOKIE, v);
    }
}

fn extract(req: &HttpRequest) -> Result<Option<Messages>, MessagesError> {
    match req.extensions().get::<Messages>() {
        None => Ok(None),
        Some(m) => match m.load_error() {
            Some(e) => Err(e),
            None => Ok(Some(m.clone())),
        },
    }
}

/// Fails with [`MessagesError::MissingLayer`] without the middleware (a 500, logged at
/// ERROR), and with [`MessagesError::Session`] when the session could not be read.
/// `Option<Messages>` gives `None` instead of either error.
impl FromRequest for Messages {
    type Error = MessagesError;
    type Future = Ready<Result<Self, MessagesError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req).and_then(|m| {
            m.ok_or_else(|| {
                tracing::error!(
                    "herald: a handler extracts Messages, but {MIDDLEWARE_NAME} is not installed for this route; add `.wrap(MessagesMiddleware::cookie(config))` (or ::fallback / ::session) to the App"
                );
                MessagesError::MissingLayer(MIDDLEWARE_NAME)
            })
        }))
    }
}

/// Detached messages without the middleware; session errors still fail.
impl FromRequest for FailSilently {
    type Error = MessagesError;
    type Future = Ready<Result<Self, MessagesError>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(extract(req).map(|m| FailSilently(m.unwrap_or_else(Messages::detached))))
    }
}

/// The status of [`MessagesError::status`] with a generic body: no detail of the error
/// reaches the client.
impl ResponseError for MessagesError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status().as_u16()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(self.body())
    }
}
