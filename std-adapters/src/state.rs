//! The one http-level layer every framework adapter shims: per-request state built from the
//! `Cookie` headers, the session load, and the response-time writes. All decisions come from
//! the core [`Inbox`]; this module only moves bytes between it, the cookie headers and the
//! session backend.

use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use herald_core::codec::Header;
use herald_core::inbox::{CookieAction, SessionAction};
use herald_core::truncate;
use herald_core::{Inbox, LoadError, Storage};

use crate::config::{Config, Inner};
use crate::cookies;
use crate::messages::{OwnedMessage, Unstored, UnstoredReason};
use crate::session::{SessionBackend, SessionError};

/// One request's message state, shared by the middleware and the extractor.
pub(crate) struct RequestState<const B: usize, const M: usize> {
    pub(crate) config: Config,
    pub(crate) inbox: Inbox<B, M>,
    /// Why the session could not be read, if it could not: the extractor reports it.
    pub(crate) session_error: Option<SessionError>,
}

/// The shared handle: one allocation per request.
pub(crate) type Handle<const B: usize, const M: usize> = Arc<Mutex<RequestState<B, M>>>;

pub(crate) fn lock<const B: usize, const M: usize>(
    handle: &Handle<B, M>,
) -> MutexGuard<'_, RequestState<B, M>> {
    handle.lock().unwrap_or_else(PoisonError::into_inner)
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
fn load_cookie<'h, const B: usize, const M: usize>(
    inbox: &mut Inbox<B, M>,
    inner: &Inner,
    cookie_headers: impl IntoIterator<Item = &'h [u8]>,
    now: u64,
) -> Result<herald_core::Loaded, LoadError> {
    let value = cookies::find(cookie_headers, &inner.cookie_name);
    #[cfg(feature = "django")]
    if let Some(codec) = &inner.django {
        return crate::django::storage::load_cookie(inbox, codec, value, now, inner.max_age);
    }
    inbox.load_cookie(value.map(str::as_bytes), &inner.signer, now, inner.max_age)
}

impl<const B: usize, const M: usize> RequestState<B, M> {
    /// Builds the state of a request and loads its messages cookie (cookie and fallback
    /// storage; session storage ignores the cookie, as Django's `SessionStorage`).
    pub(crate) fn begin<'h>(
        config: &Config,
        storage: Storage,
        cookie_headers: impl IntoIterator<Item = &'h [u8]>,
    ) -> Self {
        let inner = &config.inner;
        let mut inbox = Inbox::new(storage, inner.min_level);
        if storage != Storage::Session
            && let Err(error) = load_cookie(&mut inbox, inner, cookie_headers, config.now())
        {
            log_load_error("cookie", error);
        }
        RequestState {
            config: config.clone(),
            inbox,
            session_error: None,
        }
    }

    /// Whether the session entry must be read before the handler runs.
    pub(crate) fn needs_session(&self) -> bool {
        self.inbox.needs_session()
    }

    /// Reads the session entry into the inbox; a failure is kept for the extractor.
    pub(crate) async fn load_session<S: SessionBackend>(
        &mut self,
        session: Result<&S, &SessionError>,
    ) {
        let session = match session {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "herald: messages are stored in the session, but the request has none");
                self.session_error = Some(e.clone());
                return;
            }
        };
        let config = self.config.clone();
        match session.get(&config.inner.session_key).await {
            Ok(bytes) => {
                #[cfg(feature = "django")]
                let loaded = if config.inner.django.is_some() {
                    crate::django::storage::load_session(&mut self.inbox, bytes.as_deref())
                } else {
                    self.inbox.load_session(bytes.as_deref())
                };
                #[cfg(not(feature = "django"))]
                let loaded = self.inbox.load_session(bytes.as_deref());
                if let Err(error) = loaded {
                    log_load_error("session entry", error);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "herald: could not read the messages from the session");
                self.session_error = Some(e);
            }
        }
    }

    /// Decides the response: calls `set_cookie` with the `Set-Cookie` value (exactly
    /// sized, for `HeaderValue` to take without a copy) when the cookie changes, and
    /// returns the session write and what no storage took.
    pub(crate) fn finish(
        &mut self,
        mut set_cookie: impl FnMut(Vec<u8>),
    ) -> (SessionWrite, Option<Unstored>) {
        let config = self.config.clone();
        let inner = &config.inner;
        let now = config.now();
        #[cfg(feature = "django")]
        if let Some(codec) = &inner.django {
            return self.finish_django(codec, now, set_cookie);
        }
        let plan = self.inbox.plan(inner.max_cookie_size, now);
        let mut unstored = None;
        match plan.cookie {
            CookieAction::Keep => {}
            CookieAction::Delete => match cookies::delete_line(inner) {
                Ok(line) => set_cookie(line),
                Err(e) => tracing::error!(error = ?e, "herald: cannot write the deletion cookie"),
            },
            CookieAction::Set {
                messages,
                continued,
            } => {
                let header = Header {
                    issued_at: now,
                    continued,
                };
                let value_len =
                    truncate::signed_len(&header, self.inbox.messages(messages.clone()));
                let inbox = &self.inbox;
                let line = cookies::sealed_line(inner, value_len, |out| {
                    inbox
                        .seal_cookie(messages.clone(), continued, &inner.signer, now, out)
                        .map(str::len)
                        .map_err(|e| tracing::error!(error = ?e, "herald: cannot seal the cookie"))
                        .ok()
                });
                match line {
                    Some(line) => set_cookie(line),
                    // Unreachable with a valid configuration (the plan fits the value in
                    // `max_cookie_size` <= MAX_VALUE_LEN); report rather than drop.
                    None => {
                        unstored = Some(self.unstored(messages, UnstoredReason::CookieFull));
                    }
                }
            }
        }
        if !plan.unstored.is_empty() {
            unstored = Some(self.unstored(plan.unstored, UnstoredReason::CookieFull));
        }
        let session = match plan.session {
            SessionAction::Keep => SessionWrite::Keep,
            SessionAction::Remove => SessionWrite::Remove,
            SessionAction::Set { messages } => {
                let mut bytes = vec![0u8; self.inbox.session_len(messages.clone(), now)];
                match self.inbox.encode_session(messages.clone(), now, &mut bytes) {
                    Ok(n) => {
                        bytes.truncate(n);
                        SessionWrite::Set {
                            value: SessionValue::Bytes(bytes),
                            messages,
                        }
                    }
                    Err(_) => {
                        unstored = Some(self.unstored(messages, UnstoredReason::CookieFull));
                        SessionWrite::Keep
                    }
                }
            }
        };
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
        mut set_cookie: impl FnMut(Vec<u8>),
    ) -> (SessionWrite, Option<Unstored>) {
        use crate::django::storage::{self, DjangoCookie};
        let config = self.config.clone();
        let inner = &config.inner;
        let planned = storage::plan(&mut self.inbox, codec, inner.max_cookie_size, now);
        let plan = planned.plan;
        match &planned.cookie {
            DjangoCookie::Keep => {}
            DjangoCookie::Delete => set_cookie(storage::delete_cookie_line(inner).into_bytes()),
            DjangoCookie::Set(value) => {
                set_cookie(storage::set_cookie_line(inner, value).into_bytes());
            }
        }
        let unstored = (!plan.unstored.is_empty())
            .then(|| self.unstored(plan.unstored, UnstoredReason::CookieFull));
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
        (session, unstored)
    }

    /// Collects the messages in `range` as unstored, and logs them.
    pub(crate) fn unstored(&self, range: Range<usize>, reason: UnstoredReason) -> Unstored {
        let tags = self.config.tags();
        let messages: Vec<OwnedMessage> = self
            .inbox
            .messages(range)
            .iter()
            .map(|m| OwnedMessage::new(m, &tags))
            .collect();
        for m in &messages {
            tracing::warn!(level = m.level.0, text = %m.message, reason = %reason, "herald: message could not be stored");
        }
        Unstored { messages, reason }
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

/// Performs the session write decided by [`RequestState::finish`]: returns the session's
/// own `Set-Cookie` value (if it issued one) and the messages that were not stored.
pub(crate) async fn write_session<S: SessionBackend, const B: usize, const M: usize>(
    handle: &Handle<B, M>,
    session: Result<&S, &SessionError>,
    write: SessionWrite,
    mut unstored: Option<Unstored>,
) -> (Option<String>, Option<Unstored>) {
    let key = lock(handle).config.clone();
    let key = &key.inner.session_key;
    let (result, lost) = match (session, write) {
        (_, SessionWrite::Keep) => return (None, unstored),
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
        Ok(()) => (session.ok().and_then(S::response_cookie), unstored),
        Err(e) => {
            match lost {
                Some(range) => {
                    let mut report = lock(handle).unstored(range, UnstoredReason::Session(e));
                    if let Some(previous) = unstored.take() {
                        report.messages.splice(0..0, previous.messages);
                    }
                    unstored = Some(report);
                }
                None => {
                    tracing::error!(error = %e, "herald: could not remove the read messages from the session; they may be shown again");
                }
            }
            (None, unstored)
        }
    }
}
