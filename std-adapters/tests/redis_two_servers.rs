//! Redis across two servers: a real `redis-server` (started here on a free loopback port)
//! shared by two axum instances through tower-sessions 0.14 and the crate's Redis store
//! (`herald_flash::redis::connect`, default options: tower-sessions-redis-store 0.16 over
//! fred). A message added through A is shown once through B; fallback overflow goes
//! through Redis; killing Redis gives the typed error path at once, and restarting it
//! recovers.
#![cfg(feature = "tower-sessions-redis")]

mod common;

use std::time::{Duration, Instant};

use common::redis::RedisServer;
use common::*;
use herald_flash::redis::{self, RedisOptions};

async fn instance(url: &str) -> Server {
    let store = redis::connect(url, &RedisOptions::default())
        .await
        .expect("connect to redis");
    serve_axum(with_tower_sessions(config().build().unwrap(), store)).await
}

fn long(i: usize) -> String {
    format!("overflow message {i:02} {}", "x".repeat(380))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_shared_by_two_servers() {
    let Some(mut redis) = RedisServer::start_or_skip("redis_shared_by_two_servers") else {
        return;
    };
    let a = instance(&redis.url()).await;
    let b = instance(&redis.url()).await;
    let (c, _) = client();

    // A message added through A is shown once through B, then never again.
    post_add(&c, &a, &[("level", "25"), ("text", "added on A")]).await;
    assert_eq!(texts(&get_json(&c, &b, "/show").await), ["added on A"]);
    assert!(texts(&get_json(&c, &b, "/show").await).is_empty());
    assert!(texts(&get_json(&c, &a, "/show").await).is_empty());

    // Fallback overflow goes through Redis and comes back once, in order, on the other server.
    let all: Vec<String> = (0..7).map(long).collect();
    let pairs: Vec<(&str, &str)> = all.iter().map(|t| ("text", t.as_str())).collect();
    let res = post_add(&c, &a, &pairs).await;
    assert!(res.headers().get("x-herald-unstored").is_none());
    assert!(redis.dbsize() >= 1, "the overflow is in Redis");
    assert_eq!(texts(&get_json(&c, &b, "/show").await), all);
    assert!(texts(&get_json(&c, &a, "/show").await).is_empty());
    assert!(texts(&get_json(&c, &b, "/show").await).is_empty());

    // A visitor whose overflow was shown keeps its (now empty) session.
    let (d, _) = client();
    post_add(&d, &a, &pairs).await;
    assert_eq!(texts(&get_json(&d, &b, "/show").await), all);

    // Store an overflow, then kill Redis before it is read.
    post_add(&c, &a, &pairs).await;
    redis.kill();

    // Reading needs the session: the typed error (503 from MessagesError::Session), no panic,
    // nothing reported delivered, and the cookie is left in place — at once, not after a
    // hang (the store fails fast while no connection is up).
    for server in [&a, &b] {
        let started = Instant::now();
        let res = c.get(server.url("/show")).send().await.unwrap();
        assert_eq!(res.status(), 503);
        assert!(started.elapsed() < Duration::from_millis(1500));
        assert!(
            set_cookies(&res, "messages").is_empty(),
            "the cookie is not touched"
        );
        // A generic body: the backend's error text stays in the logs.
        let body = res.text().await.unwrap();
        assert_eq!(body, "Service Unavailable");
    }
    // Pages that do not use messages still work.
    let res = c.get(a.url("/plain")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    // A small message fits in the cookie, so a new visitor is not affected by the outage.
    let (fresh, _) = client();
    post_add(&fresh, &a, &[("text", "during the outage")]).await;
    assert_eq!(
        texts(&get_json(&fresh, &b, "/show").await),
        ["during the outage"]
    );
    // An overflow cannot be stored: the request fails visibly (tower-sessions answers 500
    // when it cannot save the session), so nothing is reported delivered.
    let (fresh, _) = client();
    let res = fresh.post(a.url("/add")).form(&pairs).send().await.unwrap();
    assert_eq!(res.status(), 500, "a failed session save is not a success");
    assert!(set_cookies(&res, "messages").is_empty());

    // A visitor with a session: the overflow the session could not take is reported
    // unstored with the session's error, and the handler's 303 ("saved") becomes a 503,
    // so the client is never told the messages were kept.
    let res = d.post(a.url("/add")).form(&pairs).send().await.unwrap();
    assert_eq!(res.status(), 503, "messages lost to the backend: not a 303");
    assert!(res.headers().get("location").is_none());
    let unstored: usize = res.headers()["x-herald-unstored"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(unstored, all.len(), "the whole write is reported");
    assert!(
        set_cookies(&res, "messages").is_empty(),
        "and its cookie taken back"
    );
    let reasons = res.headers()["x-herald-unstored-reason"].to_str().unwrap();
    assert!(reasons.contains("the session write failed"), "{reasons}");

    // Restart Redis (empty: persistence is off): the service recovers.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(5);
    let shown = loop {
        let res = c.get(b.url("/show")).send().await.unwrap();
        if res.status() == 200 {
            break texts(&res.json().await.unwrap());
        }
        assert!(
            Instant::now() < deadline,
            "B did not recover after Redis restarted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The cookie's part (the oldest messages) is still shown; the session's part died with
    // the unpersisted Redis data.
    assert!(!shown.is_empty() && shown.len() < all.len(), "{shown:?}");
    assert_eq!(shown, all[..shown.len()]);
    // A full round trip works again, overflow included, on both servers.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let res = c.post(a.url("/add")).form(&pairs).send().await.unwrap();
        if res.status() == 303 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "A did not recover after Redis restarted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(texts(&get_json(&c, &b, "/show").await), all);
    assert!(texts(&get_json(&c, &a, "/show").await).is_empty());
}
