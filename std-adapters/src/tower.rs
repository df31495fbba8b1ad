//! The tower adapter (axum and any tower/hyper server): [`MessagesLayer`] and, with the
//! `axum` feature, the [`Messages`] extractor.
//!
//! ```no_run
//! use axum::{Router, routing::get, response::Redirect};
//! use herald_flash::{Config, Messages, tower::MessagesLayer};
//!
//! async fn save(messages: Messages) -> Redirect {
//!     messages.success("Profile saved.");
//!     Redirect::to("/")
//! }
//!
//! async fn show(messages: Messages) -> String {
//!     messages.iter().map(|m| format!("[{}] {}\n", m.tags, m.message)).collect()
//! }
//!
//! # fn main() -> Result<(), herald_flash::ConfigError> {
//! let config = Config::builder().secret(std::env::var("SECRET").unwrap()).build()?;
//! let app: Router = Router::new()
//!     .route("/", get(show))
//!     .route("/save", get(save))
//!     .layer(MessagesLayer::cookie(config));
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use herald_core::Storage;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::config::Config;
use crate::keyed;
use crate::messages::Messages;
use crate::session::NoSession;
use crate::state::{self, Handle, RequestState, SessionWrite, SetCookie, Setup, lock};
use crate::storage::{MessageStorage, NoStorage};
use crate::unstored::UnstoredMessage;

pub use crate::session::TowerSessionSource;

/// The tower layer: loads the request's messages before the inner service and writes the
/// cookie (and session) after it, as the core decides. Cheap to clone.
///
/// Built for one storage, infallibly (only [`ConfigBuilder::build`](crate::ConfigBuilder::build) can fail):
/// [`cookie`](Self::cookie), [`session`](Self::session) or [`fallback`](Self::fallback).
/// `S` is where the layer finds a request's session ([`NoSession`] for cookie storage).
///
/// ```
/// use herald_flash::{Config, session::MemorySessions, tower::MessagesLayer};
/// let config = Config::builder().secret([7u8; 32]).build().unwrap();
/// let cookie_only = MessagesLayer::cookie(config.clone());
/// let with_overflow = MessagesLayer::fallback(config, MemorySessions::new());
/// # let _ = (cookie_only, with_overflow);
/// ```
///
/// `M` is the layer's own [`MessageStorage`], if it has one (see
/// [`with_message_storage`](Self::with_message_storage)).
#[derive(Clone, Debug)]
pub struct MessagesLayer<S = NoSession, M: MessageStorage = NoStorage> {
    setup: Arc<Setup<S>>,
    keyed: Option<Arc<KeyedSetup<M>>>,
}

/// The hook that picks a request's key in a [`MessageStorage`] from its headers and
/// extensions (`None`: the layer's built-in storage serves the request).
type Select<K> = Arc<dyn Fn(&HeaderMap, &http::Extensions) -> Option<K> + Send + Sync>;

/// A layer's own message storage and the hook that picks a request's key in it.
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

impl MessagesLayer {
    /// Messages in the signed cookie only (Django's `CookieStorage`): when not all fit,
    /// the oldest are reported unstored.
    pub fn cookie(config: Config) -> Self {
        Self::with_storage(config, Storage::Cookie, NoSession)
    }
}

impl<S: TowerSessionSource> MessagesLayer<S> {
    /// Messages in the session only (Django's `SessionStorage`), found through `source`.
    pub fn session(config: Config, source: S) -> Self {
        Self::with_storage(config, Storage::Session, source)
    }

    /// The signed cookie first, the overflow in the session (Django's `FallbackStorage`,
    /// what Django uses by default).
    pub fn fallback(config: Config, source: S) -> Self {
        Self::with_storage(config, Storage::Fallback, source)
    }

    /// The storage chosen at run time (for example from a command-line flag). With
    /// [`Storage::Cookie`] the session source is never asked.
    pub fn with_storage(config: Config, storage: Storage, source: S) -> Self {
        MessagesLayer {
            setup: Arc::new(Setup {
                config,
                storage,
                source,
            }),
            keyed: None,
        }
    }
}

impl<S> MessagesLayer<S> {
    /// Adds your own [`MessageStorage`] beside the built-in storage: `select` picks, from
    /// a request's headers and extensions (put there by your auth layer), the key its
    /// messages live under in `storage`; a request for which it answers `None` (an
    /// anonymous visitor) uses the built-in storage this layer was built with.
    ///
    /// A keyed request also carries over what the messages cookie holds (the message the
    /// login view added before the redirect): it is moved into `storage` and the cookie
    /// deleted. See [`crate::storage`] for the contract and [`crate::user_store`] for
    /// per-user stores.
    ///
    /// The hook is synchronous and runs before the inner service: the user must already be
    /// in the request when herald's layer sees it — put your auth layer outside herald's
    /// (axum-login's `AuthSession` in the extensions, or a small middleware that reads the
    /// user id from the tower-sessions session and inserts it).
    ///
    /// ```
    /// use herald_flash::user_store::{MemoryUserStore, UserId};
    /// use herald_flash::{Config, tower::MessagesLayer};
    ///
    /// /// What the application's auth layer puts into the request extensions.
    /// #[derive(Clone)]
    /// struct CurrentUser(u64);
    ///
    /// let config = Config::builder().secret([7u8; 32]).build().unwrap();
    /// let users = MemoryUserStore::new();
    /// let layer = MessagesLayer::cookie(config).with_message_storage(users, |_, extensions| {
    ///     let user = extensions.get::<CurrentUser>()?;
    ///     UserId::new(user.0.to_string()).ok()
    /// });
    /// # let _ = layer;
    /// ```
    pub fn with_message_storage<M: MessageStorage>(
        self,
        storage: M,
        select: impl Fn(&HeaderMap, &http::Extensions) -> Option<M::Key> + Send + Sync + 'static,
    ) -> MessagesLayer<S, M> {
        MessagesLayer {
            setup: self.setup,
            keyed: Some(Arc::new(KeyedSetup {
                storage,
                select: Arc::new(select),
            })),
        }
    }
}

impl<S, M: MessageStorage> MessagesLayer<S, M> {
    /// The built-in storage this layer uses (for requests without a key in its own
    /// message storage, if it has one).
    pub fn storage(&self) -> Storage {
        self.setup.storage
    }
}

impl<Inner, S: Clone, M: MessageStorage> Layer<Inner> for MessagesLayer<S, M> {
    type Service = MessagesService<Inner, S, M>;
    fn layer(&self, inner: Inner) -> Self::Service {
        MessagesService {
            inner,
            setup: Arc::clone(&self.setup),
            keyed: self.keyed.clone(),
        }
    }
}

/// The service [`MessagesLayer`] wraps around an inner service.
#[derive(Clone, Debug)]
pub struct MessagesService<Inner, S = NoSession, M: MessageStorage = NoStorage> {
    inner: Inner,
    /// The layer's setup, shared: axum's router clones the service for every request
    /// (and, for a router without state, applies the layer to each request's route), so
    /// a clone is a reference count and allocates nothing.
    setup: Arc<Setup<S>>,
    keyed: Option<Arc<KeyedSetup<M>>>,
}

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
/// The request's session, when the storage uses one and the request has it (a missing
/// session is noted in the request's state when the request begins, and that error is
/// what a session write then reports).
type SessionSlot<S> = Option<<S as TowerSessionSource>::Session>;

impl<Inner, S, M, ReqBody, ResBody> Service<Request<ReqBody>> for MessagesService<Inner, S, M>
where
    Inner: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    Inner::Future: Send + 'static,
    Inner::Error: Send + 'static,
    S: TowerSessionSource,
    M: MessageStorage,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = Inner::Error;
    type Future = ResponseFuture<Inner::Future, Pending<S>, ResBody, Inner::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        if let Some(keyed) = &self.keyed
            && let Some(key) = (keyed.select)(req.headers(), req.extensions())
        {
            let storage = keyed.storage.clone();
            let config = self.setup.config.clone();
            let (mut state, carried) = keyed::begin(
                &config,
                req.headers()
                    .get_all(COOKIE)
                    .iter()
                    .map(HeaderValue::as_bytes),
            );
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            let fut = async move {
                let pending = keyed::load(&mut state, storage, key, carried).await;
                let (messages, handle) = Messages::attached(state);
                req.extensions_mut().insert(messages);
                let res = inner.call(req).await;
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
                    res.extensions_mut().insert(u);
                }
                Ok(res)
            };
            return ResponseFuture {
                kind: Kind::Boxed { fut: Box::pin(fut) },
            };
        }
        let layer = &*self.setup;
        let handle = RequestState::begin_shared(
            &layer.config,
            layer.storage,
            req.headers()
                .get_all(COOKIE)
                .iter()
                .map(HeaderValue::as_bytes),
        );
        let found = (layer.storage != Storage::Cookie)
            .then(|| layer.source.session(req.headers(), req.extensions()));
        // Cookie storage reads no session: the state is not locked again.
        let (session, needs_session): (SessionSlot<S>, bool) = match found {
            None => (None, false),
            Some(found) => {
                let mut state = lock(&handle);
                let session = match found {
                    Ok(session) => Some(session),
                    Err(e) => {
                        state.session_unavailable(&e);
                        None
                    }
                };
                (session, state.needs_session())
            }
        };
        if !needs_session {
            req.extensions_mut().insert(Messages::of(&handle));
            return ResponseFuture {
                kind: Kind::Direct {
                    inner: self.inner.call(req),
                    pending: Some(Pending { handle, session }),
                },
            };
        }
        // The session entry must be read first: an async step before the inner service.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let fut = async move {
            if let Some(session) = &session {
                state::load_session(&handle, Ok(session)).await;
            }
            req.extensions_mut().insert(Messages::of(&handle));
            let res = inner.call(req).await?;
            let (res, work) = finish_sync(&handle, res);
            Ok(match work {
                Some(w) => finish_session::<S, ResBody>(handle, session, res, w).await,
                None => res,
            })
        };
        ResponseFuture {
            kind: Kind::Boxed { fut: Box::pin(fut) },
        }
    }
}

pin_project! {
    /// The response future of [`MessagesService`]: no allocation on the cookie path.
    pub struct ResponseFuture<F, P, ResBody, E> {
        #[pin]
        kind: Kind<F, P, ResBody, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, P, ResBody, E> {
        Direct {
            #[pin]
            inner: F,
            pending: Option<P>,
        },
        Boxed {
            fut: BoxFuture<Result<Response<ResBody>, E>>,
        },
    }
}

/// The per-request state a [`ResponseFuture`] carries until the response is ready.
pub struct Pending<S: TowerSessionSource> {
    handle: Handle,
    session: SessionSlot<S>,
}

impl<S: TowerSessionSource> std::fmt::Debug for Pending<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

/// Completes a response: the synchronous part returns the response at once; session work
/// continues in a boxed future.
pub trait FinishResponse<ResBody>: sealed::Sealed {
    /// Finishes `res`: `Ok` when done, `Err` with the future that completes it.
    fn finish(
        self,
        res: Response<ResBody>,
    ) -> Result<Response<ResBody>, BoxFuture<Response<ResBody>>>;
}

mod sealed {
    pub trait Sealed {}
}

impl<S: TowerSessionSource> sealed::Sealed for Pending<S> {}

impl<S: TowerSessionSource, ResBody: Send + 'static> FinishResponse<ResBody> for Pending<S> {
    fn finish(
        self,
        res: Response<ResBody>,
    ) -> Result<Response<ResBody>, BoxFuture<Response<ResBody>>> {
        match finish_sync(&self.handle, res) {
            (res, None) => {
                state::release(self.handle);
                Ok(res)
            }
            (res, Some(work)) => Err(Box::pin(finish_session::<S, ResBody>(
                self.handle,
                self.session,
                res,
                work,
            ))),
        }
    }
}

impl<F, P, ResBody, E> Future for ResponseFuture<F, P, ResBody, E>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    P: FinishResponse<ResBody>,
    ResBody: Send + 'static,
    E: Send + 'static,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut kind = self.as_mut().project().kind;
            let next = match kind.as_mut().project() {
                KindProj::Boxed { fut } => return fut.as_mut().poll(cx),
                KindProj::Direct { inner, pending } => {
                    let res = ready!(inner.poll(cx))?;
                    let Some(pending) = pending.take() else {
                        panic!("ResponseFuture polled after completion");
                    };
                    match pending.finish(res) {
                        Ok(res) => return Poll::Ready(Ok(res)),
                        Err(fut) => Kind::Boxed {
                            fut: Box::pin(async move { Ok(fut.await) }),
                        },
                    }
                }
            };
            kind.set(next);
        }
    }
}

/// Session work left after the synchronous part of the response.
struct Work {
    write: SessionWrite,
    unstored: Vec<UnstoredMessage>,
}

/// The synchronous part of the response: the cookie header and, when the session is not
/// touched, the report. Returns the session work left, if any.
fn finish_sync<ResBody>(
    handle: &Handle,
    mut res: Response<ResBody>,
) -> (Response<ResBody>, Option<Work>) {
    let (write, unstored) = lock(handle).finish(|line| append_line(res.headers_mut(), line));
    if matches!(write, SessionWrite::Keep) {
        if let Some(u) = state::report(unstored) {
            res.extensions_mut().insert(u);
        }
        (res, None)
    } else {
        (res, Some(Work { write, unstored }))
    }
}

async fn finish_session<S: TowerSessionSource, ResBody>(
    handle: Handle,
    session: SessionSlot<S>,
    mut res: Response<ResBody>,
    work: Work,
) -> Response<ResBody> {
    let missing;
    let session = match &session {
        Some(session) => Ok(session),
        None => {
            missing = state::missing_session(&handle);
            Err(&missing)
        }
    };
    let (cookie, unstored) =
        state::write_session::<S::Session>(&handle, session, work.write, work.unstored).await;
    if let Some(line) = cookie {
        append_line(res.headers_mut(), SetCookie::Line(bytes::Bytes::from(line)));
    }
    if let Some(u) = unstored {
        if u.lost_to_the_session_backend() {
            let name = lock(&handle).config.inner.cookie_name.clone();
            unavailable(&mut res, &name);
        }
        res.extensions_mut().insert(u);
    }
    res
}

/// The handler's answer (often a 303 "saved") would claim messages were kept that the
/// failing backend lost: the client gets a 503 instead, and none of this write (the
/// messages cookie is taken back too; it keeps the one it had).
fn unavailable<ResBody>(res: &mut Response<ResBody>, cookie_name: &str) {
    *res.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    let headers = res.headers_mut();
    headers.remove(http::header::LOCATION);
    let prefix = format!("{cookie_name}=");
    let kept: Vec<HeaderValue> = headers
        .get_all(SET_COOKIE)
        .iter()
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
        |inner| &inner.deletion_values.http,
        HeaderValue::from_maybe_shared::<bytes::Bytes>,
    ) {
        headers.append(SET_COOKIE, v);
    }
}

#[cfg(feature = "axum")]
mod axum_impl {
    use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
    use axum_core::response::{IntoResponse, Response};
    use http::request::Parts;

    /// The name the missing-layer error gives.
    const LAYER_NAME: &str = "herald_flash::tower::MessagesLayer";
    use crate::messages::{FailSilently, Messages, MessagesError};

    fn extract(parts: &Parts) -> Result<Option<Messages>, MessagesError> {
        match parts.extensions.get::<Messages>() {
            None => Ok(None),
            Some(m) => match m.load_error() {
                Some(e) => Err(e),
                None => Ok(Some(m.clone())),
            },
        }
    }

    /// Fails with [`MessagesError::MissingLayer`] without the layer (a 500, logged at
    /// ERROR), and with [`MessagesError::Session`] when the session could not be read.
    impl<St: Send + Sync> FromRequestParts<St> for Messages {
        type Rejection = MessagesError;
        async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, MessagesError> {
            extract(parts)?.ok_or_else(|| {
                tracing::error!(
                    "herald: a handler extracts Messages, but {LAYER_NAME} is not installed for this route; add `.layer(MessagesLayer::cookie(config))` (or ::fallback / ::session) to the Router"
                );
                MessagesError::MissingLayer(LAYER_NAME)
            })
        }
    }

    /// `Option<Messages>`: `None` without the layer.
    impl<St: Send + Sync> OptionalFromRequestParts<St> for Messages {
        type Rejection = MessagesError;
        async fn from_request_parts(
            parts: &mut Parts,
            _: &St,
        ) -> Result<Option<Self>, MessagesError> {
            extract(parts)
        }
    }

    /// Detached messages without the layer; session errors still reject.
    impl<St: Send + Sync> FromRequestParts<St> for FailSilently {
        type Rejection = MessagesError;
        async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, MessagesError> {
            Ok(FailSilently(
                extract(parts)?.unwrap_or_else(Messages::detached),
            ))
        }
    }

    /// The status of [`MessagesError::status`] with a generic body: no detail of the
    /// error reaches the client.
    impl IntoResponse for MessagesError {
        fn into_response(self) -> Response {
            (self.status(), self.body()).into_response()
        }
    }
}
