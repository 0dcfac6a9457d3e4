//! The vault: the durable, encrypted home of each farmer's offline refresh token (issue 11),
//! and the daily count's history and bookkeeping.
//!
//! - [`keys`]: the key ring (`TOPCLUCK_VAULT_KEYS`) and AES-256-GCM sealing bound to the owner.
//! - the store ([`crate::store`]): SQLite by default, PostgreSQL when `TOPCLUCK_DATABASE_URL`
//!   says so; migrations.
//! - `grants`: enrolment, rotation (compare-and-swap on the token's SHA-256), the grant's death,
//!   removal.
//! - `status`: what the farm page shows; `reencrypt`: every row under the newest key.
//! - `history`: `(farmer, day) → count`, the job's outcomes, its last run.
//!
//! A refresh token is plaintext only in memory: SQL sees its sealed bytes and its digest. No
//! `Debug` or error shows a token or a key.

mod error;
mod grants;
mod history;
pub mod keys;
mod reencrypt;
mod status;

use std::fmt;
use std::path::Path;

use crate::settings::Settings;

pub use crate::store::Backend;
pub use error::VaultError;
pub use keys::KeyRing;

/// Whose grant: the provider (issuer), the farmer there (subject), and TopCluck's client id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Owner {
    pub issuer: String,
    pub subject: String,
    pub client_id: String,
}

/// A job run's hold on a farmer's grant ([`Vault::lease`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLease {
    /// Random, per lease: what rotating and releasing are fenced by.
    pub holder: String,
    /// A previous run presented the token and stored no outcome (it died): settle it first.
    pub uncertain: bool,
}

/// The durable, encrypted store. Cheap to clone (a pool and a key ring behind `Arc`s).
#[derive(Clone)]
pub struct Vault {
    pool: crate::store::Pool,
    keys: KeyRing,
    /// Where the store is, for people (`SQLite, /abs/path` or `PostgreSQL`; never a password).
    location: std::sync::Arc<str>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("backend", &self.pool.backend())
            .field("keys", &self.keys)
            .finish()
    }
}

/// What the farm page shows about daily counting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// When the farmer (last) turned daily counting on, Unix seconds.
    pub enabled_since: i64,
    pub state: GrantState,
    /// The scopes of the offline grant.
    pub scopes: Vec<String>,
    /// When a count was last stored (any day), Unix seconds.
    pub last_counted_at: Option<i64>,
    /// The job's outcome on the latest day it recorded one.
    pub last_outcome: Option<LastOutcome>,
}

/// Whether the vault can still use the grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantState {
    Active,
    /// The provider refused the grant (`invalid_grant`) at `since` (Unix seconds): the farmer
    /// must turn counting on again.
    NeedsConsent {
        since: i64,
    },
}

/// The job's outcome for a farmer on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Counted,
    NeedsConsent,
    RetryLater,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counted => "counted",
            Self::NeedsConsent => "needs_consent",
            Self::RetryLater => "retry_later",
            Self::Failed => "failed",
        }
    }

    fn parse(value: &str) -> Result<Self, VaultError> {
        Ok(match value {
            "counted" => Self::Counted,
            "needs_consent" => Self::NeedsConsent,
            "retry_later" => Self::RetryLater,
            "failed" => Self::Failed,
            other => return Err(malformed("outcome", other)),
        })
    }
}

/// The last outcome [`Vault::record_outcome`] stored for a farmer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastOutcome {
    pub date: time::Date,
    pub outcome: Outcome,
    pub reason: Option<String>,
    /// When it was recorded, Unix seconds.
    pub at: i64,
}

impl Vault {
    /// Opens the store that `settings.database_url` names (SQLite in `data_dir` when none),
    /// runs its migrations, and keeps `settings.vault_keys` to seal and open (refused without
    /// them: production without `TOPCLUCK_VAULT_KEYS`).
    pub async fn open(settings: &Settings, data_dir: &Path) -> Result<Vault, VaultError> {
        Self::open_with(settings, data_dir, true).await
    }

    /// [`Vault::open`], but only a vault that is already there: [`VaultError::Missing`] (and
    /// nothing created) otherwise. For `server count-eggs`, which must find the server's vault,
    /// not make an empty one where it happens to run.
    pub async fn open_existing(settings: &Settings, data_dir: &Path) -> Result<Vault, VaultError> {
        Self::open_with(settings, data_dir, false).await
    }

    async fn open_with(settings: &Settings, data_dir: &Path, create: bool) -> Result<Vault, VaultError> {
        let keys = settings.vault_keys.clone().ok_or_else(|| {
            VaultError::Store(
                "TOPCLUCK_VAULT_KEYS is required in production (id:base64key, 32-byte keys, \
                 comma-separated; the first seals)"
                    .into(),
            )
        })?;
        let url = settings.database_url.as_ref().map(|url| url.expose());
        let opened = crate::store::Pool::open(url, data_dir, create).await?;
        Ok(Vault {
            pool: opened.pool,
            keys,
            location: opened.location.into(),
        })
    }

    /// The store on this vault's database, sealing with its key ring, as a new instance (call
    /// once per process).
    pub fn store(&self) -> crate::store::Store {
        crate::store::Store::new(self.pool.clone(), self.keys.clone())
    }

    /// Where the store is, for people: `SQLite, <absolute path>` or `PostgreSQL
    /// (TOPCLUCK_DATABASE_URL)` — never the URL itself (it may hold a password).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// SQLite or PostgreSQL.
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Closes the pool's connections (waiting for those in use).
    pub async fn close(&self) {
        self.pool.close().await
    }
}

/// A day as stored: `YYYY-MM-DD`, which sorts as dates do.
fn day(date: time::Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn parse_day(value: &str) -> Result<time::Date, VaultError> {
    let parts: Vec<&str> = value.split('-').collect();
    let date = match parts[..] {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            match (y.parse(), m.parse::<u8>(), d.parse()) {
                (Ok(y), Ok(m), Ok(d)) => time::Month::try_from(m)
                    .ok()
                    .and_then(|m| time::Date::from_calendar_date(y, m, d).ok()),
                _ => None,
            }
        }
        _ => None,
    };
    date.ok_or_else(|| malformed("day", value))
}

fn malformed(what: &'static str, value: &str) -> VaultError {
    VaultError::Malformed {
        what,
        value: value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_and_sort_as_dates() {
        let dates = [
            time::Date::from_calendar_date(999, time::Month::January, 1).unwrap(),
            time::Date::from_calendar_date(2026, time::Month::February, 28).unwrap(),
            time::Date::from_calendar_date(2026, time::Month::October, 3).unwrap(),
        ];
        for date in dates {
            assert_eq!(parse_day(&day(date)).unwrap(), date);
        }
        assert!(day(dates[1]) < day(dates[2]));
        for bad in ["2026-02-30", "2026-2-3", "26-02-03", "", "2026-02-03x"] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
    }
}
