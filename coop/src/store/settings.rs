//! Small named values (the signing key).

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

pub fn get(db: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    db.query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
        row.get(0)
    })
    .optional()
}

pub fn set(db: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
