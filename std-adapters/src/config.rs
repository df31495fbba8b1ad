//! Configuration: secret keys, the cookie's name and attributes, levels, tags and storage,
//! with safe defaults and clear start-up errors.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use herald_core::cookie_header::{self, CookieAttributes};
use herald_core::signer::{DEFAULT_FALLBACKS, KeyError, MAX_VALUE_LEN};
use herald_core::{Level, Limits, Signer, TagTable};

pub use herald_core::SameSite;

/// The shortest secret accepted, in bytes. Shorter secrets are a start-up error.
pub const MIN_SECRET_LEN: usize = herald_core::signer::MIN_SECRET_LEN;
/// The most fallback (previous) secrets a configuration accepts.
pub const MAX_FALLBACK_SECRETS: usize = DEFAULT_FALLBACKS;
/// The smallest allowed maximum cookie value size: room for the not-finished marker and a
/// short message.
pub const MIN_COOKIE_SIZE: usize = 128;
/// The largest allowed maximum cookie value size (browsers keep about 4096 bytes a cookie).
pub const MAX_COOKIE_SIZE: usize = MAX_VALUE_LEN;
/// The signing purpose bound into every cookie's MAC (domain separation from any other
/// use of the same secret).
pub const SIGNING_PURPOSE: &str = "herald.messages";

/// The format of the messages cookie and of the session entry.
///
/// The choice applies to every storage (cookie, session, fallback); the storage rules
/// (what is read, written, kept, dropped) are the same for both, and come from the core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WireFormat {
    /// herald's own format: a compact binary body, base64url, HMAC-SHA256 bound to the
    /// cookie name and [`SIGNING_PURPOSE`], key rotation that re-signs old cookies.
    #[default]
    Herald,
    /// Django's `contrib.messages` format, byte for byte (feature `django`): the cookie as
    /// Django's `CookieStorage` signs it with `SECRET_KEY` (the configured secret) and
    /// verifies it with `SECRET_KEY_FALLBACKS` (the fallback secrets), Django's size
    /// measure and bisection for what fits, and the session entry as the JSON string
    /// Django's `SessionStorage` keeps under `_messages`. A Django site and a herald
    /// service on one domain, sharing the secret, then read each other's messages. See
    /// `crate::django` for what is kept out of the inbox (non-message items).
    ///
    /// The variant always exists, so a `match` compiles whatever features are on;
    /// [`ConfigBuilder::build`] refuses it with [`ConfigError::FeatureDisabled`] unless
    /// the `django` feature is enabled.
    Django,
}

/// A configuration that cannot be used. Every variant is a start-up error: build the
/// configuration (and the layer or middleware) before serving.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No secret key was given.
    #[error(
        "herald: no secret key configured; call Config::builder().secret(..) with at least {MIN_SECRET_LEN} random bytes (for example from an environment variable)"
    )]
    MissingSecret,
    /// The secret key is shorter than [`MIN_SECRET_LEN`] bytes.
    #[error(
        "herald: the secret key is {len} bytes long; at least {MIN_SECRET_LEN} bytes are required"
    )]
    SecretTooShort {
        /// The length of the given secret.
        len: usize,
    },
    /// A fallback secret is shorter than [`MIN_SECRET_LEN`] bytes.
    #[error(
        "herald: fallback secret #{index} is {len} bytes long; at least {MIN_SECRET_LEN} bytes are required"
    )]
    FallbackSecretTooShort {
        /// The position of the fallback secret.
        index: usize,
        /// Its length.
        len: usize,
    },
    /// More than [`MAX_FALLBACK_SECRETS`] fallback secrets were given.
    #[error("herald: {count} fallback secrets given; at most {MAX_FALLBACK_SECRETS} are supported")]
    TooManyFallbackSecrets {
        /// How many were given.
        count: usize,
    },
    /// The cookie name is empty or not an RFC 6265 token.
    #[error("herald: invalid cookie name {0:?}: it must be a non-empty RFC 6265 token")]
    InvalidCookieName(String),
    /// The maximum cookie size is outside [`MIN_COOKIE_SIZE`]..=[`MAX_COOKIE_SIZE`].
    #[error(
        "herald: maximum cookie size {0} is out of range: it must be between {MIN_COOKIE_SIZE} and {MAX_COOKIE_SIZE}"
    )]
    CookieSizeOutOfRange(usize),
    /// A cookie attribute (path or domain) contains characters that cannot appear in a
    /// `Set-Cookie` header, or is too long; or a SameSite setting is not `lax`, `strict`
    /// or `none`.
    #[error("herald: invalid cookie {attribute} {value:?}")]
    InvalidAttribute {
        /// `"path"`, `"domain"` or `"samesite"`.
        attribute: &'static str,
        /// The rejected value.
        value: String,
    },
    /// The cookie settings require `Secure` (`SameSite=None`, or a `__Secure-`/`__Host-`
    /// name prefix) but it is off, or a `__Host-` cookie has a Domain or a Path other than
    /// `/`.
    #[error("herald: {0}")]
    InsecureCookie(&'static str),
    /// The configuration asks for something a disabled cargo feature provides (for
    /// example [`WireFormat::Django`] without the `django` feature).
    #[error(
        "herald: {what} needs the `{feature}` feature of herald-flash; enable it in Cargo.toml"
    )]
    FeatureDisabled {
        /// What was asked for.
        what: &'static str,
        /// The feature that provides it.
        feature: &'static str,
    },
    /// A request limit is zero.
    #[error("herald: the request limits must allow at least one message and one byte")]
    InvalidLimits,
    /// Encrypted cookies ([`ConfigBuilder::encrypt_cookies`]) were asked for with
    /// [`WireFormat::Django`], which Django signs and cannot encrypt.
    #[error(
        "herald: encrypted cookies need herald's own wire format; Django's format is signed as Django signs it"
    )]
    EncryptionNeedsHeraldFormat,
}

/// The complete, validated configuration. Cheap to clone (one reference count); build it
/// once with [`Config::builder`] and share it between servers, layers and threads.
///
/// Defaults follow Django: cookie `messages`, at most 2048 characters of value, `Path=/`,
/// no `Domain`, `Secure` on, `HttpOnly` on, `SameSite=Lax`, minimum level INFO, Django's
/// tags, session key `_messages`, no cookie expiry check; and, as a guard against abuse,
/// at most 64 KiB of text and 1000 messages per request. The storage (cookie, session or
/// fallback) is chosen where the layer is built (`MessagesLayer::cookie`, `::session`,
/// `::fallback`).
#[derive(Clone)]
pub struct Config {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) signer: Signer,
    /// The cipher for encrypted cookies ([`ConfigBuilder::encrypt_cookies`]), in place of
    /// the signer for the messages cookie.
    #[cfg(feature = "encryption")]
    pub(crate) cipher: Option<herald_core::Cipher>,
    pub(crate) cookie_name: Box<str>,
    pub(crate) max_cookie_size: usize,
    pub(crate) path: Box<str>,
    pub(crate) domain: Option<Box<str>>,
    pub(crate) secure: bool,
    pub(crate) http_only: bool,
    pub(crate) same_site: Option<SameSite>,
    /// `same_site` as configured: written verbatim in Django's format (Django writes its
    /// `SESSION_COOKIE_SAMESITE` setting as given); the canonical spelling otherwise.
    #[cfg_attr(not(feature = "django"), allow(dead_code))]
    pub(crate) same_site_text: Option<Box<str>>,
    pub(crate) min_level: Level,
    pub(crate) tags: Box<[(Level, &'static str)]>,
    pub(crate) limits: Limits,
    pub(crate) session_key: Box<str>,
    pub(crate) max_age: Option<u64>,
    pub(crate) wire_format: WireFormat,
    /// The Django codec (keys derived once), present exactly for [`WireFormat::Django`].
    #[cfg(feature = "django")]
    pub(crate) django: Option<crate::django::DjangoCodec>,
    pub(crate) clock: fn() -> u64,
    /// The deletion `Set-Cookie` value, rendered on first use: it depends on the
    /// configuration only, so every response that deletes the cookie shares it (no
    /// allocation per response). See [`crate::cookies::deletion`].
    pub(crate) deletion:
        std::sync::OnceLock<Result<bytes::Bytes, herald_core::cookie_header::WriteError>>,
    /// The deletion line as each framework's header value, made on first use from
    /// `deletion`. See [`crate::cookies::DeletionValues`].
    pub(crate) deletion_values: crate::cookies::DeletionValues,
    /// The `Set-Cookie` line around a sealed value (`name=` and the attributes), rendered
    /// on first use. See [`crate::cookies::sealed_line`].
    pub(crate) set_template: std::sync::OnceLock<
        Result<crate::cookies::SetTemplate, herald_core::cookie_header::WriteError>,
    >,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Config")
            .field("secret", &"<redacted>")
            .field("fallback_secrets", &i.signer.fallback_count())
            .field("encrypted", &i.encrypted())
            .field("cookie_name", &i.cookie_name)
            .field("max_cookie_size", &i.max_cookie_size)
            .field("path", &i.path)
            .field("domain", &i.domain)
            .field("secure", &i.secure)
            .field("http_only", &i.http_only)
            .field("same_site", &i.same_site)
            .field("min_level", &i.min_level)
            .field("tags", &i.tags)
            .field("limits", &i.limits)
            .field("session_key", &i.session_key)
            .field("max_age", &i.max_age)
            .field("wire_format", &i.wire_format)
            .finish_non_exhaustive()
    }
}

impl Inner {
    /// Whether the messages cookie is encrypted rather than signed.
    pub(crate) fn encrypted(&self) -> bool {
        #[cfg(feature = "encryption")]
        return self.cipher.is_some();
        #[cfg(not(feature = "encryption"))]
        false
    }

    /// What opens (verifies, or decrypts) the messages cookie in herald's format.
    pub(crate) fn cookie_opener(&self) -> &dyn herald_core::Open {
        #[cfg(feature = "encryption")]
        if let Some(cipher) = &self.cipher {
            return cipher;
        }
        &self.signer
    }
}

/// The system clock: whole seconds since the Unix epoch (0 before it).
pub fn system_clock() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Config {
    /// A builder with the safe defaults; only the secret is required.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The cookie name.
    pub fn cookie_name(&self) -> &str {
        &self.inner.cookie_name
    }

    /// The maximum cookie value size in characters.
    pub fn max_cookie_size(&self) -> usize {
        self.inner.max_cookie_size
    }

    /// The default minimum level.
    pub fn min_level(&self) -> Level {
        self.inner.min_level
    }

    /// The tag table in force (Django's defaults with the overrides laid over them).
    pub fn tags(&self) -> TagTable<'_> {
        TagTable::new(&self.inner.tags)
    }

    /// The per-request limits (text bytes and message count).
    pub fn request_limits(&self) -> Limits {
        self.inner.limits
    }

    /// The session key the messages are stored under.
    pub fn session_key(&self) -> &str {
        &self.inner.session_key
    }

    /// The format of the cookie and the session entry.
    pub fn wire_format(&self) -> WireFormat {
        self.inner.wire_format
    }

    /// The current time from the configured clock, in seconds since the Unix epoch.
    pub fn now(&self) -> u64 {
        (self.inner.clock)()
    }
}

/// Builds a [`Config`]; see [`Config`] for the defaults.
///
/// ```
/// use herald_flash::{Config, Level, SameSite};
/// let config = Config::builder()
///     .secret("an example secret of at least 32 bytes!!")
///     .fallback_secret("the previous secret, still accepted for reading")
///     .same_site(Some(SameSite::Strict))
///     .min_level(Level::DEBUG)
///     .tag(Level::ERROR, "danger")
///     .build()
///     .unwrap();
/// assert_eq!(config.cookie_name(), "messages");
/// ```
#[derive(Clone)]
#[must_use = "a ConfigBuilder does nothing until `.build()` is called"]
pub struct ConfigBuilder {
    secret: Option<Vec<u8>>,
    fallbacks: Vec<Vec<u8>>,
    cookie_name: String,
    max_cookie_size: usize,
    path: String,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
    /// The spelling given to [`ConfigBuilder::same_site_setting`], or the invalid value.
    same_site_setting: Option<Result<String, String>>,
    min_level: Level,
    tags: Vec<(Level, &'static str)>,
    limits: Limits,
    session_key: String,
    max_age: Option<Duration>,
    wire_format: WireFormat,
    encrypt: bool,
    clock: fn() -> u64,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("fallback_secrets", &self.fallbacks.len())
            .field("cookie_name", &self.cookie_name)
            .finish_non_exhaustive()
    }
}

impl Default for ConfigBuilder {
    fn default() -> Self {
        ConfigBuilder {
            secret: None,
            fallbacks: Vec::new(),
            cookie_name: "messages".into(),
            max_cookie_size: 2048,
            path: "/".into(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: Some(SameSite::Lax),
            same_site_setting: None,
            min_level: Level::INFO,
            tags: Vec::new(),
            limits: Limits::DEFAULT,
            session_key: "_messages".into(),
            max_age: None,
            wire_format: WireFormat::Herald,
            encrypt: false,
            clock: system_clock,
        }
    }
}

impl ConfigBuilder {
    /// The secret key that signs the cookie (required, at least [`MIN_SECRET_LEN`] bytes
    /// of random data). Keep it out of source code.
    pub fn secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret = Some(secret.as_ref().to_vec());
        self
    }

    /// Adds a previous secret that is still accepted when reading (key rotation: move the
    /// old secret here and set a new [`secret`](Self::secret); cookies signed with the old
    /// one are read and re-written with the new one, keeping their issue time, so a
    /// rotation never extends a cookie's [`max_age`](Self::max_age)). Tried in the order
    /// added. A compromised key is removed, never kept as a fallback: every value it
    /// signs would still be accepted.
    pub fn fallback_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.fallbacks.push(secret.as_ref().to_vec());
        self
    }

    /// The cookie name (default `messages`).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// The maximum cookie value size in characters (default 2048, as Django). Messages that
    /// do not fit go to the session (fallback storage) or are reported unstored (cookie
    /// storage).
    ///
    /// Allowed: [`MIN_COOKIE_SIZE`] (128) to [`MAX_COOKIE_SIZE`]. The lower bound keeps
    /// room for the not-finished marker: the core never plans a herald cookie bound below
    /// [`herald_core::truncate::MIN_VALUE_LEN`] (60 characters, the marker-only value),
    /// and a sentinel-only Django value is about 90 characters.
    pub fn max_cookie_size(mut self, size: usize) -> Self {
        self.max_cookie_size = size;
        self
    }

    /// The cookie `Path` (default `/`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The cookie `Domain` (default none: the cookie is host-only).
    pub fn domain(mut self, domain: Option<String>) -> Self {
        self.domain = domain;
        self
    }

    /// Whether the cookie is `Secure`: sent by browsers over HTTPS only (default **on**, as
    /// tower-sessions and actix-session default their session cookies). Browsers treat
    /// `http://localhost` as secure, so local development on localhost works with it on;
    /// call `.secure(false)` only for plain HTTP on another host name, never in production.
    ///
    /// A cookie name starting with `__Host-` (for example `__Host-messages`) makes browsers
    /// enforce `Secure`, `Path=/` and no `Domain`, so no other subdomain can set or shadow
    /// the messages cookie; the configuration refuses a `__Host-` name that breaks those.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// Whether the cookie is `HttpOnly` (default on).
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// The cookie `SameSite` attribute (default `Some(SameSite::Lax)`; `None` omits it).
    pub fn same_site(mut self, same_site: Option<SameSite>) -> Self {
        self.same_site = same_site;
        self.same_site_setting = None;
        self
    }

    /// The cookie `SameSite` attribute as Django's `SESSION_COOKIE_SAMESITE` setting gives
    /// it: `lax`, `strict` or `none` in any case (`None` or `""` omits the attribute).
    /// Sets [`same_site`](Self::same_site); in [`WireFormat::Django`] the attribute is
    /// then written exactly as spelled here, as Django writes it (`SameSite=lax`).
    ///
    /// An invalid value (where Django raises `ValueError`) is reported by
    /// [`build`](Self::build) as [`ConfigError::InvalidAttribute`].
    pub fn same_site_setting(mut self, setting: Option<&str>) -> Self {
        let setting = setting.unwrap_or("");
        match SameSite::parse(setting) {
            Some(s) => {
                self.same_site = Some(s);
                self.same_site_setting = Some(Ok(setting.to_owned()));
            }
            None if setting.is_empty() => {
                self.same_site = None;
                self.same_site_setting = None;
            }
            None => self.same_site_setting = Some(Err(setting.to_owned())),
        }
        self
    }

    /// The default minimum level (default INFO); messages below it are ignored (R-2.1).
    pub fn min_level(mut self, level: Level) -> Self {
        self.min_level = level;
        self
    }

    /// Overrides the tag of `level` (Django's `MESSAGE_TAGS`): replace a default, blank it
    /// with `""`, or name a custom level. For tags built at run time, `String::leak` gives
    /// a `&'static str` (the configuration lives for the whole program anyway).
    pub fn tag(mut self, level: Level, tag: &'static str) -> Self {
        self.tags.push((level, tag));
        self
    }

    /// The most text (bytes of texts and extra tags, all messages together) and the most
    /// messages one request may hold, loaded and added (default 64 KiB and 1000): a guard
    /// against abuse, not a storage capacity. A message added past them is not queued; it
    /// is logged and reported in the response's [`Unstored`](crate::Unstored) extension.
    /// A cookie or session entry holding more is ignored (and left in place).
    pub fn request_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The session key the messages are stored under (default `_messages`).
    pub fn session_key(mut self, key: impl Into<String>) -> Self {
        self.session_key = key.into();
        self
    }

    /// Rejects cookies issued more than `max_age` ago (default: never, as Django). Whole
    /// seconds count. In herald's format a cookie's issued-at is the time of the request
    /// that added its oldest message (rewrites and key rotation keep it, and a slow
    /// handler does not move it later), so `max_age` bounds the age of every message it
    /// carries.
    pub fn max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// The format of the cookie and the session entry (default [`WireFormat::Herald`]).
    /// [`WireFormat::Django`] (feature `django`) reads and writes exactly what Django's
    /// `contrib.messages` does, so that a Django site and this service can hand messages
    /// to each other: use the Django `SECRET_KEY` as [`secret`](Self::secret) and its
    /// `SECRET_KEY_FALLBACKS` as [`fallback_secret`](Self::fallback_secret)s, and keep the
    /// cookie name (`messages`), `Path=/`, the session key (`_messages`) and the cookie
    /// attributes equal to Django's `SESSION_COOKIE_*` settings.
    ///
    /// In Django's format, a cookie verified with a fallback key is not re-signed (Django
    /// does not either), and [`max_age`](Self::max_age) applies to the timestamp Django's
    /// signer puts in the value.
    pub fn wire_format(mut self, format: WireFormat) -> Self {
        self.wire_format = format;
        self
    }

    /// Encrypts the messages cookie instead of only signing it (default off; feature
    /// `encryption`, herald's own format only): the browser, and anyone who can read its
    /// cookies, can then neither read the message texts nor change them. XChaCha20-Poly1305
    /// with a fresh random nonce per value and a key derived from the
    /// [`secret`](Self::secret) (fallback secrets decrypt older values, and a value opened
    /// with one is re-encrypted with the current key); the value is 8 bytes longer than a
    /// signed one, and the size bound still holds exactly (RULES R-11.6).
    ///
    /// Turning it on (or off) makes the cookies of the other setting unreadable: the
    /// messages in flight at that moment are dropped once, as with a new secret.
    ///
    /// ```
    /// # #[cfg(feature = "encryption")] {
    /// use herald_flash::Config;
    /// let config = Config::builder()
    ///     .secret("an example secret of at least 32 bytes!!")
    ///     .encrypt_cookies(true)
    ///     .build()
    ///     .unwrap();
    /// assert!(format!("{config:?}").contains("encrypted: true"));
    /// # }
    /// ```
    pub fn encrypt_cookies(mut self, encrypt: bool) -> Self {
        self.encrypt = encrypt;
        self
    }

    /// The clock used to sign and check cookies: whole seconds since the Unix epoch
    /// (default [`system_clock`]). For tests and simulations that need reproducible cookie
    /// values.
    pub fn clock(mut self, clock: fn() -> u64) -> Self {
        self.clock = clock;
        self
    }

    /// Validates everything and builds the configuration.
    ///
    /// # Errors
    /// [`ConfigError::MissingSecret`], [`ConfigError::SecretTooShort`],
    /// [`ConfigError::FallbackSecretTooShort`], [`ConfigError::TooManyFallbackSecrets`],
    /// [`ConfigError::InvalidCookieName`], [`ConfigError::CookieSizeOutOfRange`],
    /// [`ConfigError::InvalidAttribute`], [`ConfigError::InsecureCookie`],
    /// [`ConfigError::InvalidLimits`], [`ConfigError::FeatureDisabled`] or
    /// [`ConfigError::EncryptionNeedsHeraldFormat`].
    pub fn build(self) -> Result<Config, ConfigError> {
        let secret = self.secret.ok_or(ConfigError::MissingSecret)?;
        if cfg!(not(feature = "encryption")) && self.encrypt {
            return Err(ConfigError::FeatureDisabled {
                what: "encrypted cookies",
                feature: "encryption",
            });
        }
        if self.encrypt && self.wire_format == WireFormat::Django {
            return Err(ConfigError::EncryptionNeedsHeraldFormat);
        }
        if cfg!(not(feature = "django")) && self.wire_format == WireFormat::Django {
            return Err(ConfigError::FeatureDisabled {
                what: "WireFormat::Django",
                feature: "django",
            });
        }
        if self.limits.max_bytes == 0 || self.limits.max_messages == 0 {
            return Err(ConfigError::InvalidLimits);
        }
        let same_site_text = match self.same_site_setting {
            Some(Err(value)) => {
                return Err(ConfigError::InvalidAttribute {
                    attribute: "samesite",
                    value,
                });
            }
            Some(Ok(spelling)) => Some(spelling.into_boxed_str()),
            None => self.same_site.map(|s| s.as_str().into()),
        };
        if secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::SecretTooShort { len: secret.len() });
        }
        if self.fallbacks.len() > MAX_FALLBACK_SECRETS {
            return Err(ConfigError::TooManyFallbackSecrets {
                count: self.fallbacks.len(),
            });
        }
        for (index, f) in self.fallbacks.iter().enumerate() {
            if f.len() < MIN_SECRET_LEN {
                return Err(ConfigError::FallbackSecretTooShort {
                    index,
                    len: f.len(),
                });
            }
        }
        if !is_token(&self.cookie_name) {
            return Err(ConfigError::InvalidCookieName(self.cookie_name));
        }
        if !(MIN_COOKIE_SIZE..=MAX_COOKIE_SIZE).contains(&self.max_cookie_size) {
            return Err(ConfigError::CookieSizeOutOfRange(self.max_cookie_size));
        }
        let attrs = CookieAttributes {
            path: &self.path,
            domain: self.domain.as_deref(),
            secure: self.secure,
            http_only: self.http_only,
            same_site: self.same_site,
            max_age: None,
        };
        if let Err(e) = cookie_header::set_cookie_len(&self.cookie_name, "x", attrs) {
            let (attribute, value) = match e {
                cookie_header::WriteError::InvalidByte { field, .. }
                | cookie_header::WriteError::Empty { field } => match field {
                    cookie_header::Field::Domain => {
                        ("domain", self.domain.clone().unwrap_or_default())
                    }
                    cookie_header::Field::Path => ("path", self.path.clone()),
                    _ => return Err(ConfigError::InvalidCookieName(self.cookie_name)),
                },
                _ => ("path", self.path.clone()),
            };
            return Err(ConfigError::InvalidAttribute { attribute, value });
        }
        if !self.path.starts_with('/') || self.path.len() > 1024 {
            return Err(ConfigError::InvalidAttribute {
                attribute: "path",
                value: self.path,
            });
        }
        if self.domain.as_ref().is_some_and(|d| d.len() > 253) {
            return Err(ConfigError::InvalidAttribute {
                attribute: "domain",
                value: self.domain.unwrap_or_default(),
            });
        }
        if self.same_site == Some(SameSite::None) && !self.secure {
            return Err(ConfigError::InsecureCookie(
                "SameSite=None requires Secure (browsers reject it otherwise); call .secure(true)",
            ));
        }
        let host = self.cookie_name.starts_with("__Host-");
        if (host || self.cookie_name.starts_with("__Secure-")) && !self.secure {
            return Err(ConfigError::InsecureCookie(
                "a cookie name starting with __Secure- or __Host- requires .secure(true)",
            ));
        }
        if host && (self.domain.is_some() || self.path != "/") {
            return Err(ConfigError::InsecureCookie(
                "a __Host- cookie must have Path=/ and no Domain",
            ));
        }
        #[cfg(feature = "django")]
        let django = (self.wire_format == WireFormat::Django)
            .then(|| crate::django::DjangoCodec::new(&secret).with_fallback_keys(&self.fallbacks));
        let fallbacks: Vec<&[u8]> = self.fallbacks.iter().map(Vec::as_slice).collect();
        // The lengths and the count were checked above, with the configuration's errors;
        // the signer checks them again (the core's rule) and cannot disagree.
        let signer =
            Signer::new(&secret, SIGNING_PURPOSE, &self.cookie_name, &fallbacks).map_err(|e| {
                match e {
                    KeyError::SecretTooShort { len } => ConfigError::SecretTooShort { len },
                    KeyError::FallbackTooShort { index, len } => {
                        ConfigError::FallbackSecretTooShort { index, len }
                    }
                    _ => ConfigError::TooManyFallbackSecrets {
                        count: self.fallbacks.len(),
                    },
                }
            })?;
        // The same secrets, checked above; the cipher derives its own keys from them.
        #[cfg(feature = "encryption")]
        let cipher = match self.encrypt {
            true => Some(
                herald_core::Cipher::new(&secret, SIGNING_PURPOSE, &self.cookie_name, &fallbacks)
                    .map_err(|_| ConfigError::TooManyFallbackSecrets {
                    count: self.fallbacks.len(),
                })?,
            ),
            false => None,
        };
        Ok(Config {
            inner: Arc::new(Inner {
                signer,
                #[cfg(feature = "encryption")]
                cipher,
                cookie_name: self.cookie_name.into(),
                max_cookie_size: self.max_cookie_size,
                path: self.path.into(),
                domain: self.domain.map(Into::into),
                secure: self.secure,
                http_only: self.http_only,
                same_site: self.same_site,
                same_site_text,
                min_level: self.min_level,
                tags: self.tags.into(),
                limits: self.limits,
                session_key: self.session_key.into(),
                max_age: self.max_age.map(|d| d.as_secs()),
                wire_format: self.wire_format,
                #[cfg(feature = "django")]
                django,
                clock: self.clock,
                deletion: std::sync::OnceLock::new(),
                deletion_values: crate::cookies::DeletionValues::default(),
                set_template: std::sync::OnceLock::new(),
            }),
        })
    }
}

/// RFC 6265 `token`: visible ASCII except separators.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'='
                        | b'{'
                        | b'}'
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    /// What a feature provides is refused by name when the feature is off, and works when
    /// it is on. `scripts/test` runs this with every feature and again with none.
    #[test]
    fn features_left_out_are_refused_by_name() {
        let encrypted = Config::builder()
            .secret(SECRET)
            .encrypt_cookies(true)
            .build();
        if cfg!(feature = "encryption") {
            assert!(encrypted.is_ok(), "{encrypted:?}");
        } else {
            let e = encrypted.unwrap_err();
            assert_eq!(
                e,
                ConfigError::FeatureDisabled {
                    what: "encrypted cookies",
                    feature: "encryption"
                }
            );
            assert!(e.to_string().contains("`encryption` feature"), "{e}");
        }
        let django = Config::builder()
            .secret(SECRET)
            .wire_format(WireFormat::Django)
            .build();
        if cfg!(feature = "django") {
            assert!(django.is_ok(), "{django:?}");
        } else {
            assert_eq!(
                django.unwrap_err(),
                ConfigError::FeatureDisabled {
                    what: "WireFormat::Django",
                    feature: "django"
                }
            );
        }
    }

    #[test]
    fn defaults_are_safe_and_django_like() {
        let c = Config::builder().secret(SECRET).build().unwrap();
        let i = &c.inner;
        assert_eq!(&*i.cookie_name, "messages");
        assert_eq!(i.max_cookie_size, 2048);
        assert_eq!(&*i.path, "/");
        assert!(i.domain.is_none());
        assert!(i.secure, "Secure by default");
        assert!(i.http_only);
        assert_eq!(i.same_site, Some(SameSite::Lax));
        assert_eq!(i.min_level, Level::INFO);
        assert_eq!(&*i.session_key, "_messages");
        assert_eq!(i.max_age, None);
        assert_eq!(c.request_limits(), Limits::DEFAULT);
        assert!(
            !format!("{c:?}").contains(SECRET),
            "the secret never appears in Debug"
        );
    }

    #[test]
    fn missing_or_short_secrets_are_clear_errors() {
        let e = Config::builder().build().unwrap_err();
        assert_eq!(e, ConfigError::MissingSecret);
        assert!(e.to_string().contains("no secret key configured"));
        let e = Config::builder().secret("short").build().unwrap_err();
        assert_eq!(e, ConfigError::SecretTooShort { len: 5 });
        assert!(e.to_string().contains("at least 32 bytes"));
        let e = Config::builder()
            .secret(SECRET)
            .fallback_secret("x")
            .build()
            .unwrap_err();
        assert_eq!(e, ConfigError::FallbackSecretTooShort { index: 0, len: 1 });
        let mut b = Config::builder().secret(SECRET);
        for _ in 0..=MAX_FALLBACK_SECRETS {
            b = b.fallback_secret(SECRET);
        }
        assert!(matches!(
            b.build(),
            Err(ConfigError::TooManyFallbackSecrets { .. })
        ));
    }

    #[test]
    fn cookie_settings_are_validated() {
        let b = || Config::builder().secret(SECRET);
        assert!(matches!(
            b().cookie_name("bad name").build(),
            Err(ConfigError::InvalidCookieName(_))
        ));
        assert!(matches!(
            b().cookie_name("").build(),
            Err(ConfigError::InvalidCookieName(_))
        ));
        assert_eq!(
            b().max_cookie_size(5000).build().unwrap_err(),
            ConfigError::CookieSizeOutOfRange(5000)
        );
        assert!(b().max_cookie_size(4096).build().is_ok());
        assert!(matches!(
            b().path("/a;b").build(),
            Err(ConfigError::InvalidAttribute {
                attribute: "path",
                ..
            })
        ));
        assert!(matches!(
            b().domain(Some("ex ample.com".into())).build(),
            Err(ConfigError::InvalidAttribute {
                attribute: "domain",
                ..
            })
        ));
        assert!(matches!(
            b().same_site(Some(SameSite::None)).secure(false).build(),
            Err(ConfigError::InsecureCookie(_))
        ));
        assert!(b().same_site(Some(SameSite::None)).build().is_ok());
        assert!(matches!(
            b().cookie_name("__Secure-messages").secure(false).build(),
            Err(ConfigError::InsecureCookie(_))
        ));
        assert!(matches!(
            b().cookie_name("__Host-messages").secure(false).build(),
            Err(ConfigError::InsecureCookie(_))
        ));
        assert!(matches!(
            b().cookie_name("__Host-messages")
                .secure(true)
                .domain(Some("a.b".into()))
                .build(),
            Err(ConfigError::InsecureCookie(_))
        ));
        assert!(
            b().cookie_name("__Host-messages")
                .secure(true)
                .build()
                .is_ok()
        );
    }

    #[test]
    fn same_site_setting_is_read_like_djangos() {
        let b = || Config::builder().secret(SECRET);
        let c = b().same_site_setting(Some("lax")).build().unwrap();
        assert_eq!(c.inner.same_site, Some(SameSite::Lax));
        assert_eq!(c.inner.same_site_text.as_deref(), Some("lax"));
        let c = b().same_site_setting(Some("")).build().unwrap();
        assert_eq!(
            (c.inner.same_site, c.inner.same_site_text.as_deref()),
            (None, None)
        );
        let c = b().same_site_setting(None).build().unwrap();
        assert_eq!(c.inner.same_site, None);
        let c = b().same_site(Some(SameSite::Strict)).build().unwrap();
        assert_eq!(c.inner.same_site_text.as_deref(), Some("Strict"));
        assert_eq!(
            b().same_site_setting(Some("loose")).build().unwrap_err(),
            ConfigError::InvalidAttribute {
                attribute: "samesite",
                value: "loose".into()
            }
        );
        // The last call wins.
        let c = b()
            .same_site_setting(Some("loose"))
            .same_site(Some(SameSite::Lax))
            .build()
            .unwrap();
        assert_eq!(c.inner.same_site_text.as_deref(), Some("Lax"));
        assert!(matches!(
            b().same_site_setting(Some("NONE")).secure(false).build(),
            Err(ConfigError::InsecureCookie(_))
        ));
    }

    #[test]
    fn wire_format_and_clock() {
        fn fixed() -> u64 {
            42
        }
        let c = Config::builder()
            .secret(SECRET)
            .clock(fixed)
            .build()
            .unwrap();
        assert_eq!(c.wire_format(), WireFormat::Herald);
        assert_eq!(c.now(), 42);
        let c = Config::builder().secret(SECRET).build().unwrap();
        assert!(c.now() > 1_700_000_000, "the system clock by default");
        #[cfg(feature = "django")]
        {
            let c = Config::builder()
                .secret(SECRET)
                .wire_format(WireFormat::Django)
                .build()
                .unwrap();
            assert_eq!(c.wire_format(), WireFormat::Django);
            assert!(c.inner.django.is_some());
        }
    }

    #[test]
    fn limits_and_features_are_checked_at_build() {
        let b = || Config::builder().secret(SECRET);
        assert_eq!(
            b().request_limits(Limits {
                max_bytes: 0,
                max_messages: 5
            })
            .build()
            .unwrap_err(),
            ConfigError::InvalidLimits
        );
        let limits = Limits {
            max_bytes: 100,
            max_messages: 2,
        };
        assert_eq!(
            b().request_limits(limits).build().unwrap().request_limits(),
            limits
        );
        let django = b().wire_format(WireFormat::Django).build();
        if cfg!(feature = "django") {
            assert!(django.is_ok());
        } else {
            assert_eq!(
                django.unwrap_err(),
                ConfigError::FeatureDisabled {
                    what: "WireFormat::Django",
                    feature: "django"
                }
            );
        }
    }
}
