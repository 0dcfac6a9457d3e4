//! A throwaway PostgreSQL cluster for the tests of one test binary: `initdb` into a temporary
//! directory owned by the `postgres` user (tests run as root; PostgreSQL refuses root), a
//! postmaster on a free loopback port (trust authentication, loopback only, its socket in the
//! same directory), one database per test.
//!
//! The cluster is shared by the binary's tests (started on first use) and a Rust static is
//! never dropped, so a watchdog process stops it when the test process ends, however it ends
//! (`pg_ctl stop -m immediate` on that data directory, by its postmaster.pid), and removes the
//! directory. No PostgreSQL, no silent skip: the test fails and says what to install.
//! Databases are made with PostgreSQL's own `createdb`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use super::process::free_port;

/// Where Debian's PostgreSQL 15 puts its programs; `TOPCLUCK_TEST_PG_BIN` overrides.
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Cluster {
    bin: PathBuf,
    root: PathBuf,
    port: u16,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

impl Cluster {
    /// The binary's cluster, started on first use (blocking, bounded: initdb 60 s, start 30 s).
    pub fn shared() -> &'static Cluster {
        CLUSTER.get_or_init(Cluster::start)
    }

    fn start() -> Cluster {
        let bin = PathBuf::from(std::env::var("TOPCLUCK_TEST_PG_BIN").unwrap_or_else(|_| PG_BIN.into()));
        for program in ["initdb", "pg_ctl", "createdb"] {
            assert!(
                bin.join(program).is_file(),
                "PostgreSQL's {program} is not in {}: the PostgreSQL tests need PostgreSQL 15 \
                 (Debian: apt-get install postgresql-15; or set TOPCLUCK_TEST_PG_BIN to its bin directory)",
                bin.display()
            );
        }
        let root = tempfile::Builder::new()
            .prefix("topcluck-pg-")
            .tempdir()
            .expect("a temporary directory")
            .keep();
        let as_root = run_output(Command::new("id").arg("-u")).trim() == "0";
        if as_root {
            run(Command::new("chown").arg("postgres:postgres").arg(&root));
        }
        let data = root.join("data");
        let port = free_port();
        // Stop and remove the cluster when this process ends (a static is never dropped).
        watchdog(&bin, &root, as_root);
        run(postgres_user(as_root, &bin.join("initdb"))
            .args([
                "--auth=trust",
                "--no-sync",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
                "-D",
            ])
            .arg(&data));
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            root.display()
        );
        run(postgres_user(as_root, &bin.join("pg_ctl"))
            .args(["start", "-w", "-t", "30", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(root.join("postgres.log"))
            .arg("-o")
            .arg(options));
        Cluster { bin, root, port }
    }

    /// A URL of the cluster's database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// A new, empty database; its URL.
    pub async fn database(&self) -> String {
        let name = format!(
            "test_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let mut createdb = Command::new(self.bin.join("createdb"));
        createdb
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
            .arg(self.port.to_string())
            .arg(&name);
        let log = self.log();
        tokio::task::spawn_blocking(move || {
            let output = run_bounded(&createdb);
            assert!(
                output.status.success(),
                "cannot create a database in the test cluster (log: {}): {}",
                log.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        })
        .await
        .unwrap();
        self.url(&name)
    }

    pub fn log(&self) -> PathBuf {
        self.root.join("postgres.log")
    }
}

/// `program`, run as the `postgres` user when we are root.
fn postgres_user(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// A shell that waits for this process to end, then stops the cluster in `root` and removes
/// the directory. Never waited for: it outlives this process by design.
#[allow(clippy::zombie_processes)]
fn watchdog(bin: &Path, root: &Path, as_root: bool) {
    let pg_ctl = bin.join("pg_ctl");
    let stop = if as_root {
        format!("runuser -u postgres -- '{}'", pg_ctl.display())
    } else {
        format!("'{}'", pg_ctl.display())
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.3; done; \
         if [ -f '{root}/data/postmaster.pid' ]; then {stop} stop -D '{root}/data' -m immediate -w -t 20; fi; \
         rm -rf '{root}'",
        pid = std::process::id(),
        root = root.display(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sh");
}

fn run(command: &mut Command) {
    let output = run_bounded(command);
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn run_output(command: &mut Command) -> String {
    String::from_utf8_lossy(&run_bounded(command).stdout).into_owned()
}

/// Runs `command` under `timeout 60`, so a hung initdb fails the test instead of hanging it.
fn run_bounded(command: &Command) -> std::process::Output {
    let mut bounded = Command::new("timeout");
    bounded
        .arg("60")
        .arg(command.get_program())
        .args(command.get_args());
    bounded
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}
