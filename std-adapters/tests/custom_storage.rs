//! A storage of your own, written the way Django's docs teach (`BaseStorage._get` and
//! `_store`, here `MessageStorage::load` and `store`): the module docs' map keyed by user,
//! plugged into the tower layer beside cookie storage, through the real layer. The core
//! decides (read once, keep, minimum level); the storage only moves bytes; a failing
//! storage is a fast 503 with the messages reported unstored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Json;
use axum::routing::get;
use herald_flash::storage::{MessageStorage, StorageError, Stored};
use herald_flash::tower::MessagesLayer;
use herald_flash::{Config, Messages, Unstored, UnstoredReason};
use tower::ServiceExt as _;

/// The module docs' storage: a map from user to entries, with replace semantics, and a
/// switch that makes every call fail (its backend is "down").
#[derive(Clone, Default)]
struct ByUser {
    map: Arc<Mutex<HashMap<String, Vec<Vec<u8>>>>>,
    down: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("the cache is down")]
struct Down;

impl MessageStorage for ByUser {
    type Key = String;

    async fn load(&self, user: &String) -> Result<Vec<Vec<u8>>, StorageError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StorageError::backend(Down));
        }
        Ok(self
            .map
            .lock()
            .unwrap()
            .get(user)
            .cloned()
            .unwrap_or_default())
    }

    async fn store(&self, user: &String, entries: Vec<Vec<u8>>) -> Result<Stored, StorageError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StorageError::backend(Down));
        }
        let mut map = self.map.lock().unwrap();
        if entries.is_empty() {
            map.remove(user);
        } else {
            map.insert(user.clone(), entries);
        }
        Ok(Stored::default())
    }
}

fn app(storage: ByUser) -> Router {
    async fn show(m: Messages) -> Json<Vec<String>> {
        Json(m.iter().map(|m| m.message).collect())
    }
    async fn keep(m: Messages) -> Json<Vec<String>> {
        let v = m.iter().map(|m| m.message).collect();
        m.keep();
        Json(v)
    }
    async fn add(m: Messages) -> Json<Vec<String>> {
        m.success("saved").debug("below the minimum level");
        Json(Vec::new())
    }
    async fn add_and_fail(m: Messages, storage: axum::Extension<ByUser>) -> Json<Vec<String>> {
        m.success("lost");
        storage.down.store(true, Ordering::SeqCst);
        Json(Vec::new())
    }
    let config = Config::builder().secret([7u8; 32]).build().unwrap();
    Router::new()
        .route("/show", get(show))
        .route("/keep", get(keep))
        .route("/add", get(add))
        .route("/add-and-fail", get(add_and_fail))
        .layer(axum::Extension(storage.clone()))
        .layer(
            MessagesLayer::cookie(config).with_message_storage(storage, |headers, _| {
                let user = headers.get("x-user")?.to_str().ok()?;
                (!user.is_empty()).then(|| user.to_owned())
            }),
        )
}

async fn call(
    app: &Router,
    path: &str,
    user: Option<&str>,
) -> (StatusCode, Vec<String>, Option<Unstored>, Vec<String>) {
    let mut req = Request::get(path);
    if let Some(u) = user {
        req = req.header("x-user", u);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let unstored = res.extensions().get::<Unstored>().cloned();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let texts = serde_json::from_slice(&body).unwrap_or_default();
    (status, texts, unstored, cookies)
}

#[tokio::test]
async fn a_custom_storage_keyed_by_user_follows_the_core() {
    let storage = ByUser::default();
    let app = app(storage.clone());

    // Keyed: the message is in the storage, not in a cookie; DEBUG was ignored (the core).
    let (status, _, unstored, cookies) = call(&app, "/add", Some("ann")).await;
    assert_eq!(status, 200);
    assert!(unstored.is_none());
    assert!(
        cookies.is_empty(),
        "no cookie for a keyed request: {cookies:?}"
    );
    assert_eq!(storage.map.lock().unwrap()["ann"].len(), 1);

    // Another user and an anonymous visitor see nothing of it.
    assert!(call(&app, "/show", Some("bob")).await.1.is_empty());
    assert!(call(&app, "/show", None).await.1.is_empty());

    // Kept: shown and still stored; then read once.
    assert_eq!(call(&app, "/keep", Some("ann")).await.1, ["saved"]);
    assert_eq!(call(&app, "/show", Some("ann")).await.1, ["saved"]);
    assert!(call(&app, "/show", Some("ann")).await.1.is_empty());
    assert!(!storage.map.lock().unwrap().contains_key("ann"), "cleared");

    // Anonymous requests use the cookie storage.
    let (_, _, _, cookies) = call(&app, "/add", None).await;
    assert!(cookies.iter().any(|c| c.starts_with("messages=")));
}

#[tokio::test]
async fn a_failing_custom_storage_is_a_503_with_the_messages_reported() {
    let storage = ByUser::default();
    let app = app(storage.clone());
    call(&app, "/add", Some("cat")).await;

    // The store fails after the handler added: 503, the message reported unstored, and
    // what the storage held stays as it was (replace semantics: nothing was replaced).
    let (status, _, unstored, _) = call(&app, "/add-and-fail", Some("cat")).await;
    assert_eq!(status, 503);
    let unstored = unstored.expect("a report");
    assert_eq!(unstored.texts().collect::<Vec<_>>(), ["saved", "lost"]);
    assert!(
        unstored
            .messages
            .iter()
            .all(|m| matches!(m.reason, UnstoredReason::Storage(StorageError::Backend(_))))
    );
    assert!(unstored.lost_to_the_session_backend());

    // The load fails: the extractor answers 503.
    let (status, _, _, _) = call(&app, "/show", Some("cat")).await;
    assert_eq!(status, 503);
    // Anonymous visitors are unaffected.
    assert_eq!(call(&app, "/show", None).await.0, 200);

    // Back up: the message stored before the outage is still there.
    storage.down.store(false, Ordering::SeqCst);
    assert_eq!(call(&app, "/show", Some("cat")).await.1, ["saved"]);
}

/// A storage holding more than one request may load (its bound above the request limits):
/// the request shows what fits, and the rest stays stored, in order, for the next.
#[tokio::test]
async fn entries_past_the_request_limits_stay_stored() {
    use herald_flash::Limits;
    use herald_flash::user_store::{MemoryUserStore, Outbox, UserId, UserStoreOptions};

    let users = MemoryUserStore::with_options(UserStoreOptions::default().max_entries(50));
    let outbox = Outbox::new(
        Config::builder().secret([7u8; 32]).build().unwrap(),
        users.clone(),
    );
    let dan = UserId::new("dan").unwrap();
    for i in 0..5 {
        outbox
            .to_user(dan.clone())
            .info(format!("n{i}"))
            .await
            .unwrap();
    }
    let config = Config::builder()
        .secret([7u8; 32])
        .request_limits(Limits {
            max_bytes: 1024,
            max_messages: 3,
        })
        .build()
        .unwrap();
    async fn show(m: Messages) -> Json<Vec<String>> {
        Json(m.iter().map(|m| m.message).collect())
    }
    let app = Router::new().route("/show", get(show)).layer(
        MessagesLayer::cookie(config).with_message_storage(users.clone(), |headers, _| {
            UserId::new(headers.get("x-user")?.to_str().ok()?).ok()
        }),
    );
    let (status, shown, unstored, _) = call(&app, "/show", Some("dan")).await;
    assert_eq!(status, 200);
    assert_eq!(shown, ["n0", "n1", "n2"]);
    assert!(unstored.is_none());
    assert_eq!(users.pending(&dan), 2);
    assert_eq!(call(&app, "/show", Some("dan")).await.1, ["n3", "n4"]);
    assert_eq!(users.pending(&dan), 0);
}

/// An inner service that fails still gets what the request took put back.
#[tokio::test]
async fn a_failing_inner_service_loses_nothing_taken() {
    use herald_flash::user_store::{MemoryUserStore, Outbox, UserId};
    use tower::Layer as _;

    let config = Config::builder().secret([7u8; 32]).build().unwrap();
    let users = MemoryUserStore::new();
    let eve = UserId::new("eve").unwrap();
    Outbox::new(config.clone(), users.clone())
        .to_user(eve.clone())
        .info("held")
        .await
        .unwrap();
    let failing = tower::service_fn(|req: Request<Body>| async move {
        let messages = req
            .extensions()
            .get::<Messages>()
            .expect("the layer")
            .clone();
        messages.info("added before the failure");
        Err::<axum::response::Response, _>(std::io::Error::other("the inner service failed"))
    });
    let service = MessagesLayer::cookie(config)
        .with_message_storage(users.clone(), |headers, _| {
            UserId::new(headers.get("x-user")?.to_str().ok()?).ok()
        })
        .layer(failing);
    let req = Request::get("/")
        .header("x-user", "eve")
        .body(Body::empty())
        .unwrap();
    let err = service.oneshot(req).await.unwrap_err();
    assert_eq!(err.to_string(), "the inner service failed");
    assert_eq!(users.pending(&eve), 2, "put back, with the request's own");
}
