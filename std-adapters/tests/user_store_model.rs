//! The proptest model of the per-user store: random runs of several devices and several
//! identities — sign-ins and sign-outs, adds at three levels (DEBUG ignored by the core),
//! reads, filtered reads (ERROR only), keeps, messages for this request only, pages that
//! do not touch the messages, background adds through the `Outbox`, and time passing on a
//! test clock —
//! through the real tower layer (`MessagesLayer::cookie(..).with_message_storage(..)` over
//! a `MemoryUserStore`), each response's cookie carried by the device as a browser would.
//!
//! A plain model predicts every page exactly (what it shows, what it reports unstored,
//! what a background add drops); and over the whole run: every accepted message is shown
//! at most once and, unless it expired or was reported unstored, exactly once.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::http::{Request, StatusCode};
use axum::response::Json;
use axum::routing::get;
use herald_flash::tower::MessagesLayer;
use herald_flash::user_store::{MemoryUserStore, Outbox, UserId, UserStoreOptions};
use herald_flash::{Added, Config, Level, Messages, Unstored};
use proptest::prelude::*;
use serde::Deserialize;
use tower::ServiceExt as _;

const DEVICES: usize = 3;
const USERS: usize = 3;
const TTL_MS: u64 = 1_000;
const MAX_ENTRIES: usize = 4;

#[derive(Clone, Debug)]
enum Op {
    /// The device signs in as the user (its next requests carry the identity).
    SignIn(usize, usize),
    /// The device signs out.
    SignOut(usize),
    /// A page that adds one message at this level (DEBUG is ignored by the core).
    Add(usize, Lvl),
    /// A page that shows the messages.
    Read(usize),
    /// A page that shows the ERROR messages only (a filtered read: the others stay).
    ReadErrors(usize),
    /// A page that adds a message for this request only (`Messages::now`) and shows all.
    Now(usize),
    /// A page that shows the messages and keeps them.
    Keep(usize),
    /// A page that does not touch the messages.
    Plain(usize),
    /// A background job adds a message for the user (INFO or ERROR).
    Background(usize, bool),
    /// Time passes on the store's clock.
    Advance(u64),
}

/// A message level in the model; a text says its level: `i3` INFO, `e3` ERROR, `d3` DEBUG.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Lvl {
    Debug,
    Info,
    Error,
}

fn is_error(text: &str) -> bool {
    text.starts_with('e')
}

fn op() -> impl Strategy<Value = Op> {
    let d = 0..DEVICES;
    let u = 0..USERS;
    prop_oneof![
        1 => (d.clone(), u.clone()).prop_map(|(d, u)| Op::SignIn(d, u)),
        1 => d.clone().prop_map(Op::SignOut),
        3 => (d.clone(), prop_oneof![Just(Lvl::Debug), Just(Lvl::Info), Just(Lvl::Info), Just(Lvl::Error)])
            .prop_map(|(d, l)| Op::Add(d, l)),
        3 => d.clone().prop_map(Op::Read),
        1 => d.clone().prop_map(Op::ReadErrors),
        1 => d.clone().prop_map(Op::Now),
        1 => d.clone().prop_map(Op::Keep),
        1 => d.clone().prop_map(Op::Plain),
        3 => (u, any::<bool>()).prop_map(|(u, e)| Op::Background(u, e)),
        1 => prop_oneof![Just(300u64), Just(700), Just(1_200)].prop_map(Op::Advance),
    ]
}

/// The model of one user's entry in the store.
#[derive(Default, Debug)]
struct Entry {
    items: VecDeque<String>,
    expires: u64,
}

/// What the model knows.
#[derive(Default)]
struct Model {
    now: u64,
    entries: BTreeMap<usize, Entry>,
    /// Each device's messages cookie (the anonymous storage).
    cookies: [Vec<String>; DEVICES],
    identity: [Option<usize>; DEVICES],
    /// Messages that expired in an entry, and those reported unstored (dropped).
    expired: Vec<String>,
    unstored: Vec<String>,
}

impl Model {
    /// Takes user `u`'s entry, as a keyed request's load does.
    fn take(&mut self, u: usize) -> Vec<String> {
        match self.entries.remove(&u) {
            Some(e) if e.expires > self.now => e.items.into(),
            Some(e) => {
                self.expired.extend(e.items);
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// Pushes in front or at the back, bounded; returns the dropped (oldest).
    fn push(&mut self, u: usize, items: Vec<String>, front: bool) -> Vec<String> {
        if items.is_empty() {
            return Vec::new();
        }
        let now = self.now;
        let e = self.entries.entry(u).or_default();
        if e.expires <= now {
            self.expired.extend(e.items.drain(..));
        }
        if front {
            for i in items.into_iter().rev() {
                e.items.push_front(i);
            }
        } else {
            e.items.extend(items);
        }
        let excess = e.items.len().saturating_sub(MAX_ENTRIES);
        let dropped: Vec<String> = e.items.drain(..excess).collect();
        e.expires = now + TTL_MS;
        self.unstored.extend(dropped.iter().cloned());
        dropped
    }
}

#[derive(Deserialize)]
struct AddQuery {
    text: String,
}

fn app(config: Config, store: MemoryUserStore) -> Router {
    async fn show(m: Messages) -> Json<Vec<String>> {
        Json(m.iter().map(|m| m.message).collect())
    }
    async fn keep(m: Messages) -> Json<Vec<String>> {
        let v = m.iter().map(|m| m.message).collect();
        m.keep();
        Json(v)
    }
    async fn add(m: Messages, Query(q): Query<AddQuery>) -> Json<Vec<String>> {
        match &q.text[..1] {
            "d" => m.debug(q.text),
            "e" => m.error(q.text),
            _ => m.info(q.text),
        };
        Json(Vec::new())
    }
    async fn errors(m: Messages) -> Json<Vec<String>> {
        let read = m.read_levels(&[Level::ERROR]);
        Json(read.iter().map(|m| m.message().to_owned()).collect())
    }
    async fn now(m: Messages, Query(q): Query<AddQuery>) -> Json<Vec<String>> {
        m.now(Level::INFO, q.text);
        Json(m.iter().map(|m| m.message).collect())
    }
    async fn plain() -> Json<Vec<String>> {
        Json(Vec::new())
    }
    Router::new()
        .route("/show", get(show))
        .route("/keep", get(keep))
        .route("/add", get(add))
        .route("/errors", get(errors))
        .route("/now", get(now))
        .route("/plain", get(plain))
        .layer(
            MessagesLayer::cookie(config).with_message_storage(store, |headers, _| {
                let user = headers.get("x-user")?.to_str().ok()?;
                UserId::new(user).ok()
            }),
        )
}

/// A device's browser state: its messages cookie and who it is signed in as.
#[derive(Default, Clone)]
struct Device {
    cookie: Option<String>,
    user: Option<usize>,
}

/// One page view: the texts shown, the texts reported unstored.
async fn page(router: &Router, device: &mut Device, path: &str) -> (Vec<String>, Vec<String>) {
    let mut req = Request::get(path);
    if let Some(c) = &device.cookie {
        req = req.header("cookie", format!("messages={c}"));
    }
    if let Some(u) = device.user {
        req = req.header("x-user", format!("user{u}"));
    }
    let res = router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    for line in res.headers().get_all("set-cookie") {
        let line = line.to_str().unwrap();
        if let Some(rest) = line.strip_prefix("messages=") {
            let value = rest.split(';').next().unwrap();
            device.cookie =
                (!line.contains("Max-Age=0") && !value.is_empty()).then(|| value.into());
        }
    }
    let unstored: Vec<String> = res
        .extensions()
        .get::<Unstored>()
        .map(|u| u.texts().map(str::to_owned).collect())
        .unwrap_or_default();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (serde_json::from_slice(&body).unwrap(), unstored)
}

/// Runs `ops` against the real stack and the model; returns a description of the first
/// disagreement.
async fn run(ops: Vec<Op>) -> Result<(), String> {
    let now = Arc::new(AtomicU64::new(0));
    let clock = now.clone();
    let store = MemoryUserStore::with_clock(
        UserStoreOptions::default()
            .ttl(Duration::from_millis(TTL_MS))
            .max_entries(MAX_ENTRIES),
        move || Duration::from_millis(clock.load(Ordering::SeqCst)),
    );
    let config = Config::builder().secret([7u8; 32]).build().unwrap();
    let router = app(config.clone(), store.clone());
    let outbox = Outbox::new(config, store);
    let mut devices: [Device; DEVICES] = Default::default();
    let mut model = Model::default();
    let mut accepted: Vec<String> = Vec::new();
    let mut shown: BTreeMap<String, usize> = BTreeMap::new();
    let mut next = 0usize;
    let mut fresh = |prefix: char| {
        next += 1;
        format!("{prefix}{next}")
    };

    // One page view on device `d` in the model: returns the expected texts shown and
    // unstored. `action` is what the handler does with the inbox.
    #[derive(Clone, Copy, PartialEq)]
    enum Action {
        Read,
        ReadErrors,
        Keep,
        Plain,
        Add,
        /// A message for this request only, then a read of everything.
        Now,
    }
    fn expect(
        model: &mut Model,
        d: usize,
        action: Action,
        added: Option<String>,
    ) -> (Vec<String>, Vec<String>) {
        match model.identity[d] {
            None => {
                // The cookie (anonymous storage).
                let cookie = &mut model.cookies[d];
                let shown = match action {
                    Action::Read => std::mem::take(cookie),
                    Action::Now => {
                        let mut all = std::mem::take(cookie);
                        all.extend(added);
                        return (all, Vec::new());
                    }
                    Action::ReadErrors => {
                        let (errors, rest) = cookie.drain(..).partition(|t| is_error(t));
                        *cookie = rest;
                        errors
                    }
                    Action::Keep => cookie.clone(),
                    Action::Plain | Action::Add => Vec::new(),
                };
                cookie.extend(added);
                (shown, Vec::new())
            }
            Some(u) => {
                let mut inbox = model.take(u);
                inbox.append(&mut model.cookies[d]);
                let (shown, mut rest) = match action {
                    Action::Read => (inbox, Vec::new()),
                    Action::Now => {
                        inbox.extend(added);
                        let dropped = model.push(u, Vec::new(), true);
                        return (inbox, dropped);
                    }
                    Action::ReadErrors => inbox.into_iter().partition(|t| is_error(t)),
                    Action::Keep => (inbox.clone(), inbox),
                    Action::Plain | Action::Add => (Vec::new(), inbox),
                };
                rest.extend(added);
                let dropped = model.push(u, rest, true);
                (shown, dropped)
            }
        }
    }

    let mut ops = ops;
    // The final drain: every device reads as it is, then every user on a clean device.
    for d in 0..DEVICES {
        ops.push(Op::Read(d));
    }
    for u in 0..USERS {
        ops.push(Op::SignIn(0, u));
        ops.push(Op::Read(0));
    }
    for (i, op) in ops.into_iter().enumerate() {
        let (got, want, what) = match op.clone() {
            Op::SignIn(d, u) => {
                devices[d].user = Some(u);
                model.identity[d] = Some(u);
                continue;
            }
            Op::SignOut(d) => {
                devices[d].user = None;
                model.identity[d] = None;
                continue;
            }
            Op::Advance(ms) => {
                now.fetch_add(ms, Ordering::SeqCst);
                model.now += ms;
                continue;
            }
            Op::Background(u, error) => {
                let text = fresh(if error { 'e' } else { 'i' });
                let to = outbox.to_user(UserId::new(format!("user{u}")).unwrap());
                let sent = if error {
                    to.error(&text).await
                } else {
                    to.info(&text).await
                };
                let sent = sent.map_err(|e| format!("outbox: {e}"))?;
                if sent.added != Added::Queued {
                    return Err(format!("background add not queued: {:?}", sent.added));
                }
                accepted.push(text.clone());
                let got: Vec<String> = sent.dropped.iter().map(|m| m.message.clone()).collect();
                let want = model.push(u, vec![text], false);
                ((Vec::new(), got), (Vec::new(), want), "background")
            }
            Op::Add(d, level) => {
                let debug = level == Lvl::Debug;
                let text = fresh(match level {
                    Lvl::Debug => 'd',
                    Lvl::Info => 'i',
                    Lvl::Error => 'e',
                });
                let got = page(&router, &mut devices[d], &format!("/add?text={text}")).await;
                let added = (!debug).then(|| text.clone());
                if !debug {
                    accepted.push(text);
                }
                (got, expect(&mut model, d, Action::Add, added), "add")
            }
            Op::Now(d) => {
                let text = fresh('i');
                let got = page(&router, &mut devices[d], &format!("/now?text={text}")).await;
                accepted.push(text.clone());
                (got, expect(&mut model, d, Action::Now, Some(text)), "now")
            }
            Op::ReadErrors(d) => (
                page(&router, &mut devices[d], "/errors").await,
                expect(&mut model, d, Action::ReadErrors, None),
                "errors",
            ),
            Op::Read(d) => (
                page(&router, &mut devices[d], "/show").await,
                expect(&mut model, d, Action::Read, None),
                "read",
            ),
            Op::Keep(d) => (
                page(&router, &mut devices[d], "/keep").await,
                expect(&mut model, d, Action::Keep, None),
                "keep",
            ),
            Op::Plain(d) => (
                page(&router, &mut devices[d], "/plain").await,
                expect(&mut model, d, Action::Plain, None),
                "plain",
            ),
        };
        if got != want {
            return Err(format!(
                "step {i} ({op:?}, {what}): got shown/unstored {got:?}, the model expects {want:?}"
            ));
        }
        if !matches!(op, Op::Keep(_)) {
            for t in got.0 {
                *shown.entry(t).or_default() += 1;
            }
        } else {
            // Kept messages are shown again later: count a keep's showing only once, at
            // the final read.
        }
    }
    // Every accepted message: shown at most once; exactly once unless it expired or was
    // reported unstored.
    for text in &accepted {
        let n = shown.get(text).copied().unwrap_or(0);
        let gone = model.expired.contains(text) || model.unstored.contains(text);
        if n > 1 {
            return Err(format!("{text} shown {n} times"));
        }
        if n == 0 && !gone {
            return Err(format!(
                "{text} never shown, neither expired nor reported unstored"
            ));
        }
        if n == 1 && gone {
            return Err(format!(
                "{text} shown although reported expired or unstored"
            ));
        }
    }
    if shown.keys().any(|t| !accepted.contains(t)) {
        return Err("a message nobody added was shown".into());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_message_is_shown_at_most_once_and_exactly_once_unless_expired_or_unstored(
        ops in proptest::collection::vec(op(), 1..40)
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let result = rt.block_on(run(ops));
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}
