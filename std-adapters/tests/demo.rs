//! The demo app (`examples/demo.rs`), served exactly as `cargo run -p herald-flash --example demo`
//! builds it, over real HTTP on 127.0.0.1 with a client and cookie jar: the form page, POST
//! → 303 → GET showing the message once with its tags as CSS classes, each `--storage`
//! flag, `/api/messages`, and `--redis` across two instances over a real `redis-server`
//! (missing, it fails the test unless deselected with `HERALD_SKIP_LIVE=redis`).

#[path = "../examples/demo.rs"]
#[allow(dead_code)]
mod demo;

mod common;

use common::redis::RedisServer;
use common::{Server, client, serve_axum, set_cookies};
use herald_flash::Storage;
use serde_json::{Value, json};

const SECRET: &[u8] = b"the demo test secret, 32 bytes or more";

async fn start(storage: Storage, redis: Option<&str>) -> Server {
    let app = demo::app(SECRET.to_vec(), storage, redis)
        .await
        .expect("the demo app builds");
    serve_axum(app).await
}

async fn page(c: &reqwest::Client, server: &Server) -> String {
    let res = c.get(server.url("/")).send().await.expect("GET /");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/html; charset=utf-8",
        "an HTML page"
    );
    res.text().await.unwrap()
}

/// POSTs the form and checks the 303 back to the page; returns the response.
async fn add(
    c: &reqwest::Client,
    server: &Server,
    text: &str,
    level: i32,
    extra: &str,
    repeat: u32,
) -> reqwest::Response {
    let form = [
        ("text", text.to_owned()),
        ("level", level.to_string()),
        ("extra", extra.to_owned()),
        ("repeat", repeat.to_string()),
    ];
    let res = c
        .post(server.url("/add"))
        .form(&form)
        .send()
        .await
        .expect("POST /add");
    assert_eq!(res.status(), 303, "POST /add answers 303 See Other");
    assert_eq!(res.headers()["location"], "/");
    res
}

/// The texts of the `<li>` items of a page, with their class attribute.
fn items(html: &str) -> Vec<(String, String)> {
    html.split("<li class=\"")
        .skip(1)
        .map(|rest| {
            let (class, rest) = rest.split_once('"').unwrap();
            let text = rest.split_once("</strong>: ").unwrap().1;
            let text = text.split_once("</li>").unwrap().0;
            (class.to_owned(), text.to_owned())
        })
        .collect()
}

fn name(storage: Storage) -> &'static str {
    match storage {
        Storage::Cookie => "cookie",
        Storage::Session => "session",
        Storage::Fallback => "fallback",
    }
}

#[test]
fn command_line_flags() {
    let parse = |args: &[&str]| demo::parse_args(args.iter().map(|s| s.to_string()));
    let d = parse(&[]).unwrap();
    assert_eq!(d.storage, Storage::Fallback, "fallback by default");
    assert_eq!(d.addr.to_string(), "127.0.0.1:3000");
    assert!(d.redis.is_none());
    for s in [Storage::Cookie, Storage::Session, Storage::Fallback] {
        assert_eq!(parse(&["--storage", name(s)]).unwrap().storage, s);
    }
    let a = parse(&[
        "--addr",
        "127.0.0.1:8080",
        "--redis",
        "redis://127.0.0.1:6379",
    ])
    .unwrap();
    assert_eq!(a.addr.to_string(), "127.0.0.1:8080");
    assert_eq!(a.redis.as_deref(), Some("redis://127.0.0.1:6379"));
    assert!(
        parse(&["--storage", "disk"])
            .unwrap_err()
            .contains("cookie, session or fallback")
    );
    assert!(parse(&["--storage"]).unwrap_err().contains("needs a value"));
    assert!(parse(&["--help"]).unwrap_err().starts_with("usage: demo"));
    assert!(parse(&["--nope"]).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_post_redirect_get_flow_in_every_storage() {
    for storage in [Storage::Cookie, Storage::Session, Storage::Fallback] {
        let s = name(storage);
        let server = start(storage, None).await;
        let (c, _) = client();

        let html = page(&c, &server).await;
        assert!(
            html.contains("<form method=\"post\" action=\"/add\">"),
            "{s}"
        );
        assert!(html.contains(&format!("Storage: <code>{s}</code>")), "{s}");
        assert!(html.contains("<em>No messages.</em>"), "{s}");

        let res = add(&c, &server, "Profile saved.", 25, "big", 1).await;
        let messages_cookie = !set_cookies(&res, "messages").is_empty();
        let session_cookie = !set_cookies(&res, "id").is_empty();
        match storage {
            Storage::Cookie => assert!(messages_cookie && !session_cookie, "{s}"),
            Storage::Session => assert!(!messages_cookie && session_cookie, "{s}"),
            // One short message fits in the cookie; the session is not touched.
            Storage::Fallback => assert!(messages_cookie && !session_cookie, "{s}"),
        }

        let html = page(&c, &server).await;
        assert_eq!(
            items(&html),
            [("big success".to_owned(), "Profile saved.".to_owned())],
            "{s}: the message, its tags as CSS classes"
        );
        assert!(html.contains("<strong>success</strong>"), "{s}");
        let html = page(&c, &server).await;
        assert!(items(&html).is_empty(), "{s}: shown once");
        assert!(html.contains("<em>No messages.</em>"), "{s}");

        // Texts are escaped (the message is not marked safe); below-INFO is ignored.
        add(&c, &server, "<script>alert(1)</script>", 40, "", 1).await;
        add(&c, &server, "a debug message", 10, "", 1).await;
        let html = page(&c, &server).await;
        assert_eq!(
            items(&html),
            [(
                "error".to_owned(),
                "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;".to_owned()
            )],
            "{s}"
        );
        assert!(!html.contains("<script>"), "{s}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_messages_returns_the_json_shape_once() {
    for storage in [Storage::Cookie, Storage::Session, Storage::Fallback] {
        let s = name(storage);
        let server = start(storage, None).await;
        let (c, _) = client();
        add(&c, &server, "Oops", 40, "", 1).await;
        add(&c, &server, "Saved", 25, "big wide", 1).await;
        let res = c.get(server.url("/api/messages")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/json");
        let body: Value = res.json().await.unwrap();
        assert_eq!(
            body,
            json!([
                {"level": 40, "level_tag": "error", "tags": "error", "message": "Oops", "extra_tags": "", "is_safe": false},
                {"level": 25, "level_tag": "success", "tags": "big wide success", "message": "Saved", "extra_tags": "big wide", "is_safe": false},
            ]),
            "{s}"
        );
        let again: Value = c
            .get(server.url("/api/messages"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(again, json!([]), "{s}: consumed");
    }
}

/// The demo's "add 10 long messages" suggestion: fallback and session storage show them
/// all, in order (fallback through the session for what does not fit in the cookie);
/// cookie storage keeps the newest that fit and drops (and logs) the oldest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflowing_the_cookie() {
    let text = "A long message that fills the cookie quickly. ".repeat(6);
    let text = text.trim_end();
    for storage in [Storage::Cookie, Storage::Session, Storage::Fallback] {
        let s = name(storage);
        let server = start(storage, None).await;
        let (c, _) = client();
        let res = add(&c, &server, text, 20, "", 10).await;
        if storage == Storage::Fallback {
            assert!(!set_cookies(&res, "messages").is_empty(), "{s}");
            assert!(
                !set_cookies(&res, "id").is_empty(),
                "{s}: overflow in the session"
            );
        }
        let shown: Vec<String> = items(&page(&c, &server).await)
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        let numbered = |i: u32| format!("{text} (#{i})");
        match storage {
            Storage::Cookie => {
                assert!(
                    !shown.is_empty() && shown.len() < 10,
                    "{s}: {}",
                    shown.len()
                );
                let first = 11 - shown.len() as u32;
                let newest: Vec<String> = (first..=10).map(numbered).collect();
                assert_eq!(shown, newest, "{s}: the newest are kept");
            }
            _ => assert_eq!(shown, (1..=10).map(numbered).collect::<Vec<_>>(), "{s}"),
        }
        assert!(items(&page(&c, &server).await).is_empty(), "{s}: once");
    }
}

/// `--redis URL`: two demo instances sharing one Redis; a message added through one is
/// shown once through the other. (The demo compiles its Redis code with the
/// `tower-sessions-redis` feature; `scripts/test` runs with every feature.)
#[cfg(feature = "tower-sessions-redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_flag_shares_sessions_between_two_demos() {
    let Some(redis) = RedisServer::start_or_skip("redis_flag_shares_sessions_between_two_demos")
    else {
        return;
    };
    let url = redis.url();
    let a = start(Storage::Session, Some(&url)).await;
    let b = start(Storage::Session, Some(&url)).await;
    let (c, _) = client();
    assert!(page(&c, &a).await.contains("sessions in Redis"));
    add(&c, &a, "Added on A", 25, "", 1).await;
    assert!(redis.dbsize() >= 1, "the session is in Redis");
    let b_url: reqwest::Url = b.url("/").parse().unwrap();
    let a_url: reqwest::Url = a.url("/").parse().unwrap();
    assert_eq!(
        a_url.host(),
        b_url.host(),
        "one host: the jar sends the session to both"
    );
    assert_eq!(
        items(&page(&c, &b).await),
        [("success".to_owned(), "Added on A".to_owned())]
    );
    assert!(items(&page(&c, &a).await).is_empty(), "shown once");
}
