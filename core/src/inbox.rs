//! The per-request state machine (RULES §2, Django's `BaseStorage`, with the storage rules
//! of §4 – §6): load what the request carries, add, iterate, keep, and decide at response
//! time exactly what each storage must do.
//!
//! ## Lifecycle of one request
//! 1. [`Inbox::new`] with the configured [`Storage`] and default minimum level.
//! 2. [`Inbox::load_cookie`] with the incoming cookie value (cookie and fallback storage),
//!    then, if [`Inbox::needs_session`] says so, [`Inbox::load_session`] with the session
//!    entry. Loading is **eager**: the MAC is checked and the messages are copied into the
//!    inbox at once, so the request handler never waits on a decode and a bad value is
//!    known immediately. Django's lazy-load *observable* behaviour is kept: an invalid
//!    cookie under cookie storage marks the inbox used only when something touches the
//!    messages (`len`, `contains`, iteration — R-2.4, R-4.20), so an untouched bad cookie
//!    is left alone. A value in another wire format (Django's) is verified and parsed by
//!    its codec and loaded with [`Inbox::load_cookie_foreign`] /
//!    [`Inbox::load_session_foreign`], under the same rules.
//! 3. The handler calls [`Inbox::add`], [`Inbox::iter`], [`Inbox::keep`], ….
//! 4. [`Inbox::plan`] (or [`Inbox::plan_with`] for another codec) says what to write:
//!    a [`Plan`] with the cookie action, the session action, the unstored messages and
//!    the issued-at the values carry ([`Plan::issued_at`]: the age of the oldest stored
//!    message, so that `max_age` counts from a message's first write, RULES R-3.5).
//!    [`Inbox::seal_cookie`] and [`Inbox::encode_session`] produce the bytes.
//!
//! The adapters only move bytes between HTTP and these calls; every decision is here.

use core::fmt;
use core::ops::Range;

use crate::codec::{self, DecodeError, EncodeError, Header};
use crate::level::Level;
use crate::list::{CapacityError, ListView, MessageList, MessageStore, Messages};
use crate::message::Message;
use crate::seal::{Open, Seal};
use crate::signer::{self, KeyUsed, MAC_LEN, OpenError, SealError};
use crate::truncate::{self, Policy};

/// Where messages are kept between requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Storage {
    /// A signed cookie only (Django's `CookieStorage`): when not all fit, the oldest are
    /// dropped and reported unstored.
    Cookie,
    /// The session only (Django's `SessionStorage`): no size limit, nothing signed.
    Session,
    /// Cookie first, the overflow in the session (Django's `FallbackStorage`, the default).
    #[default]
    Fallback,
}

/// What [`Inbox::add`] did with a message it accepted as valid input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// The message was queued and will be shown or stored.
    Queued,
    /// The text was empty, so nothing was queued (R-2.1).
    IgnoredEmpty,
    /// The level is below the inbox's minimum level, so nothing was queued (R-2.1).
    IgnoredBelowLevel,
    /// The message's expiry is not after the request's time (the `now` of its loads), so
    /// nothing was queued: it could never be shown (R-11.5).
    IgnoredExpired,
}

/// A message [`Inbox::add`] could not queue because a capacity was exceeded. The message is
/// handed back, so nothing is dropped silently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddError<'m> {
    /// The message that was not queued.
    pub message: Message<'m>,
    /// Which capacity it did not fit in.
    pub reason: CapacityError,
}

impl fmt::Display for AddError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "message not queued: {}", self.reason)
    }
}

impl core::error::Error for AddError<'_> {}

/// What a successful load found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// No value, or an empty one: nothing to read, and nothing marked (R-4.12).
    Absent,
    /// A valid value.
    Messages {
        /// How many messages it held and the inbox took (expired ones left out).
        count: usize,
        /// How many messages it held that had expired at the load's `now` and were
        /// dropped, never to be shown (R-11.5). Always 0 for a foreign value.
        expired: usize,
        /// Whether it carried the not-finished marker (more messages in the session).
        continued: bool,
        /// Which key verified it (`Current` for session data, which is not signed). A
        /// fallback key means the adapter should re-sign: see [`Inbox::needs_resign`].
        key: KeyUsed,
    },
}

/// Why a value could not be loaded. The inbox then holds no messages from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// The signed cookie was rejected (tampered, truncated, garbage, unknown key, expired).
    Open(OpenError),
    /// The bytes verified (or came from the session) but do not decode.
    Decode(DecodeError),
    /// A load was attempted after messages were added or after the same source was
    /// loaded; loads must come first, cookie before session.
    OutOfOrder,
    /// Another codec rejected the value ([`Foreign::Invalid`]): it does not verify or does
    /// not parse.
    Rejected,
    /// Another codec read a verified value this inbox cannot represent
    /// ([`Foreign::Unsupported`]).
    Unsupported,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Open(e) => write!(f, "messages cookie rejected: {e}"),
            LoadError::Decode(e) => write!(f, "stored messages do not decode: {e}"),
            LoadError::OutOfOrder => f.write_str("messages must be loaded before any add"),
            LoadError::Rejected => f.write_str("stored messages rejected by their codec"),
            LoadError::Unsupported => {
                f.write_str("stored messages hold a value this inbox cannot represent")
            }
        }
    }
}

impl core::error::Error for LoadError {}

/// A value read by another codec than herald's own (for example Django's wire format, in
/// the `herald` crate), for [`Inbox::load_cookie_foreign`] and
/// [`Inbox::load_session_foreign`]. The codec verifies and parses; the inbox applies the
/// same loading rules as to its own format, so the decisions stay here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Foreign<I> {
    /// No value, an empty one, or a payload that means "nothing stored" (Django's JSON
    /// `null`): nothing is marked (R-4.12, R-4.16).
    Absent,
    /// A value that does not verify or does not parse (R-4.19): like a herald value that
    /// does not open, it marks the inbox used once touched under the storage that owns it
    /// (cookie storage for the cookie, session storage for the session entry; R-4.20), and
    /// it is left alone under fallback storage (R-6.4).
    Invalid,
    /// A verified value holding something this inbox cannot represent: like a capacity
    /// error, nothing is marked, so it is not deleted unless new messages replace it.
    Unsupported,
    /// A verified, parsed value: its messages in order, whether it carried the
    /// not-finished marker (more messages in the session), and the key that verified it.
    Messages {
        /// The messages, oldest first.
        messages: I,
        /// Whether the not-finished marker was present (always `false` for a session).
        continued: bool,
        /// Which key verified the value (`KeyUsed::Current` for unsigned session data).
        key: KeyUsed,
    },
}

/// What [`Inbox::update`] says must be stored (R-2.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Update {
    /// Nothing was read or added: write nothing, touch nothing (R-2.6 step 4, R-2.7).
    Unchanged,
    /// Messages were read and nothing was added since: clear the storage.
    Clear,
    /// Store these messages, in this order (indices into the inbox, see
    /// [`Inbox::messages`]).
    Store(Range<usize>),
}

/// What to do with the messages cookie at response time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CookieAction {
    /// Send no `Set-Cookie`.
    Keep,
    /// Send a deletion cookie.
    Delete,
    /// Send a cookie holding these messages, with the not-finished marker if `continued`
    /// (see [`Inbox::seal_cookie`]).
    Set {
        /// The messages to put in the cookie.
        messages: Range<usize>,
        /// Whether to add the not-finished marker.
        continued: bool,
    },
}

/// What to do with the session entry at response time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionAction {
    /// Leave the session alone.
    Keep,
    /// Remove the messages entry.
    Remove,
    /// Store these messages (see [`Inbox::encode_session`]).
    Set {
        /// The messages to store.
        messages: Range<usize>,
    },
}

/// Everything the response must carry, decided by [`Inbox::plan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The cookie's action.
    pub cookie: CookieAction,
    /// The session's action.
    pub session: SessionAction,
    /// Messages that no storage takes (cookie storage drops the oldest that do not fit).
    /// Never silently dropped: the adapter reports them.
    pub unstored: Range<usize>,
    /// The issued-at time of every value this plan writes in herald's format (R-3.5):
    /// the age of the oldest message it stores. When the messages the update stores include
    /// some that were loaded from the cookie or the session, it is the earliest issued-at
    /// of those sources (never later than `now`); otherwise `now`. A fallback-key cookie
    /// re-signed unchanged keeps its own issued-at. Truncation was computed for this value,
    /// so pass it to [`Inbox::seal_cookie`], [`Inbox::session_len`] and
    /// [`Inbox::encode_session`]. [`Inbox::plan_with`], for codecs that stamp their own
    /// time (Django's), knows no `now` and sets it to 0.
    pub issued_at: u64,
}

/// How many messages an inbox can mark (R-11: [`Inbox::add_now`], [`Inbox::read_where`])
/// without the `alloc` feature (with it, any number: the marks beyond spill to the heap,
/// which a fixed [`MessageList`] of the default 32 messages never needs).
pub const INLINE_MARKS: usize = 128;

/// A set of message indices: inline bits for the first [`INLINE_MARKS`], then (with
/// `alloc`) a spill vector.
#[derive(Clone, Debug, Default)]
struct Marks {
    inline: [u64; INLINE_MARKS / 64],
    #[cfg(feature = "alloc")]
    spill: alloc::vec::Vec<u64>,
}

impl Marks {
    const fn new() -> Self {
        Marks {
            inline: [0; INLINE_MARKS / 64],
            #[cfg(feature = "alloc")]
            spill: alloc::vec::Vec::new(),
        }
    }

    fn get(&self, i: usize) -> bool {
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        match self.inline.get(word) {
            Some(w) => w & bit != 0,
            #[cfg(feature = "alloc")]
            None => self
                .spill
                .get(word - self.inline.len())
                .is_some_and(|w| w & bit != 0),
            #[cfg(not(feature = "alloc"))]
            None => false,
        }
    }

    /// Marks `i`; `false` when it cannot (index past [`INLINE_MARKS`] without `alloc`).
    fn set(&mut self, i: usize) -> bool {
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        if let Some(w) = self.inline.get_mut(word) {
            *w |= bit;
            return true;
        }
        #[cfg(feature = "alloc")]
        {
            let at = word - self.inline.len();
            if self.spill.len() <= at {
                self.spill.resize(at + 1, 0);
            }
            self.spill[at] |= bit;
            true
        }
        #[cfg(not(feature = "alloc"))]
        false
    }

    fn clear(&mut self) {
        self.inline = [0; INLINE_MARKS / 64];
        #[cfg(feature = "alloc")]
        self.spill.clear();
    }

    fn union(&mut self, other: &Marks) {
        for (w, o) in self.inline.iter_mut().zip(&other.inline) {
            *w |= o;
        }
        #[cfg(feature = "alloc")]
        {
            if self.spill.len() < other.spill.len() {
                self.spill.resize(other.spill.len(), 0);
            }
            for (w, o) in self.spill.iter_mut().zip(&other.spill) {
                *w |= o;
            }
        }
    }
}

/// The state of one source (cookie or session) after loading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    NotLoaded,
    Absent,
    Invalid,
    Valid {
        has_messages: bool,
        continued: bool,
        key: KeyUsed,
    },
}

/// The per-request message state (Django's storage object), keeping its messages in a
/// [`MessageStore`] `L`: by default a fixed [`MessageList`] (3072 bytes of text, 32
/// messages, no heap: the whole state is about 3.9 KiB, `core::mem::size_of::<Inbox>()`,
/// reported in the README), or with the `alloc` feature a
/// `GrowableList` (`list::GrowableList`) bounded only by run-time limits
/// ([`Inbox::with_store`]).
///
/// ```
/// use herald_core::{Inbox, Level, Storage, Added};
/// let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
/// assert_eq!(inbox.add(Level::SUCCESS, "Profile saved.", ""), Ok(Added::Queued));
/// assert_eq!(inbox.add(Level::DEBUG, "hidden", ""), Ok(Added::IgnoredBelowLevel));
/// let texts: arrayvec::ArrayVec<&str, 4> = inbox.iter().map(|m| m.message).collect();
/// assert_eq!(&texts[..], ["Profile saved."]);
/// ```
#[derive(Clone)]
pub struct Inbox<L = MessageList> {
    list: L,
    /// `list[..loaded]` is Django's `_loaded_data`, `list[loaded..]` its `_queued_messages`.
    loaded: usize,
    used: bool,
    added_new: bool,
    /// An invalid value that marks the inbox used when first touched (R-4.20).
    invalid_untouched: bool,
    default_level: Level,
    level: Option<Level>,
    storage: Storage,
    cookie: Source,
    session: Source,
    /// How many of the loaded messages came from the cookie (they come first).
    cookie_count: usize,
    /// The cookie's issued-at (`u64::MAX` when unknown: a foreign value, or none).
    cookie_issued_at: u64,
    /// The session's messages (after the cookie's) and the entry's issued-at.
    session_range: Range<usize>,
    session_issued_at: u64,
    /// herald extensions (RULES §11). Messages for this request only (`add_now`,
    /// `discard_read`): shown by reads, never stored (R-11.1, R-11.2).
    request_only: Marks,
    /// `list[..discarded]` was discarded (`discard`, R-11.2): shown by reads, never stored.
    discarded: usize,
    /// Messages read by a filtered read (`read_where`, R-11.3) and not by a full one.
    read: Marks,
    /// The update removed marked messages from the middle of the list: the list now holds
    /// exactly what is stored (R-11.4).
    compacted: bool,
    /// The request's time: the `now` of the latest load (0 before any), against which
    /// added messages' expiries are checked (R-11.5).
    clock: u64,
    /// A load dropped expired messages: the stored values change (R-11.5).
    expired_on_load: bool,
}

/// Where loaded messages come from.
#[derive(Clone, Copy)]
enum Origin {
    Cookie,
    Session,
}

impl<L: MessageStore> fmt::Debug for Inbox<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = self.list.view();
        f.debug_struct("Inbox")
            .field("storage", &self.storage)
            .field("loaded", &all.slice(0..self.loaded))
            .field("queued", &all.slice(self.loaded..all.len()))
            .field("used", &self.used)
            .field("added_new", &self.added_new)
            .field("level", &self.level())
            .finish()
    }
}

impl<const BYTES: usize, const MSGS: usize> Inbox<MessageList<BYTES, MSGS>> {
    /// An empty inbox with a fixed [`MessageList`] for `storage`, whose minimum level
    /// defaults to `default_level` (Django's `MESSAGE_LEVEL`, INFO unless configured).
    pub const fn new(storage: Storage, default_level: Level) -> Self {
        Self::with_store(MessageList::new(), storage, default_level)
    }
}

impl<L: MessageStore> Inbox<L> {
    /// An empty inbox keeping its messages in `list` (which must be empty), for
    /// `storage`, whose minimum level defaults to `default_level`.
    ///
    /// ```
    /// # #[cfg(feature = "alloc")] {
    /// use herald_core::list::{GrowableList, Limits};
    /// use herald_core::{Inbox, Level, Storage};
    /// let mut inbox = Inbox::with_store(GrowableList::new(Limits::DEFAULT), Storage::Fallback, Level::INFO);
    /// for _ in 0..200 {
    ///     inbox.add(Level::INFO, "two hundred messages, where a fixed list holds 32", "").unwrap();
    /// }
    /// assert_eq!(inbox.len(), 200);
    /// # }
    /// ```
    pub const fn with_store(list: L, storage: Storage, default_level: Level) -> Self {
        Inbox {
            list,
            loaded: 0,
            used: false,
            added_new: false,
            invalid_untouched: false,
            default_level,
            level: None,
            storage,
            cookie: Source::NotLoaded,
            session: Source::NotLoaded,
            cookie_count: 0,
            cookie_issued_at: u64::MAX,
            session_range: 0..0,
            session_issued_at: u64::MAX,
            request_only: Marks::new(),
            discarded: 0,
            read: Marks::new(),
            compacted: false,
            clock: 0,
            expired_on_load: false,
        }
    }

    /// The storage this inbox plans for.
    pub fn storage(&self) -> Storage {
        self.storage
    }

    fn load_into(&mut self, body: &[u8], now: u64) -> Result<codec::Decoded, LoadError> {
        codec::decode_body_at(body, &mut self.list, now).map_err(LoadError::Decode)
    }

    fn loading_allowed(&self, source: Source) -> bool {
        source == Source::NotLoaded && self.list.len() == self.loaded
    }

    fn mark_invalid(&mut self, marks_used: bool) {
        if marks_used {
            self.invalid_untouched = true;
        }
    }

    /// Loads the incoming messages cookie: verifies it with `signer` (and `max_age`
    /// against `now`, both in seconds) and appends its messages to the loaded list, except
    /// those that have expired at `now` (R-11.5), which are dropped and never shown.
    ///
    /// A missing or empty value is [`Loaded::Absent`] and marks nothing (R-4.12). Needs
    /// [`signer::MAX_RAW_LEN`] bytes of stack for the decoded value.
    ///
    /// # Errors
    /// [`LoadError::Open`] for a value that does not verify, [`LoadError::Decode`] for a
    /// verified value that does not decode (including [`DecodeError::Capacity`] when its
    /// messages exceed this inbox's capacities), [`LoadError::OutOfOrder`] when called
    /// twice or after an add. After an error the inbox holds nothing from the value; under
    /// [`Storage::Cookie`] an invalid cookie is cleared by the next update once the
    /// messages are touched (R-4.20), under [`Storage::Fallback`] it is left alone until new
    /// messages replace it (R-6.4). A capacity error marks nothing, so messages that this
    /// inbox cannot hold are not deleted unless new ones are stored in their place.
    ///
    /// `signer` is any [`Open`]: a [`Signer`](crate::Signer) for signed cookies, a cipher
    /// for encrypted ones (feature `encryption`).
    pub fn load_cookie<O: Open + ?Sized>(
        &mut self,
        value: Option<&[u8]>,
        signer: &O,
        now: u64,
        max_age: Option<u64>,
    ) -> Result<Loaded, LoadError> {
        if !self.loading_allowed(self.cookie) {
            return Err(LoadError::OutOfOrder);
        }
        self.clock = now;
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            self.cookie = Source::Absent;
            return Ok(Loaded::Absent);
        };
        self.cookie = Source::Invalid;
        let marks_used = self.storage == Storage::Cookie;
        // The scratch is zeroed stack memory (no `unsafe` here): sized by the value, in
        // three steps, so that a typical one-message cookie does not clear 3 KiB.
        let need = signer::scratch_len(value.len());
        if need <= 256 {
            self.open_cookie::<O, 256>(value, signer, now, max_age, marks_used)
        } else if need <= 1024 {
            self.open_cookie::<O, 1024>(value, signer, now, max_age, marks_used)
        } else {
            self.open_cookie::<O, { signer::MAX_RAW_LEN }>(value, signer, now, max_age, marks_used)
        }
    }

    /// [`Inbox::load_cookie`] with a scratch of `S` bytes (too short a scratch is
    /// [`OpenError::TooLong`] from the signer, as for any value over its bound).
    fn open_cookie<O: Open + ?Sized, const S: usize>(
        &mut self,
        value: &[u8],
        signer: &O,
        now: u64,
        max_age: Option<u64>,
        marks_used: bool,
    ) -> Result<Loaded, LoadError> {
        let mut scratch = [0u8; S];
        let opened = match signer.open(value, now, max_age, &mut scratch) {
            Ok(o) => o,
            Err(e) => {
                self.mark_invalid(marks_used);
                return Err(LoadError::Open(e));
            }
        };
        let before = self.list.len();
        let decoded = match self.load_into(opened.body, now) {
            Ok(d) => d,
            Err(e) => {
                self.mark_invalid(
                    marks_used && !matches!(e, LoadError::Decode(DecodeError::Capacity(_))),
                );
                return Err(e);
            }
        };
        self.cookie_issued_at = opened.issued_at;
        Ok(self.cookie_loaded(
            before,
            decoded.expired,
            decoded.header.continued,
            opened.key,
        ))
    }

    /// Records a valid cookie whose messages are `list[before..]`, `expired` more having
    /// been dropped (they still count as held: clearing the storage deletes the value).
    fn cookie_loaded(
        &mut self,
        before: usize,
        expired: usize,
        continued: bool,
        key: KeyUsed,
    ) -> Loaded {
        let count = self.list.len() - before;
        self.expired_on_load |= expired > 0;
        self.loaded = self.list.len();
        self.cookie_count = count;
        self.cookie = Source::Valid {
            has_messages: count + expired > 0,
            continued,
            key,
        };
        Loaded::Messages {
            count,
            expired,
            continued,
            key,
        }
    }

    fn session_loaded(
        &mut self,
        before: usize,
        expired: usize,
        continued: bool,
        key: KeyUsed,
    ) -> Loaded {
        let count = self.list.len() - before;
        self.expired_on_load |= expired > 0;
        self.loaded = self.list.len();
        self.session_range = before..self.list.len();
        self.session = Source::Valid {
            has_messages: count + expired > 0,
            continued,
            key,
        };
        Loaded::Messages {
            count,
            expired,
            continued,
            key,
        }
    }

    /// Appends `messages` to the list, all or nothing: an empty text (which no encoder of
    /// an inbox writes, R-2.1) or a full capacity removes what was appended.
    fn push_all<'m>(
        &mut self,
        messages: impl IntoIterator<Item = Message<'m>>,
    ) -> Result<(), DecodeError> {
        let before = self.list.len();
        for m in messages {
            let pushed = if m.message.is_empty() {
                Err(DecodeError::EmptyText)
            } else {
                self.list.push(m).map_err(DecodeError::Capacity)
            };
            if let Err(e) = pushed {
                self.list.truncate(before);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Loads a messages cookie that another codec has already verified and parsed (for
    /// example Django's, whose signing and JSON this `no_std` core does not implement):
    /// the rules are those of [`Inbox::load_cookie`], with the codec's verdict in place of
    /// the signer's and the decoder's.
    ///
    /// # Errors
    /// [`LoadError::Rejected`] for [`Foreign::Invalid`], [`LoadError::Unsupported`] for
    /// [`Foreign::Unsupported`], [`LoadError::Decode`] with [`DecodeError::Capacity`] when
    /// the messages exceed this inbox's capacities (nothing marked, as for
    /// [`Inbox::load_cookie`]) or [`DecodeError::EmptyText`] for a message without text
    /// (invalid), [`LoadError::OutOfOrder`] when called twice or after an add.
    pub fn load_cookie_foreign<'m, I: IntoIterator<Item = Message<'m>>>(
        &mut self,
        value: Foreign<I>,
    ) -> Result<Loaded, LoadError> {
        self.load_foreign(Origin::Cookie, value)
    }

    /// Whether the session entry must be read: always for [`Storage::Session`], and for
    /// [`Storage::Fallback`] only when the cookie was valid and carried the not-finished
    /// marker (R-6.2: an absent or invalid cookie means the session is never consulted).
    pub fn needs_session(&self) -> bool {
        if self.session != Source::NotLoaded {
            return false;
        }
        match self.storage {
            Storage::Cookie => false,
            Storage::Session => true,
            Storage::Fallback => matches!(
                self.cookie,
                Source::Valid {
                    continued: true,
                    ..
                }
            ),
        }
    }

    /// Loads the session entry (an unsigned body written by [`Inbox::encode_session`]) and
    /// appends its messages after the cookie's, except those that have expired at `now`
    /// (R-11.5).
    ///
    /// # Errors
    /// [`LoadError::Decode`] for bytes that do not decode (the inbox then holds nothing from
    /// them; under [`Storage::Session`] the entry is removed once the messages are touched),
    /// [`LoadError::OutOfOrder`] when called twice or after an add.
    pub fn load_session(&mut self, body: Option<&[u8]>, now: u64) -> Result<Loaded, LoadError> {
        if !self.loading_allowed(self.session) {
            return Err(LoadError::OutOfOrder);
        }
        self.clock = now;
        let Some(body) = body.filter(|b| !b.is_empty()) else {
            self.session = Source::Absent;
            return Ok(Loaded::Absent);
        };
        let before = self.list.len();
        match self.load_into(body, now) {
            Ok(decoded) => {
                self.session_issued_at = decoded.header.issued_at;
                Ok(self.session_loaded(
                    before,
                    decoded.expired,
                    decoded.header.continued,
                    KeyUsed::Current,
                ))
            }
            Err(e) => {
                self.session = Source::Invalid;
                let capacity = matches!(e, LoadError::Decode(DecodeError::Capacity(_)));
                self.mark_invalid(self.storage == Storage::Session && !capacity);
                Err(e)
            }
        }
    }

    /// Loads a session entry that another codec has already parsed (for example Django's
    /// JSON under `_messages`), with the rules of [`Inbox::load_session`].
    ///
    /// # Errors
    /// As [`Inbox::load_cookie_foreign`]; an invalid entry marks the inbox used (once
    /// touched) only under [`Storage::Session`].
    pub fn load_session_foreign<'m, I: IntoIterator<Item = Message<'m>>>(
        &mut self,
        value: Foreign<I>,
    ) -> Result<Loaded, LoadError> {
        self.load_foreign(Origin::Session, value)
    }

    /// [`Inbox::load_cookie_foreign`] and [`Inbox::load_session_foreign`]: the same rules
    /// for either source; an invalid value marks the inbox used (once touched) only under
    /// the storage that reads nothing but this source.
    fn load_foreign<'m, I: IntoIterator<Item = Message<'m>>>(
        &mut self,
        origin: Origin,
        value: Foreign<I>,
    ) -> Result<Loaded, LoadError> {
        let (source, sole_storage) = match origin {
            Origin::Cookie => (self.cookie, Storage::Cookie),
            Origin::Session => (self.session, Storage::Session),
        };
        if !self.loading_allowed(source) {
            return Err(LoadError::OutOfOrder);
        }
        let marks_used = self.storage == sole_storage;
        let (messages, continued, key) = match value {
            Foreign::Absent => {
                *self.source_mut(origin) = Source::Absent;
                return Ok(Loaded::Absent);
            }
            Foreign::Invalid => {
                *self.source_mut(origin) = Source::Invalid;
                self.mark_invalid(marks_used);
                return Err(LoadError::Rejected);
            }
            Foreign::Unsupported => {
                *self.source_mut(origin) = Source::Invalid;
                return Err(LoadError::Unsupported);
            }
            Foreign::Messages {
                messages,
                continued,
                key,
            } => (messages, continued, key),
        };
        *self.source_mut(origin) = Source::Invalid;
        let before = self.list.len();
        if let Err(e) = self.push_all(messages) {
            self.mark_invalid(marks_used && !matches!(e, DecodeError::Capacity(_)));
            return Err(LoadError::Decode(e));
        }
        Ok(match origin {
            Origin::Cookie => self.cookie_loaded(before, 0, continued, key),
            Origin::Session => self.session_loaded(before, 0, continued, key),
        })
    }

    fn source_mut(&mut self, origin: Origin) -> &mut Source {
        match origin {
            Origin::Cookie => &mut self.cookie,
            Origin::Session => &mut self.session,
        }
    }

    /// Whether the cookie verified with a fallback key, so the response should re-sign it
    /// with the current key even if nothing else changes. [`Inbox::plan`] already does
    /// this: a request that leaves the messages unchanged rewrites such a cookie, provided
    /// the re-signed value fits the bound (otherwise the cookie is left as it is).
    pub fn needs_resign(&self) -> bool {
        matches!(
            self.cookie,
            Source::Valid {
                key: KeyUsed::Fallback(_),
                ..
            }
        )
    }

    fn touch(&mut self) {
        if self.invalid_untouched {
            self.invalid_untouched = false;
            self.used = true;
        }
    }

    /// The minimum level in force: the per-request override, else the default (R-2.2).
    pub fn level(&self) -> Level {
        self.level.unwrap_or(self.default_level)
    }

    /// Overrides the minimum level for this request; `None` goes back to the default
    /// (R-2.2, R-7.5).
    pub fn set_level(&mut self, level: Option<Level>) {
        self.level = level;
    }

    /// Queues `text` at `level` with `extra_tags` (R-2.1): an empty text or a level below
    /// [`Inbox::level`] is ignored, and the return value says so.
    ///
    /// # Errors
    /// [`AddError`], handing the message back, when it does not fit in the inbox's
    /// capacities.
    pub fn add<'m>(
        &mut self,
        level: Level,
        text: &'m str,
        extra_tags: &'m str,
    ) -> Result<Added, AddError<'m>> {
        self.add_message(Message::new(level, text).with_extra_tags(extra_tags))
    }

    /// Queues a complete [`Message`] (any extra tags, safe flag, expiry) under the rules of
    /// [`Inbox::add`]; a message whose expiry is not after the request's time (the `now`
    /// its loads were given) is ignored too ([`Added::IgnoredExpired`], R-11.5).
    ///
    /// # Errors
    /// [`AddError`], handing the message back, when it does not fit.
    pub fn add_message<'m>(&mut self, message: Message<'m>) -> Result<Added, AddError<'m>> {
        if message.message.is_empty() {
            return Ok(Added::IgnoredEmpty);
        }
        if message.level < self.level() {
            return Ok(Added::IgnoredBelowLevel);
        }
        if message.is_expired(self.clock) {
            return Ok(Added::IgnoredExpired);
        }
        self.list
            .push(message)
            .map_err(|reason| AddError { message, reason })?;
        self.added_new = true;
        Ok(Added::Queued)
    }

    /// Queues `text` for this request only (R-11.1, Rails' `flash.now`): a read in this
    /// request shows it, in order with the others; no storage ever takes it, it is never
    /// reported unstored, and it does not count as added (`added_new` is unchanged, so a
    /// request that only adds such messages leaves the stored values alone). Ignored like
    /// [`Inbox::add`] when empty or below the level.
    ///
    /// # Errors
    /// [`AddError`], handing the message back, when it does not fit (also when, without
    /// the `alloc` feature, it would be the inbox's message number [`INLINE_MARKS`] + 1).
    pub fn add_now<'m>(
        &mut self,
        level: Level,
        text: &'m str,
        extra_tags: &'m str,
    ) -> Result<Added, AddError<'m>> {
        self.add_message_now(Message::new(level, text).with_extra_tags(extra_tags))
    }

    /// [`Inbox::add_now`] for a complete [`Message`].
    ///
    /// # Errors
    /// As [`Inbox::add_now`].
    pub fn add_message_now<'m>(&mut self, message: Message<'m>) -> Result<Added, AddError<'m>> {
        if message.message.is_empty() {
            return Ok(Added::IgnoredEmpty);
        }
        if message.level < self.level() {
            return Ok(Added::IgnoredBelowLevel);
        }
        if message.is_expired(self.clock) {
            return Ok(Added::IgnoredExpired);
        }
        let at = self.list.len();
        self.list
            .push(message)
            .map_err(|reason| AddError { message, reason })?;
        if !self.request_only.set(at) {
            self.list.truncate(at);
            return Err(AddError {
                message,
                reason: CapacityError::TooManyMessages,
            });
        }
        Ok(Added::Queued)
    }

    /// Discards every message the inbox holds now (R-11.2, Rails' `flash.discard`): loaded
    /// or added, read or not. They stay readable in this request, but no storage takes
    /// them, so the stored values are cleared (or hold only what is added afterwards).
    /// Messages added after the call are stored as usual. [`Inbox::keep`] does not undo
    /// it. Touches the messages (R-2.4).
    pub fn discard(&mut self) {
        self.touch();
        self.discarded = self.list.len();
    }

    /// Discards the messages read so far (R-11.2): those of a full iteration and of
    /// filtered reads become messages of this request only, so a later [`Inbox::keep`]
    /// does not bring them back. Unread messages are not affected.
    pub fn discard_read(&mut self) {
        self.touch();
        if self.used {
            self.discarded = self.discarded.max(self.loaded);
        }
        self.request_only.union(&self.read);
    }

    /// Reads only the messages that `filter` accepts (R-11.3, Flask's `category_filter`):
    /// yields them in order and marks them read; the others stay unread and are stored
    /// for a later request, in order. Does not set [`Inbox::used`] (only a full
    /// [`Inbox::iter`] does); [`Inbox::keep`] undoes it. Reading again yields the same
    /// messages again, as [`Inbox::iter`] does. Without the `alloc` feature, messages past
    /// the first [`INLINE_MARKS`] cannot be marked: they are neither yielded nor read.
    pub fn read_where<'a, F: Fn(&Message<'_>) -> bool + 'a>(
        &'a mut self,
        filter: F,
    ) -> impl Iterator<Item = Message<'a>> + 'a {
        self.touch();
        for (i, m) in self.list.view().iter().enumerate() {
            if filter(&m) && !self.read.set(i) {
                break;
            }
        }
        let read = &self.read;
        self.list
            .view()
            .iter()
            .enumerate()
            .filter(move |(i, m)| read.get(*i) && filter(m))
            .map(|(_, m)| m)
    }

    /// Whether message `index` is for this request only (added with [`Inbox::add_now`],
    /// or discarded): it is never stored.
    pub fn is_request_only(&self, index: usize) -> bool {
        index < self.discarded || self.request_only.get(index)
    }

    fn dropped(&self, i: usize) -> bool {
        self.is_request_only(i) || self.read.get(i)
    }

    /// Iterates all messages, loaded then queued (R-2.3): marks the inbox used and moves
    /// the queue into the loaded list. Iterating again yields the same messages. Stopping
    /// early still counts as reading them all, as in Django.
    pub fn iter(&mut self) -> Messages<'_> {
        self.touch();
        self.used = true;
        self.loaded = self.list.len();
        self.list.view().iter()
    }

    /// The number of loaded plus queued messages (R-2.4). Does not mark the inbox used.
    pub fn len(&mut self) -> usize {
        self.touch();
        self.list.len()
    }

    /// Whether there are no messages at all. Does not mark the inbox used.
    pub fn is_empty(&mut self) -> bool {
        self.len() == 0
    }

    /// Whether a message equal to `message` (R-1.8: same level and text) is loaded or
    /// queued (R-2.5). Does not mark the inbox used.
    pub fn contains(&mut self, message: &Message<'_>) -> bool {
        self.touch();
        self.list.view().iter().any(|m| m == *message)
    }

    /// Undoes the read: the messages iterated so far are kept for the next request, as
    /// with Django's `storage.used = False`; so are those of filtered reads
    /// ([`Inbox::read_where`], R-11.3). Discarded and request-only messages stay so
    /// (R-11.2).
    pub fn keep(&mut self) {
        self.used = false;
        self.read.clear();
    }

    /// Whether the messages were iterated (Django's `used`).
    pub fn used(&self) -> bool {
        self.used
    }

    /// Whether a message was queued in this request (Django's `added_new`).
    pub fn added_new(&self) -> bool {
        self.added_new
    }

    /// The store holding every message, loaded then queued, without marking anything (for
    /// an owned copy of what a read saw: clone it after [`Inbox::iter`]).
    pub fn store(&self) -> &L {
        &self.list
    }

    /// The store, with the messages it holds: to reuse its memory for another inbox (see
    /// `GrowableList::reset`).
    ///
    /// ```
    /// use herald_core::{Inbox, Level, MessageList, MessageStore, Storage};
    /// let mut inbox: Inbox<MessageList<512, 4>> = Inbox::new(Storage::Cookie, Level::INFO);
    /// inbox.add(Level::INFO, "kept in the store", "").unwrap();
    /// let mut list = inbox.into_store();
    /// assert_eq!(list.len(), 1);
    /// list.truncate(0);
    /// let next = Inbox::with_store(list, Storage::Cookie, Level::INFO);
    /// assert!(next.store().is_empty());
    /// ```
    pub fn into_store(self) -> L {
        self.list
    }

    /// The messages in `range` (as given by an [`Update`] or a [`Plan`]), without marking
    /// anything.
    pub fn messages(&self, range: Range<usize>) -> ListView<'_> {
        self.list.view().slice(range)
    }

    /// What must be stored (R-2.6, with the extensions of R-11.4): nothing, a clear, or
    /// an ordered list. Messages for this request only, discarded ones and those of
    /// filtered reads are left out; when that leaves a gap, the inbox's list is compacted
    /// to exactly the stored messages (in order) and the range indexes the compacted list.
    #[must_use = "the plan says what the response must write; ignoring it loses the messages"]
    pub fn update(&mut self) -> Update {
        let len = self.list.len();
        let range = if self.compacted {
            // The list already holds exactly what is stored, less what was marked since.
            0..len
        } else if self.used {
            self.loaded..len
        } else if self.added_new {
            self.touch();
            0..len
        } else if self.expired_on_load || (0..self.sources_end()).any(|i| self.dropped(i)) {
            // A filtered read or a discard took a loaded message, or a load dropped expired
            // ones (R-11.5): the sources change.
            0..len
        } else {
            return Update::Unchanged;
        };
        let kept = range.clone().filter(|&i| !self.dropped(i)).count();
        if kept == 0 {
            Update::Clear
        } else if kept == range.len() {
            Update::Store(range)
        } else {
            self.compact(range);
            Update::Store(0..kept)
        }
    }

    /// Makes every message that has expired at `now` request-only (R-11.5): no storage
    /// takes it. Without the `alloc` feature a message past [`INLINE_MARKS`] cannot be
    /// marked; it is then stored, and dropped by the next load.
    fn expire(&mut self, now: u64) {
        let mut from = 0;
        loop {
            let view = self.list.view();
            let Some(i) = view.slice(from..view.len()).first_expired(now) else {
                break;
            };
            if !self.request_only.set(from + i) {
                break;
            }
            from += i + 1;
        }
    }

    /// The request's time (the `now` its latest load was given) when a plan made at it is
    /// the plan of any later time: something was loaded, no message held has an expiry,
    /// and no cookie to re-sign claims an issued-at after it (R-3.5). An adapter can then
    /// plan the response at this time without reading its clock again; `None`: plan at
    /// the response's time.
    ///
    /// ```
    /// use herald_core::{Inbox, Level, MessageList, Signer, Storage};
    /// let signer: Signer =
    ///     Signer::new(b"a key for the example, 32 bytes!", "herald.messages", "messages", &[])
    ///         .unwrap();
    /// let mut inbox: Inbox<MessageList<512, 4>> = Inbox::new(Storage::Cookie, Level::INFO);
    /// assert_eq!(inbox.settled_time(), None, "nothing loaded: no request time yet");
    /// inbox.load_cookie(None, &signer, 1_700_000_000, None).unwrap();
    /// inbox.add(Level::SUCCESS, "Profile saved.", "").unwrap();
    /// assert_eq!(inbox.settled_time(), Some(1_700_000_000));
    /// let at_load = inbox.clone().plan_for(&signer, 2048, 1_700_000_000);
    /// let later = inbox.clone().plan_for(&signer, 2048, 1_700_000_009);
    /// assert_eq!((at_load.cookie, at_load.issued_at), (later.cookie, later.issued_at));
    /// ```
    pub fn settled_time(&self) -> Option<u64> {
        let loaded = self.cookie != Source::NotLoaded || self.session != Source::NotLoaded;
        let resigned_later = self.needs_resign() && self.cookie_issued_at > self.clock;
        (loaded && !resigned_later && !self.list.view().any_expiry()).then_some(self.clock)
    }

    /// The end of the loaded sources' messages (they come first).
    fn sources_end(&self) -> usize {
        self.cookie_count.max(self.session_range.end)
    }

    /// Keeps only the messages of `range` that are not dropped (R-11.4), in order, and
    /// remaps the sources' ranges onto the compacted list.
    fn compact(&mut self, range: Range<usize>) {
        let old = self.list.clone();
        let (cookie, session) = (self.cookie_messages(), self.session_range.clone());
        let (mut in_cookie, mut in_session) = (0, 0);
        self.list.truncate(0);
        for (i, m) in old.view().iter().enumerate() {
            if !range.contains(&i) || self.dropped(i) {
                continue;
            }
            in_cookie += usize::from(cookie.contains(&i));
            in_session += usize::from(session.contains(&i));
            // Cannot fail: a subset of what the store held, pushed into the emptied store.
            let _ = self.list.push(m);
        }
        self.cookie_count = in_cookie;
        self.session_range = in_cookie..in_cookie + in_session;
        self.loaded = 0;
        self.discarded = 0;
        self.request_only.clear();
        self.read.clear();
        self.compacted = true;
    }

    /// The complete response plan in herald's own format: [`Inbox::update`], then the
    /// storage rules of RULES §4 – §6, with truncation to `max_value_len` characters of
    /// cookie value computed in one pass ([`truncate::fit`]) for a value issued at the
    /// plan's [`Plan::issued_at`] (R-3.5: the earliest issued-at of the request's sources
    /// whose messages it stores, else `now`).
    ///
    /// Every cookie value the plan asks for is at most `max_value_len` characters long.
    /// A bound below [`truncate::MIN_VALUE_LEN`] (60) is raised to it: when nothing fits,
    /// the marker-only value must still be written (R-4.7).
    #[must_use = "the plan says what the response must write; ignoring it loses the messages"]
    pub fn plan(&mut self, max_value_len: usize, now: u64) -> Plan {
        self.plan_sealed(max_value_len, now, MAC_LEN)
    }

    /// [`Inbox::plan`] for cookies sealed by `sealer` (a [`Signer`](crate::Signer), or a
    /// cipher for encrypted cookies): truncation counts the bytes it adds
    /// ([`Open::overhead`]), so every value is still at most `max_value_len` characters.
    /// A bound below [`truncate::min_value_len`] of that overhead is raised to it.
    #[must_use = "the plan says what the response must write; ignoring it loses the messages"]
    pub fn plan_for<O: Open + ?Sized>(
        &mut self,
        sealer: &O,
        max_value_len: usize,
        now: u64,
    ) -> Plan {
        self.plan_sealed(max_value_len, now, sealer.overhead())
    }

    fn plan_sealed(&mut self, max_value_len: usize, now: u64, overhead: usize) -> Plan {
        let max_value_len = max_value_len.max(truncate::min_value_len(overhead));
        let resign = self.needs_resign();
        let mut plan = self.plan_at(now, |view, policy, issued_at| {
            truncate::fit_sealed(view, policy, issued_at, max_value_len, overhead)
                .kept
                .len()
        });
        // Key rotation: a cookie that verified with a fallback key is re-signed with the
        // current key even when nothing else changed — when the re-signed value fits the
        // bound. It keeps its issued-at (R-3.5: re-signing never extends a cookie's life;
        // one issued in the future, clock skew, is stamped `now`, never a longer varint),
        // so the value is at most as long as before; it may still not fit when the bound
        // has shrunk since the cookie was written. Then the cookie is left as it is (it
        // still verifies with the fallback key, and the next write signs with the current
        // one): nothing is dropped and no value over the bound is ever asked for.
        if resign && plan.cookie == CookieAction::Keep && self.storage != Storage::Session {
            let loaded = self.cookie_messages();
            let continued = matches!(
                self.cookie,
                Source::Valid {
                    continued: true,
                    ..
                }
            );
            let issued_at = self.cookie_issued_at.min(now);
            let header = Header {
                issued_at,
                continued,
            };
            if truncate::sealed_len(&header, self.list.view().slice(loaded.clone()), overhead)
                <= max_value_len
            {
                plan.cookie = CookieAction::Set {
                    messages: loaded,
                    continued,
                };
                plan.issued_at = issued_at;
            }
        }
        plan
    }

    fn cookie_messages(&self) -> Range<usize> {
        // The cookie's messages are the first ones loaded (the session's follow them).
        0..self.cookie_count
    }

    /// The issued-at of a value storing `stored` (R-3.5): the earliest issued-at of the
    /// sources (cookie, session) that have a message in `stored`, never later than `now`;
    /// messages added in this request count as issued at the request's time (the `now` of
    /// its loads, or `now` if it loaded nothing), and so do messages of a source whose
    /// issued-at is unknown (loaded by another codec). A response planned after the
    /// request's loads (a slow handler) therefore never extends a new message's life
    /// under `max_age` past the request that added it.
    fn issued_at_for(&self, stored: &Range<usize>, now: u64) -> u64 {
        let overlaps =
            |r: Range<usize>| r.start < r.end && stored.start < r.end && r.start < stored.end;
        let loaded = self.cookie != Source::NotLoaded || self.session != Source::NotLoaded;
        let mut issued_at = if loaded { now.min(self.clock) } else { now };
        if overlaps(self.cookie_messages()) {
            issued_at = issued_at.min(self.cookie_issued_at);
        }
        if overlaps(self.session_range.clone()) {
            issued_at = issued_at.min(self.session_issued_at);
        }
        issued_at
    }

    /// The response plan for any codec: `fit(view, policy)` returns how many messages of
    /// `view` fit in the cookie under `policy` (for [`Policy::KeepNewest`] the newest
    /// ones, for [`Policy::KeepOldest`] the oldest). herald's own format uses
    /// [`truncate::fit`]; the Django codec uses Django's bisection. For codecs that stamp
    /// their own time: the returned [`Plan::issued_at`] is 0 (see [`Inbox::plan_at`]).
    #[must_use = "the plan says what the response must write; ignoring it loses the messages"]
    pub fn plan_with(&mut self, fit: impl FnOnce(ListView<'_>, Policy) -> usize) -> Plan {
        self.plan_at(0, |view, policy, _| fit(view, policy))
    }

    /// The response plan for any codec, at `now`: as [`Inbox::plan_with`], with
    /// `fit(view, policy, issued_at)` told the issued-at the values will carry (R-3.5),
    /// which is also the returned [`Plan::issued_at`]. Does not re-sign a fallback-key
    /// cookie (only [`Inbox::plan`] does).
    #[must_use = "the plan says what the response must write; ignoring it loses the messages"]
    pub fn plan_at(
        &mut self,
        now: u64,
        fit: impl FnOnce(ListView<'_>, Policy, u64) -> usize,
    ) -> Plan {
        self.expire(now);
        let update = self.update();
        let cookie_used = matches!(
            self.cookie,
            Source::Valid {
                has_messages: true,
                ..
            }
        );
        let session_used = matches!(
            self.session,
            Source::Valid {
                has_messages: true,
                ..
            }
        );
        let keep = Plan {
            cookie: CookieAction::Keep,
            session: SessionAction::Keep,
            unstored: 0..0,
            issued_at: now,
        };
        match (self.storage, update) {
            (_, Update::Unchanged) => keep,
            (Storage::Cookie, Update::Clear) => Plan {
                cookie: CookieAction::Delete,
                ..keep
            },
            (Storage::Session, Update::Clear) => Plan {
                session: SessionAction::Remove,
                ..keep
            },
            (Storage::Fallback, Update::Clear) => Plan {
                cookie: if cookie_used {
                    CookieAction::Delete
                } else {
                    CookieAction::Keep
                },
                session: if session_used {
                    SessionAction::Remove
                } else {
                    SessionAction::Keep
                },
                ..keep
            },
            (Storage::Session, Update::Store(r)) => Plan {
                issued_at: self.issued_at_for(&r, now),
                session: SessionAction::Set { messages: r },
                ..keep
            },
            (Storage::Cookie, Update::Store(r)) => {
                let issued_at = self.issued_at_for(&r, now);
                let kept = fit(
                    self.list.view().slice(r.clone()),
                    Policy::KeepNewest,
                    issued_at,
                )
                .min(r.len());
                let cut = r.end - kept;
                Plan {
                    cookie: CookieAction::Set {
                        messages: cut..r.end,
                        continued: cut > r.start,
                    },
                    session: SessionAction::Keep,
                    unstored: r.start..cut,
                    issued_at,
                }
            }
            (Storage::Fallback, Update::Store(r)) => {
                let issued_at = self.issued_at_for(&r, now);
                let kept = fit(
                    self.list.view().slice(r.clone()),
                    Policy::KeepOldest,
                    issued_at,
                )
                .min(r.len());
                let cut = r.start + kept;
                let session = if cut < r.end {
                    SessionAction::Set {
                        messages: cut..r.end,
                    }
                } else if session_used {
                    SessionAction::Remove
                } else {
                    SessionAction::Keep
                };
                Plan {
                    cookie: CookieAction::Set {
                        messages: r.start..cut,
                        continued: cut < r.end,
                    },
                    session,
                    unstored: r.end..r.end,
                    issued_at,
                }
            }
        }
    }

    /// Writes the sealed cookie value for `messages` (with the not-finished marker if
    /// `continued`) into `out`, stamped `issued_at` (the plan's [`Plan::issued_at`], for
    /// which its truncation was computed). With a [`Signer`](crate::Signer): one encode
    /// and one HMAC, in one pass; with a cipher and its nonce (feature `encryption`): one
    /// encode and one encryption, in `out`.
    ///
    /// # Errors
    /// [`SealError::BufferTooSmall`] when `out` is shorter than the value, whose exact
    /// length is [`truncate::sealed_len`] ([`truncate::signed_len`] for a signer).
    pub fn seal_cookie<'o, S: Seal + ?Sized>(
        &self,
        messages: Range<usize>,
        continued: bool,
        signer: &S,
        issued_at: u64,
        out: &'o mut [u8],
    ) -> Result<&'o str, SealError> {
        let header = Header {
            issued_at,
            continued,
        };
        signer.seal_messages(&header, self.list.view().slice(messages), out)
    }

    /// The exact length of the session entry [`Inbox::encode_session`] writes, stamped
    /// `issued_at` (the plan's [`Plan::issued_at`]).
    pub fn session_len(&self, messages: Range<usize>, issued_at: u64) -> usize {
        codec::body_len(
            &Header {
                issued_at,
                continued: false,
            },
            self.list.view().slice(messages),
        )
    }

    /// Writes the session entry (an unsigned body) for `messages`, stamped `issued_at` (the
    /// plan's [`Plan::issued_at`]), into `out` and returns its length.
    ///
    /// # Errors
    /// [`EncodeError::BufferTooSmall`] when `out` is shorter than [`Inbox::session_len`].
    pub fn encode_session(
        &self,
        messages: Range<usize>,
        issued_at: u64,
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let header = Header {
            issued_at,
            continued: false,
        };
        codec::encode_body(&header, self.list.view().slice(messages), out)
    }
}
