//! Reading the messages cookie from `Cookie` headers (with the `cookie` crate) and writing
//! `Set-Cookie` values (with the core's allocation-free writer, in Django's layout).

use cookie::Cookie;
use herald_core::cookie_header::{self, CookieAttributes, WriteError};
use herald_core::signer::MAX_VALUE_LEN;

use crate::config::Inner;

/// The value of the first cookie called `name` in the given `Cookie` header values (the
/// core's rule: browsers send the most specific cookie first), with surrounding double
/// quotes removed. Header values that are not UTF-8 and pieces that do not parse are
/// skipped; the value itself is checked by the signer.
pub(crate) fn find<'h>(headers: impl IntoIterator<Item = &'h [u8]>, name: &str) -> Option<&'h str> {
    for header in headers {
        let Ok(text) = std::str::from_utf8(header) else {
            continue;
        };
        for piece in Cookie::split_parse(text).flatten() {
            if piece.name_raw() == Some(name) {
                return piece.value_raw().map(trim_quotes);
            }
        }
    }
    None
}

fn trim_quotes(s: &str) -> &str {
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => inner,
        None => s,
    }
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
static PLACEHOLDER: [u8; MAX_VALUE_LEN] = [b'A'; MAX_VALUE_LEN];

/// `name=value` with the configured attributes (R-4.10: no Expires, no Max-Age), where the
/// value of `value_len` base64url characters is written by `seal` straight into its place
/// in the line; `seal` returns the length it wrote (`None`: it could not). One allocation
/// of the exact size, which `HeaderValue` takes without a copy; no buffer of the maximum
/// size is zeroed.
///
/// Returns `None` when `seal` fails or writes another length, or the writer rejects the
/// configured name or an attribute (logged).
pub(crate) fn sealed_line(
    config: &Inner,
    value_len: usize,
    seal: impl FnOnce(&mut [u8]) -> Option<usize>,
) -> Option<Vec<u8>> {
    let logged =
        |e: WriteError| tracing::error!(error = ?e, "herald: cannot write the Set-Cookie line");
    let attrs = attributes(config);
    let name = &config.cookie_name;
    let placeholder = std::str::from_utf8(PLACEHOLDER.get(..value_len)?).ok()?;
    let len = cookie_header::set_cookie_len(name, placeholder, attrs)
        .map_err(logged)
        .ok()?;
    let mut line = vec![0u8; len];
    cookie_header::write_set_cookie(&mut line, name, placeholder, attrs)
        .map_err(logged)
        .ok()?;
    // The line starts with `name=` and the unquoted value.
    let at = name.len() + 1;
    let slot = line.get_mut(at..at + value_len)?;
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

/// The deletion cookie: empty value, expired at the epoch, `Max-Age=0`, the same
/// Path, Domain and SameSite; no HttpOnly; Secure only where browsers require it.
///
/// # Errors
/// The writer's [`WriteError`] (an invalid configured name or attribute).
pub(crate) fn delete_line(config: &Inner) -> Result<Vec<u8>, WriteError> {
    let attrs = attributes(config);
    let mut buf = vec![0u8; cookie_header::delete_cookie_len(&config.cookie_name, attrs)?];
    let written = cookie_header::write_delete_cookie(&mut buf, &config.cookie_name, attrs)?.len();
    buf.truncate(written);
    Ok(buf)
}

#[cfg(test)]
mod tests {
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
