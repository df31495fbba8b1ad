//! The small examples (`examples/axum_cookie.rs`, `axum_tower_sessions.rs`,
//! `axum_user_store.rs`, `actix_cookie.rs`, `actix_redis.rs`, `django_interop.rs`), each
//! included here and its
//! `app` served exactly as its `main` serves it, on a free loopback port, driven by a real
//! HTTP client with a cookie jar that does not follow redirects:
//!
//! * every example: POST adds a message → 303 to `/` → GET shows it once (escaped, its tag
//!   as the class) → GET shows nothing; its cookies are not `Secure` (plain HTTP);
//! * the fallback examples: enough long messages to overflow the cookie all come back, in
//!   order — for `actix_redis` through a real `redis-server`;
//! * `django_interop`, against a real Django (`HERALD_DJANGO_PYTHON`, else
//!   `<repo>/.venv-django/bin/python`):
//!   Django reads the cookie the example wrote, and the example shows (once) a cookie
//!   Django wrote.
//!
//! A missing `redis-server` or Django fails those tests with how to get it, unless they
//! are deselected with `HERALD_SKIP_LIVE` (see `tests/common/live.rs`).

#[path = "../examples/axum_cookie.rs"]
#[allow(dead_code)]
mod axum_cookie;
#[path = "../examples/axum_redis.rs"]
#[allow(dead_code)]
mod axum_redis;
#[path = "../examples/axum_tower_sessions.rs"]
#[allow(dead_code)]
mod axum_tower_sessions;
#[path = "../examples/axum_user_store.rs"]
#[allow(dead_code)]
mod axum_user_store;

#[path = "../examples/actix_cookie.rs"]
#[allow(dead_code)]
mod actix_cookie;
#[path = "../examples/actix_redis.rs"]
#[allow(dead_code)]
mod actix_redis;

#[path = "../examples/django_interop.rs"]
#[allow(dead_code)]
mod django_interop;

mod django_support;
// Only the Redis harness of `common` and its rule for missing tools (the rest of it
// needs other session-crate features).
#[path = "common/live.rs"]
mod live;
#[path = "common/redis.rs"]
#[allow(dead_code)]
mod redis_server;

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;
use serde_json::json;

const SECRET: &[u8] = b"the examples test secret, 32 bytes or more";
/// A Django `SECRET_KEY` for the interop check (Django's own keys are 50 characters).
const DJANGO_KEY: &str = "django-insecure-examples-test-0123456789abcdefghijklmnop";

/// A server running in the background, stopped on drop.
struct Running {
    base: String,
    stop: Option<Box<dyn FnOnce() + Send>>,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

fn loopback() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")
}

/// Serves an axum router on a free loopback port.
async fn serve_axum(app: axum::Router) -> Running {
    let l = loopback();
    l.set_nonblocking(true).expect("nonblocking");
    let base = format!("http://{}", l.local_addr().expect("addr"));
    let l = tokio::net::TcpListener::from_std(l).expect("tokio listener");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(l, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
    });
    Running {
        base,
        stop: Some(Box::new(move || {
            let _ = tx.send(());
        })),
    }
}

/// Runs an actix-web server in its own thread and actix system: `make` builds it on the
/// given free loopback listener (inside that system, so that what it connects at start-up
/// runs there, as in the example's `main`).
fn serve_actix<M, F>(make: M) -> Running
where
    M: FnOnce(TcpListener) -> F + Send + 'static,
    F: Future<Output = std::io::Result<actix_web::dev::Server>> + 'static,
{
    let l = loopback();
    let base = format!("http://{}", l.local_addr().expect("addr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = make(l).await.expect("the actix server is built");
            tx.send(server.handle()).expect("send the handle");
            server.await.expect("actix server");
        });
    });
    let handle = rx.recv().expect("the actix server starts");
    Running {
        base,
        stop: Some(Box::new(move || drop(handle.stop(false)))),
    }
}

/// A client with a cookie jar that does not follow redirects (the tests check the 303).
fn client() -> (reqwest::Client, Arc<reqwest::cookie::Jar>) {
    let jar = Arc::new(reqwest::cookie::Jar::default());
    let c = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    (c, jar)
}

/// GETs `/` and returns the HTML page.
async fn page(c: &reqwest::Client, server: &Running) -> String {
    let res = c.get(server.url("/")).send().await.expect("GET /");
    assert_eq!(res.status(), 200, "GET /");
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    res.text().await.expect("body")
}

/// POSTs the form to `/add` and checks the 303 back to `/`.
async fn add(c: &reqwest::Client, server: &Running, form: &[(&str, &str)]) -> reqwest::Response {
    let res = c
        .post(server.url("/add"))
        .form(form)
        .send()
        .await
        .expect("POST /add");
    assert_eq!(res.status(), 303, "POST /add answers 303 See Other");
    assert_eq!(res.headers()["location"], "/");
    res
}

/// The `(class, inner HTML)` of each `<li>` of a page.
fn items(html: &str) -> Vec<(String, String)> {
    html.split("<li class=\"")
        .skip(1)
        .map(|rest| {
            let (class, rest) = rest.split_once("\">").expect("class");
            let text = rest.split_once("</li>").expect("</li>").0;
            (class.to_owned(), text.to_owned())
        })
        .collect()
}

fn texts(html: &str) -> Vec<String> {
    items(html).into_iter().map(|(_, t)| t).collect()
}

/// The `Set-Cookie` line of a response for cookie `name`, if any.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
}

/// The value of a `name=value; …` line.
fn cookie_value(line: &str) -> &str {
    line.split(';').next().unwrap().split_once('=').unwrap().1
}

/// The examples serve plain HTTP: none of their cookies may be `Secure`, whatever the
/// library's default is. (The test's own cookie jar would send a `Secure` cookie to a
/// loopback address anyway, as browsers do for localhost; not every client does.)
fn assert_not_secure(line: &str) {
    assert!(
        !line
            .split(';')
            .any(|a| a.trim().eq_ignore_ascii_case("secure")),
        "a Secure cookie on plain HTTP: {line}"
    );
}

/// POST → 303 → GET shows the message once → GET shows nothing, and texts are escaped.
/// `session_cookie`: the name of the session cookie, which one short message must not
/// need.
async fn post_redirect_get(server: &Running, session_cookie: Option<&str>) {
    let (c, _) = client();
    let html = page(&c, server).await;
    assert!(html.contains("<p>No messages.</p>"), "{html}");
    assert!(html.contains("<form method=\"post\" action=\"/add\">"));

    let res = add(&c, server, &[("text", "Profile saved.")]).await;
    let line = set_cookie(&res, "messages").expect("the messages cookie is set");
    assert_not_secure(&line);
    if let Some(name) = session_cookie {
        assert_eq!(
            set_cookie(&res, name),
            None,
            "one short message fits in the cookie: no session"
        );
    }

    let html = page(&c, server).await;
    assert_eq!(
        items(&html),
        [("success".to_owned(), "Profile saved.".to_owned())]
    );
    let html = page(&c, server).await;
    assert!(items(&html).is_empty(), "shown once: {html}");
    assert!(html.contains("<p>No messages.</p>"));

    add(&c, server, &[("text", "<b>bold</b> & \"co\"")]).await;
    assert_eq!(
        texts(&page(&c, server).await),
        ["&lt;b&gt;bold&lt;/b&gt; &amp; &quot;co&quot;"],
        "texts are escaped"
    );
    assert!(texts(&page(&c, server).await).is_empty());
}

/// The long text of the overflow checks: ten of them do not fit in a 2048-byte cookie.
fn long_text() -> String {
    "A long message that fills the cookie quickly. "
        .repeat(6)
        .trim_end()
        .to_owned()
}

/// Ten long messages in one POST: the cookie is full, the rest goes to the session
/// (cookie `session_cookie`), and the next page shows all ten, in order, once.
async fn overflow(server: &Running, session_cookie: &str) -> reqwest::Response {
    let (c, _) = client();
    let text = long_text();
    let res = add(&c, server, &[("text", &text), ("times", "10")]).await;
    let line = set_cookie(&res, "messages").expect("the cookie holds the first messages");
    assert_not_secure(&line);
    assert!(
        cookie_value(&line).len() <= 2048,
        "the cookie keeps to its size: {}",
        cookie_value(&line).len()
    );
    let session = set_cookie(&res, session_cookie).expect("the overflow opens a session");
    assert_not_secure(&session);
    let expected: Vec<String> = (1..=10).map(|i| format!("{text} (#{i})")).collect();
    assert_eq!(
        texts(&page(&c, server).await),
        expected,
        "all ten, in order"
    );
    assert!(texts(&page(&c, server).await).is_empty(), "shown once");
    res
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_cookie() {
    let server = serve_axum(axum_cookie::app(SECRET).expect("the app builds")).await;
    post_redirect_get(&server, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_tower_sessions() {
    let server = serve_axum(axum_tower_sessions::app(SECRET).expect("the app builds")).await;
    post_redirect_get(&server, Some("id")).await;
    overflow(&server, "id").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_cookie() {
    let config = actix_cookie::config(SECRET).expect("the configuration builds");
    let server = serve_actix(move |l| async move {
        HttpServer::new(move || actix_cookie::app(config.clone()))
            .workers(1)
            .disable_signals()
            .listen(l)
            .map(|s| s.run())
    });
    post_redirect_get(&server, None).await;
}

/// The overflow goes to a real Redis: no key before it, one after, and all ten messages
/// come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actix_redis() {
    let Some(redis) = redis_server::RedisServer::start_or_skip("actix_redis") else {
        return;
    };
    let url = redis.url();
    let server = serve_actix(move |l| async move {
        let setup = actix_redis::setup(SECRET, &url)
            .await
            .expect("the example connects to Redis");
        HttpServer::new(move || actix_redis::app(setup.clone()))
            .workers(1)
            .disable_signals()
            .listen(l)
            .map(|s| s.run())
    });
    post_redirect_get(&server, Some("id")).await;
    assert_eq!(redis.dbsize(), 0, "short messages never touch the session");
    overflow(&server, "id").await;
    assert_eq!(
        redis.dbsize(),
        1,
        "the session (with the overflow) is in Redis"
    );
}

/// axum over Redis through `herald_flash::redis::connect`: the round trip, and the
/// overflow through a real `redis-server`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_redis() {
    let Some(redis) = redis_server::RedisServer::start_or_skip("axum_redis") else {
        return;
    };
    let app = axum_redis::app(SECRET, &redis.url())
        .await
        .expect("the example connects to Redis");
    let server = serve_axum(app).await;
    post_redirect_get(&server, Some("id")).await;
    assert_eq!(redis.dbsize(), 0, "short messages never touch the session");
    overflow(&server, "id").await;
    assert_eq!(
        redis.dbsize(),
        1,
        "the session (with the overflow) is in Redis"
    );
}

/// Messages per signed-in user on Redis: the login view's message is shown after its
/// redirect, the background export's message once, on whichever of two instances and two
/// devices asks first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_user_store() {
    let Some(redis) = redis_server::RedisServer::start_or_skip("axum_user_store") else {
        return;
    };
    let one = serve_axum(
        axum_user_store::app(SECRET, &redis.url())
            .await
            .expect("app"),
    )
    .await;
    let two = serve_axum(
        axum_user_store::app(SECRET, &redis.url())
            .await
            .expect("app"),
    )
    .await;
    let sign_in = async |server: &Running| {
        let (c, _) = client();
        let res = c
            .post(server.url("/login"))
            .form(&[("name", "ada")])
            .send()
            .await
            .expect("POST /login");
        assert_eq!(res.status(), 303);
        c
    };
    let laptop = sign_in(&one).await;
    let html = page(&laptop, &two).await;
    assert!(html.contains("Signed in as ada."), "{html}");
    assert!(
        html.contains("Welcome, ada."),
        "the login view's message: {html}"
    );
    let phone = sign_in(&two).await;
    assert!(page(&phone, &one).await.contains("Welcome, ada."));

    let res = laptop
        .post(one.url("/export"))
        .send()
        .await
        .expect("POST /export");
    assert_eq!(res.status(), 303);
    assert!(page(&laptop, &one).await.contains("Export started"));
    // The device that asks first after the export is done sees it (polled: the job runs
    // on its own), and only that one.
    let ready = |html: &str| html.contains("Your export is ready.");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        tokio::time::sleep(axum_user_store::EXPORT_TIME / 4).await;
        let html = page(&phone, &two).await;
        if ready(&html) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never shown: {html}");
    }
    assert!(!ready(&page(&laptop, &one).await), "shown once");
    assert!(!ready(&page(&phone, &one).await));
}

/// The example's app refuses a Django key herald considers too short, at start-up.
#[test]
fn django_interop_checks_the_key() {
    assert!(django_interop::app(b"short").is_err());
    assert!(django_interop::app(DJANGO_KEY.as_bytes()).is_ok());
}

/// Both directions against a real Django: Django reads the cookie the example wrote, and
/// the example shows, once, a cookie Django wrote (tags, escaping, the safe flag).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn django_interop() {
    let server =
        serve_axum(django_interop::app(DJANGO_KEY.as_bytes()).expect("the app builds")).await;
    post_redirect_get(&server, None).await;

    // A missing Django fails the test with how to get it, unless deselected
    // (HERALD_SKIP_LIVE=django): the rule of every live test.
    let Some(python) = django_support::django_python("django_interop") else {
        return;
    };

    // The example writes a cookie.
    let (c, _) = client();
    let res = add(&c, &server, &[("text", "Saved by Rust: déjà vu ✓")]).await;
    let written = set_cookie(&res, "messages").expect("the example sets the cookie");
    let value = cookie_value(&written).to_owned();

    // Django writes one.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let from_django = json!([
        {"level": 40, "message": "Django says no <b>.", "extra_tags": "urgent", "is_safe": false},
        {"level": 20, "message": "<em>trusted</em> HTML", "extra_tags": null, "is_safe": true},
    ]);
    let cases = [
        json!({"op": "decode", "secret": DJANGO_KEY, "fallbacks": [], "value": value}),
        json!({"op": "encode", "secret": DJANGO_KEY, "fallbacks": [], "timestamp": now,
               "remove_oldest": true, "messages": from_django}),
    ];
    let answer = django_support::run_django_helper(&python, &cases);
    println!(
        "checked against Django {} (Python {})",
        answer["django_version"], answer["python_version"]
    );
    let [decoded, encoded] = [&answer["results"][0], &answer["results"][1]];

    // `extra_tags` is "": Django's `messages.success(request, text)` gives the same.
    assert_eq!(
        decoded,
        &json!({
            "result": "ok",
            "all_retrieved": true,
            "messages": [{"level": 25, "message": "Saved by Rust: déjà vu ✓", "extra_tags": "", "is_safe": false}],
        }),
        "Django reads the example's cookie"
    );
    assert_eq!(
        texts(&page(&c, &server).await),
        ["Saved by Rust: déjà vu ✓"],
        "and the example shows it too, once"
    );
    assert!(texts(&page(&c, &server).await).is_empty());

    // Django's Set-Cookie line, as a browser would take it.
    let set_cookie_line = encoded["set_cookie"].as_str().expect("Django set a cookie");
    let (c, jar) = client();
    jar.add_cookie_str(set_cookie_line, &server.url("/").parse().expect("url"));
    assert_eq!(
        items(&page(&c, &server).await),
        [
            (
                "urgent error".to_owned(),
                "Django says no &lt;b&gt;.".to_owned()
            ),
            ("info".to_owned(), "<em>trusted</em> HTML".to_owned()),
        ],
        "the example shows Django's messages: tags, escaping, the safe flag"
    );
    assert!(
        texts(&page(&c, &server).await).is_empty(),
        "shown once: the example cleared Django's cookie"
    );
}
