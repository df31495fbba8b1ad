//! Helpers for your own tests (feature `testing`): put messages into a request as a
//! previous response would have stored them, and read the messages a response stored.
//!
//! Everything follows the [`Config`] your application uses (secret, cookie name, wire
//! format, session key):
//!
//! | to | cookie storage | session storage |
//! |---|---|---|
//! | put messages into a request | [`cookie_header`] (a `Cookie` header value), [`cookie_value`], [`request_with_messages`] | [`put_in_session`], or [`session_entry`] for the entry itself |
//! | read what a response stored | [`response_messages`], [`stored_in_cookie`] (its `Set-Cookie` values) | [`stored_in_session`], or [`read_session_entry`] |
//!
//! They work with axum's usual test client (`tower::ServiceExt::oneshot` on an
//! `http::Request`) and with actix-web's `actix_web::test` (pass
//! `res.headers().get_all("set-cookie").map(|v| v.as_bytes())` to [`stored_in_cookie`]).
//!
//! Messages put into a request are stored whatever their level (a previous request
//! accepted them); an empty text is never stored, as in Django.
//!
#![cfg_attr(
    feature = "axum",
    doc = r##"
With axum (feature `axum`):

```
use axum::{Router, body::Body, routing::get};
use herald_flash::testing::{request_with_messages, response_messages};
use herald_flash::{Config, Level, Message, Messages, tower::MessagesLayer};
use tower::ServiceExt; // oneshot

async fn page(messages: Messages) -> String {
    let shown: Vec<String> = messages.iter().map(|m| m.message).collect();
    messages.info("Seen.");
    shown.join(",")
}

# #[tokio::main(flavor = "current_thread")]
# async fn main() -> Result<(), Box<dyn std::error::Error>> {
let config = Config::builder().secret("a test secret of at least 32 bytes").build()?;
let app = Router::new().route("/", get(page)).layer(MessagesLayer::cookie(config.clone()));

// A request carrying two messages in its cookie, as a redirect would have left them.
let request = request_with_messages(
    http::Request::get("/").body(Body::empty())?,
    &config,
    &[Message::new(Level::SUCCESS, "Saved."), Message::new(Level::INFO, "Hi.")],
)?;
let response = app.oneshot(request).await?;

// What the response stored for the next request.
let stored = response_messages(&response, &config)?.expect("the cookie was set");
assert_eq!(stored.len(), 1);
assert_eq!((stored[0].level, stored[0].message.as_str()), (Level::INFO, "Seen."));

let body = axum::body::to_bytes(response.into_body(), 1 << 16).await?;
assert_eq!(&body[..], b"Saved.,Hi.");
# Ok(()) }
```

"##
)]
#![cfg_attr(
    feature = "actix",
    doc = r##"
With actix-web (feature `actix`):

```
use actix_web::{App, test, web};
use herald_flash::testing::{cookie_header, stored_in_cookie};
use herald_flash::{Config, Level, Message, Messages, actix::MessagesMiddleware};

async fn page(messages: Messages) -> String {
    messages.warning("Again.");
    messages.iter().map(|m| m.message).collect::<Vec<_>>().join(",")
}

# #[actix_web::main]
# async fn main() -> Result<(), Box<dyn std::error::Error>> {
let config = Config::builder().secret("a test secret of at least 32 bytes").build()?;
let app = test::init_service(
    App::new().wrap(MessagesMiddleware::cookie(config.clone())).route("/", web::get().to(page)),
)
.await;
let cookie = cookie_header(&config, &[Message::new(Level::ERROR, "Failed.")])?;
let req = test::TestRequest::get().uri("/").insert_header(("Cookie", cookie)).to_request();
let res = test::call_service(&app, req).await;
// Everything was read: the response deletes the cookie (`Some` of nothing).
let stored = stored_in_cookie(&config, res.headers().get_all("set-cookie").map(|v| v.as_bytes()))?;
assert_eq!(stored, Some(Vec::new()));
assert_eq!(test::read_body(res).await, "Failed.,Again.");
# Ok(()) }
```
"##
)]

use herald_core::list::{GrowableList, MessageStore};
use herald_core::{Inbox, Level, LoadError, Message, Storage};

use crate::config::Config;
use crate::session::{SessionBackend, SessionError};
use crate::state::{RequestState, SessionValue, SessionWrite};
use crate::view::OwnedMessage;

/// What went wrong in a test helper.
///
/// ```
/// use herald_flash::testing::{read_cookie_value, TestingError};
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// assert!(matches!(read_cookie_value(&config, "forged"), Err(TestingError::Invalid(_))));
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// Not every given message could be stored (the cookie or the request's limits are too
    /// small for them): `stored` of `given` were.
    #[error("herald testing: only {stored} of the {given} messages could be stored")]
    NotStored {
        /// How many messages were given.
        given: usize,
        /// How many of them fit.
        stored: usize,
    },
    /// The cookie value or session entry is not one this configuration accepts (a wrong
    /// secret, another format, an expired or tampered value).
    #[error("herald testing: the stored messages do not load: {0}")]
    Invalid(LoadError),
    /// The session backend failed.
    #[error("herald testing: {0}")]
    Session(#[from] SessionError),
    /// A header could not be built from the cookie.
    #[error("herald testing: invalid header value: {0}")]
    Header(String),
}

/// A session entry as herald stores it under [`Config::session_key`]: the bytes a
/// backend's [`SessionBackend::set`] receives (herald's format), or the text its
/// [`SessionBackend::set_text`] receives (Django's JSON, with `WireFormat::Django`).
///
/// ```
/// use herald_flash::testing::{session_entry, SessionEntry};
/// use herald_flash::{Level, Message};
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// let entry = session_entry(&config, &[Message::new(Level::INFO, "Hi.")]).unwrap();
/// assert!(matches!(entry, SessionEntry::Bytes(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEntry {
    /// herald's binary body.
    Bytes(Vec<u8>),
    /// Django's JSON string.
    Text(String),
}

impl SessionEntry {
    /// The entry's bytes (the text's UTF-8 for Django's format).
    ///
    /// ```
    /// let entry = herald_flash::testing::SessionEntry::Text("[]".into());
    /// assert_eq!(entry.as_bytes(), b"[]");
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            SessionEntry::Bytes(b) => b,
            SessionEntry::Text(t) => t.as_bytes(),
        }
    }
}

/// A request's state holding `messages`, as a previous request would have queued them.
fn queued(
    config: &Config,
    storage: Storage,
    messages: &[Message<'_>],
) -> Result<RequestState, TestingError> {
    let mut state = RequestState::begin(config, storage, std::iter::empty());
    if storage == Storage::Session {
        // Nothing to load: the entry is absent.
        #[cfg(feature = "django")]
        let loaded = match config.inner.django.is_some() {
            true => crate::django_storage::load_session(&mut state.inbox, None),
            false => state.inbox.load_session(None, config.now()),
        };
        #[cfg(not(feature = "django"))]
        let loaded = state.inbox.load_session(None, config.now());
        loaded.map_err(TestingError::Invalid)?;
    }
    // Stored messages passed the level check of the request that stored them.
    state.inbox.set_level(Some(Level(i32::MIN)));
    let given = messages.iter().filter(|m| !m.message.is_empty()).count();
    for m in messages {
        if state.inbox.add_message(*m).is_err() {
            return Err(TestingError::NotStored {
                given,
                stored: state.inbox.len(),
            });
        }
    }
    Ok(state)
}

/// The `name=value` pair of a `Set-Cookie` line, if it is the messages cookie.
fn pair<'a>(config: &Config, line: &'a [u8]) -> Option<&'a str> {
    let line = std::str::from_utf8(line).ok()?;
    let pair = line.split(';').next()?.trim();
    let (name, _) = pair.split_once('=')?;
    (name.trim() == config.cookie_name()).then_some(pair)
}

/// The value of a `name=value` pair, without surrounding quotes.
fn value_of(pair: &str) -> &str {
    let value = pair.split_once('=').map_or("", |(_, v)| v.trim());
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// `name=value` of the messages cookie holding `messages`.
fn cookie_pair(config: &Config, messages: &[Message<'_>]) -> Result<String, TestingError> {
    let mut state = queued(config, Storage::Cookie, messages)?;
    let given = state.inbox.len();
    let mut lines = Vec::new();
    let (_, unstored) = state.finish(|line| lines.extend(line.into_bytes()));
    let pair = lines
        .iter()
        .find_map(|l| pair(config, l))
        .map(str::to_owned);
    match pair {
        Some(pair) if unstored.is_empty() && !value_of(&pair).is_empty() => Ok(pair),
        _ => Err(TestingError::NotStored {
            given,
            stored: given - unstored.len().min(given),
        }),
    }
}

/// The signed messages cookie value holding `messages`, in the configured format, as a
/// response of this configuration would set it.
///
/// ```
/// use herald_flash::testing::{cookie_value, read_cookie_value};
/// use herald_flash::{Level, Message};
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// let value = cookie_value(&config, &[Message::new(Level::INFO, "Hi.")]).unwrap();
/// assert_eq!(read_cookie_value(&config, &value).unwrap()[0].message, "Hi.");
/// ```
///
/// # Errors
/// [`TestingError::NotStored`] when not all of them fit in the cookie (or there are
/// none to store).
pub fn cookie_value(config: &Config, messages: &[Message<'_>]) -> Result<String, TestingError> {
    cookie_pair(config, messages).map(|pair| value_of(&pair).to_owned())
}

/// A `Cookie` header value carrying `messages` (`messages=<signed value>`, with the
/// configured cookie name). Join it to other cookies with `"; "`.
///
/// ```
/// use herald_flash::{Level, Message, testing::cookie_header};
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// let header = cookie_header(&config, &[Message::new(Level::INFO, "Hi.")]).unwrap();
/// assert!(header.starts_with("messages="));
/// ```
///
/// # Errors
/// As [`cookie_value`].
pub fn cookie_header(config: &Config, messages: &[Message<'_>]) -> Result<String, TestingError> {
    cookie_pair(config, messages)
}

/// `request` with a `Cookie` header carrying `messages` added (after its own cookies).
///
/// ```
/// use herald_flash::{Level, Message, testing::request_with_messages};
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// let req = http::Request::get("/").body(()).unwrap();
/// let req = request_with_messages(req, &config, &[Message::new(Level::INFO, "Hi.")]).unwrap();
/// assert!(req.headers()["cookie"].to_str().unwrap().starts_with("messages="));
/// ```
///
/// # Errors
/// As [`cookie_value`].
pub fn request_with_messages<B>(
    mut request: http::Request<B>,
    config: &Config,
    messages: &[Message<'_>],
) -> Result<http::Request<B>, TestingError> {
    let pair = cookie_header(config, messages)?;
    let value = match request.headers().get(http::header::COOKIE) {
        Some(existing) => {
            let existing = existing
                .to_str()
                .map_err(|e| TestingError::Header(e.to_string()))?;
            format!("{existing}; {pair}")
        }
        None => pair,
    };
    let value =
        http::HeaderValue::try_from(value).map_err(|e| TestingError::Header(e.to_string()))?;
    request.headers_mut().insert(http::header::COOKIE, value);
    Ok(request)
}

/// The messages of `inbox`, with the configuration's tags.
fn owned(config: &Config, inbox: &Inbox<GrowableList>) -> Vec<OwnedMessage> {
    let tags = config.tags();
    inbox
        .store()
        .view()
        .iter()
        .map(|m| OwnedMessage::new(m, &tags))
        .collect()
}

fn inbox(config: &Config, storage: Storage) -> Inbox<GrowableList> {
    let store = GrowableList::new(config.request_limits());
    Inbox::with_store(store, storage, config.min_level())
}

/// The messages in a messages cookie value (as [`cookie_value`] makes it, or as a
/// response set it), checked with the configuration's keys and `max_age`.
///
/// ```
/// use herald_flash::testing::{cookie_value, read_cookie_value};
/// use herald_flash::{Level, Message};
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// let value = cookie_value(&config, &[Message::new(Level::ERROR, "No.").with_extra_tags("banner")]).unwrap();
/// let read = read_cookie_value(&config, &value).unwrap();
/// assert_eq!(read[0].tags, "banner error");
/// ```
///
/// # Errors
/// [`TestingError::Invalid`] for a value this configuration rejects.
pub fn read_cookie_value(config: &Config, value: &str) -> Result<Vec<OwnedMessage>, TestingError> {
    let mut inbox = inbox(config, Storage::Cookie);
    let inner = &config.inner;
    #[cfg(feature = "django")]
    if let Some(codec) = &inner.django {
        crate::django_storage::load_cookie(
            &mut inbox,
            codec,
            Some(value),
            config.now(),
            inner.max_age,
        )
        .map_err(TestingError::Invalid)?;
        return Ok(owned(config, &inbox));
    }
    inbox
        .load_cookie(
            Some(value.as_bytes()),
            inner.cookie_opener(),
            config.now(),
            inner.max_age,
        )
        .map_err(TestingError::Invalid)?;
    Ok(owned(config, &inbox))
}

/// What a response stored in the messages cookie, from its `Set-Cookie` values: `None`
/// when it did not set the cookie (the browser keeps what it had), `Some` of no messages
/// when it deleted it, else `Some` of the messages.
///
/// ```
/// use herald_flash::testing::stored_in_cookie;
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// let deleted: &[u8] = b"messages=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/";
/// assert_eq!(stored_in_cookie(&config, [deleted]).unwrap(), Some(Vec::new()));
/// assert_eq!(stored_in_cookie(&config, [b"other=1".as_slice()]).unwrap(), None);
/// ```
///
/// # Errors
/// [`TestingError::Invalid`] for a cookie value this configuration rejects.
pub fn stored_in_cookie<'a>(
    config: &Config,
    set_cookie: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Option<Vec<OwnedMessage>>, TestingError> {
    // The last line for the cookie wins, as in a browser.
    let Some(pair) = set_cookie
        .into_iter()
        .filter_map(|l| pair(config, l))
        .last()
    else {
        return Ok(None);
    };
    match value_of(pair) {
        "" => Ok(Some(Vec::new())),
        value => read_cookie_value(config, value).map(Some),
    }
}

/// [`stored_in_cookie`] for an `http::Response` (axum, tower).
///
/// ```
/// use herald_flash::testing::response_messages;
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// let res = http::Response::new(());
/// assert_eq!(response_messages(&res, &config).unwrap(), None);
/// ```
///
/// # Errors
/// As [`stored_in_cookie`].
pub fn response_messages<B>(
    response: &http::Response<B>,
    config: &Config,
) -> Result<Option<Vec<OwnedMessage>>, TestingError> {
    let lines = response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .map(http::HeaderValue::as_bytes);
    stored_in_cookie(config, lines)
}

/// The session entry holding `messages`, as herald would store it under
/// [`Config::session_key`] in the configured format.
///
/// ```
/// use herald_flash::testing::{read_session_entry, session_entry};
/// use herald_flash::{Level, Message};
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// let entry = session_entry(&config, &[Message::new(Level::INFO, "Hi.")]).unwrap();
/// assert_eq!(read_session_entry(&config, entry.as_bytes()).unwrap()[0].message, "Hi.");
/// ```
///
/// # Errors
/// [`TestingError::NotStored`] when they exceed the request's limits or there are none.
pub fn session_entry(
    config: &Config,
    messages: &[Message<'_>],
) -> Result<SessionEntry, TestingError> {
    let mut state = queued(config, Storage::Session, messages)?;
    let given = state.inbox.len();
    let (write, unstored) = state.finish(|_| {});
    match write {
        SessionWrite::Set { value, .. } if unstored.is_empty() => Ok(match value {
            SessionValue::Bytes(b) => SessionEntry::Bytes(b),
            SessionValue::Text(t) => SessionEntry::Text(t),
        }),
        _ => Err(TestingError::NotStored {
            given,
            stored: given - unstored.len().min(given),
        }),
    }
}

/// The messages in a session entry (its bytes, or Django's JSON text as bytes).
///
/// ```
/// use herald_flash::testing::read_session_entry;
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// assert!(read_session_entry(&config, b"not an entry").is_err());
/// ```
///
/// # Errors
/// [`TestingError::Invalid`] for an entry that does not decode.
pub fn read_session_entry(
    config: &Config,
    entry: &[u8],
) -> Result<Vec<OwnedMessage>, TestingError> {
    let mut inbox = inbox(config, Storage::Session);
    #[cfg(feature = "django")]
    let loaded = match config.inner.django.is_some() {
        true => crate::django_storage::load_session(&mut inbox, Some(entry)),
        false => inbox.load_session(Some(entry), config.now()),
    };
    #[cfg(not(feature = "django"))]
    let loaded = inbox.load_session(Some(entry), config.now());
    loaded.map_err(TestingError::Invalid)?;
    Ok(owned(config, &inbox))
}

/// Stores `messages` in `session` under [`Config::session_key`], as a previous response
/// would have (through the backend's `set` or `set_text`).
///
/// ```
/// use herald_flash::session::MemorySessions;
/// use herald_flash::testing::{put_in_session, stored_in_session};
/// use herald_flash::{Level, Message};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), herald_flash::testing::TestingError> {
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// let sessions = MemorySessions::new();
/// let session = sessions.session(std::iter::empty());
/// put_in_session(&session, &config, &[Message::new(Level::INFO, "Hi.")]).await?;
/// assert_eq!(stored_in_session(&session, &config).await?[0].message, "Hi.");
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`session_entry`], and the backend's [`SessionError`].
pub async fn put_in_session<S: SessionBackend>(
    session: &S,
    config: &Config,
    messages: &[Message<'_>],
) -> Result<(), TestingError> {
    let key = config.session_key();
    match session_entry(config, messages)? {
        SessionEntry::Bytes(b) => session.set(key, b).await?,
        SessionEntry::Text(t) => session.set_text(key, t).await?,
    }
    Ok(())
}

/// The messages `session` holds under [`Config::session_key`] (none when it holds no
/// entry), as the next request would load them.
///
/// ```
/// use herald_flash::session::MemorySessions;
/// use herald_flash::testing::stored_in_session;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), herald_flash::testing::TestingError> {
/// # let config = herald_flash::Config::builder().secret("a test secret of at least 32 bytes").build().unwrap();
/// let session = MemorySessions::new().session(std::iter::empty());
/// assert!(stored_in_session(&session, &config).await?.is_empty());
/// # Ok(()) }
/// ```
///
/// # Errors
/// The backend's [`SessionError`]; [`TestingError::Invalid`] for an entry that does not
/// decode.
pub async fn stored_in_session<S: SessionBackend>(
    session: &S,
    config: &Config,
) -> Result<Vec<OwnedMessage>, TestingError> {
    match session.get(config.session_key()).await? {
        None => Ok(Vec::new()),
        Some(entry) => read_session_entry(config, &entry),
    }
}
