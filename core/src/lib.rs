//! # herald-core
//!
//! The `no_std`, allocation-free decision core of herald: one-time "flash" messages with
//! the exact semantics of Django's `contrib.messages`.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod codec;
pub mod cookie_header;
pub mod inbox;
pub mod level;
pub mod list;
pub mod message;
pub mod signer;
pub mod truncate;

pub use inbox::{
    AddError, Added, CookieAction, Inbox, LoadError, Loaded, Plan, SessionAction, Storage, Update,
};
pub use level::{Level, TagTable, Tags};
pub use list::{CapacityError, ListView, MessageList, Messages};
pub use message::Message;
pub use signer::{KeyUsed, Signer};
pub use truncate::Policy;
