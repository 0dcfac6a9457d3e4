//! Access-token ids (`jti`), so the egg API can refuse tokens of a revoked grant before they
//! expire, and a single access token can be revoked.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

pub fn record(db: &Connection, jti: &str, grant_id: i64, expires_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO access_tokens (jti, grant_id, expires_ms) VALUES (?1, ?2, ?3)",
        params![jti, grant_id, expires_ms],
    )?;
    Ok(())
}

/// True when the token is known, not revoked, and its grant is not revoked.
pub fn is_live(db: &Connection, jti: &str) -> Result<bool, StoreError> {
    let live: Option<bool> = db
        .query_row(
            "SELECT a.revoked = 0 AND g.revoked_reason IS NULL
             FROM access_tokens a JOIN grants g ON g.id = a.grant_id WHERE a.jti = ?1",
            [jti],
            |row| row.get(0),
        )
        .optional()?;
    Ok(live.unwrap_or(false))
}

/// The grant the access token `jti` belongs to; `None` when unknown (or purged).
pub fn grant_of(db: &Connection, jti: &str) -> Result<Option<i64>, StoreError> {
    db.query_row(
        "SELECT grant_id FROM access_tokens WHERE jti = ?1",
        [jti],
        |row| row.get(0),
    )
    .optional()
}

/// Revokes one access token; false when unknown.
pub fn revoke(db: &Connection, jti: &str) -> Result<bool, StoreError> {
    Ok(db.execute("UPDATE access_tokens SET revoked = 1 WHERE jti = ?1", [jti])? > 0)
}

/// Revokes every access token of `username`'s grants; returns how many.
pub fn revoke_of_user(db: &Connection, username: &str) -> Result<usize, StoreError> {
    db.execute(
        "UPDATE access_tokens SET revoked = 1
         WHERE revoked = 0 AND grant_id IN (SELECT id FROM grants WHERE username = ?1)",
        [username],
    )
}
