//! Programs the tests start as processes of their own: a free loopback port chosen beforehand
//! (so a provider can have a redirect URI registered before the program listens), the program
//! spawned in a temporary working directory with its environment, waited for until it answers,
//! stopped by its PID (SIGTERM, or SIGKILL for a crash).
//!
//! A [`Process`]'s stdout and stderr go to files in that directory; they are printed when it is
//! dropped (which a passing test's output capture hides, and a failing one's shows). Dropping a
//! [`Process`] kills it (SIGKILL) if it still runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use super::http::wait_until_answers;

/// A free loopback port: bound on 127.0.0.1:0, then let go. The program binds it later.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `command` to its end (at most `limit`); its output. Runs on a blocking thread: servers in
/// this process answer meanwhile. Killed (by PID) at the limit.
pub async fn run_to_end(mut command: Command, limit: Duration) -> Output {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
    let pid = child.id();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output());
    match tokio::time::timeout(limit, output).await {
        Ok(output) => output.unwrap().unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            panic!("{command:?} (pid {pid}) did not end within {limit:?}; killed");
        }
    }
}

/// `program` run in `dir` with nothing of this process's environment but `PATH` (and
/// `RUST_LOG=warn`): what it reads is what the test sets.
pub fn bare_command(program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn");
    command
}

/// How a program run by [`run_until_exit`] ended.
#[derive(Debug)]
pub enum Exit {
    /// It exited by itself: its exit code (`None` when a signal ended it) and its stderr.
    Exited { code: Option<i32>, stderr: String },
    /// It still ran at the limit (it started, where a refusal was expected); it was killed.
    StillRunning,
}

/// Runs `command` (stdin closed, stdout dropped, stderr kept) until it exits, or kills it once
/// `limit` has passed: for programs that must refuse to start.
pub fn run_until_exit(mut command: Command, limit: Duration) -> Exit {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return Exit::Exited {
                code: status.code(),
                stderr,
            };
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            return Exit::StillRunning;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A program running as a process of its own, listening on `base`.
pub struct Process {
    pub name: String,
    pub base: String,
    pub port: u16,
    child: Option<Child>,
    /// Its working directory and log files.
    dir: tempfile::TempDir,
    /// How it ended, once it has.
    status: Option<ExitStatus>,
}

impl Process {
    /// Spawns what `command` builds for its working directory (a new temporary one), meant to
    /// listen on 127.0.0.1:`port`, and waits until `GET health_path` answers 2xx (at most
    /// `limit`; its log is shown if it never does or if it exits first).
    pub async fn start(
        name: &str,
        port: u16,
        health_path: &str,
        limit: Duration,
        command: impl FnOnce(&Path) -> Command,
    ) -> Process {
        let dir = tempfile::Builder::new()
            .prefix(&format!("topcluck-{name}-"))
            .tempdir()
            .unwrap();
        let stdout = std::fs::File::create(dir.path().join("stdout.log")).unwrap();
        let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
        let mut command = command(dir.path());
        command.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
        let mut process = Process {
            name: name.to_owned(),
            base: format!("http://127.0.0.1:{port}"),
            port,
            child: Some(child),
            dir,
            status: None,
        };
        process.wait_until_healthy(health_path, limit).await;
        process
    }

    async fn wait_until_healthy(&mut self, health_path: &str, limit: Duration) {
        let started = Instant::now();
        let health = self.url(health_path);
        while started.elapsed() <= limit {
            if let Some(status) = self.try_wait() {
                panic!(
                    "{} exited before it was healthy ({status}):\n{}",
                    self.name,
                    self.log()
                );
            }
            if wait_until_answers(&health, Duration::ZERO).await {
                println!(
                    "{} (pid {}) healthy on {} after {:?}",
                    self.name,
                    self.pid(),
                    self.base,
                    started.elapsed()
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{} did not answer {health_path} within {limit:?}:\n{}",
            self.name,
            self.log()
        );
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

    /// Sends SIGTERM by PID (what an orchestrator does to stop it).
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
                "{} still runs {limit:?} after SIGTERM:\n{}",
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

    /// What it wrote to stdout and stderr so far (colours taken out: a log format may colour
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

impl Drop for Process {
    fn drop(&mut self) {
        self.kill9();
        println!(
            "===== {} ({}, {}) =====\n{}===== end of {} =====",
            self.name,
            self.base,
            self.status.map_or("never started".to_owned(), |s| s.to_string()),
            self.log(),
            self.name
        );
    }
}
