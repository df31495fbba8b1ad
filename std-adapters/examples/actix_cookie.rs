//! actix-web with cookie-only storage: the messages travel in one signed cookie, and
//! nothing is kept on the server.
//!
//! ```text
//! cargo run -p herald-flash --example actix_cookie --features actix
//! PORT=8080 HERALD_SECRET="at least 32 random bytes......." cargo run -p herald-flash --example actix_cookie --features actix
//! ```
//!
//! Open <http://127.0.0.1:3003>, submit the form: the POST adds a message and answers
//! 303 See Other, the page it leads to shows the message, and a reload shows it no more.
//!
//! The signing secret comes from `HERALD_SECRET` (32 bytes or more). Without it a random
//! one is made at start-up, so a restart invalidates the cookies already handed out
//! (herald then just ignores them). The cookie holds about 2 KiB: when more is added than
//! fits, the oldest messages are dropped and logged.
//!
//! actix-web calls the application factory once per worker thread, so [`config`] is built
//! (and checked) once and [`app`] clones it into each worker; `tests/examples.rs` serves
//! exactly this [`app`].

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{ContentType, LOCATION};
use actix_web::{App, HttpResponse, HttpServer, web};
use herald_flash::actix::MessagesMiddleware;
use herald_flash::{Config, ConfigError, Messages};
use serde::Deserialize;

#[derive(Deserialize)]
struct AddForm {
    text: String,
}

/// `GET /`: the messages, then the form. Reading them marks them used: the response
/// clears the cookie, so each message is shown once.
async fn index(messages: Messages) -> HttpResponse {
    let mut html =
        String::from("<!doctype html>\n<title>herald: actix-web, cookie storage</title>\n");
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
         <button>Add a message</button>\n\
         </form>\n",
    );
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(html)
}

/// `POST /add`: queue a message, then redirect (303); the middleware writes the cookie on
/// the way out.
async fn add(messages: Messages, form: web::Form<AddForm>) -> HttpResponse {
    messages.success(&form.text);
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

/// herald's configuration from the signing secret.
pub fn config(secret: &[u8]) -> Result<Config, ConfigError> {
    Config::builder()
        .secret(secret)
        // Plain-HTTP local development: a browser may refuse or withhold a `Secure`
        // cookie on http://. Serve over HTTPS in production and say `true` there.
        .secure(false)
        .build()
}

/// The application: two routes and herald's middleware with cookie storage.
pub fn app(
    config: Config,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap(MessagesMiddleware::cookie(config))
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
                "HERALD_SECRET is not set: using a random secret (cookies will not survive a restart)"
            );
            key.to_vec()
        }
    }
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_target(false).init();
    let port: u16 = std::env::var("PORT").map_or(Ok(3003), |p| p.parse())?;
    let config = config(&secret())?;
    let server = HttpServer::new(move || app(config.clone())).bind(("127.0.0.1", port))?;
    for addr in server.addrs() {
        println!("serving http://{addr}");
    }
    server.run().await?;
    Ok(())
}
