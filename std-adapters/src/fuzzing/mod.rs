//! Fuzz targets (feature `fuzzing`).
//!
//! Each target is a `pub fn(data: &[u8])` that accepts **any** bytes and panics (with an
//! `assert!`) only when an invariant of herald is violated; for every other input it
//! returns normally. The same functions are called by
//!
//! * the cargo-fuzz project in `fuzz/` (one `fuzz_targets/<name>.rs` per target, run by
//!   `fuzz/run.sh`), and
//! * the stable test `std-adapters/tests/fuzz_seeds.rs`, which replays every committed
//!   seed in `fuzz/seeds/<name>/`.
//!
//! | target | what it checks |
//! |---|---|
//! | [`native_decode`](crate::fuzzing::native_decode()) | any bytes as a herald cookie value and as a raw body: no panic, nothing accepted without a valid MAC, decode/encode consistency |
//! | [`inbox_ops`](crate::fuzzing::inbox_ops()) | random operations over several requests on the real [`Inbox`](herald_core::Inbox) against a `Vec` reference model: read-once, no loss, order, size bound |
//! | [`truncation`](crate::fuzzing::truncation()) | [`truncate::fit`](herald_core::truncate::fit) on random lists and bounds: within the bound, partition, order, maximality, both policies |
//! | [`fallback_roundtrip`](crate::fuzzing::fallback_roundtrip()) | fallback storage's cookie + session split and the next request's load: every message exactly once, in order |
//! | `django_decode` | any bytes as a Django `messages` cookie value (feature `django`): no panic, nothing accepted without a valid signature |
//! | [`encrypted_decode`](crate::fuzzing::encrypted_decode()) | any bytes as an encrypted cookie value and as a body to encrypt: no panic, nothing accepted unless it is exactly our encryption of its body, exact sizes, flipped bits rejected |
//! | [`cookie_header`](crate::fuzzing::cookie_header()) | any `Cookie` header bytes through the core parser and the adapters' load path: no panic, values are sub-slices of the input, the parsers agree |
//!
//! **Bounded work.** No target loops over anything but its input: every value is capped
//! (herald refuses cookie values over [`MAX_VALUE_LEN`](herald_core::signer::MAX_VALUE_LEN)
//! characters before decoding anything, which `native_decode` asserts), and the operation
//! sequences are cut at fixed lengths. Time itself is policed by libFuzzer's `-timeout`
//! (`fuzz/run.sh` sets it), not by an assertion, so the targets stay deterministic.
//!
//! [`TARGETS`](crate::fuzzing::TARGETS) lists every target by name, for tools that iterate over them.
#![deny(missing_docs)]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use herald_core::{Cipher, Level, Message, Signer};

pub mod cookie_header;
#[cfg(feature = "django")]
pub mod django_decode;
pub mod encrypted_decode;
pub mod fallback_roundtrip;
pub mod inbox_ops;
pub mod native_decode;
pub mod truncation;

pub use cookie_header::cookie_header;
#[cfg(feature = "django")]
pub use django_decode::django_decode;
pub use encrypted_decode::encrypted_decode;
pub use fallback_roundtrip::fallback_roundtrip;
pub use inbox_ops::inbox_ops;
pub use native_decode::native_decode;
pub use truncation::truncation;

/// A fuzz target: any bytes in, a panic only on a violated invariant.
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/<name>.rs` and `fuzz/seeds/<name>/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("native_decode", native_decode),
    ("inbox_ops", inbox_ops),
    ("truncation", truncation),
    ("fallback_roundtrip", fallback_roundtrip),
    #[cfg(feature = "django")]
    ("django_decode", django_decode),
    ("cookie_header", cookie_header),
    ("encrypted_decode", encrypted_decode),
];

/// The secret the herald targets sign with (as long as [`Config`](crate::Config) requires).
pub const SECRET: &[u8] = b"herald fuzzing secret, 32 bytes or more";
/// A retired secret the herald targets still accept (key rotation).
pub const OLD_SECRET: &[u8] = b"herald fuzzing old secret, 32 bytes or more";
/// The purpose the herald targets' signer is bound to: the adapters' own, so a value
/// signed here is valid for a [`Config`](crate::Config) with the same secrets.
pub const PURPOSE: &str = crate::config::SIGNING_PURPOSE;
/// The cookie name the herald targets' signer is bound to.
pub const COOKIE: &str = "messages";

/// The signer of the herald targets: [`SECRET`], with [`OLD_SECRET`] as fallback key 0.
pub fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| {
        Signer::new(SECRET, PURPOSE, COOKIE, &[OLD_SECRET]).expect("one fallback key fits")
    })
}

/// A signer that signs with [`OLD_SECRET`], as a server before the rotation did.
pub fn old_signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| Signer::new(OLD_SECRET, PURPOSE, COOKIE, &[]).expect("no fallback"))
}

/// The cipher of the encrypted-cookie target: [`SECRET`], with [`OLD_SECRET`] as fallback
/// key 0 (its keys are derived apart from the signer's).
pub fn cipher() -> &'static Cipher {
    static CIPHER: OnceLock<Cipher> = OnceLock::new();
    CIPHER.get_or_init(|| {
        Cipher::new(SECRET, PURPOSE, COOKIE, &[OLD_SECRET]).expect("one fallback key fits")
    })
}

/// A cipher that encrypts with [`OLD_SECRET`], as a server before the rotation did.
pub fn old_cipher() -> &'static Cipher {
    static CIPHER: OnceLock<Cipher> = OnceLock::new();
    CIPHER.get_or_init(|| Cipher::new(OLD_SECRET, PURPOSE, COOKIE, &[]).expect("no fallback"))
}

/// What [`Inbox::load_cookie`](herald_core::Inbox::load_cookie) made of `data` agrees with
/// what the sealing's own `open` made of it (`sealing` names it in the panic): the same
/// key when both accept, the same error when both refuse, and a decode error only for an
/// opened value.
pub fn load_agrees_with_open(
    data: &[u8],
    loaded: &Result<herald_core::Loaded, herald_core::LoadError>,
    opened: &Result<herald_core::signer::Opened<'_>, herald_core::signer::OpenError>,
    sealing: &str,
) {
    use herald_core::{LoadError, Loaded};
    match (loaded, opened) {
        (Ok(Loaded::Absent), _) => assert!(data.is_empty(), "a value read as absent"),
        (Ok(Loaded::Messages { key, .. }), Ok(o)) => assert_eq!(*key, o.key),
        (Ok(Loaded::Messages { .. }), Err(e)) => {
            panic!("inbox accepted a value the {sealing} refuses: {e:?}")
        }
        (Err(LoadError::Open(e)), Err(o)) => assert_eq!(e, o),
        (Err(LoadError::Open(e)), Ok(_)) => panic!("inbox refused an open value: {e:?}"),
        (Err(LoadError::Decode(_)), Ok(_)) => {}
        (Err(e), _) => panic!("unexpected load result {e:?}"),
    }
}

/// A level as the fuzzer picks it: mostly the named ones, sometimes any `i32`.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum LevelPick {
    /// [`Level::DEBUG`].
    Debug,
    /// [`Level::INFO`].
    Info,
    /// [`Level::SUCCESS`].
    Success,
    /// [`Level::WARNING`].
    Warning,
    /// [`Level::ERROR`].
    Error,
    /// Any other level.
    Other(i32),
}

impl LevelPick {
    /// The level picked.
    pub fn level(self) -> Level {
        match self {
            LevelPick::Debug => Level::DEBUG,
            LevelPick::Info => Level::INFO,
            LevelPick::Success => Level::SUCCESS,
            LevelPick::Warning => Level::WARNING,
            LevelPick::Error => Level::ERROR,
            LevelPick::Other(v) => Level(v),
        }
    }
}

/// An owned message, for building lists and for the reference models.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owned {
    /// The level.
    pub level: Level,
    /// The text.
    pub message: String,
    /// The extra tags (`None` differs from `Some("")` on the wire).
    pub extra_tags: Option<String>,
    /// The safe-HTML flag.
    pub is_safe: bool,
    /// The expiry.
    pub expires_at: Option<u64>,
}

impl Owned {
    /// A borrowed [`Message`] view.
    pub fn as_message(&self) -> Message<'_> {
        Message {
            level: self.level,
            message: &self.message,
            extra_tags: self.extra_tags.as_deref(),
            is_safe: self.is_safe,
            expires_at: self.expires_at,
        }
    }

    /// An owned copy of `m`.
    pub fn of(m: &Message<'_>) -> Self {
        Owned {
            level: m.level,
            message: m.message.to_owned(),
            extra_tags: m.extra_tags.map(str::to_owned),
            is_safe: m.is_safe,
            expires_at: m.expires_at,
        }
    }

    /// Whether `m` has exactly these fields (not just equality, which ignores the
    /// extra tags, the safe flag and the expiry).
    pub fn same_as(&self, m: &Message<'_>) -> bool {
        self.level == m.level
            && self.message == m.message
            && self.extra_tags.as_deref() == m.extra_tags
            && self.is_safe == m.is_safe
            && self.expires_at == m.expires_at
    }
}

/// A message as the fuzzer draws it.
#[derive(Arbitrary, Clone, Debug)]
pub struct ArbMessage {
    /// The level.
    pub level: LevelPick,
    /// The text (cut to [`MAX_TEXT`] bytes; an empty text is replaced where a target
    /// needs a storable message).
    pub message: String,
    /// The extra tags (cut to [`MAX_TEXT`] bytes).
    pub extra_tags: Option<String>,
    /// The safe-HTML flag.
    pub is_safe: bool,
}

/// The longest text or extra tags a drawn message keeps, in bytes.
pub const MAX_TEXT: usize = 600;

/// `s` cut to at most `max` bytes, at a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl ArbMessage {
    /// The message as drawn, with its text and extra tags cut to [`MAX_TEXT`] bytes; an
    /// empty text stays empty.
    pub fn owned(&self) -> Owned {
        Owned {
            level: self.level.level(),
            message: cut(&self.message, MAX_TEXT).to_owned(),
            extra_tags: self
                .extra_tags
                .as_deref()
                .map(|e| cut(e, MAX_TEXT).to_owned()),
            is_safe: self.is_safe,
            expires_at: None,
        }
    }

    /// The message as a storable one: like [`ArbMessage::owned`], with an empty text
    /// replaced by `"."` (no inbox stores an empty text, R-2.1).
    pub fn storable(&self) -> Owned {
        let mut m = self.owned();
        if m.message.is_empty() {
            m.message.push('.');
        }
        m
    }
}

/// Bytes of a LEB128 (postcard) varint of `v`: the reference models' own size function,
/// written independently of `herald_core::codec`.
pub fn model_varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

/// The encoded size of one message in herald's format, by the README's byte layout.
pub fn model_message_len(m: &Owned) -> usize {
    let level = m.level.0;
    let zigzag = ((level << 1) ^ (level >> 31)) as u32 as u64;
    let str_len = |s: &str| model_varint_len(s.len() as u64) + s.len();
    model_varint_len(zigzag)
        + str_len(&m.message)
        + m.extra_tags.as_deref().map_or(1, |e| 1 + str_len(e))
        + 1
}

/// The length of the signed cookie value holding `msgs` issued at `now`, by the README's
/// byte layout: `base64url_nopad(body || 32-byte MAC)`.
pub fn model_signed_len<'a>(msgs: impl IntoIterator<Item = &'a Owned>, now: u64) -> usize {
    let (count, sum) = msgs.into_iter().fold((0u64, 0usize), |(c, s), m| {
        (c + 1, s + model_message_len(m))
    });
    let body = 1 + model_varint_len(now) + 1 + model_varint_len(count) + sum;
    (4 * (body + 32)).div_ceil(3)
}
