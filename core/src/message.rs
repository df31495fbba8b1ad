//! The message type (RULES R-1.6 – R-1.9): a borrowed, `Copy` view of one flash message,
//! with herald's optional per-message expiry (R-11.5).

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::level::{Level, TagTable, Tags};

/// One flash message: a level, its text, optional extra tags, a safe-HTML flag and, as a
/// herald extension, an optional expiry time (R-11.5).
///
/// `Message` borrows its strings (like `httparse`'s headers), so it is `Copy` and costs
/// nothing to pass around. Owned, fixed-capacity storage for many messages is
/// [`MessageList`](crate::list::MessageList); an [`Inbox`](crate::inbox::Inbox) hands out
/// `Message`s that borrow from it.
///
/// Equality follows R-1.8: two messages are equal when their `level` and `text` are equal;
/// `extra_tags`, `is_safe` and `expires_at` are ignored.
///
/// `extra_tags` distinguishes `None` from `Some("")` because Django's wire format does
/// (R-4.1: the element is omitted only for `None`); both render the same tags.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Message<'a> {
    /// The level (R-1.1).
    pub level: Level,
    /// The message text (Django's `message.message`). An inbox never stores an empty text
    /// (R-2.1).
    pub message: &'a str,
    /// Extra tags, kept exactly as written (R-1.5); `None` and `Some("")` render alike.
    #[serde(borrow)]
    pub extra_tags: Option<&'a str>,
    /// Whether the text is trusted HTML (Django's `mark_safe`), to be rendered unescaped.
    pub is_safe: bool,
    /// When the message expires, in the caller's seconds (Unix time in practice), or
    /// `None` for never (R-11.5): a message is shown only while `now < expires_at`; once
    /// expired it is dropped when loaded and never stored again. Django's wire format
    /// cannot carry it.
    #[serde(default)]
    pub expires_at: Option<u64>,
}

impl<'a> Message<'a> {
    /// A message with no extra tags (`Some("")`, as Django's `add()` defaults) that is not
    /// marked safe.
    pub const fn new(level: Level, message: &'a str) -> Self {
        Message {
            level,
            message,
            extra_tags: Some(""),
            is_safe: false,
            expires_at: None,
        }
    }

    /// The same message with `extra_tags` set.
    pub const fn with_extra_tags(self, extra_tags: &'a str) -> Self {
        Message {
            extra_tags: Some(extra_tags),
            ..self
        }
    }

    /// The same message with the safe-HTML flag set to `safe`.
    pub const fn with_safe(self, is_safe: bool) -> Self {
        Message { is_safe, ..self }
    }

    /// The same message expiring at `expires_at` (R-11.5): shown only while the caller's
    /// `now` is before it.
    ///
    /// ```
    /// use herald_core::{Level, Message};
    /// let now = 1_700_000_000;
    /// let m = Message::new(Level::SUCCESS, "Export ready.").with_expires_at(now + 600);
    /// assert!(!m.is_expired(now + 599));
    /// assert!(m.is_expired(now + 600));
    /// ```
    pub const fn with_expires_at(self, expires_at: u64) -> Self {
        Message {
            expires_at: Some(expires_at),
            ..self
        }
    }

    /// Whether the message has expired at `now` (R-11.5): it has an expiry and `now` has
    /// reached it. A message without an expiry never expires.
    pub const fn is_expired(&self, now: u64) -> bool {
        match self.expires_at {
            Some(t) => now >= t,
            None => false,
        }
    }

    /// The extra tags, with `None` read as `""`.
    pub fn extra_tags_str(&self) -> &'a str {
        self.extra_tags.unwrap_or("")
    }

    /// The level's tag in `table` (R-1.4).
    pub fn level_tag<'t>(&self, table: &TagTable<'t>) -> &'t str {
        table.level_tag(self.level)
    }

    /// The full tag string in `table` (R-1.5): extra tags first, then the level tag.
    pub fn tags<'t>(&self, table: &TagTable<'t>) -> Tags<'a>
    where
        't: 'a,
    {
        table.tags(self.level, self.extra_tags)
    }
}

impl PartialEq for Message<'_> {
    /// R-1.8: equal when level and text are equal; extra tags, the safe flag and the expiry
    /// are ignored.
    fn eq(&self, other: &Self) -> bool {
        self.level == other.level && self.message == other.message
    }
}

impl Eq for Message<'_> {}

impl fmt::Display for Message<'_> {
    /// R-1.9: a message displays as its text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// R-1.8 and Django's `test_eq` (RULES §10 #52).
    #[test]
    fn r_1_8_equality_ignores_extra_tags_and_safe() {
        let a = Message::new(Level::INFO, "hello");
        assert_eq!(a, a);
        assert_eq!(a, a.with_extra_tags("x").with_safe(true));
        assert_eq!(
            a,
            Message {
                extra_tags: None,
                ..a
            }
        );
        assert_ne!(a, Message::new(Level::INFO, "hello!"));
        assert_ne!(a, Message::new(Level::WARNING, "hello"));
    }

    #[test]
    fn r_1_9_display_is_text_and_tags_follow_table() {
        let m = Message::new(Level::SUCCESS, "Saved.").with_extra_tags("big");
        let mut buf = arrayvec::ArrayString::<32>::new();
        core::fmt::write(&mut buf, format_args!("{m}")).unwrap();
        assert_eq!(buf.as_str(), "Saved.");
        let t = TagTable::defaults();
        assert_eq!(m.level_tag(&t), "success");
        assert_eq!(m.tags(&t), "big success");
        assert_eq!(m.extra_tags_str(), "big");
        assert_eq!(
            Message {
                extra_tags: None,
                ..m
            }
            .extra_tags_str(),
            ""
        );
    }
}
