//! Redis across two servers: a real `redis-server` (started here on a free loopback port)
//! shared by two axum instances through tower-sessions 0.14 and its Redis store
//! (tower-sessions-redis-store 0.16, fred). A message added through A is shown once through
//! B; fallback overflow goes through Redis; killing Redis gives the typed error path, and
//! restarting it recovers.

mod common;

use std::time::{Duration, Instant};

use common::redis::RedisServer;
use common::*;
use tower_sessions_redis_store::RedisStore;
use tower_sessions_redis_store::fred::prelude::{
    Builder, ClientLike, Config as RedisConfig, Pool, ReconnectPolicy,
};

async fn pool(url: &str) -> Pool {
    let mut builder = Builder::from_config(RedisConfig::from_url(url).expect("redis url"));
    builder
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_secs(1);
            c.internal_command_timeout = Duration::from_secs(1);
            c.max_command_attempts = 1;
        })
        .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(1))
        .set_policy(ReconnectPolicy::new_constant(0, 100));
    let pool = builder.build_pool(1).expect("pool");
    pool.init().await.expect("connect to redis");
    pool
}

async fn instance(url: &str) -> Server {
    let store = RedisStore::new(pool(url).await);
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

    // Store an overflow, then kill Redis before it is read.
    post_add(&c, &a, &pairs).await;
    redis.kill();

    // Reading needs the session: the typed error (503 from MessagesError::Session), no panic,
    // nothing reported delivered, and the cookie is left in place.
    for server in [&a, &b] {
        let res = c.get(server.url("/show")).send().await.unwrap();
        assert_eq!(res.status(), 503);
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

    // Restart Redis (empty: persistence is off): the service recovers.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
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
    let deadline = Instant::now() + Duration::from_secs(15);
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
