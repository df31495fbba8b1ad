//! htmx: the request's messages as an `HX-Trigger` event (feature `htmx`).
//!
//! An htmx request swaps a fragment, not the page, so the page's message list is not
//! rendered again. [`HtmxLayer`] (tower, axum) and `HtmxMiddleware` (actix-web, features
//! `htmx` and `actix`) send the messages to the browser in the response's `HX-Trigger`
//! header instead, as one event (named `messages` unless [`HtmxLayer::event`] says
//! otherwise):
//!
//! ```text
//! HX-Trigger: {"messages": [{"level": 25, "level_tag": "success", "tags": "success",
//!              "message": "Saved.", "extra_tags": null, "is_safe": false}]}
//! ```
//!
//! with the names of the template context and of the JSON API ([`crate::context`],
//! [`OwnedMessage`](crate::OwnedMessage)). A small script shows them:
//! `document.body.addEventListener("messages", e => e.detail.value.forEach(show))`
//! (`e.detail.value` holds the array; escape `message` unless `is_safe`).
//!
//! The layer acts only on a request with `HX-Request: true`, and then:
//!
//! * **never on a redirect** (a 3xx response): htmx does not act on the headers of a
//!   response it follows, so the messages are left unread and survive to the page the
//!   redirect leads to, where the page (or, for an htmx request, this layer) shows them;
//! * **never when there are no messages** (and a handler that read them itself, for
//!   example to render them in the fragment, has already consumed them);
//! * otherwise it reads the messages, **marking them used** (they are cleared by this
//!   response, as when a template shows them), and adds the event to `HX-Trigger`. A JSON
//!   object the handler put there is kept and the event added to it; a list of event
//!   names (`a, b`) becomes `{"a": null, "b": null, ...}`. When the handler's object
//!   already has an event of the same name, or its header is neither, the header is left
//!   as it is and the messages unread.
//!
//! The header is ASCII: characters outside it are written as JSON `\u` escapes, since
//! browsers read header values as Latin-1.
//!
//! It must run **inside** herald's layer, which puts the messages into the request: in
//! axum, `.layer(HtmxLayer::new())` *before* `.layer(MessagesLayer::..)` (the layer added
//! last is the outermost); in actix-web, `.wrap(HtmxMiddleware::new())` before
//! `.wrap(MessagesMiddleware::..)`. Without herald's layer it does nothing.
//!
//! ## The alternative: an out-of-band swap
//! Without this layer, a fragment can carry the messages itself: render the message list
//! from the [template context](crate::context) into the fragment with `hx-swap-oob`,
//! replacing the page's list by id:
//!
//! ```text
//! <div id="messages" hx-swap-oob="true">{% for message in messages %}<p class="{{ message.tags }}">{{ message }}</p>{% endfor %}</div>
//! ```
//!
//! Taking the context marks the messages used, exactly as this layer does; use one of the
//! two per response (the layer finds nothing left to send after the fragment read them).
//!
#![cfg_attr(
    feature = "axum",
    doc = r##"
With axum (feature `axum`):

```
use axum::{Router, routing::post};
use herald_flash::{Config, Messages, htmx::HtmxLayer, tower::MessagesLayer};

async fn save(messages: Messages) -> &'static str {
    messages.success("Saved.");
    "<span>saved</span>" // htmx swaps this in; the message goes in HX-Trigger
}

# fn main() -> Result<(), herald_flash::ConfigError> {
let config = Config::builder().secret("at least 32 bytes of secret key!!").build()?;
let app: Router = Router::new()
    .route("/save", post(save))
    .layer(HtmxLayer::new()) // inside
    .layer(MessagesLayer::cookie(config)); // outside
# Ok(()) }
```
"##
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use serde_json::{Map, Value};
use tower_layer::Layer;
use tower_service::Service;

use crate::messages::Messages;

/// `HX-Request`, the header htmx sends with each of its requests.
pub const HX_REQUEST: HeaderName = HeaderName::from_static("hx-request");
/// `HX-Trigger`, the response header whose events htmx triggers.
pub const HX_TRIGGER: HeaderName = HeaderName::from_static("hx-trigger");

/// The default event name.
const DEFAULT_EVENT: &str = "messages";

/// Whether the request comes from htmx (`HX-Request: true`).
fn is_htmx<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> bool {
    values.any(|v| v.trim_ascii().eq_ignore_ascii_case(b"true"))
}

/// JSON text with every non-ASCII character written as a `\u` escape (only strings can
/// hold them, so the result is the same JSON).
fn ascii_json(value: &Value) -> String {
    let text = value.to_string();
    if text.is_ascii() {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The `HX-Trigger` value to send, given the response status, the handler's `HX-Trigger`
/// values and the messages; `None`: leave the response alone (and the messages unread).
fn trigger_value<'a>(
    status: u16,
    mut existing: impl Iterator<Item = &'a [u8]>,
    messages: &Messages,
    event: &str,
) -> Option<String> {
    if (300..400).contains(&status) || messages.is_empty() {
        return None;
    }
    let mut events = match (existing.next(), existing.next()) {
        (None, _) => Map::new(),
        (Some(v), None) => merge_base(v, event)?,
        // Several HX-Trigger headers: not ours to combine.
        (Some(_), Some(_)) => return None,
    };
    let shown = messages.read();
    if shown.is_empty() {
        return None;
    }
    let messages = serde_json::to_value(&shown).ok()?;
    events.insert(event.to_owned(), messages);
    Some(ascii_json(&Value::Object(events)))
}

/// The handler's `HX-Trigger` value as an object to add the event to: a JSON object, or a
/// comma-separated list of event names. `None`: leave it alone.
fn merge_base(value: &[u8], event: &str) -> Option<Map<String, Value>> {
    let text = std::str::from_utf8(value).ok()?.trim();
    let map = if text.starts_with('{') {
        match serde_json::from_str::<Value>(text).ok()? {
            Value::Object(map) => map,
            _ => return None,
        }
    } else {
        let mut map = Map::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name.contains(|c: char| c.is_whitespace() || "{}[]\":".contains(c)) {
                return None;
            }
            map.insert(name.to_owned(), Value::Null);
        }
        map
    };
    (!map.contains_key(event)).then_some(map)
}

/// Tower layer that sends the messages of an htmx request in `HX-Trigger`; see the
/// [module docs](self). Install it inside herald's [`MessagesLayer`](crate::tower::MessagesLayer).
///
/// ```
/// use herald_flash::htmx::HtmxLayer;
/// let layer = HtmxLayer::new().event("flash");
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
pub struct HtmxLayer {
    event: Arc<str>,
}

impl Default for HtmxLayer {
    fn default() -> Self {
        HtmxLayer::new()
    }
}

impl HtmxLayer {
    /// The layer, with the event named `messages`.
    ///
    /// ```
    /// let layer = herald_flash::htmx::HtmxLayer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        HtmxLayer {
            event: Arc::from(DEFAULT_EVENT),
        }
    }

    /// Names the event (`messages` by default).
    ///
    /// ```
    /// let layer = herald_flash::htmx::HtmxLayer::new().event("toast");
    /// # let _ = layer;
    /// ```
    pub fn event(mut self, name: impl AsRef<str>) -> Self {
        self.event = Arc::from(name.as_ref());
        self
    }
}

impl<S> Layer<S> for HtmxLayer {
    type Service = HtmxService<S>;
    fn layer(&self, inner: S) -> HtmxService<S> {
        HtmxService {
            inner,
            event: self.event.clone(),
        }
    }
}

/// The service [`HtmxLayer`] wraps around the inner one.
///
/// ```
/// use herald_flash::htmx::{HtmxLayer, HtmxService};
/// use tower::Layer;
/// let svc: HtmxService<_> = HtmxLayer::new().layer(tower::service_fn(|_: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// }));
/// # let _ = svc;
/// ```
#[derive(Clone, Debug)]
pub struct HtmxService<S> {
    inner: S,
    event: Arc<str>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HtmxService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = HtmxFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let messages = if is_htmx(
            req.headers()
                .get_all(HX_REQUEST)
                .iter()
                .map(HeaderValue::as_bytes),
        ) {
            req.extensions().get::<Messages>().cloned()
        } else {
            None
        };
        HtmxFuture {
            inner: self.inner.call(req),
            messages,
            event: self.event.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`HtmxService`]: the inner response, with the event added.
    pub struct HtmxFuture<F> {
        #[pin]
        inner: F,
        messages: Option<Messages>,
        event: Arc<str>,
    }
}

impl<F> std::fmt::Debug for HtmxFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HtmxFuture")
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for HtmxFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = match this.inner.poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(res)) => res,
        };
        if let Some(messages) = this.messages.take() {
            set_trigger(
                res.status().as_u16(),
                res.headers_mut(),
                &messages,
                this.event,
            );
        }
        Poll::Ready(Ok(res))
    }
}

fn set_trigger(status: u16, headers: &mut HeaderMap, messages: &Messages, event: &str) {
    let existing = headers
        .get_all(HX_TRIGGER)
        .iter()
        .map(HeaderValue::as_bytes);
    if let Some(value) = trigger_value(status, existing, messages, event) {
        match HeaderValue::try_from(value) {
            Ok(v) => {
                headers.insert(HX_TRIGGER, v);
            }
            Err(e) => tracing::error!(error = %e, "herald: cannot write the HX-Trigger header"),
        }
    }
}

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub use self::actix::{HtmxMiddleware, HtmxMiddlewareService};

#[cfg(feature = "actix")]
mod actix {
    use std::future::{Ready, ready};
    use std::rc::Rc;
    use std::sync::Arc;

    use actix_web::HttpMessage as _;
    use actix_web::body::MessageBody;
    use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::{DEFAULT_EVENT, is_htmx, trigger_value};
    use crate::messages::Messages;

    /// actix-web middleware that sends the messages of an htmx request in `HX-Trigger`
    /// (features `htmx` and `actix`); see the [module docs](super). Wrap it *before*
    /// herald's [`MessagesMiddleware`](crate::actix::MessagesMiddleware), so that it runs
    /// inside it.
    ///
    /// ```no_run
    /// use actix_web::App;
    /// use herald_flash::{Config, actix::MessagesMiddleware, htmx::HtmxMiddleware};
    /// # fn main() -> Result<(), herald_flash::ConfigError> {
    /// let config = Config::builder().secret(std::env::var("SECRET").unwrap()).build()?;
    /// let app = App::new()
    ///     .wrap(HtmxMiddleware::new()) // inside
    ///     .wrap(MessagesMiddleware::cookie(config)); // outside
    /// # Ok(()) }
    /// ```
    #[derive(Clone, Debug)]
    pub struct HtmxMiddleware {
        event: Arc<str>,
    }

    impl Default for HtmxMiddleware {
        fn default() -> Self {
            HtmxMiddleware::new()
        }
    }

    impl HtmxMiddleware {
        /// The middleware, with the event named `messages`.
        ///
        /// ```
        /// let mw = herald_flash::htmx::HtmxMiddleware::new();
        /// # let _ = mw;
        /// ```
        pub fn new() -> Self {
            HtmxMiddleware {
                event: Arc::from(DEFAULT_EVENT),
            }
        }

        /// Names the event (`messages` by default).
        ///
        /// ```
        /// let mw = herald_flash::htmx::HtmxMiddleware::new().event("toast");
        /// # let _ = mw;
        /// ```
        pub fn event(mut self, name: impl AsRef<str>) -> Self {
            self.event = Arc::from(name.as_ref());
            self
        }
    }

    impl<Svc, Body> Transform<Svc, ServiceRequest> for HtmxMiddleware
    where
        Svc: Service<ServiceRequest, Response = ServiceResponse<Body>, Error = actix_web::Error>
            + 'static,
        Body: MessageBody + 'static,
    {
        type Response = ServiceResponse<Body>;
        type Error = actix_web::Error;
        type Transform = HtmxMiddlewareService<Svc>;
        type InitError = ();
        type Future = Ready<Result<Self::Transform, ()>>;

        fn new_transform(&self, service: Svc) -> Self::Future {
            ready(Ok(HtmxMiddlewareService {
                service: Rc::new(service),
                event: self.event.clone(),
            }))
        }
    }

    /// The service [`HtmxMiddleware`] wraps around the inner one.
    pub struct HtmxMiddlewareService<Svc> {
        service: Rc<Svc>,
        event: Arc<str>,
    }

    impl<Svc> std::fmt::Debug for HtmxMiddlewareService<Svc> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("HtmxMiddlewareService")
                .field("event", &self.event)
                .finish_non_exhaustive()
        }
    }

    impl<Svc, Body> Service<ServiceRequest> for HtmxMiddlewareService<Svc>
    where
        Svc: Service<ServiceRequest, Response = ServiceResponse<Body>, Error = actix_web::Error>
            + 'static,
        Body: MessageBody + 'static,
    {
        type Response = ServiceResponse<Body>;
        type Error = actix_web::Error;
        type Future = std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<ServiceResponse<Body>, actix_web::Error>>>,
        >;

        forward_ready!(service);

        fn call(&self, req: ServiceRequest) -> Self::Future {
            let htmx = is_htmx(
                req.headers()
                    .get_all(HeaderName::from_static("hx-request"))
                    .map(HeaderValue::as_bytes),
            );
            let messages = if htmx {
                req.extensions().get::<Messages>().cloned()
            } else {
                None
            };
            let event = self.event.clone();
            let service = Rc::clone(&self.service);
            Box::pin(async move {
                let mut res = service.call(req).await?;
                if let Some(messages) = messages {
                    let name = HeaderName::from_static("hx-trigger");
                    let status = res.status().as_u16();
                    let headers = res.headers_mut();
                    let existing = headers.get_all(&name).map(HeaderValue::as_bytes);
                    if let Some(value) = trigger_value(status, existing, &messages, &event) {
                        match HeaderValue::try_from(value) {
                            Ok(v) => {
                                headers.insert(name, v);
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "herald: cannot write the HX-Trigger header")
                            }
                        }
                    }
                }
                Ok(res)
            })
        }
    }
}
