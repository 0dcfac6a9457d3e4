//! TopCluck's own history of the daily count, `(farmer, day) → count`, the job's outcome per
//! farmer per day, and the job's last completed run. Each is an upsert on its key: a later
//! write for the same day replaces the earlier one, so a rerun never adds a row.

use super::{Outcome, Owner, Vault, VaultError, day, parse_day};
use crate::store::on_pool;

const LAST_RUN: &str = "last_run";

impl Vault {
    /// Stores the farmer's count for `date`; a later count that day replaces it.
    pub async fn record_count(
        &self,
        owner: &Owner,
        date: time::Date,
        count: i64,
        now: i64,
    ) -> Result<(), VaultError> {
        on_pool!(&self.pool, pool => {
            sqlx::query(
                "INSERT INTO egg_counts (issuer, subject, client_id, day, eggs, counted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (issuer, subject, client_id, day) \
                 DO UPDATE SET eggs = excluded.eggs, counted_at = excluded.counted_at",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .bind(day(date))
            .bind(count)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)?
        });
        Ok(())
    }

    /// Stores the job's outcome for the farmer on `date` (the last one that day wins).
    pub async fn record_outcome(
        &self,
        owner: &Owner,
        date: time::Date,
        outcome: Outcome,
        reason: Option<&str>,
        now: i64,
    ) -> Result<(), VaultError> {
        on_pool!(&self.pool, pool => {
            sqlx::query(
                "INSERT INTO count_outcomes (issuer, subject, client_id, day, outcome, reason, \
                 recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (issuer, subject, client_id, day) DO UPDATE SET \
                 outcome = excluded.outcome, reason = excluded.reason, \
                 recorded_at = excluded.recorded_at",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .bind(day(date))
            .bind(outcome.as_str())
            .bind(reason)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)?
        });
        Ok(())
    }

    /// The farmer's counts from `from` to `to` (both included), oldest first. A day without
    /// a count is absent (a gap, not a zero).
    pub async fn history(
        &self,
        owner: &Owner,
        from: time::Date,
        to: time::Date,
    ) -> Result<Vec<(time::Date, i64)>, VaultError> {
        let rows: Vec<(String, i64)> = on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "SELECT day, eggs FROM egg_counts \
                 WHERE issuer = $1 AND subject = $2 AND client_id = $3 AND day >= $4 AND day <= $5 \
                 ORDER BY day",
            )
            .bind(&owner.issuer)
            .bind(&owner.subject)
            .bind(&owner.client_id)
            .bind(day(from))
            .bind(day(to))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(date, count)| Ok((parse_day(&date)?, count)))
            .collect()
    }

    /// The last day a scheduled run completed (for catch-up after downtime).
    pub async fn last_run(&self) -> Result<Option<time::Date>, VaultError> {
        let stored: Option<String> = on_pool!(&self.pool, pool => {
            sqlx::query_scalar("SELECT day FROM job_state WHERE name = $1")
                .bind(LAST_RUN)
                .fetch_optional(pool)
                .await?
        });
        stored.as_deref().map(parse_day).transpose()
    }

    /// Records that the scheduled run of `date` completed. Never moves back: of two instances
    /// finishing out of order, the later day stays.
    pub async fn set_last_run(&self, date: time::Date) -> Result<(), VaultError> {
        on_pool!(&self.pool, pool => {
            sqlx::query(
                "INSERT INTO job_state (name, day) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET day = excluded.day WHERE job_state.day < excluded.day",
            )
            .bind(LAST_RUN)
            .bind(day(date))
            .execute(pool)
            .await
            .map(drop)?
        });
        Ok(())
    }
}
