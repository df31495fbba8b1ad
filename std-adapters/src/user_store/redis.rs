//! [`RedisUserStore`]: the per-user store on Redis (feature `user-store-redis`).

use std::fmt;
use std::sync::Arc;

use fred::interfaces::ClientLike;
use fred::types::{ClusterHash, CustomCommand, Value};

use super::{UserId, UserStore, UserStoreOptions};
use crate::redis::{Client, ConnectError, RedisOptions, connect_client};
use crate::storage::{MessageStorage, StorageError, Stored};

/// Takes a user's entries: reads the whole list and deletes it, atomically (one script).
const TAKE: &str = "local v = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return v";

/// Pushes entries (ARGV[4..], oldest first) in front (ARGV[1] = 'front') or at the back,
/// trims the list to ARGV[2] entries from the newest end, returning the dropped ones, and
/// sets the time to live ARGV[3] (milliseconds). One script: atomic.
const PUSH: &str = "local key = KEYS[1]
local max = tonumber(ARGV[2])
if ARGV[1] == 'front' then
  for i = #ARGV, 4, -1 do redis.call('LPUSH', key, ARGV[i]) end
else
  for i = 4, #ARGV do redis.call('RPUSH', key, ARGV[i]) end
end
local len = redis.call('LLEN', key)
local dropped = {}
if len > max then
  dropped = redis.call('LRANGE', key, 0, len - max - 1)
  redis.call('LTRIM', key, len - max, -1)
end
redis.call('PEXPIRE', key, ARGV[3])
return dropped";

/// The per-user store on Redis: each user's messages in one Redis list under
/// [`UserStoreOptions::key_prefix`] and the user id, one herald-encoded message per
/// element, oldest first, with a time to live ([`UserStoreOptions::ttl`], refreshed by
/// every write) and a bound ([`UserStoreOptions::max_entries`]). Every app instance
/// connected to the same Redis shares it. Cheap to clone.
///
/// Atomic by Lua scripts (Redis runs a script without interleaving any other command):
/// a request's load reads and deletes the list in one script (`LRANGE` + `DEL`), so two
/// devices or two instances never both take a message; a put-back (`LPUSH`, in front) or
/// an [`Outbox`](super::Outbox) add (`RPUSH`, at the back) pushes, trims the oldest past
/// the bound (returning them, for the report) and sets the expiry in one script.
///
/// Built on the fail-fast client of [`crate::redis`] ([`connect_client`]): while Redis is
/// down a command errors at once or within [`RedisOptions::command_timeout`], becoming a
/// [`StorageError`] (a 503); the pool reconnects by itself.
///
/// ```no_run
/// use herald_flash::redis::RedisOptions;
/// use herald_flash::user_store::{RedisUserStore, UserStoreOptions};
///
/// # async fn run() -> Result<(), herald_flash::redis::ConnectError> {
/// let users = RedisUserStore::connect(
///     "redis://127.0.0.1:6379",
///     &RedisOptions::default(),
///     UserStoreOptions::default().key_prefix("myapp:messages:"),
/// )
/// .await?;
/// # let _ = users; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisUserStore {
    client: Client,
    options: Arc<UserStoreOptions>,
}

impl fmt::Debug for RedisUserStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisUserStore")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RedisUserStore {
    /// Connects to the Redis at `url` with `redis` (as `herald_flash::redis::connect`) and
    /// returns the store.
    ///
    /// # Errors
    /// As [`connect_client`].
    pub async fn connect(
        url: &str,
        redis: &RedisOptions,
        options: UserStoreOptions,
    ) -> Result<Self, ConnectError> {
        Ok(Self::new(connect_client(url, redis).await?, options))
    }

    /// The store over an existing client (for example the one the session store uses).
    pub fn new(client: Client, options: UserStoreOptions) -> Self {
        let options = UserStoreOptions::default()
            .key_prefix(options.key_prefix)
            .ttl(options.ttl)
            .max_entries(options.max_entries);
        RedisUserStore {
            client,
            options: Arc::new(options),
        }
    }

    /// The Redis key of `user`'s entry.
    pub fn key(&self, user: &UserId) -> String {
        format!("{}{}", self.options.key_prefix, user.as_str())
    }

    async fn push(
        &self,
        user: &UserId,
        entries: Vec<Vec<u8>>,
        front: bool,
    ) -> Result<Stored, StorageError> {
        if entries.is_empty() {
            return Ok(Stored::default());
        }
        let ttl = u64::try_from(self.options.ttl.as_millis()).unwrap_or(u64::MAX);
        let mut args: Vec<Value> = Vec::with_capacity(entries.len() + 3);
        args.push(Value::from(if front { "front" } else { "back" }));
        args.push(Value::from(self.options.max_entries.to_string()));
        args.push(Value::from(ttl.to_string()));
        args.extend(entries.into_iter().map(|e| Value::Bytes(e.into())));
        let dropped = self.eval(PUSH, user, args).await?;
        Ok(Stored::dropped(elements(dropped)))
    }
}

impl RedisUserStore {
    /// Runs `script` with `user`'s key and `args` (`EVAL`, sent as a custom command so
    /// that it carries the client's fail-fast options).
    async fn eval(
        &self,
        script: &'static str,
        user: &UserId,
        args: Vec<Value>,
    ) -> Result<Value, StorageError> {
        let mut all: Vec<Value> = Vec::with_capacity(args.len() + 3);
        all.push(Value::from(script));
        all.push(Value::from("1"));
        all.push(Value::from(self.key(user)));
        all.extend(args);
        // The key is the third argument: a cluster routes the script by it.
        let command = CustomCommand::new_static("EVAL", ClusterHash::Offset(2), false);
        self.client
            .custom(command, all)
            .await
            .map_err(StorageError::backend)
    }
}

/// The byte strings of a script's array reply.
fn elements(value: Value) -> Vec<Vec<u8>> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::Bytes(b) => Some(b.to_vec()),
                Value::String(s) => Some(s.as_bytes().to_vec()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl MessageStorage for RedisUserStore {
    type Key = UserId;

    /// Takes `user`'s entries (read and delete, in one script).
    async fn load(&self, user: &UserId) -> Result<Vec<Vec<u8>>, StorageError> {
        let taken = self.eval(TAKE, user, Vec::new()).await?;
        Ok(elements(taken))
    }

    /// Puts `entries` back in front of what was added since the load.
    async fn store(&self, user: &UserId, entries: Vec<Vec<u8>>) -> Result<Stored, StorageError> {
        self.push(user, entries, true).await
    }
}

impl UserStore for RedisUserStore {
    async fn append(&self, user: &UserId, entries: Vec<Vec<u8>>) -> Result<Stored, StorageError> {
        self.push(user, entries, false).await
    }
}
