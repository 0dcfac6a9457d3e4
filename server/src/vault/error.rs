//! What can go wrong in the vault. Never contains a token or a key: a row is named by its
//! farmer's subject only.

/// A vault operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// `TOPCLUCK_DATABASE_URL` or the data directory cannot be used.
    #[error("vault store: {0}")]
    Store(String),
    /// The SQLite file or its directory cannot be made (permissions, a full disk…).
    #[error("vault store: {}: {source}", path.display())]
    File {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Opened with [`super::Vault::open_existing`], and no vault is there (no SQLite file, or a
    /// database whose schema was never made): no vault was created.
    #[error("no vault at {location}")]
    Missing { location: String },
    #[error("vault database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("vault migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The row was sealed under a key the ring no longer has: put the key back in
    /// `TOPCLUCK_VAULT_KEYS` (keys are dropped only after `reencrypt_all`).
    #[error(
        "the refresh token of {subject} is sealed under key {key_id:?}, which the key ring does not have"
    )]
    UnknownKey { subject: String, key_id: String },
    /// The sealed bytes do not open for this owner: tampered with, or copied from another
    /// farmer's row.
    #[error("the refresh token of {subject} does not open: its row was altered or belongs to another farmer")]
    Unreadable { subject: String },
    /// A stored value that this code never writes (a day that is not a date, an unknown state).
    #[error("the vault holds a malformed {what}: {value:?}")]
    Malformed { what: &'static str, value: String },
    /// Another writer changed the owner's row under every attempt.
    #[error("the vault row of {subject} kept changing under concurrent writers")]
    Contended { subject: String },
}
