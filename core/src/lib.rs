//! # herald-core
//!
//! The `no_std`, allocation-free decision core of herald: one-time "flash" messages with
//! the exact semantics of Django's `contrib.messages`.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codec;
pub mod level;
pub mod list;
pub mod message;
pub mod signer;

pub use level::{Level, TagTable, Tags};
pub use message::Message;
