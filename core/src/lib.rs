//! # herald-core
//!
//! The `no_std`, allocation-free decision core of herald: one-time "flash" messages with
//! the exact semantics of Django's `contrib.messages`. The rules are written down in
//! [`rules`] (the file `RULES.md` of this crate): rule numbers R-x.y and section numbers
//! § cited throughout these docs refer to it.
//!
//! A pure, deterministic state machine in the spirit of `quinn-proto` and `smoltcp`: no
//! I/O, no clock, no randomness. The caller passes the time and the keys in, and gets back
//! exactly what to write. Fixed capacities are const generics; every overflow is an
//! explicit error that hands the message back.
//!
//! | module | what it is |
//! |---|---|
//! | [`rules`] | the behaviour rules herald follows (R-x.y, §1 – §11), in its own words, with Django's tests |
//! | [`level`] | levels, the tag table and `tags` (RULES §1) |
//! | [`message`] | the borrowed [`Message`] view (R-1.6 – R-1.9) |
//! | [`list`] | [`MessageStore`]: [`MessageList`] (fixed, no heap) or `GrowableList` (feature `alloc`) |
//! | [`inbox`] | [`Inbox`]: the per-request state machine and the storage [`Plan`] (§2, §4 – §6) |
//! | [`header`] | the header every body starts with, and the errors of reading a body |
//! | [`codec`] | herald's own wire format, with `postcard` and exact size prediction |
//! | [`signer`] | HMAC-SHA256 signing with domain separation and key rotation |
//! | `cipher` | XChaCha20-Poly1305 encrypted cookies, same rules (feature `encryption`) |
//! | [`seal`] | the [`Open`]/[`Seal`] traits the inbox loads and writes cookies through |
//! | [`truncate`] | one-pass size-bounded truncation, both policies (R-4.7) |
//! | [`cookie_header`] | `Cookie` header parsing and `Set-Cookie` writing into a buffer |
//!
//! One request, end to end:
//!
//! ```
//! use herald_core::{CookieAction, Inbox, Level, Signer, Storage};
//! use herald_core::cookie_header::{cookie_value, write_set_cookie, CookieAttributes};
//!
//! let signer: Signer = Signer::new(b"at least 32 random bytes, not this", "herald.messages", "messages", &[]).unwrap();
//! let now = 1_700_000_000;
//!
//! // POST: add a message, answer with a Set-Cookie.
//! let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
//! inbox.load_cookie(None, &signer, now, None).unwrap();
//! inbox.add(Level::SUCCESS, "Profile saved.", "").unwrap();
//! let CookieAction::Set { messages, continued } = inbox.plan(2048, now).cookie else { panic!() };
//! let mut value = [0u8; 2048];
//! let value = inbox.seal_cookie(messages, continued, &signer, now, &mut value).unwrap();
//! let mut header = [0u8; 2200];
//! let set_cookie = write_set_cookie(&mut header, "messages", value, CookieAttributes::new()).unwrap();
//! assert!(set_cookie.starts_with("messages="));
//!
//! // GET: the browser sends the cookie back; the message is shown once.
//! let mut request_header = [0u8; 2100];
//! request_header[..9].copy_from_slice(b"messages=");
//! request_header[9..9 + value.len()].copy_from_slice(value.as_bytes());
//! let cookie = cookie_value([&request_header[..9 + value.len()]], "messages");
//! let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
//! inbox.load_cookie(cookie.map(str::as_bytes), &signer, now, None).unwrap();
//! assert_eq!(inbox.iter().next().unwrap().message, "Profile saved.");
//! assert_eq!(inbox.plan(2048, now).cookie, CookieAction::Delete); // read once
//! ```
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

#[cfg(feature = "encryption")]
#[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
pub mod cipher;
pub mod codec;
pub mod cookie_header;
pub mod header;
pub mod inbox;
pub mod level;
pub mod list;
pub mod message;
#[doc = include_str!("../RULES.md")]
pub mod rules {}
pub mod seal;
pub mod signer;
pub mod truncate;

#[cfg(feature = "encryption")]
pub use cipher::Cipher;
pub use cookie_header::{CookieAttributes, SameSite};
pub use inbox::{
    AddError, Added, CookieAction, Foreign, Inbox, LoadError, Loaded, Plan, SessionAction, Storage,
    Update,
};
pub use level::{Level, TagTable, Tags};
pub use list::{CapacityError, ListView, MessageList, MessageStore, Messages};
#[cfg(feature = "alloc")]
pub use list::{GrowableList, Limits};
pub use message::Message;
pub use seal::{Open, Seal};
pub use signer::{KeyUsed, Signer};
pub use truncate::Policy;
