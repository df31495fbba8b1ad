//! Sessions in Redis for tower-sessions 0.14 (feature `tower-sessions-redis`): one way to
//! connect that fails fast while Redis is down and recovers by itself when it is back.
//!
//! [`connect`] returns a [`Store`]: tower-sessions-redis-store 0.16's [`RedisStore`] over a
//! [`fred`] pool configured from [`RedisOptions`]. Put it in a `SessionManagerLayer` outside
//! herald's layer:
//!
//! ```no_run
//! use axum::{Router, response::Redirect, routing::post};
//! use herald_flash::redis::{self, RedisOptions};
//! use herald_flash::session::tower_sessions_0_14::TowerSessions;
//! use herald_flash::tower::MessagesLayer;
//! use herald_flash::{Config, Messages};
//! use herald_flash::session::tower_sessions_0_14::tower_sessions::SessionManagerLayer;
//!
//! async fn save(messages: Messages) -> Redirect {
//!     messages.success("Profile saved.");
//!     Redirect::to("/")
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let config = Config::builder().secret(std::env::var("SECRET")?).build()?;
//! // Bounded by default: a request that needs the session answers within 1 s even when
//! // Redis hangs, at once (503) when it is down; reconnects in the background.
//! let store = redis::connect("redis://127.0.0.1:6379", &RedisOptions::default()).await?;
//! let app: Router = Router::new()
//!     .route("/save", post(save))
//!     .layer(MessagesLayer::fallback(config, TowerSessions))
//!     .layer(SessionManagerLayer::new(store)); // outside herald's layer
//! # let _ = app; Ok(()) }
//! ```
//!
//! # Behaviour
//!
//! A pool built by hand with fred's defaults (`Pool::new(config, None, None, None, n)`)
//! has no reconnect policy and no command timeout: when Redis goes away, the client's
//! routing task ends, and every later command waits forever for a task that no longer
//! reads them — requests hang, and keep hanging after Redis is back. [`connect`] sets:
//!
//! * **Fail fast.** Every command carries fred's per-command `fail_fast`: while none of the
//!   pool's connections is up, it errors at once instead of queueing behind the reconnect
//!   loop (fred's router does not read new commands while it reconnects). herald turns the
//!   error into a 503 (`MessagesError::Session`) in milliseconds; tower-sessions answers a
//!   failed save of a new session with a 500. Only in the moment between a connection's
//!   loss and the first reconnection attempt (the first reconnect delay, 10 ms, plus up to
//!   50 ms of fred's jitter) does fred still count it as up: a command sent then waits for
//!   its timeout.
//! * **Bounded.** A command on a connection that is up but does not answer (Redis stopped,
//!   a network partition) errors after [`command_timeout`](RedisOptions::command_timeout),
//!   fred's `default_command_timeout`; a timed-out command is dropped, never sent later.
//!   A request reads its session at most once and writes it at most once, so the default
//!   500 ms bounds a request that needs the session to 1 s. Such a connection is closed
//!   and reconnected after two command timeouts without a reply (fred's `unresponsive`
//!   check).
//! * **At most once.** fred's `max_command_attempts` is 1: a command in flight when the
//!   connection drops fails, it is not replayed on the next connection.
//! * **Recovers.** Each pooled connection reconnects in the background with
//!   [`reconnect`](RedisOptions::reconnect) (default: 10 ms, doubling up to 1 s), without
//!   limit, so requests succeed again about a second at most after Redis is back. Losing
//!   and regaining the connection is logged (`tracing`, WARN and INFO).
//! * **Starts while Redis is down.** [`connect`] waits up to
//!   [`connection_timeout`](RedisOptions::connection_timeout) (plus the first reconnect
//!   delay) for the pool; if Redis is not there yet, it logs a WARN and returns the store
//!   anyway, so pages that do not need the session work and the rest answer 503 until
//!   Redis is up — a server restarted during an outage behaves like one that saw it
//!   begin. A malformed URL is always an error; set
//!   [`require_connection`](RedisOptions::require_connection) to fail with
//!   [`ConnectError::Unreachable`] instead of starting.
//!
//! The same client, without the session store, is [`connect_client`] (also with the
//! feature `user-store-redis` alone): the per-user message store
//! (`herald_flash::user_store::RedisUserStore`) is built on it, so it fails fast, is
//! bounded and recovers exactly as described here.
//!
//! Nothing here makes Redis durable: with persistence off, a restarted Redis has lost the
//! sessions it held, and with them any overflow messages not yet shown.
//!
//! # When the session write fails
//!
//! herald writes the overflow into the session after the handler has made its response.
//! When that write fails (a visitor with a session POSTs during the outage:
//! tower-sessions must load the session first), the handler's status goes out — a 303
//! that claims success — and the messages the session could not take are reported in the
//! response's [`Unstored`](crate::Unstored), each with
//! [`UnstoredReason::Session`](crate::UnstoredReason::Session). If such a response must
//! not claim success, turn it into a 503 between herald's layer and `SessionManagerLayer`
//! (which then saves nothing):
//!
//! ```no_run
//! use axum::http::StatusCode;
//! use axum::response::{IntoResponse, Response};
//! use herald_flash::{Unstored, UnstoredReason};
//!
//! /// A 503 instead of a response whose messages the session could not take.
//! async fn refuse_unstored(res: Response) -> Response {
//!     let lost = res.extensions().get::<Unstored>().is_some_and(|u| {
//!         u.messages
//!             .iter()
//!             .any(|m| matches!(m.reason, UnstoredReason::Session(_)))
//!     });
//!     if lost {
//!         (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response()
//!     } else {
//!         res
//!     }
//! }
//! # use herald_flash::{Config, session::tower_sessions_0_14::TowerSessions, tower::MessagesLayer};
//! # async fn run() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! # let config = Config::builder().secret([7u8; 32]).build()?;
//! # let store = herald_flash::redis::connect("redis://127.0.0.1:6379", &Default::default()).await?;
//! let app: axum::Router = axum::Router::new()
//!     .layer(MessagesLayer::fallback(config, TowerSessions))
//!     .layer(axum::middleware::map_response(refuse_unstored))
//!     .layer(herald_flash::session::tower_sessions_0_14::tower_sessions::SessionManagerLayer::new(store));
//! # let _ = app; Ok(()) }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The Redis client the store is built on (fred 10, the one tower-sessions-redis-store
/// uses), re-exported for its types.
pub use fred;
#[cfg(feature = "tower-sessions-redis")]
pub use tower_sessions_redis_store::RedisStore;

use fred::prelude::{
    Builder, ClientLike, Config as FredConfig, EventInterface, Options, Pool, ReconnectPolicy,
};
use fred::types::config::UnresponsiveConfig;

/// The session store [`connect`] returns: tower-sessions-redis-store's [`RedisStore`] over
/// a fred [`Pool`] whose commands all carry the fail-fast options.
#[cfg(feature = "tower-sessions-redis")]
pub type Store = RedisStore<fred::clients::WithOptions<Pool>>;

/// How long to wait between reconnection attempts. Attempts never stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reconnect {
    /// The same delay between attempts.
    Constant(Duration),
    /// `min` after the first failure, doubled after each further one, at most `max`.
    Exponential {
        /// The first delay.
        min: Duration,
        /// The longest delay.
        max: Duration,
    },
}

impl Reconnect {
    /// The delay before the first attempt.
    fn first(&self) -> Duration {
        match *self {
            Reconnect::Constant(d) => d,
            Reconnect::Exponential { min, .. } => min,
        }
    }

    fn policy(&self) -> ReconnectPolicy {
        match *self {
            Reconnect::Constant(d) => ReconnectPolicy::new_constant(0, millis(d)),
            Reconnect::Exponential { min, max } => {
                ReconnectPolicy::new_exponential(0, millis(min), millis(max), 2)
            }
        }
    }
}

/// Whole milliseconds, as fred takes them (saturating).
fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// How [`connect`] talks to Redis. The defaults bound a request that needs the session to
/// 1 s and recover within about 1 s of Redis coming back.
///
/// ```
/// use std::time::Duration;
/// use herald_flash::redis::{Reconnect, RedisOptions};
///
/// let mut options = RedisOptions::default();
/// options.command_timeout = Duration::from_millis(250);
/// options.reconnect = Reconnect::Constant(Duration::from_millis(200));
/// options.pool_size = 4;
/// # let _ = options;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisOptions {
    /// How long one connection attempt may take: the TCP connect (and TLS), then each of
    /// the commands fred sends on a new connection (`HELLO`, `AUTH`, `SELECT`). Default
    /// 1 s. A hanging attempt delays recovery, not requests (they fail fast meanwhile).
    pub connection_timeout: Duration,
    /// How long one command may wait for its reply, fred's `default_command_timeout`.
    /// Default 500 ms: a request reads and writes its session at most once each, so it
    /// needs at most two commands. Must not be zero (fred would then wait forever).
    pub command_timeout: Duration,
    /// The delays between reconnection attempts. Default: 10 ms, doubling up to 1 s (so
    /// about one attempt a second per connection during a long outage).
    pub reconnect: Reconnect,
    /// The number of connections (commands are pipelined on each). Default 2.
    pub pool_size: usize,
    /// `true`: [`connect`] fails with [`ConnectError::Unreachable`] when Redis does not
    /// answer at start-up. Default `false`: it starts anyway and connects when Redis does.
    pub require_connection: bool,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            connection_timeout: Duration::from_secs(1),
            command_timeout: Duration::from_millis(500),
            reconnect: Reconnect::Exponential {
                min: Duration::from_millis(10),
                max: Duration::from_secs(1),
            },
            pool_size: 2,
            require_connection: false,
        }
    }
}

impl RedisOptions {
    fn check(&self) -> Result<(), ConnectError> {
        let ms = Duration::from_millis(1);
        if self.pool_size == 0 {
            return Err(ConnectError::Options("pool_size must be at least 1"));
        }
        if self.command_timeout < ms {
            return Err(ConnectError::Options(
                "command_timeout must be at least 1 ms (zero would mean no timeout)",
            ));
        }
        if self.connection_timeout < ms {
            return Err(ConnectError::Options(
                "connection_timeout must be at least 1 ms",
            ));
        }
        match self.reconnect {
            Reconnect::Constant(d) if d < ms => Err(ConnectError::Options(
                "the reconnect delay must be at least 1 ms",
            )),
            Reconnect::Exponential { min, max } if min < ms || max < min => {
                Err(ConnectError::Options(
                    "the reconnect delays must be at least 1 ms, with min <= max",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Why [`connect`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a Redis URL (`redis://[[user]:password@]host[:port][/database]`).
    #[error("invalid Redis URL: {0}")]
    Url(#[source] fred::error::Error),
    /// An option is out of range (the message says which).
    #[error("invalid Redis options: {0}")]
    Options(&'static str),
    /// fred refused the configuration.
    #[error("cannot build the Redis pool: {0}")]
    Pool(#[source] fred::error::Error),
    /// [`RedisOptions::require_connection`] is set and Redis did not accept a connection.
    #[error(
        "Redis at {server} did not accept a connection within {waited:?}; is redis-server running there?"
    )]
    Unreachable {
        /// `host:port` (the URL without its credentials).
        server: String,
        /// How long [`connect`] waited.
        waited: Duration,
    },
}

/// Connects to the Redis at `url` (`redis://[[user]:password@]host[:port][/database]`) and
/// returns the session store for tower-sessions' `SessionManagerLayer`.
///
/// Fails fast, is bounded, and recovers on its own as described in the [module
/// docs](self). Must run inside a Tokio runtime: the pool's connections are driven by
/// tasks it spawns.
///
/// # Errors
/// [`ConnectError::Url`] for a malformed URL, [`ConnectError::Options`] for an option out
/// of range, and — only with [`RedisOptions::require_connection`] —
/// [`ConnectError::Unreachable`] when Redis does not answer within the wait.
#[cfg(feature = "tower-sessions-redis")]
pub async fn connect(url: &str, options: &RedisOptions) -> Result<Store, ConnectError> {
    connect_client(url, options).await.map(RedisStore::new)
}

/// The fail-fast client [`connect`] builds its store on: a [`fred`] pool whose every
/// command carries the fail-fast options. The per-user store on Redis
/// (`herald_flash::user_store::RedisUserStore`) uses it too, so both behave alike while
/// Redis is down and after it is back.
pub type Client = fred::clients::WithOptions<Pool>;

/// Connects to the Redis at `url` as [`connect`] does, and returns the [`Client`] itself.
///
/// # Errors
/// As [`connect`].
pub async fn connect_client(url: &str, options: &RedisOptions) -> Result<Client, ConnectError> {
    options.check()?;
    // fred reads any scheme as a plain Redis server: say so for `http://` and the like.
    if !url.starts_with("redis") {
        return Err(ConnectError::Url(fred::error::Error::new(
            fred::error::ErrorKind::Url,
            "expected redis://, rediss://, redis-cluster:// or redis-sentinel://",
        )));
    }
    let mut config = FredConfig::from_url(url).map_err(ConnectError::Url)?;
    // Run the reconnect policy for the first connection too (start while Redis is down).
    config.fail_fast = false;
    let server = config
        .server
        .hosts()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut builder = Builder::from_config(config);
    builder
        .with_connection_config(|c| {
            c.connection_timeout = options.connection_timeout;
            c.internal_command_timeout = options.connection_timeout;
            c.max_command_attempts = 1;
            c.unresponsive = UnresponsiveConfig {
                max_timeout: Some(options.command_timeout * 2),
                interval: (options.command_timeout / 2).max(Duration::from_millis(2)),
            };
        })
        .with_performance_config(|p| p.default_command_timeout = options.command_timeout)
        .set_policy(options.reconnect.policy());
    let pool = builder
        .build_pool(options.pool_size)
        .map_err(ConnectError::Pool)?;
    log_connection_events(&pool, &server);
    let tasks = pool.connect_pool();

    // The first attempt comes after the first reconnect delay (fred's policy with
    // `fail_fast = false`), then takes at most `connection_timeout`.
    let waited = options.reconnect.first() + options.connection_timeout + JITTER;
    let deadline = Instant::now() + waited;
    while !pool.clients().iter().all(|c| c.is_connected()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if !pool.clients().iter().any(|c| c.is_connected()) {
        if options.require_connection {
            for task in tasks {
                task.abort();
            }
            return Err(ConnectError::Unreachable { server, waited });
        }
        tracing::warn!(
            redis = %server,
            ?waited,
            "herald: Redis is not reachable yet; starting anyway: requests that need the session answer 503 until it is, reconnecting in the background"
        );
    }
    let fail_fast = Options {
        fail_fast: true,
        max_attempts: Some(1),
        timeout: Some(options.command_timeout),
        ..Options::default()
    };
    Ok(pool.with_options(&fail_fast))
}

/// fred's default reconnect jitter (50 ms), with a margin.
const JITTER: Duration = Duration::from_millis(100);

/// Logs each pooled connection's loss (once, WARN) and its return (INFO).
fn log_connection_events(pool: &Pool, server: &str) {
    for client in pool.clients() {
        let down = Arc::new(AtomicBool::new(false));
        let (on_error, on_back) = (down.clone(), down);
        let (s1, s2) = (server.to_owned(), server.to_owned());
        let errors = client.on_error(move |(error, _)| {
            if !on_error.swap(true, Ordering::Relaxed) {
                tracing::warn!(redis = %s1, %error, "herald: lost the Redis connection; requests that need the session answer 503 until it is back, reconnecting in the background");
            } else {
                tracing::debug!(redis = %s1, %error, "herald: Redis is still unreachable");
            }
            std::future::ready(Ok(()))
        });
        let reconnects = client.on_reconnect(move |_| {
            if on_back.swap(false, Ordering::Relaxed) {
                tracing::info!(redis = %s2, "herald: reconnected to Redis");
            }
            std::future::ready(Ok(()))
        });
        // Detached: the listener tasks end with the client.
        drop((errors, reconnects));
    }
}
