//! The session registry and the logout tokens used, for OpenID Connect Back-Channel Logout 1.0
//! ([`crate::bff::backchannel`]).
//!
//! A browser session lives in its sealed cookie, which the provider's server-to-server logout
//! request cannot reach. So every login records its session here before it answers — the
//! session id, the farmer's `sub`, the provider's login session (`sid`, when the ID token had
//! one) and the session's expiry — and a logout token naming that `sid` and/or `sub` ends the
//! matching sessions for good: one statement copies them into `revoked_sessions`, which every
//! instance follows ([`super::sessions`]), so their cookies are refused everywhere within a
//! second.
//!
//! A logout token's `jti` is recorded (the SHA-256 of issuer and `jti`) until the token would be
//! refused as too old anyway: a replay, to this instance or another, is refused.

use super::{Store, StoreError, on_pool};

/// The sessions [`Store::end_registered`] ended: `(session_id, expires_at)`.
pub type Ended = Vec<(String, i64)>;

impl Store {
    /// Records a session a login started: `session_id` of farmer `sub`, in the provider's login
    /// session `sid` (if the ID token named one), until `expires_at` (its cookie's expiry).
    pub async fn register_session(
        &self,
        session_id: &str,
        sub: &str,
        sid: Option<&str>,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => {
            sqlx::query(
                "INSERT INTO session_registry (session_id, sub, sid, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (session_id) DO UPDATE SET sub = excluded.sub, sid = excluded.sid, expires_at = excluded.expires_at",
            )
            .bind(session_id)
            .bind(sub)
            .bind(sid)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Ends for good every registered session, not expired at `now`, of the provider's login
    /// session `sid` and farmer `sub` (either may be absent, not both: then nothing is ended):
    /// they are recorded in `revoked_sessions`, in one statement. Returns them.
    pub async fn end_registered(
        &self,
        sid: Option<&str>,
        sub: Option<&str>,
        now: i64,
    ) -> Result<Ended, StoreError> {
        if sid.is_none() && sub.is_none() {
            return Ok(Vec::new());
        }
        Ok(on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "INSERT INTO revoked_sessions (session_id, expires_at) \
                 SELECT session_id, expires_at FROM session_registry \
                 WHERE expires_at > $1 AND ($2 IS NULL OR sid = $2) AND ($3 IS NULL OR sub = $3) \
                 ON CONFLICT (session_id) DO UPDATE SET expires_at = excluded.expires_at \
                 RETURNING session_id, expires_at",
            )
            .bind(now)
            .bind(sid)
            .bind(sub)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Records a logout token (`digest`: SHA-256 of its issuer and `jti`) as used until
    /// `expires_at`; `false` when it was used already (on any instance).
    pub async fn use_logout_token(&self, digest: &[u8], expires_at: i64) -> Result<bool, StoreError> {
        let inserted = on_pool!(&self.pool, pool => {
            sqlx::query(
                "INSERT INTO used_logout_tokens (digest, expires_at) VALUES ($1, $2) ON CONFLICT (digest) DO NOTHING",
            )
            .bind(digest)
            .bind(expires_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(inserted > 0)
    }

    /// Forgets a logout token recorded by [`Store::use_logout_token`] whose logout then failed,
    /// so the provider may send it again.
    pub async fn forget_logout_token(&self, digest: &[u8]) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => {
            sqlx::query("DELETE FROM used_logout_tokens WHERE digest = $1")
                .bind(digest)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
