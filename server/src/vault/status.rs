//! What the farm page shows about daily counting: the grant's state, when it was turned on,
//! when a count was last stored, and the job's latest outcome.

use super::{GrantState, LastOutcome, Outcome, Owner, Status, Vault, VaultError, parse_day};
use crate::store::on_pool;

impl Vault {
    /// For the farm page: on since, state, last counted at, last outcome; `None` when daily
    /// counting is off.
    pub async fn status(&self, owner: &Owner) -> Result<Option<Status>, VaultError> {
        let grant: Option<(String, String, i64, i64)> = on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "SELECT state, scopes, enabled_since, state_since FROM offline_grants \
                 WHERE issuer = $1 AND subject = $2 AND client_id = $3",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .fetch_optional(pool)
            .await?
        });
        let Some((state, scopes, enabled_since, state_since)) = grant else {
            return Ok(None);
        };
        let state = match state.as_str() {
            "active" => GrantState::Active,
            "needs_consent" => GrantState::NeedsConsent { since: state_since },
            other => return Err(super::malformed("grant state", other)),
        };
        let last_counted_at: Option<i64> = on_pool!(&self.pool, pool => {
            sqlx::query_scalar(
                "SELECT MAX(counted_at) FROM egg_counts \
                 WHERE issuer = $1 AND subject = $2 AND client_id = $3",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .fetch_one(pool)
            .await?
        });
        let outcome: Option<(String, String, Option<String>, i64)> = on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "SELECT day, outcome, reason, recorded_at FROM count_outcomes \
                 WHERE issuer = $1 AND subject = $2 AND client_id = $3 \
                 ORDER BY day DESC LIMIT 1",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .fetch_optional(pool)
            .await?
        });
        let last_outcome = match outcome {
            Some((day, outcome, reason, at)) => Some(LastOutcome {
                date: parse_day(&day)?,
                outcome: Outcome::parse(&outcome)?,
                reason,
                at,
            }),
            None => None,
        };
        Ok(Some(Status {
            enabled_since,
            state,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            last_counted_at,
            last_outcome,
        }))
    }
}
