//! # herald-flash
//!
//! One-time "flash" messages for Rust web servers, with the semantics of Django's
//! `django.contrib.messages`: add a message while handling one request, show it once on a
//! later one. Cookie, session and fallback storage; adapters for axum/tower and actix-web.
//!
//! Every decision (what to read, what to store where, what to drop, when to clear) is made
//! by the `no_std` core, [`herald_core`]; this crate only moves bytes between it and HTTP:
//!
//! | module | what it is |
//! |---|---|
//! | [`config`] | [`Config`]: secret keys (with rotation), the cookie's name and attributes, levels, tags, request limits — validated at start-up |
//! | [`messages`] | [`Messages`], the extractor handlers use, and the [`Snapshot`] a read returns |
//! | [`tower`] | [`MessagesLayer`](tower::MessagesLayer) for axum and any tower server |
//! | `actix` | `MessagesMiddleware` for actix-web (feature `actix`) |
//! | [`storage`] | [`MessageStorage`](storage::MessageStorage), your own storage (Django's `BaseStorage`), beside the built-in ones |
//! | [`user_store`] | messages for a signed-in user wherever they are: per-user stores in process and on Redis (feature `user-store-redis`), and the [`Outbox`](user_store::Outbox) a background job writes to |
//! | [`session`] | the [`SessionBackend`](session::SessionBackend) trait, an in-memory store, tower-sessions and actix-session (and through them Redis and SQL) |
//! | `redis` | a Redis session store for tower-sessions that fails fast while Redis is down and reconnects by itself (feature `tower-sessions-redis`), and the same fail-fast client for the per-user store (feature `user-store-redis`) |
//! | [`context`] | [`Context`](context::Context), the template context (Django's messages context processor), with minijinja, askama and tera bindings (features of those names) |
//! | `htmx` | `HtmxLayer` (tower) and `HtmxMiddleware` (actix-web): an htmx request's messages in `HX-Trigger` (feature `htmx`) |
//! | `success` | a success message formatted from a form's fields, Django's `SuccessMessageMixin` (feature `success`) |
//! | `testing` | helpers for your own tests: messages into a request, out of a response (feature `testing`) |
//! | [`view`] | [`OwnedMessage`] and [`MessageView`], which serialize with the names Django's templates use |
//! | [`unstored`] | [`Unstored`]: what no storage took, in the response extensions |
//! | `django` | Django's wire format, byte for byte (feature `django`) |
//!
//! Rule numbers in these docs (R-2.1, §4, …) refer to the behaviour rules written down in
//! [`herald_core::rules`].
//!
//! The quick starts below are compiled as doctests (with the features they name).
#![cfg_attr(
    all(
        feature = "axum",
        feature = "actix",
        feature = "tower-sessions-0-15",
        feature = "actix-session-0-11"
    ),
    doc = include_str!("../README.md")
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
pub mod context;
mod cookies;
mod keyed;
pub mod messages;
pub mod session;
mod state;
pub mod storage;
pub mod tower;
pub mod unstored;
pub mod user_store;
pub mod view;

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;

#[cfg(any(feature = "tower-sessions-redis", feature = "user-store-redis"))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "tower-sessions-redis", feature = "user-store-redis")))
)]
// With `user-store-redis` alone the module holds only the shared client: its docs link to
// the session store of `tower-sessions-redis`, which is then not built.
#[cfg_attr(
    not(feature = "tower-sessions-redis"),
    allow(rustdoc::broken_intra_doc_links)
)]
pub mod redis;

pub use config::{Config, ConfigBuilder, ConfigError, SameSite, WireFormat};
pub use herald_core::{self, Level, Limits, Message, Storage, TagTable};
pub use messages::{Added, FailSilently, Messages, MessagesError, Snapshot, SnapshotIter};
pub use unstored::{Unstored, UnstoredMessage, UnstoredReason};
pub use view::{MessageView, OwnedMessage};

/// Django wire compatibility: read and write Django's `messages` cookie and session
/// `_messages` entry byte for byte (feature `django`).
#[cfg(feature = "django")]
#[cfg_attr(docsrs, doc(cfg(feature = "django")))]
pub mod django;
/// Django's format in herald's storages (`WireFormat::Django`), used by the shared layer:
/// the glue between the core's plan and the Django codec.
#[cfg(feature = "django")]
mod django_storage;

#[cfg(feature = "htmx")]
#[cfg_attr(docsrs, doc(cfg(feature = "htmx")))]
pub mod htmx;

#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

#[cfg(feature = "success")]
#[cfg_attr(docsrs, doc(cfg(feature = "success")))]
pub mod success;

/// Fuzz targets: each a `pub fn(&[u8])` that panics only on a violated invariant, shared
/// by the cargo-fuzz project in `fuzz/` and the seed replay test (feature `fuzzing`).
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
