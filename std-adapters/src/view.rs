//! What templates and JSON see of a message: [`OwnedMessage`] (owned strings, tags
//! resolved) and [`MessageView`] (borrowed), both serializing with the names Django's
//! templates use.

use std::fmt;

use herald_core::{Level, Message, TagTable};
use serde::Serialize;
use serde::ser::SerializeStruct;

/// A message with its tags resolved, owning its strings: for templates, JSON responses and
/// reports of unstored messages.
///
/// Serializes (serde) as `{"level", "level_tag", "tags", "message", "extra_tags",
/// "is_safe"}`, the names Django's templates use.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OwnedMessage {
    /// The level.
    pub level: Level,
    /// The level's tag (`"success"` for SUCCESS), `""` when it has none.
    pub level_tag: String,
    /// The full tag string: extra tags, then the level tag (`"banner error"`).
    pub tags: String,
    /// The text.
    pub message: String,
    /// The extra tags as given (`None` and `Some("")` render alike).
    pub extra_tags: Option<String>,
    /// Whether the text is trusted HTML (render it unescaped).
    pub is_safe: bool,
}

impl OwnedMessage {
    /// Copies `message`, resolving its tags in `tags`.
    pub fn new(message: Message<'_>, tags: &TagTable<'_>) -> Self {
        OwnedMessage {
            level: message.level,
            level_tag: tags.level_tag(message.level).to_owned(),
            tags: tags.tags(message.level, message.extra_tags).to_string(),
            message: message.message.to_owned(),
            extra_tags: message.extra_tags.map(str::to_owned),
            is_safe: message.is_safe,
        }
    }
}

impl fmt::Display for OwnedMessage {
    /// A message displays as its text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn serialize_message<S: serde::Serializer>(
    s: S,
    level: Level,
    level_tag: &str,
    tags: &str,
    message: &str,
    extra_tags: Option<&str>,
    is_safe: bool,
) -> Result<S::Ok, S::Error> {
    let mut st = s.serialize_struct("Message", 6)?;
    st.serialize_field("level", &level.0)?;
    st.serialize_field("level_tag", level_tag)?;
    st.serialize_field("tags", tags)?;
    st.serialize_field("message", message)?;
    st.serialize_field("extra_tags", &extra_tags)?;
    st.serialize_field("is_safe", &is_safe)?;
    st.end()
}

impl Serialize for OwnedMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_message(
            s,
            self.level,
            &self.level_tag,
            &self.tags,
            &self.message,
            self.extra_tags.as_deref(),
            self.is_safe,
        )
    }
}

/// A borrowed message with the tag table in force: what a [`Snapshot`](crate::Snapshot)
/// yields. Serializes
/// like [`OwnedMessage`] without copying.
#[derive(Clone, Copy, Debug)]
pub struct MessageView<'a> {
    message: Message<'a>,
    tags: TagTable<'a>,
}

impl<'a> MessageView<'a> {
    /// `message` with its tags resolved in `tags`.
    pub fn new(message: Message<'a>, tags: TagTable<'a>) -> Self {
        MessageView { message, tags }
    }
}

impl<'a> MessageView<'a> {
    /// The level.
    pub fn level(&self) -> Level {
        self.message.level
    }
    /// The text.
    pub fn message(&self) -> &'a str {
        self.message.message
    }
    /// The extra tags as given.
    pub fn extra_tags(&self) -> Option<&'a str> {
        self.message.extra_tags
    }
    /// Whether the text is trusted HTML.
    pub fn is_safe(&self) -> bool {
        self.message.is_safe
    }
    /// The level's tag (`"success"` for SUCCESS; `""` for a level without one).
    pub fn level_tag(&self) -> &'a str {
        self.tags.level_tag(self.message.level)
    }
    /// The full tag string (extra tags, then the level tag), rendered without allocating.
    pub fn tags(&self) -> herald_core::Tags<'a> {
        self.tags.tags(self.message.level, self.message.extra_tags)
    }
    /// The core message (level, text, extra tags, safe flag).
    pub fn as_message(&self) -> Message<'a> {
        self.message
    }
    /// An owned copy.
    pub fn to_owned(&self) -> OwnedMessage {
        OwnedMessage::new(self.message, &self.tags)
    }
}

impl fmt::Display for MessageView<'_> {
    /// A message displays as its text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message.message)
    }
}

impl Serialize for MessageView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_message(
            s,
            self.message.level,
            self.level_tag(),
            &self.tags().to_string(),
            self.message.message,
            self.message.extra_tags,
            self.message.is_safe,
        )
    }
}
