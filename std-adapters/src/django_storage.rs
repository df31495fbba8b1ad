//! Django's wire format in herald's storages ([`WireFormat::Django`](crate::WireFormat)):
//! the few steps the shared http layer (`state.rs`) takes differently for it. The codec
//! verifies, parses and serializes; the core [`Inbox`] decides everything else, through
//! [`Inbox::load_cookie_foreign`], [`Inbox::load_session_foreign`] and
//! [`Inbox::plan_with`] with Django's bisection.
//!
//! Items of a Django list that are not messages herald can carry — plain JSON values stored
//! next to messages (`{"raw": …}` in the vectors; the not-finished sentinel anywhere but
//! last) and messages with an empty text — are left out of the inbox and reported with
//! `tracing` (WARN for the count, DEBUG for each value). They are not shown; a cookie or
//! session entry holding them is left untouched as long as nothing is read or added, and
//! they are gone once herald rewrites it.

use std::ops::Range;

use herald_core::inbox::{CookieAction, Foreign, LoadError, Loaded, Plan};
use herald_core::{Inbox, Message, MessageStore, Policy};

use crate::config::Inner;
use crate::django::json::{JsonStyle, ToDjangoJson};
use crate::django::{
    DecodeError, DjangoCodec, DjangoItem, NOT_FINISHED, decode_session, encode_session,
    python_cookie_quote,
};

/// The messages of `items` that an inbox can hold, after logging what is left out.
fn messages_of<'a>(items: &'a [DjangoItem], source: &str) -> Vec<Message<'a>> {
    let mut left_out = 0usize;
    let mut messages = Vec::with_capacity(items.len());
    for item in items {
        match item {
            DjangoItem::Message(m) if !m.message.is_empty() => messages.push(m.as_message()),
            DjangoItem::Message(m) => {
                left_out += 1;
                tracing::debug!(
                    level = m.level,
                    "herald: left out a Django message with an empty text from the {source}"
                );
            }
            DjangoItem::Raw(v) => {
                left_out += 1;
                tracing::debug!(item = %v, "herald: left out a non-message item of the Django {source}");
            }
        }
    }
    if left_out > 0 {
        tracing::warn!(
            left_out,
            messages = messages.len(),
            "herald: the Django {source} holds items that are not messages herald can show; they are left out (and dropped when it is rewritten)"
        );
    }
    messages
}

/// How a codec error reaches the inbox: a value Django cannot build messages from is
/// invalid (cleared like a tampered cookie under the storage that owns it; Django itself
/// would delete it, R-4.20, or raise, R-4.21 — herald never answers with an error), while
/// a valid value with content herald cannot represent is [`Foreign::Unsupported`] and
/// never deleted just for being read.
fn verdict(error: &DecodeError, source: &str) -> Foreign<[Message<'static>; 0]> {
    tracing::debug!(%error, "herald: the Django {source} does not decode");
    match error {
        DecodeError::Unsupported(_) => Foreign::Unsupported,
        _ => Foreign::Invalid,
    }
}

const NOTHING: Foreign<[Message<'static>; 0]> = Foreign::Absent;

/// Loads the incoming `messages` cookie (already taken from the `Cookie` headers) into
/// `inbox`: Django's unsign with `SECRET_KEY` then `SECRET_KEY_FALLBACKS`, base64, zlib,
/// latin-1 and JSON (R-4.12 – R-4.21); a trailing sentinel means more messages in the
/// session. `max_age` (herald's option; Django never checks the age) rejects values signed
/// more than that many seconds before `now`.
pub(crate) fn load_cookie<L: MessageStore>(
    inbox: &mut Inbox<L>,
    codec: &DjangoCodec,
    value: Option<&str>,
    now: u64,
    max_age: Option<u64>,
) -> Result<Loaded, LoadError> {
    let decoded = match value.map(|v| codec.decode(v)) {
        None | Some(Ok(None)) => return inbox.load_cookie_foreign(NOTHING),
        Some(Err(e)) => return inbox.load_cookie_foreign(verdict(&e, "messages cookie")),
        Some(Ok(Some(d))) => d,
    };
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    if let Some(max_age) = max_age
        && now.saturating_sub(decoded.timestamp) > i64::try_from(max_age).unwrap_or(i64::MAX)
    {
        tracing::debug!(
            timestamp = decoded.timestamp,
            "herald: the Django messages cookie is older than max_age"
        );
        return inbox.load_cookie_foreign(Foreign::<[Message<'_>; 0]>::Invalid);
    }
    let messages = messages_of(&decoded.items, "messages cookie");
    inbox.load_cookie_foreign(Foreign::Messages {
        messages,
        continued: !decoded.all_retrieved,
        key: decoded.key,
    })
}

/// Loads the session entry: the JSON string Django's `SessionStorage` keeps under
/// `_messages` (R-5.3). Bytes that are not UTF-8 or not Django's JSON are invalid.
pub(crate) fn load_session<L: MessageStore>(
    inbox: &mut Inbox<L>,
    bytes: Option<&[u8]>,
) -> Result<Loaded, LoadError> {
    let text = match bytes.map(std::str::from_utf8) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => {
            let e = DecodeError::BadJson("the session entry is not UTF-8".to_owned());
            return inbox.load_session_foreign(verdict(&e, "session entry"));
        }
    };
    let items = match text.map(decode_session) {
        None | Some(Ok(None)) => return inbox.load_session_foreign(NOTHING),
        Some(Err(e)) => return inbox.load_session_foreign(verdict(&e, "session entry")),
        Some(Ok(Some(items))) => items,
    };
    let messages = messages_of(&items, "session entry");
    inbox.load_session_foreign(Foreign::Messages {
        messages,
        continued: false,
        key: herald_core::KeyUsed::Current,
    })
}

/// The response plan in Django's format: the core's [`Plan`], with the signed value in
/// place of the cookie's [`CookieAction::Set`].
pub(crate) struct DjangoPlan {
    pub(crate) plan: Plan,
    pub(crate) cookie: DjangoCookie,
}

/// What to do with the cookie.
pub(crate) enum DjangoCookie {
    /// No `Set-Cookie`.
    Keep,
    /// The deletion cookie.
    Delete,
    /// Set this value.
    Set(String),
}

/// Plans the response with Django's `CookieStorage._store` deciding what fits (R-4.5 –
/// R-4.8): the newest messages under cookie storage (`remove_oldest=True`), the oldest
/// under fallback storage (`remove_oldest=False`), each probe measured and bisected exactly
/// as Django does, signed at `now`. The cookie value comes from that same encoding, so it
/// is byte for byte what Django writes for these messages at that second.
pub(crate) fn plan<L: MessageStore>(
    inbox: &mut Inbox<L>,
    codec: &DjangoCodec,
    max_size: usize,
    now: u64,
) -> DjangoPlan {
    let timestamp = i64::try_from(now).unwrap_or(i64::MAX);
    let mut encoded = None;
    let plan = inbox.plan_with(|view, policy| {
        let messages: Vec<Message<'_>> = view.iter().collect();
        let remove_oldest = policy == Policy::KeepNewest;
        let e = codec.encode(&messages, remove_oldest, timestamp, max_size);
        let kept = messages.len() - e.unstored.len();
        encoded = Some((kept, e.not_finished, e.value));
        kept
    });
    let cookie = match &plan.cookie {
        CookieAction::Keep => DjangoCookie::Keep,
        CookieAction::Delete => DjangoCookie::Delete,
        CookieAction::Set {
            messages,
            continued,
        } => {
            let value = match encoded {
                Some((kept, sentinel, Some(v)))
                    if kept == messages.len() && sentinel == *continued =>
                {
                    v
                }
                _ => seal(inbox, codec, messages.clone(), *continued, timestamp),
            };
            DjangoCookie::Set(value)
        }
    };
    DjangoPlan { plan, cookie }
}

/// The `Set-Cookie` header value that sets the messages cookie to `value`, exactly as
/// Django's `HttpResponse.set_cookie` renders it (`Morsel.OutputString()`, R-4.10):
/// `NAME=VALUE[; Domain=D][; HttpOnly]; Path=P[; SameSite=S][; Secure]`, with the
/// configured attributes and the SameSite spelling as configured.
pub(crate) fn set_cookie_line(config: &Inner, value: &str) -> String {
    let mut out = format!("{}={}", config.cookie_name, python_cookie_quote(value));
    if let Some(d) = config.domain.as_deref().filter(|d| !d.is_empty()) {
        out.push_str("; Domain=");
        out.push_str(d);
    }
    if config.http_only {
        out.push_str("; HttpOnly");
    }
    out.push_str("; Path=");
    out.push_str(&config.path);
    if let Some(s) = config.same_site_text.as_deref() {
        out.push_str("; SameSite=");
        out.push_str(s);
    }
    if config.secure {
        out.push_str("; Secure");
    }
    out
}

/// The deletion `Set-Cookie` header value, exactly as Django's `delete_cookie` renders it
/// (R-4.11): `NAME=""[; Domain=D]; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0;
/// Path=P[; SameSite=S][; Secure]`, never `HttpOnly`, and `Secure` only where browsers
/// require it (`SameSite=None`, a `__Secure-` or `__Host-` name).
pub(crate) fn delete_cookie_line(config: &Inner) -> String {
    let mut out = format!("{}=\"\"", config.cookie_name);
    if let Some(d) = config.domain.as_deref().filter(|d| !d.is_empty()) {
        out.push_str("; Domain=");
        out.push_str(d);
    }
    out.push_str("; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=");
    out.push_str(&config.path);
    let same_site = config.same_site_text.as_deref();
    if let Some(s) = same_site {
        out.push_str("; SameSite=");
        out.push_str(s);
    }
    if same_site.is_some_and(|s| s.eq_ignore_ascii_case("none"))
        || config.cookie_name.starts_with("__Secure-")
        || config.cookie_name.starts_with("__Host-")
    {
        out.push_str("; Secure");
    }
    out
}

/// One element of a cookie list: a message, or the not-finished sentinel.
enum Item<'a> {
    Message(Message<'a>),
    NotFinished,
}

impl ToDjangoJson for Item<'_> {
    fn write_django_json(&self, out: &mut String, style: JsonStyle) {
        match self {
            Item::Message(m) => m.write_django_json(out, style),
            Item::NotFinished => crate::django::json::write_str(out, NOT_FINISHED),
        }
    }
}

/// The signed value of `messages` (and the sentinel when `continued`) with no truncation:
/// what `_encode_parts` gives for the list `_store` settled on.
fn seal<L: MessageStore>(
    inbox: &Inbox<L>,
    codec: &DjangoCodec,
    messages: Range<usize>,
    continued: bool,
    timestamp: i64,
) -> String {
    let mut items: Vec<Item<'_>> = inbox.messages(messages).iter().map(Item::Message).collect();
    if continued {
        items.push(Item::NotFinished);
    }
    codec
        .encode_all(&items, timestamp, true)
        .unwrap_or_default()
}

/// The session entry for `messages`: Django's JSON with spaced separators (R-5.2), or
/// `None` for no messages.
pub(crate) fn session_text<L: MessageStore>(
    inbox: &Inbox<L>,
    messages: Range<usize>,
) -> Option<String> {
    let messages: Vec<Message<'_>> = inbox.messages(messages).iter().collect();
    encode_session(&messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_core::{KeyUsed, Level, Storage};

    const KEY: &str = "a Django SECRET_KEY for the storage tests, long enough";

    #[test]
    fn sealing_without_the_cache_matches_the_planned_encoding() {
        let codec = DjangoCodec::new(KEY);
        let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
        // Texts that do not compress: a simple LCG over letters and digits.
        let mut x = 12345u32;
        let texts: Vec<String> = (0..4)
            .map(|_| {
                (0..700)
                    .map(|_| {
                        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x >> 16) as usize % 36])
                    })
                    .collect()
            })
            .collect();
        for t in &texts {
            inbox.add(Level::INFO, t, "").unwrap();
        }
        let planned = plan(&mut inbox, &codec, 2048, 1_700_000_000);
        let CookieAction::Set {
            messages,
            continued,
        } = planned.plan.cookie.clone()
        else {
            panic!("a cookie is set: {:?}", planned.plan);
        };
        assert!(continued, "four 700-character messages do not fit in 2048");
        assert!(
            messages.start == 0 && messages.end < 4,
            "fallback keeps the oldest"
        );
        let DjangoCookie::Set(value) = planned.cookie else {
            panic!("the Django plan sets the cookie too");
        };
        assert_eq!(
            seal(&inbox, &codec, messages, continued, 1_700_000_000),
            value
        );
    }

    /// The lines equal the django module's own rendering of Django's `set_cookie` /
    /// `delete_cookie` (checked against Django by the conformance vectors) for every
    /// combination of the settings.
    #[test]
    fn r_4_10_r_4_11_cookie_lines_are_djangos() {
        use crate::django::CookieSettings;
        for domain in [None, Some(".example.com")] {
            for secure in [false, true] {
                for http_only in [false, true] {
                    for same_site in [None, Some("Lax"), Some("lax"), Some("Strict"), Some("None")]
                    {
                        let config = crate::Config::builder()
                            .secret(KEY)
                            .wire_format(crate::WireFormat::Django)
                            .domain(domain.map(str::to_owned))
                            .secure(secure)
                            .http_only(http_only)
                            .same_site_setting(same_site)
                            .build();
                        let django = CookieSettings::default()
                            .domain(domain)
                            .secure(secure)
                            .httponly(http_only)
                            .samesite(same_site)
                            .unwrap();
                        let Ok(config) = config else {
                            // herald refuses SameSite=None without Secure; the deletion
                            // line is still Django's for it (checked below).
                            assert_eq!(same_site, Some("None"));
                            assert!(!secure);
                            continue;
                        };
                        let value = "W10:1r31eq:abc-_";
                        assert_eq!(
                            set_cookie_line(&config.inner, value),
                            django.set_cookie_header(value)
                        );
                        assert_eq!(
                            delete_cookie_line(&config.inner),
                            django.delete_cookie_header()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn raw_items_and_empty_texts_are_left_out_of_the_inbox() {
        let codec = DjangoCodec::new(KEY);
        let items = [
            DjangoItem::Raw(serde_json::json!("a plain string")),
            DjangoItem::Message(crate::django::DjangoMessage::new(20, "kept")),
            DjangoItem::Message(crate::django::DjangoMessage::new(20, "")),
            DjangoItem::Raw(serde_json::json!({"k": [1, 2]})),
        ];
        let value = codec.encode_all(&items, 1_700_000_000, false).unwrap();
        let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        let loaded = load_cookie(&mut inbox, &codec, Some(&value), 1_700_000_000, None);
        assert_eq!(
            loaded.ok(),
            Some(Loaded::Messages {
                count: 1,
                expired: 0,
                continued: false,
                key: KeyUsed::Current
            })
        );
        let texts: Vec<&str> = inbox.iter().map(|m| m.message).collect();
        assert_eq!(texts, ["kept"]);
    }

    #[test]
    fn max_age_applies_to_the_django_timestamp() {
        let codec = DjangoCodec::new(KEY);
        let value = codec
            .encode_all(&[Message::new(Level::INFO, "hi")], 1_000, false)
            .unwrap();
        let mut fresh: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        assert!(load_cookie(&mut fresh, &codec, Some(&value), 1_010, Some(10)).is_ok());
        let mut stale: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        let r = load_cookie(&mut stale, &codec, Some(&value), 1_011, Some(10));
        assert_eq!(r, Err(LoadError::Rejected));
    }

    #[test]
    fn session_entries_that_are_not_django_json_are_invalid() {
        let mut inbox: Inbox = Inbox::new(Storage::Session, Level::INFO);
        let r = load_session(&mut inbox, Some(b"\xff\x00"));
        assert_eq!(r, Err(LoadError::Rejected));
        let mut inbox: Inbox = Inbox::new(Storage::Session, Level::INFO);
        let r = load_session(&mut inbox, Some(br#"[["__json_message", 0, 20, "hi"]]"#));
        assert!(r.is_ok());
        let m = inbox.iter().next().unwrap();
        assert_eq!((m.message, m.extra_tags), ("hi", None));
    }

    /// A cookie over either limit is invalid for the storages, exactly as a tampered one:
    /// rejected on load, then deleted under cookie storage once the messages are read,
    /// and replaced under fallback storage once new messages are stored.
    #[test]
    fn values_over_the_limits_are_invalid_cookies_like_tampered_ones() {
        use crate::django::{DjangoMessage, MAX_COOKIE_SIZE, MAX_VALUE_LEN};
        let codec = DjangoCodec::new("a Django SECRET_KEY for the limit tests");
        let now = 1_700_000_000;
        let bomb = format!("[\"{}\"]", " ".repeat(1 << 20));
        let bomb = codec.sign_payload(bomb.as_bytes(), now as i64);
        assert!(
            bomb.len() < 1500,
            "the issue's ~1.4 KiB cookie: {}",
            bomb.len()
        );
        let long = codec.sign_raw(&"W10".repeat(1400), now as i64);
        assert!(long.len() > MAX_VALUE_LEN);
        let long_error = DecodeError::TooLong(long.len());
        let tampered = codec.sign_raw("W10", now as i64).replace("W10", "W11");
        for (value, error) in [
            (bomb, DecodeError::InflatedTooLarge),
            (long, long_error),
            (tampered, DecodeError::BadSignature),
        ] {
            assert_eq!(codec.decode(&value), Err(error.clone()));
            let load = |storage_kind| {
                let mut inbox: Inbox = Inbox::new(storage_kind, Level::INFO);
                let loaded = load_cookie(&mut inbox, &codec, Some(&value), now, None);
                assert_eq!(loaded, Err(LoadError::Rejected), "{error}");
                inbox
            };
            let mut inbox = load(Storage::Cookie);
            assert_eq!(inbox.iter().count(), 0);
            let planned = plan(&mut inbox, &codec, MAX_COOKIE_SIZE, now);
            assert!(
                matches!(planned.cookie, DjangoCookie::Delete),
                "{error}: {:?}",
                planned.plan
            );
            let mut inbox = load(Storage::Fallback);
            inbox.add(Level::INFO, "new", "").unwrap();
            let planned = plan(&mut inbox, &codec, MAX_COOKIE_SIZE, now);
            let DjangoCookie::Set(new_value) = planned.cookie else {
                panic!("{error}: {:?}", planned.plan);
            };
            let read = codec.decode(&new_value).unwrap().unwrap();
            assert_eq!(
                read.items,
                [DjangoItem::from(DjangoMessage::new(20, "new"))]
            );
        }
    }
}
