//! [`MemorySessions`]: an in-process session store with its own session-id cookie, the
//! default session backend of the demo and the tests. Single process only; bounded in
//! time (an idle TTL) and in size (least recently used sessions are evicted).
//!
//! The sessions are kept in use order in a `BTreeMap` (use sequence → id) beside the
//! `HashMap` that holds them, so finding, touching, expiring and evicting a session are
//! each O(log n) for n sessions, and no request scans the whole store.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::{Future, ready};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use herald_core::cookie_header::{self, CookieAttributes};

use super::{SessionBackend, SessionError};
use crate::config::SameSite;
use crate::cookies;

type Id = [u8; 16];

/// The clock the idle TTL is measured with.
type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// How long an unused session lives unless the builder says otherwise: a day.
const DEFAULT_IDLE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The most sessions a store holds unless the builder says otherwise.
const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// At most this many expired sessions are removed by one access (besides the one it
/// looks at), so that no request pays for sweeping a large backlog at once.
const SWEEP_BATCH: usize = 16;

/// One session: its data and when it was last used.
struct Entry {
    data: HashMap<Box<str>, Vec<u8>>,
    last_used: Instant,
    /// Its key in [`Sessions::order`].
    seq: u64,
}

/// The sessions and their use order.
#[derive(Default)]
struct Sessions {
    map: HashMap<Id, Entry>,
    /// The sessions by last use (`seq` grows with every use): the first is the least
    /// recently used. Always holds exactly the ids of `map`.
    order: BTreeMap<u64, Id>,
    next_seq: u64,
}

impl Sessions {
    fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    fn remove(&mut self, id: &Id) {
        if let Some(entry) = self.map.remove(id) {
            self.order.remove(&entry.seq);
        }
    }

    /// Removes up to `limit` expired sessions, least recently used first. Stops at the
    /// first live one: the ones used after it are live too (unless the clock went back,
    /// in which case they are removed when they are looked at).
    fn sweep(&mut self, now: Instant, ttl: Duration, limit: usize) {
        for _ in 0..limit {
            let Some((&seq, &id)) = self.order.first_key_value() else {
                return;
            };
            if self.map.get(&id).is_some_and(|e| !expired(e, now, ttl)) {
                return;
            }
            self.order.remove(&seq);
            self.map.remove(&id);
        }
    }

    /// The live session `id`, marked used now; an expired one is removed first.
    fn touch(&mut self, id: &Id, now: Instant, ttl: Duration) -> Option<&mut Entry> {
        if expired(self.map.get(id)?, now, ttl) {
            self.remove(id);
            return None;
        }
        let seq = self.next_seq();
        let entry = self.map.get_mut(id)?;
        self.order.remove(&entry.seq);
        self.order.insert(seq, *id);
        entry.seq = seq;
        entry.last_used = now;
        Some(entry)
    }

    /// Adds the empty session `id`, evicting the least recently used sessions to stay
    /// within `max` (at least 1).
    fn insert(&mut self, id: Id, now: Instant, max: usize) -> &mut Entry {
        while self.map.len() >= max.max(1) {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.map.remove(&oldest);
        }
        let seq = self.next_seq();
        self.order.insert(seq, id);
        self.map.entry(id).or_insert(Entry {
            data: HashMap::new(),
            last_used: now,
            seq,
        })
    }
}

/// Whether `entry` was last used more than `ttl` before `now`.
fn expired(entry: &Entry, now: Instant, ttl: Duration) -> bool {
    now.saturating_duration_since(entry.last_used) > ttl
}

/// An in-memory session store shared by all requests of one process (cheap to clone).
///
/// Each browser gets a random 128-bit session id in its own cookie (default name
/// `herald_session`, `HttpOnly`, `SameSite=Lax`, `Path=/`), issued the first time
/// something is stored. Ids the store did not issue are never adopted (no session
/// fixation), nor are ids whose session expired or was evicted: storing into such a
/// session issues a new id. An entry is freed as soon as its messages are removed.
///
/// **Single process only.** The sessions live in this process's memory: they are lost on
/// restart and invisible to other processes, so several servers behind a load balancer
/// would each see a different store. Use a shared session system (for example a
/// Redis-backed one) there.
///
/// The store is bounded in time and in size:
///
/// * A session unused for longer than the idle TTL (default 24 hours) is gone: reads no
///   longer see it, and writes through its cookie start a new session with a new id.
///   Expired sessions are removed lazily: each access removes at most 16 of them, from
///   the least recently used end, so no request pays for a large backlog at once.
/// * When the store holds its maximum number of sessions (default 100 000), a new
///   session evicts the least recently used one, whose messages are lost. Writes never
///   fail for lack of room.
///
/// Each access costs O(log n) for n sessions; nothing scans the whole store.
#[derive(Clone)]
pub struct MemorySessions {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    sessions: Mutex<Sessions>,
    cookie_name: Box<str>,
    secure: bool,
    same_site: Option<SameSite>,
    domain: Option<Box<str>>,
    max_sessions: usize,
    idle_ttl: Duration,
    clock: Clock,
}

impl fmt::Debug for MemorySessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySessions")
            .field("cookie_name", &self.inner.cookie_name)
            .field("sessions", &self.lock().map.len())
            .field("max_sessions", &self.inner.max_sessions)
            .field("idle_ttl", &self.inner.idle_ttl)
            .finish_non_exhaustive()
    }
}

impl Default for MemorySessions {
    fn default() -> Self {
        Self::new()
    }
}

impl MemorySessions {
    /// A store with the defaults (cookie `herald_session`, at most 100 000 sessions, each
    /// expiring after 24 hours without use).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for the session cookie's attributes and the store's limits.
    pub fn builder() -> MemorySessionsBuilder {
        MemorySessionsBuilder {
            cookie_name: "herald_session".into(),
            secure: false,
            same_site: Some(SameSite::Lax),
            domain: None,
            max_sessions: DEFAULT_MAX_SESSIONS,
            idle_ttl: DEFAULT_IDLE_TTL,
            clock: Arc::new(Instant::now),
        }
    }

    /// The number of live sessions holding data. Removes the expired ones first, so this
    /// never counts a session a read would no longer see.
    pub fn len(&self) -> usize {
        let now = self.now();
        let mut sessions = self.lock();
        sessions.sweep(now, self.inner.idle_ttl, usize::MAX);
        sessions.map.len()
    }

    /// Whether no live session holds data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Sessions> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Instant {
        (self.inner.clock)()
    }

    /// The session of a request, found from its `Cookie` header values.
    pub fn session<'h>(&self, cookie_headers: impl IntoIterator<Item = &'h [u8]>) -> MemorySession {
        let id = cookies::find(cookie_headers, &self.inner.cookie_name).and_then(parse_id);
        MemorySession {
            store: self.clone(),
            state: Mutex::new(HandleState { id, issued: false }),
        }
    }
}

/// Builds a [`MemorySessions`] store.
#[derive(Clone)]
pub struct MemorySessionsBuilder {
    cookie_name: String,
    secure: bool,
    same_site: Option<SameSite>,
    domain: Option<String>,
    max_sessions: usize,
    idle_ttl: Duration,
    clock: Clock,
}

impl fmt::Debug for MemorySessionsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySessionsBuilder")
            .field("cookie_name", &self.cookie_name)
            .field("secure", &self.secure)
            .field("same_site", &self.same_site)
            .field("domain", &self.domain)
            .field("max_sessions", &self.max_sessions)
            .field("idle_ttl", &self.idle_ttl)
            .finish_non_exhaustive()
    }
}

impl MemorySessionsBuilder {
    /// The session-id cookie's name (default `herald_session`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }
    /// Whether the session-id cookie is `Secure` (default off).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }
    /// The session-id cookie's `SameSite` (default Lax).
    pub fn same_site(mut self, same_site: Option<SameSite>) -> Self {
        self.same_site = same_site;
        self
    }
    /// The session-id cookie's `Domain` (default none).
    pub fn domain(mut self, domain: Option<String>) -> Self {
        self.domain = domain;
        self
    }
    /// The most sessions the store holds (default 100 000; 0 counts as 1). Storing into a
    /// new session when the store is full evicts the least recently used session (whose
    /// messages are lost); writes never fail for lack of room.
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max;
        self
    }
    /// How long a session lives without being used (default 24 hours). Any read or write
    /// of a session counts as a use; a session idle for longer is gone.
    pub fn idle_ttl(mut self, ttl: Duration) -> Self {
        self.idle_ttl = ttl;
        self
    }
    /// The clock the idle TTL is measured with (default [`Instant::now`]). Tests pass a
    /// clock they move by hand instead of waiting.
    pub fn clock(mut self, clock: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }
    /// The store.
    pub fn build(self) -> MemorySessions {
        MemorySessions {
            inner: Arc::new(StoreInner {
                sessions: Mutex::new(Sessions::default()),
                cookie_name: self.cookie_name.into(),
                secure: self.secure,
                same_site: self.same_site,
                domain: self.domain.map(Into::into),
                max_sessions: self.max_sessions,
                idle_ttl: self.idle_ttl,
                clock: self.clock,
            }),
        }
    }
}

fn parse_id(text: &str) -> Option<Id> {
    let mut id = [0u8; 16];
    match URL_SAFE_NO_PAD.decode_slice(text, &mut id) {
        Ok(16) if text.len() == 22 => Some(id),
        _ => None,
    }
}

struct HandleState {
    id: Option<Id>,
    issued: bool,
}

/// One request's session in a [`MemorySessions`] store.
pub struct MemorySession {
    store: MemorySessions,
    state: Mutex<HandleState>,
}

impl fmt::Debug for MemorySession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySession").finish_non_exhaustive()
    }
}

impl MemorySession {
    fn state(&self) -> MutexGuard<'_, HandleState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The store's lock with the expired sessions at the old end swept, and the time.
    fn sessions(&self) -> (MutexGuard<'_, Sessions>, Instant) {
        let now = self.store.now();
        let mut sessions = self.store.lock();
        sessions.sweep(now, self.store.inner.idle_ttl, SWEEP_BATCH);
        (sessions, now)
    }

    fn get_now(&self, key: &str) -> Option<Vec<u8>> {
        let id = self.state().id?;
        let (mut sessions, now) = self.sessions();
        let ttl = self.store.inner.idle_ttl;
        sessions.touch(&id, now, ttl)?.data.get(key).cloned()
    }

    fn set_now(&self, key: &str, value: Vec<u8>) -> Result<(), SessionError> {
        let mut state = self.state();
        let (mut sessions, now) = self.sessions();
        let inner = &self.store.inner;
        let known = state
            .id
            .filter(|id| sessions.touch(id, now, inner.idle_ttl).is_some());
        let id = match known {
            Some(id) => id,
            None => {
                // A fresh id: never one the request brought, nor one in use.
                let mut id = [0u8; 16];
                loop {
                    getrandom::fill(&mut id).map_err(|e| SessionError::backend(RandomError(e)))?;
                    if !sessions.map.contains_key(&id) && state.id != Some(id) {
                        break;
                    }
                }
                sessions.insert(id, now, inner.max_sessions);
                state.id = Some(id);
                state.issued = true;
                id
            }
        };
        if let Some(entry) = sessions.map.get_mut(&id) {
            entry.data.insert(key.into(), value);
        }
        Ok(())
    }

    fn remove_now(&self, key: &str) {
        let Some(id) = self.state().id else {
            return;
        };
        let (mut sessions, now) = self.sessions();
        let Some(entry) = sessions.touch(&id, now, self.store.inner.idle_ttl) else {
            return;
        };
        entry.data.remove(key);
        if entry.data.is_empty() {
            sessions.remove(&id);
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
struct RandomError(getrandom::Error);

impl SessionBackend for MemorySession {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, SessionError>> + Send {
        ready(Ok(self.get_now(key)))
    }

    fn set(
        &self,
        key: &str,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), SessionError>> + Send {
        ready(self.set_now(key, value))
    }

    fn remove(&self, key: &str) -> impl Future<Output = Result<(), SessionError>> + Send {
        self.remove_now(key);
        ready(Ok(()))
    }

    fn response_cookie(&self) -> Option<String> {
        let state = self.state();
        if !state.issued {
            return None;
        }
        let id = URL_SAFE_NO_PAD.encode(state.id?);
        let inner = &self.store.inner;
        let attrs = CookieAttributes {
            path: "/",
            domain: inner.domain.as_deref(),
            secure: inner.secure,
            http_only: true,
            same_site: inner.same_site,
            max_age: None,
        };
        let mut buf = [0u8; 512];
        match cookie_header::write_set_cookie(&mut buf, &inner.cookie_name, &id, attrs) {
            Ok(line) => Some(line.to_owned()),
            Err(e) => {
                tracing::error!(error = ?e, "herald: cannot write the session cookie (check its name and domain)");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    fn block<T>(f: impl Future<Output = T>) -> T {
        // The memory backend's futures are always ready.
        let mut f = std::pin::pin!(f);
        let waker = std::task::Waker::noop();
        match f.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => unreachable!("memory futures are ready"),
        }
    }

    /// A clock moved by hand, in seconds.
    #[derive(Clone)]
    struct ManualClock {
        base: Instant,
        seconds: Arc<AtomicU64>,
    }

    impl ManualClock {
        fn new() -> Self {
            ManualClock {
                base: Instant::now(),
                seconds: Arc::new(AtomicU64::new(0)),
            }
        }
        fn advance(&self, seconds: u64) {
            self.seconds.fetch_add(seconds, Ordering::SeqCst);
        }
        fn builder(&self) -> MemorySessionsBuilder {
            let clock = self.clone();
            MemorySessions::builder().clock(move || {
                clock.base + Duration::from_secs(clock.seconds.load(Ordering::SeqCst))
            })
        }
    }

    /// The `name=value` part of a handle's `Set-Cookie` line: what the browser sends back.
    fn cookie_of(s: &MemorySession) -> String {
        let line = s.response_cookie().expect("an id was issued");
        line.split(';').next().unwrap().to_owned()
    }

    /// A new session holding `value` under `k`; returns its cookie.
    fn new_session(store: &MemorySessions, value: u8) -> String {
        let s = store.session([]);
        block(s.set("k", vec![value])).expect("writes never fail");
        cookie_of(&s)
    }

    fn read(store: &MemorySessions, cookie: &str) -> Option<Vec<u8>> {
        block(store.session([cookie.as_bytes()]).get("k")).unwrap()
    }

    /// The map and the use order hold the same sessions.
    fn assert_consistent(store: &MemorySessions) {
        let sessions = store.lock();
        assert_eq!(sessions.map.len(), sessions.order.len());
        for (seq, id) in &sessions.order {
            assert_eq!(sessions.map[id].seq, *seq);
        }
    }

    #[test]
    fn issues_an_id_on_first_store_and_finds_it_again() {
        let store = MemorySessions::new();
        let s = store.session([]);
        assert_eq!(block(s.get("k")).unwrap(), None);
        assert!(s.response_cookie().is_none());
        block(s.set("k", vec![1, 2, 3])).unwrap();
        let line = s.response_cookie().unwrap();
        assert!(line.starts_with("herald_session="), "{line}");
        assert!(
            line.contains("HttpOnly") && line.contains("SameSite=Lax") && line.contains("Path=/")
        );
        let value = line.split(';').next().unwrap();
        let again = store.session([value.as_bytes()]);
        assert_eq!(block(again.get("k")).unwrap(), Some(vec![1, 2, 3]));
        block(again.set("k", vec![4])).unwrap();
        assert!(
            again.response_cookie().is_none(),
            "a known id is reused, no new cookie"
        );
        block(again.remove("k")).unwrap();
        assert!(store.is_empty(), "an emptied session is freed");
        assert_consistent(&store);
    }

    #[test]
    fn unknown_ids_are_not_adopted() {
        let store = MemorySessions::builder().max_sessions(1).build();
        let forged = "herald_session=AAAAAAAAAAAAAAAAAAAAAA";
        let s = store.session([forged.as_bytes()]);
        assert_eq!(block(s.get("k")).unwrap(), None);
        block(s.set("k", vec![1])).unwrap();
        let line = s.response_cookie().unwrap();
        assert!(
            !line.contains("AAAAAAAAAAAAAAAAAAAAAA"),
            "a forged id is replaced"
        );
        assert_eq!(read(&store, forged), None, "the forged id holds nothing");
        assert_eq!(read(&store, &cookie_of(&s)), Some(vec![1]));
    }

    #[test]
    fn sessions_expire_after_the_idle_ttl() {
        let clock = ManualClock::new();
        let store = clock.builder().idle_ttl(Duration::from_secs(60)).build();
        let cookie = new_session(&store, 7);

        // Each use restarts the TTL: 59 + 59 seconds apart is fine.
        clock.advance(59);
        assert_eq!(read(&store, &cookie), Some(vec![7]));
        clock.advance(59);
        assert_eq!(read(&store, &cookie), Some(vec![7]));
        assert_eq!(store.len(), 1);

        // 61 idle seconds: gone, for reads and for the count.
        clock.advance(61);
        assert_eq!(read(&store, &cookie), None);
        assert_eq!(store.len(), 0);
        assert!(store.is_empty());
        assert_consistent(&store);

        // Removing from an expired session is a no-op, not an error.
        let s = store.session([cookie.as_bytes()]);
        block(s.remove("k")).unwrap();
        assert!(s.response_cookie().is_none());
    }

    #[test]
    fn expired_sessions_are_swept_by_other_requests() {
        let clock = ManualClock::new();
        let store = clock.builder().idle_ttl(Duration::from_secs(10)).build();
        for i in 0..100 {
            new_session(&store, i);
        }
        assert_eq!(store.lock().map.len(), 100);
        clock.advance(11);
        // Nobody reads the 100 stale sessions; each new request removes up to a batch.
        let fresh = new_session(&store, 200);
        assert_eq!(store.lock().map.len(), 100 - SWEEP_BATCH + 1);
        for _ in 0..(100 / SWEEP_BATCH) {
            read(&store, &fresh);
        }
        assert_eq!(store.lock().map.len(), 1, "only the fresh session is left");
        assert_eq!(read(&store, &fresh), Some(vec![200]));
        assert_consistent(&store);
    }

    #[test]
    fn at_the_cap_the_least_recently_used_session_is_evicted() {
        let store = MemorySessions::builder().max_sessions(3).build();
        let a = new_session(&store, 1);
        let b = new_session(&store, 2);
        let c = new_session(&store, 3);
        // Reading `a` makes `b` the least recently used.
        assert_eq!(read(&store, &a), Some(vec![1]));
        // A fourth session is stored (no error) and evicts `b`.
        let d = new_session(&store, 4);
        assert_eq!(store.len(), 3);
        assert_eq!(read(&store, &b), None, "the least recently used is evicted");
        assert_eq!(read(&store, &a), Some(vec![1]));
        assert_eq!(read(&store, &c), Some(vec![3]));
        assert_eq!(read(&store, &d), Some(vec![4]));
        // Writing to a known session at the cap evicts nothing.
        block(store.session([c.as_bytes()]).set("k", vec![30])).unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(read(&store, &a), Some(vec![1]));
        assert_eq!(read(&store, &c), Some(vec![30]));
        assert_consistent(&store);
    }

    #[test]
    fn expired_and_evicted_ids_are_not_adopted_again() {
        let clock = ManualClock::new();
        let store = clock
            .builder()
            .idle_ttl(Duration::from_secs(60))
            .max_sessions(1)
            .build();

        // Evicted: `a` makes room for `b`; writing with `a`'s cookie issues a new id.
        let a = new_session(&store, 1);
        let b = new_session(&store, 2);
        assert_eq!(read(&store, &a), None);
        let s = store.session([a.as_bytes()]);
        block(s.set("k", vec![3])).unwrap();
        let renewed = cookie_of(&s);
        assert_ne!(renewed, a, "an evicted id is not adopted");
        assert_ne!(renewed, b);
        assert_eq!(read(&store, &a), None);
        assert_eq!(read(&store, &renewed), Some(vec![3]));

        // Expired: the same.
        clock.advance(61);
        let s = store.session([renewed.as_bytes()]);
        assert_eq!(block(s.get("k")).unwrap(), None);
        block(s.set("k", vec![4])).unwrap();
        let again = cookie_of(&s);
        assert_ne!(again, renewed, "an expired id is not adopted");
        assert_eq!(read(&store, &renewed), None);
        assert_eq!(read(&store, &again), Some(vec![4]));
        assert_consistent(&store);
    }

    #[test]
    fn the_store_never_holds_more_than_its_cap() {
        let clock = ManualClock::new();
        let store = clock
            .builder()
            .idle_ttl(Duration::from_secs(5))
            .max_sessions(8)
            .build();
        let mut cookies = Vec::new();
        for i in 0..1000u32 {
            // Cookieless clients, returning ones, and time passing.
            cookies.push(new_session(&store, (i % 251) as u8));
            if i % 3 == 0 {
                let back = &cookies[(i as usize * 7) % cookies.len()];
                read(&store, back);
            }
            if i % 50 == 0 {
                clock.advance(3);
            }
            let held = store.lock().map.len();
            assert!(held <= 8, "{held} sessions after {i} requests");
        }
        assert!(store.len() <= 8);
        assert_consistent(&store);
        // A zero cap still stores one session.
        let tiny = MemorySessions::builder().max_sessions(0).build();
        let one = new_session(&tiny, 1);
        assert_eq!(read(&tiny, &one), Some(vec![1]));
        new_session(&tiny, 2);
        assert_eq!(tiny.len(), 1);
    }
}
