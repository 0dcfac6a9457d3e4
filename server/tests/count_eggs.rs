//! `server count-eggs`, the real binary, run from a directory other than the server's: it says
//! which vault it opened, finds the server's through `TOPCLUCK_DATA_DIR`, and says loudly when
//! there is no vault where it looked (exit status 2, nothing created) or nobody in it.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use support::*;

/// What a `count-eggs` run printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `server count-eggs` in `cwd` with only `vars` (plus a path and a quiet log), against COOP at
/// `issuer` as TopCluck's two clients.
async fn count_eggs(cwd: &std::path::Path, issuer: &str, vars: &[(&str, &str)]) -> Run {
    let api = format!("{issuer}/api");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .arg("count-eggs")
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("LEPTOS_OUTPUT_NAME", "topcluck")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("TOPCLUCK_ISSUER", issuer)
        .env("TOPCLUCK_CLIENT_SECRET", SECRET)
        .env("TOPCLUCK_COUNTING_CLIENT_ID", COUNTING_CLIENT)
        .env("TOPCLUCK_COUNTING_CLIENT_SECRET", COUNTING_SECRET)
        .env("TOPCLUCK_COOKIE_KEYS", NEW_KEY)
        .env("TOPCLUCK_VAULT_KEYS", VAULT_KEYS)
        .env("TOPCLUCK_API_URL", &api)
        .envs(vars.iter().copied());
    // On a blocking thread: COOP and the BFF of this test run on this runtime meanwhile.
    let output = tokio::task::spawn_blocking(move || command.output());
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("count-eggs ended within a minute")
        .unwrap()
        .unwrap();
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    println!(
        "ROW|count-eggs|exit {:?}|stdout {:?}|stderr {:?}",
        run.code, run.stdout, run.stderr
    );
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_eggs_from_another_directory_finds_the_servers_vault_or_says_loudly_it_did_not() {
    let server_dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let data_dir = server_dir.path().join("data/topcluck");
    let data_dir_text = data_dir.to_str().unwrap().to_owned();
    let listener = listener().await;
    let mut harness = Harness::start(&[listener.local_addr().unwrap().port()]).await;
    let issuer = harness.coop.base.clone();
    let bff = harness
        .bff_with(
            listener,
            NEW_KEY,
            &[
                ("TOPCLUCK_VAULT_KEYS", VAULT_KEYS),
                ("TOPCLUCK_DATA_DIR", &data_dir_text),
            ],
        )
        .await;

    // The server's vault exists, nobody enrolled yet: counted nobody, and says so.
    let empty = count_eggs(
        elsewhere.path(),
        &issuer,
        &[("TOPCLUCK_DATA_DIR", &data_dir_text)],
    )
    .await;
    assert_eq!(empty.code, Some(0));
    assert!(
        empty.stdout.contains(&format!(
            "vault: SQLite, {}",
            data_dir.join("vault.sqlite").display()
        )),
        "{}",
        empty.stdout
    );
    assert!(
        empty.stderr.contains("WARNING: no farmer has daily counting on"),
        "{}",
        empty.stderr
    );

    let (ada, _) = bff.login("ada").await;
    assert_eq!(bff.enrol(&ada, "ada").await.status(), StatusCode::OK);

    // From another directory without TOPCLUCK_DATA_DIR: no vault there — loudly, every time,
    // and nothing is created.
    let missing = elsewhere.path().join("data/topcluck/vault.sqlite");
    for _ in 0..2 {
        let lost = count_eggs(elsewhere.path(), &issuer, &[]).await;
        assert_eq!(lost.code, Some(2), "no vault is not a successful run");
        assert!(
            lost.stdout.contains(&missing.display().to_string()),
            "{}",
            lost.stdout
        );
        assert!(lost.stderr.contains("there is no vault at"), "{}", lost.stderr);
        assert!(lost.stderr.contains("TOPCLUCK_DATA_DIR"), "{}", lost.stderr);
        assert!(
            !lost.stdout.contains("farmers"),
            "no summary that reads like success"
        );
        assert!(!missing.exists(), "no vault was created");
    }

    // With the server's data directory: the farmer is counted.
    let found = count_eggs(
        elsewhere.path(),
        &issuer,
        &[("TOPCLUCK_DATA_DIR", &data_dir_text)],
    )
    .await;
    assert_eq!(found.code, Some(0), "{}", found.stderr);
    assert!(found.stdout.contains("ada: counted 0"), "{}", found.stdout);
    assert!(
        found.stdout.contains(": 1 farmers, 1 counted"),
        "{}",
        found.stdout
    );
    assert!(!found.stderr.contains("WARNING"), "{}", found.stderr);
    assert_eq!(harness.replays().await, (0, 0));

    // Without daily counting's client: it says what to set.
    let unconfigured = count_eggs(
        elsewhere.path(),
        &issuer,
        &[
            ("TOPCLUCK_DATA_DIR", &data_dir_text),
            ("TOPCLUCK_COUNTING_CLIENT_ID", ""),
            ("TOPCLUCK_COUNTING_CLIENT_SECRET", ""),
        ],
    )
    .await;
    assert_eq!(unconfigured.code, Some(1));
    assert!(
        unconfigured.stderr.contains("TOPCLUCK_COUNTING_CLIENT_ID"),
        "{}",
        unconfigured.stderr
    );
}
