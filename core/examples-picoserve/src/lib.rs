//! # herald in a `no_std`, no-heap HTTP server
//!
//! The flow of herald's std demo on [picoserve]: `GET /` shows a page with a form and the
//! pending flash messages, `POST /add` queues a message and answers `303 See Other` to
//! `/`, and the next `GET /` shows it exactly once. The messages travel in a signed cookie
//! handled by [`herald_core`] alone:
//!
//! ```text
//! request  ─► cookie_header::cookie_value(Cookie headers, "messages")
//!          ─► Inbox::load_cookie(value, signer, now)          (MAC check + decode)
//! handler  ─► Inbox::add (POST) / Inbox::iter (GET, marks the messages read)
//! response ─► Inbox::plan ─► Keep | Delete | Set
//!             └► seal_cookie + cookie_header::write_set_cookie / write_delete_cookie
//! ```
//!
//! This crate is `#![no_std]` and does not link `alloc`: every buffer of the request path
//! is a fixed-size array (the [`Inbox`], a [`MAX_COOKIE_VALUE`]-byte value and a
//! [`SET_COOKIE_CAP`]-byte header), the form is URL-decoded in place in picoserve's HTTP
//! buffer ([`form`]) and the page is formatted straight into the socket ([`html::Page`]).
//! The same code runs on an embassy device; `src/main.rs` runs it on the host with tokio,
//! and `src/bin/footprint.rs` measures what one request costs.
//!
//! Nothing the request sends decides that a text is trusted HTML: the form has no such
//! field and the page escapes every message. The signing secret is the caller's (the
//! host binary takes it from `HERALD_SECRET` or draws a random one at start-up); there is
//! no built-in one.
//!
//! Only what the response still needs while it is written is held across an `.await`
//! (and so lives in the connection's future): the `Set-Cookie` header and, for the page,
//! the inbox. Everything else — the signed value, the POST's inbox, the signer's scratch —
//! lives on the stack of a synchronous call and is gone before the response is sent.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod form;
pub mod html;

use core::fmt;
use core::ops::Range;

use herald_core::cookie_header::{self, CookieAttributes, WriteError};
use herald_core::inbox::{CookieAction, LoadError, Loaded};
use herald_core::signer::{SealError, TooManyKeys};
use herald_core::{AddError, Inbox, Level, Message, Signer, Storage, TagTable};
use picoserve::io::Read;
use picoserve::request::{Headers, Request};
use picoserve::response::{IntoResponse, Response, ResponseWriter, StatusCode};
use picoserve::routing::{PathRouter, RequestHandlerService, get_service, post_service};
use picoserve::{ResponseSent, Router};

/// The messages cookie's name (Django's `MESSAGE_COOKIE_NAME` default).
pub const COOKIE_NAME: &str = "messages";

/// The signing purpose bound into the cookie's MAC.
pub const PURPOSE: &str = "herald.messages";

/// The largest cookie value written, framing included (Django's `max_cookie_size`).
pub const MAX_COOKIE_VALUE: usize = 2048;

/// Room for the whole `Set-Cookie` value: `messages=` + the value + the attributes
/// (`; Domain=…; HttpOnly; Max-Age=…; Path=/; SameSite=Strict; Secure` with a short
/// domain and path fit in the margin; a longer one gets a clean error, never a panic).
pub const SET_COOKIE_CAP: usize = MAX_COOKIE_VALUE + 160;

/// Room for the `Set-Cookie` value of `GET /`. The page reads the messages, so the plan
/// can only keep or delete the cookie (messages read and nothing added: a clear), and a
/// deletion (`messages=""; expires=…; Max-Age=0; Path=/; SameSite=Lax`, 83 bytes with the
/// default attributes) needs far less than [`SET_COOKIE_CAP`]. Were a full cookie ever
/// planned here, the write would fail cleanly with a `500`, never overflow.
pub const DELETE_COOKIE_CAP: usize = 256;

/// The HTTP buffer each connection needs: the request line, the headers (a full
/// 2048-byte messages cookie plus the usual browser headers) and the form body are parsed
/// in place in it.
pub const HTTP_BUFFER_LEN: usize = 6144;

/// The shortest signing secret (and fallback secret) [`Flash::new`] accepts, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// Why a [`Flash`] could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// The signing secret is shorter than [`MIN_SECRET_LEN`] bytes.
    SecretTooShort {
        /// Its length.
        len: usize,
    },
    /// A fallback secret is shorter than [`MIN_SECRET_LEN`] bytes.
    FallbackTooShort {
        /// Its position among the fallbacks.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// More fallback secrets than the signer holds.
    TooManyKeys(TooManyKeys),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SetupError::SecretTooShort { len } => write!(
                f,
                "the secret is {len} bytes long; at least {MIN_SECRET_LEN} are required"
            ),
            SetupError::FallbackTooShort { index, len } => write!(
                f,
                "fallback secret #{index} is {len} bytes long; at least {MIN_SECRET_LEN} are required"
            ),
            SetupError::TooManyKeys(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for SetupError {}

/// Why the response cookie could not be written. Not reachable with the default buffers
/// and attributes: the plan truncates the messages to [`MAX_COOKIE_VALUE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashError {
    /// Signing the value failed.
    Seal(SealError),
    /// Writing the `Set-Cookie` header failed.
    Cookie(WriteError),
}

impl fmt::Display for FlashError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlashError::Seal(e) => write!(f, "cannot sign the messages cookie: {e}"),
            FlashError::Cookie(e) => write!(f, "cannot write the messages cookie: {e}"),
        }
    }
}

impl core::error::Error for FlashError {}

impl IntoResponse for FlashError {
    async fn write_to<R: Read, W: ResponseWriter<Error = R::Error>>(
        self,
        connection: picoserve::response::Connection<'_, R>,
        response_writer: W,
    ) -> Result<ResponseSent, W::Error> {
        (StatusCode::INTERNAL_SERVER_ERROR, format_args!("{self}\n"))
            .write_to(connection, response_writer)
            .await
    }
}

/// The flash-message configuration shared by all requests: the signer, the minimum level,
/// the cookie attributes and the clock. It is the app's picoserve state.
pub struct Flash {
    signer: Signer,
    min_level: Level,
    attributes: CookieAttributes<'static>,
    max_age: Option<u64>,
    clock: fn() -> u64,
}

impl fmt::Debug for Flash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flash")
            .field("min_level", &self.min_level)
            .field("attributes", &self.attributes)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl Flash {
    /// Signs with `secret` (and accepts cookies signed with any of `fallbacks`), ignores
    /// messages below `min_level`, and reads the time in seconds from `clock` (a device
    /// without a real-time clock may return 0: the time only matters with
    /// [`Flash::with_max_age`]).
    ///
    /// There is no default secret: anyone who knows the secret can write messages this
    /// server shows. Give each device (or each run) its own random secret of at least
    /// [`MIN_SECRET_LEN`] bytes, kept out of the source code.
    ///
    /// # Errors
    /// [`SetupError`] for a secret or fallback shorter than [`MIN_SECRET_LEN`] bytes, or
    /// more than [`herald_core::signer::DEFAULT_FALLBACKS`] fallbacks.
    pub fn new(
        secret: &[u8],
        fallbacks: &[&[u8]],
        min_level: Level,
        clock: fn() -> u64,
    ) -> Result<Self, SetupError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(SetupError::SecretTooShort { len: secret.len() });
        }
        if let Some((index, short)) = fallbacks
            .iter()
            .enumerate()
            .find(|(_, key)| key.len() < MIN_SECRET_LEN)
        {
            return Err(SetupError::FallbackTooShort {
                index,
                len: short.len(),
            });
        }
        Ok(Flash {
            signer: Signer::new(secret, PURPOSE, COOKIE_NAME, fallbacks)
                .map_err(SetupError::TooManyKeys)?,
            min_level,
            attributes: CookieAttributes::new(),
            max_age: None,
            clock,
        })
    }

    /// The same configuration with other cookie attributes (the default is Django's:
    /// `Path=/; HttpOnly; SameSite=Lax`, a browser-session cookie).
    pub fn with_attributes(self, attributes: CookieAttributes<'static>) -> Self {
        Flash { attributes, ..self }
    }

    /// The same configuration rejecting cookies issued more than `seconds` ago.
    pub fn with_max_age(self, seconds: u64) -> Self {
        Flash {
            max_age: Some(seconds),
            ..self
        }
    }

    /// The minimum level in force.
    pub fn min_level(&self) -> Level {
        self.min_level
    }

    /// An empty inbox for one request: cookie storage, this minimum level.
    pub const fn inbox(&self) -> Inbox {
        Inbox::new(Storage::Cookie, self.min_level)
    }

    /// Loads the messages cookie found in the request's `Cookie` headers into `inbox`.
    ///
    /// A missing cookie is [`Loaded::Absent`]. A tampered, truncated or foreign cookie is
    /// an error the handler may ignore, as Django does: the inbox then holds nothing from
    /// it, and the response deletes it once the messages are read.
    ///
    /// # Errors
    /// The [`LoadError`] of [`Inbox::load_cookie`].
    #[inline(never)]
    pub fn load(&self, inbox: &mut Inbox, headers: Headers<'_>) -> Result<Loaded, LoadError> {
        let cookie_headers = headers
            .iter()
            .filter(|(name, _)| *name == "cookie")
            .map(|(_, value)| value.as_raw());
        let value = cookie_header::cookie_value(cookie_headers, COOKIE_NAME);
        inbox.load_cookie(
            value.map(str::as_bytes),
            &self.signer,
            (self.clock)(),
            self.max_age,
        )
    }

    /// Decides what the response does with the cookie ([`Inbox::plan`]) and writes the
    /// `Set-Cookie` value into `header` (which needs [`SET_COOKIE_CAP`] bytes): `None`
    /// when the cookie stays as it is. The signed value is built in a
    /// [`MAX_COOKIE_VALUE`]-byte buffer on this call's stack.
    ///
    /// With cookie storage, messages that do not fit in [`MAX_COOKIE_VALUE`] are dropped,
    /// oldest first, as Django's `CookieStorage` does.
    ///
    /// # Errors
    /// [`FlashError`] when `header` is too small (not with [`SET_COOKIE_CAP`] bytes and
    /// the default attributes).
    #[inline(never)]
    pub fn set_cookie<'b>(
        &self,
        inbox: &mut Inbox,
        header: &'b mut [u8],
    ) -> Result<Option<&'b str>, FlashError> {
        let now = (self.clock)();
        let plan = inbox.plan(MAX_COOKIE_VALUE, now);
        match plan.cookie {
            CookieAction::Keep => Ok(None),
            CookieAction::Delete => {
                cookie_header::write_delete_cookie(header, COOKIE_NAME, self.attributes)
                    .map(Some)
                    .map_err(FlashError::Cookie)
            }
            CookieAction::Set {
                messages,
                continued,
            } => self.seal(inbox, messages, continued, now, header).map(Some),
        }
    }

    /// Signs `messages` into a value on this call's stack and writes the `Set-Cookie`
    /// header around it. Kept out of line so that only requests that set a cookie pay
    /// for the value buffer.
    #[inline(never)]
    fn seal<'b>(
        &self,
        inbox: &Inbox,
        messages: Range<usize>,
        continued: bool,
        now: u64,
        header: &'b mut [u8],
    ) -> Result<&'b str, FlashError> {
        let mut value = [0u8; MAX_COOKIE_VALUE];
        let value = inbox
            .seal_cookie(messages, continued, &self.signer, now, &mut value)
            .map_err(FlashError::Seal)?;
        cookie_header::write_set_cookie(header, COOKIE_NAME, value, self.attributes)
            .map_err(FlashError::Cookie)
    }

    /// The whole of `POST /add` except the I/O: loads the cookie from `headers`, adds the
    /// message of the form in `body` (decoded in place; its text is always escaped on the
    /// page) and writes the `Set-Cookie` value into `header`. The inbox lives on this
    /// call's stack only.
    ///
    /// # Errors
    /// The status and text of the response: `400` for a malformed form or an unknown
    /// level, `413` for a message that does not fit in the inbox, `500` when the cookie
    /// cannot be written.
    #[inline(never)]
    pub fn add_from_form<'b>(
        &self,
        headers: Headers<'_>,
        body: &mut [u8],
        header: &'b mut [u8],
    ) -> Result<Option<&'b str>, (StatusCode, &'static str)> {
        let mut inbox = self.inbox();
        // A bad cookie is ignored; the new message replaces it.
        let _ignored = self.load(&mut inbox, headers);
        let bad = |what| (StatusCode::BAD_REQUEST, what);
        let form = form::AddForm::parse(body).map_err(|_| bad("malformed form\n"))?;
        let level = form::parse_level(form.level).ok_or(bad("unknown level\n"))?;
        let message = Message::new(level, form.message).with_extra_tags(form.extra_tags);
        // An empty text or a level below the minimum is ignored, as in Django: still a 303.
        if let Err(AddError { .. }) = inbox.add_message(message) {
            return Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                "message does not fit in the inbox\n",
            ));
        }
        self.set_cookie(&mut inbox, header).map_err(|_| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot write the messages cookie\n",
            )
        })
    }
}

/// `GET /`: the page with the pending messages, which this marks read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Index;

impl RequestHandlerService<Flash> for Index {
    async fn call_request_handler_service<R: Read, W: ResponseWriter<Error = R::Error>>(
        &self,
        flash: &Flash,
        (): (),
        request: Request<'_, R>,
        response_writer: W,
    ) -> Result<ResponseSent, W::Error> {
        let mut inbox = flash.inbox();
        // A bad cookie shows nothing; reading the messages below deletes it.
        let _ignored = flash.load(&mut inbox, request.parts.headers());
        // Iterating is what marks the messages read (Django's template loop).
        let count = inbox.iter().count();
        let mut header = [0u8; DELETE_COOKIE_CAP];
        let set_cookie = flash.set_cookie(&mut inbox, &mut header);
        let connection = request.body_connection.finalize().await?;
        let set_cookie = match set_cookie {
            Ok(header) => header,
            Err(e) => return e.write_to(connection, response_writer).await,
        };
        let page = html::Page {
            messages: inbox.messages(0..count),
            tags: TagTable::defaults(),
            min_level: flash.min_level,
        };
        Response::ok(page)
            .with_header("Cache-Control", "no-store")
            .with_headers(set_cookie.map(|value| ("Set-Cookie", value)))
            .write_to(connection, response_writer)
            .await
    }
}

/// `POST /add`: queues the form's message and answers `303 See Other` to `/`.
///
/// Form fields (`application/x-www-form-urlencoded`): `level` (a tag such as `success`,
/// or a number), `message` and optional `extra_tags`; other fields are ignored, so no
/// request can mark its text as trusted HTML. An empty message or one below the minimum
/// level is ignored, as Django does; a malformed form is `400`, a message that does not
/// fit in the inbox is `413`.
#[derive(Clone, Copy, Debug, Default)]
pub struct AddMessage;

impl RequestHandlerService<Flash> for AddMessage {
    async fn call_request_handler_service<R: Read, W: ResponseWriter<Error = R::Error>>(
        &self,
        flash: &Flash,
        (): (),
        mut request: Request<'_, R>,
        response_writer: W,
    ) -> Result<ResponseSent, W::Error> {
        let mut header = [0u8; SET_COOKIE_CAP];
        let set_cookie = match request.body_connection.body().read_all().await {
            Ok(body) => flash.add_from_form(request.parts.headers(), body, &mut header),
            Err(_) => Err((StatusCode::PAYLOAD_TOO_LARGE, "form too large\n")),
        };
        let connection = request.body_connection.finalize().await?;
        match set_cookie {
            Err(rejection) => rejection.write_to(connection, response_writer).await,
            Ok(set_cookie) => {
                Response::new(StatusCode::SEE_OTHER, "See Other: /\n")
                    .with_header("Location", "/")
                    .with_headers(set_cookie.map(|value| ("Set-Cookie", value)))
                    .write_to(connection, response_writer)
                    .await
            }
        }
    }
}

/// The app: `GET /` ([`Index`]) and `POST /add` ([`AddMessage`]), with `flash` as state.
///
/// ```
/// use herald_core::Level;
/// use herald_picoserve_example::{Flash, app};
///
/// // In a real server the secret comes from the device's storage or the environment.
/// let secret = [0x5a; 32];
/// let flash = Flash::new(&secret, &[], Level::INFO, || 0).unwrap();
/// let _router = app(flash);
/// ```
pub fn app(flash: Flash) -> Router<impl PathRouter> {
    Router::new()
        .route("/", get_service(Index))
        .route("/add", post_service(AddMessage))
        .with_state(flash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_shorter_than_32_bytes_are_refused() {
        let long = [7u8; MIN_SECRET_LEN];
        assert!(Flash::new(&long, &[], Level::INFO, || 0).is_ok());
        assert!(Flash::new(&long, &[&long], Level::INFO, || 0).is_ok());
        for len in [0, 1, MIN_SECRET_LEN - 1] {
            assert_eq!(
                Flash::new(&long[..len], &[], Level::INFO, || 0).err(),
                Some(SetupError::SecretTooShort { len })
            );
            assert_eq!(
                Flash::new(&long, &[&long, &long[..len]], Level::INFO, || 0).err(),
                Some(SetupError::FallbackTooShort { index: 1, len })
            );
        }
        let many = [&long[..]; herald_core::signer::DEFAULT_FALLBACKS + 1];
        assert!(matches!(
            Flash::new(&long, &many, Level::INFO, || 0),
            Err(SetupError::TooManyKeys(_))
        ));
    }
}
