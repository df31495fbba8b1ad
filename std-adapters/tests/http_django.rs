//! Django's wire format in herald's storages (`WireFormat::Django`), over real HTTP on
//! 127.0.0.1 against both the axum and the actix-web adapter:
//!
//! * Django's conformance vectors replayed through the servers: every storage scenario
//!   (cookie and fallback: the `update()` rules, lazy loading, flushing) with the exact
//!   `Set-Cookie` Django sends and the session entry it leaves; every encode vector as a
//!   POST (byte-for-byte cookie, unstored messages, the overflow in the session as Django's
//!   JSON) followed by the GET that shows them; every decode vector as a request cookie;
//!   the deletion cookies;
//! * the ordinary flows (POST → 303 → GET shown once) with a cookie jar, in cookie,
//!   herald-memory-session and tower-sessions / actix-session storages, Django-made
//!   cookies read, `SECRET_KEY_FALLBACKS`, tampering, non-message items;
//! * live, with a Python with Django: herald's cookie and session entry read by real
//!   Django, Django's read by herald, and herald's `Set-Cookie` equal to Django's (without
//!   Django the test fails and says how to get it, unless deselected with
//!   `HERALD_SKIP_LIVE=django`).
#![cfg(feature = "django")]

mod common;
mod django_support;

use std::collections::BTreeMap;
use std::future::{Future, ready};
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use django_support::{
    describe_item, django_python, item_from_input, load_vectors, run_django_helper,
};
use herald_flash::django::{DjangoCodec, DjangoItem, DjangoMessage, encode_session};
use herald_flash::session::{MemorySessions, SessionBackend, SessionError};
use herald_flash::{
    Config, ConfigBuilder, Level, Message, Messages, Storage, Unstored, WireFormat,
};
use serde_json::{Value, json};

/// The frozen `time.time()` of the visible vectors.
const VECTOR_TIME: u64 = 1_700_000_000;
/// The frozen time of the live cross-check.
const LIVE_TIME: u64 = 1_761_234_567;

fn vector_clock() -> u64 {
    VECTOR_TIME
}

fn live_clock() -> u64 {
    LIVE_TIME
}

/// The largest vectors hold 200 messages and 12 KB of text: within the default request
/// limits, so the ops server uses plain `Messages`.
type Big = Messages;

// ------------------------------------------------------------------------------------
// A session backend the test can see into: one session per server.
// ------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct OneSession(Arc<Mutex<BTreeMap<String, Vec<u8>>>>);

impl OneSession {
    fn with(entries: &Value) -> Self {
        let s = OneSession::default();
        if let Some(map) = entries.as_object() {
            for (k, v) in map {
                let text = v.as_str().expect("session values are strings");
                s.0.lock()
                    .unwrap()
                    .insert(k.clone(), text.as_bytes().to_vec());
            }
        }
        s
    }

    /// The session as the vectors describe it: `{key: text}`.
    fn snapshot(&self) -> Value {
        let map = self.0.lock().unwrap();
        Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let text = String::from_utf8(v.clone()).expect("Django's entry is text");
                    (k.clone(), Value::String(text))
                })
                .collect(),
        )
    }
}

impl SessionBackend for OneSession {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, SessionError>> + Send {
        ready(Ok(self.0.lock().unwrap().get(key).cloned()))
    }
    fn set(
        &self,
        key: &str,
        value: Vec<u8>,
    ) -> impl Future<Output = Result<(), SessionError>> + Send {
        self.0.lock().unwrap().insert(key.to_owned(), value);
        ready(Ok(()))
    }
    fn remove(&self, key: &str) -> impl Future<Output = Result<(), SessionError>> + Send {
        self.0.lock().unwrap().remove(key);
        ready(Ok(()))
    }
}

impl herald_flash::session::TowerSessionSource for OneSession {
    type Session = OneSession;
    fn session(
        &self,
        _: &axum::http::HeaderMap,
        _: &axum::http::Extensions,
    ) -> Result<OneSession, SessionError> {
        Ok(self.clone())
    }
}

impl herald_flash::session::ActixSessionSource for OneSession {
    type Session = OneSession;
    fn session(&self, _: &actix_web::HttpRequest) -> Result<OneSession, SessionError> {
        Ok(self.clone())
    }
}

// ------------------------------------------------------------------------------------
// The ops server: POST /ops runs Django storage operations on the request's messages.
// ------------------------------------------------------------------------------------

/// A message as the vectors describe it, with the configuration's tags.
fn describe(m: &herald_flash::MessageView<'_>) -> Value {
    json!({
        "level": m.level().0,
        "message": m.message(),
        "extra_tags": m.extra_tags(),
        "is_safe": m.is_safe(),
        "level_tag": m.level_tag(),
        "tags": m.tags().to_string(),
    })
}

/// Runs the vectors' operations (`add`, `iter`, `len`, `contains`, `set_level`,
/// `get_level`) and returns their results as the vectors give them.
fn run_ops(messages: &Big, ops: &[Value]) -> Vec<Value> {
    ops.iter()
        .map(|op| match op["op"].as_str().expect("op") {
            "add" => {
                let m = Message {
                    level: Level(op["level"].as_i64().expect("level") as i32),
                    message: op["message"].as_str().expect("message"),
                    extra_tags: op["extra_tags"].as_str(),
                    is_safe: op["is_safe"].as_bool().unwrap_or(false),
                    expires_at: None,
                };
                match messages.try_add_message(m) {
                    Ok(_) => Value::Null,
                    Err(e) => panic!("add failed: {e}"),
                }
            }
            "iter" => Value::Array(messages.read().iter().map(|m| describe(&m)).collect()),
            "len" => json!(messages.len()),
            "contains" => json!(messages.contains(
                Level(op["level"].as_i64().expect("level") as i32),
                op["message"].as_str().expect("message")
            )),
            "set_level" => {
                messages.set_level(op["level"].as_i64().map(|l| Level(l as i32)));
                Value::Null
            }
            "get_level" => json!(messages.level().0),
            other => panic!("unknown op {other}"),
        })
        .collect()
}

/// The unstored report as a header (base64url JSON of the texts: any text fits).
fn unstored_header(u: &Unstored) -> String {
    let texts: Vec<&str> = u.texts().collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&texts).unwrap())
}

mod axum_ops {
    use super::*;
    use axum::Router;
    use axum::extract::Json;
    use axum::http::HeaderValue;
    use axum::middleware::{self, Next};
    use axum::response::Response;
    use axum::routing::post;
    use herald_flash::tower::MessagesLayer;

    async fn ops(messages: Big, Json(body): Json<Value>) -> Json<Value> {
        Json(json!(run_ops(
            &messages,
            body["ops"].as_array().expect("ops")
        )))
    }

    async fn report(req: axum::extract::Request, next: Next) -> Response {
        let mut res = next.run(req).await;
        if let Some(u) = res.extensions_mut().remove::<Unstored>() {
            let v = HeaderValue::from_str(&unstored_header(&u)).unwrap();
            res.headers_mut().insert("x-unstored", v);
        }
        res
    }

    pub async fn spawn(config: Config, storage: Storage, sessions: OneSession) -> Server {
        let layer = MessagesLayer::with_storage(config, storage, sessions);
        let app = Router::new()
            .route("/ops", post(ops))
            .layer(layer)
            .layer(middleware::from_fn(report));
        serve_axum(app).await
    }
}

mod actix_ops {
    use super::*;
    use actix_web::http::header::HeaderValue;
    use actix_web::{HttpResponse, web};
    use herald_flash::actix::MessagesMiddleware;

    async fn ops(messages: Big, body: web::Json<Value>) -> HttpResponse {
        HttpResponse::Ok().json(run_ops(&messages, body["ops"].as_array().expect("ops")))
    }

    pub fn spawn(config: Config, storage: Storage, sessions: OneSession) -> Server {
        serve_actix(move |cfg| {
            let mw = MessagesMiddleware::with_storage(config.clone(), storage, sessions.clone());
            let report = |req, srv: &_| {
                let fut = actix_web::dev::Service::call(srv, req);
                async move {
                    let mut res: actix_web::dev::ServiceResponse = fut.await?;
                    let u = res.response_mut().extensions_mut().remove::<Unstored>();
                    if let Some(u) = u {
                        let v = HeaderValue::from_str(&unstored_header(&u)).unwrap();
                        res.headers_mut().insert("x-unstored".parse().unwrap(), v);
                    }
                    Ok::<_, actix_web::Error>(res)
                }
            };
            cfg.service(
                // The last `wrap` is the outermost: the report sees herald's response.
                web::scope("")
                    .wrap(mw)
                    .wrap_fn(report)
                    .app_data(web::JsonConfig::default().limit(1 << 22))
                    .route("/ops", web::post().to(ops)),
            );
        })
    }
}

async fn spawn_ops(
    fw: Framework,
    config: Config,
    storage: Storage,
    sessions: OneSession,
) -> Server {
    match fw {
        Framework::Axum => axum_ops::spawn(config, storage, sessions).await,
        Framework::Actix => actix_ops::spawn(config, storage, sessions),
    }
}

/// What one POST /ops returned.
struct Answer {
    set_cookies: Vec<String>,
    unstored: Vec<String>,
    results: Vec<Value>,
}

async fn post_ops(server: &Server, cookie: Option<&str>, ops: &Value) -> Answer {
    let mut req = raw_client()
        .post(server.url("/ops"))
        .json(&json!({ "ops": ops }));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("messages={c}"));
    }
    let res = req.send().await.expect("POST /ops");
    assert_eq!(res.status(), 200, "POST /ops");
    let set = set_cookies(&res, "messages");
    let unstored = res
        .headers()
        .get("x-unstored")
        .map(|h| {
            let json = URL_SAFE_NO_PAD.decode(h.as_bytes()).unwrap();
            serde_json::from_slice(&json).unwrap()
        })
        .unwrap_or_default();
    let results = res.json::<Vec<Value>>().await.expect("results");
    Answer {
        set_cookies: set,
        unstored,
        results,
    }
}

// ------------------------------------------------------------------------------------
// Configuration from a vector.
// ------------------------------------------------------------------------------------

/// Django's settings of a vector as a herald configuration in Django's format, or `None`
/// when herald refuses them (`SameSite=None` without `Secure`).
fn vector_config(v: &Value) -> Option<ConfigBuilder> {
    assert_eq!(v["timestamp"], VECTOR_TIME, "{}: frozen time", v["id"]);
    let s = &v["settings"];
    let mut b = Config::builder()
        .secret(v["secret_key"].as_str().unwrap())
        .wire_format(WireFormat::Django)
        .clock(vector_clock)
        .domain(s["SESSION_COOKIE_DOMAIN"].as_str().map(str::to_owned))
        .secure(s["SESSION_COOKIE_SECURE"].as_bool().unwrap())
        .http_only(s["SESSION_COOKIE_HTTPONLY"].as_bool().unwrap())
        .same_site_setting(s["SESSION_COOKIE_SAMESITE"].as_str());
    if let Some(level) = s["MESSAGE_LEVEL"].as_i64() {
        b = b.min_level(Level(level as i32));
    }
    // SECRET_KEY_FALLBACKS of the visible vectors are 17 bytes long, below herald's
    // 32-byte minimum; no scenario or encode vector depends on them (the fallback-key
    // decode vectors are skipped below, and fallback keys are tested with long keys).
    b.clone().build().ok().map(|_| b)
}

fn add_ops(messages: &[Value]) -> Value {
    Value::Array(
        messages
            .iter()
            .map(|m| {
                json!({
                    "op": "add",
                    "level": m["level"],
                    "message": m["message"],
                    "extra_tags": m["extra_tags"],
                    "is_safe": m["is_safe"],
                })
            })
            .collect(),
    )
}

fn texts_of(described: &Value) -> Vec<String> {
    described
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["message"].as_str().expect("message").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------------
// The vectors over HTTP.
// ------------------------------------------------------------------------------------

/// Every storage scenario of the vectors (cookie and fallback storage: reading, adding,
/// `len`/`contains`, levels, invalid cookies, truncation, the fallback chain and its
/// flushing): the same operations through the server give the same results, the same
/// `Set-Cookie` byte for byte (or none), the same unstored messages and the same session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_storage_scenario_over_http() {
    let vectors = load_vectors();
    let scenarios: Vec<&Value> = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == "scenario")
        .collect();
    assert_eq!(scenarios.len(), 19);
    for fw in FRAMEWORKS {
        for v in &scenarios {
            let id = v["id"].as_str().unwrap();
            let input = &v["input"];
            let expected = &v["expected"];
            let storage = match input["storage"].as_str().unwrap() {
                "cookie" => Storage::Cookie,
                "fallback" => Storage::Fallback,
                other => panic!("{id}: storage {other}"),
            };
            let config = vector_config(v)
                .expect("scenario settings are valid")
                .build()
                .unwrap();
            let sessions = OneSession::with(&input["request_session"]);
            let server = spawn_ops(fw, config, storage, sessions.clone()).await;
            let answer = post_ops(&server, input["request_cookie"].as_str(), &input["ops"]).await;
            assert_eq!(
                Value::Array(answer.results),
                expected["op_results"],
                "{fw:?} {id}: operation results"
            );
            match expected["cookie"]["set_cookie"].as_str() {
                None => assert!(
                    answer.set_cookies.is_empty(),
                    "{fw:?} {id}: no Set-Cookie, got {:?}",
                    answer.set_cookies
                ),
                Some(line) => assert_eq!(
                    answer.set_cookies,
                    [line],
                    "{fw:?} {id}: Set-Cookie byte for byte"
                ),
            }
            assert_eq!(
                answer.unstored,
                texts_of(&expected["update_returned"]),
                "{fw:?} {id}: unstored messages"
            );
            if storage == Storage::Fallback {
                assert_eq!(
                    sessions.snapshot(),
                    expected["session_after"],
                    "{fw:?} {id}: the session after the request"
                );
            }
        }
    }
}

/// Every encode vector made of messages, as a POST adding them: the `Set-Cookie` equals
/// Django's byte for byte (value, attributes, SameSite spelling), cookie storage reports
/// the messages Django drops, fallback storage puts the overflow in the session as
/// Django's JSON; then a GET with that cookie and session shows everything that was
/// stored, once, with `extra_tags` `None` and `""` kept apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_encode_vector_as_a_post_then_a_get() {
    let vectors = load_vectors();
    let mut checked = 0;
    for v in vectors["vectors"].as_array().unwrap() {
        if v["kind"] != "encode" {
            continue;
        }
        let id = v["id"].as_str().unwrap();
        let input = &v["input"];
        let expected = &v["expected"];
        let messages = input["messages"].as_array().unwrap();
        // `_store([])` (nothing to store) never happens through `update()`; raw items and
        // empty texts are not messages an inbox can hold.
        if messages.is_empty()
            || messages
                .iter()
                .any(|m| m.get("raw").is_some() || m["message"] == "")
        {
            continue;
        }
        let remove_oldest = input["remove_oldest"].as_bool().unwrap();
        let storage = if remove_oldest {
            Storage::Cookie
        } else {
            Storage::Fallback
        };
        let Some(builder) = vector_config(v) else {
            panic!("{id}: settings refused");
        };
        let config = builder.min_level(Level(i32::MIN)).build().unwrap();
        let unstored: Vec<usize> = expected["unstored_indices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap() as usize)
            .collect();
        let unstored_items: Vec<DjangoItem> = unstored
            .iter()
            .map(|&i| item_from_input(&messages[i]))
            .collect();
        for fw in FRAMEWORKS {
            let sessions = OneSession::default();
            let server = spawn_ops(fw, config.clone(), storage, sessions.clone()).await;
            let answer = post_ops(&server, None, &add_ops(messages)).await;
            let line = expected["cookie"]["set_cookie"].as_str().unwrap();
            assert_eq!(answer.set_cookies, [line], "{fw:?} {id}: Set-Cookie");
            let in_session = sessions.snapshot();
            if remove_oldest {
                let dropped: Vec<String> = unstored
                    .iter()
                    .map(|&i| messages[i]["message"].as_str().unwrap().to_owned())
                    .collect();
                assert_eq!(answer.unstored, dropped, "{fw:?} {id}: unstored");
                assert_eq!(in_session, json!({}), "{fw:?} {id}: no session");
            } else {
                assert!(answer.unstored.is_empty(), "{fw:?} {id}: nothing unstored");
                let entry = encode_session(&unstored_items).map(Value::String);
                let expected_session = match entry {
                    Some(e) => json!({ "_messages": e }),
                    None => json!({}),
                };
                assert_eq!(
                    in_session, expected_session,
                    "{fw:?} {id}: the overflow in the session, as Django's JSON"
                );
            }
            // The next request shows what was stored, once.
            let value = expected["cookie"]["value"].as_str().unwrap();
            let shown = post_ops(&server, Some(value), &json!([{ "op": "iter" }])).await;
            let stored: Vec<Value> = (0..messages.len())
                .filter(|i| !remove_oldest || !unstored.contains(i))
                .map(|i| describe_item(&item_from_input(&messages[i])))
                .collect();
            assert_eq!(
                shown.results[0],
                Value::Array(stored),
                "{fw:?} {id}: shown after the redirect"
            );
            // Cookie storage deletes a read cookie; fallback storage only flushes the
            // storages that held messages, so a sentinel-only cookie is left alone.
            if remove_oldest || unstored.len() < messages.len() {
                assert_eq!(shown.set_cookies.len(), 1, "{fw:?} {id}: cookie deleted");
                let line = &shown.set_cookies[0];
                assert!(line.starts_with("messages=\"\"; ") && line.contains("; Max-Age=0;"));
            } else {
                assert!(shown.set_cookies.is_empty(), "{fw:?} {id}: cookie kept");
            }
            assert_eq!(
                sessions.snapshot(),
                json!({}),
                "{fw:?} {id}: session flushed"
            );
            checked += 1;
        }
    }
    assert!(checked >= 2 * 48, "only {checked} encode checks ran");
}

/// Every decode vector as the request's cookie (cookie storage): `len()` counts what is
/// shown and deletes exactly the cookies Django deletes (invalid ones; herald also clears
/// the correctly signed values on which Django raises, R-4.21, instead of failing the
/// request), and iterating shows Django's messages, without the items that are not
/// messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decode_vector_as_a_request_cookie() {
    let vectors = load_vectors();
    let config = |v: &Value| vector_config(v).unwrap().build().unwrap();
    let mut checked = 0;
    for v in vectors["vectors"].as_array().unwrap() {
        if v["kind"] != "decode" {
            continue;
        }
        let id = v["id"].as_str().unwrap();
        let expected = &v["expected"];
        if v["construction"]["kind"] == "fallback_key" {
            // Signed with a 17-byte SECRET_KEY_FALLBACKS entry, below herald's minimum
            // (see `django_fallback_keys_are_read_and_not_re_signed`).
            continue;
        }
        let cookie = v["input"]["cookie_value"].as_str().unwrap();
        let shown: Vec<Value> = match expected["messages"].as_array() {
            Some(items) => items
                .iter()
                .filter(|m| m.get("raw").is_none() && m["message"] != "")
                .cloned()
                .collect(),
            None => Vec::new(),
        };
        let herald_clears = expected["marks_used"] == true || expected["result"] == "exception";
        let non_list = expected["messages"].get("non_list_value").is_some();
        for fw in FRAMEWORKS {
            let server = spawn_ops(fw, config(v), Storage::Cookie, OneSession::default()).await;
            let c = (!cookie.is_empty()).then_some(cookie);
            let answer = post_ops(&server, c, &json!([{ "op": "len" }])).await;
            assert_eq!(answer.results, [json!(shown.len())], "{fw:?} {id}: len");
            if !non_list {
                assert_eq!(
                    !answer.set_cookies.is_empty(),
                    herald_clears,
                    "{fw:?} {id}: deletion {:?}",
                    answer.set_cookies
                );
            }
            let answer = post_ops(&server, c, &json!([{ "op": "iter" }])).await;
            assert_eq!(
                answer.results,
                [Value::Array(shown.clone())],
                "{fw:?} {id}: messages"
            );
            checked += 1;
        }
    }
    assert!(checked >= 2 * 36, "only {checked} decode checks ran");
}

/// The deletion cookie of every delete vector herald can be configured for:
/// `messages=""; [Domain; ]expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/[;
/// SameSite][; Secure]`, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_cookies_are_djangos() {
    let vectors = load_vectors();
    let mut checked = 0;
    for v in vectors["vectors"].as_array().unwrap() {
        if v["kind"] != "delete" {
            continue;
        }
        let id = v["id"].as_str().unwrap();
        let Some(builder) = vector_config(v) else {
            // SameSite=None without Secure: herald refuses the configuration (browsers
            // drop such cookies), so it never writes this deletion.
            continue;
        };
        let config = builder.build().unwrap();
        let codec = DjangoCodec::new(v["secret_key"].as_str().unwrap());
        let value = codec
            .encode(
                &[DjangoMessage::new(20, "to be read")],
                true,
                VECTOR_TIME as i64,
                2048,
            )
            .value
            .unwrap();
        let line = v["expected"]["cookie"]["set_cookie"].as_str().unwrap();
        assert!(line.contains("Max-Age=0"), "{id}: a deletion vector");
        for fw in FRAMEWORKS {
            let server =
                spawn_ops(fw, config.clone(), Storage::Cookie, OneSession::default()).await;
            let answer = post_ops(&server, Some(&value), &json!([{ "op": "iter" }])).await;
            assert_eq!(answer.results[0][0]["message"], "to be read");
            assert_eq!(answer.set_cookies, [line], "{fw:?} {id}");
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * 3);
}

// ------------------------------------------------------------------------------------
// The ordinary flows, with a cookie jar, in every store.
// ------------------------------------------------------------------------------------

/// Django's format with Django's default cookie settings (`SESSION_COOKIE_SECURE = False`,
/// where herald's own default is `Secure`).
fn django_config() -> ConfigBuilder {
    config().wire_format(WireFormat::Django).secure(false)
}

fn stores() -> [(&'static str, Store); 3] {
    [
        ("cookie", Store::Cookie),
        ("memory fallback", Store::Memory(MemorySessions::new())),
        ("ecosystem fallback", Store::Ecosystem),
    ]
}

/// A cookie Django wrote is read by the herald server and shown once; herald's cookie for
/// a POST is Django's format; everything is shown once after the redirect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_cookie_is_shown_once_and_herald_writes_djangos_format() {
    let codec = DjangoCodec::new(SECRET);
    for fw in FRAMEWORKS {
        for (name, store) in stores() {
            let server = spawn(fw, django_config().build().unwrap(), store).await;
            let (c, jar) = client();
            // Written by Django (its codec, as Django writes it).
            let made = [
                DjangoMessage::new(25, "Saved by Django."),
                DjangoMessage::new(40, "Watch out")
                    .with_extra_tags(None)
                    .with_safe(true),
            ];
            let value = codec
                .encode(&made, true, 1_700_000_000, 2048)
                .value
                .unwrap();
            let url: reqwest::Url = server.url("/").parse().unwrap();
            jar.add_cookie_str(&format!("messages={value}; Path=/"), &url);
            let shown = get_json(&c, &server, "/show").await;
            assert_eq!(
                texts(&shown),
                ["Saved by Django.", "Watch out"],
                "{fw:?} {name}"
            );
            assert_eq!(shown[0]["tags"], "success");
            assert_eq!(shown[0]["extra_tags"], "");
            assert_eq!(shown[1]["extra_tags"], Value::Null, "None stays None");
            assert!(
                texts(&get_json(&c, &server, "/show").await).is_empty(),
                "{fw:?} {name}: shown once"
            );

            // Written by herald, in Django's format.
            let res = post_add(
                &c,
                &server,
                &[
                    ("level", "25"),
                    ("extra", "big"),
                    ("text", "Profile saved."),
                ],
            )
            .await;
            let lines = set_cookies(&res, "messages");
            assert_eq!(lines.len(), 1, "{fw:?} {name}");
            assert!(
                lines[0].ends_with("; HttpOnly; Path=/; SameSite=Lax"),
                "{fw:?} {name}: {}",
                lines[0]
            );
            let decoded = codec
                .decode(cookie_value(&lines[0]))
                .expect("Django's codec verifies it")
                .expect("not empty");
            assert!(decoded.all_retrieved);
            assert_eq!(
                decoded.items,
                [DjangoItem::Message(
                    DjangoMessage::new(25, "Profile saved.").with_extra_tags(Some("big"))
                )]
            );
            // Byte for byte what Django writes for it at that second.
            let again = codec.encode(
                &[DjangoMessage::new(25, "Profile saved.").with_extra_tags(Some("big"))],
                true,
                decoded.timestamp,
                2048,
            );
            assert_eq!(again.value.as_deref(), Some(cookie_value(&lines[0])));
            let shown = get_json(&c, &server, "/show").await;
            assert_eq!(texts(&shown), ["Profile saved."], "{fw:?} {name}");
            assert_eq!(shown[0]["tags"], "big success");
            assert!(texts(&get_json(&c, &server, "/show").await).is_empty());
        }
    }
}

fn long(i: usize) -> String {
    // Incompressible-ish text (an LCG over letters), so that a few fill the cookie.
    let mut x = 0x9e37_79b9_u32.wrapping_mul(i as u32 + 1);
    let mut s = format!("message {i:02} ");
    while s.len() < 400 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        s.push(char::from(b'a' + ((x >> 16) % 26) as u8));
    }
    s
}

/// Fallback overflow in Django's format: the cookie keeps the oldest that fit with the
/// sentinel, the rest goes to the session as Django's JSON (herald's memory sessions,
/// tower-sessions, actix-session), and the next page shows them all, in order, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_overflow_goes_to_the_session_as_djangos_json() {
    let codec = DjangoCodec::new(SECRET);
    // 7 × 400 bytes: over the cookie, within the inbox's default 3072 bytes of text.
    let all: Vec<String> = (0..7).map(long).collect();
    for fw in FRAMEWORKS {
        for (name, store) in stores().into_iter().skip(1) {
            let memory = match &store {
                Store::Memory(m) => Some(m.clone()),
                _ => None,
            };
            let server = spawn(fw, django_config().build().unwrap(), store).await;
            let (c, _) = client();
            let pairs: Vec<(&str, &str)> = all.iter().map(|t| ("text", t.as_str())).collect();
            let res = post_add(&c, &server, &pairs).await;
            assert!(
                res.headers().get("x-herald-unstored").is_none(),
                "{fw:?} {name}: nothing lost"
            );
            let lines = set_cookies(&res, "messages");
            let decoded = codec.decode(cookie_value(&lines[0])).unwrap().unwrap();
            assert!(!decoded.all_retrieved, "{fw:?} {name}: the sentinel");
            let in_cookie = decoded.items.len();
            assert!((1..7).contains(&in_cookie), "{fw:?} {name}: {in_cookie}");
            if let Some(m) = memory {
                let id = set_cookies(&res, "herald_session");
                let header = id[0].split(';').next().unwrap().to_owned();
                let entry = m
                    .session([header.as_bytes()])
                    .get("_messages")
                    .await
                    .unwrap()
                    .expect("the overflow is in the session");
                let rest: Vec<DjangoMessage> = all[in_cookie..]
                    .iter()
                    .map(|t| DjangoMessage::new(20, t.as_str()))
                    .collect();
                assert_eq!(
                    String::from_utf8(entry).unwrap(),
                    encode_session(&rest).unwrap(),
                    "{fw:?} {name}: Django's JSON under _messages"
                );
            }
            let shown = get_json(&c, &server, "/show").await;
            assert_eq!(texts(&shown), all, "{fw:?} {name}: all, in order");
            assert!(texts(&get_json(&c, &server, "/show").await).is_empty());
        }
    }
}

/// `SECRET_KEY_FALLBACKS`: a cookie signed with an old key is read; as in Django it is not
/// re-signed by a request that leaves it alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_fallback_keys_are_read_and_not_re_signed() {
    let old = DjangoCodec::new(OLD_SECRET);
    let value = old
        .encode(
            &[DjangoMessage::new(20, "from before the rotation")],
            true,
            1_700_000_000,
            2048,
        )
        .value
        .unwrap();
    for fw in FRAMEWORKS {
        let config = django_config().fallback_secret(OLD_SECRET).build().unwrap();
        let server = spawn(fw, config, Store::Cookie).await;
        let c = raw_client();
        let res = c
            .get(server.url("/count"))
            .header("cookie", format!("messages={value}"))
            .send()
            .await
            .unwrap();
        assert!(
            set_cookies(&res, "messages").is_empty(),
            "{fw:?}: left alone"
        );
        assert_eq!(res.json::<Value>().await.unwrap(), 1);
        let res = c
            .get(server.url("/show"))
            .header("cookie", format!("messages={value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            set_cookies(&res, "messages")[0],
            "messages=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax"
        );
        assert_eq!(
            texts(&res.json().await.unwrap()),
            ["from before the rotation"]
        );
        // Without the fallback key the same cookie is invalid: no messages, cleared.
        let server = spawn(fw, django_config().build().unwrap(), Store::Cookie).await;
        let res = c
            .get(server.url("/show"))
            .header("cookie", format!("messages={value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(set_cookies(&res, "messages").len(), 1);
        assert!(texts(&res.json().await.unwrap()).is_empty());
    }
}

/// Items of a Django list that are not messages are left out (and logged), never an
/// error; a herald-format cookie is not read in Django's format, and vice versa.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_items_and_foreign_formats_never_fail_a_request() {
    let codec = DjangoCodec::new(SECRET);
    let items = [
        DjangoItem::Raw(json!("a plain string")),
        DjangoItem::Message(DjangoMessage::new(20, "a message")),
        DjangoItem::Raw(json!({"nested": ["__json_message", 0, 20, "inside"]})),
        DjangoItem::not_finished(),
        DjangoItem::Message(DjangoMessage::new(30, "another")),
    ];
    let value = codec.encode_all(&items, 1_700_000_000, false).unwrap();
    for fw in FRAMEWORKS {
        let server = spawn(fw, django_config().build().unwrap(), Store::Cookie).await;
        let c = raw_client();
        let res = c
            .get(server.url("/show"))
            .header("cookie", format!("messages={value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            texts(&res.json().await.unwrap()),
            ["a message", "another"],
            "{fw:?}"
        );
        // A cookie in herald's own format means nothing here: cleared, not an error.
        let herald_server = spawn(fw, config().build().unwrap(), Store::Cookie).await;
        let (hc, _) = client();
        let res = post_add(&hc, &herald_server, &[("text", "herald format")]).await;
        let herald_value = cookie_value(&set_cookies(&res, "messages")[0]).to_owned();
        let res = c
            .get(server.url("/show"))
            .header("cookie", format!("messages={herald_value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(set_cookies(&res, "messages").len(), 1, "{fw:?}: cleared");
        assert!(texts(&res.json().await.unwrap()).is_empty(), "{fw:?}");
        // And Django's value means nothing to a herald-format server.
        let res = c
            .get(herald_server.url("/show"))
            .header("cookie", format!("messages={value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(texts(&res.json().await.unwrap()).is_empty(), "{fw:?}");
    }
}

// ------------------------------------------------------------------------------------
// Live, with real Django.
// ------------------------------------------------------------------------------------

/// Runs `cases` through the Django helper (one Python process); returns the results.
fn django(python: &Path, cases: &[Value]) -> Vec<Value> {
    let answer = run_django_helper(python, cases);
    println!(
        "real Django {} on Python {}",
        answer["django_version"], answer["python_version"]
    );
    answer["results"].as_array().unwrap().clone()
}

/// The messages of the live check: unicode (accents, CJK, astral emoji, RTL), controls,
/// HTML, extra tags `None` / `""` / text, safe flags, levels with and without tags, and
/// enough long texts to overflow the cookie.
fn live_messages() -> Vec<Value> {
    let mut v = vec![
        json!({"level": 25, "message": "Profil gespeichert — ✓", "extra_tags": "", "is_safe": false}),
        json!({"level": 20, "message": "中文 😀🎉 עברית\u{200f}", "extra_tags": null, "is_safe": false}),
        json!({"level": 40, "message": "<b>bold</b> & \"quotes\" \\ /", "extra_tags": "big wide", "is_safe": true}),
        json!({"level": 29, "message": "custom level\nwith a newline\tand tab\u{7f}", "extra_tags": "", "is_safe": false}),
        json!({"level": 30, "message": "__messagesnotfinished__", "extra_tags": "x", "is_safe": false}),
    ];
    for i in 0..7 {
        v.push(json!({"level": 20, "message": long(i), "extra_tags": "", "is_safe": i % 2 == 1}));
    }
    v
}

/// Django's description of a message (what the helper returns).
fn plain(m: &Value) -> Value {
    json!({
        "level": m["level"],
        "message": m["message"],
        "extra_tags": m["extra_tags"],
        "is_safe": m["is_safe"],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_django_and_herald_read_each_other() {
    let Some(python) = django_python("live_django_and_herald_read_each_other") else {
        return;
    };
    let messages = live_messages();
    let settings = json!({"domain": null, "secure": false, "httponly": true, "samesite": "Lax"});
    let base =
        |op: &str| json!({"op": op, "secret": SECRET, "fallbacks": [], "settings": settings});

    // herald writes (fallback storage: cookie + session), for Django to read.
    let mut herald_written = Vec::new();
    for fw in FRAMEWORKS {
        let config = django_config().clock(live_clock).build().unwrap();
        let sessions = OneSession::default();
        let server = spawn_ops(fw, config, Storage::Fallback, sessions.clone()).await;
        let answer = post_ops(&server, None, &add_ops(&messages)).await;
        assert_eq!(answer.set_cookies.len(), 1, "{fw:?}");
        let value = cookie_value(&answer.set_cookies[0]).to_owned();
        let session = sessions.snapshot()["_messages"]
            .as_str()
            .expect("overflow in the session")
            .to_owned();
        herald_written.push((value, session));
    }
    let mut cases = Vec::new();
    for (value, session) in &herald_written {
        let mut c = base("decode");
        c["value"] = json!(value);
        cases.push(c);
        let mut c = base("session_decode");
        c["value"] = json!(session);
        cases.push(c);
    }
    // Django writes: CookieStorage alone (remove_oldest) and the fallback pair (cookie
    // with remove_oldest=False, then the session entry of what did not fit).
    let first = cases.len();
    for remove_oldest in [true, false] {
        let mut c = base("encode");
        c["messages"] = json!(messages);
        c["remove_oldest"] = json!(remove_oldest);
        c["timestamp"] = json!(LIVE_TIME);
        cases.push(c);
    }
    let results = django(&python, &cases);

    // Django read herald's cookie and session: every message, in order, the sentinel.
    for (i, fw) in FRAMEWORKS.iter().enumerate() {
        let cookie = &results[2 * i];
        let session = &results[2 * i + 1];
        assert_eq!(
            cookie["result"], "ok",
            "{fw:?}: Django reads herald's cookie"
        );
        assert_eq!(cookie["all_retrieved"], false, "{fw:?}: the sentinel");
        assert_eq!(
            session["result"], "ok",
            "{fw:?}: Django reads herald's session"
        );
        let mut read: Vec<Value> = cookie["messages"].as_array().unwrap().clone();
        read.extend(session["messages"].as_array().unwrap().iter().cloned());
        let sent: Vec<Value> = messages.iter().map(plain).collect();
        assert_eq!(read, sent, "{fw:?}: Django read what herald stored");
    }

    // herald reads Django's values, and writes Django's bytes.
    let cookie_only = &results[first];
    let fallback = &results[first + 1];
    let kept_alone: Vec<Value> = messages
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            !cookie_only["unstored_indices"]
                .as_array()
                .unwrap()
                .contains(&json!(i))
        })
        .map(|(_, m)| m.clone())
        .collect();
    let overflow: Vec<usize> = fallback["unstored_indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap() as usize)
        .collect();
    assert!(
        !overflow.is_empty(),
        "the live messages overflow the cookie"
    );
    let overflow_items: Vec<DjangoItem> = overflow
        .iter()
        .map(|&i| item_from_input(&messages[i]))
        .collect();
    let mut session_case = base("session_encode");
    session_case["messages"] = json!(overflow.iter().map(|&i| &messages[i]).collect::<Vec<_>>());
    let django_session = django(&python, &[session_case])[0]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        Some(django_session.clone()),
        encode_session(&overflow_items),
        "Django's session JSON"
    );
    let describe_all = |ms: &[Value]| -> Value {
        Value::Array(
            ms.iter()
                .map(|m| describe_item(&item_from_input(m)))
                .collect(),
        )
    };
    for fw in FRAMEWORKS {
        // Cookie storage: Django's cookie shown by herald; herald's Set-Cookie for the
        // same messages at the same second is Django's, byte for byte.
        let config = django_config().clock(live_clock).build().unwrap();
        let server = spawn_ops(fw, config, Storage::Cookie, OneSession::default()).await;
        let value = cookie_only["value"].as_str().unwrap();
        let shown = post_ops(&server, Some(value), &json!([{ "op": "iter" }])).await;
        assert_eq!(shown.results[0], describe_all(&kept_alone), "{fw:?}");
        let written = post_ops(&server, None, &add_ops(&messages)).await;
        assert_eq!(
            written.set_cookies,
            [cookie_only["set_cookie"].as_str().unwrap()],
            "{fw:?}: herald's Set-Cookie is real Django's"
        );

        // Fallback storage: Django's cookie + Django's session entry, shown in order, and
        // both flushed.
        let config = django_config().clock(live_clock).build().unwrap();
        let sessions = OneSession::with(&json!({ "_messages": django_session }));
        let server = spawn_ops(fw, config, Storage::Fallback, sessions.clone()).await;
        let value = fallback["value"].as_str().unwrap();
        let shown = post_ops(&server, Some(value), &json!([{ "op": "iter" }])).await;
        assert_eq!(
            shown.results[0],
            describe_all(&messages),
            "{fw:?}: all, in order"
        );
        assert_eq!(shown.set_cookies.len(), 1, "{fw:?}: cookie deleted");
        assert_eq!(sessions.snapshot(), json!({}), "{fw:?}: session flushed");
        let written = post_ops(&server, None, &add_ops(&messages)).await;
        assert_eq!(
            written.set_cookies,
            [fallback["set_cookie"].as_str().unwrap()],
            "{fw:?}: herald's fallback cookie is real Django's"
        );
        assert_eq!(
            sessions.snapshot(),
            json!({ "_messages": django_session }),
            "{fw:?}: herald's session entry is real Django's"
        );
    }
}

/// RULES: Django's format cannot carry a message's expiry, so a message added with
/// `add_expiring` is refused and reported unstored (never stored without its expiry); the
/// other messages of the request are stored as usual, in Django's format. And:
/// encrypted cookies need herald's own format, which the configuration says at start-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_format_refuses_expiring_messages_and_encryption() {
    assert_eq!(
        django_config().encrypt_cookies(true).build().err(),
        Some(herald_flash::ConfigError::EncryptionNeedsHeraldFormat)
    );
    let codec = DjangoCodec::new(SECRET);
    for fw in FRAMEWORKS {
        for (name, store) in stores() {
            let server = spawn(fw, django_config().build().unwrap(), store).await;
            let (c, _) = client();
            let res = post_add(
                &c,
                &server,
                &[
                    ("text", "kept"),
                    ("ttl", "600"),
                    ("expiring", "within ten minutes"),
                ],
            )
            .await;
            let header = |h: &str| res.headers()[h].to_str().unwrap().to_owned();
            assert_eq!(header("x-herald-unstored"), "1", "{fw:?} {name}");
            assert_eq!(header("x-herald-unstored-texts"), "within ten minutes");
            assert!(
                header("x-herald-unstored-reason").contains("cannot carry a message's expiry"),
                "{fw:?} {name}: {}",
                header("x-herald-unstored-reason")
            );
            let lines = set_cookies(&res, "messages");
            let decoded = codec
                .decode(cookie_value(&lines[0]))
                .expect("Django's codec verifies it")
                .expect("not empty");
            assert_eq!(
                decoded.items,
                [DjangoItem::Message(DjangoMessage::new(20, "kept"))]
            );
            assert_eq!(texts(&get_json(&c, &server, "/show").await), ["kept"]);
        }
    }
}
