//! Where the store lives: SQLite (the embedded default, `data/topcluck/vault.sqlite` in WAL
//! mode with `synchronous = FULL` — a committed rotation survives a power loss —, created on
//! first start) or PostgreSQL (`TOPCLUCK_DATABASE_URL=postgres://…`, shared by
//! several instances). Both pools behind one enum; the queries are written once in SQL that
//! both accept (`$1` placeholders, `ON CONFLICT`, `RETURNING`) and [`on_pool!`] runs them on
//! either. sqlx's migrations (../../migrations/<backend>/) run at open.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, SqlSafeStr};

use crate::vault::VaultError;

/// How long a statement waits for SQLite's write lock, or a task for a pooled connection.
const WAIT: Duration = Duration::from_secs(10);

/// An opened store: its pool, and where it is (for people; never a password).
pub(crate) struct Opened {
    pub pool: Pool,
    pub location: String,
}

/// The database under the vault.
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which store a vault uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `$body` with `$pool` bound to whichever pool `$store` holds: the same query code,
/// type-checked once per database. Each run is one store call in the metrics, counted and
/// timed under the calling module's name ([`crate::metrics::store_call`]).
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {{
        let _call = $crate::metrics::store_call(module_path!());
        match $store {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    }};
}
pub(crate) use on_pool;

impl Pool {
    /// Opens the store named by `url`, or `data_dir/vault.sqlite` when there is none, and brings
    /// its schema up to date. With `create`, a store that is not there is made; without, it is
    /// [`VaultError::Missing`] and nothing is created (no file, no schema).
    pub(crate) async fn open(url: Option<&str>, data_dir: &Path, create: bool) -> Result<Opened, VaultError> {
        let location = match url {
            Some(url) if url.starts_with("sqlite:") => format!("SQLite, {url}"),
            Some(_) => "PostgreSQL (TOPCLUCK_DATABASE_URL)".to_owned(),
            None => {
                let path = data_dir.join("vault.sqlite");
                let path = std::path::absolute(&path).unwrap_or(path);
                format!("SQLite, {}", path.display())
            }
        };
        let pool = match url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .acquire_timeout(WAIT)
                    .connect(url)
                    .await?;
                Self::Postgres(pool)
            }
            Some(url) if url.starts_with("sqlite:") => {
                let options = SqliteConnectOptions::from_str(url)?.create_if_missing(create);
                let missing = || VaultError::Missing {
                    location: location.clone(),
                };
                Self::Sqlite(
                    sqlite(options)
                        .await
                        .map_err(|e| if create { e } else { missing() })?,
                )
            }
            Some(_) => {
                return Err(VaultError::Store(
                    "the database URL must start with postgres://, postgresql:// or sqlite:".into(),
                ));
            }
            None => {
                let path = data_dir.join("vault.sqlite");
                if create {
                    create_private(&path)?;
                } else if !path.exists() {
                    return Err(VaultError::Missing { location });
                }
                let options = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true);
                Self::Sqlite(sqlite(options).await?)
            }
        };
        if !create && !pool.has_schema().await? {
            pool.close().await;
            return Err(VaultError::Missing { location });
        }
        pool.migrate().await?;
        Ok(Opened { pool, location })
    }

    /// Whether sqlx's migrations ever ran here.
    async fn has_schema(&self) -> Result<bool, VaultError> {
        let query = match self {
            Self::Sqlite(_) => {
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Self::Postgres(_) => {
                "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = '_sqlx_migrations' AND schemaname = current_schema()"
            }
        };
        let tables: i64 = on_pool!(self, pool => sqlx::query_scalar(query).fetch_one(pool).await?);
        Ok(tables > 0)
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    async fn migrate(&self) -> Result<(), VaultError> {
        // Several instances (or the server and `count-eggs`) may start at once. On PostgreSQL
        // sqlx holds an advisory lock around the migrations; on SQLite it takes none, so they
        // run inside one `BEGIN IMMEDIATE` transaction: the database's write lock, held from
        // the first read of `_sqlx_migrations` to the last write (the others wait for it, up
        // to the busy timeout, then find nothing left to do).
        match self {
            Self::Sqlite(pool) => {
                let mut connection = pool.acquire().await?;
                let mut transaction = connection.begin_with("BEGIN IMMEDIATE").await?;
                migrator(SQLITE).run(&mut *transaction).await?;
                transaction.commit().await?;
            }
            Self::Postgres(pool) => migrator(POSTGRES).run(pool).await?,
        }
        Ok(())
    }
}

/// The migrations, compiled in: the binary needs no migrations directory at run time.
type Migrations = &'static [(i64, &'static str, &'static str)];
const SQLITE: Migrations = &[
    (1, "vault", include_str!("../../migrations/sqlite/0001_vault.sql")),
    (2, "lease", include_str!("../../migrations/sqlite/0002_lease.sql")),
    (
        3,
        "renewal",
        include_str!("../../migrations/sqlite/0003_renewal.sql"),
    ),
    (
        4,
        "job fencing",
        include_str!("../../migrations/sqlite/0004_job_fencing.sql"),
    ),
    (
        5,
        "revocation outbox",
        include_str!("../../migrations/sqlite/0005_revocation_outbox.sql"),
    ),
    (
        6,
        "backchannel logout",
        include_str!("../../migrations/sqlite/0006_backchannel_logout.sql"),
    ),
];
const POSTGRES: Migrations = &[
    (
        1,
        "vault",
        include_str!("../../migrations/postgres/0001_vault.sql"),
    ),
    (
        2,
        "lease",
        include_str!("../../migrations/postgres/0002_lease.sql"),
    ),
    (
        3,
        "renewal",
        include_str!("../../migrations/postgres/0003_renewal.sql"),
    ),
    (
        4,
        "job fencing",
        include_str!("../../migrations/postgres/0004_job_fencing.sql"),
    ),
    (
        5,
        "revocation outbox",
        include_str!("../../migrations/postgres/0005_revocation_outbox.sql"),
    ),
    (
        6,
        "backchannel logout",
        include_str!("../../migrations/postgres/0006_backchannel_logout.sql"),
    ),
];

fn migrator(migrations: Migrations) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// A pool on `options` (which say whether a missing file is created).
async fn sqlite(options: SqliteConnectOptions) -> Result<SqlitePool, VaultError> {
    let options = options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(WAIT)
        .foreign_keys(true);
    // A new file is switched to WAL (and a pool's first connection set up) under SQLite's
    // exclusive lock, and a second opener meeting that lock gets SQLITE_BUSY at once, without
    // its busy handler: instances starting together on one new file would fail. So an opener
    // that meets it tries again, until WAIT.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let opened = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(WAIT)
            .connect_with(options.clone())
            .await;
        match opened {
            Err(error) if is_busy(&error) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            opened => return Ok(opened?),
        }
    }
}

/// SQLITE_BUSY, in any of its extended forms (the primary code is the low byte).
fn is_busy(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .and_then(|error| error.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

/// Creates the SQLite file readable by its owner only (its -wal and -shm files get the same
/// mode), and its directory.
fn create_private(path: &Path) -> Result<(), VaultError> {
    let problem = |source| VaultError::File {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(problem)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop).map_err(problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Instances (or the server and `count-eggs`) starting at once on a new SQLite file: every
    /// open succeeds, whichever of them switches the file to WAL and runs the migrations.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn simultaneous_opens_of_a_new_file_all_succeed() {
        for _ in 0..40 {
            let dir = tempfile::tempdir().unwrap();
            let opens = (0..4).map(|_| Pool::open(None, dir.path(), true));
            for open in futures_util::future::join_all(opens).await {
                open.unwrap();
            }
        }
    }

    /// A committed rotation must survive a power loss: SQLite syncs every commit (FULL = 2).
    #[tokio::test]
    async fn sqlite_syncs_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let opened = Pool::open(None, dir.path(), true).await.unwrap();
        let Pool::Sqlite(pool) = &opened.pool else {
            panic!("SQLite");
        };
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(synchronous, 2, "PRAGMA synchronous = FULL");
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(journal, "wal");
    }
}
