//! The demo's own `app()` with `--redis` (herald_flash::redis::connect, default options) on
//! two instances sharing a real `redis-server` on a free loopback port, through a kill and
//! a restart: with Redis down, a request that needs the session answers 503 within the
//! bound and one that does not is unaffected; after the restart, service comes back within
//! a few seconds without restarting the demos. Also: the demo starts while Redis is down,
//! and the helper's own errors.
#![cfg(feature = "tower-sessions-redis")]

#[path = "../examples/demo.rs"]
#[allow(dead_code)]
mod demo;

mod common;

use std::time::{Duration, Instant};

use common::redis::RedisServer;
use common::{Server, serve_axum, set_cookies};
use herald_flash::Storage;
use herald_flash::redis::{self, ConnectError, Reconnect, RedisOptions};
use serde_json::Value;

const SECRET: &[u8] = b"the redis demo test secret, 32 bytes or more";

/// With the default options a request that needs the session answers within 1 s (two
/// commands of 500 ms at most); the test allows scheduling slack.
const BOUND: Duration = Duration::from_millis(1500);

/// How long the demos may take to serve session requests again after Redis is back
/// (the default reconnect delay is at most 1 s).
const RECOVERY: Duration = Duration::from_secs(5);

/// A visitor: a cookie jar, no redirects followed, and a 5 s timeout, so that a hang (the
/// issue: no answer at all while Redis was down) fails the test quickly and by name.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

async fn demo(url: &str) -> Server {
    let app = demo::app(SECRET.to_vec(), Storage::Fallback, Some(url))
        .await
        .expect("the demo app builds");
    serve_axum(app).await
}

/// `n` messages of 300 characters, tagged so each batch is recognisable: 12 overflow the
/// 2048-byte cookie into the session, as in the issue.
fn batch(tag: &str, n: u32) -> (Vec<(&'static str, String)>, Vec<String>) {
    let text = format!("{tag} {}", "x".repeat(300 - tag.len() - 1));
    let form = vec![
        ("text", text.clone()),
        ("level", "25".to_owned()),
        ("repeat", n.to_string()),
    ];
    let expected = if n == 1 {
        vec![text]
    } else {
        (1..=n).map(|i| format!("{text} (#{i})")).collect()
    };
    (form, expected)
}

async fn post(
    c: &reqwest::Client,
    server: &Server,
    form: &[(&str, String)],
) -> (reqwest::Response, Duration) {
    let t = Instant::now();
    let res = c
        .post(server.url("/add"))
        .form(form)
        .send()
        .await
        .expect("POST /add answers within 5 s");
    (res, t.elapsed())
}

async fn get(c: &reqwest::Client, server: &Server, path: &str) -> (reqwest::Response, Duration) {
    let t = Instant::now();
    let res = c
        .get(server.url(path))
        .send()
        .await
        .expect("GET answers within 5 s");
    (res, t.elapsed())
}

fn texts(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("a JSON array")
        .iter()
        .map(|m| m["message"].as_str().expect("message").to_owned())
        .collect()
}

/// `GET /api/messages` (consumes the messages) and checks the 200.
async fn api(c: &reqwest::Client, server: &Server) -> Vec<String> {
    let (res, _) = get(c, server, "/api/messages").await;
    assert_eq!(res.status(), 200, "GET /api/messages");
    texts(&res.json().await.unwrap())
}

/// Polls `GET /api/messages` until it answers 200 (every 50 ms, at most [`RECOVERY`]);
/// returns the messages and how long it took.
async fn api_until_ok(c: &reqwest::Client, server: &Server) -> (Vec<String>, Duration) {
    let start = Instant::now();
    loop {
        let (res, elapsed) = get(c, server, "/api/messages").await;
        assert!(elapsed < BOUND, "a poll took {elapsed:?}");
        if res.status() == 200 {
            return (texts(&res.json().await.unwrap()), start.elapsed());
        }
        assert_eq!(res.status(), 503, "only 503 while Redis is coming back");
        assert!(
            start.elapsed() < RECOVERY,
            "{} did not recover within {RECOVERY:?} after Redis restarted",
            server.base
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts a 503 with the generic body within [`BOUND`], the messages cookie untouched.
async fn assert_unavailable(res: reqwest::Response, elapsed: Duration, what: &str) {
    assert_eq!(res.status(), 503, "{what}");
    assert!(elapsed < BOUND, "{what}: answered after {elapsed:?}");
    assert!(
        set_cookies(&res, "messages").is_empty(),
        "{what}: the cookie is not touched"
    );
    assert_eq!(res.text().await.unwrap(), "Service Unavailable", "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_over_redis_survives_a_kill_and_a_restart() {
    let Some(mut redis) =
        RedisServer::start_or_skip("the_demo_over_redis_survives_a_kill_and_a_restart")
    else {
        return;
    };
    let url = redis.url();
    let a = demo(&url).await;
    let b = demo(&url).await;
    let c = client();

    // Before: 12 messages of 300 characters added on A overflow into Redis and are shown
    // once, in order, on B.
    let (form, first) = batch("before", 12);
    let (res, _) = post(&c, &a, &form).await;
    assert_eq!(res.status(), 303);
    assert!(
        !set_cookies(&res, "id").is_empty(),
        "the overflow is in the session"
    );
    assert!(redis.dbsize() >= 1, "the session is in Redis");
    assert_eq!(api(&c, &b).await, first);
    assert!(api(&c, &a).await.is_empty(), "shown once");

    // An overflow is stored, then Redis is killed before it is read.
    let (form, pending) = batch("pending", 12);
    let (res, _) = post(&c, &a, &form).await;
    assert_eq!(res.status(), 303);
    redis.kill();

    // Requests that need the session: 503 within the bound, on both demos, repeatedly
    // (the pre-fix demo did not answer at all).
    for round in 0..3 {
        for server in [&a, &b] {
            let (res, elapsed) = get(&c, server, "/api/messages").await;
            assert_unavailable(res, elapsed, &format!("GET {} round {round}", server.base)).await;
        }
    }
    // The page needs it too; so does a POST from a visitor whose cookie says the session
    // holds more (the unread overflow).
    let (res, elapsed) = get(&c, &b, "/").await;
    assert_unavailable(res, elapsed, "GET / with an unread overflow").await;
    let (form, _) = batch("refused", 1);
    let (res, elapsed) = post(&c, &a, &form).await;
    assert_unavailable(res, elapsed, "POST with an unread overflow").await;

    // A new visitor's overflow cannot be saved: tower-sessions answers 500 (its own
    // response, without herald's cookie), as fast; nothing is reported delivered.
    let fresh = client();
    let (form, _) = batch("unsaved", 12);
    let (res, elapsed) = post(&fresh, &a, &form).await;
    assert_eq!(res.status(), 500, "a failed session save is not a success");
    assert!(elapsed < BOUND, "answered after {elapsed:?}");
    assert!(set_cookies(&res, "messages").is_empty());

    // Requests that do not need the session are unaffected: a short message fits in the
    // cookie, added on A and shown on B.
    let fresh = client();
    let (form, short) = batch("outage", 1);
    let (res, elapsed) = post(&fresh, &a, &form).await;
    assert_eq!(res.status(), 303);
    assert!(elapsed < BOUND);
    let (res, _) = get(&fresh, &b, "/").await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains(&short[0]), "the message is shown on the page");
    assert!(page.contains("sessions in Redis"));
    assert!(api(&fresh, &a).await.is_empty(), "shown once");

    // Redis is back (empty: the harness runs it without persistence), the demos are not
    // restarted: B serves the pending visitor again within a few seconds. The part of the
    // overflow that was in the cookie is shown; the part in Redis died with its data.
    redis.restart();
    let (shown, took) = api_until_ok(&c, &b).await;
    assert!(took < RECOVERY, "recovered after {took:?}");
    assert!(
        !shown.is_empty() && shown.len() < pending.len(),
        "the cookie's part: {shown:?}"
    );
    assert_eq!(shown, pending[..shown.len()], "the oldest, in order");
    assert!(api(&c, &a).await.is_empty(), "shown once");

    // A comes back too: a new visitor's overflow is saved again (polled with a fresh
    // visitor each time, so that nothing is left half-stored).
    let start = Instant::now();
    let (form, expected) = batch("probe", 12);
    let probe = loop {
        let probe = client();
        let (res, elapsed) = post(&probe, &a, &form).await;
        assert!(elapsed < BOUND, "a probe took {elapsed:?}");
        if res.status() == 303 {
            break probe;
        }
        assert_eq!(
            res.status(),
            500,
            "only a failed save while Redis is coming back"
        );
        assert!(
            start.elapsed() < RECOVERY,
            "A did not recover within {RECOVERY:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(api(&probe, &b).await, expected);

    // Full round trips with overflow work again in both directions, and the load of the
    // issue (several visitors at once) is served.
    for (from, to, tag) in [(&a, &b, "after-ab"), (&b, &a, "after-ba")] {
        let (form, expected) = batch(tag, 12);
        let (res, elapsed) = post(&c, from, &form).await;
        assert_eq!(res.status(), 303, "{tag}");
        assert!(elapsed < BOUND, "{tag}: {elapsed:?}");
        assert_eq!(api(&c, to).await, expected, "{tag}");
        assert!(api(&c, from).await.is_empty(), "{tag}: once");
    }
    let visitors = (0..8).map(|i| {
        let (a, b) = (a.base.clone(), b.base.clone());
        tokio::spawn(async move {
            let c = client();
            for cycle in 0..5 {
                let (form, expected) = batch(&format!("v{i}-{cycle}"), 12);
                let t = Instant::now();
                let res = c.post(format!("{a}/add")).form(&form).send().await;
                let res = res.expect("POST /add answers within 5 s");
                assert_eq!(res.status(), 303);
                assert!(t.elapsed() < BOUND, "{:?}", t.elapsed());
                for want in [expected, Vec::new()] {
                    let res = c.get(format!("{b}/api/messages")).send().await;
                    let res = res.expect("GET answers within 5 s");
                    assert_eq!(res.status(), 200);
                    assert_eq!(texts(&res.json().await.unwrap()), want);
                }
            }
        })
    });
    let visitors: Vec<_> = visitors.collect();
    for v in visitors {
        v.await.expect("a visitor");
    }
}

/// A demo started while Redis is down starts (after at most the connection wait), answers
/// 503 for what needs the session and serves the rest, and recovers once Redis is up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_starts_while_redis_is_down() {
    let Some(mut redis) = RedisServer::start_or_skip("the_demo_starts_while_redis_is_down") else {
        return;
    };
    redis.kill();
    let started = Instant::now();
    let a = demo(&redis.url()).await;
    let startup = started.elapsed();
    let defaults = RedisOptions::default();
    assert!(
        startup < defaults.connection_timeout + Duration::from_millis(700),
        "start-up waited {startup:?}"
    );
    let c = client();
    let (form, _) = batch("down", 12);
    let (res, elapsed) = post(&c, &a, &form).await;
    assert_eq!(res.status(), 500, "the new session cannot be saved");
    assert!(elapsed < BOUND);
    let (form, short) = batch("short", 1);
    let (res, _) = post(&c, &a, &form).await;
    assert_eq!(res.status(), 303, "the cookie path does not need Redis");
    assert_eq!(api(&c, &a).await, short);

    redis.restart();
    let start = Instant::now();
    let (form, expected) = batch("up", 12);
    loop {
        let (res, elapsed) = post(&c, &a, &form).await;
        assert!(elapsed < BOUND);
        if res.status() == 303 {
            break;
        }
        assert_eq!(res.status(), 500);
        assert!(start.elapsed() < RECOVERY, "no recovery");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(api(&c, &a).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_reports_its_errors() {
    // A malformed URL is always an error.
    for url in [
        "http://127.0.0.1:1",
        "redis://",
        "redis://127.0.0.1:1/x/y",
        "no url",
    ] {
        let err = redis::connect(url, &RedisOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, ConnectError::Url(_)), "{url}: {err}");
        assert!(err.to_string().starts_with("invalid Redis URL"), "{err}");
    }

    // Options out of range.
    let mut zero = RedisOptions::default();
    zero.command_timeout = Duration::ZERO;
    let err = redis::connect("redis://127.0.0.1:1", &zero)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("command_timeout"), "{err}");
    let mut empty = RedisOptions::default();
    empty.pool_size = 0;
    assert!(matches!(
        redis::connect("redis://127.0.0.1:1", &empty).await,
        Err(ConnectError::Options(_))
    ));
    let mut backwards = RedisOptions::default();
    backwards.reconnect = Reconnect::Exponential {
        min: Duration::from_secs(2),
        max: Duration::from_secs(1),
    };
    assert!(matches!(
        redis::connect("redis://127.0.0.1:1", &backwards).await,
        Err(ConnectError::Options(_))
    ));

    // Nothing listens on a port just freed: with `require_connection`, a clear error
    // naming host:port (never the password), within the wait.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut strict = RedisOptions::default();
    strict.require_connection = true;
    strict.connection_timeout = Duration::from_millis(300);
    let url = format!("redis://:hunter2@127.0.0.1:{port}");
    let started = Instant::now();
    let err = redis::connect(&url, &strict).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    let text = err.to_string();
    assert!(matches!(err, ConnectError::Unreachable { .. }), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("hunter2"), "{text}");

    // Without it, the store is returned (Redis may come later).
    strict.require_connection = false;
    assert!(redis::connect(&url, &strict).await.is_ok());
}
