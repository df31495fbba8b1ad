//! Django's `CookieStorage` wire behaviour: storing with truncation (R-4.6 – R-4.8),
//! reading (R-4.12 – R-4.21) and the `Set-Cookie` header text (R-4.10, R-4.11).

use std::borrow::Cow;
use std::ops::Range;

use herald_core::signer::KeyUsed;

use super::json::{self, JsonStyle, ToDjangoJson};
use super::signing::{self, Key, Keys, SignScratch};
use super::{COOKIE_NAME, DecodeError, DjangoItem, MAX_COOKIE_SIZE, MAX_VALUE_LEN, NOT_FINISHED};

/// The JSON text of the not-finished sentinel, `json.dumps("__messagesnotfinished__")`.
const NOT_FINISHED_JSON: &str = "\"__messagesnotfinished__\"";

/// Encodes and decodes Django's `messages` cookie under one `SECRET_KEY` and its
/// `SECRET_KEY_FALLBACKS`.
///
/// Build it once (key derivation happens here) and share it; it is `Send + Sync` and
/// every method takes `&self`.
///
/// ```
/// use herald_flash::django::{DjangoCodec, DjangoMessage};
/// let codec = DjangoCodec::new("secret").with_fallback_keys(["old secret"]);
/// let messages = [DjangoMessage::new(20, "Saved.")];
/// let encoded = codec.encode(&messages, true, 1_700_000_000, 2048);
/// let value = encoded.value.unwrap();
/// // What Django 5.2 / 6.1 writes for `messages.info(request, "Saved.")` with
/// // SECRET_KEY = "secret" at time 1700000000:
/// assert_eq!(
///     value,
///     "W1siX19qc29uX21lc3NhZ2UiLDAsMjAsIlNhdmVkLiIsIiJdXQ:1r31eq:\
///      1y1_Ht2dSpAbM8koc_a2iAnnOJCWHVn0UsXpISPuZn4"
/// );
/// let decoded = codec.decode(&value).unwrap().unwrap();
/// assert_eq!(decoded.items[0].as_message().unwrap().message, "Saved.");
/// assert!(decoded.all_retrieved);
/// ```
#[derive(Clone)]
pub struct DjangoCodec {
    keys: Keys,
}

impl std::fmt::Debug for DjangoCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DjangoCodec")
            .field("fallback_keys", &self.keys.fallbacks.len())
            .finish_non_exhaustive()
    }
}

/// The result of [`DjangoCodec::encode`]: what `CookieStorage._store` puts in the
/// response and what it returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The cookie value to set, or `None` when there is nothing to store and the cookie
    /// must be deleted (R-4.8).
    pub value: Option<String>,
    /// The indices of the messages that did not fit (R-4.7): the oldest (`0..i`) when
    /// removing the oldest, the newest (`i..n`) otherwise; empty when everything fit.
    pub unstored: Range<usize>,
    /// Whether the not-finished sentinel was appended (something was dropped).
    pub not_finished: bool,
}

impl Encoded {
    /// The `Set-Cookie` header value Django sends for this result: the cookie with
    /// [`Encoded::value`], or the deletion cookie when there is no value.
    pub fn set_cookie_header(&self, settings: &CookieSettings) -> String {
        match &self.value {
            Some(v) => settings.set_cookie_header(v),
            None => settings.delete_cookie_header(),
        }
    }
}

/// A verified and decoded `messages` cookie.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The items, with a trailing not-finished sentinel removed (R-4.15).
    pub items: Vec<DjangoItem>,
    /// `false` exactly when a trailing sentinel was removed: more messages are in the
    /// session (fallback storage).
    pub all_retrieved: bool,
    /// Which key verified the signature.
    pub key: KeyUsed,
    /// The signing time from the value, in seconds since the epoch (never age-checked,
    /// R-3.5); saturates at the `i64` range.
    pub timestamp: i64,
    /// Whether the payload was zlib-compressed (the value starts with `.`).
    pub compressed: bool,
}

impl DjangoCodec {
    /// A codec that signs with `secret` (Django's `SECRET_KEY`, as bytes: a `str` key is
    /// its UTF-8) and verifies with it alone.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        DjangoCodec {
            keys: Keys {
                current: Key::new(secret.as_ref()),
                fallbacks: Vec::new(),
            },
        }
    }

    /// The same codec, also accepting values signed with any of `keys`
    /// (`SECRET_KEY_FALLBACKS`, tried in order after the current key; never used to sign).
    pub fn with_fallback_keys<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        self.keys
            .fallbacks
            .extend(keys.into_iter().map(|k| Key::new(k.as_ref())));
        self
    }

    /// The number of fallback keys.
    pub fn fallback_count(&self) -> usize {
        self.keys.fallbacks.len()
    }

    /// `CookieStorage._store(items, response, remove_oldest)`: the cookie value for
    /// `items` signed at `timestamp` (seconds since the epoch, Django's
    /// `int(time.time())`), truncated to `max_size` characters (Django's 2048,
    /// [`MAX_COOKIE_SIZE`]; `0` means no limit).
    ///
    /// Truncation follows R-4.7 exactly, including its bisection: with `remove_oldest`
    /// (`CookieStorage` alone) the newest messages are kept, without it (fallback
    /// storage) the oldest; the cookie then ends with the not-finished sentinel, and is
    /// sentinel-only when not even one message fits. Each item is serialized once; only
    /// compression and signing are repeated per probe.
    pub fn encode<T: ToDjangoJson>(
        &self,
        items: &[T],
        remove_oldest: bool,
        timestamp: i64,
        max_size: usize,
    ) -> Encoded {
        let n = items.len();
        if n == 0 {
            return Encoded {
                value: None,
                unstored: 0..0,
                not_finished: false,
            };
        }
        let parts = Parts::new(items);
        signing::with_scratch(|scratch| {
            self.encode_parts(&parts, scratch, remove_oldest, timestamp, max_size)
        })
    }

    fn encode_parts(
        &self,
        parts: &Parts,
        scratch: &mut SignScratch,
        remove_oldest: bool,
        timestamp: i64,
        max_size: usize,
    ) -> Encoded {
        let n = parts.ends.len();
        let mut probe = Probe {
            key: &self.keys.current,
            parts,
            scratch,
            timestamp,
        };
        // herald refuses to inflate more than MAX_INFLATED_LEN bytes, so with a size limit
        // a payload past it counts as too large too: highly repetitive messages can fit a
        // 2048-character cookie compressed and still inflate past it. Django has no such
        // bound; it matters only for lists that herald could not read back.
        let inflated = super::MAX_INFLATED_LEN;
        let full = probe.sign(0..n, false);
        if max_size == 0 || (full.len() <= max_size && parts.payload_len(0..n, false) <= inflated) {
            return Encoded {
                value: Some(full),
                unstored: 0..0,
                not_finished: false,
            };
        }
        let mut too_large = |range: Range<usize>| {
            parts.payload_len(range.clone(), true) > inflated
                || probe.sign(range, true).len() > max_size
        };
        if remove_oldest {
            let i = bisect_keep_right(&parts.ends, |s| too_large(n - s.len()..n));
            Encoded {
                value: Some(probe.sign(i..n, true)),
                unstored: 0..i,
                not_finished: true,
            }
        } else {
            let i = bisect_keep_left(&parts.ends, |s| too_large(0..s.len()));
            Encoded {
                value: Some(probe.sign(0..i, true)),
                unstored: i..n,
                not_finished: true,
            }
        }
    }

    /// `CookieStorage._encode(items, encode_empty)`: the signed value of all of `items`
    /// with no size limit; `None` for an empty list unless `encode_empty`.
    pub fn encode_all<T: ToDjangoJson>(
        &self,
        items: &[T],
        timestamp: i64,
        encode_empty: bool,
    ) -> Option<String> {
        if items.is_empty() && !encode_empty {
            return None;
        }
        let parts = Parts::new(items);
        Some(signing::with_scratch(|scratch| {
            Probe {
                key: &self.keys.current,
                parts: &parts,
                scratch,
                timestamp,
            }
            .sign(0..items.len(), false)
        }))
    }

    /// `TimestampSigner.sign_object` on an arbitrary payload (R-3.6): compresses it when
    /// that saves at least 2 bytes, then signs. For crafting test values and tools; the
    /// messages payload is what [`DjangoCodec::encode`] builds.
    pub fn sign_payload(&self, payload: &[u8], timestamp: i64) -> String {
        signing::with_scratch(|s| s.sign_object(&self.keys.current, payload, timestamp))
    }

    /// `TimestampSigner.sign(value)`: `value:TS:SIG`, with no base64 or compression.
    pub fn sign_raw(&self, value: &str, timestamp: i64) -> String {
        let signed = format!("{value}:{}", signing::b62_encode(timestamp));
        let sig = self.keys.current.signature(signed.as_bytes());
        format!(
            "{signed}:{}",
            std::str::from_utf8(&sig).expect("base64 is ASCII")
        )
    }

    /// `CookieStorage._get()` on a cookie value (already unquoted, see
    /// [`messages_cookie_from_header`]).
    ///
    /// * `Ok(None)`: absent, an empty value or a JSON `null` payload (R-4.12, R-4.16);
    ///   Django does not mark the storage used.
    /// * `Ok(Some(_))`: the items, with a trailing sentinel removed (R-4.15).
    /// * `Err(e)` with [`DecodeError::marks_used`]: a value Django rejects as invalid and
    ///   deletes on the next `update()` (R-4.19, R-4.20).
    /// * `Err(e)` otherwise: a correctly signed value on which Django raises (R-4.21), one
    ///   herald cannot represent, or one past herald's limits.
    ///
    /// Two limits keep the work bounded whatever the value: a value longer than
    /// [`MAX_VALUE_LEN`](super::MAX_VALUE_LEN) bytes is refused first, before any HMAC
    /// or base64 ([`DecodeError::TooLong`]), and a compressed payload stops inflating at
    /// [`MAX_INFLATED_LEN`](super::MAX_INFLATED_LEN) bytes
    /// ([`DecodeError::InflatedTooLarge`]).
    ///
    /// # Errors
    /// See above: [`DecodeError`] says which step failed.
    pub fn decode(&self, value: &str) -> Result<Option<Decoded>, DecodeError> {
        if value.is_empty() {
            return Ok(None);
        }
        if value.len() > MAX_VALUE_LEN {
            return Err(DecodeError::TooLong(value.len()));
        }
        let unsigned = self.keys.unsign(value)?;
        let (compressed, b64) = match unsigned.payload.strip_prefix('.') {
            Some(rest) => (true, rest),
            None => (false, unsigned.payload),
        };
        let Some(mut items) = decode_payload(b64, compressed)? else {
            return Ok(None);
        };
        let all_retrieved = !matches!(items.last(), Some(DjangoItem::Raw(serde_json::Value::String(s))) if s == NOT_FINISHED);
        if !all_retrieved {
            items.pop();
        }
        Ok(Some(Decoded {
            items,
            all_retrieved,
            key: unsigned.key,
            timestamp: unsigned.timestamp,
            compressed,
        }))
    }
}

/// Django's `bisect_keep_left(a, fn)`: the index of the first element from the start of
/// `a` at which `f(&a[..=index])` holds, or `a.len()` (R-4.7, `remove_oldest=False`).
/// Assumes `f` is monotonic, as Django does, and probes exactly the prefixes Django
/// probes, in the same order.
#[doc(hidden)]
pub fn bisect_keep_left<T>(a: &[T], mut f: impl FnMut(&[T]) -> bool) -> usize {
    let (mut lo, mut hi) = (0, a.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if f(&a[..mid + 1]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Django's `bisect_keep_right(a, fn)`: the first index `i` from the end of `a` such that
/// `f(&a[i..])` no longer holds (R-4.7, `remove_oldest=True`: `a[..i]` are dropped).
/// Assumes `f` is monotonic, as Django does, and probes exactly the suffixes Django
/// probes, in the same order.
#[doc(hidden)]
pub fn bisect_keep_right<T>(a: &[T], mut f: impl FnMut(&[T]) -> bool) -> usize {
    let (mut lo, mut hi) = (0, a.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if f(&a[mid..]) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Decodes the signed part of a value without checking any signature: base64 (R-3.1),
/// zlib when `compressed`, latin-1, JSON and post-processing (R-4.13, R-4.14). The
/// sentinel is kept. For inspection tools; storages must use [`DjangoCodec::decode`].
///
/// There is no length limit on `b64` here (the caller holds it already); inflation stops
/// at [`MAX_INFLATED_LEN`](super::MAX_INFLATED_LEN) bytes as in [`DjangoCodec::decode`].
///
/// # Errors
/// [`DecodeError::BadBase64`], [`DecodeError::BadCompression`],
/// [`DecodeError::InflatedTooLarge`], [`DecodeError::BadJson`],
/// [`DecodeError::BadMessage`], [`DecodeError::Unsupported`], [`DecodeError::NotAList`].
pub fn decode_payload(b64: &str, compressed: bool) -> Result<Option<Vec<DjangoItem>>, DecodeError> {
    let raw = signing::python_b64_decode(b64.as_bytes())
        .map_err(|e| DecodeError::BadBase64(e.to_owned()))?;
    let raw = if compressed {
        signing::zlib_decompress(&raw)?
    } else {
        raw
    };
    json::parse_payload(&latin1(&raw))
}

/// Bytes read as latin-1: each byte is the code point of the same value (R-4.13).
fn latin1(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        Cow::Borrowed(std::str::from_utf8(bytes).expect("ASCII is UTF-8"))
    } else {
        Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())
    }
}

/// Every item serialized once (Django's `MessagePartSerializer`), each followed by a
/// comma, so a contiguous range is one slice.
struct Parts {
    text: String,
    /// `ends[i]` is the end of item `i` including its trailing comma; item `i` starts at
    /// `ends[i - 1]` (or 0).
    ends: Vec<usize>,
}

impl Parts {
    fn new<T: ToDjangoJson>(items: &[T]) -> Self {
        let mut text = String::new();
        let mut ends = Vec::with_capacity(items.len());
        for item in items {
            item.write_django_json(&mut text, JsonStyle::Compact);
            text.push(',');
            ends.push(text.len());
        }
        Parts { text, ends }
    }

    fn start(&self, i: usize) -> usize {
        if i == 0 { 0 } else { self.ends[i - 1] }
    }

    /// The length of the JSON payload [`Probe::sign`] builds for `range`: what the cookie
    /// inflates to.
    fn payload_len(&self, range: Range<usize>, sentinel: bool) -> usize {
        let body = self.slice(range).len();
        2 + if sentinel {
            body + NOT_FINISHED_JSON.len()
        } else {
            body.saturating_sub(1)
        }
    }

    /// Items `range`, each followed by a comma.
    fn slice(&self, range: Range<usize>) -> &str {
        if range.is_empty() {
            return "";
        }
        &self.text[self.start(range.start)..self.ends[range.end - 1]]
    }
}

struct Probe<'k, 'p, 's> {
    key: &'k Key,
    parts: &'p Parts,
    scratch: &'s mut SignScratch,
    timestamp: i64,
}

impl Probe<'_, '_, '_> {
    /// `_encode_parts(parts[range] (+ [sentinel]), encode_empty=True)`: Django's
    /// `MessagePartGatherSerializer` joins the parts in brackets (R-4.3).
    fn sign(&mut self, range: Range<usize>, sentinel: bool) -> String {
        let mut payload = std::mem::take(&mut self.scratch.payload);
        payload.clear();
        payload.push(b'[');
        let body = self.parts.slice(range);
        if sentinel {
            payload.extend_from_slice(body.as_bytes());
            payload.extend_from_slice(NOT_FINISHED_JSON.as_bytes());
        } else {
            // Drop the trailing comma of the last item.
            payload.extend_from_slice(&body.as_bytes()[..body.len().saturating_sub(1)]);
        }
        payload.push(b']');
        let value = self.scratch.sign_object(self.key, &payload, self.timestamp);
        self.scratch.payload = payload;
        value
    }
}

/// Why a `SameSite` value was refused: Django accepts only `lax`, `none` and `strict`,
/// in any case.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("samesite must be \"lax\", \"none\", or \"strict\" (any case), not {0:?}")]
pub struct InvalidSameSite(pub String);

/// The `SESSION_COOKIE_*` settings the messages cookie uses (R-4.10, R-4.11).
///
/// The default is Django's: no domain, not `Secure`, `HttpOnly`, `SameSite=Lax`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieSettings {
    domain: Option<String>,
    secure: bool,
    httponly: bool,
    samesite: Option<String>,
}

impl Default for CookieSettings {
    fn default() -> Self {
        CookieSettings {
            domain: None,
            secure: false,
            httponly: true,
            samesite: Some("Lax".to_owned()),
        }
    }
}

impl CookieSettings {
    /// `SESSION_COOKIE_DOMAIN`: `Domain=` is written when it is set and non-empty.
    pub fn domain(mut self, domain: Option<&str>) -> Self {
        self.domain = domain.map(str::to_owned);
        self
    }

    /// `SESSION_COOKIE_SECURE`: `Secure` on the set cookie (never on deletion, R-4.11).
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// `SESSION_COOKIE_HTTPONLY`: `HttpOnly` on the set cookie (never on deletion).
    pub fn httponly(mut self, httponly: bool) -> Self {
        self.httponly = httponly;
        self
    }

    /// `SESSION_COOKIE_SAMESITE`, written exactly as given; `None` or `""` omits it.
    ///
    /// # Errors
    /// [`InvalidSameSite`] for a value other than `lax`, `none` or `strict` in any case,
    /// where Django's `set_cookie` raises `ValueError`.
    pub fn samesite(mut self, samesite: Option<&str>) -> Result<Self, InvalidSameSite> {
        if let Some(s) = samesite
            && !s.is_empty()
            && !["lax", "none", "strict"].contains(&s.to_ascii_lowercase().as_str())
        {
            return Err(InvalidSameSite(s.to_owned()));
        }
        self.samesite = samesite.map(str::to_owned);
        Ok(self)
    }

    fn domain_attr(&self) -> Option<&str> {
        self.domain.as_deref().filter(|d| !d.is_empty())
    }

    fn samesite_attr(&self) -> Option<&str> {
        self.samesite.as_deref().filter(|s| !s.is_empty())
    }

    /// The `Set-Cookie` header value for `value`, exactly as Python's
    /// `Morsel.OutputString()` renders Django's `set_cookie` (R-4.10):
    /// `messages=VALUE[; Domain=D][; HttpOnly]; Path=/[; SameSite=S][; Secure]`.
    pub fn set_cookie_header(&self, value: &str) -> String {
        let mut out = format!("{COOKIE_NAME}={}", python_cookie_quote(value));
        if let Some(d) = self.domain_attr() {
            out.push_str("; Domain=");
            out.push_str(d);
        }
        if self.httponly {
            out.push_str("; HttpOnly");
        }
        out.push_str("; Path=/");
        if let Some(s) = self.samesite_attr() {
            out.push_str("; SameSite=");
            out.push_str(s);
        }
        if self.secure {
            out.push_str("; Secure");
        }
        out
    }

    /// The deletion `Set-Cookie` header value (R-4.11): `messages=""` with
    /// `expires=Thu, 01 Jan 1970 00:00:00 GMT`, `Max-Age=0`, `Path=/`, the domain and
    /// SameSite settings, never `HttpOnly`, and `Secure` only for `SameSite=None`.
    pub fn delete_cookie_header(&self) -> String {
        let mut out = format!("{COOKIE_NAME}=\"\"");
        if let Some(d) = self.domain_attr() {
            out.push_str("; Domain=");
            out.push_str(d);
        }
        out.push_str("; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/");
        let samesite = self.samesite_attr();
        if let Some(s) = samesite {
            out.push_str("; SameSite=");
            out.push_str(s);
        }
        if samesite.is_some_and(|s| s.eq_ignore_ascii_case("none")) {
            out.push_str("; Secure");
        }
        out
    }
}

/// The characters Python's `http.cookies` leaves unquoted.
fn is_legal_cookie_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~:".contains(c)
}

/// Python's `http.cookies._quote`: a value made only of legal characters is kept as is;
/// anything else is wrapped in double quotes with `"` and `\` backslash-escaped and the
/// other bytes below 256 that are not printable-safe written as `\ooo` octal. An empty
/// value becomes `""`. Django's own values never need quoting (R-4.5).
pub(crate) fn python_cookie_quote(value: &str) -> Cow<'_, str> {
    if !value.is_empty() && value.chars().all(is_legal_cookie_char) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_legal_cookie_char(c) || " ()/<=>?@[]{}".contains(c) => out.push(c),
            c if (c as u32) < 256 => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    Cow::Owned(out)
}

/// Python's `http.cookies._unquote`: a value in double quotes loses them, and `\ooo`
/// octal escapes and `\X` escapes inside are resolved; anything else is returned as is.
#[doc(hidden)]
pub fn python_cookie_unquote(value: &str) -> Cow<'_, str> {
    if value.len() < 2 || !value.starts_with('"') || !value.ends_with('"') {
        return Cow::Borrowed(value);
    }
    let inner = &value[1..value.len() - 1];
    let chars: Vec<char> = inner.chars().collect();
    let mut out = String::with_capacity(inner.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let oct = chars.get(i + 1..i + 4).filter(|d| {
                matches!(d[0], '0'..='3') && matches!(d[1], '0'..='7') && matches!(d[2], '0'..='7')
            });
            if let Some(d) = oct {
                let code = d
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + (*c as u32 - '0' as u32));
                out.push(char::from_u32(code).expect("below 256"));
                i += 4;
                continue;
            }
            if chars[i + 1] != '\n' {
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    Cow::Owned(out)
}

/// The `messages` cookie value from a `Cookie` request header, parsed as Django's
/// `parse_cookie` does: chunks split at `;`, name and value split at the first `=` and
/// stripped of whitespace, the value unquoted as Python's `http.cookies` does (surrounding
/// double quotes removed, backslash and `\ooo` octal escapes resolved); the last
/// `messages` chunk wins. `None` when there is none.
pub fn messages_cookie_from_header(header: &str) -> Option<Cow<'_, str>> {
    let mut found = None;
    for chunk in header.split(';') {
        let (name, value) = chunk.split_once('=').unwrap_or(("", chunk));
        if name.trim_matches(super::py_is_space) == COOKIE_NAME {
            found = Some(value.trim_matches(super::py_is_space));
        }
    }
    found.map(python_cookie_unquote)
}

/// The size Django measures for a cookie value (R-4.5): the length of the quoted value.
#[doc(hidden)]
pub fn cookie_size(value: &str) -> usize {
    python_cookie_quote(value).chars().count()
}

/// Whether a value of this size fits Django's limit ([`MAX_COOKIE_SIZE`], inclusive).
#[doc(hidden)]
pub fn fits_default_limit(value: &str) -> bool {
    cookie_size(value) <= MAX_COOKIE_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_quoting_round_trips() {
        assert_eq!(python_cookie_quote("abc:._-"), "abc:._-");
        assert_eq!(python_cookie_quote(""), "\"\"");
        assert_eq!(
            python_cookie_quote("a b;c\"\\é\n"),
            "\"a b\\073c\\\"\\\\\\351\\012\""
        );
        for v in ["", "abc", "a b;c\"\\é\n,", "\\", "x\u{100}y"] {
            assert_eq!(python_cookie_unquote(&python_cookie_quote(v)), v);
        }
        assert_eq!(python_cookie_unquote("\"abc"), "\"abc");
        assert_eq!(python_cookie_unquote("\"\\q\""), "q");
    }

    #[test]
    fn r_4_12_cookie_header_parsing() {
        let h = "a=1; messages=\"W10:x:y\"; b=2";
        assert_eq!(messages_cookie_from_header(h).unwrap(), "W10:x:y");
        assert_eq!(
            messages_cookie_from_header("messages=a; messages = b ").unwrap(),
            "b"
        );
        assert!(messages_cookie_from_header("other=1").is_none());
        assert_eq!(messages_cookie_from_header("messages=").unwrap(), "");
    }

    #[test]
    fn r_4_10_samesite_validation() {
        assert!(CookieSettings::default().samesite(Some("LAX")).is_ok());
        assert!(CookieSettings::default().samesite(Some("none")).is_ok());
        assert!(CookieSettings::default().samesite(Some("")).is_ok());
        assert!(CookieSettings::default().samesite(None).is_ok());
        assert_eq!(
            CookieSettings::default().samesite(Some("loose")),
            Err(InvalidSameSite("loose".to_owned()))
        );
    }

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use crate::django::{MAX_INFLATED_LEN, signing::HMACS_VERIFIED};

    fn hmacs() -> usize {
        HMACS_VERIFIED.with(std::cell::Cell::get)
    }

    /// A correctly signed value of exactly `len` bytes whose payload is the JSON list
    /// `["aaa…"]`, with no compression.
    fn signed_value_of_len(codec: &DjangoCodec, len: usize) -> String {
        // The timestamp's length moves the payload's; base64 never has 4k + 1 characters.
        for ts in [0, 62, 62 * 62, 62 * 62 * 62] {
            let fixed = codec.sign_raw("", ts).len();
            let b64_len = len - fixed;
            let bytes = match b64_len % 4 {
                1 => continue,
                r => b64_len / 4 * 3 + r.saturating_sub(1),
            };
            let json = format!("[\"{}\"]", "a".repeat(bytes - 4));
            let value = codec.sign_raw(&URL_SAFE_NO_PAD.encode(json), ts);
            assert_eq!(value.len(), len);
            return value;
        }
        unreachable!("one of four consecutive lengths is not 4k + 1")
    }

    #[test]
    fn values_longer_than_max_value_len_are_refused_before_any_hmac() {
        assert_eq!(MAX_VALUE_LEN, 4096);
        let codec = DjangoCodec::new("current").with_fallback_keys(["old"]);
        // At the limit: verified (one HMAC, the current key) and read.
        let at = signed_value_of_len(&codec, MAX_VALUE_LEN);
        let before = hmacs();
        let decoded = codec.decode(&at).unwrap().unwrap();
        assert_eq!(hmacs() - before, 1);
        assert_eq!(decoded.items.len(), 1);
        assert!(
            matches!(&decoded.items[0], DjangoItem::Raw(serde_json::Value::String(s)) if s.len() > 3000)
        );
        // One byte over: refused though correctly signed, with no HMAC computed.
        let over = signed_value_of_len(&codec, MAX_VALUE_LEN + 1);
        let before = hmacs();
        assert_eq!(
            codec.decode(&over),
            Err(DecodeError::TooLong(MAX_VALUE_LEN + 1))
        );
        // Junk: the same error rather than a bad signature, and still no HMAC.
        let junk = "x:".repeat(50_000);
        assert_eq!(codec.decode(&junk), Err(DecodeError::TooLong(100_000)));
        assert_eq!(hmacs(), before, "no HMAC for a value over the limit");
        // Junk within the limit is a bad signature.
        assert_eq!(
            codec.decode(&"x".repeat(MAX_VALUE_LEN)),
            Err(DecodeError::BadSignature)
        );
        // The length is in bytes: 2048 two-byte characters are 4096 bytes, one more is over.
        let wide = "é".repeat(MAX_VALUE_LEN / 2);
        assert_eq!(codec.decode(&wide), Err(DecodeError::BadSignature));
        assert_eq!(
            codec.decode(&format!("{wide}a")),
            Err(DecodeError::TooLong(MAX_VALUE_LEN + 1))
        );
    }

    /// A signed, compressed payload `["aaa…"]` of exactly `len` bytes.
    fn compressed_value_of_len(codec: &DjangoCodec, len: usize) -> String {
        let json = format!("[\"{}\"]", "a".repeat(len - 4));
        let value = codec.sign_payload(json.as_bytes(), 1_700_000_000);
        assert!(
            value.starts_with('.') && value.len() < 400,
            "{}",
            value.len()
        );
        value
    }

    #[test]
    fn compressed_payloads_inflate_up_to_max_inflated_len() {
        let codec = DjangoCodec::new("current");
        let at = compressed_value_of_len(&codec, MAX_INFLATED_LEN);
        let decoded = codec.decode(&at).unwrap().unwrap();
        assert!(decoded.compressed);
        assert!(
            matches!(&decoded.items[0], DjangoItem::Raw(serde_json::Value::String(s)) if s.len() == MAX_INFLATED_LEN - 4)
        );
        let over = compressed_value_of_len(&codec, MAX_INFLATED_LEN + 1);
        let error = codec.decode(&over).unwrap_err();
        assert_eq!(error, DecodeError::InflatedTooLarge);
        assert!(
            !error.marks_used(),
            "Django would read it; herald refuses it"
        );
        assert_eq!(
            error.to_string(),
            "the compressed payload inflates to more than 65536 bytes"
        );
        // The unsigned reader applies the same limit.
        let b64 = over[1..].split(':').next().unwrap();
        assert_eq!(
            decode_payload(b64, true),
            Err(DecodeError::InflatedTooLarge)
        );
    }

    #[test]
    fn r_4_5_size_is_value_length() {
        assert_eq!(cookie_size("W10:1r31eq:abc"), 14);
        assert!(fits_default_limit(&"a".repeat(2048)));
        assert!(!fits_default_limit(&"a".repeat(2049)));
    }
}
