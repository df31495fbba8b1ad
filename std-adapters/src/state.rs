//! The one http-level layer every framework adapter shims: per-request state built from the
//! `Cookie` headers, the session load, and the response-time writes. All decisions come from
//! the core [`Inbox`]; this module only moves bytes between it, the cookie headers and the
//! session backend.

use std::cell::Cell;
use std::ops::Range;

use bytes::Bytes;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use herald_core::codec::Header;
use herald_core::inbox::{CookieAction, SessionAction};
use herald_core::list::GrowableList;
use herald_core::truncate;
use herald_core::{Inbox, LoadError, Message, Storage};

use crate::config::{Config, Inner};
use crate::cookies;
use crate::session::{SessionBackend, SessionError};
use crate::unstored::{Unstored, UnstoredMessage, UnstoredReason};
use crate::view::OwnedMessage;

/// The request's state as the middleware and every `Messages` clone share it.
pub(crate) type Handle = Arc<Mutex<RequestState>>;

/// Locks the state (a panic while it was held does not make it unusable).
pub(crate) fn lock(handle: &Handle) -> MutexGuard<'_, RequestState> {
    handle.lock().unwrap_or_else(PoisonError::into_inner)
}

thread_local! {
    /// The allocation of the last request state this thread finished with, for the next
    /// request that begins on it ([`RequestState::begin_shared`]). It still holds that
    /// request's state (its messages and a reference to its configuration) until then or
    /// until the thread ends: one state per thread, under 3 KiB with its buffers.
    static SPARE: Cell<Option<Handle>> = const { Cell::new(None) };
}

/// The most heap a kept request state's message store may hold (its buffers are reused,
/// emptied, by the next request on the thread): ten ordinary messages' worth, so that a
/// thread never keeps a large request's memory.
const SPARE_HEAP_BYTES: usize = 2048;

/// Ends a request's use of `handle`: when no `Messages` copy of it is left (the handler's
/// are gone) and its message store holds at most [`SPARE_HEAP_BYTES`] of heap, it is kept
/// for the next request on this thread; otherwise it is dropped as usual.
pub(crate) fn release(mut handle: Handle) {
    let reusable = Arc::get_mut(&mut handle).is_some_and(|state| {
        let state = state.get_mut().unwrap_or_else(PoisonError::into_inner);
        state.inbox.store().heap_bytes() <= SPARE_HEAP_BYTES
    });
    if reusable {
        // Fails only while the thread is being torn down: the handle is dropped then.
        let _ = SPARE.try_with(|spare| spare.set(Some(handle)));
    }
}

/// A request's inbox: the growable store, bounded by the configured request limits.
pub(crate) type RequestInbox = Inbox<GrowableList>;

/// What a layer or middleware is built from: the configuration, the storage, and where
/// it finds a request's session. Shared by the tower layer and the actix middleware.
#[derive(Clone)]
pub(crate) struct Setup<S> {
    pub(crate) config: Config,
    pub(crate) storage: Storage,
    pub(crate) source: S,
}

impl<S> std::fmt::Debug for Setup<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("storage", &self.storage)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// One request's message state, shared by the middleware and the extractor.
///
/// Kept well under glibc's tcache limit (1032 bytes with the `Arc` and `Mutex` around it, see
/// the test `the_shared_state_fits_the_tcache`): the inbox is most of it, and what only
/// a failing or overflowing request needs is in [`Trouble`], allocated when it happens.
pub(crate) struct RequestState {
    pub(crate) config: Config,
    pub(crate) inbox: RequestInbox,
    /// Load errors and refused messages, if the request met any.
    trouble: Option<Box<Trouble>>,
    /// The messages the cookie written by this response holds, if it writes one: when the
    /// session part of the same write fails, the cookie is taken back too (see
    /// [`write_session`]).
    pub(crate) cookie_part: Option<Range<usize>>,
}

/// What only a request that met a problem carries.
#[derive(Default)]
struct Trouble {
    /// Why the session could not be read, if it could not: the extractor reports it.
    session_error: Option<SessionError>,
    /// Why the request's [`MessageStorage`](crate::storage::MessageStorage) could not be
    /// read, if it could not: the extractor reports it.
    storage_error: Option<crate::storage::StorageError>,
    /// Messages added past the request's limits, reported with the response.
    refused: Vec<UnstoredMessage>,
}

/// A `Set-Cookie` line decided by [`RequestState::finish`].
pub(crate) enum SetCookie<'a> {
    /// The configuration's deletion line: rendered once and shared
    /// ([`cookies::deletion`]); an adapter may keep it as its framework's header value.
    Delete(&'a Inner),
    /// A line written for this response, exactly sized, for `HeaderValue` to take without
    /// a copy.
    Line(Bytes),
}

impl<'a> SetCookie<'a> {
    /// The line as a framework's header value `V`: a written line through `make` (which
    /// takes the bytes without a copy), the deletion line made once per configuration in
    /// the cell `kept` picks (`cookies::DeletionValues`) and cloned, a reference count.
    /// `None`, logged, when the line is not a valid header value.
    pub(crate) fn header_value<V: Clone + 'a, E: std::fmt::Display>(
        self,
        kept: impl FnOnce(&'a Inner) -> &'a std::sync::OnceLock<Option<V>>,
        make: impl Fn(Bytes) -> Result<V, E>,
    ) -> Option<V> {
        let make = |line: Bytes| {
            make(line)
                .map_err(|e| tracing::error!(error = %e, "herald: invalid Set-Cookie value"))
                .ok()
        };
        match self {
            SetCookie::Line(line) => make(line),
            SetCookie::Delete(inner) => {
                let value = kept(inner)
                    .get_or_init(|| SetCookie::Delete(inner).into_bytes().and_then(make))
                    .clone();
                if value.is_none() {
                    tracing::error!("herald: cannot write the deletion cookie");
                }
                value
            }
        }
    }

    /// The line's bytes (`None`, logged, when the deletion line cannot be written: an
    /// invalid configured name or attribute).
    pub(crate) fn into_bytes(self) -> Option<Bytes> {
        match self {
            SetCookie::Line(line) => Some(line),
            SetCookie::Delete(inner) => cookies::deletion(inner)
                .map_err(
                    |e| tracing::error!(error = ?e, "herald: cannot write the deletion cookie"),
                )
                .ok(),
        }
    }
}

/// What the session must do at response time.
#[derive(Debug)]
pub(crate) enum SessionWrite {
    Keep,
    Remove,
    Set {
        value: SessionValue,
        messages: Range<usize>,
    },
}

/// A session entry: herald's binary body, or Django's JSON string.
#[derive(Debug)]
pub(crate) enum SessionValue {
    Bytes(Vec<u8>),
    #[cfg_attr(not(feature = "django"), allow(dead_code))]
    Text(String),
}

/// The messages cookie value from the `Cookie` headers, read as the configured format
/// expects, and loaded into `inbox`.
pub(crate) fn load_cookie<'h>(
    inbox: &mut RequestInbox,
    inner: &Inner,
    cookie_headers: impl IntoIterator<Item = &'h [u8]>,
    now: u64,
) -> Result<herald_core::Loaded, LoadError> {
    #[cfg(feature = "django")]
    if let Some(codec) = &inner.django {
        let value = cookies::find(cookie_headers, &inner.cookie_name);
        return crate::django_storage::load_cookie(inbox, codec, value, now, inner.max_age);
    }
    let value = cookies::find_bytes(cookie_headers, &inner.cookie_name);
    inbox.load_cookie(value, inner.cookie_opener(), now, inner.max_age)
}

/// Seals the cookie value for `messages` into `out` (signed, or encrypted with a fresh
/// nonce from the operating system), returning its length; why it could not, otherwise.
fn seal_value(
    inner: &Inner,
    inbox: &RequestInbox,
    messages: std::ops::Range<usize>,
    continued: bool,
    issued_at: u64,
    out: &mut [u8],
) -> Result<usize, UnstoredReason> {
    let sealed = |e: herald_core::signer::SealError| {
        tracing::error!(error = ?e, "herald: cannot seal the cookie");
        UnstoredReason::CookieFull
    };
    #[cfg(feature = "encryption")]
    if let Some(cipher) = &inner.cipher {
        let mut nonce = [0u8; herald_core::cipher::NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| {
            tracing::error!(error = %e, "herald: no random nonce for the encrypted cookie");
            UnstoredReason::Encryption(e.to_string())
        })?;
        return inbox
            .seal_cookie(
                messages,
                continued,
                &cipher.with_nonce(nonce),
                issued_at,
                out,
            )
            .map(str::len)
            .map_err(sealed);
    }
    inbox
        .seal_cookie(messages, continued, &inner.signer, issued_at, out)
        .map(str::len)
        .map_err(sealed)
}

impl RequestState {
    /// Builds the state of a request and loads its messages cookie (cookie and fallback
    /// storage; session storage ignores the cookie, as Django's `SessionStorage`).
    pub(crate) fn begin<'h>(
        config: &Config,
        storage: Storage,
        cookie_headers: impl IntoIterator<Item = &'h [u8]>,
    ) -> Self {
        let mut state = RequestState::new(config, storage);
        state.load_cookie_headers(cookie_headers);
        state
    }

    /// [`begin`](Self::begin) straight into the request's shared [`Handle`]: the state
    /// (over a kilobyte, the inbox's inline store) is built empty in its allocation and
    /// the cookie is loaded there, so it is not moved by value into the handle (nor into
    /// the adapter's future) afterwards.
    ///
    /// The allocation is the one the last request finished on this thread left (see
    /// [`release`]) when there is one: in steady state a request's shared state costs no
    /// allocation.
    pub(crate) fn begin_shared<'h>(
        config: &Config,
        storage: Storage,
        cookie_headers: impl IntoIterator<Item = &'h [u8]>,
    ) -> Handle {
        // Only a handle without other references is kept, so `get_mut` succeeds.
        let reused = SPARE
            .try_with(Cell::take)
            .ok()
            .flatten()
            .and_then(|mut spare| {
                let slot = Arc::get_mut(&mut spare)?;
                slot.clear_poison();
                let state = slot.get_mut().unwrap_or_else(PoisonError::into_inner);
                // The previous request's state is wholly replaced; only the heap buffers of
                // its message store are kept, emptied.
                let old = std::mem::replace(state, RequestState::new(config, storage));
                if old.inbox.store().is_spilled() {
                    let mut list = old.inbox.into_store();
                    list.reset(config.inner.limits);
                    state.inbox = Inbox::with_store(list, storage, config.inner.min_level);
                }
                Some(spare)
            });
        let handle =
            reused.unwrap_or_else(|| Arc::new(Mutex::new(RequestState::new(config, storage))));
        lock(&handle).load_cookie_headers(cookie_headers);
        handle
    }

    /// The state of a request before anything is loaded.
    #[inline(always)]
    fn new(config: &Config, storage: Storage) -> Self {
        let inner = &config.inner;
        RequestState {
            config: config.clone(),
            inbox: Inbox::with_store(GrowableList::new(inner.limits), storage, inner.min_level),
            trouble: None,
            cookie_part: None,
        }
    }

    fn trouble(&mut self) -> &mut Trouble {
        self.trouble.get_or_insert_with(Box::default)
    }

    /// Why the session could not be read, if it could not.
    pub(crate) fn session_error(&self) -> Option<&SessionError> {
        self.trouble.as_ref()?.session_error.as_ref()
    }

    /// Why the request's message storage could not be read, if it could not.
    pub(crate) fn storage_error(&self) -> Option<&crate::storage::StorageError> {
        self.trouble.as_ref()?.storage_error.as_ref()
    }

    /// Notes why the request's message storage could not be read.
    pub(crate) fn set_storage_error(&mut self, error: crate::storage::StorageError) {
        self.trouble().storage_error = Some(error);
    }

    /// Keeps `messages` (emptied) for the response's report of what was not stored.
    pub(crate) fn refuse_all(&mut self, messages: &mut Vec<UnstoredMessage>) {
        if !messages.is_empty() {
            self.trouble().refused.append(messages);
        }
    }

    /// Takes the messages kept for the response's report.
    pub(crate) fn take_refused(&mut self) -> Vec<UnstoredMessage> {
        self.trouble
            .as_mut()
            .map(|t| std::mem::take(&mut t.refused))
            .unwrap_or_default()
    }

    /// Loads the messages cookie from the `Cookie` headers (not for session storage).
    fn load_cookie_headers<'h>(&mut self, cookie_headers: impl IntoIterator<Item = &'h [u8]>) {
        let inner = &*self.config.inner;
        if self.inbox.storage() != Storage::Session
            && let Err(error) =
                load_cookie(&mut self.inbox, inner, cookie_headers, self.config.now())
        {
            log_load_error("cookie", error);
        }
    }

    /// Notes that the request's session could not be had: a misconfiguration (the session
    /// layer is missing, or of another version) that fails every request that uses
    /// messages, loudly, even before a message needs the session.
    pub(crate) fn session_unavailable(&mut self, error: &SessionError) {
        tracing::error!(
            error = %error,
            storage = ?self.inbox.storage(),
            "herald: this route keeps messages in the session, but the request has no session; install the session layer outside herald's (see the error) or build herald's layer with ::cookie"
        );
        self.trouble().session_error = Some(error.clone());
    }

    /// Queues `message`; one past the request's limits is logged and kept for the
    /// response's [`Unstored`] report.
    pub(crate) fn add_reported(&mut self, message: Message<'_>) {
        if self.refuses_expiry(&message) {
            let message = OwnedMessage::new(message, &self.config.tags());
            tracing::warn!(level = message.level.0, text = %message.message, "herald: message with an expiry not queued: Django's wire format cannot carry it");
            self.trouble().refused.push(UnstoredMessage {
                message,
                reason: UnstoredReason::ExpiryNotSupported,
            });
            return;
        }
        if let Err(e) = self.inbox.add_message(message) {
            let message = OwnedMessage::new(e.message, &self.config.tags());
            tracing::warn!(level = message.level.0, text = %message.message, reason = %e.reason, "herald: message not queued");
            self.trouble().refused.push(UnstoredMessage {
                message,
                reason: UnstoredReason::Limit(e.reason),
            });
        }
    }

    /// Whether `message` must be refused because it has an expiry and the wire format is
    /// Django's, which cannot carry one (RULES ).
    pub(crate) fn refuses_expiry(&self, message: &Message<'_>) -> bool {
        message.expires_at.is_some() && self.config.inner.wire_format == crate::WireFormat::Django
    }

    /// Whether the session entry must be read before the handler runs.
    pub(crate) fn needs_session(&self) -> bool {
        self.inbox.needs_session()
    }

    /// Loads the session entry `got` (what the backend answered) into the inbox; a
    /// failure is kept for the extractor.
    fn apply_session(&mut self, got: Result<Option<Vec<u8>>, SessionError>) {
        let config_now = self.config.now();
        match got {
            Ok(bytes) => {
                #[cfg(feature = "django")]
                let loaded = if self.config.inner.django.is_some() {
                    crate::django_storage::load_session(&mut self.inbox, bytes.as_deref())
                } else {
                    self.inbox.load_session(bytes.as_deref(), config_now)
                };
                #[cfg(not(feature = "django"))]
                let loaded = self.inbox.load_session(bytes.as_deref(), config_now);
                if let Err(error) = loaded {
                    log_load_error("session entry", error);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "herald: could not read the messages from the session");
                self.trouble().session_error = Some(e);
            }
        }
    }

    /// Decides the response: calls `set_cookie` with the `Set-Cookie` line when the
    /// cookie changes, and returns the session write and what no storage took.
    pub(crate) fn finish(
        &mut self,
        mut set_cookie: impl FnMut(SetCookie<'_>),
    ) -> (SessionWrite, Vec<UnstoredMessage>) {
        #[cfg(feature = "django")]
        if self.config.inner.django.is_some() {
            let config = self.config.clone();
            if let Some(codec) = &config.inner.django {
                return self.finish_django(codec, config.now(), set_cookie);
            }
        }
        // Borrowed, not cloned: no reference-count traffic on herald's own format.
        let config = &self.config;
        let inner = &*config.inner;
        // The clock is read once per request when nothing can expire between the loads and
        // now: the plan at the request's time is the plan at any later time (the core's
        // `settled_time`).
        let now = self.inbox.settled_time().unwrap_or_else(|| config.now());
        let opener = inner.cookie_opener();
        let plan = self.inbox.plan_for(opener, inner.max_cookie_size, now);
        let mut unstored = Vec::new();
        match plan.cookie {
            CookieAction::Keep => {}
            CookieAction::Delete => set_cookie(SetCookie::Delete(inner)),
            CookieAction::Set {
                messages,
                continued,
            } => {
                // The plan's issued-at (the oldest stored message's, R-3.5): truncation was
                // computed for it.
                let header = Header {
                    issued_at: plan.issued_at,
                    continued,
                };
                let value_len = truncate::sealed_len(
                    &header,
                    self.inbox.messages(messages.clone()),
                    opener.overhead(),
                );
                let inbox = &self.inbox;
                let mut failure = None;
                let line = cookies::sealed_line(inner, value_len, |out| {
                    seal_value(
                        inner,
                        inbox,
                        messages.clone(),
                        continued,
                        plan.issued_at,
                        out,
                    )
                    .map_err(|reason| failure = Some(reason))
                    .ok()
                });
                match line {
                    Some(line) => {
                        set_cookie(SetCookie::Line(Bytes::from(line)));
                        self.cookie_part = Some(messages);
                    }
                    // Unreachable with a valid configuration (the plan fits the value in
                    // `max_cookie_size` <= MAX_VALUE_LEN) and a working OS generator;
                    // report rather than drop.
                    None => {
                        let reason = failure.unwrap_or(UnstoredReason::CookieFull);
                        self.report(&mut unstored, messages, &reason);
                    }
                }
            }
        }
        self.report(&mut unstored, plan.unstored, &UnstoredReason::CookieFull);
        let session = match plan.session {
            SessionAction::Keep => SessionWrite::Keep,
            SessionAction::Remove => SessionWrite::Remove,
            SessionAction::Set { messages } => {
                let issued_at = plan.issued_at;
                let mut bytes = vec![0u8; self.inbox.session_len(messages.clone(), issued_at)];
                match self
                    .inbox
                    .encode_session(messages.clone(), issued_at, &mut bytes)
                {
                    Ok(n) => {
                        bytes.truncate(n);
                        SessionWrite::Set {
                            value: SessionValue::Bytes(bytes),
                            messages,
                        }
                    }
                    Err(_) => {
                        self.report(&mut unstored, messages, &UnstoredReason::CookieFull);
                        SessionWrite::Keep
                    }
                }
            }
        };
        unstored.append(&mut self.take_refused());
        (session, unstored)
    }

    /// [`finish`](Self::finish) in Django's format: the same core plan, with Django's
    /// bisection deciding what fits, Django's signed value in the cookie and Django's JSON
    /// in the session. The `Set-Cookie` lines are the same writer's (Django's layout).
    #[cfg(feature = "django")]
    fn finish_django(
        &mut self,
        codec: &crate::django::DjangoCodec,
        now: u64,
        mut set_cookie: impl FnMut(SetCookie<'_>),
    ) -> (SessionWrite, Vec<UnstoredMessage>) {
        use crate::django_storage::{self as storage, DjangoCookie};
        let config = self.config.clone();
        let inner = &config.inner;
        let planned = storage::plan(&mut self.inbox, codec, inner.max_cookie_size, now);
        let plan = planned.plan;
        match &planned.cookie {
            DjangoCookie::Keep => {}
            DjangoCookie::Delete => set_cookie(SetCookie::Delete(inner)),
            DjangoCookie::Set(value) => {
                set_cookie(SetCookie::Line(Bytes::from(storage::set_cookie_line(
                    inner, value,
                ))));
            }
        }
        let mut unstored = Vec::new();
        self.report(&mut unstored, plan.unstored, &UnstoredReason::CookieFull);
        let session = match plan.session {
            SessionAction::Keep => SessionWrite::Keep,
            SessionAction::Remove => SessionWrite::Remove,
            SessionAction::Set { messages } => {
                match storage::session_text(&self.inbox, messages.clone()) {
                    Some(text) => SessionWrite::Set {
                        value: SessionValue::Text(text),
                        messages,
                    },
                    // The plan never stores an empty list in the session.
                    None => SessionWrite::Remove,
                }
            }
        };
        unstored.append(&mut self.take_refused());
        (session, unstored)
    }

    /// Appends the messages in `range` to `out` as unstored for `reason`, and logs them.
    pub(crate) fn report(
        &self,
        out: &mut Vec<UnstoredMessage>,
        range: Range<usize>,
        reason: &UnstoredReason,
    ) {
        if range.is_empty() {
            return;
        }
        let tags = self.config.tags();
        for m in self.inbox.messages(range).iter() {
            tracing::warn!(level = m.level.0, text = %m.message, reason = %reason, "herald: message could not be stored");
            out.push(UnstoredMessage {
                message: OwnedMessage::new(m, &tags),
                reason: reason.clone(),
            });
        }
    }
}

fn log_load_error(source: &str, error: LoadError) {
    match error {
        LoadError::Decode(herald_core::codec::DecodeError::Capacity(e)) => {
            tracing::warn!(%error, capacity = %e, "herald: the {source} holds more messages than this inbox's capacities");
        }
        LoadError::Unsupported => {
            tracing::warn!(%error, "herald: the {source} holds messages herald cannot represent; it is left as it is");
        }
        _ => tracing::debug!(%error, "herald: ignoring an invalid messages {source}"),
    }
}

/// Reads the session entry into the request's inbox; a failure is kept for the
/// extractor. The lock is not held while the backend answers.
pub(crate) async fn load_session<S: SessionBackend>(
    handle: &Handle,
    session: Result<&S, &SessionError>,
) {
    // A missing session was reported when the request began.
    let Ok(session) = session else { return };
    let config = lock(handle).config.clone();
    let got = session.get(&config.inner.session_key).await;
    lock(handle).apply_session(got);
}

/// Why a request without a session cannot write to it: the error noted when the request
/// began (its session layer is missing), else that no session backend is configured.
pub(crate) fn missing_session(handle: &Handle) -> SessionError {
    lock(handle)
        .session_error()
        .cloned()
        .unwrap_or(SessionError::Missing("no session backend is configured"))
}

/// Performs the session write decided by [`RequestState::finish`]: returns the session's
/// own `Set-Cookie` value (if it issued one) and the report of what was not stored
/// (`unstored` plus anything the write lost), `None` when everything was stored.
pub(crate) async fn write_session<S: SessionBackend>(
    handle: &Handle,
    session: Result<&S, &SessionError>,
    write: SessionWrite,
    mut unstored: Vec<UnstoredMessage>,
) -> (Option<String>, Option<Unstored>) {
    let key = lock(handle).config.clone();
    let key = &key.inner.session_key;
    let (result, lost) = match (session, write) {
        (_, SessionWrite::Keep) => return (None, report(unstored)),
        (Ok(s), SessionWrite::Remove) => (s.remove(key).await, None),
        (Ok(s), SessionWrite::Set { value, messages }) => {
            let result = match value {
                SessionValue::Bytes(bytes) => s.set(key, bytes).await,
                SessionValue::Text(text) => s.set_text(key, text).await,
            };
            (result, Some(messages))
        }
        (Err(e), SessionWrite::Remove) => (Err(e.clone()), None),
        (Err(e), SessionWrite::Set { messages, .. }) => (Err(e.clone()), Some(messages)),
    };
    match result {
        Ok(()) => (session.ok().and_then(S::response_cookie), report(unstored)),
        Err(e) => {
            match lost {
                Some(range) => {
                    // All or nothing: the response will not carry this write's cookie
                    // either (the adapter removes it and answers 503), so its messages
                    // are reported with the session's, and the browser keeps the cookie
                    // it had.
                    let reason = UnstoredReason::Session(e);
                    let state = lock(handle);
                    if let Some(cookie) = state.cookie_part.clone() {
                        state.report(&mut unstored, cookie, &reason);
                    }
                    state.report(&mut unstored, range, &reason);
                }
                None => {
                    tracing::error!(error = %e, "herald: could not remove the read messages from the session; they may be shown again");
                }
            }
            (None, report(unstored))
        }
    }
}

/// The [`Unstored`] report of `messages`, or `None` when there are none.
pub(crate) fn report(messages: Vec<UnstoredMessage>) -> Option<Unstored> {
    (!messages.is_empty()).then(|| Unstored { messages })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::builder()
            .secret("a secret for the state's own tests, 32+ bytes")
            .build()
            .unwrap()
    }

    fn add(handle: &Handle, text: &str) {
        lock(handle).add_reported(Message::new(herald_core::Level::INFO, text));
    }

    fn texts(handle: &Handle) -> Vec<String> {
        let mut state = lock(handle);
        state.inbox.iter().map(|m| m.message.to_owned()).collect()
    }

    /// A finished request's allocation is reused by the next request on the thread, and
    /// the next request sees nothing of the last one.
    #[test]
    fn a_released_state_is_reused_empty() {
        let config = config();
        let first = RequestState::begin_shared(&config, Storage::Cookie, []);
        add(&first, "the first request's message");
        let at = Arc::as_ptr(&first);
        release(first);
        let second = RequestState::begin_shared(&config, Storage::Cookie, []);
        assert_eq!(Arc::as_ptr(&second), at, "the same allocation");
        assert!(!lock(&second).inbox.used());
        assert!(texts(&second).is_empty(), "nothing of the first request");
        let other = Config::builder()
            .secret("another configuration's secret, 32+ bytes")
            .cookie_name("other")
            .build()
            .unwrap();
        release(second);
        let third = RequestState::begin_shared(&other, Storage::Fallback, []);
        assert_eq!(Arc::as_ptr(&third), at);
        let state = lock(&third);
        assert_eq!(state.config.cookie_name(), "other", "its own configuration");
        assert_eq!(state.inbox.storage(), Storage::Fallback);
    }

    /// A state some `Messages` copy still refers to is never reused, nor one whose
    /// message store holds more than `SPARE_HEAP_BYTES` of heap; one that spilled a little
    /// is reused with its buffers, emptied.
    #[test]
    fn a_shared_or_large_state_is_not_kept() {
        let config = config();
        let first = RequestState::begin_shared(&config, Storage::Cookie, []);
        let kept_by_a_task = Arc::clone(&first);
        release(first);
        assert!(!spare_is_kept(), "still in use: not kept");
        add(&kept_by_a_task, "still usable");
        assert_eq!(texts(&kept_by_a_task), ["still usable"]);

        let ten = RequestState::begin_shared(&config, Storage::Cookie, []);
        for i in 0..10 {
            add(
                &ten,
                &format!("message {i} of a request that outgrows the inline store"),
            );
        }
        let held = lock(&ten).inbox.store().heap_bytes();
        assert!(held > 0 && held <= SPARE_HEAP_BYTES, "{held}");
        release(ten);
        assert!(spare_is_kept(), "ten messages: kept");
        let next = RequestState::begin_shared(&config, Storage::Cookie, []);
        assert_eq!(
            lock(&next).inbox.store().heap_bytes(),
            held,
            "its buffers reused"
        );
        assert!(texts(&next).is_empty(), "emptied");

        for i in 0..100 {
            add(&next, &format!("message {i} of a large request"));
        }
        assert!(lock(&next).inbox.store().heap_bytes() > SPARE_HEAP_BYTES);
        release(next);
        assert!(!spare_is_kept(), "a large state is dropped");
    }

    /// Whether this thread holds a spare state (left in place).
    fn spare_is_kept() -> bool {
        SPARE.with(|spare| {
            let held = spare.take();
            let kept = held.is_some();
            spare.set(held);
            kept
        })
    }

    /// The request's shared state is one allocation (when no spare is kept): well under
    /// 1032 bytes (the largest block glibc's per-thread cache serves), with the `Arc`'s two
    /// counts. 672 bytes on 64-bit targets at this code (the inbox's inline store holds 256
    /// bytes of text and 4 messages); the bound leaves one cache line of room, so growth
    /// shows.
    #[test]
    fn the_shared_state_fits_the_tcache() {
        let arc_counts = 2 * std::mem::size_of::<usize>();
        let block = arc_counts + std::mem::size_of::<Mutex<RequestState>>();
        assert!(block <= 736, "the shared request state takes {block} bytes");
    }
}
