//! Grants: what a farmer allowed a client, made when a code is redeemed. Every refresh token
//! and access token belongs to one; revoking the grant revokes them all.
//!
//! With [`crate::config::GrantModel::PerClient`] a code redeemed while the client has a live
//! grant for the farmer ([`live_of_client`]) renews that grant ([`renew`]) instead of making one.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::StoreError;

#[derive(Clone, Debug, Serialize)]
pub struct Grant {
    pub id: i64,
    pub client_id: String,
    pub username: String,
    pub scope: String,
    /// Made with `offline_access`: survives the farmer's logout from COOP.
    pub offline: bool,
    pub created_ms: i64,
    /// When a refresh token of it was last used successfully.
    pub last_used_ms: Option<i64>,
    /// The absolute end of its refresh tokens' lives.
    pub expires_ms: i64,
    pub revoked_reason: Option<String>,
}

impl Grant {
    pub fn is_revoked(&self) -> bool {
        self.revoked_reason.is_some()
    }
}

const COLUMNS: &str =
    "id, client_id, username, scope, offline, created_ms, last_used_ms, expires_ms, revoked_reason";

fn from_row(row: &Row<'_>) -> Result<Grant, StoreError> {
    Ok(Grant {
        id: row.get(0)?,
        client_id: row.get(1)?,
        username: row.get(2)?,
        scope: row.get(3)?,
        offline: row.get(4)?,
        created_ms: row.get(5)?,
        last_used_ms: row.get(6)?,
        expires_ms: row.get(7)?,
        revoked_reason: row.get(8)?,
    })
}

/// The fields a new grant is made of.
pub struct NewGrant<'a> {
    pub client_id: &'a str,
    pub username: &'a str,
    pub scope: &'a str,
    pub session_digest: &'a str,
    pub max_lifetime_ms: i64,
}

/// Whether a grant of `scope` is offline (has `offline_access`).
fn is_offline(scope: &str) -> bool {
    scope.split(' ').any(|s| s == "offline_access")
}

/// Makes a grant at `now_ms`; its refresh tokens live at most `max_lifetime_ms` from then.
pub fn create(db: &Connection, new: &NewGrant<'_>, now_ms: i64) -> Result<Grant, StoreError> {
    let offline = is_offline(new.scope);
    db.execute(
        "INSERT INTO grants (client_id, username, scope, session_digest, offline, created_ms, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            new.client_id,
            new.username,
            new.scope,
            new.session_digest,
            offline,
            now_ms,
            now_ms + new.max_lifetime_ms
        ],
    )?;
    let id = db.last_insert_rowid();
    get(db, id).map(|grant| grant.expect("the grant just inserted"))
}

pub fn get(db: &Connection, id: i64) -> Result<Option<Grant>, StoreError> {
    db.query_row(
        &format!("SELECT {COLUMNS} FROM grants WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()
}

/// The newest live grant (not revoked, not expired at `now_ms`) of `client_id` for `username`.
pub fn live_of_client(
    db: &Connection,
    client_id: &str,
    username: &str,
    now_ms: i64,
) -> Result<Option<Grant>, StoreError> {
    db.query_row(
        &format!(
            "SELECT {COLUMNS} FROM grants
             WHERE client_id = ?1 AND username = ?2 AND revoked_reason IS NULL AND expires_ms > ?3
             ORDER BY id DESC LIMIT 1"
        ),
        params![client_id, username, now_ms],
        from_row,
    )
    .optional()
}

/// Renews grant `id` with a new authorization (a redeemed code): `renewal.scope` (the union of
/// the grant's and the code's) and `offline` with it, the code's session, and the refresh
/// tokens' maximum lifetime `renewal.max_lifetime_ms` counted from `now_ms`. Its created time
/// and existing tokens stay.
pub fn renew(db: &Connection, id: i64, renewal: &NewGrant<'_>, now_ms: i64) -> Result<Grant, StoreError> {
    db.execute(
        "UPDATE grants SET scope = ?2, session_digest = ?3, offline = ?4, expires_ms = ?5 WHERE id = ?1",
        params![
            id,
            renewal.scope,
            renewal.session_digest,
            is_offline(renewal.scope),
            now_ms + renewal.max_lifetime_ms
        ],
    )?;
    get(db, id).map(|grant| grant.expect("the grant just renewed"))
}

/// Records a successful refresh of the grant at `now_ms`.
pub fn mark_used(db: &Connection, id: i64, now_ms: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE grants SET last_used_ms = ?2 WHERE id = ?1",
        params![id, now_ms],
    )?;
    Ok(())
}

/// Revokes a grant; true when it was live until now.
pub fn revoke(db: &Connection, id: i64, reason: &str) -> Result<bool, StoreError> {
    let changed = db.execute(
        "UPDATE grants SET revoked_reason = ?2 WHERE id = ?1 AND revoked_reason IS NULL",
        params![id, reason],
    )?;
    Ok(changed > 0)
}

/// Revokes the grants of a COOP session made without `offline_access` (the farmer logged out
/// of COOP); returns how many.
pub fn revoke_online_grants_of_session(db: &Connection, session_digest: &str) -> Result<usize, StoreError> {
    db.execute(
        "UPDATE grants SET revoked_reason = 'logged out of COOP'
         WHERE session_digest = ?1 AND offline = 0 AND revoked_reason IS NULL",
        [session_digest],
    )
}

/// The clients with a grant made in a COOP session (whatever its state): those a logout of that
/// session concerns.
pub fn clients_of_session(db: &Connection, session_digest: &str) -> Result<Vec<String>, StoreError> {
    let mut statement = db.prepare("SELECT DISTINCT client_id FROM grants WHERE session_digest = ?1")?;
    statement.query_map([session_digest], |row| row.get(0))?.collect()
}

/// Which of a farmer's live grants [`revoke_of_user`] revokes: the offline ones only
/// (`offline: Some(true)`), the others only (`Some(false)`) or all, of one client or of all.
pub struct Revocation<'a> {
    pub username: &'a str,
    pub offline: Option<bool>,
    pub client_id: Option<&'a str>,
}

/// Revokes a farmer's live grants, as an administrator would (see [`Revocation`]); returns how
/// many, and the clients they were of.
pub fn revoke_of_user(db: &Connection, which: &Revocation<'_>) -> Result<(usize, Vec<String>), StoreError> {
    const MATCHING: &str = "username = ?1 AND revoked_reason IS NULL AND (?2 IS NULL OR offline = ?2) \
                            AND (?3 IS NULL OR client_id = ?3)";
    let arguments = params![which.username, which.offline, which.client_id];
    let clients = db
        .prepare(&format!("SELECT DISTINCT client_id FROM grants WHERE {MATCHING}"))?
        .query_map(arguments, |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    let revoked = db.execute(
        &format!("UPDATE grants SET revoked_reason = 'revoked by an administrator' WHERE {MATCHING}"),
        arguments,
    )?;
    Ok((revoked, clients))
}

/// Every grant of a farmer, newest first.
pub fn of_user(db: &Connection, username: &str) -> Result<Vec<Grant>, StoreError> {
    let mut statement = db.prepare(&format!(
        "SELECT {COLUMNS} FROM grants WHERE username = ?1 ORDER BY id DESC"
    ))?;
    statement.query_map([username], from_row)?.collect()
}
