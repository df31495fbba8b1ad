//! HTTP throughput over loopback: the demo-like app (`POST /add` adds one success message
//! and answers `303 See Other`; `GET /show` renders the messages, one per line) served by a
//! multi-threaded tokio runtime on 127.0.0.1 with hyper's HTTP/1.1 server, driven by a
//! load generator in this same process (hyper's HTTP/1.1 client on its own multi-threaded
//! runtime): `C` keep-alive connections, each a browser with its own cookie jar, each
//! running POST → GET cycles back to back until the time or request bound is reached.
//!
//! Rows, all in one run: bare axum 0.8 (the floor), herald's tower layer with cookie
//! storage and with fallback storage over `MemorySessions`, axum-messages (tower-sessions
//! `MemoryStore`), bare axum 0.7 and axum-flash (its floor is axum 0.7). Every response is
//! checked (status, and the `GET` body is exactly the one message: delivered once).
//!
//! Usage: `http_load [--secs S] [--max-requests R] [--connections 1,64] [--messages N]
//! [--rounds K]` (defaults: 2 s per row and connection count, at most 1 000 000 requests
//! per row, 1 and 64 connections, 1 message, 3 rounds). The rows run interleaved, round
//! after round, so a change in the machine's load hits every row alike; each row's figure
//! is its median round (by throughput). Prints a markdown table: requests per second
//! (both requests of a cycle count), p50 and p99 latency per request in that round, and
//! the throughput as a share of the row's bare framework's.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{COOKIE, HOST, SET_COOKIE};
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

use herald_benches::adapters::{HERALD_SECRET, Jar, PEER_KEY, render};
use herald_benches::texts;

type Texts = &'static [String];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum App {
    AxumBare,
    HeraldCookie,
    HeraldFallback,
    AxumMessages,
    Axum07Bare,
    AxumFlash,
}

impl App {
    const ALL: &'static [App] = &[
        App::AxumBare,
        App::HeraldCookie,
        App::HeraldFallback,
        App::AxumMessages,
        App::Axum07Bare,
        App::AxumFlash,
    ];

    fn name(self) -> &'static str {
        match self {
            App::AxumBare => "axum_bare",
            App::HeraldCookie => "herald_axum (cookie)",
            App::HeraldFallback => "herald_axum (fallback, MemorySessions)",
            App::AxumMessages => "axum_messages",
            App::Axum07Bare => "axum07_bare",
            App::AxumFlash => "axum_flash",
        }
    }

    fn floor(self) -> Option<App> {
        match self {
            App::AxumBare | App::Axum07Bare => None,
            App::AxumFlash => Some(App::Axum07Bare),
            _ => Some(App::AxumBare),
        }
    }
}

/// Serves `router` on 127.0.0.1 (any free port) from `rt`; returns the address and the
/// accept loop's task.
macro_rules! serve {
    ($rt:expr, $router:expr) => {{
        let router = $router;
        let listener = $rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let task = $rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let svc = TowerToHyperService::new(router.clone());
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        (addr, task)
    }};
}

mod apps08 {
    use axum::Router;
    use axum::extract::State;
    use axum::response::Redirect;
    use axum::routing::{get, post};

    use super::{HERALD_SECRET, Texts, render};

    pub fn bare(texts: Texts) -> Router {
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

    pub fn herald(texts: Texts, fallback: bool) -> Router {
        use herald_flash::Messages;
        use herald_flash::session::MemorySessions;
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
        let routes = Router::new()
            .route("/add", post(add))
            .route("/show", get(show));
        if fallback {
            routes
                .layer(MessagesLayer::fallback(config, MemorySessions::new()))
                .with_state(texts)
        } else {
            routes
                .layer(MessagesLayer::cookie(config))
                .with_state(texts)
        }
    }

    pub fn axum_messages(texts: Texts) -> Router {
        use axum_messages::{Messages, MessagesManagerLayer};
        use tower_sessions::{MemoryStore, SessionManagerLayer};
        async fn add(State(texts): State<Texts>, mut messages: Messages) -> Redirect {
            for t in texts {
                messages = messages.success(t.as_str());
            }
            Redirect::to("/show")
        }
        async fn show(messages: Messages) -> String {
            render(
                messages
                    .into_iter()
                    .map(|m| m.message)
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            )
        }
        // Secure off: the load generator speaks plain HTTP (its jar ignores attributes
        // anyway; this keeps the peer's cookie what a plain-HTTP browser would keep).
        Router::new()
            .route("/add", post(add))
            .route("/show", get(show))
            .layer(MessagesManagerLayer)
            .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false))
            .with_state(texts)
    }
}

mod apps07 {
    use axum_flash::{Config, Flash, IncomingFlashes, Key};
    use axum07::Router;
    use axum07::extract::{FromRef, State};
    use axum07::response::Redirect;
    use axum07::routing::{get, post};

    use super::{PEER_KEY, Texts, render};

    pub fn bare(texts: Texts) -> Router {
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

    pub fn axum_flash(texts: Texts) -> Router {
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

/// One connection's results.
#[derive(Default)]
struct UserResult {
    latencies_ns: Vec<u64>,
    error: Option<String>,
}

async fn send(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    jar: &mut Jar,
    post: bool,
) -> Result<(u16, Bytes), String> {
    let mut req = http::Request::builder()
        .method(if post { "POST" } else { "GET" })
        .uri(if post { "/add" } else { "/show" })
        .header(HOST, "127.0.0.1");
    if let Some(c) = jar.header() {
        req = req.header(COOKIE, c);
    }
    let req = req.body(Empty::new()).map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    for v in res.headers().get_all(SET_COOKIE) {
        jar.apply(v.as_bytes());
    }
    let status = res.status().as_u16();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

async fn user(
    addr: SocketAddr,
    deadline: Instant,
    budget: std::sync::Arc<std::sync::atomic::AtomicI64>,
    expected: &'static str,
) -> UserResult {
    let mut out = UserResult::default();
    let run = async {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut jar = Jar::default();
        while Instant::now() < deadline
            && budget.fetch_sub(2, std::sync::atomic::Ordering::Relaxed) > 0
        {
            let t = Instant::now();
            let (status, _) = send(&mut sender, &mut jar, true).await?;
            out.latencies_ns.push(t.elapsed().as_nanos() as u64);
            if status != 303 {
                return Err(format!("POST /add answered {status}"));
            }
            let t = Instant::now();
            let (status, body) = send(&mut sender, &mut jar, false).await?;
            out.latencies_ns.push(t.elapsed().as_nanos() as u64);
            if status != 200 || body != expected.as_bytes() {
                return Err(format!(
                    "GET /show answered {status} with {:?}, expected the messages once",
                    String::from_utf8_lossy(&body)
                ));
            }
        }
        Ok::<(), String>(())
    };
    if let Err(e) = run.await {
        out.error = Some(e);
    }
    out
}

struct Measured {
    app: App,
    connections: usize,
    requests: usize,
    secs: f64,
    p50_ns: u64,
    p99_ns: u64,
    error: Option<String>,
}

impl Measured {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.secs
    }
}

/// What every row of a run shares.
struct Bench {
    server: Runtime,
    client: Runtime,
    texts: Texts,
    expected: &'static str,
    secs: f64,
    max_requests: usize,
}

fn run_one(bench: &Bench, app: App, connections: usize) -> Measured {
    let Bench {
        server,
        client,
        texts,
        expected,
        secs,
        max_requests,
    } = bench;
    let (texts, expected, secs, max_requests) = (*texts, *expected, *secs, *max_requests);
    let (addr, task) = match app {
        App::AxumBare => serve!(server, apps08::bare(texts)),
        App::HeraldCookie => serve!(server, apps08::herald(texts, false)),
        App::HeraldFallback => serve!(server, apps08::herald(texts, true)),
        App::AxumMessages => serve!(server, apps08::axum_messages(texts)),
        App::Axum07Bare => serve!(server, apps07::bare(texts)),
        App::AxumFlash => serve!(server, apps07::axum_flash(texts)),
    };
    let go = |dur: Duration, budget: i64| {
        let deadline = Instant::now() + dur;
        let budget = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(budget));
        let start = Instant::now();
        let results = client.block_on(async {
            let tasks: Vec<_> = (0..connections)
                .map(|_| tokio::spawn(user(addr, deadline, budget.clone(), expected)))
                .collect();
            let mut results = Vec::new();
            for t in tasks {
                results.push(t.await.unwrap_or_else(|e| UserResult {
                    error: Some(e.to_string()),
                    ..UserResult::default()
                }));
            }
            results
        });
        (results, start.elapsed().as_secs_f64())
    };
    // Warm-up: connections, allocator, session store.
    let _ = go(Duration::from_millis(300), i64::MAX);
    let (results, elapsed) = go(Duration::from_secs_f64(secs), max_requests as i64);
    task.abort();
    let error = results.iter().find_map(|r| r.error.clone());
    let mut lat: Vec<u64> = results.into_iter().flat_map(|r| r.latencies_ns).collect();
    lat.sort_unstable();
    let pct = |p: usize| {
        lat.get((lat.len() * p / 100).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    Measured {
        app,
        connections,
        requests: lat.len(),
        secs: elapsed,
        p50_ns: pct(50),
        p99_ns: pct(99),
        error,
    }
}

fn fmt_us(ns: u64) -> String {
    if ns >= 1_000_000 {
        format!("{:.2} ms", ns as f64 / 1e6)
    } else {
        format!("{:.0} µs", ns as f64 / 1e3)
    }
}

fn main() {
    let mut secs = 2.0f64;
    let mut rounds = 3usize;
    let mut max_requests = 1_000_000usize;
    let mut conns = vec![1usize, 64];
    let mut n = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().unwrap_or_default();
        match a.as_str() {
            "--secs" => secs = v.parse().expect("--secs S"),
            "--max-requests" => max_requests = v.parse().expect("--max-requests R"),
            "--connections" => {
                conns = v
                    .split(',')
                    .map(|c| c.parse().expect("--connections 1,64"))
                    .collect()
            }
            "--messages" => n = v.parse().expect("--messages N"),
            "--rounds" => rounds = v.parse().expect("--rounds K"),
            other => {
                eprintln!(
                    "unknown argument {other}; usage: http_load [--secs S] [--max-requests R] [--connections 1,64] [--messages N] [--rounds K]"
                );
                std::process::exit(2);
            }
        }
    }
    let texts: Texts = Box::leak(texts(n).into_boxed_slice());
    let expected: &'static str =
        Box::leak(render(texts.iter().map(String::as_str)).into_boxed_str());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("server")
        .enable_all()
        .build()
        .expect("server runtime");
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("client")
        .enable_all()
        .build()
        .expect("client runtime");

    let bench = Bench {
        server,
        client,
        texts,
        expected,
        secs,
        max_requests,
    };
    let mut all: Vec<Measured> = Vec::new();
    for round in 1..=rounds {
        for &c in &conns {
            for &app in App::ALL {
                let m = run_one(&bench, app, c);
                eprintln!(
                    "round {round}: {} c={c}: {:.0} req/s{}",
                    app.name(),
                    m.rps(),
                    m.error
                        .as_deref()
                        .map(|e| format!(" ERROR {e}"))
                        .unwrap_or_default()
                );
                all.push(m);
            }
        }
    }
    // Each (row, connections): the round with the median throughput.
    let mut measured = Vec::new();
    for &c in &conns {
        for &app in App::ALL {
            let mut runs: Vec<Measured> = Vec::new();
            let mut i = 0;
            while i < all.len() {
                if all[i].app == app && all[i].connections == c {
                    runs.push(all.swap_remove(i));
                } else {
                    i += 1;
                }
            }
            runs.sort_by(|a, b| a.rps().total_cmp(&b.rps()));
            let error = runs.iter().find_map(|r| r.error.clone());
            let mid = runs.len() / 2;
            let mut m = runs.swap_remove(mid);
            m.error = error;
            measured.push(m);
        }
    }

    println!(
        "HTTP/1.1 over loopback, {n} message(s) per POST, {secs} s per row and round, median \
         of {rounds} interleaved rounds, server and load generator in one process ({threads} \
         server and {threads} client worker threads on {threads} CPUs):\n"
    );
    println!("| row | connections | requests | req/s | p50 | p99 | throughput vs bare |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for m in &measured {
        let vs = match m.app.floor() {
            None => "floor".to_owned(),
            Some(f) => measured
                .iter()
                .find(|o| o.app == f && o.connections == m.connections)
                .map_or("—".to_owned(), |o| {
                    format!(
                        "{:.1} % ({:+.1} %)",
                        m.rps() / o.rps() * 100.0,
                        (m.rps() / o.rps() - 1.0) * 100.0
                    )
                }),
        };
        let err = m
            .error
            .as_deref()
            .map(|e| format!(" (error: {e})"))
            .unwrap_or_default();
        println!(
            "| {}{err} | {} | {} | {:.0} | {} | {} | {vs} |",
            m.app.name(),
            m.connections,
            m.requests,
            m.rps(),
            fmt_us(m.p50_ns),
            fmt_us(m.p99_ns),
        );
    }
}
