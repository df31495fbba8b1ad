//! axum with messages per signed-in user on Redis: a background job tells the user their
//! export is ready, and the message is shown once, on their next page, on whichever
//! device and server instance they use. Anonymous visitors keep their messages in the
//! signed cookie; the message the login view adds is shown after its redirect.
//!
//! ```text
//! cargo run -p herald-flash --example axum_user_store --features axum,tower-sessions-redis,user-store-redis
//! REDIS_URL=redis://127.0.0.1:6380 PORT=8080 cargo run -p herald-flash --example axum_user_store --features axum,tower-sessions-redis,user-store-redis
//! ```
//!
//! Open <http://127.0.0.1:3007>, sign in with any name, start an export: a second later a
//! background task adds "Your export is ready" for you; reload (or open the page signed in
//! as the same name in another browser) to see it, once.
//!
//! One fail-fast Redis client (`herald_flash::redis::connect_client`) serves both the
//! tower-sessions store (who is signed in) and the per-user message store. The signing
//! secret comes from `HERALD_SECRET` (32 bytes or more); without it a random one is made
//! at start-up. Redis is at `REDIS_URL` (default `redis://127.0.0.1:6379`).
//!
//! [`app`] builds the whole application; `tests/examples.rs` serves exactly it.

use std::time::Duration;

use axum::extract::{Form, Request};
use axum::middleware::{self, Next};
use axum::response::{Html, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use herald_flash::redis::{RedisOptions, RedisStore, connect_client};
use herald_flash::session::tower_sessions_0_14::tower_sessions::{Session, SessionManagerLayer};
use herald_flash::tower::MessagesLayer;
use herald_flash::user_store::{Outbox, RedisUserStore, UserId, UserStoreOptions};
use herald_flash::{Config, Messages};
use serde::Deserialize;

/// How long the pretend export takes.
pub const EXPORT_TIME: Duration = Duration::from_millis(200);

/// The signed-in user, put into the request by [`current_user`].
#[derive(Clone)]
struct CurrentUser(UserId);

/// The session key of the signed-in user's name.
const USER_KEY: &str = "user";

/// Reads who is signed in from the session (an async read, so in a middleware outside
/// herald's layer) and puts it into the request for herald's hook.
async fn current_user(session: Session, mut req: Request, next: Next) -> Response {
    if let Ok(Some(name)) = session.get::<String>(USER_KEY).await
        && let Ok(user) = UserId::new(name)
    {
        req.extensions_mut().insert(CurrentUser(user));
    }
    next.run(req).await
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
}

/// `GET /`: who is signed in, the messages (shown once), and the forms.
async fn index(messages: Messages, user: Option<Extension<CurrentUser>>) -> Html<String> {
    let mut html = String::from("<!doctype html>\n<title>herald: messages per user</title>\n");
    match &user {
        Some(Extension(CurrentUser(u))) => {
            html.push_str(&format!("<p>Signed in as {}.</p>\n", escape(u.as_str())));
        }
        None => html.push_str("<p>Not signed in.</p>\n"),
    }
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
    if user.is_some() {
        html.push_str(
            "<form method=\"post\" action=\"/export\"><button>Start an export</button></form>\n\
             <form method=\"post\" action=\"/logout\"><button>Sign out</button></form>\n",
        );
    } else {
        html.push_str(
            "<form method=\"post\" action=\"/login\">\n\
             <input name=\"name\" value=\"ada\" required>\n<button>Sign in</button>\n</form>\n",
        );
    }
    Html(html)
}

/// `POST /login`: a stand-in for real authentication (any name signs in). The request is
/// still anonymous, so its message goes to the cookie; the next page, signed in, carries
/// it over and shows it.
async fn login(messages: Messages, session: Session, Form(form): Form<LoginForm>) -> Redirect {
    let name = form.name.trim().to_owned();
    if UserId::new(name.clone()).is_err() || session.insert(USER_KEY, &name).await.is_err() {
        messages.error("Could not sign in.");
        return Redirect::to("/");
    }
    messages.success(format!("Welcome, {name}."));
    Redirect::to("/")
}

/// `POST /logout`.
async fn logout(messages: Messages, session: Session) -> Redirect {
    let _ = session.remove::<String>(USER_KEY).await;
    messages.info("Signed out.");
    Redirect::to("/")
}

/// `POST /export`: starts a background task that tells the user when it is done, through
/// the outbox: no request of theirs is in flight by then.
async fn export(
    messages: Messages,
    user: Option<Extension<CurrentUser>>,
    Extension(outbox): Extension<Outbox<RedisUserStore>>,
) -> Redirect {
    let Some(Extension(CurrentUser(user))) = user else {
        messages.warning("Sign in to export.");
        return Redirect::to("/");
    };
    messages.info("Export started; you will be told when it is ready.");
    tokio::spawn(async move {
        tokio::time::sleep(EXPORT_TIME).await;
        if let Err(e) = outbox.to_user(user).success("Your export is ready.").await {
            tracing::error!(error = %e, "could not tell the user the export is ready");
        }
    });
    Redirect::to("/")
}

/// Text as HTML: the message texts and names come from users.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// Any start-up error.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The application: the routes, herald's layer (cookie storage for anonymous visitors,
/// the per-user store for signed-in ones), the middleware that says who is signed in, and
/// the tower-sessions layer, all on the Redis at `redis_url`.
pub async fn app(secret: &[u8], redis_url: &str) -> Result<Router, Error> {
    let config = Config::builder()
        .secret(secret)
        // Plain-HTTP local development; say `true` (the default) behind HTTPS.
        .secure(false)
        .build()?;
    // One fail-fast client for both stores.
    let client = connect_client(redis_url, &RedisOptions::default()).await?;
    let users = RedisUserStore::new(
        client.clone(),
        UserStoreOptions::default().key_prefix("example:messages:"),
    );
    let sessions = SessionManagerLayer::new(RedisStore::new(client)).with_secure(false);
    let outbox = Outbox::new(config.clone(), users.clone());
    let messages = MessagesLayer::cookie(config).with_message_storage(users, |_, extensions| {
        extensions
            .get::<CurrentUser>()
            .map(|CurrentUser(u)| u.clone())
    });
    Ok(Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/export", post(export))
        .layer(Extension(outbox))
        // Layers added later wrap the earlier ones: the session outermost, then who is
        // signed in, then herald's layer, which needs both.
        .layer(messages)
        .layer(middleware::from_fn(current_user))
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
    let port: u16 = std::env::var("PORT").map_or(Ok(3007), |p| p.parse())?;
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let app = app(&secret(), &url).await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("serving http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
