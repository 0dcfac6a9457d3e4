//! The real server binary as deployments run it: a [`Process`] of its own (see
//! `coop::testkit::process`) in a temporary working directory, with a clean environment
//! (nothing from the test's, no `.env`), on a loopback port chosen beforehand (so COOP can have
//! its redirect URI registered before the server starts).

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use coop::testkit::process::{self, Process};

use super::{Bff, COUNTING_CLIENT, COUNTING_SECRET, NEW_KEY, SECRET, VAULT_KEYS};

/// How long a server may take to answer `GET /healthz` after it was spawned.
const STARTUP_LIMIT: Duration = Duration::from_secs(60);

/// The `TOPCLUCK_*` variables every server of a deployment shares: COOP at `issuer` as both of
/// TopCluck's clients, its egg API, the same cookie and vault keys, the store at `database_url`,
/// a one-second refresh skew, and a daily schedule that never comes due while a test runs.
pub fn deployment_vars(issuer: &str, database_url: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("TOPCLUCK_ISSUER", issuer.to_owned()),
        ("TOPCLUCK_CLIENT_SECRET", SECRET.to_owned()),
        ("TOPCLUCK_COUNTING_CLIENT_ID", COUNTING_CLIENT.to_owned()),
        ("TOPCLUCK_COUNTING_CLIENT_SECRET", COUNTING_SECRET.to_owned()),
        ("TOPCLUCK_COOKIE_KEYS", NEW_KEY.to_owned()),
        ("TOPCLUCK_VAULT_KEYS", VAULT_KEYS.to_owned()),
        ("TOPCLUCK_API_URL", format!("{issuer}/api")),
        ("TOPCLUCK_DATABASE_URL", database_url.to_owned()),
        ("TOPCLUCK_REFRESH_SKEW", "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    vars.extend(quiet_schedule());
    vars
}

/// A daily schedule that is not due for hours: 23:59 in a fixed-offset zone where it is about
/// 06:00 now. (The server runs a day's missed count at once when it starts; a run of its own in
/// the middle of a test would refresh grants the test counts.)
pub fn quiet_schedule() -> [(String, String); 2] {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let utc_hour = ((now / 3600) % 24) as i64;
    let mut offset = 6 - utc_hour;
    if offset < -12 {
        offset += 24;
    }
    // POSIX sign convention: Etc/GMT-3 is three hours east of UTC.
    let zone = match offset {
        0 => "Etc/GMT".to_owned(),
        east if east > 0 => format!("Etc/GMT-{east}"),
        west => format!("Etc/GMT+{}", -west),
    };
    [
        ("TOPCLUCK_DAILY_COUNT_AT".to_owned(), "23:59".to_owned()),
        ("TOPCLUCK_DAILY_COUNT_TZ".to_owned(), zone),
    ]
}

/// The server binary with a clean environment in `dir`: only `PATH`, a quiet log, the Leptos
/// output name and site root (`dir`: no pages are needed), then `vars`.
pub fn command(dir: &Path, vars: &[(String, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("LEPTOS_OUTPUT_NAME", "topcluck")
        .env("LEPTOS_SITE_ROOT", dir)
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null());
    command
}

/// `server <args>` to its end (at most `limit`), in a temporary directory with `vars` (and what
/// [`command`] adds); its output. COOP answers meanwhile.
pub async fn run_to_end(args: &[&str], vars: &[(String, String)], limit: Duration) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = command(dir.path(), vars);
    command.args(args);
    process::run_to_end(command, limit).await
}

/// A server process (`server serve`), listening on `base`.
pub struct ServerProcess(Process);

impl ServerProcess {
    /// Spawns `server serve` on 127.0.0.1:`port` with `vars` (see [`deployment_vars`]) and waits
    /// until it answers `GET /healthz` (at most a minute; its log is shown if it never does).
    pub async fn start(name: &str, port: u16, vars: &[(String, String)]) -> ServerProcess {
        let process = Process::start(
            &format!("server-{name}"),
            port,
            "/healthz",
            STARTUP_LIMIT,
            |dir| {
                let mut command = command(dir, vars);
                command
                    .arg("serve")
                    .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"));
                command
            },
        )
        .await;
        ServerProcess(process)
    }

    /// The BFF this process serves, reached over HTTP.
    pub fn bff(&self) -> Bff {
        Bff::external(&self.0.base)
    }
}

impl Deref for ServerProcess {
    type Target = Process;

    fn deref(&self) -> &Process {
        &self.0
    }
}

impl DerefMut for ServerProcess {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.0
    }
}
