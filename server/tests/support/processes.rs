//! The real server binary as deployments run it: a process of its own in a temporary working
//! directory, with a clean environment (nothing from the test's, no `.env`), on a loopback port
//! chosen beforehand (so COOP can have its redirect URI registered before the server starts).
//!
//! Its stdout and stderr go to files in that directory; they are printed when the process is
//! dropped (which a passing test's output capture hides, and a failing one's shows). Dropping a
//! [`ServerProcess`] kills it (SIGKILL) if it still runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use super::{Bff, COUNTING_CLIENT, COUNTING_SECRET, NEW_KEY, SECRET, VAULT_KEYS};

/// The server binary: integration tests are built with `cfg(test)` and know it; the benchmark
/// example that borrows this kit never starts server processes.
#[cfg(test)]
const SERVER_BINARY: &str = env!("CARGO_BIN_EXE_server");
#[cfg(not(test))]
const SERVER_BINARY: &str = "server";

/// How long a server may take to answer `GET /healthz` after it was spawned.
const STARTUP_LIMIT: Duration = Duration::from_secs(60);

/// A free loopback port: bound on 127.0.0.1:0, then let go. The server binds it later.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

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
    let mut command = Command::new(SERVER_BINARY);
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
/// [`command`] adds); its output. Runs on a blocking thread: COOP answers meanwhile.
pub async fn run_to_end(args: &[&str], vars: &[(String, String)], limit: Duration) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut command = command(dir.path(), vars);
    command.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command.spawn().expect("the server binary starts");
    let pid = child.id();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output());
    match tokio::time::timeout(limit, output).await {
        Ok(output) => output.unwrap().unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            panic!("server {args:?} (pid {pid}) did not end within {limit:?}; killed");
        }
    }
}

/// A server process (`server serve`), listening on `base`.
pub struct ServerProcess {
    pub name: String,
    pub base: String,
    pub port: u16,
    child: Option<Child>,
    /// Its working directory, site root and log files.
    dir: tempfile::TempDir,
    /// How it ended, once it has.
    status: Option<ExitStatus>,
}

impl ServerProcess {
    /// Spawns `server serve` on 127.0.0.1:`port` with `vars` (see [`deployment_vars`]) and waits
    /// until it answers `GET /healthz` (at most a minute; its log is shown if it never does).
    pub async fn start(name: &str, port: u16, vars: &[(String, String)]) -> ServerProcess {
        let dir = tempfile::Builder::new()
            .prefix(&format!("topcluck-{name}-"))
            .tempdir()
            .unwrap();
        let stdout = std::fs::File::create(dir.path().join("stdout.log")).unwrap();
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let mut command = command(dir.path(), vars);
        command
            .arg("serve")
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .stdout(stdout)
            .stderr(stderr);
        let child = command.spawn().expect("the server binary starts");
        let mut server = ServerProcess {
            name: name.to_owned(),
            base: format!("http://127.0.0.1:{port}"),
            port,
            child: Some(child),
            dir,
            status: None,
        };
        server.wait_until_healthy().await;
        server
    }

    async fn wait_until_healthy(&mut self) {
        let started = Instant::now();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        loop {
            if let Some(status) = self.try_wait() {
                panic!(
                    "server {} exited before it was healthy ({status}):\n{}",
                    self.name,
                    self.log()
                );
            }
            if let Ok(response) = client.get(format!("{}/healthz", self.base)).send().await
                && response.status().is_success()
            {
                println!(
                    "server {} (pid {}) healthy on {} after {:?}",
                    self.name,
                    self.pid(),
                    self.base,
                    started.elapsed()
                );
                return;
            }
            if started.elapsed() > STARTUP_LIMIT {
                panic!(
                    "server {} did not answer /healthz within {STARTUP_LIMIT:?}:\n{}",
                    self.name,
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The BFF this process serves, reached over HTTP.
    pub fn bff(&self) -> Bff {
        Bff::external(&self.base)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Its exit status, if it has ended (reaped here).
    fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Some(child) = &mut self.child
        {
            self.status = child.try_wait().unwrap();
        }
        self.status
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        self.child.is_some() && self.try_wait().is_none()
    }

    /// Waits (at most `limit`) for the process to end; its status, or `None` if it still runs.
    pub async fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if started.elapsed() > limit {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM (what an orchestrator does to stop it).
    pub fn terminate(&mut self) {
        let signalled = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(signalled.success(), "SIGTERM could not be sent to {}", self.name);
    }

    /// SIGTERM, then waits (at most `limit`) for it to exit: its status, and how long the stop
    /// took. Panics (with its log) if it is still running at the limit.
    pub async fn stop_gracefully(&mut self, limit: Duration) -> (ExitStatus, Duration) {
        let started = Instant::now();
        self.terminate();
        match self.wait_for_exit(limit).await {
            Some(status) => (status, started.elapsed()),
            None => panic!(
                "server {} still runs {limit:?} after SIGTERM:\n{}",
                self.name,
                self.log()
            ),
        }
    }

    /// SIGKILL (a crash, an OOM kill, a node lost), and reaps it.
    pub fn kill9(&mut self) {
        if let Some(child) = &mut self.child
            && self.status.is_none()
        {
            let _ = child.kill();
            self.status = Some(child.wait().unwrap());
        }
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// What it wrote to stdout and stderr so far (colours taken out: the log's format colours
    /// its lines even in a file).
    pub fn log(&self) -> String {
        let read = |name: &str| {
            without_colours(&std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default())
        };
        format!(
            "--- stdout ---\n{}--- stderr ---\n{}",
            read("stdout.log"),
            read("stderr.log")
        )
    }

    /// Its log lines (stdout and stderr) containing `needle`.
    pub fn log_lines(&self, needle: &str) -> Vec<String> {
        self.log()
            .lines()
            .filter(|line| line.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

/// `text` without ANSI escape sequences (`ESC [ … letter`).
fn without_colours(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
        println!(
            "===== server {} ({}, {}) =====\n{}===== end of server {} =====",
            self.name,
            self.base,
            self.status.map_or("never started".to_owned(), |s| s.to_string()),
            self.log(),
            self.name
        );
    }
}
