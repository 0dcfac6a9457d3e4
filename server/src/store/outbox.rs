//! The revocation outbox: a revocation the provider could not take yet (unreachable, 5xx) is
//! kept here, sealed, and retried by whichever instance is running — across restarts — until it
//! succeeds, the provider refuses it for good, or the token can no longer matter.

use super::{Store, StoreError, on_pool};

/// What a sealed outbox token is bound to besides its row.
const CONTEXT: &[u8] = b"topcluck revocation v1";

/// A revocation due now, claimed by this instance for a while.
pub struct Due {
    pub reference: String,
    pub client_id: String,
    pub subject: String,
    pub hint: String,
    pub token: String,
    pub attempts: i64,
}

impl std::fmt::Debug for Due {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Due")
            .field("client_id", &self.client_id)
            .field("subject", &self.subject)
            .field("hint", &self.hint)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

/// How long a claimed revocation is left to its claimer before another instance may try it.
const CLAIM_SECONDS: i64 = 60;

/// How long after it was kept a revocation is first tried again.
const FIRST_WAIT_SECONDS: i64 = 1;

/// How long a revocation is retried at most (the longest a refresh token of ours may matter).
pub const KEEP_SECONDS: i64 = 30 * 24 * 3600;

impl Store {
    /// Keeps `token` (issued to `client_id`) to revoke, kept at `now`: first tried again a
    /// second later, given up after [`KEEP_SECONDS`].
    pub async fn enqueue_revocation(
        &self,
        client_id: &str,
        subject: &str,
        hint: &str,
        token: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let (next_at, expires_at) = (now + FIRST_WAIT_SECONDS, now + KEEP_SECONDS);
        let reference = crate::bff::transaction::random_token(12);
        let sealed = self.keys.seal_bound(
            CONTEXT,
            &[reference.as_bytes(), client_id.as_bytes(), hint.as_bytes()],
            token.as_bytes(),
        );
        on_pool!(&self.pool, pool => {
            sqlx::query(
                "INSERT INTO revocation_outbox (ref, client_id, subject, hint, key_id, sealed, attempts, next_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
            )
            .bind(&reference)
            .bind(client_id)
            .bind(subject)
            .bind(hint)
            .bind(&sealed.key_id)
            .bind(&sealed.bytes)
            .bind(next_at)
            .bind(expires_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Claims up to `limit` revocations due at `now` (they are not due again for a minute) and
    /// deletes the expired ones. A row that does not open is dropped (logged).
    pub async fn due_revocations(&self, now: i64, limit: i64) -> Result<Vec<Due>, StoreError> {
        on_pool!(&self.pool, pool => {
            sqlx::query("DELETE FROM revocation_outbox WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?;
        });
        type Row = (String, String, String, String, String, Vec<u8>, i64);
        let rows: Vec<Row> = on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "UPDATE revocation_outbox SET next_at = $2 WHERE ref IN \
                 (SELECT ref FROM revocation_outbox WHERE next_at <= $1 ORDER BY next_at LIMIT $3) \
                 AND next_at <= $1 \
                 RETURNING ref, client_id, subject, hint, key_id, sealed, attempts",
            )
            .bind(now)
            .bind(now + CLAIM_SECONDS)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let mut due = Vec::with_capacity(rows.len());
        for (reference, client_id, subject, hint, key_id, sealed, attempts) in rows {
            let fields = [reference.as_bytes(), client_id.as_bytes(), hint.as_bytes()];
            match self.keys.open_bound(CONTEXT, &fields, &key_id, &sealed) {
                Ok(token) => due.push(Due {
                    token: String::from_utf8_lossy(&token).into_owned(),
                    reference,
                    client_id,
                    subject,
                    hint,
                    attempts,
                }),
                Err(_) => {
                    tracing::error!(%subject, %hint, "an outbox revocation does not open (its key is gone?): dropped");
                    self.revocation_done(&reference).await?;
                }
            }
        }
        Ok(due)
    }

    /// The revocation is done (or will never be): forgotten.
    pub async fn revocation_done(&self, reference: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => {
            sqlx::query("DELETE FROM revocation_outbox WHERE ref = $1")
                .bind(reference)
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Tries the revocation again at `next_at`.
    pub async fn revocation_later(
        &self,
        reference: &str,
        attempts: i64,
        next_at: i64,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => {
            sqlx::query("UPDATE revocation_outbox SET attempts = $2, next_at = $3 WHERE ref = $1")
                .bind(reference)
                .bind(attempts)
                .bind(next_at)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
