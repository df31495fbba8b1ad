//! `fallback_roundtrip`: fallback storage's cookie + session split, and back.

use arbitrary::{Arbitrary, Unstructured};
use herald_core::signer::MAX_VALUE_LEN;
use herald_core::{
    CookieAction, Inbox, KeyUsed, Level, Loaded, Plan, SessionAction, Signer, Storage,
};

use super::{ArbMessage, Owned, model_signed_len, old_signer, signer};

#[derive(Arbitrary, Debug)]
struct Input {
    messages: Vec<ArbMessage>,
    now: u64,
    max_len: u16,
    /// Whether the first request signs with the key that the second only accepts as a
    /// fallback (key rotation in between).
    rotated: bool,
}

/// Arbitrary message lists through [`Storage::Fallback`]: a request queues them and
/// plans with a bound of 60 to 4096 characters, the cookie and the session entry it
/// writes are read by the next request, and a third request sees what is left.
/// * The plan keeps the longest prefix that fits in the cookie (maximal, checked against
///   the README's byte layout), the not-finished marker exactly when the rest goes to
///   the session, and nothing unstored; the sealed value is within the bound.
/// * The next request loads the cookie (with the current or, after a rotation, the
///   fallback key), reads the session exactly when the marker says so, and iterates
///   every queued message exactly once, in order, with all its fields.
/// * Its plan clears what was read: the cookie is deleted when it held messages (a
///   marker-only cookie is kept, R-6.4, or re-signed after a rotation), the session
///   entry removed when it held some; the third request then finds no message at all.
pub fn fallback_roundtrip(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let max_len = 60 + usize::from(input.max_len) % (MAX_VALUE_LEN - 59);
    let now = input.now;
    let first_signer: &Signer = if input.rotated {
        old_signer()
    } else {
        signer()
    };

    // Request 1: queue everything (the minimum level lets every level through).
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level(i32::MIN));
    let mut queued: Vec<Owned> = Vec::new();
    for m in &input.messages {
        let m = m.storable();
        match inbox.add_message(m.as_message()) {
            Ok(herald_core::Added::Queued) => queued.push(m),
            Ok(other) => panic!("{m:?} not queued: {other:?}"),
            Err(e) => {
                let bytes: usize = queued
                    .iter()
                    .chain([&m])
                    .map(|q| q.message.len() + q.extra_tags.as_ref().map_or(0, String::len))
                    .sum();
                assert!(queued.len() == 32 || bytes > 3072, "spurious {e:?}");
                break;
            }
        }
    }
    let n = queued.len();
    let plan = inbox.plan(max_len, now);
    if n == 0 {
        assert_eq!(
            plan,
            keep_all(now),
            "nothing queued, yet something to write"
        );
        return;
    }
    let CookieAction::Set {
        messages: in_cookie,
        continued,
    } = plan.cookie.clone()
    else {
        panic!("queued messages but no cookie: {plan:?}");
    };
    let k = in_cookie.len();
    assert_eq!(in_cookie, 0..k, "the cookie keeps the oldest");
    assert_eq!(continued, k < n, "marker iff the session holds the rest");
    assert!(plan.unstored.is_empty(), "fallback storage loses nothing");
    if k < n {
        assert_eq!(plan.session, SessionAction::Set { messages: k..n });
        assert!(
            model_signed_len(&queued[..=k], now) > max_len,
            "message {k} would fit in the cookie too"
        );
    } else {
        assert_eq!(plan.session, SessionAction::Keep);
    }
    let mut out = [0u8; MAX_VALUE_LEN];
    let cookie = inbox
        .seal_cookie(in_cookie, continued, first_signer, now, &mut out)
        .expect("within MAX_VALUE_LEN")
        .to_owned();
    assert!(cookie.len() <= max_len, "{} > {max_len}", cookie.len());
    assert_eq!(cookie.len(), model_signed_len(&queued[..k], now));
    let session = match plan.session {
        SessionAction::Set { messages } => {
            let mut entry = vec![0u8; inbox.session_len(messages.clone(), now)];
            let len = inbox
                .encode_session(messages, now, &mut entry)
                .expect("exact session length");
            assert_eq!(len, entry.len());
            Some(entry)
        }
        _ => None,
    };

    // Request 2: read everything back, once, in order.
    let key = if input.rotated {
        KeyUsed::Fallback(0)
    } else {
        KeyUsed::Current
    };
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    assert_eq!(
        inbox.load_cookie(Some(cookie.as_bytes()), signer(), now, None),
        Ok(Loaded::Messages {
            count: k,
            expired: 0,
            continued,
            key
        })
    );
    assert_eq!(inbox.needs_session(), continued);
    if continued {
        assert_eq!(
            inbox.load_session(session.as_deref(), now),
            Ok(Loaded::Messages {
                count: n - k,
                expired: 0,
                continued: false,
                key: KeyUsed::Current
            })
        );
    }
    let read: Vec<Owned> = inbox.iter().map(|m| Owned::of(&m)).collect();
    assert_eq!(read.len(), n, "messages lost or duplicated");
    for (r, q) in read.iter().zip(&queued) {
        assert!(q.same_as(&r.as_message()), "read {r:?}, queued {q:?}");
    }
    let plan = inbox.plan(max_len, now);
    let expected_cookie = if k > 0 {
        CookieAction::Delete
    } else if input.rotated {
        CookieAction::Set {
            messages: 0..0,
            continued: true,
        }
    } else {
        CookieAction::Keep
    };
    let expected_session = if k < n {
        SessionAction::Remove
    } else {
        SessionAction::Keep
    };
    assert_eq!(
        plan,
        Plan {
            cookie: expected_cookie.clone(),
            session: expected_session,
            unstored: 0..0,
            // Every request runs at `now`, so every value is issued then.
            issued_at: now,
        }
    );

    // Request 3: nothing left.
    let mut out = [0u8; MAX_VALUE_LEN];
    let cookie = match expected_cookie {
        CookieAction::Delete => None,
        CookieAction::Keep => Some(cookie),
        CookieAction::Set {
            messages,
            continued,
        } => Some(
            inbox
                .seal_cookie(messages, continued, signer(), now, &mut out)
                .expect("marker fits")
                .to_owned(),
        ),
    };
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    let loaded = inbox
        .load_cookie(cookie.as_deref().map(str::as_bytes), signer(), now, None)
        .expect("the remaining cookie is valid");
    if inbox.needs_session() {
        assert_eq!(inbox.load_session(None, now), Ok(Loaded::Absent));
    }
    assert!(
        matches!(loaded, Loaded::Absent | Loaded::Messages { count: 0, .. }),
        "{loaded:?} after everything was read"
    );
    assert_eq!(inbox.iter().count(), 0, "a message was delivered twice");
}

fn keep_all(now: u64) -> Plan {
    Plan {
        cookie: CookieAction::Keep,
        session: SessionAction::Keep,
        unstored: 0..0,
        issued_at: now,
    }
}

/// The input as this target reads it (`Debug` of the decoded structure), for triage of
/// a crash file.
pub fn describe(data: &[u8]) -> String {
    format!("{:#?}", Input::arbitrary_take_rest(Unstructured::new(data)))
}
