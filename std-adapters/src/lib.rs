//! h

/// Django wire compatibility: read and write Django's `messages` cookie and session
/// `_messages` entry byte for byte (feature `django`).
#[cfg(feature = "django")]
pub mod django;
