//! Sessions ended for good and login states used, as every instance must see them.
//!
//! A session id travels in the sealed cookie. Ending a session (logout, a login over it, a dead
//! refresh token) records the id until the cookie's own expiry; each instance keeps the set in
//! memory ([`RevokedSessions`], read on every request) and brings it up to date from here every
//! second ([`RevokedSessions::follow`]), so a copy of the cookie is refused at once on the
//! instance that ended it and within a second on every other.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::{Store, StoreError, on_pool};

/// How often an instance reads the sessions revoked elsewhere.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// Rows re-read before the last one seen, on each poll: on PostgreSQL an identity value can
/// become visible after a higher one (transactions commit out of order).
const OVERLAP: i64 = 256;

impl Store {
    /// Records `session_id` as ended until `expires_at` (its cookie's expiry), or later if it
    /// was already recorded until later: a revocation is never shortened.
    pub async fn revoke_session(&self, session_id: &str, expires_at: i64) -> Result<(), StoreError> {
        let sql = match self.pool.backend() {
            super::Backend::Sqlite => {
                "INSERT INTO revoked_sessions (session_id, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (session_id) DO UPDATE SET expires_at = max(revoked_sessions.expires_at, excluded.expires_at)"
            }
            super::Backend::Postgres => {
                "INSERT INTO revoked_sessions (session_id, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (session_id) DO UPDATE SET expires_at = GREATEST(revoked_sessions.expires_at, excluded.expires_at)"
            }
        };
        on_pool!(&self.pool, pool => {
            sqlx::query(sql)
            .bind(session_id)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The revoked sessions recorded after `seq` (with an overlap), with their expiries and
    /// sequence numbers.
    async fn revoked_after(&self, seq: i64) -> Result<Vec<(i64, String, i64)>, StoreError> {
        Ok(on_pool!(&self.pool, pool => {
            sqlx::query_as("SELECT seq, session_id, expires_at FROM revoked_sessions WHERE seq > $1 ORDER BY seq")
                .bind(seq - OVERLAP)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Records a login transaction's state (its digest) as used until `expires_at`; `false`
    /// when it was used already (on any instance).
    pub async fn use_login_state(&self, digest: &[u8], expires_at: i64) -> Result<bool, StoreError> {
        let inserted = on_pool!(&self.pool, pool => {
            sqlx::query(
                "INSERT INTO used_login_states (digest, expires_at) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING",
            )
            .bind(digest)
            .bind(expires_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(inserted > 0)
    }
}

/// The revoked session ids this instance knows, with their expiries: what every request is
/// checked against, in memory. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct RevokedSessions {
    inner: Arc<RwLock<Known>>,
}

#[derive(Default)]
struct Known {
    ids: HashMap<String, i64>,
    last_seq: i64,
}

impl RevokedSessions {
    /// Whether `session_id` was ended for good (and its cookie has not expired yet at `now`).
    pub fn contains(&self, session_id: &str, now: i64) -> bool {
        let known = self.inner.read().unwrap_or_else(|p| p.into_inner());
        known.ids.get(session_id).is_some_and(|&until| until > now)
    }

    /// Adds `session_id` here at once (the store has it too, for the other instances); a later
    /// expiry already known is kept.
    pub fn insert(&self, session_id: &str, expires_at: i64) {
        let mut known = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let until = known.ids.entry(session_id.to_owned()).or_insert(expires_at);
        *until = (*until).max(expires_at);
    }

    /// How many ids are known.
    pub fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads what the store has that this instance does not, and forgets what expired.
    pub async fn refresh(&self, store: &Store, now: i64) -> Result<(), StoreError> {
        let last_seq = self.inner.read().unwrap_or_else(|p| p.into_inner()).last_seq;
        let rows = store.revoked_after(last_seq).await?;
        let mut known = self.inner.write().unwrap_or_else(|p| p.into_inner());
        for (seq, session_id, expires_at) in rows {
            known.last_seq = known.last_seq.max(seq);
            let until = known.ids.entry(session_id).or_insert(expires_at);
            *until = (*until).max(expires_at);
        }
        known.ids.retain(|_, until| *until > now);
        Ok(())
    }

    /// Keeps this set up to date from `store` every [`FOLLOW_EVERY`], for as long as the
    /// process runs; `now` reads the BFF's clock.
    pub fn follow(
        &self,
        store: Store,
        now: impl Fn() -> i64 + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let known = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FOLLOW_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = known.refresh(&store, now()).await {
                    tracing::warn!(%error, "revoked sessions: the store could not be read; retrying");
                }
            }
        })
    }
}
