//! [`MemoryUserStore`]: the per-user store in process, for single-server apps.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{UserId, UserStore, UserStoreOptions};
use crate::storage::{MessageStorage, StorageError, Stored};

/// The clock of a [`MemoryUserStore`]: the time elapsed since an arbitrary start.
type Clock = Arc<dyn Fn() -> Duration + Send + Sync>;

/// The per-user store in process (a map behind one lock): bounded per user
/// ([`UserStoreOptions::max_entries`]), each user's entry expiring
/// [`UserStoreOptions::ttl`] after its last write (expired entries are swept as the map
/// grows, so abandoned ones do not accumulate). Clones share the store.
///
/// For one server process only: another instance has its own map (use `RedisUserStore`
/// there). The rules are those of [`crate::user_store`].
///
/// ```
/// use std::time::Duration;
/// use herald_flash::user_store::{MemoryUserStore, UserStoreOptions};
///
/// let store = MemoryUserStore::with_options(
///     UserStoreOptions::default().ttl(Duration::from_secs(3600)).max_entries(20),
/// );
/// # let _ = store;
/// ```
#[derive(Clone)]
pub struct MemoryUserStore {
    inner: Arc<Inner>,
}

struct Inner {
    options: UserStoreOptions,
    clock: Clock,
    users: Mutex<Users>,
}

#[derive(Default)]
struct Users {
    map: HashMap<UserId, Entry>,
    /// The map size at which expired entries are swept next.
    sweep_at: usize,
}

struct Entry {
    items: VecDeque<Vec<u8>>,
    expires: Duration,
}

/// The fewest users a sweep waits for.
const MIN_SWEEP: usize = 64;

impl fmt::Debug for MemoryUserStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryUserStore")
            .field("options", &self.inner.options)
            .field("users", &self.lock().map.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryUserStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryUserStore {
    /// A store with the default [`UserStoreOptions`].
    pub fn new() -> Self {
        Self::with_options(UserStoreOptions::default())
    }

    /// A store with `options`, on the monotonic clock.
    pub fn with_options(options: UserStoreOptions) -> Self {
        let start = Instant::now();
        Self::with_clock(options, move || start.elapsed())
    }

    /// A store with `options` on `clock` (the time elapsed since any fixed start; it must
    /// not go backwards): for tests and simulations that drive time.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::time::Duration;
    /// use herald_flash::user_store::{MemoryUserStore, UserStoreOptions};
    ///
    /// let now = Arc::new(AtomicU64::new(0));
    /// let clock = now.clone();
    /// let store = MemoryUserStore::with_clock(UserStoreOptions::default(), move || {
    ///     Duration::from_millis(clock.load(Ordering::Relaxed))
    /// });
    /// now.fetch_add(1000, Ordering::Relaxed); // one second later
    /// # let _ = store;
    /// ```
    pub fn with_clock(
        options: UserStoreOptions,
        clock: impl Fn() -> Duration + Send + Sync + 'static,
    ) -> Self {
        let options = UserStoreOptions::default()
            .key_prefix(options.key_prefix)
            .ttl(options.ttl)
            .max_entries(options.max_entries);
        MemoryUserStore {
            inner: Arc::new(Inner {
                options,
                clock: Arc::new(clock),
                users: Mutex::new(Users {
                    map: HashMap::new(),
                    sweep_at: MIN_SWEEP,
                }),
            }),
        }
    }

    /// How many messages are stored for `user` (not expired).
    pub fn pending(&self, user: &UserId) -> usize {
        let now = (self.inner.clock)();
        self.lock()
            .map
            .get(user)
            .filter(|e| e.expires > now)
            .map_or(0, |e| e.items.len())
    }

    /// How many users have an entry (expired ones that were not swept yet included).
    pub fn users(&self) -> usize {
        self.lock().map.len()
    }

    fn lock(&self) -> MutexGuard<'_, Users> {
        self.inner
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `entries` to `user`'s entry, in front or at the back, under the bound and with
    /// a fresh expiry; returns the dropped ones (the oldest).
    fn push(&self, user: &UserId, entries: Vec<Vec<u8>>, front: bool) -> Stored {
        if entries.is_empty() {
            return Stored::default();
        }
        let now = (self.inner.clock)();
        let options = &self.inner.options;
        let mut users = self.lock();
        let entry = users.map.entry(user.clone()).or_insert_with(|| Entry {
            items: VecDeque::new(),
            expires: now,
        });
        if entry.expires <= now {
            entry.items.clear();
        }
        if front {
            for e in entries.into_iter().rev() {
                entry.items.push_front(e);
            }
        } else {
            entry.items.extend(entries);
        }
        let excess = entry.items.len().saturating_sub(options.max_entries);
        let dropped: Vec<Vec<u8>> = entry.items.drain(..excess).collect();
        entry.expires = now + options.ttl;
        if users.map.len() >= users.sweep_at {
            users.map.retain(|_, e| e.expires > now);
            users.sweep_at = (users.map.len() * 2).max(MIN_SWEEP);
        }
        Stored { dropped }
    }
}

impl MessageStorage for MemoryUserStore {
    type Key = UserId;

    /// Takes `user`'s entries (read and clear under the lock).
    async fn load(&self, user: &UserId) -> Result<Vec<Vec<u8>>, StorageError> {
        let now = (self.inner.clock)();
        Ok(self
            .lock()
            .map
            .remove(user)
            .filter(|e| e.expires > now)
            .map(|e| e.items.into())
            .unwrap_or_default())
    }

    /// Puts `entries` back in front of what was added since the load.
    async fn store(&self, user: &UserId, entries: Vec<Vec<u8>>) -> Result<Stored, StorageError> {
        Ok(self.push(user, entries, true))
    }
}

impl UserStore for MemoryUserStore {
    async fn append(&self, user: &UserId, entries: Vec<Vec<u8>>) -> Result<Stored, StorageError> {
        Ok(self.push(user, entries, false))
    }
}
