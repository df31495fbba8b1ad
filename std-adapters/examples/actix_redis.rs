//! actix-web with fallback storage over actix-session 0.11 and its Redis session store:
//! the messages go in the signed cookie while they fit, and the rest in the session, kept
//! in Redis.
//!
//! ```text
//! redis-server --port 6379 &
//! cargo run -p herald-flash --example actix_redis --features actix-session-0-11
//! REDIS_URL=redis://127.0.0.1:6380 PORT=8080 HERALD_SECRET="at least 32 random bytes......." cargo run -p herald-flash --example actix_redis --features actix-session-0-11
//! ```
//!
//! The Redis store is actix-session's own (its `redis-session` feature, which this
//! package's dev-dependencies switch on); herald needs only its `actix-session-0-11`
//! feature. The store connects at start-up, to `REDIS_URL` (default
//! `redis://127.0.0.1:6379`), and the example stops with an error if Redis does not
//! answer within 5 seconds.
//!
//! Open <http://127.0.0.1:3004>, submit the form: the POST adds the message (as many times
//! as asked) and answers 303 See Other, the next page shows them once. A short message
//! stays in the cookie; a text of a few hundred characters added 10 times fills the
//! cookie (about 2 KiB), so the rest goes to the session in Redis (the `id` cookie names
//! it).
//!
//! `HERALD_SECRET` (32 bytes or more) signs herald's cookie, and actix-session's cookie key
//! is derived from it; without it a random one is made at start-up, so a restart loses
//! both the cookies and the way to the sessions stored before it.
//!
//! actix-web calls the application factory once per worker thread, so [`setup`] connects
//! to Redis and checks the configuration once, and each worker's [`app`] gets a clone of
//! it (the clones share one connection); `tests/examples.rs` serves exactly this [`app`].

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::cookie::Key;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{ContentType, LOCATION};
use actix_web::{App, HttpResponse, HttpServer, web};
use herald_flash::actix::MessagesMiddleware;
// The session crate as herald re-exports it: the middleware below is then of the very
// major (0.11) that herald's `ActixSessions` reads from.
use herald_flash::session::actix_session_0_11::{ActixSessions, actix_session};
use herald_flash::{Config, Messages};
use serde::Deserialize;

use actix_session::SessionMiddleware;
use actix_session::storage::RedisSessionStore;

/// Any start-up error.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Deserialize)]
struct AddForm {
    text: String,
    /// How many copies to add (1 to 50; 1 when absent).
    #[serde(default)]
    times: Option<u32>,
}

/// `GET /`: the messages, then the form. Reading them marks them used, so the response
/// removes them from the cookie and the session: each is shown once.
async fn index(messages: Messages) -> HttpResponse {
    let mut html = String::from(
        "<!doctype html>\n<title>herald: actix-web, Redis sessions, fallback storage</title>\n",
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
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(html)
}

/// `POST /add`: queue the message(s), then redirect (303). On the way out herald's
/// middleware puts what fits in the cookie and hands the rest to the session, which
/// actix-session then saves in Redis.
async fn add(messages: Messages, form: web::Form<AddForm>) -> HttpResponse {
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
    HttpResponse::SeeOther()
        .insert_header((LOCATION, "/"))
        .finish()
}

/// Text as HTML: the message texts come from users.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// What every worker's [`app`] shares: herald's configuration, the Redis store (one
/// connection manager, cloned) and the key that signs actix-session's cookie.
#[derive(Clone)]
pub struct Setup {
    config: Config,
    store: RedisSessionStore,
    session_key: Key,
}

/// Checks the configuration and connects to Redis at `redis_url`.
pub async fn setup(secret: &[u8], redis_url: &str) -> Result<Setup, Error> {
    let config = Config::builder()
        .secret(secret)
        // Plain-HTTP local development: a browser may refuse or withhold a `Secure`
        // cookie on http://. Serve over HTTPS in production and say `true` there.
        .secure(false)
        .build()?;
    // One secret for both cookies: the session key is derived from it (HKDF), so it is
    // not the key herald signs with. The secret is at least 32 bytes, as `derive_from`
    // requires, because the configuration above accepted it.
    let session_key = Key::derive_from(secret);
    // The store connects now, and would retry for minutes if Redis is not there: give up
    // after a few seconds instead, with an error that says why.
    let connect = RedisSessionStore::new(redis_url);
    let store = match actix_web::rt::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(store)) => store,
        Ok(Err(e)) => return Err(format!("cannot connect to Redis (REDIS_URL): {e}").into()),
        Err(_) => return Err("Redis (REDIS_URL) did not answer within 5 seconds".into()),
    };
    Ok(Setup {
        config,
        store,
        session_key,
    })
}

/// The application: two routes, herald's middleware with fallback storage, and
/// actix-session's middleware with the Redis store.
pub fn app(
    setup: Setup,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let sessions = SessionMiddleware::builder(setup.store, setup.session_key)
        // actix-session marks its cookie `Secure` unless told otherwise; same reason as
        // herald's above.
        .cookie_secure(false)
        .build();
    App::new()
        // The middleware wrapped last is the outer one. actix-session's must be outside
        // herald's: it loads the session before herald reads it, and saves it after
        // herald has written the overflow into it.
        .wrap(MessagesMiddleware::fallback(setup.config, ActixSessions))
        .wrap(sessions)
        .route("/", web::get().to(index))
        .route("/add", web::post().to(add))
}

/// `HERALD_SECRET`, or a fresh random secret (said on standard output).
fn secret() -> Vec<u8> {
    match std::env::var("HERALD_SECRET") {
        Ok(s) => s.into_bytes(),
        Err(_) => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).expect("the operating system's random number generator");
            println!(
                "HERALD_SECRET is not set: using a random secret (cookies and sessions will not survive a restart)"
            );
            key.to_vec()
        }
    }
}

#[actix_web::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().with_target(false).init();
    let port: u16 = std::env::var("PORT").map_or(Ok(3004), |p| p.parse())?;
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let setup = setup(&secret(), &redis_url).await?;
    let server = HttpServer::new(move || app(setup.clone())).bind(("127.0.0.1", port))?;
    for addr in server.addrs() {
        // Not the URL itself: it may carry a password.
        println!("serving http://{addr} (sessions in Redis)");
    }
    server.run().await?;
    Ok(())
}
