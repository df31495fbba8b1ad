//! End to end: the example's binary on a free 127.0.0.1 port, driven by reqwest with a
//! cookie jar and redirects disabled (so the `303` is seen), exactly as a browser would
//! carry the messages cookie between requests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use herald_core::{Level, Message};
use herald_picoserve_example::{Flash, SET_COOKIE_CAP};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{StatusCode, Url};

/// The secret the tests sign with (from the environment, as a deployment would).
const SECRET: &str = "integration test secret, at least 32 bytes long";
/// Another valid secret: a second deployment.
const OTHER_SECRET: &str = "another deployment's secret, also 32+ bytes";

/// The example's process, killed when dropped.
struct Server {
    child: Child,
    base: Url,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the example's signing secret comes from.
#[derive(Clone, Copy)]
enum Secret<'a> {
    /// `HERALD_SECRET` holds it.
    Env(&'a str),
    /// `HERALD_SECRET` is not set: the example draws one.
    Random,
}

/// The example on port 0, with `secret` and `HERALD_MIN_LEVEL` as given.
fn command(secret: Secret<'_>, min_level: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herald-picoserve-example"));
    command
        .arg("127.0.0.1:0")
        .env_remove("HERALD_SECRET")
        .env_remove("HERALD_MIN_LEVEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Secret::Env(secret) = secret {
        command.env("HERALD_SECRET", secret);
    }
    if let Some(level) = min_level {
        command.env("HERALD_MIN_LEVEL", level);
    }
    command
}

/// Starts the example and reads the bound address from its first line; returns what it
/// wrote on stderr before that (its start-up notice, if any). The rest of its stderr is
/// passed through.
fn launch(secret: Secret<'_>, min_level: Option<&str>) -> (Server, String) {
    let mut child = command(secret, min_level)
        .spawn()
        .expect("the example starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("the example prints its address");
    let address = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    // The notice about the secret is written before the address, so it is there now.
    let mut notice = String::new();
    if matches!(secret, Secret::Random) {
        stderr.read_line(&mut notice).expect("a start-up notice");
    }
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            eprintln!("example: {line}");
        }
    });
    let server = Server {
        child,
        base: Url::parse(address).expect("a URL"),
    };
    (server, notice)
}

/// Starts the example with [`SECRET`] from the environment.
fn start(min_level: Option<&str>) -> Server {
    launch(Secret::Env(SECRET), min_level).0
}

/// A browser: a cookie jar, no automatic redirects.
struct Browser {
    http: reqwest::Client,
    jar: Arc<Jar>,
    base: Url,
}

impl Browser {
    fn new(server: &Server) -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&jar))
            .redirect(Policy::none())
            .build()
            .expect("a client");
        Browser {
            http,
            jar,
            base: server.base.clone(),
        }
    }

    async fn post(&self, form: &[(&str, &str)]) -> (StatusCode, HeaderMap) {
        self.post_with(&[], form).await
    }

    /// `POST /add` with extra request headers.
    async fn post_with(
        &self,
        headers: &[(&str, &str)],
        form: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap) {
        let mut request = self.http.post(self.base.join("/add").unwrap()).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("POST /add");
        (response.status(), response.headers().clone())
    }

    /// Adds a message and checks the redirect.
    async fn add(&self, level: &str, message: &str) {
        let (status, headers) = self.post(&[("level", level), ("message", message)]).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(headers[LOCATION], "/");
    }

    async fn get(&self) -> (HeaderMap, String) {
        let response = self
            .http
            .get(self.base.clone())
            .send()
            .await
            .expect("GET /");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
        let headers = response.headers().clone();
        (headers, response.text().await.expect("a body"))
    }

    /// The messages cookie's value in the jar, if any.
    fn cookie(&self) -> Option<String> {
        let header = self.jar.cookies(&self.base)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|pair| pair.strip_prefix("messages="))
            .map(str::to_string)
    }

    fn set_cookie(&self, value: &str) {
        self.jar
            .add_cookie_str(&format!("messages={value}; Path=/"), &self.base);
    }
}

fn set_cookies(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ASCII"))
        .collect()
}

fn is_deletion(set_cookie: &str) -> bool {
    set_cookie.starts_with("messages=\"\";")
        && set_cookie.contains("Max-Age=0")
        && set_cookie.contains("expires=Thu, 01 Jan 1970 00:00:00 GMT")
}

/// The `<li>` items of the page, in order.
fn items(page: &str) -> Vec<&str> {
    page.match_indices("<li ")
        .map(|(start, _)| {
            let end = page[start..].find("</li>").expect("closed") + start;
            &page[start..end + "</li>".len()]
        })
        .collect()
}

#[tokio::test]
async fn post_redirects_and_the_next_get_shows_the_message_once() {
    let server = start(None);
    let browser = Browser::new(&server);

    let (_, page) = browser.get().await;
    assert!(items(&page).is_empty());
    assert!(page.contains("No messages."));

    let (status, headers) = browser
        .post(&[("level", "success"), ("message", "Profile saved.")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[LOCATION], "/");
    let set = set_cookies(&headers);
    assert_eq!(set.len(), 1, "{set:?}");
    assert!(set[0].starts_with("messages="), "{}", set[0]);
    assert!(
        set[0].ends_with("; HttpOnly; Path=/; SameSite=Lax"),
        "{}",
        set[0]
    );
    assert!(browser.cookie().is_some(), "the jar holds the cookie");

    let (headers, page) = browser.get().await;
    assert_eq!(
        items(&page),
        [r#"<li class="success" data-level="25">Profile saved.</li>"#]
    );
    assert_eq!(headers["cache-control"], "no-store");
    let set = set_cookies(&headers);
    assert!(
        set.len() == 1 && is_deletion(set[0]),
        "read → deleted: {set:?}"
    );
    assert_eq!(browser.cookie(), None, "the jar dropped the cookie");

    let (_, page) = browser.get().await;
    assert!(items(&page).is_empty(), "shown once: {page}");
    assert!(!page.contains("Profile saved."));
}

#[tokio::test]
async fn tampered_cookie_shows_nothing_and_is_cleared() {
    let server = start(None);
    let browser = Browser::new(&server);
    browser.add("warning", "Disk almost full").await;
    let value = browser.cookie().expect("a cookie");

    // Flip one character of the signed value (base64url stays base64url).
    let mut tampered = value.into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    browser.set_cookie(&tampered);
    assert_eq!(browser.cookie().as_deref(), Some(tampered.as_str()));

    let (headers, page) = browser.get().await;
    assert!(items(&page).is_empty(), "a tampered cookie shows nothing");
    assert!(!page.contains("Disk almost full"));
    let set = set_cookies(&headers);
    assert!(set.len() == 1 && is_deletion(set[0]), "cleared: {set:?}");
    assert_eq!(browser.cookie(), None, "the jar dropped the cookie");

    // Garbage that is not even base64url: the same.
    browser.set_cookie("not-a-herald-cookie");
    let (headers, page) = browser.get().await;
    assert!(items(&page).is_empty());
    assert!(is_deletion(set_cookies(&headers)[0]));
    assert_eq!(browser.cookie(), None);
}

#[tokio::test]
async fn cookie_from_another_secret_is_rejected() {
    let first = start(None);
    let browser = Browser::new(&first);
    browser.add("info", "signed elsewhere").await;
    let value = browser.cookie().expect("a cookie");

    let (second, _) = launch(Secret::Env(OTHER_SECRET), None);
    let browser = Browser::new(&second);
    browser.set_cookie(&value);
    let (headers, page) = browser.get().await;
    assert!(items(&page).is_empty());
    assert!(is_deletion(set_cookies(&headers)[0]));
}

#[tokio::test]
async fn the_secret_comes_from_the_environment() {
    // Two runs with the same HERALD_SECRET accept each other's cookies.
    let (first, notice) = launch(Secret::Env(SECRET), None);
    assert_eq!(notice, "", "no notice with a configured secret");
    let browser = Browser::new(&first);
    browser.add("success", "signed with HERALD_SECRET").await;
    let value = browser.cookie().expect("a cookie");

    let second = start(None);
    let browser = Browser::new(&second);
    browser.set_cookie(&value);
    let (_, page) = browser.get().await;
    assert_eq!(
        items(&page),
        [r#"<li class="success" data-level="25">signed with HERALD_SECRET</li>"#]
    );
}

#[tokio::test]
async fn without_a_secret_each_run_draws_a_random_one() {
    let (first, notice) = launch(Secret::Random, None);
    assert!(
        notice.contains("HERALD_SECRET is not set") && notice.contains("random secret"),
        "the console says so: {notice:?}"
    );
    let browser = Browser::new(&first);
    browser.add("info", "random secret works").await;
    let value = browser.cookie().expect("a cookie");
    let (_, page) = browser.get().await;
    assert_eq!(
        items(&page),
        [r#"<li class="info" data-level="20">random secret works</li>"#]
    );

    // Another run draws another secret: the first run's cookie is rejected and cleared.
    let (second, _) = launch(Secret::Random, None);
    let browser = Browser::new(&second);
    browser.set_cookie(&value);
    let (headers, page) = browser.get().await;
    assert!(items(&page).is_empty(), "{page}");
    assert!(is_deletion(set_cookies(&headers)[0]));
    // And it is not the configured secret either.
    let configured = start(None);
    let browser = Browser::new(&configured);
    browser.set_cookie(&value);
    let (_, page) = browser.get().await;
    assert!(items(&page).is_empty());
}

#[test]
fn a_short_secret_is_refused() {
    for short in ["", "integration test secret", &"x".repeat(31)] {
        let output = command(Secret::Env(short), None)
            .output()
            .expect("the example runs");
        assert!(!output.status.success(), "{short:?} accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("HERALD_SECRET is {} bytes long", short.len()))
                && stderr.contains("at least 32"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty(), "it never listened");
    }
    // 32 bytes is enough.
    let (server, _) = launch(Secret::Env("0123456789abcdef0123456789abcdef"), None);
    drop(server);
}

#[tokio::test]
async fn messages_below_the_minimum_level_are_not_shown() {
    let server = start(None);
    let browser = Browser::new(&server);
    let (status, headers) = browser
        .post(&[("level", "debug"), ("message", "hidden debug detail")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        set_cookies(&headers).is_empty(),
        "nothing stored, nothing written"
    );
    browser.add("info", "visible").await;
    let (_, page) = browser.get().await;
    assert_eq!(
        items(&page),
        [r#"<li class="info" data-level="20">visible</li>"#]
    );
    assert!(!page.contains("hidden debug detail"));
    assert!(page.contains("Messages below <strong>info</strong> are ignored."));

    // With HERALD_MIN_LEVEL=debug the same message is kept.
    let server = start(Some("debug"));
    let browser = Browser::new(&server);
    browser.add("debug", "shown debug detail").await;
    let (_, page) = browser.get().await;
    assert_eq!(
        items(&page),
        [r#"<li class="debug" data-level="10">shown debug detail</li>"#]
    );
}

#[tokio::test]
async fn several_posts_before_one_get_show_all_in_order() {
    let server = start(None);
    let browser = Browser::new(&server);
    browser.add("info", "first").await;
    let (status, _) = browser
        .post(&[
            ("level", "warning"),
            ("message", "second"),
            ("extra_tags", "urgent"),
        ])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    browser.add("error", "third").await;
    browser.add("35", "fourth, a custom level").await;

    let (_, page) = browser.get().await;
    assert_eq!(
        items(&page),
        [
            r#"<li class="info" data-level="20">first</li>"#,
            r#"<li class="urgent warning" data-level="30">second</li>"#,
            r#"<li class="error" data-level="40">third</li>"#,
            r#"<li class="" data-level="35">fourth, a custom level</li>"#,
        ]
    );
    let (_, page) = browser.get().await;
    assert!(items(&page).is_empty());
}

#[tokio::test]
async fn text_is_always_escaped_and_the_form_cannot_mark_it_safe() {
    let server = start(None);
    let browser = Browser::new(&server);
    browser.add("info", "<b>bold</b> & \"quoted\"").await;
    for safe in ["on", "1", "true"] {
        let (status, _) = browser
            .post(&[
                ("level", "success"),
                ("message", "<em>trusted?</em>"),
                ("safe", safe),
            ])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    browser.add("error", "café ✓").await;
    let (_, page) = browser.get().await;
    let escaped = r#"<li class="success" data-level="25">&lt;em&gt;trusted?&lt;/em&gt;</li>"#;
    assert_eq!(
        items(&page),
        [
            r#"<li class="info" data-level="20">&lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot;</li>"#,
            escaped,
            escaped,
            escaped,
            r#"<li class="error" data-level="40">café ✓</li>"#,
        ]
    );
    assert!(!page.contains("<em>"), "no markup from the request: {page}");
    assert!(
        !page.contains(r#"name="safe""#),
        "the form has no safe field"
    );
}

#[tokio::test]
async fn a_safe_flag_in_a_signed_cookie_is_still_escaped() {
    // Even a correctly signed cookie whose message claims to be safe HTML (this app
    // never writes one) is rendered escaped.
    let flash = Flash::new(SECRET.as_bytes(), &[], Level::INFO, || 0).unwrap();
    let mut inbox = flash.inbox();
    inbox
        .add_message(Message::new(Level::INFO, "<script>alert(1)</script>").with_safe(true))
        .unwrap();
    let mut header = [0u8; SET_COOKIE_CAP];
    let line = flash.set_cookie(&mut inbox, &mut header).unwrap().unwrap();
    let value = line
        .strip_prefix("messages=")
        .and_then(|rest| rest.split(';').next())
        .unwrap();

    let server = start(None);
    let browser = Browser::new(&server);
    browser.set_cookie(value);
    let (_, page) = browser.get().await;
    assert_eq!(
        items(&page),
        [r#"<li class="info" data-level="20">&lt;script&gt;alert(1)&lt;/script&gt;</li>"#]
    );
}

#[tokio::test]
async fn a_cross_origin_post_is_forbidden_and_adds_nothing() {
    let server = start(None);
    let own_origin = server.base.origin().ascii_serialization();
    let browser = Browser::new(&server);
    browser.add("info", "kept").await;
    let cookie = browser.cookie();

    let forged: [&[(&str, &str)]; 7] = [
        &[("Origin", "http://evil.example")],
        &[("Origin", "null")],
        &[("Origin", "https://127.0.0.1")],
        &[("Origin", &own_origin), ("Sec-Fetch-Site", "cross-site")],
        &[("Sec-Fetch-Site", "cross-site")],
        &[("Sec-Fetch-Site", "same-site")],
        &[
            ("Sec-Fetch-Site", "same-origin"),
            ("Origin", "http://evil.example"),
        ],
    ];
    for headers in forged {
        let (status, response) = browser
            .post_with(headers, &[("level", "error"), ("message", "forged")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(set_cookies(&response).is_empty(), "{headers:?}");
        assert_eq!(browser.cookie(), cookie, "the cookie is left alone");
    }

    // The server's own origin, a same-origin fetch, and a request the user typed in.
    let allowed: [&[(&str, &str)]; 4] = [
        &[("Origin", &own_origin)],
        &[("Origin", &own_origin.to_uppercase())],
        &[("Sec-Fetch-Site", "same-origin"), ("Origin", &own_origin)],
        &[("Sec-Fetch-Site", "none")],
    ];
    for (i, headers) in allowed.into_iter().enumerate() {
        let text = format!("allowed {i}");
        let (status, _) = browser
            .post_with(headers, &[("level", "info"), ("message", &text)])
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{headers:?}");
    }

    let (_, page) = browser.get().await;
    let shown = items(&page);
    assert_eq!(shown.len(), 5, "{shown:?}");
    assert!(shown[0].contains(">kept<"));
    assert!(!page.contains("forged"));
}

#[tokio::test]
async fn bad_forms_are_rejected_and_keep_the_cookie() {
    let server = start(None);
    let browser = Browser::new(&server);
    browser.add("info", "kept").await;
    let (status, headers) = browser.post(&[("level", "loud"), ("message", "x")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(set_cookies(&headers).is_empty());
    // An empty message is ignored, as Django does: still a redirect.
    let (status, _) = browser.post(&[("level", "info"), ("message", "")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = browser.get().await;
    assert_eq!(
        items(&page),
        [r#"<li class="info" data-level="20">kept</li>"#]
    );
}

#[tokio::test]
async fn a_full_cookie_keeps_the_newest_messages() {
    let server = start(None);
    let browser = Browser::new(&server);
    let long = "x".repeat(300);
    for i in 0..8 {
        browser.add("info", &format!("{i} {long}")).await;
        let value = browser.cookie().expect("a cookie");
        assert!(value.len() <= 2048, "{} bytes", value.len());
    }
    let (_, page) = browser.get().await;
    let shown = items(&page);
    assert!(shown.len() < 8, "truncated to fit 2048 bytes");
    assert!(
        shown.last().unwrap().contains(">7 xxx"),
        "the newest is kept"
    );
}
