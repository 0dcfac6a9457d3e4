//! The real server binary, started with configurations it must refuse: it exits non-zero
//! before listening, and says which variable is wrong. Each row prints a `ROW|config|…` line.

use std::time::Duration;

use coop::testkit::{BadInputs, Exit, bare_command, run_until_exit};

const KEY: &str = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0";
/// A refused start takes well under a second; one that was not refused is stopped after this.
const DEADLINE: Duration = Duration::from_secs(20);

/// Runs the server in an empty directory (no `.env`, no data) with only `vars` (plus what any
/// start needs: an output name, ports chosen by the system, a cookie key).
fn run_server(vars: &[(&str, &str)]) -> Exit {
    let dir = tempfile::tempdir().unwrap();
    let mut command = bare_command(env!("CARGO_BIN_EXE_server"), dir.path());
    command
        .env("LEPTOS_OUTPUT_NAME", "topcluck")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("COOP_ADDR", "127.0.0.1:0")
        .env("TOPCLUCK_COOKIE_KEYS", KEY)
        .envs(vars.iter().copied());
    run_until_exit(command, DEADLINE)
}

#[test]
fn unsafe_configurations_stop_the_server_before_it_listens() {
    const ISSUER: (&str, &str) = ("TOPCLUCK_ISSUER", "https://id.example");
    const SECRET: (&str, &str) = ("TOPCLUCK_CLIENT_SECRET", "s");
    const PROD: (&str, &str) = ("LEPTOS_ENV", "PROD");
    const DEV: (&str, &str) = ("LEPTOS_ENV", "DEV");
    // (what the row is, the variables, the variable the refusal must name)
    type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    // An address another socket holds: the metrics listener cannot have it.
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let held = holder.local_addr().unwrap().to_string();
    let rows: [Row<'_>; 13] = [
        ("LEPTOS_ENV=PROD, no issuer", &[PROD], "TOPCLUCK_ISSUER"),
        (
            "PROD, issuer http://id.example",
            &[PROD, SECRET, ("TOPCLUCK_ISSUER", "http://id.example")],
            "TOPCLUCK_ISSUER",
        ),
        (
            "DEV, issuer http://id.example",
            &[DEV, SECRET, ("TOPCLUCK_ISSUER", "http://id.example")],
            "TOPCLUCK_ISSUER",
        ),
        (
            "DEV, issuer http://127.0.0.1.nip.io",
            &[DEV, SECRET, ("TOPCLUCK_ISSUER", "http://127.0.0.1.nip.io")],
            "TOPCLUCK_ISSUER",
        ),
        (
            "PROD, issuer http://[2001:db8::1]",
            &[PROD, SECRET, ("TOPCLUCK_ISSUER", "http://[2001:db8::1]")],
            "TOPCLUCK_ISSUER",
        ),
        (
            "DEV, issuer ftp://id.example",
            &[DEV, SECRET, ("TOPCLUCK_ISSUER", "ftp://id.example")],
            "TOPCLUCK_ISSUER",
        ),
        (
            "PROD, redirect URI http://topcluck.example/callback",
            &[
                PROD,
                SECRET,
                ISSUER,
                ("TOPCLUCK_REDIRECT_URI", "http://topcluck.example/callback"),
            ],
            "TOPCLUCK_REDIRECT_URI",
        ),
        (
            "PROD, post-logout redirect URI http://topcluck.example/",
            &[
                PROD,
                SECRET,
                ISSUER,
                ("TOPCLUCK_REDIRECT_URI", "https://topcluck.example/callback"),
                ("TOPCLUCK_POST_LOGOUT_REDIRECT_URI", "http://topcluck.example/"),
            ],
            "TOPCLUCK_POST_LOGOUT_REDIRECT_URI",
        ),
        (
            "PROD, site 0.0.0.0, default redirect URI (http)",
            &[PROD, SECRET, ISSUER, ("LEPTOS_SITE_ADDR", "0.0.0.0:0")],
            "TOPCLUCK_REDIRECT_URI",
        ),
        (
            // Leptos would panic on every page it renders.
            "LEPTOS_HASH_FILES=true, no hash file beside the binary",
            &[
                ("LEPTOS_HASH_FILES", "true"),
                ("LEPTOS_HASH_FILE_NAME", "no-such-hash-file.txt"),
            ],
            "LEPTOS_HASH_FILES",
        ),
        (
            "metrics address localhost:9464 (a host name, not ip:port)",
            &[DEV, SECRET, ISSUER, ("TOPCLUCK_METRICS_ADDR", "localhost:9464")],
            "TOPCLUCK_METRICS_ADDR",
        ),
        (
            "metrics address = the site's address",
            &[
                DEV,
                SECRET,
                ISSUER,
                ("LEPTOS_SITE_ADDR", "127.0.0.1:39464"),
                ("TOPCLUCK_METRICS_ADDR", "127.0.0.1:39464"),
            ],
            "TOPCLUCK_METRICS_ADDR",
        ),
        (
            "metrics address held by another socket",
            &[DEV, SECRET, ISSUER, ("TOPCLUCK_METRICS_ADDR", &held)],
            "TOPCLUCK_METRICS_ADDR",
        ),
    ];
    let mut table = BadInputs::default();
    for (row, vars, name) in rows {
        let expected = format!("exit 1, names {name}");
        let outcome = run_server(vars);
        let seen = match &outcome {
            Exit::Exited { code, stderr } => {
                let names = stderr
                    .lines()
                    .find(|l| l.contains("TopCluck cannot start"))
                    .and_then(|l| l.split(": ").nth(2))
                    .unwrap_or("nothing");
                let panicked = if stderr.contains("panicked") {
                    ", PANIC"
                } else {
                    ""
                };
                format!(
                    "exit {}, names {names}{panicked}",
                    code.map_or("signal".into(), |c| c.to_string())
                )
            }
            Exit::StillRunning => "started and listened".to_owned(),
        };
        // A row that differs shows the whole outcome (the server's stderr).
        let request = match seen == expected {
            true => row.to_owned(),
            false => format!("{row} ({outcome:?})"),
        };
        table.offline_row("config", &request, &expected, &seen, seen == expected);
    }
    table.finish();
}

#[test]
fn production_without_an_issuer_says_why_it_refuses() {
    let Exit::Exited { code, stderr } = run_server(&[("LEPTOS_ENV", "PROD")]) else {
        panic!("the server started in production without TOPCLUCK_ISSUER");
    };
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "TopCluck cannot start: configuration: TOPCLUCK_ISSUER: required in production (LEPTOS_ENV=PROD)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("development provider"), "{stderr}");
}
