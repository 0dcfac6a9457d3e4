//! The offline grants: one row per owner, its refresh token sealed ([`super::keys`]) next to
//! the token's SHA-256, which is what rotation compares (never a plaintext token in SQL).
//! Writes that depend on what was read are compare-and-swaps (on the digest, or on the row's
//! `version`), so concurrent instances never lose a rotation.

use super::keys::{self, OpenError};
use super::{JobLease, Owner, Vault, VaultError};
use crate::store::on_pool;

/// How often [`Vault::enrol`] re-reads a row that changed between its read and its write.
const ATTEMPTS: usize = 8;

type SealedColumns = (Option<String>, Option<Vec<u8>>);

impl Vault {
    /// Enrols (or re-enrols) `owner` with a fresh offline refresh token; returns the token it
    /// replaces (to be revoked by the caller), if any. Clears a "needs re-consent" state.
    pub async fn enrol(
        &self,
        owner: &Owner,
        refresh_token: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<Option<String>, VaultError> {
        let sealed = self.keys.seal(owner, refresh_token);
        let digest = keys::digest(refresh_token);
        let scopes = scopes.join(" ");
        for _ in 0..ATTEMPTS {
            let current: Option<(i64, Option<String>, Option<Vec<u8>>)> = on_pool!(&self.pool, pool => {
                sqlx::query_as(
                    "SELECT version, key_id, sealed_token FROM offline_grants \
                     WHERE issuer = $1 AND subject = $2 AND client_id = $3",
                )
                .bind(&owner.issuer)
                .bind(&owner.subject)
                .bind(&owner.client_id)
                .fetch_optional(pool)
                .await?
            });
            let written = match &current {
                None => on_pool!(&self.pool, pool => {
                    sqlx::query(
                        "INSERT INTO offline_grants (issuer, subject, client_id, state, key_id, \
                         sealed_token, token_sha256, scopes, enabled_since, state_since, updated_at, \
                         version) VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $8, $8, 1) \
                         ON CONFLICT (issuer, subject, client_id) DO NOTHING",
                    )
                    .bind(&owner.issuer)
                    .bind(&owner.subject)
                    .bind(&owner.client_id)
                    .bind(&sealed.key_id)
                    .bind(&sealed.bytes)
                    .bind(&digest)
                    .bind(&scopes)
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
                }),
                Some((version, ..)) => on_pool!(&self.pool, pool => {
                    sqlx::query(
                        "UPDATE offline_grants SET state = 'active', key_id = $4, sealed_token = $5, \
                         token_sha256 = $6, scopes = $7, enabled_since = $8, state_since = $8, \
                         updated_at = $8, version = version + 1, uncertain_since = NULL \
                         WHERE issuer = $1 AND subject = $2 AND client_id = $3 AND version = $9",
                    )
                    .bind(&owner.issuer)
                    .bind(&owner.subject)
                    .bind(&owner.client_id)
                    .bind(&sealed.key_id)
                    .bind(&sealed.bytes)
                    .bind(&digest)
                    .bind(&scopes)
                    .bind(now)
                    .bind(version)
                    .execute(pool)
                    .await?
                    .rows_affected()
                }),
            };
            if written == 1 {
                let replaced = match current {
                    Some((_, key_id, bytes)) => self.open_replaced(owner, (key_id, bytes)),
                    None => None,
                };
                return Ok(replaced);
            }
        }
        Err(VaultError::Contended {
            subject: owner.subject.clone(),
        })
    }

    /// The enrolled owners whose grant is alive (not needing re-consent), for the job.
    pub async fn enrolled(&self) -> Result<Vec<Owner>, VaultError> {
        let rows: Vec<(String, String, String)> = on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "SELECT issuer, subject, client_id FROM offline_grants WHERE state = 'active' \
                 ORDER BY issuer, subject, client_id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(issuer, subject, client_id)| Owner {
                issuer,
                subject,
                client_id,
            })
            .collect())
    }

    /// The owner's refresh token (decrypted), if enrolled and alive.
    pub async fn refresh_token(&self, owner: &Owner) -> Result<Option<String>, VaultError> {
        let row: Option<(String, Vec<u8>)> = on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "SELECT key_id, sealed_token FROM offline_grants \
                 WHERE issuer = $1 AND subject = $2 AND client_id = $3 AND state = 'active'",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(|(key_id, bytes)| self.open_sealed(owner, &key_id, &bytes))
            .transpose()
    }

    /// Compare-and-swap: stores `new` only if the row still holds `old` (their digests are
    /// compared, never plaintext); `Ok(false)` when it did not (someone else rotated, the grant
    /// died, or the farmer turned counting off). Idempotent: a row that already holds `new` (a
    /// retry after a write whose reply was lost) counts as stored.
    pub async fn rotate(&self, owner: &Owner, old: &str, new: &str, now: i64) -> Result<bool, VaultError> {
        let sealed = self.keys.seal(owner, new);
        let written = on_pool!(&self.pool, pool => {
            sqlx::query(
                "UPDATE offline_grants SET key_id = $4, sealed_token = $5, token_sha256 = $6, \
                 updated_at = $7, version = version + 1 \
                 WHERE issuer = $1 AND subject = $2 AND client_id = $3 AND state = 'active' \
                 AND (token_sha256 = $8 OR token_sha256 = $6)",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .bind(&sealed.key_id)
            .bind(&sealed.bytes)
            .bind(keys::digest(new))
            .bind(now)
            .bind(keys::digest(old))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(written == 1)
    }

    /// Takes the owner's active grant for `seconds` (a job run refreshing it): `Ok(None)` when
    /// another run holds it. Two runs at once never present one refresh token twice. The lease
    /// is fenced by its holder id: a run whose lease expired and was taken over can neither
    /// rotate ([`Vault::rotate_leased`]) nor release it.
    pub async fn lease(&self, owner: &Owner, now: i64, seconds: i64) -> Result<Option<JobLease>, VaultError> {
        let holder = crate::bff::transaction::random_token(12);
        let taken: Option<Option<i64>> = on_pool!(&self.pool, pool => {
            sqlx::query_scalar(
                "UPDATE offline_grants SET leased_until = $4, lease_holder = $6 \
                 WHERE issuer = $1 AND subject = $2 AND client_id = $3 AND state = 'active' \
                 AND (leased_until IS NULL OR leased_until <= $5) RETURNING uncertain_since",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .bind(now + seconds)
            .bind(now)
            .bind(&holder)
            .fetch_optional(pool)
            .await?
        });
        Ok(taken.map(|uncertain_since| JobLease {
            holder,
            uncertain: uncertain_since.is_some(),
        }))
    }

    /// Gives the lease back (only the holder's).
    pub async fn release(&self, owner: &Owner, lease: &JobLease) -> Result<(), VaultError> {
        self.leased(
            "UPDATE offline_grants SET leased_until = NULL, lease_holder = NULL \
             WHERE issuer = $1 AND subject = $2 AND client_id = $3 AND lease_holder = $4",
            owner,
            lease,
            None,
        )
        .await
        .map(drop)
    }

    /// Records that the holder is about to present the grant's token: until an outcome is
    /// stored ([`Vault::rotate_leased`], [`Vault::settled`], or the grant's end), the grant is
    /// uncertain and the next run settles it before presenting anything. `false`: the lease was
    /// taken over; nothing may be sent.
    pub async fn sending(&self, owner: &Owner, lease: &JobLease, now: i64) -> Result<bool, VaultError> {
        self.leased(
            "UPDATE offline_grants SET uncertain_since = $5 \
             WHERE issuer = $1 AND subject = $2 AND client_id = $3 AND lease_holder = $4",
            owner,
            lease,
            Some(now),
        )
        .await
    }

    /// The token is known not to have been used (not received, or still active): no longer
    /// uncertain.
    pub async fn settled(&self, owner: &Owner, lease: &JobLease) -> Result<bool, VaultError> {
        self.leased(
            "UPDATE offline_grants SET uncertain_since = NULL \
             WHERE issuer = $1 AND subject = $2 AND client_id = $3 AND lease_holder = $4",
            owner,
            lease,
            None,
        )
        .await
    }

    /// [`Vault::rotate`], only for the lease's holder; the grant is no longer uncertain.
    pub async fn rotate_leased(
        &self,
        owner: &Owner,
        lease: &JobLease,
        old: &str,
        new: &str,
        now: i64,
    ) -> Result<bool, VaultError> {
        let sealed = self.keys.seal(owner, new);
        let written = on_pool!(&self.pool, pool => {
            sqlx::query(
                "UPDATE offline_grants SET key_id = $4, sealed_token = $5, token_sha256 = $6, \
                 updated_at = $7, version = version + 1, uncertain_since = NULL \
                 WHERE issuer = $1 AND subject = $2 AND client_id = $3 AND state = 'active' \
                 AND (token_sha256 = $8 OR token_sha256 = $6) AND lease_holder = $9",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .bind(&sealed.key_id)
            .bind(&sealed.bytes)
            .bind(keys::digest(new))
            .bind(now)
            .bind(keys::digest(old))
            .bind(&lease.holder)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(written == 1)
    }

    async fn leased(
        &self,
        sql: &'static str,
        owner: &Owner,
        lease: &JobLease,
        now: Option<i64>,
    ) -> Result<bool, VaultError> {
        let written = on_pool!(&self.pool, pool => {
            let query = sqlx::query(sql)
                .bind(&owner.issuer)
                .bind(&owner.subject)
                .bind(&owner.client_id)
                .bind(&lease.holder);
            let query = match now { Some(now) => query.bind(now), None => query };
            query.execute(pool).await?.rows_affected()
        });
        Ok(written == 1)
    }

    /// The grant is dead (`invalid_grant`): the token is deleted and the state says so, with
    /// `since` = `now` (kept if it was already dead); the history is kept.
    pub async fn needs_consent(&self, owner: &Owner, now: i64) -> Result<(), VaultError> {
        self.kill(owner, None, now).await.map(drop)
    }

    /// [`Vault::needs_consent`], only if the row still holds `dead_token`: a grant that the
    /// farmer renewed meanwhile (re-enrolment) is not killed by a stale answer. Whether it was.
    pub async fn needs_consent_if_current(
        &self,
        owner: &Owner,
        dead_token: &str,
        now: i64,
    ) -> Result<bool, VaultError> {
        self.kill(owner, Some(keys::digest(dead_token)), now).await
    }

    async fn kill(&self, owner: &Owner, digest: Option<Vec<u8>>, now: i64) -> Result<bool, VaultError> {
        let written = on_pool!(&self.pool, pool => {
            sqlx::query(
                "UPDATE offline_grants SET state = 'needs_consent', key_id = NULL, \
                 sealed_token = NULL, token_sha256 = NULL, state_since = $4, updated_at = $4, \
                 version = version + 1, uncertain_since = NULL \
                 WHERE issuer = $1 AND subject = $2 AND client_id = $3 AND state = 'active' \
                 AND ($5 IS NULL OR token_sha256 = $5)",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .bind(now)
            .bind(digest)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(written == 1)
    }

    /// Turned off by the farmer: deletes the row and returns its token, to revoke. The history
    /// is kept.
    pub async fn remove(&self, owner: &Owner) -> Result<Option<String>, VaultError> {
        let row: Option<SealedColumns> = on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "DELETE FROM offline_grants WHERE issuer = $1 AND subject = $2 AND client_id = $3 \
                 RETURNING key_id, sealed_token",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.and_then(|columns| self.open_replaced(owner, columns)))
    }

    pub(super) fn open_sealed(
        &self,
        owner: &Owner,
        key_id: &str,
        bytes: &[u8],
    ) -> Result<String, VaultError> {
        self.keys.open(owner, key_id, bytes).map_err(|error| match error {
            OpenError::UnknownKey(key_id) => VaultError::UnknownKey {
                subject: owner.subject.clone(),
                key_id,
            },
            OpenError::Unreadable => VaultError::Unreadable {
                subject: owner.subject.clone(),
            },
        })
    }

    /// The token of a row being replaced or deleted, to revoke. One that does not open cannot
    /// be revoked by anyone but its (unknown) holder: logged, and the replacement goes on.
    fn open_replaced(&self, owner: &Owner, (key_id, bytes): SealedColumns) -> Option<String> {
        let (key_id, bytes) = (key_id?, bytes?);
        match self.open_sealed(owner, &key_id, &bytes) {
            Ok(token) => Some(token),
            Err(error) => {
                tracing::warn!(subject = %owner.subject, %error, "replaced a vault row whose token does not open; it is not revoked");
                None
            }
        }
    }
}
