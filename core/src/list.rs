//! Storage for an inbox's messages, in the spirit of smoltcp's `managed`: either fixed
//! and allocation-free ([`MessageList`], capacities chosen at compile time), or owned and
//! growable (`GrowableList`, feature `alloc`, bounded only by run-time `Limits`). Both
//! implement [`MessageStore`] and hand out the same borrowed [`ListView`], so the codec,
//! the truncation and the inbox are written once for both.
//!
//! All texts and extra tags of a list live in one string arena; each message is a 24-byte
//! entry (level, offsets, flags, expiry) in a table. A fixed list costs `BYTES + 24 * MSGS`
//! bytes plus a few words, whatever the messages look like.

use core::fmt;
use core::ops::Range;

use crate::level::Level;
use crate::message::Message;

/// Default arena size in bytes for texts and extra tags: what a full 2048-byte cookie can
/// carry (about 1.5 KB of text) plus as much again for the messages added in one request.
pub const DEFAULT_BYTES: usize = 3072;
/// Default number of messages a list can hold.
pub const DEFAULT_MSGS: usize = 32;
/// The longest extra-tags string a list stores, in bytes.
pub const MAX_EXTRA_TAGS_LEN: usize = u16::MAX as usize;

const SAFE: u8 = 1;
const HAS_EXTRA: u8 = 2;
const EXPIRES: u8 = 4;

/// One message's place in the arena. Private: users see [`Message`] views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    expires_at: u64,
    level: i32,
    start: u32,
    text_len: u32,
    extra_len: u16,
    flags: u8,
}

impl Entry {
    /// The entry for `message` stored at `start` in the arena, if its lengths fit the
    /// entry's fields (the caller has checked the arena's capacity).
    fn new(message: &Message<'_>, start: usize) -> Option<Entry> {
        let extra = message.extra_tags.unwrap_or("");
        Some(Entry {
            expires_at: message.expires_at.unwrap_or(0),
            level: message.level.0,
            start: u32::try_from(start).ok()?,
            text_len: u32::try_from(message.message.len()).ok()?,
            extra_len: u16::try_from(extra.len()).ok()?,
            flags: if message.is_safe { SAFE } else { 0 }
                | if message.extra_tags.is_some() {
                    HAS_EXTRA
                } else {
                    0
                }
                | if message.expires_at.is_some() {
                    EXPIRES
                } else {
                    0
                },
        })
    }

    fn start(&self) -> usize {
        self.start as usize
    }

    /// Where the entry's text and extra tags end in the arena.
    fn end(&self) -> usize {
        self.start() + self.text_len as usize + usize::from(self.extra_len)
    }

    fn view<'a>(&self, arena: &'a str) -> Message<'a> {
        let start = self.start();
        let mid = start + self.text_len as usize;
        let end = mid + usize::from(self.extra_len);
        Message {
            level: Level(self.level),
            message: &arena[start..mid],
            extra_tags: (self.flags & HAS_EXTRA != 0).then(|| &arena[mid..end]),
            is_safe: self.flags & SAFE != 0,
            expires_at: (self.flags & EXPIRES != 0).then_some(self.expires_at),
        }
    }
}

/// One message's fields as stored, for the codec: the bytes of its text and extra tags
/// (known UTF-8) without building `&str` views.
#[derive(Clone, Copy)]
pub(crate) struct RawMessage<'a> {
    pub(crate) level: i32,
    pub(crate) text: &'a [u8],
    pub(crate) extra_tags: Option<&'a [u8]>,
    pub(crate) is_safe: bool,
    pub(crate) expires_at: Option<u64>,
}

impl Entry {
    #[inline]
    fn raw<'a>(&self, arena: &'a [u8]) -> RawMessage<'a> {
        let start = self.start();
        let mid = start + self.text_len as usize;
        let end = mid + usize::from(self.extra_len);
        RawMessage {
            level: self.level,
            text: &arena[start..mid],
            extra_tags: (self.flags & HAS_EXTRA != 0).then(|| &arena[mid..end]),
            is_safe: self.flags & SAFE != 0,
            expires_at: (self.flags & EXPIRES != 0).then_some(self.expires_at),
        }
    }
}

/// The fields of a stored message that its encoded size depends on (see
/// [`ListView::sizes`]).
#[derive(Clone, Copy)]
pub(crate) struct RawSizes {
    pub(crate) level: i32,
    pub(crate) text_len: usize,
    pub(crate) extra_len: Option<usize>,
    pub(crate) expires_at: Option<u64>,
}

/// Which capacity or limit of a message store a message did not fit in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CapacityError {
    /// The store already holds its maximum number of messages.
    TooManyMessages,
    /// The message's text and extra tags do not fit in the store's free bytes (or its
    /// extra tags are longer than [`MAX_EXTRA_TAGS_LEN`]).
    TooManyBytes,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CapacityError::TooManyMessages => "the request's message count limit is reached",
            CapacityError::TooManyBytes => "the request's message text limit (bytes) is reached",
        })
    }
}

impl core::error::Error for CapacityError {}

mod sealed {
    pub trait Sealed {}
}

/// Where an [`Inbox`](crate::inbox::Inbox) keeps its messages: [`MessageList`] (fixed,
/// no heap) or `GrowableList` (feature `alloc`). Sealed: the two cover both worlds, and
/// the codec relies on their shared layout.
pub trait MessageStore: sealed::Sealed + Clone {
    /// Appends a copy of `message`, or changes nothing.
    ///
    /// # Errors
    /// [`CapacityError`] when the message does not fit the store's capacities or limits.
    fn push(&mut self, message: Message<'_>) -> Result<(), CapacityError>;

    /// A borrowed view of every message, oldest first.
    fn view(&self) -> ListView<'_>;

    /// Keeps the first `len` messages and drops the rest (no-op if `len >= len()`).
    fn truncate(&mut self, len: usize);

    /// A hint that about `messages` more messages with `bytes` more bytes of text are
    /// coming (a decoder knows both from the body). Fixed stores ignore it.
    fn reserve(&mut self, messages: usize, bytes: usize) {
        let _ = (messages, bytes);
    }

    /// The number of messages.
    fn len(&self) -> usize {
        self.view().len()
    }

    /// Whether the store holds no message.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An ordered, fixed-capacity list of messages that owns its texts.
///
/// `BYTES` bounds the total length of all texts and extra tags, `MSGS` the number of
/// messages; both are checked on every push, which either stores the whole message or
/// returns a [`CapacityError`] and changes nothing.
#[derive(Clone)]
pub struct MessageList<const BYTES: usize = DEFAULT_BYTES, const MSGS: usize = DEFAULT_MSGS> {
    arena: arrayvec::ArrayString<BYTES>,
    entries: arrayvec::ArrayVec<Entry, MSGS>,
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
                BYTES <= u32::MAX as usize,
                "MessageList BYTES must fit in 32 bits"
            )
        };
        MessageList {
            arena: arrayvec::ArrayString::new_const(),
            entries: arrayvec::ArrayVec::new_const(),
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
        let need = message.message.len() + extra.len();
        if need > BYTES - self.arena.len() {
            return Err(CapacityError::TooManyBytes);
        }
        let entry = Entry::new(&message, self.arena.len()).ok_or(CapacityError::TooManyBytes)?;
        // Cannot fail: the free space was checked above.
        let _ = self.arena.try_push_str(message.message);
        let _ = self.arena.try_push_str(extra);
        let _ = self.entries.try_push(entry);
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
            self.arena.truncate(first_dropped.start());
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

impl<const BYTES: usize, const MSGS: usize> sealed::Sealed for MessageList<BYTES, MSGS> {}

impl<const BYTES: usize, const MSGS: usize> MessageStore for MessageList<BYTES, MSGS> {
    fn push(&mut self, message: Message<'_>) -> Result<(), CapacityError> {
        MessageList::push(self, message)
    }
    fn view(&self) -> ListView<'_> {
        MessageList::view(self)
    }
    fn truncate(&mut self, len: usize) {
        MessageList::truncate(self, len);
    }
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(feature = "alloc")]
pub use growable::{GrowableList, Limits};

#[cfg(feature = "alloc")]
mod growable {
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::fmt;

    use super::{CapacityError, Entry, ListView, MessageList, MessageStore, sealed};
    use crate::message::Message;

    /// Bytes of text a [`GrowableList`] holds before it first allocates.
    const INLINE_BYTES: usize = 256;
    /// Messages a [`GrowableList`] holds before it first allocates.
    const INLINE_MSGS: usize = 4;
    /// The least room a [`GrowableList`] takes when it moves to the heap: a kilobyte of
    /// text and 16 messages, so a request of ten ordinary messages allocates once per
    /// buffer and never grows it.
    const SPILL_BYTES: usize = 1024;
    const SPILL_MSGS: usize = 16;

    /// The run-time bounds of a [`GrowableList`]: a guard against abuse (one request adding
    /// megabytes of messages), not a storage capacity.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Limits {
        /// The most bytes of text and extra tags, all messages together.
        pub max_bytes: usize,
        /// The most messages.
        pub max_messages: usize,
    }

    impl Limits {
        /// 64 KiB of text and 1000 messages per request.
        pub const DEFAULT: Limits = Limits {
            max_bytes: 64 * 1024,
            max_messages: 1000,
        };
    }

    impl Default for Limits {
        fn default() -> Self {
            Limits::DEFAULT
        }
    }

    /// An owned, growable list of messages (feature `alloc`): it allocates only for what
    /// it holds, and refuses only what exceeds its [`Limits`].
    ///
    /// The first few messages (up to 256 bytes of text and 4 messages) live inline, so a
    /// request with a message or two allocates nothing for them; past that, the list
    /// moves to the heap once and grows there.
    ///
    /// ```
    /// use herald_core::list::{GrowableList, Limits, MessageStore};
    /// use herald_core::{Level, Message};
    /// let mut list = GrowableList::new(Limits { max_bytes: 10_000, max_messages: 100 });
    /// for i in 0..50 {
    ///     list.push(Message::new(Level::INFO, "a message of some length")).unwrap();
    /// }
    /// assert_eq!(list.len(), 50);
    /// ```
    #[derive(Clone)]
    pub struct GrowableList {
        repr: Repr,
        limits: Limits,
    }

    // The inline variant is large on purpose: it is what saves the allocations.
    #[allow(clippy::large_enum_variant)]
    #[derive(Clone)]
    enum Repr {
        Inline(MessageList<INLINE_BYTES, INLINE_MSGS>),
        Heap { arena: String, entries: Vec<Entry> },
    }

    impl Default for GrowableList {
        fn default() -> Self {
            GrowableList::new(Limits::DEFAULT)
        }
    }

    impl fmt::Debug for GrowableList {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_list().entries(self.view().iter()).finish()
        }
    }

    impl GrowableList {
        /// An empty list bounded by `limits`; allocates nothing.
        pub const fn new(limits: Limits) -> Self {
            GrowableList {
                repr: Repr::Inline(MessageList::new()),
                limits,
            }
        }

        /// The limits in force.
        pub fn limits(&self) -> Limits {
            self.limits
        }

        /// Bytes of text and extra tags in use.
        pub fn bytes_used(&self) -> usize {
            self.view().arena.len()
        }

        /// Whether the list has moved to the heap (it does when it outgrows its inline
        /// store, and then stays there).
        ///
        /// ```
        /// use herald_core::list::{GrowableList, Limits, MessageStore};
        /// use herald_core::{Level, Message};
        /// let mut list = GrowableList::new(Limits::DEFAULT);
        /// list.push(Message::new(Level::INFO, "one")).unwrap();
        /// assert!(!list.is_spilled());
        /// for _ in 0..10 {
        ///     list.push(Message::new(Level::INFO, "and ten more")).unwrap();
        /// }
        /// assert!(list.is_spilled());
        /// ```
        pub fn is_spilled(&self) -> bool {
            matches!(self.repr, Repr::Heap { .. })
        }

        /// The bytes of heap the list holds (0 while it is inline): its text buffer's and
        /// its message table's capacities.
        pub fn heap_bytes(&self) -> usize {
            match &self.repr {
                Repr::Inline(_) => 0,
                Repr::Heap { arena, entries } => {
                    arena.capacity() + entries.capacity() * core::mem::size_of::<Entry>()
                }
            }
        }

        /// Empties the list and bounds it by `limits`, keeping its heap buffers: for a
        /// new inbox that reuses this one's memory.
        ///
        /// ```
        /// use herald_core::list::{GrowableList, Limits, MessageStore};
        /// use herald_core::{Level, Message};
        /// let mut list = GrowableList::new(Limits::DEFAULT);
        /// for _ in 0..10 {
        ///     list.push(Message::new(Level::INFO, "a message that outgrows the inline store")).unwrap();
        /// }
        /// let held = list.heap_bytes();
        /// list.reset(Limits { max_bytes: 100, max_messages: 2 });
        /// assert!(list.is_empty() && list.heap_bytes() == held);
        /// assert_eq!(list.limits().max_messages, 2);
        /// ```
        pub fn reset(&mut self, limits: Limits) {
            self.truncate(0);
            self.limits = limits;
        }

        /// Moves the inline messages to the heap, with room for `messages` more messages
        /// and `bytes` more bytes.
        fn spill(&mut self, messages: usize, bytes: usize) {
            if let Repr::Inline(list) = &self.repr {
                let mut arena = String::with_capacity((list.arena.len() + bytes).max(SPILL_BYTES));
                arena.push_str(&list.arena);
                let mut entries =
                    Vec::with_capacity((list.entries.len() + messages).max(SPILL_MSGS));
                entries.extend_from_slice(&list.entries);
                self.repr = Repr::Heap { arena, entries };
            }
        }
    }

    impl sealed::Sealed for GrowableList {}

    impl MessageStore for GrowableList {
        fn push(&mut self, message: Message<'_>) -> Result<(), CapacityError> {
            let extra = message.extra_tags.unwrap_or("");
            let need = message.message.len() + extra.len();
            if self.len() >= self.limits.max_messages {
                return Err(CapacityError::TooManyMessages);
            }
            if need > self.limits.max_bytes.saturating_sub(self.bytes_used()) {
                return Err(CapacityError::TooManyBytes);
            }
            if let Repr::Inline(list) = &mut self.repr {
                if list.push(message).is_ok() {
                    return Ok(());
                }
                self.spill(1, need);
            }
            let Repr::Heap { arena, entries } = &mut self.repr else {
                unreachable!("spilled above")
            };
            let entry = Entry::new(&message, arena.len()).ok_or(CapacityError::TooManyBytes)?;
            arena.push_str(message.message);
            arena.push_str(extra);
            entries.push(entry);
            Ok(())
        }

        fn view(&self) -> ListView<'_> {
            match &self.repr {
                Repr::Inline(list) => list.view(),
                Repr::Heap { arena, entries } => ListView { arena, entries },
            }
        }

        fn truncate(&mut self, len: usize) {
            match &mut self.repr {
                Repr::Inline(list) => list.truncate(len),
                Repr::Heap { arena, entries } => {
                    if let Some(first_dropped) = entries.get(len) {
                        arena.truncate(first_dropped.start());
                        entries.truncate(len);
                    }
                }
            }
        }

        fn reserve(&mut self, messages: usize, bytes: usize) {
            let messages = messages.min(self.limits.max_messages);
            let bytes = bytes.min(self.limits.max_bytes);
            match &mut self.repr {
                Repr::Inline(list) => {
                    if list.len() + messages > INLINE_MSGS
                        || list.bytes_used() + bytes > INLINE_BYTES
                    {
                        self.spill(messages, bytes);
                    }
                }
                Repr::Heap { arena, entries } => {
                    arena.reserve(bytes);
                    entries.reserve(messages);
                }
            }
        }

        fn len(&self) -> usize {
            match &self.repr {
                Repr::Inline(list) => list.len(),
                Repr::Heap { entries, .. } => entries.len(),
            }
        }
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

    /// The messages' stored fields, oldest first, for the codec.
    pub(crate) fn raw(&self) -> impl DoubleEndedIterator<Item = RawMessage<'a>> + 'a {
        let arena = self.arena.as_bytes();
        self.entries.iter().map(move |e| e.raw(arena))
    }

    /// The messages' stored sizes, oldest first, for size prediction: what
    /// [`raw`](Self::raw) gives without building the text slices.
    pub(crate) fn sizes(&self) -> impl DoubleEndedIterator<Item = RawSizes> + 'a {
        self.entries.iter().map(|e| RawSizes {
            level: e.level,
            text_len: e.text_len as usize,
            extra_len: (e.flags & HAS_EXTRA != 0).then_some(usize::from(e.extra_len)),
            expires_at: (e.flags & EXPIRES != 0).then_some(e.expires_at),
        })
    }

    /// The index of the first message expired at `now` (an expiry not after `now`), from
    /// the entries alone (no text is looked at).
    pub(crate) fn first_expired(&self, now: u64) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.flags & EXPIRES != 0 && now >= e.expires_at)
    }

    /// The bytes of text and extra tags of the messages in view (they are contiguous in
    /// the arena).
    pub(crate) fn text_len(&self) -> usize {
        match (self.entries.first(), self.entries.last()) {
            (Some(first), Some(last)) => last.end() - first.start(),
            _ => 0,
        }
    }

    /// Whether any message in view has an expiry.
    pub(crate) fn any_expiry(&self) -> bool {
        self.entries.iter().any(|e| e.flags & EXPIRES != 0)
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
            message: "x",
            extra_tags: None,
            is_safe: true,
            expires_at: Some(u64::MAX),
        })
        .unwrap();
        assert_eq!(l.len(), 2);
        let a = l.get(0).unwrap();
        assert_eq!(
            (a.level, a.message, a.extra_tags, a.is_safe, a.expires_at),
            (Level::INFO, "héllo", Some("a b"), false, None)
        );
        let b = l.get(1).unwrap();
        assert_eq!(
            (b.level, b.message, b.extra_tags, b.is_safe, b.expires_at),
            (Level(-7), "x", None, true, Some(u64::MAX))
        );
        assert_eq!(l.iter().next_back().unwrap().message, "x");
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
    #[cfg(feature = "alloc")]
    #[test]
    fn growable_list_spills_past_its_inline_room_and_keeps_every_field() {
        use alloc::format;
        let mut l = GrowableList::new(Limits::DEFAULT);
        let texts: alloc::vec::Vec<alloc::string::String> = (0..300)
            .map(|i| format!("message number {i} with some text"))
            .collect();
        for (i, t) in texts.iter().enumerate() {
            let m = Message::new(Level(i as i32), t).with_safe(i % 2 == 0);
            let m = if i % 3 == 0 {
                Message {
                    extra_tags: None,
                    ..m
                }
            } else {
                m.with_extra_tags("x y")
            };
            l.push(m).unwrap();
        }
        assert_eq!(MessageStore::len(&l), 300);
        for (i, m) in l.view().iter().enumerate() {
            assert_eq!(m.message, texts[i]);
            assert_eq!(m.level, Level(i as i32));
            assert_eq!(m.is_safe, i % 2 == 0);
            assert_eq!(m.extra_tags, if i % 3 == 0 { None } else { Some("x y") });
        }
        l.truncate(5);
        assert_eq!(l.view().len(), 5);
        let extra: usize = (0..5).map(|i| if i % 3 == 0 { 0 } else { 3 }).sum();
        assert_eq!(
            l.bytes_used(),
            texts[..5].iter().map(|t| t.len()).sum::<usize>() + extra
        );
        l.push(Message::new(Level::INFO, "after truncation"))
            .unwrap();
        assert_eq!(l.view().get(5).unwrap().message, "after truncation");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn growable_list_limits_refuse_and_change_nothing() {
        let mut l = GrowableList::new(Limits {
            max_bytes: 10,
            max_messages: 2,
        });
        l.push(Message::new(Level::INFO, "12345")).unwrap();
        assert_eq!(
            l.push(Message::new(Level::INFO, "12345").with_extra_tags("6")),
            Err(CapacityError::TooManyBytes)
        );
        l.push(Message::new(Level::INFO, "12345")).unwrap();
        assert_eq!(
            l.push(Message::new(Level::INFO, "1")),
            Err(CapacityError::TooManyMessages)
        );
        assert_eq!(MessageStore::len(&l), 2);
        assert_eq!(l.bytes_used(), 10);
        // Extra tags longer than an entry can describe are refused, inline or spilled.
        let long =
            alloc::string::String::from_utf8(alloc::vec![b'e'; MAX_EXTRA_TAGS_LEN + 1]).unwrap();
        let mut l = GrowableList::new(Limits {
            max_bytes: usize::MAX,
            max_messages: 10,
        });
        assert_eq!(
            l.push(Message::new(Level::INFO, "x").with_extra_tags(&long)),
            Err(CapacityError::TooManyBytes)
        );
        assert!(MessageStore::is_empty(&l));
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn growable_list_reserve_is_bounded_by_the_limits() {
        let mut l = GrowableList::new(Limits {
            max_bytes: 100,
            max_messages: 3,
        });
        l.reserve(usize::MAX, usize::MAX);
        for _ in 0..3 {
            l.push(Message::new(Level::INFO, "0123456789")).unwrap();
        }
        assert_eq!(MessageStore::len(&l), 3);
    }
}
