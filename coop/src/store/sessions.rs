//! COOP login sessions: a farmer logged in to COOP in this browser (the `coop_session` cookie).

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::random::{digest, random_token};

/// A live COOP session.
#[derive(Clone, Debug)]
pub struct Session {
    pub digest: String,
    pub username: String,
    /// When the farmer logged in, seconds since the epoch (the ID token's `auth_time`).
    pub auth_time_s: i64,
}

/// Starts a session for `username`, logged in at `now_ms`; returns the cookie value.
pub fn create(db: &Connection, username: &str, now_ms: i64) -> Result<String, StoreError> {
    let id = random_token();
    db.execute(
        "INSERT INTO sessions (id_digest, username, created_ms) VALUES (?1, ?2, ?3)",
        params![digest(&id), username, now_ms],
    )?;
    Ok(id)
}

/// The live session whose cookie value is `id`: not ended, and begun after
/// `logged_in_after_ms` (sessions begun earlier have expired).
pub fn find(db: &Connection, id: &str, logged_in_after_ms: i64) -> Result<Option<Session>, StoreError> {
    db.query_row(
        "SELECT id_digest, username, created_ms FROM sessions
         WHERE id_digest = ?1 AND ended = 0 AND created_ms > ?2",
        params![digest(id), logged_in_after_ms],
        |row| {
            Ok(Session {
                digest: row.get(0)?,
                username: row.get(1)?,
                auth_time_s: row.get::<_, i64>(2)? / 1000,
            })
        },
    )
    .optional()
}

/// Ends a session (the farmer logged out of COOP).
pub fn end(db: &Connection, session_digest: &str) -> Result<(), StoreError> {
    db.execute(
        "UPDATE sessions SET ended = 1 WHERE id_digest = ?1",
        [session_digest],
    )?;
    Ok(())
}
