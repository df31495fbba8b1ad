//! `cookie_header`: arbitrary `Cookie` header bytes through the core parser and the
//! adapters' load path.

use std::sync::OnceLock;

use herald_core::cookie_header::{
    CookieAttributes, ParseError, cookie_value, find_cookie, set_cookie_len, write_set_cookie,
};
use herald_core::{Inbox, Storage};
use http::header::{COOKIE, HeaderMap, HeaderValue};

use crate::Config;
use crate::cookies;
use crate::state::RequestState;

/// The names the target looks for: the messages cookie, other valid names, and names no
/// cookie can have (empty, not a token).
const NAMES: [&str; 6] = [
    "messages",
    "sessionid",
    "a",
    "__Host-messages",
    "",
    "bad name",
];
/// At most this many header values.
const MAX_HEADERS: usize = 8;

/// Arbitrary `Cookie` header bytes: the first byte picks the cookie name looked for, the
/// rest is split at `\n` (which no header value can hold) into up to 8 header values.
/// * [`find_cookie`] never panics; an invalid name is `InvalidName` whatever the headers.
/// * It agrees exactly with a reference written from the module's documented rules
///   (split on every `;`, trim space and tab, split at the first `=`, exact name, the
///   first piece with the name decides, one pair of surrounding quotes removed,
///   cookie-octets only); an `InvalidValue` error points at the byte it names.
/// * A found value is a sub-slice of the header it came from (zero-copy) and holds only
///   cookie-octets; [`cookie_value`] is the same answer with errors as `None`.
/// * A found value written back with [`write_set_cookie`] (whose length
///   [`set_cookie_len`] predicts) parses back to the same value.
///
/// The same header values, as far as `http` accepts them, then go through the adapters'
/// load path: an `http::HeaderMap` whose `Cookie` values feed the cookie lookup of the
/// tower and actix adapters (the `cookie` crate; the first cookie with the name wins, as
/// in the core) and the request-state constructor, which loads the value into an inbox
/// under a [`Config`] signing with [`SECRET`](super::SECRET):
/// * no panic; the adapters' value is a sub-slice of one header value;
/// * the inbox the adapters built holds exactly what an inbox loading that value with
///   the same signer holds;
/// * the two parsers legitimately differ on malformed headers (the core refuses a value
///   that is not cookie-octets and trims only space and tab; the `cookie` crate accepts
///   any value, trims all whitespace and skips non-UTF-8 headers), so they are compared
///   where RFC 6265 leaves no room: when every piece of every header is empty or
///   `token=value` with a cookie-octet value (optionally quoted), they give the same
///   answer.
pub fn cookie_header(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let headers: Vec<&[u8]> = rest.split(|&b| b == b'\n').take(MAX_HEADERS).collect();
    core_parser(name, &headers);
    adapters(name, &headers);
}

fn core_parser(name: &str, headers: &[&[u8]]) {
    let found = find_cookie(headers.iter().copied(), name);
    assert_eq!(
        cookie_value(headers.iter().copied(), name),
        found.ok().flatten(),
        "cookie_value differs from find_cookie"
    );
    let valid_name = !name.is_empty() && name.bytes().all(is_tchar);
    if !valid_name {
        assert_eq!(found, Err(ParseError::InvalidName));
        return;
    }
    let reference = reference_find(headers, name.as_bytes());
    match (found, reference) {
        (Ok(None), Ok(None)) => {}
        (Ok(Some(value)), Ok(Some((h, range)))) => {
            let header = headers[h];
            let start = value.as_ptr() as usize - header.as_ptr() as usize;
            assert!(
                value.as_ptr() as usize >= header.as_ptr() as usize
                    && start + value.len() <= header.len(),
                "the value is not a sub-slice of its header"
            );
            assert_eq!(start..start + value.len(), range, "a different piece");
            assert!(value.bytes().all(is_cookie_octet));
            round_trip(name, value);
        }
        (
            Err(ParseError::InvalidValue {
                header,
                offset,
                byte,
            }),
            Err((h, at)),
        ) => {
            assert_eq!((header, offset), (h, at), "error position");
            assert_eq!(headers[header].get(offset), Some(&byte), "error byte");
            assert!(!is_cookie_octet(byte));
        }
        (got, expected) => panic!("find_cookie {got:?}, reference {expected:?}"),
    }
}

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Config::builder()
            .secret(super::SECRET)
            .fallback_secret(super::OLD_SECRET)
            .build()
            .expect("a valid configuration")
    })
}

fn adapters(name: &str, headers: &[&[u8]]) {
    let mut map = HeaderMap::new();
    for h in headers {
        if let Ok(v) = HeaderValue::from_bytes(h) {
            map.append(COOKIE, v);
        }
    }
    let values: Vec<&[u8]> = map
        .get_all(COOKIE)
        .iter()
        .map(HeaderValue::as_bytes)
        .collect();
    let found = cookies::find(values.iter().copied(), name);
    if let Some(v) = found {
        let p = v.as_ptr() as usize;
        assert!(
            values.iter().any(|h| {
                let start = h.as_ptr() as usize;
                p >= start && p + v.len() <= start + h.len()
            }),
            "the adapters' value is not a sub-slice of a header"
        );
    }
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return;
    }
    if values.iter().all(|h| is_clean(h)) {
        let first = find_cookie(values.iter().copied(), name).expect("clean headers parse");
        assert_eq!(found, first, "the parsers disagree on clean headers");
    }
    if name != "messages" {
        return;
    }
    // The request-state constructor: the adapters' whole load path.
    let config = config();
    let mut state: RequestState =
        RequestState::begin(config, Storage::Cookie, values.iter().copied());
    let mut direct: Inbox = Inbox::new(Storage::Cookie, config.min_level());
    let _ = direct.load_cookie(
        found.map(str::as_bytes),
        &config.inner.signer,
        0,
        config.inner.max_age,
    );
    let built: Vec<super::Owned> = state.inbox.iter().map(|m| super::Owned::of(&m)).collect();
    let expected: Vec<super::Owned> = direct.iter().map(|m| super::Owned::of(&m)).collect();
    assert_eq!(built, expected, "the adapters loaded something else");
}

/// Every `;`-piece, trimmed of space and tab, is empty or `token=value` with a value of
/// cookie-octets, optionally in double quotes.
fn is_clean(header: &[u8]) -> bool {
    header.split(|&b| b == b';').all(|piece| {
        let (_, piece) = trim(piece, 0);
        if piece.is_empty() {
            return true;
        }
        let Some(eq) = piece.iter().position(|&b| b == b'=') else {
            return false;
        };
        let (_, name) = trim(&piece[..eq], 0);
        let (_, mut value) = trim(&piece[eq + 1..], 0);
        if value.len() >= 2 && value[0] == b'"' && value[value.len() - 1] == b'"' {
            value = &value[1..value.len() - 1];
        }
        !name.is_empty()
            && name.iter().all(|&b| is_tchar(b))
            && value.iter().all(|&b| is_cookie_octet(b))
    })
}

/// A value written as a `Set-Cookie` line reads back the same.
fn round_trip(name: &str, value: &str) {
    let attrs = CookieAttributes::default();
    let mut buf = [0u8; 8192];
    let line = write_set_cookie(&mut buf, name, value, attrs).expect("a parsed value is writable");
    assert_eq!(set_cookie_len(name, value, attrs), Ok(line.len()));
    assert_eq!(
        find_cookie([line.as_bytes()], name),
        Ok(Some(value)),
        "{line:?} does not read back"
    );
}

const fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim(s: &[u8], mut start: usize) -> (usize, &[u8]) {
    let mut s = s;
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
        start += 1;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    (start, s)
}

/// The documented rules, written plainly: `Ok(Some((header, byte range of the value)))`,
/// or `Err((header, offset of the first bad byte))`.
#[allow(clippy::type_complexity)]
fn reference_find(
    headers: &[&[u8]],
    name: &[u8],
) -> Result<Option<(usize, std::ops::Range<usize>)>, (usize, usize)> {
    for (h, header) in headers.iter().enumerate() {
        let mut piece_start = 0;
        for piece in header.split(|&b| b == b';') {
            let here = piece_start;
            piece_start += piece.len() + 1;
            let Some(eq) = piece.iter().position(|&b| b == b'=') else {
                continue;
            };
            if trim(&piece[..eq], 0).1 != name {
                continue;
            }
            let (mut start, mut value) = trim(&piece[eq + 1..], here + eq + 1);
            if value.len() >= 2 && value[0] == b'"' && value[value.len() - 1] == b'"' {
                value = &value[1..value.len() - 1];
                start += 1;
            }
            return match value.iter().position(|&b| !is_cookie_octet(b)) {
                Some(bad) => Err((h, start + bad)),
                None => Ok(Some((h, start..start + value.len()))),
            };
        }
    }
    Ok(None)
}
