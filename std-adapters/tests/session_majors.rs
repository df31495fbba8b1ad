//! Every supported session-crate major, over real HTTP: tower-sessions 0.15 and 0.14 on
//! axum, actix-session 0.11 and 0.10 on actix-web. For each, a fallback round trip whose
//! overflow goes into the session (the oldest messages in the cookie, the rest in the
//! session, all shown once in order). And the tower-sessions misconfigurations — the
//! session layer missing, inside herald's layer instead of outside, or of another major —
//! each fail loudly at the first request that uses messages: a 500 with a generic body and
//! one ERROR line naming the fix.
//!
//! actix-session cannot be checked the same way: it hands a request without its middleware
//! an empty session that is never saved, indistinguishable from a new visitor's (see the
//! `actix_session_*` modules' docs).

mod common;
mod logs;

use std::time::Duration;

use common::*;
use herald_flash::Config;
use logs::{error_lines, logs};

/// Twelve messages of 300 characters: about 3.7 KB, more than a 2048-character cookie.
fn long_texts() -> Vec<String> {
    (0..12)
        .map(|i| format!("{i:02} {}", "m".repeat(297)))
        .collect()
}

fn jar_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// POST /add (12 long messages) → 303 with both cookies → GET /show shows all 12 in order
/// → GET /show shows nothing.
async fn round_trip(server: &Server, session_cookie: &str, what: &str) {
    let c = jar_client();
    let res = c.post(server.url("/add")).send().await.unwrap();
    assert_eq!(res.status(), 303, "{what}");
    assert!(
        res.headers().get("x-herald-unstored").is_none(),
        "{what}: everything stored"
    );
    let names: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split('=').next().unwrap().to_owned())
        .collect();
    assert!(names.iter().any(|n| n == "messages"), "{what}: {names:?}");
    assert!(
        names.iter().any(|n| n == session_cookie),
        "{what}: the overflow went to the session: {names:?}"
    );
    let shown = |c: reqwest::Client| async move {
        let res = c.get(server.url("/show")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        texts(&res.json().await.unwrap())
    };
    assert_eq!(
        shown(c.clone()).await,
        long_texts(),
        "{what}: all, in order"
    );
    assert!(shown(c).await.is_empty(), "{what}: once");
}

mod axum_apps {
    use super::*;
    use axum::Router;
    use axum::response::{Json, Redirect};
    use axum::routing::{get, post};
    use herald_flash::Messages;
    use herald_flash::tower::MessagesLayer;
    use serde_json::{Value, json};

    async fn add(messages: Messages) -> Redirect {
        for t in long_texts() {
            messages.info(t);
        }
        Redirect::to("/show")
    }
    async fn show(messages: Messages) -> Json<Value> {
        Json(json!(messages.to_vec()))
    }
    pub fn routes() -> Router {
        Router::new()
            .route("/add", post(add))
            .route("/show", get(show))
    }

    /// Generates the app for one tower-sessions major.
    macro_rules! app_for {
        ($name:ident, $major:ident) => {
            pub mod $name {
                use super::*;
                use herald_flash::session::$major::TowerSessions;
                use herald_flash::session::$major::tower_sessions::{
                    MemoryStore, SessionManagerLayer,
                };

                /// Correctly layered: the session layer outside herald's.
                pub async fn ok(config: Config) -> Server {
                    let sessions =
                        SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
                    let app = routes()
                        .layer(MessagesLayer::fallback(config, TowerSessions))
                        .layer(sessions)
                        .layer(axum::middleware::from_fn(axum_report));
                    serve_axum(app).await
                }

                /// The session layer forgotten.
                pub async fn missing(config: Config) -> Server {
                    serve_axum(routes().layer(MessagesLayer::fallback(config, TowerSessions))).await
                }

                /// The session layer inside herald's (added first), not outside.
                pub async fn wrong_order(config: Config) -> Server {
                    let sessions =
                        SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
                    let app = routes()
                        .layer(sessions)
                        .layer(MessagesLayer::fallback(config, TowerSessions));
                    serve_axum(app).await
                }
            }
        };
    }

    app_for!(v0_15, tower_sessions_0_15);
    app_for!(v0_14, tower_sessions_0_14);

    /// herald bound to 0.15, the app's session layer from 0.14.
    pub async fn other_major(config: Config) -> Server {
        use herald_flash::session::tower_sessions_0_14::tower_sessions::{
            MemoryStore, SessionManagerLayer,
        };
        use herald_flash::session::tower_sessions_0_15::TowerSessions;
        let sessions = SessionManagerLayer::new(MemoryStore::default()).with_secure(false);
        let app = routes()
            .layer(MessagesLayer::fallback(config, TowerSessions))
            .layer(sessions);
        serve_axum(app).await
    }
}

mod actix_apps {
    use super::*;
    use actix_web::{HttpResponse, web};
    use herald_flash::Messages;
    use herald_flash::actix::MessagesMiddleware;

    async fn add(messages: Messages) -> HttpResponse {
        for t in long_texts() {
            messages.info(t);
        }
        HttpResponse::SeeOther()
            .insert_header(("location", "/show"))
            .finish()
    }
    async fn show(messages: Messages) -> HttpResponse {
        HttpResponse::Ok().json(messages.to_vec())
    }

    macro_rules! app_for {
        ($name:ident, $major:ident) => {
            pub fn $name(config: Config) -> Server {
                use herald_flash::session::$major::ActixSessions;
                use herald_flash::session::$major::actix_session::SessionMiddleware;
                use herald_flash::session::$major::actix_session::storage::CookieSessionStore;
                serve_actix(move |cfg| {
                    let sessions = SessionMiddleware::builder(
                        CookieSessionStore::default(),
                        actix_web::cookie::Key::from(&[9u8; 64]),
                    )
                    .cookie_name("session".to_owned())
                    .cookie_secure(false)
                    .build();
                    cfg.service(
                        web::scope("")
                            .wrap(MessagesMiddleware::fallback(config.clone(), ActixSessions))
                            .wrap(sessions)
                            .route("/add", web::post().to(add))
                            .route("/show", web::get().to(show)),
                    );
                })
            }
        };
    }

    app_for!(v0_11, actix_session_0_11);
    app_for!(v0_10, actix_session_0_10);
}

fn config() -> Config {
    common::config().build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_overflow_round_trips_through_every_session_major() {
    round_trip(
        &axum_apps::v0_15::ok(config()).await,
        "id",
        "tower-sessions 0.15",
    )
    .await;
    round_trip(
        &axum_apps::v0_14::ok(config()).await,
        "id",
        "tower-sessions 0.14",
    )
    .await;
    round_trip(
        &actix_apps::v0_11(config()),
        "session",
        "actix-session 0.11",
    )
    .await;
    round_trip(
        &actix_apps::v0_10(config()),
        "session",
        "actix-session 0.10",
    )
    .await;
}

/// A 500 with the generic body for the first request, and one more ERROR line naming the
/// session layer and the fix than before it.
async fn fails_loudly(server: Server, what: &str) {
    let before = error_lines("SessionManagerLayer").len();
    let res = jar_client().post(server.url("/add")).send().await.unwrap();
    assert_eq!(res.status(), 500, "{what}");
    assert_eq!(res.text().await.unwrap(), "Internal Server Error", "{what}");
    let lines = error_lines("SessionManagerLayer");
    assert_eq!(lines.len(), before + 1, "{what}: one ERROR line: {lines:?}");
    let line = lines.last().unwrap();
    assert!(
        line.contains("after herald's MessagesLayer so that it is outside it")
            && line.contains("enable the matching herald-flash feature"),
        "{what}: the line names the fix: {line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tower_sessions_layer_missing_misplaced_or_of_another_major_fails_loudly() {
    let _ = logs();
    fails_loudly(axum_apps::v0_15::missing(config()).await, "0.15 missing").await;
    fails_loudly(axum_apps::v0_14::missing(config()).await, "0.14 missing").await;
    fails_loudly(axum_apps::v0_15::wrong_order(config()).await, "0.15 inside").await;
    fails_loudly(axum_apps::v0_14::wrong_order(config()).await, "0.14 inside").await;
    fails_loudly(
        axum_apps::other_major(config()).await,
        "0.15 bound, 0.14 layer",
    )
    .await;
}
