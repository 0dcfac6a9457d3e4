//! COOP playing other providers' token and revocation answers, over HTTP:
//! `COOP_TOKEN_SCOPE=resource` (the token answer's `scope`, and the access token's, list only
//! the API scopes, as with RFC 8707 resource indicators) and `COOP_REVOKE_ACCESS_TOKENS=0`
//! (`/revoke` refuses access tokens with `unsupported_token_type`, RFC 7009 §2.2.1, and still
//! revokes refresh tokens).

use coop::testkit::*;
use coop::{GrantModel, TokenScope};
use reqwest::{Method, StatusCode};
use serde_json::Value;

const OFFLINE: &str = "openid offline_access eggs:read";

fn refresh_token(tokens: &Tokens) -> &str {
    tokens.refresh_token.as_deref().unwrap()
}

/// Asserts a 400 `unsupported_token_type` answer from `/revoke`.
fn assert_unsupported_token_type(answer: (StatusCode, Value)) {
    let (status, body) = answer;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unsupported_token_type", "{body}");
    assert!(body["error_description"].is_string(), "{body}");
}

#[tokio::test]
async fn resource_scope_answers_list_only_the_api_scopes_and_the_grant_keeps_the_rest() {
    let coop = TestCoop::start_with(|config| config.token_scope = TokenScope::Resource).await;
    let tokens = coop.consented_login(&browser(), "topcluck", OFFLINE, "ada").await;
    assert_eq!(tokens.scope, "eggs:read");
    assert_eq!(claims(&tokens.access_token)["scope"], "eggs:read");
    let id_token = claims(tokens.id_token.as_deref().expect("an ID token for openid"));
    assert_eq!(id_token["sub"], "ada");
    let grants = coop.grants("ada").await;
    assert_eq!(grants[0]["scope"], "eggs:read offline_access openid");
    assert_eq!(grants[0]["offline"], true);

    // The access token is for the egg API alone.
    let (status, _, _) = coop
        .api(Method::GET, "/api/eggs", &tokens.access_token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = coop
        .api(Method::GET, "/userinfo", &tokens.access_token, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Refreshes without `scope` still get the whole grant, and say only its API scopes.
    let refreshed = coop
        .refresh("topcluck", refresh_token(&tokens), None)
        .await
        .expect_ok();
    assert_eq!(refreshed.scope, "eggs:read");
    assert_eq!(claims(&refreshed.access_token)["scope"], "eggs:read");
    let narrowed = coop
        .refresh("topcluck", refresh_token(&refreshed), Some("openid eggs:read"))
        .await
        .expect_ok();
    assert_eq!(narrowed.scope, "eggs:read");
    assert!(coop.token_alive(&narrowed.access_token).await);
}

#[tokio::test]
async fn without_access_token_revocation_an_access_token_is_refused_and_stays_valid() {
    let coop = TestCoop::start_with(|config| config.revokes_access_tokens = false).await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;

    assert_unsupported_token_type(coop.revoke("topcluck", &tokens.access_token).await);
    assert_unsupported_token_type(
        coop.revoke_with(
            "topcluck",
            &[("token", "not-a-token"), ("token_type_hint", "access_token")],
        )
        .await,
    );
    assert!(coop.token_alive(&tokens.access_token).await);
    assert_eq!(coop.grants("ada").await[0]["revoked"], false);
    assert_eq!(coop.counters().await["grants_revoked"], 0);
    // Without the hint, a token COOP does not know is still "revoked" (RFC 7009 §2.2).
    assert_eq!(coop.revoke("topcluck", "not-a-token").await.0, StatusCode::OK);

    // Refresh tokens are revoked all the same, whatever the hint says.
    let refreshed = coop
        .refresh("topcluck", refresh_token(&tokens), None)
        .await
        .expect_ok();
    let (status, _) = coop
        .revoke_with(
            "topcluck",
            &[
                ("token", refresh_token(&refreshed)),
                ("token_type_hint", "access_token"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    coop.refresh("topcluck", refresh_token(&refreshed), None)
        .await
        .expect_invalid_grant();
    assert!(!coop.token_alive(&refreshed.access_token).await);
    assert_eq!(
        coop.grants("ada").await[0]["revoked_reason"],
        "refresh token revoked"
    );
}

#[tokio::test]
async fn without_access_token_revocation_a_per_client_grant_outlives_its_refused_access_token() {
    let coop = TestCoop::start_with(|config| {
        config.revokes_access_tokens = false;
        config.grant_model = GrantModel::PerClient;
    })
    .await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    assert_unsupported_token_type(coop.revoke("topcluck", &tokens.access_token).await);
    assert!(coop.token_alive(&tokens.access_token).await);
    coop.refresh("topcluck", refresh_token(&tokens), None)
        .await
        .expect_ok();
}
