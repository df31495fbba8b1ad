//! The handler API as users write it, over real HTTP on both frameworks: adds as plain
//! statements (this file is compiled with `#![deny(warnings)]`, so an add whose result
//! had to be used would not compile), reads that cannot deadlock, no per-request cap below
//! what the storage holds, the request limits reported as `Unstored`, and
//! misconfigurations answered with a 500 and one ERROR line that names the fix.
#![deny(warnings)]

mod common;
mod logs;

use std::time::Duration;

use common::*;
use herald_flash::session::{MemorySession, MemorySessions, SessionError};
use herald_flash::{Config, Level, Limits, Messages};
use logs::{error_lines, logs};
use serde_json::{Value, json};

/// A client whose requests time out after 5 s, so a deadlocked handler fails the test
/// instead of hanging it.
fn quick_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

// ---- the handlers, written as a user would ------------------------------------------

/// Adds as plain statements: `&str`, `format!`, `String`, and a chain.
fn add_statements(messages: &Messages, name: &str) {
    messages.success("Profile saved.");
    messages.info(format!("Hello, {name}."));
    messages.warning(String::from("Check your e-mail."));
    messages.debug("below the default level: ignored");
    messages.error("first").error("second");
}

/// Adds `n` messages of `len` characters.
fn add_many(messages: &Messages, n: usize, len: usize) {
    for i in 0..n {
        let text = format!("{i:04} {}", "x".repeat(len - 5));
        messages.info(&text);
    }
}

/// Reads, then uses every other method while still holding what it read, across an
/// `.await` (on axum this also proves the snapshot is `Send`).
async fn juggle(messages: &Messages) -> String {
    let shown = messages.read();
    let len = messages.len();
    messages.add(Level::INFO, "added while reading");
    let has = messages.contains(Level::SUCCESS, "first");
    let debug = format!("{messages:?} / {shown:?}");
    tokio::task::yield_now().await;
    messages.keep();
    messages.set_level(Some(Level::DEBUG));
    format!(
        "{}|{len}|{has}|{}|{}",
        shown.len(),
        messages.level().0,
        debug.contains("first") && debug.contains("added while reading")
    )
}

fn show(messages: &Messages) -> Value {
    json!(messages.to_vec())
}

mod axum_app {
    use super::*;
    use axum::Router;
    use axum::extract::Path;
    use axum::response::{Json, Redirect};
    use axum::routing::{get, post};
    use herald_flash::session::tower_sessions_0_14::TowerSessions;
    use herald_flash::tower::MessagesLayer;

    async fn statements(messages: Messages) -> Redirect {
        add_statements(&messages, "Ada");
        Redirect::to("/show")
    }
    async fn first(messages: Messages) -> Redirect {
        messages.success("first");
        Redirect::to("/show")
    }
    async fn many(messages: Messages, Path((n, len)): Path<(usize, usize)>) -> Redirect {
        add_many(&messages, n, len);
        Redirect::to("/show")
    }
    async fn juggling(messages: Messages) -> String {
        juggle(&messages).await
    }
    async fn show_page(messages: Messages) -> Json<Value> {
        Json(show(&messages))
    }

    fn routes() -> Router {
        Router::new()
            .route("/statements", post(statements))
            .route("/first", post(first))
            .route("/many/{n}/{len}", post(many))
            .route("/juggle", get(juggling))
            .route("/show", get(show_page))
    }

    pub async fn fallback(config: Config) -> Server {
        let app = routes()
            .layer(MessagesLayer::fallback(config, MemorySessions::new()))
            .layer(axum::middleware::from_fn(axum_report));
        serve_axum(app).await
    }

    /// Fallback storage through tower-sessions, but its `SessionManagerLayer` forgotten.
    pub async fn without_session_layer(config: Config) -> Server {
        serve_axum(routes().layer(MessagesLayer::fallback(config, TowerSessions))).await
    }

    /// No herald layer at all.
    pub async fn without_layer() -> Server {
        serve_axum(routes()).await
    }
}

mod actix_app {
    use super::*;
    use actix_web::{HttpResponse, web};
    use herald_flash::actix::MessagesMiddleware;

    fn see_other() -> HttpResponse {
        HttpResponse::SeeOther()
            .insert_header(("location", "/show"))
            .finish()
    }
    async fn statements(messages: Messages) -> HttpResponse {
        add_statements(&messages, "Ada");
        see_other()
    }
    async fn first(messages: Messages) -> HttpResponse {
        messages.success("first");
        see_other()
    }
    async fn many(messages: Messages, path: web::Path<(usize, usize)>) -> HttpResponse {
        let (n, len) = path.into_inner();
        add_many(&messages, n, len);
        see_other()
    }
    async fn juggling(messages: Messages) -> String {
        juggle(&messages).await
    }
    async fn show_page(messages: Messages) -> HttpResponse {
        HttpResponse::Ok().json(show(&messages))
    }

    fn routes(cfg: &mut web::ServiceConfig) {
        cfg.route("/statements", web::post().to(statements))
            .route("/first", web::post().to(first))
            .route("/many/{n}/{len}", web::post().to(many))
            .route("/juggle", web::get().to(juggling))
            .route("/show", web::get().to(show_page));
    }

    pub fn fallback(config: Config) -> Server {
        let sessions = MemorySessions::new();
        serve_actix(move |cfg| {
            cfg.service(
                web::scope("")
                    .wrap(MessagesMiddleware::fallback(
                        config.clone(),
                        sessions.clone(),
                    ))
                    .configure(routes),
            );
        })
    }

    pub fn without_layer() -> Server {
        serve_actix(|cfg| {
            cfg.service(web::scope("").configure(routes));
        })
    }

    /// A session source whose layer is missing for every request (what a source reports
    /// when the session middleware it needs is not installed).
    #[derive(Clone)]
    pub struct NoSessionLayer;

    impl herald_flash::session::ActixSessionSource for NoSessionLayer {
        type Session = MemorySession;
        fn session(&self, _: &actix_web::HttpRequest) -> Result<MemorySession, SessionError> {
            Err(SessionError::Missing(
                "the request has no session: add the session middleware outside herald's",
            ))
        }
    }

    /// Fallback storage whose session middleware is missing.
    pub fn without_session_layer(config: Config) -> Server {
        serve_actix(move |cfg| {
            cfg.service(
                web::scope("")
                    .wrap(MessagesMiddleware::fallback(config.clone(), NoSessionLayer))
                    .configure(routes),
            );
        })
    }
}

async fn fallback(fw: Framework, config: Config) -> Server {
    match fw {
        Framework::Axum => axum_app::fallback(config).await,
        Framework::Actix => actix_app::fallback(config),
    }
}

async fn post(c: &reqwest::Client, server: &Server, path: &str) -> reqwest::Response {
    let res = c.post(server.url(path)).send().await.expect("POST");
    assert_eq!(res.status(), 303, "POST {path}");
    res
}

async fn shown(c: &reqwest::Client, server: &Server) -> Vec<String> {
    let res = c.get(server.url("/show")).send().await.expect("GET /show");
    assert_eq!(res.status(), 200);
    texts(&res.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adds_are_plain_statements() {
    for fw in FRAMEWORKS {
        let server = fallback(fw, config().build().unwrap()).await;
        let c = quick_client();
        post(&c, &server, "/statements").await;
        assert_eq!(
            shown(&c, &server).await,
            [
                "Profile saved.",
                "Hello, Ada.",
                "Check your e-mail.",
                "first",
                "second"
            ],
            "{fw:?}"
        );
        assert!(shown(&c, &server).await.is_empty(), "{fw:?}: shown once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_while_using_every_other_method_never_deadlocks() {
    for fw in FRAMEWORKS {
        let server = fallback(fw, config().build().unwrap()).await;
        let c = quick_client();
        post(&c, &server, "/first").await;
        let res = c.get(server.url("/juggle")).send().await;
        let body = res
            .unwrap_or_else(|e| panic!("{fw:?}: the handler did not answer (deadlock?): {e}"))
            .text()
            .await
            .unwrap();
        // 1 read, len 1 (the add came after), contains, DEBUG level set, Debug formatted.
        assert_eq!(body, "1|1|true|10|true", "{fw:?}");
        // keep() after the read: the message is shown again, with the one added meanwhile.
        assert_eq!(
            shown(&c, &server).await,
            ["first", "added while reading"],
            "{fw:?}"
        );
        assert!(shown(&c, &server).await.is_empty(), "{fw:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_long_messages_are_shown_once_in_order_through_cookie_and_session() {
    for fw in FRAMEWORKS {
        let server = fallback(fw, config().build().unwrap()).await;
        let c = quick_client();
        let res = post(&c, &server, "/many/200/200").await;
        assert!(
            res.headers().get("x-herald-unstored").is_none(),
            "{fw:?}: all 200 stored"
        );
        let cookies: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert!(
            cookies.iter().any(|l| l.starts_with("messages=")),
            "{fw:?}: the oldest in the cookie"
        );
        assert!(
            cookies.iter().any(|l| l.starts_with("herald_session=")),
            "{fw:?}: the rest in the session"
        );
        let got = shown(&c, &server).await;
        let want: Vec<String> = (0..200)
            .map(|i| format!("{i:04} {}", "x".repeat(195)))
            .collect();
        assert_eq!(got, want, "{fw:?}: all 200, in order");
        assert!(shown(&c, &server).await.is_empty(), "{fw:?}: once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_request_limit_reports_the_overflow_as_unstored() {
    for fw in FRAMEWORKS {
        let limits = Limits {
            max_bytes: 100_000,
            max_messages: 3,
        };
        let server = fallback(fw, config().request_limits(limits).build().unwrap()).await;
        let c = quick_client();
        let res = post(&c, &server, "/many/5/100").await;
        let h = |name: &str| res.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(h("x-herald-unstored"), "2", "{fw:?}");
        assert!(h("x-herald-unstored-texts").starts_with("0003 "), "{fw:?}");
        assert!(
            h("x-herald-unstored-reason").contains("message count limit"),
            "{fw:?}: {}",
            h("x-herald-unstored-reason")
        );
        assert_eq!(shown(&c, &server).await.len(), 3, "{fw:?}");

        let limits = Limits {
            max_bytes: 250,
            max_messages: 1000,
        };
        let server = fallback(fw, config().request_limits(limits).build().unwrap()).await;
        let res = post(&c, &server, "/many/5/100").await;
        assert_eq!(res.headers()["x-herald-unstored"], "3", "{fw:?}");
        assert!(
            res.headers()["x-herald-unstored-reason"]
                .to_str()
                .unwrap()
                .contains("text limit"),
            "{fw:?}"
        );
        assert_eq!(shown(&c, &server).await.len(), 2, "{fw:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_layer_is_a_500_with_an_error_line_naming_the_fix() {
    let _ = logs();
    for fw in FRAMEWORKS {
        let server = match fw {
            Framework::Axum => axum_app::without_layer().await,
            Framework::Actix => actix_app::without_layer(),
        };
        let res = quick_client()
            .post(server.url("/first"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 500, "{fw:?}");
        assert_eq!(res.text().await.unwrap(), "Internal Server Error", "{fw:?}");
        let fix = match fw {
            Framework::Axum => "add `.layer(MessagesLayer::cookie(config))`",
            Framework::Actix => "add `.wrap(MessagesMiddleware::cookie(config))`",
        };
        assert_eq!(
            error_lines(fix).len(),
            1,
            "{fw:?}: one ERROR line with the fix"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_session_layer_is_a_500_with_an_error_line_naming_it() {
    let _ = logs();
    for fw in FRAMEWORKS {
        let (server, names_it) = match fw {
            Framework::Axum => (
                axum_app::without_session_layer(config().build().unwrap()).await,
                "SessionManagerLayer",
            ),
            Framework::Actix => (
                actix_app::without_session_layer(config().build().unwrap()),
                "add the session middleware outside herald's",
            ),
        };
        let c = quick_client();
        // Even a request that would fit in the cookie fails: the misconfiguration is loud
        // at the first request that uses messages, not when a message first overflows.
        let res = c.post(server.url("/first")).send().await.unwrap();
        assert_eq!(res.status(), 500, "{fw:?}");
        assert_eq!(res.text().await.unwrap(), "Internal Server Error", "{fw:?}");
        let lines = error_lines(names_it);
        assert_eq!(lines.len(), 1, "{fw:?}: one ERROR line: {lines:?}");
        assert!(
            lines[0].contains("install the session layer outside herald's"),
            "{fw:?}"
        );
    }
}

/// A byte that is not UTF-8 in another cookie of the header never hides the messages
/// cookie, on either framework.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_utf8_byte_in_another_cookie_does_not_hide_the_messages() {
    for fw in FRAMEWORKS {
        let server = fallback(fw, config().build().unwrap()).await;
        let raw = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let res = raw.post(server.url("/first")).send().await.unwrap();
        let line = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        let value = line.split(';').next().unwrap().to_owned();
        let mut header = b"other=\xff\xfe; ".to_vec();
        header.extend_from_slice(value.as_bytes());
        let res = raw
            .get(server.url("/show"))
            .header(
                "cookie",
                reqwest::header::HeaderValue::from_bytes(&header).unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{fw:?}");
        assert_eq!(texts(&res.json().await.unwrap()), ["first"], "{fw:?}");
    }
}
