//! COOP's state in SQLite, so a restart (a `cargo leptos watch` rebuild) logs nobody out:
//! the signing key, COOP sessions, pushed authorization requests, authorization codes, grants,
//! refresh tokens, access-token ids and egg counts. Tokens, codes and session ids are stored as SHA-256 digests only.
//! Expired codes, access-token ids and sessions are deleted ([`purge`]).
//!
//! One connection behind a mutex: every operation is a short transaction, and holding the lock
//! for a whole refresh makes "check the refresh token, then use it" atomic.
//!
//! The store never reads a clock: callers pass the time (`now_ms`, from COOP's [`Clock`]), so a
//! test can move it.
//!
//! [`Clock`]: crate::clock::Clock

pub mod access_tokens;
pub mod codes;
pub mod eggs;
pub mod grants;
pub mod purge;
pub mod pushed;
pub mod refresh_tokens;
pub mod sessions;
pub mod settings;

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, Transaction};

pub use rusqlite::Error as StoreError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id_digest TEXT PRIMARY KEY, username TEXT NOT NULL,
    created_ms INTEGER NOT NULL, ended INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS codes (
    code_digest TEXT PRIMARY KEY, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL, scope TEXT NOT NULL, nonce TEXT, username TEXT NOT NULL,
    session_digest TEXT NOT NULL, auth_time_s INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
    grant_id INTEGER);
CREATE TABLE IF NOT EXISTS grants (
    id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, username TEXT NOT NULL,
    scope TEXT NOT NULL, session_digest TEXT NOT NULL, offline INTEGER NOT NULL,
    created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, revoked_reason TEXT,
    last_used_ms INTEGER);
CREATE INDEX IF NOT EXISTS grants_by_session ON grants (session_digest);
CREATE INDEX IF NOT EXISTS grants_by_user ON grants (username);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_digest TEXT PRIMARY KEY, grant_id INTEGER NOT NULL REFERENCES grants (id),
    used INTEGER NOT NULL DEFAULT 0, expires_ms INTEGER NOT NULL,
    issued_ms INTEGER, used_ms INTEGER, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS access_tokens (
    jti TEXT PRIMARY KEY, grant_id INTEGER NOT NULL REFERENCES grants (id),
    expires_ms INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS codes_by_expiry ON codes (expires_ms);
CREATE INDEX IF NOT EXISTS access_tokens_by_expiry ON access_tokens (expires_ms);
CREATE TABLE IF NOT EXISTS pushed_requests (
    uri_digest TEXT PRIMARY KEY, client_id TEXT NOT NULL, request TEXT NOT NULL,
    expires_ms INTEGER NOT NULL, opened_ms INTEGER, used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS eggs (
    username TEXT NOT NULL, day TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (username, day));
";

/// The columns added to [`SCHEMA`] since its first tables: table, column, definition.
/// Rows an older COOP wrote get the definition's default (`NULL`: not known).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("grants", "last_used_ms", "INTEGER"),
    // When a refresh token was issued (`iat` at introspection)…
    ("refresh_tokens", "issued_ms", "INTEGER"),
    // …when it was rotated (the reuse grace period counts from then)…
    ("refresh_tokens", "used_ms", "INTEGER"),
    // …and whether it alone was revoked (`/revoke` without cascade).
    ("refresh_tokens", "revoked", "INTEGER NOT NULL DEFAULT 0"),
];

/// Brings a database made by an older COOP up to [`SCHEMA`]: columns added since.
fn migrate(db: &Connection) -> Result<(), StoreError> {
    for (table, column, definition) in ADDED_COLUMNS {
        let present: bool = db.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
            [table, column],
            |row| row.get(0),
        )?;
        if !present {
            db.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {definition}"))?;
        }
    }
    Ok(())
}

/// The database.
pub struct Store {
    connection: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database `coop.sqlite3` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::InvalidPath(format!("{}: {e}", data_dir.display()).into()))?;
        let connection = Connection::open(data_dir.join("coop.sqlite3"))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.execute_batch(SCHEMA)?;
        migrate(&connection)?;
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }

    /// Runs `work` in one transaction, committed when it returns `Ok`.
    pub fn transaction<T, E: From<StoreError>>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut connection = self.connection.lock().unwrap_or_else(|p| p.into_inner());
        let transaction = connection.transaction()?;
        let value = work(&transaction)?;
        transaction.commit()?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_of_an_older_coop_gains_the_new_columns_and_keeps_its_grants_and_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let old = Connection::open(dir.path().join("coop.sqlite3")).unwrap();
        old.execute_batch(
            "CREATE TABLE grants (
                id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, username TEXT NOT NULL,
                scope TEXT NOT NULL, session_digest TEXT NOT NULL, offline INTEGER NOT NULL,
                created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, revoked_reason TEXT);
             INSERT INTO grants VALUES (7, 'topcluck', 'ada', 'openid', 'd', 1, 1, 2, NULL);
             CREATE TABLE refresh_tokens (
                token_digest TEXT PRIMARY KEY, grant_id INTEGER NOT NULL REFERENCES grants (id),
                used INTEGER NOT NULL DEFAULT 0, expires_ms INTEGER NOT NULL);",
        )
        .unwrap();
        old.execute(
            "INSERT INTO refresh_tokens VALUES (?1, 7, 1, 9)",
            [crate::random::digest("old-refresh-token")],
        )
        .unwrap();
        drop(old);
        let store = Store::open(dir.path()).unwrap();
        let grant = store.transaction(|db| grants::get(db, 7)).unwrap().unwrap();
        assert!(grant.offline);
        assert_eq!(grant.last_used_ms, None);
        let token = store
            .transaction(|db| refresh_tokens::find(db, "old-refresh-token"))
            .unwrap()
            .unwrap();
        assert!(token.used && !token.revoked);
        assert_eq!((token.grant_id, token.expires_ms), (7, 9));
        assert_eq!((token.issued_ms, token.used_ms), (None, None));
        let new = store
            .transaction(|db| refresh_tokens::insert(db, 7, 3, 9))
            .unwrap();
        let new = store
            .transaction(|db| refresh_tokens::find(db, &new))
            .unwrap()
            .unwrap();
        assert_eq!((new.issued_ms, new.used, new.revoked), (Some(3), false, false));
        store.transaction(|db| grants::mark_used(db, 7, 5)).unwrap();
        drop(store);
        let again = Store::open(dir.path()).unwrap();
        assert_eq!(
            again
                .transaction(|db| grants::get(db, 7))
                .unwrap()
                .unwrap()
                .last_used_ms,
            Some(5)
        );
    }
}
