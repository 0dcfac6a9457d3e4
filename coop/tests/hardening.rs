//! Issue 10's COOP hardening beyond the bad-input table: expired rows purged on COOP's clock,
//! the `extra_scope` fault, and a CSP that lets COOP's own pages work.

use std::time::Duration;

use coop::testkit::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn expired_codes_access_tokens_and_sessions_are_purged_on_coops_clock() {
    let coop = TestCoop::start_with(|config| config.session_lifetime = Duration::from_secs(600)).await;
    let (browser, tokens) = coop.browser_login("topcluck", ALL_SCOPES, "ada").await;
    // A code never redeemed, and a second access token.
    coop.authorize_with_form(&browser, "topcluck", "openid", &Pkce::new(), "ada")
        .await;
    let renewed = coop
        .refresh("topcluck", tokens.refresh_token.as_deref().unwrap(), None)
        .await
        .expect_ok();
    let before = coop.rows().await;
    assert_eq!(
        (&before["sessions"], &before["codes"], &before["access_tokens"]),
        (&json!(1), &json!(2), &json!(2)),
        "{before}"
    );

    // Codes (120 s) and access tokens (60 s) expire; the session (600 s) does not yet.
    coop.clock().advance(Duration::from_secs(121));
    let (other, _) = coop.browser_login("topcluck", "openid", "bert").await;
    let rows = coop.rows().await;
    assert_eq!(
        (&rows["sessions"], &rows["codes"], &rows["access_tokens"]),
        (&json!(2), &json!(1), &json!(1)),
        "only bert's new code and access token are left: {rows}"
    );
    assert!(coop.session_alive(&browser).await);
    assert!(!coop.token_alive(&renewed.access_token).await);
    // The refresh token is not an expired row: it still works.
    coop.refresh_from("topcluck", &renewed).await.expect_ok();

    // Past the session lifetime: ada's session is over and goes at the next write.
    coop.clock().advance(Duration::from_secs(600));
    assert!(
        !coop.session_alive(&browser).await,
        "an expired session is not used"
    );
    coop.login("topcluck", "openid").await;
    let rows = coop.rows().await;
    assert_eq!(rows["sessions"], 1, "bert's and ada's sessions expired: {rows}");
    assert!(!coop.session_alive(&other).await);
}

#[tokio::test]
async fn the_extra_scope_fault_widens_code_and_refresh_answers_and_their_access_tokens() {
    let coop = TestCoop::start().await;
    coop.set_faults(json!({ "extra_scope": "offline_access" })).await;
    let tokens = coop.login("topcluck", "openid eggs:read").await;
    assert_eq!(tokens.scope, "eggs:read offline_access openid");
    assert_eq!(
        claims(&tokens.access_token)["scope"],
        "eggs:read offline_access openid"
    );
    let (status, body, _) = coop.api(Method::GET, "/api/me", &tokens.access_token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["scope"],
        "eggs:read offline_access openid"
    );
    // The grant itself is what was asked for: a logout still ends it.
    let grants = coop.get_json("/dev/grants?username=ada").await;
    assert_eq!(grants["grants"][0]["scope"], "eggs:read openid");
    assert_eq!(grants["grants"][0]["offline"], false);

    let renewed = coop
        .refresh("topcluck", tokens.refresh_token.as_deref().unwrap(), None)
        .await
        .expect_ok();
    assert_eq!(renewed.scope, "eggs:read offline_access openid");

    coop.clear_faults().await;
    let plain = coop
        .refresh("topcluck", renewed.refresh_token.as_deref().unwrap(), None)
        .await
        .expect_ok();
    assert_eq!(plain.scope, "eggs:read openid");
    assert_eq!(claims(&plain.access_token)["scope"], "eggs:read openid");
}

#[tokio::test]
async fn pages_forbid_framing_and_allow_only_their_own_style_and_form_targets() {
    let coop = TestCoop::start().await;
    let browser = browser();
    let response = fetch(browser.get(coop.authorize_url("topcluck", "openid", &Pkce::new(), &[]))).await;
    let headers = response.headers().clone();
    let page = response.text().await.unwrap();
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    let csp = headers["content-security-policy"].to_str().unwrap().to_owned();
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        // The login form posts here, and its answer redirects to the client's origin.
        "form-action 'self' http://127.0.0.1:3000",
    ] {
        assert!(csp.contains(directive), "{directive} in {csp}");
    }
    // The page's one inline style is the one the policy allows, by hash.
    let style = page
        .split("<style>")
        .nth(1)
        .unwrap()
        .split("</style>")
        .next()
        .unwrap();
    let hash = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, Sha256::digest(style));
    assert!(csp.contains(&format!("style-src 'sha256-{hash}'")), "{csp}");
    assert!(!page.contains("<script"), "no script to allow");

    // The login form still works under it: it posts to COOP and redirects to the client.
    let answer = coop.submit(&browser, &page, Form::Login("ada")).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert!(location(&answer).starts_with(REDIRECT_URI));

    // JSON answers are not pages.
    let json = backend().get(coop.url("/jwks.json")).send().await.unwrap();
    assert!(json.headers().get("content-security-policy").is_none());
}
