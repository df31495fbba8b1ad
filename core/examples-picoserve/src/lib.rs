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
//! field and the page escapes every message. A `POST` from another site is refused
//! ([`check_same_origin`]), and the signing secret is the caller's (the host binary takes
//! it from `HERALD_SECRET` or draws a random one at start-up); there is no built-in one.
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
use herald_core::signer::SealError;
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

/// The shortest signing secret (and fallback secret) [`Flash::new`] accepts, in bytes: the
/// core's rule.
pub use herald_core::signer::MIN_SECRET_LEN;

/// Why a [`Flash`] could not be built: the core signer's [`KeyError`](herald_core::signer::KeyError) (a secret shorter than
/// [`MIN_SECRET_LEN`] bytes, or too many fallback secrets).
pub use herald_core::signer::KeyError as SetupError;

/// Why a `POST` was refused by [`check_same_origin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrossOrigin {
    /// An `Origin` header names another origin than the server's own (`http://` and the
    /// request's `Host`), or there is no `Host` to compare it with.
    Origin,
    /// A `Sec-Fetch-Site` header says the request comes from another site or origin.
    FetchSite,
}

impl fmt::Display for CrossOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CrossOrigin::Origin => "the Origin header is not this server's origin",
            CrossOrigin::FetchSite => "Sec-Fetch-Site says the request is cross-origin",
        })
    }
}

impl core::error::Error for CrossOrigin {}

/// Optional whitespace around a header value.
fn trim_ows(value: &[u8]) -> &[u8] {
    let start = value
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    value.get(start..end).unwrap_or_default()
}

/// `host` without a trailing `:80`, HTTP's default port (browsers leave it out of
/// `Origin`, clients may write it in `Host`).
fn without_default_port(host: &[u8]) -> &[u8] {
    host.strip_suffix(b":80").unwrap_or(host)
}

/// Whether an `Origin` value is this server's origin: `http://` followed by the request's
/// `Host`, compared without regard to ASCII case and to an explicit default port.
fn is_own_origin(origin: &[u8], host: Option<&[u8]>) -> bool {
    let Some(host) = host.map(trim_ows).filter(|h| !h.is_empty()) else {
        return false;
    };
    let origin = trim_ows(origin);
    let Some(scheme) = origin.get(..7) else {
        return false;
    };
    let authority = origin.get(7..).unwrap_or_default();
    scheme.eq_ignore_ascii_case(b"http://")
        && without_default_port(authority).eq_ignore_ascii_case(without_default_port(host))
}

/// Refuses a state-changing request sent by another site (cross-site request forgery).
///
/// `headers` yields each request header's name and value. The request is refused when
///
/// * an `Origin` header is present and is not this server's own origin, `http://`
///   followed by the request's `Host` header (the example serves plain HTTP; letter case
///   and an explicit `:80` do not matter). `Origin: null` and an `Origin` without a
///   `Host` are refused too; or
/// * a `Sec-Fetch-Site` header is present and is neither `same-origin` nor `none` (a
///   request the user made directly, such as a bookmark), so `same-site` and
///   `cross-site` are refused.
///
/// A request with neither header (an old browser, `curl`, a test client) is accepted:
/// browsers that could be tricked into a cross-site `POST` send at least one of them.
///
/// ```
/// use herald_picoserve_example::{CrossOrigin, check_same_origin};
///
/// let own: [(&[u8], &[u8]); 2] = [(b"Host", b"device.local"), (b"Origin", b"http://device.local")];
/// assert_eq!(check_same_origin(own), Ok(()));
/// let forged: [(&[u8], &[u8]); 2] = [(b"Host", b"device.local"), (b"Origin", b"https://evil.example")];
/// assert_eq!(check_same_origin(forged), Err(CrossOrigin::Origin));
/// let fetched: [(&[u8], &[u8]); 1] = [(b"Sec-Fetch-Site", b"cross-site")];
/// assert_eq!(check_same_origin(fetched), Err(CrossOrigin::FetchSite));
/// ```
///
/// # Errors
/// [`CrossOrigin`] says which header refused the request.
pub fn check_same_origin<'a, I>(headers: I) -> Result<(), CrossOrigin>
where
    I: IntoIterator<Item = (&'a [u8], &'a [u8])> + Clone,
{
    let host = headers
        .clone()
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(b"host"))
        .map(|(_, value)| value);
    for (name, value) in headers {
        if name.eq_ignore_ascii_case(b"origin") && !is_own_origin(value, host) {
            return Err(CrossOrigin::Origin);
        }
        if name.eq_ignore_ascii_case(b"sec-fetch-site") {
            let site = trim_ows(value);
            if !site.eq_ignore_ascii_case(b"same-origin") && !site.eq_ignore_ascii_case(b"none") {
                return Err(CrossOrigin::FetchSite);
            }
        }
    }
    Ok(())
}

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
        Ok(Flash {
            signer: Signer::new(secret, PURPOSE, COOKIE_NAME, fallbacks)?,
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

    /// The whole of `POST /add` except the I/O: refuses a request from another site
    /// ([`check_same_origin`]), loads the cookie from `headers`, adds the message of the
    /// form in `body` (decoded in place; its text is always escaped on the page) and
    /// writes the `Set-Cookie` value into `header`. The inbox lives on this call's stack
    /// only.
    ///
    /// # Errors
    /// The status and text of the response: `403` for a cross-origin request (nothing is
    /// added and the cookie is left alone), `400` for a malformed form or an unknown
    /// level, `413` for a message that does not fit in the inbox, `500` when the cookie
    /// cannot be written.
    #[inline(never)]
    pub fn add_from_form<'b>(
        &self,
        headers: Headers<'_>,
        body: &mut [u8],
        header: &'b mut [u8],
    ) -> Result<Option<&'b str>, (StatusCode, &'static str)> {
        let raw = headers
            .iter()
            .map(|(name, value)| (name.as_raw(), value.as_raw()));
        if check_same_origin(raw).is_err() {
            return Err((StatusCode::FORBIDDEN, "cross-origin request refused\n"));
        }
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
/// request can mark its text as trusted HTML. A request from another site is `403`
/// ([`check_same_origin`]). An empty message or one below the minimum level is ignored,
/// as Django does; a malformed form is `400`, a message that does not fit in the inbox is
/// `413`.
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

    type Header<'a> = (&'a [u8], &'a [u8]);

    fn check(headers: &[(&str, &str)]) -> Result<(), CrossOrigin> {
        let mut raw: [Header<'_>; 8] = [(b"", b""); 8];
        for (slot, (name, value)) in raw.iter_mut().zip(headers) {
            *slot = (name.as_bytes(), value.as_bytes());
        }
        check_same_origin(raw.get(..headers.len()).unwrap_or_default().iter().copied())
    }

    #[test]
    fn requests_without_origin_headers_are_accepted() {
        assert_eq!(check(&[]), Ok(()));
        assert_eq!(check(&[("Host", "device.local")]), Ok(()));
    }

    #[test]
    fn the_own_origin_is_http_and_the_host() {
        for (host, origin) in [
            ("device.local", "http://device.local"),
            ("127.0.0.1:3001", "http://127.0.0.1:3001"),
            ("Device.Local", "HTTP://device.LOCAL"),
            ("device.local:80", "http://device.local"),
            ("device.local", "http://device.local:80"),
            ("[::1]:8080", " http://[::1]:8080\t"),
        ] {
            assert_eq!(
                check(&[("host", host), ("origin", origin)]),
                Ok(()),
                "{host} {origin}"
            );
            // The header order does not matter.
            assert_eq!(check(&[("ORIGIN", origin), ("HOST", host)]), Ok(()));
        }
        for (host, origin) in [
            ("device.local", "http://evil.example"),
            ("device.local", "https://device.local"),
            ("device.local:3001", "http://device.local"),
            ("device.local", "http://device.local:3001"),
            ("device.local", "http://device.local/"),
            ("device.local", "http://device.local.evil.example"),
            ("device.local", "null"),
            ("device.local", ""),
            ("", "http://"),
        ] {
            assert_eq!(
                check(&[("Host", host), ("Origin", origin)]),
                Err(CrossOrigin::Origin),
                "{host} {origin}"
            );
        }
        // No Host to compare with.
        assert_eq!(
            check(&[("Origin", "http://device.local")]),
            Err(CrossOrigin::Origin)
        );
        // Every Origin header counts, not just the first.
        assert_eq!(
            check(&[
                ("Host", "d"),
                ("Origin", "http://d"),
                ("Origin", "http://evil")
            ]),
            Err(CrossOrigin::Origin)
        );
    }

    #[test]
    fn sec_fetch_site_must_be_same_origin_or_none() {
        for site in ["same-origin", "none", "Same-Origin", " none "] {
            assert_eq!(check(&[("Sec-Fetch-Site", site)]), Ok(()), "{site}");
        }
        for site in ["cross-site", "same-site", "", "same-origin, cross-site"] {
            assert_eq!(
                check(&[("sec-fetch-site", site)]),
                Err(CrossOrigin::FetchSite),
                "{site}"
            );
        }
        // Both headers must agree to accept.
        assert_eq!(
            check(&[
                ("Host", "d"),
                ("Origin", "http://d"),
                ("Sec-Fetch-Site", "cross-site")
            ]),
            Err(CrossOrigin::FetchSite)
        );
        assert_eq!(
            check(&[
                ("Sec-Fetch-Site", "same-origin"),
                ("Host", "d"),
                ("Origin", "http://e")
            ]),
            Err(CrossOrigin::Origin)
        );
    }

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
            Err(SetupError::TooManyFallbacks { .. })
        ));
    }
}
