//! The herald demo: a page with a form that POSTs, answers 303, and shows the flash
//! messages once on the next page, styled by tag (a minijinja template with the tags as CSS
//! classes). `/api/messages` returns them as JSON instead.
//!
//! ```text
//! cargo run -p herald-flash --example demo --features axum,tower-sessions-0-14                       # http://127.0.0.1:3000
//! cargo run -p herald-flash --example demo --features axum,tower-sessions-0-14 -- --storage cookie   # cookie | session | fallback
//! cargo run -p herald-flash --example demo --features axum,tower-sessions-redis -- --redis redis://127.0.0.1:6379
//! cargo run -p herald-flash --example demo --features axum,tower-sessions-0-14 -- --addr 127.0.0.1:8080
//! ```
//!
//! The secret comes from `HERALD_SECRET` (at least 32 bytes); without it a random one is
//! made at start-up, so cookies do not survive a restart. Sessions are kept in memory
//! (tower-sessions' `MemoryStore`) unless `--redis URL` is given, which stores them in Redis
//! through `herald_flash::redis::connect` (feature `tower-sessions-redis`; a
//! `tower-sessions-redis-store` pool that fails fast and reconnects) — run two demos on two
//! ports against one Redis to see a message added on one shown by the other.
//!
//! [`app`] builds the whole application, so `tests/demo.rs` serves exactly this demo.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Form;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use axum::routing::{get, post};
use herald_flash::session::tower_sessions_0_14::TowerSessions;
use herald_flash::session::tower_sessions_0_14::tower_sessions;
use herald_flash::tower::MessagesLayer;
use herald_flash::{Config, Level, Message, Messages, Storage};
use minijinja::{Environment, context};
use serde::Deserialize;

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>herald demo</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
  ul.messages { list-style: none; padding: 0; }
  ul.messages li { padding: .6rem .9rem; margin: .4rem 0; border-radius: .4rem; border: 1px solid #ccc; }
  li.debug   { background: #f3f3f3; color: #555; }
  li.info    { background: #e8f1fd; border-color: #9cc3f5; }
  li.success { background: #e7f7ea; border-color: #8fd19e; }
  li.warning { background: #fff6dd; border-color: #f0c95a; }
  li.error   { background: #fde8e8; border-color: #f19a9a; }
  li.big     { font-size: 1.3em; }
  form { display: grid; gap: .6rem; grid-template-columns: 8rem 1fr; align-items: center; }
  form button { grid-column: 2; justify-self: start; }
  code { background: #f3f3f3; padding: 0 .2rem; }
</style>
</head>
<body>
<h1>herald demo</h1>
<p>Storage: <code>{{ storage }}</code>{% if redis %}, sessions in Redis{% endif %}.
Minimum level: {{ level }}. Messages are shown once, then cleared.</p>
{% if messages %}
<ul class="messages">
{% for m in messages %}  <li class="{{ m.tags }}"><strong>{{ m.level_tag or m.level }}</strong>: {% if m.is_safe %}{{ m.message|safe }}{% else %}{{ m.message }}{% endif %}</li>
{% endfor %}</ul>
{% else %}
<p><em>No messages.</em></p>
{% endif %}
<h2>Add a message</h2>
<form method="post" action="/add">
  <label for="text">Message</label><input id="text" name="text" value="Profile saved." required>
  <label for="level">Level</label>
  <select id="level" name="level">
    <option value="10">debug</option><option value="20">info</option>
    <option value="25" selected>success</option><option value="30">warning</option>
    <option value="40">error</option>
  </select>
  <label for="extra">Extra tags</label><input id="extra" name="extra" placeholder="for example: big">
  <label for="repeat">Times</label><input id="repeat" name="repeat" type="number" value="1" min="1" max="500">
  <button type="submit">Add and redirect (303)</button>
</form>
<p>Add a long message 10 times to overflow the 2048-byte cookie: with fallback storage the
rest goes to the session; with cookie storage the oldest are dropped and logged.
<a href="/api/messages">/api/messages</a> returns (and consumes) them as JSON.</p>
</body>
</html>
"#;

#[derive(Deserialize)]
struct AddForm {
    text: String,
    level: i32,
    #[serde(default)]
    extra: String,
    #[serde(default)]
    repeat: Option<u32>,
}

#[derive(Clone)]
struct App {
    env: Environment<'static>,
    storage: Storage,
    redis: bool,
}

async fn index(
    axum::extract::State(app): axum::extract::State<App>,
    messages: Messages,
) -> Response {
    // An owned snapshot (marks the messages read); it serializes with the names Django's
    // templates use: level, level_tag, tags, message, extra_tags, is_safe.
    let shown = messages.read();
    let page = app.env.get_template("page.html").and_then(|t| {
        t.render(context! {
            messages => shown,
            storage => format!("{:?}", app.storage).to_lowercase(),
            redis => app.redis,
            level => messages.level().0,
        })
    });
    match page {
        Ok(html) => Html(html).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn add(messages: Messages, Form(form): Form<AddForm>) -> Redirect {
    let repeat = form.repeat.unwrap_or(1).clamp(1, 500);
    for i in 1..=repeat {
        let text = if repeat > 1 {
            format!("{} (#{i})", form.text)
        } else {
            form.text.clone()
        };
        // Past the request limits (64 KiB, 1000 messages) a message is logged and reported
        // in the response's `Unstored` extension instead of queued.
        messages.add_message(Message::new(Level(form.level), &text).with_extra_tags(&form.extra));
    }
    Redirect::to("/")
}

async fn api(messages: Messages) -> Json<Vec<herald_flash::OwnedMessage>> {
    Json(messages.to_vec())
}

/// The demo's settings: its command-line flags.
#[derive(Debug)]
pub struct Args {
    /// `--addr` (default `127.0.0.1:3000`).
    pub addr: SocketAddr,
    /// `--storage cookie|session|fallback` (default fallback).
    pub storage: Storage,
    /// `--redis URL`: keep the sessions in Redis.
    pub redis: Option<String>,
}

/// Parses the flags (the arguments after the program name).
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args_out = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
        storage: Storage::Fallback,
        redis: None,
    };
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => args_out.addr = value()?.parse().map_err(|e| format!("--addr: {e}"))?,
            "--storage" => {
                args_out.storage = match value()?.as_str() {
                    "cookie" => Storage::Cookie,
                    "session" => Storage::Session,
                    "fallback" => Storage::Fallback,
                    other => {
                        return Err(format!(
                            "--storage {other}: use cookie, session or fallback"
                        ));
                    }
                }
            }
            "--redis" => args_out.redis = Some(value()?),
            "-h" | "--help" => {
                return Err("usage: demo [--addr 127.0.0.1:3000] [--storage cookie|session|fallback] [--redis redis://host:port]".into());
            }
            other => return Err(format!("unknown argument {other} (try --help)")),
        }
    }
    Ok(args_out)
}

fn secret() -> Vec<u8> {
    match std::env::var("HERALD_SECRET") {
        Ok(s) => s.into_bytes(),
        Err(_) => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).expect("the operating system's random number generator");
            println!(
                "HERALD_SECRET is not set: using a random secret (cookies will not survive a restart)"
            );
            key.to_vec()
        }
    }
}

/// Any start-up error.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The demo application: the pages, the template, herald's layer with `storage`, and the
/// session store it needs (tower-sessions in memory, or in Redis at `redis`).
pub async fn app(secret: Vec<u8>, storage: Storage, redis: Option<&str>) -> Result<Router, Error> {
    // The demo serves plain HTTP on 127.0.0.1, so it turns off the `Secure` attribute that
    // herald sets by default; behind HTTPS, leave the default on.
    let config = Config::builder().secret(secret).secure(false).build()?;
    let mut env = Environment::new();
    env.add_template("page.html", PAGE)?;
    let state = App {
        env,
        storage,
        redis: redis.is_some(),
    };
    let routes = Router::new()
        .route("/", get(index))
        .route("/add", post(add))
        .route("/api/messages", get(api))
        .with_state(state);
    Ok(match (redis, storage) {
        (_, Storage::Cookie) => routes.layer(MessagesLayer::cookie(config)),
        (None, _) => routes
            .layer(MessagesLayer::with_storage(config, storage, TowerSessions))
            .layer(
                tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
                    .with_secure(false),
            ),
        (Some(url), _) => {
            let store = redis_store(url).await?;
            routes
                .layer(MessagesLayer::with_storage(config, storage, TowerSessions))
                .layer(tower_sessions::SessionManagerLayer::new(store).with_secure(false))
        }
    })
}

/// The Redis session store of `--redis URL`: herald's documented connection
/// ([`herald_flash::redis::connect`]), which answers 503 at once while Redis is down,
/// reconnects in the background, and starts even when Redis is not up yet.
#[cfg(feature = "tower-sessions-redis")]
async fn redis_store(url: &str) -> Result<herald_flash::redis::Store, Error> {
    use herald_flash::redis::{self, RedisOptions};
    Ok(redis::connect(url, &RedisOptions::default()).await?)
}

#[cfg(not(feature = "tower-sessions-redis"))]
async fn redis_store(_url: &str) -> Result<tower_sessions::MemoryStore, Error> {
    Err("--redis needs herald-flash's feature tower-sessions-redis: cargo run -p herald-flash --features tower-sessions-redis --example demo -- --redis URL".into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().with_target(false).init();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    let app = app(secret(), args.storage, args.redis.as_deref()).await?;
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!(
        "herald demo serving http://{} (storage: {:?}; plain HTTP, so the messages cookie is not Secure)",
        listener.local_addr()?,
        args.storage
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
