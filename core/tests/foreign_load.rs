//! Loading values read by another codec (Django's wire format in the `herald` crate):
//! `Inbox::load_cookie_foreign` / `load_session_foreign` follow the same rules as the
//! inbox's own loaders. Rule numbers
//! (R-x.y) refer to `core/RULES.md`, published as herald-core's `rules` module.

use herald_core::codec::DecodeError;
use herald_core::inbox::{CookieAction, SessionAction};
use herald_core::list::MessageList;
use herald_core::{
    CapacityError, Foreign, Inbox, KeyUsed, Level, LoadError, Loaded, Message, Storage,
};

fn msgs<'a>(texts: &'a [&'a str]) -> Vec<Message<'a>> {
    texts.iter().map(|t| Message::new(Level::INFO, t)).collect()
}

fn valid<'a>(texts: &'a [&'a str], continued: bool) -> Foreign<Vec<Message<'a>>> {
    Foreign::Messages {
        messages: msgs(texts),
        continued,
        key: KeyUsed::Current,
    }
}

/// Any foreign plan: the fit closure keeps everything (the cookie actions are what is
/// checked here, not truncation).
fn plan(inbox: &mut Inbox) -> herald_core::Plan {
    inbox.plan_with(|view, _| view.len())
}

#[test]
fn r_4_12_absent_marks_nothing() {
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    let loaded = inbox.load_cookie_foreign(Foreign::<Vec<Message<'_>>>::Absent);
    assert_eq!(loaded, Ok(Loaded::Absent));
    assert_eq!(inbox.len(), 0);
    assert_eq!(plan(&mut inbox).cookie, CookieAction::Keep);
}

#[test]
fn valid_messages_load_in_order_with_extra_tags_as_given() {
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    let messages = [
        Message {
            extra_tags: None,
            ..Message::new(Level::INFO, "no tags")
        },
        Message::new(Level::ERROR, "empty tags"),
        Message::new(Level::SUCCESS, "tagged")
            .with_extra_tags("big")
            .with_safe(true),
    ];
    let loaded = inbox.load_cookie_foreign(Foreign::Messages {
        messages,
        continued: false,
        key: KeyUsed::Fallback(1),
    });
    assert_eq!(
        loaded,
        Ok(Loaded::Messages {
            count: 3,
            expired: 0,
            continued: false,
            key: KeyUsed::Fallback(1)
        })
    );
    let got: Vec<_> = inbox
        .iter()
        .map(|m| (m.message, m.extra_tags, m.is_safe))
        .collect();
    assert_eq!(
        got,
        [
            ("no tags", None, false),
            ("empty tags", Some(""), false),
            ("tagged", Some("big"), true)
        ]
    );
    // Read and nothing added: the cookie is deleted. `plan_with` never re-signs a
    // fallback-key cookie: that is herald-format policy, not Django's.
    assert_eq!(plan(&mut inbox).cookie, CookieAction::Delete);
}

#[test]
fn r_4_20_invalid_cookie_marks_used_only_when_touched_under_cookie_storage() {
    let mut untouched: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    let r = untouched.load_cookie_foreign(Foreign::<Vec<Message<'_>>>::Invalid);
    assert_eq!(r, Err(LoadError::Rejected));
    assert_eq!(plan(&mut untouched).cookie, CookieAction::Keep);

    let mut touched: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    let _ = touched.load_cookie_foreign(Foreign::<Vec<Message<'_>>>::Invalid);
    assert_eq!(touched.len(), 0);
    assert_eq!(plan(&mut touched).cookie, CookieAction::Delete);
}

#[test]
fn r_6_4_invalid_cookie_under_fallback_is_never_deleted_and_the_session_is_not_read() {
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    let _ = inbox.load_cookie_foreign(Foreign::<Vec<Message<'_>>>::Invalid);
    assert!(
        !inbox.needs_session(),
        "R-6.2: an invalid cookie stops the chain"
    );
    assert_eq!(inbox.iter().count(), 0);
    let p = plan(&mut inbox);
    assert_eq!(p.cookie, CookieAction::Keep);
    assert_eq!(p.session, SessionAction::Keep);
}

#[test]
fn unsupported_values_are_never_deleted_just_for_being_read() {
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    let r = inbox.load_cookie_foreign(Foreign::<Vec<Message<'_>>>::Unsupported);
    assert_eq!(r, Err(LoadError::Unsupported));
    // Touching does not mark it used (an invalid value would be deleted now, R-4.20).
    assert_eq!(inbox.len(), 0);
    assert_eq!(plan(&mut inbox).cookie, CookieAction::Keep);
}

#[test]
fn capacity_errors_load_nothing_and_mark_nothing() {
    let mut inbox: Inbox<MessageList<16, 2>> = Inbox::new(Storage::Cookie, Level::INFO);
    let r = inbox.load_cookie_foreign(valid(&["a", "b", "c"], false));
    assert_eq!(
        r,
        Err(LoadError::Decode(DecodeError::Capacity(
            CapacityError::TooManyMessages
        )))
    );
    assert_eq!(inbox.len(), 0);
    assert!(!inbox.contains(&Message::new(Level::INFO, "a")));
    assert_eq!(inbox.plan_with(|v, _| v.len()).cookie, CookieAction::Keep);
}

#[test]
fn an_empty_text_makes_the_value_invalid() {
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    let r = inbox.load_cookie_foreign(valid(&["fine", ""], false));
    assert_eq!(r, Err(LoadError::Decode(DecodeError::EmptyText)));
    assert_eq!(inbox.len(), 0, "all or nothing");
    assert_eq!(plan(&mut inbox).cookie, CookieAction::Delete);
}

#[test]
fn loads_come_first_and_once() {
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    inbox.add(Level::INFO, "x", "").unwrap();
    assert_eq!(
        inbox.load_cookie_foreign(valid(&["a"], false)),
        Err(LoadError::OutOfOrder)
    );
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    inbox.load_cookie_foreign(valid(&["a"], true)).unwrap();
    assert_eq!(
        inbox.load_cookie_foreign(valid(&["a"], true)),
        Err(LoadError::OutOfOrder)
    );
}

#[test]
fn r_6_2_fallback_reads_the_session_after_a_continued_cookie_and_flushes_both() {
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    inbox
        .load_cookie_foreign(valid(&["c1", "c2"], true))
        .unwrap();
    assert!(inbox.needs_session());
    let loaded = inbox.load_session_foreign(valid(&["s1"], false)).unwrap();
    assert_eq!(
        loaded,
        Loaded::Messages {
            count: 1,
            expired: 0,
            continued: false,
            key: KeyUsed::Current
        }
    );
    let texts: Vec<_> = inbox.iter().map(|m| m.message).collect();
    assert_eq!(texts, ["c1", "c2", "s1"]);
    let p = plan(&mut inbox);
    assert_eq!(p.cookie, CookieAction::Delete);
    assert_eq!(p.session, SessionAction::Remove);
}

#[test]
fn sentinel_only_cookie_is_left_alone_when_the_session_is_flushed() {
    // Django's scenario "sentinel-only cookie + session, read": the cookie held no message,
    // so it is not a used storage and only the session is flushed.
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    inbox.load_cookie_foreign(valid(&[], true)).unwrap();
    inbox
        .load_session_foreign(valid(&["s1", "s2"], false))
        .unwrap();
    assert_eq!(inbox.iter().count(), 2);
    let p = plan(&mut inbox);
    assert_eq!(p.cookie, CookieAction::Keep);
    assert_eq!(p.session, SessionAction::Remove);
}

#[test]
fn invalid_session_entry_is_removed_once_touched_only_under_session_storage() {
    let mut session: Inbox = Inbox::new(Storage::Session, Level::INFO);
    assert_eq!(
        session.load_session_foreign(Foreign::<Vec<Message<'_>>>::Invalid),
        Err(LoadError::Rejected)
    );
    assert_eq!(plan(&mut session).session, SessionAction::Keep);
    assert_eq!(session.len(), 0);
    assert_eq!(plan(&mut session).session, SessionAction::Remove);

    let mut fallback: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    fallback.load_cookie_foreign(valid(&["c"], true)).unwrap();
    let _ = fallback.load_session_foreign(Foreign::<Vec<Message<'_>>>::Invalid);
    assert_eq!(fallback.iter().count(), 1);
    let p = plan(&mut fallback);
    assert_eq!(p.cookie, CookieAction::Delete);
    assert_eq!(p.session, SessionAction::Keep);
}

#[test]
fn new_messages_replace_a_foreign_cookie_with_the_codecs_truncation() {
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    inbox
        .load_cookie_foreign(valid(&["old1", "old2"], false))
        .unwrap();
    inbox.add(Level::INFO, "new", "").unwrap();
    // The codec says only the newest two fit: the oldest is unstored.
    let p = inbox.plan_with(|view, _| view.len().min(2));
    assert_eq!(
        p.cookie,
        CookieAction::Set {
            messages: 1..3,
            continued: true
        }
    );
    assert_eq!(p.unstored, 0..1);
}
