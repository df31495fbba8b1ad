//! Test support: the same small app for axum and actix-web, served on 127.0.0.1, a real
//! HTTP client with a cookie jar, a real `redis-server` harness, and the rule for live
//! tests whose tool is missing ([`live`]).
#![allow(dead_code)]

pub mod live;
pub mod redis;

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::time::Duration;

use herald_flash::session::MemorySessions;
use herald_flash::{Config, Level, Message, Messages, OwnedMessage, Unstored};
use serde_json::{Value, json};

pub const SECRET: &str = "test secret: 0123456789abcdef0123456789abcdef";
pub const OLD_SECRET: &str = "old test secret: fedcba9876543210fedcba9876543210";

/// The two frameworks under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framework {
    Axum,
    Actix,
}

pub const FRAMEWORKS: [Framework; 2] = [Framework::Axum, Framework::Actix];

/// Which storage the app uses.
#[derive(Clone)]
pub enum Store {
    /// Cookie only (no session backend).
    Cookie,
    /// herald's in-memory sessions, fallback storage.
    Memory(MemorySessions),
    /// herald's in-memory sessions, session storage only.
    MemorySessionOnly(MemorySessions),
    /// tower-sessions' memory store (axum) or actix-session's cookie store (actix).
    Ecosystem,
}

pub fn config() -> herald_flash::ConfigBuilder {
    Config::builder().secret(SECRET)
}

/// Applies the form pairs of `/add`: `level` and `extra` set the level and extra tags of
/// the `text`s that follow; `set_level` sets the request's minimum level.
pub fn apply_adds(messages: &Messages, pairs: &[(String, String)]) -> Vec<String> {
    let mut level = Level::INFO;
    let mut extra = String::new();
    let mut results = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "level" => level = Level(v.parse().expect("level")),
            "extra" => extra = v.clone(),
            "set_level" => {
                messages.set_level(if v.is_empty() {
                    None
                } else {
                    Some(Level(v.parse().expect("level")))
                });
            }
            "text" => results.push(
                match messages.try_add_message(Message::new(level, v).with_extra_tags(&extra)) {
                    Ok(a) => format!("{a:?}"),
                    Err(e) => format!("error: {}", e.to_string().replace(',', ";")),
                },
            ),
            _ => {}
        }
    }
    results
}

/// The JSON the `/show` pages return: the messages (marks them used).
pub fn show(messages: &Messages) -> Value {
    json!(messages.to_vec())
}

/// Copies an [`Unstored`] report into headers a test client can see.
pub fn unstored_headers(u: &Unstored) -> [(&'static str, String); 3] {
    [
        ("x-herald-unstored", u.messages.len().to_string()),
        (
            "x-herald-unstored-texts",
            u.texts().collect::<Vec<_>>().join("|"),
        ),
        (
            "x-herald-unstored-reason",
            u.messages
                .iter()
                .map(|m| m.reason.to_string().replace(['\r', '\n'], " "))
                .collect::<Vec<_>>()
                .join("|"),
        ),
    ]
}

/// A running server.
pub struct Server {
    pub base: String,
    pub addr: SocketAddr,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

fn listener() -> StdListener {
    let l = StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.set_nonblocking(true).expect("nonblocking");
    l
}

pub async fn spawn(framework: Framework, config: Config, store: Store) -> Server {
    match framework {
        Framework::Axum => axum_app::spawn(config, store).await,
        Framework::Actix => actix_app::spawn(config, store),
    }
}

/// A client with a cookie jar that does not follow redirects (tests check the 303).
pub fn client() -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let c = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    (c, jar)
}

/// A client without a cookie jar, for inspecting raw headers.
pub fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// POSTs `/add` with `pairs` and checks the 303 to `/show`.
pub async fn post_add(
    c: &reqwest::Client,
    server: &Server,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    let res = c
        .post(server.url("/add"))
        .form(pairs)
        .send()
        .await
        .expect("POST /add");
    assert_eq!(res.status(), 303, "POST /add answers 303");
    assert_eq!(res.headers()["location"], "/show");
    res
}

/// GETs a page returning JSON.
pub async fn get_json(c: &reqwest::Client, server: &Server, path: &str) -> Value {
    let res = c.get(server.url(path)).send().await.expect("GET");
    assert_eq!(res.status(), 200, "GET {path}");
    res.json().await.expect("json")
}

/// The texts of a `/show` JSON answer.
pub fn texts(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|m| m["message"].as_str().expect("message").to_owned())
        .collect()
}

/// The `Set-Cookie` values of a response for cookie `name`.
pub fn set_cookies(res: &reqwest::Response, name: &str) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .filter(|v| v.starts_with(&format!("{name}=")))
        .collect()
}

/// The value of `name=value; …`.
pub fn cookie_value(line: &str) -> &str {
    line.split(';').next().unwrap().split_once('=').unwrap().1
}

pub fn owned_texts(v: &[OwnedMessage]) -> Vec<&str> {
    v.iter().map(|m| m.message.as_str()).collect()
}

mod axum_app {
    use super::*;
    use axum::extract::Form;
    use axum::http::{HeaderName, HeaderValue};
    use axum::response::{IntoResponse, Json, Redirect, Response};
    use axum::routing::{get, post};
    use axum::{Router, middleware};
    use herald_flash::FailSilently;
    use herald_flash::session::TowerSessions;
    use herald_flash::tower::MessagesLayer;

    async fn add(
        messages: Messages,
        Form(pairs): Form<Vec<(String, String)>>,
    ) -> impl IntoResponse {
        let results = apply_adds(&messages, &pairs).join(",");
        ([("x-add-results", results)], Redirect::to("/show"))
    }
    async fn add_show(messages: Messages, Form(pairs): Form<Vec<(String, String)>>) -> Json<Value> {
        apply_adds(&messages, &pairs);
        Json(show(&messages))
    }
    async fn show_page(messages: Messages) -> Json<Value> {
        Json(show(&messages))
    }
    async fn first(messages: Messages) -> Json<Value> {
        let read = messages.read();
        let first = read.iter().next().map(|m| m.to_owned());
        Json(json!(first.into_iter().collect::<Vec<_>>()))
    }
    async fn count(messages: Messages) -> Json<Value> {
        Json(json!(messages.len()))
    }
    async fn keep(messages: Messages) -> Json<Value> {
        let v = show(&messages);
        messages.keep();
        Json(v)
    }
    async fn plain() -> &'static str {
        "plain"
    }
    async fn level(messages: Messages) -> Json<Value> {
        Json(json!(messages.level().0))
    }
    async fn strict(messages: Messages) -> Json<Value> {
        Json(json!(apply_adds(&messages, &[("text".into(), "x".into())])))
    }
    async fn silent(messages: FailSilently) -> Json<Value> {
        Json(json!(apply_adds(&messages, &[("text".into(), "x".into())])))
    }

    /// Copies the [`Unstored`] report of a response into headers (see [`unstored_headers`]).
    pub async fn report(req: axum::extract::Request, next: middleware::Next) -> Response {
        let mut res = next.run(req).await;
        if let Some(u) = res.extensions().get::<Unstored>().cloned() {
            for (k, v) in unstored_headers(&u) {
                res.headers_mut().insert(
                    HeaderName::from_static(k),
                    HeaderValue::from_str(&v).expect("header"),
                );
            }
        }
        res
    }

    pub fn routes() -> Router {
        Router::new()
            .route("/add", post(add))
            .route("/add-show", post(add_show))
            .route("/show", get(show_page))
            .route("/first", get(first))
            .route("/count", get(count))
            .route("/keep", get(keep))
            .route("/plain", get(plain))
            .route("/level", get(level))
    }

    pub fn app(config: Config, store: Store) -> Router {
        let layered = match store {
            Store::Cookie => routes().layer(MessagesLayer::cookie(config)),
            Store::Memory(m) => routes().layer(MessagesLayer::fallback(config, m)),
            Store::MemorySessionOnly(m) => routes().layer(MessagesLayer::session(config, m)),
            Store::Ecosystem => {
                let sessions = tower_sessions::SessionManagerLayer::new(
                    tower_sessions::MemoryStore::default(),
                )
                .with_secure(false);
                routes()
                    .layer(MessagesLayer::fallback(config, TowerSessions))
                    .layer(sessions)
            }
        };
        layered
            .merge(
                Router::new()
                    .route("/nolayer/strict", post(strict))
                    .route("/nolayer/silent", post(silent)),
            )
            .layer(middleware::from_fn(report))
    }

    /// The app over tower-sessions with any store (memory, Redis), fallback storage.
    pub fn with_tower_sessions<St>(config: Config, store: St) -> Router
    where
        St: tower_sessions::SessionStore + Clone,
    {
        let sessions = tower_sessions::SessionManagerLayer::new(store).with_secure(false);
        routes()
            .layer(MessagesLayer::fallback(config, TowerSessions))
            .layer(sessions)
            .layer(middleware::from_fn(report))
    }

    pub async fn serve(router: Router) -> Server {
        let l = listener();
        let addr = l.local_addr().expect("addr");
        let l = tokio::net::TcpListener::from_std(l).expect("tokio listener");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(l, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
        });
        Server {
            base: format!("http://{addr}"),
            addr,
            stop: Some(Box::new(move || {
                let _ = tx.send(());
            })),
        }
    }

    pub async fn spawn(config: Config, store: Store) -> Server {
        serve(app(config, store)).await
    }
}

#[allow(unused_imports)]
pub use actix_app::serve as serve_actix;
#[allow(unused_imports)]
pub use axum_app::{report as axum_report, serve as serve_axum, with_tower_sessions};

mod actix_app {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};
    use actix_web::{App, HttpResponse, HttpServer, web};
    use herald_flash::FailSilently;
    use herald_flash::actix::MessagesMiddleware;
    use herald_flash::session::ActixSessions;

    async fn add(messages: Messages, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
        let results = apply_adds(&messages, &form).join(",");
        HttpResponse::SeeOther()
            .insert_header(("location", "/show"))
            .insert_header(("x-add-results", results))
            .finish()
    }
    async fn add_show(messages: Messages, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
        apply_adds(&messages, &form);
        HttpResponse::Ok().json(show(&messages))
    }
    async fn show_page(messages: Messages) -> HttpResponse {
        HttpResponse::Ok().json(show(&messages))
    }
    async fn first(messages: Messages) -> HttpResponse {
        let read = messages.read();
        let first = read.iter().next().map(|m| m.to_owned());
        HttpResponse::Ok().json(json!(first.into_iter().collect::<Vec<_>>()))
    }
    async fn count(messages: Messages) -> HttpResponse {
        HttpResponse::Ok().json(json!(messages.len()))
    }
    async fn keep(messages: Messages) -> HttpResponse {
        let v = show(&messages);
        messages.keep();
        HttpResponse::Ok().json(v)
    }
    async fn plain() -> &'static str {
        "plain"
    }
    async fn level(messages: Messages) -> HttpResponse {
        HttpResponse::Ok().json(json!(messages.level().0))
    }
    async fn strict(messages: Messages) -> HttpResponse {
        HttpResponse::Ok().json(json!(apply_adds(&messages, &[("text".into(), "x".into())])))
    }
    async fn silent(messages: FailSilently) -> HttpResponse {
        HttpResponse::Ok().json(json!(apply_adds(&messages, &[("text".into(), "x".into())])))
    }

    fn routes(cfg: &mut web::ServiceConfig) {
        cfg.route("/add", web::post().to(add))
            .route("/add-show", web::post().to(add_show))
            .route("/show", web::get().to(show_page))
            .route("/first", web::get().to(first))
            .route("/count", web::get().to(count))
            .route("/keep", web::get().to(keep))
            .route("/plain", web::get().to(plain))
            .route("/level", web::get().to(level));
    }

    pub fn spawn(config: Config, store: Store) -> Server {
        serve(move |cfg| {
            let config = config.clone();
            let nolayer = web::scope("/nolayer")
                .route("/strict", web::post().to(strict))
                .route("/silent", web::post().to(silent));
            cfg.service(nolayer);
            match &store {
                Store::Cookie => {
                    cfg.service(
                        web::scope("")
                            .wrap(MessagesMiddleware::cookie(config))
                            .configure(routes),
                    );
                }
                Store::Memory(m) => {
                    cfg.service(
                        web::scope("")
                            .wrap(MessagesMiddleware::fallback(config, m.clone()))
                            .configure(routes),
                    );
                }
                Store::MemorySessionOnly(m) => {
                    cfg.service(
                        web::scope("")
                            .wrap(MessagesMiddleware::session(config, m.clone()))
                            .configure(routes),
                    );
                }
                Store::Ecosystem => {
                    let key = actix_web::cookie::Key::from(&[7u8; 64]);
                    let sessions = actix_session::SessionMiddleware::builder(
                        actix_session::storage::CookieSessionStore::default(),
                        key,
                    )
                    .cookie_secure(false)
                    .build();
                    cfg.service(
                        web::scope("")
                            .wrap(MessagesMiddleware::fallback(config, ActixSessions))
                            .wrap(sessions)
                            .configure(routes),
                    );
                }
            }
        })
    }

    /// Serves the actix-web app that `configure` sets up (called once per worker, with the
    /// [`Unstored`] report copied into headers) on a free loopback port, in its own thread.
    pub fn serve<F>(configure: F) -> Server
    where
        F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let l = listener();
        let addr = l.local_addr().expect("addr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    let report = |req, srv: &_| {
                        let fut = actix_web::dev::Service::call(srv, req);
                        async move {
                            let mut res: actix_web::dev::ServiceResponse = fut.await?;
                            let u = res.response().extensions().get::<Unstored>().cloned();
                            if let Some(u) = u {
                                for (k, v) in unstored_headers(&u) {
                                    res.headers_mut().insert(
                                        HeaderName::from_static(k),
                                        HeaderValue::from_str(&v).expect("header"),
                                    );
                                }
                            }
                            Ok::<_, actix_web::Error>(res)
                        }
                    };
                    App::new().wrap_fn(report).configure(configure.clone())
                })
                .workers(1)
                .disable_signals()
                .listen(l)
                .expect("listen")
                .run();
                tx.send(server.handle()).expect("handle");
                server.await.expect("actix server");
            });
        });
        let handle = rx.recv().expect("server handle");
        Server {
            base: format!("http://{addr}"),
            addr,
            stop: Some(Box::new(move || {
                drop(handle.stop(false));
            })),
        }
    }
}
