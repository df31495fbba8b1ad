//! axum with htmx: a fragment's messages travel in its `HX-Trigger` header
//! ([`HtmxLayer`]); after a redirect they wait for the next page.
//!
//! ```text
//! cargo run -p herald-flash --example htmx --features axum,htmx
//! ```
//!
//! Open <http://127.0.0.1:3003>:
//!
//! * **Save (htmx)** posts with htmx: the handler adds a message and answers a fragment;
//!   the layer puts the message in `HX-Trigger`, and the page's script shows it (the
//!   handler's own `saved` event is kept beside it).
//! * **Add and redirect** is a plain form: the POST adds a message and answers 303; the
//!   page it leads to renders the message from the template context. With htmx on the
//!   form too (`hx-post`), the 303 gets no `HX-Trigger` (htmx would not act on it), so the
//!   message is still there for the page.
//!
//! [`app`] builds the whole application; `tests/htmx.rs` serves exactly it.

use axum::Router;
use axum::extract::Form;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use herald_flash::htmx::HtmxLayer;
use herald_flash::tower::MessagesLayer;
use herald_flash::{Config, ConfigError, Messages};
use serde::Deserialize;

#[derive(Deserialize)]
struct AddForm {
    text: String,
}

/// The page's script: show each message of the `messages` event (text escaped unless
/// it is safe HTML).
const SCRIPT: &str = r#"<script>
document.body.addEventListener("messages", function (e) {
  var list = document.getElementById("messages");
  e.detail.value.forEach(function (m) {
    var li = document.createElement("li");
    li.className = m.tags;
    if (m.is_safe) { li.innerHTML = m.message; } else { li.textContent = m.message; }
    list.appendChild(li);
  });
});
</script>"#;

/// `GET /`: the page (serve htmx 2's `htmx.min.js` under `/static/` yourself), with the messages from the template context (taking it marks them
/// used, so each is shown once).
async fn index(messages: Messages) -> Html<String> {
    let context = messages.context();
    let mut html = String::from(
        "<!doctype html>\n<title>herald: htmx</title>\n\
         <script src=\"/static/htmx.min.js\"></script>\n<body>\n<ul id=\"messages\">",
    );
    for m in &context.messages {
        // `m` displays as HTML: escaped unless the message is safe.
        html.push_str(&format!("<li class=\"{}\">{m}</li>", m.tags));
    }
    html.push_str(
        "</ul>\n<button hx-post=\"/save\" hx-target=\"#status\">Save (htmx)</button> <span id=\"status\"></span>\n\
         <form method=\"post\" action=\"/add\"><input name=\"text\" value=\"Added.\" required><button>Add and redirect</button></form>\n",
    );
    html.push_str(SCRIPT);
    html.push_str("\n</body>\n");
    Html(html)
}

/// `POST /save` (htmx): a message, a fragment and the handler's own `saved` event, which
/// the layer keeps beside `messages`.
async fn save(messages: Messages) -> impl IntoResponse {
    messages.success("Draft saved.");
    let mut headers = HeaderMap::new();
    headers.insert("hx-trigger", r#"{"saved": {"id": 7}}"#.parse().unwrap());
    (headers, Html("<em>saved</em>"))
}

/// `GET /status`: a fragment that does not read the messages (the layer sends them).
async fn status() -> Html<&'static str> {
    Html("<em>ok</em>")
}

/// `POST /add`: queue a message, then redirect (303 See Other).
async fn add(messages: Messages, Form(form): Form<AddForm>) -> Redirect {
    messages.info(&form.text);
    Redirect::to("/")
}

/// The application: herald's cookie layer outside, the htmx layer inside it.
pub fn app(secret: &[u8]) -> Result<Router, ConfigError> {
    let config = Config::builder()
        .secret(secret)
        // Plain-HTTP local development; say `true` (the default) behind HTTPS.
        .secure(false)
        .build()?;
    Ok(Router::new()
        .route("/", get(index))
        .route("/save", post(save))
        .route("/status", get(status))
        .route("/add", post(add))
        .layer(HtmxLayer::new())
        .layer(MessagesLayer::cookie(config)))
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::var("PORT").map_or(Ok(3003), |p| p.parse())?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)?;
    let app = app(&secret)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("serving http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
