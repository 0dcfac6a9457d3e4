//! A build without the `embedded-coop` feature (the production build: `ssr` only, what
//! `cargo build --release -p server` and `cargo install` make) refuses to start without
//! `TOPCLUCK_ISSUER` — in development too — saying why, and writes nothing. In a build with the
//! feature (scripts/test.sh's) this file is empty: test.sh's production step starts the
//! ssr-only binary the same way.
#![cfg(not(feature = "embedded-coop"))]

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn without_an_issuer_the_production_build_stops_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("LEPTOS_OUTPUT_NAME", "topcluck")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("TOPCLUCK_DATA_DIR", &data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A refusal takes well under a second; a server that started is stopped, and fails the test.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the production build started without TOPCLUCK_ISSUER");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "TopCluck cannot start: configuration: TOPCLUCK_ISSUER: not set, and this build has no \
             embedded provider"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("embedded-coop"), "{stderr}");
    let created: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(created.is_empty(), "{created:?}");
}
