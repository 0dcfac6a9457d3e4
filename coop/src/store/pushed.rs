//! Pushed authorization requests (RFC 9126): the request a client pushed to `POST /par`, kept
//! under the digest of its `request_uri` (`urn:ietf:params:oauth:request_uri:<256 random
//! bits>`, unguessable, §7.1), bound to the client that pushed it (§2.2), short-lived, and
//! used once (§4).
//!
//! Its life on COOP's clock: the client has [`PUSHED_TTL_MS`] to send the farmer to
//! `/authorize` with it. The first time `/authorize` sees it, it is *opened*: from then the
//! farmer has [`OPENED_TTL_MS`] for COOP's login form (and consent page), which carry the
//! `request_uri`, not the request. Reloading the page shows it again (§4 allows it); the
//! request is *used* by the authorization response COOP sends for it — a code, or an error —
//! and is then refused.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::random::{digest, random_token};

/// How long a pushed request waits for the authorization request that uses it: `expires_in`.
pub const PUSHED_TTL_MS: i64 = 60_000;
/// How long the farmer has at COOP once the request reached `/authorize`.
pub const OPENED_TTL_MS: i64 = 600_000;
/// What every `request_uri` starts with (RFC 9126 §2.2).
pub const URN_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// A pushed request, found by its `request_uri`.
#[derive(Clone, Debug)]
pub struct Pushed {
    pub digest: String,
    pub client_id: String,
    /// The authorization request's parameters, form-encoded.
    pub request: String,
    pub expires_ms: i64,
    pub used: bool,
}

/// Keeps `request` (form-encoded) pushed by `client_id` at `now_ms`; its `request_uri`.
pub fn insert(db: &Connection, client_id: &str, request: &str, now_ms: i64) -> Result<String, StoreError> {
    let request_uri = format!("{URN_PREFIX}{}", random_token());
    db.execute(
        "INSERT INTO pushed_requests (uri_digest, client_id, request, expires_ms)
         VALUES (?1, ?2, ?3, ?4)",
        params![digest(&request_uri), client_id, request, now_ms + PUSHED_TTL_MS],
    )?;
    Ok(request_uri)
}

/// The request pushed under `request_uri`, used or not, expired or not.
pub fn find(db: &Connection, request_uri: &str) -> Result<Option<Pushed>, StoreError> {
    db.query_row(
        "SELECT uri_digest, client_id, request, expires_ms, used FROM pushed_requests
         WHERE uri_digest = ?1",
        [digest(request_uri)],
        |row| {
            Ok(Pushed {
                digest: row.get(0)?,
                client_id: row.get(1)?,
                request: row.get(2)?,
                expires_ms: row.get(3)?,
                used: row.get(4)?,
            })
        },
    )
    .optional()
}

/// The first time `/authorize` sees the request (at `now_ms`): it now lives [`OPENED_TTL_MS`],
/// for the farmer at COOP's forms. Later calls change nothing.
pub fn open(db: &Connection, uri_digest: &str, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE pushed_requests SET opened_ms = ?2, expires_ms = ?2 + ?3
         WHERE uri_digest = ?1 AND opened_ms IS NULL",
        params![uri_digest, now_ms, OPENED_TTL_MS],
    )?;
    Ok(())
}

/// Marks the request used by an authorization response; false when it already was (a second
/// answer for one request is refused).
pub fn use_once(db: &Connection, uri_digest: &str) -> Result<bool, StoreError> {
    let changed = db.execute(
        "UPDATE pushed_requests SET used = 1 WHERE uri_digest = ?1 AND used = 0",
        [uri_digest],
    )?;
    Ok(changed == 1)
}
