//! A herald service that shares Django's `messages` cookie: axum, cookie storage, and
//! `WireFormat::Django`, so that this service and a Django site on the same host read and
//! write each other's flash messages.
//!
//! ```text
//! DJANGO_SECRET_KEY="the Django site's SECRET_KEY" cargo run -p herald-flash --example django_interop --features axum,django
//! PORT=8080 DJANGO_SECRET_KEY="..." cargo run -p herald-flash --example django_interop --features axum,django
//! ```
//!
//! Django signs its cookie with `SECRET_KEY`, so this service must hold the same key:
//! it comes from `DJANGO_SECRET_KEY` (herald wants 32 bytes or more; Django's generated
//! keys have 50). Without it a random key is made at start-up and the service still runs,
//! but no Django site can read its cookie, nor it Django's.
//!
//! Try it with a Django site served by `manage.py runserver` on 127.0.0.1:8000 and this
//! service on 127.0.0.1:3005: browsers keep cookies per host, not per port, so both see
//! one `messages` cookie. A message added by a Django view shows on
//! <http://127.0.0.1:3005>, and one added here shows on the next Django page that renders
//! `messages`. On the Django side:
//!
//! * `MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"`: this
//!   service uses the cookie only, so what Django's default fallback storage would put in
//!   its session when the cookie is full is not seen here;
//! * `SESSION_COOKIE_SECURE`, `SESSION_COOKIE_HTTPONLY`, `SESSION_COOKIE_SAMESITE` and
//!   `SESSION_COOKIE_DOMAIN` (which Django's messages cookie also follows) at their
//!   defaults, which are herald's (the `Secure` setting is made explicit below);
//! * the default message tags (`MESSAGE_TAGS`), or the same overrides here with
//!   `Config::builder().tag(..)`.
//!
//! [`app`] builds the whole application; `tests/examples.rs` serves exactly it and checks
//! both directions against a real Django.

use axum::Router;
use axum::extract::Form;
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use herald_flash::tower::MessagesLayer;
use herald_flash::{Config, ConfigError, Messages, WireFormat};
use serde::Deserialize;

#[derive(Deserialize)]
struct AddForm {
    text: String,
}

/// `GET /`: the messages (whoever wrote them), then the form. Reading them marks them
/// used: the response clears the cookie, as Django's would.
async fn index(messages: Messages) -> Html<String> {
    let mut html =
        String::from("<!doctype html>\n<title>herald: Django's messages cookie</title>\n");
    let shown = messages.read();
    if shown.is_empty() {
        html.push_str("<p>No messages.</p>\n");
    } else {
        html.push_str("<ul class=\"messages\">\n");
        for m in &shown {
            // As in Django's templates: a message marked safe (`mark_safe`) is trusted
            // HTML and goes out as it is; every other text is escaped. The flag can be
            // trusted because only a holder of the secret can sign the cookie.
            let text = if m.is_safe() {
                m.message().to_owned()
            } else {
                escape(m.message())
            };
            html.push_str(&format!(
                "<li class=\"{}\">{text}</li>\n",
                escape(&m.tags().to_string())
            ));
        }
        html.push_str("</ul>\n");
    }
    html.push_str(
        "<form method=\"post\" action=\"/add\">\n\
         <input name=\"text\" value=\"Saved by the Rust service.\" required>\n\
         <button>Add a message</button>\n\
         </form>\n",
    );
    Html(html)
}

/// `POST /add`: queue a message, then redirect; the layer writes it into the cookie in
/// Django's format, ready for the next Django page.
async fn add(messages: Messages, Form(form): Form<AddForm>) -> Redirect {
    messages.success(&form.text);
    Redirect::to("/")
}

/// Text as HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
}

/// The application: two routes and herald's layer with cookie storage in Django's format,
/// signed with Django's `SECRET_KEY`.
pub fn app(django_secret_key: &[u8]) -> Result<Router, ConfigError> {
    let config = Config::builder()
        .secret(django_secret_key)
        .wire_format(WireFormat::Django)
        // Plain-HTTP local development, and Django's default (`SESSION_COOKIE_SECURE =
        // False`): a browser may refuse or withhold a `Secure` cookie on http://. Behind
        // HTTPS, say `true` here and in Django's settings.
        .secure(false)
        .build()?;
    Ok(Router::new()
        .route("/", get(index))
        .route("/add", post(add))
        .layer(MessagesLayer::cookie(config)))
}

/// `DJANGO_SECRET_KEY`, or a fresh random key (said on standard output).
fn secret_key() -> Vec<u8> {
    match std::env::var("DJANGO_SECRET_KEY") {
        Ok(s) => s.into_bytes(),
        Err(_) => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).expect("the operating system's random number generator");
            println!(
                "DJANGO_SECRET_KEY is not set: using a random key, so no Django site can read these cookies (nor this service Django's)"
            );
            key.to_vec()
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();
    let port: u16 = std::env::var("PORT").map_or(Ok(3005), |p| p.parse())?;
    let app = app(&secret_key())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("serving http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
