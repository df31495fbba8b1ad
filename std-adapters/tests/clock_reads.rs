//! How often herald reads the clock: once per request (when the request begins) while no
//! message can expire before its response is written, since a plan at the request's time
//! is then the plan at any later time (the core's `Inbox::settled_time`); again at the
//! response when one can (a message with an expiry). `max_age` is checked when a cookie is
//! loaded and new messages count from the request's time, so it needs no second read. The
//! configured clock counts its calls; the app is the axum layer, driven in process.

use std::cell::Cell;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{get, post};
use herald_flash::tower::MessagesLayer;
use herald_flash::{Config, Level, Messages};
use http::{Request, header};
use tower::ServiceExt as _;

thread_local! {
    static READS: Cell<usize> = const { Cell::new(0) };
}

/// The test's clock: a fixed time, and one more read counted.
fn counting_clock() -> u64 {
    READS.with(|r| r.set(r.get() + 1));
    1_700_000_000
}

async fn add(messages: Messages) -> &'static str {
    messages.success("Profile saved.");
    "added"
}

async fn add_expiring(messages: Messages) -> &'static str {
    messages.add_expiring(Level::INFO, "For a minute.", Duration::from_secs(60));
    "added"
}

async fn show(messages: Messages) -> String {
    messages
        .read()
        .iter()
        .map(|m| m.message().to_owned())
        .collect()
}

fn app(config: Config) -> Router {
    Router::new()
        .route("/add", post(add))
        .route("/add_expiring", post(add_expiring))
        .route("/show", get(show))
        .layer(MessagesLayer::cookie(config))
}

/// Serves `req` and returns the clock reads it took, the body and the cookie it set.
fn serve(
    rt: &tokio::runtime::Runtime,
    app: &Router,
    req: Request<Body>,
) -> (usize, String, Option<String>) {
    READS.with(|r| r.set(0));
    let res = rt.block_on(app.clone().oneshot(req)).unwrap();
    let reads = READS.with(Cell::get);
    let cookie = res
        .headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
    let body = rt
        .block_on(axum::body::to_bytes(res.into_body(), 1 << 16))
        .unwrap();
    (reads, String::from_utf8(body.to_vec()).unwrap(), cookie)
}

/// A POST adding a message with `path`, then a GET showing it: the clock reads of each.
fn post_then_get(config: Config, path: &str) -> (usize, usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let app = app(config);
    let post = Request::post(path).body(Body::empty()).unwrap();
    let (post_reads, _, cookie) = serve(&rt, &app, post);
    let cookie = cookie.expect("the POST sets the messages cookie");
    let get = Request::get("/show")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let (get_reads, body, _) = serve(&rt, &app, get);
    assert!(!body.is_empty(), "the GET shows the message");
    (post_reads, get_reads)
}

fn config() -> herald_flash::ConfigBuilder {
    Config::builder()
        .secret("a secret for the clock test, 32 bytes or more")
        .clock(counting_clock)
}

#[test]
fn one_clock_read_per_request_when_nothing_can_expire() {
    assert_eq!(post_then_get(config().build().unwrap(), "/add"), (1, 1));
}

#[test]
fn a_max_age_needs_no_second_read() {
    let config = config()
        .max_age(Some(Duration::from_secs(600)))
        .build()
        .unwrap();
    assert_eq!(post_then_get(config, "/add"), (1, 1));
}

#[test]
fn a_message_with_an_expiry_reads_the_clock_again_at_the_response() {
    // The POST: the request's time, the expiry's start (`add_expiring`), the response's
    // time; the GET loads an expiring message, so its response reads the clock again too.
    assert_eq!(
        post_then_get(config().build().unwrap(), "/add_expiring"),
        (3, 2)
    );
}
