//! # herald
//!
//! One-time "flash" messages for Rust web servers, with the exact semantics of Django's
//! `django.contrib.messages`: add a message while handling one request, show it once on a
//! later one. Cookie, session and fallback storage; adapters for axum/tower and actix-web.
//!
//! Every decision (what to read, what to store where, what to drop, when to clear) is made
//! by the `no_std` core, [`herald_core`]; this crate only moves bytes between it and HTTP:
//!
//! * [`Config`]: secret keys (with rotation), cookie name and attributes, levels, tags,
//!   storage — validated at start-up.
//! * [`tower::MessagesLayer`] (axum, any tower server) and [`actix::MessagesMiddleware`],
//!   both thin shims over one http-level layer, with the [`Messages`] extractor.
//! * [`session`]: the [`SessionBackend`](session::SessionBackend) trait with an in-memory
//!   store, tower-sessions and actix-session (and through them Redis).
//! * `redis` (feature `tower-sessions-redis`): a Redis session store for tower-sessions
//!   that fails fast while Redis is down and reconnects by itself.
//! * [`OwnedMessage`]/[`MessageView`] serialize to JSON (`level`, `level_tag`, `tags`,
//!   `message`, `extra_tags`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod config;
mod cookies;
pub mod messages;
pub mod session;
mod state;
pub mod tower;

#[cfg(feature = "actix")]
pub mod actix;

#[cfg(feature = "tower-sessions-redis")]
pub mod redis;

pub use config::{Config, ConfigBuilder, ConfigError, SameSite, WireFormat};
pub use herald_core::{self, Level, Limits, Message, Storage, TagTable};
pub use messages::{
    Added, FailSilently, MessageView, Messages, MessagesError, OwnedMessage, Snapshot,
    SnapshotIter, Unstored, UnstoredMessage, UnstoredReason,
};

/// Django wire compatibility: read and write Django's `messages` cookie and session
/// `_messages` entry byte for byte (feature `django`).
#[cfg(feature = "django")]
pub mod django;

/// Fuzz targets: each a `pub fn(&[u8])` that panics only on a violated invariant, shared
/// by the cargo-fuzz project in `fuzz/` and the seed replay test (feature `fuzzing`).
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
