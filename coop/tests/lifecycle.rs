//! Grants over time, over HTTP: revocation (RFC 7009), logging out of COOP with and without
//! offline_access, and surviving a restart.

use coop::testkit::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn revoke(coop: &TestCoop, token: &str) -> StatusCode {
    backend()
        .post(coop.url("/revoke"))
        .basic_auth("topcluck", Some(SECRET))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_grant_and_unknown_tokens_answer_200() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    let refresh_token = tokens.refresh_token.unwrap();
    assert_eq!(revoke(&coop, &refresh_token).await, StatusCode::OK);
    coop.refresh("topcluck", &refresh_token, None)
        .await
        .expect_invalid_grant();
    let (status, _, _) = coop.api(Method::GET, "/api/me", &tokens.access_token, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    assert_eq!(revoke(&coop, "no-such-token").await, StatusCode::OK);
    let unauthenticated = fetch(backend().post(coop.url("/revoke")).form(&[("token", "x")])).await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);

    let grants: Value = json_of(backend().get(coop.url("/dev/grants?username=ada"))).await;
    assert_eq!(grants["grants"][0]["revoked_reason"], "refresh token revoked");
}

#[tokio::test]
async fn revoking_an_access_token_revokes_only_that_token() {
    let coop = TestCoop::start().await;
    let tokens = coop.login("topcluck", ALL_SCOPES).await;
    assert_eq!(revoke(&coop, &tokens.access_token).await, StatusCode::OK);
    let (status, _, _) = coop.api(Method::GET, "/api/me", &tokens.access_token, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    coop.refresh_from("topcluck", &tokens).await.expect_ok();
}

#[tokio::test]
async fn logging_out_of_coop_kills_online_refresh_tokens_but_not_offline_ones() {
    let coop = TestCoop::start().await;
    let browser = browser();
    let online_pkce = Pkce::new();
    let code = coop
        .authorize_with_form(&browser, "topcluck", "openid eggs:read", &online_pkce, "ada")
        .await;
    let online = coop
        .redeem("topcluck", &code, &online_pkce.verifier)
        .await
        .expect_ok();
    let offline = coop
        .consented_login(&browser, "topcluck", "openid eggs:read offline_access", "ada")
        .await;
    let mut end = url::Url::parse(&coop.url("/end-session")).unwrap();
    end.query_pairs_mut()
        .append_pair("id_token_hint", online.id_token.as_deref().unwrap())
        .append_pair("post_logout_redirect_uri", POST_LOGOUT_URI)
        .append_pair("state", "bye");
    let response = browser.get(end).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), format!("{POST_LOGOUT_URI}?state=bye"));

    coop.refresh_from("topcluck", &online)
        .await
        .expect_invalid_grant();
    coop.refresh_from("topcluck", &offline).await.expect_ok();

    // The COOP session is over: prompt=none now says login_required.
    let silent = coop.authorize_url("topcluck", "openid", &online_pkce, &[("prompt", "none")]);
    assert_eq!(
        query_of(&location(&browser.get(silent).send().await.unwrap()))["error"],
        "login_required"
    );
}

#[tokio::test]
async fn end_session_refuses_an_unregistered_post_logout_redirect_uri() {
    let coop = TestCoop::start().await;
    let response =
        backend()
            .get(coop.url(
                "/end-session?client_id=topcluck&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    let plain = backend().get(coop.url("/end-session")).send().await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.text().await.unwrap().contains("You are logged out of COOP"));
}

#[tokio::test]
async fn grants_tokens_sessions_keys_and_eggs_survive_a_restart() {
    let mut coop = TestCoop::start().await;
    let browser = browser();
    let pkce = Pkce::new();
    let code = coop
        .authorize_with_form(&browser, "topcluck", ALL_SCOPES, &pkce, "ada")
        .await;
    let tokens = coop.redeem("topcluck", &code, &pkce.verifier).await.expect_ok();
    let (status, body, _) = coop.lay_eggs(&tokens.access_token, 7).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let jwks_before = text_of(backend().get(coop.url("/jwks.json"))).await;

    coop.restart().await;

    assert_eq!(text_of(backend().get(coop.url("/jwks.json"))).await, jwks_before);
    let (status, body, _) = coop
        .api(Method::GET, "/api/eggs", &tokens.access_token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["count"], 7);
    let renewed = coop
        .refresh("topcluck", tokens.refresh_token.as_deref().unwrap(), None)
        .await
        .expect_ok();
    assert!(renewed.refresh_token.is_some());
    let silent = coop.authorize_url("topcluck", "openid", &pkce, &[("prompt", "none")]);
    assert!(query_of(&location(&browser.get(silent).send().await.unwrap())).contains_key("code"));
}
