//! The per-user store beside Django's wire format: the anonymous visitor's messages are in
//! Django's signed cookie, signing in carries them over into the store, and the cookie is
//! deleted the way Django deletes it.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::response::Json;
use axum::routing::get;
use herald_flash::tower::MessagesLayer;
use herald_flash::user_store::{MemoryUserStore, UserId};
use herald_flash::{Config, Messages, WireFormat};
use tower::ServiceExt as _;

#[tokio::test]
async fn a_django_cookie_is_carried_over_into_the_per_user_store() {
    let config = Config::builder()
        .secret("django-insecure-0123456789abcdef0123456789abcdef")
        .wire_format(WireFormat::Django)
        .build()
        .unwrap();
    let users = MemoryUserStore::new();
    async fn add(m: Messages) -> Json<Vec<String>> {
        m.success("added anonymously");
        Json(Vec::new())
    }
    async fn plain() -> Json<Vec<String>> {
        Json(Vec::new())
    }
    async fn show(m: Messages) -> Json<Vec<String>> {
        Json(m.iter().map(|m| m.message).collect())
    }
    let app = Router::new()
        .route("/add", get(add))
        .route("/plain", get(plain))
        .route("/show", get(show))
        .layer(
            MessagesLayer::cookie(config).with_message_storage(users.clone(), |headers, _| {
                UserId::new(headers.get("x-user")?.to_str().ok()?).ok()
            }),
        );
    let send = |path: &str, cookie: Option<&str>, user: Option<&str>| {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        if let Some(u) = user {
            req = req.header("x-user", u);
        }
        app.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let res = send("/add", None, None).await.unwrap();
    let line = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(line.starts_with("messages="), "{line}");
    let cookie = line.split(';').next().unwrap().to_owned();

    // Signed in, a page that does not read: the cookie's message moves into the store and
    // the cookie is deleted as Django deletes it.
    let res = send("/plain", Some(&cookie), Some("ola")).await.unwrap();
    let deleted = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        deleted.starts_with("messages=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"),
        "{deleted}"
    );
    let ola = UserId::new("ola").unwrap();
    assert_eq!(users.pending(&ola), 1);
    let res = send("/show", None, Some("ola")).await.unwrap();
    let body = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .unwrap();
    let shown: Vec<String> = serde_json::from_slice(&body).unwrap();
    assert_eq!(shown, ["added anonymously"]);
    assert_eq!(users.pending(&ola), 0);
}
