//! The inbox against RULES.md, rule by rule, and the Django tests of RULES §10 that apply to
//! a storage state machine. Each test names the rule (R-x.y) or the Django test it mirrors.
//! Rule numbers (R-x.y) and sections (§) refer to `core/RULES.md`, published as
//! herald-core's `rules` module.

use herald_core::inbox::{CookieAction, SessionAction};
use herald_core::list::MessageList;
use herald_core::signer::MAX_VALUE_LEN;
use herald_core::truncate::signed_len;
use herald_core::{
    Added, Inbox, KeyUsed, Level, LoadError, Loaded, Message, Signer, Storage, Update,
    codec::Header,
};

const NOW: u64 = 1_700_000_000;
const MAX: usize = 2048;

fn signer() -> Signer {
    Signer::new(
        b"a secret of a reasonable length!",
        "herald.messages",
        "messages",
        &[],
    )
    .unwrap()
}

/// A key rotation: the old key's signer, and the new key's, which still accepts the old.
fn rotated_signers() -> (Signer, Signer) {
    let old_secret = b"the old secret, 32 bytes or longer";
    let old = Signer::new(old_secret, "herald.messages", "messages", &[]).unwrap();
    let new = Signer::new(
        b"the new secret, 32 bytes or longer",
        "herald.messages",
        "messages",
        &[old_secret],
    )
    .unwrap();
    (old, new)
}

/// What one response writes, as the next request will see it.
#[derive(Debug, Default, Clone)]
struct Jar {
    cookie: Option<String>,
    session: Option<Vec<u8>>,
}

/// Runs the plan of `inbox` against `jar` like an adapter would; returns the plan.
fn respond(inbox: &mut Inbox, jar: &mut Jar) -> herald_core::Plan {
    let plan = inbox.plan(MAX, NOW);
    match &plan.cookie {
        CookieAction::Keep => {}
        CookieAction::Delete => jar.cookie = None,
        CookieAction::Set {
            messages,
            continued,
        } => {
            let mut out = [0u8; MAX_VALUE_LEN];
            let v = inbox
                .seal_cookie(
                    messages.clone(),
                    *continued,
                    &signer(),
                    plan.issued_at,
                    &mut out,
                )
                .unwrap();
            assert!(v.len() <= MAX, "cookie value over its bound");
            jar.cookie = Some(v.to_owned());
        }
    }
    match &plan.session {
        SessionAction::Keep => {}
        SessionAction::Remove => jar.session = None,
        SessionAction::Set { messages } => {
            let mut out = vec![0u8; inbox.session_len(messages.clone(), plan.issued_at)];
            let n = inbox
                .encode_session(messages.clone(), plan.issued_at, &mut out)
                .unwrap();
            assert_eq!(n, out.len());
            jar.session = Some(out);
        }
    }
    plan
}

fn request(storage: Storage, jar: &Jar) -> Inbox {
    let mut inbox = Inbox::new(storage, Level::INFO);
    if storage != Storage::Session {
        let _ = inbox.load_cookie(
            jar.cookie.as_deref().map(str::as_bytes),
            &signer(),
            NOW,
            None,
        );
    }
    if inbox.needs_session() {
        inbox.load_session(jar.session.as_deref(), NOW).unwrap();
    }
    inbox
}

fn texts(inbox: &mut Inbox) -> Vec<String> {
    inbox.iter().map(|m| m.message.to_owned()).collect()
}

fn with_messages(storage: Storage, msgs: &[&str]) -> Jar {
    let mut jar = Jar::default();
    let mut inbox = request(storage, &jar);
    for m in msgs {
        inbox.add(Level::INFO, m, "").unwrap();
    }
    respond(&mut inbox, &mut jar);
    jar
}

const ALL: [Storage; 3] = [Storage::Cookie, Storage::Session, Storage::Fallback];

/// and Django `test_add`: adding sets `added_new`; two adds give len 2.
#[test]
fn r_2_1_add_sets_added_new() {
    for s in ALL {
        let mut inbox = request(s, &Jar::default());
        assert!(!inbox.added_new());
        inbox.add(Level::INFO, "Test message 1", "").unwrap();
        assert!(inbox.added_new());
        inbox.add(Level::INFO, "Test message 2", "tag").unwrap();
        assert_eq!(inbox.len(), 2);
    }
}

/// empty text and levels strictly below the minimum are ignored, and say so; a
/// level equal to the minimum is kept.
#[test]
fn r_2_1_ignored_adds_are_reported() {
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    assert_eq!(inbox.add(Level::INFO, "", ""), Ok(Added::IgnoredEmpty));
    assert_eq!(inbox.add(Level(19), "x", ""), Ok(Added::IgnoredBelowLevel));
    assert!(!inbox.added_new(), "ignored adds do not set added_new");
    assert_eq!(inbox.add(Level::INFO, "x", ""), Ok(Added::Queued));
    assert_eq!(inbox.update(), Update::Store(0..1));
}

/// Capacity overflow hands the message back and changes nothing.
#[test]
fn capacity_overflow_hands_the_message_back() {
    let mut inbox: Inbox<MessageList<16, 2>> = Inbox::new(Storage::Cookie, Level::INFO);
    inbox.add(Level::INFO, "0123456789", "").unwrap();
    let err = inbox.add(Level::ERROR, "0123456789", "x").unwrap_err();
    assert_eq!(err.message.message, "0123456789");
    assert_eq!(err.message.level, Level::ERROR);
    assert_eq!(err.message.extra_tags, Some("x"));
    assert_eq!(err.reason, herald_core::CapacityError::TooManyBytes);
    inbox.add(Level::INFO, "a", "").unwrap();
    let err = inbox.add(Level::INFO, "b", "").unwrap_err();
    assert_eq!(err.reason, herald_core::CapacityError::TooManyMessages);
    assert_eq!(inbox.len(), 2);
}

/// step 4 and Django `test_no_update`: no read, no add → nothing stored, no header.
#[test]
fn r_2_6_no_update() {
    for s in ALL {
        let jar = with_messages(s, &["one"]);
        let mut inbox = request(s, &jar);
        let plan = inbox.plan(MAX, NOW);
        assert_eq!(plan.cookie, CookieAction::Keep, "{s:?}");
        assert_eq!(plan.session, SessionAction::Keep, "{s:?}");
        let mut inbox = request(s, &Jar::default());
        assert_eq!(inbox.update(), Update::Unchanged);
    }
}

/// Django `test_add_update`: two adds then update persist 2 messages.
#[test]
fn django_test_add_update() {
    for s in ALL {
        let mut jar = Jar::default();
        let mut inbox = request(s, &jar);
        inbox.add(Level::INFO, "Test message 1", "").unwrap();
        inbox.add(Level::INFO, "Test message 1", "tag").unwrap();
        respond(&mut inbox, &mut jar);
        assert_eq!(texts(&mut request(s, &jar)).len(), 2, "{s:?}");
    }
}

/// Django `test_existing_add_read_update`: existing + 1 added, full read, update → 0 stored.
#[test]
fn django_test_existing_add_read_update() {
    for s in ALL {
        let mut jar = with_messages(s, &["a", "b"]);
        let mut inbox = request(s, &jar);
        inbox.add(Level::INFO, "Test message 3", "").unwrap();
        assert_eq!(texts(&mut inbox), ["a", "b", "Test message 3"]);
        assert_eq!(inbox.update(), Update::Clear);
        respond(&mut inbox, &mut jar);
        assert!(texts(&mut request(s, &jar)).is_empty(), "{s:?}");
    }
}

/// Django `test_existing_read_add_update`: existing read, then 1 added → exactly 1 stored.
#[test]
fn django_test_existing_read_add_update() {
    for s in ALL {
        let mut jar = with_messages(s, &["a", "b"]);
        let mut inbox = request(s, &jar);
        let _ = texts(&mut inbox);
        inbox.add(Level::INFO, "Test message 3", "").unwrap();
        assert_eq!(inbox.update(), Update::Store(2..3));
        respond(&mut inbox, &mut jar);
        assert_eq!(texts(&mut request(s, &jar)), ["Test message 3"], "{s:?}");
    }
}

/// and Django `test_existing_read`: iterating sets used; iterating again yields the
/// same data.
#[test]
fn r_2_3_iteration_is_repeatable() {
    for s in ALL {
        let jar = with_messages(s, &["a", "b"]);
        let mut inbox = request(s, &jar);
        assert!(!inbox.used());
        let first = texts(&mut inbox);
        assert!(inbox.used());
        assert_eq!(first, texts(&mut inbox));
        assert_eq!(first, ["a", "b"]);
    }
}

/// partial iteration counts as reading everything, queue included.
#[test]
fn r_2_3_partial_read_consumes_all() {
    let mut jar = with_messages(Storage::Cookie, &["a", "b", "c"]);
    let mut inbox = request(Storage::Cookie, &jar);
    assert_eq!(inbox.iter().next().unwrap().message, "a");
    respond(&mut inbox, &mut jar);
    assert_eq!(jar.cookie, None, "deleted after a partial read");
}

/// len and contains load but do not mark used.
#[test]
fn r_2_4_r_2_5_len_and_contains_do_not_mark_used() {
    let jar = with_messages(Storage::Cookie, &["a", "b"]);
    let mut inbox = request(Storage::Cookie, &jar);
    inbox.add(Level::WARNING, "c", "").unwrap();
    assert_eq!(inbox.len(), 3);
    assert!(inbox.contains(&Message::new(Level::INFO, "b")));
    assert!(inbox.contains(&Message::new(Level::WARNING, "c").with_extra_tags("other")));
    assert!(!inbox.contains(&Message::new(Level::ERROR, "c")));
    assert!(!inbox.used());
    assert_eq!(
        inbox.update(),
        Update::Store(0..3),
        "R-2.6 step 3: loaded + queue"
    );
}

/// Keep (Django's `used = False`): the messages read survive for the next request.
#[test]
fn keep_undoes_the_read() {
    for s in ALL {
        let mut jar = with_messages(s, &["a", "b"]);
        let mut inbox = request(s, &jar);
        let _ = texts(&mut inbox);
        inbox.keep();
        respond(&mut inbox, &mut jar);
        assert_eq!(texts(&mut request(s, &jar)), ["a", "b"], "{s:?}");
        // Keep, then add: loaded + queued are stored.
        let mut inbox = request(s, &jar);
        let _ = texts(&mut inbox);
        inbox.keep();
        inbox.add(Level::INFO, "c", "").unwrap();
        respond(&mut inbox, &mut jar);
        assert_eq!(texts(&mut request(s, &jar)), ["a", "b", "c"], "{s:?}");
    }
}

/// and Django `test_default_level`, `test_low_level`, `test_high_level`,
/// `test_settings_level`.
#[test]
fn r_2_2_levels() {
    let add_standard = |inbox: &mut Inbox| {
        for (level, text) in [
            (Level::DEBUG, "A debugging message"),
            (Level::INFO, "A generic info message"),
            (Level::SUCCESS, "This was a triumph."),
            (Level::WARNING, "A warning"),
            (Level::ERROR, "An error"),
            (Level(29), "Some custom level"),
        ] {
            let _ = inbox.add(level, text, "").unwrap();
        }
        inbox.len()
    };
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    assert_eq!(inbox.level(), Level::INFO);
    assert_eq!(add_standard(&mut inbox), 5, "test_default_level");
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    inbox.set_level(Some(Level(5)));
    assert_eq!(inbox.level(), Level(5));
    assert_eq!(add_standard(&mut inbox), 6, "test_low_level");
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    inbox.set_level(Some(Level::WARNING));
    assert_eq!(add_standard(&mut inbox), 2, "test_high_level");
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level(29));
    assert_eq!(inbox.level(), Level(29));
    assert_eq!(add_standard(&mut inbox), 3, "test_settings_level");
    inbox.set_level(Some(Level::DEBUG));
    inbox.set_level(None);
    assert_eq!(inbox.level(), Level(29), "None resets to the default");
}

/// Django `test_multiple_posts`: several requests add before one reads; all shown, in order.
#[test]
fn django_test_multiple_posts() {
    for s in ALL {
        let mut jar = Jar::default();
        let mut expected = Vec::new();
        for level in [10, 20, 25, 30, 40] {
            let mut inbox = request(s, &jar);
            inbox.set_level(Some(Level(0)));
            for i in 0..5 {
                let t = format!("level {level} message {i}");
                inbox.add(Level(level), &t, "").unwrap();
                expected.push(t);
            }
            respond(&mut inbox, &mut jar);
        }
        let mut inbox = request(s, &jar);
        assert_eq!(texts(&mut inbox), expected, "{s:?}");
        respond(&mut inbox, &mut jar);
        assert!(texts(&mut request(s, &jar)).is_empty(), "{s:?}: shown once");
    }
}

/// absent and empty cookies mark nothing.
#[test]
fn r_4_12_absent_cookie() {
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    assert_eq!(
        inbox.load_cookie(Some(b""), &signer(), NOW, None),
        Ok(Loaded::Absent)
    );
    assert_eq!(inbox.len(), 0);
    assert!(!inbox.used());
    assert_eq!(inbox.plan(MAX, NOW).cookie, CookieAction::Keep);
}

/// and Django `test_get_bad_cookie`: a bad cookie iterates as empty, is cleared
/// once touched, and left alone when untouched.
#[test]
fn r_4_20_invalid_cookie_under_cookie_storage() {
    let jar = with_messages(Storage::Cookie, &["a"]);
    let bad = &jar.cookie.as_ref().unwrap()[1..];
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    assert!(matches!(
        inbox.load_cookie(Some(bad.as_bytes()), &signer(), NOW, None),
        Err(LoadError::Open(_))
    ));
    assert_eq!(
        inbox.plan(MAX, NOW).cookie,
        CookieAction::Keep,
        "untouched: left alone"
    );
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    let _ = inbox.load_cookie(Some(bad.as_bytes()), &signer(), NOW, None);
    assert_eq!(inbox.len(), 0);
    assert!(inbox.used(), "touching an invalid cookie marks used");
    assert_eq!(inbox.plan(MAX, NOW).cookie, CookieAction::Delete);
}

/// an invalid cookie under fallback storage is never deleted by a read-only request.
#[test]
fn r_6_4_invalid_cookie_under_fallback_is_left_alone() {
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    let _ = inbox.load_cookie(Some(b"garbage"), &signer(), NOW, None);
    assert!(
        !inbox.needs_session(),
        "R-6.2: invalid cookie → session never consulted"
    );
    assert!(texts(&mut inbox).is_empty());
    let plan = inbox.plan(MAX, NOW);
    assert_eq!(plan.cookie, CookieAction::Keep);
    assert_eq!(plan.session, SessionAction::Keep);
}

/// Django `test_max_cookie_length` (R-4.7, remove_oldest=True): only 4 of 5 fit; the
/// unstored one is the oldest.
#[test]
fn django_test_max_cookie_length() {
    // herald's format: 4 × (330 + 6) bytes fit in the 1496 a 2048-char value leaves for
    // messages, 5 do not.
    let text = "x".repeat(329);
    let mut inbox = request(Storage::Cookie, &Jar::default());
    for i in 0..5 {
        inbox.add(Level::INFO, &format!("{i}{text}"), "").unwrap();
    }
    let mut jar = Jar::default();
    let plan = respond(&mut inbox, &mut jar);
    assert_eq!(plan.unstored, 0..1);
    assert_eq!(
        inbox
            .messages(plan.unstored.clone())
            .get(0)
            .unwrap()
            .message
            .as_bytes()[0],
        b'0'
    );
    let got = texts(&mut request(Storage::Cookie, &jar));
    assert_eq!(got.len(), 4);
    assert!(got[0].starts_with('1') && got[3].starts_with('4'));
}

/// the sentinel (continued marker) only when something was dropped; nothing
/// fitting gives a marker-only value, not a deletion.
#[test]
fn r_4_7_marker_only_when_dropped() {
    let mut inbox = request(Storage::Cookie, &Jar::default());
    inbox.add(Level::INFO, "short", "").unwrap();
    assert_eq!(
        inbox.plan(MAX, NOW).cookie,
        CookieAction::Set {
            messages: 0..1,
            continued: false
        }
    );
    let huge = "y".repeat(3000);
    let mut inbox = request(Storage::Cookie, &Jar::default());
    inbox.add(Level::INFO, &huge, "").unwrap();
    let plan = inbox.plan(MAX, NOW);
    assert_eq!(
        plan.cookie,
        CookieAction::Set {
            messages: 1..1,
            continued: true
        }
    );
    assert_eq!(plan.unstored, 0..1);
    // The marker-only value is small and reads back as no messages.
    let mut jar = Jar::default();
    respond(&mut inbox, &mut jar);
    assert!(jar.cookie.as_ref().unwrap().len() < 100);
    assert!(texts(&mut request(Storage::Cookie, &jar)).is_empty());
}

/// Django `test_no_fallback` / `test_session_fallback` / `test_session_fallback_only`
/// and `test_get_fallback` / `test_get_fallback_only` / `test_flush_used_backends`
///
#[test]
fn r_6_fallback_split_and_flush() {
    // 5 × 100 chars all fit: the session is not written.
    let hundred: Vec<String> = (0..5).map(|i| format!("{i}{}", "z".repeat(99))).collect();
    let refs: Vec<&str> = hundred.iter().map(String::as_str).collect();
    let jar = with_messages(Storage::Fallback, &refs);
    assert!(jar.session.is_none(), "test_no_fallback");
    // 5 × 330 chars: 4 in the cookie, 1 in the session, read back in order.
    let long: Vec<String> = (0..5).map(|i| format!("{i}{}", "w".repeat(329))).collect();
    let refs: Vec<&str> = long.iter().map(String::as_str).collect();
    let mut jar = with_messages(Storage::Fallback, &refs);
    assert!(
        jar.cookie.is_some() && jar.session.is_some(),
        "test_session_fallback"
    );
    let mut only_cookie: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    let loaded = only_cookie
        .load_cookie(
            jar.cookie.as_deref().map(str::as_bytes),
            &signer(),
            NOW,
            None,
        )
        .unwrap();
    assert_eq!(
        loaded,
        Loaded::Messages {
            count: 4,
            expired: 0,
            continued: true,
            key: KeyUsed::Current
        }
    );
    let mut inbox = request(Storage::Fallback, &jar);
    assert_eq!(texts(&mut inbox), long, "test_get_fallback");
    respond(&mut inbox, &mut jar);
    assert!(
        jar.cookie.is_none() && jar.session.is_none(),
        "test_flush_used_backends"
    );
    // One message larger than any cookie (Django uses 5000 chars; the default inbox holds
    // 3072 bytes of text): marker-only cookie, all in the session.
    let big = "v".repeat(2500);
    let mut jar = with_messages(Storage::Fallback, &[&big]);
    assert!(
        jar.cookie.as_ref().unwrap().len() < 100,
        "test_session_fallback_only"
    );
    let mut inbox = request(Storage::Fallback, &jar);
    assert_eq!(texts(&mut inbox), [big], "test_get_fallback_only");
    respond(&mut inbox, &mut jar);
    // a marker-only cookie is not deleted after its session messages are read.
    assert!(jar.cookie.is_some());
    assert!(jar.session.is_none());
}

/// with no cookie the session is never consulted (Django `test_get_empty`).
#[test]
fn r_6_2_no_cookie_no_session_read() {
    let inbox = request(Storage::Fallback, &Jar::default());
    assert!(!inbox.needs_session());
}

/// Key rotation: a cookie signed with the old key is read and re-signed with the new one.
#[test]
fn key_rotation_resigns_with_the_current_key() {
    let (old, new) = rotated_signers();
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    inbox.add(Level::INFO, "kept", "").unwrap();
    let mut out = [0u8; 512];
    let value = inbox
        .seal_cookie(0..1, false, &old, NOW, &mut out)
        .unwrap()
        .to_owned();
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    let loaded = inbox
        .load_cookie(Some(value.as_bytes()), &new, NOW, None)
        .unwrap();
    assert_eq!(
        loaded,
        Loaded::Messages {
            count: 1,
            expired: 0,
            continued: false,
            key: KeyUsed::Fallback(0)
        }
    );
    assert!(inbox.needs_resign());
    let plan = inbox.plan(MAX, NOW);
    let CookieAction::Set {
        messages,
        continued,
    } = plan.cookie
    else {
        panic!("expected a re-signed cookie, got {plan:?}");
    };
    let resigned = inbox
        .seal_cookie(messages, continued, &new, NOW, &mut out)
        .unwrap();
    let mut again: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    let loaded = again
        .load_cookie(Some(resigned.as_bytes()), &new, NOW, None)
        .unwrap();
    assert_eq!(
        loaded,
        Loaded::Messages {
            count: 1,
            expired: 0,
            continued: false,
            key: KeyUsed::Current
        }
    );
}

/// Key rotation never asks for a value over the bound. The re-signed cookie keeps its
/// issued-at, so it is exactly as long as the value the client holds, which fitted
/// the bound it was written under — even where the clock has since crossed a varint
/// boundary (16383 is the largest two-byte varint; 16384 takes three). When the bound has
/// shrunk below the cookie, the old cookie is left as it is — it still verifies with the
/// fallback key — and nothing is dropped. (The shrunk-bound case was found by the
/// `inbox_ops` fuzz target.)
#[test]
fn key_rotation_never_resigns_past_the_bound() {
    let (old, new) = rotated_signers();
    let (then, now) = (16_383, 16_384);
    let mut out = [0u8; MAX_VALUE_LEN];
    // A text whose value would grow by one character if it were stamped `now`.
    let (value, len_now) = (0..8)
        .find_map(|pad| {
            let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
            inbox.add(Level::INFO, &"x".repeat(40 + pad), "").unwrap();
            let header = Header {
                issued_at: now,
                continued: false,
            };
            let len_now = signed_len(&header, inbox.messages(0..1));
            let value = inbox
                .seal_cookie(0..1, false, &old, then, &mut out)
                .unwrap()
                .to_owned();
            (len_now > value.len()).then_some((value, len_now))
        })
        .expect("some padding makes the value one character longer");
    let load = || {
        let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        inbox
            .load_cookie(Some(value.as_bytes()), &new, now, None)
            .unwrap();
        assert!(inbox.needs_resign());
        inbox
    };
    // The value was exactly at the bound when written: re-signed at its own issued-at, it
    // still is.
    let mut inbox = load();
    let plan = inbox.plan(value.len(), now);
    assert_eq!(plan.issued_at, then, "re-signing keeps the issued-at");
    let CookieAction::Set {
        messages,
        continued,
    } = plan.cookie
    else {
        panic!("expected a re-signed cookie, got {plan:?}");
    };
    let resigned = inbox
        .seal_cookie(messages, continued, &new, plan.issued_at, &mut out)
        .unwrap();
    assert_eq!(resigned.len(), value.len(), "the same length as before");
    assert!(resigned.len() < len_now);
    // A bound that shrank below the cookie: left alone (nothing is re-read or lost).
    let plan = load().plan(value.len() - 10, now);
    assert_eq!(
        plan.cookie,
        CookieAction::Keep,
        "left as it is, not over the bound"
    );
    assert_eq!(plan.session, SessionAction::Keep);
    assert!(plan.unstored.is_empty(), "nothing dropped");
}

/// Loads must come first.
#[test]
fn loads_after_adds_are_refused() {
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    inbox.add(Level::INFO, "x", "").unwrap();
    assert_eq!(
        inbox.load_cookie(None, &signer(), NOW, None),
        Err(LoadError::OutOfOrder)
    );
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    inbox.load_cookie(None, &signer(), NOW, None).unwrap();
    assert_eq!(
        inbox.load_cookie(None, &signer(), NOW, None),
        Err(LoadError::OutOfOrder)
    );
}

/// Expired cookies (max-age) are invalid.
#[test]
fn max_age_expires_cookies() {
    let jar = with_messages(Storage::Cookie, &["a"]);
    let v = jar.cookie.unwrap();
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    assert!(
        inbox
            .load_cookie(Some(v.as_bytes()), &signer(), NOW + 61, Some(60))
            .is_err()
    );
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    assert!(
        inbox
            .load_cookie(Some(v.as_bytes()), &signer(), NOW + 60, Some(60))
            .is_ok()
    );
}

/// The per-request state at default capacity stays within 4 KiB.
#[test]
fn default_state_fits_in_4_kib() {
    let size = core::mem::size_of::<Inbox>();
    println!("size_of::<Inbox>() = {size}");
    assert!(size <= 4096, "{size}");
}

/// A full-size (≈2 KB) signed cookie: every single-bit flip is rejected.
#[test]
fn every_bit_flip_of_a_full_size_cookie_is_rejected() {
    let msgs: Vec<String> = (0..30)
        .map(|i| format!("message {i:02} {}", "é".repeat(20)))
        .collect();
    let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
    let jar = with_messages(Storage::Cookie, &refs);
    let value = jar.cookie.unwrap().into_bytes();
    assert!(value.len() > 1900 && value.len() <= MAX, "{}", value.len());
    let s = signer();
    let mut bytes = value.clone();
    for i in 0..bytes.len() {
        for bit in 0..8 {
            bytes[i] ^= 1 << bit;
            let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
            assert!(
                inbox.load_cookie(Some(&bytes), &s, NOW, None).is_err(),
                "byte {i} bit {bit}"
            );
            bytes[i] ^= 1 << bit;
        }
    }
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    assert!(inbox.load_cookie(Some(&bytes), &s, NOW, None).is_ok());
}

/// The predicted signed length is what sealing writes.
#[test]
fn predicted_length_is_exact() {
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    inbox.add(Level::INFO, "héllo", "tag").unwrap();
    let mut out = [0u8; 512];
    let v = inbox
        .seal_cookie(0..1, false, &signer(), NOW, &mut out)
        .unwrap();
    let h = Header {
        issued_at: NOW,
        continued: false,
    };
    assert_eq!(v.len(), signed_len(&h, inbox.messages(0..1)));
}

/// The README's example size: one "Profile saved." message, issued at a current Unix
/// time, makes a value of this many characters (a Set-Cookie far below a peer's 183 B).
#[test]
fn one_message_cookie_size() {
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    inbox.add(Level::SUCCESS, "Profile saved.", "").unwrap();
    let mut out = [0u8; 256];
    let v = inbox
        .seal_cookie(0..1, false, &signer(), NOW, &mut out)
        .unwrap();
    println!("one-message cookie value: {} characters", v.len());
    assert_eq!(v.len(), 79);
}

/// A bound below `MIN_VALUE_LEN` is raised to it, so the marker-only value never
/// exceeds the bound the plan works with.
#[test]
fn tiny_bounds_are_raised_to_the_marker_length() {
    use herald_core::truncate::MIN_VALUE_LEN;
    for storage in [Storage::Cookie, Storage::Fallback] {
        let mut inbox: Inbox = Inbox::new(storage, Level::INFO);
        inbox.add(Level::INFO, "hello", "").unwrap();
        let plan = inbox.plan(20, NOW);
        let CookieAction::Set {
            messages,
            continued,
        } = plan.cookie
        else {
            panic!("{storage:?}: expected the marker-only cookie");
        };
        assert!(messages.is_empty() && continued);
        let mut out = [0u8; 128];
        let v = inbox
            .seal_cookie(messages, continued, &signer(), u64::MAX, &mut out)
            .unwrap();
        assert!(v.len() <= MIN_VALUE_LEN, "{}", v.len());
    }
}

// ---------------------------------------------------------------------------------------
// `max_age` is the age of the oldest message.
// ---------------------------------------------------------------------------------------

const AGE: u64 = 100;

/// One request at `now` with `max_age = AGE` against `jar`: loads with `signer`, runs
/// `handler`, writes the plan (signed with `signer`) back into `jar`; returns the plan.
fn request_at(
    storage: Storage,
    jar: &mut Jar,
    signer: &Signer,
    now: u64,
    handler: impl FnOnce(&mut Inbox),
) -> herald_core::Plan {
    let mut inbox = Inbox::new(storage, Level::INFO);
    if storage != Storage::Session {
        let _ = inbox.load_cookie(
            jar.cookie.as_deref().map(str::as_bytes),
            signer,
            now,
            Some(AGE),
        );
    }
    if inbox.needs_session() {
        inbox.load_session(jar.session.as_deref(), now).unwrap();
    }
    handler(&mut inbox);
    let plan = inbox.plan(MAX, now);
    assert!(plan.issued_at <= now, "never issued in the future");
    if let CookieAction::Set {
        messages,
        continued,
    } = &plan.cookie
    {
        let mut out = [0u8; MAX_VALUE_LEN];
        let v = inbox
            .seal_cookie(
                messages.clone(),
                *continued,
                signer,
                plan.issued_at,
                &mut out,
            )
            .unwrap();
        jar.cookie = Some(v.to_owned());
    } else if plan.cookie == CookieAction::Delete {
        jar.cookie = None;
    }
    match &plan.session {
        SessionAction::Keep => {}
        SessionAction::Remove => jar.session = None,
        SessionAction::Set { messages } => {
            let mut out = vec![0u8; inbox.session_len(messages.clone(), plan.issued_at)];
            inbox
                .encode_session(messages.clone(), plan.issued_at, &mut out)
                .unwrap();
            jar.session = Some(out);
        }
    }
    plan
}

/// The issued-at inside the jar's cookie, verified with `signer`.
fn cookie_issued_at(jar: &Jar, signer: &Signer) -> u64 {
    let mut scratch = [0u8; herald_core::signer::MAX_RAW_LEN];
    signer
        .open(
            jar.cookie.as_deref().unwrap().as_bytes(),
            0,
            None,
            &mut scratch,
        )
        .unwrap()
        .issued_at
}

/// Whether the jar's cookie still loads at `now` under `max_age = AGE`.
fn cookie_alive(jar: &Jar, signer: &Signer, now: u64) -> Result<Loaded, LoadError> {
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    inbox.load_cookie(
        jar.cookie.as_deref().map(str::as_bytes),
        signer,
        now,
        Some(AGE),
    )
}

/// a message kept (read, then `keep`) and rewritten with a new one expires
/// `max_age` after its cookie was first written, not after the last rewrite.
#[test]
fn r_3_5_kept_message_expires_max_age_after_its_first_write() {
    let s = signer();
    let mut jar = Jar::default();
    let plan = request_at(Storage::Cookie, &mut jar, &s, NOW, |i| {
        i.add(Level::INFO, "first", "").unwrap();
    });
    assert_eq!(plan.issued_at, NOW);
    // Read and kept, and a new message added: the whole list is rewritten...
    let plan = request_at(Storage::Cookie, &mut jar, &s, NOW + 60, |i| {
        assert_eq!(i.iter().count(), 1);
        i.keep();
        i.add(Level::INFO, "second", "").unwrap();
    });
    assert!(matches!(plan.cookie, CookieAction::Set { .. }));
    // ... at the first message's issued-at.
    assert_eq!(plan.issued_at, NOW);
    assert_eq!(cookie_issued_at(&jar, &s), NOW);
    // Untouched again at NOW + 90: still there; at NOW + AGE + 1 it has expired, although
    // the last rewrite was only 41 seconds before.
    assert!(matches!(
        cookie_alive(&jar, &s, NOW + AGE),
        Ok(Loaded::Messages { count: 2, .. })
    ));
    assert_eq!(
        cookie_alive(&jar, &s, NOW + AGE + 1),
        Err(LoadError::Open(herald_core::signer::OpenError::Expired {
            issued_at: NOW,
            now: NOW + AGE + 1
        }))
    );
}

/// with the session: a request that reads nothing and adds a message rewrites the
/// session entry at the loaded entry's issued-at.
#[test]
fn r_3_5_session_rewrite_keeps_the_oldest_issued_at() {
    let s = signer();
    let mut jar = Jar::default();
    request_at(Storage::Session, &mut jar, &s, NOW, |i| {
        i.add(Level::INFO, "first", "").unwrap();
    });
    let plan = request_at(Storage::Session, &mut jar, &s, NOW + 30, |i| {
        i.add(Level::INFO, "second", "").unwrap();
    });
    assert_eq!(plan.issued_at, NOW);
    let body = jar.session.as_deref().unwrap();
    assert_eq!(herald_core::codec::peek_issued_at(body), Ok(NOW));
}

/// under fallback storage: the cookie part and the session part of one write carry
/// the same issued-at, the oldest loaded one.
#[test]
fn r_3_5_fallback_parts_share_the_oldest_issued_at() {
    let s = signer();
    let mut jar = Jar::default();
    let long = "x".repeat(700);
    request_at(Storage::Fallback, &mut jar, &s, NOW, |i| {
        for _ in 0..4 {
            i.add(Level::INFO, &long, "").unwrap();
        }
    });
    assert!(jar.session.is_some(), "the overflow went to the session");
    let plan = request_at(Storage::Fallback, &mut jar, &s, NOW + 10, |i| {
        i.add(Level::INFO, "new", "").unwrap();
    });
    assert!(matches!(plan.session, SessionAction::Set { .. }));
    assert_eq!(plan.issued_at, NOW);
    assert_eq!(cookie_issued_at(&jar, &s), NOW);
    let body = jar.session.as_deref().unwrap();
    assert_eq!(herald_core::codec::peek_issued_at(body), Ok(NOW));
}

/// a cookie verified with a fallback key and re-signed by a request that
/// reads nothing keeps its issued-at: key rotation does not extend its life.
#[test]
fn r_3_5_fallback_key_resign_keeps_the_issued_at() {
    let (old, new) = rotated_signers();
    let mut jar = Jar::default();
    request_at(Storage::Cookie, &mut jar, &old, NOW, |i| {
        i.add(Level::INFO, "before the rotation", "").unwrap();
    });
    // Rotated: a request that reads nothing re-signs with the new key...
    let plan = request_at(Storage::Cookie, &mut jar, &new, NOW + 70, |i| {
        assert!(i.needs_resign());
    });
    assert!(matches!(plan.cookie, CookieAction::Set { .. }));
    assert_eq!(plan.issued_at, NOW, "re-signing keeps the issued-at");
    assert!(matches!(
        cookie_alive(&jar, &new, NOW + AGE),
        Ok(Loaded::Messages {
            count: 1,
            expired: 0,
            key: KeyUsed::Current,
            ..
        })
    ));
    assert_eq!(cookie_issued_at(&jar, &new), NOW);
    // ... and it expires when the original would have.
    assert!(matches!(
        cookie_alive(&jar, &new, NOW + AGE + 1),
        Err(LoadError::Open(
            herald_core::signer::OpenError::Expired { .. }
        ))
    ));
}

/// a message added by a request counts as issued at the request's time (its
/// loads' `now`), even when the response is planned later: a slow handler does not
/// extend the message's life under `max_age` (found by the fallback model with a response
/// 1 s late and a read at the `max_age` boundary). With nothing loaded, the plan's `now`.
#[test]
fn r_3_5_new_messages_are_issued_at_the_request_time_not_the_response_time() {
    let s = signer();
    for storage in [Storage::Cookie, Storage::Fallback] {
        let mut inbox: Inbox = Inbox::new(storage, Level::INFO);
        inbox.load_cookie(None, &s, NOW, Some(AGE)).unwrap();
        if inbox.needs_session() {
            inbox.load_session(None, NOW).unwrap();
        }
        inbox.add(Level::INFO, "saved", "").unwrap();
        let plan = inbox.plan(MAX, NOW + 3);
        assert_eq!(plan.issued_at, NOW, "{storage:?}");
    }
    let mut inbox: Inbox = Inbox::new(Storage::Session, Level::INFO);
    inbox.add(Level::INFO, "saved", "").unwrap();
    assert_eq!(
        inbox.plan(MAX, NOW + 3).issued_at,
        NOW + 3,
        "nothing loaded"
    );
}

/// a request that reads everything and adds a new message writes only the new one,
/// issued at the request's time.
#[test]
fn r_3_5_read_everything_and_add_writes_now() {
    let s = signer();
    let mut jar = Jar::default();
    request_at(Storage::Cookie, &mut jar, &s, NOW, |i| {
        i.add(Level::INFO, "old", "").unwrap();
    });
    let plan = request_at(Storage::Cookie, &mut jar, &s, NOW + 50, |i| {
        assert_eq!(i.iter().count(), 1);
        i.add(Level::INFO, "new", "").unwrap();
    });
    assert_eq!(plan.issued_at, NOW + 50);
    assert_eq!(cookie_issued_at(&jar, &s), NOW + 50);
    // Under fallback storage too.
    let mut jar = Jar::default();
    request_at(Storage::Fallback, &mut jar, &s, NOW, |i| {
        i.add(Level::INFO, "old", "").unwrap();
    });
    let plan = request_at(Storage::Fallback, &mut jar, &s, NOW + 50, |i| {
        assert_eq!(i.iter().count(), 1);
        i.add(Level::INFO, "new", "").unwrap();
    });
    assert_eq!(plan.issued_at, NOW + 50);
}

/// a cookie issued in the future (clock skew between servers) is rewritten at
/// `now`, never later.
#[test]
fn r_3_5_future_cookie_is_rewritten_at_now() {
    let s = signer();
    let mut jar = Jar::default();
    request_at(Storage::Cookie, &mut jar, &s, NOW + 500, |i| {
        i.add(Level::INFO, "from a fast clock", "").unwrap();
    });
    let plan = request_at(Storage::Cookie, &mut jar, &s, NOW, |i| {
        i.add(Level::INFO, "more", "").unwrap();
    });
    assert_eq!(plan.issued_at, NOW);
    assert_eq!(cookie_issued_at(&jar, &s), NOW);
}

// ---------------------------------------------------------------------------------------
// §11: herald extensions.
// ---------------------------------------------------------------------------------------

/// What the next request would read from `jar`, without consuming it.
fn stored_texts(storage: Storage, jar: &Jar) -> Vec<String> {
    let mut inbox = request(storage, jar);
    texts(&mut inbox)
}

const ALL_STORAGES: [Storage; 3] = [Storage::Cookie, Storage::Session, Storage::Fallback];

/// a `now` message is shown in order by this request's read and never stored,
/// never reported unstored, and does not count as added.
#[test]
fn r_11_1_now_is_shown_in_its_request_only() {
    for storage in ALL_STORAGES {
        let mut jar = with_messages(storage, &["old"]);
        let mut inbox = request(storage, &jar);
        inbox.add(Level::INFO, "stored", "").unwrap();
        assert_eq!(inbox.add_now(Level::ERROR, "now", ""), Ok(Added::Queued));
        assert_eq!(
            inbox.add_now(Level::DEBUG, "hidden", ""),
            Ok(Added::IgnoredBelowLevel)
        );
        assert_eq!(inbox.add_now(Level::INFO, "", ""), Ok(Added::IgnoredEmpty));
        inbox.add(Level::INFO, "after", "").unwrap();
        assert_eq!(texts(&mut inbox), ["old", "stored", "now", "after"]);
        inbox.keep();
        let plan = respond(&mut inbox, &mut jar);
        assert!(plan.unstored.is_empty());
        assert_eq!(
            stored_texts(storage, &jar),
            ["old", "stored", "after"],
            "{storage:?}"
        );
    }
    // Only `now` messages, nothing read: the stored values are left alone.
    let jar = with_messages(Storage::Cookie, &["old"]);
    let mut inbox = request(Storage::Cookie, &jar);
    inbox.add_now(Level::INFO, "now", "").unwrap();
    assert!(!inbox.added_new());
    assert_eq!(inbox.update(), Update::Unchanged);
    // Read: the cookie is cleared, the `now` message is not stored.
    let mut jar = with_messages(Storage::Cookie, &["old"]);
    let mut inbox = request(Storage::Cookie, &jar);
    inbox.add_now(Level::INFO, "now", "").unwrap();
    assert_eq!(texts(&mut inbox), ["old", "now"]);
    assert_eq!(respond(&mut inbox, &mut jar).cookie, CookieAction::Delete);
}

/// without `alloc`: a fixed inbox marks at most `INLINE_MARKS` messages.
#[test]
fn r_11_1_now_past_the_marks_is_refused() {
    let mut inbox: Inbox<MessageList<4096, 200>> = Inbox::new(Storage::Session, Level::INFO);
    for _ in 0..herald_core::inbox::INLINE_MARKS {
        inbox.add(Level::INFO, "x", "").unwrap();
    }
    let got = inbox.add_now(Level::INFO, "one too many", "");
    if cfg!(feature = "alloc") {
        assert_eq!(got, Ok(Added::Queued));
    } else {
        let err = got.unwrap_err();
        assert_eq!(err.reason, herald_core::CapacityError::TooManyMessages);
        assert_eq!(err.message.message, "one too many");
        assert_eq!(
            inbox.len(),
            herald_core::inbox::INLINE_MARKS,
            "nothing half-added"
        );
    }
}

/// `discard` drops everything held now (still readable in this request); what is
/// added afterwards is stored; `keep` does not undo it.
#[test]
fn r_11_2_discard_drops_everything_held() {
    for storage in ALL_STORAGES {
        let mut jar = with_messages(storage, &["old"]);
        let mut inbox = request(storage, &jar);
        inbox.add(Level::INFO, "queued", "").unwrap();
        inbox.discard();
        inbox.add(Level::INFO, "later", "").unwrap();
        inbox.keep();
        assert_eq!(texts(&mut inbox), ["old", "queued", "later"]);
        inbox.keep();
        let plan = respond(&mut inbox, &mut jar);
        assert!(plan.unstored.is_empty());
        assert_eq!(stored_texts(storage, &jar), ["later"], "{storage:?}");
        // Discard with nothing after it: the storage is cleared.
        let mut jar = with_messages(storage, &["a", "b"]);
        let mut inbox = request(storage, &jar);
        inbox.discard();
        assert_eq!(inbox.update(), Update::Clear);
        respond(&mut inbox, &mut jar);
        assert!(stored_texts(storage, &jar).is_empty(), "{storage:?}");
    }
}

/// `discard_read` makes the reads final: a later `keep` brings back only the
/// unread messages.
#[test]
fn r_11_2_discard_read_survives_keep() {
    let mut jar = with_messages(Storage::Cookie, &["info", "error"]);
    let mut inbox = request(Storage::Cookie, &jar);
    let errors: Vec<_> = inbox
        .read_where(|m| m.message == "error")
        .map(|m| m.message.to_owned())
        .collect();
    assert_eq!(errors, ["error"]);
    inbox.discard_read();
    inbox.keep();
    respond(&mut inbox, &mut jar);
    assert_eq!(stored_texts(Storage::Cookie, &jar), ["info"]);
    // After a full iteration, everything read is discarded.
    let mut jar = with_messages(Storage::Cookie, &["a", "b"]);
    let mut inbox = request(Storage::Cookie, &jar);
    assert_eq!(texts(&mut inbox).len(), 2);
    inbox.discard_read();
    inbox.keep();
    inbox.add(Level::INFO, "new", "").unwrap();
    respond(&mut inbox, &mut jar);
    assert_eq!(stored_texts(Storage::Cookie, &jar), ["new"]);
}

/// a filtered read reads only what matches; the rest stays stored, in order; a
/// later request reads it; nothing is shown twice.
#[test]
fn r_11_3_filtered_read_leaves_the_rest_in_order() {
    for storage in ALL_STORAGES {
        let mut jar = Jar::default();
        let mut inbox = request(storage, &jar);
        for (level, text) in [
            (Level::INFO, "i1"),
            (Level::ERROR, "e1"),
            (Level::WARNING, "w1"),
            (Level::ERROR, "e2"),
        ] {
            inbox.add(level, text, "").unwrap();
        }
        respond(&mut inbox, &mut jar);
        let mut inbox = request(storage, &jar);
        inbox.add(Level::INFO, "i2", "").unwrap();
        let errors: Vec<_> = inbox
            .read_where(|m| m.level == Level::ERROR)
            .map(|m| m.message.to_owned())
            .collect();
        assert_eq!(errors, ["e1", "e2"]);
        assert!(!inbox.used(), "a filtered read does not set used");
        // Reading the same filter again yields the same messages.
        assert_eq!(inbox.read_where(|m| m.level == Level::ERROR).count(), 2);
        let plan = respond(&mut inbox, &mut jar);
        assert!(plan.unstored.is_empty());
        assert_eq!(
            stored_texts(storage, &jar),
            ["i1", "w1", "i2"],
            "{storage:?}"
        );
        // The next request reads the rest; then nothing is left.
        let mut inbox = request(storage, &jar);
        assert_eq!(texts(&mut inbox), ["i1", "w1", "i2"]);
        respond(&mut inbox, &mut jar);
        assert!(stored_texts(storage, &jar).is_empty());
    }
}

/// `keep` undoes a filtered read; a filtered read matching nothing changes
/// nothing; a filtered read of everything clears.
#[test]
fn r_11_3_filtered_read_with_keep_and_edges() {
    let jar = with_messages(Storage::Cookie, &["a", "b"]);
    let mut inbox = request(Storage::Cookie, &jar);
    assert_eq!(inbox.read_where(|m| m.message == "a").count(), 1);
    inbox.keep();
    assert_eq!(inbox.update(), Update::Unchanged);
    let mut inbox = request(Storage::Cookie, &jar);
    assert_eq!(inbox.read_where(|_| false).count(), 0);
    assert_eq!(inbox.update(), Update::Unchanged);
    let mut inbox = request(Storage::Cookie, &jar);
    assert_eq!(inbox.read_where(|_| true).count(), 2);
    assert_eq!(inbox.update(), Update::Clear);
    // A full iteration after a filtered read reads everything, as Django's.
    let mut inbox = request(Storage::Cookie, &jar);
    assert_eq!(inbox.read_where(|m| m.message == "b").count(), 1);
    assert_eq!(texts(&mut inbox), ["a", "b"]);
    assert_eq!(inbox.update(), Update::Clear);
}

/// with: a compacted store keeps the loaded cookie's issued-at when a loaded
/// message remains, and truncation sees only the stored messages.
#[test]
fn r_11_4_compaction_keeps_sources_and_issued_at() {
    let s = signer();
    let mut jar = Jar::default();
    request_at(Storage::Cookie, &mut jar, &s, NOW, |i| {
        i.add(Level::ERROR, "e", "").unwrap();
        i.add(Level::INFO, "i", "").unwrap();
    });
    let plan = request_at(Storage::Cookie, &mut jar, &s, NOW + 20, |i| {
        assert_eq!(i.read_where(|m| m.level == Level::ERROR).count(), 1);
        i.add_now(Level::INFO, "now", "").unwrap();
        i.add(Level::INFO, "new", "").unwrap();
    });
    let CookieAction::Set { messages, .. } = &plan.cookie else {
        panic!("{plan:?}")
    };
    assert_eq!(messages, &(0..2));
    assert_eq!(plan.issued_at, NOW, "the kept loaded message's issued-at");
    assert_eq!(cookie_issued_at(&jar, &s), NOW);
    assert_eq!(stored_texts(Storage::Cookie, &jar), ["i", "new"]);
}

/// The texts a request at `now` would show from `jar` (loads at `now`).
fn texts_at(storage: Storage, jar: &Jar, now: u64) -> Vec<String> {
    let mut inbox = Inbox::new(storage, Level::INFO);
    if storage != Storage::Session {
        let _ = inbox.load_cookie(
            jar.cookie.as_deref().map(str::as_bytes),
            &signer(),
            now,
            None,
        );
    }
    if inbox.needs_session() {
        inbox.load_session(jar.session.as_deref(), now).unwrap();
    }
    texts(&mut inbox)
}

/// a message with an expiry is shown by every request before it and by none at or
/// after it, in every storage; a load that drops it says how many it dropped.
#[test]
fn r_11_5_an_expired_message_is_dropped_when_loaded() {
    for storage in ALL_STORAGES {
        let mut jar = Jar::default();
        request_at(storage, &mut jar, &signer(), NOW, |i| {
            i.add_message(Message::new(Level::INFO, "soon").with_expires_at(NOW + 600))
                .unwrap();
            i.add(Level::INFO, "forever", "").unwrap();
        });
        assert_eq!(
            texts_at(storage, &jar, NOW + 599),
            ["soon", "forever"],
            "{storage:?}"
        );
        assert_eq!(
            texts_at(storage, &jar, NOW + 600),
            ["forever"],
            "{storage:?}"
        );
        let mut inbox: Inbox = Inbox::new(storage, Level::INFO);
        let loaded = if storage == Storage::Session {
            inbox.load_session(jar.session.as_deref(), NOW + 600)
        } else {
            inbox.load_cookie(
                jar.cookie.as_deref().map(str::as_bytes),
                &signer(),
                NOW + 600,
                None,
            )
        };
        assert_eq!(
            loaded,
            Ok(Loaded::Messages {
                count: 1,
                expired: 1,
                continued: false,
                key: KeyUsed::Current
            }),
            "{storage:?}"
        );
    }
}

/// a load that drops an expired message rewrites the stored values without it,
/// even when the request reads and adds nothing; when only expired messages were stored,
/// the values are cleared.
#[test]
fn r_11_5_expired_messages_leave_the_storage_on_first_sight() {
    for storage in ALL_STORAGES {
        let mut jar = Jar::default();
        request_at(storage, &mut jar, &signer(), NOW, |i| {
            i.add_message(Message::new(Level::INFO, "a").with_expires_at(NOW + 10))
                .unwrap();
            i.add(Level::INFO, "b", "").unwrap();
        });
        let plan = request_at(storage, &mut jar, &signer(), NOW + 10, |_| {});
        assert_eq!(plan.issued_at, NOW, "the remaining message keeps its age");
        assert_eq!(
            texts_at(storage, &jar, NOW),
            ["b"],
            "{storage:?}: rewritten"
        );

        let mut jar = Jar::default();
        request_at(storage, &mut jar, &signer(), NOW, |i| {
            i.add_message(Message::new(Level::INFO, "a").with_expires_at(NOW + 10))
                .unwrap();
        });
        request_at(storage, &mut jar, &signer(), NOW + 10, |_| {});
        assert_eq!(
            (&jar.cookie, &jar.session),
            (&None, &None),
            "{storage:?}: cleared"
        );
    }
}

/// a message that expires while the handler runs (between the load's `now` and the
/// plan's) is not stored and not reported unstored; one already expired when added is
/// ignored and says so.
#[test]
fn r_11_5_expiry_at_add_and_at_response_time() {
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    inbox.load_cookie(None, &signer(), NOW, None).unwrap();
    assert_eq!(
        inbox.add_message(Message::new(Level::INFO, "late").with_expires_at(NOW)),
        Ok(Added::IgnoredExpired)
    );
    assert_eq!(
        inbox.add_message_now(Message::new(Level::INFO, "late").with_expires_at(NOW - 1)),
        Ok(Added::IgnoredExpired)
    );
    inbox
        .add_message(Message::new(Level::INFO, "brief").with_expires_at(NOW + 2))
        .unwrap();
    inbox.add(Level::INFO, "kept", "").unwrap();
    let plan = inbox.plan(MAX, NOW + 2);
    assert_eq!(plan.unstored, 0..0);
    let CookieAction::Set { messages, .. } = plan.cookie else {
        panic!("{plan:?}")
    };
    let stored: Vec<&str> = inbox.messages(messages).iter().map(|m| m.message).collect();
    assert_eq!(stored, ["kept"]);
}

/// the expiry survives the round trip exactly (stored relative to the issued-at),
/// and a fixed inbox keeps it.
#[test]
fn r_11_5_the_expiry_round_trips() {
    let mut jar = Jar::default();
    request_at(Storage::Fallback, &mut jar, &signer(), NOW, |i| {
        i.add_message(Message::new(Level::INFO, "x").with_expires_at(NOW + 12_345))
            .unwrap();
    });
    let mut inbox = request(Storage::Fallback, &jar);
    let m = inbox.iter().next().unwrap();
    assert_eq!((m.message, m.expires_at), ("x", Some(NOW + 12_345)));
}

/// Format 1 (herald before per-message expiry) still loads: a cookie signed before an
/// upgrade is shown after it.
#[test]
fn a_format_1_cookie_still_loads() {
    let body = [1u8, 0, 0, 1, 40, 5, b'o', b'l', b'd', b'e', b'r', 1, 0, 0];
    let mut out = [0u8; 256];
    let value = signer().seal(&body, &mut out).unwrap().to_owned();
    let jar = Jar {
        cookie: Some(value),
        session: None,
    };
    assert_eq!(stored_texts(Storage::Cookie, &jar), ["older"]);
}

#[cfg(feature = "encryption")]
mod encrypted {
    use super::*;
    use herald_core::Cipher;
    use herald_core::cipher::OVERHEAD;
    use herald_core::truncate::sealed_len;

    fn cipher() -> Cipher {
        Cipher::new(
            b"a secret of a reasonable length!",
            "herald.messages",
            "messages",
            &[],
        )
        .unwrap()
    }

    /// One request with an encrypted cookie: load, run `handler`, plan for the cipher and
    /// seal with a fresh nonce.
    fn encrypted_request(
        storage: Storage,
        jar: &mut Jar,
        cipher: &Cipher,
        nonce: u8,
        max: usize,
        handler: impl FnOnce(&mut Inbox),
    ) -> (herald_core::Plan, Vec<String>) {
        let mut inbox: Inbox = Inbox::new(storage, Level::INFO);
        let _ = inbox.load_cookie(jar.cookie.as_deref().map(str::as_bytes), cipher, NOW, None);
        if inbox.needs_session() {
            inbox.load_session(jar.session.as_deref(), NOW).unwrap();
        }
        handler(&mut inbox);
        let shown: Vec<String> = inbox.iter().map(|m| m.message.to_owned()).collect();
        inbox.keep();
        let plan = inbox.plan_for(cipher, max, NOW);
        if let CookieAction::Set {
            messages,
            continued,
        } = &plan.cookie
        {
            let mut out = [0u8; MAX_VALUE_LEN];
            let header = Header {
                issued_at: plan.issued_at,
                continued: *continued,
            };
            let predicted = sealed_len(&header, inbox.messages(messages.clone()), OVERHEAD);
            let v = inbox
                .seal_cookie(
                    messages.clone(),
                    *continued,
                    &cipher.with_nonce([nonce; 24]),
                    plan.issued_at,
                    &mut out,
                )
                .unwrap();
            assert_eq!(v.len(), predicted, "exact size prediction");
            assert!(v.len() <= max, "the bound holds: {} > {max}", v.len());
            jar.cookie = Some(v.to_owned());
        } else if plan.cookie == CookieAction::Delete {
            jar.cookie = None;
        }
        match &plan.session {
            SessionAction::Keep => {}
            SessionAction::Remove => jar.session = None,
            SessionAction::Set { messages } => {
                let mut out = vec![0u8; inbox.session_len(messages.clone(), plan.issued_at)];
                inbox
                    .encode_session(messages.clone(), plan.issued_at, &mut out)
                    .unwrap();
                jar.session = Some(out);
            }
        }
        (plan, shown)
    }

    /// An encrypted cookie round-trips through the inbox, hides its texts, and is cut to
    /// the bound exactly as a signed one is, with its 8 more bytes counted; the overflow
    /// goes to the session under fallback storage.
    #[test]
    fn encrypted_cookies_round_trip_within_the_bound() {
        let c = cipher();
        let texts: Vec<String> = (0..30).map(|i| format!("secret number {i}")).collect();
        for max in [71usize, 100, 300, 2048] {
            let mut jar = Jar::default();
            let (plan, _) = encrypted_request(Storage::Fallback, &mut jar, &c, 1, max, |i| {
                for t in &texts {
                    i.add(Level::INFO, t, "").unwrap();
                }
            });
            assert!(plan.unstored.is_empty());
            let cookie = jar.cookie.clone().unwrap();
            assert!(
                !cookie.contains("c2VjcmV0"),
                "no base64 of the text in the clear"
            );
            let (_, shown) = encrypted_request(Storage::Fallback, &mut jar, &c, 2, max, |_| {});
            assert_eq!(shown, texts, "max {max}");
        }
        // A signer does not open it; the signed plan would have cut it differently.
        let mut jar = Jar::default();
        encrypted_request(Storage::Cookie, &mut jar, &c, 3, MAX, |i| {
            i.add(Level::INFO, "hidden", "").unwrap();
        });
        let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        assert!(matches!(
            inbox.load_cookie(
                jar.cookie.as_deref().map(str::as_bytes),
                &signer(),
                NOW,
                None
            ),
            Err(LoadError::Open(
                herald_core::signer::OpenError::BadSignature
            ))
        ));
    }

    /// Key rotation: an encrypted cookie opened with a fallback key is re-encrypted with
    /// the current key by a request that changes nothing.
    #[test]
    fn encrypted_cookies_rotate_keys() {
        let old = b"the old secret, 32 bytes or more!";
        let old_cipher: Cipher = Cipher::new(old, "herald.messages", "messages", &[]).unwrap();
        let new_cipher: Cipher = Cipher::new(
            b"the new secret, 32 bytes or more!",
            "herald.messages",
            "messages",
            &[old],
        )
        .unwrap();
        let mut jar = Jar::default();
        encrypted_request(Storage::Cookie, &mut jar, &old_cipher, 1, MAX, |i| {
            i.add(Level::INFO, "rotated", "").unwrap();
        });
        let before = jar.cookie.clone();
        let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        let loaded =
            inbox.load_cookie(before.as_deref().map(str::as_bytes), &new_cipher, NOW, None);
        assert!(matches!(
            loaded,
            Ok(Loaded::Messages {
                key: KeyUsed::Fallback(0),
                ..
            })
        ));
        let (plan, _) = {
            let mut jar2 = jar.clone();
            let r = encrypted_request(Storage::Cookie, &mut jar2, &new_cipher, 2, MAX, |_| {});
            jar = jar2;
            r
        };
        assert!(
            matches!(plan.cookie, CookieAction::Set { .. }),
            "re-encrypted"
        );
        assert_ne!(jar.cookie, before);
        let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        let loaded = inbox.load_cookie(
            jar.cookie.as_deref().map(str::as_bytes),
            &new_cipher,
            NOW,
            None,
        );
        assert!(matches!(
            loaded,
            Ok(Loaded::Messages {
                key: KeyUsed::Current,
                count: 1,
                ..
            })
        ));
    }
}

/// `settled_time`: the request's time, when a plan made at it is the plan of any later
/// time (an adapter then reads its clock once per request). Not before a load, not with a
/// message that expires (a late response must drop it), and not for a fallback-key cookie
/// issued after the request's time (clock skew), whose re-signed issued-at is the plan's
/// time.
#[test]
fn settled_time_is_the_request_time_only_when_no_later_plan_differs() {
    let s = signer();
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    assert_eq!(inbox.settled_time(), None, "nothing loaded yet");
    inbox.load_cookie(None, &s, NOW, None).unwrap();
    inbox.add(Level::INFO, "plain", "").unwrap();
    assert_eq!(inbox.settled_time(), Some(NOW));
    let (at, later) = (
        inbox.clone().plan(MAX, NOW),
        inbox.clone().plan(MAX, NOW + 9),
    );
    assert_eq!((&at.cookie, at.issued_at), (&later.cookie, later.issued_at));

    inbox
        .add_message(Message::new(Level::INFO, "expiring").with_expires_at(NOW + 5))
        .unwrap();
    assert_eq!(inbox.settled_time(), None, "a message that expires");
    let (at, later) = (
        inbox.clone().plan(MAX, NOW),
        inbox.clone().plan(MAX, NOW + 9),
    );
    assert_ne!(
        at.cookie, later.cookie,
        "a late response drops the expired message"
    );

    // A cookie signed with the old key, issued 5 s after the request's time.
    let (old, new) = rotated_signers();
    let mut writer: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    writer.add(Level::INFO, "from a clock ahead", "").unwrap();
    // The request at NOW loads a cookie the old key signed at `issued_at`.
    let loaded_at_now = |issued_at: u64| {
        let mut out = [0u8; 512];
        let value = writer
            .seal_cookie(0..1, false, &old, issued_at, &mut out)
            .unwrap();
        let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        inbox
            .load_cookie(Some(value.as_bytes()), &new, NOW, None)
            .unwrap();
        inbox
    };
    let inbox = loaded_at_now(NOW + 5);
    assert!(inbox.needs_resign());
    assert_eq!(
        inbox.settled_time(),
        None,
        "a re-sign issued after the request"
    );
    let (at, later) = (
        inbox.clone().plan(MAX, NOW),
        inbox.clone().plan(MAX, NOW + 9),
    );
    assert_eq!((at.issued_at, later.issued_at), (NOW, NOW + 5));

    // The same cookie issued before the request's time: settled.
    assert_eq!(loaded_at_now(NOW - 5).settled_time(), Some(NOW));
}
