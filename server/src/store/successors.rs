//! The successor chain and the refresh leases: the commit point of every rotation.
//!
//! A refresh of the token with digest `D` is done by whoever holds `D`'s lease (one row per
//! digest: owner instance, fencing generation, expiry renewed while the provider call runs,
//! `sent` once the request may have reached the provider). Its outcome is written to
//! `successors` — the new tokens sealed and bound to `D` and the session — in the same
//! transaction that gives the lease back, before any response uses them. A request presenting
//! `D` later, on any instance, reads the outcome instead of presenting a used token again.

use super::{StoreError, on_pool};
use crate::vault::keys::OpenError;

/// How long a successor is kept once a newer cookie of its session has been seen (its token
/// presented for renewal): the browser has the newer cookie, so only requests already under
/// way can still carry the older one.
pub const SUPERSEDED_KEEP_SECONDS: i64 = 600;

/// How far apart instances' clocks may be: a lease is taken over only this long after it
/// expired.
pub const CLOCK_MARGIN_SECONDS: i64 = 5;

/// How long a request sent to the provider may still be in flight (the refresh timeout and a
/// margin): a dead holder's sent token is settled only after this.
pub const IN_FLIGHT_SECONDS: i64 = crate::oidc::REFRESH_TIMEOUT.as_secs() as i64 + 10;

/// What a successor's sealing is bound to besides the digest and the session.
const CONTEXT: &[u8] = b"topcluck successor v1";

/// The committed outcome of presenting a refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Committed {
    /// The provider answered with new tokens: `successor` is their serialized form (the
    /// renewal's own type; opaque here), `next_digest` the new refresh token's digest when it
    /// rotated.
    Renewed {
        successor: Vec<u8>,
        next_digest: Option<Vec<u8>>,
    },
    /// The token must never be presented again: the provider refused it, or its outcome was
    /// lost and could not be resolved (the session ends honestly).
    Ended,
}

/// A lease this instance holds: what [`super::Store::commit`] and
/// [`super::Store::release`] are fenced by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub digest: Vec<u8>,
    pub generation: i64,
    /// The previous holder may have sent the token and died: the outcome is uncertain, and the
    /// new holder must resolve it rather than present the token.
    pub inherited_uncertain: bool,
}

/// What trying to take a lease found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseTry {
    Acquired(Lease),
    /// Another holder's lease, live: wait for its outcome.
    Held,
}

impl super::Store {
    /// The committed outcome for the token of `digest` in `session_id`, if any. A row of another
    /// session, or one that does not open, is no outcome (and logged).
    pub async fn successor(&self, digest: &[u8], session_id: &str) -> Result<Option<Committed>, StoreError> {
        type Row = (String, String, Option<String>, Option<Vec<u8>>, Option<Vec<u8>>);
        self.trips(1);
        let row: Option<Row> = on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "SELECT session_id, outcome, key_id, sealed, next_digest FROM successors WHERE digest = $1",
            )
            .bind(digest)
            .fetch_optional(pool)
            .await?
        });
        let Some((owner, outcome, key_id, sealed, next_digest)) = row else {
            return Ok(None);
        };
        if owner != session_id {
            tracing::warn!("a refresh token's committed outcome belongs to another session: ignored");
            return Ok(None);
        }
        match (outcome.as_str(), key_id, sealed) {
            ("ended", _, _) => Ok(Some(Committed::Ended)),
            ("renewed", Some(key_id), Some(sealed)) => {
                match self
                    .keys
                    .open_bound(CONTEXT, &[digest, session_id.as_bytes()], &key_id, &sealed)
                {
                    Ok(successor) => Ok(Some(Committed::Renewed {
                        successor,
                        next_digest,
                    })),
                    Err(OpenError::UnknownKey(key)) => Err(StoreError::UnknownKey {
                        subject: format!("session {session_id}"),
                        key_id: key,
                    }),
                    Err(OpenError::Unreadable) => Err(StoreError::Unreadable {
                        subject: format!("session {session_id}"),
                    }),
                }
            }
            (other, _, _) => Err(StoreError::Malformed {
                what: "successor outcome",
                value: other.to_owned(),
            }),
        }
    }

    /// Tries to take the lease of `digest` for `seconds` from `now` (`session_end`: how long the
    /// row may matter). A lease is taken over only when it expired [`CLOCK_MARGIN_SECONDS`] ago
    /// (instances' clocks may differ by that much) and, if its holder sent the token, once that
    /// request can no longer be in flight ([`IN_FLIGHT_SECONDS`] after sending): the new lease
    /// then says the outcome is uncertain. `from_cookie`: the token came in the request's own
    /// cookie, so the browser has it — the successor that led to it is marked superseded (a
    /// token the BFF only followed to proves nothing about the browser).
    pub async fn try_lease(
        &self,
        digest: &[u8],
        now: i64,
        seconds: i64,
        session_end: i64,
        from_cookie: bool,
    ) -> Result<LeaseTry, StoreError> {
        if from_cookie {
            self.trips(1);
            on_pool!(&self.pool, pool => {
                sqlx::query(
                    "UPDATE successors SET superseded_at = $2 WHERE next_digest = $1 AND superseded_at IS NULL",
                )
                .bind(digest)
                .bind(now)
                .execute(pool)
                .await?;
            });
        }
        for _ in 0..4 {
            self.trips(1);
            let current: Option<(i64, Option<i64>, i64)> = on_pool!(&self.pool, pool => {
                sqlx::query_as("SELECT generation, sent_at, expires_at FROM refresh_leases WHERE digest = $1")
                    .bind(digest)
                    .fetch_optional(pool)
                    .await?
            });
            let taken: Option<i64> = match current {
                None => on_pool!({ self.trips(1); &self.pool }, pool => {
                    sqlx::query_scalar(
                        "INSERT INTO refresh_leases (digest, owner, generation, sent_at, session_end, expires_at) \
                         VALUES ($1, $2, 1, NULL, $3, $4) ON CONFLICT (digest) DO NOTHING RETURNING generation",
                    )
                    .bind(digest)
                    .bind(&*self.instance)
                    .bind(session_end)
                    .bind(now + seconds)
                    .fetch_optional(pool)
                    .await?
                }),
                Some((_, sent_at, expires_at))
                    if expires_at + CLOCK_MARGIN_SECONDS > now
                        || sent_at.is_some_and(|sent| sent + IN_FLIGHT_SECONDS > now) =>
                {
                    return Ok(LeaseTry::Held);
                }
                Some((generation, sent_at, _)) => {
                    self.trips(1);
                    // The same generation and the same `sent_at` as read: a holder that marked
                    // it sent meanwhile keeps it.
                    let taken = on_pool!(&self.pool, pool => {
                        sqlx::query_scalar(
                            "UPDATE refresh_leases SET owner = $2, generation = generation + 1, expires_at = $3 \
                             WHERE digest = $1 AND generation = $4 \
                             AND ((sent_at IS NULL AND $5 IS NULL) OR sent_at = $5) RETURNING generation",
                        )
                        .bind(digest)
                        .bind(&*self.instance)
                        .bind(now + seconds)
                        .bind(generation)
                        .bind(sent_at)
                        .fetch_optional(pool)
                        .await?
                    });
                    if let Some(generation) = taken {
                        return Ok(LeaseTry::Acquired(Lease {
                            digest: digest.to_vec(),
                            generation,
                            inherited_uncertain: sent_at.is_some(),
                        }));
                    }
                    None
                }
            };
            if let Some(generation) = taken {
                return Ok(LeaseTry::Acquired(Lease {
                    digest: digest.to_vec(),
                    generation,
                    inherited_uncertain: false,
                }));
            }
            // Someone else changed the row meanwhile: look again.
        }
        Ok(LeaseTry::Held)
    }

    /// Records that the lease's token is sent to the provider now. `false`: the lease is no
    /// longer this holder's, or it has expired (it could be taken over): it must not be sent.
    pub async fn mark_sent(&self, lease: &Lease, now: i64) -> Result<bool, StoreError> {
        self.fenced(
            "UPDATE refresh_leases SET sent_at = $4 \
             WHERE digest = $1 AND owner = $2 AND generation = $3 AND expires_at > $4",
            lease,
            Some(now),
        )
        .await
    }

    /// Extends the lease to `until` while the provider call runs. `false`: taken over.
    pub async fn extend(&self, lease: &Lease, until: i64) -> Result<bool, StoreError> {
        self.fenced(
            "UPDATE refresh_leases SET expires_at = $4 WHERE digest = $1 AND owner = $2 AND generation = $3",
            lease,
            Some(until),
        )
        .await
    }

    /// Gives the lease back without an outcome (the provider certainly did not act: the next
    /// holder may present the token).
    pub async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.fenced(
            "DELETE FROM refresh_leases WHERE digest = $1 AND owner = $2 AND generation = $3",
            lease,
            None,
        )
        .await
        .map(drop)
    }

    async fn fenced(&self, sql: &'static str, lease: &Lease, until: Option<i64>) -> Result<bool, StoreError> {
        self.trips(1);
        let changed = on_pool!(&self.pool, pool => {
            let query = sqlx::query(sql)
                .bind(&lease.digest)
                .bind(&*self.instance)
                .bind(lease.generation);
            let query = match until { Some(until) => query.bind(until), None => query };
            query.execute(pool).await?.rows_affected()
        });
        Ok(changed > 0)
    }

    /// Commits `outcome` for the lease's token in `session_id` (kept until `expires_at`, when
    /// the token can no longer be presented), and gives the lease back, in one transaction.
    /// The first committed rotation or end of a digest stays; a renewal that did not rotate
    /// (the token is not used up) replaces an earlier one. Returns what is committed now.
    pub async fn commit(
        &self,
        lease: &Lease,
        session_id: &str,
        outcome: &Committed,
        now: i64,
        expires_at: i64,
    ) -> Result<Committed, StoreError> {
        let digest = lease.digest.as_slice();
        let (label, key_id, sealed, next_digest) = match outcome {
            Committed::Renewed {
                successor,
                next_digest,
            } => {
                let sealed = self
                    .keys
                    .seal_bound(CONTEXT, &[digest, session_id.as_bytes()], successor);
                (
                    "renewed",
                    Some(sealed.key_id),
                    Some(sealed.bytes),
                    next_digest.clone(),
                )
            }
            Committed::Ended => ("ended", None, None, None),
        };
        // BEGIN, two statements, COMMIT (the head and NOTIFY are counted where they are sent).
        self.trips(4);
        on_pool!(&self.pool, pool => {
            let mut transaction = pool.begin().await?;
            let stored = sqlx::query(
                "INSERT INTO successors (digest, session_id, outcome, key_id, sealed, next_digest, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (digest) DO UPDATE SET outcome = excluded.outcome, key_id = excluded.key_id, \
                 sealed = excluded.sealed, next_digest = excluded.next_digest, \
                 created_at = excluded.created_at, expires_at = excluded.expires_at \
                 WHERE successors.outcome = 'renewed' AND successors.next_digest IS NULL \
                 AND successors.session_id = excluded.session_id"
            )
            .bind(digest)
            .bind(session_id)
            .bind(label)
            .bind(&key_id)
            .bind(&sealed)
            .bind(&next_digest)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *transaction)
            .await?
            .rows_affected()
                == 1;
            sqlx::query("DELETE FROM refresh_leases WHERE digest = $1 AND owner = $2 AND generation = $3")
                .bind(digest)
                .bind(&*self.instance)
                .bind(lease.generation)
                .execute(&mut *transaction)
                .await?;
            if let Committed::Renewed { next_digest, .. } = outcome
                && stored
            {
                // The session's newest token: what an older copy of its cookie is told apart by.
                // It moves only with its outcome (an outcome already committed by another holder
                // stays, and so does the head): a moved head always has its outcome to read.
                self.trips(1);
                sqlx::query(
                    "INSERT INTO session_heads (session_id, digest, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (session_id) DO UPDATE SET digest = excluded.digest, expires_at = excluded.expires_at",
                )
                .bind(session_id)
                .bind(next_digest.as_deref().unwrap_or(digest))
                .bind(expires_at)
                .execute(&mut *transaction)
                .await?;
            }
            if self.pool.backend() == super::Backend::Postgres {
                // Delivered at commit: the other instances' waiters wake at once.
                self.trips(1);
                sqlx::query(sqlx::AssertSqlSafe(format!("NOTIFY {}", super::COMMITTED_CHANNEL)))
                    .execute(&mut *transaction)
                    .await?;
            }
            transaction.commit().await?;
        });
        Ok(self
            .successor(digest, session_id)
            .await?
            .unwrap_or_else(|| outcome.clone()))
    }

    /// The digest of the newest token committed for `session_id`, if any rotation was.
    pub async fn head(&self, session_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.trips(1);
        Ok(on_pool!(&self.pool, pool => {
            sqlx::query_scalar("SELECT digest FROM session_heads WHERE session_id = $1")
                .bind(session_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Whether anyone holds a live lease on `digest` (a refresh of it is under way somewhere).
    pub async fn lease_live(&self, digest: &[u8], now: i64) -> Result<bool, StoreError> {
        let expires_at: Option<i64> = on_pool!(&self.pool, pool => {
            sqlx::query_scalar("SELECT expires_at FROM refresh_leases WHERE digest = $1")
                .bind(digest)
                .fetch_optional(pool)
                .await?
        });
        Ok(expires_at.is_some_and(|at| at > now))
    }
}
