//! The tower adapter (axum and any tower/hyper server): [`MessagesLayer`] and, with the
//! `axum` feature, the [`Messages`] extractor.
//!
//! ```no_run
//! use axum::{Router, routing::get, response::Redirect};
//! use herald_flash::{Config, Messages, tower::MessagesLayer};
//!
//! async fn save(messages: Messages) -> Redirect {
//!     let _ = messages.success("Profile saved.");
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
//!     .layer(MessagesLayer::new(config)?);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use herald_core::Storage;
use herald_core::list::{DEFAULT_BYTES, DEFAULT_MSGS};
use http::header::{COOKIE, SET_COOKIE};
use http::{Extensions, HeaderMap, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::config::{Config, ConfigError};
use crate::messages::{Messages, Unstored};
use crate::session::{
    MemorySession, MemorySessions, NoSession, NoSessionHandle, SessionBackend, SessionError,
};
use crate::state::{self, Handle, RequestState, SessionWrite};

/// The name the missing-layer error gives.
pub(crate) const LAYER_NAME: &str = "herald_flash::tower::MessagesLayer";

/// Where a tower service finds the session of a request.
///
/// Implemented by [`MemorySessions`], [`TowerSessions`](crate::session::TowerSessions)
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
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<Self::Session, SessionError>;
}

impl TowerSessionSource for NoSession {
    type Session = NoSessionHandle;
    fn session(&self, _: &HeaderMap, _: &Extensions) -> Result<NoSessionHandle, SessionError> {
        Err(SessionError::Missing("no session backend is configured"))
    }
}

impl TowerSessionSource for MemorySessions {
    type Session = MemorySession;
    fn session(&self, headers: &HeaderMap, _: &Extensions) -> Result<MemorySession, SessionError> {
        Ok(MemorySessions::session(
            self,
            headers.get_all(COOKIE).iter().map(HeaderValue::as_bytes),
        ))
    }
}

/// The tower layer: loads the request's messages before the inner service and writes the
/// cookie (and session) after it, as the core decides. Cheap to clone.
///
/// `S` is the session source ([`NoSession`] for cookie storage only); `B` and `M` are the
/// inbox capacities (bytes of text, number of messages), which the handlers' [`Messages`]
/// must repeat if they are not the defaults.
pub struct MessagesLayer<
    S = NoSession,
    const B: usize = DEFAULT_BYTES,
    const M: usize = DEFAULT_MSGS,
> {
    config: Config,
    storage: Storage,
    source: S,
}

impl<S: Clone, const B: usize, const M: usize> Clone for MessagesLayer<S, B, M> {
    fn clone(&self) -> Self {
        MessagesLayer {
            config: self.config.clone(),
            storage: self.storage,
            source: self.source.clone(),
        }
    }
}

impl<S, const B: usize, const M: usize> std::fmt::Debug for MessagesLayer<S, B, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagesLayer")
            .field("storage", &self.storage)
            .field("capacities", &(B, M))
            .finish_non_exhaustive()
    }
}

impl MessagesLayer {
    /// A layer without session storage: messages live in the signed cookie.
    ///
    /// # Errors
    /// [`ConfigError::SessionRequired`] when the configuration asks for session or fallback
    /// storage.
    pub fn new(config: Config) -> Result<Self, ConfigError> {
        Self::with_session(config, NoSession)
    }
}

impl<S: TowerSessionSource> MessagesLayer<S> {
    /// A layer with a session backend: fallback storage unless the configuration chooses
    /// another.
    ///
    /// # Errors
    /// [`ConfigError::SessionRequired`] when `source` is [`NoSession`] and the configuration
    /// asks for session or fallback storage.
    pub fn with_session(config: Config, source: S) -> Result<Self, ConfigError> {
        let storage = config.storage_for::<S>()?;
        Ok(MessagesLayer {
            config,
            storage,
            source,
        })
    }
}

impl<S, const B: usize, const M: usize> MessagesLayer<S, B, M> {
    /// The same layer with other inbox capacities: `B2` bytes of text (at most 65535) and
    /// `M2` messages per request. Handlers must then extract `Messages<B2, M2>`.
    pub fn with_capacity<const B2: usize, const M2: usize>(self) -> MessagesLayer<S, B2, M2> {
        MessagesLayer {
            config: self.config,
            storage: self.storage,
            source: self.source,
        }
    }

    /// The storage this layer uses.
    pub fn storage(&self) -> Storage {
        self.storage
    }
}

impl<Inner, S: Clone, const B: usize, const M: usize> Layer<Inner> for MessagesLayer<S, B, M> {
    type Service = MessagesService<Inner, S, B, M>;
    fn layer(&self, inner: Inner) -> Self::Service {
        MessagesService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`MessagesLayer`] wraps around an inner service.
pub struct MessagesService<
    Inner,
    S = NoSession,
    const B: usize = DEFAULT_BYTES,
    const M: usize = DEFAULT_MSGS,
> {
    inner: Inner,
    layer: MessagesLayer<S, B, M>,
}

impl<Inner: Clone, S: Clone, const B: usize, const M: usize> Clone
    for MessagesService<Inner, S, B, M>
{
    fn clone(&self) -> Self {
        MessagesService {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<Inner, S, const B: usize, const M: usize> std::fmt::Debug for MessagesService<Inner, S, B, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessagesService")
            .field("layer", &self.layer)
            .finish_non_exhaustive()
    }
}

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
type SessionSlot<S> = Option<Result<<S as TowerSessionSource>::Session, SessionError>>;

impl<Inner, S, ReqBody, ResBody, const B: usize, const M: usize> Service<Request<ReqBody>>
    for MessagesService<Inner, S, B, M>
where
    Inner: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    Inner::Future: Send + 'static,
    Inner::Error: Send + 'static,
    S: TowerSessionSource,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = Inner::Error;
    type Future = ResponseFuture<Inner::Future, Pending<S, B, M>, ResBody, Inner::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let layer = &self.layer;
        let state = RequestState::<B, M>::begin(
            &layer.config,
            layer.storage,
            req.headers()
                .get_all(COOKIE)
                .iter()
                .map(HeaderValue::as_bytes),
        );
        let session: SessionSlot<S> = (layer.storage != Storage::Cookie)
            .then(|| layer.source.session(req.headers(), req.extensions()));
        if !state.needs_session() {
            let (messages, handle) = Messages::attached(state);
            req.extensions_mut().insert(messages);
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
        let mut state = state;
        let fut = async move {
            if let Some(session) = &session {
                state.load_session(session.as_ref()).await;
            }
            let (messages, handle) = Messages::attached(state);
            req.extensions_mut().insert(messages);
            let res = inner.call(req).await?;
            let (res, work) = finish_sync::<ResBody, B, M>(&handle, res);
            Ok(match work {
                Some(w) => finish_session::<S, ResBody, B, M>(handle, session, res, w).await,
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
pub struct Pending<S: TowerSessionSource, const B: usize, const M: usize> {
    handle: Handle<B, M>,
    session: SessionSlot<S>,
}

impl<S: TowerSessionSource, const B: usize, const M: usize> std::fmt::Debug for Pending<S, B, M> {
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

impl<S: TowerSessionSource, const B: usize, const M: usize> sealed::Sealed for Pending<S, B, M> {}

impl<S: TowerSessionSource, ResBody: Send + 'static, const B: usize, const M: usize>
    FinishResponse<ResBody> for Pending<S, B, M>
{
    fn finish(
        self,
        res: Response<ResBody>,
    ) -> Result<Response<ResBody>, BoxFuture<Response<ResBody>>> {
        match finish_sync::<ResBody, B, M>(&self.handle, res) {
            (res, None) => Ok(res),
            (res, Some(work)) => Err(Box::pin(finish_session::<S, ResBody, B, M>(
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
    unstored: Option<Unstored>,
}

/// The synchronous part of the response: the cookie header and, when the session is not
/// touched, the report. Returns the session work left, if any.
fn finish_sync<ResBody, const B: usize, const M: usize>(
    handle: &Handle<B, M>,
    mut res: Response<ResBody>,
) -> (Response<ResBody>, Option<Work>) {
    let (write, unstored) =
        state::lock(handle).finish(|line| append_set_cookie(res.headers_mut(), line));
    if matches!(write, SessionWrite::Keep) {
        if let Some(u) = unstored {
            res.extensions_mut().insert(u);
        }
        (res, None)
    } else {
        (res, Some(Work { write, unstored }))
    }
}

async fn finish_session<S: TowerSessionSource, ResBody, const B: usize, const M: usize>(
    handle: Handle<B, M>,
    session: SessionSlot<S>,
    mut res: Response<ResBody>,
    work: Work,
) -> Response<ResBody> {
    let missing = Err(SessionError::Missing("no session backend is configured"));
    let session = session.unwrap_or(missing);
    let (cookie, unstored) = state::write_session::<S::Session, B, M>(
        &handle,
        session.as_ref(),
        work.write,
        work.unstored,
    )
    .await;
    if let Some(line) = cookie {
        append_set_cookie(res.headers_mut(), line.into_bytes());
    }
    if let Some(u) = unstored {
        res.extensions_mut().insert(u);
    }
    res
}

/// Appends a `Set-Cookie` line; the bytes become the header value without a copy.
fn append_set_cookie(headers: &mut HeaderMap, line: Vec<u8>) {
    match HeaderValue::from_maybe_shared(bytes::Bytes::from(line)) {
        Ok(v) => {
            headers.append(SET_COOKIE, v);
        }
        Err(e) => tracing::error!(error = %e, "herald: invalid Set-Cookie value"),
    }
}

#[cfg(feature = "axum")]
mod axum_impl {
    use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
    use axum_core::response::{IntoResponse, Response};
    use http::request::Parts;

    use super::LAYER_NAME;
    use crate::messages::{FailSilently, Messages, MessagesError};

    fn extract<const B: usize, const M: usize>(
        parts: &Parts,
    ) -> Result<Option<Messages<B, M>>, MessagesError> {
        match parts.extensions.get::<Messages<B, M>>() {
            None => Ok(None),
            Some(m) => match m.session_error() {
                Some(e) => Err(MessagesError::Session(e)),
                None => Ok(Some(m.clone())),
            },
        }
    }

    /// Fails with [`MessagesError::MissingLayer`] without the layer, and with
    /// [`MessagesError::Session`] when the session could not be read.
    impl<St: Send + Sync, const B: usize, const M: usize> FromRequestParts<St> for Messages<B, M> {
        type Rejection = MessagesError;
        async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, MessagesError> {
            extract(parts)?.ok_or(MessagesError::MissingLayer(LAYER_NAME))
        }
    }

    /// `Option<Messages>`: `None` without the layer.
    impl<St: Send + Sync, const B: usize, const M: usize> OptionalFromRequestParts<St>
        for Messages<B, M>
    {
        type Rejection = MessagesError;
        async fn from_request_parts(
            parts: &mut Parts,
            _: &St,
        ) -> Result<Option<Self>, MessagesError> {
            extract(parts)
        }
    }

    /// Detached messages without the layer; session errors still reject.
    impl<St: Send + Sync, const B: usize, const M: usize> FromRequestParts<St> for FailSilently<B, M> {
        type Rejection = MessagesError;
        async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, MessagesError> {
            Ok(FailSilently(
                extract(parts)?.unwrap_or_else(Messages::detached),
            ))
        }
    }

    impl IntoResponse for MessagesError {
        fn into_response(self) -> Response {
            (self.status(), self.to_string()).into_response()
        }
    }
}
