//! Test support: the same small app for axum and actix-web, served on 127.0.0.1, a real
//! HTTP client with a cookie jar, a real `redis-server` harness, and the rule for live
//! tests whose tool is missing ([`live`]).
#![allow(dead_code)]

pub mod live;
pub mod redis;

use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use herald_flash::session::{MemorySessions, SessionBackend, SessionError};
use herald_flash::{Config, Level, Message, Messages, OwnedMessage, Storage, Unstored};
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

impl Store {
    /// The storage and backend this shorthand stands for on `framework`.
    fn parts(self, framework: Framework) -> (Storage, Option<Backend>) {
        match self {
            Store::Cookie => (Storage::Cookie, None),
            Store::Memory(m) => (Storage::Fallback, Some(Backend::Memory(m))),
            Store::MemorySessionOnly(m) => (Storage::Session, Some(Backend::Memory(m))),
            Store::Ecosystem => (Storage::Fallback, Some(Backend::ecosystem(framework))),
        }
    }
}

/// A session backend for [`spawn_with`]. Clones share their sessions, so servers started
/// with clones of one backend see the same sessions (through the client's cookie jar).
#[derive(Clone)]
pub enum Backend {
    /// herald's in-process [`MemorySessions`] (both frameworks; session cookie
    /// `herald_session`).
    Memory(MemorySessions),
    /// tower-sessions' `MemoryStore` behind its `SessionManagerLayer` (axum; cookie `id`).
    TowerMemory(tower_sessions_0_14::MemoryStore),
    /// actix-session's `CookieSessionStore` behind its `SessionMiddleware` (actix-web;
    /// cookie `id`): the session travels in the client's cookie, sealed with one fixed key,
    /// so every server built with it shares sessions.
    ActixCookie,
    /// tower-sessions-redis-store over a real `redis-server` (axum; cookie `id`).
    Redis(herald_flash::redis::Store),
    /// actix-session's `RedisSessionStore` over a real `redis-server` (actix-web; cookie
    /// `id`).
    ActixRedis(actix_session_0_10::storage::RedisSessionStore),
    /// A backend whose every call fails (both frameworks; no session cookie).
    Failing(FailingSessions),
}

impl Backend {
    /// The session store of `framework`'s own ecosystem, in memory.
    pub fn ecosystem(framework: Framework) -> Self {
        match framework {
            Framework::Axum => Backend::TowerMemory(tower_sessions_0_14::MemoryStore::default()),
            Framework::Actix => Backend::ActixCookie,
        }
    }

    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Memory(_) => "herald MemorySessions",
            Backend::TowerMemory(_) => "tower-sessions MemoryStore",
            Backend::ActixCookie => "actix-session CookieSessionStore",
            Backend::Redis(_) => "tower-sessions-redis-store",
            Backend::ActixRedis(_) => "actix-session RedisSessionStore",
            Backend::Failing(_) => "failing backend",
        }
    }

    /// The name of the cookie that carries the session, if the backend issues one.
    pub fn session_cookie(&self) -> Option<&'static str> {
        match self {
            Backend::Memory(_) => Some("herald_session"),
            Backend::TowerMemory(_)
            | Backend::ActixCookie
            | Backend::Redis(_)
            | Backend::ActixRedis(_) => Some("id"),
            Backend::Failing(_) => None,
        }
    }

    /// Whether `framework` can use this backend.
    pub fn runs_on(&self, framework: Framework) -> bool {
        match self {
            Backend::Memory(_) | Backend::Failing(_) => true,
            Backend::TowerMemory(_) | Backend::Redis(_) => framework == Framework::Axum,
            Backend::ActixCookie | Backend::ActixRedis(_) => framework == Framework::Actix,
        }
    }
}

/// A session source whose sessions fail every call (get, set, remove) at once with a
/// backend error, as a store that is down would; counts the calls. Both frameworks.
#[derive(Clone, Debug, Default)]
pub struct FailingSessions {
    calls: Arc<AtomicUsize>,
}

impl FailingSessions {
    /// How many session calls were made (and failed).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn session(&self) -> FailingSession {
        FailingSession {
            calls: self.calls.clone(),
        }
    }
}

/// One request's session of [`FailingSessions`].
#[derive(Debug)]
pub struct FailingSession {
    calls: Arc<AtomicUsize>,
}

impl FailingSession {
    fn fail(&self) -> SessionError {
        self.calls.fetch_add(1, Ordering::SeqCst);
        SessionError::backend(std::io::Error::other("the test session backend is down"))
    }
}

impl SessionBackend for FailingSession {
    async fn get(&self, _: &str) -> Result<Option<Vec<u8>>, SessionError> {
        Err(self.fail())
    }
    async fn set(&self, _: &str, _: Vec<u8>) -> Result<(), SessionError> {
        Err(self.fail())
    }
    async fn remove(&self, _: &str) -> Result<(), SessionError> {
        Err(self.fail())
    }
}

impl herald_flash::tower::TowerSessionSource for FailingSessions {
    type Session = FailingSession;
    fn session(
        &self,
        _: &http::HeaderMap,
        _: &http::Extensions,
    ) -> Result<FailingSession, SessionError> {
        Ok(FailingSessions::session(self))
    }
}

impl herald_flash::actix::ActixSessionSource for FailingSessions {
    type Session = FailingSession;
    fn session(&self, _: &actix_web::HttpRequest) -> Result<FailingSession, SessionError> {
        Ok(FailingSessions::session(self))
    }
}

pub fn config() -> herald_flash::ConfigBuilder {
    Config::builder().secret(SECRET)
}

/// Applies the form pairs of `/add`: `level` and `extra` set the level and extra tags of
/// the `text`s that follow; `set_level` sets the request's minimum level; `expiring` adds
/// a message that expires in `ttl` seconds (`Messages::add_expiring`, RULES; `ttl`
/// is set by a `ttl` pair before it).
pub fn apply_adds(messages: &Messages, pairs: &[(String, String)]) -> Vec<String> {
    let mut level = Level::INFO;
    let mut extra = String::new();
    let mut ttl = 0;
    let mut results = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "level" => level = Level(v.parse().expect("level")),
            "extra" => extra = v.clone(),
            "ttl" => ttl = v.parse().expect("ttl in seconds"),
            "expiring" => {
                messages.add_expiring(level, v, std::time::Duration::from_secs(ttl));
                results.push("expiring".to_owned());
            }
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

/// A message text of `len` bytes (at least), numbered `i` at the start so that order
/// shows: `message 03 defgh…`.
pub fn long_text(i: usize, len: usize) -> String {
    let mut s = format!("message {i:02} ");
    while s.len() < len {
        s.push(char::from(b'a' + (s.len() % 26) as u8));
    }
    s
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
    let (storage, backend) = store.parts(framework);
    spawn_with(framework, config, storage, backend).await
}

/// Serves the test app on `framework` with `storage` over `backend` (`None` for cookie
/// storage, which has no backend). Panics on a combination that cannot exist (a backend of
/// the other framework, cookie storage with a backend, or a session storage without one).
pub async fn spawn_with(
    framework: Framework,
    config: Config,
    storage: Storage,
    backend: Option<Backend>,
) -> Server {
    match (&backend, storage) {
        (None, Storage::Cookie) => {}
        (Some(b), Storage::Session | Storage::Fallback) => assert!(
            b.runs_on(framework),
            "{} does not run on {framework:?}",
            b.name()
        ),
        (b, s) => panic!(
            "no such combination: {s:?} storage over {}",
            b.as_ref().map_or("no backend", Backend::name)
        ),
    }
    match framework {
        Framework::Axum => axum_app::serve(axum_app::app(config, storage, backend)).await,
        Framework::Actix => actix_app::spawn(config, storage, backend),
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
    use herald_flash::session::tower_sessions_0_14::TowerSessions;
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

    /// The app with `storage` over `backend` (checked by [`super::spawn_with`]), with the
    /// routes outside the layer and the [`Unstored`] report.
    pub fn app(config: Config, storage: Storage, backend: Option<Backend>) -> Router {
        let layered = match backend {
            None => routes().layer(MessagesLayer::cookie(config)),
            Some(Backend::Memory(m)) => {
                routes().layer(MessagesLayer::with_storage(config, storage, m))
            }
            Some(Backend::Failing(f)) => {
                routes().layer(MessagesLayer::with_storage(config, storage, f))
            }
            Some(Backend::TowerMemory(store)) => tower_sessions_routes(config, storage, store),
            Some(Backend::Redis(store)) => tower_sessions_routes(config, storage, store),
            Some(Backend::ActixCookie | Backend::ActixRedis(_)) => {
                unreachable!("checked by spawn_with")
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

    /// The routes behind herald's layer with `storage` over tower-sessions with `store`.
    fn tower_sessions_routes<St>(config: Config, storage: Storage, store: St) -> Router
    where
        St: tower_sessions_0_14::SessionStore + Clone,
    {
        let sessions = tower_sessions_0_14::SessionManagerLayer::new(store).with_secure(false);
        routes()
            .layer(MessagesLayer::with_storage(config, storage, TowerSessions))
            .layer(sessions)
    }

    /// The app over tower-sessions with any store (memory, Redis), fallback storage.
    pub fn with_tower_sessions<St>(config: Config, store: St) -> Router
    where
        St: tower_sessions_0_14::SessionStore + Clone,
    {
        tower_sessions_routes(config, Storage::Fallback, store).layer(middleware::from_fn(report))
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
    use herald_flash::session::actix_session_0_10::ActixSessions;

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

    /// The app with `storage` over `backend` (checked by [`super::spawn_with`]).
    pub fn spawn(config: Config, storage: Storage, backend: Option<Backend>) -> Server {
        serve(move |cfg| {
            let config = config.clone();
            let nolayer = web::scope("/nolayer")
                .route("/strict", web::post().to(strict))
                .route("/silent", web::post().to(silent));
            cfg.service(nolayer);
            let scope = web::scope("");
            match &backend {
                None => {
                    cfg.service(
                        scope
                            .wrap(MessagesMiddleware::cookie(config))
                            .configure(routes),
                    );
                }
                Some(Backend::Memory(m)) => {
                    cfg.service(
                        scope
                            .wrap(MessagesMiddleware::with_storage(config, storage, m.clone()))
                            .configure(routes),
                    );
                }
                Some(Backend::Failing(f)) => {
                    cfg.service(
                        scope
                            .wrap(MessagesMiddleware::with_storage(config, storage, f.clone()))
                            .configure(routes),
                    );
                }
                Some(Backend::ActixCookie) => {
                    let key = actix_web::cookie::Key::from(&[7u8; 64]);
                    let sessions = actix_session_0_10::SessionMiddleware::builder(
                        actix_session_0_10::storage::CookieSessionStore::default(),
                        key,
                    )
                    .cookie_secure(false)
                    .build();
                    cfg.service(
                        scope
                            .wrap(MessagesMiddleware::with_storage(
                                config,
                                storage,
                                ActixSessions,
                            ))
                            .wrap(sessions)
                            .configure(routes),
                    );
                }
                Some(Backend::ActixRedis(store)) => {
                    let key = actix_web::cookie::Key::from(&[7u8; 64]);
                    let sessions =
                        actix_session_0_10::SessionMiddleware::builder(store.clone(), key)
                            .cookie_secure(false)
                            .build();
                    cfg.service(
                        scope
                            .wrap(MessagesMiddleware::with_storage(
                                config,
                                storage,
                                ActixSessions,
                            ))
                            .wrap(sessions)
                            .configure(routes),
                    );
                }
                Some(Backend::TowerMemory(_) | Backend::Redis(_)) => {
                    unreachable!("checked by spawn_with")
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
