//! Revocation that does not cascade (`Config::revocation_cascades` off,
//! `COOP_REVOCATION_CASCADE=0`), over HTTP: revoking a token at `/revoke` makes only that token
//! unusable; its grant and the grant's other refresh and access tokens live on, in either grant
//! model. The default (cascade) is checked beside it.

use coop::GrantModel;
use coop::testkit::*;
use reqwest::StatusCode;

fn refresh_token(tokens: &Tokens) -> &str {
    tokens.refresh_token.as_deref().unwrap()
}

async fn without_cascade(grant_model: GrantModel) -> TestCoop {
    TestCoop::start_with(|config| {
        config.revocation_cascades = false;
        config.grant_model = grant_model;
    })
    .await
}

#[tokio::test]
async fn without_cascade_a_revoked_refresh_token_dies_alone_and_its_grant_lives_on() {
    let coop = without_cascade(GrantModel::PerAuthorization).await;
    let first = coop.login("topcluck", ALL_SCOPES).await;
    let second = coop
        .refresh("topcluck", refresh_token(&first), None)
        .await
        .expect_ok();

    assert_eq!(
        coop.revoke("topcluck", refresh_token(&second)).await.0,
        StatusCode::OK
    );
    let refused = coop.refresh("topcluck", refresh_token(&second), None).await;
    refused.expect_invalid_grant();
    assert_eq!(refused.body["error_description"], "the refresh token was revoked");
    assert!(!coop.active("topcluck", refresh_token(&second)).await);

    // The grant and its access tokens live on.
    for tokens in [&first, &second] {
        assert!(coop.token_alive(&tokens.access_token).await);
        assert!(coop.active("topcluck", &tokens.access_token).await);
    }
    let grants = coop.grants("ada").await;
    assert_eq!(grants[0]["revoked"], false, "{grants:?}");
    // Revoking it again changes nothing.
    assert_eq!(
        coop.revoke("topcluck", refresh_token(&second)).await.0,
        StatusCode::OK
    );
    let counters = coop.counters().await;
    assert_eq!(counters["grants_revoked"], 0);
    assert_eq!(counters["refresh_tokens_revoked"], 1);
    assert_eq!(counters["reuse_detections"], 0, "a revoked token is not reuse");

    // Reuse detection still ends the whole grant.
    coop.refresh("topcluck", refresh_token(&first), None)
        .await
        .expect_invalid_grant();
    assert!(!coop.token_alive(&second.access_token).await);
    assert_eq!(coop.counters().await["reuse_detections"], 1);
}

#[tokio::test]
async fn without_cascade_a_per_client_grant_outlives_the_revocation_of_any_one_of_its_tokens() {
    let coop = without_cascade(GrantModel::PerClient).await;
    let (browser, first) = coop.browser_login("topcluck", "openid eggs:read", "ada").await;
    let pkce = Pkce::new();
    let code = coop
        .authorize_with_form(&browser, "topcluck", "openid eggs:write", &pkce, "ada")
        .await;
    let second = coop.redeem("topcluck", &code, &pkce.verifier).await.expect_ok();
    assert_eq!(coop.grants("ada").await.len(), 1, "one shared grant");

    // The first login's refresh token: only it dies.
    assert_eq!(
        coop.revoke("topcluck", refresh_token(&first)).await.0,
        StatusCode::OK
    );
    coop.refresh("topcluck", refresh_token(&first), None)
        .await
        .expect_invalid_grant();
    assert!(coop.token_alive(&first.access_token).await);
    assert!(coop.token_alive(&second.access_token).await);
    let renewed = coop
        .refresh("topcluck", refresh_token(&second), None)
        .await
        .expect_ok();

    // An access token: only it dies.
    assert_eq!(
        coop.revoke("topcluck", &first.access_token).await.0,
        StatusCode::OK
    );
    assert!(!coop.token_alive(&first.access_token).await);
    assert!(coop.token_alive(&renewed.access_token).await);
    coop.refresh("topcluck", refresh_token(&renewed), None)
        .await
        .expect_ok();

    let grants = coop.grants("ada").await;
    assert_eq!(grants[0]["revoked"], false, "{grants:?}");
    let counters = coop.counters().await;
    assert_eq!(counters["grants_revoked"], 0);
    assert_eq!(counters["refresh_tokens_revoked"], 1);
}

#[tokio::test]
async fn with_cascade_the_default_a_revoked_refresh_token_takes_its_grant_with_it() {
    let coop = TestCoop::start().await;
    assert!(coop.config.revocation_cascades);
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    assert_eq!(
        coop.revoke("topcluck", refresh_token(&tokens)).await.0,
        StatusCode::OK
    );
    assert!(!coop.token_alive(&tokens.access_token).await);
    assert_eq!(
        coop.grants("ada").await[0]["revoked_reason"],
        "refresh token revoked"
    );
    let counters = coop.counters().await;
    assert_eq!(counters["grants_revoked"], 1);
    assert_eq!(counters["refresh_tokens_revoked"], 0);
}
