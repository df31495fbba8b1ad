//! The request flow of a [`MessageStorage`]: a request with a key loads its entries before
//! the handler and stores what the core decided after it. Shared by the tower layer and the
//! actix middleware; like [`crate::state`], it only moves bytes between the core inbox and
//! the storage.
//!
//! The inbox runs under [`Storage::Session`] rules: the storage's entries are its session
//! source. A keyed request also carries over the messages of the messages cookie (what the
//! request that signed the user in added, under the built-in storage): they follow the
//! storage's messages in the inbox, go into the storage with them, and the cookie is
//! deleted once the storage has them.

use herald_core::inbox::SessionAction;
use herald_core::list::GrowableList;
use herald_core::{Foreign, Inbox, KeyUsed, Loaded, MessageStore, Storage, codec};

use crate::config::Config;
use crate::state::{self, Handle, RequestInbox, RequestState, lock};
use crate::storage::{MessageStorage, StorageError, Stored};
use crate::unstored::{Unstored, UnstoredMessage, UnstoredReason};
use crate::view::OwnedMessage;

/// A keyed request between its load and its store.
pub(crate) struct Keyed<M: MessageStorage> {
    storage: M,
    key: M::Key,
    /// How many messages the inbox loaded (the storage's, then the cookie's).
    loaded: usize,
    /// Entries taken from the storage that the inbox could not hold (past the request's
    /// limits): put back untouched, after the request's.
    untouched: Vec<Vec<u8>>,
    /// Whether the messages cookie held messages that are now in the inbox.
    carried_cookie: bool,
    /// Whether the load failed (nothing is stored then: the storage was not read).
    load_failed: bool,
}

/// What the response of a keyed request must carry.
pub(crate) struct Finished {
    /// The deletion `Set-Cookie` line of the carried-over messages cookie.
    pub(crate) delete_cookie: Option<bytes::Bytes>,
    /// What was not stored (the storage's failure makes the adapter answer 503).
    pub(crate) unstored: Option<Unstored>,
}

/// The messages cookie's messages, decoded by the core as the built-in storage would.
pub(crate) struct CarriedCookie(Option<(RequestInbox, usize)>);

/// Begins a keyed request: its state (session rules, the cookie not loaded into it) and
/// the cookie's messages to carry over.
pub(crate) fn begin<'h>(
    config: &Config,
    cookie_headers: impl IntoIterator<Item = &'h [u8]>,
) -> (RequestState, CarriedCookie) {
    let state = RequestState::begin(config, Storage::Session, std::iter::empty());
    let inner = &config.inner;
    let mut cookie = Inbox::with_store(
        GrowableList::new(inner.limits),
        Storage::Cookie,
        inner.min_level,
    );
    let carried = match state::load_cookie(&mut cookie, inner, cookie_headers, config.now()) {
        Ok(Loaded::Messages { count, .. }) if count > 0 => Some((cookie, count)),
        Ok(_) => None,
        Err(error) => {
            tracing::debug!(%error, "herald: ignoring an invalid messages cookie on a keyed request");
            None
        }
    };
    (state, CarriedCookie(carried))
}

/// Loads the storage's entries (and the carried cookie's messages) into the inbox; a
/// failure is kept in the state for the extractor (a 503).
pub(crate) async fn load<M: MessageStorage>(
    state: &mut RequestState,
    storage: M,
    key: M::Key,
    carried: CarriedCookie,
) -> Keyed<M> {
    let mut keyed = Keyed {
        storage,
        key,
        loaded: 0,
        untouched: Vec::new(),
        carried_cookie: false,
        load_failed: false,
    };
    let entries = match keyed.storage.load(&keyed.key).await {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!(error = %e, "herald: could not load the messages from the message storage");
            state.set_storage_error(e);
            keyed.load_failed = true;
            return keyed;
        }
    };
    let limits = state.config.inner.limits;
    // Expired messages (RULES) are dropped here, as every load drops them: the
    // storage gave them up with the take, and they are not put back.
    let now = state.config.now();
    let mut all = GrowableList::new(limits);
    for entry in &entries {
        if !keyed.untouched.is_empty() {
            keyed.untouched.push(entry.clone());
            continue;
        }
        let mut one = GrowableList::new(limits);
        match codec::decode_body_at(entry, &mut one, now) {
            Ok(_) => {
                let before = all.len();
                if one.view().iter().try_for_each(|m| all.push(m)).is_err() {
                    // Past the request's limits: this entry and the following ones are
                    // put back as they are, after the request's own.
                    all.truncate(before);
                    keyed.untouched.push(entry.clone());
                }
            }
            Err(error) => {
                tracing::warn!(%error, "herald: dropping a stored entry that does not decode (herald did not write it)");
            }
        }
    }
    if let CarriedCookie(Some((cookie, count))) = &carried {
        let before = all.len();
        if cookie
            .messages(0..*count)
            .iter()
            .try_for_each(|m| all.push(m))
            .is_ok()
        {
            keyed.carried_cookie = true;
        } else {
            all.truncate(before);
            tracing::warn!(
                "herald: the messages cookie does not fit beside the stored messages; it is left for a later request"
            );
        }
    }
    keyed.loaded = all.len();
    let value = if all.is_empty() {
        Foreign::Absent
    } else {
        Foreign::Messages {
            messages: all.view().iter(),
            continued: false,
            key: KeyUsed::Current,
        }
    };
    if let Err(error) = state.inbox.load_session_foreign(value) {
        // Not expected (`all` fits the request's limits, which are the inbox's); should it
        // happen, every entry taken is put back as it was, and the cookie left alone.
        tracing::error!(%error, "herald: could not load the stored messages into the inbox");
        keyed.untouched = entries;
        keyed.loaded = 0;
        keyed.carried_cookie = false;
    }
    keyed
}

/// Stores what the core decided for a keyed request, and says what the response carries.
pub(crate) async fn finish<M: MessageStorage>(handle: &Handle, keyed: Keyed<M>) -> Finished {
    let (entries, stored_range, config) = {
        let mut st = lock(handle);
        let config = st.config.clone();
        let now = config.now();
        let plan = st.inbox.plan(config.inner.max_cookie_size, now);
        let range = match plan.session {
            SessionAction::Keep => 0..keyed.loaded,
            SessionAction::Remove => 0..0,
            SessionAction::Set { messages } => messages,
        };
        let mut unstored = Vec::new();
        st.report(&mut unstored, plan.unstored, &UnstoredReason::CookieFull);
        st.refuse_all(&mut unstored);
        if keyed.load_failed {
            // The storage was not read: storing now could replace what it holds.
            let error = st
                .storage_error()
                .cloned()
                .unwrap_or_else(|| StorageError::backend(std::io::Error::other("the load failed")));
            let mut unstored = Vec::new();
            st.report(&mut unstored, range, &UnstoredReason::Storage(error));
            unstored.append(&mut st.take_refused());
            return Finished {
                delete_cookie: None,
                unstored: state::report(unstored),
            };
        }
        let mut entries = Vec::with_capacity(range.len() + keyed.untouched.len());
        let mut not_encoded = Vec::new();
        for i in range.clone() {
            let mut bytes = vec![0u8; st.inbox.session_len(i..i + 1, plan.issued_at)];
            match st
                .inbox
                .encode_session(i..i + 1, plan.issued_at, &mut bytes)
            {
                Ok(n) => {
                    bytes.truncate(n);
                    entries.push(bytes);
                }
                Err(e) => {
                    // Unreachable (the buffer has the exact length): reported, not dropped.
                    tracing::error!(error = ?e, "herald: cannot encode a message entry");
                    st.report(&mut not_encoded, i..i + 1, &UnstoredReason::StorageFull);
                }
            }
        }
        st.refuse_all(&mut not_encoded);
        // Entries the inbox could not hold (a store holding more than the request's
        // limits, which a bound below them avoids) follow, as they were.
        entries.extend(keyed.untouched.iter().cloned());
        (entries, range, config)
    };
    if entries.is_empty() && keyed.loaded == 0 {
        let unstored = lock(handle).take_refused();
        return Finished {
            delete_cookie: None,
            unstored: state::report(unstored),
        };
    }
    let result = keyed.storage.store(&keyed.key, entries).await;
    let st = lock(handle);
    let mut unstored = Vec::new();
    let delete_cookie = match result {
        Ok(Stored { dropped }) => {
            let tags = config.tags();
            for entry in dropped {
                let mut one = GrowableList::new(config.inner.limits);
                if codec::decode_body(&entry, &mut one).is_err() {
                    continue;
                }
                for m in one.view().iter() {
                    tracing::warn!(level = m.level.0, text = %m.message, "herald: message dropped by the message storage's bound");
                    unstored.push(UnstoredMessage {
                        message: OwnedMessage::new(m, &tags),
                        reason: UnstoredReason::StorageFull,
                    });
                }
            }
            keyed
                .carried_cookie
                .then(|| delete_cookie_line(&config))
                .flatten()
        }
        Err(e) => {
            tracing::error!(error = %e, "herald: could not store the messages in the message storage");
            st.report(&mut unstored, stored_range, &UnstoredReason::Storage(e));
            None
        }
    };
    drop(st);
    unstored.append(&mut lock(handle).take_refused());
    Finished {
        delete_cookie,
        unstored: state::report(unstored),
    }
}

/// The deletion line of the messages cookie, in the configured format.
fn delete_cookie_line(config: &Config) -> Option<bytes::Bytes> {
    crate::cookies::deletion(&config.inner)
        .map_err(|e| tracing::error!(error = ?e, "herald: cannot write the deletion cookie"))
        .ok()
}
