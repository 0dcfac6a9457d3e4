//! Deleting what has expired: pushed authorization requests, authorization codes and
//! access-token ids past their expiry, and COOP sessions that ended or expired. Run on COOP's clock at every write that adds such
//! a row (a login, a code, an access token), so the tables hold only what can still be used.
//!
//! A redeemed code is kept until it expires, so a replay within its lifetime is still
//! detected (RFC 6749 §4.1.2); after that the replay is an unknown code, refused all the same.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::StoreError;

/// How many rows each table holds (for `GET /dev/counters`).
#[derive(Debug, Default, Serialize)]
pub struct RowCounts {
    pub sessions: i64,
    pub codes: i64,
    pub grants: i64,
    pub refresh_tokens: i64,
    pub access_tokens: i64,
    pub pushed_requests: i64,
}

/// Deletes pushed requests, codes and access-token ids expired at `now_ms`, and sessions that ended or began
/// at or before `logged_in_at_or_before_ms`; returns how many rows went.
pub fn expired(db: &Connection, now_ms: i64, logged_in_at_or_before_ms: i64) -> Result<usize, StoreError> {
    let codes = db.execute("DELETE FROM codes WHERE expires_ms <= ?1", [now_ms])?;
    let pushed = db.execute("DELETE FROM pushed_requests WHERE expires_ms <= ?1", [now_ms])?;
    let access_tokens = db.execute("DELETE FROM access_tokens WHERE expires_ms <= ?1", [now_ms])?;
    let sessions = db.execute(
        "DELETE FROM sessions WHERE ended = 1 OR created_ms <= ?1",
        params![logged_in_at_or_before_ms],
    )?;
    Ok(codes + pushed + access_tokens + sessions)
}

pub fn row_counts(db: &Connection) -> Result<RowCounts, StoreError> {
    let count = |table: &str| -> Result<i64, StoreError> {
        db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0))
    };
    Ok(RowCounts {
        sessions: count("sessions")?,
        codes: count("codes")?,
        grants: count("grants")?,
        refresh_tokens: count("refresh_tokens")?,
        access_tokens: count("access_tokens")?,
        pushed_requests: count("pushed_requests")?,
    })
}
