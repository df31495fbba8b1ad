//! The per-user stores over real HTTP: one routed suite run against the in-process store
//! (`MemoryUserStore`) and against Redis (`RedisUserStore` over a real `redis-server`
//! started on a free loopback port), as tower-sessions runs one suite against every
//! store. Two app instances, several cookie jars, background adds through the `Outbox`,
//! anonymous visitors on the cookie, login carry-over, concurrent readers, keep and
//! put-back order, TTL, the per-user bound; and, on Redis, a stopped server (typed error,
//! a fast 503, nothing reported delivered that was not) and the recovery. The actix-web
//! middleware is exercised over Redis too.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Query;
use axum::response::{IntoResponse, Json, Redirect};
use axum::routing::{get, post as post_route};
use axum::{Router, middleware};
use common::redis::RedisServer;
use common::{Server, axum_report, client, config, get_json, serve_axum, set_cookies, texts};
use herald_flash::redis::RedisOptions;
use herald_flash::storage::StorageError;
use herald_flash::tower::MessagesLayer;
use herald_flash::user_store::{
    MemoryUserStore, Outbox, OutboxError, RedisUserStore, UserId, UserStore, UserStoreOptions,
};
use herald_flash::{Added, Config, Messages};
use serde::Deserialize;

/// The user a request is signed in as: the `user` cookie (the app's own auth, here).
fn user_of(cookie_headers: impl Iterator<Item = String>) -> Option<UserId> {
    cookie_headers
        .flat_map(|h| {
            h.split(';')
                .map(|p| p.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .find_map(|p| p.strip_prefix("user=").map(str::to_owned))
        .and_then(|u| UserId::new(u).ok())
}

#[derive(Deserialize)]
struct Text {
    text: String,
}

#[derive(Deserialize)]
struct User {
    user: String,
}

/// A one-shot hook a handler runs between its add and the response (the Redis outage test
/// stops Redis there; the order test adds a background message there).
type Hook = Arc<Mutex<Option<Box<dyn FnOnce() -> BoxFuture + Send>>>>;
type BoxFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// The app: `/show` reads, `/keep` reads and keeps, `/plain` does not touch the messages,
/// `/add?text=` adds and redirects, `/login?user=` signs in (adding a welcome message
/// first), `/logout` signs out, `/add-hook?text=` adds then runs the hook.
fn app<U: UserStore>(config: Config, store: U, hook: Hook) -> Router {
    async fn show(m: Messages) -> Json<serde_json::Value> {
        Json(common::show(&m))
    }
    async fn keep(m: Messages) -> Json<serde_json::Value> {
        let v = common::show(&m);
        m.keep();
        Json(v)
    }
    async fn plain() -> &'static str {
        "plain"
    }
    async fn add(m: Messages, Query(t): Query<Text>) -> Redirect {
        m.success(t.text);
        Redirect::to("/show")
    }
    async fn login(m: Messages, Query(u): Query<User>) -> impl IntoResponse {
        m.success(format!("Welcome back, {}", u.user));
        (
            [("set-cookie", format!("user={}; Path=/", u.user))],
            Redirect::to("/show"),
        )
    }
    async fn logout() -> impl IntoResponse {
        (
            [("set-cookie", "user=; Path=/; Max-Age=0")],
            Redirect::to("/show"),
        )
    }
    let routes = Router::new()
        .route("/show", get(show))
        .route("/keep", get(keep))
        .route("/plain", get(plain))
        .route("/add", post_route(add))
        .route("/login", post_route(login))
        .route("/logout", post_route(logout))
        .route(
            "/add-hook",
            post_route(move |m: Messages, Query(t): Query<Text>| async move {
                m.success(t.text);
                let f = hook.lock().unwrap().take();
                if let Some(f) = f {
                    f().await;
                }
                Redirect::to("/show")
            }),
        );
    routes
        .layer(
            MessagesLayer::cookie(config).with_message_storage(store, |headers, _| {
                user_of(
                    headers
                        .get_all("cookie")
                        .iter()
                        .filter_map(|v| v.to_str().ok().map(str::to_owned)),
                )
            }),
        )
        .layer(middleware::from_fn(axum_report))
}

/// The store under test, made fresh for each case.
trait Backend: Send + Sync {
    type Store: UserStore;
    /// Three handles on one fresh store: two app instances and an outbox.
    async fn stores(&self, options: UserStoreOptions) -> [Self::Store; 3];
    /// Lets `by` pass on the store's clock.
    async fn advance(&self, by: Duration);
    fn name(&self) -> &'static str;
}

/// The in-process store, on a clock the test drives; both "instances" share it (one
/// process).
struct Memory {
    now_ms: Arc<AtomicU64>,
}

impl Memory {
    fn new() -> Self {
        Memory {
            now_ms: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Backend for Memory {
    type Store = MemoryUserStore;
    async fn stores(&self, options: UserStoreOptions) -> [MemoryUserStore; 3] {
        let now = self.now_ms.clone();
        let store = MemoryUserStore::with_clock(options, move || {
            Duration::from_millis(now.load(Ordering::SeqCst))
        });
        [store.clone(), store.clone(), store]
    }
    async fn advance(&self, by: Duration) {
        self.now_ms
            .fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
    fn name(&self) -> &'static str {
        "memory"
    }
}

/// Redis: every store is its own connection (its own app instance) to the one server.
struct Redis {
    server: RedisServer,
}

impl Backend for Redis {
    type Store = RedisUserStore;
    async fn stores(&self, options: UserStoreOptions) -> [RedisUserStore; 3] {
        let url = self.server.url();
        let redis = RedisOptions::default();
        let mut out = Vec::new();
        for _ in 0..3 {
            let store = RedisUserStore::connect(&url, &redis, options.clone());
            out.push(store.await.expect("connect to redis"));
        }
        out.try_into().expect("three")
    }
    async fn advance(&self, by: Duration) {
        // Redis expires keys on its own clock.
        tokio::time::sleep(by).await;
    }
    fn name(&self) -> &'static str {
        "redis"
    }
}

fn cfg() -> Config {
    config().build().unwrap()
}

/// Two app instances over two stores (shared for memory, two connections for Redis).
async fn instances<B: Backend>(
    b: &B,
    options: UserStoreOptions,
) -> (Server, Server, Outbox<B::Store>) {
    let (one, two, outbox, _) = instances_with_hook(b, options).await;
    (one, two, outbox)
}

/// [`instances`], with the hook of instance one's `/add-hook`.
async fn instances_with_hook<B: Backend>(
    b: &B,
    options: UserStoreOptions,
) -> (Server, Server, Outbox<B::Store>, Hook) {
    let [s1, s2, s3] = b.stores(options).await;
    let outbox = Outbox::new(cfg(), s3);
    let hook: Hook = Arc::new(Mutex::new(None));
    (
        serve_axum(app(cfg(), s1, hook.clone())).await,
        serve_axum(app(cfg(), s2, Arc::new(Mutex::new(None)))).await,
        outbox,
        hook,
    )
}

/// A client (own cookie jar) signed in as `user`.
async fn signed_in(server: &Server, user: &str) -> reqwest::Client {
    let (c, jar) = client();
    let url = server.url("/").parse().unwrap();
    jar.add_cookie_str(&format!("user={user}; Path=/"), &url);
    c
}

async fn shown(c: &reqwest::Client, s: &Server) -> Vec<String> {
    texts(&get_json(c, s, "/show").await)
}

async fn post(c: &reqwest::Client, s: &Server, path: &str) -> reqwest::Response {
    c.post(s.url(path)).send().await.expect("POST")
}

fn user(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

// ---------------------------------------------------------------------------------------
// The suite: each case takes the backend.

async fn shown_once_across_instances_and_devices<B: Backend>(b: &B) {
    let (one, two, _) = instances(b, UserStoreOptions::default()).await;
    let laptop = signed_in(&one, "ada").await;
    let phone = signed_in(&two, "ada").await;
    let res = post(&laptop, &one, "/add?text=Saved%20on%20the%20laptop").await;
    assert_eq!(res.status(), 303);
    assert!(
        set_cookies(&res, "messages").is_empty(),
        "{}: a signed-in user's message is not in the cookie",
        b.name()
    );
    assert_eq!(
        shown(&phone, &two).await,
        ["Saved on the laptop"],
        "{}",
        b.name()
    );
    assert!(
        shown(&laptop, &one).await.is_empty(),
        "{}: once in total",
        b.name()
    );
    assert!(shown(&phone, &two).await.is_empty());
    assert!(shown(&laptop, &two).await.is_empty());
}

async fn background_message_reaches_the_next_request<B: Backend>(b: &B) {
    let (one, two, outbox) = instances(b, UserStoreOptions::default()).await;
    // No request of this user is in flight.
    let sent = outbox
        .to_user(user("bo"))
        .success("Your export is ready")
        .await
        .expect("send");
    assert_eq!(sent.added, Added::Queued);
    assert!(sent.dropped.is_empty());
    let phone = signed_in(&two, "bo").await;
    let laptop = signed_in(&one, "bo").await;
    assert_eq!(
        shown(&phone, &two).await,
        ["Your export is ready"],
        "{}",
        b.name()
    );
    assert!(shown(&laptop, &one).await.is_empty(), "{}", b.name());
    assert!(shown(&phone, &two).await.is_empty());
    // The core decides for the outbox too: below the minimum level, or empty, is ignored.
    let sent = outbox.to_user(user("bo")).debug("noise").await.unwrap();
    assert_eq!(sent.added, Added::IgnoredBelowLevel);
    let sent = outbox.to_user(user("bo")).info("").await.unwrap();
    assert_eq!(sent.added, Added::IgnoredEmpty);
    assert!(shown(&laptop, &one).await.is_empty());
}

async fn anonymous_cookie_login_carry_over_and_isolation<B: Backend>(b: &B) {
    let (one, two, outbox) = instances(b, UserStoreOptions::default()).await;
    let (visitor, _) = client();
    // Anonymous: the message goes to the cookie.
    let res = post(&visitor, &one, "/add?text=Added%20anonymously").await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        set_cookies(&res, "messages").len(),
        1,
        "{}: in the cookie",
        b.name()
    );
    // Signing in: the login view adds a message (still anonymous: the cookie) ...
    let res = post(&visitor, &one, "/login?user=cy").await;
    assert_eq!(res.status(), 303);
    // ... and the next page, signed in, shows both, once, and deletes the cookie.
    let res = visitor.get(two.url("/show")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let deleted = set_cookies(&res, "messages");
    assert!(
        deleted.len() == 1 && deleted[0].contains("Max-Age=0"),
        "{}: the carried-over cookie is deleted: {deleted:?}",
        b.name()
    );
    let v: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        texts(&v),
        ["Added anonymously", "Welcome back, cy"],
        "{}",
        b.name()
    );
    assert!(shown(&visitor, &one).await.is_empty());

    // Carried over but not read: it moves into the user's entry and is shown later.
    let (other, _) = client();
    post(&other, &one, "/add?text=Before%20login").await;
    post(&other, &one, "/login?user=dee").await;
    let res = other.get(one.url("/plain")).send().await.unwrap();
    assert_eq!(
        set_cookies(&res, "messages").len(),
        1,
        "deleted: moved to the store"
    );
    let phone = signed_in(&two, "dee").await;
    assert_eq!(
        shown(&phone, &two).await,
        ["Before login", "Welcome back, dee"]
    );

    // A second user never sees the first user's messages.
    outbox
        .to_user(user("cy"))
        .info("For cy only")
        .await
        .unwrap();
    let eve = signed_in(&one, "eve").await;
    assert!(shown(&eve, &one).await.is_empty(), "{}", b.name());
    assert!(shown(&eve, &two).await.is_empty());
    // And an anonymous visitor neither (no blank key is shared).
    let (anon, _) = client();
    assert!(shown(&anon, &two).await.is_empty());
    assert_eq!(shown(&visitor, &two).await, ["For cy only"]);
    // Signed out again: the cookie serves the visitor.
    post(&visitor, &one, "/logout").await;
    outbox
        .to_user(user("cy"))
        .info("While signed out")
        .await
        .unwrap();
    assert!(shown(&visitor, &two).await.is_empty());
    let again = signed_in(&one, "cy").await;
    assert_eq!(shown(&again, &one).await, ["While signed out"]);
}

async fn concurrent_readers_show_each_message_once<B: Backend>(b: &B) {
    const READERS: usize = 12;
    const MESSAGES: usize = 40;
    let (one, two, outbox) = instances(b, UserStoreOptions::default()).await;
    let mut clients = Vec::new();
    for i in 0..READERS {
        clients.push(signed_in(if i % 2 == 0 { &one } else { &two }, "fay").await);
    }
    let outbox = Arc::new(outbox);
    // Background adds run while the readers read.
    let writer = {
        let outbox = outbox.clone();
        tokio::spawn(async move {
            for i in 0..MESSAGES {
                outbox
                    .to_user(user("fay"))
                    .info(format!("m{i:02}"))
                    .await
                    .expect("send");
                if i % 4 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let mut tasks = Vec::new();
    for (i, c) in clients.into_iter().enumerate() {
        let url = if i % 2 == 0 {
            one.url("/show")
        } else {
            two.url("/show")
        };
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..6 {
                let res = c.get(&url).send().await.expect("GET /show");
                assert_eq!(res.status(), 200);
                seen.extend(texts(&res.json().await.expect("json")));
            }
            seen
        }));
    }
    writer.await.unwrap();
    let mut seen: Vec<String> = Vec::new();
    for t in tasks {
        seen.extend(t.await.unwrap());
    }
    // Whatever no reader took yet is shown to the next.
    let last = signed_in(&one, "fay").await;
    seen.extend(shown(&last, &one).await);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in seen {
        *counts.entry(s).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> =
        (0..MESSAGES).map(|i| (format!("m{i:02}"), 1)).collect();
    assert_eq!(
        counts,
        expected,
        "{}: each message shown exactly once",
        b.name()
    );
}

async fn unread_and_kept_messages_are_put_back_in_order<B: Backend>(b: &B) {
    let (one, two, outbox) = instances(b, UserStoreOptions::default()).await;
    let to = outbox.to_user(user("gus"));
    to.info("first").await.unwrap();
    to.info("second").await.unwrap();
    let c = signed_in(&one, "gus").await;
    // A page that does not touch the messages puts them back as they were.
    let res = c.get(one.url("/plain")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // A page that reads and keeps them: shown, and still stored, in order.
    assert_eq!(
        texts(&get_json(&c, &two, "/keep").await),
        ["first", "second"]
    );
    // Added meanwhile by a background job: after the ones put back.
    to.info("third").await.unwrap();
    // A request that adds without reading: its message after what was stored.
    post(&c, &two, "/add?text=fourth").await;
    assert_eq!(
        shown(&c, &one).await,
        ["first", "second", "third", "fourth"],
        "{}",
        b.name()
    );
    assert!(shown(&c, &two).await.is_empty());
}

async fn a_background_add_during_a_request_keeps_its_place<B: Backend>(b: &B)
where
    B::Store: Clone,
{
    let (one, two, outbox, hook) = instances_with_hook(b, UserStoreOptions::default()).await;
    let outbox = Arc::new(outbox);
    outbox
        .to_user(user("ned"))
        .info("held by the request")
        .await
        .unwrap();
    let c = signed_in(&one, "ned").await;
    let phone = signed_in(&two, "ned").await;
    {
        let outbox = outbox.clone();
        *hook.lock().unwrap() = Some(Box::new(move || {
            Box::pin(async move {
                // While the request holds ned's messages: a background add ...
                outbox
                    .to_user(user("ned"))
                    .info("added meanwhile")
                    .await
                    .unwrap();
            }) as BoxFuture
        }));
    }
    // (... which another device sees at once: the held message is not shown twice.)
    let res = post(&c, &one, "/add-hook?text=added%20by%20the%20request").await;
    assert_eq!(res.status(), 303);
    // The request's messages are put back in front of the background one.
    assert_eq!(
        shown(&phone, &two).await,
        [
            "held by the request",
            "added by the request",
            "added meanwhile"
        ],
        "{}",
        b.name()
    );
    // A concurrent device during the hold sees only what was added meanwhile.
    outbox
        .to_user(user("ned"))
        .info("held again")
        .await
        .unwrap();
    {
        let url = two.url("/show");
        *hook.lock().unwrap() = Some(Box::new(move || {
            Box::pin(async move {
                let (c, jar) = client();
                jar.add_cookie_str("user=ned; Path=/", &url.parse().unwrap());
                let v: serde_json::Value = c.get(&url).send().await.unwrap().json().await.unwrap();
                assert!(texts(&v).is_empty(), "held: not shown to another device");
            }) as BoxFuture
        }));
    }
    post(&c, &one, "/add-hook?text=then").await;
    assert_eq!(shown(&phone, &two).await, ["held again", "then"]);
}

async fn ttl_expires_abandoned_messages<B: Backend>(b: &B) {
    let options = UserStoreOptions::default().ttl(Duration::from_millis(1000));
    let (one, _two, outbox) = instances(b, options).await;
    outbox.to_user(user("hal")).info("soon gone").await.unwrap();
    outbox.to_user(user("ida")).info("refreshed").await.unwrap();
    b.advance(Duration::from_millis(600)).await;
    // A write refreshes ida's entry.
    outbox.to_user(user("ida")).info("again").await.unwrap();
    b.advance(Duration::from_millis(600)).await;
    let c = signed_in(&one, "hal").await;
    assert!(shown(&c, &one).await.is_empty(), "{}: expired", b.name());
    let c = signed_in(&one, "ida").await;
    assert_eq!(
        shown(&c, &one).await,
        ["refreshed", "again"],
        "{}",
        b.name()
    );
    outbox.to_user(user("ida")).info("abandoned").await.unwrap();
    b.advance(Duration::from_millis(1500)).await;
    assert!(shown(&c, &one).await.is_empty(), "{}: expired", b.name());
}

async fn bound_drops_the_oldest_and_reports_them<B: Backend>(b: &B) {
    let options = UserStoreOptions::default().max_entries(3);
    let (one, _two, outbox) = instances(b, options).await;
    let to = outbox.to_user(user("jo"));
    for i in 1..=3 {
        assert!(to.info(format!("n{i}")).await.unwrap().dropped.is_empty());
    }
    let sent = to.info("n4").await.unwrap();
    let dropped: Vec<&str> = sent.dropped.iter().map(|m| m.message.as_str()).collect();
    assert_eq!(
        dropped,
        ["n1"],
        "{}: the oldest is dropped and reported",
        b.name()
    );
    // A request that adds without reading puts back four: the oldest is reported unstored.
    let c = signed_in(&one, "jo").await;
    let res = post(&c, &one, "/add?text=n5").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["x-herald-unstored"], "1", "{}", b.name());
    assert_eq!(res.headers()["x-herald-unstored-texts"], "n2");
    assert!(
        res.headers()["x-herald-unstored-reason"]
            .to_str()
            .unwrap()
            .contains("bound"),
    );
    assert_eq!(shown(&c, &one).await, ["n3", "n4", "n5"], "{}", b.name());
}

/// RULES through the per-user store: a message the outbox sends with an expiry is
/// shown by a page view before it and never after it, on either instance; what expired is
/// not put back. (The requests run on the system clock: the test waits out two seconds.)
async fn expiring_messages_are_shown_in_time_or_never<B: Backend>(b: &B) {
    let (one, two, outbox) = instances(b, UserStoreOptions::default()).await;
    let now = cfg().now();
    let to = outbox.to_user(user("kim"));
    let expiring = |text, secs| {
        herald_flash::Message::new(herald_flash::Level::INFO, text).with_expires_at(now + secs)
    };
    to.add_message(expiring("within ten minutes", 600))
        .await
        .unwrap();
    to.add_message(expiring("within two seconds", 2))
        .await
        .unwrap();
    let sent = to.add_message(expiring("already over", 0)).await.unwrap();
    assert_eq!(sent.added, Added::IgnoredExpired, "{}", b.name());
    let c = signed_in(&one, "kim").await;
    assert_eq!(
        shown(&c, &one).await,
        ["within ten minutes", "within two seconds"],
        "{}",
        b.name()
    );
    to.add_expiring(
        herald_flash::Level::INFO,
        "within two seconds, unread",
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    to.info("forever").await.unwrap();
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let c = signed_in(&two, "kim").await;
    assert_eq!(
        shown(&c, &two).await,
        ["forever"],
        "{}: never after",
        b.name()
    );
    assert!(
        shown(&c, &one).await.is_empty(),
        "{}: not put back",
        b.name()
    );
}

/// Runs the whole suite on `b`.
async fn suite<B: Backend>(b: &B)
where
    B::Store: Clone,
{
    let started = Instant::now();
    shown_once_across_instances_and_devices(b).await;
    background_message_reaches_the_next_request(b).await;
    anonymous_cookie_login_carry_over_and_isolation(b).await;
    concurrent_readers_show_each_message_once(b).await;
    unread_and_kept_messages_are_put_back_in_order(b).await;
    a_background_add_during_a_request_keeps_its_place(b).await;
    bound_drops_the_oldest_and_reports_them(b).await;
    ttl_expires_abandoned_messages(b).await;
    expiring_messages_are_shown_in_time_or_never(b).await;
    eprintln!("user_store suite on {}: {:?}", b.name(), started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suite_on_the_in_process_store() {
    // Each case its own store (users are distinct across cases anyway).
    suite(&Memory::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suite_on_redis() {
    let Some(server) = RedisServer::start_or_skip("suite_on_redis") else {
        return;
    };
    suite(&Redis { server }).await;
}

// ---------------------------------------------------------------------------------------
// Redis only: outage and recovery.

/// How fast a request must be answered while Redis is down (the client's default command
/// timeout is 500 ms; a request waits on at most its load or its store).
const BOUND: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_stopped_gives_a_fast_503_and_recovers() {
    let Some(redis) = RedisServer::start_or_skip("redis_stopped_gives_a_fast_503_and_recovers")
    else {
        return;
    };
    let redis = Arc::new(Mutex::new(redis));
    let url = redis.lock().unwrap().url();
    let store =
        RedisUserStore::connect(&url, &RedisOptions::default(), UserStoreOptions::default())
            .await
            .unwrap();
    let hook: Hook = Arc::new(Mutex::new(None));
    let one = serve_axum(app(cfg(), store.clone(), hook.clone())).await;
    let outbox = Outbox::new(cfg(), store.clone());
    let c = signed_in(&one, "kim").await;
    outbox
        .to_user(user("kim"))
        .info("stored before")
        .await
        .unwrap();

    // Redis stops while a request holds kim's messages (taken at its start): its put-back
    // fails, so the response is a 503 listing what it could not store, nothing claimed.
    {
        let redis = redis.clone();
        *hook.lock().unwrap() = Some(Box::new(move || {
            redis.lock().unwrap().kill();
            Box::pin(async {})
        }));
    }
    let started = Instant::now();
    let res = post(&c, &one, "/add-hook?text=added%20during%20the%20outage").await;
    let elapsed = started.elapsed();
    assert_eq!(res.status(), 503, "the handler's 303 is not sent");
    assert!(res.headers().get("location").is_none());
    assert!(elapsed < BOUND, "answered after {elapsed:?}");
    eprintln!("put-back failed mid-request: 503 after {elapsed:?}");
    assert_eq!(res.headers()["x-herald-unstored"], "2");
    assert_eq!(
        res.headers()["x-herald-unstored-texts"],
        "stored before|added during the outage"
    );
    assert!(
        res.headers()["x-herald-unstored-reason"]
            .to_str()
            .unwrap()
            .contains("message storage write failed")
    );

    // While it is down: every keyed request that needs its messages answers 503, fast.
    for path in ["/show", "/keep"] {
        let started = Instant::now();
        let res = c.get(one.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 503, "{path}");
        assert!(started.elapsed() < BOUND, "{path}: {:?}", started.elapsed());
        eprintln!(
            "GET {path} while Redis is down: 503 after {:?}",
            started.elapsed()
        );
    }
    let started = Instant::now();
    let res = post(&c, &one, "/add?text=refused").await;
    assert_eq!(res.status(), 503, "the add is refused, not claimed");
    assert!(started.elapsed() < BOUND);
    // The outbox gets a typed error, fast.
    let started = Instant::now();
    let err = outbox
        .to_user(user("kim"))
        .info("not sent")
        .await
        .unwrap_err();
    assert!(
        matches!(err, OutboxError::Storage(StorageError::Backend(_))),
        "{err:?}"
    );
    assert!(started.elapsed() < BOUND);
    eprintln!(
        "Outbox while Redis is down: {err} after {:?}",
        started.elapsed()
    );
    // Anonymous visitors are served by the cookie meanwhile.
    let (anon, _) = client();
    let res = post(&anon, &one, "/add?text=anonymous%20still%20works").await;
    assert_eq!(res.status(), 303);
    assert_eq!(shown(&anon, &one).await, ["anonymous still works"]);

    // Redis back (empty: persistence is off): the same client recovers by itself.
    redis.lock().unwrap().restart();
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(10);
    loop {
        let res = c.get(one.url("/show")).send().await.unwrap();
        if res.status() == 200 {
            eprintln!("recovered {:?} after the restart", restarted.elapsed());
            break;
        }
        assert!(Instant::now() < deadline, "no recovery: {}", res.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    outbox
        .to_user(user("kim"))
        .info("after the outage")
        .await
        .unwrap();
    assert_eq!(shown(&c, &one).await, ["after the outage"]);
    assert!(shown(&c, &one).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_keys_carry_the_prefix_and_the_ttl() {
    let Some(redis) = RedisServer::start_or_skip("redis_keys_carry_the_prefix_and_the_ttl") else {
        return;
    };
    let options = UserStoreOptions::default()
        .key_prefix("app1:msgs:")
        .ttl(Duration::from_secs(60));
    let store = RedisUserStore::connect(&redis.url(), &RedisOptions::default(), options)
        .await
        .unwrap();
    assert_eq!(store.key(&user("lu")), "app1:msgs:lu");
    Outbox::new(cfg(), store)
        .to_user(user("lu"))
        .info("x")
        .await
        .unwrap();
    let common::redis::Reply::Integer(ttl) = redis.call(&[b"PTTL", b"app1:msgs:lu"]) else {
        panic!("PTTL");
    };
    assert!((50_000..=60_000).contains(&ttl), "ttl {ttl}");
    let common::redis::Reply::Integer(len) = redis.call(&[b"LLEN", b"app1:msgs:lu"]) else {
        panic!("LLEN");
    };
    assert_eq!(len, 1);
}

// ---------------------------------------------------------------------------------------
// actix-web: the same storage through the middleware.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_middleware_serves_the_per_user_store() {
    use actix_web::{HttpRequest, HttpResponse, web};
    use herald_flash::actix::MessagesMiddleware;

    let Some(redis) = RedisServer::start_or_skip("actix_middleware_serves_the_per_user_store")
    else {
        return;
    };
    let store = RedisUserStore::connect(
        &redis.url(),
        &RedisOptions::default(),
        UserStoreOptions::default(),
    )
    .await
    .unwrap();
    let outbox = Outbox::new(cfg(), store.clone());
    async fn show(m: Messages) -> HttpResponse {
        HttpResponse::Ok().json(common::show(&m))
    }
    async fn login(m: Messages, q: web::Query<BTreeMap<String, String>>) -> HttpResponse {
        let u = q.get("user").cloned().unwrap_or_default();
        m.success(format!("Welcome back, {u}"));
        HttpResponse::SeeOther()
            .insert_header(("location", "/show"))
            .insert_header(("set-cookie", format!("user={u}; Path=/")))
            .finish()
    }
    let actix = common::serve_actix(move |cfg: &mut web::ServiceConfig| {
        let mw = MessagesMiddleware::cookie(common::config().build().unwrap())
            .with_message_storage(store.clone(), |req: &HttpRequest| {
                user_of(
                    req.headers()
                        .get_all("cookie")
                        .filter_map(|v| v.to_str().ok().map(str::to_owned)),
                )
            });
        cfg.service(
            web::scope("")
                .wrap(mw)
                .route("/show", web::get().to(show))
                .route("/login", web::post().to(login)),
        );
    });
    // The axum instance over the same Redis: a second app, another framework.
    let axum_store = RedisUserStore::connect(
        &redis.url(),
        &RedisOptions::default(),
        UserStoreOptions::default(),
    )
    .await
    .unwrap();
    let axum = serve_axum(app(cfg(), axum_store, Arc::new(Mutex::new(None)))).await;

    let (c, _) = client();
    let res = post(&c, &actix, "/login?user=max").await;
    assert_eq!(res.status(), 303);
    assert_eq!(shown(&c, &actix).await, ["Welcome back, max"]);
    outbox
        .to_user(user("max"))
        .success("From the job")
        .await
        .unwrap();
    let phone = signed_in(&axum, "max").await;
    assert_eq!(shown(&phone, &axum).await, ["From the job"]);
    assert!(shown(&c, &actix).await.is_empty());
    post(&phone, &axum, "/add?text=from%20axum").await;
    assert_eq!(shown(&c, &actix).await, ["from axum"]);
}
