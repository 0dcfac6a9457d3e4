//! COOP's configuration: the counting client `Config::new` registers beside TopCluck, and the
//! `COOP_*` variables of the counting client and of the provider behaviours COOP can play
//! (`COOP_GRANT_MODEL`, `COOP_TOKEN_SCOPE`, `COOP_REVOKE_ACCESS_TOKENS`, `COOP_INTROSPECTION`,
//! `COOP_REUSE_GRACE_SECONDS`, `COOP_REVOCATION_CASCADE`); then the counting client over HTTP,
//! with its own secret.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use coop::testkit::*;
use coop::{COUNTING_CLIENT_ID, Config, GrantModel, RefreshTokenMode, TokenScope};
use reqwest::StatusCode;

fn vars(data_dir: &Path, pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    let data_dir = data_dir.display().to_string();
    [("COOP_DATA_DIR", data_dir.as_str()), ("COOP_CLIENT_SECRET", "s")]
        .iter()
        .chain(pairs)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn config_new_registers_topcluck_first_and_the_counting_client_with_its_own_secret() {
    let config = Config::new("data".into(), "s".into());
    let topcluck = &config.clients[0];
    assert_eq!(topcluck.id, "topcluck");
    assert_eq!(topcluck.secret, "s");
    let counting = config.counting_client().expect("the counting client");
    assert_eq!(counting.id, COUNTING_CLIENT_ID);
    assert_eq!(COUNTING_CLIENT_ID, "topcluck-counting");
    assert_eq!(counting.secret, "s.counting");
    assert_eq!(counting.redirect_uris, topcluck.redirect_uris);
    assert_eq!(
        counting.post_logout_redirect_uris,
        topcluck.post_logout_redirect_uris
    );
    assert_eq!(counting.refresh_token_mode, RefreshTokenMode::Rotate);
    assert_eq!(config.client_name(COUNTING_CLIENT_ID), "TopCluck");
    assert!(config.allows_offline_access(COUNTING_CLIENT_ID));
    assert_eq!(config.client_name("topcluck"), "TopCluck");

    assert_eq!(config.grant_model, GrantModel::PerAuthorization);
    assert_eq!(config.token_scope, TokenScope::Grant);
    assert!(config.revokes_access_tokens);
}

#[test]
fn the_new_variables_are_read_and_the_shared_ones_apply_to_both_clients() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_vars(&vars(
        dir.path(),
        &[
            ("COOP_COUNTING_CLIENT_SECRET", "c"),
            ("COOP_COUNTING_CLIENT_ID", "henhouse-counting"),
            ("COOP_REDIRECT_URIS", "http://a.example/cb http://b.example/cb"),
            ("COOP_POST_LOGOUT_REDIRECT_URIS", "http://a.example/"),
            ("COOP_REFRESH_TOKEN_MODE", "reuse"),
            ("COOP_GRANT_MODEL", "per_client"),
            ("COOP_TOKEN_SCOPE", "resource"),
            ("COOP_REVOKE_ACCESS_TOKENS", "0"),
        ],
    ))
    .unwrap();
    assert_eq!(config.grant_model, GrantModel::PerClient);
    assert_eq!(config.token_scope, TokenScope::Resource);
    assert!(!config.revokes_access_tokens);
    assert_eq!(config.clients[0].id, "topcluck");
    assert_eq!(config.clients[0].secret, "s");
    let counting = config.counting_client().expect("the renamed counting client");
    assert_eq!(counting.id, "henhouse-counting");
    assert_eq!(counting.secret, "c");
    assert!(config.client(COUNTING_CLIENT_ID).is_none());
    assert_eq!(config.client_name("henhouse-counting"), "TopCluck");
    assert!(config.allows_offline_access("henhouse-counting"));
    for client in [&config.clients[0], counting] {
        assert_eq!(
            client.redirect_uris,
            ["http://a.example/cb", "http://b.example/cb"]
        );
        assert_eq!(client.post_logout_redirect_uris, ["http://a.example/"]);
        assert_eq!(client.refresh_token_mode, RefreshTokenMode::Reuse);
    }

    for (value, model) in [
        ("per_authorization", GrantModel::PerAuthorization),
        ("per_client", GrantModel::PerClient),
    ] {
        let config = Config::from_vars(&vars(dir.path(), &[("COOP_GRANT_MODEL", value)])).unwrap();
        assert_eq!(config.grant_model, model);
    }
    let grant = Config::from_vars(&vars(dir.path(), &[("COOP_TOKEN_SCOPE", "grant")])).unwrap();
    assert_eq!(grant.token_scope, TokenScope::Grant);
    let revoking = Config::from_vars(&vars(dir.path(), &[("COOP_REVOKE_ACCESS_TOKENS", "1")])).unwrap();
    assert!(revoking.revokes_access_tokens);
}

#[test]
fn introspection_reuse_grace_and_revocation_cascade_are_read_from_their_variables() {
    let dir = tempfile::tempdir().unwrap();
    let default = Config::from_vars(&vars(dir.path(), &[])).unwrap();
    assert!(default.introspection);
    assert_eq!(default.reuse_grace, Duration::ZERO);
    assert!(default.revocation_cascades);
    let new = Config::new("data".into(), "s".into());
    assert!(new.introspection && new.revocation_cascades);
    assert_eq!(new.reuse_grace, Duration::ZERO);

    let config = Config::from_vars(&vars(
        dir.path(),
        &[
            ("COOP_INTROSPECTION", "0"),
            ("COOP_REUSE_GRACE_SECONDS", "30"),
            ("COOP_REVOCATION_CASCADE", "false"),
        ],
    ))
    .unwrap();
    assert!(!config.introspection);
    assert_eq!(config.reuse_grace, Duration::from_secs(30));
    assert!(!config.revocation_cascades);

    let config = Config::from_vars(&vars(
        dir.path(),
        &[
            ("COOP_INTROSPECTION", "1"),
            ("COOP_REUSE_GRACE_SECONDS", "0"),
            ("COOP_REVOCATION_CASCADE", "true"),
        ],
    ))
    .unwrap();
    assert!(config.introspection && config.revocation_cascades);
    assert_eq!(config.reuse_grace, Duration::ZERO);
    let day = Config::from_vars(&vars(dir.path(), &[("COOP_REUSE_GRACE_SECONDS", "86400")])).unwrap();
    assert_eq!(day.reuse_grace, Duration::from_secs(86400));

    for (name, value) in [
        ("COOP_INTROSPECTION", "maybe"),
        ("COOP_REUSE_GRACE_SECONDS", "-1"),
        ("COOP_REUSE_GRACE_SECONDS", "soon"),
        ("COOP_REUSE_GRACE_SECONDS", "86401"),
        ("COOP_REVOCATION_CASCADE", "yes"),
    ] {
        let error = Config::from_vars(&vars(dir.path(), &[(name, value)])).unwrap_err();
        assert_eq!(error.problems[0].name, name, "{error}");
        assert!(error.to_string().contains(value), "{error}");
    }
}

#[test]
fn without_its_variable_the_counting_secret_is_generated_once_into_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = Config::from_vars(&vars(dir.path(), &[])).unwrap();
    let secret = first.counting_client().unwrap().secret.clone();
    assert_ne!(secret, "s");
    assert_ne!(secret, "s.counting");
    let file = std::fs::read_to_string(dir.path().join("counting_client_secret")).unwrap();
    assert_eq!(file.trim(), secret);
    let again = Config::from_vars(&vars(dir.path(), &[])).unwrap();
    assert_eq!(again.counting_client().unwrap().secret, secret);
}

#[test]
fn the_two_client_ids_may_be_swapped_but_not_be_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let swapped = Config::from_vars(&vars(
        dir.path(),
        &[
            ("COOP_CLIENT_ID", COUNTING_CLIENT_ID),
            ("COOP_COUNTING_CLIENT_ID", "topcluck"),
            ("COOP_COUNTING_CLIENT_SECRET", "c"),
        ],
    ))
    .unwrap();
    assert_eq!(swapped.clients[0].id, COUNTING_CLIENT_ID);
    assert_eq!(swapped.clients[0].secret, "s");
    assert_eq!(swapped.counting_client().unwrap().id, "topcluck");
    assert_eq!(swapped.counting_client().unwrap().secret, "c");
    assert_eq!(swapped.client_name(COUNTING_CLIENT_ID), "TopCluck");
    assert_eq!(swapped.client_name("topcluck"), "TopCluck");

    for pairs in [
        [("COOP_CLIENT_ID", COUNTING_CLIENT_ID)],
        [("COOP_COUNTING_CLIENT_ID", "topcluck")],
    ] {
        let error = Config::from_vars(&vars(dir.path(), &pairs)).unwrap_err();
        assert_eq!(error.problems[0].name, "COOP_COUNTING_CLIENT_ID");
    }
}

#[test]
fn malformed_values_are_refused_with_the_variables_name() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [
        ("COOP_GRANT_MODEL", "per_farmer"),
        ("COOP_GRANT_MODEL", "PerClient"),
        ("COOP_TOKEN_SCOPE", "everything"),
        ("COOP_REVOKE_ACCESS_TOKENS", "maybe"),
        ("COOP_REFRESH_TOKEN_MODE", "sometimes"),
    ] {
        let error = Config::from_vars(&vars(dir.path(), &[(name, value)])).unwrap_err();
        assert_eq!(error.problems[0].name, name, "{error}");
        assert!(error.to_string().contains(value), "{error}");
    }
}

#[tokio::test]
async fn the_counting_client_gets_tokens_with_its_own_secret_and_not_with_topclucks() {
    let coop = TestCoop::start().await;
    assert_eq!(coop.secret_of(COUNTING_CLIENT_ID), format!("{SECRET}.counting"));
    let tokens = coop
        .consented_login(
            &browser(),
            COUNTING_CLIENT_ID,
            "openid offline_access eggs:read",
            "ada",
        )
        .await;
    assert_eq!(claims(&tokens.access_token)["client_id"], COUNTING_CLIENT_ID);
    let refresh_token = tokens.refresh_token.as_deref().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    coop.token_with_authorization(Some(&basic("Basic", COUNTING_CLIENT_ID, SECRET)), &form)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_client");
    coop.refresh(COUNTING_CLIENT_ID, refresh_token, None)
        .await
        .expect_ok();
}
