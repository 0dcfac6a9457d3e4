//! Key rotation's second half: every sealed token re-sealed under the ring's newest key, so
//! the old keys can leave `TOPCLUCK_VAULT_KEYS`.

use super::keys::Sealed;
use super::{Owner, Vault, VaultError};
use crate::store::on_pool;

/// Rows [`Vault::reencrypt_all`] reads at a time.
const PAGE: i64 = 256;

impl Vault {
    /// Re-encrypts every sealed token under the newest key; returns how many rows changed.
    /// Fails, changing nothing more, at the first row that does not open (its key must stay
    /// in the ring). A row rotated meanwhile is already under the newest key and is skipped.
    pub async fn reencrypt_all(&self) -> Result<usize, VaultError> {
        let newest = self.keys.sealing_key_id().to_owned();
        let mut changed = 0;
        let mut after = (String::new(), String::new(), String::new());
        loop {
            type Row = (String, String, String, i64, String, Vec<u8>);
            let rows: Vec<Row> = on_pool!(&self.pool, pool => {
                sqlx::query_as(
                    "SELECT issuer, subject, client_id, version, key_id, sealed_token \
                     FROM offline_grants WHERE state = 'active' AND key_id <> $1 \
                     AND (issuer, subject, client_id) > ($2, $3, $4) \
                     ORDER BY issuer, subject, client_id LIMIT $5",
                )
                .bind(&newest)
                .bind(&after.0)
                .bind(&after.1)
                .bind(&after.2)
                .bind(PAGE)
                .fetch_all(pool)
                .await?
            });
            let Some(last) = rows.last() else {
                return Ok(changed);
            };
            after = (last.0.clone(), last.1.clone(), last.2.clone());
            for (issuer, subject, client_id, version, key_id, bytes) in rows {
                let owner = Owner {
                    issuer,
                    subject,
                    client_id,
                };
                let token = self.open_sealed(&owner, &key_id, &bytes)?;
                let Sealed { key_id, bytes } = self.keys.seal(&owner, &token);
                let written = on_pool!(&self.pool, pool => {
                    sqlx::query(
                        "UPDATE offline_grants SET key_id = $4, sealed_token = $5, \
                         version = version + 1 \
                         WHERE issuer = $1 AND subject = $2 AND client_id = $3 AND version = $6",
                    )
                    .bind(&owner.issuer)
                    .bind(&owner.subject)
                    .bind(&owner.client_id)
                    .bind(&key_id)
                    .bind(&bytes)
                    .bind(version)
                    .execute(pool)
                    .await?
                    .rows_affected()
                });
                changed += written as usize;
            }
        }
    }
}
