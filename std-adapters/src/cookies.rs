//! Reading a cookie from raw `Cookie` header bytes (with the core's parser) and writing
//! `Set-Cookie` values (with the core's allocation-free writer, in Django's layout).

use herald_core::cookie_header::{
    self, CookieAttributes, ParseError, PreparedSetCookie, WriteError,
};
use herald_core::signer::MAX_VALUE_LEN;

use crate::config::Inner;

/// The value of the first cookie called `name` in the given `Cookie` header values, read
/// byte by byte by the core's parser ([`cookie_header::find_cookie`], one header at a
/// time), with surrounding double quotes removed.
///
/// * The first cookie with the name wins, across all the headers (browsers send the most
///   specific cookie first); a later duplicate is never used instead.
/// * Other cookies are skipped without looking at their values, so bytes that are not
///   UTF-8 (or not valid in a cookie at all) elsewhere in a header never hide this one.
/// * The value itself is checked by the signer, not here: a value the core refuses
///   because it holds bytes no cookie value may hold (space, `"`, `,`, `\`, control
///   characters) is still returned, as long as it is UTF-8, so that the loader rejects
///   it as invalid and the response deletes it, as Django does with such a cookie. No
///   signed value holds such bytes, so the signer always rejects it.
/// * A value with a byte that is not UTF-8 cannot be returned as text: it is no value
///   (`None`, as when the cookie is absent), so it shows no messages and is left alone.
pub(crate) fn find<'h>(headers: impl IntoIterator<Item = &'h [u8]>, name: &str) -> Option<&'h str> {
    // Both kinds of value `find_bytes` returns are UTF-8 (cookie-octets are ASCII).
    find_bytes(headers, name).and_then(|v| std::str::from_utf8(v).ok())
}

/// [`find`] as bytes, for herald's own format, whose signer reads bytes: the same value
/// without a second UTF-8 pass over it.
pub(crate) fn find_bytes<'h>(
    headers: impl IntoIterator<Item = &'h [u8]>,
    name: &str,
) -> Option<&'h [u8]> {
    for header in headers {
        match cookie_header::find_cookie_bytes([header], name) {
            Ok(None) => {}
            Ok(Some(value)) => return Some(value),
            Err(error @ ParseError::InvalidValue { offset, .. }) => {
                let value = malformed_value(header, offset);
                tracing::debug!(
                    cookie = name,
                    %error,
                    passed_to_signer = value.is_some(),
                    "herald: a malformed cookie value"
                );
                return value.map(str::as_bytes);
            }
            // An invalid name, or a kind of malformation added later: no value.
            Err(_) => return None,
        }
    }
    None
}

/// The value of the piece of `header` holding byte `offset`, found by the core's rules
/// (pieces end at `;`, the value follows the first `=`, space and tab around it are
/// ignored, one pair of double quotes is removed), if it is UTF-8. Only for a value the
/// core refused, whose error names one of its bytes but not its bounds.
fn malformed_value(header: &[u8], offset: usize) -> Option<&str> {
    let is_semicolon = |b: &u8| *b == b';';
    let start = header
        .get(..offset)?
        .iter()
        .rposition(is_semicolon)
        .map_or(0, |i| i + 1);
    let end = header
        .get(offset..)?
        .iter()
        .position(is_semicolon)
        .map_or(header.len(), |i| offset + i);
    let piece = header.get(start..end)?;
    let value = piece.get(piece.iter().position(|&b| b == b'=')? + 1..)?;
    // The refused byte is not space or tab, so the trimmed value is not empty.
    let text = |b: &u8| *b != b' ' && *b != b'\t';
    let value = value.get(value.iter().position(text)?..=value.iter().rposition(text)?)?;
    let value = match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    };
    std::str::from_utf8(value).ok()
}

/// The configured cookie attributes.
pub(crate) fn attributes(config: &Inner) -> CookieAttributes<'_> {
    CookieAttributes {
        path: &config.path,
        domain: config.domain.as_deref(),
        secure: config.secure,
        http_only: config.http_only,
        same_site: config.same_site,
        max_age: None,
    }
}

/// `value_len` cookie-safe characters that need no quotes: the placeholder the line is
/// written with before the value is sealed into its place.
static PLACEHOLDER_BYTES: [u8; MAX_VALUE_LEN] = [b'A'; MAX_VALUE_LEN];
/// [`PLACEHOLDER_BYTES`] as text, checked once at compile time.
static PLACEHOLDER: &str = match std::str::from_utf8(&PLACEHOLDER_BYTES) {
    Ok(s) => s,
    Err(_) => panic!("ASCII"),
};

/// The configured `Set-Cookie` line for a one-character value: what comes before and
/// after the value is the same for every non-empty cookie-safe value (the writer's
/// layout depends on the value only when it is empty), so it is rendered once per
/// configuration and copied around each sealed value.
pub(crate) struct SetTemplate {
    line: Box<[u8]>,
    /// Where the one-character value is in `line`.
    value_at: usize,
}

impl SetTemplate {
    fn new(config: &Inner) -> Result<Self, WriteError> {
        let plan = PreparedSetCookie::set(&config.cookie_name, "A", attributes(config))?;
        let mut line = vec![0u8; plan.len()].into_boxed_slice();
        plan.fill(&mut line)?;
        Ok(SetTemplate {
            line,
            value_at: plan.value_range().start,
        })
    }
}

/// `name=value` with the configured attributes (R-4.10: no Expires, no Max-Age), where the
/// value of `value_len` base64url characters is written by `seal` straight into its place
/// in the line; `seal` returns the length it wrote (`None`: it could not). One allocation
/// of the exact size, which `HeaderValue` takes without a copy; no buffer of the maximum
/// size is zeroed. The text around the value is the configuration's [`SetTemplate`],
/// validated and rendered once.
///
/// Returns `None` when `seal` fails or writes another length, or the writer rejects the
/// configured name or an attribute (logged).
pub(crate) fn sealed_line(
    config: &Inner,
    value_len: usize,
    seal: impl FnOnce(&mut [u8]) -> Option<usize>,
) -> Option<Vec<u8>> {
    let logged =
        |e: &WriteError| tracing::error!(error = ?e, "herald: cannot write the Set-Cookie line");
    if value_len == 0 || value_len > MAX_VALUE_LEN {
        return rendered_line(config, value_len, seal);
    }
    let template = config
        .set_template
        .get_or_init(|| SetTemplate::new(config))
        .as_ref()
        .map_err(logged)
        .ok()?;
    let (before, rest) = template.line.split_at(template.value_at);
    let after = rest.get(1..)?;
    // Not `vec![0; n]`: glibc's `calloc` bypasses its per-thread cache, and only the
    // value's bytes need a fill before `seal` overwrites them.
    let mut line = Vec::with_capacity(before.len() + value_len + after.len());
    line.extend_from_slice(before);
    line.resize(before.len() + value_len, 0);
    line.extend_from_slice(after);
    let slot = line.get_mut(before.len()..before.len() + value_len)?;
    (seal(slot)? == value_len).then_some(line)
}

/// [`sealed_line`] rendered by the writer for this value length (an empty value, or one
/// too long for any cookie: the writer's own answer).
fn rendered_line(
    config: &Inner,
    value_len: usize,
    seal: impl FnOnce(&mut [u8]) -> Option<usize>,
) -> Option<Vec<u8>> {
    let logged =
        |e: WriteError| tracing::error!(error = ?e, "herald: cannot write the Set-Cookie line");
    let attrs = attributes(config);
    let name = &config.cookie_name;
    let placeholder = PLACEHOLDER.get(..value_len)?;
    // Validated and measured once; written from the same plan.
    let plan = PreparedSetCookie::set(name, placeholder, attrs)
        .map_err(logged)
        .ok()?;
    let mut line = vec![0u8; plan.len()];
    plan.fill(&mut line).map_err(logged).ok()?;
    let slot = line.get_mut(plan.value_range())?;
    debug_assert!(slot.iter().all(|&b| b == b'A'));
    (seal(slot)? == value_len).then_some(line)
}

/// `name=value` with the configured attributes, for a value already at hand.
///
#[cfg(test)]
pub(crate) fn set_line(config: &Inner, value: &str) -> Option<Vec<u8>> {
    sealed_line(config, value.len(), |slot| {
        slot.copy_from_slice(value.as_bytes());
        Some(value.len())
    })
}

/// The deletion cookie (R-4.11): empty value, expired at the epoch, `Max-Age=0`, the same
/// Path, Domain and SameSite; no HttpOnly; Secure only where browsers require it.
///
/// # Errors
/// The writer's [`WriteError`] (an invalid configured name or attribute).
pub(crate) fn delete_line(config: &Inner) -> Result<Vec<u8>, WriteError> {
    let plan = PreparedSetCookie::delete(&config.cookie_name, attributes(config))?;
    let mut buf = vec![0u8; plan.len()];
    plan.fill(&mut buf)?;
    Ok(buf)
}

/// The deletion cookie in the configured format (herald's [`delete_line`], or Django's
/// layout), rendered once per configuration and shared: a clone is a reference count.
///
/// # Errors
/// The writer's [`WriteError`] (an invalid configured name or attribute), every time.
pub(crate) fn deletion(config: &Inner) -> Result<bytes::Bytes, WriteError> {
    config
        .deletion
        .get_or_init(|| {
            #[cfg(feature = "django")]
            if config.django.is_some() {
                let line = crate::django_storage::delete_cookie_line(config);
                return Ok(bytes::Bytes::from(line));
            }
            delete_line(config).map(bytes::Bytes::from)
        })
        .clone()
}

/// The deletion line ([`deletion`]) as the header value of each framework herald serves
/// (tower's `http` 1 and actix-web's own `http`), checked once and kept: a response that
/// deletes the cookie clones it (a reference count) instead of checking its bytes again.
/// `None` when the line cannot be written (the error is logged at each use).
#[derive(Default)]
pub(crate) struct DeletionValues {
    pub(crate) http: std::sync::OnceLock<Option<http::HeaderValue>>,
    #[cfg(feature = "actix")]
    pub(crate) actix: std::sync::OnceLock<Option<actix_web::http::header::HeaderValue>>,
}

#[cfg(test)]
mod tests {
    use herald_core::{Inbox, Level, Storage};

    use super::*;
    use crate::config::{Config, SameSite};

    #[test]
    fn finds_first_cookie_across_headers_and_strips_quotes() {
        let h: [&[u8]; 3] = [
            b"a=1; messages=\"first\"",
            b"\xff\xfe",
            b"b=2; messages=second; c",
        ];
        assert_eq!(find(h, "messages"), Some("first"));
        assert_eq!(find(h, "b"), Some("2"));
        assert_eq!(find(h, "missing"), None);
        assert_eq!(find(h, "messagesx"), None);
        let empty: [&[u8]; 1] = [b"messages="];
        assert_eq!(find(empty, "messages"), Some(""));
        let quoted_empty: [&[u8]; 1] = [b"messages=\"\""];
        assert_eq!(find(quoted_empty, "messages"), Some(""));
        // Names are whole and case-sensitive; whitespace around pieces is ignored.
        let spaced: [&[u8]; 1] = [b"xmessages=1;Messages=2 ;\tmessages = third ; messages=4"];
        assert_eq!(find(spaced, "messages"), Some("third"));
    }

    #[test]
    fn bytes_that_are_not_utf8_elsewhere_never_hide_the_cookie() {
        let same_header: [&[u8]; 1] = [b"other=\xff\xfe; messages=abc"];
        assert_eq!(find(same_header, "messages"), Some("abc"));
        let before: [&[u8]; 1] = [b"\xff\xfe=\x80; messages=\"abc\"; after=\xc3"];
        assert_eq!(find(before, "messages"), Some("abc"));
        let own_header: [&[u8]; 2] = [b"other=\xff\xfe", b"messages=abc"];
        assert_eq!(find(own_header, "messages"), Some("abc"));
        // A foreign value with `;`-free junk of every kind is skipped too.
        let junk: [&[u8]; 1] = [b"json={\"a\": [1, 2]}; sp=a b; bs=\\; messages=abc"];
        assert_eq!(find(junk, "messages"), Some("abc"));
        // Cookie bytes outside the signer's alphabet are returned as they are.
        assert_eq!(
            find([b"messages=%%%=".as_slice()], "messages"),
            Some("%%%=")
        );
    }

    #[test]
    fn a_value_that_is_not_utf8_is_no_value() {
        // A non-UTF-8 byte inside the messages value itself: no value at all (as if the
        // cookie were absent), so nothing reaches the signer and nothing is shown.
        for header in [
            b"messages=ab\xffc".as_slice(),
            b"messages=\xff",
            b"messages=\"ab\xc3\"",
            b"other=1; messages=abc\x80; z=2",
            b"messages = \xfe ",
        ] {
            assert_eq!(find([header], "messages"), None, "{header:?}");
        }
        // The first cookie with the name decides: a valid later duplicate is not used,
        // in the same header or a later one.
        let h: [&[u8]; 2] = [b"messages=bad\xff", b"messages=good"];
        assert_eq!(find(h, "messages"), None);
        assert_eq!(
            find([b"messages=\xff; messages=good".as_slice()], "messages"),
            None
        );
        // Other cookies are still found next to it.
        assert_eq!(find([b"messages=\xff; a=1".as_slice()], "a"), Some("1"));
    }

    #[test]
    fn other_malformed_values_reach_the_signer_which_rejects_them() {
        // UTF-8 values with bytes no cookie value holds are returned as they are (trimmed
        // and unquoted), for the loader to reject and the response to delete.
        let legacy =
            r#"f720f2d0208d4528367e7ea39148a27f47c972ad$[["__json_message",0,20,"hello",""]]"#;
        let legacy_header = format!("a=1; messages={legacy}; b=2");
        for (header, value) in [
            (b"messages=a b".as_slice(), "a b"),
            (
                b"x=1;messages = this is not a cookie ;y=2",
                "this is not a cookie",
            ),
            (b"messages=a,b", "a,b"),
            (b"messages=\"a\\\"b\"", "a\\\"b"),
            (b"messages=\"abc", "\"abc"),
            (b"messages=caf\xc3\xa9", "caf\u{e9}"),
            (b"messages=\x01\t", "\x01"),
            (legacy_header.as_bytes(), legacy),
        ] {
            assert_eq!(find([header], "messages"), Some(value), "{header:?}");
        }
        let h: [&[u8]; 2] = [b"messages=a b", b"messages=good"];
        assert_eq!(find(h, "messages"), Some("a b"), "the first one decides");

        let config = Config::builder().secret([7u8; 32]).build().unwrap();
        for value in ["a b", "a,b", "\"abc", "caf\u{e9}", legacy] {
            let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
            let loaded = inbox.load_cookie(Some(value.as_bytes()), &config.inner.signer, 0, None);
            assert!(loaded.is_err(), "{value:?}: {loaded:?}");
            assert_eq!(inbox.iter().count(), 0);
        }
    }

    #[test]
    fn the_template_writes_what_the_writer_writes() {
        let configs = [
            Config::builder().secret([7u8; 32]).build().unwrap(),
            Config::builder()
                .secret([7u8; 32])
                .cookie_name("flash")
                .domain(Some(".example.com".into()))
                .path("/app")
                .secure(true)
                .http_only(false)
                .same_site(None)
                .build()
                .unwrap(),
        ];
        for c in &configs {
            for len in [1, 2, 57, MAX_VALUE_LEN] {
                let fill = |slot: &mut [u8]| {
                    slot.fill(b'x');
                    Some(slot.len())
                };
                let line = sealed_line(&c.inner, len, fill);
                assert_eq!(line, rendered_line(&c.inner, len, fill), "{len}");
                assert!(line.is_some());
            }
            assert_eq!(sealed_line(&c.inner, MAX_VALUE_LEN + 1, |_| Some(0)), None);
            assert_eq!(sealed_line(&c.inner, 3, |_| Some(2)), None, "short seal");
        }
    }

    #[test]
    fn set_and_delete_lines_follow_the_configuration() {
        let c = Config::builder()
            .secret([7u8; 32])
            .domain(Some(".example.com".into()))
            .secure(true)
            .same_site(Some(SameSite::Strict))
            .build()
            .unwrap();
        assert_eq!(
            set_line(&c.inner, "abc").unwrap(),
            b"messages=abc; Domain=.example.com; HttpOnly; Path=/; SameSite=Strict; Secure"
        );
        assert_eq!(
            set_line(&c.inner, "a-b_c9").unwrap(),
            b"messages=a-b_c9; Domain=.example.com; HttpOnly; Path=/; SameSite=Strict; Secure"
        );
        assert_eq!(
            delete_line(&c.inner).unwrap(),
            b"messages=\"\"; Domain=.example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Strict"
        );
    }
}
