//! axum with fallback storage over tower-sessions 0.14 and Redis, connected with
//! [`herald_flash::redis::connect`] (fails fast while Redis is down — a 503 for what needs
//! the session — and reconnects by itself): the messages go in the signed cookie while
//! they fit, and the rest in the session in Redis, shared by every server with the same
//! secret.
//!
//! ```text
//! cargo run -p herald-flash --example axum_redis --features axum,tower-sessions-redis
//! REDIS_URL=redis://127.0.0.1:6380 PORT=8080 cargo run -p herald-flash --example axum_redis --features axum,tower-sessions-redis
//! ```
//!
//! Open <http://127.0.0.1:3006>, submit the form: the POST adds the message (as many times
//! as asked) and answers 303 See Other, the next page shows them once. A short message
//! stays in the cookie; a text of a few hundred characters added 10 times fills the
//! cookie (about 2 KiB), so the rest is kept in the session (a second cookie, `id`, names
//! it).
//!
//! The signing secret comes from `HERALD_SECRET` (32 bytes or more); without it a random
//! one is made at start-up. Redis is at `REDIS_URL` (default `redis://127.0.0.1:6379`).
//!
//! [`app`] builds the whole application; `tests/examples.rs` serves exactly it.

use axum::Router;
use axum::extract::Form;
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use herald_flash::redis::{self, RedisOptions};
// The session crate as herald re-exports it: the Redis store implements tower-sessions
// 0.14, the major herald's `TowerSessions` reads from here.
use herald_flash::session::tower_sessions_0_14::{TowerSessions, tower_sessions};
use herald_flash::tower::MessagesLayer;
use herald_flash::{Config, Messages};
use serde::Deserialize;
use tower_sessions::SessionManagerLayer;

#[derive(Deserialize)]
struct AddForm {
    text: String,
    /// How many copies to add (1 to 50; 1 when absent).
    #[serde(default)]
    times: Option<u32>,
}

/// `GET /`: the messages, then the form. Reading them marks them used, so the response
/// removes them from the cookie and the session: each is shown once.
async fn index(messages: Messages) -> Html<String> {
    let mut html = String::from(
        "<!doctype html>\n<title>herald: axum, Redis sessions, fallback storage</title>\n",
    );
    let shown = messages.read();
    if shown.is_empty() {
        html.push_str("<p>No messages.</p>\n");
    } else {
        html.push_str("<ul class=\"messages\">\n");
        for m in &shown {
            html.push_str(&format!(
                "<li class=\"{}\">{}</li>\n",
                escape(&m.tags().to_string()),
                escape(m.message())
            ));
        }
        html.push_str("</ul>\n");
    }
    html.push_str(
        "<form method=\"post\" action=\"/add\">\n\
         <input name=\"text\" value=\"Profile saved.\" required>\n\
         <input name=\"times\" type=\"number\" value=\"1\" min=\"1\" max=\"50\">\n\
         <button>Add</button>\n\
         </form>\n",
    );
    Html(html)
}

/// `POST /add`: queue the message(s), then redirect. On the way out herald's layer puts
/// what fits in the cookie and hands the rest to the session, which tower-sessions saves
/// after that.
async fn add(messages: Messages, Form(form): Form<AddForm>) -> Redirect {
    match form.times.unwrap_or(1).clamp(1, 50) {
        1 => {
            messages.success(&form.text);
        }
        times => {
            for i in 1..=times {
                messages.success(format!("{} (#{i})", form.text));
            }
        }
    }
    Redirect::to("/")
}

/// Text as HTML: the message texts come from users.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// Any start-up error.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The application: two routes, herald's layer with fallback storage, and the
/// tower-sessions layer over Redis at `redis_url` it takes the session from.
pub async fn app(secret: &[u8], redis_url: &str) -> Result<Router, Error> {
    let config = Config::builder()
        .secret(secret)
        // Plain-HTTP local development: a browser may refuse or withhold a `Secure`
        // cookie on http://. Serve over HTTPS in production and say `true` there.
        .secure(false)
        .build()?;
    // The one documented way to connect: timeouts and a reconnect policy, so that an
    // outage costs fast 503s and service comes back by itself.
    let store = redis::connect(redis_url, &RedisOptions::default()).await?;
    // tower-sessions marks its cookie `Secure` unless told otherwise; same reason.
    let sessions = SessionManagerLayer::new(store).with_secure(false);
    Ok(Router::new()
        .route("/", get(index))
        .route("/add", post(add))
        // Layers added later wrap the earlier ones. The session layer must be the outer
        // one: it loads the session before herald looks for it, and saves it after
        // herald has written the overflow into it.
        .layer(MessagesLayer::fallback(config, TowerSessions))
        .layer(sessions))
}

/// `HERALD_SECRET`, or a fresh random secret (said on standard output).
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

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().with_target(false).init();
    let port: u16 = std::env::var("PORT").map_or(Ok(3006), |p| p.parse())?;
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let app = app(&secret(), &url).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("serving http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
