//! A build without the `embedded-coop` feature (the production build: `ssr` only, what
//! `cargo build --release -p server` and `cargo install` make) refuses to start without
//! `TOPCLUCK_ISSUER` — in development too — saying why, and writes nothing. In a build with the
//! feature (scripts/test.sh's) this file is empty: test.sh's production step starts the
//! ssr-only binary the same way.
#![cfg(not(feature = "embedded-coop"))]

use std::time::Duration;

use coop::testkit::{Exit, bare_command, run_until_exit};

#[test]
fn without_an_issuer_the_production_build_stops_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let mut command = bare_command(env!("CARGO_BIN_EXE_server"), dir.path());
    command
        .env("LEPTOS_OUTPUT_NAME", "topcluck")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("TOPCLUCK_DATA_DIR", &data_dir);
    // A refusal takes well under a second; a server that started is stopped, and fails the test.
    let Exit::Exited { code, stderr } = run_until_exit(command, Duration::from_secs(20)) else {
        panic!("the production build started without TOPCLUCK_ISSUER");
    };
    assert_eq!(code, Some(1), "{stderr}");
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
