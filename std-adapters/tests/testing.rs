//! `herald_flash::testing`, used as a user's tests use it: axum through
//! `tower::ServiceExt::oneshot`, actix-web through `actix_web::test`, cookie and session
//! storage.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use herald_flash::session::{MemorySessions, SessionBackend};
use herald_flash::testing::{
    SessionEntry, TestingError, cookie_header, cookie_value, put_in_session, read_cookie_value,
    read_session_entry, request_with_messages, response_messages, session_entry, stored_in_cookie,
    stored_in_session,
};
use herald_flash::tower::MessagesLayer;
use herald_flash::{Config, Level, Message, Messages};
use tower::ServiceExt;

fn config() -> Config {
    Config::builder()
        .secret("testing-helpers-secret-of-32-bytes!")
        .tag(Level(35), "notice")
        .build()
        .unwrap()
}

fn given() -> Vec<Message<'static>> {
    vec![
        Message::new(Level::SUCCESS, "Saved."),
        Message::new(Level(35), "<b>Custom</b>")
            .with_extra_tags("x")
            .with_safe(true),
        // Below the minimum level: stored anyway (a previous request accepted it).
        Message::new(Level::DEBUG, "Debug."),
    ]
}

/// Shows the messages, then adds one if `?add` is given.
async fn page(messages: Messages, uri: http::Uri) -> String {
    let shown: Vec<String> = messages
        .iter()
        .map(|m| format!("{}:{}", m.tags, m.message))
        .collect();
    if uri.query() == Some("add") {
        messages.warning("Next.");
    }
    shown.join("|")
}

async fn body(res: http::Response<Body>) -> String {
    String::from_utf8(
        axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap()
}

#[tokio::test]
async fn axum_cookie_in_and_out() {
    let config = config();
    let app = Router::new()
        .route("/", get(page))
        .route("/quiet", get(|| async { "ok" }))
        .layer(MessagesLayer::cookie(config.clone()));

    let req = request_with_messages(
        Request::get("/?add").body(Body::empty()).unwrap(),
        &config,
        &given(),
    )
    .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let stored = response_messages(&res, &config).unwrap().unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        (
            stored[0].level,
            stored[0].message.as_str(),
            stored[0].tags.as_str()
        ),
        (Level::WARNING, "Next.", "warning")
    );
    assert_eq!(
        body(res).await,
        "success:Saved.|x notice:<b>Custom</b>|debug:Debug."
    );

    // Read and nothing added: the cookie is deleted.
    let req = request_with_messages(
        Request::get("/").body(Body::empty()).unwrap(),
        &config,
        &given(),
    )
    .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(response_messages(&res, &config).unwrap(), Some(Vec::new()));

    // Messages neither read nor added: the cookie is not touched.
    let req = request_with_messages(
        Request::get("/quiet").body(Body::empty()).unwrap(),
        &config,
        &given(),
    )
    .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(response_messages(&res, &config).unwrap(), None);
}

#[tokio::test]
async fn existing_cookies_are_kept() {
    let config = config();
    let req = Request::get("/")
        .header("cookie", "theme=dark")
        .body(())
        .unwrap();
    let req = request_with_messages(req, &config, &given()).unwrap();
    let header = req.headers()["cookie"].to_str().unwrap();
    assert!(header.starts_with("theme=dark; messages="), "{header}");
}

#[actix_web::test]
async fn actix_cookie_in_and_out() {
    use actix_web::{App, test, web};
    use herald_flash::actix::MessagesMiddleware;

    async fn handler(messages: Messages) -> String {
        let shown: Vec<String> = messages.iter().map(|m| m.message).collect();
        messages.info("From actix.");
        shown.join("|")
    }

    let config = config();
    let app = test::init_service(
        App::new()
            .wrap(MessagesMiddleware::cookie(config.clone()))
            .route("/", web::get().to(handler)),
    )
    .await;
    let req = test::TestRequest::get()
        .uri("/")
        .insert_header(("Cookie", cookie_header(&config, &given()).unwrap()))
        .to_request();
    let res = test::call_service(&app, req).await;
    let stored = stored_in_cookie(
        &config,
        res.headers().get_all("set-cookie").map(|v| v.as_bytes()),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|m| m.message.as_str())
            .collect::<Vec<_>>(),
        ["From actix."]
    );
    assert_eq!(test::read_body(res).await, "Saved.|<b>Custom</b>|Debug.");
}

#[tokio::test]
async fn session_in_and_out() {
    let config = config();
    let sessions = MemorySessions::new();
    let app = Router::new()
        .route("/", get(page))
        .layer(MessagesLayer::session(config.clone(), sessions.clone()));

    // Put the messages into a new session; its cookie identifies it.
    let session = sessions.session(std::iter::empty());
    put_in_session(&session, &config, &given()).await.unwrap();
    let line = session
        .response_cookie()
        .expect("the store issued a session");
    let pair = line.split(';').next().unwrap().to_owned();

    let req = Request::get("/?add")
        .header("cookie", &pair)
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(
        body(res).await,
        "success:Saved.|x notice:<b>Custom</b>|debug:Debug."
    );
    let stored = stored_in_session(&sessions.session([pair.as_bytes()]), &config)
        .await
        .unwrap();
    assert_eq!(
        stored
            .iter()
            .map(|m| m.message.as_str())
            .collect::<Vec<_>>(),
        ["Next."]
    );
}

#[test]
fn values_round_trip_and_errors_are_typed() {
    let config = config();
    let value = cookie_value(&config, &given()).unwrap();
    let read = read_cookie_value(&config, &value).unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!((read[1].tags.as_str(), read[1].is_safe), ("x notice", true));

    let other = Config::builder()
        .secret("another-secret-of-at-least-32-bytes")
        .build()
        .unwrap();
    assert!(matches!(
        read_cookie_value(&other, &value),
        Err(TestingError::Invalid(_))
    ));

    let entry = session_entry(&config, &given()).unwrap();
    assert!(matches!(entry, SessionEntry::Bytes(_)));
    assert_eq!(read_session_entry(&config, entry.as_bytes()).unwrap(), read);

    // Nothing to store.
    assert!(matches!(
        cookie_value(&config, &[]),
        Err(TestingError::NotStored { given: 0, .. })
    ));
    // More than the cookie holds.
    let big = "x".repeat(3000);
    let err = cookie_value(&config, &[Message::new(Level::INFO, &big)]).unwrap_err();
    assert!(
        matches!(
            err,
            TestingError::NotStored {
                given: 1,
                stored: 0
            }
        ),
        "{err:?}"
    );
}

/// Django's wire format: the cookie is Django's signed value, the session entry Django's
/// JSON text.
#[cfg(feature = "django")]
#[test]
fn django_format() {
    use herald_flash::WireFormat;
    let config = Config::builder()
        .secret("testing-helpers-secret-of-32-bytes!")
        .wire_format(WireFormat::Django)
        .build()
        .unwrap();
    let value = cookie_value(&config, &given()).unwrap();
    assert_eq!(read_cookie_value(&config, &value).unwrap().len(), 3);
    let entry = session_entry(&config, &given()).unwrap();
    let SessionEntry::Text(text) = &entry else {
        panic!("{entry:?}")
    };
    assert!(text.starts_with('['), "{text}");
    assert_eq!(
        read_session_entry(&config, entry.as_bytes()).unwrap().len(),
        3
    );
}

use http::Request;
