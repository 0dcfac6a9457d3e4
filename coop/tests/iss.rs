//! `iss` on authorization responses (RFC 9207): on every redirect back to the client, success
//! and error alike (§2), announced in discovery (§3); `COOP_ISS_PARAMETER=off` plays a provider
//! that sends neither.

use coop::ParMode;
use coop::testkit::*;
use std::collections::HashMap;

/// The query of every kind of authorization response COOP sends: a code, and the errors
/// `login_required`, `access_denied`, `invalid_scope`, `unsupported_response_type`.
async fn every_response(coop: &TestCoop) -> Vec<(&'static str, HashMap<String, String>)> {
    let pkce = Pkce::new();
    let mut answers = Vec::new();
    let browser = browser();
    let page = text_of(browser.get(coop.authorize_url("topcluck", "openid", &pkce, &[]))).await;
    let code = coop.submit(&browser, &page, Form::Login("ada")).await;
    answers.push(("a code", query_of(&location(&code))));
    let silent = coop.authorize_url("topcluck", "openid", &pkce, &[("prompt", "none")]);
    answers.push((
        "login_required",
        query_of(&location(&fetch(browser_without_session().get(silent)).await)),
    ));
    let page = coop
        .consent_page(&browser, "topcluck", "openid offline_access", &pkce, "ada")
        .await;
    let denied = coop.submit(&browser, &page, Form::Consent("deny")).await;
    answers.push(("access_denied", query_of(&location(&denied))));
    let unknown_scope = coop.authorize_url("topcluck", "openid cows:milk", &pkce, &[]);
    answers.push((
        "invalid_scope",
        query_of(&location(&fetch(browser.get(unknown_scope)).await)),
    ));
    let token = coop
        .authorize_url("topcluck", "openid", &pkce, &[])
        .replace("response_type=code", "response_type=token");
    answers.push((
        "unsupported_response_type",
        query_of(&location(&fetch(browser.get(token)).await)),
    ));
    answers
}

/// A browser with no COOP session.
fn browser_without_session() -> reqwest::Client {
    browser()
}

#[tokio::test]
async fn every_authorization_response_names_the_issuer_and_discovery_says_so() {
    let coop = TestCoop::start().await;
    let discovery = coop.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["authorization_response_iss_parameter_supported"], true);
    for (what, query) in every_response(&coop).await {
        if what != "a code" {
            assert_eq!(query["error"], what);
        }
        assert_eq!(query.get("iss"), Some(&coop.base), "{what}: {query:?}");
        assert_eq!(query["state"], "state-123", "{what}");
    }
}

#[tokio::test]
async fn with_the_iss_parameter_off_no_response_carries_it_and_discovery_says_false() {
    let coop = TestCoop::with_authorization(ParMode::On, false).await;
    let discovery = coop.get_json("/.well-known/openid-configuration").await;
    assert_eq!(discovery["authorization_response_iss_parameter_supported"], false);
    for (what, query) in every_response(&coop).await {
        assert!(query.contains_key(if what == "a code" { "code" } else { "error" }));
        assert_eq!(query.get("iss"), None, "{what}: {query:?}");
    }
}
