//! One behaviour suite over every combination of framework, storage and session backend,
//! over real HTTP on 127.0.0.1 with a real client (the app of `tests/common`).
//!
//! Every combination runs the same checks, each its own test named
//! `<framework>_<storage>_<backend>::<behaviour>`:
//!
//! | framework | storage  | session backend                                                  |
//! |-----------|----------|------------------------------------------------------------------|
//! | axum      | cookie   | none (cookie storage has no backend: once per framework)         |
//! | axum      | session  | herald `MemorySessions`                                          |
//! | axum      | session  | tower-sessions `MemoryStore` (its `SessionManagerLayer`)         |
//! | axum      | session  | tower-sessions-redis-store over a real `redis-server`            |
//! | axum      | fallback | herald `MemorySessions`                                          |
//! | axum      | fallback | tower-sessions `MemoryStore`                                     |
//! | axum      | fallback | tower-sessions-redis-store over a real `redis-server`            |
//! | actix-web | cookie   | none                                                             |
//! | actix-web | session  | herald `MemorySessions`                                          |
//! | actix-web | session  | actix-session `CookieSessionStore` (its `SessionMiddleware`)     |
//! | actix-web | fallback | herald `MemorySessions`                                          |
//! | actix-web | fallback | actix-session `CookieSessionStore`                               |
//! | actix-web | session  | actix-session `RedisSessionStore` over a real `redis-server`     |
//! | actix-web | fallback | actix-session `RedisSessionStore` over a real `redis-server`     |
//!
//! The four that carry a messages cookie through both frameworks' own stacks run again
//! with encrypted cookies (`ConfigBuilder::encrypt_cookies`, RULES ): `axum` cookie
//! and fallback over tower-sessions `MemoryStore`, `actix-web` cookie and fallback over
//! actix-session `CookieSessionStore` (modules ending in `_encrypted`).
//!
//! Behaviours, on each of those eighteen:
//!
//! * `read_once`: a POST adds a message and answers 303; the next GET shows it once (level
//!   and tags included); the GET after that shows nothing and writes nothing.
//! * `order`: several POSTs of several messages at several levels, then one GET: every
//!   message, in the order added; `len` does not consume them.
//! * `overflow`: cookie storage keeps the newest that fit and reports the dropped oldest in
//!   the `Unstored` extension (the app copies it into `x-herald-unstored*` headers);
//!   fallback storage puts what does not fit in the cookie into the session, and shows all
//!   once, in order; session storage holds many long messages and shows all once, in order.
//! * `bad_cookies`: tampered, truncated, garbage and oversized `messages` cookies (and a
//!   garbage session cookie) show nothing and never cause a 4xx/5xx; cookie storage clears
//!   a bad cookie it read, fallback storage leaves it (a read-only request never deletes an
//!   invalid cookie there), session storage ignores the messages cookie altogether; a
//!   request that does not touch the messages writes nothing.
//! * `key_rotation`: a cookie signed with an old secret, configured as `fallback_secret`,
//!   is read (fallback storage: with its session part) and re-signed with the current
//!   secret; a server without the old secret does not read it. In session storage nothing
//!   is signed, so rotating the secret loses nothing.
//! * `expiry` (RULES ): messages added with `Messages::add_expiring` are shown by a
//!   read before their time and never after it, and a stored value holding only expired
//!   messages is cleared by the next request, even one that does not touch the messages
//!   (the tests wait out real two- and one-second expiries: the clock is the system's).
//! * `sealing`: a signed cookie carries its text readably, an encrypted one does
//!   not; each opens only on a server of its own kind.
//!
//! A failing backend (every session call fails at once, tests/common `FailingSessions`)
//! runs one more behaviour, `backend_failure`, on axum and actix-web × session and
//! fallback storage: a request that needs the session gets a fast 503 with a generic body
//! and no cookie change; what fits in the cookie still works in fallback storage; and a
//! fallback overflow is refused whole: a 503 instead of the handler's 303, no messages
//! cookie, and every message of the write reported unstored.
//!
//! Not run, because they cannot exist: tower-sessions on actix-web and actix-session on
//! axum (each is its framework's). The Redis rows need `redis-server`: a missing one fails them unless deselected with
//! `HERALD_SKIP_LIVE=redis` (see tests/common/live.rs).

mod common;

use std::time::{Duration, Instant};

use common::redis::RedisServer;
use common::*;
use herald_flash::Storage;
use herald_flash::session::MemorySessions;

/// The backends of the matrix, before anything is started.
#[derive(Clone, Copy, Debug)]
enum Kind {
    NoBackend,
    Memory,
    TowerMemory,
    ActixCookie,
    Redis,
    Failing,
}

/// One combination with what it needs running. Servers made from it share its backend.
struct Combo {
    name: String,
    framework: Framework,
    storage: Storage,
    backend: Option<Backend>,
    redis: Option<RedisServer>,
    /// Encrypted cookies (`ConfigBuilder::encrypt_cookies`, RULES) for every server.
    encrypted: bool,
}

impl Combo {
    /// Starts what the combination needs: `None` only when it is a Redis combination and
    /// the Redis tests are deselected (the harness reports `test` as not run).
    async fn start(
        framework: Framework,
        storage: Storage,
        kind: Kind,
        encrypted: bool,
        test: &str,
    ) -> Option<Self> {
        let mut redis = None;
        let backend = match kind {
            Kind::NoBackend => None,
            Kind::Memory => Some(Backend::Memory(MemorySessions::new())),
            Kind::TowerMemory => Some(Backend::TowerMemory(Default::default())),
            Kind::ActixCookie => Some(Backend::ActixCookie),
            Kind::Failing => Some(Backend::Failing(FailingSessions::default())),
            Kind::Redis => {
                let server = RedisServer::start_or_skip(test)?;
                let backend = match framework {
                    Framework::Axum => {
                        Backend::Redis(common::redis::session_store(&server.url()).await)
                    }
                    Framework::Actix => Backend::ActixRedis(
                        actix_session_0_10::storage::RedisSessionStore::new(server.url())
                            .await
                            .expect("actix-session connects to redis"),
                    ),
                };
                redis = Some(server);
                Some(backend)
            }
        };
        let name = format!(
            "{framework:?} {storage:?} {}{}",
            backend.as_ref().map_or("(no backend)", Backend::name),
            if encrypted { " encrypted" } else { "" }
        );
        Some(Combo {
            name,
            framework,
            storage,
            backend,
            redis,
            encrypted,
        })
    }

    /// The configuration of this combination's servers, with `secret`.
    fn config_with(&self, secret: &str) -> herald_flash::ConfigBuilder {
        herald_flash::Config::builder()
            .secret(secret)
            .encrypt_cookies(self.encrypted)
    }

    /// The value of the `messages` cookie a cookie-storage server of this combination
    /// (signed or encrypted as it is) sets for one message `text`, sealed with `secret`.
    async fn sealed_cookie(&self, secret: &str, text: &str) -> String {
        let config = self.config_with(secret).build().unwrap();
        let server = spawn_with(self.framework, config, Storage::Cookie, None).await;
        let res = raw_client()
            .post(server.url("/add"))
            .form(&[("text", text)])
            .send()
            .await
            .unwrap();
        cookie_value(&set_cookies(&res, "messages")[0]).to_owned()
    }

    /// A server of this combination with `config`, sharing the combination's backend.
    async fn server(&self, config: herald_flash::Config) -> Server {
        spawn_with(self.framework, config, self.storage, self.backend.clone()).await
    }

    /// A server with the test secret.
    async fn default_server(&self) -> Server {
        self.server(self.config_with(SECRET).build().unwrap()).await
    }

    fn session_cookie(&self) -> Option<&'static str> {
        self.backend.as_ref().and_then(Backend::session_cookie)
    }

    fn memory(&self) -> Option<&MemorySessions> {
        match &self.backend {
            Some(Backend::Memory(m)) => Some(m),
            _ => None,
        }
    }

    fn failing(&self) -> &FailingSessions {
        match &self.backend {
            Some(Backend::Failing(f)) => f,
            _ => panic!("{}: not the failing backend", self.name),
        }
    }

    /// How many sessions hold herald's entry, where the test can see inside the backend:
    /// herald's `MemorySessions` (which drops a session once it is empty) and Redis (the
    /// session records that contain the entry's key; tower-sessions keeps a record after
    /// its last key is removed, until it expires).
    fn entries_held(&self) -> Option<usize> {
        if let Some(m) = self.memory() {
            return Some(m.len());
        }
        let key = config().build().unwrap().session_key().to_owned();
        self.redis.as_ref().map(|r| {
            r.values()
                .iter()
                .filter(|v| v.windows(key.len()).any(|w| w == key.as_bytes()))
                .count()
        })
    }
}

/// `count` messages of `len` bytes, numbered.
fn longs(count: usize, len: usize) -> Vec<String> {
    (0..count).map(|i| long_text(i, len)).collect()
}

fn text_pairs(texts: &[String]) -> Vec<(&str, &str)> {
    texts.iter().map(|t| ("text", t.as_str())).collect()
}

/// A GET of `path` with exactly this `Cookie` header (no jar).
async fn get_with_cookie(server: &Server, path: &str, cookie: &str) -> reqwest::Response {
    raw_client()
        .get(server.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("GET")
}

/// A header of a response as text, if present.
fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_owned())
}

mod behaviour {
    use super::*;

    pub async fn read_once(combo: &Combo) {
        let n = &combo.name;
        let server = combo.default_server().await;
        let (c, _) = client();
        let res = post_add(&c, &server, &[("level", "25"), ("text", "Profile saved.")]).await;
        let messages_cookie = set_cookies(&res, "messages");
        let session_cookie = combo.session_cookie().map(|name| set_cookies(&res, name));
        match combo.storage {
            Storage::Cookie | Storage::Fallback => {
                assert_eq!(messages_cookie.len(), 1, "{n}: the cookie holds it");
                // Fallback: all of it fits in the cookie, so the session is not written.
                if let Some(lines) = session_cookie {
                    assert!(lines.is_empty(), "{n}: no session is created: {lines:?}");
                }
            }
            Storage::Session => {
                assert!(messages_cookie.is_empty(), "{n}: {messages_cookie:?}");
                assert_eq!(
                    session_cookie.map(|l| l.len()),
                    Some(1),
                    "{n}: the session is created"
                );
            }
        }
        if let Some(held) = combo.entries_held() {
            let expected = usize::from(combo.storage == Storage::Session);
            assert_eq!(held, expected, "{n}: entries in the session");
        }
        let shown = get_json(&c, &server, "/show").await;
        assert_eq!(texts(&shown), ["Profile saved."], "{n}");
        assert_eq!(shown[0]["level"], 25, "{n}");
        assert_eq!(shown[0]["tags"], "success", "{n}");
        let res = c.get(server.url("/show")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{n}");
        let lines = set_cookies(&res, "messages");
        if combo.storage == Storage::Cookie {
            // As Django's CookieStorage: a used, empty cookie storage always sends the
            // deletion, even to a request without the cookie.
            assert!(
                lines.len() == 1 && lines[0].starts_with("messages=\"\";"),
                "{n}: {lines:?}"
            );
        } else {
            assert!(lines.is_empty(), "{n}: nothing to clear: {lines:?}");
        }
        assert!(texts(&res.json().await.unwrap()).is_empty(), "{n}: once");
        if let Some(held) = combo.entries_held() {
            assert_eq!(held, 0, "{n}: no entry is left behind");
        }
    }

    pub async fn order(combo: &Combo) {
        let n = &combo.name;
        let server = combo.default_server().await;
        let (c, _) = client();
        let mut expected = Vec::new();
        for level in ["10", "20", "25", "30", "40"] {
            let texts: Vec<String> = (0..5).map(|i| format!("level {level} #{i}")).collect();
            let mut pairs = vec![("set_level", "0"), ("level", level)];
            pairs.extend(text_pairs(&texts));
            post_add(&c, &server, &pairs).await;
            expected.extend(texts);
        }
        assert_eq!(get_json(&c, &server, "/count").await, 25, "{n}");
        assert_eq!(
            get_json(&c, &server, "/count").await,
            25,
            "{n}: len does not consume"
        );
        assert_eq!(
            texts(&get_json(&c, &server, "/show").await),
            expected,
            "{n}"
        );
        assert!(
            texts(&get_json(&c, &server, "/show").await).is_empty(),
            "{n}"
        );
    }

    pub async fn overflow(combo: &Combo) {
        let n = &combo.name;
        let server = combo.default_server().await;
        let (c, _) = client();
        match combo.storage {
            Storage::Cookie => {
                let all = longs(7, 400);
                let res = post_add(&c, &server, &text_pairs(&all)).await;
                let lines = set_cookies(&res, "messages");
                assert_eq!(lines.len(), 1, "{n}");
                assert!(
                    cookie_value(&lines[0]).len() <= 2048,
                    "{n}: within the bound"
                );
                let dropped: usize = header(&res, "x-herald-unstored")
                    .expect("an Unstored report")
                    .parse()
                    .unwrap();
                assert!(dropped > 0 && dropped < all.len(), "{n}: dropped {dropped}");
                assert_eq!(
                    header(&res, "x-herald-unstored-texts").unwrap(),
                    all[..dropped].join("|"),
                    "{n}: the oldest are reported"
                );
                assert!(
                    header(&res, "x-herald-unstored-reason")
                        .unwrap()
                        .contains("cookie"),
                    "{n}"
                );
                assert_eq!(
                    texts(&get_json(&c, &server, "/show").await),
                    all[dropped..],
                    "{n}: the newest are kept"
                );
            }
            Storage::Fallback => {
                // Small enough for actix-session's cookie store (about 4 KB per session).
                let all = longs(7, 400);
                let res = post_add(&c, &server, &text_pairs(&all)).await;
                assert_eq!(header(&res, "x-herald-unstored"), None, "{n}: all stored");
                let lines = set_cookies(&res, "messages");
                assert_eq!(lines.len(), 1, "{n}");
                assert!(
                    cookie_value(&lines[0]).len() <= 2048,
                    "{n}: within the bound"
                );
                let session = combo.session_cookie().expect("a session cookie");
                assert_eq!(
                    set_cookies(&res, session).len(),
                    1,
                    "{n}: the overflow went to the session"
                );
                if let Some(held) = combo.entries_held() {
                    assert_eq!(held, 1, "{n}: one session entry");
                }
                let res = c.get(server.url("/show")).send().await.unwrap();
                assert_eq!(res.status(), 200, "{n}");
                let lines = set_cookies(&res, "messages");
                assert!(
                    lines.len() == 1 && lines[0].starts_with("messages=\"\";"),
                    "{n}: the cookie part is cleared once read: {lines:?}"
                );
                assert_eq!(
                    texts(&res.json().await.unwrap()),
                    all,
                    "{n}: once, in order"
                );
                if let Some(held) = combo.entries_held() {
                    assert_eq!(held, 0, "{n}: the session part is removed once read");
                }
            }
            Storage::Session => {
                // Small enough for actix-session's cookie store (about 4 KB per session).
                let all = longs(5, 300);
                let res = post_add(&c, &server, &text_pairs(&all)).await;
                assert_eq!(header(&res, "x-herald-unstored"), None, "{n}: all stored");
                assert!(set_cookies(&res, "messages").is_empty(), "{n}: no cookie");
                if let Some(held) = combo.entries_held() {
                    assert_eq!(held, 1, "{n}: one session entry");
                }
                assert_eq!(
                    texts(&get_json(&c, &server, "/show").await),
                    all,
                    "{n}: once, in order"
                );
                if let Some(held) = combo.entries_held() {
                    assert_eq!(held, 0, "{n}: the entry is removed once read");
                }
            }
        }
        assert!(
            texts(&get_json(&c, &server, "/show").await).is_empty(),
            "{n}: once"
        );
    }

    pub async fn bad_cookies(combo: &Combo) {
        let n = &combo.name;
        let server = combo.default_server().await;
        let good = combo.sealed_cookie(SECRET, "secret").await;
        let mut flipped = good.clone().into_bytes();
        flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
        let bad = [
            ("tampered", String::from_utf8(flipped).unwrap()),
            ("truncated", good[..good.len() - 3].to_owned()),
            ("shifted", good[1..].to_owned()),
            ("padded", format!("{good}=")),
            ("garbage", "garbage".to_owned()),
            ("not base64", "%%%".to_owned()),
            ("oversized", "A".repeat(herald_core_max_value_len() + 1)),
            ("oversized good", format!("{good}{}", "A".repeat(5000))),
        ];
        for (what, value) in &bad {
            let res = get_with_cookie(&server, "/show", &format!("messages={value}")).await;
            assert_eq!(
                res.status(),
                200,
                "{n}: never a 4xx/5xx for a {what} cookie"
            );
            let lines = set_cookies(&res, "messages");
            match combo.storage {
                Storage::Cookie => {
                    assert!(
                        lines.len() == 1 && lines[0].starts_with("messages=\"\";"),
                        "{n}: a {what} cookie that was read is cleared: {lines:?}"
                    );
                }
                Storage::Fallback | Storage::Session => {
                    assert!(lines.is_empty(), "{n}: a {what} cookie is left: {lines:?}");
                }
            }
            assert!(
                texts(&res.json().await.unwrap()).is_empty(),
                "{n}: a {what} cookie shows nothing"
            );
            // A request that does not touch the messages writes nothing.
            let res = get_with_cookie(&server, "/plain", &format!("messages={value}")).await;
            assert_eq!(res.status(), 200, "{n}: {what}");
            assert!(set_cookies(&res, "messages").is_empty(), "{n}: {what}");
        }
        // The good cookie is read by cookie and fallback storage; session storage ignores
        // the messages cookie, as Django's SessionStorage does.
        let res = get_with_cookie(&server, "/show", &format!("messages={good}")).await;
        let shown = texts(&res.json().await.unwrap());
        match combo.storage {
            Storage::Session => assert!(shown.is_empty(), "{n}: {shown:?}"),
            _ => assert_eq!(shown, ["secret"], "{n}"),
        }
        // A garbage or forged session cookie is a session without messages.
        if let Some(session) = combo.session_cookie() {
            for value in ["garbage", "AAAAAAAAAAAAAAAAAAAAAA", &"A".repeat(3000)] {
                let res = get_with_cookie(&server, "/show", &format!("{session}={value}")).await;
                assert_eq!(res.status(), 200, "{n}: session cookie {value:.20}");
                assert!(texts(&res.json().await.unwrap()).is_empty(), "{n}");
            }
        }
    }

    /// RULES over HTTP: a message added with `add_expiring` is shown by a read
    /// before its time and by none after it; a stored value that holds only expired
    /// messages is cleared by the first request that loads it, even one that does not
    /// touch the messages.
    pub async fn expiry(combo: &Combo) {
        let n = &combo.name;
        let server = combo.default_server().await;
        let (c, _) = client();
        let res = post_add(
            &c,
            &server,
            &[
                ("ttl", "600"),
                ("expiring", "within ten minutes"),
                ("text", "forever"),
                ("ttl", "2"),
                ("expiring", "within two seconds"),
            ],
        )
        .await;
        assert_eq!(res.status(), 303, "{n}");
        tokio::time::sleep(Duration::from_millis(3100)).await;
        assert_eq!(
            texts(&get_json(&c, &server, "/show").await),
            ["within ten minutes", "forever"],
            "{n}: the expired one is never shown"
        );
        assert!(
            texts(&get_json(&c, &server, "/show").await).is_empty(),
            "{n}: once"
        );

        // Only expired messages left: the next request clears them without a read.
        let res = post_add(&c, &server, &[("ttl", "1"), ("expiring", "gone")]).await;
        assert_eq!(res.status(), 303, "{n}");
        if let Some(held) = combo.entries_held() {
            assert_eq!(held, usize::from(combo.storage == Storage::Session), "{n}");
        }
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let res = c.get(server.url("/plain")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{n}");
        let lines = set_cookies(&res, "messages");
        match combo.storage {
            Storage::Cookie | Storage::Fallback => assert!(
                lines.len() == 1 && lines[0].starts_with("messages=\"\";"),
                "{n}: the expired cookie is deleted: {lines:?}"
            ),
            Storage::Session => assert!(lines.is_empty(), "{n}: {lines:?}"),
        }
        if let Some(held) = combo.entries_held() {
            assert_eq!(held, 0, "{n}: the expired session entry is removed");
        }
        assert!(
            texts(&get_json(&c, &server, "/show").await).is_empty(),
            "{n}"
        );
    }

    /// RULES: with encrypted cookies the client cannot read the texts (the value is
    /// not their base64) and a server that only signs cannot open the value; signed values
    /// carry the text readably, which is what encryption is for.
    pub async fn sealing(combo: &Combo) {
        use base64::Engine as _;
        let n = &combo.name;
        if combo.storage == Storage::Session {
            return; // no messages cookie at all
        }
        let text = "Your card ending 4242 was charged.";
        let value = combo.sealed_cookie(SECRET, text).await;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&value)
            .expect("base64url");
        let readable = raw.windows(text.len()).any(|w| w == text.as_bytes());
        assert_eq!(
            readable, !combo.encrypted,
            "{n}: text readable in the cookie"
        );
        let signing = combo
            .server(config().encrypt_cookies(false).build().unwrap())
            .await;
        let encrypting = combo
            .server(config().encrypt_cookies(true).build().unwrap())
            .await;
        let (same, other) = if combo.encrypted {
            (&encrypting, &signing)
        } else {
            (&signing, &encrypting)
        };
        let res = get_with_cookie(same, "/show", &format!("messages={value}")).await;
        assert_eq!(texts(&res.json().await.unwrap()), [text], "{n}");
        let res = get_with_cookie(other, "/show", &format!("messages={value}")).await;
        assert_eq!(res.status(), 200, "{n}");
        assert!(
            texts(&res.json().await.unwrap()).is_empty(),
            "{n}: the other sealing does not open it"
        );
    }

    pub async fn key_rotation(combo: &Combo) {
        let n = &combo.name;
        let old = combo
            .server(combo.config_with(OLD_SECRET).build().unwrap())
            .await;
        let rotated = combo
            .server(
                combo
                    .config_with(SECRET)
                    .fallback_secret(OLD_SECRET)
                    .build()
                    .unwrap(),
            )
            .await;
        let new_only = combo.default_server().await;

        if combo.storage == Storage::Session {
            // Nothing herald writes is signed in session storage: the messages survive a
            // rotation, whichever server reads them.
            let (c, _) = client();
            for reader in [&rotated, &new_only] {
                let res = post_add(&c, &old, &[("text", "in the session")]).await;
                assert!(set_cookies(&res, "messages").is_empty(), "{n}");
                assert_eq!(
                    texts(&get_json(&c, reader, "/show").await),
                    ["in the session"],
                    "{n}"
                );
                assert!(
                    texts(&get_json(&c, reader, "/show").await).is_empty(),
                    "{n}"
                );
            }
            return;
        }

        // One message, cookie only: read, re-signed even by a request that does not touch
        // the messages, and then readable without the old secret.
        let raw = raw_client();
        let res = raw
            .post(old.url("/add"))
            .form(&[("text", "rotated")])
            .send()
            .await
            .unwrap();
        let old_value = cookie_value(&set_cookies(&res, "messages")[0]).to_owned();
        let cookie = |v: &str| format!("messages={v}");
        let res = get_with_cookie(&new_only, "/count", &cookie(&old_value)).await;
        assert_eq!(
            res.json::<serde_json::Value>().await.unwrap(),
            0,
            "{n}: the old secret alone is not accepted"
        );
        let res = get_with_cookie(&rotated, "/plain", &cookie(&old_value)).await;
        let lines = set_cookies(&res, "messages");
        assert_eq!(lines.len(), 1, "{n}: re-signed with the current secret");
        let new_value = cookie_value(&lines[0]).to_owned();
        assert_ne!(new_value, old_value, "{n}");
        let res = get_with_cookie(&rotated, "/count", &cookie(&new_value)).await;
        assert!(
            set_cookies(&res, "messages").is_empty(),
            "{n}: a current cookie is left alone"
        );
        assert_eq!(res.json::<serde_json::Value>().await.unwrap(), 1, "{n}");
        let res = get_with_cookie(&new_only, "/show", &cookie(&new_value)).await;
        assert_eq!(texts(&res.json().await.unwrap()), ["rotated"], "{n}");

        if combo.storage == Storage::Fallback {
            // An overflow written with the old secret: the cookie part is verified with the
            // fallback secret and the session part follows it, all once, in order.
            let (c, _) = client();
            let all = longs(7, 400);
            post_add(&c, &old, &text_pairs(&all)).await;
            assert_eq!(texts(&get_json(&c, &rotated, "/show").await), all, "{n}");
            assert!(
                texts(&get_json(&c, &new_only, "/show").await).is_empty(),
                "{n}"
            );
            // Re-signed by a request that does not touch the messages, the split cookie
            // leads a server without the old secret to the session part.
            post_add(&c, &old, &text_pairs(&all)).await;
            let res = c.get(rotated.url("/plain")).send().await.unwrap();
            assert_eq!(set_cookies(&res, "messages").len(), 1, "{n}: re-signed");
            assert_eq!(texts(&get_json(&c, &new_only, "/show").await), all, "{n}");
            assert!(
                texts(&get_json(&c, &rotated, "/show").await).is_empty(),
                "{n}"
            );
        }
    }

    /// The failing backend (see the file's documentation).
    pub async fn backend_failure(combo: &Combo) {
        let n = &combo.name;
        let server = combo.default_server().await;
        let failing = combo.failing();
        let fast = Duration::from_secs(1);
        let timed = |start: Instant, what: &str| {
            let took = start.elapsed();
            assert!(took < fast, "{n}: {what} took {took:?}");
        };
        let all = longs(7, 400);
        // A cookie whose reading needs the session: none in session storage (every read
        // needs it); in fallback storage the cookie part of an overflow, whose marker says
        // the rest is in the session.
        let needs_session = match combo.storage {
            Storage::Session => None,
            Storage::Fallback => {
                // What fits in the cookie never touches the session.
                let (c, _) = client();
                post_add(&c, &server, &[("text", "fits")]).await;
                assert_eq!(
                    texts(&get_json(&c, &server, "/show").await),
                    ["fits"],
                    "{n}"
                );
                assert_eq!(failing.calls(), 0, "{n}: the session was not needed");

                // An overflow: the session write fails, so the write is refused whole:
                // a 503 instead of the handler's 303.
                let raw = raw_client();
                let start = Instant::now();
                let res = raw
                    .post(server.url("/add"))
                    .form(&text_pairs(&all))
                    .send()
                    .await
                    .unwrap();
                timed(start, "the overflow POST");
                assert!(failing.calls() > 0, "{n}: the session write was tried");
                // Messages lost to the backend: the handler's 303 becomes a 503, so the
                // client is never told they were kept.
                assert_eq!(res.status(), 503, "{n}: not the handler's 303");
                assert!(res.headers().get("location").is_none(), "{n}");
                let reported: Vec<String> = header(&res, "x-herald-unstored-texts")
                    .expect("an Unstored report")
                    .split('|')
                    .map(str::to_owned)
                    .collect();
                assert!(
                    header(&res, "x-herald-unstored-reason")
                        .unwrap()
                        .split('|')
                        .all(|r| r.contains("session")),
                    "{n}"
                );
                // All or nothing: no messages cookie either, and every message of the
                // write is reported, in order.
                assert!(
                    set_cookies(&res, "messages").is_empty(),
                    "{n}: the failed write's cookie is taken back"
                );
                assert_eq!(reported, all, "{n}: every message reported unstored");
                // A cookie whose reading needs the session: the cookie part of the same
                // overflow, written by a healthy server with the same secret.
                let healthy = spawn_with(
                    combo.framework,
                    combo.config_with(SECRET).build().unwrap(),
                    Storage::Fallback,
                    Some(Backend::Memory(MemorySessions::new())),
                )
                .await;
                let res = raw_client()
                    .post(healthy.url("/add"))
                    .form(&text_pairs(&all))
                    .send()
                    .await
                    .unwrap();
                let lines = set_cookies(&res, "messages");
                assert_eq!(lines.len(), 1, "{n}: the healthy server's cookie part");
                let value = cookie_value(&lines[0]).to_owned();
                Some(value)
            }
            Storage::Cookie => unreachable!("cookie storage has no backend"),
        };
        // The request's Cookie header: the split cookie (fallback) or none (session).
        let cookie = needs_session.map(|v| format!("messages={v}"));
        let get = |path: &'static str| {
            let mut req = raw_client().get(server.url(path));
            if let Some(cookie) = &cookie {
                req = req.header("cookie", cookie);
            }
            req.send()
        };
        let calls = failing.calls();

        // Reading needs the session: a fast 503 with a generic body, and the cookie (with
        // the part it holds) is left in place.
        let start = Instant::now();
        let res = get("/show").await.unwrap();
        timed(start, "GET /show");
        assert_eq!(res.status(), 503, "{n}");
        assert!(
            set_cookies(&res, "messages").is_empty(),
            "{n}: the cookie is kept"
        );
        assert_eq!(res.text().await.unwrap(), "Service Unavailable", "{n}");
        assert!(failing.calls() > calls, "{n}: the session read was tried");

        // Adding needs it too in session storage: a 503 before the handler runs, so no
        // message is accepted, and nothing is reported delivered.
        if combo.storage == Storage::Session {
            let start = Instant::now();
            let res = raw_client()
                .post(server.url("/add"))
                .form(&text_pairs(&all))
                .send()
                .await
                .unwrap();
            timed(start, "POST /add");
            assert_eq!(res.status(), 503, "{n}");
            assert_eq!(
                header(&res, "x-add-results"),
                None,
                "{n}: the handler did not run"
            );
            assert_eq!(header(&res, "x-herald-unstored"), None, "{n}");
            assert!(set_cookies(&res, "messages").is_empty(), "{n}");
            assert_eq!(res.text().await.unwrap(), "Service Unavailable", "{n}");
        }

        // A page that does not use the messages still works, and writes nothing.
        let res = get("/plain").await.unwrap();
        assert_eq!(res.status(), 200, "{n}");
        assert!(set_cookies(&res, "messages").is_empty(), "{n}");
    }
}

/// The longest cookie value herald reads (`herald_core::signer::MAX_VALUE_LEN`).
fn herald_core_max_value_len() -> usize {
    herald_flash::herald_core::signer::MAX_VALUE_LEN
}

/// One module per combination, one test per behaviour.
macro_rules! combination {
    ($module:ident: $framework:ident $storage:ident $kind:ident => $($behaviour:ident),+) => {
        combination!($module: $framework $storage $kind false => $($behaviour),+);
    };
    ($module:ident: $framework:ident $storage:ident $kind:ident $encrypted:literal => $($behaviour:ident),+) => {
        mod $module {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $behaviour() {
                    let test = concat!(stringify!($module), "::", stringify!($behaviour));
                    let combo = Combo::start(
                        Framework::$framework,
                        Storage::$storage,
                        Kind::$kind,
                        $encrypted,
                        test,
                    )
                    .await;
                    // `None` only for a deselected Redis combination (reported as not run).
                    if let Some(combo) = combo {
                        behaviour::$behaviour(&combo).await;
                    }
                }
            )+
        }
    };
}

/// The fourteen working combinations, each with every behaviour; and the cookie-carrying
/// ones again with encrypted cookies.
macro_rules! matrix {
    ($($module:ident: $framework:ident $storage:ident $kind:ident $($encrypted:literal)?;)+) => {
        $(combination!($module: $framework $storage $kind $($encrypted)? =>
            read_once, order, overflow, bad_cookies, key_rotation, expiry, sealing);)+
    };
}

matrix! {
    axum_cookie: Axum Cookie NoBackend;
    axum_session_memory: Axum Session Memory;
    axum_session_tower_memory: Axum Session TowerMemory;
    axum_session_redis: Axum Session Redis;
    axum_fallback_memory: Axum Fallback Memory;
    axum_fallback_tower_memory: Axum Fallback TowerMemory;
    axum_fallback_redis: Axum Fallback Redis;
    actix_cookie: Actix Cookie NoBackend;
    actix_session_memory: Actix Session Memory;
    actix_session_actix_cookie: Actix Session ActixCookie;
    actix_fallback_memory: Actix Fallback Memory;
    actix_fallback_actix_cookie: Actix Fallback ActixCookie;
    actix_session_redis: Actix Session Redis;
    actix_fallback_redis: Actix Fallback Redis;
    axum_cookie_encrypted: Axum Cookie NoBackend true;
    axum_fallback_tower_memory_encrypted: Axum Fallback TowerMemory true;
    actix_cookie_encrypted: Actix Cookie NoBackend true;
    actix_fallback_actix_cookie_encrypted: Actix Fallback ActixCookie true;
}

combination!(axum_session_failing: Axum Session Failing => backend_failure);
combination!(axum_fallback_failing: Axum Fallback Failing => backend_failure);
combination!(actix_session_failing: Actix Session Failing => backend_failure);
combination!(actix_fallback_failing: Actix Fallback Failing => backend_failure);
