//! The adapter workload, the same for herald and every peer: one full request cycle,
//! in process (the service is called directly, no sockets).
//!
//! * request 1: `POST /add` adds N success messages (the texts of [`texts`]) and answers
//!   `303 See Other` to `/show`;
//! * request 2: `GET /show` carries the cookies of response 1 and renders the messages'
//!   texts into the body, one per line.
//!
//! A small cookie jar carries cookies from one response to the next request, as a browser
//! would: a session cookie (axum-messages) stays, a removal cookie removes. The bare rows
//! (no flash layer) are the floors: their `POST` only redirects and their `GET` renders the
//! same texts from memory, so a row's overhead above its floor is the flash layer alone.
//!
//! [`Client::check`] proves, before anything is timed, that a row delivers every message
//! exactly once; [`Client::cycle`] is what the benchmark times.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use crate::alloc_count;
use crate::texts;

/// One row of the adapters table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    /// axum 0.8 with no flash layer: the floor of the axum 0.8 rows.
    AxumBare,
    /// The axum 0.8 floor behind an identity layer (`tower::util::MapRequestLayer`): what
    /// axum charges for any `Router::layer` (it boxes each route), for reference.
    AxumNoopLayer,
    /// herald's tower layer (`herald_flash::tower::MessagesLayer`, cookie storage) on axum 0.8.
    HeraldAxum,
    /// axum-messages 0.8 over tower-sessions 0.14 with its `MemoryStore`.
    AxumMessages,
    /// axum 0.7 with no flash layer: the floor of axum-flash, which is built on axum 0.7.
    Axum07Bare,
    /// axum-flash 0.8 (signed cookie), on axum 0.7.
    AxumFlash,
    /// actix-web 4 with no flash layer: the floor of the actix rows.
    ActixBare,
    /// herald's actix-web middleware (`herald_flash::actix::MessagesMiddleware`, cookie storage).
    HeraldActix,
    /// actix-web-flash-messages 0.5 with its signed-cookie store.
    ActixWebFlashMessages,
}

impl Row {
    /// Every row, floors first within each framework.
    pub const ALL: &'static [Row] = &[
        Row::AxumBare,
        Row::AxumNoopLayer,
        Row::HeraldAxum,
        Row::AxumMessages,
        Row::Axum07Bare,
        Row::AxumFlash,
        Row::ActixBare,
        Row::HeraldActix,
        Row::ActixWebFlashMessages,
    ];

    /// The row's name, as used in criterion's benchmark ids (`adapters/<name>/<n>`).
    pub fn name(self) -> &'static str {
        match self {
            Row::AxumBare => "axum_bare",
            Row::AxumNoopLayer => "axum_noop_layer",
            Row::HeraldAxum => "herald_axum",
            Row::AxumMessages => "axum_messages",
            Row::Axum07Bare => "axum07_bare",
            Row::AxumFlash => "axum_flash",
            Row::ActixBare => "actix_bare",
            Row::HeraldActix => "herald_actix",
            Row::ActixWebFlashMessages => "actix_web_flash_messages",
        }
    }

    /// A longer description for the report.
    pub fn describe(self) -> &'static str {
        match self {
            Row::AxumBare => "bare axum 0.8 handlers (floor)",
            Row::AxumNoopLayer => "bare axum 0.8 + an identity layer (axum's cost of any layer)",
            Row::HeraldAxum => "herald tower layer on axum 0.8 (signed cookie)",
            Row::AxumMessages => "axum-messages 0.8 + tower-sessions 0.14 MemoryStore",
            Row::Axum07Bare => "bare axum 0.7 handlers (floor of axum-flash)",
            Row::AxumFlash => "axum-flash 0.8 (axum 0.7, signed cookie)",
            Row::ActixBare => "bare actix-web 4 handlers (floor)",
            Row::HeraldActix => "herald actix-web middleware (signed cookie)",
            Row::ActixWebFlashMessages => "actix-web-flash-messages 0.5 (signed cookie store)",
        }
    }

    /// The bare row this row's overhead is measured above; `None` for a floor.
    pub fn floor(self) -> Option<Row> {
        match self {
            Row::AxumBare | Row::Axum07Bare | Row::ActixBare => None,
            Row::AxumNoopLayer | Row::HeraldAxum | Row::AxumMessages => Some(Row::AxumBare),
            Row::AxumFlash => Some(Row::Axum07Bare),
            Row::HeraldActix | Row::ActixWebFlashMessages => Some(Row::ActixBare),
        }
    }

    /// Whether the row is a flash-message layer that must deliver each message once (the
    /// floors and the identity layer render the texts on every `GET`).
    pub fn is_flash(self) -> bool {
        self.floor().is_some() && self != Row::AxumNoopLayer
    }

    /// A client for this row with `n` messages per cycle, on its own runtime and app.
    pub fn client(self, n: usize) -> Client {
        let texts: &'static [String] = Box::leak(texts(n).into_boxed_slice());
        let driver: Box<dyn Driver> = match self {
            Row::AxumBare => Box::new(TowerDriver::<_, axum::body::Body>::new(axum_apps::bare(
                texts,
            ))),
            Row::AxumNoopLayer => Box::new(TowerDriver::<_, axum::body::Body>::new(
                axum_apps::bare(texts).layer(tower::util::MapRequestLayer::new(
                    |r: http::Request<axum::body::Body>| r,
                )),
            )),
            Row::HeraldAxum => Box::new(TowerDriver::<_, axum::body::Body>::new(
                axum_apps::herald(texts),
            )),
            Row::AxumMessages => Box::new(TowerDriver::<_, axum::body::Body>::new(
                axum_apps::axum_messages(texts),
            )),
            Row::Axum07Bare => Box::new(TowerDriver::<_, axum07::body::Body>::new(
                axum07_apps::bare(texts),
            )),
            Row::AxumFlash => Box::new(TowerDriver::<_, axum07::body::Body>::new(
                axum07_apps::axum_flash(texts),
            )),
            Row::ActixBare => actix_apps::bare(texts),
            Row::HeraldActix => actix_apps::herald(texts),
            Row::ActixWebFlashMessages => actix_apps::flash_messages(texts),
        };
        Client {
            row: self,
            driver,
            jar: Jar::default(),
            expected: render(texts.iter().map(String::as_str)),
        }
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Renders message texts the way every `GET /show` handler does: each text and a newline.
pub fn render<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    let mut body = String::new();
    for t in texts {
        body.push_str(t);
        body.push('\n');
    }
    body
}

/// The 64-byte master key the cookie-signing peers are given.
pub const PEER_KEY: [u8; 64] = *b"benchmark key benchmark key benchmark key benchmark key 64 bytes";

/// The secret herald's rows sign with.
pub const HERALD_SECRET: &str = "benchmark secret benchmark secret!";

/// A response as the client sees it.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The whole body.
    pub body: Bytes,
    /// The time the server side took: the service call and the reading of the body (the
    /// segment the allocation counter counts), without building the request or applying
    /// the cookies to the jar, which is the client's work.
    pub server: Duration,
}

/// One request/response exchange with an app, applying `Set-Cookie` to the jar.
pub trait Driver {
    /// Sends `POST /add` (if `post`) or `GET /show` with the jar's cookies.
    fn send(&mut self, post: bool, jar: &mut Jar) -> Reply;
}

/// A browser's cookie jar, reduced to what the workload needs: name → value, removal by
/// an empty value or `Max-Age` ≤ 0. Steady-state updates reuse the stored strings.
#[derive(Default, Debug)]
pub struct Jar {
    cookies: Vec<(String, String)>,
    header: String,
    /// When set, every `Set-Cookie` header value applied is also recorded here.
    pub record: Option<Vec<String>>,
}

impl Jar {
    /// The `Cookie` request header for the cookies held, or `None` when empty.
    pub fn header(&mut self) -> Option<&str> {
        if self.cookies.is_empty() {
            return None;
        }
        self.header.clear();
        for (i, (name, value)) in self.cookies.iter().enumerate() {
            if i > 0 {
                self.header.push_str("; ");
            }
            self.header.push_str(name);
            self.header.push('=');
            self.header.push_str(value);
        }
        Some(&self.header)
    }

    /// Applies one `Set-Cookie` header value.
    pub fn apply(&mut self, set_cookie: &[u8]) {
        let Ok(text) = std::str::from_utf8(set_cookie) else {
            return;
        };
        if let Some(record) = &mut self.record {
            record.push(text.to_owned());
        }
        let mut parts = text.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let (name, value) = (name.trim(), value.trim());
        let expired = parts.any(|attr| {
            attr.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("max-age")
                    && v.trim().parse::<i64>().is_ok_and(|s| s <= 0)
            })
        });
        let slot = self.cookies.iter().position(|(n, _)| n == name);
        match (slot, expired || value.is_empty()) {
            (Some(i), true) => {
                self.cookies.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => {
                let v = &mut self.cookies[i].1;
                v.clear();
                v.push_str(value);
            }
            (None, false) => self.cookies.push((name.to_owned(), value.to_owned())),
        }
    }

    /// The names of the cookies held.
    pub fn names(&self) -> Vec<&str> {
        self.cookies.iter().map(|(n, _)| n.as_str()).collect()
    }
}

/// A client of one row's app: a driver and a cookie jar.
pub struct Client {
    row: Row,
    driver: Box<dyn Driver>,
    jar: Jar,
    expected: String,
}

/// What [`Client::check`] established about a row.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The `Set-Cookie` header values of the first `POST` (fresh jar).
    pub post_set_cookie: Vec<String>,
}

impl Client {
    /// The row.
    pub fn row(&self) -> Row {
        self.row
    }

    /// Sends `POST /add`.
    pub fn post(&mut self) -> Reply {
        self.driver.send(true, &mut self.jar)
    }

    /// Sends `GET /show`.
    pub fn get(&mut self) -> Reply {
        self.driver.send(false, &mut self.jar)
    }

    /// One timed cycle: `POST /add` then `GET /show`; returns the `GET` body's length.
    pub fn cycle(&mut self) -> usize {
        let a = self.post();
        let b = self.get();
        a.body.len() + b.body.len()
    }

    /// One cycle, returning the server side's time only ([`Reply::server`] of both
    /// requests): what the overhead tables compare.
    pub fn server_cycle(&mut self) -> Duration {
        let a = self.post();
        let b = self.get();
        a.server + b.server
    }

    /// Proves the row works before it is timed: from a fresh jar, `POST` answers 303, the
    /// next `GET` renders exactly the N texts, and (for a flash row) a second `GET` renders
    /// none of them; then three more cycles each deliver the N texts again. Returns the
    /// first `POST`'s `Set-Cookie` header values.
    pub fn check(&mut self) -> Result<Checked, String> {
        let row = self.row;
        self.jar = Jar {
            record: Some(Vec::new()),
            ..Jar::default()
        };
        let post = self.post();
        if post.status != 303 {
            return Err(format!("{row}: POST answered {}, not 303", post.status));
        }
        let post_set_cookie = self.jar.record.take().unwrap_or_default();
        for round in 0..4 {
            if round > 0 {
                let post = self.post();
                if post.status != 303 {
                    return Err(format!("{row}: POST answered {}", post.status));
                }
            }
            let get = self.get();
            let body = std::str::from_utf8(&get.body).map_err(|e| e.to_string())?;
            if get.status != 200 || body != self.expected {
                return Err(format!(
                    "{row} round {round}: GET answered {} with body {:?}, expected {:?} (jar {:?})",
                    get.status,
                    truncated(body),
                    truncated(&self.expected),
                    self.jar.names()
                ));
            }
            if row.is_flash() {
                let again = self.get();
                let body = String::from_utf8_lossy(&again.body);
                if again.status != 200 || body.contains("Message 000") {
                    return Err(format!(
                        "{row} round {round}: a second GET answered {} with {:?}: not read-once",
                        again.status,
                        truncated(&body)
                    ));
                }
            }
        }
        Ok(Checked { post_set_cookie })
    }
}

fn truncated(s: &str) -> String {
    s.chars().take(200).collect()
}

/// Drives any tower service over `http` 1 requests (axum 0.8 and 0.7 routers).
struct TowerDriver<S, B> {
    rt: tokio::runtime::Runtime,
    svc: S,
    _body: PhantomData<fn() -> B>,
}

impl<S, B> TowerDriver<S, B> {
    fn new(svc: S) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        TowerDriver {
            rt,
            svc,
            _body: PhantomData,
        }
    }
}

impl<S, B, RB> Driver for TowerDriver<S, B>
where
    S: tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone,
    S::Error: fmt::Debug,
    B: Default,
    RB: http_body::Body,
    RB::Error: fmt::Debug,
{
    fn send(&mut self, post: bool, jar: &mut Jar) -> Reply {
        let mut req = http::Request::builder()
            .method(if post {
                http::Method::POST
            } else {
                http::Method::GET
            })
            .uri(if post { "/add" } else { "/show" });
        if let Some(cookie) = jar.header() {
            req = req.header(http::header::COOKIE, cookie);
        }
        let req = req.body(B::default()).expect("a valid request");
        let svc = self.svc.clone();
        alloc_count::resume();
        let started = Instant::now();
        let (parts, body) = self.rt.block_on(async move {
            let res = svc.oneshot(req).await.expect("the service answers");
            let (parts, body) = res.into_parts();
            let body = body.collect().await.expect("the body").to_bytes();
            (parts, body)
        });
        let server = started.elapsed();
        alloc_count::pause();
        for v in parts.headers.get_all(http::header::SET_COOKIE) {
            jar.apply(v.as_bytes());
        }
        Reply {
            status: parts.status.as_u16(),
            body,
            server,
        }
    }
}

/// The axum 0.8 apps: the floor and axum-messages.
mod axum_apps {
    use axum::Router;
    use axum::extract::State;
    use axum::response::Redirect;
    use axum::routing::{get, post};
    use tower_sessions::{MemoryStore, SessionManagerLayer};

    use super::{HERALD_SECRET, render};

    type Texts = &'static [String];

    pub(super) fn bare(texts: Texts) -> Router {
        async fn add() -> Redirect {
            Redirect::to("/show")
        }
        async fn show(State(texts): State<Texts>) -> String {
            render(texts.iter().map(String::as_str))
        }
        Router::new()
            .route("/add", post(add))
            .route("/show", get(show))
            .with_state(texts)
    }

    pub(super) fn herald(texts: Texts) -> Router {
        use herald_flash::Messages;
        use herald_flash::tower::MessagesLayer;
        async fn add(State(texts): State<Texts>, messages: Messages) -> Redirect {
            for t in texts {
                messages.success(t);
            }
            Redirect::to("/show")
        }
        async fn show(messages: Messages) -> String {
            render(messages.read().iter().map(|m| m.message()))
        }
        let config = herald_flash::Config::builder()
            .secret(HERALD_SECRET)
            .build()
            .expect("a valid configuration");
        Router::new()
            .route("/add", post(add))
            .route("/show", get(show))
            .layer(MessagesLayer::cookie(config))
            .with_state(texts)
    }

    pub(super) fn axum_messages(texts: Texts) -> Router {
        use axum_messages::{Messages, MessagesManagerLayer};
        async fn add(State(texts): State<Texts>, mut messages: Messages) -> Redirect {
            for t in texts {
                messages = messages.success(t.as_str());
            }
            Redirect::to("/show")
        }
        async fn show(messages: Messages) -> String {
            let mut body = String::new();
            for m in messages {
                body.push_str(&m.message);
                body.push('\n');
            }
            body
        }
        Router::new()
            .route("/add", post(add))
            .route("/show", get(show))
            .layer(MessagesManagerLayer)
            .layer(SessionManagerLayer::new(MemoryStore::default()))
            .with_state(texts)
    }
}

/// The axum 0.7 apps: the floor and axum-flash.
mod axum07_apps {
    use axum_flash::{Config, Flash, IncomingFlashes, Key};
    use axum07::Router;
    use axum07::extract::{FromRef, State};
    use axum07::response::Redirect;
    use axum07::routing::{get, post};

    use super::{PEER_KEY, render};

    type Texts = &'static [String];

    pub(super) fn bare(texts: Texts) -> Router {
        async fn add() -> Redirect {
            Redirect::to("/show")
        }
        async fn show(State(texts): State<Texts>) -> String {
            render(texts.iter().map(String::as_str))
        }
        Router::new()
            .route("/add", post(add))
            .route("/show", get(show))
            .with_state(texts)
    }

    #[derive(Clone)]
    struct AppState {
        texts: Texts,
        flash: Config,
    }

    impl FromRef<AppState> for Config {
        fn from_ref(state: &AppState) -> Config {
            state.flash.clone()
        }
    }

    pub(super) fn axum_flash(texts: Texts) -> Router {
        async fn add(State(state): State<AppState>, mut flash: Flash) -> (Flash, Redirect) {
            for t in state.texts {
                flash = flash.success(t.as_str());
            }
            (flash, Redirect::to("/show"))
        }
        async fn show(flashes: IncomingFlashes) -> (IncomingFlashes, String) {
            let body = render(flashes.iter().map(|(_, text)| text));
            (flashes, body)
        }
        Router::new()
            .route("/add", post(add))
            .route("/show", get(show))
            .with_state(AppState {
                texts,
                flash: Config::new(Key::from(&PEER_KEY)),
            })
    }
}

/// The actix-web apps: the floor and actix-web-flash-messages.
mod actix_apps {
    use actix_web::body::MessageBody;
    use actix_web::dev::{Service, ServiceResponse};
    use actix_web::http::header;
    use actix_web::{App, HttpResponse, test, web};

    use std::time::Instant;

    use super::{Driver, HERALD_SECRET, Jar, PEER_KEY, Reply, render};
    use crate::alloc_count;

    type Texts = &'static [String];

    struct ActixDriver<S> {
        sys: actix_web::rt::SystemRunner,
        svc: S,
    }

    impl<S, B> Driver for ActixDriver<S>
    where
        S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
        B: MessageBody,
    {
        fn send(&mut self, post: bool, jar: &mut Jar) -> Reply {
            let mut req = if post {
                test::TestRequest::post().uri("/add")
            } else {
                test::TestRequest::get().uri("/show")
            };
            if let Some(cookie) = jar.header() {
                req = req.insert_header((header::COOKIE, cookie));
            }
            let req = req.to_request();
            let svc = &self.svc;
            alloc_count::resume();
            self.sys.block_on(async move {
                let started = Instant::now();
                let res = test::call_service(svc, req).await;
                let mut server = started.elapsed();
                alloc_count::pause();
                let status = res.status().as_u16();
                for v in res.headers().get_all(header::SET_COOKIE) {
                    jar.apply(v.as_bytes());
                }
                alloc_count::resume();
                let started = Instant::now();
                let body = test::read_body(res).await;
                server += started.elapsed();
                alloc_count::pause();
                Reply {
                    status,
                    body,
                    server,
                }
            })
        }
    }

    fn see_other() -> HttpResponse {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/show"))
            .finish()
    }

    pub(super) fn bare(texts: Texts) -> Box<dyn Driver> {
        async fn add() -> HttpResponse {
            see_other()
        }
        async fn show(texts: web::Data<Texts>) -> String {
            render(texts.iter().map(String::as_str))
        }
        let sys = actix_web::rt::System::new();
        let svc = sys.block_on(test::init_service(
            App::new()
                .app_data(web::Data::new(texts))
                .route("/add", web::post().to(add))
                .route("/show", web::get().to(show)),
        ));
        Box::new(ActixDriver { sys, svc })
    }

    pub(super) fn herald(texts: Texts) -> Box<dyn Driver> {
        use herald_flash::Messages;
        use herald_flash::actix::MessagesMiddleware;
        async fn add(texts: web::Data<Texts>, messages: Messages) -> HttpResponse {
            for t in texts.iter() {
                messages.success(t);
            }
            see_other()
        }
        async fn show(messages: Messages) -> String {
            render(messages.read().iter().map(|m| m.message()))
        }
        let config = herald_flash::Config::builder()
            .secret(HERALD_SECRET)
            .build()
            .expect("a valid configuration");
        let middleware = MessagesMiddleware::cookie(config);
        let sys = actix_web::rt::System::new();
        let svc = sys.block_on(test::init_service(
            App::new()
                .wrap(middleware)
                .app_data(web::Data::new(texts))
                .route("/add", web::post().to(add))
                .route("/show", web::get().to(show)),
        ));
        Box::new(ActixDriver { sys, svc })
    }

    pub(super) fn flash_messages(texts: Texts) -> Box<dyn Driver> {
        use actix_web::cookie::Key;
        use actix_web_flash_messages::storage::CookieMessageStore;
        use actix_web_flash_messages::{
            FlashMessage, FlashMessagesFramework, IncomingFlashMessages,
        };
        async fn add(texts: web::Data<Texts>) -> HttpResponse {
            for t in texts.iter() {
                FlashMessage::success(t.as_str()).send();
            }
            see_other()
        }
        async fn show(messages: IncomingFlashMessages) -> String {
            render(messages.iter().map(|m| m.content()))
        }
        let store = CookieMessageStore::builder(Key::from(&PEER_KEY)).build();
        let framework = FlashMessagesFramework::builder(store).build();
        let sys = actix_web::rt::System::new();
        let svc = sys.block_on(test::init_service(
            App::new()
                .wrap(framework)
                .app_data(web::Data::new(texts))
                .route("/add", web::post().to(add))
                .route("/show", web::get().to(show)),
        ));
        Box::new(ActixDriver { sys, svc })
    }
}

/// Heap allocations of one row, per request, averaged over the measured cycles (counted
/// on the server side only: the service call and the reading of the response body).
#[derive(Debug, Clone, Copy, Default)]
pub struct Allocs {
    /// Allocations per `POST /add`.
    pub post: f64,
    /// Allocations per `GET /show`.
    pub get: f64,
    /// Bytes requested per `POST /add`.
    pub post_bytes: f64,
    /// Bytes requested per `GET /show`.
    pub get_bytes: f64,
}

impl Allocs {
    /// Allocations per cycle (`POST` + `GET`).
    pub fn cycle(&self) -> f64 {
        self.post + self.get
    }

    /// Bytes requested per cycle.
    pub fn cycle_bytes(&self) -> f64 {
        self.post_bytes + self.get_bytes
    }
}

/// Counts a checked client's allocations over `cycles` cycles, after three warm-up cycles.
/// Needs [`alloc_count::Counting`] as the global allocator ([`alloc_count::installed`]).
pub fn allocations(client: &mut Client, cycles: u32) -> Allocs {
    for _ in 0..3 {
        client.cycle();
    }
    let mut sum = Allocs::default();
    alloc_count::take();
    for _ in 0..cycles {
        client.post();
        let (n, b) = alloc_count::take();
        sum.post += n as f64;
        sum.post_bytes += b as f64;
        client.get();
        let (n, b) = alloc_count::take();
        sum.get += n as f64;
        sum.get_bytes += b as f64;
    }
    let c = f64::from(cycles);
    Allocs {
        post: sum.post / c,
        get: sum.get / c,
        post_bytes: sum.post_bytes / c,
        get_bytes: sum.get_bytes / c,
    }
}

/// Everything measured about one row at one message count, apart from time.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The row.
    pub row: Row,
    /// Messages per cycle.
    pub n: usize,
    /// What [`Client::check`] found, or why the row failed it.
    pub checked: Result<Checked, String>,
    /// Allocations per request, if the row works and counting is installed.
    pub allocs: Option<Allocs>,
}

/// Checks every row at `n` messages and counts its allocations (when the counting
/// allocator is installed).
pub fn measure(n: usize, cycles: u32) -> Vec<Measured> {
    let counting = alloc_count::installed();
    Row::ALL
        .iter()
        .map(|&row| {
            let mut client = row.client(n);
            let checked = client.check();
            let allocs = (checked.is_ok() && counting).then(|| allocations(&mut client, cycles));
            Measured {
                row,
                n,
                checked,
                allocs,
            }
        })
        .collect()
}

/// The markdown allocation table for `measured` (rows of several message counts).
pub fn alloc_table(measured: &[Measured]) -> String {
    let mut out = String::from(
        "| row | N | allocs/POST | allocs/GET | allocs/cycle | above floor | bytes/cycle above floor |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    let find = |row: Row, n: usize| {
        measured
            .iter()
            .find(|m| m.row == row && m.n == n)
            .and_then(|m| m.allocs)
    };
    for m in measured {
        let Some(a) = m.allocs else {
            let why = match &m.checked {
                Err(e) => format!("failed its check: {e}"),
                Ok(_) => "not counted (counting allocator not installed)".to_owned(),
            };
            out.push_str(&format!("| {} | {} | {why} | | | | |\n", m.row, m.n));
            continue;
        };
        let (above, bytes) = match m.row.floor().and_then(|f| find(f, m.n)) {
            Some(f) => (
                format!("{:+.1}", a.cycle() - f.cycle()),
                format!("{:+.0}", a.cycle_bytes() - f.cycle_bytes()),
            ),
            None => ("floor".to_owned(), "floor".to_owned()),
        };
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {above} | {bytes} |\n",
            m.row,
            m.n,
            a.post,
            a.get,
            a.cycle()
        ));
    }
    out
}

/// The markdown table of the `Set-Cookie` headers each flash row's first `POST` sends
/// for one message: header-value bytes in total and of the `name=value` part.
pub fn set_cookie_table(measured: &[Measured]) -> String {
    let mut out = String::from(
        "| row | Set-Cookie on POST (1 message) | header value bytes | name=value bytes |\n\
         |---|---|---:|---:|\n",
    );
    for m in measured.iter().filter(|m| m.n == 1 && m.row.is_flash()) {
        match &m.checked {
            Ok(c) => {
                let total: usize = c.post_set_cookie.iter().map(String::len).sum();
                let pair: usize = c
                    .post_set_cookie
                    .iter()
                    .map(|v| v.split(';').next().unwrap_or("").len())
                    .sum();
                let shown = c
                    .post_set_cookie
                    .iter()
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join("<br>");
                out.push_str(&format!("| {} | {shown} | {total} | {pair} |\n", m.row));
            }
            Err(e) => out.push_str(&format!("| {} | failed its check: {e} | | |\n", m.row)),
        }
    }
    out
}
