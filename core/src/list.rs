//! [`MessageList`]: fixed-capacity, allocation-free storage for many messages.
//!
//! All texts and extra tags live in one string arena of `BYTES` bytes; each message is a
//! 12-byte entry (level, offsets, flags) in a table of `MSGS` entries. The arena is sized
//! for what a cookie can carry, so a list costs `BYTES + 12 * MSGS` bytes plus a few words,
//! whatever the messages look like.

use core::fmt;
use core::ops::Range;

use crate::level::Level;
use crate::message::Message;

/// Default arena size in bytes for texts and extra tags: what a full 2048-byte cookie can
/// carry (about 1.5 KB of text) plus as much again for the messages added in one request.
pub const DEFAULT_BYTES: usize = 3072;
/// Default number of messages a list can hold.
pub const DEFAULT_MSGS: usize = 32;

const SAFE: u8 = 1;
const HAS_EXTRA: u8 = 2;

/// One message's place in the arena. Private: users see [`Message`] views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    level: i32,
    start: u16,
    text_len: u16,
    extra_len: u16,
    flags: u8,
}

impl Entry {
    fn view<'a>(&self, arena: &'a str) -> Message<'a> {
        let start = usize::from(self.start);
        let mid = start + usize::from(self.text_len);
        let end = mid + usize::from(self.extra_len);
        Message {
            level: Level(self.level),
            text: &arena[start..mid],
            extra_tags: (self.flags & HAS_EXTRA != 0).then(|| &arena[mid..end]),
            safe: self.flags & SAFE != 0,
        }
    }
}

/// Which capacity of a [`MessageList`] a message did not fit in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapacityError {
    /// The list already holds its maximum number of messages (`MSGS`).
    TooManyMessages,
    /// The message's text and extra tags do not fit in the arena's free bytes (`BYTES`).
    TooManyBytes,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CapacityError::TooManyMessages => "message list is full (MSGS capacity reached)",
            CapacityError::TooManyBytes => "message arena is full (BYTES capacity reached)",
        })
    }
}

impl core::error::Error for CapacityError {}

/// An ordered, fixed-capacity list of messages that owns its texts.
///
/// `BYTES` bounds the total length of all texts and extra tags, `MSGS` the number of
/// messages; both are checked on every push, which either stores the whole message or
/// returns a [`CapacityError`] and changes nothing. `BYTES` must be at most 65535.
#[derive(Clone)]
pub struct MessageList<const BYTES: usize = DEFAULT_BYTES, const MSGS: usize = DEFAULT_MSGS> {
    arena: heapless::String<BYTES>,
    entries: heapless::Vec<Entry, MSGS>,
}

impl<const BYTES: usize, const MSGS: usize> Default for MessageList<BYTES, MSGS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BYTES: usize, const MSGS: usize> fmt::Debug for MessageList<BYTES, MSGS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<const BYTES: usize, const MSGS: usize> MessageList<BYTES, MSGS> {
    /// An empty list.
    pub const fn new() -> Self {
        const {
            assert!(
                BYTES <= u16::MAX as usize,
                "MessageList BYTES must be <= 65535"
            )
        };
        MessageList {
            arena: heapless::String::new(),
            entries: heapless::Vec::new(),
        }
    }

    /// Appends a copy of `message`.
    ///
    /// # Errors
    /// [`CapacityError::TooManyMessages`] when the list holds `MSGS` messages,
    /// [`CapacityError::TooManyBytes`] when the text and extra tags do not fit in the free
    /// arena bytes. On error the list is unchanged.
    pub fn push(&mut self, message: Message<'_>) -> Result<(), CapacityError> {
        if self.entries.is_full() {
            return Err(CapacityError::TooManyMessages);
        }
        let extra = message.extra_tags.unwrap_or("");
        let need = message.text.len() + extra.len();
        if need > BYTES - self.arena.len() {
            return Err(CapacityError::TooManyBytes);
        }
        let entry = Entry {
            level: message.level.0,
            // Both fit in u16: the arena is at most 65535 bytes (checked in `new`).
            start: self.arena.len() as u16,
            text_len: message.text.len() as u16,
            extra_len: extra.len() as u16,
            flags: if message.safe { SAFE } else { 0 }
                | if message.extra_tags.is_some() {
                    HAS_EXTRA
                } else {
                    0
                },
        };
        // Cannot fail: the free space was checked above.
        let _ = self.arena.push_str(message.text);
        let _ = self.arena.push_str(extra);
        let _ = self.entries.push(entry);
        Ok(())
    }

    /// The message at `index`, if any.
    pub fn get(&self, index: usize) -> Option<Message<'_>> {
        self.entries.get(index).map(|e| e.view(&self.arena))
    }

    /// The number of messages.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list holds no message.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Arena bytes in use (texts plus extra tags).
    pub fn bytes_used(&self) -> usize {
        self.arena.len()
    }

    /// Keeps the first `len` messages and drops the rest (no-op if `len >= self.len()`).
    pub fn truncate(&mut self, len: usize) {
        if let Some(first_dropped) = self.entries.get(len) {
            let start = usize::from(first_dropped.start);
            self.arena.truncate(start);
            self.entries.truncate(len);
        }
    }

    /// Removes every message.
    pub fn clear(&mut self) {
        self.arena.clear();
        self.entries.clear();
    }

    /// All messages, oldest first.
    pub fn iter(&self) -> Messages<'_> {
        self.view().iter()
    }

    /// A borrowed, capacity-erased view of the whole list.
    pub fn view(&self) -> ListView<'_> {
        ListView {
            arena: &self.arena,
            entries: &self.entries,
        }
    }

    /// A view of the messages in `range` (clamped to the list).
    pub fn slice(&self, range: Range<usize>) -> ListView<'_> {
        self.view().slice(range)
    }
}

/// A borrowed view of consecutive messages of a [`MessageList`], independent of its
/// capacities, so that codecs and truncation need not be generic.
#[derive(Clone, Copy)]
pub struct ListView<'a> {
    arena: &'a str,
    entries: &'a [Entry],
}

impl fmt::Debug for ListView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> ListView<'a> {
    /// An empty view.
    pub const fn empty() -> ListView<'static> {
        ListView {
            arena: "",
            entries: &[],
        }
    }

    /// The number of messages in view.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the view holds no message.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The message at `index` in the view.
    pub fn get(&self, index: usize) -> Option<Message<'a>> {
        self.entries.get(index).map(|e| e.view(self.arena))
    }

    /// The messages, oldest first.
    pub fn iter(&self) -> Messages<'a> {
        Messages {
            arena: self.arena,
            entries: self.entries.iter(),
        }
    }

    /// The sub-view of `range` (clamped to the view).
    pub fn slice(&self, range: Range<usize>) -> ListView<'a> {
        let end = range.end.min(self.entries.len());
        let start = range.start.min(end);
        ListView {
            arena: self.arena,
            entries: &self.entries[start..end],
        }
    }
}

impl<'a> IntoIterator for ListView<'a> {
    type Item = Message<'a>;
    type IntoIter = Messages<'a>;
    fn into_iter(self) -> Messages<'a> {
        self.iter()
    }
}

impl<'a, const BYTES: usize, const MSGS: usize> IntoIterator for &'a MessageList<BYTES, MSGS> {
    type Item = Message<'a>;
    type IntoIter = Messages<'a>;
    fn into_iter(self) -> Messages<'a> {
        self.iter()
    }
}

/// Iterator over [`Message`] views, oldest first.
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    arena: &'a str,
    entries: core::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Message<'a>;
    fn next(&mut self) -> Option<Message<'a>> {
        self.entries.next().map(|e| e.view(self.arena))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl DoubleEndedIterator for Messages<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.entries.next_back().map(|e| e.view(self.arena))
    }
}

impl ExactSizeIterator for Messages<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_and_views_roundtrip_every_field() {
        let mut l: MessageList<64, 4> = MessageList::new();
        l.push(Message::new(Level::INFO, "héllo").with_extra_tags("a b"))
            .unwrap();
        l.push(Message {
            level: Level(-7),
            text: "x",
            extra_tags: None,
            safe: true,
        })
        .unwrap();
        assert_eq!(l.len(), 2);
        let a = l.get(0).unwrap();
        assert_eq!(
            (a.level, a.text, a.extra_tags, a.safe),
            (Level::INFO, "héllo", Some("a b"), false)
        );
        let b = l.get(1).unwrap();
        assert_eq!(
            (b.level, b.text, b.extra_tags, b.safe),
            (Level(-7), "x", None, true)
        );
        assert_eq!(l.iter().next_back().unwrap().text, "x");
        assert_eq!(l.slice(1..9).len(), 1);
        assert_eq!(l.slice(5..9).len(), 0);
        assert_eq!(l.bytes_used(), "héllo".len() + 3 + 1);
    }

    #[test]
    fn capacity_errors_leave_the_list_unchanged() {
        let mut l: MessageList<8, 2> = MessageList::new();
        l.push(Message::new(Level::INFO, "12345")).unwrap();
        assert_eq!(
            l.push(Message::new(Level::INFO, "1234").with_extra_tags("")),
            Err(CapacityError::TooManyBytes)
        );
        assert_eq!(
            l.push(Message::new(Level::INFO, "12").with_extra_tags("34")),
            Err(CapacityError::TooManyBytes)
        );
        assert_eq!(l.len(), 1);
        assert_eq!(l.bytes_used(), 5);
        l.push(Message::new(Level::INFO, "123")).unwrap();
        assert_eq!(
            l.push(Message::new(Level::INFO, "")),
            Err(CapacityError::TooManyMessages)
        );
        l.clear();
        assert!(l.is_empty());
        assert_eq!(l.bytes_used(), 0);
    }
}
