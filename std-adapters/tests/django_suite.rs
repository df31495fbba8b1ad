//! Ports of Django's own test suite (`tests/messages_tests/`, RULES §10) that apply to a
//! Rust codec and storage: `CookieTests` (#24 – #31), `BisectTests` (#32, #33),
//! `SessionTests` (#35, #36), `FallbackTests` (#37 – #44) and the storage-level
//! `BaseTests` run against each backend. Each test names the Django test it mirrors; the
//! storages are the faithful model in `django_support`, on top of `herald_flash::django`.
#![cfg(feature = "django")]

mod django_support;

use std::collections::BTreeMap;

use django_support::*;
use herald_flash::django::{
    CookieSettings, DjangoCodec, DjangoItem, DjangoMessage, JsonStyle, NOT_FINISHED, SESSION_KEY,
    ToDjangoJson, bisect_keep_left, bisect_keep_right, decode_session, encode_session,
    to_python_json,
};
use serde_json::{Value, json};

const TS: i64 = 1_700_000_000;
const INFO: i32 = 20;
const DEBUG: i32 = 10;
const ERROR: i32 = 40;

fn ctx() -> Ctx {
    Ctx::new(
        DjangoCodec::new("django-suite-secret-key").with_fallback_keys(["older"]),
        TS,
    )
}

fn raw(s: &str) -> DjangoItem {
    DjangoItem::Raw(Value::from(s))
}

fn raws(items: &[&str]) -> Vec<DjangoItem> {
    items.iter().map(|s| raw(s)).collect()
}

/// `set_cookie_data(storage, messages, invalid, encode_empty)`.
fn cookie_data(ctx: &Ctx, items: &[DjangoItem], invalid: bool, encode_empty: bool) -> String {
    let v = ctx
        .codec
        .encode_all(items, ctx.timestamp, encode_empty)
        .expect("something to encode");
    if invalid { v[1..].to_owned() } else { v }
}

/// `set_session_data(storage, messages)`.
fn session_data(items: &[DjangoItem]) -> BTreeMap<String, String> {
    let mut s = BTreeMap::new();
    if let Some(v) = encode_session(items) {
        s.insert(SESSION_KEY.to_owned(), v);
    }
    s
}

/// `get_random_string(n)`: alphanumerics (seeded here, so the test is reproducible).
fn random_string(rng: &mut Rng, n: usize) -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..n).map(|_| char::from(*rng.pick(ALNUM))).collect()
}

/// `int((CookieStorage.max_cookie_size - 54) / 4.5 - 37)`.
const MSG_SIZE: usize = 406;

fn messages_of(items: &[DjangoItem]) -> Vec<&DjangoMessage> {
    items
        .iter()
        .map(|i| i.as_message().expect("a message"))
        .collect()
}

// ----------------------------------------------------------------------------------
// test_cookie.py: CookieTests
// ----------------------------------------------------------------------------------

/// `CookieTests.test_get` (RULES §10 #24): a cookie encoding the raw strings
/// `["test", "me"]` iterates back as those strings.
#[test]
fn cookie_tests_test_get() {
    let ctx = ctx();
    let cookie = cookie_data(&ctx, &raws(&["test", "me"]), false, false);
    let mut storage = Storage::new(&ctx, Kind::Cookie, Some(cookie), None);
    assert_eq!(storage.iter(), raws(&["test", "me"]));
}

/// `CookieTests.test_cookie_settings` (RULES §10 #25): the cookie honours
/// SESSION_COOKIE_DOMAIN/SECURE/HTTPONLY/SAMESITE, and the deletion cookie after
/// consumption keeps the domain and SameSite, with the epoch `expires`.
#[test]
fn cookie_tests_test_cookie_settings() {
    let mut ctx = ctx();
    ctx.settings = CookieSettings::default()
        .domain(Some(".example.com"))
        .secure(true)
        .httponly(true)
        .samesite(Some("Strict"))
        .unwrap();

    let mut storage = Storage::new(&ctx, Kind::Cookie, None, None);
    storage.add(INFO, "test", Some(""));
    storage.update();
    let value = storage.response_cookie.clone().unwrap().unwrap();
    let messages = ctx.codec.decode(&value).unwrap().unwrap().items;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].as_message().unwrap().message, "test");
    assert_eq!(
        storage.set_cookie.as_deref().unwrap(),
        format!("messages={value}; Domain=.example.com; HttpOnly; Path=/; SameSite=Strict; Secure")
    );
    assert!(!storage.set_cookie.as_deref().unwrap().contains("expires"));

    let mut storage = Storage::new(&ctx, Kind::Cookie, None, None);
    storage.add(INFO, "test", Some(""));
    let _ = storage.iter();
    storage.update();
    assert_eq!(
        storage.response_cookie,
        Some(None),
        "value is empty: deleted"
    );
    assert_eq!(
        storage.set_cookie.as_deref().unwrap(),
        "messages=\"\"; Domain=.example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; \
         Max-Age=0; Path=/; SameSite=Strict"
    );
}

/// `CookieTests.test_get_bad_cookie` (RULES §10 #26): a cookie with its first character
/// removed iterates as empty.
#[test]
fn cookie_tests_test_get_bad_cookie() {
    let ctx = ctx();
    let cookie = cookie_data(&ctx, &raws(&["test", "me"]), true, false);
    let mut storage = Storage::new(&ctx, Kind::Cookie, Some(cookie), None);
    assert_eq!(storage.iter(), Vec::<DjangoItem>::new());
    assert!(storage.used);
}

/// `CookieTests.test_max_cookie_length` (RULES §10 #27): five random messages sized so
/// that only four fit: four are stored, and `update` returns the first (oldest).
#[test]
fn cookie_tests_test_max_cookie_length() {
    let ctx = ctx();
    let mut rng = Rng::new(42);
    let mut storage = Storage::new(&ctx, Kind::Cookie, None, None);
    storage.preload(Vec::new());
    let mut first = None;
    for i in 0..5 {
        let msg = random_string(&mut rng, MSG_SIZE);
        storage.add(INFO, &msg, Some(""));
        if i == 0 {
            first = Some(msg);
        }
    }
    let unstored = storage.update().unwrap();
    assert_eq!(storage.stored_cookie_count(), 4);
    assert_eq!(unstored.len(), 1);
    assert_eq!(messages_of(&unstored)[0].message, first.unwrap());
}

/// `CookieTests.test_message_rfc6265` (RULES §10 #28): the encoded cookie contains no
/// backslash, comma, semicolon or double quote, even when the messages do.
#[test]
fn cookie_tests_test_message_rfc6265() {
    let ctx = ctx();
    let messages = raws(&["\\te,st", ";m\"e", "\u{2019}", "123\"NOTRECEIVED\""]);
    let encoded = ctx.codec.encode_all(&messages, TS, false).unwrap();
    for illegal in ['\\', ',', ';', '"'] {
        assert!(!encoded.contains(illegal), "{illegal:?} in {encoded}");
    }
}

/// `CookieTests.test_json_encoder_decoder` (RULES §10 #29): nested dicts and lists holding
/// Messages round-trip through the message encoder and decoder.
#[test]
fn cookie_tests_test_json_encoder_decoder() {
    let m = |level: i32, text: &str| DjangoMessage::new(level, text).with_extra_tags(None);
    let mut list: Vec<Value> = (0..5)
        .map(|_| m(INFO, "message %s").to_json_array())
        .collect();
    list.push(json!({ "another-message": m(ERROR, "error").to_json_array() }));
    let messages = vec![
        DjangoItem::Raw(json!({
            "message": m(INFO, "Test message").to_json_array(),
            "message_list": list,
        })),
        DjangoItem::Message(m(INFO, "message %s")),
    ];
    // MessageEncoder().encode(messages): Python's default separators.
    let value = encode_session(&messages).unwrap();
    assert_eq!(
        value,
        "[{\"message\": [\"__json_message\", 0, 20, \"Test message\"], \"message_list\": \
         [[\"__json_message\", 0, 20, \"message %s\"], [\"__json_message\", 0, 20, \"message %s\"], \
         [\"__json_message\", 0, 20, \"message %s\"], [\"__json_message\", 0, 20, \"message %s\"], \
         [\"__json_message\", 0, 20, \"message %s\"], {\"another-message\": \
         [\"__json_message\", 0, 40, \"error\"]}]}, [\"__json_message\", 0, 20, \"message %s\"]]"
    );
    let decoded = decode_session(&value).unwrap().unwrap();
    assert_eq!(decoded, messages);
    // The nested messages are messages again, through the cookie codec too.
    let ctx = ctx();
    let back = ctx
        .codec
        .decode(&ctx.codec.encode_all(&messages, TS, false).unwrap())
        .unwrap()
        .unwrap()
        .items;
    assert_eq!(back, messages);
    let DjangoItem::Raw(nested) = &back[0] else {
        panic!("raw dict")
    };
    assert_eq!(
        DjangoMessage::from_json_array(&nested["message_list"][5]["another-message"]),
        Some(m(ERROR, "error"))
    );
}

fn encode_decode(message: DjangoMessage) -> DjangoMessage {
    let ctx = ctx();
    let encoded = ctx.codec.encode_all(&[message], TS, false).unwrap();
    let decoded = ctx.codec.decode(&encoded).unwrap().unwrap();
    decoded.items[0].as_message().unwrap().clone()
}

/// `CookieTests.test_safedata` (RULES §10 #30): a mark_safe text comes back safe, a plain
/// text does not.
#[test]
fn cookie_tests_test_safedata() {
    let safe = DjangoMessage::new(DEBUG, "<b>Hello Django!</b>")
        .with_extra_tags(None)
        .with_safe(true);
    assert!(encode_decode(safe).is_safe);
    let plain = DjangoMessage::new(DEBUG, "<b>Hello Django!</b>").with_extra_tags(None);
    assert!(!encode_decode(plain).is_safe);
}

/// `CookieTests.test_extra_tags` (RULES §10 #31): extra tags `""`, `None` and
/// `"some tags"` round-trip exactly.
#[test]
fn cookie_tests_test_extra_tags() {
    for extra_tags in [Some(""), None, Some("some tags")] {
        let m = DjangoMessage::new(DEBUG, "message").with_extra_tags(extra_tags);
        assert_eq!(encode_decode(m).extra_tags.as_deref(), extra_tags);
    }
}

// ----------------------------------------------------------------------------------
// test_cookie.py: BisectTests
// ----------------------------------------------------------------------------------

/// `BisectTests.test_bisect_keep_left` (RULES §10 #32).
#[test]
fn bisect_tests_test_bisect_keep_left() {
    let sum = |a: &[i32]| a.iter().sum::<i32>();
    assert_eq!(bisect_keep_left(&[1, 1, 1], |a| sum(a) != 2), 2);
    assert_eq!(bisect_keep_left(&[1, 1, 1], |a| sum(a) != 0), 0);
    assert_eq!(bisect_keep_left(&[] as &[i32], |a| sum(a) != 0), 0);
}

/// `BisectTests.test_bisect_keep_right` (RULES §10 #33).
#[test]
fn bisect_tests_test_bisect_keep_right() {
    let sum = |a: &[i32]| a.iter().sum::<i32>();
    assert_eq!(bisect_keep_right(&[1, 1, 1], |a| sum(a) != 2), 1);
    assert_eq!(bisect_keep_right(&[1, 1, 1, 1], |a| sum(a) != 2), 2);
    assert_eq!(bisect_keep_right(&[1, 1, 1, 1, 1], |a| sum(a) != 1), 4);
    assert_eq!(bisect_keep_right(&[] as &[i32], |a| sum(a) != 0), 0);
}

// ----------------------------------------------------------------------------------
// test_session.py: SessionTests
// ----------------------------------------------------------------------------------

/// `SessionTests.test_get` (RULES §10 #35): serialized session data `["test", "me"]`
/// iterates back.
#[test]
fn session_tests_test_get() {
    let ctx = ctx();
    let session = session_data(&raws(&["test", "me"]));
    assert_eq!(session[SESSION_KEY], "[\"test\", \"me\"]");
    let mut storage = Storage::new(&ctx, Kind::Session, None, Some(session));
    assert_eq!(storage.iter(), raws(&["test", "me"]));
}

/// `SessionTests.test_safedata` (RULES §10 #36): a safe message stored in the session
/// comes back safe.
#[test]
fn session_tests_test_safedata() {
    let ctx = ctx();
    let m = DjangoMessage::new(DEBUG, "<b>Hello Django!</b>")
        .with_extra_tags(None)
        .with_safe(true);
    let session = session_data(&[DjangoItem::Message(m)]);
    let mut storage = Storage::new(&ctx, Kind::Session, None, Some(session));
    assert!(messages_of(&storage.iter())[0].is_safe);
}

// ----------------------------------------------------------------------------------
// test_fallback.py: FallbackTests
// ----------------------------------------------------------------------------------

fn numbers(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

fn raw_strings(v: &[String]) -> Vec<DjangoItem> {
    v.iter().map(|s| raw(s)).collect()
}

/// `FallbackTests.test_get` (RULES §10 #37): when the cookie holds everything, iteration
/// gives the cookie's messages and the session is never read.
#[test]
fn fallback_tests_test_get() {
    let ctx = ctx();
    let example = raw_strings(&numbers(5));
    let cookie = cookie_data(&ctx, &example, false, false);
    let mut storage = Storage::new(&ctx, Kind::Fallback, Some(cookie), Some(BTreeMap::new()));
    assert_eq!(storage.iter(), example);
    assert_eq!(storage.session_get_calls, 0);
}

/// `FallbackTests.test_get_empty` (RULES §10 #38): no cookie: empty, and the session is
/// not consulted.
#[test]
fn fallback_tests_test_get_empty() {
    let ctx = ctx();
    let mut storage = Storage::new(
        &ctx,
        Kind::Fallback,
        None,
        Some(session_data(&raws(&["never read"]))),
    );
    assert_eq!(storage.iter(), Vec::<DjangoItem>::new());
    assert_eq!(storage.session_get_calls, 0);
}

/// `FallbackTests.test_get_fallback` (RULES §10 #39): four cookie messages and the
/// sentinel, plus one in the session, iterate as all five in order.
#[test]
fn fallback_tests_test_get_fallback() {
    let ctx = ctx();
    let example = raw_strings(&numbers(5));
    let mut cookie_items = example[..4].to_vec();
    cookie_items.push(DjangoItem::not_finished());
    let cookie = cookie_data(&ctx, &cookie_items, false, false);
    let session = session_data(&example[4..]);
    let mut storage = Storage::new(&ctx, Kind::Fallback, Some(cookie), Some(session));
    assert_eq!(storage.iter(), example);
}

/// `FallbackTests.test_get_fallback_only` (RULES §10 #40): a sentinel-only cookie plus five
/// session messages gives those five.
#[test]
fn fallback_tests_test_get_fallback_only() {
    let ctx = ctx();
    let example = raw_strings(&numbers(5));
    let cookie = cookie_data(&ctx, &[raw(NOT_FINISHED)], false, true);
    let session = session_data(&example);
    let mut storage = Storage::new(&ctx, Kind::Fallback, Some(cookie), Some(session));
    assert_eq!(storage.iter(), example);
}

/// `FallbackTests.test_flush_used_backends` (RULES §10 #41): a cookie ending with the
/// sentinel plus session data, read and updated, leaves no session messages.
#[test]
fn fallback_tests_test_flush_used_backends() {
    let ctx = ctx();
    let cookie = cookie_data(&ctx, &[raw("cookie"), raw(NOT_FINISHED)], false, false);
    let session = session_data(&raws(&["session"]));
    let mut storage = Storage::new(&ctx, Kind::Fallback, Some(cookie), Some(session));
    let _ = storage.iter();
    storage.update();
    assert_eq!(storage.stored_session_count(), 0);
    assert!(!storage.session.as_ref().unwrap().contains_key(SESSION_KEY));
    assert_eq!(
        storage.response_cookie,
        Some(None),
        "the used cookie is deleted"
    );
}

/// `FallbackTests.test_no_fallback` (RULES §10 #42): five 100-character messages all fit
/// in the cookie, and the session is never written.
#[test]
fn fallback_tests_test_no_fallback() {
    let ctx = ctx();
    let mut storage = Storage::new(&ctx, Kind::Fallback, None, Some(BTreeMap::new()));
    storage.preload(Vec::new());
    for i in 0..5 {
        storage.add(INFO, &i.to_string().repeat(100), Some(""));
    }
    storage.update();
    assert_eq!(storage.stored_cookie_count(), 5);
    assert_eq!(storage.stored_session_count(), 0);
    assert_eq!(storage.session_store_calls, 0);
}

/// `FallbackTests.test_session_fallback` (RULES §10 #43): five messages of which only four
/// fit: four in the cookie, one in the session.
#[test]
fn fallback_tests_test_session_fallback() {
    let ctx = ctx();
    let mut rng = Rng::new(42);
    let mut storage = Storage::new(&ctx, Kind::Fallback, None, Some(BTreeMap::new()));
    storage.preload(Vec::new());
    let texts: Vec<String> = (0..5).map(|_| random_string(&mut rng, MSG_SIZE)).collect();
    for t in &texts {
        storage.add(INFO, t, Some(""));
    }
    assert_eq!(storage.update(), Some(Vec::new()));
    assert_eq!(storage.stored_cookie_count(), 4);
    assert_eq!(storage.stored_session_count(), 1);
    // Fallback keeps the oldest in the cookie: the newest went to the session.
    let session = decode_session(&storage.session.as_ref().unwrap()[SESSION_KEY])
        .unwrap()
        .unwrap();
    assert_eq!(messages_of(&session)[0].message, texts[4]);
}

/// `FallbackTests.test_session_fallback_only` (RULES §10 #44): one 5000-character message:
/// nothing in the cookie (sentinel only), one in the session.
#[test]
fn fallback_tests_test_session_fallback_only() {
    let ctx = ctx();
    let mut rng = Rng::new(42);
    let mut storage = Storage::new(&ctx, Kind::Fallback, None, Some(BTreeMap::new()));
    storage.preload(Vec::new());
    storage.add(INFO, &random_string(&mut rng, 5000), Some(""));
    storage.update();
    assert_eq!(storage.stored_cookie_count(), 0);
    let value = storage.response_cookie.clone().unwrap().unwrap();
    let d = ctx.codec.decode(&value).unwrap().unwrap();
    assert!(
        d.items.is_empty() && !d.all_retrieved,
        "sentinel-only cookie"
    );
    assert_eq!(storage.stored_session_count(), 1);
}

// ----------------------------------------------------------------------------------
// base.py: BaseTests, run for each backend (cookie, session, fallback)
// ----------------------------------------------------------------------------------

const KINDS: [Kind; 3] = [Kind::Cookie, Kind::Session, Kind::Fallback];

fn storage_of(ctx: &Ctx, kind: Kind, data: Vec<DjangoItem>) -> Storage<'_> {
    let session = (kind != Kind::Cookie).then(BTreeMap::new);
    let mut s = Storage::new(ctx, kind, None, session);
    s.preload(data);
    s
}

fn stored_count(s: &Storage<'_>, kind: Kind) -> usize {
    match kind {
        Kind::Cookie => s.stored_cookie_count(),
        Kind::Session => s.stored_session_count(),
        Kind::Fallback => s.stored_cookie_count() + s.stored_session_count(),
    }
}

fn existing() -> Vec<DjangoItem> {
    vec![
        DjangoMessage::new(INFO, "Test message 1")
            .with_extra_tags(None)
            .into(),
        DjangoMessage::new(INFO, "Test message 2")
            .with_extra_tags(Some("tag"))
            .into(),
    ]
}

/// `BaseTests.test_add` (RULES §10 #2) for each backend.
#[test]
fn base_tests_test_add() {
    let ctx = ctx();
    for kind in KINDS {
        let mut s = storage_of(&ctx, kind, Vec::new());
        assert!(!s.added_new);
        s.add(INFO, "Test message 1", Some(""));
        assert!(s.added_new);
        s.add(INFO, "Test message 2", Some("tag"));
        assert_eq!(s.len(), 2, "{kind:?}");
    }
}

/// `BaseTests.test_no_update` (RULES §10 #4) for each backend.
#[test]
fn base_tests_test_no_update() {
    let ctx = ctx();
    for kind in KINDS {
        let mut s = storage_of(&ctx, kind, Vec::new());
        assert_eq!(s.update(), None);
        assert_eq!(stored_count(&s, kind), 0, "{kind:?}");
        assert_eq!(s.set_cookie, None);
    }
}

/// `BaseTests.test_add_update` (RULES §10 #5) for each backend.
#[test]
fn base_tests_test_add_update() {
    let ctx = ctx();
    for kind in KINDS {
        let mut s = storage_of(&ctx, kind, Vec::new());
        s.add(INFO, "Test message 1", Some(""));
        s.add(INFO, "Test message 1", Some("tag"));
        s.update();
        assert_eq!(stored_count(&s, kind), 2, "{kind:?}");
    }
}

/// `BaseTests.test_existing_add_read_update` (RULES §10 #6) for each backend.
#[test]
fn base_tests_test_existing_add_read_update() {
    let ctx = ctx();
    for kind in KINDS {
        let mut s = storage_of(&ctx, kind, existing());
        s.add(INFO, "Test message 3", Some(""));
        let _ = s.iter();
        s.update();
        assert_eq!(stored_count(&s, kind), 0, "{kind:?}");
    }
}

/// `BaseTests.test_existing_read_add_update` (RULES §10 #7) for each backend.
#[test]
fn base_tests_test_existing_read_add_update() {
    let ctx = ctx();
    for kind in KINDS {
        let mut s = storage_of(&ctx, kind, existing());
        let _ = s.iter();
        s.add(INFO, "Test message 3", Some(""));
        s.update();
        assert_eq!(stored_count(&s, kind), 1, "{kind:?}");
    }
}

/// `BaseTests.test_existing_read` (RULES §10 #15) and `test_existing_add` (#16) for each
/// backend.
#[test]
fn base_tests_test_existing_read_and_add() {
    let ctx = ctx();
    for kind in KINDS {
        let mut s = storage_of(&ctx, kind, existing());
        assert!(!s.used);
        let data = s.iter();
        assert!(s.used);
        assert_eq!(data, s.iter());
        let mut s = storage_of(&ctx, kind, existing());
        assert!(!s.added_new);
        s.add(INFO, "Test message 3", Some(""));
        assert!(s.added_new);
    }
}

/// The whole-cookie round trip Django's `test_get` overrides rely on, for each backend's
/// wire form: what one storage writes, a fresh storage of the next request reads.
#[test]
fn base_tests_stored_data_reads_back_on_the_next_request() {
    let ctx = ctx();
    for kind in KINDS {
        let mut s = storage_of(&ctx, kind, Vec::new());
        s.add(INFO, "first", Some(""));
        s.add(ERROR, "second é 😀", None);
        s.update();
        let cookie = s.response_cookie.clone().flatten();
        let mut next = Storage::new(&ctx, kind, cookie, s.session.clone());
        let got = next.iter();
        assert_eq!(got.len(), 2, "{kind:?}");
        assert_eq!(messages_of(&got)[1].message, "second é 😀");
        assert_eq!(messages_of(&got)[1].extra_tags, None);
        // Serializing the raw JSON again gives Django's bytes.
        let mut text = String::new();
        got[0].write_django_json(&mut text, JsonStyle::Compact);
        assert_eq!(text, "[\"__json_message\",0,20,\"first\",\"\"]");
        assert_eq!(
            to_python_json(&json!({"a": [1, 2.5, null]}), JsonStyle::Spaced),
            "{\"a\": [1, 2.5, null]}"
        );
    }
}
