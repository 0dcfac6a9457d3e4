//! Authorization codes: one-time, short-lived, bound to client, redirect URI and PKCE challenge.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::random::{digest, random_token};

/// How long a code can be redeemed.
pub const CODE_TTL_MS: i64 = 120_000;

/// What an authorization request was granted, waiting to be redeemed.
#[derive(Clone, Debug)]
pub struct Code {
    pub digest: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub username: String,
    pub session_digest: String,
    pub auth_time_s: i64,
    pub expires_ms: i64,
    /// Set once redeemed: the grant made from it.
    pub grant_id: Option<i64>,
}

/// Stores a new code, redeemable for [`CODE_TTL_MS`] from `now_ms`; returns its value.
pub fn insert(db: &Connection, code: &Code, now_ms: i64) -> Result<String, StoreError> {
    let value = random_token();
    db.execute(
        "INSERT INTO codes (code_digest, client_id, redirect_uri, code_challenge, scope, nonce,
            username, session_digest, auth_time_s, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            digest(&value),
            code.client_id,
            code.redirect_uri,
            code.code_challenge,
            code.scope,
            code.nonce,
            code.username,
            code.session_digest,
            code.auth_time_s,
            now_ms + CODE_TTL_MS,
        ],
    )?;
    Ok(value)
}

/// The code whose value is `value`, redeemed or not.
pub fn find(db: &Connection, value: &str) -> Result<Option<Code>, StoreError> {
    db.query_row(
        "SELECT code_digest, client_id, redirect_uri, code_challenge, scope, nonce, username,
                session_digest, auth_time_s, expires_ms, grant_id
         FROM codes WHERE code_digest = ?1",
        [digest(value)],
        |row| {
            Ok(Code {
                digest: row.get(0)?,
                client_id: row.get(1)?,
                redirect_uri: row.get(2)?,
                code_challenge: row.get(3)?,
                scope: row.get(4)?,
                nonce: row.get(5)?,
                username: row.get(6)?,
                session_digest: row.get(7)?,
                auth_time_s: row.get(8)?,
                expires_ms: row.get(9)?,
                grant_id: row.get(10)?,
            })
        },
    )
    .optional()
}

/// Records that the code was redeemed into `grant_id`.
pub fn mark_redeemed(db: &Connection, code_digest: &str, grant_id: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE codes SET grant_id = ?2 WHERE code_digest = ?1",
        params![code_digest, grant_id],
    )?;
    Ok(())
}
