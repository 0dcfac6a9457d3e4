//! Egg counts per farmer per day.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

pub fn count(db: &Connection, username: &str, day: &str) -> Result<i64, StoreError> {
    Ok(db
        .query_row(
            "SELECT count FROM eggs WHERE username = ?1 AND day = ?2",
            params![username, day],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Adds `n` eggs to the day's count; returns the new total.
pub fn add(db: &Connection, username: &str, day: &str, n: i64) -> Result<i64, StoreError> {
    db.query_row(
        "INSERT INTO eggs (username, day, count) VALUES (?1, ?2, ?3)
         ON CONFLICT (username, day) DO UPDATE SET count = count + excluded.count
         RETURNING count",
        params![username, day, n],
        |row| row.get(0),
    )
}
