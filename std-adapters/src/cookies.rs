//! Reading the messages cookie from `Cookie` headers (with the `cookie` crate) and writing
//! `Set-Cookie` values (with the core's allocation-free writer, in Django's layout).

use cookie::Cookie;
use herald_core::cookie_header::{self, CookieAttributes, WriteError};

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

/// Room for a `Set-Cookie` line: the longest value plus name and attributes.
pub(crate) const LINE: usize = herald_core::signer::MAX_VALUE_LEN + 1536;

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

/// `name=value` with the configured attributes (R-4.10: no Expires, no Max-Age).
pub(crate) fn set_line<'b>(
    config: &Inner,
    value: &str,
    buf: &'b mut [u8],
) -> Result<&'b str, WriteError> {
    cookie_header::write_set_cookie(buf, &config.cookie_name, value, attributes(config))
}

/// The deletion cookie: empty value, expired at the epoch, `Max-Age=0`, the same
/// Path, Domain and SameSite; no HttpOnly; Secure only where browsers require it.
pub(crate) fn delete_line<'b>(config: &Inner, buf: &'b mut [u8]) -> Result<&'b str, WriteError> {
    cookie_header::write_delete_cookie(buf, &config.cookie_name, attributes(config))
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
        let mut buf = [0u8; LINE];
        assert_eq!(
            set_line(&c.inner, "abc", &mut buf).unwrap(),
            "messages=abc; Domain=.example.com; HttpOnly; Path=/; SameSite=Strict; Secure"
        );
        assert_eq!(
            delete_line(&c.inner, &mut buf).unwrap(),
            "messages=\"\"; Domain=.example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Strict"
        );
    }
}
