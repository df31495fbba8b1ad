//! `Cookie` and `Set-Cookie` header handling with no heap: find one cookie in the
//! raw request headers and write a complete `Set-Cookie` value into a buffer the
//! caller owns.
//!
//! Everything here works on borrowed slices. Nothing allocates, and no input makes
//! these functions panic: every failure is a [`ParseError`] or a [`WriteError`].
//!
//! # Reading: [`find_cookie`] and [`cookie_value`]
//!
//! The `Cookie` request header is parsed the way servers do it in practice (RFC 6265
//! §4.2 syntax, read leniently):
//!
//! * Each header value is split on **every** `;`. A quoted value cannot hide a `;`:
//!   RFC 6265 does not allow one there, and browsers and Django split the same way.
//!   `,` is not a separator.
//! * Around each piece, around its name and around its value, optional whitespace
//!   (space and horizontal tab only) is ignored, so `a=1;b=2`, `a=1; b=2` and
//!   `a = 1 ;\tb=2` are read the same.
//! * A piece splits at its **first** `=`. A piece with no `=` (including empty pieces
//!   from `;;` or a trailing `;`) has no name and is skipped.
//! * Names are compared byte for byte, case-sensitively, with the whole trimmed name:
//!   `xmessages=1` and `messages2=1` are not `messages`.
//! * Pieces with other names are skipped without looking at their value, so a
//!   foreign cookie holding JSON, spaces, commas or non-UTF-8 bytes never hides ours.
//! * Headers are searched in the order given and **the first piece with the name
//!   decides**, across all headers: browsers send the cookie with the longest
//!   matching path first. (Django's `parse_cookie` builds a dict, so there the last
//!   one wins.) If that first value is malformed the answer is an error (no cookie);
//!   a later duplicate is never used as a fallback.
//! * A value wrapped in double quotes (`"…"`, at least two bytes) has them removed,
//!   as Django (Python's `http.cookies`) and the `cookie` crate's `value_trimmed()`
//!   do. `""` is the empty value.
//! * The (unquoted) value must consist of RFC 6265 *cookie-octets*: printable
//!   US-ASCII except space, `"`, `,`, `;` and `\`, i.e. `0x21`, `0x23..=0x2B`,
//!   `0x2D..=0x3A`, `0x3C..=0x5B` and `0x5D..=0x7E`. Django's signed messages
//!   cookie only ever uses these (URL-safe base64 plus `.` and `:`), so anything
//!   else cannot be a valid herald or Django value. There are no backslash escapes
//!   (Python would decode `\"` and octal escapes inside quotes; such a value is an
//!   error here).
//! * The value is returned as a `&str` borrowed from the header bytes (zero-copy).
//!   An empty value is returned as `Some("")`; Django treats it as "no messages"
//!   (R-4.12), which is the caller's decision.
//!
//! # Writing: [`write_set_cookie`] and [`write_delete_cookie`]
//!
//! The output has Django's layout (RULES R-4.10, R-4.11): `name=value` followed by the
//! attributes in Python's `Morsel` order (sorted by lower-case attribute name) joined
//! with `"; "`:
//!
//! ```text
//! name=value; Domain=…; expires=…; HttpOnly; Max-Age=…; Path=…; SameSite=…; Secure
//! ```
//!
//! For the same settings it is byte-identical to Django's header, with two
//! exceptions: [`SameSite`] is written in its canonical spelling (`Lax`), while
//! Django writes `SESSION_COOKIE_SAMESITE` verbatim (`lax` stays `lax`; browsers
//! compare case-insensitively); and with a `Max-Age` Django also writes an `expires`
//! date, which needs a clock this crate does not have. The messages cookie has no
//! `Max-Age`, so only the first can show.
//!
//! An empty value is written as `""`, as Python does. [`set_cookie_len`] and
//! [`delete_cookie_len`] give the exact length beforehand; on
//! [`WriteError::BufferTooSmall`] the error carries the same number.
//!
//! Names must be RFC 7230 tokens, values cookie-octets, the domain letters, digits,
//! `.`, `-` and `_`, the path printable ASCII without `;`. Every byte that could end
//! the attribute or the header (`;`, CR, LF, other control characters, non-ASCII) is
//! rejected with a [`WriteError::InvalidByte`] naming the field and its position.

use core::fmt;

/// The `expires` date Django puts on a deletion cookie.
const EXPIRES_EPOCH: &str = "Thu, 01 Jan 1970 00:00:00 GMT";

/// An RFC 6265 `cookie-octet`: printable US-ASCII except space, `"`, `,`, `;`, `\`.
const fn is_cookie_octet(b: u8) -> bool {
    // 0x21..=0x7E except DQUOTE, comma, semicolon and backslash; written without
    // branches, so that a check over a value compiles to vector compares.
    (b.wrapping_sub(0x21) <= 0x7E - 0x21) & (b != b'"') & (b != b',') & (b != b';') & (b != b'\\')
}

/// An RFC 7230 `tchar`, the characters of a cookie name (RFC 6265 `token`).
const fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// A byte allowed in a `Domain` attribute value.
const fn is_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')
}

/// A byte allowed in a `Path` attribute value: RFC 6265 `av-octet` (any CHAR except
/// CTLs or `;`).
const fn is_path_byte(b: u8) -> bool {
    matches!(b, 0x20..=0x7E) && b != b';'
}

/// Optional whitespace: space or horizontal tab.
const fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Strips optional whitespace from both ends; also returns how many bytes were
/// removed at the front.
fn trim_ows(s: &[u8]) -> (usize, &[u8]) {
    let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    (start, s.get(start..end).unwrap_or_default())
}

/// The index and value of the first byte of `s` that fails `ok`.
/// The first byte of `s` that `ok` refuses, with its position. Generic over `ok` so the
/// class test inlines; the common all-valid case is one branch-free pass (`fold`, which
/// the compiler vectorizes), and only a refused value is searched again.
#[inline]
fn first_invalid(s: &[u8], ok: impl Fn(u8) -> bool + Copy) -> Option<(usize, u8)> {
    if s.iter().fold(true, |all, &b| all & ok(b)) {
        return None;
    }
    s.iter().copied().enumerate().find(|&(_, b)| !ok(b))
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// Why [`find_cookie`] found no usable value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// The name asked for is empty or not an RFC 7230 token, so no cookie can have it.
    InvalidName,
    /// The first cookie with the name has a value that is not all cookie-octets
    /// (after removing one pair of surrounding double quotes).
    InvalidValue {
        /// Index of the header value (in the order given) holding the cookie.
        header: usize,
        /// Offset of the offending byte within that header value.
        offset: usize,
        /// The offending byte.
        byte: u8,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::InvalidName => f.write_str("cookie name is empty or not a token"),
            Self::InvalidValue {
                header,
                offset,
                byte,
            } => write!(
                f,
                "invalid byte 0x{byte:02x} in cookie value (header {header}, offset {offset})"
            ),
        }
    }
}

impl core::error::Error for ParseError {}

/// Finds the value of the cookie `name` in raw `Cookie` request-header values.
///
/// `headers` yields the value of each `Cookie` header, in the order received (HTTP/2
/// may split the cookies over several headers). Returns `Ok(None)` if no piece has
/// the name, `Ok(Some(value))` for the first one that does, borrowed from the header
/// bytes with surrounding double quotes removed. See the [module documentation](self)
/// for the exact rules. Never allocates and never panics.
///
/// # Errors
/// [`ParseError::InvalidName`] when `name` is not a cookie name;
/// [`ParseError::InvalidValue`] when the first cookie with the name has a value that is
/// not all cookie-octets (a later duplicate is not consulted).
///
/// # Examples
///
/// ```
/// use herald_core::cookie_header::{find_cookie, ParseError};
///
/// let headers: [&[u8]; 2] = [b"csrftoken=abc;xmessages=no", b"messages=\"W1s:1r31eq\"; messages=later"];
/// assert_eq!(find_cookie(headers, "messages"), Ok(Some("W1s:1r31eq")));
/// assert_eq!(find_cookie(headers, "sessionid"), Ok(None));
///
/// let bad: [&[u8]; 1] = [b"messages=a b"];
/// assert_eq!(
///     find_cookie(bad, "messages"),
///     Err(ParseError::InvalidValue { header: 0, offset: 10, byte: b' ' })
/// );
/// ```
pub fn find_cookie<'h, I>(headers: I, name: &str) -> Result<Option<&'h str>, ParseError>
where
    I: IntoIterator<Item = &'h [u8]>,
{
    // A value is all cookie-octets, which are ASCII: the conversion cannot fail.
    Ok(find_cookie_bytes(headers, name)?.and_then(|v| core::str::from_utf8(v).ok()))
}

/// [`find_cookie`] without the conversion to `&str`: the value's bytes, for a caller that
/// reads bytes (a signer) and need not check UTF-8 again. The same rules and errors.
///
/// ```
/// use herald_core::cookie_header::find_cookie_bytes;
/// let headers: [&[u8]; 1] = [b"a=1; messages=\"W1s:1r31eq\""];
/// assert_eq!(find_cookie_bytes(headers, "messages"), Ok(Some(&b"W1s:1r31eq"[..])));
/// ```
///
/// # Errors
/// As [`find_cookie`].
pub fn find_cookie_bytes<'h, I>(headers: I, name: &str) -> Result<Option<&'h [u8]>, ParseError>
where
    I: IntoIterator<Item = &'h [u8]>,
{
    let name = name.as_bytes();
    if name.is_empty() || first_invalid(name, is_tchar).is_some() {
        return Err(ParseError::InvalidName);
    }
    for (header_index, header) in headers.into_iter().enumerate() {
        // The `;`-separated pieces, as `split` would give them (a trailing `;` leaves an
        // empty last piece), found with a search that is not one branch per byte.
        let mut piece_start = 0usize;
        loop {
            let rest = &header[piece_start..];
            let end = find_byte(rest, b';').unwrap_or(rest.len());
            if let Some(found) = match_piece(&rest[..end], name) {
                return found
                    .map(Some)
                    .map_err(|(offset, byte)| ParseError::InvalidValue {
                        header: header_index,
                        offset: piece_start + offset,
                        byte,
                    });
            }
            if end == rest.len() {
                break;
            }
            piece_start += end + 1;
        }
    }
    Ok(None)
}

/// The position of the first `needle` in `s`: 32 bytes at a time with a branch-free test
/// (`fold`, which the compiler vectorizes), then the byte inside the block that has it.
#[inline]
fn find_byte(s: &[u8], needle: u8) -> Option<usize> {
    const BLOCK: usize = 32;
    let mut blocks = s.chunks_exact(BLOCK);
    for (i, block) in blocks.by_ref().enumerate() {
        if block.iter().fold(false, |any, &b| any | (b == needle)) {
            return block
                .iter()
                .position(|&b| b == needle)
                .map(|p| i * BLOCK + p);
        }
    }
    let tail = blocks.remainder();
    let at = s.len() - tail.len();
    tail.iter().position(|&b| b == needle).map(|p| at + p)
}

/// Looks at one `;`-separated piece. `None` if it is not the cookie `name`;
/// otherwise its validated value, or the offset (within the piece) and value of the
/// first bad byte.
fn match_piece<'h>(piece: &'h [u8], name: &[u8]) -> Option<Result<&'h [u8], (usize, u8)>> {
    let eq = piece.iter().position(|&b| b == b'=')?;
    let (raw_name, rest) = piece.split_at(eq);
    if trim_ows(raw_name).1 != name {
        return None;
    }
    let raw_value = rest.get(1..).unwrap_or_default();
    let (lead, value) = trim_ows(raw_value);
    let mut value_start = eq + 1 + lead;
    let value = match value {
        [b'"', inner @ .., b'"'] => {
            value_start += 1;
            inner
        }
        _ => value,
    };
    match first_invalid(value, is_cookie_octet) {
        Some((i, byte)) => Some(Err((value_start + i, byte))),
        None => Some(Ok(value)),
    }
}

/// Like [`find_cookie`], but any error is "no cookie": `None` when the cookie is
/// absent, malformed, or `name` is not a valid cookie name.
///
/// # Examples
///
/// ```
/// use herald_core::cookie_header::cookie_value;
///
/// assert_eq!(cookie_value([b"a=1;messages=xyz".as_slice()], "messages"), Some("xyz"));
/// assert_eq!(cookie_value([b"messages=\xff".as_slice()], "messages"), None);
/// ```
pub fn cookie_value<'h, I>(headers: I, name: &str) -> Option<&'h str>
where
    I: IntoIterator<Item = &'h [u8]>,
{
    find_cookie(headers, name).ok().flatten()
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// The `SameSite` attribute of a cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SameSite {
    /// `SameSite=Lax`, Django's default.
    Lax,
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=None`. Browsers require `Secure` with it.
    None,
}

impl SameSite {
    /// The attribute value as written: `Lax`, `Strict` or `None`.
    ///
    /// ```
    /// assert_eq!(herald_core::cookie_header::SameSite::Strict.as_str(), "Strict");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Lax => "Lax",
            Self::Strict => "Strict",
            Self::None => "None",
        }
    }

    /// Reads a setting such as Django's `SESSION_COOKIE_SAMESITE`: `lax`, `strict` or
    /// `none` in any case. Anything else is `None` (Django raises `ValueError`).
    ///
    /// ```
    /// use herald_core::cookie_header::SameSite;
    ///
    /// assert_eq!(SameSite::parse("lax"), Some(SameSite::Lax));
    /// assert_eq!(SameSite::parse("NONE"), Some(SameSite::None));
    /// assert_eq!(SameSite::parse("relaxed"), None);
    /// ```
    pub fn parse(setting: &str) -> Option<Self> {
        [Self::Lax, Self::Strict, Self::None]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(setting))
    }
}

impl fmt::Display for SameSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The attributes of a `Set-Cookie` header.
///
/// [`Default`] (and [`CookieAttributes::new`]) is Django's default for the messages
/// cookie: `Path=/`, no `Domain`, `HttpOnly`, `SameSite=Lax`, not `Secure`, no
/// `Max-Age` (a browser-session cookie).
///
/// ```
/// use herald_core::cookie_header::{CookieAttributes, SameSite};
///
/// let attrs = CookieAttributes {
///     domain: Some(".example.com"),
///     secure: true,
///     same_site: Some(SameSite::Strict),
///     ..CookieAttributes::default()
/// };
/// assert_eq!(attrs.path, "/");
/// assert!(attrs.http_only);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CookieAttributes<'a> {
    /// `Path=`; always written. Django's messages cookie uses `/`.
    pub path: &'a str,
    /// `Domain=`, written when present (Django's `SESSION_COOKIE_DOMAIN`).
    pub domain: Option<&'a str>,
    /// Write `Secure` when setting (Django's `SESSION_COOKIE_SECURE`). A deletion
    /// ignores this field; see [`write_delete_cookie`].
    pub secure: bool,
    /// Write `HttpOnly` when setting. A deletion never writes it.
    pub http_only: bool,
    /// `SameSite=`, written when present.
    pub same_site: Option<SameSite>,
    /// `Max-Age=` in seconds when setting; `None` makes a browser-session cookie.
    /// A deletion always writes `Max-Age=0`.
    pub max_age: Option<u64>,
}

impl<'a> CookieAttributes<'a> {
    /// Django's defaults: `Path=/`, `HttpOnly`, `SameSite=Lax`, nothing else.
    pub const fn new() -> Self {
        Self {
            path: "/",
            domain: None,
            secure: false,
            http_only: true,
            same_site: Some(SameSite::Lax),
            max_age: None,
        }
    }
}

impl Default for CookieAttributes<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// The part of a `Set-Cookie` header a [`WriteError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The cookie name.
    Name,
    /// The cookie value.
    Value,
    /// [`CookieAttributes::domain`].
    Domain,
    /// [`CookieAttributes::path`].
    Path,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Name => "name",
            Self::Value => "value",
            Self::Domain => "domain",
            Self::Path => "path",
        })
    }
}

/// Why a `Set-Cookie` header could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteError {
    /// The name, the path, or a present domain is empty.
    Empty {
        /// Which one.
        field: Field,
    },
    /// A byte that is not allowed in `field` (see the [module documentation](self)).
    InvalidByte {
        /// Where the byte is.
        field: Field,
        /// Its index within that field.
        position: usize,
        /// The byte.
        byte: u8,
    },
    /// The buffer is shorter than the header, which needs exactly `needed` bytes.
    BufferTooSmall {
        /// The length of the complete header value.
        needed: usize,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Empty { field } => write!(f, "cookie {field} is empty"),
            Self::InvalidByte {
                field,
                position,
                byte,
            } => write!(
                f,
                "invalid byte 0x{byte:02x} at position {position} of the cookie {field}"
            ),
            Self::BufferTooSmall { needed } => {
                write!(
                    f,
                    "buffer too small: the Set-Cookie value needs {needed} bytes"
                )
            }
        }
    }
}

impl core::error::Error for WriteError {}

/// A validated header, ready to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Plan<'a> {
    name: &'a str,
    value: &'a str,
    domain: Option<&'a str>,
    expires: Option<&'static str>,
    http_only: bool,
    max_age: Option<u64>,
    path: &'a str,
    same_site: Option<SameSite>,
    secure: bool,
}

fn check(
    field: Field,
    s: &str,
    ok: impl Fn(u8) -> bool + Copy,
    allow_empty: bool,
) -> Result<(), WriteError> {
    if s.is_empty() && !allow_empty {
        return Err(WriteError::Empty { field });
    }
    match first_invalid(s.as_bytes(), ok) {
        Some((position, byte)) => Err(WriteError::InvalidByte {
            field,
            position,
            byte,
        }),
        None => Ok(()),
    }
}

fn check_attrs(attrs: &CookieAttributes<'_>) -> Result<(), WriteError> {
    if let Some(domain) = attrs.domain {
        check(Field::Domain, domain, is_domain_byte, false)?;
    }
    check(Field::Path, attrs.path, is_path_byte, false)
}

fn set_plan<'a>(
    name: &'a str,
    value: &'a str,
    attrs: CookieAttributes<'a>,
) -> Result<Plan<'a>, WriteError> {
    check(Field::Name, name, is_tchar, false)?;
    check(Field::Value, value, is_cookie_octet, true)?;
    check_attrs(&attrs)?;
    Ok(Plan {
        name,
        value,
        domain: attrs.domain,
        expires: None,
        http_only: attrs.http_only,
        max_age: attrs.max_age,
        path: attrs.path,
        same_site: attrs.same_site,
        secure: attrs.secure,
    })
}

fn delete_plan<'a>(name: &'a str, attrs: CookieAttributes<'a>) -> Result<Plan<'a>, WriteError> {
    check(Field::Name, name, is_tchar, false)?;
    check_attrs(&attrs)?;
    let secure = attrs.same_site == Some(SameSite::None)
        || name.starts_with("__Secure-")
        || name.starts_with("__Host-");
    Ok(Plan {
        name,
        value: "",
        domain: attrs.domain,
        expires: Some(EXPIRES_EPOCH),
        http_only: false,
        max_age: Some(0),
        path: attrs.path,
        same_site: attrs.same_site,
        secure,
    })
}

/// Writes into a buffer as far as it fits and counts every byte, so measuring and
/// writing share one code path and agree exactly.
struct Sink<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Sink<'_> {
    fn push(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
        }
        self.len = end;
    }

    fn push_u64(&mut self, mut n: u64) {
        let mut digits = [0u8; 20]; // u64::MAX has 20 digits
        let mut count = 0;
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(digits.get(digits.len() - count..).unwrap_or_default());
    }

    fn attr(&mut self, key: &str, value: Option<&str>) {
        self.push(b"; ");
        self.push(key.as_bytes());
        if let Some(value) = value {
            self.push(b"=");
            self.push(value.as_bytes());
        }
    }
}

fn render(plan: &Plan<'_>, sink: &mut Sink<'_>) {
    sink.push(plan.name.as_bytes());
    sink.push(b"=");
    if plan.value.is_empty() {
        sink.push(b"\"\"");
    } else {
        sink.push(plan.value.as_bytes());
    }
    // Python's Morsel order: sorted by lower-case attribute name.
    if let Some(domain) = plan.domain {
        sink.attr("Domain", Some(domain));
    }
    if let Some(expires) = plan.expires {
        sink.attr("expires", Some(expires));
    }
    if plan.http_only {
        sink.attr("HttpOnly", None);
    }
    if let Some(max_age) = plan.max_age {
        sink.attr("Max-Age", None);
        sink.push(b"=");
        sink.push_u64(max_age);
    }
    sink.attr("Path", Some(plan.path));
    if let Some(same_site) = plan.same_site {
        sink.attr("SameSite", Some(same_site.as_str()));
    }
    if plan.secure {
        sink.attr("Secure", None);
    }
}

fn measure(plan: &Plan<'_>) -> usize {
    let mut sink = Sink {
        buf: &mut [],
        len: 0,
    };
    render(plan, &mut sink);
    sink.len
}

fn emit<'b>(buf: &'b mut [u8], plan: &Plan<'_>) -> Result<&'b str, WriteError> {
    let mut sink = Sink { buf, len: 0 };
    render(plan, &mut sink);
    let Sink { buf, len } = sink;
    let buf: &'b [u8] = buf;
    match buf.get(..len) {
        // Everything written is ASCII (validated fields and literals), so the
        // conversion cannot fail; `unwrap_or_default` only keeps this panic-free.
        Some(written) => Ok(core::str::from_utf8(written).unwrap_or_default()),
        None => Err(WriteError::BufferTooSmall { needed: len }),
    }
}

/// A `Set-Cookie` header validated and measured once, then written as often as wanted:
/// [`len`](Self::len) is the exact length [`write`](Self::write) writes, with no second
/// validation. [`set_cookie_len`] + [`write_set_cookie`] (and the deletion pair) check
/// every field twice; this checks them once.
///
/// ```
/// use herald_core::cookie_header::{CookieAttributes, PreparedSetCookie};
///
/// let line = PreparedSetCookie::set("messages", "abc", CookieAttributes::default()).unwrap();
/// assert_eq!(line.len(), 44);
/// let mut buf = [0u8; 44];
/// assert_eq!(line.write(&mut buf), Ok("messages=abc; HttpOnly; Path=/; SameSite=Lax"));
/// assert_eq!(line.value_range(), 9..12);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PreparedSetCookie<'a> {
    plan: Plan<'a>,
    len: usize,
}

impl<'a> PreparedSetCookie<'a> {
    /// The header [`write_set_cookie`] writes for these arguments, validated.
    ///
    /// # Errors
    /// The validation error [`write_set_cookie`] would return.
    pub fn set(
        name: &'a str,
        value: &'a str,
        attrs: CookieAttributes<'a>,
    ) -> Result<Self, WriteError> {
        Ok(Self::from_plan(set_plan(name, value, attrs)?))
    }

    /// The header [`write_delete_cookie`] writes for these arguments, validated.
    ///
    /// # Errors
    /// The validation error [`write_delete_cookie`] would return.
    pub fn delete(name: &'a str, attrs: CookieAttributes<'a>) -> Result<Self, WriteError> {
        Ok(Self::from_plan(delete_plan(name, attrs)?))
    }

    fn from_plan(plan: Plan<'a>) -> Self {
        let len = measure(&plan);
        Self { plan, len }
    }

    /// The exact length of the header.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: a header holds at least `name=`.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Where the value's bytes are in the written header: right after `name=` (empty for
    /// an empty value, which is written as `""`).
    pub const fn value_range(&self) -> core::ops::Range<usize> {
        let start = self.plan.name.len() + 1;
        start..start + self.plan.value.len()
    }

    /// Writes the header into `buf` and returns the written part.
    ///
    /// # Errors
    /// [`WriteError::BufferTooSmall`] when `buf` is shorter than [`len`](Self::len).
    pub fn write<'b>(&self, buf: &'b mut [u8]) -> Result<&'b str, WriteError> {
        let Some(buf) = buf.get_mut(..self.len) else {
            return Err(WriteError::BufferTooSmall { needed: self.len });
        };
        emit(buf, &self.plan)
    }

    /// [`write`](Self::write) without reading the written bytes back as text (they are
    /// ASCII): fills `buf[..len]` with the header.
    ///
    /// # Errors
    /// [`WriteError::BufferTooSmall`] when `buf` is shorter than [`len`](Self::len).
    pub fn fill(&self, buf: &mut [u8]) -> Result<(), WriteError> {
        let Some(buf) = buf.get_mut(..self.len) else {
            return Err(WriteError::BufferTooSmall { needed: self.len });
        };
        let mut sink = Sink { buf, len: 0 };
        render(&self.plan, &mut sink);
        debug_assert_eq!(sink.len, self.len);
        Ok(())
    }
}

/// The exact length of the header [`write_set_cookie`] writes for these arguments.
///
/// # Errors
/// The validation error [`write_set_cookie`] would return.
///
/// ```
/// use herald_core::cookie_header::{set_cookie_len, CookieAttributes};
///
/// // "messages=abc; HttpOnly; Path=/; SameSite=Lax"
/// assert_eq!(set_cookie_len("messages", "abc", CookieAttributes::default()), Ok(44));
/// ```
pub fn set_cookie_len(
    name: &str,
    value: &str,
    attrs: CookieAttributes<'_>,
) -> Result<usize, WriteError> {
    set_plan(name, value, attrs).map(|plan| measure(&plan))
}

/// Writes a `Set-Cookie` header value that sets cookie `name` to `value` into `buf`
/// and returns the written part.
///
/// The header is `name=value` followed by `Domain`, `HttpOnly`, `Max-Age`, `Path`,
/// `SameSite` and `Secure` as `attrs` asks, in that order (Django's, RULES R-4.10).
/// An empty value is written as `""`. With `max_age` no `expires` is written (there
/// is no clock here); every current browser honours `Max-Age`. `Secure` is written
/// only when `attrs.secure` is set, as Django does, even with `SameSite=None`.
/// Never allocates and never panics.
///
/// # Errors
/// [`WriteError::Empty`] or [`WriteError::InvalidByte`] for a bad name, value, domain
/// or path (checked in that order), else [`WriteError::BufferTooSmall`] with the exact
/// length needed ([`set_cookie_len`]). On error the buffer's contents are unspecified.
///
/// # Examples
///
/// ```
/// use herald_core::cookie_header::{write_set_cookie, CookieAttributes, SameSite, WriteError};
///
/// let mut buf = [0u8; 128];
/// let attrs = CookieAttributes {
///     domain: Some(".example.com"),
///     secure: true,
///     same_site: Some(SameSite::Strict),
///     ..CookieAttributes::default()
/// };
/// assert_eq!(
///     write_set_cookie(&mut buf, "messages", "W1s:1r31eq:l2M", attrs),
///     Ok("messages=W1s:1r31eq:l2M; Domain=.example.com; HttpOnly; Path=/; SameSite=Strict; Secure")
/// );
///
/// let mut small = [0u8; 10];
/// assert_eq!(
///     write_set_cookie(&mut small, "messages", "abc", CookieAttributes::default()),
///     Err(WriteError::BufferTooSmall { needed: 44 })
/// );
/// ```
pub fn write_set_cookie<'b>(
    buf: &'b mut [u8],
    name: &str,
    value: &str,
    attrs: CookieAttributes<'_>,
) -> Result<&'b str, WriteError> {
    emit(buf, &set_plan(name, value, attrs)?)
}

/// The exact length of the header [`write_delete_cookie`] writes for these
/// arguments.
///
/// # Errors
/// The validation error [`write_delete_cookie`] would return.
///
/// ```
/// use herald_core::cookie_header::{delete_cookie_len, CookieAttributes};
///
/// assert_eq!(delete_cookie_len("messages", CookieAttributes::default()), Ok(83));
/// ```
pub fn delete_cookie_len(name: &str, attrs: CookieAttributes<'_>) -> Result<usize, WriteError> {
    delete_plan(name, attrs).map(|plan| measure(&plan))
}

/// Writes a `Set-Cookie` header value that deletes cookie `name` into `buf` and
/// returns the written part.
///
/// As Django's `delete_cookie` (RULES R-4.11): the value is `""`, with
/// `expires=Thu, 01 Jan 1970 00:00:00 GMT`, `Max-Age=0`, `attrs.path`, and
/// `attrs.domain` / `attrs.same_site` when set. `HttpOnly` is never written and
/// `attrs.max_age` is ignored. `Secure` is written exactly when `SameSite=None` or
/// the name starts with `__Secure-` or `__Host-`; `attrs.secure` is ignored.
/// Never allocates and never panics.
///
/// # Errors
/// As [`write_set_cookie`] (there is no value to check); the length needed is
/// [`delete_cookie_len`].
///
/// # Examples
///
/// ```
/// use herald_core::cookie_header::{write_delete_cookie, CookieAttributes};
///
/// let mut buf = [0u8; 128];
/// assert_eq!(
///     write_delete_cookie(&mut buf, "messages", CookieAttributes::default()),
///     Ok("messages=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax")
/// );
/// ```
pub fn write_delete_cookie<'b>(
    buf: &'b mut [u8],
    name: &str,
    attrs: CookieAttributes<'_>,
) -> Result<&'b str, WriteError> {
    emit(buf, &delete_plan(name, attrs)?)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cookie_octets_are_rfc_6265s_at_every_byte() {
        // RFC 6265 section 4.1.1: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
        for b in 0..=255u8 {
            let rfc = matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E);
            assert_eq!(is_cookie_octet(b), rfc, "byte 0x{b:02x}");
        }
    }

    #[test]
    fn find_byte_agrees_with_position_at_every_place_and_length() {
        for len in 0..100 {
            for at in 0..=len {
                let mut s = [b'a'; 100];
                if at < len {
                    s[at] = b';';
                }
                if at + 40 < len {
                    s[at + 40] = b';';
                }
                let s = &s[..len];
                assert_eq!(
                    find_byte(s, b';'),
                    s.iter().position(|&b| b == b';'),
                    "{len} {at}"
                );
            }
        }
    }
    use proptest::test_runner::FileFailurePersistence;
    use std::boxed::Box;
    use std::string::{String, ToString};
    use std::vec;
    use std::vec::Vec;

    fn find(headers: &[&'static str], name: &str) -> Result<Option<&'static str>, ParseError> {
        find_cookie(headers.iter().map(|h| h.as_bytes()), name)
    }

    fn one(header: &'static str, name: &str) -> Result<Option<&'static str>, ParseError> {
        find(&[header], name)
    }

    // ---- find_cookie / cookie_value -------------------------------------------------

    #[test]
    fn finds_simple_values() {
        assert_eq!(one("messages=abc", "messages"), Ok(Some("abc")));
        assert_eq!(one("a=1; messages=abc; b=2", "messages"), Ok(Some("abc")));
        assert_eq!(one("a=1; b=2", "messages"), Ok(None));
        assert_eq!(one("", "messages"), Ok(None));
        assert_eq!(find(&[], "messages"), Ok(None));
    }

    #[test]
    fn whitespace_is_lenient() {
        for header in [
            "a=1;messages=abc;b=2",
            "a=1; messages=abc; b=2",
            "a=1 ;  messages=abc ;b=2",
            "a=1;\tmessages=abc\t;b=2",
            "  messages  =  abc  ",
            "messages= \"abc\" ",
            ";;messages=abc;;",
        ] {
            assert_eq!(one(header, "messages"), Ok(Some("abc")), "{header:?}");
        }
    }

    #[test]
    fn other_whitespace_is_not_optional_whitespace() {
        // Only SP and HTAB are trimmed; a CR or LF stays part of the name or value.
        assert_eq!(one("\r\nmessages=abc", "messages"), Ok(None));
        assert_eq!(
            one("messages=abc\r\n", "messages"),
            Err(ParseError::InvalidValue {
                header: 0,
                offset: 12,
                byte: b'\r'
            })
        );
    }

    #[test]
    fn quoted_values_are_unquoted() {
        assert_eq!(one("messages=\"abc\"", "messages"), Ok(Some("abc")));
        assert_eq!(one("messages=\"\"", "messages"), Ok(Some("")));
        assert_eq!(
            one("a=\"x\"; messages=\"a:b\"", "messages"),
            Ok(Some("a:b"))
        );
        // Only one pair of quotes is removed; quotes inside are invalid.
        assert_eq!(
            one("messages=\"\"abc\"\"", "messages"),
            Err(ParseError::InvalidValue {
                header: 0,
                offset: 10,
                byte: b'"'
            })
        );
        // Unbalanced quotes.
        for (header, offset) in [
            ("messages=\"abc", 9),
            ("messages=abc\"", 12),
            ("messages=\"", 9),
        ] {
            assert_eq!(
                one(header, "messages"),
                Err(ParseError::InvalidValue {
                    header: 0,
                    offset,
                    byte: b'"'
                }),
                "{header:?}"
            );
        }
        // Whitespace inside the quotes is not trimmed, and is invalid.
        assert_eq!(
            one("messages=\" abc\"", "messages"),
            Err(ParseError::InvalidValue {
                header: 0,
                offset: 10,
                byte: b' '
            })
        );
    }

    #[test]
    fn empty_value() {
        assert_eq!(one("messages=", "messages"), Ok(Some("")));
        assert_eq!(one("messages=  ; a=1", "messages"), Ok(Some("")));
        assert_eq!(
            cookie_value([b"messages=".as_slice()], "messages"),
            Some("")
        );
    }

    #[test]
    fn pieces_without_equals_are_skipped() {
        assert_eq!(one("messages; messages=abc", "messages"), Ok(Some("abc")));
        assert_eq!(one("messages", "messages"), Ok(None));
        assert_eq!(
            one("garbage;;=;=x; messages=abc", "messages"),
            Ok(Some("abc"))
        );
    }

    #[test]
    fn first_occurrence_wins_across_headers() {
        assert_eq!(
            one("messages=one; messages=two", "messages"),
            Ok(Some("one"))
        );
        assert_eq!(
            find(&["a=1", "messages=one", "messages=two"], "messages"),
            Ok(Some("one"))
        );
        assert_eq!(
            find(&["a=1; messages=one", "messages=two"], "messages"),
            Ok(Some("one"))
        );
        // A malformed first occurrence decides: no fallback to a later duplicate.
        assert_eq!(
            find(&["messages=bad value", "messages=good"], "messages"),
            Err(ParseError::InvalidValue {
                header: 0,
                offset: 12,
                byte: b' '
            })
        );
        assert_eq!(
            cookie_value([b"messages=a,b; messages=ok".as_slice()], "messages"),
            None
        );
    }

    #[test]
    fn error_reports_header_index_and_offset() {
        assert_eq!(
            find(&["a=1", "b=2; messages=ok\\no"], "messages"),
            Err(ParseError::InvalidValue {
                header: 1,
                offset: 16,
                byte: b'\\'
            })
        );
    }

    #[test]
    fn names_must_match_exactly() {
        let h = "xmessages=1; messages2=2; Messages=3; messagesx=4; message=5";
        assert_eq!(one(h, "messages"), Ok(None));
        assert_eq!(one("xmessages=1; messages=ok", "messages"), Ok(Some("ok")));
        assert_eq!(one("messages2=1", "messages2"), Ok(Some("1")));
        // A name with inner whitespace is a different name.
        assert_eq!(one("mess ages=1", "messages"), Ok(None));
        // `=` inside the value belongs to the value; the piece splits at the first `=`.
        assert_eq!(one("messages=a=b==", "messages"), Ok(Some("a=b==")));
        assert_eq!(one("a=messages=x", "messages"), Ok(None));
    }

    #[test]
    fn invalid_names_are_errors() {
        for name in ["", "a b", "a;b", "a=b", "mess\"ages", "é", "a\r"] {
            assert_eq!(
                one("messages=1", name),
                Err(ParseError::InvalidName),
                "{name:?}"
            );
            assert_eq!(cookie_value([b"a=1".as_slice()], name), None);
        }
    }

    #[test]
    fn foreign_cookies_with_odd_bytes_do_not_hide_ours() {
        let header: &[u8] =
            b"json={\"a\": [1, 2]}; bin=\xff\xfe\x00; sp=a b c; messages=W1s:1r31eq:l2M-_";
        assert_eq!(
            find_cookie([header], "messages"),
            Ok(Some("W1s:1r31eq:l2M-_"))
        );
        let header2: &[u8] = b"\xff\xff=1; \xc3\xa9=2";
        assert_eq!(
            find_cookie([header2, b"messages=x".as_slice()], "messages"),
            Ok(Some("x"))
        );
    }

    #[test]
    fn non_utf8_and_non_ascii_values_are_invalid() {
        let header: &[u8] = b"messages=ab\xffcd";
        assert_eq!(
            find_cookie([header], "messages"),
            Err(ParseError::InvalidValue {
                header: 0,
                offset: 11,
                byte: 0xff
            })
        );
        let header: &[u8] = "messages=café".as_bytes();
        assert_eq!(
            find_cookie([header], "messages"),
            Err(ParseError::InvalidValue {
                header: 0,
                offset: 12,
                byte: 0xc3
            })
        );
    }

    #[test]
    fn all_cookie_octets_are_accepted() {
        let value: String = (0u8..=0x7f)
            .filter(|&b| is_cookie_octet(b))
            .map(char::from)
            .collect();
        assert_eq!(value.len(), 90);
        let header = std::format!("messages={value}");
        assert_eq!(
            find_cookie([header.as_bytes()], "messages"),
            Ok(Some(value.as_str()))
        );
        for b in (0u8..=0xff).filter(|&b| !is_cookie_octet(b) && b != b';') {
            let header = [b"messages=a".as_slice(), &[b], b"b"].concat();
            // Whitespace inside a value is not trimmed, so it is invalid too.
            let expected = ParseError::InvalidValue {
                header: 0,
                offset: 10,
                byte: b,
            };
            assert_eq!(find_cookie([header.as_slice()], "messages"), Err(expected));
        }
    }

    #[test]
    fn returned_value_borrows_the_header() {
        let header: &[u8] = b"a=1; messages=\"xyz\"";
        let value = find_cookie([header], "messages").unwrap().unwrap();
        let range = header.as_ptr_range();
        assert!(range.contains(&value.as_ptr()));
        assert_eq!(value.as_ptr() as usize - header.as_ptr() as usize, 15);
    }

    // ---- write_set_cookie / write_delete_cookie -------------------------------------

    fn set(name: &str, value: &str, attrs: CookieAttributes<'_>) -> Result<String, WriteError> {
        let mut buf = [0u8; 512];
        let written = write_set_cookie(&mut buf, name, value, attrs)?.to_string();
        assert_eq!(set_cookie_len(name, value, attrs), Ok(written.len()));
        Ok(written)
    }

    fn delete(name: &str, attrs: CookieAttributes<'_>) -> Result<String, WriteError> {
        let mut buf = [0u8; 512];
        let written = write_delete_cookie(&mut buf, name, attrs)?.to_string();
        assert_eq!(delete_cookie_len(name, attrs), Ok(written.len()));
        Ok(written)
    }

    const STRICT: CookieAttributes<'static> = CookieAttributes {
        path: "/",
        domain: Some(".example.com"),
        secure: true,
        http_only: true,
        same_site: Some(SameSite::Strict),
        max_age: None,
    };

    #[test]
    fn defaults_are_djangos() {
        let attrs = CookieAttributes::default();
        assert_eq!(attrs, CookieAttributes::new());
        assert_eq!(attrs.path, "/");
        assert_eq!(attrs.domain, None);
        assert!(!attrs.secure);
        assert!(attrs.http_only);
        assert_eq!(attrs.same_site, Some(SameSite::Lax));
        assert_eq!(attrs.max_age, None);
    }

    /// Header texts from the Django 6.1.3 conformance vectors (RULES R-4.10, R-4.11).
    #[test]
    fn set_matches_django() {
        assert_eq!(
            set("messages", "W1s:1r31eq:abc", CookieAttributes::default()).unwrap(),
            "messages=W1s:1r31eq:abc; HttpOnly; Path=/; SameSite=Lax"
        );
        assert_eq!(
            set("messages", "W1s:1r31eq:abc", STRICT).unwrap(),
            "messages=W1s:1r31eq:abc; Domain=.example.com; HttpOnly; Path=/; SameSite=Strict; Secure"
        );
        let none_secure = CookieAttributes {
            secure: true,
            same_site: Some(SameSite::None),
            ..CookieAttributes::default()
        };
        assert_eq!(
            set("messages", "v", none_secure).unwrap(),
            "messages=v; HttpOnly; Path=/; SameSite=None; Secure"
        );
        let bare = CookieAttributes {
            http_only: false,
            same_site: None,
            ..CookieAttributes::default()
        };
        assert_eq!(set("messages", "v", bare).unwrap(), "messages=v; Path=/");
    }

    #[test]
    fn delete_matches_django() {
        assert_eq!(
            delete("messages", CookieAttributes::default()).unwrap(),
            "messages=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax"
        );
        // Secure and HttpOnly from the attributes are ignored on deletion.
        assert_eq!(
            delete("messages", STRICT).unwrap(),
            "messages=\"\"; Domain=.example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Strict"
        );
        let none = CookieAttributes {
            same_site: Some(SameSite::None),
            ..CookieAttributes::default()
        };
        assert_eq!(
            delete("messages", none).unwrap(),
            "messages=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=None; Secure"
        );
        let no_same_site = CookieAttributes {
            same_site: None,
            max_age: Some(100),
            ..CookieAttributes::default()
        };
        assert_eq!(
            delete("messages", no_same_site).unwrap(),
            "messages=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"
        );
    }

    #[test]
    fn delete_secure_for_prefixed_names() {
        for name in ["__Secure-messages", "__Host-messages"] {
            assert!(
                delete(name, CookieAttributes::default())
                    .unwrap()
                    .ends_with("; SameSite=Lax; Secure")
            );
        }
        assert!(
            !delete("__secure-messages", CookieAttributes::default())
                .unwrap()
                .contains("Secure")
        );
    }

    #[test]
    fn max_age_and_empty_value() {
        let attrs = CookieAttributes {
            max_age: Some(1_209_600),
            ..CookieAttributes::default()
        };
        assert_eq!(
            set("messages", "v", attrs).unwrap(),
            "messages=v; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"
        );
        for (max_age, text) in [
            (0, "0"),
            (9, "9"),
            (10, "10"),
            (u64::MAX, "18446744073709551615"),
        ] {
            let attrs = CookieAttributes {
                max_age: Some(max_age),
                ..CookieAttributes::default()
            };
            assert!(
                set("n", "v", attrs)
                    .unwrap()
                    .contains(&std::format!("; Max-Age={text}; "))
            );
        }
        assert_eq!(
            set("messages", "", CookieAttributes::default()).unwrap(),
            "messages=\"\"; HttpOnly; Path=/; SameSite=Lax"
        );
    }

    #[test]
    fn buffer_too_small_reports_exact_length() {
        let attrs = STRICT;
        let needed = set_cookie_len("messages", "abc", attrs).unwrap();
        let mut buf = vec![0u8; needed];
        assert_eq!(
            write_set_cookie(&mut buf, "messages", "abc", attrs).map(str::len),
            Ok(needed)
        );
        for len in [0, 1, needed / 2, needed - 1] {
            let mut buf = vec![0u8; len];
            assert_eq!(
                write_set_cookie(&mut buf, "messages", "abc", attrs),
                Err(WriteError::BufferTooSmall { needed })
            );
        }
        let needed = delete_cookie_len("messages", attrs).unwrap();
        let mut buf = vec![0u8; needed - 1];
        assert_eq!(
            write_delete_cookie(&mut buf, "messages", attrs),
            Err(WriteError::BufferTooSmall { needed })
        );
        // A larger buffer: only the header is returned.
        let mut buf = [b'#'; 300];
        let written = write_delete_cookie(&mut buf, "messages", attrs).unwrap();
        assert_eq!(written.len(), needed);
        assert_eq!(buf[needed], b'#');
    }

    #[test]
    fn rejects_injection_bytes() {
        let d = CookieAttributes::default();
        let e = |field, position, byte| {
            Err(WriteError::InvalidByte {
                field,
                position,
                byte,
            })
        };
        assert_eq!(set("messages", "a;b", d), e(Field::Value, 1, b';'));
        assert_eq!(
            set("messages", "a\r\nSet-Cookie: x=y", d),
            e(Field::Value, 1, b'\r')
        );
        assert_eq!(set("messages", "a\nb", d), e(Field::Value, 1, b'\n'));
        assert_eq!(set("messages", "a b", d), e(Field::Value, 1, b' '));
        assert_eq!(set("messages", "a,b", d), e(Field::Value, 1, b','));
        assert_eq!(set("messages", "\"ab\"", d), e(Field::Value, 0, b'"'));
        assert_eq!(set("messages", "a\\b", d), e(Field::Value, 1, b'\\'));
        assert_eq!(set("messages", "a\x7fb", d), e(Field::Value, 1, 0x7f));
        assert_eq!(set("messages", "é", d), e(Field::Value, 0, 0xc3));
        assert_eq!(set("mess=ages", "v", d), e(Field::Name, 4, b'='));
        assert_eq!(set("mess;ages", "v", d), e(Field::Name, 4, b';'));
        assert_eq!(set("a b", "v", d), e(Field::Name, 1, b' '));
        assert_eq!(set("a\0", "v", d), e(Field::Name, 1, 0));
        assert_eq!(
            set("", "v", d),
            Err(WriteError::Empty { field: Field::Name })
        );
        assert_eq!(delete("", d), Err(WriteError::Empty { field: Field::Name }));
        assert_eq!(delete("a\tb", d), e(Field::Name, 1, b'\t'));

        let domain = |domain| CookieAttributes {
            domain: Some(domain),
            ..d
        };
        assert_eq!(
            set("n", "v", domain("")),
            Err(WriteError::Empty {
                field: Field::Domain
            })
        );
        assert_eq!(
            set("n", "v", domain("a.com; Secure")),
            e(Field::Domain, 5, b';')
        );
        assert_eq!(delete("n", domain("a.com\r\n")), e(Field::Domain, 5, b'\r'));
        assert_eq!(set("n", "v", domain("a.com/x")), e(Field::Domain, 5, b'/'));
        assert!(set("n", "v", domain("sub_1.Example-2.com")).is_ok());

        let path = |path| CookieAttributes { path, ..d };
        assert_eq!(
            set("n", "v", path("")),
            Err(WriteError::Empty { field: Field::Path })
        );
        assert_eq!(set("n", "v", path("/a;b")), e(Field::Path, 2, b';'));
        assert_eq!(delete("n", path("/a\nb")), e(Field::Path, 2, b'\n'));
        assert_eq!(set("n", "v", path("/\x7f")), e(Field::Path, 1, 0x7f));
        assert_eq!(set("n", "v", path("/é")), e(Field::Path, 1, 0xc3));
        assert!(set("n", "v", path("/a b/c,d=e")).is_ok());

        // Validation order: name, value, domain, path.
        let bad_attrs = CookieAttributes {
            path: "",
            domain: Some(";"),
            ..d
        };
        assert_eq!(set("a b", "x y", bad_attrs), e(Field::Name, 1, b' '));
        assert_eq!(set("n", "x y", bad_attrs), e(Field::Value, 1, b' '));
        assert_eq!(set("n", "v", bad_attrs), e(Field::Domain, 0, b';'));
        assert_eq!(
            set(
                "n",
                "v",
                CookieAttributes {
                    domain: None,
                    ..bad_attrs
                }
            ),
            Err(WriteError::Empty { field: Field::Path })
        );
    }

    #[test]
    fn same_site_parse_and_display() {
        for (s, v) in [
            ("Lax", SameSite::Lax),
            ("lax", SameSite::Lax),
            ("STRICT", SameSite::Strict),
            ("None", SameSite::None),
            ("nOnE", SameSite::None),
        ] {
            assert_eq!(SameSite::parse(s), Some(v));
        }
        for s in ["", "lax ", "laxx", "no", "false"] {
            assert_eq!(SameSite::parse(s), None);
        }
        assert_eq!(SameSite::Strict.to_string(), "Strict");
        assert_eq!(
            WriteError::BufferTooSmall { needed: 7 }.to_string(),
            "buffer too small: the Set-Cookie value needs 7 bytes"
        );
        assert_eq!(
            ParseError::InvalidValue {
                header: 1,
                offset: 2,
                byte: b' '
            }
            .to_string(),
            "invalid byte 0x20 in cookie value (header 1, offset 2)"
        );
    }

    #[test]
    fn written_header_reads_back() {
        let mut buf = [0u8; 256];
        let written = write_set_cookie(&mut buf, "messages", "W1s:1r31eq", STRICT).unwrap();
        assert_eq!(
            cookie_value([written.as_bytes()], "messages"),
            Some("W1s:1r31eq")
        );
        let written = write_delete_cookie(&mut buf, "messages", STRICT).unwrap();
        assert_eq!(cookie_value([written.as_bytes()], "messages"), Some(""));
    }

    // ---- property tests --------------------------------------------------------------

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 2000,
            failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../proptest-regressions/cookie_header.txt"
            )))),
            ..ProptestConfig::default()
        }
    }

    /// An independent, allocating model of the documented reading rules.
    fn model(headers: &[Vec<u8>], name: &str) -> Result<Option<Vec<u8>>, ()> {
        let ows = |b: &u8| *b == b' ' || *b == b'\t';
        let trim = |s: &[u8]| -> Vec<u8> {
            let mut v = s.to_vec();
            while v.first().is_some_and(ows) {
                v.remove(0);
            }
            while v.last().is_some_and(ows) {
                v.pop();
            }
            v
        };
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if name.is_empty() || !name.bytes().all(token) {
            return Err(());
        }
        for header in headers {
            for piece in header.split(|b| *b == b';') {
                let Some(eq) = piece.iter().position(|b| *b == b'=') else {
                    continue;
                };
                if trim(&piece[..eq]) != name.as_bytes() {
                    continue;
                }
                let mut value = trim(&piece[eq + 1..]);
                if value.len() >= 2 && value[0] == b'"' && value[value.len() - 1] == b'"' {
                    value = value[1..value.len() - 1].to_vec();
                }
                let octet = |b: &u8| (0x21..=0x7e).contains(b) && !b"\",;\\".contains(b);
                return if value.iter().all(octet) {
                    Ok(Some(value))
                } else {
                    Err(())
                };
            }
        }
        Ok(None)
    }

    /// Header bytes that often look like cookies.
    fn cookieish_bytes() -> impl Strategy<Value = Vec<u8>> {
        let alphabet: &'static [u8] = b"messages=;; \t\"\"==,\\\r\n\x00\x7f\xff\xc3abc:-_";
        let piece = (
            "[ \t]{0,2}",
            prop_oneof![Just("messages"), Just("a"), Just("xmessages"), Just("")],
            "[ \t]{0,2}",
            proptest::option::weighted(0.9, Just("=")),
            prop_oneof![
                "[a-z0-9:_-]{0,8}",
                "\"[a-z0-9:_-]{0,8}\"",
                "[a-z\" ,\\\\]{0,4}",
            ],
            "[ \t]{0,2}",
        )
            .prop_map(|(a, name, b, eq, value, c)| {
                [
                    a.as_str(),
                    name,
                    b.as_str(),
                    eq.unwrap_or(""),
                    value.as_str(),
                    c.as_str(),
                ]
                .concat()
                .into_bytes()
            });
        prop_oneof![
            1 => proptest::collection::vec(any::<u8>(), 0..64),
            1 => proptest::collection::vec(proptest::sample::select(alphabet), 0..64),
            2 => proptest::collection::vec(
                prop_oneof![
                    Just(b"messages=".to_vec()),
                    Just(b"; ".to_vec()),
                    Just(b";".to_vec()),
                    Just(b"\"".to_vec()),
                    Just(b" ".to_vec()),
                    "[a-z:=\"]{0,6}".prop_map(String::into_bytes),
                    proptest::collection::vec(any::<u8>(), 0..3),
                ],
                0..12
            )
            .prop_map(|parts| parts.concat()),
            4 => proptest::collection::vec(piece, 0..6).prop_map(|pieces| pieces.join(&b';')),
        ]
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => Just("messages".to_string()),
            2 => "[a-z]{1,3}",
            1 => "[a-z =;\"]{0,4}",
            1 => any::<String>(),
        ]
    }

    /// Cookie names: tokens not starting with `~` (junk pieces start with `~`).
    /// The small alphabet makes prefix relations between names frequent.
    fn token_name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ab_][ab_-]{0,3}",
            "[A-Za-z0-9!#$%&'*+.^_`|-][A-Za-z0-9!#$%&'*+.^_`|~-]{0,10}",
        ]
    }

    fn cookie_octets() -> impl Strategy<Value = String> {
        "[\\x21\\x23-\\x2B\\x2D-\\x3A\\x3C-\\x5B\\x5D-\\x7E]{0,24}"
    }

    fn ows() -> impl Strategy<Value = String> {
        "[ \t]{0,2}"
    }

    /// How one `name=value` piece is written.
    #[derive(Clone, Debug)]
    struct Layout {
        before: String,
        around_eq: (String, String),
        after: String,
        quoted: bool,
        new_header: bool,
        junk_before: Option<Vec<u8>>,
    }

    fn layout() -> impl Strategy<Value = Layout> {
        (
            ows(),
            (ows(), ows()),
            ows(),
            any::<bool>(),
            proptest::bool::weighted(0.2),
            proptest::option::weighted(
                0.3,
                proptest::collection::vec(any::<u8>().prop_filter("no ;", |b| *b != b';'), 0..12),
            ),
        )
            .prop_map(
                |(before, around_eq, after, quoted, new_header, junk_before)| Layout {
                    before,
                    around_eq,
                    after,
                    quoted,
                    new_header,
                    junk_before,
                },
            )
    }

    /// Writes pieces into headers following their layouts.
    fn build(pieces: &[(String, String, Layout)]) -> Vec<Vec<u8>> {
        let mut headers: Vec<Vec<u8>> = vec![Vec::new()];
        for (name, value, layout) in pieces {
            if layout.new_header {
                headers.push(Vec::new());
            }
            let header = headers.last_mut().unwrap();
            if let Some(junk) = &layout.junk_before {
                if !header.is_empty() {
                    header.push(b';');
                }
                header.push(b'~'); // never a wanted name after trimming
                header.extend_from_slice(junk);
            }
            if !header.is_empty() {
                header.push(b';');
            }
            header.extend_from_slice(layout.before.as_bytes());
            header.extend_from_slice(name.as_bytes());
            header.extend_from_slice(layout.around_eq.0.as_bytes());
            header.push(b'=');
            header.extend_from_slice(layout.around_eq.1.as_bytes());
            if layout.quoted {
                header.push(b'"');
            }
            header.extend_from_slice(value.as_bytes());
            if layout.quoted {
                header.push(b'"');
            }
            header.extend_from_slice(layout.after.as_bytes());
        }
        headers
    }

    /// A test-only `Set-Cookie` parser for Django's rendering.
    #[derive(Debug, Default, PartialEq)]
    struct Parsed {
        name: String,
        value: String,
        domain: Option<String>,
        expires: Option<String>,
        http_only: bool,
        max_age: Option<u64>,
        path: Option<String>,
        same_site: Option<String>,
        secure: bool,
    }

    fn parse_set_cookie(header: &str) -> Parsed {
        let mut parts = header.split("; ");
        let (name, value) = parts.next().unwrap().split_once('=').unwrap();
        let value = value
            .strip_prefix('"')
            .map_or(value, |v| v.strip_suffix('"').unwrap());
        let mut parsed = Parsed {
            name: name.to_string(),
            value: value.to_string(),
            ..Parsed::default()
        };
        let mut keys = Vec::new();
        for attr in parts {
            let (key, val) = match attr.split_once('=') {
                Some((k, v)) => (k, Some(v.to_string())),
                None => (attr, None),
            };
            keys.push(key.to_ascii_lowercase());
            match key {
                "Domain" => parsed.domain = val,
                "expires" => parsed.expires = val,
                "HttpOnly" => parsed.http_only = val.is_none(),
                "Max-Age" => parsed.max_age = Some(val.unwrap().parse().unwrap()),
                "Path" => parsed.path = val,
                "SameSite" => parsed.same_site = val,
                "Secure" => parsed.secure = val.is_none(),
                other => panic!("unexpected attribute {other:?} in {header:?}"),
            }
        }
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "attributes out of Morsel order or repeated");
        parsed
    }

    fn attributes() -> impl Strategy<
        Value = (
            String,
            Option<String>,
            bool,
            bool,
            Option<SameSite>,
            Option<u64>,
        ),
    > {
        (
            "/[\\x20-\\x3A\\x3C-\\x7E]{0,16}",
            proptest::option::of("\\.?[A-Za-z0-9_-]{1,10}(\\.[A-Za-z0-9_-]{1,10}){0,2}"),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(prop_oneof![
                Just(SameSite::Lax),
                Just(SameSite::Strict),
                Just(SameSite::None)
            ]),
            proptest::option::of(prop_oneof![any::<u64>(), 0u64..100_000]),
        )
    }

    proptest! {
        #![proptest_config(config())]

        /// (a) Any header bytes: no panic; the answer is the model's, and a found value
        /// is a sub-slice of a header made of cookie-octets.
        #[test]
        fn any_bytes_never_panic(
            headers in proptest::collection::vec(cookieish_bytes(), 0..4),
            name in name_strategy(),
        ) {
            let slices: Vec<&[u8]> = headers.iter().map(Vec::as_slice).collect();
            let found = find_cookie(slices.iter().copied(), &name);
            prop_assert_eq!(cookie_value(slices.iter().copied(), &name), found.ok().flatten());
            match (found, model(&headers, &name)) {
                (Ok(Some(value)), Ok(Some(expected))) => {
                    prop_assert_eq!(value.as_bytes(), expected.as_slice());
                    prop_assert!(value.bytes().all(is_cookie_octet));
                    let inside = headers.iter().any(|h| {
                        let r = h.as_ptr_range();
                        r.start <= value.as_ptr() && value.as_ptr() as usize + value.len() <= r.end as usize
                    });
                    prop_assert!(inside, "value is not borrowed from a header");
                }
                (Ok(None), Ok(None)) => {}
                (Err(ParseError::InvalidName), Err(())) => {
                    prop_assert!(name.is_empty() || !name.bytes().all(is_tchar));
                }
                (Err(ParseError::InvalidValue { header, offset, byte }), Err(())) => {
                    prop_assert_eq!(headers[header].get(offset).copied(), Some(byte));
                    prop_assert!(!is_cookie_octet(byte));
                }
                (got, expected) => prop_assert!(false, "got {:?}, model says {:?}", got, expected),
            }
        }

        /// (b) A header built from distinct random pairs, with random whitespace,
        /// quoting, header splits, foreign junk and later duplicates: every name
        /// gives its own (first) value.
        #[test]
        fn random_pairs_are_found(
            pairs in proptest::collection::btree_map(token_name(), (cookie_octets(), layout()), 1..10)
                .prop_map(|m| m.into_iter().map(|(n, (v, l))| (n, v, l)).collect::<Vec<_>>())
                .prop_shuffle(),
            duplicates in proptest::collection::vec((any::<prop::sample::Index>(), cookie_octets(), layout()), 0..4),
            absent in token_name(),
        ) {
            let mut pieces = pairs.clone();
            for (index, value, layout) in &duplicates {
                let name = pairs[index.index(pairs.len())].0.clone();
                pieces.push((name, value.clone(), layout.clone()));
            }
            let headers = build(&pieces);
            let slices: Vec<&[u8]> = headers.iter().map(Vec::as_slice).collect();
            for (name, value, _) in &pairs {
                prop_assert_eq!(
                    find_cookie(slices.iter().copied(), name),
                    Ok(Some(value.as_str())),
                    "name {:?} in {:?}", name, headers.iter().map(|h| String::from_utf8_lossy(h)).collect::<Vec<_>>()
                );
            }
            if !pairs.iter().any(|(n, _, _)| *n == absent) {
                prop_assert_eq!(find_cookie(slices.iter().copied(), &absent), Ok(None));
            }
        }

        /// (c) A written Set-Cookie parses back to the same name, value and attributes;
        /// the measured length is the written length, and one byte less is too small.
        #[test]
        fn set_cookie_round_trips(
            name in token_name(),
            value in cookie_octets(),
            (path, domain, secure, http_only, same_site, max_age) in attributes(),
        ) {
            let attrs = CookieAttributes { path: &path, domain: domain.as_deref(), secure, http_only, same_site, max_age };
            let mut buf = [0u8; 256];
            let needed = set_cookie_len(&name, &value, attrs).unwrap();
            let written = write_set_cookie(&mut buf, &name, &value, attrs).unwrap();
            prop_assert_eq!(written.len(), needed);
            prop_assert_eq!(
                parse_set_cookie(written),
                Parsed {
                    name: name.clone(),
                    value: value.clone(),
                    domain: domain.clone(),
                    expires: None,
                    http_only,
                    max_age,
                    path: Some(path.clone()),
                    same_site: same_site.map(|s| s.as_str().to_string()),
                    secure,
                }
            );
            // The name=value part is itself a valid Cookie header for our reader.
            prop_assert_eq!(cookie_value([written.as_bytes()], &name), Some(value.as_str()));
            let mut exact = vec![0u8; needed];
            prop_assert_eq!(write_set_cookie(&mut exact, &name, &value, attrs), Ok(written));
            let mut short = vec![0u8; needed - 1];
            prop_assert_eq!(
                write_set_cookie(&mut short, &name, &value, attrs),
                Err(WriteError::BufferTooSmall { needed })
            );

            let needed = delete_cookie_len(&name, attrs).unwrap();
            let written = write_delete_cookie(&mut buf, &name, attrs).unwrap();
            prop_assert_eq!(written.len(), needed);
            prop_assert_eq!(
                parse_set_cookie(written),
                Parsed {
                    name: name.clone(),
                    value: String::new(),
                    domain: domain.clone(),
                    expires: Some(EXPIRES_EPOCH.to_string()),
                    http_only: false,
                    max_age: Some(0),
                    path: Some(path.clone()),
                    same_site: same_site.map(|s| s.as_str().to_string()),
                    secure: same_site == Some(SameSite::None)
                        || name.starts_with("__Secure-")
                        || name.starts_with("__Host-"),
                }
            );
            let mut short = vec![0u8; needed - 1];
            prop_assert_eq!(
                write_delete_cookie(&mut short, &name, attrs),
                Err(WriteError::BufferTooSmall { needed })
            );
        }

        /// Arbitrary strings for every field: no panic, and whatever is written
        /// holds no control, non-ASCII or stray `;` bytes (it parses back exactly).
        #[test]
        fn writer_never_injects(
            name in prop_oneof![token_name(), any::<String>()],
            value in prop_oneof![cookie_octets(), any::<String>()],
            path in prop_oneof![Just("/".to_string()), any::<String>()],
            domain in proptest::option::of(any::<String>()),
            len in 0usize..200,
        ) {
            let attrs = CookieAttributes { path: &path, domain: domain.as_deref(), ..CookieAttributes::default() };
            let mut buf = vec![0u8; len];
            for (result, measured) in [
                (write_set_cookie(&mut buf.clone(), &name, &value, attrs).map(str::to_string),
                 set_cookie_len(&name, &value, attrs)),
                (write_delete_cookie(&mut buf, &name, attrs).map(str::to_string),
                 delete_cookie_len(&name, attrs)),
            ] {
                match result {
                    Ok(written) => {
                        prop_assert_eq!(measured, Ok(written.len()));
                        prop_assert!(written.bytes().all(|b| (0x20..0x7f).contains(&b)));
                        let parsed = parse_set_cookie(&written);
                        prop_assert_eq!(&parsed.name, &name);
                        prop_assert_eq!(parsed.path.as_deref(), Some(path.as_str()));
                        prop_assert_eq!(parsed.domain.as_deref(), domain.as_deref());
                    }
                    Err(WriteError::BufferTooSmall { needed }) => {
                        prop_assert_eq!(measured, Ok(needed));
                        prop_assert!(needed > len);
                    }
                    Err(err) => prop_assert_eq!(measured, Err(err)),
                }
            }
        }
    }
}
