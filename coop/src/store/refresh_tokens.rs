//! Refresh tokens: each belongs to a grant, has a sliding expiry, and is marked used (with the
//! time) when it is rotated, so a replay can be detected, or forgiven within the reuse grace
//! period ([`crate::config::Config::reuse_grace`]). One can be revoked on its own (`/revoke`
//! without cascade, [`crate::config::Config::revocation_cascades`]), its grant living on.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::random::{digest, random_token};

#[derive(Clone, Debug)]
pub struct RefreshToken {
    pub digest: String,
    pub grant_id: i64,
    pub used: bool,
    pub expires_ms: i64,
    /// When it was issued; `None` for a token an older COOP stored.
    pub issued_ms: Option<i64>,
    /// When it was rotated (marked used); `None` while unused, or if an older COOP rotated it.
    pub used_ms: Option<i64>,
    /// Revoked on its own at `/revoke` (without cascade): unusable, its grant untouched.
    pub revoked: bool,
}

/// Stores a new refresh token for `grant_id`, issued at `now_ms`; returns its value.
pub fn insert(db: &Connection, grant_id: i64, now_ms: i64, expires_ms: i64) -> Result<String, StoreError> {
    let value = random_token();
    db.execute(
        "INSERT INTO refresh_tokens (token_digest, grant_id, issued_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)",
        params![digest(&value), grant_id, now_ms, expires_ms],
    )?;
    Ok(value)
}

pub fn find(db: &Connection, value: &str) -> Result<Option<RefreshToken>, StoreError> {
    db.query_row(
        "SELECT token_digest, grant_id, used, expires_ms, issued_ms, used_ms, revoked
         FROM refresh_tokens WHERE token_digest = ?1",
        [digest(value)],
        |row| {
            Ok(RefreshToken {
                digest: row.get(0)?,
                grant_id: row.get(1)?,
                used: row.get(2)?,
                expires_ms: row.get(3)?,
                issued_ms: row.get(4)?,
                used_ms: row.get(5)?,
                revoked: row.get(6)?,
            })
        },
    )
    .optional()
}

/// Marks the token used (rotated) at `now_ms`.
pub fn mark_used(db: &Connection, token_digest: &str, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE refresh_tokens SET used = 1, used_ms = ?2 WHERE token_digest = ?1",
        params![token_digest, now_ms],
    )?;
    Ok(())
}

pub fn set_expiry(db: &Connection, token_digest: &str, expires_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE refresh_tokens SET expires_ms = ?2 WHERE token_digest = ?1",
        params![token_digest, expires_ms],
    )?;
    Ok(())
}

/// Revokes this token alone; true when it was not revoked until now.
pub fn revoke(db: &Connection, token_digest: &str) -> Result<bool, StoreError> {
    Ok(db.execute(
        "UPDATE refresh_tokens SET revoked = 1 WHERE token_digest = ?1 AND revoked = 0",
        [token_digest],
    )? > 0)
}
