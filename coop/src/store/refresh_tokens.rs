//! Refresh tokens: each belongs to a grant, has a sliding expiry, and is marked used when it
//! is rotated (so a replay can be detected).

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::random::{digest, random_token};

#[derive(Clone, Debug)]
pub struct RefreshToken {
    pub digest: String,
    pub grant_id: i64,
    pub used: bool,
    pub expires_ms: i64,
}

/// Stores a new refresh token for `grant_id`; returns its value.
pub fn insert(db: &Connection, grant_id: i64, expires_ms: i64) -> Result<String, StoreError> {
    let value = random_token();
    db.execute(
        "INSERT INTO refresh_tokens (token_digest, grant_id, expires_ms) VALUES (?1, ?2, ?3)",
        params![digest(&value), grant_id, expires_ms],
    )?;
    Ok(value)
}

pub fn find(db: &Connection, value: &str) -> Result<Option<RefreshToken>, StoreError> {
    db.query_row(
        "SELECT token_digest, grant_id, used, expires_ms FROM refresh_tokens WHERE token_digest = ?1",
        [digest(value)],
        |row| {
            Ok(RefreshToken {
                digest: row.get(0)?,
                grant_id: row.get(1)?,
                used: row.get(2)?,
                expires_ms: row.get(3)?,
            })
        },
    )
    .optional()
}

pub fn mark_used(db: &Connection, token_digest: &str) -> Result<(), StoreError> {
    db.execute(
        "UPDATE refresh_tokens SET used = 1 WHERE token_digest = ?1",
        [token_digest],
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
