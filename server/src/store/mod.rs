//! The store: one database (SQLite in the data directory, or PostgreSQL shared by several
//! instances) that is the commit point of everything that must outlive a process or be seen
//! by every instance. In-memory caches sit in front of it; they are never the only copy.
//!
//! - [`pool`]: the backend, migrations, [`on_pool!`].
//! - the vault ([`crate::vault`]): the daily job's offline grants and its history.
//! - [`successors`]: what became of each refresh token a session presented (the successor
//!   chain, sealed), and the refresh lease that makes one refresh per token across instances.
//! - [`outbox`]: revocations the provider could not take yet, retried from here.
//! - [`sessions`]: sessions ended for good (every copy of their cookie refused) and used login
//!   states.
//! - [`registry`]: the session registry (each login's session with the provider's `sub` and
//!   `sid`) and the logout tokens used, for back-channel logout.
//!
//! No token is in SQL as plaintext: tokens are SHA-256 digests, successors are sealed with the
//! vault key ring (bound to the presented token's digest and the session).

pub mod outbox;
pub mod pool;
pub mod registry;
pub mod sessions;
pub mod successors;
pub mod watermarks;

use std::sync::Arc;

pub use pool::Backend;
pub(crate) use pool::Pool;
pub(crate) use pool::on_pool;

use crate::vault::{KeyRing, VaultError};

/// What can go wrong in the store (the vault's error type: one database, one error).
pub type StoreError = VaultError;

/// The store as the browser sessions use it: the pool, the key ring that seals successors, and
/// this process's instance id (the owner of the refresh leases it takes). Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    keys: KeyRing,
    instance: Arc<str>,
    /// Statements the renewal path has sent (successors and leases), for the benchmark.
    round_trips: Arc<std::sync::atomic::AtomicU64>,
    /// Woken when any instance commits a refresh outcome (PostgreSQL's LISTEN/NOTIFY; see
    /// [`Store::listen`]).
    committed: Arc<tokio::sync::Notify>,
}

/// The PostgreSQL channel a committed refresh outcome is announced on.
const COMMITTED_CHANNEL: &str = "topcluck_successors";

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.pool.backend())
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// The store on `pool`, sealing with `keys`, as a new instance.
    pub(crate) fn new(pool: Pool, keys: KeyRing) -> Self {
        let mut id = [0u8; 9];
        getrandom::fill(&mut id).expect("the operating system's random source failed");
        let instance = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, id);
        Self {
            pool,
            keys,
            instance: instance.into(),
            round_trips: Arc::default(),
            committed: Arc::default(),
        }
    }

    /// On PostgreSQL, listens for the refresh outcomes other instances commit, so a request
    /// waiting for one wakes at once ([`Store::wait_for_commit`]); reconnects when the
    /// connection drops. Nothing on SQLite (one process: waiters poll).
    pub fn listen(&self) {
        let Pool::Postgres(pool) = &self.pool else {
            return;
        };
        let (pool, committed) = (pool.clone(), Arc::clone(&self.committed));
        tokio::spawn(async move {
            loop {
                let listening = async {
                    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                    listener.listen(COMMITTED_CHANNEL).await?;
                    loop {
                        listener.recv().await?;
                        committed.notify_waiters();
                    }
                };
                let result: Result<(), sqlx::Error> = listening.await;
                if let Err(error) = result {
                    tracing::warn!(%error, "store: LISTEN failed; waiters poll until it is back");
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
    }

    /// Waits until an instance commits a refresh outcome, or `at_most` (SQLite: just `at_most`,
    /// a short poll).
    pub async fn wait_for_commit(&self, at_most: std::time::Duration) {
        match self.pool {
            Pool::Postgres(_) => {
                let _ = tokio::time::timeout(at_most, self.committed.notified()).await;
            }
            Pool::Sqlite(_) => tokio::time::sleep(at_most).await,
        }
    }

    /// Statements the renewal path has sent to the database so far (successors and leases).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn trips(&self, statements: u64) {
        self.round_trips
            .fetch_add(statements, std::sync::atomic::Ordering::Relaxed);
        crate::metrics::store_renewal_statements(statements);
    }

    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// This process's id as the owner of leases.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Deletes what can no longer matter at `now`: successors whose presented token can no
    /// longer come back (its session ended) or that a newer cookie superseded more than
    /// [`successors::SUPERSEDED_KEEP_SECONDS`] ago, expired leases nobody sent, revoked sessions
    /// whose cookies expired, used login states past their transaction's life, registered
    /// sessions whose cookies expired, logout tokens too old to be accepted again, logout
    /// watermarks older than any session they could end. Returns the
    /// rows deleted.
    pub async fn prune(&self, now: i64) -> Result<u64, StoreError> {
        let superseded_before = now - successors::SUPERSEDED_KEEP_SECONDS;
        let statements: [(&str, bool); 8] = [
            (
                "DELETE FROM successors WHERE expires_at <= $1 OR superseded_at <= $2",
                true,
            ),
            ("DELETE FROM revoked_sessions WHERE expires_at <= $1", false),
            ("DELETE FROM used_login_states WHERE expires_at <= $1", false),
            // A lease sent and never settled matters only while its session does.
            (
                "DELETE FROM refresh_leases WHERE (expires_at <= $1 AND sent_at IS NULL) OR session_end <= $1",
                false,
            ),
            ("DELETE FROM session_heads WHERE expires_at <= $1", false),
            ("DELETE FROM session_registry WHERE expires_at <= $1", false),
            ("DELETE FROM used_logout_tokens WHERE expires_at <= $1", false),
            ("DELETE FROM logout_watermarks WHERE expires_at <= $1", false),
        ];
        let mut deleted = 0;
        for (sql, with_superseded) in statements {
            deleted += on_pool!(&self.pool, pool => {
                let query = sqlx::query(sql).bind(now);
                let query = if with_superseded { query.bind(superseded_before) } else { query };
                query.execute(pool).await?.rows_affected()
            });
        }
        Ok(deleted)
    }

    /// Rows per table, for benchmarks and operators: successors, leases, revoked sessions, used
    /// login states, revocations waiting in the outbox.
    pub async fn row_counts(&self) -> Result<[i64; 5], StoreError> {
        let mut counts = [0; 5];
        for (slot, table) in counts.iter_mut().zip([
            "successors",
            "refresh_leases",
            "revoked_sessions",
            "used_login_states",
            "revocation_outbox",
        ]) {
            let sql = format!("SELECT count(*) FROM {table}");
            *slot = on_pool!(&self.pool, pool => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).fetch_one(pool).await?);
        }
        Ok(counts)
    }
}
