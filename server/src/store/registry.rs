//! The session registry, the logout tokens used and the logout watermarks, for OpenID Connect
//! Back-Channel Logout 1.0 ([`crate::bff::backchannel`]).
//!
//! A browser session lives in its sealed cookie, which the provider's server-to-server logout
//! request cannot reach. So every login records its session here before it answers — the
//! session id, the provider (`iss`), the farmer's `sub`, the provider's login session (`sid`,
//! when the ID token had one) and the session's expiry — and a logout token naming that `sid`
//! and/or `sub` ends the matching sessions for good: they are copied into `revoked_sessions`,
//! which every instance follows ([`super::sessions`]), so their cookies are refused everywhere
//! within a second.
//!
//! A session without a registry row (a cookie from before the registry, a login still
//! completing when the logout arrived) is ended by the logout's watermark instead
//! ([`super::watermarks`]): recorded in the same transaction.
//!
//! A logout token's `jti` is recorded (the SHA-256 of issuer and `jti`) until the token would be
//! refused as too old anyway, on any instance's clock: a replay is refused. Recording it, ending
//! the sessions and the watermark are one transaction ([`Store::record_logout`]): a failure
//! leaves nothing half done, and the provider may send the token again.

use super::watermarks::Watermark;
use super::{Backend, Store, StoreError, on_pool};

/// The sessions [`Store::record_logout`] ended: `(session_id, expires_at)`.
pub type Ended = Vec<(String, i64)>;

/// An accepted logout token, as [`Store::record_logout`] records it.
pub struct Logout<'a> {
    /// SHA-256 of its issuer and `jti`.
    pub digest: &'a [u8],
    /// Until when the digest is kept.
    pub digest_expires_at: i64,
    /// What it ended, and from when (`ended_at`).
    pub watermark: &'a Watermark,
    /// Until when the watermark is kept: the longest session could have ended.
    pub watermark_expires_at: i64,
}

/// Why [`Store::register_session`] did not register.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The provider ended this login session (a logout token) at or after the ID token's `iat`.
    #[error("the provider ended this login session while the login was completing")]
    EndedByProvider,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Records a session a login started: `session_id` of farmer `sub` at provider `iss`, in
    /// the provider's login session `sid` (if the ID token named one), until `expires_at` (its
    /// cookie's expiry). Refused ([`RegisterError::EndedByProvider`]) when a logout token ended
    /// this login session at or after `issued_at` (the ID token's `iat`): the row is written
    /// first, then the watermarks read, so a logout committing meanwhile is seen by one of the
    /// two (and by the gate's watermarks in any case).
    pub async fn register_session(
        &self,
        session_id: &str,
        iss: &str,
        sub: &str,
        sid: Option<&str>,
        issued_at: i64,
        expires_at: i64,
    ) -> Result<(), RegisterError> {
        let ended: Option<(i64,)> = on_pool!(&self.pool, pool => {
            sqlx::query(
                "INSERT INTO session_registry (session_id, iss, sub, sid, expires_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (session_id) DO UPDATE SET iss = excluded.iss, sub = excluded.sub, sid = excluded.sid, \
                 expires_at = excluded.expires_at",
            )
            .bind(session_id)
            .bind(iss)
            .bind(sub)
            .bind(sid)
            .bind(expires_at)
            .execute(pool)
            .await
            .map_err(StoreError::from)?;
            sqlx::query_as(
                "SELECT ended_at FROM logout_watermarks WHERE iss = $1 AND \
                 (sid = $3 OR (ended_at > $4 AND sub = $2 AND (sid IS NULL OR $3 IS NULL))) LIMIT 1",
            )
            .bind(iss)
            .bind(sub)
            .bind(sid)
            .bind(issued_at)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::from)?
        });
        match ended {
            Some(_) => Err(RegisterError::EndedByProvider),
            None => Ok(()),
        }
    }

    /// Records an accepted logout token, in one transaction: its digest (`None` when it was
    /// used already, on any instance: nothing else is done), every registered session of its
    /// issuer, not expired at `now`, that it names ended for good in `revoked_sessions` (a
    /// later revocation kept), and its watermark. Which sessions it names (§2.7): with `sid`
    /// and `sub`, those of that `sid` and those of `sub` without one (an ID token without
    /// `sid`); with `sid` alone, those of that `sid`; with `sub` alone, all of `sub`'s.
    pub async fn record_logout(&self, logout: &Logout<'_>, now: i64) -> Result<Option<Ended>, StoreError> {
        let mark = logout.watermark;
        // The same statement but for the function that keeps the later expiry.
        macro_rules! end {
            ($later:literal) => {
                concat!(
                    "INSERT INTO revoked_sessions (session_id, expires_at) \
                     SELECT session_id, expires_at FROM session_registry \
                     WHERE iss = $1 AND expires_at > $2 \
                     AND ($3 IS NULL OR sid = $3 OR (sid IS NULL AND $4 IS NOT NULL)) AND ($4 IS NULL OR sub = $4) \
                     ON CONFLICT (session_id) DO UPDATE SET expires_at = ",
                    $later,
                    "(revoked_sessions.expires_at, excluded.expires_at) RETURNING session_id, expires_at"
                )
            };
        }
        let end = match self.pool.backend() {
            Backend::Sqlite => end!("max"),
            Backend::Postgres => end!("GREATEST"),
        };
        Ok(on_pool!(&self.pool, pool => {
            let mut transaction = pool.begin().await?;
            let fresh = sqlx::query(
                "INSERT INTO used_logout_tokens (digest, expires_at) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING",
            )
            .bind(logout.digest)
            .bind(logout.digest_expires_at)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
            if fresh == 0 {
                transaction.rollback().await?;
                None
            } else {
                let ended: Ended = sqlx::query_as(end)
                    .bind(&mark.iss)
                    .bind(now)
                    .bind(mark.sid.as_deref())
                    .bind(mark.sub.as_deref())
                    .fetch_all(&mut *transaction)
                    .await?;
                sqlx::query(
                    "INSERT INTO logout_watermarks (iss, sub, sid, ended_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&mark.iss)
                .bind(mark.sub.as_deref())
                .bind(mark.sid.as_deref())
                .bind(mark.ended_at)
                .bind(logout.watermark_expires_at)
                .execute(&mut *transaction)
                .await?;
                transaction.commit().await?;
                Some(ended)
            }
        }))
    }
}
